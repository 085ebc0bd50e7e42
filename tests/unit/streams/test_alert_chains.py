"""Incident chains, the pure core: the story in event-time order, the lifecycle on stream time,
bounded state, persistence. Data: tests/unit/streams/chain_story.py (config/alert_rules.toml:
window 168 h, 2 contact points, quiet period 72 h; repeats 24 h, updates paced at 30 min)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from schemas import (
    TOUCHPOINT_ADAPTER,
    AccountContext,
    AccountTier,
    Alert,
    EnrichedTouchpoint,
)
from streams.alerting import AlertStateError, load_alert_rules
from streams.alerting.chains import ChainState, IncidentChains, order_of
from tests.unit.streams.chain_story import (
    CHAIN_EVENT_IDS,
    FIRST_STORY,
    STORY,
    chain_alert_key,
    explained,
    order_story,
)

RULES = load_alert_rules(Path(__file__).resolve().parents[3] / "config" / "alert_rules.toml")
START = datetime(2026, 3, 2, 8, tzinfo=UTC)
P = 3
STRATEGIC = AccountContext(tier=AccountTier.STRATEGIC, name="Acme", kam_owner="ana")
KEY = chain_alert_key("acme")


def items(
    docs: Sequence[dict[str, Any]], account: AccountContext = STRATEGIC
) -> list[EnrichedTouchpoint]:
    return [
        EnrichedTouchpoint(
            event=TOUCHPOINT_ADAPTER.validate_python(doc), account=account, processed_at=START
        )
        for doc in docs
    ]


def feed(
    chains: IncidentChains, batch: Sequence[EnrichedTouchpoint], *, hours: float
) -> list[Alert]:
    """One batch read when the partition's stream time is START + ``hours``."""
    at = (START + timedelta(hours=hours)).timestamp()
    fresh = {P: [(i, item) for i, item in enumerate(batch)]}
    return chains.evaluate(
        now=START + timedelta(hours=hours), clock=lambda _: at, fresh=fresh, seen=[at] * len(batch)
    )


def tick(chains: IncidentChains, *, hours: float) -> list[Alert]:
    at = (START + timedelta(hours=hours)).timestamp()
    return chains.evaluate(now=START + timedelta(hours=hours), clock=lambda _: at)


def transitions(alerts: Sequence[Alert]) -> list[tuple[str, str, str]]:
    return [(a.alert_key, a.status.value, a.evidence["transition"]) for a in alerts]


STORY_DOCS = order_story("acme", START)
FIRST, TICKET = STORY_DOCS[:-1], STORY_DOCS[-1:]


def test_one_batch_tells_the_whole_chain_in_event_time_order() -> None:
    chains = IncidentChains(config=RULES)
    (alert,) = feed(chains, items(STORY_DOCS), hours=26)
    assert (alert.alert_key, alert.rule, alert.status.value) == (KEY, "incident_chain", "firing")
    assert alert.summary == STORY
    assert (alert.severity.value, alert.contact_point.value) == ("critical", "logistics")
    assert alert.event_ids == CHAIN_EVENT_IDS
    assert alert.started_at == START
    assert alert.evidence["transition"] == "new"
    assert alert.evidence["reference"] == {"order_id": "O-17"}
    assert alert.evidence["contact_points"] == ["logistics", "support", "billing"]
    assert alert.evidence["explains"] == explained("acme")
    assert [link["rule"] for link in alert.evidence["chain"]] == [
        "late_delivery",
        "first_response_sla_breach",
        "invoice_disputed",
    ]
    # O-18 went wrong in logistics only; an event with no order is never in a chain.
    assert sorted(c[2] for c in chains._chains) == ["O-17", "O-18"]


def test_a_new_department_updates_the_chain_at_once_then_it_repeats_and_resolves() -> None:
    chains = IncidentChains(config=RULES)
    (new,) = feed(chains, items(FIRST), hours=26)
    assert new.summary == FIRST_STORY
    (updated,) = feed(chains, items(TICKET), hours=26)  # the stream time has not moved
    assert transitions([updated]) == [(KEY, "firing", "updated")]
    assert updated.summary == STORY
    assert feed(chains, items(TICKET), hours=27) == []  # redelivered: already in the chain
    assert tick(chains, hours=26 + 23.9) == []
    assert transitions(tick(chains, hours=26 + 24)) == [(KEY, "firing", "repeat")]
    # O-18 (one department) is forgotten 168 h after its bad event; O-17 resolves 72 h after
    # its last one, and its state goes.
    (resolved,) = tick(chains, hours=26 + 72)
    assert transitions([resolved]) == [(KEY, "resolved", "resolved")]
    assert resolved.evidence["reason"] == "quiet_period"
    assert resolved.summary.startswith("order O-17: no new bad experience for 3 d, resolved")
    assert [c[2] for c in chains._chains] == ["O-18"]
    assert tick(chains, hours=26 + 168) == []
    assert len(chains) == 0
    changes = chains.drain_changes()
    assert changes == {(P, "acme", "O-17"): None, (P, "acme", "O-18"): None}


def test_bad_events_further_apart_than_the_window_form_no_chain() -> None:
    chains = IncidentChains(config=RULES)
    late, dispute = STORY_DOCS[1], STORY_DOCS[4]
    far = {**dispute, "occurred_at": (START + timedelta(hours=169)).isoformat()}
    assert feed(chains, items([late]), hours=1) == []
    assert feed(chains, items([far]), hours=169) == []
    (state,) = chains._chains.values()
    assert [link.event_id for link in state.links] == ["c-dispute"]


def test_standard_accounts_and_old_events_raise_no_chain() -> None:
    standard = AccountContext(tier=AccountTier.STANDARD)
    chains = IncidentChains(config=RULES)
    assert feed(chains, items(STORY_DOCS, standard), hours=26) == []
    assert feed(chains, items(STORY_DOCS), hours=26 + 73) == []  # older than max_event_age
    assert len(chains) == 0


def test_chain_state_round_trips_and_moves_to_another_book() -> None:
    chains = IncidentChains(config=RULES)
    feed(chains, items(FIRST), hours=26)
    changes = chains.drain_changes().items()
    stored = {chain: orjson.loads(orjson.dumps(data)) for chain, data in changes}
    other = IncidentChains(config=RULES)
    for chain, data in stored.items():
        other.restore(chain, data)
    (updated,) = feed(other, items(TICKET), hours=26)
    assert (updated.summary, updated.evidence["transition"]) == (STORY, "updated")
    other.forget([P])
    assert (len(other), tick(other, hours=200)) == (0, [])


def test_a_broken_stored_chain_is_a_typed_error() -> None:
    with pytest.raises(AlertStateError, match="chain"):
        ChainState.from_primitive("chain", {"l": []})


def test_the_order_reference_is_optional() -> None:
    with_order, without = items([STORY_DOCS[1], STORY_DOCS[3]])
    assert (order_of(with_order), order_of(without)) == ("O-17", None)


def _again(doc: dict[str, Any], event_id: str, hours: float) -> dict[str, Any]:
    """``doc`` as another event ``hours`` after START (same order, same department)."""
    moment = (START + timedelta(hours=hours)).isoformat()
    payload = {**doc["payload"], "delivered_at": moment}
    return {**doc, "event_id": event_id, "occurred_at": moment, "payload": payload}


def test_more_bad_events_in_a_known_department_update_at_the_paced_interval() -> None:
    chains = IncidentChains(config=RULES)
    feed(chains, items(STORY_DOCS), hours=26)
    again = _again(STORY_DOCS[1], "c-late-2", hours=26.2)
    assert feed(chains, items([again]), hours=26.2) == []  # same departments: paced
    assert tick(chains, hours=26.49) == []
    (updated,) = tick(chains, hours=26.5)  # 30 min after the last notification
    assert transitions([updated]) == [(KEY, "firing", "updated")]
    assert updated.event_ids == [*CHAIN_EVENT_IDS, "c-late-2"]


def test_a_chain_keeps_its_first_max_links_bad_events() -> None:
    config = RULES.model_copy(update={"chains": RULES.chains.model_copy(update={"max_links": 2})})
    chains = IncidentChains(config=config)
    (alert,) = feed(chains, items(FIRST), hours=26)
    feed(chains, items(TICKET), hours=26)
    assert alert.event_ids == ["c-late", "c-dispute"]
    (state,) = [s for c, s in chains._chains.items() if c[2] == "O-17"]
    assert [link.event_id for link in state.links] == ["c-late", "c-dispute"]

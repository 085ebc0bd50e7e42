"""The worker core's chain hooks: chain alerts go out numbered with the others, their state is
written under its own keys, and a new owner of the partition continues the chain."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import orjson

from schemas import Alert
from streams.state import chain_key, parse_chain_key, parse_key
from tests.unit.streams.chain_story import STORY, chain_alert_key, order_story
from tests.unit.streams.test_pipeline import IDLE_ADVANCE, NOW, P, apply, processor, records

START = NOW - timedelta(hours=30)
DOCS = [orjson.dumps(doc) for doc in order_story("acme", START)]
KEY = chain_alert_key("acme")


def chain_alerts(alerts: Sequence[Alert]) -> list[tuple[str, str]]:
    return [(a.summary, a.evidence["transition"]) for a in alerts if a.rule == "incident_chain"]


def test_the_chain_state_is_written_loaded_and_continued_by_a_new_worker() -> None:
    state: dict[str, bytes] = {}
    first = processor(state, idle_advance=IDLE_ADVANCE)
    outcome = first.process(records(DOCS[:-1]), now=NOW)
    apply(state, outcome)
    (new,) = [a for a in outcome.alerts if a.alert_key == KEY]
    assert new.evidence["transition"] == "new"
    assert sum(KEY.encode() in value for _, _, value in outcome.alert_records) == 1
    chain_keys = sorted(k for k in state if parse_key(k)[1] == "chain")
    assert chain_keys == [chain_key(P, "acme", "O-17"), chain_key(P, "acme", "O-18")]
    assert parse_chain_key(parse_key(chain_keys[0])[2]) == ("acme", "O-17")

    second = processor(state, idle_advance=IDLE_ADVANCE)
    assert second.load([P]) == 1  # the account's alert states; its chains come along
    outcome = second.process(records(DOCS[-1:], first_offset=len(DOCS) - 1), now=NOW)
    apply(state, outcome)
    assert chain_alerts(outcome.alerts) == [(STORY, "updated")]

    # Repeats and resolves run on ticks; a worker that gave the partition away says nothing.
    gone = processor(state, idle_advance=IDLE_ADVANCE)
    gone.load([P])
    gone.forget([P])
    assert chain_alerts(gone.tick(now=NOW + timedelta(hours=80)).alerts) == []
    outcome = second.tick(now=NOW + timedelta(hours=80))
    assert [a.evidence["transition"] for a in outcome.alerts if a.alert_key == KEY] == ["resolved"]
    apply(state, outcome)
    assert chain_key(P, "acme", "O-17") not in state


def test_events_without_an_order_write_no_chain_state() -> None:
    state: dict[str, bytes] = {}
    worker = processor(state)
    outcome = worker.process(records([DOCS[3]]), now=NOW)
    assert "late_delivery" in [a.rule for a in outcome.alerts]
    assert chain_alerts(outcome.alerts) == []
    assert not [k for w in outcome.state_writes.values() for k in w if "/chain/" in k]

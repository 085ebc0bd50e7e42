"""The simulated helpdesk: every webhook it sends maps onto a valid support event."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from producers.ingest import Valid
from producers.ingest.helpdesk import account_map_toml, ticket_webhooks
from producers.ingest.webhooks import AccountMap, ZendeskWebhook, load_account_map

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
ACCOUNTS = ["acct-0000", "acct-0001", "acct-0002"]


def test_each_ticket_is_four_webhooks_mapped_onto_valid_past_events() -> None:
    mapping = tomllib.loads(account_map_toml(ACCOUNTS))
    accounts = AccountMap({"zendesk.organizations": mapping["zendesk"]["organizations"]})
    zendesk = ZendeskWebhook(secret="s", accounts=accounts, tolerance=300)
    bodies = ticket_webhooks(ACCOUNTS, now=NOW, seed=7)
    assert len(bodies) == 4 * len(ACCOUNTS)
    events = []
    for body in bodies:
        [verdict] = zendesk.verdicts(orjson.dumps(body))
        assert isinstance(verdict, Valid), verdict
        events.append(verdict.event)
    assert sorted({e.account_id for e in events}) == ACCOUNTS
    assert [e.event_type for e in events[:4]] == [
        "ticket_opened", "ticket_first_response", "ticket_resolved", "csat_submitted",
    ]  # fmt: skip
    assert all(e.occurred_at <= NOW - timedelta(minutes=5) for e in events)
    assert len({e.event_id for e in events}) == len(events)
    assert ticket_webhooks(ACCOUNTS, now=NOW, seed=7) == bodies  # deterministic


def test_the_mapping_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "map.toml"
    path.write_text(account_map_toml(ACCOUNTS))
    assert load_account_map(path).account("zendesk.organizations", 360_001) == "acct-0001"

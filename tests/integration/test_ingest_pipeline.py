"""Webhooks and HTTP touchpoints through the whole pipeline: ingest, worker, sink, ClickHouse.

Signed Zendesk and Stripe webhooks reach ``touchpoints`` and raise the strategic account's
alerts; a payload that maps onto nothing and a rejected event land in ``failed_events``; a
badly signed webhook stores nothing.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from kam.settings import ClickHouseSettings
from producers.ingest.webhooks.signatures import stripe_signature, zendesk_signature
from tests.integration.conftest import Pipeline
from tests.integration.helpers import produce, wait_for
from tests.integration.ingest import IngestService, start_ingest
from tests.integration.test_end_to_end import _count, _rows
from tests.integration.test_worker import ACCOUNTS

ZENDESK_SECRET, STRIPE_SECRET = "zendesk-signing-secret", "whsec_kam_test"
NOW = datetime.now(UTC).replace(microsecond=0)
ACCOUNT_MAP = """
[zendesk.organizations]
360001 = "acme"
[stripe.customers]
cus_A = "acme"
"""


def _at(minutes_ago: float) -> str:
    return (NOW - timedelta(minutes=minutes_ago)).isoformat().replace("+00:00", "Z")


def zendesk(ingest: IngestService, payload: dict[str, Any], secret: str = ZENDESK_SECRET) -> int:
    body = json.dumps(payload).encode()
    stamp = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    headers = {
        "X-Zendesk-Webhook-Signature": zendesk_signature(secret, body, stamp),
        "X-Zendesk-Webhook-Signature-Timestamp": stamp,
    }
    return ingest.post(body, source=None, path="/v1/webhooks/zendesk", headers=headers).status


def stripe(ingest: IngestService, event: dict[str, Any], secret: str = STRIPE_SECRET) -> int:
    body = json.dumps(event).encode()
    headers = {"Stripe-Signature": stripe_signature(secret, body, int(time.time()))}
    return ingest.post(body, source=None, path="/v1/webhooks/stripe", headers=headers).status


def ticket(kind: str, organization: str = "360001", **fields: Any) -> dict[str, Any]:
    return {
        "kind": kind, "ticket_id": "T-88", "organization_id": organization,
        "priority": "High", "created_at": _at(50), "updated_at": _at(10), "via": "Mail",
        **fields,
    }  # fmt: skip


def csat(event_id: str, account_id: str, score: Any) -> dict[str, Any]:
    return {
        "event_id": event_id, "account_id": account_id, "occurred_at": _at(30),
        "event_type": "csat_submitted", "payload": {"score": score},
    }  # fmt: skip


def test_webhooks_and_touchpoints_reach_clickhouse_and_raise_alerts(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    clickhouse = ClickHouseSettings(chdb_path=pipeline.workdir / "chdb")
    mapping = tmp_path / "accounts.toml"
    mapping.write_text(ACCOUNT_MAP)
    worker = pipeline.worker()
    sink = pipeline.service(["sink"], name="sink")
    ingest = start_ingest(
        pipeline,
        env={
            "KAM_INGEST_ZENDESK_SECRET": ZENDESK_SECRET,
            "KAM_INGEST_STRIPE_SECRET": STRIPE_SECRET,
            "KAM_INGEST_ACCOUNT_MAP_PATH": str(mapping),
        },
    )
    alive = [worker, sink, ingest.process]
    produce(
        pipeline.kafka,
        pipeline.topics.accounts,
        [(a.account_id.encode(), a.model_dump_json().encode()) for a in ACCOUNTS],
    )
    wait_for(
        lambda: worker.metric("kam_worker_account_updates_total") == 2,
        what="the worker to apply both accounts", alive=alive,
    )  # fmt: skip

    generic = ingest.post(
        [csat("crm-1", "acme", 5), csat("crm-2", "globex", 1), csat("crm-bad", "acme", "1")]
    )
    assert generic.status == 207
    assert zendesk(ingest, ticket("ticket_created")) == 200
    assert zendesk(ingest, ticket("satisfaction_rated", satisfaction_score="bad")) == 200
    assert zendesk(ingest, ticket("solved", organization="999")) == 200  # maps to nothing
    assert zendesk(ingest, ticket("reopened"), secret="not-the-secret") == 401
    failed_invoice = {
        "id": "evt_pf1", "type": "invoice.payment_failed", "created": int(time.time()) - 600,
        "data": {"object": {"id": "in_1", "customer": "cus_A", "attempt_count": 1}},
    }  # fmt: skip
    assert stripe(ingest, failed_invoice) == 200
    assert stripe(ingest, {**failed_invoice, "id": "evt_x"}, secret="whsec_wrong") == 401
    unmapped = {**failed_invoice, "id": "evt_c", "type": "customer.created"}
    assert stripe(ingest, unmapped) == 200

    wait_for(
        lambda: (_count(clickhouse, "touchpoints"), _count(clickhouse, "failed_events")) == (5, 3),
        timeout=120, what="5 touchpoints and 3 failed events in ClickHouse", alive=alive,
    )  # fmt: skip
    assert sorted(
        _rows(clickhouse, "SELECT account_id, event_type, source_system, tier FROM kam.touchpoints")
    ) == sorted([
        ["acme", "csat_submitted", "crm", "strategic"],
        ["globex", "csat_submitted", "crm", "standard"],
        ["acme", "ticket_opened", "zendesk", "strategic"],
        ["acme", "csat_submitted", "zendesk", "strategic"],
        ["acme", "payment_failed", "stripe", "strategic"],
    ])  # fmt: skip
    assert sorted(
        _rows(clickhouse, "SELECT failure_type, field_path, source_topic FROM kam.failed_events")
    ) == sorted([
        ["schema_violation", "payload.score", "ingest:crm"],
        ["unmapped", "organization_id", "ingest:zendesk"],
        ["unmapped", "type", "ingest:stripe"],
    ])  # fmt: skip
    wait_for(
        lambda: {"acme:support:low_csat", "acme:billing:payment_failed"}
        <= {str(row[0]) for row in _rows(clickhouse, "SELECT alert_key FROM kam.alerts")},
        timeout=60, what="the webhooks' alerts for acme", alive=alive,
    )  # fmt: skip
    alerted = _rows(clickhouse, "SELECT DISTINCT account_id FROM kam.alerts")
    assert alerted == [["acme"]]  # globex is standard: its bad CSAT raises nothing
    outcomes = 'kam_ingest_events_total{endpoint="webhooks",outcome="accepted"}'
    assert ingest.process.metric(outcomes) == 3
    assert ingest.process.metric('kam_ingest_requests_total{endpoint="webhooks",status="401"}') == 2

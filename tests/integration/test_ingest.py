"""``kam ingest`` against the real broker: exact counts of what each request stored where."""

from __future__ import annotations

import json
from typing import Any

import orjson

from schemas import DeadLetter, parse_touchpoint
from tests.integration.conftest import Pipeline
from tests.integration.helpers import java_partition
from tests.integration.ingest import start_ingest


def csat(event_id: str, account_id: str = "acme", score: Any = 2, **fields: Any) -> dict[str, Any]:
    return {
        "event_id": event_id, "account_id": account_id, "occurred_at": "2026-03-02T10:00:00Z",
        "event_type": "csat_submitted", "payload": {"score": score}, **fields,
    }  # fmt: skip


def test_accepted_rejected_and_unauthorised_requests_store_exactly_what_they_say(
    pipeline: Pipeline,
) -> None:
    ingest = start_ingest(pipeline)
    batch = [csat(f"crm-{i}", account_id=f"acct-{i}") for i in range(5)]
    batch += [csat("bad-score", score="2"), csat("bad-type", event_type="telepathy")]
    mixed = ingest.post(batch)
    assert mixed.status == 207, mixed.body
    assert (mixed.body["accepted"], mixed.body["rejected"], mixed.body["unavailable"]) == (5, 2, 0)
    answers = mixed.body["events"]
    assert [a["status"] for a in answers] == ["accepted"] * 5 + ["rejected"] * 2
    assert [(a["failure_type"], a["field_path"]) for a in answers[5:]] == [
        ("schema_violation", "payload.score"), ("unknown_event_type", "event_type"),
    ]  # fmt: skip
    for i, answer in enumerate(answers[:5]):  # stored where the SDK would have put it
        assert answer["partition"] == java_partition(f"acct-{i}", pipeline.topics.partitions)

    lines = b"\n".join(json.dumps(csat(f"hd-{i}")).encode() for i in range(3)) + b"\n"
    ndjson = ingest.post(lines, source="helpdesk", content_type="application/x-ndjson")
    assert (ndjson.status, ndjson.body["accepted"]) == (200, 3)
    one = ingest.post(csat("hd-one", source_system="helpdesk"), source="helpdesk")
    assert (one.status, one.body["accepted"]) == (200, 1)
    claimed = ingest.post(csat("claims-erp", source_system="erp"))
    assert claimed.status == 422
    assert claimed.body["events"][0]["field_path"] == "source_system"

    unauthorised = [
        ingest.post([csat("no-token")], source=None),
        ingest.post([csat("wrong")], headers={"Authorization": "Bearer not-a-token"}, source=None),
        ingest.post([csat("basic")], headers={"Authorization": "Basic Y3JtOmNybQ=="}, source=None),
    ]
    assert [a.status for a in unauthorised] == [401, 401, 401]
    assert {a.body["error"] for a in unauthorised} == {"unauthorized"}
    assert unauthorised[0].headers["www-authenticate"].startswith("Bearer")

    stored = [parse_touchpoint(raw) for raw in pipeline.read_all(pipeline.topics.touchpoints)]
    assert sorted((e.event_id, e.source_system) for e in stored) == sorted(
        [(f"crm-{i}", "crm") for i in range(5)]
        + [(f"hd-{i}", "helpdesk") for i in range(3)]
        + [("hd-one", "helpdesk")]
    )
    assert all(e.trace_id for e in stored)  # as the SDK publishes them
    letters = [
        DeadLetter.model_validate_json(raw)
        for raw in pipeline.read_all(pipeline.topics.deadletter)
    ]
    assert sorted((d.failure_type.value, d.field_path, d.source_topic) for d in letters) == [
        ("schema_violation", "payload.score", "ingest:crm"),
        ("schema_violation", "source_system", "ingest:crm"),
        ("unknown_event_type", "event_type", "ingest:crm"),
    ]
    assert {orjson.loads(d.original)["event_id"] for d in letters} == {
        "bad-score", "bad-type", "claims-erp",
    }  # fmt: skip

    process = ingest.process
    assert process.metric('kam_ingest_events_total{endpoint="touchpoints",outcome="accepted"}') == 9
    assert process.metric('kam_ingest_events_total{endpoint="touchpoints",outcome="rejected"}') == 3
    assert process.metric('kam_ingest_requests_total{endpoint="touchpoints",status="401"}') == 3
    assert process.metric("kam_ingest_request_seconds_count") >= 7


def test_over_the_rate_limit_is_429_with_retry_after_per_token(pipeline: Pipeline) -> None:
    ingest = start_ingest(
        pipeline, env={"KAM_INGEST_RATE_PER_SECOND": "0.2", "KAM_INGEST_RATE_BURST": "2"}
    )
    statuses = [ingest.post([csat(f"r-{i}")]).status for i in range(3)]
    assert statuses == [200, 200, 429]
    limited = ingest.post([csat("r-3")])
    assert limited.status == 429 and int(limited.headers["retry-after"]) >= 1
    assert ingest.post([csat("other")], source="helpdesk").status == 200  # its own bucket
    assert pipeline.size(pipeline.topics.touchpoints) == 3


def test_probes_metrics_and_openapi(pipeline: Pipeline) -> None:
    ingest = start_ingest(pipeline)
    assert ingest.request("GET", "/readyz").body == {"status": "ready"}
    served = ingest.request("GET", "/openapi.json")
    assert served.status == 200 and "/v1/touchpoints" in served.body["paths"]
    metrics = ingest.request("GET", "/metrics")
    assert metrics.status == 200 and "text/plain" in metrics.headers["content-type"]
    missing = ingest.request("GET", "/v2/nothing")
    assert (missing.status, missing.body["error"]) == (404, "not_found")
    wrong_method = ingest.request("GET", "/v1/touchpoints")
    assert wrong_method.status == 405 and "traceback" not in json.dumps(wrong_method.body).lower()
    assert ingest.process.stop() == 0  # SIGTERM: a clean exit

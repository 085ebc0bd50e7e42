"""Record headers and the librdkafka configuration of the publisher."""

from __future__ import annotations

import json
import logging

from kam.settings import KafkaSettings
from producers.headers import json_headers, touchpoint_headers, with_trace_id
from producers.publisher import PublisherOptions, producer_config
from schemas import parse_touchpoint

EVENT = {
    "event_id": "e-1",
    "account_id": "acct-1",
    "occurred_at": "2026-03-02T10:00:00Z",
    "source_system": "erp",
    "event_type": "payment_failed",
    "payload": {"invoice_id": "INV-1"},
}


def test_touchpoint_headers_in_documented_order() -> None:
    event = parse_touchpoint(json.dumps({**EVENT, "trace_id": "abc123"}))
    assert touchpoint_headers(event) == [
        ("schema-version", b"1"),
        ("source-system", b"erp"),
        ("event-type", b"payment_failed"),
        ("trace-id", b"abc123"),
        ("content-type", b"application/json"),
    ]
    assert json_headers() == [("content-type", b"application/json")]


def test_trace_id_kept_when_present_generated_when_absent() -> None:
    with_trace = parse_touchpoint(json.dumps({**EVENT, "trace_id": "keep-me"}))
    assert with_trace_id(with_trace, lambda: "new") is with_trace
    without = parse_touchpoint(json.dumps(EVENT))
    stamped = with_trace_id(without, lambda: "new")
    assert stamped.trace_id == "new"
    assert stamped.model_dump(exclude={"trace_id"}) == without.model_dump(exclude={"trace_id"})
    generated = with_trace_id(without).trace_id
    assert generated is not None
    assert len(generated) == 32
    assert int(generated, 16) >= 0


def test_producer_config_fixes_guarantees_and_partitioner() -> None:
    kafka = KafkaSettings(
        bootstrap_servers="b:9093",
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username="svc",
        sasl_password="s3cret",  # type: ignore[arg-type]
    )
    options = PublisherOptions(linger_ms=20, extra={"batch.num.messages": 500})
    config = producer_config(kafka, options)
    assert config == {
        "logger": logging.getLogger("librdkafka"),
        "bootstrap.servers": "b:9093",
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "svc",
        "sasl.password": "s3cret",
        "client.id": "kam-publisher",
        "enable.idempotence": True,
        "acks": "all",
        "retries": 2_147_483_647,
        "max.in.flight.requests.per.connection": 5,
        "linger.ms": 20,
        "batch.size": 1_000_000,
        "compression.type": "lz4",
        "delivery.timeout.ms": 120_000,
        "partitioner": "murmur2_random",
        "batch.num.messages": 500,
    }

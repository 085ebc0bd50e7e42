"""End to end with the real broker: alert states on a fresh topic -> run_notifier -> exactly the
expected notifications, an undeliverable record, snoozes honoured, nothing re-sent on restart."""

from __future__ import annotations

import io
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
from confluent_kafka.admin import NewTopic
from prometheus_client import CollectorRegistry

from kam.kafka_admin import ensure_topics
from kam.localkafka import free_port
from kam.settings import KafkaSettings, MetricsSettings, TopicSettings
from schemas.alerts import Alert
from sinks.notify.commands import snooze_command, unsnooze_command
from sinks.notify.local import RecordingServer, Reply
from sinks.notify.records import UndeliverableNotification
from sinks.notify.service import run_notifier
from tests.unit.notify.factories import make_alert

PARTITIONS = 2


def _config(path: Path, hook: str, broken: str) -> Path:
    path.write_text(f"""
[defaults]
group_wait = "1s"
[delivery]
max_attempts = 2
initial_backoff = "10ms"
max_backoff = "50ms"
timeout = "5s"
[receivers.hook]
kind = "webhook"
url = "{hook}/kam"
secret = "test-secret"
[receivers.broken]
kind = "webhook"
url = "{broken}/kam"
secret = "test-secret"
[[routes]]
name = "broken"
match = {{ account_id = "ACC-BROKEN" }}
receivers = ["broken"]
[default_route]
receivers = ["hook"]
""")
    return path


def _produce(kafka: KafkaSettings, topic: str, alerts: list[Alert]) -> None:
    producer = Producer(kafka.confluent_config())
    for alert in alerts:
        producer.produce(topic, key=alert.account_id, value=alert.model_dump_json())
    assert producer.flush(10) == 0
    producer.close()


def _all_committed(kafka: KafkaSettings, group: str, topic: str) -> bool:
    consumer = Consumer({**kafka.confluent_config(), "group.id": group})
    try:
        partitions = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        committed = consumer.committed(partitions, timeout=10)
        ends = [consumer.get_watermark_offsets(tp, timeout=10)[1] for tp in partitions]
    finally:
        consumer.close()
    return all(end in (0, tp.offset) for tp, end in zip(committed, ends, strict=True))


def _wait(check: Callable[[], Any], *, tries: int = 120, pause: float = 0.25) -> Any:
    for _ in range(tries):
        if result := check():
            return result
        time.sleep(pause)
    return check()


def _read_topic(kafka: KafkaSettings, topic: str) -> list[bytes]:
    """Every record of ``topic`` up to its current end (high watermarks)."""
    consumer = Consumer(
        {**kafka.confluent_config(), "group.id": "reader", "enable.auto.commit": False}
    )
    try:
        count = len(consumer.list_topics(topic, timeout=10).topics[topic].partitions)
        ends = {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for p in range(count)
        }
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(count)])
        values: list[bytes] = []
        for _ in range(60):
            if len(values) >= sum(ends.values()):
                break
            values.extend(m.value() for m in consumer.consume(10, timeout=0.5) if not m.error())
        return values
    finally:
        consumer.close()


@contextmanager
def _notifier(**kwargs: Any) -> Iterator[list[BaseException]]:
    """Run the notifier in a thread for the block; yields the errors it died of (if any)."""
    stop, failures = threading.Event(), []

    def run() -> None:
        try:
            run_notifier(stop=stop, **kwargs)
        except BaseException as exc:
            failures.append(exc)

    thread = threading.Thread(target=run, name="notifier-under-test")
    thread.start()
    try:
        yield failures
    finally:
        stop.set()
        thread.join(timeout=60)
    assert not thread.is_alive()
    assert failures == []


def test_notifier_end_to_end_with_restart(
    kafka_settings: KafkaSettings, unique_name: Callable[[str], str], tmp_path: Path
) -> None:
    topics = TopicSettings(
        alerts=unique_name("alerts"),
        undeliverable=unique_name("undeliv"),
        snoozes=unique_name("snoozes"),
        partitions=PARTITIONS,
    )
    ensure_topics(
        kafka_settings, [NewTopic(topics.alerts, num_partitions=PARTITIONS, replication_factor=1)]
    )
    group = unique_name("notifier")
    out = io.StringIO()
    until = (datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0)
    assert (
        snooze_command(
            kafka=kafka_settings,
            topics=topics,
            account_id="ACC-3",
            until=until.isoformat(),
            reason="QBR on site",
            out=out,
        )
        == 0
    )
    assert out.getvalue() == f"snoozed account ACC-3 until {until.isoformat()}: QBR on site\n"
    acc2 = make_alert("ACC-2", owner="li")
    _produce(
        kafka_settings,
        topics.alerts,
        [
            *(make_alert(rule=rule) for rule in ("otif_below_target", "late", "damaged")),
            acc2,
            acc2,
            make_alert("ACC-3"),
            make_alert("ACC-BROKEN"),
        ],
    )

    with RecordingServer() as hook, RecordingServer(default=Reply(500)) as broken:
        config = _config(tmp_path / "routing.toml", hook.url, broken.url)
        registry = CollectorRegistry()
        run = {
            "kafka": kafka_settings,
            "topics": topics,
            "config_path": config,
            "group_id": group,
            "poll_seconds": 0.2,
        }
        with _notifier(registry=registry, **run) as failures:
            hook.wait_for(2)
            assert failures == []
            assert len(hook.requests) == 2
            assert _wait(lambda: _all_committed(kafka_settings, group, topics.alerts))
        bodies = sorted((r.json() for r in hook.requests), key=lambda body: body["group_key"])
        assert [(b["group_key"], [a["rule"] for a in b["alerts"]]) for b in bodies] == [
            ("ACC-1", ["otif_below_target", "late", "damaged"]),
            ("ACC-2", ["otif_below_target"]),
        ]
        assert len(broken.requests) == 2

        def sample(name: str, **labels: str) -> float | None:
            return registry.get_sample_value(name, labels)

        assert sample("kam_notify_notifications_total", receiver="hook", outcome="delivered") == 2
        assert (
            sample("kam_notify_notifications_total", receiver="broken", outcome="retries_exhausted")
            == 1
        )
        assert sample("kam_notify_retries_total", receiver="broken") == 1
        assert (
            sample("kam_notify_undeliverable_total", receiver="broken", reason="retries_exhausted")
            == 1
        )
        assert sample("kam_notify_alerts_delivered_total", receiver="hook", status="firing") == 4
        assert sample("kam_notify_delivery_seconds_count", receiver="hook") == 2
        decisions = {
            d: sample("kam_notify_alert_states_total", decision=d)
            for d in ("queued", "duplicate", "snoozed")
        }
        assert decisions == {"queued": 5, "duplicate": 1, "snoozed": 1}

        (raw,) = _read_topic(kafka_settings, topics.undeliverable)
        record = UndeliverableNotification.model_validate_json(raw)
        assert (
            record.receiver,
            record.receiver_kind,
            record.reason,
            record.attempts,
            record.last_status,
            record.alert_keys,
        ) == (
            "broken",
            "webhook",
            "retries_exhausted",
            2,
            500,
            ["ACC-BROKEN:logistics:otif_below_target"],
        )

        # Restart: committed alerts are not notified again; only the new one is.
        _produce(kafka_settings, topics.alerts, [make_alert("ACC-4")])
        port = free_port()
        with _notifier(
            registry=CollectorRegistry(), metrics_settings=MetricsSettings(port=port), **run
        ) as failures:
            hook.wait_for(3)
            assert failures == []
            assert len(hook.requests) == 3
            assert _wait(lambda: _all_committed(kafka_settings, group, topics.alerts))
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as page:
                exposed = page.read().decode()
        assert 'kam_notify_notifications_total{outcome="delivered",receiver="hook"} 1.0' in exposed
        assert [r.json()["group_key"] for r in hook.requests][2:] == ["ACC-4"]
        assert len(hook.requests) == 3
        assert len(broken.requests) == 2
    assert len(_read_topic(kafka_settings, topics.undeliverable)) == 1


def test_snooze_and_unsnooze_while_running(
    kafka_settings: KafkaSettings, unique_name: Callable[[str], str], tmp_path: Path
) -> None:
    topics = TopicSettings(
        alerts=unique_name("alerts"),
        undeliverable=unique_name("undeliv"),
        snoozes=unique_name("snoozes"),
        partitions=PARTITIONS,
    )
    ensure_topics(
        kafka_settings, [NewTopic(topics.alerts, num_partitions=PARTITIONS, replication_factor=1)]
    )
    group, registry, out = unique_name("notifier"), CollectorRegistry(), io.StringIO()

    def snoozes() -> float | None:
        return registry.get_sample_value("kam_notify_snoozes")

    until = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert (
        snooze_command(
            kafka=kafka_settings,
            topics=topics,
            account_id="ACC-3",
            rule="otif_below_target",
            until=until,
            reason="known",
            out=out,
        )
        == 0
    )
    with RecordingServer() as hook, RecordingServer() as unused:
        config = _config(tmp_path / "routing.toml", hook.url, unused.url)
        with _notifier(
            kafka=kafka_settings,
            topics=topics,
            config_path=config,
            group_id=group,
            registry=registry,
            poll_seconds=0.2,
        ) as failures:
            assert _wait(lambda: snoozes() == 1)
            _produce(kafka_settings, topics.alerts, [make_alert("ACC-3")])
            assert _wait(
                lambda: (
                    registry.get_sample_value(
                        "kam_notify_alert_states_total", {"decision": "snoozed"}
                    )
                    == 1
                )
            )
            assert (
                unsnooze_command(
                    kafka=kafka_settings,
                    topics=topics,
                    account_id="ACC-3",
                    rule="otif_below_target",
                    out=out,
                )
                == 0
            )
            assert _wait(lambda: snoozes() == 0)
            _produce(kafka_settings, topics.alerts, [make_alert("ACC-3", minutes=1)])
            hook.wait_for(1)
            assert failures == []
            assert _wait(lambda: _all_committed(kafka_settings, group, topics.alerts))
        (request,) = hook.requests
    assert [a["updated_at"] for a in request.json()["alerts"]] == ["2026-11-27T09:01:00Z"]
    assert out.getvalue().splitlines()[1] == (
        "snooze lifted for rule otif_below_target of account ACC-3"
    )

"""``kam alerts snooze`` / ``unsnooze``: publish snooze records (or tombstones) to the compacted
snoozes topic the notifier follows."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import TextIO

from confluent_kafka import KafkaError, Message, Producer
from pydantic import ValidationError

from kam.kafka_admin import ensure_topics
from kam.settings import KafkaSettings, TopicSettings
from sinks.notify.snooze import Snooze, snooze_key
from sinks.notify.topics import notifier_topics

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def add_snooze_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``kam alerts snooze`` (names match :func:`snooze_command`)."""
    parser.add_argument("--account", dest="account_id", required=True, help="account id")
    parser.add_argument("--rule", default=None, help="only this alert rule (default: all)")
    parser.add_argument("--until", required=True, help="ISO 8601 time with offset, e.g. "
                        "2026-12-01T09:00:00+01:00")
    parser.add_argument("--reason", required=True, help="why (shown to the team)")
    parser.add_argument("--by", dest="created_by", default=None, help="who snoozes")


def add_unsnooze_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``kam alerts unsnooze`` (names match :func:`unsnooze_command`)."""
    parser.add_argument("--account", dest="account_id", required=True, help="account id")
    parser.add_argument("--rule", default=None, help="the rule snoozed (default: whole account)")


def parse_until(text: str) -> datetime:
    """An aware datetime from ISO 8601 (``Z`` accepted); naive times are refused."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError("--until needs a UTC offset, e.g. 2026-12-01T09:00:00Z")
    return moment


def snooze_command(
    *,
    kafka: KafkaSettings,
    topics: TopicSettings,
    account_id: str,
    until: str,
    reason: str,
    rule: str | None = None,
    created_by: str | None = None,
    now: datetime | None = None,
    out: TextIO = sys.stdout,
    timeout: float = 30.0,
) -> int:
    """Snooze an account (or one rule of it) until a time; 0 published, 1 failed, 2 bad input."""
    now = now or datetime.now(UTC)
    try:
        snooze = Snooze(account_id=account_id, rule=rule, until=parse_until(until),
                        reason=reason, created_by=created_by, created_at=now)
    except (ValueError, ValidationError) as exc:
        print(f"invalid snooze: {exc}", file=out)
        return EXIT_USAGE
    if snooze.until <= now:
        print(f"invalid snooze: --until {until} is not in the future", file=out)
        return EXIT_USAGE
    failure = _publish(kafka, topics, snooze.key, snooze.model_dump_json(), timeout)
    if failure:
        print(f"snooze not published: {failure}", file=out)
        return EXIT_FAILED
    scope = f"rule {rule} of account {account_id}" if rule else f"account {account_id}"
    print(f"snoozed {scope} until {snooze.until.isoformat()}: {reason}", file=out)
    return EXIT_OK


def unsnooze_command(
    *,
    kafka: KafkaSettings,
    topics: TopicSettings,
    account_id: str,
    rule: str | None = None,
    out: TextIO = sys.stdout,
    timeout: float = 30.0,
) -> int:
    """Lift the snooze of an account (or of one rule of it) now: publishes a tombstone."""
    if not account_id:
        print("invalid unsnooze: --account is empty", file=out)
        return EXIT_USAGE
    failure = _publish(kafka, topics, snooze_key(account_id, rule), None, timeout)
    if failure:
        print(f"unsnooze not published: {failure}", file=out)
        return EXIT_FAILED
    scope = f"rule {rule} of account {account_id}" if rule else f"account {account_id}"
    print(f"snooze lifted for {scope}", file=out)
    return EXIT_OK


def _publish(
    kafka: KafkaSettings, topics: TopicSettings, key: str, value: str | None, timeout: float
) -> str | None:
    """Produce one record to the snoozes topic; the error text, or None once acknowledged."""
    ensure_topics(kafka, notifier_topics(topics))
    errors: list[KafkaError] = []

    def delivered(error: KafkaError | None, _message: Message) -> None:
        if error is not None:
            errors.append(error)

    producer = Producer({**kafka.confluent_config(), "enable.idempotence": True})
    producer.produce(topics.snoozes, key=key, value=value, on_delivery=delivered)
    unsent = producer.flush(timeout)
    producer.close()
    if errors:
        return errors[0].str()
    return "timed out" if unsent else None

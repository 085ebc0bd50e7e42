"""``kam simulate`` against the real broker: exactly the generated records land, in key order."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from itertools import islice

import pytest

from kam.settings import KafkaSettings, TopicSettings
from producers.simulation import simulate
from producers.simulator import SimulationConfig, simulate_messages, simulated_accounts
from schemas import Account
from tests.integration.test_publish import read_records, topics

pytestmark = pytest.mark.integration
__all__ = ["topics"]

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def test_bounded_run_lands_exactly_the_generated_records(
    kafka_settings: KafkaSettings, topics: TopicSettings
) -> None:
    report = simulate(
        kafka=kafka_settings,
        topics=topics,
        seed=21,
        accounts=12,
        events=400,
        rate=2000.0,
        bad_probability=0.2,
        invalid_fraction=0.1,
        start=START,
    )

    config = SimulationConfig(
        seed=21,
        accounts=12,
        start=START,
        mean_gap_seconds=1 / 2000.0,
        bad_probability=0.2,
        invalid_fraction=0.1,
    )
    expected = list(islice(simulate_messages(config), 400))
    invalid = sum(m.event is None for m in expected)
    bad = sum(m.rule is not None for m in expected)
    assert (
        report.accounts,
        report.events,
        report.invalid,
        report.bad_experiences,
        report.failed,
    ) == (12, 400 - invalid, invalid, bad, 0)
    assert report.sent == 400
    assert invalid > 0 and bad > 0

    records = read_records(kafka_settings, topics.touchpoints, 400)
    landed: dict[bytes, list[bytes]] = defaultdict(list)
    for record in records:  # sorted by partition and offset: per-key order is publish order
        landed[record.key()].append(record.value())
    wanted: dict[bytes, list[bytes]] = defaultdict(list)
    for message in expected:
        wanted[message.key.encode()].append(message.value)
    assert landed == wanted

    account_records = read_records(kafka_settings, topics.accounts, 12)
    published = [Account.model_validate_json(r.value()) for r in account_records]
    assert sorted(published, key=lambda a: a.account_id) == simulated_accounts(config)

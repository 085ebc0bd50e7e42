"""``kam accounts load`` / ``explain`` against the real broker: exact records on both topics."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from kam.settings import KafkaSettings, TopicSettings
from producers.accounts import (
    EXIT_OK,
    EXIT_REJECTED,
    explain_account_command,
    load_accounts_command,
)
from producers.tiering import DEFAULT_CONFIG_PATH, load_tiering_config
from schemas.account_status import AccountStatus
from schemas.accounts import Account, AccountTier
from tests.integration.helpers import java_partition

pytestmark = pytest.mark.integration

T1 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
T2 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
HEADER = (
    "account_id,name,segment,kam_owner,annual_revenue_eur,purchase_volume_12m_eur,"
    "billing_volume_12m_eur,growth_potential,industry_weight,influence,"
    "current_profitability_pct,potential_profitability_pct,override_tier,override_reason,"
    "override_by\n"
)
ACME = "ACME-001,Acme Automotive GmbH,automotive,alice,1e9,1e6,1e6,8,6,7,20,30,,,\n"  # 67.50 key
ACME_UP = "ACME-001,Acme Automotive GmbH,automotive,alice,1e9,1e6,1e6,10,7,10,20,36,,,\n"  # 76.00
BOLT = "BOLT-002,Bolt Retail,retail,bob,,,,,,5,,,,,\n"  # influence 5 -> 5.00 standard
BOLT_UP = "BOLT-002,Bolt Retail,retail,bob,,,,,,6,,,,,\n"  # 6.00 standard
CORE = "CORE-003,Core Pharma,pharma,carol,,,,,,,,,strategic,Reference in pharma,ceo\n"  # 10.00
BAD = "DUD-004,Dud,retail,dave,,,,11,,,,,,,\n"


def write(tmp_path: Path, name: str, *rows: str) -> Path:
    path = tmp_path / name
    path.write_text(HEADER + "".join(rows), encoding="utf-8")
    return path


@pytest.fixture
def topics(unique_name: Callable[[str], str]) -> TopicSettings:
    return TopicSettings(
        accounts=unique_name("t.accounts"),
        account_status=unique_name("t.account-status"),
        partitions=3,
    )


def load(path: Path, kafka: KafkaSettings, topics: TopicSettings, now: datetime) -> tuple[int, str]:
    out = io.StringIO()
    code = load_accounts_command(
        path, kafka=kafka, topics=topics, config_path=DEFAULT_CONFIG_PATH, out=out, now=now
    )
    return code, out.getvalue()


def test_java_partition_matches_kafka_reference_vectors() -> None:
    # murmur2 values from Kafka's UtilsTest: "21" -> -973932308, "foobar" -> -790332482
    assert java_partition("21", 2**31 - 1) == (-973932308 & 0x7FFFFFFF) % (2**31 - 1)
    assert java_partition("foobar", 2**31 - 1) == (-790332482 & 0x7FFFFFFF) % (2**31 - 1)


def records(kafka: KafkaSettings, topic: str) -> list[tuple[str, bytes]]:
    """Every record on the topic, in partition/offset order (bounded by count and time).

    Also checks that each record sits in the partition Java clients (and Faust) would pick.
    """
    consumer = Consumer(
        {**kafka.confluent_config(), "group.id": f"check-{topic}", "enable.auto.commit": False}
    )
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        ends = {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for p in partitions
        }
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        found: list[tuple[int, int, str, bytes]] = []
        deadline = time.monotonic() + 30
        while len(found) < sum(ends.values()) and time.monotonic() < deadline:
            for m in consumer.consume(100, timeout=0.5):
                if not m.error():
                    found.append((m.partition(), m.offset(), m.key().decode(), m.value()))
        assert len(found) == sum(ends.values())
        assert all(p == java_partition(key, len(partitions)) for p, _, key, _ in found)
    finally:
        consumer.close()
    return [(key, value) for _, _, key, value in sorted(found)]


def accounts_on(kafka: KafkaSettings, topics: TopicSettings) -> dict[str, list[Account]]:
    found: dict[str, list[Account]] = {}
    for key, value in records(kafka, topics.accounts):
        found.setdefault(key, []).append(Account.model_validate_json(value))
    return found


def statuses_on(kafka: KafkaSettings, topics: TopicSettings) -> list[AccountStatus]:
    found = [
        (key, AccountStatus.model_validate_json(value))
        for key, value in records(kafka, topics.account_status)
    ]
    assert all(key == status.account_id for key, status in found)
    return sorted((status for _, status in found), key=lambda s: (s.changed_at, s.account_id))


def test_load_publishes_scored_accounts_and_one_status_each(
    tmp_path: Path, kafka_settings: KafkaSettings, topics: TopicSettings
) -> None:
    path = write(tmp_path, "accounts.csv", ACME, BAD, BOLT, CORE)
    code, output = load(path, kafka_settings, topics, T1)
    assert code == EXIT_REJECTED, output
    assert output.splitlines()[0] == (
        "rejected line 3 (DUD-004): growth_potential: Input should be less than or equal to 10"
    )
    assert output.splitlines()[-1] == (
        f"3 valid, 1 rejected; published 3 account(s) to {topics.accounts} (0 unchanged) "
        f"and 3 tier change(s) to {topics.account_status}"
    )
    version = load_tiering_config(DEFAULT_CONFIG_PATH).model_version
    accounts = accounts_on(kafka_settings, topics)
    assert {
        key: [(a.tier, a.tier_score, a.updated_at, a.tier_model_version) for a in values]
        for key, values in accounts.items()
    } == {
        "ACME-001": [(AccountTier.KEY, 67.5, T1, version)],
        "BOLT-002": [(AccountTier.STANDARD, 5.0, T1, version)],
        "CORE-003": [(AccountTier.STRATEGIC, 10.0, T1, version)],
    }
    acme = accounts["ACME-001"][0]
    assert (acme.name, acme.segment, acme.kam_owner, acme.annual_revenue_eur, acme.influence) == (
        "Acme Automotive GmbH",
        "automotive",
        "alice",
        1e9,
        7.0,
    )
    core = accounts["CORE-003"][0].tier_override
    assert core is not None
    assert (core.tier, core.reason, core.by, core.at) == (
        AccountTier.STRATEGIC,
        "Reference in pharma",
        "ceo",
        T1,
    )
    assert [
        (s.account_id, s.previous_tier, s.tier, s.scored_tier, s.score, s.changed_at)
        for s in statuses_on(kafka_settings, topics)
    ] == [
        ("ACME-001", None, AccountTier.KEY, AccountTier.KEY, 67.5, T1),
        ("BOLT-002", None, AccountTier.STANDARD, AccountTier.STANDARD, 5.0, T1),
        ("CORE-003", None, AccountTier.STRATEGIC, AccountTier.STANDARD, 10.0, T1),
    ]


def test_loading_the_same_file_twice_publishes_nothing_new(
    tmp_path: Path, kafka_settings: KafkaSettings, topics: TopicSettings
) -> None:
    path = write(tmp_path, "accounts.csv", ACME, BOLT, CORE)
    first = load(path, kafka_settings, topics, T1)
    assert first[0] == EXIT_OK, first[1]
    code, output = load(path, kafka_settings, topics, T2)
    assert code == EXIT_OK
    assert output == (
        f"3 valid, 0 rejected; published 0 account(s) to {topics.accounts} (3 unchanged) "
        f"and 0 tier change(s) to {topics.account_status}\n"
    )
    assert len(records(kafka_settings, topics.accounts)) == 3
    assert len(records(kafka_settings, topics.account_status)) == 3


def test_a_changed_row_publishes_exactly_one_status(
    tmp_path: Path, kafka_settings: KafkaSettings, topics: TopicSettings
) -> None:
    assert load(write(tmp_path, "v1.csv", ACME, BOLT, CORE), kafka_settings, topics, T1)[0] == 0
    code, output = load(
        write(tmp_path, "v2.csv", ACME_UP, BOLT_UP, CORE), kafka_settings, topics, T2
    )
    assert code == EXIT_OK
    assert output.splitlines() == [
        "tier change ACME-001: key -> strategic (score 76.00)",
        f"3 valid, 0 rejected; published 2 account(s) to {topics.accounts} (1 unchanged) "
        f"and 1 tier change(s) to {topics.account_status}",
    ]
    accounts = accounts_on(kafka_settings, topics)
    assert {
        key: [(a.tier, a.tier_score, a.updated_at) for a in values]
        for key, values in accounts.items()
    } == {
        "ACME-001": [(AccountTier.KEY, 67.5, T1), (AccountTier.STRATEGIC, 76.0, T2)],
        "BOLT-002": [(AccountTier.STANDARD, 5.0, T1), (AccountTier.STANDARD, 6.0, T2)],
        "CORE-003": [(AccountTier.STRATEGIC, 10.0, T1)],
    }
    statuses = statuses_on(kafka_settings, topics)
    assert len(statuses) == 4
    last = statuses[-1]
    assert (last.account_id, last.previous_tier, last.tier, last.score, last.changed_at) == (
        "ACME-001",
        AccountTier.KEY,
        AccountTier.STRATEGIC,
        76.0,
        T2,
    )
    assert {c.criterion: c.contribution for c in last.contributions}["growth_potential"] == 15.0


def test_explain_reads_the_latest_state(
    tmp_path: Path, kafka_settings: KafkaSettings, topics: TopicSettings
) -> None:
    load(write(tmp_path, "v1.csv", ACME, CORE), kafka_settings, topics, T1)
    load(write(tmp_path, "v2.csv", ACME_UP, CORE), kafka_settings, topics, T2)
    out = io.StringIO()
    code = explain_account_command(
        "ACME-001", kafka=kafka_settings, topics=topics, config_path=DEFAULT_CONFIG_PATH, out=out
    )
    assert code == EXIT_OK
    lines = out.getvalue().splitlines()
    assert lines[:3] == [
        "Account ACME-001: Acme Automotive GmbH (segment automotive, KAM alice)",
        "Tier: strategic, score 76.00 (model 2026.11-1)",
        "Why: score 76.00 >= strategic threshold 75.00",
    ]
    assert lines[9] == (
        "growth_potential                           10/10     100.00    0.15     0.15        15.00"
    )
    assert lines[-2:] == [
        "Override: none",
        "Last tier change: key -> strategic at 2026-11-27T12:00:00+00:00",
    ]
    assert lines[-4] == (
        "total                                                          1.00     1.00        76.00"
    )

    unknown = io.StringIO()
    assert (
        explain_account_command(
            "NOPE",
            kafka=kafka_settings,
            topics=topics,
            config_path=DEFAULT_CONFIG_PATH,
            out=unknown,
        )
        == EXIT_REJECTED
    )
    assert unknown.getvalue() == f"account 'NOPE' not found on topic {topics.accounts}\n"


def test_dry_run_publishes_nothing(
    tmp_path: Path,
    kafka_settings: KafkaSettings,
    topics: TopicSettings,
    unique_name: Callable[[str], str],
) -> None:
    out = io.StringIO()
    code = load_accounts_command(
        write(tmp_path, "accounts.csv", ACME),
        kafka=kafka_settings,
        topics=topics,
        out=out,
        dry_run=True,
        now=T1,
    )
    assert code == EXIT_OK
    assert out.getvalue().splitlines() == [
        "tier change ACME-001: (none) -> key (score 67.50)",
        f"1 valid, 0 rejected; would publish 1 account(s) to {topics.accounts} (0 unchanged) "
        f"and 1 tier change(s) to {topics.account_status}",
    ]
    existing = Consumer({**kafka_settings.confluent_config(), "group.id": unique_name("dry-run")})
    try:
        assert topics.accounts not in existing.list_topics(timeout=10).topics
    finally:
        existing.close()

"""Incident chains through the real broker: worker and sink as processes, chdb underneath.

The chain of tests/unit/streams/chain_story.py: the first part (late delivery, dispute) fires
the chain with two departments; the ticket, published later, adds the third. Between the two
the worker is SIGKILLed, or a second worker joins and takes half the partitions: the ticket
alone is a single support event, so the full story can only come from the chain state that
survived the crash or moved with its partition (the first part is committed before, so it is
never read again).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from kam.settings import ClickHouseSettings
from schemas import Account, AccountTier, Alert
from sinks import run_sql
from tests.integration.conftest import Pipeline
from tests.integration.helpers import committed_offsets, java_partition, produce, wait_for
from tests.unit.streams.chain_story import (
    FIRST_STORY,
    STORY,
    chain_alert_key,
    explained,
    order_story,
)

PARTITIONS = 4
FAST = {"KAM_WORKER_COMMIT_INTERVAL_SECONDS": "0.2", "KAM_WORKER_TICK_SECONDS": "0.5"}


def _accounts_on_every_partition() -> list[str]:
    """One account id per partition of the test topics."""
    chosen: dict[int, str] = {}
    for i in range(200):
        candidate = f"chain-{i}"
        chosen.setdefault(java_partition(candidate, PARTITIONS), candidate)
        if len(chosen) == PARTITIONS:
            break
    return [chosen[p] for p in sorted(chosen)]


ACCOUNT_IDS = _accounts_on_every_partition()


def _publish_accounts(pipeline: Pipeline, ids: list[str]) -> None:
    since = datetime.now(UTC) - timedelta(days=90)
    accounts = [
        Account(account_id=a, name=a.title(), tier=AccountTier.STRATEGIC, kam_owner="ana",
                updated_at=since)
        for a in ids
    ]  # fmt: skip
    produce(
        pipeline.kafka,
        pipeline.topics.accounts,
        [(a.account_id.encode(), a.model_dump_json().encode()) for a in accounts],
    )


def _publish(pipeline: Pipeline, docs: list[dict[str, Any]]) -> None:
    produce(
        pipeline.kafka,
        pipeline.topics.touchpoints,
        [(doc["account_id"].encode(), orjson.dumps(doc)) for doc in docs],
    )


def _stories(ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=30)
    return {account: order_story(account, start) for account in ids}


def _chain_alerts(pipeline: Pipeline) -> list[tuple[str, str, str]]:
    """(alert key, transition, summary) of every chain alert record, distinct, sorted."""
    alerts = map(Alert.model_validate_json, pipeline.read_all(pipeline.topics.alerts))
    return sorted(
        {(a.alert_key, a.evidence["transition"], a.summary) for a in alerts
         if a.rule == "incident_chain"}
    )  # fmt: skip


def _committed_through(pipeline: Pipeline, ends: dict[int, int]) -> bool:
    offsets = committed_offsets(
        pipeline.kafka, pipeline.env["KAM_WORKER_APP_ID"], pipeline.topics.touchpoints, PARTITIONS
    )
    return all((offsets.get(p) or 0) >= end for p, end in ends.items())


def test_a_chain_survives_a_sigkill_and_lands_in_clickhouse(pipeline: Pipeline) -> None:
    account = ACCOUNT_IDS[0]
    partition = java_partition(account, PARTITIONS)
    story = _stories([account])[account]
    env = {**FAST, "KAM_WORKER_DATA_DIR": str(pipeline.workdir / "w")}
    first = pipeline.service(["worker"], name="first", env=env)
    sink = pipeline.service(["sink"], name="sink")
    _publish_accounts(pipeline, [account])
    wait_for(lambda: first.metric("kam_worker_account_updates_total") == 1,
             what="the account", alive=[first])  # fmt: skip
    _publish(pipeline, story[:-1])
    key = chain_alert_key(account)
    fired = [(key, "new", FIRST_STORY)]
    wait_for(lambda: _chain_alerts(pipeline) == fired, what="the chain fired", alive=[first])
    wait_for(lambda: _committed_through(pipeline, {partition: len(story) - 1}),
             what="the first part committed", alive=[first])  # fmt: skip
    first.kill()

    second = pipeline.service(["worker"], name="second", env=env)
    _publish(pipeline, story[-1:])
    told = [*fired, (key, "updated", STORY)]
    wait_for(lambda: _chain_alerts(pipeline) == told, timeout=90,
             what="the chain updated by the restarted worker", alive=[second],
             details=pipeline.worker_progress)  # fmt: skip
    assert second.metric("kam_worker_events_consumed_total") == 1  # the ticket only

    clickhouse = ClickHouseSettings(chdb_path=pipeline.workdir / "chdb")
    sql = (
        "SELECT alert_key, order_id, status, transition, contact_points, explains, summary,"
        " arrayMap(link -> tupleElement(link, 'event_id'), chain)"
        " FROM kam.incident_chains"
    )
    expected = [[key, "O-17", "firing", "updated", ["logistics", "support", "billing"],
                 explained(account), STORY, ["c-late", "c-ticket", "c-dispute"]]]  # fmt: skip

    def stored() -> bool:
        rows = orjson.loads(run_sql(clickhouse, sql, fmt="JSONCompact", wait=30))["data"]
        return bool(rows == expected)

    wait_for(stored, timeout=60, what="the chain in ClickHouse", alive=[second, sink])


def test_chain_state_moves_with_its_partition_when_a_second_worker_joins(
    pipeline: Pipeline,
) -> None:
    stories = _stories(ACCOUNT_IDS)
    one = pipeline.service(
        ["worker"], name="one", env={**FAST, "KAM_WORKER_DATA_DIR": str(pipeline.workdir / "one")}
    )
    _publish_accounts(pipeline, ACCOUNT_IDS)
    wait_for(lambda: one.metric("kam_worker_account_updates_total") == len(ACCOUNT_IDS),
             what="the accounts", alive=[one])  # fmt: skip
    _publish(pipeline, [doc for story in stories.values() for doc in story[:-1]])
    fired = sorted((chain_alert_key(a), "new", FIRST_STORY) for a in ACCOUNT_IDS)
    wait_for(lambda: _chain_alerts(pipeline) == fired, what="four chains fired", alive=[one])
    ends = {java_partition(a, PARTITIONS): len(stories[a]) - 1 for a in ACCOUNT_IDS}
    wait_for(lambda: _committed_through(pipeline, ends), what="the first parts committed",
             alive=[one])  # fmt: skip

    two = pipeline.service(
        ["worker"], name="two", env={**FAST, "KAM_WORKER_DATA_DIR": str(pipeline.workdir / "two")}
    )
    workers = [one, two]
    wait_for(
        lambda: all(w.metric("kam_worker_assigned_partitions") == 2 for w in workers),
        timeout=90,
        what="the 4 partitions split 2 + 2",
        alive=workers,
        details=pipeline.worker_progress,
    )
    _publish(pipeline, [story[-1] for story in stories.values()])
    told = sorted([*fired, *((chain_alert_key(a), "updated", STORY) for a in ACCOUNT_IDS)])
    wait_for(lambda: _chain_alerts(pipeline) == told, timeout=90,
             what="every chain updated, half of them by the new worker", alive=workers,
             details=pipeline.worker_progress)  # fmt: skip
    # The new worker read only the tickets of its two partitions: the first part of their
    # chains reached it through the state table.
    assert two.metric("kam_worker_events_consumed_total") == 2

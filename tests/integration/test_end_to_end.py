"""Source systems to ClickHouse: the worker and the sink as real processes, chdb underneath."""

from __future__ import annotations

import orjson

from kam.settings import ClickHouseSettings
from sinks import run_sql
from tests.integration.conftest import Pipeline
from tests.integration.helpers import produce, wait_for
from tests.integration.test_worker import ACCOUNTS, INVALID, TOUCHPOINTS


def _rows(clickhouse: ClickHouseSettings, sql: str) -> list[list[object]]:
    """Result rows of ``sql``, read through the running sink's query endpoint."""
    raw = run_sql(clickhouse, sql, fmt="JSONCompact", wait=30)  # the sink may be starting
    return orjson.loads(raw)["data"]  # type: ignore[no-any-return]


def _count(clickhouse: ClickHouseSettings, table: str) -> int:
    return int(_rows(clickhouse, f"SELECT count() FROM kam.{table}")[0][0])  # type: ignore[arg-type]


def test_touchpoints_dead_letters_alerts_and_kpis_land_in_clickhouse(pipeline: Pipeline) -> None:
    clickhouse = ClickHouseSettings(chdb_path=pipeline.workdir / "chdb")
    worker = pipeline.worker()
    sink = pipeline.service(["sink"], name="sink")
    produce(
        pipeline.kafka,
        pipeline.topics.accounts,
        [(a.account_id.encode(), a.model_dump_json().encode()) for a in ACCOUNTS],
    )
    wait_for(
        lambda: worker.metric("kam_worker_account_updates_total") == 2,
        what="the worker to apply both accounts",
        alive=[worker, sink],
    )
    produce(pipeline.kafka, pipeline.topics.touchpoints, TOUCHPOINTS)

    wait_for(
        lambda: (
            (
                _count(clickhouse, "touchpoints"),
                _count(clickhouse, "failed_events"),
                _count(clickhouse, "alerts"),
            )
            == (4, 7, 3)
        ),
        timeout=90,
        what="4 touchpoints, 7 failed events and 3 alerts in ClickHouse",
        alive=[worker, sink],
    )

    assert _rows(
        clickhouse,
        """
        SELECT event_id, account_id, contact_point, event_type, tier, kam_owner,
               bad_experience IS NOT NULL
        FROM kam.touchpoints ORDER BY event_id""",
    ) == [
        ["e1", "acme", "logistics", "delivery_completed", "strategic", "ana", 1],
        ["e2", "acme", "support", "csat_submitted", "strategic", "ana", 0],
        ["e3", "globex", "support", "csat_submitted", "standard", None, 1],
        ["e4", "initech", "sales", "order_placed", "unknown", None, 0],
    ]
    failed = _rows(
        clickhouse, "SELECT failure_type, hex(base64Decode(original)) FROM kam.failed_events"
    )
    assert sorted(failed) == sorted([kind, raw.hex().upper()] for kind, raw in INVALID.items())
    assert _rows(
        clickhouse,
        """
        SELECT alert_key, status, tier, kam_owner FROM kam.alerts ORDER BY alert_key""",
    ) == [
        ["acme:logistics:experience_score_below_7d", "firing", "strategic", "ana"],
        ["acme:logistics:late_delivery", "firing", "strategic", "ana"],
        ["acme:logistics:otif_below_7d", "firing", "strategic", "ana"],
    ]
    wait_for(
        lambda: _count(clickhouse, "kpi_snapshots") > 0,
        timeout=60,
        what="KPI snapshots in ClickHouse",
        alive=[worker, sink],
    )
    assert _rows(
        clickhouse,
        """
        SELECT value FROM kam.kpi_snapshots
        WHERE account_id = 'acme' AND contact_point = 'logistics' AND window = '7d'
          AND kpi = 'otif'""",
    ) == [[0.0]]

"""The Grafana dashboard's SQL runs on the real schema once Grafana's macros are expanded."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from sinks.chdb_backend import ChdbBackend

DASHBOARD = Path(__file__).resolve().parents[3] / "deploy" / "grafana" / "kam-pulse.json"
DATASOURCE = "grafana-clickhouse-datasource"


def expand(sql: str) -> str:
    """What the ClickHouse data source sends for a 7-day range and the default variables."""
    sql = re.sub(r"\$__timeFilter\((\w+)\)", r"(\1 >= now64(3) - INTERVAL 7 DAY)", sql)
    sql = re.sub(r"\$__timeInterval\((\w+)\)", r"toStartOfInterval(\1, INTERVAL 1 hour)", sql)
    sql = sql.replace("${database}", "kam").replace("${tier:singlequote}", "'strategic','key'")
    assert "$" not in sql, sql
    return sql


def panels() -> list[dict[str, Any]]:
    return json.loads(DASHBOARD.read_text())["panels"]  # type: ignore[no-any-return]


def test_dashboard_uses_the_clickhouse_datasource() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] == "kam-pulse"
    assert len(panels()) >= 10
    for panel in panels():
        assert panel["datasource"]["type"] == DATASOURCE
        assert all(target["datasource"]["type"] == DATASOURCE for target in panel["targets"])
    ids, titles = [p["id"] for p in panels()], [p["title"] for p in panels()]
    assert len(set(ids)) == len(ids) and len(set(titles)) == len(titles)


@pytest.mark.parametrize("title", [panel["title"] for panel in panels()])
def test_panel_sql_runs(chdb_store: ChdbBackend, title: str) -> None:
    [panel] = [p for p in panels() if p["title"] == title]
    for target in panel["targets"]:
        result = chdb_store.query(expand(target["rawSql"]))
        if panel["type"] == "timeseries":
            assert result.columns[0] == "time"

"""The chdb backend against the real embedded engine: inserts, dedup tokens, typed errors."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sinks.backend import error_code, parse_json_compact, settings_clause
from sinks.chdb_backend import ChdbBackend, encode_rows
from sinks.exceptions import ClickHouseError, RowsRejected

KPI_COLUMNS = ["account_id", "contact_point", "window", "kpi", "value", "computed_at",
               "source_topic", "source_partition", "source_offset"]  # fmt: skip
AT = datetime(2026, 3, 1, 12, 0, 0, 250000, tzinfo=UTC)


def kpi(account: str, value: float) -> list[object]:
    return [account, "logistics", "30d", "otif", value, AT, "kpis", 0, 7]


def test_encode_rows_is_json_compact_each_row() -> None:
    assert encode_rows([[1, "a", AT], [2, None, AT]]) == (
        b'[1,"a","2026-03-01T12:00:00.250000+00:00"],[2,null,"2026-03-01T12:00:00.250000+00:00"]'
    )
    assert encode_rows([]) == b""


def test_settings_clause_quotes_strings() -> None:
    assert settings_clause({"a": 0, "t": "x'y"}) == "SETTINGS a=0, t='x\\'y'"


def test_error_code_and_empty_result() -> None:
    assert error_code("Code: 60. DB::Exception: Unknown table") == 60
    assert error_code("no code") is None
    assert parse_json_compact(b"").rows == []


def test_same_dedup_token_inserts_once(chdb_store: ChdbBackend) -> None:
    for token in ("kpis:0:7-7", "kpis:0:7-7", "kpis:0:8-8"):
        chdb_store.insert("kpi_snapshots", KPI_COLUMNS, [kpi("acme", 0.9)], dedup_token=token)
    result = chdb_store.query("SELECT account_id, value, toString(computed_at) FROM kpi_snapshots")
    assert result.columns == ["account_id", "value", "toString(computed_at)"]
    assert result.rows == [["acme", 0.9, "2026-03-01 12:00:00.250"]] * 2


def test_bad_value_is_rejected_rows_with_code(chdb_store: ChdbBackend) -> None:
    row = ["e1", "acme", "marketing", "x", AT, "crm", 1, None, "{}", "key", None, None, None,
           None, None, AT, "t", 0, 1]  # fmt: skip
    columns = ["event_id", "account_id", "contact_point", "event_type", "occurred_at",
               "source_system", "schema_version", "trace_id", "payload", "tier", "account_name",
               "kam_owner", "kam_team", "tier_score", "bad_experience", "processed_at",
               "source_topic", "source_partition", "source_offset"]  # fmt: skip
    with pytest.raises(RowsRejected) as caught:
        chdb_store.insert("touchpoints", columns, [row], dedup_token=None)
    assert caught.value.code == 691  # UNKNOWN_ELEMENT_OF_ENUM
    assert chdb_store.query("SELECT count() FROM touchpoints").rows == [[0]]


def test_query_error_keeps_code(chdb_store: ChdbBackend) -> None:
    with pytest.raises(ClickHouseError) as caught:
        chdb_store.query("SELECT * FROM no_such_table")
    assert caught.value.code == 60
    assert not isinstance(caught.value, RowsRejected)


def test_reader_sees_writes_and_cannot_write(chdb_store: ChdbBackend) -> None:
    reader = chdb_store.reader()
    try:
        chdb_store.insert("kpi_snapshots", KPI_COLUMNS, [kpi("acme", 0.5)], dedup_token="r:0:1-1")
        assert reader.query("SELECT count() FROM kpi_snapshots").rows == [[1]]
        with pytest.raises(ClickHouseError) as caught:
            reader.command("TRUNCATE TABLE kpi_snapshots")
        assert caught.value.code == 164  # READONLY
        assert reader.raw("SELECT 'ok' AS s", fmt="TSVWithNames") == "s\nok\n"
    finally:
        reader.close()

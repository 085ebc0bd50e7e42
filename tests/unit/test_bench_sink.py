"""The sink benchmark's pure parts: which server it benches and how its output is read."""

from __future__ import annotations

import pytest

from bench.bench_sink import server_settings
from bench.sink import rates

OUTPUT = """engine: chdb (ClickHouse 26.9.2.1)
writer path [chdb] (batch + dedup + columnar insert, ClickHouse parses the JSON): 23,356 rows/s
single bulk insert [chdb] (the same rows, one insert call): 238,684 rows/s
bulk, columnar [chdb] (the same rows, one insert_columns call): 156,525 rows/s
engine: server ch.example:8443 (ClickHouse 25.8.1)
writer path [server ch.example:8443] (batch + dedup + columnar insert): 41,000 rows/s
single bulk insert [server ch.example:8443] (the same rows, one insert call): 90,500 rows/s
"""


def test_rates_per_engine() -> None:
    assert rates(OUTPUT, "writer path") == {"chdb": 23356.0, "server ch.example:8443": 41000.0}
    assert rates(OUTPUT, "single bulk insert") == {
        "chdb": 238684.0,
        "server ch.example:8443": 90500.0,
    }


def test_server_from_url() -> None:
    server = server_settings("https://bench%40x:p%3Aw@ch.example:8443")
    assert server is not None
    assert (server.host, server.port, server.secure) == ("ch.example", 8443, True)
    assert (server.username, server.password.get_secret_value()) == ("bench@x", "p:w")
    plain = server_settings("http://localhost")
    assert plain is not None
    assert (plain.host, plain.port, plain.secure, plain.username) == (
        "localhost", None, False, "default",
    )  # fmt: skip
    with pytest.raises(SystemExit, match="--clickhouse-url"):
        server_settings("ch.example:8123")


def test_server_from_settings_only_with_a_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLICKHOUSE_HOST", raising=False)
    assert server_settings(None) is None
    monkeypatch.setenv("CLICKHOUSE_HOST", "ch.internal")
    monkeypatch.setenv("CLICKHOUSE_PORT", "8123")
    server = server_settings(None)
    assert server is not None
    assert (server.host, server.port) == ("ch.internal", 8123)

"""Writer path vs one bulk insert of the same rows, side by side in one run, per engine.

writer path: raw enriched-touchpoint JSON (with its ``kam-origin``, as the worker sends it) ->
SourceMessage -> per-partition batches -> writer.write (origin dedup against ``sink_origins``,
columnar deduplicated insert; ClickHouse parses the JSON into touchpoints).
bulk: the same touchpoints rows (read back from the writer's table, untimed) in one
``insert`` call; ``bulk, columnar`` is the same rows in one ``insert_columns`` call (info).

Engines: embedded chdb always; a ClickHouse server too with ``--clickhouse-url
http://user:password@host:8123`` or ``CLICKHOUSE_HOST`` (and the other ``CLICKHOUSE_*``
settings, see kam/settings.py). Each round uses fresh databases (dropped at the end); the
best of ``--rounds`` is reported, with the machine's load averages.

    .venv/bin/python bench/bench_sink.py [--rows 50000] [--batch 10000] [--partitions 4]
        [--rounds 3] [--clickhouse-url URL]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import unquote, urlsplit

from kam.settings import ClickHouseSettings
from schemas import TOUCHPOINT_ADAPTER, AccountContext, AccountTier, EnrichedTouchpoint
from schemas.origins import source_origin
from sinks.backend import ClickHouseBackend, quoted_identifier
from sinks.batching import TopicPartition
from sinks.clickhouse_writer import ClickHouseWriter
from sinks.migrate import apply_migrations
from sinks.rows import COLUMNS, SourceMessage

TOPIC = "kam.touchpoints.enriched"
SOURCE_TOPIC = "kam.touchpoints"
KAFKA_TIME = datetime(2026, 3, 2, tzinfo=UTC)
Opener = Callable[[str], ClickHouseBackend]
"""A backend on a (new) database of the engine under test."""


EVENTS: list[tuple[str, str, dict[str, object]]] = [
    ("delivery_completed", "wms", {"shipment_id": "s1", "promised_at": "2026-03-01T18:00:00Z",
     "delivered_at": "2026-03-02T09:30:00Z", "ordered_qty": 10, "delivered_qty": 8}),
    ("ticket_opened", "helpdesk", {"ticket_id": "t1", "priority": "urgent"}),
    ("invoice_issued", "erp", {"invoice_id": "i1", "amount": 1200.5,
     "due_at": "2026-04-01T00:00:00Z"}),
    ("order_placed", "crm", {"order_id": "o1", "amount": 5400.0}),
]  # fmt: skip


def template(event_type: str, system: str, payload: dict[str, object]) -> bytes:
    """An enriched touchpoint as the stream workers publish it, with placeholders for ids."""
    event = TOUCHPOINT_ADAPTER.validate_python(
        {"event_type": event_type, "event_id": "EVENT-ID", "account_id": "ACCOUNT",
         "occurred_at": "2026-03-02T09:30:00.125Z", "source_system": system, "payload": payload}
    )  # fmt: skip
    enriched = EnrichedTouchpoint(
        event=event,
        account=AccountContext(tier=AccountTier.KEY, name="Acme", kam_owner="ana", kam_team="x"),
        bad_experience=None,
        processed_at=KAFKA_TIME,
    )
    return enriched.model_dump_json().encode()


def messages(rows: int) -> list[bytes]:
    templates = [template(*event) for event in EVENTS]
    return [
        templates[i % len(templates)]
        .replace(b"EVENT-ID", f"ev-{i}".encode())
        .replace(b"ACCOUNT", f"acct-{i % 500}".encode())
        for i in range(rows)
    ]


class Clock(NamedTuple):
    """Elapsed seconds and this process's CPU seconds (all threads: chdb's too)."""

    wall: float
    cpu: float


def clock_since(started: Clock) -> Clock:
    return Clock(time.perf_counter() - started.wall, time.process_time() - started.cpu)


def clock_now() -> Clock:
    return Clock(time.perf_counter(), time.process_time())


def run_writer(
    store: ClickHouseBackend, values: list[bytes], *, batch: int, partitions: int
) -> Clock:
    """Time to write ``values`` through the sink's writer, as the sink's consumer loop does
    (each message made a SourceMessage with its origin: source partition ``i % 8``)."""
    writer = ClickHouseWriter(
        backend=store, routes={TOPIC: "enriched"}, group_id="bench", max_rows=batch,
        max_seconds=3600,
    )  # fmt: skip
    started = clock_now()
    for index, value in enumerate(values):
        partition, offset = index % partitions, index // partitions
        message = SourceMessage(
            topic=TOPIC, partition=partition, offset=offset, value=value, timestamp=KAFKA_TIME,
            origin=source_origin("enriched", SOURCE_TOPIC, index % 8, index),
        )  # fmt: skip
        now = time.monotonic()
        for ready in writer.add(TopicPartition(TOPIC, partition), offset, message, now=now):
            writer.write(ready)
    for ready in writer.drain():
        writer.write(ready)
    return clock_since(started)


def stored_rows(store: ClickHouseBackend) -> list[list[object]]:
    """The rows the writer stored in ``touchpoints``, in insert column order."""
    columns = ", ".join(COLUMNS["touchpoints"])
    rows = store.query(f"SELECT {columns} FROM touchpoints ORDER BY source_offset").rows
    moments = [i for i, name in enumerate(COLUMNS["touchpoints"]) if name.endswith("_at")]
    for row in rows:  # as the writer's callers hold them: datetimes, not text
        for i in moments:
            row[i] = datetime.fromisoformat(row[i]).replace(tzinfo=UTC)
    return rows


def run_bulk(store: ClickHouseBackend, rows: list[list[object]], *, columnar: bool) -> Clock:
    columns = COLUMNS["touchpoints"]
    started = clock_now()
    if columnar:
        data = [list(values) for values in zip(*rows, strict=True)]
        store.insert_columns("touchpoints", columns, data, dedup_token="bulk")
    else:
        store.insert("touchpoints", columns, rows, dedup_token="bulk")
    return clock_since(started)


def count(store: ClickHouseBackend, sql: str) -> int:
    return int(store.query(sql).rows[0][0])


def bench_engine(
    name: str, open_db: Opener, values: list[bytes], *, batch: int, partitions: int, rounds: int
) -> dict[str, Clock]:
    """Best wall and CPU seconds of each path over ``rounds`` rounds, each on fresh
    databases."""
    best: dict[str, Clock] = {}
    for round_ in range(rounds):
        stores = {path: open_db(f"bench_{path}_{os.getpid()}_{round_}") for path in PATHS}
        try:
            for store in stores.values():
                apply_migrations(store)
            seconds = {
                "writer": run_writer(
                    stores["writer"], values, batch=batch, partitions=partitions
                )
            }
            rows = stored_rows(stores["writer"])
            seconds["bulk"] = run_bulk(stores["bulk"], rows, columnar=False)
            seconds["columnar"] = run_bulk(stores["columnar"], rows, columnar=True)
            for path, store in stores.items():
                stored = count(store, "SELECT count() FROM touchpoints")
                assert stored == len(values), f"{name} {path}: {stored} rows"
            failed = count(stores["writer"], "SELECT count() FROM failed_events")
            assert failed == 0, f"{name} writer: {failed} failed rows"
        finally:
            for store in stores.values():
                store.command(f"DROP DATABASE IF EXISTS {quoted_identifier(store.database)}")
                store.close()
        for path, value in seconds.items():
            old = best.get(path, value)
            best[path] = Clock(min(old.wall, value.wall), min(old.cpu, value.cpu))
    return best


PATHS = ("writer", "bulk", "columnar")


def server_settings(url: str | None) -> ClickHouseSettings | None:
    """The server to bench: ``--clickhouse-url``, else ``CLICKHOUSE_*`` when a host is set."""
    if url is None:
        settings = ClickHouseSettings()
        return settings if settings.backend == "server" else None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SystemExit(f"--clickhouse-url: not http(s)://[user[:password]@]host[:port]: {url}")
    fields: dict[str, Any] = {"host": parts.hostname, "secure": parts.scheme == "https"}
    if parts.port:
        fields["port"] = parts.port
    if parts.username:
        fields["username"] = unquote(parts.username)
    if parts.password:
        fields["password"] = unquote(parts.password)
    return ClickHouseSettings(**fields)


@contextmanager
def engines(url: str | None) -> Iterator[list[tuple[str, Opener]]]:
    """(label, opener) of every engine to bench: chdb in a temporary directory, the server."""
    from sinks.chdb_backend import ChdbBackend  # noqa: PLC0415 - a 270 MB engine at import

    with tempfile.TemporaryDirectory(prefix="kam-bench-") as tmp:
        found: list[tuple[str, Opener]] = [
            ("chdb", lambda db: ChdbBackend(path=Path(tmp) / "chdb", database=db))
        ]
        server = server_settings(url)
        if server is not None:
            from sinks.server_backend import ServerBackend  # noqa: PLC0415

            def open_server(db: str) -> ClickHouseBackend:
                return ServerBackend(settings=server.model_copy(update={"database": db}))

            found.append((f"server {server.host}:{server.port or 'default port'}", open_server))
        yield found


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f} ({os.cpu_count()} cores)"


def report(label: str, version: str, rate: dict[str, float]) -> None:
    """The engine's rates and ratios (``bench/sink.py`` reads the writer and bulk lines)."""
    print(f"engine: {label} (ClickHouse {version})")
    for key, name, what in (
        ("writer", "writer path", "batch + dedup + columnar insert, ClickHouse parses the JSON"),
        ("bulk", "single bulk insert", "the same rows, one insert call"),
        ("columnar", "bulk, columnar", "the same rows, one insert_columns call"),
    ):
        print(f"{name} [{label}] ({what}): {rate[key]:,.0f} rows/s")
    writer = rate["writer"]
    print(
        f"ratio writer/bulk [{label}]: {writer / rate['bulk']:.2f} (target >= 0.5);"
        f" writer/columnar bulk {writer / rate['columnar']:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3, help="best of this many rounds")
    parser.add_argument("--clickhouse-url", help="also bench this server (clickhouse-connect)")
    args = parser.parse_args()
    values = messages(args.rows)
    print(f"rows={args.rows} batch={args.batch} partitions={args.partitions} rounds={args.rounds}")
    print(f"before: {load()}")
    with engines(args.clickhouse_url) as found:
        if len(found) == 1:
            print("engines: chdb only (no --clickhouse-url / CLICKHOUSE_HOST given)")
        for label, open_db in found:
            best = bench_engine(
                label, open_db, values, batch=args.batch, partitions=args.partitions,
                rounds=args.rounds,
            )  # fmt: skip
            probe = open_db("default")
            try:
                version = probe.query("SELECT version()").rows[0][0]
            finally:
                probe.close()
            report(label, version, {path: args.rows / clock.wall for path, clock in best.items()})
            if label == "chdb":  # in-process: the CPU time is the engine's too
                cpu = {path: clock.cpu for path, clock in best.items()}
                print(
                    f"cpu seconds [chdb]: writer {cpu['writer']:.2f}, bulk {cpu['bulk']:.2f},"
                    f" columnar bulk {cpu['columnar']:.2f}; CPU ratio writer/bulk"
                    f" {cpu['bulk'] / cpu['writer']:.2f} (steadier than the wall-clock one on"
                    " a shared machine)"
                )
    print(f"after: {load()}")


if __name__ == "__main__":
    main()

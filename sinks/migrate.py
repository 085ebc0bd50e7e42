"""Versioned, idempotent schema migrations recorded in ``schema_migrations``.

Files ``sinks/migrations/NNNN_name.sql`` are applied in version order; ``{database}`` in them is
replaced by the configured database. The same files are the DDL of every deployment
(``CLICKHOUSE_DEPLOYMENT``): :func:`render` turns a statement into what one server (or chdb),
a replicated cluster or ClickHouse Cloud runs; single-server rendering is the file itself.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources
from importlib.abc import Traversable

from kam.settings import ClickHouseDeployment, ClickHouseSettings
from sinks.backend import ClickHouseBackend, quoted_identifier, sql_string
from sinks.exceptions import MigrationError

_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_DDL = re.compile(r"^\s*(CREATE|ALTER|DROP|TRUNCATE|RENAME|EXCHANGE)\b", re.IGNORECASE)
_AT_THE_END = frozenset({"RENAME", "EXCHANGE"})
"""``RENAME TABLE a TO b, ... ON CLUSTER c`` and ``EXCHANGE TABLES a AND b ON CLUSTER c``."""
_OBJECT = re.compile(r"\{database\}(?:\.[A-Za-z_][A-Za-z0-9_]*)?")
"""The object a DDL statement is about: ``{database}`` or ``{database}.name``; ``ON CLUSTER``
goes right after the first one (``CREATE TABLE db.t ON CLUSTER c (...)``, ``ALTER TABLE db.t
ON CLUSTER c ...``, ``DROP VIEW db.v ON CLUSTER c``, ``CREATE DATABASE db ON CLUSTER c``)."""
_MERGE_TREES = (
    "MergeTree|ReplacingMergeTree|SummingMergeTree|AggregatingMergeTree|CollapsingMergeTree"
    "|VersionedCollapsingMergeTree|GraphiteMergeTree|CoalescingMergeTree"
)
_ENGINE = re.compile(rf"\bENGINE\s*=\s*({_MERGE_TREES})\b(\s*\(([^()]*)\))?(\s*\()?")
_NON_REPLICATED_WINDOW = re.compile(r"\bnon_replicated_deduplication_window\s*=\s*(\d+)")
DEDUPLICATION_SECONDS = 7 * 24 * 3600
"""How long a replicated table remembers an insert's deduplication token (ClickHouse's
default is one hour; a non-replicated table has no time limit): as long as ``sink_batches``
keeps the batch cuts that make a replayed batch insert the same tokens."""


@dataclass(frozen=True, slots=True)
class DdlTarget:
    """What the migrations are rendered for (from ``CLICKHOUSE_*``, see
    :class:`kam.settings.ClickHouseSettings`)."""

    deployment: ClickHouseDeployment = "single"
    cluster: str | None = None
    replica_path: str = "/clickhouse/tables/{shard}/{database}/{table}"
    replica_name: str = "{replica}"

    @classmethod
    def from_settings(cls, settings: ClickHouseSettings) -> DdlTarget:
        return cls(
            deployment=settings.deployment,
            cluster=settings.cluster,
            replica_path=settings.replica_path,
            replica_name=settings.replica_name,
        )


SINGLE = DdlTarget()


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]
    checksum: str


def split_statements(text: str) -> tuple[str, ...]:
    """The statements of a migration file: ``--`` comment lines dropped, split at ``;`` EOL."""
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("--")]
    statements, current = [], []
    for line in lines:
        current.append(line)
        if line.rstrip().endswith(";"):
            statements.append("\n".join(current).strip().rstrip(";").strip())
            current = []
    if "\n".join(current).strip():
        raise MigrationError("the last statement of a migration must end with ';'")
    return tuple(statement for statement in statements if statement)


def set_health_window(backend: ClickHouseBackend, window: str) -> None:
    """Make ``account_health_current`` show ``window`` (a row of ``kam_settings``)."""
    current = backend.query(
        "SELECT argMax(value, updated_at) FROM kam_settings WHERE key = 'health_window'"
    ).rows
    if not current or current[0][0] != window:
        backend.insert(
            "kam_settings", ["key", "value"], [["health_window", window]], dedup_token=None
        )


def load_migrations(directory: Traversable | None = None) -> list[Migration]:
    """Every migration file in ``directory`` (default: the packaged ones), by version."""
    folder = directory or resources.files("sinks.migrations")
    found: dict[int, Migration] = {}
    for entry in folder.iterdir():
        match = _FILE.match(entry.name)
        if not match:
            continue
        text = entry.read_text(encoding="utf-8")
        version = int(match.group(1))
        if version in found:
            raise MigrationError(f"two migrations have version {version}")
        found[version] = Migration(
            version=version,
            name=match.group(2),
            statements=split_statements(text),
            checksum=hashlib.sha256(text.encode()).hexdigest(),
        )
    return [found[version] for version in sorted(found)]


def render(statement: str, database: str, target: DdlTarget = SINGLE) -> str:
    """A migration statement as ``target`` runs it, ``{database}`` replaced by the quoted
    database name. Pure: no I/O, the same input gives the same SQL.

    - ``single`` (one server, chdb): nothing else changes.
    - ``cluster``: every DDL statement gets ``ON CLUSTER '<cluster>'`` after the object it is
      about, every ``*MergeTree`` engine becomes its ``Replicated*MergeTree`` with the Keeper
      path and replica name first (the engine's own arguments follow), and
      ``non_replicated_deduplication_window = N`` becomes ``replicated_deduplication_window =
      N`` (the same number of blocks, now remembered in Keeper for every replica) with
      ``replicated_deduplication_window_seconds`` = :data:`DEDUPLICATION_SECONDS`.
    - ``cloud``: engines stay as written (ClickHouse Cloud makes each a SharedMergeTree), no
      ``ON CLUSTER`` (Cloud replicates DDL itself); the deduplication window as for a cluster.
    """
    if target.deployment == "cluster":
        statement = _on_cluster(statement, target.cluster)
    statement = statement.replace("{database}", quoted_identifier(database))
    if target.deployment == "cluster":
        statement = _replicated_engines(statement, target)
    if target.deployment != "single":
        statement = _NON_REPLICATED_WINDOW.sub(_replicated_window, statement)
    return statement


def _replicated_window(match: re.Match[str]) -> str:
    return (
        f"replicated_deduplication_window = {match.group(1)},"
        f" replicated_deduplication_window_seconds = {DEDUPLICATION_SECONDS}"
    )


def _on_cluster(statement: str, cluster: str | None) -> str:
    if not cluster:
        raise MigrationError("a cluster deployment needs CLICKHOUSE_CLUSTER")
    ddl = _DDL.match(statement)
    if ddl is None:
        return statement  # INSERT, SELECT: data, replicated by the tables themselves
    if ddl.group(1).upper() in _AT_THE_END:
        return f"{statement.rstrip()} ON CLUSTER {sql_string(cluster)}"
    found = _OBJECT.search(statement)
    if found is None:
        raise MigrationError(
            "a DDL statement must name its object as {database} or {database}.name to run ON"
            f" CLUSTER: {statement[:80]!r}"
        )
    at = found.end()
    return f"{statement[:at]} ON CLUSTER {sql_string(cluster)}{statement[at:]}"


def _replicated_engines(statement: str, target: DdlTarget) -> str:
    def replicated(match: re.Match[str]) -> str:
        if match.group(4):  # an argument list with parentheses inside: not rendered blindly
            raise MigrationError(f"cannot render the engine arguments of {match.group(0)!r}")
        keeper = f"{sql_string(target.replica_path)}, {sql_string(target.replica_name)}"
        own = (match.group(3) or "").strip()
        arguments = f"{keeper}, {own}" if own else keeper
        return f"ENGINE = Replicated{match.group(1)}({arguments})"

    return _ENGINE.sub(replicated, statement)


BOOKKEEPING = (
    "CREATE DATABASE IF NOT EXISTS {database}",
    "CREATE TABLE IF NOT EXISTS {database}.schema_migrations ("
    " version UInt32 COMMENT 'Migration number',"
    " name String COMMENT 'Migration file name without number and extension',"
    " checksum String COMMENT 'sha256 of the file as applied',"
    " applied_at DateTime64(3, 'UTC') DEFAULT now64(3) COMMENT 'When it was applied'"
    ") ENGINE = MergeTree ORDER BY version COMMENT 'Schema migrations applied here'",
)
"""What :func:`apply_migrations` runs before any migration, rendered like them."""


def apply_migrations(
    backend: ClickHouseBackend,
    migrations: list[Migration] | None = None,
    *,
    target: DdlTarget = SINGLE,
) -> list[Migration]:
    """Apply the migrations not yet recorded, in order, rendered for ``target``; return those
    applied now.

    A recorded migration whose file changed since is an error: migrations are append-only.
    The checksum is the file's, so it does not depend on the deployment rendered for.
    """
    database = quoted_identifier(backend.database)
    for statement in BOOKKEEPING:
        backend.command(render(statement, backend.database, target))
    applied = {
        int(version): checksum
        for version, checksum in backend.query(
            f"SELECT version, any(checksum) FROM {database}.schema_migrations GROUP BY version"
        ).rows
    }
    done: list[Migration] = []
    for migration in load_migrations() if migrations is None else migrations:
        if migration.version in applied:
            if applied[migration.version] != migration.checksum:
                raise MigrationError(
                    f"migration {migration.version:04d}_{migration.name} changed after it was"
                    " applied; add a new migration instead"
                )
            continue
        for statement in migration.statements:
            backend.command(render(statement, backend.database, target))
        backend.insert(
            "schema_migrations",
            ["version", "name", "checksum"],
            [[migration.version, migration.name, migration.checksum]],
            dedup_token=f"migration:{migration.version}",
        )
        done.append(migration)
    return done

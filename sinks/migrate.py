"""Versioned, idempotent schema migrations recorded in ``schema_migrations``.

Files ``sinks/migrations/NNNN_name.sql`` are applied in version order; ``{database}`` in them is
replaced by the configured database. The same SQL runs on a ClickHouse server and on chdb.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources
from importlib.abc import Traversable

from sinks.backend import ClickHouseBackend, quoted_identifier
from sinks.exceptions import MigrationError

_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


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


def render(statement: str, database: str) -> str:
    """A statement with ``{database}`` replaced by the quoted database name."""
    return statement.replace("{database}", quoted_identifier(database))


def apply_migrations(
    backend: ClickHouseBackend, migrations: list[Migration] | None = None
) -> list[Migration]:
    """Apply the migrations not yet recorded, in order; return those applied now.

    A recorded migration whose file changed since is an error: migrations are append-only.
    """
    database = quoted_identifier(backend.database)
    backend.command(f"CREATE DATABASE IF NOT EXISTS {database}")
    backend.command(
        f"CREATE TABLE IF NOT EXISTS {database}.schema_migrations ("
        " version UInt32 COMMENT 'Migration number',"
        " name String COMMENT 'Migration file name without number and extension',"
        " checksum String COMMENT 'sha256 of the file as applied',"
        " applied_at DateTime64(3, 'UTC') DEFAULT now64(3) COMMENT 'When it was applied'"
        ") ENGINE = MergeTree ORDER BY version COMMENT 'Schema migrations applied here'"
    )
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
            backend.command(render(statement, backend.database))
        backend.insert(
            "schema_migrations",
            ["version", "name", "checksum"],
            [[migration.version, migration.name, migration.checksum]],
            dedup_token=f"migration:{migration.version}",
        )
        done.append(migration)
    return done

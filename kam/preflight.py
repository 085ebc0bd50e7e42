"""What a ``kam`` command needs before it starts, checked in bounded time, each failure one line.

Every check raises :class:`PreflightError` whose message says what failed, where (the value
and the variable that set it) and what to do, so that the command line can print exactly one
sentence instead of a traceback or a stream of client log lines.
"""

from __future__ import annotations

import socket
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient
from pydantic import ValidationError

from kam.errors import KamError
from kam.settings import ClickHouseSettings, KafkaSettings


class PreflightError(KamError):
    """A command cannot start: a service is unreachable or an input is missing or invalid."""


def require_broker(kafka: KafkaSettings) -> None:
    """Fail within ``KAFKA_CONNECT_TIMEOUT_SECONDS`` when no broker of the cluster answers."""
    admin = AdminClient({**kafka.confluent_config(), "socket.connection.setup.timeout.ms": 5000})
    timeout = kafka.connect_timeout_seconds
    try:
        admin.list_topics(timeout=timeout)
    except KafkaException as exc:
        admin.poll(0)  # hand librdkafka's queued log lines (why it failed) to Python logging
        raise PreflightError(
            f"cannot reach the Kafka broker at {kafka.bootstrap_servers} "
            f"(KAFKA_BOOTSTRAP_SERVERS) within {timeout:g} s ({exc.args[0].str()}): start one "
            "(deploy/local/kafka.sh start) or point KAFKA_BOOTSTRAP_SERVERS at a running cluster"
        ) from exc


def require_clickhouse(clickhouse: ClickHouseSettings, timeout: float = 5.0) -> None:
    """Fail fast when the configured ClickHouse server does not accept connections."""
    if clickhouse.backend != "server" or clickhouse.host is None:
        return
    port = clickhouse.port or (8443 if clickhouse.secure else 8123)
    try:
        socket.create_connection((clickhouse.host, port), timeout=timeout).close()
    except OSError as exc:
        reason = exc.strerror or str(exc) or type(exc).__name__
        raise PreflightError(
            f"cannot reach the ClickHouse server at {clickhouse.host}:{port} "
            f"(CLICKHOUSE_HOST, CLICKHOUSE_PORT): {reason}: start it, fix those variables, "
            "or unset CLICKHOUSE_HOST to use the embedded chdb"
        ) from exc


@dataclass(frozen=True, slots=True)
class ConfigFile:
    """A configuration file a command reads: what it is, the variable that locates it, a loader."""

    what: str
    variable: str
    loader: Callable[[Path], Any]


def require_config(config: ConfigFile, path: Path | None) -> None:
    """Load the file once, up front; any problem becomes one line naming file and variable."""
    if path is None:
        return
    if not path.exists():
        raise PreflightError(
            f"{config.what} {path} ({config.variable}) does not exist: create it or point "
            f"{config.variable} at the file"
        )
    try:
        config.loader(path)
    except (OSError, KamError, ValueError, tomllib.TOMLDecodeError) as exc:
        raise PreflightError(
            f"{config.what} {path} ({config.variable}) {_problem(exc)}: fix it or point "
            f"{config.variable} at a valid file"
        ) from exc


def require_readable(path: Path | str) -> None:
    """An input file named on the command line (``-`` is stdin and always fine)."""
    if str(path) == "-":
        return
    try:
        Path(path).open("rb").close()
    except OSError as exc:
        raise PreflightError(f"cannot read {path}: {exc.strerror}: check the path") from exc


def _problem(exc: BaseException) -> str:
    if isinstance(exc.__cause__, ValidationError):
        exc = exc.__cause__
    if isinstance(exc, OSError):
        return f"cannot be read ({exc.strerror})"
    if isinstance(exc, ValidationError):
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or "the document"
        return f"is invalid ({exc.error_count()} error(s); first: {where}: {first['msg']})"
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"is invalid ({first_line})"

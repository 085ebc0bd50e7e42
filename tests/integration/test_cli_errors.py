"""The CLI error table: each ``kam`` subcommand against each failure a person can cause.

Every case runs the installed console script with one thing wrong and everything else right
(a real broker, the committed configuration files), and checks that stderr is exactly one
line (what, where, what to do), stdout is empty and the exit code is 2.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from kam.localkafka import free_port

ROOT = Path(__file__).resolve().parents[2]
KAM = str(Path(sys.executable).with_name("kam"))
COMMANDS: dict[str, list[str]] = {
    "worker": ["worker"],
    "sink": ["sink"],
    "notify": ["notify"],
    "board": ["board"],
    "topics": ["topics"],
    "schemas": ["schemas", "--dir", "{tmp}/schemas"],
    "demo": ["demo", "--duration", "1"],
    "simulate": ["simulate", "--events", "1"],
    "publish": ["publish", "{tmp}/events.jsonl"],
    "backfill": ["backfill", "{tmp}/events.jsonl", "--checkpoint-dir", "{tmp}/checkpoints"],
    "accounts load": ["accounts", "load", "{tmp}/accounts.csv"],
    "accounts explain": ["accounts", "explain", "acme"],
    "accounts review": ["accounts", "review", "--horizon-days", "30"],
    "fairness check": ["fairness", "check"],
    "alerts snooze": [
        "alerts", "snooze", "--account", "acme", "--until", "2999-01-01T00:00:00Z",
        "--reason", "test",
    ],
    "alerts unsnooze": ["alerts", "unsnooze", "--account", "acme"],
    "sql": ["sql", "SELECT 1"],
    "db migrate": ["db", "migrate"],
    "ingest": ["ingest"],
    "ingest-token": ["ingest-token", "crm"],
}  # fmt: skip
"""Every subcommand, with arguments that would work."""
KAFKA_COMMANDS = [
    name for name in COMMANDS
    if name not in ("schemas", "sql", "db migrate", "board", "ingest-token")
]
CLICKHOUSE_COMMANDS = [
    "sink", "board", "demo", "sql", "db migrate", "accounts review", "fairness check"
]
CONFIG_FILES: list[tuple[str, str, str]] = [
    ("worker", "KAM_ALERTS_RULES_PATH", "alert rules file"),
    ("worker", "KAM_KPI_CONFIG_PATH", "KPI configuration file"),
    ("backfill", "KAM_KPI_CONFIG_PATH", "KPI configuration file"),
    ("demo", "KAM_ALERTS_RULES_PATH", "alert rules file"),
    ("board", "KAM_ALERTS_RULES_PATH", "alert rules file"),
    ("board", "KAM_KPI_CONFIG_PATH", "KPI configuration file"),
    ("board", "KAM_TIERING_CONFIG_PATH", "tiering configuration file"),
    ("notify", "KAM_NOTIFY_CONFIG_PATH", "routing file"),
    ("accounts load", "KAM_TIERING_CONFIG_PATH", "tiering configuration file"),
    ("accounts explain", "KAM_TIERING_CONFIG_PATH", "tiering configuration file"),
    ("accounts review", "KAM_TIERING_CONFIG_PATH", "tiering configuration file"),
    ("accounts review", "KAM_FAIRNESS_CONFIG_PATH", "fairness configuration file"),
    ("fairness check", "KAM_FAIRNESS_CONFIG_PATH", "fairness configuration file"),
]
"""(subcommand, variable, what) for each configuration file a subcommand reads."""
MALFORMED = {
    "KAM_ALERTS_RULES_PATH": (
        "bad.toml",
        "invalid alert rules in {path}: not valid TOML: Invalid value (at line 1, column 8)",
    ),
    "KAM_KPI_CONFIG_PATH": ("bad.json", "1 error(s); first: windows: Input should be an object"),
    "KAM_NOTIFY_CONFIG_PATH": (
        "bad.toml",
        "routing config {path} is not valid TOML: Invalid value (at line 1, column 8)",
    ),
    "KAM_TIERING_CONFIG_PATH": (
        "bad.toml",
        "tiering configuration {path} is not TOML: Invalid value (at line 1, column 8)",
    ),
    "KAM_FAIRNESS_CONFIG_PATH": (
        "bad.toml",
        "fairness configuration {path} is not TOML: Invalid value (at line 1, column 8)",
    ),
}
"""Variable -> (malformed file, the loader's reason quoted in the line)."""


NOTIFY_ENV = {
    "KAM_NOTIFY_CONFIG_PATH": "config/routing-demo.toml",
    "KAM_NOTIFY_ALERTMANAGER_URL": "http://127.0.0.1:9/",
    "KAM_NOTIFY_INBOX_URL": "http://127.0.0.1:9/",
    "KAM_NOTIFY_INBOX_SECRET": "secret",
}
"""A routing file whose receivers are all set (the default one needs PagerDuty and Slack)."""
INGEST_ENV = {"KAM_INGEST_TOKENS": "crm sha256:" + "0" * 64}
"""One (hashed) bearer token: what ``kam ingest`` needs besides the broker."""


@dataclass(frozen=True)
class Case:
    command: str
    env: dict[str, str]
    line: str
    argv: tuple[str, ...] = ()
    """Replaces the command's arguments when set."""


def _cases() -> Iterator[pytest.ParameterSet]:
    broker = "127.0.0.1:{closed}"
    for name in KAFKA_COMMANDS:
        line = (
            f"kam {name}: cannot reach the Kafka broker at {broker} (KAFKA_BOOTSTRAP_SERVERS) "
            "within 2 s (Failed to get metadata: Local: Broker transport failure): start one "
            "(deploy/local/kafka.sh start) or point KAFKA_BOOTSTRAP_SERVERS at a running cluster"
        )
        yield pytest.param(Case(name, {"KAFKA_BOOTSTRAP_SERVERS": broker}, line),
                           id=f"{name}-no-broker")  # fmt: skip
    for name in CLICKHOUSE_COMMANDS:
        env = {"CLICKHOUSE_HOST": "127.0.0.1", "CLICKHOUSE_PORT": "{closed}"}
        line = (
            f"kam {name}: cannot reach the ClickHouse server at 127.0.0.1:{{closed}} "
            "(CLICKHOUSE_HOST, CLICKHOUSE_PORT): Connection refused: start it, fix those "
            "variables, or unset CLICKHOUSE_HOST to use the embedded chdb"
        )
        yield pytest.param(Case(name, env, line), id=f"{name}-no-clickhouse")
    for name, variable, what in CONFIG_FILES:
        missing = "{tmp}/missing.conf"
        line = (
            f"kam {name}: {what} {missing} ({variable}) does not exist: create it or point "
            f"{variable} at the file"
        )
        yield pytest.param(Case(name, {variable: missing}, line), id=f"{name}-{variable}-missing")
        file_name, reason = MALFORMED[variable]
        path = f"{{tmp}}/{file_name}"
        line = (
            f"kam {name}: {what} {path} ({variable}) is invalid ({reason.format(path=path)}): "
            f"fix it or point {variable} at a valid file"
        )
        yield pytest.param(Case(name, {variable: path}, line), id=f"{name}-{variable}-malformed")
    for name, argv in [
        ("publish", ("publish", "{tmp}/nowhere.jsonl")),
        ("backfill", ("backfill", "{tmp}/nowhere.jsonl")),
        ("accounts load", ("accounts", "load", "{tmp}/nowhere.csv")),
    ]:
        line = f"kam {name}: cannot read {argv[-1]}: No such file or directory: check the path"
        yield pytest.param(Case(name, {}, line, argv), id=f"{name}-wrong-path")
    line = (
        "kam backfill: argument --chunk-lines: must be at least 1, not 0: see "
        "`kam backfill --help`"
    )
    argv = ("backfill", "{tmp}/events.jsonl", "--chunk-lines", "0")
    yield pytest.param(Case("backfill", {}, line, argv), id="backfill-chunk-lines")
    line = (
        "kam schemas: cannot write the schema files to {tmp}/events.jsonl/schemas: "
        "Not a directory: check the path"
    )
    argv = ("schemas", "--dir", "{tmp}/events.jsonl/schemas")
    yield pytest.param(Case("schemas", {}, line, argv), id="schemas-wrong-path")
    for name, command_argv in COMMANDS.items():
        line = f"kam {name}: unrecognized arguments: --no-such-flag: see `kam {name} --help`"
        argv = (*command_argv, "--no-such-flag")
        yield pytest.param(Case(name, {}, line, argv), id=f"{name}-bad-flag")
    line = (
        "kam topics: invalid environment variable KAFKA_SECURITY_PROTOCOL: Input should be "
        "'PLAINTEXT', 'SSL', 'SASL_PLAINTEXT' or 'SASL_SSL': fix or unset it"
    )
    yield pytest.param(Case("topics", {"KAFKA_SECURITY_PROTOCOL": "TLS"}, line), id="bad-env")
    line = (
        "kam board: the board listens on 0.0.0.0, not only on this machine: set KAM_BOARD_TOKEN"
        " (or _TOKEN_FILE) or KAM_BOARD_USERS (or _USERS_FILE), or bind 127.0.0.1"
    )
    yield pytest.param(Case("board", {"KAM_BOARD_HOST": "0.0.0.0"}, line), id="board-open")
    line = (
        "kam ingest: no bearer token and no webhook secret is configured: set KAM_INGEST_TOKENS "
        "or KAM_INGEST_TOKENS_PATH (`kam ingest-token SOURCE` makes one), "
        "KAM_INGEST_ZENDESK_SECRET or KAM_INGEST_STRIPE_SECRET"
    )
    yield pytest.param(Case("ingest", {"KAM_INGEST_TOKENS": ""}, line), id="ingest-no-token")
    line = (
        "kam ingest: KAM_INGEST_TOKENS: entry 1 is not '<source_system> sha256:<64 hex digits>' "
        "(store the token's hash, never the token: `kam ingest-token SOURCE`)"
    )
    env = {"KAM_INGEST_TOKENS": "crm s3cret"}
    yield pytest.param(Case("ingest", env, line), id="ingest-plain-token")
    line = (
        "kam ingest: cannot read the account mapping {tmp}/bad.toml (KAM_INGEST_ACCOUNT_MAP_PATH):"
        " Invalid value (at line 1, column 8)"
    )
    env = {"KAM_INGEST_ACCOUNT_MAP_PATH": "{tmp}/bad.toml"}
    yield pytest.param(Case("ingest", env, line), id="ingest-bad-account-map")
    line = (
        "kam board: the board's users file {tmp}/users: user 'ana': not a scrypt hash (make one"
        " with `kam board --hash-password`)"
    )
    users = {"KAM_BOARD_USERS_FILE": "{tmp}/users"}
    yield pytest.param(Case("board", users, line), id="board-plain-password")
    line = "kam board: invalid environment variable KAM_BOARD_PORT: Input should be less than or"
    line += " equal to 65535: fix or unset it"
    yield pytest.param(Case("board", {"KAM_BOARD_PORT": "70000"}, line), id="board-bad-port")
    line = (
        "kam: argument COMMAND: invalid choice: 'frobnicate' (choose from 'worker', 'sink', "
        "'notify', 'board', 'topics', 'schemas', 'demo', 'simulate', 'publish', 'backfill', "
        "'accounts', 'fairness', 'alerts', 'sql', 'db', 'ingest', 'ingest-token'): see "
        "`kam --help`"
    )
    line_review = (
        "kam accounts review: argument --end: needs a UTC offset, e.g. 2026-12-01T00:00:00Z: see"
        " `kam accounts review --help`"
    )
    argv = ("accounts", "review", "--end", "2026-12-01T00:00:00")
    yield pytest.param(Case("accounts review", {}, line_review, argv), id="review-naive-end")
    line_every = (
        "kam fairness check: argument --every: must be more than 0, not 0: see"
        " `kam fairness check --help`"
    )
    argv = ("fairness", "check", "--every", "0")
    yield pytest.param(Case("fairness check", {}, line_every, argv), id="check-every-zero")
    yield pytest.param(Case("frobnicate", {}, line, ("frobnicate",)), id="unknown-command")


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "events.jsonl").write_text("")
    (tmp_path / "accounts.csv").write_text("account_id,name\nacme,Acme\n")
    (tmp_path / "bad.toml").write_text("not = [toml\n")
    (tmp_path / "bad.json").write_text('{"windows": 5}\n')
    (tmp_path / "users").write_text("ana:plain-password\n")
    return tmp_path


def run_kam(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The installed console script, as a person runs it from the project directory."""
    return subprocess.run(
        [KAM, *argv], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.parametrize("case", list(_cases()))
def test_one_readable_line_and_exit_code_2(case: Case, kafka_bootstrap: str, workdir: Path) -> None:
    values = {"tmp": str(workdir), "closed": str(free_port())}
    base = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("KAFKA_", "CLICKHOUSE_", "KAM_"))
    }
    env = {
        **base,
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "KAFKA_CONNECT_TIMEOUT_SECONDS": "2",
        "CLICKHOUSE_CHDB_PATH": str(workdir / "chdb"),
        **NOTIFY_ENV,
        **INGEST_ENV,
        **{key: value.format(**values) for key, value in case.env.items()},
    }
    argv = [part.format(**values) for part in (case.argv or COMMANDS[case.command])]

    result = run_kam(argv, env)

    assert (result.returncode, result.stdout, result.stderr) == (
        2,
        "",
        case.line.format(**values) + "\n",
    )


def test_debug_adds_the_traceback(workdir: Path) -> None:
    result = run_kam(["--debug", "publish", f"{workdir}/nowhere.jsonl"], dict(os.environ))
    assert result.returncode == 2
    assert result.stderr.startswith("Traceback (most recent call last):\n")
    assert result.stderr.splitlines()[-1] == (
        f"kam publish: cannot read {workdir}/nowhere.jsonl: No such file or directory: "
        "check the path"
    )


def test_librdkafka_lines_go_through_logging_and_show_with_verbose() -> None:
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{free_port()}",
        "KAFKA_CONNECT_TIMEOUT_SECONDS": "2",
    }
    quiet, verbose = run_kam(["topics"], env), run_kam(["-v", "topics"], env)
    assert len(quiet.stderr.splitlines()) == 1
    *logged, last = verbose.stderr.splitlines()
    assert last == quiet.stderr.strip()
    assert logged
    assert all(
        re.fullmatch(r"\S+ \S+ (ERROR|WARNING|INFO|DEBUG) librdkafka: [A-Z]+ \[rdkafka#.*", line)
        for line in logged
    ), logged

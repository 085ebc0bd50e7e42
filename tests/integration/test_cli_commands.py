"""Every documented ``kam`` command that needs no long-running service, run as a person types it.

Each test runs the installed console script (``.venv/bin/kam``) in a subprocess against the real
broker and checks its exact output and exit code. ``kam worker``, ``sink`` and ``notify`` run as
the same console script in the worker, sink and notifier tests (``kam.processes``).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

from kam.localkafka import free_port
from kam.processes import kam_command
from producers.ingest import parse_tokens
from schemas.export import DOCUMENTS, SCHEMA_DIR
from sinks import migrations
from sinks.board.auth import verify_password
from tests.integration.conftest import Pipeline
from tests.integration.helpers import topic_size
from tests.integration.test_accounts_load import ACME, BOLT, CORE, HEADER
from tests.integration.test_publish_command import delivery

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def kam(
    pipeline: Pipeline, *argv: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``kam ARGV`` in the project directory, with the test's topics, broker and chdb."""
    return subprocess.run(
        [*kam_command(), *argv],
        env={**os.environ, **pipeline.env},
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def outcome(result: subprocess.CompletedProcess[str]) -> tuple[int, list[str], str]:
    return result.returncode, result.stdout.splitlines(), result.stderr


def test_the_console_script_is_the_installed_one() -> None:
    assert Path(kam_command()[0]).name == "kam"


def test_help_names_every_command_of_the_readme_table(pipeline: Pipeline) -> None:
    rows = re.findall(r"^\| (`kam .*?) \|", README, flags=re.MULTILINE)
    documented = {name for row in rows for name in re.findall(r"`kam (\w+)", row)}
    result = kam(pipeline, "--help")
    listed = re.findall(r"^    (\w+) {2,}\S", result.stdout, flags=re.MULTILINE)
    assert result.returncode == 0
    assert documented == set(listed)


def test_accounts_load_then_explain(pipeline: Pipeline, tmp_path: Path) -> None:
    path = tmp_path / "accounts.csv"
    path.write_text(HEADER + ACME + BOLT + CORE, encoding="utf-8")
    topics = pipeline.topics
    summary = (
        "3 valid, 0 rejected; {verb} {n} account(s) to {accounts} ({unchanged} unchanged) and "
        "{n} tier change(s) to {statuses}"
    )

    loaded = kam(pipeline, "accounts", "load", str(path))
    again = kam(pipeline, "accounts", "load", str(path), "--dry-run")
    explained = kam(pipeline, "accounts", "explain", "CORE-003")

    names = {"accounts": topics.accounts, "statuses": topics.account_status}
    assert outcome(loaded) == (
        0,
        [
            "tier change ACME-001: (none) -> key (score 67.50)",
            "tier change BOLT-002: (none) -> standard (score 5.00)",
            "tier change CORE-003: (none) -> strategic (score 10.00, override)",
            summary.format(verb="published", n=3, unchanged=0, **names),
        ],
        "",
    )
    assert outcome(again) == (
        0,
        [summary.format(verb="would publish", n=0, unchanged=3, **names)],
        "",
    )
    assert explained.returncode == 0, explained.stderr
    assert explained.stdout.splitlines()[0] == (
        "Account CORE-003: Core Pharma (segment pharma, KAM carol)"
    )


def test_publish_a_file_and_stdin_as_the_wire_format_doc_shows(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    doc = (ROOT / "docs" / "wire-format.md").read_text()
    pattern = r"^kam publish (\S+)\s+# or: some-export \| kam publish (-)$"
    commands = re.findall(pattern, doc, flags=re.MULTILINE)
    assert commands == [("events.jsonl", "-")]
    (tmp_path / "events.jsonl").write_text(
        "\n".join([delivery("e-1", "acct-1", 10), delivery("e-2", "acct-2", "9"), ""])
    )
    topic = pipeline.topics.touchpoints

    from_file = subprocess.run(
        [*kam_command(), "publish", "events.jsonl"],
        env={**os.environ, **pipeline.env},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    from_stdin = kam(pipeline, "publish", "-", stdin=delivery("e-3", "acct-3", 7) + "\n")

    assert outcome(from_file) == (
        1,
        [
            "line 2: schema_violation: payload.delivered_qty: Input should be a valid integer",
            f"2 lines: 1 published, 1 rejected, 0 failed (topic {topic})",
        ],
        "",
    )
    assert outcome(from_stdin) == (
        0,
        [f"1 lines: 1 published, 0 rejected, 0 failed (topic {topic})"],
        "",
    )
    assert pipeline.size(topic) == 2


def test_topics_creates_every_topic(pipeline: Pipeline) -> None:
    result = kam(pipeline, "topics")
    topics = pipeline.topics
    names = [
        topics.touchpoints, topics.accounts, topics.account_status, topics.enriched,
        topics.deadletter, topics.alerts, topics.kpis, topics.undeliverable, topics.snoozes,
    ]  # fmt: skip
    assert outcome(result) == (0, ["topics ready: " + ", ".join(names)], "")


def test_schemas_writes_the_committed_files(pipeline: Pipeline, tmp_path: Path) -> None:
    result = kam(pipeline, "schemas", "--dir", str(tmp_path))
    assert outcome(result) == (0, [f"wrote {tmp_path / name}" for name in DOCUMENTS], "")
    for name in DOCUMENTS:
        assert (tmp_path / name).read_text() == (SCHEMA_DIR / name).read_text()


def test_the_readme_simulate_example(pipeline: Pipeline) -> None:
    (example,) = re.findall(r"`kam (simulate [^`]+)`", README)
    argv = shlex.split(example)
    assert argv == ["simulate", "--accounts", "50", "--rate", "200", "--duration", "5",
                    "--seed", "7"]  # fmt: skip
    result = kam(pipeline, *argv)
    code, lines, errors = outcome(result)
    assert (code, errors, len(lines)) == (0, "", 1)
    found = re.fullmatch(
        r"50 accounts, (\d+) events \(\d+ bad experiences\), 0 invalid, 0 failed deliveries "
        r"in \d+\.\d\ds: \d+ records/s \(target 200/s\)",
        lines[0],
    )
    assert found, lines[0]
    assert pipeline.size(pipeline.topics.touchpoints) == int(found.group(1))


def test_alerts_snooze_and_unsnooze(pipeline: Pipeline) -> None:
    snoozed = kam(pipeline, "alerts", "snooze", "--account", "acme", "--rule", "late_delivery",
                  "--until", "2999-01-01T00:00:00Z", "--reason", "carrier strike")  # fmt: skip
    lifted = kam(pipeline, "alerts", "unsnooze", "--account", "acme", "--rule", "late_delivery")
    assert outcome(snoozed) == (
        0,
        [
            "snoozed rule late_delivery of account acme until 2999-01-01T00:00:00+00:00: "
            "carrier strike"
        ],
        "",
    )
    assert outcome(lifted) == (0, ["snooze lifted for rule late_delivery of account acme"], "")
    assert topic_size(pipeline.kafka, pipeline.topics.snoozes, partitions=1) == 2


def test_db_migrate_then_sql(pipeline: Pipeline) -> None:
    applied = sorted(path.stem for path in Path(migrations.__file__).parent.glob("*.sql"))
    first = kam(pipeline, "db", "migrate")
    second = kam(pipeline, "db", "migrate")
    query = "SELECT count() AS tables FROM system.tables WHERE database = 'kam' AND name = 'alerts'"
    answer = kam(pipeline, "sql", query, "--format", "JSONEachRow")
    assert outcome(first) == (0, ["applied: " + ", ".join(applied)], "")
    assert outcome(second) == (0, ["applied: nothing, the schema is up to date"], "")
    assert answer.returncode == 0, answer.stderr
    assert [json.loads(line) for line in answer.stdout.splitlines()] == [{"tables": 1}]


def test_the_analysts_doc_sql_examples(pipeline: Pipeline) -> None:
    doc = (ROOT / "docs" / "analysts.md").read_text()
    examples = re.findall(r"^(kam sql .+?)\s+# ", doc, flags=re.MULTILINE)
    assert len(examples) == 2
    assert kam(pipeline, "db", "migrate").returncode == 0

    count, health = (kam(pipeline, *shlex.split(example)[1:]) for example in examples)

    assert outcome(count) == (
        0,
        ["   ┌─count()─┐", "1. │       0 │", "   └─────────┘"],
        "",
    )
    assert outcome(health) == (0, [], "")


def test_board_serves_until_sigterm(pipeline: Pipeline) -> None:
    assert kam(pipeline, "db", "migrate").returncode == 0
    port, metrics_port = free_port(), free_port()
    env = {**os.environ, **pipeline.env, "KAM_BOARD_PORT": str(port),
           "KAM_METRICS_PORT": str(metrics_port)}  # fmt: skip
    board = subprocess.Popen(
        [*kam_command(), "board"], env=env, cwd=ROOT, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 60
        page = None
        while page is None and time.monotonic() < deadline and board.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as answer:
                    page = answer.read().decode()
            except OSError:
                time.sleep(0.2)
        assert page is not None, board.communicate(timeout=10)
        assert "0 of 0 accounts shown" in page
        metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
        with urllib.request.urlopen(metrics_url, timeout=5) as answer:
            exposed = answer.read().decode().splitlines()
        assert 'kam_board_requests_total{route="portfolio",status="200"} 1.0' in exposed
        assert 'kam_board_request_seconds_count{route="portfolio"} 1.0' in exposed
    finally:
        board.send_signal(signal.SIGTERM)
        out, err = board.communicate(timeout=30)
    assert board.returncode == 0, err
    assert out.splitlines() == [f"KAM Pulse board on http://127.0.0.1:{port} (Ctrl-C to stop)"]


def test_board_hash_password(pipeline: Pipeline) -> None:
    result = kam(pipeline, "board", "--hash-password", stdin="correct horse\n")
    assert result.returncode == 0, result.stderr
    (stored,) = result.stdout.splitlines()
    assert verify_password("correct horse", stored) and not verify_password("correct", stored)
    empty = kam(pipeline, "board", "--hash-password", stdin="")
    assert outcome(empty) == (2, [], "kam board: no password given on stdin: nothing to hash\n")

def test_ingest_token_prints_a_token_and_the_line_that_configures_its_hash(
    pipeline: Pipeline,
) -> None:
    code, lines, stderr = outcome(kam(pipeline, "ingest-token", "helpdesk"))
    assert (code, len(lines), stderr) == (0, 2, "")
    token = lines[0].rsplit(" ", 1)[1]
    prefix, _, line = lines[1].partition(": ")
    assert prefix == "KAM_INGEST_TOKENS line"
    assert token not in line
    assert parse_tokens(line, where="test").source_system(f"Bearer {token}") == "helpdesk"

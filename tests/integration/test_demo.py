"""`kam demo` (what `make demo` runs) completes and shows what happened, from ClickHouse."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path


def test_demo_runs_the_pipeline_and_prints_the_summary(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "kam.cli",
            "demo",
            "--duration",
            "6",
            "--rate",
            "50",
            "--accounts",
            "12",
            "--workdir",
            str(tmp_path / "demo"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    published = re.search(r"Published (\d+) touchpoints .* and (\d+) invalid messages", out)
    assert published, out
    for title in (
        "Touchpoints by contact point and account tier",
        "Invalid messages (dead letters), by failure type",
        "Alerts raised, by contact point and rule",
        "Most affected strategic and key accounts",
        "Treatment gap over 7 days: strategic vs standard accounts (gap > 0: strategic served"
        " better)",
        "Treatment-gap rules (support ignores tiers in this simulation)",
        "Tier review (kam accounts review)",
        "Incident chains: one order gone wrong in several departments (kam.incident_chains)",
    ):
        assert f"== {title}" in out
    # Every published touchpoint is in the first table: its event counts add up exactly.
    # The helpdesk's webhooks through kam ingest: 4 per strategic or key account (1 + 2 of 12).
    webhooks = re.search(r"posted (\d+) signed Zendesk webhooks to kam ingest: (\d+) touch", out)
    assert webhooks and webhooks.groups() == ("12", "12"), out
    first_table = out.split("== Touchpoints by")[1].split("== Invalid messages")[0]
    rows = re.findall(r"│ (?:sales|logistics|support|billing) +│ \w+ +│ +(\d+) │", first_table)
    assert sum(map(int, rows)) == int(published.group(1)) + int(webhooks.group(2))
    second_table = out.split("== Invalid messages")[1].split("== Alerts raised")[0]
    letters = re.findall(r"│ [a-z0-9_]+ +│ +(\d+) │", second_table)  # not_utf8 has a digit
    assert sum(map(int, letters)) == int(published.group(2))
    assert re.search(r"== Alerting: \d+ signed notifications reached the account-team inbox", out)
    assert re.search(r"treatment gap: \d+ contact point x window x KPI rows, 3 rule\(s\)", out)
    assert "Nothing was changed: a tier changes only by the tiering model" in out
    # The board served the demo's data, and the notifications link to its account pages.
    board = re.search(
        r"== Account health board: (http://127\.0\.0\.1:\d+)/ \((\d+) strategic and key", out
    )
    assert board, out
    counted = subprocess.run(
        [sys.executable, "-m", "kam.cli", "sql", "--format", "TSV",
         "SELECT count() FROM kam.accounts FINAL WHERE tier IN ('strategic', 'key')"],
        capture_output=True, text=True, timeout=120, check=True,
        env={**os.environ, "CLICKHOUSE_CHDB_PATH": str(tmp_path / "demo" / "chdb")},
    )
    assert int(board.group(2)) == int(counted.stdout) > 0
    link = re.search(r"every alert links to its account page, e\.g\. (\S+)", out)
    assert link and link.group(1).startswith(board.group(1) + "/accounts/"), out
    assert "(no terminal: the board stays up 3s)" in out

"""`kam demo` (what `make demo` runs) completes and shows what happened, from ClickHouse."""

from __future__ import annotations

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
    letters = re.findall(r"│ [a-z_]+ +│ +(\d+) │", second_table)
    assert sum(map(int, letters)) == int(published.group(2))
    assert re.search(r"== Alerting: \d+ signed notifications reached the account-team inbox", out)

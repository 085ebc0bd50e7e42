"""``kam fairness check --every S``: one pass per period until told to stop, read through
``kam sql``'s path (here the chdb directory itself, no sink running)."""

from __future__ import annotations

import io
import threading
from pathlib import Path

from kam.settings import ClickHouseSettings, KafkaSettings, TopicSettings
from sinks.access import migrate
from sinks.fairness import FairnessConfig
from sinks.fairness.commands import check_command

LINE = "treatment gap: 0 contact point x window x KPI rows, 0 rule(s), 0 alert state(s) published"


class Passes(io.StringIO):
    """Output that asks the loop to stop after ``limit`` passes."""

    def __init__(self, stop: threading.Event, limit: int) -> None:
        super().__init__()
        self.stop, self.limit = stop, limit

    def flush(self) -> None:
        if self.getvalue().count("treatment gap:") >= self.limit:
            self.stop.set()


def test_every_runs_a_pass_per_period_until_stopped(tmp_path: Path) -> None:
    clickhouse = ClickHouseSettings(chdb_path=tmp_path / "chdb")
    migrate(clickhouse)
    stop = threading.Event()
    out = Passes(stop, 3)
    code = check_command(clickhouse=clickhouse, config=FairnessConfig(), kafka=KafkaSettings(),
                         topics=TopicSettings(), out=out, every=0.01, stop=stop)  # fmt: skip
    assert code == 0
    assert out.getvalue().splitlines() == [f"{LINE} to kam.alerts"] * 3

"""`deploy/local/kafka.sh`: `stop` stops what `start` started, whatever the environment says."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from kam.localkafka import KAFKA_SCRIPT, free_port


def script(*argv: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(KAFKA_SCRIPT), *argv], env=env, capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_stop_with_kafka_bootstrap_servers_set_still_stops_the_broker(tmp_path: Path) -> None:
    clean = {k: v for k, v in os.environ.items() if k != "KAFKA_BOOTSTRAP_SERVERS"}
    run_dir = str(tmp_path / "broker")
    started = script("start", "--port", str(free_port()), "--dir", run_dir, env=clean)
    try:
        assert started.returncode == 0, started.stderr
        bootstrap = started.stdout.splitlines()[-1]
        pid = int(Path(run_dir, "broker.pid").read_text())
        assert alive(pid)
        exported = {**clean, "KAFKA_BOOTSTRAP_SERVERS": bootstrap}
        # start with the variable set starts nothing and names that cluster
        assert script("start", "--dir", str(tmp_path / "other"), env=exported).stdout == (
            f"{bootstrap}\n"
        )

        stopped = script("stop", "--dir", run_dir, env=exported)

        assert (stopped.returncode, stopped.stderr) == (0, "kafka.sh: broker stopped\n")
        assert not alive(pid)
        status = script("status", "--dir", run_dir, env=exported)
        assert (status.returncode, status.stdout) == (1, "stopped\n")
    finally:
        script("stop", "--dir", run_dir, env=clean)

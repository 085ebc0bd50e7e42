"""Run KAM Pulse services as child processes (demo, tests) and always stop them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType


def kam_command() -> list[str]:
    """The installed ``kam`` console script next to this interpreter (``python -m kam.cli`` if
    there is none), so that services run exactly as a person starts them."""
    script = Path(sys.executable).with_name("kam")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "kam.cli"]


class ServiceProcess:
    """``kam <command>`` in a child process with its own log file.

    Use as a context manager: leaving the block stops the process (SIGTERM, then SIGKILL),
    so no service outlives the demo or the test that started it. ``program`` runs another
    program instead of ``kam`` (a benchmark's baseline), with the same handling.
    """

    def __init__(
        self,
        *,
        command: list[str],
        env: Mapping[str, str],
        log_path: Path,
        name: str,
        metrics_port: int | None = None,
        program: list[str] | None = None,
    ) -> None:
        self.command = command
        self.program = program
        self.metrics_port = metrics_port
        metrics_env = {"KAM_METRICS_PORT": str(metrics_port)} if metrics_port else {}
        self.env = {**os.environ, **env, **metrics_env}
        self.log_path = log_path
        self.name = name
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> ServiceProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [*(self.program or kam_command()), *self.command],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        return self

    @property
    def pid(self) -> int:
        assert self._process is not None, "not started"
        return self._process.pid

    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def kill(self) -> None:
        """SIGKILL: the crash a restart must survive."""
        if self._process is not None:
            self._process.kill()
            self._process.wait()

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM and wait for a clean exit; SIGKILL after ``timeout`` seconds."""
        if self._process is None:
            return None
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        return self._process.returncode

    def metric(self, name: str) -> float:
        """Sum of the samples of one metric on the process's endpoint (0 before it serves)."""
        assert self.metrics_port, f"{self.name} has no metrics port"
        return scrape_metric(self.metrics_port, name)

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def __enter__(self) -> ServiceProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def scrape_metric(port: int, name: str) -> float:
    """Sum of all samples of one metric on a local Prometheus endpoint (0 when unreachable)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
            text = response.read().decode()
    except OSError:
        return 0.0
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(name) and line[len(name) : len(name) + 1] in (" ", "{")
    )

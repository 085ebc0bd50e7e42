"""Local stand-ins for tests and demos: a recording HTTP receiver and a real Alertmanager.

Both bind 127.0.0.1 on a free port and stop when their ``with`` block ends.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import orjson

from kam.localkafka import free_port
from sinks.notify.exceptions import NotifyError

ALERTMANAGER_BINARY = "/usr/bin/prometheus-alertmanager"


@dataclass(frozen=True, slots=True)
class Reply:
    """A scripted answer: status, headers, and an optional delay before answering."""

    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0
    body: bytes = b"ok"


@dataclass(frozen=True, slots=True)
class Recorded:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)


class RecordingServer:
    """An HTTP server recording every POST; answers from ``script`` first, then ``default``."""

    def __init__(self, *, default: Reply = Reply(), script: list[Reply] | None = None) -> None:
        self.default = default
        self._script = list(script or [])
        self._requests: list[Recorded] = []
        self._changed = threading.Condition()
        self._server = ThreadingHTTPServer(("127.0.0.1", free_port()), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def requests(self) -> list[Recorded]:
        with self._changed:
            return list(self._requests)

    def wait_for(self, count: int, *, timeout: float = 30.0) -> list[Recorded]:
        """The recorded requests once there are ``count`` of them (or at the timeout)."""
        with self._changed:
            self._changed.wait_for(lambda: len(self._requests) >= count, timeout=timeout)
            return list(self._requests)

    def _reply(self, recorded: Recorded) -> Reply:
        with self._changed:
            self._requests.append(recorded)
            self._changed.notify_all()
            return self._script.pop(0) if self._script else self.default

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                reply = server._reply(Recorded(self.path, dict(self.headers.items()), body))
                time.sleep(reply.delay)
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers:
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):
                    return  # the client gave up (e.g. its timeout), as tests intend

            def log_message(self, format: str, *args: Any) -> None:
                return

        return Handler

    def __enter__(self) -> RecordingServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


def alertmanager_binary() -> str | None:
    """Path of the Alertmanager binary (Debian ``prometheus-alertmanager``), if installed."""
    return shutil.which("prometheus-alertmanager") or (
        ALERTMANAGER_BINARY if Path(ALERTMANAGER_BINARY).exists() else None
    )


def _alertmanager_config(webhook_url: str | None) -> str:
    if webhook_url is None:
        return "route:\n  receiver: blackhole\nreceivers:\n  - name: blackhole\n"
    return (
        "route:\n  receiver: recorder\n  group_by: [account_id]\n  group_wait: 0s\n"
        "  group_interval: 1s\n  repeat_interval: 1h\n"
        "receivers:\n  - name: recorder\n    webhook_configs:\n"
        f"      - url: {webhook_url}\n        send_resolved: true\n"
    )


@contextmanager
def local_alertmanager(
    *, webhook_url: str | None = None, ready_timeout: float = 30.0
) -> Iterator[str]:
    """Run Alertmanager (clustering off, temp storage) and yield its base URL.

    With ``webhook_url`` its own notifications (firing and resolved) go to that URL.
    """
    binary = alertmanager_binary()
    if binary is None:
        raise NotifyError("prometheus-alertmanager is not installed")
    with tempfile.TemporaryDirectory(prefix="kam-alertmanager-") as tmp:
        config = Path(tmp) / "alertmanager.yml"
        config.write_text(_alertmanager_config(webhook_url))
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        with (Path(tmp) / "alertmanager.log").open("wb") as log:
            process = subprocess.Popen(
                [binary, f"--config.file={config}", f"--storage.path={tmp}/data",
                 f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
                stdout=log, stderr=subprocess.STDOUT,
            )
            try:
                _wait_ready(url, process, ready_timeout)
                yield url
            finally:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=10)


def _wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise NotifyError(f"alertmanager exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/-/ready", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise NotifyError(f"alertmanager not ready after {timeout}s")

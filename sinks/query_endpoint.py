"""Read-only SQL over HTTP on 127.0.0.1, served by the process that owns the chdb directory.

Only one process can open a chdb data directory, so in embedded mode the sink answers queries
for the others (``kam sql``). It writes ``sql-endpoint.json`` into the data directory so that
clients find the port; queries run on a read-only chdb session. The announcement names the
owner's pid and a token of this endpoint instance: a client asks only a live pid, sends the
token, and the endpoint refuses another token, so an announcement left by a killed sink (its
port since reused by anyone) is never taken for a live endpoint.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from sinks.backend import ClickHouseBackend
from sinks.exceptions import ClickHouseError, QueryEndpointError

log = logging.getLogger(__name__)
ENDPOINT_FILE = "sql-endpoint.json"
MAX_SQL_BYTES = 1_000_000
TOKEN_HEADER = "X-Kam-Endpoint-Token"
STALE = 409
"""The status of a request carrying another endpoint's token."""


def endpoint_file(chdb_path: Path) -> Path:
    """Where the sink announces its endpoint for a chdb data directory."""
    return chdb_path / ENDPOINT_FILE


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        if self.headers.get(TOKEN_HEADER) != self.server.token:
            self._answer(STALE, "not the announced endpoint", code=None)
            return
        if self.path.split("?")[0] != "/sql":
            self._answer(404, "only POST /sql", code=None)
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_SQL_BYTES:
            self._answer(413, "query too large", code=None)
            return
        sql = self.rfile.read(length).decode("utf-8", errors="replace")
        fmt = self.headers.get("X-Kam-Format") or "TSVWithNames"
        try:
            self._answer(200, self.server.store.raw(sql, fmt=fmt), code=None)
        except ClickHouseError as exc:
            self._answer(400, str(exc), code=exc.code)

    def _answer(self, status: int, text: str, *, code: int | None) -> None:
        body = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        if code is not None:
            self.send_header("X-ClickHouse-Code", str(code))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("sql endpoint: " + format, *args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, store: ClickHouseBackend) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.store = store
        self.token = secrets.token_hex(16)


class QueryEndpoint:
    """Serves ``store`` (a read-only session) on 127.0.0.1:``port`` (0: a free port)."""

    def __init__(self, *, store: ClickHouseBackend, port: int, announce: Path | None) -> None:
        self._store = store
        self._server = _Server(port, store)
        self._announce = announce
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="kam-sql-endpoint", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        self._thread.start()
        if self._announce is not None:
            info = {
                "host": "127.0.0.1",
                "port": self.port,
                "pid": os.getpid(),
                "token": self._server.token,
            }
            temporary = self._announce.with_suffix(".tmp")
            temporary.write_text(json.dumps(info))
            temporary.replace(self._announce)
        log.info("read-only SQL endpoint on 127.0.0.1:%d", self.port)

    def stop(self) -> None:
        if self._announce is not None:
            self._announce.unlink(missing_ok=True)
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        self._store.close()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def _announced(announce: Path) -> tuple[int, str] | None:
    """(port, token) of the announced endpoint when its owner lives, else ``None``."""
    try:
        info = json.loads(announce.read_text())
        port, pid, token = int(info["port"]), int(info["pid"]), str(info["token"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return (port, token) if _pid_alive(pid) else None


def ask_endpoint(announce: Path, sql: str, *, fmt: str, timeout: float = 60.0) -> str | None:
    """Run ``sql`` on the endpoint announced in ``announce``; ``None`` when none answers
    (no announcement, a dead owner, nothing listening, or another endpoint on its port)."""
    announced = _announced(announce)
    if announced is None:
        return None
    port, token = announced
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/sql",
        data=sql.encode(),
        headers={
            "X-Kam-Format": fmt,
            "Content-Type": "text/plain; charset=utf-8",
            TOKEN_HEADER: token,
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return str(response.read().decode("utf-8", errors="replace"))
    except urllib.error.HTTPError as exc:
        if exc.code == STALE:
            return None
        message = exc.read().decode("utf-8", errors="replace")
        code = exc.headers.get("X-ClickHouse-Code")
        raise ClickHouseError(message, code=int(code) if code else None) from None
    except (urllib.error.URLError, ConnectionError):
        return None  # stale announcement of a sink that is gone
    except TimeoutError as exc:
        raise QueryEndpointError(f"the sink's SQL endpoint did not answer: {exc}") from exc

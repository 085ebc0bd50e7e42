"""Running the board: its context from the settings, and a server on its own thread."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from aiohttp import web
from prometheus_client import start_http_server

from kam.settings import (
    BoardSettings,
    ClickHouseSettings,
    KafkaSettings,
    MetricsSettings,
    TopicSettings,
)
from producers.tiering import load_tiering_config
from sinks.board.app import build_app
from sinks.board.auth import Credentials, load_credentials
from sinks.board.exceptions import BoardError
from sinks.board.pages import BoardContext
from sinks.board.snoozes import SnoozeCache
from sinks.board.store import STORE_WAIT_SECONDS, BoardStore
from streams.alerting import load_alert_rules
from streams.kpis import load_kpi_config

log = logging.getLogger(__name__)
START_TIMEOUT = 10.0


def board_context(
    *,
    settings: BoardSettings,
    clickhouse: ClickHouseSettings,
    kafka: KafkaSettings | None,
    topics: TopicSettings,
    kpi_config_path: Path | None,
    alert_rules_path: Path,
    tiering_path: Path,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    store_wait: float = STORE_WAIT_SECONDS,
) -> BoardContext:
    """What the pages read: the store and the same configuration files the pipeline uses."""
    return BoardContext(
        settings=settings,
        store=BoardStore(clickhouse, wait=store_wait),
        kpi_config=load_kpi_config(kpi_config_path),
        alert_rules=load_alert_rules(alert_rules_path),
        tiering=load_tiering_config(tiering_path),
        snoozes=None if kafka is None else SnoozeCache(
            kafka, topics, timeout=settings.snooze_timeout_seconds
        ),
        clock=clock,
    )


class BoardServer:
    """The board served on ``host:port`` (0: a free port) from a background thread."""

    def __init__(self, board: BoardContext, *, credentials: Credentials | None = None) -> None:
        settings = board.settings
        self._app = build_app(board, credentials or load_credentials(settings))
        self._host, self._port = settings.host, settings.port
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stopped: asyncio.Event | None = None
        self._socket: socket.socket | None = None
        self._thread = threading.Thread(target=self._serve, name="kam-board", daemon=True)

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self._port}"

    def start(self) -> BoardServer:
        """Listen now (a port in use fails here), then serve from the background thread."""
        family = socket.AF_INET6 if ":" in self._host else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((self._host, self._port))
            listener.listen(128)
        except OSError as exc:
            listener.close()
            raise BoardError(
                f"the board cannot listen on {self._host}:{self._port}: {exc.strerror}"
            ) from exc
        self._socket = listener
        self._port = int(listener.getsockname()[1])
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT):
            raise BoardError(f"the board did not start within {START_TIMEOUT:g}s")
        log.info("account health board on %s", self.url)
        return self

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._main())
        self._loop.close()

    async def _main(self) -> None:
        runner = web.AppRunner(self._app, access_log=None)
        await runner.setup()
        self._stopped = asyncio.Event()
        assert self._socket is not None  # start() binds it before the thread runs
        await web.SockSite(runner, self._socket).start()
        self._ready.set()
        try:
            await self._stopped.wait()
        finally:
            await runner.cleanup()
            self._socket.close()

    def stop(self) -> None:
        if self._thread.is_alive() and self._stopped is not None:
            self._loop.call_soon_threadsafe(self._stopped.set)
        self._thread.join(timeout=10)

    def __enter__(self) -> BoardServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def run_board(board: BoardContext, *, metrics: MetricsSettings, stop: threading.Event) -> None:
    """Serve until ``stop`` is set (``kam board``); Prometheus metrics on ``metrics.port``."""
    server = BoardServer(board)  # credentials checked before anything listens
    exporter = start_http_server(metrics.port, addr=metrics.host) if metrics.port else None
    try:
        with server:
            print(f"KAM Pulse board on {server.url} (Ctrl-C to stop)", flush=True)
            stop.wait()
    finally:
        if exporter is not None:
            httpd, thread = exporter
            httpd.shutdown()
            httpd.server_close()
            thread.join(timeout=10)

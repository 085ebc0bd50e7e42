"""The board's Prometheus metrics: every answer counted by route and status, its latency
observed; served by ``run_board`` on KAM_METRICS_PORT. (A ClickHouse failure behind a 503,
counted by error type: test_store_paths.py, which needs a chdb directory of its own.)"""

from __future__ import annotations

import asyncio
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

from aiohttp import test_utils, web
from prometheus_client import REGISTRY

from kam.localkafka import free_port
from kam.settings import MetricsSettings
from sinks.board import metrics
from sinks.board.app import _metrics
from sinks.board.auth import Credentials, token_digest
from sinks.board.server import run_board
from tests.unit.board.conftest import BoardFactory, board_context_on, get

TOKEN = "board-token-0123456789"
START_DEADLINE = 10.0


def requests_by_route() -> Counter[tuple[str, str]]:
    """The current value of every kam_board_requests_total series, by (route, status)."""
    (family,) = metrics.REQUESTS.collect()
    return Counter({
        (s.labels["route"], s.labels["status"]): int(s.value)
        for s in family.samples if s.name.endswith("_total")
    })  # fmt: skip


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_requests_are_counted_by_route_and_status_with_their_latency(
    board: BoardFactory,
) -> None:
    url = board().url
    guarded = board(credentials=Credentials(token_sha256=token_digest(TOKEN))).url
    before = requests_by_route()
    latency_before = {r: sample("kam_board_request_seconds_count", route=r) for r in
                      ("portfolio", "account", "sql", "static", "healthz", "other")}
    answers = [
        get(url + "/"),
        get(url + "/?owner=ana"),
        get(url + "/?sort=bogus"),
        get(url + "/accounts/acme"),
        get(url + "/accounts/nobody"),
        get(url + "/sql/scores?account=initech"),
        get(url + "/static/board.css"),
        get(url + "/healthz"),
        get(url + "/nowhere"),
        get(url + "/", method="POST"),
        get(guarded + "/"),
        get(guarded + "/", {"Authorization": f"Bearer {TOKEN}"}),
        get(guarded + "/healthz"),
    ]
    assert [a.status for a in answers] == [
        200, 200, 400, 200, 404, 200, 200, 200, 404, 405, 401, 200, 200
    ]  # fmt: skip
    counted = requests_by_route()
    counted.subtract(before)
    assert +counted == Counter({
        ("portfolio", "200"): 3, ("portfolio", "400"): 1, ("portfolio", "401"): 1,
        ("account", "200"): 1, ("account", "404"): 1, ("sql", "200"): 1,
        ("static", "200"): 1, ("healthz", "200"): 2, ("other", "404"): 1, ("other", "405"): 1,
    })  # fmt: skip
    observed = {
        route: sample("kam_board_request_seconds_count", route=route) - value
        for route, value in latency_before.items()
    }
    assert observed == {
        "portfolio": 5, "account": 2, "sql": 1, "static": 1, "healthz": 2, "other": 2
    }  # fmt: skip


def metrics_page(port: int) -> str | None:
    """The exposition text, or None while nothing listens on the port yet."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            return str(response.read().decode())
    except (urllib.error.URLError, ConnectionError):
        return None


def test_run_board_serves_the_metrics_on_the_metrics_port(seeded_chdb: Path) -> None:
    context = board_context_on(seeded_chdb)
    port = free_port()
    stop = threading.Event()
    thread = threading.Thread(
        target=run_board,
        args=(context,),
        kwargs={"metrics": MetricsSettings(host="127.0.0.1", port=port), "stop": stop},
        daemon=True,
    )
    thread.start()
    try:
        deadline = time.monotonic() + START_DEADLINE
        page = metrics_page(port)
        while page is None and time.monotonic() < deadline:
            time.sleep(0.05)
            page = metrics_page(port)
        assert page is not None, f"no metrics on port {port} within {START_DEADLINE:g}s"
        assert "# TYPE kam_board_requests_total counter" in page
        assert "# TYPE kam_board_store_errors_total counter" in page
    finally:
        stop.set()
        thread.join(timeout=15)
    assert not thread.is_alive()


def test_an_exception_no_page_catches_counts_as_a_500() -> None:
    async def broken(request: web.Request) -> web.Response:
        raise RuntimeError("a bug")

    async def scenario() -> int:
        app = web.Application(middlewares=[_metrics])
        app.router.add_get("/", broken, name="portfolio")
        server = test_utils.TestServer(app, host="127.0.0.1")
        async with test_utils.TestClient(server) as client:
            answer = await client.get("/")
            return answer.status

    before = sample("kam_board_requests_total", route="portfolio", status="500")
    assert asyncio.run(scenario()) == 500
    assert sample("kam_board_requests_total", route="portfolio", status="500") - before == 1

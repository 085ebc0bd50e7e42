"""The board's other query paths: the chdb directory opened per statement when no sink owns
it, and a clear 503 page (counted in kam_board_store_errors_total) when ClickHouse cannot
answer."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import REGISTRY

from kam.locks import ExclusiveLock
from sinks.access import owner_lock_path
from sinks.chdb_backend import ChdbBackend
from tests.unit.board.conftest import BoardFactory, get
from tests.unit.board.dom import parse
from tests.unit.board.seed import seed


def store_errors(error: str) -> float:
    return REGISTRY.get_sample_value("kam_board_store_errors_total", {"error": error}) or 0.0


def requests(route: str, status: str) -> float:
    labels = {"route": route, "status": status}
    return REGISTRY.get_sample_value("kam_board_requests_total", labels) or 0.0


def test_without_a_sink_the_board_opens_the_directory_per_statement(
    board: BoardFactory, tmp_path: Path
) -> None:
    path = tmp_path / "chdb"
    store = ChdbBackend(path=path, database="kam")
    seed(store)
    store.close()
    answer = get(board(chdb=path).url + "/?owner=ana")
    assert answer.status == 200, answer.body
    rows = parse(answer.body).find("table", id="portfolio").find_all("tr")
    assert [r.attrs["data-account"] for r in rows if "data-account" in r.attrs] == [
        "acme", "initech"
    ]
    # the board holds nothing open between statements: another owner can take the directory
    ChdbBackend(path=path, database="kam").close()


def test_an_owner_without_endpoint_gives_a_503_page(board: BoardFactory, tmp_path: Path) -> None:
    path = tmp_path / "chdb"
    ChdbBackend(path=path, database="kam").close()
    failures = store_errors("StoreLocked")
    unavailable = requests("portfolio", "503")
    lock = ExclusiveLock.acquire(owner_lock_path(path), wait=0)
    try:
        answer = get(board(chdb=path, store_wait=0.2).url + "/")
    finally:
        lock.release()
    assert answer.status == 503
    assert (store_errors("StoreLocked") - failures, requests("portfolio", "503") - unavailable) == (
        1, 1
    )  # fmt: skip
    assert "ClickHouse is not available" in answer.body
    assert "has the chdb directory" in answer.body

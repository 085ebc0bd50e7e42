"""The board on the seeded chdb store, read the way it is in production: through the SQL
endpoint of the process that owns the directory (as the sink serves it)."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from kam.settings import BoardSettings, ClickHouseSettings, KafkaSettings, TopicSettings
from sinks.board.auth import Credentials
from sinks.board.pages import BoardContext
from sinks.board.server import BoardServer, board_context
from tests.unit.board.seed import NOW, seeded_endpoint

ROOT = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class Answer:
    status: int
    body: str
    headers: dict[str, str]


def get(url: str, headers: dict[str, str] | None = None, method: str = "GET") -> Answer:
    request = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return Answer(response.status, response.read().decode(), dict(response.headers))
    except urllib.error.HTTPError as error:
        return Answer(error.code, error.read().decode(), dict(error.headers))


@pytest.fixture(scope="module")
def seeded_chdb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A seeded chdb directory owned by this process, its SQL endpoint announced (read-only)."""
    with seeded_endpoint(tmp_path_factory.mktemp("board") / "chdb") as path:  # one per module
        yield path


def board_context_on(
    chdb: Path,
    *,
    settings: BoardSettings | None = None,
    kafka: KafkaSettings | None = None,
    topics: TopicSettings | None = None,
    store_wait: float = 5.0,
) -> BoardContext:
    """The board's context on the chdb directory ``chdb``, the repository's config, at NOW."""
    return board_context(
        settings=settings or BoardSettings(port=0),
        clickhouse=ClickHouseSettings(chdb_path=chdb),
        kafka=kafka,
        topics=topics or TopicSettings(),
        kpi_config_path=None,
        alert_rules_path=ROOT / "config" / "alert_rules.toml",
        tiering_path=ROOT / "config" / "tiering.toml",
        clock=lambda: NOW,
        store_wait=store_wait,
    )


BoardFactory = Callable[..., BoardServer]


@pytest.fixture
def board(request: pytest.FixtureRequest) -> Iterator[BoardFactory]:
    """Start boards on free ports (settings and credentials as given); all stopped after.
    Without ``chdb`` they read the module's seeded store through its endpoint."""
    started: list[BoardServer] = []

    def start(
        *,
        settings: BoardSettings | None = None,
        credentials: Credentials | None = None,
        kafka: KafkaSettings | None = None,
        topics: TopicSettings | None = None,
        chdb: Path | None = None,
        store_wait: float = 5.0,
    ) -> BoardServer:
        context = board_context_on(
            chdb or request.getfixturevalue("seeded_chdb"),
            settings=settings,
            kafka=kafka,
            topics=topics,
            store_wait=store_wait,
        )
        server = BoardServer(context, credentials=credentials).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()

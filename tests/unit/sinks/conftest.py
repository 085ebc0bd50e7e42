"""Fixtures for the sink's unit tests: a real embedded chdb store in a temporary directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sinks.chdb_backend import ChdbBackend
from sinks.migrate import apply_migrations


@pytest.fixture
def chdb_store(tmp_path: Path) -> Iterator[ChdbBackend]:
    """A migrated chdb store (database ``kam``) on a fresh data directory."""
    backend = ChdbBackend(path=tmp_path / "chdb", database="kam")
    apply_migrations(backend)
    yield backend
    backend.close()

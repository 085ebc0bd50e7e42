"""The committed JSON Schema files are exactly what the models say (run `kam schemas` to update)."""

from __future__ import annotations

import json

import pytest

from schemas import EVENT_TYPES
from schemas.export import DOCUMENTS, SCHEMA_DIR, render


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_committed_schema_matches_the_model(name: str) -> None:
    committed = (SCHEMA_DIR / name).read_text()
    assert committed == render(DOCUMENTS[name]), f"{name} drifted: run `kam schemas`"


def test_touchpoint_schema_names_every_event_type() -> None:
    schema = json.loads((SCHEMA_DIR / "touchpoint.schema.json").read_text())
    assert set(schema["discriminator"]["mapping"]) == set(EVENT_TYPES)


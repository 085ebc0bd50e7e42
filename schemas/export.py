"""JSON Schema files for producers that are not written in Python (``kam schemas``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from schemas.accounts import Account
from schemas.touchpoints import TOUCHPOINT_ADAPTER

SCHEMA_DIR = Path(__file__).resolve().parent / "json"
DOCUMENTS: dict[str, TypeAdapter[Any]] = {
    "touchpoint.schema.json": TOUCHPOINT_ADAPTER,
    "account.schema.json": TypeAdapter(Account),
}
"""File name -> the model whose JSON Schema it holds."""


def render(adapter: TypeAdapter[Any]) -> str:
    """The JSON Schema of one model, as committed (stable key order, trailing newline)."""
    return json.dumps(adapter.json_schema(mode="validation"), indent=2, sort_keys=True) + "\n"


def export(directory: Path = SCHEMA_DIR) -> list[Path]:
    """Write every schema file; returns the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, adapter in DOCUMENTS.items():
        path = directory / name
        path.write_text(render(adapter))
        written.append(path)
    return written

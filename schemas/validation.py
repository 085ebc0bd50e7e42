"""Why a document is not a touchpoint: one classification for the producer SDK and the workers.

A producer rejects a document for exactly the reason the pipeline would dead-letter it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from schemas.failures import FailureType


@dataclass(frozen=True, slots=True)
class FieldIssue:
    """One reason a document is not a valid touchpoint: where (dotted path) and what."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


@dataclass(frozen=True, slots=True)
class Rejection:
    failure_type: FailureType
    issues: tuple[FieldIssue, ...]

    @property
    def field_path(self) -> str | None:
        """Path of the first offending field, ``None`` when the whole document is at fault."""
        return self.issues[0].path or None

    @property
    def detail(self) -> str:
        first = self.issues[0].message
        more = len(self.issues) - 1
        return f"{first} (+{more} more)" if more else first


def not_utf8(raw: bytes) -> Rejection | None:
    """The rejection of bytes that are not UTF-8 text, else ``None``."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Rejection(
            FailureType.NOT_UTF8, (FieldIssue("", f"not UTF-8: {exc.reason} at byte {exc.start}"),)
        )
    return None


def classify(error: ValidationError) -> Rejection:
    """Translate pydantic's errors for a touchpoint into a typed rejection with field paths."""
    errors = error.errors(include_url=False)
    return Rejection(_failure_type(errors), tuple(_issue(e) for e in errors))


def _failure_type(errors: list[ErrorDetails]) -> FailureType:
    kinds = {error["type"] for error in errors}
    if kinds & {"json_invalid", "dict_type"}:
        return FailureType.NOT_JSON
    if "union_tag_invalid" in kinds:
        return FailureType.UNKNOWN_EVENT_TYPE
    if any(_path(e) == "schema_version" and e["type"] == "literal_error" for e in errors):
        return FailureType.UNSUPPORTED_SCHEMA_VERSION
    return FailureType.SCHEMA_VIOLATION


def _path(error: ErrorDetails) -> str:
    """Dotted path without the discriminator tag pydantic puts first (``payload.score``)."""
    loc = [str(part) for part in error["loc"]]
    return ".".join(loc[1:] if len(loc) > 1 else loc)


def _issue(error: ErrorDetails) -> FieldIssue:
    kind = error["type"]
    if kind == "union_tag_invalid":
        tag = json.dumps(error.get("ctx", {}).get("tag"))
        return FieldIssue("event_type", f"unknown event type {tag} (not in the catalogue)")
    if kind == "union_tag_not_found":
        return FieldIssue("event_type", "missing")
    if kind == "dict_type":
        return FieldIssue("", "expected a JSON object")
    if kind == "json_invalid":
        return FieldIssue("", error["msg"])
    return FieldIssue(_path(error), error["msg"])

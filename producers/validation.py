"""Validation at the producer edge: any input becomes a touchpoint model or a typed rejection.

Pure functions, no Kafka. The failure types are the dead-letter ones (:class:`FailureType`),
so a producer rejects a document for the same reason the pipeline would dead-letter it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from producers.exceptions import FieldIssue, InvalidTouchpointError
from schemas import TOUCHPOINT_ADAPTER, FailureType, Touchpoint, TouchpointBase

TouchpointInput = TouchpointBase | Mapping[str, Any] | str | bytes
"""What :func:`to_touchpoint` accepts: a model, a decoded JSON object, or JSON text."""


def to_touchpoint(document: TouchpointInput) -> Touchpoint:
    """The touchpoint model for ``document``; raises :class:`InvalidTouchpointError`."""
    if isinstance(document, TouchpointBase):
        return document  # type: ignore[return-value]
    if isinstance(document, bytes):
        try:
            document.decode("utf-8")
        except UnicodeDecodeError as exc:
            issue = FieldIssue("", f"not UTF-8: {exc.reason} at byte {exc.start}")
            raise InvalidTouchpointError(FailureType.NOT_UTF8, (issue,)) from None
    try:
        if isinstance(document, str | bytes):
            return TOUCHPOINT_ADAPTER.validate_json(document)
        return TOUCHPOINT_ADAPTER.validate_python(dict(document))
    except ValidationError as exc:
        raise rejection(exc) from None


def rejection(exc: ValidationError) -> InvalidTouchpointError:
    """Translate pydantic's errors into a typed rejection with dotted field paths."""
    errors = exc.errors(include_url=False)
    issues = tuple(_issue(error) for error in errors)
    return InvalidTouchpointError(_failure_type(errors), issues)


def _failure_type(errors: list[ErrorDetails]) -> FailureType:
    kinds = {error["type"] for error in errors}
    if "json_invalid" in kinds:
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
    ctx = error.get("ctx", {})
    if kind == "union_tag_invalid":
        return FieldIssue("event_type", f"unknown event type {json.dumps(ctx.get('tag'))}")
    if kind == "union_tag_not_found":
        return FieldIssue("event_type", "missing")
    if kind == "json_invalid":
        return FieldIssue("", error["msg"])
    return FieldIssue(_path(error), error["msg"])

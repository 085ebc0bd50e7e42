"""Validation at the producer edge: any input becomes a touchpoint model or a typed rejection.

Pure functions, no Kafka. The classification is the pipeline's own
(:mod:`schemas.validation`), so a producer rejects a document for the same reason the pipeline
would dead-letter it. A mapping is validated as the JSON it is sent as, so the SDK accepts
exactly what the JSON Schema (and the worker) accepts: no ``"5"`` for 5 from Python either.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from pydantic import ValidationError

from producers.exceptions import InvalidTouchpointError
from schemas import TOUCHPOINT_ADAPTER, FailureType, Touchpoint, TouchpointBase
from schemas.validation import FieldIssue, classify, not_utf8

TouchpointInput = TouchpointBase | Mapping[str, Any] | str | bytes
"""What :func:`to_touchpoint` accepts: a model, a decoded JSON object, or JSON text."""


def to_touchpoint(document: TouchpointInput) -> Touchpoint:
    """The touchpoint model for ``document``; raises :class:`InvalidTouchpointError`."""
    if isinstance(document, TouchpointBase):
        return document  # type: ignore[return-value]  # Touchpoint: the union of its subclasses
    if isinstance(document, bytes) and (undecodable := not_utf8(document)):
        raise InvalidTouchpointError(undecodable.failure_type, undecodable.issues)
    raw = document if isinstance(document, str | bytes) else _json_of(document)
    try:
        return TOUCHPOINT_ADAPTER.validate_json(raw)
    except ValidationError as exc:
        raise rejection(exc) from None


def rejection(exc: ValidationError) -> InvalidTouchpointError:
    """The typed rejection of a document pydantic refused."""
    found = classify(exc)
    return InvalidTouchpointError(found.failure_type, found.issues)


def _json_of(document: Mapping[str, Any]) -> bytes:
    """The JSON a mapping is published as (datetimes in RFC 3339, as orjson writes them)."""
    try:
        return orjson.dumps(dict(document))
    except TypeError as exc:
        issue = FieldIssue("", f"not representable as JSON: {exc}")
        raise InvalidTouchpointError(FailureType.NOT_JSON, (issue,)) from None

"""Validation at the producer edge: any input becomes a touchpoint model or a typed rejection.

Pure functions, no Kafka. The classification is the pipeline's own
(:mod:`schemas.validation`), so a producer rejects a document for the same reason the pipeline
would dead-letter it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from producers.exceptions import InvalidTouchpointError
from schemas import TOUCHPOINT_ADAPTER, Touchpoint, TouchpointBase
from schemas.validation import classify, not_utf8

TouchpointInput = TouchpointBase | Mapping[str, Any] | str | bytes
"""What :func:`to_touchpoint` accepts: a model, a decoded JSON object, or JSON text."""


def to_touchpoint(document: TouchpointInput) -> Touchpoint:
    """The touchpoint model for ``document``; raises :class:`InvalidTouchpointError`."""
    if isinstance(document, TouchpointBase):
        return document  # type: ignore[return-value]
    if isinstance(document, bytes) and (undecodable := not_utf8(document)):
        raise InvalidTouchpointError(undecodable.failure_type, undecodable.issues)
    try:
        if isinstance(document, str | bytes):
            return TOUCHPOINT_ADAPTER.validate_json(document)
        return TOUCHPOINT_ADAPTER.validate_python(dict(document))
    except ValidationError as exc:
        raise rejection(exc) from None


def rejection(exc: ValidationError) -> InvalidTouchpointError:
    """The typed rejection of a document pydantic refused."""
    found = classify(exc)
    return InvalidTouchpointError(found.failure_type, found.issues)

"""Record headers of the wire format (see docs/wire-format.md). Pure functions."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TypeVar

from schemas import TouchpointBase

CONTENT_TYPE = "application/json"

SCHEMA_VERSION = "schema-version"
SOURCE_SYSTEM = "source-system"
EVENT_TYPE = "event-type"
TRACE_ID = "trace-id"
CONTENT_TYPE_HEADER = "content-type"

Headers = list[tuple[str, bytes]]
EventT = TypeVar("EventT", bound=TouchpointBase)


def new_trace_id() -> str:
    """A fresh W3C-style trace id: 32 lowercase hex digits."""
    return uuid.uuid4().hex


def with_trace_id(event: EventT, make_id: Callable[[], str] = new_trace_id) -> EventT:
    """``event`` itself when it carries a ``trace_id``, else a copy with a fresh one."""
    if event.trace_id:
        return event
    return event.model_copy(update={"trace_id": make_id()})


def touchpoint_headers(event: TouchpointBase) -> Headers:
    """Headers of a touchpoint record; ``event`` must already carry its ``trace_id``."""
    return [
        (SCHEMA_VERSION, str(event.schema_version).encode()),
        (SOURCE_SYSTEM, event.source_system.encode()),
        (EVENT_TYPE, str(getattr(event, "event_type", "")).encode()),
        (TRACE_ID, (event.trace_id or "").encode()),
        (CONTENT_TYPE_HEADER, CONTENT_TYPE.encode()),
    ]


def json_headers() -> Headers:
    """Headers of records that are plain JSON documents (accounts)."""
    return [(CONTENT_TYPE_HEADER, CONTENT_TYPE.encode())]

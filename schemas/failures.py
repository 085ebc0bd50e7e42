"""Dead letters: typed records of the messages the pipeline could not accept, with their bytes."""

from __future__ import annotations

import base64
import binascii
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, PlainSerializer


class FailureType(StrEnum):
    NOT_UTF8 = "not_utf8"
    NOT_JSON = "not_json"
    SCHEMA_VIOLATION = "schema_violation"
    UNKNOWN_EVENT_TYPE = "unknown_event_type"
    UNSUPPORTED_SCHEMA_VERSION = "unsupported_schema_version"
    OVERSIZE = "oversize"
    FUTURE_EVENT_TIME = "future_event_time"
    PROCESSING_ERROR = "processing_error"
    """The worker failed on a valid-looking event (a bug); kept here instead of being lost."""


def _from_base64(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except binascii.Error as error:
            raise ValueError(f"not standard base64: {error}") from error
    return value


OriginalBytes = Annotated[
    bytes,
    BeforeValidator(_from_base64),
    PlainSerializer(lambda raw: base64.b64encode(raw).decode("ascii"), when_used="json"),
]
"""Raw bytes in Python; standard base64 (RFC 4648, ``+/``) in JSON, as ClickHouse decodes it."""


class DeadLetter(BaseModel):
    """Why a message was rejected, where it came from, and its bytes (base64 on the wire)."""

    model_config = ConfigDict(frozen=True)

    failure_type: FailureType
    detail: str
    field_path: str | None = None
    source_topic: str
    source_partition: int
    source_offset: int
    original: OriginalBytes
    """The message value exactly as received."""
    received_at: AwareDatetime

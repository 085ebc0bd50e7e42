"""Dead letters: typed records of messages the pipeline could not accept, with the original bytes."""

from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict


class FailureType(StrEnum):
    NOT_UTF8 = "not_utf8"
    NOT_JSON = "not_json"
    SCHEMA_VIOLATION = "schema_violation"
    UNKNOWN_EVENT_TYPE = "unknown_event_type"
    UNSUPPORTED_SCHEMA_VERSION = "unsupported_schema_version"
    OVERSIZE = "oversize"
    FUTURE_EVENT_TIME = "future_event_time"


class DeadLetter(BaseModel):
    """Why a message was rejected, where it came from, and its bytes (base64 on the wire)."""

    model_config = ConfigDict(frozen=True, ser_json_bytes="base64", val_json_bytes="base64")

    failure_type: FailureType
    detail: str
    field_path: str | None = None
    source_topic: str
    source_partition: int
    source_offset: int
    original: bytes
    """The message value exactly as received (base64 in JSON)."""
    received_at: AwareDatetime

"""Dead letters: typed records of the messages the pipeline could not accept, with their bytes."""

from __future__ import annotations

import base64
import binascii
import hashlib
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, PlainSerializer

MAX_ORIGINAL_BYTES = 256 * 1024
"""Original bytes kept in a dead letter; its base64 (about 342 KiB) fits Kafka's 1 MB default."""


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
    OUTPUT_REFUSED = "output_refused"
    """The broker refused, for good, an output the worker made from this message (e.g. too
    large); ``original`` holds the refused output, the source fields name the input."""
    UNMAPPED = "unmapped"
    """A vendor webhook (``kam ingest``) that maps onto no catalogue event: a kind of event
    not mapped, or an id the account mapping does not know; ``field_path`` names the field."""


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
    """The message value as received, cut to :data:`MAX_ORIGINAL_BYTES` (see ``original_size``)."""
    received_at: AwareDatetime
    original_size: int | None = None
    """Length of the whole message in bytes (``None`` in letters written before 0.2)."""
    original_sha256: str | None = None
    """Hex SHA-256 of the whole message, to match it with the copy still in the source topic."""
    original_truncated: bool = False
    """True when ``original`` is only the first :data:`MAX_ORIGINAL_BYTES` bytes: the whole
    message is at ``source_topic``/``source_partition``/``source_offset`` while it is retained."""

    @classmethod
    def keeping(cls, raw: bytes, **fields: Any) -> DeadLetter:
        """A dead letter holding ``raw`` as far as it fits, with its full size and hash."""
        return cls(
            original=raw[:MAX_ORIGINAL_BYTES],
            original_size=len(raw),
            original_sha256=hashlib.sha256(raw).hexdigest(),
            original_truncated=len(raw) > MAX_ORIGINAL_BYTES,
            **fields,
        )

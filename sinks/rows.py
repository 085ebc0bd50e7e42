"""Pure conversion of Kafka messages into table rows, one function per topic kind.

Conversion is deliberately light: the stream workers validated the events already, so only the
fields a column needs are checked here, enums and values are left for ClickHouse's schema to
check (a row it refuses is isolated and kept in ``failed_events``). Enriched touchpoints, the
bulk of the traffic, are passed as JSON text and parsed by ClickHouse (migration 0003). A
message that cannot be converted becomes a ``failed_events`` row; nothing is dropped.
Everything here is deterministic (no clock reads), so a replayed batch converts identically.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal, NamedTuple

import orjson

from schemas import Account
from schemas.origins import Origin

TopicKind = Literal["enriched", "deadletter", "alerts", "accounts", "kpis", "undeliverable"]

SOURCE = ("source_topic", "source_partition", "source_offset")
COLUMNS: dict[str, tuple[str, ...]] = {
    "touchpoints": (
        "event_id", "account_id", "contact_point", "event_type", "occurred_at", "source_system",
        "schema_version", "trace_id", "payload", "tier", "account_name", "kam_owner", "kam_team",
        "tier_score", "bad_experience", "processed_at", *SOURCE,
    ),
    "touchpoints_ingest": ("message", "kafka_time", *SOURCE),
    "failed_events": (
        "failure_type", "detail", "field_path", "source_topic", "source_partition",
        "source_offset", "original", "received_at", "read_topic", "read_partition", "read_offset",
        "original_size", "original_sha256", "original_truncated",
    ),
    "alerts": (
        "alert_key", "account_id", "account_name", "tier", "kam_owner", "kam_team",
        "contact_point", "rule", "severity", "status", "summary", "evidence", "event_ids",
        "started_at", "updated_at", *SOURCE,
    ),
    "accounts": (
        "account_id", "name", "tier", "tier_score", "kam_owner", "kam_team", "segment",
        "parent_account_id", "updated_at", "attributes", *SOURCE,
    ),
    "account_tier_history": (
        "account_id", "name", "tier", "tier_score", "kam_owner", "kam_team", "updated_at",
        "attributes", *SOURCE,
    ),
    "kpi_snapshots": (
        "account_id", "contact_point", "window", "kpi", "value", "computed_at", *SOURCE,
        "as_of", "window_start", "window_end",
    ),
    "undeliverable_notifications": (
        "notification_id", "receiver", "receiver_kind", "channel", "reason", "attempts",
        "last_error", "last_status", "alert_keys", "account_ids", "alerts", "first_attempt_at",
        "failed_at", *SOURCE,
    ),
}  # fmt: skip
"""Insert column order of every table the sink writes."""

ACCOUNT_COLUMNS = frozenset(
    {"account_id", "name", "tier", "tier_score", "kam_owner", "kam_team", "segment",
     "parent_account_id", "updated_at"}
)
"""Account fields with a column of their own; every other field goes to ``attributes``."""
if not ACCOUNT_COLUMNS.issubset(Account.model_fields):
    raise ImportError("sinks.rows.ACCOUNT_COLUMNS names fields schemas.Account does not have")
MAX_DETAIL = 2000


class SourceMessage(NamedTuple):
    """What the sink needs of one Kafka message (a tuple: cheap to build per message)."""

    topic: str
    partition: int
    offset: int
    value: bytes | None
    timestamp: datetime
    """The broker/producer timestamp (used where a row needs a time not in the payload)."""
    origin: Origin | None = None
    """What the message is a copy of, when its producer said (``kam-origin`` header)."""


class Undecodable(ValueError):  # noqa: N818 - a verdict on a message
    """The message cannot become a row; ``field_path`` names the offending field if known."""

    def __init__(self, detail: str, *, field_path: str | None = None) -> None:
        super().__init__(detail)
        self.field_path = field_path


Row = tuple[Any, ...]


def _get(doc: Mapping[str, Any], key: str, kinds: type | tuple[type, ...], path: str) -> Any:
    value = doc.get(key)
    if value is None or not isinstance(value, kinds) or isinstance(value, bool):
        names = kinds if isinstance(kinds, tuple) else (kinds,)
        expected = "/".join(kind.__name__ for kind in names)
        raise Undecodable(f"{path}{key}: expected {expected}", field_path=f"{path}{key}")
    return value


def _opt(doc: Mapping[str, Any], key: str, kinds: type | tuple[type, ...], path: str) -> Any:
    return None if doc.get(key) is None else _get(doc, key, kinds, path)


def _moment(text: str, field_path: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise Undecodable(f"{field_path}: not an ISO 8601 time", field_path=field_path) from None
    offset = moment.utcoffset()
    if offset is None:
        raise Undecodable(f"{field_path}: time without timezone", field_path=field_path)
    return moment.astimezone(UTC) if offset else moment


def _time(doc: Mapping[str, Any], key: str, path: str) -> datetime:
    return _moment(_get(doc, key, str, path), f"{path}{key}")


def _object(doc: Mapping[str, Any], key: str, path: str = "") -> Mapping[str, Any]:
    found: Mapping[str, Any] = _get(doc, key, dict, path)
    return found


def _json_text(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def _source(message: SourceMessage) -> Row:
    return (message.topic, message.partition, message.offset)


def touchpoint_ingest_rows(message: SourceMessage) -> dict[str, Row]:
    """``touchpoints_ingest`` row: the enriched touchpoint JSON, parsed by ClickHouse itself.

    The hot path of the sink does no JSON work in Python: migration 0003 extracts the
    :class:`schemas.EnrichedTouchpoint` fields into ``touchpoints`` and routes events missing a
    required field to ``failed_events``.
    """
    if message.value is None:
        raise Undecodable("message has no value")
    try:
        text = message.value.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Undecodable(f"not UTF-8: {exc.reason} at byte {exc.start}") from None
    return {"touchpoints_ingest": (text, message.timestamp, *_source(message))}


class IngestColumns(NamedTuple):
    """A batch of enriched touchpoints as ``touchpoints_ingest`` columns, plus what could not go.

    ``columns`` are in :data:`COLUMNS` order; row ``i`` of them comes from ``messages[i]`` and
    equals ``touchpoint_ingest_rows(messages[i])``. ``failed`` holds the ``failed_events``
    rows of the other messages, exactly as :func:`convert` gives them.
    """

    messages: list[SourceMessage]
    columns: list[list[Any]]
    failed: list[tuple[SourceMessage, Row]]


def touchpoint_ingest_columns(messages: Sequence[SourceMessage]) -> IngestColumns:
    """``touchpoints_ingest`` columns of a batch of enriched messages, built in one pass.

    The sink's hot path: the batch transposed at C level and one UTF-8 decode per message, no
    per-row tuple or table lookup (a columnar insert then sends the columns as they are). A
    batch with a message that has no value or is not UTF-8 takes the per-message way.
    """
    if not messages:
        return IngestColumns([], [[] for _ in COLUMNS["touchpoints_ingest"]], [])
    topics, partitions, offsets, values, times, _ = zip(*messages, strict=True)
    try:
        texts = [value.decode("utf-8") for value in values]
    except (AttributeError, UnicodeDecodeError):  # None or not UTF-8: rare
        return _ingest_columns_sorting(messages)
    columns = [texts, list(times), list(topics), list(partitions), list(offsets)]
    return IngestColumns(list(messages), columns, [])


def _ingest_columns_sorting(messages: Sequence[SourceMessage]) -> IngestColumns:
    """:func:`touchpoint_ingest_columns` of a batch with messages that cannot be sent."""
    kept: list[SourceMessage] = []
    failed: list[tuple[SourceMessage, Row]] = []
    for message in messages:
        if isinstance(message.value, bytes) and _is_utf8(message.value):
            kept.append(message)
        else:
            failed.extend((message, row) for _, row in convert("enriched", message))
    found = touchpoint_ingest_columns(kept)
    return IngestColumns(found.messages, found.columns, failed)


def _is_utf8(value: bytes) -> bool:
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def dead_letter_rows(doc: Mapping[str, Any], message: SourceMessage) -> dict[str, Row]:
    """``failed_events`` row from a :class:`schemas.DeadLetter` document."""
    row = (
        _get(doc, "failure_type", str, ""),
        _get(doc, "detail", str, ""),
        _opt(doc, "field_path", str, ""),
        _get(doc, "source_topic", str, ""),
        _get(doc, "source_partition", int, ""),
        _get(doc, "source_offset", int, ""),
        _get(doc, "original", str, ""),
        _time(doc, "received_at", ""),
        *_source(message),
        _opt(doc, "original_size", int, ""),
        _opt(doc, "original_sha256", str, ""),
        doc.get("original_truncated") is True,
    )
    return {"failed_events": row}


def alert_rows(doc: Mapping[str, Any], message: SourceMessage) -> dict[str, Row]:
    """``alerts`` row from one :class:`schemas.Alert` state."""
    event_ids = _strings(doc, "event_ids")
    row = (
        _get(doc, "alert_key", str, ""),
        _get(doc, "account_id", str, ""),
        _opt(doc, "account_name", str, ""),
        _get(doc, "tier", str, ""),
        _opt(doc, "kam_owner", str, ""),
        _opt(doc, "kam_team", str, ""),
        _get(doc, "contact_point", str, ""),
        _get(doc, "rule", str, ""),
        _get(doc, "severity", str, ""),
        _get(doc, "status", str, ""),
        _get(doc, "summary", str, ""),
        _json_text(doc.get("evidence", {})),
        event_ids,
        _time(doc, "started_at", ""),
        _time(doc, "updated_at", ""),
        *_source(message),
    )
    return {"alerts": row}


def _strings(doc: Mapping[str, Any], key: str) -> list[str]:
    values = doc.get(key, [])
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise Undecodable(f"{key}: expected a list of strings", field_path=key)
    return values


def undeliverable_rows(doc: Mapping[str, Any], message: SourceMessage) -> dict[str, Row]:
    """``undeliverable_notifications`` row from one notifier ``UndeliverableNotification``."""
    row = (
        _get(doc, "notification_id", str, ""),
        _get(doc, "receiver", str, ""),
        _get(doc, "receiver_kind", str, ""),
        _opt(doc, "channel", str, ""),
        _get(doc, "reason", str, ""),
        _get(doc, "attempts", int, ""),
        _get(doc, "last_error", str, ""),
        _opt(doc, "last_status", int, ""),
        _strings(doc, "alert_keys"),
        _strings(doc, "account_ids"),
        _json_text(doc.get("alerts", [])),
        _time(doc, "first_attempt_at", ""),
        _time(doc, "failed_at", ""),
        *_source(message),
    )
    return {"undeliverable_notifications": row}


def account_rows(doc: Mapping[str, Any], message: SourceMessage) -> dict[str, Row]:
    """``accounts`` and ``account_tier_history`` rows from an :class:`schemas.Account` document.

    Fields without a column of their own (the tiering criteria, an override, the model
    version, and fields the Account model does not know yet) are kept in the ``attributes``
    JSON text column, so that the tier can be explained from the table (the board does).
    """
    account_id, name = _get(doc, "account_id", str, ""), _get(doc, "name", str, "")
    tier = doc.get("tier") or "standard"
    if not isinstance(tier, str):
        raise Undecodable("tier: expected str", field_path="tier")
    tier_score = _opt(doc, "tier_score", (int, float), "")
    kam_owner, kam_team = _opt(doc, "kam_owner", str, ""), _opt(doc, "kam_team", str, "")
    updated_at = _time(doc, "updated_at", "") if doc.get("updated_at") else message.timestamp
    attributes = _json_text({k: v for k, v in doc.items() if k not in ACCOUNT_COLUMNS})
    source = _source(message)
    current = (
        account_id, name, tier, tier_score, kam_owner, kam_team,
        _opt(doc, "segment", str, ""), _opt(doc, "parent_account_id", str, ""),
        updated_at, attributes, *source,
    )  # fmt: skip
    history = (account_id, name, tier, tier_score, kam_owner, kam_team, updated_at, attributes)
    return {"accounts": current, "account_tier_history": (*history, *source)}


def kpi_rows(doc: Mapping[str, Any], message: SourceMessage) -> list[Row]:
    """``kpi_snapshots`` rows of a :class:`schemas.KpiUpdate`: one per window x KPI, with a
    NULL value where the window has no data (so the latest row of a KPI is always its value)."""
    account_id = _get(doc, "account_id", str, "")
    contact_point = _get(doc, "contact_point", str, "")
    computed_at = _time(doc, "computed_at", "")
    as_of = _time(doc, "as_of", "")
    windows = _object(doc, "windows")
    bounds = doc.get("window_bounds") or {}
    rows = []
    for window, values in windows.items():
        if not isinstance(values, dict):
            raise Undecodable("expected an object of KPI values", field_path=f"windows.{window}")
        start, end = _bounds(bounds.get(window), f"window_bounds.{window}")
        for kpi, value in values.items():
            if value is not None and (not isinstance(value, int | float) or value is True):
                raise Undecodable("expected a number", field_path=f"windows.{window}.{kpi}")
            number = None if value is None else float(value)
            rows.append(
                (account_id, contact_point, window, kpi, number, computed_at, *_source(message),
                 as_of, start, end)
            )  # fmt: skip
    return rows


def _bounds(value: Any, path: str) -> tuple[datetime | None, datetime | None]:
    """``[start, end)`` of a window, ``(None, None)`` for updates written before they were sent."""
    if value is None:
        return None, None
    if not isinstance(value, list) or len(value) != 2 or not all(isinstance(v, str) for v in value):
        raise Undecodable("expected [start, end] times", field_path=path)
    return _moment(value[0], f"{path}[0]"), _moment(value[1], f"{path}[1]")


CONVERTERS: dict[TopicKind, Callable[[Mapping[str, Any], SourceMessage], dict[str, Row]]] = {
    "deadletter": dead_letter_rows,
    "alerts": alert_rows,
    "accounts": account_rows,
    "undeliverable": undeliverable_rows,
}


def failed_row(
    message: SourceMessage, *, failure_type: str, detail: str, field_path: str | None
) -> Row:
    """``failed_events`` row keeping a message the sink could not write, with the reason."""
    value = message.value or b""
    return (
        failure_type,
        detail[:MAX_DETAIL],
        field_path,
        message.topic,
        message.partition,
        message.offset,
        base64.b64encode(value).decode(),
        message.timestamp,
        *_source(message),
        len(value),
        hashlib.sha256(value).hexdigest(),
        False,
    )


_REJECTED_FIELD = re.compile(r"while reading the value of key (\w+)")


def rejected_row(message: SourceMessage, error: str) -> Row:
    """``failed_events`` row for a message whose row ClickHouse refused (``sink_rejected``)."""
    match = _REJECTED_FIELD.search(error)
    field_path = match.group(1) if match else None
    return failed_row(message, failure_type="sink_rejected", detail=error, field_path=field_path)


def convert(kind: TopicKind, message: SourceMessage) -> list[tuple[str, Row]]:
    """``(table, row)`` pairs for one message; an undecodable one gives a ``failed_events`` row.

    Most messages give one row per table; a KPI update gives one row per window x KPI. A
    tombstone (no value) on the compacted accounts topic gives no row.
    """
    if message.value is None and kind == "accounts":
        return []
    try:
        if kind == "enriched":
            return list(touchpoint_ingest_rows(message).items())
        doc = _document(message)
        if kind == "kpis":
            return [("kpi_snapshots", row) for row in kpi_rows(doc, message)]
        return list(CONVERTERS[kind](doc, message).items())
    except Undecodable as exc:
        row = failed_row(
            message, failure_type="sink_undecodable", detail=str(exc), field_path=exc.field_path
        )
        return [("failed_events", row)]


def _document(message: SourceMessage) -> Mapping[str, Any]:
    if message.value is None:
        raise Undecodable("message has no value")
    try:
        doc = orjson.loads(message.value)
    except orjson.JSONDecodeError as exc:
        raise Undecodable(f"not JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise Undecodable("not a JSON object")
    return doc

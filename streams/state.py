"""Keys of the worker's one state table, and the offset watermark that makes replays harmless.

All durable state of a worker lives in a single Faust table of bytes, so its changelog keeps
the writes of one partition in order: a batch writes its KPI and alert states first and its
offset watermark last. After a crash, events at or below the watermark were already counted:
they are re-emitted (at-least-once) but never counted twice.

A batch's writes are not atomic (a crash can keep some keys and lose others), so each KPI
state also carries the offset of the last event it counted: a key whose state was written
before a crash skips exactly the events it already holds. It also remembers the last few event
ids it counted, so an event a source system publishes twice is counted once.

Per partition the table also holds the alert outbox (the last alerts sent, with the
partition's alert sequence), the KPI mark (the offset through which every KPI update has
reached the broker) and the stream time (the latest event time seen), see
:mod:`streams.pipeline`, and one entry per open incident chain (an account's order).

Every key starts with the source partition, so a worker can tell which entries it owns after
a rebalance.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import orjson

from schemas import ContactPoint

Kind = Literal[
    "kpi", "alerts", "offset", "outbox", "kpimark", "stream", "chain", "judged"
]


def kpi_key(partition: int, account_id: str, contact_point: ContactPoint) -> str:
    return f"{partition}/kpi/{contact_point.value}:{account_id}"


def alerts_key(partition: int, account_id: str) -> str:
    return f"{partition}/alerts/{account_id}"


def chain_key(partition: int, account_id: str, order_id: str) -> str:
    """An order's incident chain (:mod:`streams.alerting.chains`); the account and order ids
    are a JSON array, so ids holding ``/`` or ``:`` cannot collide."""
    return f"{partition}/chain/" + orjson.dumps([account_id, order_id]).decode()


def parse_chain_key(rest: str) -> tuple[str, str]:
    """``(account id, order id)`` of a chain key's rest (after ``partition/chain/``)."""
    account_id, order_id = orjson.loads(rest)
    return str(account_id), str(order_id)


def offset_key(partition: int) -> str:
    return f"{partition}/offset"


def outbox_key(partition: int) -> str:
    """The partition's alert outbox: its alert sequence and the alerts last sent."""
    return f"{partition}/outbox"


def stream_key(partition: int) -> str:
    """The partition's event-time watermark: the latest event time it has seen (epoch s)."""
    return f"{partition}/stream"


def judged_key(partition: int) -> str:
    """The partition's last KPI judgment: ``<step index>:<last offset it covered>``."""
    return f"{partition}/judged"


def kpi_mark_key(partition: int) -> str:
    """The partition's offset through which every KPI state's update has reached the broker."""
    return f"{partition}/kpimark"


def parse_key(key: str) -> tuple[int, str, str]:
    """``(partition, kind, rest)`` of a state key; ``kind`` is a :data:`Kind` for every key
    this code writes (a key read back from the table is not checked)."""
    partition, kind, *rest = key.split("/", 2)
    return int(partition), kind, rest[0] if rest else ""


def compact_json(value: Any) -> bytes:
    """``value`` as JSON bytes that hold only their own length.

    ``orjson.dumps`` returns bytes that keep a 4 KiB buffer whatever their length; stored by the
    hundred thousand in a table, that is 400 MB for 30 MB of data, so stored values are copied.
    """
    return bytes(memoryview(orjson.dumps(value)))


def watermark(state: Mapping[str, bytes], partition: int) -> int:
    """The highest source offset of ``partition`` whose effects are in ``state`` (-1: none)."""
    raw = state.get(offset_key(partition))
    return int(raw) if raw is not None else -1


RECENT_EVENTS = 8
"""Event ids remembered per KPI state, so a source system re-sending an event is not counted."""
_HEADER = struct.Struct(">qB")
_ID = struct.Struct(">Q")


def event_fingerprint(event_id: str) -> int:
    """A stable 64-bit fingerprint of an event id (the same in every process)."""
    return int.from_bytes(hashlib.blake2b(event_id.encode(), digest_size=8).digest(), "big")


def encode_counted(offset: int, recent: Sequence[int], state: bytes) -> bytes:
    """A state prefixed with the offset of the last event it counted and the fingerprints of
    the last :data:`RECENT_EVENTS` event ids it counted."""
    kept = recent[-RECENT_EVENTS:]
    return _HEADER.pack(offset, len(kept)) + b"".join(_ID.pack(f) for f in kept) + state


def counted_offset(raw: bytes) -> int:
    """The offset of the last event counted in :func:`encode_counted` bytes."""
    return int(_HEADER.unpack_from(raw)[0])


def decode_counted(raw: bytes) -> tuple[int, list[int], bytes]:
    """``(offset, recent fingerprints, state)`` from :func:`encode_counted` bytes."""
    offset, count = _HEADER.unpack_from(raw)
    start = _HEADER.size
    recent = [_ID.unpack_from(raw, start + i * _ID.size)[0] for i in range(count)]
    return offset, recent, raw[start + count * _ID.size :]

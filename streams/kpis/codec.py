"""Binary form of a contact point state, for a Faust table with a changelog.

Layout: one uncompressed format-version byte, then a zlib stream of a little-endian header
(contact point, high-water mark, last executive meeting, too-late count, tier count), per tier
its ``(granularity, slots)`` and ``slots x counters`` int64 counts, then the histogram entries:
uint16 triples ``(tier << 8 | histogram, slot, bin)`` followed by their uint32 counts. Zero
rows compress to almost nothing, so quiet accounts cost a few dozen bytes.
"""

from __future__ import annotations

import struct
import sys
import zlib
from array import array
from dataclasses import dataclass

from schemas.touchpoints import ContactPoint
from streams.kpis.exceptions import StateDecodeError

STATE_SCHEMA_VERSION = 1
"""Bump when counters, histograms or this layout change; older bytes are then rejected."""

COMPRESSION_LEVEL = 1
"""zlib level: 1 encodes ~3x faster than 6 for ~25% more bytes (see bench/bench_kpis.py)."""

_CONTACT_POINTS = (
    ContactPoint.SALES,
    ContactPoint.LOGISTICS,
    ContactPoint.SUPPORT,
    ContactPoint.BILLING,
)
_HEADER = struct.Struct("<BBqqIBB")
_TIER = struct.Struct("<II")
_ENTRIES = struct.Struct("<I")
_NONE = -(2**63)
_BIG_ENDIAN = sys.byteorder == "big"

Hists = list[list[dict[int, dict[int, int]]]]


@dataclass(slots=True)
class StateParts:
    """A state's content, independent of any configuration."""

    contact_point: ContactPoint
    hwm: int | None
    last_executive_at: int | None
    too_late: int
    counters: int
    tiers: list[tuple[int, int, array[int]]]
    """Per tier ``(granularity seconds, slots, counts)``."""
    hists: Hists
    """Per tier, per histogram: slot -> {bin: count}."""


def _portable(values: array[int]) -> array[int]:
    if _BIG_ENDIAN:
        values = array(values.typecode, values)
        values.byteswap()
    return values


def pack(parts: StateParts) -> bytes:
    chunks = [
        _HEADER.pack(
            _CONTACT_POINTS.index(parts.contact_point),
            parts.counters,
            _NONE if parts.hwm is None else parts.hwm,
            _NONE if parts.last_executive_at is None else parts.last_executive_at,
            parts.too_late,
            len(parts.tiers),
            len(parts.hists[0]) if parts.hists else 0,
        )
    ]
    for granularity, slots, counts in parts.tiers:
        chunks.append(_TIER.pack(granularity, slots))
        chunks.append(_portable(counts).tobytes())
    keys, counts = array("H"), array("I")
    for tier, per_hist in enumerate(parts.hists):
        for hist, by_slot in enumerate(per_hist):
            for slot in sorted(by_slot):
                for bin_index, count in sorted(by_slot[slot].items()):
                    keys.extend((tier << 8 | hist, slot, bin_index))
                    counts.append(count)
    chunks.append(_ENTRIES.pack(len(counts)))
    chunks.append(_portable(keys).tobytes())
    chunks.append(_portable(counts).tobytes())
    return bytes((STATE_SCHEMA_VERSION,)) + zlib.compress(b"".join(chunks), COMPRESSION_LEVEL)


def unpack(data: bytes) -> StateParts:
    """Read :func:`pack` output; raises :class:`StateDecodeError` on anything unexpected."""
    if not data or data[0] != STATE_SCHEMA_VERSION:
        found = data[0] if data else None
        raise StateDecodeError(f"unsupported KPI state format {found}")
    try:
        return _unpack(zlib.decompress(data[1:]))
    except (zlib.error, struct.error, IndexError, ValueError) as exc:
        raise StateDecodeError(f"corrupt KPI state: {exc}") from exc


def _unpack(body: bytes) -> StateParts:
    cp, k, hwm, last, too_late, n_tiers, n_hists = _HEADER.unpack_from(body, 0)
    offset = _HEADER.size
    tiers = []
    for _ in range(n_tiers):
        granularity, slots = _TIER.unpack_from(body, offset)
        offset += _TIER.size
        counts = _portable(array("q", body[offset : offset + 8 * k * slots]))
        if len(counts) != k * slots:
            raise ValueError("truncated counts")
        offset += 8 * k * slots
        tiers.append((granularity, slots, counts))
    (n_entries,) = _ENTRIES.unpack_from(body, offset)
    offset += _ENTRIES.size
    keys = _portable(array("H", body[offset : offset + 6 * n_entries]))
    offset += 6 * n_entries
    counts = _portable(array("I", body[offset : offset + 4 * n_entries]))
    if len(counts) != n_entries or offset + 4 * n_entries != len(body):
        raise ValueError("bad histogram entries")
    hists: Hists = [[{} for _ in range(n_hists)] for _ in range(n_tiers)]
    triples = iter(keys)
    for key, slot, bin_index, count in zip(triples, triples, triples, counts, strict=True):
        hists[key >> 8][key & 0xFF].setdefault(slot, {})[bin_index] = count
    return StateParts(
        contact_point=_CONTACT_POINTS[cp],
        hwm=None if hwm == _NONE else hwm,
        last_executive_at=None if last == _NONE else last,
        too_late=too_late,
        counters=k,
        tiers=tiers,
        hists=hists,
    )

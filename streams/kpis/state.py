"""Rolling KPI state of one (account, contact point): event-time buckets in a few tiers.

Each tier is a ring of ``slots`` buckets of ``granularity`` seconds (UTC-aligned, e.g. 5 min,
1 h, 1 day). The ring always holds the buckets up to the one containing the high-water mark
(the latest event time seen); as the mark advances, the buckets that fall out are zeroed.
Every applied event is added to its bucket in every tier that still holds it.
"""

from __future__ import annotations

from array import array
from datetime import datetime
from typing import Literal, cast

import numpy as np
from numpy.typing import NDArray

from schemas.touchpoints import ContactPoint, ExecutiveMeetingHeld, Touchpoint
from streams.kpis.catalogue import SPECS
from streams.kpis.codec import StateParts, pack, unpack
from streams.kpis.config import KpiConfig
from streams.kpis.exceptions import StateDecodeError, StateMismatchError
from streams.kpis.histogram import bin_of
from streams.kpis.sales import next_day_step
from streams.kpis.spec import Kpis, Totals

ApplyOutcome = Literal["applied", "too_late", "too_early", "ignored"]


def window_bounds(config: KpiConfig, *, as_of: int) -> dict[str, tuple[int, int]]:
    """Window name -> ``[start, end)`` in epoch seconds of the window ending at ``as_of``.

    A window ends at the end of the bucket holding ``as_of`` (buckets of its tier, e.g. 5 min
    for 1 h) and spans its length back from there; see :meth:`ContactPointState.totals`.
    """
    bounds = {}
    for window, length in config.windows.items():
        granularity = config.layout[config.window_tiers[window]][0]
        end = (as_of // granularity + 1) * granularity
        bounds[window] = (end - int(length.total_seconds()), end)
    return bounds


class ContactPointState:
    """Windowed counters and duration histograms of one account at one contact point."""

    __slots__ = (
        "_counts",
        "_hists",
        "_k",
        "config",
        "contact_point",
        "hwm",
        "last_executive_at",
        "too_late",
    )

    def __init__(self, *, contact_point: ContactPoint, config: KpiConfig) -> None:
        self._start(ContactPoint(contact_point), config)
        self._counts: list[array[int]] = [
            array("q", bytes(8 * self._k * slots)) for _, slots in config.layout
        ]
        self._hists: list[list[dict[int, dict[int, int]]]] = [
            self._no_hists() for _ in config.layout
        ]
        """Per tier, per histogram: slot -> {bin: count}; only non-empty slots present."""

    def _start(self, contact_point: ContactPoint, config: KpiConfig) -> None:
        """Everything but the buckets, which the caller sets."""
        self.contact_point = contact_point
        self.config = config
        self.hwm: int | None = None
        """High-water mark: the latest event time applied, epoch seconds."""
        self.too_late = 0
        """Events ignored because they were older than the longest retention."""
        self.last_executive_at: int | None = None
        """Latest executive meeting (sales), epoch seconds, kept regardless of windows."""
        self._k = len(SPECS[contact_point].counters)

    def _no_hists(self) -> list[dict[int, dict[int, int]]]:
        return [{} for _ in SPECS[self.contact_point].histograms]

    def apply(self, event: Touchpoint, *, now: datetime | None = None) -> ApplyOutcome:
        """Add one event.

        ``too_late`` when older than every tier's retention (counted in ``too_late``);
        ``too_early`` (nothing changes) when ``now`` is given and the event is more than the
        configured ``max_future_skew`` ahead of it; ``ignored`` when it feeds no KPI.
        """
        if event.contact_point != self.contact_point:
            raise StateMismatchError(
                f"{event.event_type} belongs to {event.contact_point}, not {self.contact_point}"
            )
        if now is not None and event.occurred_at > now + self.config.max_future_skew:
            return "too_early"
        at = int(event.occurred_at.timestamp())
        if isinstance(event, ExecutiveMeetingHeld):
            last = self.last_executive_at
            self.last_executive_at = at if last is None else max(last, at)
            self.advance(at)
            return "applied"
        observation = SPECS[self.contact_point].observe(event, self.config.sla_seconds)
        if observation is None:
            return "ignored"
        self.advance(at)
        deltas, samples = observation
        k, hwm, kept = self._k, self.hwm if self.hwm is not None else at, 0
        for tier, (granularity, slots) in enumerate(self.config.layout):
            index = at // granularity
            if index <= hwm // granularity - slots:
                continue
            kept += 1
            slot = index % slots
            counts, base = self._counts[tier], slot * k
            for counter, delta in deltas:
                counts[base + counter] += delta
            for hist, minutes in samples:
                bins = self._hists[tier][hist].setdefault(slot, {})
                bin_index = bin_of(minutes)
                bins[bin_index] = bins.get(bin_index, 0) + 1
        if not kept:
            self.too_late += 1
            return "too_late"
        return "applied"

    def advance(self, at: int) -> None:
        """Move the high-water mark to ``at`` (epoch seconds) if later, evicting old buckets.

        Applying events does this; a worker may also call it with the wall clock to shrink
        quiet accounts' state.
        """
        if self.hwm is None:
            self.hwm = at
            return
        if at <= self.hwm:
            return
        k = self._k
        for tier, (granularity, slots) in enumerate(self.config.layout):
            old, new = self.hwm // granularity, at // granularity
            counts, hists = self._counts[tier], self._hists[tier]
            if new - old >= slots:
                counts[:] = array("q", bytes(8 * k * slots))
                for hist in hists:
                    hist.clear()
                continue
            zeros = array("q", bytes(8 * k))
            for index in range(old + 1, new + 1):
                slot = index % slots
                counts[slot * k : slot * k + k] = zeros
                for hist in hists:
                    hist.pop(slot, None)
        self.hwm = at

    def totals(self, *, as_of: int, window: str) -> Totals:
        """Counters and histograms summed over the buckets of ``window`` ending at ``as_of``.

        The window covers ``[end - length, end)`` where ``end`` is the end of the tier bucket
        containing ``as_of``: an event exactly at the window start is inside.
        """
        tier, granularity, slots, width = self.config.window_plan[window]
        k = self._k
        sums = [0] * k
        hists: list[dict[int, int]] = [{} for _ in self._hists[tier]]
        if self.hwm is not None:
            last, newest = as_of // granularity, self.hwm // granularity
            first = max(last - width, newest - slots) + 1
            held = min(last, newest) - first + 1  # buckets in the window, at most ``slots``
            if held > 0:
                start, end = first % slots, first % slots + held
                rows = self._rows(tier)
                # The window's rows are one run of the ring, or two when it wraps around.
                if end <= slots:
                    sums = rows[start:end].sum(axis=0).tolist()
                else:
                    sums = (rows[start:].sum(axis=0) + rows[: end - slots].sum(axis=0)).tolist()
                for merged, hist in zip(hists, self._hists[tier], strict=True):
                    for slot, bins in hist.items():
                        if (slot - start) % slots < held:
                            for bin_index, count in bins.items():
                                merged[bin_index] = merged.get(bin_index, 0) + count
        return Totals(sums, hists, as_of, self.last_executive_at)

    def _rows(self, tier: int) -> NDArray[np.int64]:
        """The tier's counts as a ``slots x counters`` view (no copy)."""
        return np.frombuffer(self._counts[tier], dtype=np.int64).reshape(-1, self._k)

    def next_change(self, *, as_of: int) -> int | None:
        """The earliest stream time after ``as_of`` at which the KPIs change with no new event:
        a bucket with data leaves one of the windows, or (sales) one more whole day has passed
        since the last executive meeting; ``None`` when every window is empty and no meeting
        was seen.
        """
        if self.hwm is None:
            return None
        met = self.last_executive_at
        earliest = None if met is None else next_day_step(as_of, met)
        newest = self.hwm
        busy: dict[int, list[bool]] = {}
        for tier, granularity, slots, width in self.config.window_plan.values():
            last, top = as_of // granularity, newest // granularity
            first, final = max(last - width, top - slots) + 1, min(last, top)
            if first > final:
                continue
            if tier not in busy:  # per slot: whether any counter or histogram holds data
                busy[tier] = cast(list[bool], self._rows(tier).any(axis=1).tolist())
                for hist in self._hists[tier]:
                    for slot in hist:
                        busy[tier][slot] = True
            flags = busy[tier]
            for index in range(first, final + 1):
                if flags[index % slots]:
                    leaves = (index + width) * granularity
                    earliest = leaves if earliest is None else min(earliest, leaves)
                    break
        return earliest

    def snapshot(self, *, as_of: datetime, window: str) -> Kpis:
        """KPI name -> value over ``window`` ending at ``as_of``; ``None`` where no data."""
        as_of_s = int(as_of.timestamp())
        return SPECS[self.contact_point].kpis(self.totals(as_of=as_of_s, window=window))

    def snapshots(self, *, as_of: datetime) -> dict[str, Kpis]:
        """Window name -> snapshot, for every configured window."""
        return {window: self.snapshot(as_of=as_of, window=window) for window in self.config.windows}

    def to_bytes(self) -> bytes:
        """Compact, versioned bytes for a Faust table value (see :mod:`streams.kpis.codec`)."""
        tiers = [
            (granularity, slots, counts)
            for (granularity, slots), counts in zip(self.config.layout, self._counts, strict=True)
        ]
        return pack(
            StateParts(
                contact_point=self.contact_point,
                hwm=self.hwm,
                last_executive_at=self.last_executive_at,
                too_late=self.too_late,
                counters=self._k,
                tiers=tiers,
                hists=self._hists,
            )
        )

    @classmethod
    def from_bytes(cls, data: bytes, *, config: KpiConfig) -> ContactPointState:
        """Rebuild a state; tiers no longer in ``config`` are dropped, new ones start empty."""
        parts = unpack(data)
        state = cls.__new__(cls)
        state._start(parts.contact_point, config)
        if parts.counters != state._k:
            raise StateDecodeError(
                f"{parts.contact_point} state has {parts.counters} counters, expected {state._k}"
            )
        state.hwm, state.too_late = parts.hwm, parts.too_late
        state.last_executive_at = parts.last_executive_at
        stored = {(g, n): i for i, (g, n, _) in enumerate(parts.tiers)}
        state._counts, state._hists = [], []
        for granularity, slots in config.layout:
            index = stored.get((granularity, slots))
            if index is None:  # a tier new in ``config`` starts empty
                state._counts.append(array("q", bytes(8 * state._k * slots)))
                state._hists.append(state._no_hists())
            else:
                state._counts.append(parts.tiers[index][2])
                state._hists.append(parts.hists[index])
        return state

"""Event-loop lag: how late the worker's asyncio loop wakes up a task that asked to sleep.

A small task sleeps ``interval`` seconds again and again; each wake-up later than asked is a
time during which the loop ran something else without yielding (a long batch, a KPI flush)
or had more ready work than it could run. Every event, timer and output of the worker waits
that long too, so the lag is a direct measure of what a stall costs in latency. The samples
go to a histogram (:data:`streams.metrics.EVENT_LOOP_LAG`) and to :class:`RecentMax`, the
largest lag of the last seconds (:data:`streams.metrics.EVENT_LOOP_LAG_MAX`).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable


class RecentMax:
    """The largest value observed in the last ``window`` to ``2 * window`` seconds.

    Two slots rotate every ``window`` seconds, so a value is kept for at least one full window
    and no scrape interval shorter than that misses a stall. Read from another thread (the
    metrics endpoint), hence the lock.
    """

    def __init__(self, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._window = window
        self._clock = clock
        self._lock = threading.Lock()
        self._started = clock()
        self._current = 0.0
        self._previous = 0.0

    def _rotate(self, now: float) -> None:
        elapsed = int((now - self._started) // self._window)
        if elapsed >= 2:
            self._previous = self._current = 0.0
        elif elapsed == 1:
            self._previous, self._current = self._current, 0.0
        if elapsed:
            self._started += elapsed * self._window

    def observe(self, value: float) -> None:
        with self._lock:
            self._rotate(self._clock())
            self._current = max(self._current, value)

    def value(self) -> float:
        with self._lock:
            self._rotate(self._clock())
            return max(self._current, self._previous)


async def probe_loop_lag(
    interval: float,
    observe: Callable[[float], None],
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Forever: sleep ``interval`` seconds and ``observe`` how much later than that it woke
    (``interval`` 0: the probe is off, returns at once)."""
    while interval > 0:
        expected = clock() + interval
        await asyncio.sleep(interval)
        observe(max(0.0, clock() - expected))

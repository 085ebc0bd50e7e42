"""The event-loop lag probe sees a blocked loop, and the recent maximum keeps it for a window."""

from __future__ import annotations

import asyncio
import contextlib
import time

from streams.loop_lag import RecentMax, probe_loop_lag


def test_a_blocked_loop_is_seen_as_lag_of_about_the_blocked_time() -> None:
    samples: list[float] = []

    async def main() -> None:
        probe = asyncio.ensure_future(probe_loop_lag(0.01, samples.append))
        await asyncio.sleep(0.05)
        time.sleep(0.3)  # a batch that never yields
        await asyncio.sleep(0.05)
        probe.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await probe

    asyncio.run(main())
    assert max(samples) >= 0.25
    assert sum(sample >= 0.25 for sample in samples) == 1  # one stall, one late wake-up
    assert min(samples) >= 0.0


def test_recent_max_keeps_a_value_for_at_least_one_window_and_forgets_it_after_two() -> None:
    now = [100.0]
    recent = RecentMax(window=5.0, clock=lambda: now[0])
    assert recent.value() == 0.0
    recent.observe(0.2)
    recent.observe(1.5)
    recent.observe(0.3)
    now[0] = 104.9
    assert recent.value() == 1.5
    now[0] = 109.9  # next window: the previous one is still shown
    assert recent.value() == 1.5
    recent.observe(0.4)
    now[0] = 110.1  # two windows on: only the 0.4 of the last one
    assert recent.value() == 0.4
    now[0] = 130.0  # long quiet: nothing
    assert recent.value() == 0.0


def test_interval_zero_turns_the_probe_off() -> None:
    samples: list[float] = []
    asyncio.run(probe_loop_lag(0.0, samples.append))
    assert samples == []

"""Per-token token buckets: bursts, refill, independent keys, Retry-After in whole seconds."""

from __future__ import annotations

import pytest

from producers.ingest import RateLimiter
from producers.ingest.ratelimit import retry_after_header


def test_a_burst_then_the_wait_until_the_next_token() -> None:
    limiter = RateLimiter(rate=2.0, burst=3)
    assert [limiter.acquire("crm", 100.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.acquire("crm", 100.0) == pytest.approx(0.5)
    assert limiter.acquire("crm", 100.25) == pytest.approx(0.25)
    assert limiter.acquire("crm", 100.5) == 0.0


def test_keys_have_their_own_buckets_and_refill_stops_at_the_burst() -> None:
    limiter = RateLimiter(rate=1.0, burst=2)
    assert limiter.acquire("crm", 0.0) == limiter.acquire("crm", 0.0) == 0.0
    assert limiter.acquire("crm", 0.0) > 0
    assert limiter.acquire("erp", 0.0) == 0.0
    # an hour of quiet gives back the burst, not 3,600 requests
    assert [limiter.acquire("crm", 3600.0) for _ in range(3)][2] == pytest.approx(1.0)


@pytest.mark.parametrize(("seconds", "header"), [(0.01, "1"), (1.0, "1"), (1.2, "2"), (7.9, "8")])
def test_retry_after_is_whole_seconds_rounded_up(seconds: float, header: str) -> None:
    assert retry_after_header(seconds) == header

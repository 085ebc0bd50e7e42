"""Per-token rate limit: one token bucket per key, refilled continuously. Pure (clock given)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass(slots=True)
class RateLimiter:
    """``rate`` requests per second per key, bursts of up to ``burst``."""

    rate: float
    burst: int
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)
    """key -> (tokens left, time of the last refill)."""

    def acquire(self, key: str, now: float) -> float:
        """0 when ``key`` may proceed (one token taken), else the seconds until it may."""
        tokens, last = self._buckets.get(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + max(0.0, now - last) * self.rate)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            return 0.0
        self._buckets[key] = (tokens, now)
        return (1.0 - tokens) / self.rate


def retry_after_header(seconds: float) -> str:
    """``Retry-After`` takes whole seconds: rounded up, at least 1."""
    return str(max(1, math.ceil(seconds)))

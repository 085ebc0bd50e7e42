"""A tiny HDR-style histogram of durations in whole minutes, for p50/p90 per bucket.

Values below 128 minutes get their own bin (exact to the floored minute); above, each power of
two is split into 64 bins, so a reported percentile is the lower edge of its bin: never above
the true value and less than 1/64 (1.6%) below it. A bin index fits in 16 bits up to 2^20 min.
"""

from __future__ import annotations

from collections.abc import Iterable

LINEAR = 128
SUB = 64
MAX_MINUTES = (1 << 20) - 1


def bin_of(minutes: int) -> int:
    """The bin of a non-negative duration in minutes (clamped to ``MAX_MINUTES``)."""
    value = min(max(minutes, 0), MAX_MINUTES)
    if value < LINEAR:
        return value
    shift = value.bit_length() - 7
    return LINEAR + (shift - 1) * SUB + (value >> shift) - SUB


def value_of(bin_index: int) -> int:
    """The lower edge, in minutes, of a bin."""
    if bin_index < LINEAR:
        return bin_index
    shift, mantissa = divmod(bin_index - LINEAR, SUB)
    return (mantissa + SUB) << (shift + 1)


def percentiles(counts: dict[int, int], ranks: Iterable[int]) -> list[float | None]:
    """Nearest-rank percentiles (``ranks`` in percent) of a bin -> count histogram.

    The p-th percentile is the smallest recorded value with at least p% of values at or
    below it (rank ``ceil(p * n / 100)``); ``None`` when the histogram is empty.
    """
    wanted = list(ranks)
    total = sum(counts.values())
    if total == 0:
        return [None] * len(wanted)
    targets = [max(1, -(-p * total // 100)) for p in wanted]
    results: list[float | None] = [None] * len(wanted)
    seen = 0
    for bin_index in sorted(counts):
        seen += counts[bin_index]
        for i, target in enumerate(targets):
            if results[i] is None and seen >= target:
                results[i] = float(value_of(bin_index))
    return results

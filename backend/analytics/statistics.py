"""Statistics over aggregated sums (pure): means with Student-t 95% intervals."""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats


@dataclass(frozen=True, slots=True)
class Moments:
    """What SQL can aggregate in one pass: count, sum, sum of squares."""

    n: int = 0
    total: float = 0.0
    total_sq: float = 0.0

    def __add__(self, other: Moments) -> Moments:
        return Moments(self.n + other.n, self.total + other.total, self.total_sq + other.total_sq)


@dataclass(frozen=True, slots=True)
class MeanInterval:
    n: int
    mean: float | None
    low: float | None
    high: float | None
    enough_data: bool


def mean_interval(m: Moments, *, min_n: int, confidence: float = 0.95,
                  bounds: tuple[float, float] = (0.0, 100.0)) -> MeanInterval:
    """Mean and t-interval; below `min_n` (and always below 2) there is not enough data for either."""
    if m.n < max(min_n, 2):
        return MeanInterval(m.n, None, None, None, False)
    mean = m.total / m.n
    # Sum-of-squares variance is off by rounding when all values are equal: slightly negative, or a
    # tiny positive remainder (about n × 1e-16 × mean²) that would give equal values a non-zero interval.
    variance = (m.total_sq - m.n * mean * mean) / (m.n - 1)
    if variance <= 1e-12 * m.n * mean * mean:
        variance = 0.0
    half = float(stats.t.ppf(0.5 + confidence / 2, m.n - 1)) * math.sqrt(variance / m.n)
    low, high = bounds
    return MeanInterval(m.n, mean, max(low, mean - half), min(high, mean + half), True)

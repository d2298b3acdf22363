"""One measurement's numbers (throughput, latency percentiles, errors) and the median of repetitions."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field


def percentile(sorted_values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of an already sorted sequence (NaN when empty)."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


@dataclass
class Measurement:
    """One repetition: `completed` successful operations in `seconds`, latencies in seconds."""

    completed: int
    seconds: float
    latencies: list[float]
    errors: int = 0
    error_kinds: dict[str, int] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)  # share of one core, e.g. {"server": 0.98}
    notes: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.completed / self.seconds if self.seconds > 0 else 0.0

    def ms(self, p: float) -> float:
        return percentile(sorted(self.latencies), p) * 1000


@dataclass
class Summary:
    """The median over repetitions of each number, and the total of errors."""

    reps: list[Measurement]

    @property
    def rate(self) -> float:
        return statistics.median(m.rate for m in self.reps)

    def ms(self, p: float) -> float:
        return statistics.median(m.ms(p) for m in self.reps)

    @property
    def errors(self) -> int:
        return sum(m.errors for m in self.reps)

    @property
    def completed(self) -> int:
        return sum(m.completed for m in self.reps)

    def cpu(self, key: str) -> float | None:
        values = [m.cpu[key] for m in self.reps if key in m.cpu]
        return statistics.median(values) if values else None

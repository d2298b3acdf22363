"""A report's answers read once against its form: which questions are shown, and each call timer's
metrics. Validation (backend.forms.answers), scoring (backend.scoring.engine) and the evidence flags
(backend.reports.evidence) all take this one reading instead of each deciding show-ifs and timing
calls again (docs/submission.md, step 3)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from api_schemas.forms import FormDefinition, TimerSequence
from backend.forms.conditions import is_na_answer
from backend.forms.definition import Visibility, outline, visibility
from backend.forms.timers import TimerMetrics, try_derive


@dataclass(frozen=True, slots=True)
class Interpreted:
    view: Visibility
    # Per shown, answered (not N/A) timer question: its metrics, or None when the answer is malformed.
    timers: dict[str, TimerMetrics | None]

    def timer(self, key: str) -> TimerMetrics | None:
        return self.timers.get(key)


def interpret(defn: FormDefinition, answers: Mapping[str, Any]) -> Interpreted:
    view = visibility(defn, answers)
    timers: dict[str, TimerMetrics | None] = {}
    for info in outline(defn).questions:
        q = info.question
        if isinstance(q, TimerSequence) and q.key not in timers and view.shown.get(q.key, False):
            value = answers.get(q.key)
            if value is not None and not is_na_answer(value):
                timers[q.key] = try_derive(value, give_up_s=q.give_up_s, clock_start=q.clock_start)
    return Interpreted(view, timers)


__all__ = ["Interpreted", "interpret"]

"""Score a report's answers against its form definition (DESIGN.md 4.8), with an explanation.

Rules
-----
* Item fraction = earned / possible, with earned clamped to [0, possible] (negative points never
  push a score below zero). Per type:
  yes_no: points_yes / points_no (null → 0), possible = the larger (and ≥ 0);
  single_choice: the chosen choice's points, possible = the largest choice points;
  multiple_choice: the sum of the selected choices' positive points, possible = the sum of all
  positive points; rating: linear, min → 0 … max → ``points``; nps: 0 → 0 … 10 → ``points``
  (rating/nps without ``points`` are unscored); integer/decimal/duration/timer_sequence: the
  points of the band holding the value ([min, max), no band → 0), possible = the largest band
  points; a timer uses its primary time to answer, and a censored call the band of give_up_s.
  text/photo/file/gps/note/timestamp, and any item whose possible is 0, are ``unscored``.
* Excluded (status na / hidden / unanswered / unscored, contribution 0): N/A answers (0/0), hidden
  questions (their own show-if or any enclosing section's is false), unanswered optional
  questions, and answers of the wrong shape (score() assumes check_answers passed; a bad answer
  counts as unanswered). An unanswered REQUIRED shown question counts as 0 earned.
* Section fraction = Σ wᵢ·fᵢ / Σ wᵢ over its counted non-bonus children (questions and
  sub-sections); the overall fraction is the same over the top-level sections. A section
  (or the form) with nothing counted, or whose counted weights are all 0, is itself excluded.
  Weights therefore multiply down the tree: an item's share is the product of
  wᵢ / Σ w (siblings) along its path, and its contribution = 100 × share × fraction.
* Bonus items add wᵢ·fᵢ to their section's numerator only, never to the denominator; if the total
  exceeds 100 it is capped at 100 and every contribution is scaled by the same factor, so the
  contributions still add up to ``calculated``.
* A critical question answered "fail" (yes_no = fail_on, a choice with fail=true, a rating below
  fail_below) sets ``failed``; ``calculated`` keeps the score and ``final`` is 0. Hidden, N/A and
  unanswered questions never fail.
* Nothing scorable (e.g. everything N/A) → ``calculated`` and ``final`` are None (``final`` is 0
  when something failed anyway).
* Nothing is rounded here: scores are floats on a 0–100 scale, contributions add up to
  ``calculated`` up to float error (~1e-9); round only for display.

Metrics (``ScoreResult.metrics``), from shown, validly answered, non-N/A tagged questions; the
first source of a key in document order wins:
  numeric tags → the number (reply_h/resolution_h from a duration question: seconds / 3600);
  time_to_answer_s / reply_h / reply_s also get ``<tag>_censored``; yes_no tags → boolean;
  nps → the 0–10 answer and ``nps_group`` (promoter 9–10, passive 7–8, detractor 0–6); csat →
  the rating and ``csat_satisfied`` (one of the top two points of the scale); a timer sequence →
  ``time_to_answer_s`` (+ ``_censored``), ``time_to_answer_ring_s``, ``time_to_answer_menu_s``,
  ``menu_s``, ``hold_s``, ``transfers``, ``answered``, ``call_s``. When a yes_no tagged
  ``answered`` says no, every numeric waiting-time question (time_to_answer_s, reply_h, reply_s)
  is censored at its ``max`` — shown or not — with ``<tag>_censored`` true.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from api_schemas.forms import (
    Band, FormDefinition, MultipleChoice, Nps, Question, Rating, ScoreItem, ScoreResult, Section,
    SingleChoice, TimerSequence, YesNo,
)
from backend.forms.answers import shape_problems
from backend.forms.conditions import is_na_answer
from backend.forms.definition import (
    CENSORABLE_METRICS, UNSCORABLE_TYPES, iter_questions, question_type, visibility,
)
from backend.forms.timers import TimerMetrics, derive

_HOURS_METRICS = frozenset({"reply_h", "resolution_h"})


def _band_points(bands: list[Band], value: float) -> float:
    for band in bands:
        if (band.min is None or value >= band.min) and (band.max is None or value < band.max):
            return band.points
    return 0.0


def _timer_metrics(q: TimerSequence, value: Any) -> TimerMetrics:
    return derive(value, give_up_s=q.give_up_s, clock_start=q.clock_start)


def _possible(q: Question) -> float:
    """The most an answer can earn (it does not depend on the answer); 0 means unscored."""
    if question_type(q) in UNSCORABLE_TYPES:
        return 0.0
    if isinstance(q, YesNo):
        return max(q.points_yes or 0.0, q.points_no or 0.0, 0.0)
    if isinstance(q, SingleChoice):
        return max([0.0, *(c.points or 0.0 for c in q.choices)])
    if isinstance(q, MultipleChoice):
        return sum(max(c.points or 0.0, 0.0) for c in q.choices)
    if isinstance(q, Rating):
        return 0.0 if q.points is None or q.max <= q.min else max(q.points, 0.0)
    if isinstance(q, Nps):
        return 0.0 if q.points is None else max(q.points, 0.0)
    return max([0.0, *(b.points for b in getattr(q, "bands", []))])


def _earned(q: Question, value: Any) -> float:
    """The raw points of a valid, non-N/A answer to a scorable question (not yet clamped)."""
    if isinstance(q, YesNo):
        return (q.points_yes if value else q.points_no) or 0.0
    if isinstance(q, SingleChoice):
        return next((c.points or 0.0 for c in q.choices if c.value == value), 0.0)
    if isinstance(q, MultipleChoice):
        return sum(max(c.points or 0.0, 0.0) for c in q.choices if c.value in value)
    if isinstance(q, Rating):
        return (q.points or 0.0) * (value - q.min) / (q.max - q.min)
    if isinstance(q, Nps):
        return (q.points or 0.0) * value / 10
    number = _timer_metrics(q, value).time_to_answer_s if isinstance(q, TimerSequence) else float(value)
    return _band_points(getattr(q, "bands", []), number)


def _critical_failed(q: Question, value: Any) -> bool:
    if not q.critical:
        return False
    if isinstance(q, YesNo):
        return q.fail_on is not None and value is (q.fail_on == "yes")
    if isinstance(q, SingleChoice):
        return any(c.fail and c.value == value for c in q.choices)
    if isinstance(q, MultipleChoice):
        return any(c.fail and c.value in value for c in q.choices)
    if isinstance(q, Rating):
        return q.fail_below is not None and value < q.fail_below
    return False


@dataclass
class _Tally:
    """A section's weighted sums while scoring; children keep their own weight and fraction."""

    numerator: float = 0.0
    denominator: float = 0.0
    children: list[tuple[float, bool, Any]] = field(default_factory=list)  # (weight, counted, child)

    @property
    def fraction(self) -> float | None:
        return self.numerator / self.denominator if self.denominator > 0 else None


def _metrics(defn: FormDefinition, shown: Mapping[str, bool], valid: Mapping[str, Any]) -> dict[str, Any]:
    metrics: dict[str, Any] = {}
    explicit_answered: bool | None = None
    for info in iter_questions(defn):
        q = info.question
        if q.key not in valid or not shown.get(q.key, False):
            continue
        value = valid[q.key]
        if isinstance(q, TimerSequence):
            timer = _timer_metrics(q, value)
            for key, figure in (
                ("time_to_answer_s", timer.time_to_answer_s),
                ("time_to_answer_s_censored", timer.censored),
                ("time_to_answer_ring_s", timer.time_to_answer_ring_s),
                ("time_to_answer_menu_s", timer.time_to_answer_menu_s),
                ("menu_s", timer.menu_s), ("hold_s", timer.hold_s), ("transfers", timer.transfers),
                ("answered", timer.answered), ("call_s", timer.call_s),
            ):
                metrics.setdefault(key, figure)
            continue
        if q.metric is None:
            continue
        tag = q.metric.value
        if tag in metrics:
            continue
        if isinstance(q, YesNo):
            metrics[tag] = value
            if tag == "answered" and explicit_answered is None:
                explicit_answered = value
        elif tag == "nps":
            metrics["nps"] = value
            metrics["nps_group"] = "promoter" if value >= 9 else "passive" if value >= 7 else "detractor"
        elif tag == "csat" and isinstance(q, Rating):
            metrics["csat"] = value
            metrics["csat_satisfied"] = value >= q.max - 1
        else:
            number = float(value)
            if tag in _HOURS_METRICS and question_type(q) == "duration":
                number /= 3600  # durations are seconds; these metrics are hours
            metrics[tag] = number
            if tag in CENSORABLE_METRICS:
                metrics[f"{tag}_censored"] = False
    if explicit_answered is False:
        # Nobody answered: the waiting time is the deadline, censored (DESIGN 1: never dropped).
        for info in iter_questions(defn):
            q = info.question
            tag = q.metric.value if q.metric is not None else None
            deadline = getattr(q, "max", None)
            if tag in CENSORABLE_METRICS and not isinstance(q, TimerSequence) and deadline is not None:
                is_hours = tag in _HOURS_METRICS and question_type(q) == "duration"
                metrics[tag] = float(deadline) / 3600 if is_hours else float(deadline)
                metrics[f"{tag}_censored"] = True
    return metrics


def score(defn: FormDefinition, answers: Mapping[str, Any]) -> ScoreResult:
    """The calculated and final score, failure, per-item explanation and metrics of a report."""
    view = visibility(defn, answers)
    items: list[ScoreItem] = []
    # Per question: (weight, bonus, fraction or None when excluded) and its ScoreItem index.
    leaf: dict[int, tuple[float, bool, float | None]] = {}
    valid: dict[str, Any] = {}
    failed = False
    for info in iter_questions(defn):
        q = info.question
        shown = view.shown.get(q.key, False)
        value = answers.get(q.key)
        fraction: float | None = None
        earned = possible = 0.0
        critical_failed = False
        if not shown:
            status = "hidden"
        elif question_type(q) in UNSCORABLE_TYPES:
            status = "unscored"  # notes, text, photos…: nothing to earn, whatever the answer
        elif is_na_answer(value):
            status = "na"
        elif value is None or shape_problems(q, value):
            status = "unanswered"
            if q.required:
                possible = _possible(q)
                fraction = 0.0 if possible > 0 else None
        else:
            valid[q.key] = value
            possible = _possible(q)
            earned = min(max(_earned(q, value), 0.0), possible) if possible > 0 else 0.0
            critical_failed = _critical_failed(q, value)
            failed = failed or critical_failed
            if possible > 0:
                fraction = earned / possible
                status = "bonus" if q.bonus else "scored"
            else:
                status = "unscored"
        leaf[len(items)] = (q.weight, q.bonus, fraction)
        items.append(ScoreItem(
            key=q.key, section_path=list(info.section_path), earned=earned, possible=possible,
            effective_weight=info.effective_weight, contribution=0.0, status=status,
            critical_failed=critical_failed,
        ))

    # Tally sections bottom-up, in the same document order iter_questions used.
    counter = iter(range(len(items)))

    def tally(section_items: list[Any]) -> _Tally:
        t = _Tally()
        for item in section_items:
            if isinstance(item, Section):
                sub = tally(item.items)
                weight, bonus, fraction = item.weight, False, sub.fraction
                child: Any = sub
                if not view.shown.get(item.key, False):
                    fraction = None
            else:
                index = next(counter)
                weight, bonus, fraction = leaf[index]
                child = index
            counted = fraction is not None
            if counted:
                t.numerator += weight * fraction
                if not bonus:
                    t.denominator += weight
            t.children.append((weight, counted, child))
        return t

    root = tally(defn.sections)  # type: ignore[arg-type]  # top sections are the root's children

    def share_out(t: _Tally, share: float) -> None:
        if t.fraction is None:
            return
        for weight, counted, child in t.children:
            if not counted:
                continue
            child_share = share * weight / t.denominator
            if isinstance(child, _Tally):
                share_out(child, child_share)
            else:
                items[child].contribution = 100 * child_share * leaf[child][2]  # type: ignore[operator]

    share_out(root, 1.0)
    calculated = None if root.fraction is None else 100 * root.fraction
    if calculated is not None and calculated > 100:
        scale = 100 / calculated
        for item in items:
            item.contribution *= scale
        calculated = 100.0
    return ScoreResult(
        calculated=calculated,
        final=0.0 if failed else calculated,
        failed=failed,
        items=items,
        metrics=_metrics(defn, view.shown, valid),
    )


__all__ = ["score"]

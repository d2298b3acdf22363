"""Score a report's answers against its form definition (docs/scoring.md), with an explanation.

Rules
-----
* Item fraction = earned / possible, with earned clamped to [0, possible] (negative points never
  push a score below zero). Per type:
  yes_no: points_yes / points_no (null → 0), possible = the larger (and ≥ 0);
  single_choice: the chosen choice's points, possible = the largest choice points;
  multiple_choice: the sum of the selected choices' points (a penalty choice's negative points
  subtract), possible = the sum of all positive points; rating: linear, min → 0 … max → ``points``; nps: 0 → 0 … 10 → ``points``
  (rating/nps without ``points`` are unscored); integer/decimal/duration/timer_sequence: the
  points of the band holding the value ([min, max), no band → 0), possible = the largest band
  points; a timer uses its primary time to answer, and a censored call the band of give_up_s.
  Likewise, when a yes_no tagged ``answered`` says nobody answered, each waiting-time question with a
  deadline (time_to_answer_s / reply_h / reply_s with a ``max``) is scored at its deadline's band,
  whatever was entered or left out: a censored time scores the same by timer or by hand.
  text/photo/file/gps/note/timestamp/acknowledge/calculate, and any item whose possible is 0, are ``unscored``.
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

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from api_schemas.forms import (
    Band,
    FormDefinition,
    ItemStatus,
    MultipleChoice,
    Nps,
    Question,
    Rating,
    ScoreItem,
    ScoreResult,
    Section,
    SingleChoice,
    TimerSequence,
    YesNo,
)
from backend.forms.answers import shape_checker
from backend.forms.conditions import is_na_answer
from backend.forms.definition import (
    CENSORABLE_METRICS,
    UNSCORABLE_TYPES,
    outline,
    per_definition,
    question_type,
)
from backend.forms.interpretation import Interpreted, interpret
from backend.forms.timers import TimerMetrics, derive

_HOURS_METRICS = frozenset({"reply_h", "resolution_h"})


def _band_points(bands: list[Band], value: float) -> float:
    for band in bands:
        if (band.min is None or value >= band.min) and (band.max is None or value < band.max):
            return band.points
    return 0.0


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
    bands: list[Any] = getattr(q, "bands", [])
    return max([0.0, *(float(b.points) for b in bands)])


def _earner(q: Question) -> Callable[[Any], float]:
    """The raw points (not yet clamped) of a valid, non-N/A answer to a scorable question;
    a timer's are computed from its TimerMetrics, not from the raw answer."""
    if isinstance(q, YesNo):
        points_yes, points_no = q.points_yes, q.points_no
        return lambda value: (points_yes if value else points_no) or 0.0
    if isinstance(q, SingleChoice):
        by_value: dict[str, float] = {}
        for c in q.choices:
            by_value.setdefault(c.value, c.points or 0.0)  # the first choice with the value counts
        return lambda value: by_value.get(value, 0.0)
    if isinstance(q, MultipleChoice):
        choices = [(c.value, c.points or 0.0) for c in q.choices]
        return lambda value: sum(points for choice, points in choices if choice in value)
    if isinstance(q, Rating):
        points, low, span = q.points or 0.0, q.min, q.max - q.min
        return lambda value: points * (value - low) / span
    if isinstance(q, Nps):
        points = q.points or 0.0
        return lambda value: points * value / 10
    bands = getattr(q, "bands", [])
    if isinstance(q, TimerSequence):
        return lambda timer: _band_points(bands, timer.time_to_answer_s)
    return lambda value: _band_points(bands, float(value))


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


@dataclass(frozen=True, slots=True)
class _Item:
    """What scoring needs of one question, worked out once per definition."""

    question: Question
    key: str
    section_path: tuple[str, ...]
    effective_weight: float
    weight: float
    bonus: bool
    required: bool
    critical: bool
    unscorable: bool
    possible: float
    shape: Callable[[Any], list[str]]
    timer: TimerSequence | None
    earned: Callable[[Any], float]
    # Metrics: the tag, and how a plain answer becomes its figure.
    tag: str | None
    is_yes_no: bool
    csat_threshold: int | None  # a rating's top two points start here
    hours: bool  # a duration (seconds) feeding an hours metric
    # A waiting time (a censorable metric with a deadline, not a timer): when the contact was not
    # answered it is scored at its deadline, as a timer's censored time is scored at give_up_s.
    censor_at: float | None
    repeat: str | None  # the repeat section it is answered in, per instance


@dataclass(frozen=True, slots=True)
class _Plan:
    items: tuple[_Item, ...]
    # The section tree: a section is (weight, key, children), a question its index in `items`.
    tree: tuple[Any, ...]
    # For a contact nobody answered: (tag, deadline figure) of each waiting-time question, in order.
    censored: tuple[tuple[str, float], ...]
    # Sections inside a repeat: shown per instance, so their items' own means already say it.
    inside_repeats: frozenset[str] = frozenset()


@per_definition
def _plan(defn: FormDefinition) -> _Plan:
    items = []
    censored = []
    for info in outline(defn).questions:
        q = info.question
        kind = question_type(q)
        tag = q.metric.value if q.metric is not None else None
        hours = tag in _HOURS_METRICS and kind == "duration"
        items.append(
            _Item(
                question=q,
                key=q.key,
                section_path=info.section_path,
                effective_weight=info.effective_weight,
                weight=q.weight,
                bonus=q.bonus,
                required=q.required,
                critical=q.critical,
                unscorable=kind in UNSCORABLE_TYPES,
                possible=_possible(q),
                shape=shape_checker(q),
                timer=q if isinstance(q, TimerSequence) else None,
                earned=_earner(q),
                tag=tag,
                is_yes_no=isinstance(q, YesNo),
                csat_threshold=q.max - 1 if isinstance(q, Rating) else None,
                hours=hours,
                censor_at=None,
                repeat=info.repeat,
            )
        )
        deadline = getattr(q, "max", None)
        if tag in CENSORABLE_METRICS and not isinstance(q, TimerSequence) and deadline is not None:
            censored.append((tag, float(deadline) / 3600 if hours else float(deadline)))
            items[-1] = replace(items[-1], censor_at=float(deadline))
    counter = iter(range(len(items)))

    def tree(section_items: list[Any]) -> tuple[Any, ...]:
        return tuple(
            (item.weight, item.key, tree(item.items)) if isinstance(item, Section) else next(counter)
            for item in section_items
        )

    inside = frozenset(node.key for node in _sections_in(defn.sections, repeated=False) if isinstance(node, Section))
    return _Plan(tuple(items), tree(defn.sections), tuple(censored), inside)


def _sections_in(items: list[Any], repeated: bool) -> Iterator[Section]:
    """The sections inside a repeat section (not the repeat itself)."""
    for item in items:
        if isinstance(item, Section):
            if repeated:
                yield item
            yield from _sections_in(item.items, repeated or item.repeat)


# A section's tally while scoring: (fraction or None when nothing counted, the scale its children's
# weights are shared out over, its counted children as (weight, question index or the sub-section's
# tally), and whether only bonus counted in it). Bonus items add to the numerator only. A section in
# which only bonus items counted (a section of extras, or one whose other items are all N/A) is itself
# a bonus to its parent, worth its weight times the weighted mean of those items.
_Tally = tuple[float | None, float, list[tuple[float, Any]], bool]


def _metrics(
    plan: _Plan, shown: Mapping[str, bool], valid: Mapping[str, Any], timers: Mapping[int, TimerMetrics]
) -> dict[str, Any]:
    metrics: dict[str, Any] = {}
    explicit_answered: bool | None = None
    for index, it in enumerate(plan.items):
        if it.repeat is not None or it.key not in valid or not shown.get(it.key, False):
            continue
        value = valid[it.key]
        if it.timer is not None:
            timer = timers.get(index)
            if timer is None:  # only when another question shares its key
                timer = derive(value, give_up_s=it.timer.give_up_s, clock_start=it.timer.clock_start)
            for key, figure in (
                ("time_to_answer_s", timer.time_to_answer_s),
                ("time_to_answer_s_censored", timer.censored),
                ("time_to_answer_ring_s", timer.time_to_answer_ring_s),
                ("time_to_answer_ring_s_censored", timer.ring_censored),
                ("time_to_answer_menu_s", timer.time_to_answer_menu_s),
                ("time_to_answer_menu_s_censored", timer.menu_censored),
                ("menu_s", timer.menu_s),
                ("hold_s", timer.hold_s),
                ("transfers", timer.transfers),
                ("answered", timer.answered),
                ("call_s", timer.call_s),
            ):
                metrics.setdefault(key, figure)
            continue
        tag = it.tag
        if tag is None or tag in metrics:
            continue
        if it.is_yes_no:
            metrics[tag] = value
            if tag == "answered" and explicit_answered is None:
                explicit_answered = value
        elif tag == "nps":
            metrics["nps"] = value
            metrics["nps_group"] = "promoter" if value >= 9 else "passive" if value >= 7 else "detractor"
        elif tag == "csat" and it.csat_threshold is not None:
            metrics["csat"] = value
            metrics["csat_satisfied"] = value >= it.csat_threshold
        else:
            number = float(value)
            if it.hours:
                number /= 3600  # durations are seconds; these metrics are hours
            metrics[tag] = number
            if tag in CENSORABLE_METRICS:
                metrics[f"{tag}_censored"] = False
    if explicit_answered is False:
        # Nobody answered: the waiting time is the deadline, censored (docs/scoring.md: censored, never dropped).
        for tag, deadline in plan.censored:
            metrics[tag] = deadline
            metrics[f"{tag}_censored"] = True
    return metrics


def _nobody_answered(plan: _Plan, shown: Mapping[str, bool], answers: Mapping[str, Any], reading: Interpreted) -> bool:
    """Whether the report says nobody answered: its first source of `answered` (as in the metrics, a
    shown, valid timer or yes/no tagged answered, in document order) is a yes/no saying no."""
    for it in plan.items:
        if not shown.get(it.key, False):
            continue
        value = answers.get(it.key)
        if it.timer is not None and value is not None and not is_na_answer(value) and reading.timer(it.key) is not None:
            return False  # a timer says whether it was answered itself
        if it.tag == "answered" and it.is_yes_no and isinstance(value, bool):
            return value is False
    return False


def _judge(it: _Item, value: Any, shown: bool) -> tuple[ItemStatus, float, float, float | None, bool]:
    """(status, earned, possible, fraction or None when excluded, critical failed) of one plain answer
    (no timer: a timer is never inside a repeat)."""
    if not shown:
        return "hidden", 0.0, 0.0, None, False
    if it.unscorable:
        return "unscored", 0.0, 0.0, None, False
    if is_na_answer(value):
        return "na", 0.0, 0.0, None, False
    if value is None or it.shape(value):
        if it.required and it.possible > 0:
            return "unanswered", 0.0, it.possible, 0.0, False
        return "unanswered", 0.0, 0.0, None, False
    critical_failed = it.critical and _critical_failed(it.question, value)
    if it.possible <= 0:
        return "unscored", 0.0, 0.0, None, critical_failed
    earned = min(max(it.earned(value), 0.0), it.possible)
    return ("bonus" if it.bonus else "scored"), earned, it.possible, earned / it.possible, critical_failed


def _over_instances(it: _Item, reading: Interpreted) -> tuple[ItemStatus, float, float, float | None, bool]:
    """A question inside a repeat counts as the mean over the instances in which it counts
    (docs/scoring.md): earned is the mean earned, the fraction the mean fraction; it fails when it
    fails in any instance. No instance counting (none added, all hidden, N/A…) excludes it."""
    assert it.repeat is not None
    if not reading.view.shown.get(it.repeat, False):
        return "hidden", 0.0, 0.0, None, False
    judged = [
        _judge(it, view.answers.get(it.key) if view.shown.get(it.key, False) else None, view.shown.get(it.key, False))
        for view in reading.view.instances.get(it.repeat, [])
    ]
    failed = any(j[4] for j in judged)
    counted = [j for j in judged if j[3] is not None]
    if not counted:
        return (judged[0][0] if judged else "unanswered"), 0.0, 0.0, None, failed
    earned = sum(j[1] for j in counted) / len(counted)
    fraction = sum(j[3] for j in counted if j[3] is not None) / len(counted)
    return counted[0][0], earned, it.possible, fraction, failed


def score(defn: FormDefinition, answers: Mapping[str, Any], reading: Interpreted | None = None) -> ScoreResult:
    """The calculated and final score, failure, per-item explanation and metrics of a report.
    `reading`: the answers as already interpreted (visibility, timers), else interpreted here."""
    reading = reading if reading is not None else interpret(defn, answers)
    shown_keys = reading.view.shown
    plan = _plan(defn)
    items: list[ScoreItem] = []
    # Per question, by its index in plan.items: its fraction, or None when excluded.
    fractions: list[float | None] = []
    valid: dict[str, Any] = {}
    timers: dict[int, TimerMetrics] = {}
    failed = False
    nobody_answered = _nobody_answered(plan, shown_keys, answers, reading)
    fraction: float | None
    status: ItemStatus
    for index, it in enumerate(plan.items):
        if it.repeat is not None:
            status, earned, possible, fraction, critical_failed = _over_instances(it, reading)
            failed = failed or critical_failed
            fractions.append(fraction)
            items.append(
                ScoreItem(
                    key=it.key,
                    section_path=list(it.section_path),
                    earned=earned,
                    possible=possible,
                    effective_weight=it.effective_weight,
                    contribution=0.0,
                    status=status,
                    critical_failed=critical_failed,
                )
            )
            continue
        value = answers.get(it.key)
        if nobody_answered and it.censor_at is not None and not is_na_answer(value):
            value = it.censor_at  # censored at the deadline, whatever was entered (docs/scoring.md)
        fraction = None
        earned = possible = 0.0
        critical_failed = False
        if not shown_keys.get(it.key, False):
            status = "hidden"
        elif it.unscorable:
            status = "unscored"  # notes, text, photos…: nothing to earn, whatever the answer
        elif is_na_answer(value):
            status = "na"
        else:
            timer = None
            if value is None:
                ok = False
            elif it.timer is not None:
                timer = reading.timer(it.key)
                ok = timer is not None
            else:
                ok = not it.shape(value)
            if not ok:
                status = "unanswered"
                if it.required:
                    possible = it.possible
                    fraction = 0.0 if possible > 0 else None
            else:
                valid[it.key] = value
                if timer is not None:
                    timers[index] = timer
                possible = it.possible
                if possible > 0:
                    earned = min(max(it.earned(value if timer is None else timer), 0.0), possible)
                critical_failed = it.critical and _critical_failed(it.question, value)
                failed = failed or critical_failed
                if possible > 0:
                    fraction = earned / possible
                    status = "bonus" if it.bonus else "scored"
                else:
                    status = "unscored"
        fractions.append(fraction)
        items.append(
            ScoreItem(
                key=it.key,
                section_path=list(it.section_path),
                earned=earned,
                possible=possible,
                effective_weight=it.effective_weight,
                contribution=0.0,
                status=status,
                critical_failed=critical_failed,
            )
        )

    def tally(children: tuple[Any, ...]) -> _Tally:
        numerator = denominator = bonus_weight = 0.0
        counted: list[tuple[float, Any]] = []
        for child in children:
            if type(child) is int:
                it = plan.items[child]
                weight, bonus, fraction = it.weight, it.bonus, fractions[child]
                node: Any = child
            else:
                weight, key, grandchildren = child
                node = tally(grandchildren)
                shown = shown_keys.get(key, False) or key in plan.inside_repeats
                fraction, bonus = (node[0], node[3]) if shown else (None, False)
            if fraction is not None:
                numerator += weight * fraction
                if bonus:
                    bonus_weight += weight
                else:
                    denominator += weight
                counted.append((weight, node))
        scale = denominator if denominator > 0 else bonus_weight
        return (numerator / scale if scale > 0 else None), scale, counted, denominator == 0

    root = tally(plan.tree)  # top sections are the root's children
    if root[3]:  # nothing but bonus counted: no score to add it to
        root = (None, 0.0, [], True)

    def share_out(t: _Tally, share: float) -> None:
        fraction, scale, counted, _ = t
        if fraction is None:
            return
        for weight, child in counted:
            child_share = share * weight / scale
            if type(child) is int:
                items[child].contribution = 100 * child_share * fractions[child]  # type: ignore[operator]
            else:
                share_out(child, child_share)

    share_out(root, 1.0)
    calculated = None if root[0] is None else 100 * root[0]
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
        metrics=_metrics(plan, shown_keys, valid, timers),
    )


__all__ = ["score"]

"""Validate a report's answers against its form definition, reporting every problem at once.

Answer shapes (the API contract for reports; ``answers`` maps question key → answer)
-----------------------------------------------------------------------------------
=================  ==============================================================================
yes_no             JSON boolean
single_choice      string: the value of one of its choices
multiple_choice    list of distinct choice values (``[]`` = none of them; it counts as answered)
rating, nps        integer (not a boolean) in [min, max] (nps: 0–10)
integer            integer (not a boolean) within the optional min/max
decimal, duration  number (not a boolean), finite, within the optional min/max; duration in seconds
timestamp          ISO-8601 date-time string WITH a UTC offset, e.g. "2025-03-01T09:30:00+01:00"
timer_sequence     {"events": [{"event": <TimerEvent>, "at": <ISO-8601 with offset>}, ...]},
                   well-formed as backend.forms.timers describes
text               string of at most max_length characters
photo, file        {"attachment": <sha256 as 64 lowercase hex digits>}
gps                {"lat": -90..90, "lon": -180..180, "accuracy_m": ≥ 0 (optional)}
acknowledge        JSON ``true`` (the shopper ticked OK; leave the key out when not)
note               no answer at all (display only)
any, if na_allowed {"na": true}
(choice_filter)    a single or multiple choice with a choice_filter takes only the choices it offers
                   over the answers shown before it (``answer.not_offered``)
repeat section     under the SECTION's key: a list of instances, each {question key: answer} for the
                   repeat's questions (their keys appear nowhere else); as many as its
                   ``repeat_count`` says when it has one (``answer.repeat_count``), else any number
                   up to 500. Each instance is checked like a report of those questions, with the
                   answers outside the repeat visible to its conditions; its problems are keyed
                   ``section[i].question``.
=================  ==============================================================================

A missing key means unanswered; ``null`` is not an answer (leave the key out instead).

Rules: ``required`` applies only to a shown question (show-if true and every enclosing section
shown); N/A satisfies ``required``. "Answered" means what the condition language's ``answered``
says (``backend.forms.conditions.is_answered``), so show-ifs and ``required`` never disagree: a
BLANK string (empty or only white space, as that module defines it) does not answer a required
question of any type (``answer.required``); an optional question keeps its usual shape check
(a text may be blank, a choice or timestamp may not). ``false``, ``0`` and ``[]`` are answers:
``[]`` is the documented "none of them" for a multiple choice, so it satisfies ``required``; a
form that needs at least one choice says so with the constraint ``count(self) >= 1``.

An answer to a HIDDEN question is REJECTED (``answer.hidden``): the phone drops answers when
their question disappears, so one arriving means the client and server disagree about the form,
and silently keeping it would let it reappear in exports. A constraint is evaluated with
``self`` = the answer (not for N/A) over the answers of shown questions, and must be true.
Reasons are ``"<code>: <detail>"`` with a stable code such as ``answer.required``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from api_schemas.forms import (
    FormDefinition,
    Integer,
    MultipleChoice,
    Nps,
    Question,
    Rating,
    SingleChoice,
    Text,
)
from backend.forms.conditions import compile_condition, is_blank_text, is_na_answer
from backend.forms.definition import (
    UNANSWERED_TYPES,
    Visibility,
    outline,
    per_definition,
    question_type,
    visibility,
)
from backend.forms.timers import parse_instant, timer_problems

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


# JSON integers decode to Python ints of any size; answers are compared and scored as doubles (and the
# phone's evaluator has only doubles), so an integer is a number only while a double holds it exactly.
_MAX_EXACT_INT = 2**53


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and -_MAX_EXACT_INT <= x <= _MAX_EXACT_INT


def _is_number(x: Any) -> bool:
    if isinstance(x, bool):
        return False
    return _is_int(x) if isinstance(x, int) else isinstance(x, float) and math.isfinite(x)


def _range_problem(value: float, low: float | None, high: float | None) -> str | None:
    if low is not None and value < low:
        return f"answer.out_of_range: {value} is below the minimum {low}"
    if high is not None and value > high:
        return f"answer.out_of_range: {value} is above the maximum {high}"
    return None


def _always(problems: list[str]) -> Callable[[Any], list[str]]:
    return lambda value: list(problems)


def _accepted(choices: Any) -> str:
    """What the client could have sent instead (a long list is cut: the form itself has them all)."""
    names = [c.value for c in choices]
    shown = ", ".join(names[:20]) + (f", ... ({len(names)} in all)" if len(names) > 20 else "")
    return f"accepted: {shown}"


def shape_checker(question: Question) -> Callable[[Any], list[str]]:
    """``shape_problems`` for one question, with the type dispatch and choice sets done once."""
    kind = question_type(question)
    wrong = f"answer.wrong_type: a {kind} answer must be "
    if kind == "yes_no":
        return lambda value: [] if isinstance(value, bool) else [wrong + "true or false"]
    if isinstance(question, SingleChoice):
        values = frozenset(c.value for c in question.choices)
        accepted = _accepted(question.choices)

        def single(value: Any) -> list[str]:
            if not isinstance(value, str):
                return [wrong + "a choice value (string)"]
            return [] if value in values else [f"answer.unknown_choice: {value!r} is not a choice; {accepted}"]

        return single
    if isinstance(question, MultipleChoice):
        values = frozenset(c.value for c in question.choices)
        accepted = _accepted(question.choices)

        def multiple(value: Any) -> list[str]:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                return [wrong + "a list of choice values"]
            problems = [f"answer.unknown_choice: {v!r} is not a choice; {accepted}" for v in value if v not in values]
            if len(set(value)) != len(value):
                problems.append("answer.duplicate_choice: a choice is selected twice")
            return problems

        return multiple
    if isinstance(question, (Rating, Nps, Integer)):
        low, high = (question.min, question.max) if not isinstance(question, Nps) else (0, 10)

        def integer(value: Any) -> list[str]:
            if not _is_int(value):
                return [wrong + "an integer"]
            problem = _range_problem(value, low, high)
            return [problem] if problem else []

        return integer
    if kind in ("decimal", "duration"):
        low, high = question.min, question.max  # type: ignore[union-attr]

        def number(value: Any) -> list[str]:
            if not _is_number(value):
                return [wrong + "a finite number"]
            problem = _range_problem(value, low, high)
            return [problem] if problem else []

        return number
    if kind == "acknowledge":
        return lambda value: [] if value is True else [wrong + "true (leave it out when not acknowledged)"]
    if kind == "timestamp":
        return lambda value: [] if parse_instant(value) else [wrong + "an ISO-8601 date-time with a UTC offset"]
    if kind == "timer_sequence":
        give_up_s, clock_start = question.give_up_s, question.clock_start  # type: ignore[union-attr]
        return lambda value: [f"answer.bad_timer: {p}" for p in timer_problems(value, give_up_s, clock_start)]
    if isinstance(question, Text):
        max_length = question.max_length

        def text(value: Any) -> list[str]:
            if not isinstance(value, str):
                return [wrong + "a string"]
            return [] if len(value) <= max_length else [f"answer.too_long: more than {max_length} characters"]

        return text
    if kind in ("photo", "file"):

        def attachment(value: Any) -> list[str]:
            ok = (
                isinstance(value, Mapping)
                and set(value) == {"attachment"}
                and isinstance(value["attachment"], str)
                and _SHA256.match(value["attachment"])
            )
            return [] if ok else [wrong + '{"attachment": <sha256 hex>}']

        return attachment
    if kind == "gps":

        def gps(value: Any) -> list[str]:
            if not isinstance(value, Mapping) or not {"lat", "lon"} <= set(value) <= {"lat", "lon", "accuracy_m"}:
                return [wrong + '{"lat": …, "lon": …, "accuracy_m": … (optional)}']
            lat, lon, acc = value["lat"], value["lon"], value.get("accuracy_m", 0)
            if not (_is_number(lat) and -90 <= lat <= 90 and _is_number(lon) and -180 <= lon <= 180):
                return ["answer.out_of_range: lat must lie in −90…90 and lon in −180…180"]
            return [] if _is_number(acc) and acc >= 0 else ["answer.out_of_range: accuracy_m must be ≥ 0"]

        return gps
    if kind == "note":
        return _always(["answer.not_answerable: a note takes no answer"])
    if kind == "calculate":
        return _always(["answer.not_answerable: a calculated value is computed by the form, not answered"])
    return _always([f"answer.wrong_type: unsupported question type {kind}"])


def shape_problems(question: Question, value: Any) -> list[str]:
    """Why `value` is not a valid (non-N/A) answer to `question`; empty when it is."""
    return shape_checker(question)(value)


@dataclass(frozen=True, slots=True)
class _Rules:
    """What check_answers needs of one question, worked out once per definition."""

    key: str
    required: bool
    na_allowed: bool
    is_note: bool
    shape: Callable[[Any], list[str]]
    constraint: Callable[..., bool] | None
    constraint_failed: str  # the reason when the constraint does not hold
    repeat: str | None  # the repeat section it is answered in, per instance
    offered: Callable[[Mapping[str, Any]], frozenset[str]] | None  # a choice_filter's choices, by answers


def offered_choices(question: SingleChoice | MultipleChoice) -> Callable[[Mapping[str, Any]], frozenset[str]] | None:
    """The values a choice_filter offers over the visible answers (None: no filter, all offered)."""
    if question.choice_filter is None:
        return None
    holds = compile_condition(question.choice_filter)
    columns = [(c.value, {**c.xlsform, "name": c.value}) for c in question.choices]

    def offered(answers: Mapping[str, Any]) -> frozenset[str]:
        return frozenset(value for value, row in columns if holds({**answers, "__choice": row}))

    return offered


@per_definition
def _rules(defn: FormDefinition) -> tuple[tuple[_Rules, ...], frozenset[str]]:
    rules = []
    for info in outline(defn).questions:
        q = info.question
        message = q.constraint_message.get(defn.default_language) or next(
            iter(q.constraint_message.values()), "the answer does not meet the constraint"
        )
        rules.append(
            _Rules(
                key=q.key,
                required=q.required,
                na_allowed=q.na_allowed,
                is_note=question_type(q) in UNANSWERED_TYPES,
                shape=shape_checker(q),
                constraint=None if q.constraint is None else compile_condition(q.constraint),
                constraint_failed=f"answer.constraint: {message}",
                repeat=info.repeat,
                offered=offered_choices(q) if isinstance(q, (SingleChoice, MultipleChoice)) else None,
            )
        )
    return tuple(rules), frozenset(r.key for r in rules if r.repeat is None) | frozenset(outline(defn).repeats)


def check_answers(
    defn: FormDefinition, answers: dict[str, Any], view: Visibility | None = None
) -> list[tuple[str, str]]:
    """Every problem as (question key, reason), in document order then unknown keys. `view`: the
    answers' visibility when already decided (backend.forms.interpretation)."""
    view = view if view is not None else visibility(defn, answers)
    rules, known = _rules(defn)
    problems = _check(rules, None, answers, view, "")
    for repeat in outline(defn).repeats:
        problems += _check_repeat(rules, repeat, answers, view)
    problems += [(key, "answer.unknown_question: no question has this key") for key in answers if key not in known]
    return problems


def _check_repeat(
    rules: tuple[_Rules, ...], repeat: str, answers: Mapping[str, Any], view: Visibility
) -> list[tuple[str, str]]:
    """A repeat's answer: a list of instances, each checked like a report of the repeat's questions."""
    if repeat not in answers:
        return []
    given = answers[repeat]
    if not view.shown.get(repeat, False):
        return [(repeat, "answer.hidden: the repeat is not shown, so it takes no answer")]
    if not isinstance(given, list) or not all(isinstance(i, Mapping) for i in given):
        return [(repeat, "answer.wrong_type: a repeat's answer is a list of instances, each {question key: answer}")]
    problems: list[tuple[str, str]] = []
    if repeat in view.counts and len(given) != (view.counts[repeat] or 0):
        problems.append(
            (
                repeat,
                f"answer.repeat_count: the form asks for {view.counts[repeat] or 0} instance(s) "
                f"(its repeat_count), not {len(given)}",
            )
        )
    known = {r.key for r in rules if r.repeat == repeat}
    for index, (instance, instance_view) in enumerate(zip(given, view.instances.get(repeat, []), strict=True)):
        where = f"{repeat}[{index}]."
        problems += _check(rules, repeat, instance, instance_view, where)
        problems += [
            (where + key, "answer.unknown_question: no question of this repeat has this key")
            for key in instance
            if key not in known
        ]
    return problems


def _check(
    rules: tuple[_Rules, ...], repeat: str | None, answers: Mapping[str, Any], view: Visibility, where: str
) -> list[tuple[str, str]]:
    """The problems of the questions answered in `repeat` (None: outside repeats), keys prefixed `where`."""
    problems: list[tuple[str, str]] = []
    shown_keys = view.shown
    for rule in rules:
        if rule.repeat != repeat:
            continue
        key = rule.key
        shown = shown_keys.get(key, False)
        if key not in answers:
            if shown and rule.required:
                problems.append((key, "answer.required: the question is shown and required"))
            continue
        value = answers[key]
        if not shown:
            problems.append((key, "answer.hidden: the question is not shown, so it takes no answer"))
            continue
        if value is None:
            problems.append((key, "answer.null: leave the key out for an unanswered question"))
            continue
        if rule.required and is_blank_text(value):
            problems.append(
                (
                    key,
                    "answer.required: the question is shown and required, and a blank "
                    "answer (empty or only spaces) does not answer it",
                )
            )
            continue
        if is_na_answer(value):
            if rule.is_note:
                problems += [(key, reason) for reason in rule.shape(value)]
            elif not rule.na_allowed or set(value) != {"na"}:
                problems.append(
                    (
                        key,
                        "answer.na_not_allowed: N/A is not allowed here"
                        if not rule.na_allowed
                        else 'answer.wrong_type: N/A is exactly {"na": true}',
                    )
                )
            continue
        shape = rule.shape(value)
        if shape:
            problems += [(key, reason) for reason in shape]
        elif rule.offered is not None and (
            hidden := [v for v in ([value] if isinstance(value, str) else value) if v not in rule.offered(view.answers)]
        ):
            problems += [
                (key, f"answer.not_offered: {v!r} is not offered by the choice filter for the answers given")
                for v in hidden
            ]
        elif rule.constraint is not None and not rule.constraint(view.answers, value):
            problems.append((key, rule.constraint_failed))
    return [(where + key, reason) for key, reason in problems]


__all__ = ["check_answers", "shape_checker", "shape_problems"]

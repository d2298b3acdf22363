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
note               no answer at all (display only)
any, if na_allowed {"na": true}
=================  ==============================================================================

A missing key means unanswered; ``null`` is not an answer (leave the key out instead).

Rules: ``required`` applies only to a shown question (show-if true and every enclosing section
shown); N/A satisfies ``required``. An answer to a HIDDEN question is REJECTED
(``answer.hidden``): the phone drops answers when their question disappears, so one arriving
means the client and server disagree about the form, and silently keeping it would let it
reappear in exports. A constraint is evaluated with ``self`` = the answer (not for N/A) over the
answers of shown questions, and must be true. Reasons are ``"<code>: <detail>"`` with a
stable code such as ``answer.required``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from api_schemas.forms import (
    FormDefinition, Integer, MultipleChoice, Nps, Question, Rating, SingleChoice, Text,
)
from backend.forms.conditions import is_na_answer, is_true
from backend.forms.definition import iter_questions, question_type, visibility
from backend.forms.timers import parse_instant, timer_problems

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _range_problem(value: float, low: float | None, high: float | None) -> str | None:
    if low is not None and value < low:
        return f"answer.out_of_range: {value} is below the minimum {low}"
    if high is not None and value > high:
        return f"answer.out_of_range: {value} is above the maximum {high}"
    return None


def shape_problems(question: Question, value: Any) -> list[str]:
    """Why `value` is not a valid (non-N/A) answer to `question`; empty when it is."""
    kind = question_type(question)
    wrong = f"answer.wrong_type: a {kind} answer must be "
    if kind == "yes_no":
        return [] if isinstance(value, bool) else [wrong + "true or false"]
    if isinstance(question, SingleChoice):
        if not isinstance(value, str):
            return [wrong + "a choice value (string)"]
        values = {c.value for c in question.choices}
        return [] if value in values else [f"answer.unknown_choice: {value!r} is not a choice"]
    if isinstance(question, MultipleChoice):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return [wrong + "a list of choice values"]
        values = {c.value for c in question.choices}
        problems = [f"answer.unknown_choice: {v!r} is not a choice" for v in value if v not in values]
        if len(set(value)) != len(value):
            problems.append("answer.duplicate_choice: a choice is selected twice")
        return problems
    if isinstance(question, (Rating, Nps, Integer)):
        if not _is_int(value):
            return [wrong + "an integer"]
        low, high = (question.min, question.max) if not isinstance(question, Nps) else (0, 10)
        problem = _range_problem(value, low, high)
        return [problem] if problem else []
    if kind in ("decimal", "duration"):
        if not _is_number(value):
            return [wrong + "a finite number"]
        problem = _range_problem(value, question.min, question.max)  # type: ignore[union-attr]
        return [problem] if problem else []
    if kind == "timestamp":
        return [] if parse_instant(value) else [wrong + "an ISO-8601 date-time with a UTC offset"]
    if kind == "timer_sequence":
        return [f"answer.bad_timer: {p}" for p in timer_problems(value)]
    if isinstance(question, Text):
        if not isinstance(value, str):
            return [wrong + "a string"]
        return [] if len(value) <= question.max_length else [
            f"answer.too_long: more than {question.max_length} characters"]
    if kind in ("photo", "file"):
        ok = isinstance(value, Mapping) and set(value) == {"attachment"} and isinstance(
            value["attachment"], str) and _SHA256.match(value["attachment"])
        return [] if ok else [wrong + '{"attachment": <sha256 hex>}']
    if kind == "gps":
        if not isinstance(value, Mapping) or not {"lat", "lon"} <= set(value) <= {"lat", "lon", "accuracy_m"}:
            return [wrong + '{"lat": …, "lon": …, "accuracy_m": … (optional)}']
        lat, lon, acc = value["lat"], value["lon"], value.get("accuracy_m", 0)
        if not (_is_number(lat) and -90 <= lat <= 90 and _is_number(lon) and -180 <= lon <= 180):
            return ["answer.out_of_range: lat must lie in −90…90 and lon in −180…180"]
        return [] if _is_number(acc) and acc >= 0 else ["answer.out_of_range: accuracy_m must be ≥ 0"]
    if kind == "note":
        return ["answer.not_answerable: a note takes no answer"]
    return [f"answer.wrong_type: unsupported question type {kind}"]


def check_answers(defn: FormDefinition, answers: dict[str, Any]) -> list[tuple[str, str]]:
    """Every problem as (question key, reason), in document order then unknown keys."""
    problems: list[tuple[str, str]] = []
    view = visibility(defn, answers)
    known: set[str] = set()
    for info in iter_questions(defn):
        q = info.question
        known.add(q.key)
        shown = view.shown.get(q.key, False)
        present = q.key in answers
        if not present:
            if shown and q.required:
                problems.append((q.key, "answer.required: the question is shown and required"))
            continue
        value = answers[q.key]
        if not shown:
            problems.append((q.key, "answer.hidden: the question is not shown, so it takes no answer"))
            continue
        if value is None:
            problems.append((q.key, "answer.null: leave the key out for an unanswered question"))
            continue
        if is_na_answer(value):
            if question_type(q) == "note":
                problems.append((q.key, "answer.not_answerable: a note takes no answer"))
            elif not q.na_allowed or set(value) != {"na"}:
                problems.append((q.key, "answer.na_not_allowed: N/A is not allowed here"
                                 if not q.na_allowed else 'answer.wrong_type: N/A is exactly {"na": true}'))
            continue
        shape = shape_problems(q, value)
        problems += [(q.key, reason) for reason in shape]
        if not shape and q.constraint is not None and not is_true(q.constraint, view.answers, self_value=value):
            message = q.constraint_message.get(defn.default_language) or next(
                iter(q.constraint_message.values()), "the answer does not meet the constraint")
            problems.append((q.key, f"answer.constraint: {message}"))
    problems += [(key, "answer.unknown_question: no question has this key")
                 for key in answers if key not in known]
    return problems


__all__ = ["check_answers", "shape_problems"]

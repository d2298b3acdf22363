"""Evidence flags for the review queue (pure): signs that a report deserves a closer look, each with a reason."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from api_schemas.forms import File, FormDefinition, Gps, Note, Photo, Text, TimerSequence, Timestamp
from api_schemas.reports import Flag
from backend.forms.conditions import is_na_answer
from backend.forms.definition import outline, per_definition
from backend.forms.interpretation import Interpreted, interpret
from backend.forms.timers import parse_instant
from backend.geo import distance_m

# Below these, a visit or a conversation is too short to have been observed properly.
MIN_VISIT_S = 180
MIN_CALL_AFTER_ANSWER_S = 15
MIN_TIME_TO_ANSWER_S = 1.0
MIN_COMPARABLE_ANSWERS = 4
_NOT_COMPARED = (Text, Timestamp, TimerSequence, Gps, Photo, File, Note)


@dataclass(frozen=True, slots=True)
class Context:
    channel: str
    window_start: dt.datetime
    window_end: dt.datetime
    started_at: dt.datetime
    ended_at: dt.datetime
    location_lat: float | None
    location_lon: float | None
    gps_limit_m: float


@dataclass(frozen=True, slots=True)
class _Plan:
    comparable: tuple[str, ...]  # keys of compared questions, in document order
    checked: tuple[Gps | Timestamp | TimerSequence, ...]  # the questions evidence_flags looks at


@per_definition
def _plan(definition: FormDefinition) -> _Plan:
    questions = [info.question for info in outline(definition).questions]
    return _Plan(
        comparable=tuple(q.key for q in questions if not isinstance(q, _NOT_COMPARED)),
        checked=tuple(q for q in questions if isinstance(q, (Gps, Timestamp, TimerSequence))),
    )


def comparable_answers(definition: FormDefinition, answers: Mapping[str, Any]) -> dict[str, Any]:
    """The answers that a copied report would repeat: choices, ratings, yes/no and numbers."""
    return {key: answers[key] for key in _plan(definition).comparable if key in answers}


def evidence_flags(
    definition: FormDefinition,
    answers: Mapping[str, Any],
    ctx: Context,
    *,
    identical_to_location: str | None = None,
    reading: Interpreted | None = None,
) -> list[Flag]:
    """Flags for one report. `identical_to_location` names another location whose report by the same
    shopper had the same answers. photo.reused is added by `with_reused`, under the write lock.
    `reading`: the answers as already interpreted (the calls' timer metrics), else interpreted here."""
    reading = reading if reading is not None else interpret(definition, answers)
    flags: list[Flag] = []
    duration = (ctx.ended_at - ctx.started_at).total_seconds()
    if ctx.channel == "visit" and duration < MIN_VISIT_S:
        flags.append(Flag(code="visit.too_short", reason=f"the visit lasted {duration:.0f} s (under {MIN_VISIT_S} s)"))
    for q in _plan(definition).checked:  # no other question type raises a flag
        value = answers.get(q.key)
        if value is None or is_na_answer(value):
            continue
        lat, lon = ctx.location_lat, ctx.location_lon
        if isinstance(q, Gps) and isinstance(value, dict) and lat is not None and lon is not None:
            far = distance_m(value["lat"], value["lon"], lat, lon)
            if far > ctx.gps_limit_m:
                flags.append(
                    Flag(
                        code="gps.far",
                        reason=f"{q.key}: check-in {far:,.0f} m from the location (limit {ctx.gps_limit_m:,.0f} m)",
                    )
                )
        elif isinstance(q, Timestamp):
            at = parse_instant(value)
            if at is not None and not (ctx.window_start <= at <= ctx.window_end):
                flags.append(
                    Flag(code="time.outside_window", reason=f"{q.key}: {at.isoformat()} is outside the task window")
                )
        elif isinstance(q, TimerSequence):
            events = [parse_instant(e.get("at")) for e in value.get("events", []) if isinstance(e, dict)]
            if any(at is not None and not (ctx.window_start <= at <= ctx.window_end) for at in events):
                flags.append(
                    Flag(code="time.outside_window", reason=f"{q.key}: call taps fall outside the task window")
                )
            metrics = reading.timer(q.key)
            if metrics is None:  # malformed: validation refuses it before evidence is looked for
                continue
            if metrics.answered and metrics.time_to_answer_ring_s < MIN_TIME_TO_ANSWER_S:
                flags.append(
                    Flag(
                        code="timing.implausible",
                        reason=f"{q.key}: answered {metrics.time_to_answer_ring_s:.1f} s after dialling",
                    )
                )
            # From the answer itself: time_to_answer_ring_s is censored at give_up_s, so a call timed from
            # the menu (answered in time from there, later than give_up_s from dialling) looked longer.
            talk = metrics.talk_s
            if metrics.answered and talk is not None and talk < MIN_CALL_AFTER_ANSWER_S:
                flags.append(Flag(code="call.too_short", reason=f"{q.key}: the conversation lasted {talk:.0f} s"))
    if identical_to_location:
        flags.append(
            Flag(
                code="answers.identical",
                reason=f"the same answers as this shopper's previous report for location {identical_to_location}",
            )
        )
    return flags


def reused_flags(hashes: Iterable[str]) -> list[Flag]:
    return [
        Flag(code="photo.reused", reason=f"attachment {sha[:12]}… is also in another report")
        for sha in sorted(set(hashes))
    ]


def with_reused(flags: Iterable[Flag], hashes: Iterable[str]) -> list[Flag]:
    """`flags` with photo.reused for exactly `hashes`, where evidence_flags puts them (before answers.identical).
    Reuse is decided under the write lock: two reports with one photo may be sent at once (a phone
    emptying its outbox), and each must see the other."""
    kept = [f for f in flags if f.code != "photo.reused"]
    at = next((i for i, f in enumerate(kept) if f.code == "answers.identical"), len(kept))
    return kept[:at] + reused_flags(hashes) + kept[at:]

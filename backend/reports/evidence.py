"""Evidence flags for the review queue (pure): signs that a report deserves a closer look, each with a reason."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from api_schemas.forms import FormDefinition, Gps, Photo, File, Text, TimerSequence, Timestamp, Note
from backend.forms.conditions import is_na_answer
from backend.forms.definition import outline, per_definition
from backend.forms.timers import derive, parse_instant

# Below these, a visit or a conversation is too short to have been observed properly.
MIN_VISIT_S = 180
MIN_CALL_AFTER_ANSWER_S = 15
MIN_TIME_TO_ANSWER_S = 1.0
MIN_COMPARABLE_ANSWERS = 4
_NOT_COMPARED = (Text, Timestamp, TimerSequence, Gps, Photo, File, Note)


@dataclass(frozen=True, slots=True)
class Flag:
    code: str
    reason: str


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


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine) in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(min(1.0, math.sqrt(a)))


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


def attachment_hashes(answers: Mapping[str, Any]) -> set[str]:
    return {a["attachment"] for a in answers.values() if isinstance(a, dict) and isinstance(a.get("attachment"), str)}


def evidence_flags(
    definition: FormDefinition,
    answers: Mapping[str, Any],
    ctx: Context,
    *,
    identical_to_location: str | None = None,
) -> list[Flag]:
    """Flags for one report. `identical_to_location` names another location whose report by the same
    shopper had the same answers. photo.reused is added by `with_reused`, under the write lock."""
    flags: list[Flag] = []
    duration = (ctx.ended_at - ctx.started_at).total_seconds()
    if ctx.channel == "visit" and duration < MIN_VISIT_S:
        flags.append(Flag("visit.too_short", f"the visit lasted {duration:.0f} s (under {MIN_VISIT_S} s)"))
    for q in _plan(definition).checked:  # no other question type raises a flag
        value = answers.get(q.key)
        if value is None or is_na_answer(value):
            continue
        if isinstance(q, Gps) and isinstance(value, dict) and None not in (ctx.location_lat, ctx.location_lon):
            far = distance_m(value["lat"], value["lon"], ctx.location_lat, ctx.location_lon)
            if far > ctx.gps_limit_m:
                flags.append(Flag("gps.far", f"{q.key}: check-in {far:,.0f} m from the location "
                                             f"(limit {ctx.gps_limit_m:,.0f} m)"))
        elif isinstance(q, Timestamp):
            at = parse_instant(value)
            if at is not None and not (ctx.window_start <= at <= ctx.window_end):
                flags.append(Flag("time.outside_window", f"{q.key}: {at.isoformat()} is outside the task window"))
        elif isinstance(q, TimerSequence):
            events = [parse_instant(e.get("at")) for e in value.get("events", []) if isinstance(e, dict)]
            if any(at is not None and not (ctx.window_start <= at <= ctx.window_end) for at in events):
                flags.append(Flag("time.outside_window", f"{q.key}: call taps fall outside the task window"))
            metrics = derive(value, give_up_s=q.give_up_s, clock_start=q.clock_start)
            if metrics.answered and metrics.time_to_answer_ring_s < MIN_TIME_TO_ANSWER_S:
                flags.append(Flag("timing.implausible",
                                  f"{q.key}: answered {metrics.time_to_answer_ring_s:.1f} s after dialling"))
            # From the answer itself: time_to_answer_ring_s is censored at give_up_s, so a call timed from
            # the menu (answered in time from there, later than give_up_s from dialling) looked longer.
            talk = metrics.talk_s
            if metrics.answered and talk is not None and talk < MIN_CALL_AFTER_ANSWER_S:
                flags.append(Flag("call.too_short", f"{q.key}: the conversation lasted {talk:.0f} s"))
    if identical_to_location:
        flags.append(Flag("answers.identical",
                          f"the same answers as this shopper's previous report for location {identical_to_location}"))
    return flags


def reused_flags(hashes: Iterable[str]) -> list[Flag]:
    return [Flag("photo.reused", f"attachment {sha[:12]}… is also in another report") for sha in sorted(set(hashes))]


def with_reused(flags: Iterable[Flag], hashes: Iterable[str]) -> list[Flag]:
    """`flags` with photo.reused for exactly `hashes`, where evidence_flags puts them (before answers.identical).
    Reuse is decided under the write lock: two reports with one photo may be sent at once (a phone
    emptying its outbox), and each must see the other."""
    kept = [f for f in flags if f.code != "photo.reused"]
    at = next((i for i, f in enumerate(kept) if f.code == "answers.identical"), len(kept))
    return kept[:at] + reused_flags(hashes) + kept[at:]

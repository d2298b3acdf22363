"""Check a test call's timer taps and derive its metrics (time to answer, menu, hold, transfers).

A timer answer is ``{"events": [{"event": <TimerEvent>, "at": <ISO-8601 with offset>}, ...]}``.
Well-formed means: at least two events; the first is ``dialled`` and it appears once; times never
go back; ``menu_left`` at most once and before ``answered``; ``answered`` at most once;
``hold_on``/``hold_off``/``transferred`` only after ``answered``; holds alternate on, off, on…
(starting with on); exactly one terminal event, ``ended`` or ``gave_up``, and it is the last;
``gave_up`` only when nobody answered. A hold still on at ``ended`` lasts until ``ended``.

Censoring (docs/scoring.md): a call nobody answered, or answered only after ``give_up_s``, is
censored at ``give_up_s``: its time to answer is ``give_up_s`` with ``censored=True`` — never 0
and never dropped, so survival statistics (Kaplan–Meier) can use it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from api_schemas.forms import TimerEvent

_EVENTS = frozenset(e.value for e in TimerEvent)
_ACCEPTED_EVENTS = ", ".join(e.value for e in TimerEvent)
_AFTER_ANSWER = frozenset({"hold_on", "hold_off", "transferred"})
_TERMINAL = frozenset({"ended", "gave_up"})


@dataclass(frozen=True, slots=True)
class TimerMetrics:
    """What a call's taps say. Times in seconds; `time_to_answer_s` is the primary figure."""

    answered: bool  # a person answered within give_up_s
    censored: bool  # not answered within give_up_s: time_to_answer_s == give_up_s
    time_to_answer_s: float  # from ring or from menu_left, as `clock_start` says
    time_to_answer_ring_s: float  # from dialling, censored at give_up_s
    time_to_answer_menu_s: float | None  # from leaving the menu (None: no menu), censored likewise
    menu_s: float | None  # dialled → menu_left; None when there was no menu
    hold_s: float
    transfers: int
    call_s: float  # dialled → last event
    talk_s: float | None  # answered → last event, not censored (None: never answered)
    # Whether each secondary figure was cut at give_up_s (nobody answered within it by that clock): on
    # the menu clock, a call answered 250 s after a 100 s menu is answered, but its ring figure is 300, censored.
    ring_censored: bool = False
    menu_censored: bool | None = None  # None: no menu


def parse_instant(text: Any) -> dt.datetime | None:
    """An ISO-8601 date-time WITH a UTC offset, or None (a naive time is ambiguous across zones)."""
    if not isinstance(text, str) or "T" not in text.upper():
        return None
    try:
        moment = dt.datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        return None
    return moment if moment.utcoffset() is not None else None


def _parse(value: Any) -> tuple[list[tuple[str, dt.datetime]], list[str]]:
    problems: list[str] = []
    if not isinstance(value, Mapping) or set(value) != {"events"} or not isinstance(value["events"], list):
        return [], ['expected {"events": [{"event": ..., "at": ...}, ...]}']
    events: list[tuple[str, dt.datetime]] = []
    for i, item in enumerate(value["events"]):
        if not (type(item) is dict or isinstance(item, Mapping)) or set(item) != {"event", "at"}:
            problems.append(f'events[{i}]: expected {{"event": ..., "at": ...}}')
            continue
        name, at = item["event"], parse_instant(item["at"])
        known = isinstance(name, str) and name in _EVENTS
        if not known:
            problems.append(f"events[{i}]: unknown event {name!r}; accepted: {_ACCEPTED_EVENTS}")
        if at is None:
            problems.append(f"events[{i}]: 'at' must be an ISO-8601 date-time with a UTC offset")
        if known and at is not None:
            events.append((name, at))
    return events, problems


# A tap is a person's thumb: gave_up may come this much before the give-up time.
GAVE_UP_SLACK_S = 1.0


def _check(
    value: Any, give_up_s: float | None = None, clock_start: str = "ring"
) -> tuple[list[tuple[str, dt.datetime]], list[str]]:
    """The parsed events and every reason the timer answer is not well-formed. With `give_up_s`,
    gave_up must also come no earlier than the give-up time after the clock's start (otherwise the
    call would be recorded as censored at a wait that never happened)."""
    events, problems = _parse(value)
    if problems:
        return events, problems
    if len(events) < 2:
        return events, ["a call needs at least dialled and ended/gave_up"]
    if events[0][0] != "dialled":
        problems.append("events[0]: the first event must be dialled")
    answered = menu_left = terminal = False
    hold_on = False
    for i, (name, at) in enumerate(events):
        if i and at < events[i - 1][1]:
            problems.append(f"events[{i}]: time goes back")
        if terminal:
            problems.append(f"events[{i}]: {name} after the call ended")
        if name == "dialled" and i:
            problems.append(f"events[{i}]: dialled twice")
        elif name == "menu_left":
            if menu_left or answered:
                problems.append(f"events[{i}]: menu_left must come once, before answered")
            menu_left = True
        elif name == "answered":
            if answered:
                problems.append(f"events[{i}]: answered twice")
            answered = True
        elif name in _AFTER_ANSWER and not answered:
            problems.append(f"events[{i}]: {name} before anyone answered")
        elif name == "hold_on":
            if hold_on:
                problems.append(f"events[{i}]: hold_on while already on hold")
            hold_on = True
        elif name == "hold_off":
            if not hold_on:
                problems.append(f"events[{i}]: hold_off without hold_on")
            hold_on = False
        elif name == "gave_up" and answered:
            problems.append(f"events[{i}]: gave_up after a person answered (use ended)")
        elif name == "gave_up" and give_up_s is not None:
            origin = next((m for n, m in events if n == "menu_left"), None) if clock_start == "menu_left" else None
            waited = (at - (origin or events[0][1])).total_seconds()
            if waited < give_up_s - GAVE_UP_SLACK_S:
                problems.append(
                    f"events[{i}]: gave_up after {waited:g} s, before the give-up time "
                    f"({give_up_s:g} s); a call that ended sooner is ended, not gave_up"
                )
        if name in _TERMINAL:
            terminal = True
    if not terminal:
        problems.append("the call must finish with ended or gave_up")
    return events, problems


def timer_problems(
    value: Any, give_up_s: float | None = None, clock_start: Literal["ring", "menu_left"] = "ring"
) -> list[str]:
    """Every reason the timer answer is not well-formed (empty when it is)."""
    return _check(value, give_up_s, clock_start)[1]


def derive(value: Any, *, give_up_s: float, clock_start: Literal["ring", "menu_left"] = "ring") -> TimerMetrics:
    """The metrics of a well-formed timer answer; raises ValueError listing its problems otherwise.

    With ``clock_start="menu_left"`` but no menu on the call, the clock starts at the ring.
    """
    events, problems = _check(value)
    if problems:
        raise ValueError("; ".join(problems))
    return _derive(events, give_up_s, clock_start)


def try_derive(
    value: Any, *, give_up_s: float, clock_start: Literal["ring", "menu_left"] = "ring"
) -> TimerMetrics | None:
    """``derive``, or None when the answer is not well-formed (one parse instead of two)."""
    events, problems = _check(value)
    return None if problems else _derive(events, give_up_s, clock_start)


def _derive(events: list[tuple[str, dt.datetime]], give_up_s: float, clock_start: str) -> TimerMetrics:
    start = events[0][1]

    def since(moment: dt.datetime, origin: dt.datetime = start) -> float:
        return (moment - origin).total_seconds()

    at: dict[str, dt.datetime] = {}
    for name, moment in events:
        at.setdefault(name, moment)
    hold_s = 0.0
    hold_started: dt.datetime | None = None
    for name, moment in events:
        if name == "hold_on":
            hold_started = moment
        elif hold_started is not None and name in ("hold_off", "ended"):
            hold_s += since(moment, hold_started)
            hold_started = None
    if hold_started is not None:  # unreachable for a well-formed call; kept for safety
        hold_s += since(events[-1][1], hold_started)

    menu_s = since(at["menu_left"]) if "menu_left" in at else None
    ring = since(at["answered"]) if "answered" in at else None
    from_menu = since(at["answered"], at["menu_left"]) if "answered" in at and "menu_left" in at else None
    primary = from_menu if clock_start == "menu_left" and "menu_left" in at else ring
    censored = primary is None or primary > give_up_s

    def censor(seconds: float | None) -> float:
        return float(give_up_s) if seconds is None or seconds > give_up_s else seconds

    return TimerMetrics(
        answered=not censored,
        censored=censored,
        time_to_answer_s=censor(primary),
        time_to_answer_ring_s=censor(ring),
        time_to_answer_menu_s=None if "menu_left" not in at else censor(from_menu),
        menu_s=menu_s,
        hold_s=hold_s,
        transfers=sum(1 for name, _ in events if name == "transferred"),
        call_s=since(events[-1][1]),
        talk_s=since(events[-1][1], at["answered"]) if "answered" in at else None,
        ring_censored=ring is None or ring > give_up_s,
        menu_censored=None if "menu_left" not in at else from_menu is None or from_menu > give_up_s,
    )


__all__ = ["TimerMetrics", "derive", "parse_instant", "timer_problems", "try_derive"]

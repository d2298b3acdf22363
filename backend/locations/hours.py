"""Opening hours: the weekly rules (overnight, 24-hour, closed days), their checks, and when a location is open.

Pure: no database, no HTTP. The rules (docs/planning.md, "Opening hours"):

- An interval opens on `day` at `opens` and closes at `closes` on the same day, or on the next day
  when `closes` is earlier than `opens`: `fri 22:00–02:00` is Friday 22:00 to Saturday 02:00.
  `closes` 24:00 is the midnight that ends the day, so `00:00–24:00` is open all day and all seven
  days `00:00–24:00` is a 24-hour location (adjacent intervals join up).
- A weekday on which no interval opens is closed that day; only an overnight interval from the day
  before reaches into its first hours.
- No hours at all means they are not known: nothing is planned around them (`unknown`).
- Times are wall-clock times in the location's own zone. On a daylight-saving day a time that does
  not exist (inside the spring-forward gap) is the first instant after the gap; a time that occurs
  twice (the autumn overlap) is its first occurrence.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

__all__ = [
    "DAY",
    "WEEK",
    "WEEKDAYS",
    "Interval",
    "Span",
    "classify",
    "from_stored",
    "closed_spans",
    "clock_minutes",
    "hours_problems",
    "intervals",
    "is_open_at",
    "longest",
    "open_spans",
    "wall_to_utc",
    "weekly_spans",
]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY = 24 * 60
WEEK = 7 * DAY

Span = tuple[dt.datetime, dt.datetime]


@dataclass(frozen=True, slots=True)
class Interval:
    """Opens on weekday `day` (0 = Monday) at minute `opens` (0–1439); closes at minute `closes`
    (1–1440) of the same day, or of the next day when `closes` <= `opens` would be earlier."""

    day: int
    opens: int
    closes: int

    @property
    def overnight(self) -> bool:
        return self.closes < self.opens

    @property
    def minutes(self) -> int:
        return self.closes - self.opens + (DAY if self.overnight else 0)


def clock_minutes(text: str) -> int:
    """ "HH:MM" (00:00–24:00) as minutes after midnight; ValueError otherwise."""
    hours, _, minutes = text.partition(":")
    if len(hours) != 2 or len(minutes) != 2 or not (hours + minutes).isdigit():
        raise ValueError(f"{text!r} is not a time like 09:30")
    value = int(hours) * 60 + int(minutes)
    if int(minutes) > 59 or value > DAY:
        raise ValueError(f"{text!r} is not a time from 00:00 to 24:00")
    return value


def hours_problems(rows: Sequence[tuple[str, str, str]], field: str = "opening_hours") -> list[tuple[str, str]]:
    """Every reason the weekly hours (day, opens, closes) are unsound, as (field path, reason); empty when sound."""
    problems: list[tuple[str, str]] = []
    sound: list[tuple[int, Interval]] = []
    for i, (day, opens, closes) in enumerate(rows):
        path = f"{field}[{i}]"
        ok = True
        if day not in WEEKDAYS:
            problems.append((f"{path}.day", f"must be one of {', '.join(WEEKDAYS)}"))
            ok = False
        try:
            start = clock_minutes(opens)
            if start == DAY:
                problems.append((f"{path}.opens", "must be 00:00 to 23:59 (24:00 is the next day's 00:00)"))
                ok = False
        except ValueError as exc:
            problems.append((f"{path}.opens", str(exc)))
            ok = False
        try:
            end = clock_minutes(closes)
        except ValueError as exc:
            problems.append((f"{path}.closes", str(exc)))
            ok = False
        if not ok:
            continue
        if end == start:
            problems.append(
                (
                    f"{path}.closes",
                    "must differ from opens: an interval closing earlier than it opens ends the next day "
                    "(22:00–02:00), and a whole day is 00:00–24:00",
                )
            )
            continue
        sound.append((i, Interval(WEEKDAYS.index(day), start, end)))
    # Overlaps on the week's circle: Sunday night's overnight interval reaches into Monday.
    pieces: list[tuple[int, int, int]] = []
    for i, interval in sound:
        start = interval.day * DAY + interval.opens
        end = start + interval.minutes
        if end > WEEK:
            pieces += [(start, WEEK, i), (0, end - WEEK, i)]
        else:
            pieces.append((start, end, i))
    pieces.sort()
    reported: set[int] = set()
    for a in range(len(pieces)):
        for b in range(a + 1, len(pieces)):
            (_, e1, i), (s2, _, j) = pieces[a], pieces[b]
            if s2 >= e1:
                break
            if i != j and max(i, j) not in reported:
                later, earlier = max(i, j), min(i, j)
                reported.add(later)
                problems.append((f"{field}[{later}]", f"overlaps {field}[{earlier}]"))
    return problems


def intervals(rows: Sequence[tuple[str, str, str]]) -> tuple[Interval, ...]:
    """Sound rows (see `hours_problems`) as intervals; ValueError naming the first problem otherwise."""
    problems = hours_problems(rows)
    if problems:
        raise ValueError("; ".join(f"{path}: {reason}" for path, reason in problems))
    return tuple(Interval(WEEKDAYS.index(d), clock_minutes(o), clock_minutes(c)) for d, o, c in rows)


def from_stored(stored: object) -> tuple[Interval, ...]:
    """A location's stored opening hours (JSON text or rows of day/opens/closes, checked when written) as
    intervals; rows stored before today's checks that break them count as unknown hours (none)."""
    if isinstance(stored, str | bytes):
        stored = json.loads(stored)
    try:
        return intervals([(r["day"], r["opens"], r["closes"]) for r in stored or ()])  # type: ignore[attr-defined]
    except (ValueError, KeyError, TypeError):
        return ()


def weekly_spans(hours: Sequence[Interval]) -> list[tuple[int, int]]:
    """Open minutes of the week as sorted, joined [start, end) spans within 0..WEEK (Sunday night wraps)."""
    pieces: list[tuple[int, int]] = []
    for interval in hours:
        start = interval.day * DAY + interval.opens
        end = start + interval.minutes
        pieces += [(start, WEEK), (0, end - WEEK)] if end > WEEK else [(start, end)]
    joined: list[tuple[int, int]] = []
    for start, end in sorted(pieces):
        if joined and start <= joined[-1][1]:
            joined[-1] = (joined[-1][0], max(joined[-1][1], end))
        else:
            joined.append((start, end))
    return joined


def wall_to_utc(day: dt.date, minute: int, zone: ZoneInfo) -> dt.datetime:
    """The UTC instant of local wall time `minute` minutes after midnight starting `day` (1440 is the next
    midnight). A wall time in a spring-forward gap is the first instant after the gap (the transition);
    one that occurs twice in an autumn overlap is its first occurrence (fold=0)."""
    day, minute = day + dt.timedelta(days=minute // DAY), minute % DAY
    wall = dt.datetime.combine(day, dt.time(minute // 60, minute % 60))
    utc = wall.replace(tzinfo=zone, fold=0).astimezone(dt.UTC)
    if utc.astimezone(zone).replace(tzinfo=None) == wall:
        return utc
    # In a gap, fold=0 reads the wall time with the offset before the transition (landing after the
    # gap) and fold=1 with the offset after it (landing before); the transition is the first instant
    # between them that has the later offset.
    later_offset = utc.astimezone(zone).utcoffset()
    low = int(wall.replace(tzinfo=zone, fold=1).timestamp())
    high = int(utc.timestamp())
    while low < high:
        middle = (low + high) // 2
        if dt.datetime.fromtimestamp(middle, zone).utcoffset() == later_offset:
            high = middle
        else:
            low = middle + 1
    return dt.datetime.fromtimestamp(high, dt.UTC)


def open_spans(hours: Sequence[Interval], zone: ZoneInfo, start: dt.datetime, end: dt.datetime) -> list[Span]:
    """The UTC spans within [start, end) when the location is open: sorted, disjoint, non-empty, joined
    where one interval ends as the next begins (a 24-hour location is one span)."""
    if end <= start or not hours:
        return []
    first = start.astimezone(zone).date() - dt.timedelta(days=2)
    last = end.astimezone(zone).date() + dt.timedelta(days=1)
    pieces: list[Span] = []
    day = first
    while day <= last:
        for interval in hours:
            if interval.day != day.weekday():
                continue
            opens = wall_to_utc(day, interval.opens, zone)
            closes = wall_to_utc(day, interval.opens + interval.minutes, zone)
            lo, hi = max(opens, start), min(closes, end)
            if lo < hi:
                pieces.append((lo, hi))
        day += dt.timedelta(days=1)
    joined: list[Span] = []
    for lo, hi in sorted(pieces):
        if joined and lo <= joined[-1][1]:
            joined[-1] = (joined[-1][0], max(joined[-1][1], hi))
        else:
            joined.append((lo, hi))
    return joined


def closed_spans(hours: Sequence[Interval], zone: ZoneInfo, start: dt.datetime, end: dt.datetime) -> list[Span]:
    """The UTC spans within [start, end) when the location is closed: the complement of `open_spans`."""
    gaps: list[Span] = []
    cursor = start
    for lo, hi in open_spans(hours, zone, start, end):
        if cursor < lo:
            gaps.append((cursor, lo))
        cursor = hi
    if cursor < end:
        gaps.append((cursor, end))
    return gaps


def is_open_at(hours: Sequence[Interval], zone: ZoneInfo, at: dt.datetime) -> bool:
    return bool(open_spans(hours, zone, at, at + dt.timedelta(seconds=1)))


def classify(hours: Sequence[Interval], zone: ZoneInfo, start: dt.datetime, end: dt.datetime) -> str:
    """A window against the hours: `open` throughout, `closed` throughout (out of hours), `partly_open`,
    or `unknown` when the location has no hours."""
    if not hours:
        return "unknown"
    spans = open_spans(hours, zone, start, end)
    if not spans:
        return "closed"
    if spans == [(start, end)]:
        return "open"
    return "partly_open"


def longest(spans: Sequence[Span]) -> Span | None:
    """The longest span (the earliest of equals), or None."""
    return max(spans, key=lambda s: (s[1] - s[0], -s[0].timestamp()), default=None)

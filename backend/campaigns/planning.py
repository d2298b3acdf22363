"""Slot planning: which local date and hour window each probe of a wave takes, per location time zone."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import Enum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from backend.locations import hours

__all__ = [
    "DayType",
    "Daypart",
    "PlanLocation",
    "PlanProblem",
    "PlannedProbe",
    "SlotDesign",
    "day_type_of",
    "design_problems",
    "local_to_utc",
    "plan_wave",
    "slot_keys",
]


class DayType(str, Enum):
    weekday = "weekday"
    saturday = "saturday"
    sunday = "sunday"


@dataclass(frozen=True, slots=True)
class Daypart:
    """Local hours `start_hour`..`end_hour`; `end_hour <= start_hour` wraps past midnight (21→8).

    `location_is`: `open` / `closed` keeps a probe to the longest stretch of the daypart in which the
    location is open / closed that day (a location without hours is planned over the whole daypart);
    `any` ignores the hours."""

    key: str
    start_hour: int
    end_hour: int
    location_is: str = "any"


@dataclass(frozen=True, slots=True)
class SlotDesign:
    """Dayparts × day types; a slot's key is `f"{day_type.value}:{daypart.key}"`, e.g. `weekday:evening`."""

    dayparts: tuple[Daypart, ...]
    day_types: tuple[DayType, ...]
    probes_per_slot: int


@dataclass(frozen=True, slots=True)
class PlannedProbe:
    """One probe: (location_id, slot_key, index) is its natural key; the window is UTC-aware. `hours` is
    the window against the location's opening hours: open, closed, partly_open or unknown (no hours)."""

    location_id: str
    slot_key: str
    index: int
    local_date: date
    window_start: datetime
    window_end: datetime
    hours: str = "unknown"


@dataclass(frozen=True, slots=True)
class PlanProblem:
    """A (location, slot) that could not be planned, with a sentence saying why."""

    location_id: str
    slot_key: str
    reason: str


def day_type_of(day: date) -> DayType:
    weekday = day.weekday()
    if weekday == 5:
        return DayType.saturday
    if weekday == 6:
        return DayType.sunday
    return DayType.weekday


def _hours_covered(part: Daypart) -> set[int]:
    end = part.end_hour if part.end_hour > part.start_hour else part.end_hour + 24
    return {hour % 24 for hour in range(part.start_hour, end)}


def design_problems(design: SlotDesign) -> list[tuple[str, str]]:
    """Every reason the design cannot be planned, as (field path, reason); empty when it is sound."""
    problems: list[tuple[str, str]] = []
    if not design.dayparts:
        problems.append(("dayparts", "at least one daypart is needed"))
    if not design.day_types:
        problems.append(("day_types", "at least one day type is needed"))
    if (
        isinstance(design.probes_per_slot, bool)
        or not isinstance(design.probes_per_slot, int)
        or design.probes_per_slot < 1
    ):
        problems.append(("probes_per_slot", "must be a whole number of at least 1"))

    seen_types: set[DayType] = set()
    for i, day_type in enumerate(design.day_types):
        if not isinstance(day_type, DayType):
            # Unreachable through the API (the schema admits DayType values only); kept for designs built in code.
            problems.append((f"day_types[{i}]", f"unknown day type {day_type!r}"))  # type: ignore[unreachable]
        elif day_type in seen_types:
            problems.append((f"day_types[{i}]", f"duplicate day type {day_type.value!r}"))
        seen_types.add(day_type)

    seen_keys: set[str] = set()
    sound: list[tuple[int, Daypart]] = []
    for i, part in enumerate(design.dayparts):
        path = f"dayparts[{i}]"
        ok = True
        if not part.key or ":" in part.key or part.key != part.key.strip():
            problems.append((f"{path}.key", "a key is needed, without ':' or surrounding spaces"))
            ok = False
        elif part.key in seen_keys:
            problems.append((f"{path}.key", f"duplicate daypart key {part.key!r}"))
        seen_keys.add(part.key)
        if not isinstance(part.start_hour, int) or isinstance(part.start_hour, bool) or not 0 <= part.start_hour <= 23:
            problems.append((f"{path}.start_hour", "must be a whole hour from 0 to 23"))
            ok = False
        if not isinstance(part.end_hour, int) or isinstance(part.end_hour, bool) or not 0 <= part.end_hour <= 24:
            problems.append((f"{path}.end_hour", "must be a whole hour from 0 to 24"))
            ok = False
        if part.location_is not in ("open", "closed", "any"):
            problems.append((f"{path}.location_is", "must be open, closed or any"))
        if ok and part.start_hour == part.end_hour % 24 and part.end_hour != 24:
            problems.append((f"{path}.end_hour", "must differ from start_hour"))
            ok = False
        if ok:
            sound.append((i, part))

    for a in range(len(sound)):
        for b in range(a + 1, len(sound)):
            (i, first), (j, second) = sound[a], sound[b]
            shared = _hours_covered(first) & _hours_covered(second)
            if shared:
                problems.append((f"dayparts[{j}]", f"overlaps daypart {first.key!r} at hour {min(shared):02d}:00"))
    return problems


def slot_keys(design: SlotDesign) -> list[str]:
    """Slot keys in design order: day types outer, dayparts inner."""
    return [f"{day_type.value}:{part.key}" for day_type in design.day_types for part in design.dayparts]


def local_to_utc(day: date, hour: int, zone: ZoneInfo) -> datetime:
    """The UTC instant of local wall time `day` `hour`:00 (hour 24 is the next midnight).

    DST rules: a wall time inside a spring-forward gap does not exist, so it moves to the
    first valid instant after the gap (the transition itself, e.g. 02:00 → 03:00 in Berlin);
    a wall time that occurs twice in an autumn fall-back overlap takes its first
    occurrence (fold=0, still on summer time).
    """
    return hours.wall_to_utc(day, hour * 60, zone)


def _window(day: date, part: Daypart, zone: ZoneInfo) -> tuple[datetime, datetime]:
    start = local_to_utc(day, part.start_hour, zone)
    end_day = day if part.end_hour > part.start_hour else day + timedelta(days=1)
    return start, local_to_utc(end_day, part.end_hour, zone)


def _rotation(location_id: str, slot_key: str, salt: str) -> int:
    # A stable hash (not Python's per-process hash()) so that re-planning gives the same dates.
    digest = hashlib.blake2b(f"{salt}\x1f{location_id}\x1f{slot_key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


PlanLocation = tuple[str, str] | tuple[str, str, Sequence[hours.Interval]]


def _fitted(
    day: date, part: Daypart, zone: ZoneInfo, opening: Sequence[hours.Interval]
) -> tuple[date, datetime, datetime, str] | None:
    """The probe window of `part` on `day` fitted to the opening hours as the daypart asks, with how it
    stands against them; None when the daypart (or the stretch it asks for) does not exist that day."""
    start, end = _window(day, part, zone)
    if end <= start:
        return None
    if opening and part.location_is in ("open", "closed"):
        spans = (hours.open_spans if part.location_is == "open" else hours.closed_spans)(opening, zone, start, end)
        best = hours.longest(spans)
        if best is None:
            return None
        start, end = best
    return day, start, end, hours.classify(opening, zone, start, end)


def _no_day_reason(part: Daypart, day_type: DayType, zone_name: str, opening: bool) -> str:
    if opening and part.location_is == "open":
        return f"the location is closed throughout the {part.key} daypart on every {day_type.value} of the wave"
    if opening and part.location_is == "closed":
        return (
            f"the location is open throughout the {part.key} daypart on every {day_type.value} of the wave "
            "(no out-of-hours time to probe)"
        )
    return (
        f"the {part.key} daypart does not exist on any {day_type.value} "
        f"of the wave in {zone_name} (daylight saving change)"
    )


def plan_wave(
    design: SlotDesign,
    wave_start: date,
    wave_end: date,
    locations: Sequence[PlanLocation],
    *,
    salt: str = "",
) -> tuple[list[PlannedProbe], list[PlanProblem]]:
    """Every location × slot × probe index of one wave, or a problem saying why a slot cannot be planned.

    `locations` are (location_id, IANA time zone) or (location_id, zone, opening hours); wave dates are
    inclusive and read in each location's own calendar. The probes of one slot go to distinct dates of
    the right day type where the wave has enough of them, evenly spaced from a rotation offset that is a
    stable hash of location, slot and `salt`, so that locations fall on different dates. A date on which
    the daypart does not exist at all (a one-hour daypart inside a DST gap), or has no stretch in which
    the location is open (closed) when the daypart asks for that, is not used. Raises ValueError for an
    unsound design or a wave that ends before it starts.
    """
    problems = design_problems(design)
    if problems:
        raise ValueError("; ".join(f"{path}: {reason}" for path, reason in problems))
    if wave_end < wave_start:
        raise ValueError(f"the wave ends ({wave_end}) before it starts ({wave_start})")

    dates_by_type: dict[DayType, list[date]] = {day_type: [] for day_type in DayType}
    day = wave_start
    while day <= wave_end:
        dates_by_type[day_type_of(day)].append(day)
        day += timedelta(days=1)

    probes: list[PlannedProbe] = []
    plan_problems: list[PlanProblem] = []
    for location in locations:
        location_id, zone_name = location[0], location[1]
        opening: Sequence[hours.Interval] = location[2] if len(location) > 2 else ()
        try:
            zone = ZoneInfo(zone_name)
        except (ZoneInfoNotFoundError, ValueError):
            for key in slot_keys(design):
                plan_problems.append(PlanProblem(location_id, key, f"unknown time zone {zone_name!r}"))
            continue
        for day_type in design.day_types:
            for part in design.dayparts:
                key = f"{day_type.value}:{part.key}"
                days = dates_by_type[day_type]
                usable = [w for w in (_fitted(d, part, zone, opening) for d in days) if w is not None]
                if not usable:
                    reason = (
                        _no_day_reason(part, day_type, zone_name, bool(opening))
                        if days
                        else f"the wave {wave_start}..{wave_end} has no {day_type.value}"
                    )
                    plan_problems.append(PlanProblem(location_id, key, reason))
                    continue
                n = len(usable)
                offset = _rotation(location_id, key, salt) % n
                count = design.probes_per_slot
                for index in range(count):
                    local_date, start, end, standing = usable[(offset + index * n // count) % n]
                    probes.append(PlannedProbe(location_id, key, index, local_date, start, end, standing))
    return probes, plan_problems

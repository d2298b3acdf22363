"""Slot planning: which local date and hour window each probe of a wave takes, per location time zone."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import Enum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "DayType",
    "Daypart",
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
    """Local hours `start_hour`..`end_hour`; `end_hour <= start_hour` wraps past midnight (21→8)."""

    key: str
    start_hour: int
    end_hour: int


@dataclass(frozen=True, slots=True)
class SlotDesign:
    """Dayparts × day types; a slot's key is `f"{day_type.value}:{daypart.key}"`, e.g. `weekday:evening`."""

    dayparts: tuple[Daypart, ...]
    day_types: tuple[DayType, ...]
    probes_per_slot: int


@dataclass(frozen=True, slots=True)
class PlannedProbe:
    """One probe: (location_id, slot_key, index) is its natural key; the window is UTC-aware."""

    location_id: str
    slot_key: str
    index: int
    local_date: date
    window_start: datetime
    window_end: datetime


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
            problems.append((f"day_types[{i}]", f"unknown day type {day_type!r}"))
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
    if hour == 24:
        day, hour = day + timedelta(days=1), 0
    wall = datetime.combine(day, time(hour))
    first = wall.replace(tzinfo=zone, fold=0)
    utc = first.astimezone(UTC)
    if utc.astimezone(zone).replace(tzinfo=None) == wall:
        return utc
    # In a gap, fold=0 reads the wall time with the offset before the transition (landing
    # after the gap) and fold=1 with the offset after it (landing before); the transition
    # is the first instant between them that has the later offset.
    later_offset = utc.astimezone(zone).utcoffset()
    low = int(wall.replace(tzinfo=zone, fold=1).timestamp())
    high = int(utc.timestamp())
    while low < high:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).utcoffset() == later_offset:
            high = middle
        else:
            low = middle + 1
    return datetime.fromtimestamp(high, UTC)


def _window(day: date, part: Daypart, zone: ZoneInfo) -> tuple[datetime, datetime]:
    start = local_to_utc(day, part.start_hour, zone)
    end_day = day if part.end_hour > part.start_hour else day + timedelta(days=1)
    return start, local_to_utc(end_day, part.end_hour, zone)


def _rotation(location_id: str, slot_key: str, salt: str) -> int:
    # A stable hash (not Python's per-process hash()) so that re-planning gives the same dates.
    digest = hashlib.blake2b(f"{salt}\x1f{location_id}\x1f{slot_key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def plan_wave(
    design: SlotDesign,
    wave_start: date,
    wave_end: date,
    locations: Sequence[tuple[str, str]],
    *,
    salt: str = "",
) -> tuple[list[PlannedProbe], list[PlanProblem]]:
    """Every location × slot × probe index of one wave, or a problem saying why a slot cannot be planned.

    `locations` are (location_id, IANA time zone); wave dates are inclusive and read in each
    location's own calendar. The probes of one slot go to distinct dates of the right day
    type where the wave has enough of them, evenly spaced from a rotation offset that is a
    stable hash of location, slot and `salt`, so that locations fall on different dates.
    A date on which the daypart does not exist at all (a one-hour daypart inside a DST
    gap) is not used. Raises ValueError for an unsound design or a wave that ends before
    it starts.
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
    for location_id, zone_name in locations:
        try:
            zone = ZoneInfo(zone_name)
        except (ZoneInfoNotFoundError, ValueError):
            for key in slot_keys(design):
                plan_problems.append(PlanProblem(location_id, key, f"unknown time zone {zone_name!r}"))
            continue
        for day_type in design.day_types:
            for part in design.dayparts:
                key = f"{day_type.value}:{part.key}"
                windows = [(d, *_window(d, part, zone)) for d in dates_by_type[day_type]]
                usable = [w for w in windows if w[2] > w[1]]
                if not usable:
                    if windows:
                        reason = (
                            f"the {part.key} daypart does not exist on any {day_type.value} "
                            f"of the wave in {zone_name} (daylight saving change)"
                        )
                    else:
                        reason = f"the wave {wave_start}..{wave_end} has no {day_type.value}"
                    plan_problems.append(PlanProblem(location_id, key, reason))
                    continue
                n = len(usable)
                offset = _rotation(location_id, key, salt) % n
                count = design.probes_per_slot
                for index in range(count):
                    local_date, start, end = usable[(offset + index * n // count) % n]
                    probes.append(PlannedProbe(location_id, key, index, local_date, start, end))
    return probes, plan_problems

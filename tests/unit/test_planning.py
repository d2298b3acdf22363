"""Slot planning: exact windows across DST changes in several zones, design checks, and coverage properties."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.campaigns.planning import (
    Daypart,
    DayType,
    PlannedProbe,
    SlotDesign,
    day_type_of,
    design_problems,
    local_to_utc,
    plan_wave,
    slot_keys,
)

WEEKDAY, SATURDAY, SUNDAY = DayType.weekday, DayType.saturday, DayType.sunday
OUT_OF_HOURS = Daypart("out_of_hours", 21, 8)
FULL = SlotDesign(
    dayparts=(Daypart("morning", 8, 12), Daypart("afternoon", 12, 17), Daypart("evening", 17, 21), OUT_OF_HOURS),
    day_types=(WEEKDAY, SATURDAY, SUNDAY),
    probes_per_slot=2,
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def hours(probe: PlannedProbe) -> float:
    return (probe.window_end - probe.window_start).total_seconds() / 3600


def only(design: SlotDesign, start: date, end: date, zone: str) -> PlannedProbe:
    probes, problems = plan_wave(design, start, end, [("loc", zone)])
    assert problems == []
    assert len(probes) == 1
    return probes[0]


# The design -------------------------------------------------------------------------


def test_slot_keys_are_day_type_then_daypart() -> None:
    assert slot_keys(FULL) == [
        "weekday:morning",
        "weekday:afternoon",
        "weekday:evening",
        "weekday:out_of_hours",
        "saturday:morning",
        "saturday:afternoon",
        "saturday:evening",
        "saturday:out_of_hours",
        "sunday:morning",
        "sunday:afternoon",
        "sunday:evening",
        "sunday:out_of_hours",
    ]


def test_a_sound_design_has_no_problems() -> None:
    assert design_problems(FULL) == []
    assert design_problems(SlotDesign((Daypart("all_day", 0, 24),), (WEEKDAY,), 1)) == []
    assert design_problems(SlotDesign((Daypart("late", 18, 24), Daypart("night", 0, 6)), (SUNDAY,), 3)) == []


@pytest.mark.parametrize(
    ("design", "path", "fragment"),
    [
        (SlotDesign((), (WEEKDAY,), 1), "dayparts", "at least one"),
        (SlotDesign((OUT_OF_HOURS,), (), 1), "day_types", "at least one"),
        (SlotDesign((OUT_OF_HOURS,), (WEEKDAY,), 0), "probes_per_slot", "at least 1"),
        (SlotDesign((OUT_OF_HOURS,), (WEEKDAY, WEEKDAY), 1), "day_types[1]", "duplicate"),
        (SlotDesign((Daypart("a", 8, 12), Daypart("a", 12, 17)), (WEEKDAY,), 1), "dayparts[1].key", "duplicate"),
        (SlotDesign((Daypart("a:b", 8, 12),), (WEEKDAY,), 1), "dayparts[0].key", "':'"),
        (SlotDesign((Daypart("", 8, 12),), (WEEKDAY,), 1), "dayparts[0].key", "key is needed"),
        (SlotDesign((Daypart("a", 24, 8),), (WEEKDAY,), 1), "dayparts[0].start_hour", "0 to 23"),
        (SlotDesign((Daypart("a", -1, 8),), (WEEKDAY,), 1), "dayparts[0].start_hour", "0 to 23"),
        (SlotDesign((Daypart("a", 8, 25),), (WEEKDAY,), 1), "dayparts[0].end_hour", "0 to 24"),
        (SlotDesign((Daypart("a", 8, 8),), (WEEKDAY,), 1), "dayparts[0].end_hour", "differ"),
        (SlotDesign((Daypart("a", 0, 0),), (WEEKDAY,), 1), "dayparts[0].end_hour", "differ"),
        (SlotDesign((Daypart("day", 8, 17), Daypart("noon", 12, 14)), (WEEKDAY,), 1), "dayparts[1]", "overlaps"),
        # 21→08 wraps past midnight, so an early-morning daypart overlaps it.
        (SlotDesign((OUT_OF_HOURS, Daypart("early", 6, 9)), (WEEKDAY,), 1), "dayparts[1]", "hour 06:00"),
    ],
)
def test_design_problems_name_the_field(design: SlotDesign, path: str, fragment: str) -> None:
    problems = design_problems(design)
    assert any(p == path and fragment in reason for p, reason in problems), problems


def test_touching_dayparts_do_not_overlap() -> None:
    assert design_problems(SlotDesign((Daypart("a", 8, 12), Daypart("b", 12, 21), OUT_OF_HOURS), (WEEKDAY,), 1)) == []


def test_plan_wave_refuses_an_unsound_design_or_a_backwards_wave() -> None:
    with pytest.raises(ValueError, match="probes_per_slot"):
        plan_wave(SlotDesign((OUT_OF_HOURS,), (WEEKDAY,), 0), date(2026, 6, 1), date(2026, 6, 5), [])
    with pytest.raises(ValueError, match="before it starts"):
        plan_wave(FULL, date(2026, 6, 5), date(2026, 6, 1), [])


# Exact windows ----------------------------------------------------------------------


def test_summer_weekday_mornings_in_berlin_on_distinct_dates() -> None:
    design = SlotDesign((Daypart("morning", 8, 12),), (WEEKDAY,), 3)
    probes, problems = plan_wave(design, date(2026, 6, 1), date(2026, 6, 7), [("b1", "Europe/Berlin")])
    assert problems == []
    assert [p.index for p in probes] == [0, 1, 2]
    assert len({p.local_date for p in probes}) == 3
    for p in probes:
        assert p.slot_key == "weekday:morning"
        assert p.local_date.weekday() < 5
        assert p.window_start == datetime.combine(p.local_date, time(6), UTC)  # 08:00 CEST
        assert p.window_end == datetime.combine(p.local_date, time(10), UTC)


def test_more_probes_than_dates_uses_every_date() -> None:
    design = SlotDesign((Daypart("morning", 8, 12),), (WEEKDAY,), 7)
    probes, _ = plan_wave(design, date(2026, 6, 1), date(2026, 6, 5), [("b1", "Europe/Berlin")])
    assert len(probes) == 7
    assert {p.local_date for p in probes} == {date(2026, 6, d) for d in range(1, 6)}


def test_one_wave_in_each_location_s_own_calendar() -> None:
    design = SlotDesign((Daypart("evening", 17, 21),), (SATURDAY,), 1)
    probes, _ = plan_wave(
        design,
        date(2026, 6, 6),
        date(2026, 6, 6),
        [("nyc", "America/New_York"), ("syd", "Australia/Sydney"), ("ber", "Europe/Berlin")],
    )
    by_location = {p.location_id: p for p in probes}
    assert by_location["nyc"].window_start == utc(2026, 6, 6, 21)  # 17:00 EDT
    assert by_location["syd"].window_start == utc(2026, 6, 6, 7)  # 17:00 AEST
    assert by_location["ber"].window_start == utc(2026, 6, 6, 15)  # 17:00 CEST
    assert all(p.local_date == date(2026, 6, 6) for p in probes)


def test_a_daypart_ending_at_24_ends_at_the_next_midnight() -> None:
    probe = only(
        SlotDesign((Daypart("late", 18, 24),), (WEEKDAY,), 1), date(2026, 1, 5), date(2026, 1, 5), "Europe/Berlin"
    )
    assert (probe.window_start, probe.window_end) == (utc(2026, 1, 5, 17), utc(2026, 1, 5, 23))


@pytest.mark.parametrize(
    ("zone", "saturday", "start", "end", "length"),
    [
        # Spring forward: the night loses an hour.
        ("Europe/Berlin", date(2026, 3, 28), utc(2026, 3, 28, 20), utc(2026, 3, 29, 6), 10),
        ("America/New_York", date(2026, 3, 7), utc(2026, 3, 8, 2), utc(2026, 3, 8, 12), 10),
        ("Australia/Sydney", date(2026, 10, 3), utc(2026, 10, 3, 11), utc(2026, 10, 3, 21), 10),
        # Fall back: the night gains an hour.
        ("Europe/Berlin", date(2026, 10, 24), utc(2026, 10, 24, 19), utc(2026, 10, 25, 7), 12),
        ("America/New_York", date(2026, 10, 31), utc(2026, 11, 1, 1), utc(2026, 11, 1, 13), 12),
        ("Australia/Sydney", date(2026, 4, 4), utc(2026, 4, 4, 10), utc(2026, 4, 4, 22), 12),
        # An ordinary Saturday night is 11 hours.
        ("Europe/Berlin", date(2026, 3, 21), utc(2026, 3, 21, 20), utc(2026, 3, 22, 7), 11),
    ],
)
def test_out_of_hours_across_a_dst_change(
    zone: str, saturday: date, start: datetime, end: datetime, length: int
) -> None:
    probe = only(SlotDesign((OUT_OF_HOURS,), (SATURDAY,), 1), saturday, saturday, zone)
    assert probe.slot_key == "saturday:out_of_hours"
    assert (probe.window_start, probe.window_end) == (start, end)
    assert hours(probe) == length
    local = probe.window_start.astimezone(ZoneInfo(zone))
    assert (local.date(), local.hour, local.minute) == (saturday, 21, 0)
    assert probe.window_end.astimezone(ZoneInfo(zone)).hour == 8


def test_a_boundary_in_the_spring_gap_moves_to_the_end_of_the_gap() -> None:
    # Berlin, 29 March 2026: 02:00–03:00 does not exist; 02:00 becomes 03:00 CEST.
    probe = only(
        SlotDesign((Daypart("small_hours", 2, 5),), (SUNDAY,), 1), date(2026, 3, 29), date(2026, 3, 29), "Europe/Berlin"
    )
    assert (probe.window_start, probe.window_end) == (utc(2026, 3, 29, 1), utc(2026, 3, 29, 3))
    assert probe.window_start.astimezone(ZoneInfo("Europe/Berlin")).hour == 3
    # New York, 8 March 2026: 02:00 EST does not exist; 02:00 becomes 03:00 EDT.
    assert local_to_utc(date(2026, 3, 8), 2, ZoneInfo("America/New_York")) == utc(2026, 3, 8, 7)
    # Lord Howe moves its clocks by half an hour: 02:00 becomes 02:30.
    moved = local_to_utc(date(2026, 10, 4), 2, ZoneInfo("Australia/Lord_Howe"))
    assert moved.astimezone(ZoneInfo("Australia/Lord_Howe")).time() == time(2, 30)
    # Santiago springs forward at midnight: 00:00 becomes 01:00 the same day.
    moved = local_to_utc(date(2026, 9, 6), 0, ZoneInfo("America/Santiago"))
    assert moved.astimezone(ZoneInfo("America/Santiago")).replace(tzinfo=None) == datetime(2026, 9, 6, 1)


def test_a_boundary_in_the_autumn_overlap_takes_the_first_occurrence() -> None:
    # Berlin, 25 October 2026: 02:00–03:00 happens twice; 02:00 is read as 02:00 CEST.
    probe = only(
        SlotDesign((Daypart("small_hours", 2, 3),), (SUNDAY,), 1),
        date(2026, 10, 25),
        date(2026, 10, 25),
        "Europe/Berlin",
    )
    assert (probe.window_start, probe.window_end) == (utc(2026, 10, 25, 0), utc(2026, 10, 25, 2))
    assert local_to_utc(date(2026, 11, 1), 1, ZoneInfo("America/New_York")) == utc(2026, 11, 1, 5)  # EDT


def test_a_daypart_that_does_not_exist_that_day_is_not_planned_on_it() -> None:
    design = SlotDesign((Daypart("two_am", 2, 3),), (SUNDAY,), 1)
    probes, problems = plan_wave(design, date(2026, 3, 29), date(2026, 3, 29), [("b1", "Europe/Berlin")])
    assert probes == []
    assert [(p.location_id, p.slot_key) for p in problems] == [("b1", "sunday:two_am")]
    assert "daylight saving" in problems[0].reason
    design = SlotDesign((Daypart("two_am", 2, 3),), (SUNDAY,), 2)
    probes, problems = plan_wave(design, date(2026, 3, 23), date(2026, 4, 5), [("b1", "Europe/Berlin")])
    assert problems == []
    assert [p.local_date for p in probes] == [date(2026, 4, 5), date(2026, 4, 5)]


def test_a_wave_without_a_sunday_explains_every_sunday_slot() -> None:
    probes, problems = plan_wave(
        FULL,
        date(2026, 6, 3),
        date(2026, 6, 6),  # Wednesday to Saturday
        [("own", "Europe/Berlin"), ("rival", "Europe/Vienna")],
    )
    assert sorted((p.location_id, p.slot_key) for p in problems) == sorted(
        (loc, f"sunday:{part}")
        for loc in ("own", "rival")
        for part in ("morning", "afternoon", "evening", "out_of_hours")
    )
    assert all("no sunday" in p.reason for p in problems)
    planned = {(p.location_id, p.slot_key) for p in probes}
    assert len(probes) == 2 * 8 * 2
    assert ("rival", "saturday:out_of_hours") in planned


def test_an_unknown_time_zone_is_a_problem_for_that_location_only() -> None:
    probes, problems = plan_wave(
        FULL, date(2026, 6, 1), date(2026, 6, 7), [("good", "Europe/Berlin"), ("bad", "Mars/Olympus_Mons")]
    )
    assert {p.location_id for p in probes} == {"good"}
    assert len(problems) == 12 and all(p.location_id == "bad" and "Mars" in p.reason for p in problems)


def test_locations_are_spread_over_different_dates_and_salt_reshuffles() -> None:
    design = SlotDesign((Daypart("evening", 17, 21),), (WEEKDAY,), 1)
    locations = [(f"loc-{i}", "Europe/Berlin") for i in range(40)]
    probes, _ = plan_wave(design, date(2026, 6, 1), date(2026, 6, 26), locations)
    dates = [p.local_date for p in probes]
    assert len(set(dates)) >= 12  # of 20 weekdays; nobody gets all forty on one evening
    assert max(dates.count(d) for d in set(dates)) <= 8
    again, _ = plan_wave(design, date(2026, 6, 1), date(2026, 6, 26), locations, salt="wave-2")
    assert [p.local_date for p in again] != dates


def test_dates_do_not_depend_on_the_process() -> None:
    # Pinned so that re-planning a wave after a restart (or on another server) gives the same dates.
    design = SlotDesign((Daypart("evening", 17, 21),), (WEEKDAY,), 2)
    probes, _ = plan_wave(
        design, date(2026, 6, 1), date(2026, 6, 12), [("loc-1", "Europe/Berlin"), ("loc-2", "Europe/Berlin")]
    )
    assert [(p.location_id, p.index, p.local_date.day) for p in probes] == [
        ("loc-1", 0, 8),
        ("loc-1", 1, 1),
        ("loc-2", 0, 10),
        ("loc-2", 1, 3),
    ]


# Properties -------------------------------------------------------------------------

ZONES = [
    "UTC",
    "Europe/Berlin",
    "Europe/London",
    "America/New_York",
    "America/Santiago",
    "America/St_Johns",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "Pacific/Chatham",
    "Africa/Casablanca",
]


@st.composite
def designs(draw: st.DrawFn) -> SlotDesign:
    cuts = sorted(draw(st.sets(st.integers(0, 23), min_size=2, max_size=6)))
    pieces = [(cuts[i], cuts[i + 1]) for i in range(len(cuts) - 1)] + [(cuts[-1], cuts[0])]
    chosen = draw(st.lists(st.sampled_from(pieces), min_size=1, max_size=len(pieces), unique=True))
    dayparts = tuple(
        Daypart(f"p{start}", start, 24 if end == 0 and start > 0 and draw(st.booleans()) else end)
        for start, end in chosen
    )
    day_types = tuple(draw(st.lists(st.sampled_from(list(DayType)), min_size=1, max_size=3, unique=True)))
    return SlotDesign(dayparts, day_types, draw(st.integers(1, 4)))


locations_strategy = st.lists(
    st.tuples(st.text("abcxyz0123", min_size=1, max_size=6), st.sampled_from(ZONES)),
    min_size=1,
    max_size=4,
    unique_by=lambda loc: loc[0],
)


def _wall(instant: datetime, zone: ZoneInfo) -> datetime:
    return instant.astimezone(zone).replace(tzinfo=None)


def _exists(wall: datetime, zone: ZoneInfo) -> bool:
    return _wall(wall.replace(tzinfo=zone).astimezone(UTC), zone) == wall


# Waves that start just before a DST change in one of the zones, as well as anywhere.
DST_EVES = [
    date(2026, 3, 28),
    date(2026, 10, 24),
    date(2026, 3, 7),
    date(2026, 10, 31),
    date(2026, 4, 4),
    date(2026, 10, 3),
    date(2026, 9, 5),
]
wave_starts = st.one_of(st.dates(date(2024, 1, 1), date(2028, 12, 31)), st.sampled_from(DST_EVES))


@settings(max_examples=300, deadline=None)
@given(
    design=designs(),
    start=wave_starts,
    length=st.integers(0, 30),
    locations=locations_strategy,
    salt=st.sampled_from(["", "w2"]),
)
def test_plan_covers_the_design_exactly(
    design: SlotDesign, start: date, length: int, locations: list[tuple[str, str]], salt: str
) -> None:
    end = start + timedelta(days=length)
    probes, problems = plan_wave(design, start, end, locations, salt=salt)
    assert plan_wave(design, start, end, locations, salt=salt) == (probes, problems)

    parts = {f"{t.value}:{p.key}": (t, p) for t in design.day_types for p in design.dayparts}
    keys = [(p.location_id, p.slot_key, p.index) for p in probes]
    assert len(keys) == len(set(keys))
    explained = {(p.location_id, p.slot_key) for p in problems}
    assert len(explained) == len(problems)
    wave_days = [start + timedelta(days=i) for i in range(length + 1)]
    for location_id, zone_name in locations:
        zone = ZoneInfo(zone_name)
        for slot, (day_type, part) in parts.items():
            mine = [p for p in probes if p.location_id == location_id and p.slot_key == slot]
            matching = [d for d in wave_days if day_type_of(d) == day_type]
            if (location_id, slot) in explained:
                assert mine == []
                continue
            assert sorted(p.index for p in mine) == list(range(design.probes_per_slot))
            distinct = len({p.local_date for p in mine})
            assert distinct >= min(design.probes_per_slot, len(matching) - 1)
            if (part.end_hour - part.start_hour) % 24 >= 2:
                assert distinct == min(design.probes_per_slot, len(matching))
            for p in mine:
                assert start <= p.local_date <= end
                assert day_type_of(p.local_date) == day_type
                assert p.window_start.tzinfo is not None and p.window_end > p.window_start
                for instant, day, hour in (
                    (p.window_start, p.local_date, part.start_hour),
                    (
                        p.window_end,
                        p.local_date + timedelta(days=0 if part.end_hour > part.start_hour else 1),
                        part.end_hour,
                    ),
                ):
                    wanted = datetime.combine(day, time(0)) + timedelta(hours=hour)
                    # Exactly the wall time, or the end of the DST gap that swallowed it.
                    assert _wall(instant, zone) == wanted or (
                        not _exists(wanted, zone) and wanted < _wall(instant, zone) <= wanted + timedelta(hours=1)
                    )
                assert _wall(p.window_start, zone).date() == p.local_date
                nominal = (part.end_hour - part.start_hour) % 24 or 24
                assert abs(hours(p) - nominal) <= 1
    # Each location is planned on its own: adding or removing others changes nothing for it.
    alone, _ = plan_wave(design, start, end, locations[:1], salt=salt)
    assert alone == [p for p in probes if p.location_id == locations[0][0]]


@settings(max_examples=100, deadline=None)
@given(start=st.dates(date(2024, 1, 1), date(2028, 12, 31)), zone=st.sampled_from(ZONES))
def test_any_night_out_of_hours_is_ten_to_twelve_hours(start: date, zone: str) -> None:
    probes, problems = plan_wave(SlotDesign((OUT_OF_HOURS,), tuple(DayType), 1), start, start, [("x", zone)])
    assert len(probes) == 1 and len(problems) == 2  # the two day types the single date is not
    assert probes[0].slot_key == f"{day_type_of(start).value}:out_of_hours"
    assert 10 <= hours(probes[0]) <= 12

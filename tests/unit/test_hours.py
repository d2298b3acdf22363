"""Opening hours (backend/locations/hours.py): overnight intervals, 24-hour locations, closed days, in the
location's own zone across daylight-saving days; checked against a minute-by-minute reading of the rules."""

from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from backend.campaigns import planning
from backend.locations import hours

UTC = dt.UTC
ZONES = ["Europe/Prague", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "UTC", "America/Santiago"]


def clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


@st.composite
def schedules(draw) -> list[tuple[str, str, str]]:
    """Sound weekly hours: intervals laid end to end around the week with gaps, some overnight, some 24:00."""
    rows: list[tuple[str, str, str]] = []
    cursor = draw(st.integers(0, hours.DAY - 1))
    end_of_week = cursor + hours.WEEK
    for _ in range(draw(st.integers(0, 9))):
        cursor += draw(st.integers(1, 2 * hours.DAY))
        length = draw(st.integers(1, hours.DAY - 1))
        if cursor + length > end_of_week:
            break
        day, opens = divmod(cursor % hours.WEEK, hours.DAY)
        closes = opens + length
        if draw(st.booleans()) and closes <= hours.DAY:
            text = clock(closes) if closes < hours.DAY else "24:00"
        else:
            text = clock(closes % hours.DAY) if closes != hours.DAY else "24:00"
        if closes % hours.DAY == opens:
            continue
        rows.append((hours.WEEKDAYS[day], clock(opens), text))
        cursor += length
    return rows


def brute_open(rows: list[tuple[str, str, str]], local: dt.datetime) -> bool:
    """The rules read literally at one local wall time."""
    minute = local.hour * 60 + local.minute
    today, yesterday = local.weekday(), (local.weekday() - 1) % 7
    for day, opens, closes in rows:
        d, o, c = hours.WEEKDAYS.index(day), hours.clock_minutes(opens), hours.clock_minutes(closes)
        if c > o and d == today and o <= minute < c:
            return True
        if c < o and ((d == today and minute >= o) or (d == yesterday and minute < c)):
            return True
    return False


def ambiguous(at: dt.datetime, zone: ZoneInfo) -> bool:
    """A wall time the clocks show twice (autumn overlap): the rules take its first occurrence."""
    wall = at.astimezone(zone).replace(tzinfo=None)
    return wall.replace(tzinfo=zone, fold=0).utcoffset() != wall.replace(tzinfo=zone, fold=1).utcoffset()


instants = st.datetimes(min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2035, 12, 31)).map(
    lambda d: d.replace(second=0, microsecond=0, tzinfo=UTC)
)


@settings(max_examples=300, deadline=None)
@given(schedules(), st.sampled_from(ZONES), instants)
def test_open_at_an_instant_is_what_the_rules_say_at_its_wall_time(rows, zone_name, at):
    assert hours.hours_problems(rows) == []
    zone = ZoneInfo(zone_name)
    assume(not ambiguous(at, zone))
    assert hours.is_open_at(hours.intervals(rows), zone, at) == brute_open(rows, at.astimezone(zone))


@settings(max_examples=200, deadline=None)
@given(schedules(), st.sampled_from(ZONES), instants, st.integers(1, 60 * 24 * 9))
def test_open_and_closed_spans_partition_the_window(rows, zone_name, start, minutes):
    zone, opening = ZoneInfo(zone_name), hours.intervals(rows)
    end = start + dt.timedelta(minutes=minutes)
    spans = sorted(hours.open_spans(opening, zone, start, end) + hours.closed_spans(opening, zone, start, end))
    assert spans[0][0] == start and spans[-1][1] == end
    for (a, b), (c, _) in itertools.pairwise(spans):
        assert a < b == c  # non-empty, contiguous, no overlap
    for lo, hi in hours.open_spans(opening, zone, start, end):
        assert (hours.is_open_at(opening, zone, lo) and not hours.is_open_at(opening, zone, hi)) or hi == end
    standing = hours.classify(opening, zone, start, end)
    assert standing == ("unknown" if not rows else standing)
    if rows and standing in ("open", "closed"):
        assert spans == [(start, end)]


@settings(max_examples=200, deadline=None)
@given(schedules(), st.integers(0, 13), st.integers(0, hours.DAY - 1), st.integers(1, hours.DAY))
def test_an_added_interval_that_shares_a_minute_with_the_others_is_refused_naming_it(rows, day, opens, length):
    closes = (opens + length) % hours.DAY
    extra = (hours.WEEKDAYS[day % 7], clock(opens), clock(closes) if closes or length < hours.DAY else "24:00")
    start = (day % 7) * hours.DAY + opens
    taken = {m % hours.WEEK for lo, hi in hours.weekly_spans(hours.intervals(rows)) for m in range(lo, hi)}
    mine = {(start + m) % hours.WEEK for m in range(length)}
    problems = dict(hours.hours_problems([*rows, extra]))
    if extra[2] == extra[1]:  # as written: a whole day from midnight is 00:00-24:00, a valid interval
        assert f"opening_hours[{len(rows)}].closes" in problems
    elif taken & mine:
        assert any(path.startswith("opening_hours[") and "overlaps" in why for path, why in problems.items())
    else:
        assert problems == {}


def test_a_friday_night_interval_ends_on_saturday_and_saturday_is_otherwise_closed():
    zone = ZoneInfo("Europe/Prague")
    bar = hours.intervals([("fri", "22:00", "02:00")])
    friday = dt.datetime(2027, 3, 5, tzinfo=zone)  # a Friday
    spans = hours.open_spans(bar, zone, friday, friday + dt.timedelta(days=2))
    assert [(a.astimezone(zone).isoformat(), b.astimezone(zone).isoformat()) for a, b in spans] == [
        ("2027-03-05T22:00:00+01:00", "2027-03-06T02:00:00+01:00")
    ]
    assert hours.classify(bar, zone, friday + dt.timedelta(hours=23), friday + dt.timedelta(hours=25)) == "open"
    saturday_noon = friday + dt.timedelta(days=1, hours=12)
    assert hours.classify(bar, zone, saturday_noon, saturday_noon + dt.timedelta(hours=4)) == "closed"
    # Sunday night runs into Monday morning: the week wraps.
    late = hours.intervals([("sun", "20:00", "03:00")])
    monday = dt.datetime(2027, 3, 8, 2, 30, tzinfo=zone)
    assert hours.is_open_at(late, zone, monday) and not hours.is_open_at(late, zone, monday + dt.timedelta(hours=1))


@pytest.mark.parametrize(
    ("day", "length"),
    [(dt.date(2027, 3, 28), 23), (dt.date(2027, 10, 31), 25), (dt.date(2027, 6, 1), 24)],
)
def test_a_24_hour_location_is_open_the_whole_local_day_on_daylight_saving_days(day, length):
    zone = ZoneInfo("Europe/Berlin")
    always = hours.intervals([(d, "00:00", "24:00") for d in hours.WEEKDAYS])
    start, end = hours.wall_to_utc(day, 0, zone), hours.wall_to_utc(day, hours.DAY, zone)
    assert end - start == dt.timedelta(hours=length)
    assert hours.open_spans(always, zone, start - dt.timedelta(days=3), end) == [(start - dt.timedelta(days=3), end)]
    assert hours.closed_spans(always, zone, start, end) == []


def test_an_overnight_interval_over_the_spring_forward_gap_is_an_hour_shorter():
    zone = ZoneInfo("Europe/Berlin")
    club = hours.intervals([("sat", "23:00", "05:00")])
    night = dt.datetime(2027, 3, 27, 12, tzinfo=UTC)  # Saturday before clocks go forward on Sunday 02:00
    ((opens, closes),) = hours.open_spans(club, zone, night, night + dt.timedelta(days=1))
    assert closes - opens == dt.timedelta(hours=5)
    # A time inside the gap (02:30 does not exist) is the first instant after it.
    gap = hours.intervals([("sun", "02:30", "10:00")])
    ((opens, _),) = hours.open_spans(gap, zone, night, night + dt.timedelta(days=2))
    assert opens.astimezone(zone).isoformat() == "2027-03-28T03:00:00+02:00"


def test_bad_hours_name_the_field_and_say_why():
    problems = dict(
        hours.hours_problems(
            [
                ("mon", "09:00", "09:00"),
                ("tue", "24:00", "02:00"),
                ("fri", "22:00", "02:00"),
                ("sat", "01:00", "09:00"),
                ("sun", "9", "10:00"),
            ]
        )
    )
    assert "whole day is 00:00–24:00" in problems["opening_hours[0].closes"]
    assert "24:00" in problems["opening_hours[1].opens"]
    assert problems["opening_hours[3]"] == "overlaps opening_hours[2]"
    assert "opening_hours[4].opens" in problems


def _plan(part: planning.Daypart, day_types, opening, zone="Europe/Prague", start="2027-03-01", end="2027-03-14"):
    design = planning.SlotDesign(dayparts=(part,), day_types=tuple(day_types), probes_per_slot=1)
    return planning.plan_wave(design, dt.date.fromisoformat(start), dt.date.fromisoformat(end), [("L", zone, opening)])


def test_a_visit_daypart_is_kept_to_the_open_hours_and_a_closed_day_is_a_problem():
    shop = hours.intervals([("mon", "09:00", "12:00"), ("mon", "14:00", "18:30"), ("sat", "10:00", "13:00")])
    day = planning.Daypart("day", 8, 20, "open")
    (probe,), problems = _plan(day, [planning.DayType.weekday, planning.DayType.sunday], shop)
    assert probe.hours == "open" and probe.local_date.weekday() == 0  # only Mondays are open on weekdays
    zone = ZoneInfo("Europe/Prague")
    assert (probe.window_start.astimezone(zone).time(), probe.window_end.astimezone(zone).time()) == (
        dt.time(14),
        dt.time(18, 30),
    )  # the longest open stretch of the daypart
    (problem,) = problems
    assert problem.slot_key == "sunday:day" and "closed throughout the day daypart on every sunday" in problem.reason


def test_an_out_of_hours_daypart_avoids_the_overnight_opening_and_a_24_hour_location_has_none():
    bar = hours.intervals([("fri", "22:00", "02:00")])
    night = planning.Daypart("night", 21, 8, "closed")
    design_days = [planning.DayType.weekday]
    probes, _ = _plan(night, design_days, bar, start="2027-03-05", end="2027-03-05")  # a Friday only
    (probe,) = probes
    zone = ZoneInfo("Europe/Prague")
    assert probe.hours == "closed"
    assert probe.window_start.astimezone(zone).isoformat() == "2027-03-06T02:00:00+01:00"
    assert probe.window_end.astimezone(zone).isoformat() == "2027-03-06T08:00:00+01:00"
    always = hours.intervals([(d, "00:00", "24:00") for d in hours.WEEKDAYS])
    probes, (problem,) = _plan(night, design_days, always)
    assert probes == [] and "no out-of-hours time" in problem.reason
    # `any` keeps the old behaviour and says how the window stands.
    (probe,), _ = _plan(
        planning.Daypart("night", 21, 8, "any"), design_days, always, start="2027-03-05", end="2027-03-05"
    )
    assert probe.hours == "open"


@settings(max_examples=100, deadline=None)
@given(schedules(), st.sampled_from(ZONES), st.integers(0, 23), st.integers(1, 24), st.sampled_from(["open", "closed"]))
def test_every_planned_window_lies_in_the_daypart_and_stands_as_asked(rows, zone_name, start, end, want):
    assume(start != end % 24 or end == 24)
    part = planning.Daypart("p", start, end, want)
    opening = hours.intervals(rows)
    probes, problems = _plan(
        part, list(planning.DayType), opening, zone=zone_name, start="2027-10-25", end="2027-11-07"
    )
    zone = ZoneInfo(zone_name)
    for probe in probes:
        lo, hi = planning._window(probe.local_date, part, zone)
        assert lo <= probe.window_start < probe.window_end <= hi
        assert probe.hours == (want if rows else "unknown")
    assert len(probes) + len(problems) == 3


def test_the_locations_import_reads_overnight_closed_days_and_24_7():
    from backend.locations.importing import parse_opening_hours

    rows = parse_opening_hours("mon 09:00-18:00, fri 22:00–02:00, sun closed")
    assert rows == [
        {"day": "mon", "opens": "09:00", "closes": "18:00"},
        {"day": "fri", "opens": "22:00", "closes": "02:00"},
    ]
    assert hours.hours_problems([(r["day"], r["opens"], r["closes"]) for r in rows]) == []
    always = parse_opening_hours("24/7")
    assert [r["day"] for r in always] == list(hours.WEEKDAYS)
    assert hours.weekly_spans(hours.intervals([(r["day"], r["opens"], r["closes"]) for r in always])) == [
        (0, hours.WEEK)
    ]
    with pytest.raises(ValueError, match="sun closed"):
        parse_opening_hours("sunday shut")

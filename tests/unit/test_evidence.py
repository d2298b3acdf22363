"""Evidence flags (pure)."""

from __future__ import annotations

import datetime as dt

import msgspec

from api_schemas.forms import FormDefinition
from api_schemas.reports import Flag
from backend.geo import distance_m
from backend.reports.evidence import Context, evidence_flags, with_reused

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 5, 4, 10, tzinfo=UTC)
FORM = msgspec.convert(
    {
        "title": {"en": "x"},
        "sections": [
            {
                "key": "s",
                "items": [
                    {"type": "gps", "key": "checkin"},
                    {"type": "timestamp", "key": "entered"},
                    {"type": "timer_sequence", "key": "call", "give_up_s": 120},
                ],
            }
        ],
    },
    FormDefinition,
)


def ctx(**kw) -> Context:
    values = dict(
        channel="visit",
        window_start=T0,
        window_end=T0 + dt.timedelta(hours=4),
        started_at=T0 + dt.timedelta(minutes=10),
        ended_at=T0 + dt.timedelta(minutes=40),
        location_lat=50.0,
        location_lon=14.0,
        gps_limit_m=300,
    )
    return Context(**{**values, **kw})


def at(seconds: float) -> str:
    return (T0 + dt.timedelta(minutes=15, seconds=seconds)).isoformat()


def test_distance_matches_a_known_value():
    # Prague (50.0755, 14.4378) to Brno (49.1951, 16.6068): about 185 km.
    assert 184_000 < distance_m(50.0755, 14.4378, 49.1951, 16.6068) < 186_500


def test_nothing_to_flag():
    answers = {
        "checkin": {"lat": 50.001, "lon": 14.0},
        "entered": at(0),
        "call": {
            "events": [
                {"event": "dialled", "at": at(0)},
                {"event": "answered", "at": at(12)},
                {"event": "ended", "at": at(200)},
            ]
        },
    }
    assert evidence_flags(FORM, answers, ctx()) == []


def test_each_flag_has_its_reason():
    answers = {
        "checkin": {"lat": 50.01, "lon": 14.0},
        "entered": (T0 - dt.timedelta(hours=1)).isoformat(),
        "call": {
            "events": [
                {"event": "dialled", "at": at(0)},
                {"event": "answered", "at": at(0.2)},
                {"event": "ended", "at": at(5)},
            ]
        },
    }
    flags = with_reused(
        evidence_flags(FORM, answers, ctx(ended_at=T0 + dt.timedelta(minutes=11)), identical_to_location="Brno"),
        {"a" * 64},
    )
    codes = [f.code for f in flags]
    assert codes == [
        "visit.too_short",
        "gps.far",
        "time.outside_window",
        "timing.implausible",
        "call.too_short",
        "photo.reused",
        "answers.identical",
    ]
    assert "1,112 m" in flags[1].reason and "limit 300 m" in flags[1].reason


def test_na_and_missing_answers_are_never_flagged():
    assert evidence_flags(FORM, {"checkin": {"na": True}}, ctx()) == []
    assert evidence_flags(FORM, {}, ctx(location_lat=None, location_lon=None)) == []


def test_a_short_call_timed_from_the_menu_is_flagged_although_dialling_to_answer_passed_give_up():
    """Answered 30 s after leaving the menu (in time) but 80 s after dialling (over give_up_s = 60): the
    conversation (5 s) is measured from the answer, not from the ring time censored at give_up_s."""
    form = msgspec.convert(
        {
            "title": {"en": "x"},
            "sections": [
                {
                    "key": "s",
                    "items": [{"type": "timer_sequence", "key": "call", "give_up_s": 60, "clock_start": "menu_left"}],
                }
            ],
        },
        FormDefinition,
    )
    answers = {
        "call": {
            "events": [
                {"event": "dialled", "at": at(0)},
                {"event": "menu_left", "at": at(50)},
                {"event": "answered", "at": at(80)},
                {"event": "ended", "at": at(85)},
            ]
        }
    }
    flags = evidence_flags(form, answers, ctx(channel="call"))
    assert [(f.code, f.reason) for f in flags] == [("call.too_short", "call: the conversation lasted 5 s")]


def test_reuse_found_under_the_write_lock_takes_the_place_evidence_flags_gives_it():
    flags = [
        Flag(code="visit.too_short", reason="x"),
        Flag(code="photo.reused", reason="old"),
        Flag(code="answers.identical", reason="y"),
    ]
    codes = [f.code for f in with_reused(flags, {"b" * 64, "a" * 64})]
    assert codes == ["visit.too_short", "photo.reused", "photo.reused", "answers.identical"]
    assert [f.reason[11:15] for f in with_reused(flags, {"b" * 64, "a" * 64})[1:3]] == ["aaaa", "bbbb"]
    assert [f.code for f in with_reused(flags, set())] == ["visit.too_short", "answers.identical"]
    assert [f.code for f in with_reused([], {"c" * 64})] == ["photo.reused"]

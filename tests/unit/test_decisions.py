"""Decisions on what was left open (issue 14, item 7) that pure logic carries: a shopper's language
serves a task's by tag prefix, and a censored waiting time scores the same by timer or by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import msgspec
import pytest

from api_schemas.forms import FormDefinition
from backend.campaigns.assignment import Job, Rules, Shopper, auto_assign, served_by, speaks, violations
from backend.scoring.engine import score

NOW = datetime(2026, 6, 1, tzinfo=UTC)
DAY = date(2026, 6, 10)


def _shopper(languages: set[str]) -> Shopper:
    return Shopper(
        id="s1",
        lat=None,
        lon=None,
        languages=frozenset(languages),
        travel_radius_km=None,
        capacity_per_day=3,
        capacity_per_week=10,
    )


def _call(language: str) -> Job:
    start = datetime.combine(DAY, time(9), UTC)
    return Job(
        id="j1",
        location_id="loc-1",
        brand_id="brand-1",
        channel="call",
        lat=None,
        lon=None,
        window_start=start,
        window_end=start + timedelta(hours=4),
        local_date=DAY,
        language=language,
    )


def test_a_language_serves_its_regional_variants_not_the_other_way_round():
    assert served_by("de-AT") == ("de-AT", "de")
    assert speaks({"de"}, "de-AT") and speaks({"de-AT"}, "de-AT") and speaks({"de"}, "de")
    assert not speaks({"de-AT"}, "de") and not speaks({"de-CH"}, "de-AT") and not speaks({"d"}, "de")
    assert violations(_shopper({"de"}), _call("de-AT"), [], Rules(), now=NOW) == []
    assert violations(_shopper({"de-CH"}), _call("de-AT"), [], Rules(), now=NOW) == ["language"]


def test_the_automatic_assigner_matches_languages_the_same_way():
    result = auto_assign([_call("de-AT")], [_shopper({"de"})], [], Rules(), now=NOW)
    assert result.assignments == {"j1": "s1"}
    refused = auto_assign([_call("de")], [_shopper({"de-AT"})], [], Rules(), now=NOW)
    assert refused.assignments == {} and any("language" in r for r in refused.unfilled["j1"])


def _form(*items: dict[str, Any]) -> FormDefinition:
    return msgspec.convert(
        {"title": {"en": "T"}, "sections": [{"type": "section", "key": "s", "items": list(items)}]}, FormDefinition
    )


BANDS = [{"max": 20, "points": 4}, {"min": 20, "max": 60, "points": 2}, {"min": 60, "points": 1}]
TIMED = _form({"type": "timer_sequence", "key": "t", "give_up_s": 60, "bands": BANDS, "metric": "time_to_answer_s"})
BY_HAND = _form(
    {"type": "yes_no", "key": "answered", "metric": "answered", "points_yes": None},
    {"type": "duration", "key": "wait", "max": 60, "bands": BANDS, "metric": "time_to_answer_s"},
)
NEVER_ANSWERED = {
    "events": [
        {"event": "dialled", "at": "2025-03-03T10:00:00+01:00"},
        {"event": "gave_up", "at": "2025-03-03T10:01:00+01:00"},
    ]
}


@pytest.mark.parametrize("wait", [None, 5, 60])
def test_a_censored_time_scores_the_same_by_timer_or_by_hand(wait):
    """Nobody answered: the timer scores the band of give_up_s (60 s: 1 of 4 points); a duration question
    with the call marked not answered scores the band of its deadline (max 60 s), whatever was entered."""
    timed = score(TIMED, {"t": NEVER_ANSWERED})
    answers: dict[str, Any] = {"answered": False} | ({} if wait is None else {"wait": wait})
    by_hand = score(BY_HAND, answers)
    assert timed.calculated == pytest.approx(25.0)
    assert by_hand.calculated == pytest.approx(timed.calculated)
    assert by_hand.metrics["time_to_answer_s"] == timed.metrics["time_to_answer_s"] == 60
    assert by_hand.metrics["time_to_answer_s_censored"] is timed.metrics["time_to_answer_s_censored"] is True


def test_an_answered_call_scores_the_time_entered():
    assert score(BY_HAND, {"answered": True, "wait": 5}).calculated == pytest.approx(100.0)
    assert score(BY_HAND, {"answered": True}).calculated is None  # an optional time left out is not scored

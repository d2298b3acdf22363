"""Timer taps: well-formedness and derived call metrics, including censoring at give-up."""

from __future__ import annotations

import pytest

from backend.forms.timers import derive, timer_problems


def call(*taps: tuple[str, float]) -> dict:
    return {
        "events": [{"event": name, "at": f"2025-03-03T10:{int(s // 60):02d}:{s % 60:06.3f}+01:00"} for name, s in taps]
    }


def test_answered_call_with_menu_hold_and_transfer() -> None:
    m = derive(
        call(
            ("dialled", 0),
            ("menu_left", 15),
            ("answered", 40),
            ("hold_on", 60),
            ("hold_off", 90),
            ("transferred", 95),
            ("hold_on", 100),
            ("hold_off", 110),
            ("ended", 200),
        ),
        give_up_s=300,
        clock_start="ring",
    )
    assert (m.answered, m.censored) == (True, False)
    assert m.time_to_answer_s == 40 and m.time_to_answer_ring_s == 40 and m.time_to_answer_menu_s == 25
    assert m.menu_s == 15 and m.hold_s == 40 and m.transfers == 1 and m.call_s == 200 and m.talk_s == 160


def test_talk_time_runs_from_the_answer_and_is_never_censored() -> None:
    m = derive(
        call(("dialled", 0), ("menu_left", 50), ("answered", 80), ("ended", 85)), give_up_s=60, clock_start="menu_left"
    )
    assert (m.answered, m.time_to_answer_ring_s, m.talk_s) == (True, 60, 5)
    assert (m.ring_censored, m.menu_censored) == (True, False)  # answered by the menu clock, not by the ring's
    assert derive(call(("dialled", 0), ("gave_up", 70)), give_up_s=60).talk_s is None


def test_clock_from_menu_left_keeps_both_figures() -> None:
    m = derive(
        call(("dialled", 0), ("menu_left", 15), ("answered", 40), ("ended", 60)), give_up_s=300, clock_start="menu_left"
    )
    assert m.time_to_answer_s == 25 and m.time_to_answer_ring_s == 40
    assert (m.ring_censored, m.menu_censored) == (False, False)


def test_menu_clock_without_menu_falls_back_to_ring() -> None:
    m = derive(call(("dialled", 0), ("answered", 12), ("ended", 60)), give_up_s=300, clock_start="menu_left")
    assert m.time_to_answer_s == 12 and m.time_to_answer_menu_s is None and m.menu_s is None
    assert (m.ring_censored, m.menu_censored) == (False, None)


def test_never_answered_is_censored_at_give_up_not_zero() -> None:
    m = derive(call(("dialled", 0), ("gave_up", 300)), give_up_s=300)
    assert m.censored and not m.answered
    assert m.time_to_answer_s == 300 and m.time_to_answer_ring_s == 300


def test_answered_after_give_up_is_censored() -> None:
    m = derive(call(("dialled", 0), ("answered", 400), ("ended", 500)), give_up_s=300)
    assert m.censored and not m.answered and m.time_to_answer_s == 300


def test_open_hold_ends_with_the_call() -> None:
    m = derive(call(("dialled", 0), ("answered", 5), ("hold_on", 10), ("ended", 70)), give_up_s=300)
    assert m.hold_s == 60


@pytest.mark.parametrize(
    ("taps", "fragment"),
    [
        ((("answered", 0), ("ended", 5)), "first event must be dialled"),
        ((("dialled", 10), ("answered", 5), ("ended", 20)), "time goes back"),
        ((("dialled", 0), ("answered", 5), ("hold_off", 6), ("ended", 20)), "hold_off without hold_on"),
        ((("dialled", 0), ("answered", 5), ("hold_on", 6), ("hold_on", 7), ("ended", 20)), "already on hold"),
        ((("dialled", 0), ("hold_on", 3), ("answered", 5), ("ended", 20)), "before anyone answered"),
        ((("dialled", 0), ("answered", 5), ("answered", 6), ("ended", 20)), "answered twice"),
        ((("dialled", 0), ("ended", 5), ("answered", 6)), "after the call ended"),
        ((("dialled", 0), ("answered", 5)), "must finish"),
        ((("dialled", 0), ("answered", 5), ("gave_up", 9)), "gave_up after a person answered"),
        ((("dialled", 0), ("answered", 5), ("menu_left", 6), ("ended", 9)), "menu_left must come once"),
        ((("dialled", 0),), "at least"),
    ],
)
def test_malformed_sequences_are_rejected(taps: tuple, fragment: str) -> None:
    problems = timer_problems(call(*taps))
    assert any(fragment in p for p in problems), problems
    with pytest.raises(ValueError):
        derive(call(*taps), give_up_s=300)


@pytest.mark.parametrize(
    "value",
    [
        None,
        [],
        {"events": "x"},
        {"events": [], "extra": 1},
        {
            "events": [
                {"event": "dialled", "at": "2025-03-03T10:00:00"},
                {"event": "ended", "at": "2025-03-03T10:01:00Z"},
            ]
        },
        {"events": [{"event": "rang", "at": "2025-03-03T10:00:00Z"}, {"event": "ended", "at": "2025-03-03T10:01:00Z"}]},
        {
            "events": [
                {"event": ["dialled"], "at": "2025-03-03T10:00:00Z"},
                {"event": "ended", "at": "2025-03-03T10:01:00Z"},
            ]
        },
        {
            "events": [
                {"event": "dialled", "at": "2025-03-03T10:00:00Z"},
                {"event": {"x": 1}, "at": "2025-03-03T10:01:00Z"},
            ]
        },
    ],
)
def test_bad_shapes_and_naive_times_are_rejected(value: object) -> None:
    assert timer_problems(value)


def test_every_problem_is_reported_at_once() -> None:
    problems = timer_problems(call(("answered", 5), ("hold_off", 4), ("answered", 6)))
    assert len(problems) >= 4


@pytest.mark.parametrize(
    ("taps", "clock_start", "early"),
    [
        ((("dialled", 0), ("gave_up", 5)), "ring", True),  # 5 s is no 300 s wait
        ((("dialled", 0), ("gave_up", 299.5)), "ring", False),  # within a thumb's slack
        ((("dialled", 0), ("gave_up", 298)), "ring", True),
        ((("dialled", 0), ("menu_left", 60), ("gave_up", 300)), "menu_left", True),  # only 240 s since the menu
        ((("dialled", 0), ("menu_left", 60), ("gave_up", 360)), "menu_left", False),
        ((("dialled", 0), ("menu_left", 60), ("gave_up", 300)), "ring", False),
        ((("dialled", 0), ("gave_up", 300)), "menu_left", False),  # no menu: the clock starts at the ring
        ((("dialled", 0), ("ended", 5)), "ring", False),  # busy or dropped: ended unanswered, not gave_up
    ],
)
def test_gave_up_must_come_at_the_give_up_time(taps: tuple, clock_start: str, early: bool) -> None:
    problems = timer_problems(call(*taps), 300, clock_start)  # type: ignore[arg-type]
    assert any("before the give-up time" in p for p in problems) == early, problems
    assert not timer_problems(call(*taps))  # well-formed as taps; only the form's give-up time decides

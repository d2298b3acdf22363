"""Worked examples of docs/scoring.md: exact scores, explanations, failures and metrics."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from api_schemas.forms import FormDefinition
from backend.scoring.engine import score

T = "2025-03-03T10:{}+01:00"


def defn(*sections: dict[str, Any]) -> FormDefinition:
    return msgspec.convert({"title": {"en": "T"}, "sections": list(sections)}, FormDefinition)


def section(key: str, *items: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return {"type": "section", "key": key, "items": list(items), **kw}


def yn(key: str, **kw: Any) -> dict[str, Any]:
    return {"type": "yes_no", "key": key, **kw}


def contributions(result: Any) -> dict[str, float]:
    return {i.key: i.contribution for i in result.items}


def test_weights_multiply_down_the_tree() -> None:
    d = defn(
        section("a", yn("q1"), yn("q2", weight=3)),
        section("b", {"type": "rating", "key": "r", "min": 1, "max": 5, "points": 4}, weight=3),
    )
    result = score(d, {"q1": True, "q2": False, "r": 4})
    # a = (1·1 + 3·0)/4 = 0.25; b = 3/4; overall = (1·0.25 + 3·0.75)/4 = 0.625
    assert result.calculated == pytest.approx(62.5)
    assert result.final == result.calculated and not result.failed
    assert contributions(result) == pytest.approx({"q1": 6.25, "q2": 0.0, "r": 56.25})
    r = result.items[2]
    assert (r.earned, r.possible, r.effective_weight, r.section_path, r.status) == (3.0, 4.0, 3.0, ["b"], "scored")


def test_na_hidden_and_optional_unanswered_are_excluded_required_unanswered_is_zero() -> None:
    d = defn(
        section(
            "s",
            yn("a"),
            yn("na", na_allowed=True),
            yn("opt"),
            yn("req", required=True),
            yn("hid", show_if={"op": "eq", "args": [{"op": "var", "key": "a"}, False]}),
        )
    )
    result = score(d, {"a": True, "na": {"na": True}, "hid": True})
    assert result.calculated == pytest.approx(50.0)  # a 1/1 and req 0/1
    assert [i.status for i in result.items] == ["scored", "na", "unanswered", "unanswered", "hidden"]
    assert contributions(result) == pytest.approx({"a": 50, "na": 0, "opt": 0, "req": 0, "hid": 0})


def test_a_hidden_section_is_excluded_entirely() -> None:
    d = defn(
        section("s", yn("gate", points_yes=0, points_no=0), yn("q")),
        section("t", yn("x"), show_if={"op": "eq", "args": [{"op": "var", "key": "gate"}, True]}, weight=5),
    )
    assert score(d, {"gate": False, "q": True, "x": False}).calculated == pytest.approx(100)
    assert score(d, {"gate": True, "q": True, "x": False}).calculated == pytest.approx(100 / 6)


def test_bonus_adds_to_earned_only_and_the_total_is_capped() -> None:
    d = defn(section("s", yn("a", weight=2), yn("b", weight=2), yn("bonus", bonus=True)))
    result = score(d, {"a": True, "b": False, "bonus": True})
    assert result.calculated == pytest.approx(75.0)  # (2 + 0 + 1) / 4
    assert result.items[2].status == "bonus"
    capped = score(d, {"a": True, "b": True, "bonus": True})  # (2 + 2 + 1) / 4 = 125 %
    assert capped.calculated == 100.0
    assert sum(contributions(capped).values()) == pytest.approx(100.0)
    assert contributions(capped) == pytest.approx({"a": 40, "b": 40, "bonus": 20})


def test_a_section_where_only_bonus_counts_is_a_bonus_worth_its_weight() -> None:
    """A section of extras, or one whose other items are all N/A: its bonus is not lost."""
    extras = defn(
        section("main", yn("a"), yn("b"), yn("c"), yn("d")),
        section("extras", yn("x", bonus=True, weight=3), yn("y", bonus=True), weight=0.5),
    )
    result = score(extras, {"a": True, "b": True, "c": False, "d": False, "x": True, "y": False})
    assert result.calculated == pytest.approx(50 + 100 * 0.5 * 3 / 4)  # main 50 %, extras 0.5 × (3 / 4)
    assert contributions(result) == pytest.approx({"a": 25, "b": 25, "c": 0, "d": 0, "x": 37.5, "y": 0})
    all_na = defn(section("s1", yn("a"), yn("b")), section("s2", yn("c", na_allowed=True), yn("x", bonus=True)))
    assert score(all_na, {"a": True, "b": False, "c": {"na": True}, "x": False}).calculated == pytest.approx(50)
    assert score(all_na, {"a": True, "b": False, "c": {"na": True}, "x": True}).calculated == 100.0
    assert score(defn(section("only", yn("x", bonus=True))), {"x": True}).calculated is None  # nothing to add to


def test_critical_failure_keeps_calculated_and_zeroes_final() -> None:
    d = defn(
        section(
            "s",
            yn("polite", critical=True),
            yn("q2"),
            {
                "type": "single_choice",
                "key": "c",
                "critical": True,
                "choices": [{"value": "ok", "points": 1}, {"value": "rude", "points": 0, "fail": True}],
            },
            {"type": "rating", "key": "r", "min": 1, "max": 5, "points": 1, "critical": True, "fail_below": 2},
        )
    )
    ok = score(d, {"polite": True, "q2": True, "c": "ok", "r": 5})
    assert (ok.calculated, ok.final, ok.failed) == (pytest.approx(100), pytest.approx(100), False)
    for answers in ({"polite": False}, {"c": "rude"}, {"r": 1}):
        result = score(d, {"polite": True, "q2": True, "c": "ok", "r": 5, **answers})
        assert result.failed and result.final == 0.0 and result.calculated > 0
        assert sum(i.critical_failed for i in result.items) == 1


def test_non_critical_fail_marks_and_na_do_not_fail() -> None:
    d = defn(section("s", yn("a"), yn("b", critical=True, na_allowed=True)))
    assert not score(d, {"a": False, "b": {"na": True}}).failed


def test_choice_scoring() -> None:
    d = defn(
        section(
            "s",
            {
                "type": "multiple_choice",
                "key": "m",
                "choices": [
                    {"value": "a", "points": 2},
                    {"value": "b", "points": 1},
                    {"value": "c", "points": -1},
                    {"value": "d"},
                ],
            },
            {
                "type": "single_choice",
                "key": "s1",
                "choices": [{"value": "x", "points": 3}, {"value": "y", "points": 1}],
            },
        )
    )
    result = score(d, {"m": ["a", "c"], "s1": "y"})
    m, s1 = result.items
    assert (m.earned, m.possible, s1.earned, s1.possible) == (1, 3, 1, 3)  # the penalty choice c subtracts
    assert result.calculated == pytest.approx(100 * (1 / 3 + 1 / 3) / 2)
    assert score(d, {"m": ["c", "d"], "s1": "x"}).items[0].earned == 0  # clamped at zero, never below


def test_nps_and_negative_points_clamped() -> None:
    d = defn(section("s", {"type": "nps", "key": "n", "points": 10}, yn("p", points_yes=1, points_no=-5)))
    result = score(d, {"n": 7, "p": False})
    assert (result.items[0].earned, result.items[1].earned) == (7, 0)
    assert result.calculated == pytest.approx(35.0)


def test_bands_and_censored_timer_earns_the_give_up_band() -> None:
    bands = [{"max": 20, "points": 2}, {"min": 20, "max": 300, "points": 1}, {"min": 300, "points": 0}]
    d = defn(
        section(
            "s",
            {"type": "timer_sequence", "key": "t", "give_up_s": 300, "bands": bands, "metric": "time_to_answer_s"},
            {"type": "duration", "key": "d", "bands": bands},
        )
    )
    quick = {
        "events": [
            {"event": "dialled", "at": T.format("00:00")},
            {"event": "answered", "at": T.format("00:10")},
            {"event": "ended", "at": T.format("01:00")},
        ]
    }
    never = {"events": [{"event": "dialled", "at": T.format("00:00")}, {"event": "gave_up", "at": T.format("05:00")}]}
    assert score(d, {"t": quick, "d": 20}).calculated == pytest.approx(75)
    result = score(d, {"t": never, "d": 19.9})
    assert result.calculated == pytest.approx(50)
    assert result.items[0].earned == 0 and result.items[0].status == "scored"
    assert result.metrics["time_to_answer_s"] == 300 and result.metrics["time_to_answer_s_censored"] is True
    assert (
        result.metrics["time_to_answer_ring_s_censored"] is True
        and result.metrics["time_to_answer_menu_s_censored"] is None
    )
    assert result.metrics["answered"] is False


def test_everything_na_gives_no_score() -> None:
    d = defn(section("s", yn("a", na_allowed=True), {"type": "text", "key": "t"}))
    result = score(d, {"a": {"na": True}, "t": "fine"})
    assert (result.calculated, result.final, result.failed) == (None, None, False)
    assert [i.status for i in result.items] == ["na", "unscored"]


def test_zero_weight_sections_do_not_count() -> None:
    d = defn(section("s", yn("a")), section("z", yn("b"), weight=0))
    result = score(d, {"a": True, "b": False})
    assert result.calculated == pytest.approx(100) and result.items[1].contribution == 0


def test_metrics_from_tags_and_email_censoring() -> None:
    d = defn(
        section(
            "s",
            yn("replied", metric="answered", fail_on=None),
            {
                "type": "decimal",
                "key": "reply_hours",
                "min": 0,
                "max": 72,
                "metric": "reply_h",
                "show_if": {"op": "eq", "args": [{"op": "var", "key": "replied"}, True]},
            },
            {"type": "nps", "key": "nps", "metric": "nps"},
            {"type": "rating", "key": "csat", "metric": "csat"},
            yn("fcr", metric="fcr"),
        )
    )
    replied = score(d, {"replied": True, "reply_hours": 5.5, "nps": 6, "csat": 4, "fcr": False}).metrics
    assert replied == {
        "answered": True,
        "reply_h": 5.5,
        "reply_h_censored": False,
        "nps": 6,
        "nps_group": "detractor",
        "csat": 4,
        "csat_satisfied": True,
        "fcr": False,
    }
    silent = score(d, {"replied": False}).metrics
    assert silent == {"answered": False, "reply_h": 72.0, "reply_h_censored": True}

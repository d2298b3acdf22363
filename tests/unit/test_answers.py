"""check_answers: every problem at once, by question key, with the documented answer shapes."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from api_schemas.forms import FormDefinition
from backend.forms.answers import check_answers

SHA = "a" * 64
T0 = "2025-03-03T10:00:00+01:00"

DEFN = msgspec.convert({"title": {"en": "T"}, "sections": [
    {"type": "section", "key": "s", "items": [
        {"type": "yes_no", "key": "yn", "required": True},
        {"type": "single_choice", "key": "sc", "choices": [{"value": "a"}, {"value": "b"}]},
        {"type": "multiple_choice", "key": "mc", "choices": [{"value": "a"}, {"value": "b"}]},
        {"type": "rating", "key": "r", "min": 1, "max": 5, "na_allowed": True},
        {"type": "nps", "key": "nps"},
        {"type": "integer", "key": "i", "min": 0, "max": 10,
         "constraint": {"op": "ne", "args": [{"op": "self"}, 7]}, "constraint_message": {"en": "not seven"}},
        {"type": "decimal", "key": "d", "max": 1.5},
        {"type": "duration", "key": "dur"},
        {"type": "timestamp", "key": "ts"},
        {"type": "timer_sequence", "key": "tm"},
        {"type": "text", "key": "tx", "max_length": 5},
        {"type": "photo", "key": "ph"},
        {"type": "file", "key": "fi"},
        {"type": "gps", "key": "g"},
        {"type": "note", "key": "n"},
        {"type": "yes_no", "key": "follow", "required": True,
         "show_if": {"op": "eq", "args": [{"op": "var", "key": "yn"}, False]}},
    ]},
    {"type": "section", "key": "hidden_sec", "show_if": {"op": "eq", "args": [{"op": "var", "key": "sc"}, "b"]},
     "items": [{"type": "yes_no", "key": "inner", "required": True}]},
]}, FormDefinition)

GOOD: dict[str, Any] = {
    "yn": True, "sc": "a", "mc": ["a", "b"], "r": {"na": True}, "nps": 10, "i": 3, "d": 1, "dur": 12.5,
    "ts": T0, "tm": {"events": [{"event": "dialled", "at": T0}, {"event": "gave_up", "at": "2025-03-03T10:05:00+01:00"}]},
    "tx": "hello", "ph": {"attachment": SHA}, "fi": {"attachment": SHA}, "g": {"lat": 50.08, "lon": 14.42, "accuracy_m": 8},
}


def test_every_valid_shape_is_accepted() -> None:
    assert check_answers(DEFN, GOOD) == []
    assert check_answers(DEFN, {"yn": True}) == []  # optional questions may stay unanswered


@pytest.mark.parametrize(("key", "value", "code"), [
    ("yn", 1, "answer.wrong_type"), ("yn", "yes", "answer.wrong_type"),
    ("sc", "c", "answer.unknown_choice"), ("sc", ["a"], "answer.wrong_type"),
    ("mc", ["a", "a"], "answer.duplicate_choice"), ("mc", ["z"], "answer.unknown_choice"), ("mc", "a", "answer.wrong_type"),
    ("r", True, "answer.wrong_type"), ("r", 4.0, "answer.wrong_type"), ("r", 6, "answer.out_of_range"),
    ("nps", 11, "answer.out_of_range"), ("nps", -1, "answer.out_of_range"),
    ("i", 11, "answer.out_of_range"), ("i", 7, "answer.constraint: not seven"), ("i", False, "answer.wrong_type"),
    ("d", 2, "answer.out_of_range"), ("d", True, "answer.wrong_type"), ("dur", "12", "answer.wrong_type"),
    ("ts", "2025-03-03T10:00:00", "answer.wrong_type"), ("ts", "yesterday", "answer.wrong_type"),
    ("tm", {"events": [{"event": "answered", "at": T0}]}, "answer.bad_timer"),
    ("tx", "too long", "answer.too_long"), ("tx", 5, "answer.wrong_type"),
    ("ph", {"attachment": "xyz"}, "answer.wrong_type"), ("fi", "a" * 64, "answer.wrong_type"),
    ("g", {"lat": 91, "lon": 0}, "answer.out_of_range"), ("g", {"lat": 1}, "answer.wrong_type"),
    ("n", "anything", "answer.not_answerable"), ("n", {"na": True}, "answer.not_answerable"),
    ("yn", {"na": True}, "answer.na_not_allowed"), ("r", {"na": True, "x": 1}, "answer.wrong_type"),
    ("sc", None, "answer.null"),
    # JSON integers beyond what a double holds exactly (they used to raise OverflowError: a 500).
    ("d", 10**400, "answer.wrong_type"), ("dur", 10**400, "answer.wrong_type"), ("i", 2**53 + 1, "answer.wrong_type"),
    ("g", {"lat": 10**400, "lon": 0}, "answer.out_of_range"),
])
def test_bad_answers_are_reported_with_their_key(key: str, value: Any, code: str) -> None:
    answers = {**GOOD, key: value}
    found = check_answers(DEFN, answers)
    assert any(k == key and reason.startswith(code) for k, reason in found), found


def test_required_only_when_shown_and_hidden_answers_rejected() -> None:
    assert check_answers(DEFN, {"yn": False}) == [("follow", "answer.required: the question is shown and required")]
    assert check_answers(DEFN, {"yn": True}) == []
    found = dict(check_answers(DEFN, {"yn": True, "follow": True}))
    assert found["follow"].startswith("answer.hidden")
    # A question in a hidden section is hidden; showing the section makes it required.
    assert check_answers(DEFN, {"yn": True, "sc": "a", "inner": True})[0][0] == "inner"
    assert check_answers(DEFN, {"yn": True, "sc": "b"}) == [("inner", "answer.required: the question is shown and required")]


def test_all_problems_are_reported_at_once_including_unknown_keys() -> None:
    found = check_answers(DEFN, {"sc": "zz", "nps": 99, "bogus": 1, "s": True})
    assert [k for k, _ in found] == ["yn", "sc", "nps", "bogus", "s"]

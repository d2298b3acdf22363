"""check_answers: every problem at once, by question key, with the documented answer shapes."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api_schemas.forms import FormDefinition
from backend.forms.answers import check_answers

SHA = "a" * 64
T0 = "2025-03-03T10:00:00+01:00"

DEFN = msgspec.convert(
    {
        "title": {"en": "T"},
        "sections": [
            {
                "type": "section",
                "key": "s",
                "items": [
                    {"type": "yes_no", "key": "yn", "required": True},
                    {"type": "single_choice", "key": "sc", "choices": [{"value": "a"}, {"value": "b"}]},
                    {"type": "multiple_choice", "key": "mc", "choices": [{"value": "a"}, {"value": "b"}]},
                    {"type": "rating", "key": "r", "min": 1, "max": 5, "na_allowed": True},
                    {"type": "nps", "key": "nps"},
                    {
                        "type": "integer",
                        "key": "i",
                        "min": 0,
                        "max": 10,
                        "constraint": {"op": "ne", "args": [{"op": "self"}, 7]},
                        "constraint_message": {"en": "not seven"},
                    },
                    {"type": "decimal", "key": "d", "max": 1.5},
                    {"type": "duration", "key": "dur"},
                    {"type": "timestamp", "key": "ts"},
                    {"type": "timer_sequence", "key": "tm"},
                    {"type": "text", "key": "tx", "max_length": 5},
                    {"type": "photo", "key": "ph"},
                    {"type": "file", "key": "fi"},
                    {"type": "gps", "key": "g"},
                    {"type": "note", "key": "n"},
                    {
                        "type": "yes_no",
                        "key": "follow",
                        "required": True,
                        "show_if": {"op": "eq", "args": [{"op": "var", "key": "yn"}, False]},
                    },
                ],
            },
            {
                "type": "section",
                "key": "hidden_sec",
                "show_if": {"op": "eq", "args": [{"op": "var", "key": "sc"}, "b"]},
                "items": [{"type": "yes_no", "key": "inner", "required": True}],
            },
        ],
    },
    FormDefinition,
)

GOOD: dict[str, Any] = {
    "yn": True,
    "sc": "a",
    "mc": ["a", "b"],
    "r": {"na": True},
    "nps": 10,
    "i": 3,
    "d": 1,
    "dur": 12.5,
    "ts": T0,
    "tm": {"events": [{"event": "dialled", "at": T0}, {"event": "gave_up", "at": "2025-03-03T10:05:00+01:00"}]},
    "tx": "hello",
    "ph": {"attachment": SHA},
    "fi": {"attachment": SHA},
    "g": {"lat": 50.08, "lon": 14.42, "accuracy_m": 8},
}


def test_every_valid_shape_is_accepted() -> None:
    assert check_answers(DEFN, GOOD) == []
    assert check_answers(DEFN, {"yn": True}) == []  # optional questions may stay unanswered


@pytest.mark.parametrize(
    ("key", "value", "code"),
    [
        ("yn", 1, "answer.wrong_type"),
        ("yn", "yes", "answer.wrong_type"),
        ("sc", "c", "answer.unknown_choice"),
        ("sc", ["a"], "answer.wrong_type"),
        ("mc", ["a", "a"], "answer.duplicate_choice"),
        ("mc", ["z"], "answer.unknown_choice"),
        ("mc", "a", "answer.wrong_type"),
        ("r", True, "answer.wrong_type"),
        ("r", 4.0, "answer.wrong_type"),
        ("r", 6, "answer.out_of_range"),
        ("nps", 11, "answer.out_of_range"),
        ("nps", -1, "answer.out_of_range"),
        ("i", 11, "answer.out_of_range"),
        ("i", 7, "answer.constraint: not seven"),
        ("i", False, "answer.wrong_type"),
        ("d", 2, "answer.out_of_range"),
        ("d", True, "answer.wrong_type"),
        ("dur", "12", "answer.wrong_type"),
        ("ts", "2025-03-03T10:00:00", "answer.wrong_type"),
        ("ts", "yesterday", "answer.wrong_type"),
        ("tm", {"events": [{"event": "answered", "at": T0}]}, "answer.bad_timer"),
        ("tx", "too long", "answer.too_long"),
        ("tx", 5, "answer.wrong_type"),
        ("ph", {"attachment": "xyz"}, "answer.wrong_type"),
        ("fi", "a" * 64, "answer.wrong_type"),
        ("g", {"lat": 91, "lon": 0}, "answer.out_of_range"),
        ("g", {"lat": 1}, "answer.wrong_type"),
        ("n", "anything", "answer.not_answerable"),
        ("n", {"na": True}, "answer.not_answerable"),
        ("yn", {"na": True}, "answer.na_not_allowed"),
        ("r", {"na": True, "x": 1}, "answer.wrong_type"),
        ("sc", None, "answer.null"),
        # JSON integers beyond what a double holds exactly (they used to raise OverflowError: a 500).
        ("d", 10**400, "answer.wrong_type"),
        ("dur", 10**400, "answer.wrong_type"),
        ("i", 2**53 + 1, "answer.wrong_type"),
        ("g", {"lat": 10**400, "lon": 0}, "answer.out_of_range"),
    ],
)
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
    assert check_answers(DEFN, {"yn": True, "sc": "b"}) == [
        ("inner", "answer.required: the question is shown and required")
    ]


def test_all_problems_are_reported_at_once_including_unknown_keys() -> None:
    found = check_answers(DEFN, {"sc": "zz", "nps": 99, "bogus": 1, "s": True})
    assert [k for k, _ in found] == ["yn", "sc", "nps", "bogus", "s"]


# Required means answered, exactly as the condition language's `answered` says: a blank string
# (empty or only the blank characters listed in backend/forms/conditions.py) answers nothing.
BLANK_CHARS = (
    "\t\n\v\f\r\x1c\x1d\x1e\x1f \x85\xa0\u1680"
    + "".join(map(chr, range(0x2000, 0x200B)))
    + "\u2028\u2029\u202f\u205f\u3000\ufeff"
)
REQUIRED_BLANK = (
    "answer.required: the question is shown and required, and a blank answer (empty or only spaces) does not answer it"
)

REQ = msgspec.convert(
    {
        "title": {"en": "T"},
        "sections": [
            {
                "type": "section",
                "key": "s",
                "items": [
                    {"type": "text", "key": "why", "required": True, "max_length": 60},
                    {"type": "text", "key": "remark"},
                    {"type": "single_choice", "key": "sc", "required": True, "choices": [{"value": "a"}]},
                    {
                        "type": "multiple_choice",
                        "key": "mc",
                        "required": True,
                        "choices": [{"value": "a"}, {"value": "b"}],
                    },
                    {
                        "type": "multiple_choice",
                        "key": "mc_one",
                        "required": True,
                        "choices": [{"value": "a"}],
                        "constraint": {"op": "ge", "args": [{"op": "count", "args": [{"op": "self"}]}, 1]},
                        "constraint_message": {"en": "pick at least one"},
                    },
                    {"type": "timestamp", "key": "ts", "required": True},
                    {"type": "yes_no", "key": "yn", "required": True},
                    {"type": "integer", "key": "n", "required": True},
                    {"type": "text", "key": "detail", "required": True, "show_if": {"op": "answered", "key": "why"}},
                ],
            }
        ],
    },
    FormDefinition,
)
REQ_GOOD: dict[str, Any] = {
    "why": "door was locked",
    "sc": "a",
    "mc": ["a"],
    "mc_one": ["a"],
    "ts": T0,
    "yn": True,
    "n": 3,
    "detail": "at 10:05",
}


def _without(answers: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in answers.items() if k not in keys}


@pytest.mark.parametrize(
    "blank", ["", " ", "   ", "\t\n", "\r\n", "\u00a0", "\u3000", "\ufeff", " \u2003 ", BLANK_CHARS]
)
def test_required_text_refuses_an_empty_or_whitespace_only_answer(blank: str) -> None:
    # `detail` is shown only once `why` is answered, so a blank `why` hides it: only `why` is wrong.
    answers = {**_without(REQ_GOOD, "detail"), "why": blank}
    assert check_answers(REQ, answers) == [("why", REQUIRED_BLANK)]


@pytest.mark.parametrize("key", ["sc", "ts"])
@pytest.mark.parametrize("blank", ["", "  "])
def test_a_blank_string_to_any_required_question_is_reported_as_unanswered(key: str, blank: str) -> None:
    # Not "unknown choice" or "wrong type": the shopper left it empty, and that is what they are told.
    assert check_answers(REQ, {**REQ_GOOD, key: blank}) == [(key, REQUIRED_BLANK)]


def test_text_with_blanks_around_words_answers_a_required_question() -> None:
    assert check_answers(REQ, {**REQ_GOOD, "why": " \u00a0door was locked\n"}) == []


def test_an_optional_text_may_stay_blank() -> None:
    assert check_answers(REQ, {**REQ_GOOD, "remark": ""}) == []
    assert check_answers(REQ, {**REQ_GOOD, "remark": " \t "}) == []


def test_false_zero_and_no_choice_answer_a_required_question() -> None:
    # [] is the documented "none of them"; a form needing a choice says so with count(self) >= 1.
    assert check_answers(REQ, {**REQ_GOOD, "yn": False, "n": 0, "mc": []}) == []
    assert check_answers(REQ, {**REQ_GOOD, "mc_one": []}) == [("mc_one", "answer.constraint: pick at least one")]


def test_show_if_answered_and_required_agree_about_a_blank_answer() -> None:
    # A blank `why` is unanswered for both: it is refused as required, and `detail` (shown only when
    # `why` is answered) is hidden, so an answer to it is refused and its absence is fine.
    with_detail = check_answers(REQ, {**REQ_GOOD, "why": "  "})
    assert with_detail[0] == ("why", REQUIRED_BLANK)
    assert with_detail[1][0] == "detail" and with_detail[1][1].startswith("answer.hidden")
    assert check_answers(REQ, _without(REQ_GOOD, "detail")) == [
        ("detail", "answer.required: the question is shown and required")
    ]


_SOME_TEXT = st.text(alphabet=st.sampled_from(BLANK_CHARS) | st.characters(blacklist_categories=("Cs",)), max_size=60)


@given(_SOME_TEXT)
@settings(max_examples=300, deadline=None)
def test_a_required_text_is_answered_exactly_when_it_has_a_non_blank_character(text: str) -> None:
    blank = all(c in BLANK_CHARS for c in text)
    # `detail` is shown exactly when `why` is answered, so it is answered exactly then.
    answers = {**_without(REQ_GOOD, "detail"), "why": text} if blank else {**REQ_GOOD, "why": text}
    assert check_answers(REQ, answers) == ([("why", REQUIRED_BLANK)] if blank else [])
    if not text.strip():  # whatever Python calls white space is blank here too
        assert blank

"""The built-in templates are valid definitions, bilingual, and score realistic reports."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from api_schemas.forms import FormDefinition
from backend.forms.answers import check_answers
from backend.forms.definition import check_definition, iter_questions, question_type
from backend.scoring.engine import score
from mobile_forms.templates import TEMPLATE_NAMES, load_template

T = "2025-03-03T10:{}+01:00"
SHA = "0123456789abcdef" * 4


def events(*taps: tuple[str, str]) -> dict[str, Any]:
    return {"events": [{"event": e, "at": T.format(at)} for e, at in taps]}


SAMPLES: dict[str, dict[str, Any]] = {
    "test_call": {
        "call_timer": events(
            ("dialled", "00:00"),
            ("menu_left", "00:20"),
            ("answered", "00:45"),
            ("hold_on", "01:00"),
            ("hold_off", "01:30"),
            ("ended", "05:00"),
        ),
        "person_answered": True,
        "rings": 3,
        "right_person": True,
        "greeting": True,
        "no_interrupt": True,
        "polite": True,
        "solutions": False,
        "used_name": {"na": True},
        "thanked": True,
        "offered_callback": {"na": True},
        "friendliness": 4,
        "fcr": True,
        "nps": 9,
        "csat": 5,
    },
    "test_email": {
        "sent_at": T.format("00:00"),
        "replied_in_deadline": True,
        "reply_hours": 6.5,
        "auto_ack": True,
        "answered_all": True,
        "correct": True,
        "personal": False,
        "polite": True,
        "thanked": False,
        "signature": True,
        "clarity": 4,
        "fcr": True,
        "csat": 4,
    },
    "live_chat": {
        "chat_available": True,
        "agent_reached": True,
        "wait_s": 45,
        "bot_first": True,
        "greeting": True,
        "polite": True,
        "solutions": True,
        "no_scripts": False,
        "thanked": True,
        "offered": ["link", "transcript"],
        "language": "english_only",
        "competence": 5,
        "fcr": False,
        "nps": 7,
        "csat": 3,
    },
    "store_visit": {
        "checkin": {"lat": 50.087, "lon": 14.421, "accuracy_m": 12},
        "entered_at": T.format("00:00"),
        "storefront": {"attachment": SHA},
        "entrance_clean": True,
        "opening_hours": True,
        "wait_s": 95,
        "greeted": True,
        "needs": True,
        "knowledge": 4,
        "recommended": ["product"],
        "upsell_pushy": False,
        "thanked": True,
        "queue": "short",
        "serve_s": 120,
        "receipt": True,
        "safety_hazard": False,
        "nps": 8,
        "csat": 4,
        "receipt_photo": {"attachment": SHA},
    },
}


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_template_is_valid_and_bilingual(name: str) -> None:
    raw = load_template(name)
    assert check_definition(raw) == []
    defn = msgspec.convert(raw, FormDefinition)
    assert {"en", "de"} <= set(defn.title)
    for info in iter_questions(defn):
        assert {"en", "de"} <= set(info.question.label), info.question.key


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_template_scores_a_realistic_report(name: str) -> None:
    defn = msgspec.convert(load_template(name), FormDefinition)
    answers = SAMPLES[name]
    assert check_answers(defn, answers) == []
    result = score(defn, answers)
    assert result.calculated is not None and 50 < result.calculated < 100 and not result.failed
    assert sum(i.contribution for i in result.items) == pytest.approx(result.calculated)
    assert result.metrics


def test_test_call_has_what_the_demo_needs_and_censors_an_unanswered_call() -> None:
    defn = msgspec.convert(load_template("test_call"), FormDefinition)
    types = [(question_type(i.question), i.question.metric) for i in iter_questions(defn)]
    assert sum(1 for t, _ in types if t == "yes_no") >= 5
    assert any(t == "rating" for t, _ in types)
    assert any(
        t in ("duration", "timer_sequence") and m is not None and m.value == "time_to_answer_s" for t, m in types
    )
    answers = {"call_timer": events(("dialled", "00:00"), ("gave_up", "05:00")), "person_answered": False}
    assert check_answers(defn, answers) == []
    result = score(defn, answers)
    assert result.calculated == 0 and result.metrics["time_to_answer_s"] == 300
    assert result.metrics["time_to_answer_s_censored"] is True and result.metrics["answered"] is False


def test_test_email_without_reply_is_censored_at_the_deadline() -> None:
    defn = msgspec.convert(load_template("test_email"), FormDefinition)
    answers = {"sent_at": T.format("00:00"), "replied_in_deadline": False, "auto_ack": True}
    assert check_answers(defn, answers) == []
    result = score(defn, answers)
    assert result.metrics["reply_h"] == 72 and result.metrics["reply_h_censored"] is True


def test_unknown_template_name() -> None:
    with pytest.raises(KeyError):
        load_template("nope")

"""Scoring properties over random definitions and answers (hypothesis)."""

from __future__ import annotations

import copy
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api_schemas.forms import FormDefinition
from backend.forms.definition import check_definition
from backend.scoring.engine import score

weights = st.sampled_from([0.0, 0.5, 1.0, 1.0, 2.0, 3.5])
points = st.sampled_from([None, -2.0, 0.0, 1.0, 2.0, 5.0])


@st.composite
def question(draw: st.DrawFn, key: str, earlier_yes_no: list[str]) -> dict[str, Any]:
    kind = draw(st.sampled_from(["yes_no", "single_choice", "multiple_choice", "rating", "nps", "integer", "text"]))
    q: dict[str, Any] = {
        "type": kind,
        "key": key,
        "weight": draw(weights),
        "na_allowed": draw(st.booleans()),
        "required": draw(st.booleans()),
    }
    if kind != "text":
        q["bonus"] = draw(st.booleans()) and draw(st.booleans())
    if earlier_yes_no and draw(st.booleans()):
        q["show_if"] = {
            "op": "eq",
            "args": [{"op": "var", "key": draw(st.sampled_from(earlier_yes_no))}, draw(st.booleans())],
        }
    if kind == "yes_no":
        q |= {"points_yes": draw(points), "points_no": draw(points), "critical": draw(st.booleans())}
    elif kind in ("single_choice", "multiple_choice"):
        n = draw(st.integers(1, 4))
        q["choices"] = [{"value": f"c{i}", "points": draw(points), "fail": draw(st.booleans())} for i in range(n)]
        q["critical"] = any(c["fail"] for c in q["choices"]) and draw(st.booleans())
    elif kind == "rating":
        q |= {"min": 1, "max": 5, "points": draw(points)}
    elif kind == "nps":
        q["points"] = draw(points)
    elif kind == "integer":
        q |= {
            "min": 0,
            "max": 100,
            "bands": [
                {"max": 10, "points": draw(points) or 0.0},
                {"min": 10, "max": 50, "points": draw(points) or 0.0},
                {"min": 50, "points": draw(points) or 0.0},
            ],
        }
    return q


@st.composite
def definition(draw: st.DrawFn) -> dict[str, Any]:
    yes_no: list[str] = []
    counter = 0

    def items(depth: int) -> list[dict[str, Any]]:
        nonlocal counter
        result = []
        for _ in range(draw(st.integers(1, 4))):
            if depth < 2 and draw(st.integers(0, 4)) == 0:
                counter += 1
                result.append(
                    {"type": "section", "key": f"s{counter}", "weight": draw(weights), "items": items(depth + 1)}
                )
            else:
                counter += 1
                q = draw(question(f"q{counter}", list(yes_no)))
                if q["type"] == "yes_no":
                    yes_no.append(q["key"])
                result.append(q)
        return result

    sections = []
    for _ in range(draw(st.integers(1, 3))):
        counter += 1
        sections.append({"type": "section", "key": f"s{counter}", "weight": draw(weights), "items": items(1)})
    return {"title": {"en": "random"}, "sections": sections}


def _questions(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for item in items:
        found += _questions(item["items"]) if item["type"] == "section" else [item]
    return found


@st.composite
def answer_for(draw: st.DrawFn, q: dict[str, Any]) -> Any:
    kind = q["type"]
    if q["na_allowed"] and draw(st.integers(0, 5)) == 0:
        return {"na": True}
    if kind == "yes_no":
        return draw(st.booleans())
    if kind == "single_choice":
        return draw(st.sampled_from([c["value"] for c in q["choices"]]))
    if kind == "multiple_choice":
        return draw(st.lists(st.sampled_from([c["value"] for c in q["choices"]]), unique=True))
    if kind == "rating":
        return draw(st.integers(1, 5))
    if kind == "nps":
        return draw(st.integers(0, 10))
    if kind == "integer":
        return draw(st.integers(0, 100))
    return draw(st.text(max_size=5))


@st.composite
def case(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    raw = draw(definition())
    answers = {}
    for q in _questions(raw["sections"]):
        if draw(st.integers(0, 4)) > 0:
            answers[q["key"]] = draw(answer_for(q))
    return raw, answers


def build(raw: dict[str, Any]) -> FormDefinition:
    return msgspec.convert(raw, FormDefinition)


def same_score(a: float | None, b: float | None) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and a == pytest.approx(b, abs=1e-9))


@settings(max_examples=200, deadline=None)
@given(case())
def test_score_is_between_0_and_100_and_contributions_sum_to_it(c: tuple[dict, dict]) -> None:
    raw, answers = c
    assert check_definition(raw) == []
    result = score(build(raw), answers)
    total = sum(i.contribution for i in result.items)
    if result.calculated is None:
        assert total == 0 and (result.final is None or result.failed)
    else:
        assert 0 <= result.calculated <= 100
        assert total == pytest.approx(result.calculated, abs=1e-9)
        assert result.final == (0.0 if result.failed else result.calculated)
    assert result.failed == any(i.critical_failed for i in result.items)


@settings(max_examples=200, deadline=None)
@given(case(), st.data())
def test_adding_an_na_item_changes_nothing(c: tuple[dict, dict], data: st.DataObject) -> None:
    raw, answers = c
    before = score(build(raw), answers)
    changed = copy.deepcopy(raw)
    target = data.draw(st.sampled_from(changed["sections"]))
    target["items"].insert(
        data.draw(st.integers(0, len(target["items"]))),
        {"type": "yes_no", "key": "extra_na", "na_allowed": True, "weight": 7, "critical": True},
    )
    after = score(build(changed), {**answers, "extra_na": {"na": True}})
    assert same_score(before.calculated, after.calculated) and before.failed == after.failed


@settings(max_examples=200, deadline=None)
@given(case(), st.sampled_from([0.01, 0.5, 3.0, 100.0]))
def test_scaling_all_weights_changes_nothing(c: tuple[dict, dict], factor: float) -> None:
    raw, answers = c
    scaled = copy.deepcopy(raw)

    def scale(items: list[dict[str, Any]]) -> None:
        for item in items:
            item["weight"] = item["weight"] * factor
            if item["type"] == "section":
                scale(item["items"])

    scale(scaled["sections"])
    assert same_score(score(build(raw), answers).calculated, score(build(scaled), answers).calculated)


@settings(max_examples=200, deadline=None)
@given(case(), st.data())
def test_hidden_questions_never_change_the_score(c: tuple[dict, dict], data: st.DataObject) -> None:
    raw, answers = c
    before = score(build(raw), answers)
    changed = copy.deepcopy(raw)
    target = data.draw(st.sampled_from(changed["sections"]))
    never = {"op": "and", "args": [False]}
    hidden_q = {
        "type": "yes_no",
        "key": "extra_hidden",
        "weight": 5,
        "critical": True,
        "show_if": never,
        "na_allowed": False,
        "required": True,
    }
    target["items"].append(hidden_q)
    after = score(build(changed), {**answers, "extra_hidden": data.draw(st.booleans())})
    assert same_score(before.calculated, after.calculated) and before.failed == after.failed
    # Changing the answers of questions that are hidden anyway changes nothing either.
    hidden_keys = [i.key for i in before.items if i.status == "hidden"]
    qs = {q["key"]: q for q in _questions(raw["sections"])}
    tweaked = dict(answers)
    for key in hidden_keys:
        tweaked[key] = data.draw(answer_for(qs[key]))
    again = score(build(raw), tweaked)
    assert same_score(before.calculated, again.calculated) and before.failed == again.failed

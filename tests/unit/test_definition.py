"""Definition walking (weights multiply down the tree) and check_definition's every-problem report."""

from __future__ import annotations

from typing import Any

import msgspec

from api_schemas.forms import FormDefinition
from backend.forms.definition import (
    PER_DEFINITION_LIMIT,
    check_definition,
    find_question,
    iter_questions,
    outline,
    visibility,
)


def var(key: str) -> dict[str, Any]:
    return {"op": "var", "key": key}


def form(*sections: dict[str, Any]) -> dict[str, Any]:
    return {"title": {"en": "T"}, "sections": list(sections)}


def section(key: str, *items: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return {"type": "section", "key": key, "items": list(items), **kw}


def yn(key: str, **kw: Any) -> dict[str, Any]:
    return {"type": "yes_no", "key": key, **kw}


def problems(defn: dict[str, Any]) -> set[tuple[str, str]]:
    return {(p.path, p.reason) for p in check_definition(defn)}


def paths(defn: dict[str, Any]) -> list[str]:
    return [p.path for p in check_definition(defn)]


def test_iter_questions_multiplies_weights_and_records_paths() -> None:
    defn = msgspec.convert(
        form(
            section("a", yn("q1", weight=2), section("b", yn("q2", weight=3), weight=0.5), weight=4),
            section("c", yn("q3")),
        ),
        FormDefinition,
    )
    infos = list(iter_questions(defn))
    assert [(i.question.key, i.path, i.section_path, i.effective_weight) for i in infos] == [
        ("q1", "sections[0].items[0]", ("a",), 8.0),
        ("q2", "sections[0].items[1].items[0]", ("a", "b"), 6.0),
        ("q3", "sections[1].items[0]", ("c",), 1.0),
    ]
    assert find_question(defn, "q2").key == "q2" and find_question(defn, "b") is None


def test_a_valid_definition_has_no_problems() -> None:
    assert (
        check_definition(form(section("s", yn("q1"), yn("q2", show_if={"op": "eq", "args": [var("q1"), True]})))) == []
    )


def test_every_problem_is_reported_at_once_with_paths() -> None:
    defn = form(
        section(
            "s",
            yn("q1", show_if={"op": "eq", "args": [var("q2"), True]}),  # later question
            yn("q2", show_if={"op": "answered", "key": "nope"}),  # unknown question
            yn("q1"),  # duplicate key
            {"type": "single_choice", "key": "c", "choices": [{"value": "a"}, {"value": "a"}]},
            {"type": "text", "key": "t", "critical": True},
            {
                "type": "integer",
                "key": "n",
                "metric": "nps",
                "bands": [{"min": 0, "max": 10, "points": 1}, {"min": 5, "max": 20, "points": 2}],
            },
            {"type": "rating", "key": "r", "min": 5, "max": 5},
            yn("q3", show_if={"op": "eq", "args": [var("q3"), True]}),  # itself
            yn("q4", show_if={"op": "not", "args": [True, False]}),  # wrong arity
        ),
    )
    found = paths(defn)
    for expected in [
        "sections[0].items[0].show_if",
        "sections[0].items[1].show_if",
        "sections[0].items[2].key",
        "sections[0].items[3].choices[1].value",
        "sections[0].items[4].critical",
        "sections[0].items[5].metric",
        "sections[0].items[5].bands[1]",
        "sections[0].items[6].max",
        "sections[0].items[7].show_if",
        "sections[0].items[8].show_if",
    ]:
        assert expected in found, (expected, found)
    reasons = " | ".join(p.reason for p in check_definition(defn))
    assert "later" in reasons and "unknown" in reasons and "duplicate key" in reasons and "cycle" in reasons


def test_questions_and_sections_share_one_namespace() -> None:
    assert "sections[0].items[0].key" in paths(form(section("x", yn("x"))))


def test_section_condition_may_not_look_inside_itself() -> None:
    defn = form(section("s", yn("q1"), show_if={"op": "eq", "args": [var("q1"), True]}))
    assert any("cycle" in r for p, r in problems(defn) if p == "sections[0].show_if")


def test_condition_on_a_section_key_is_a_problem() -> None:
    defn = form(section("s", yn("q1")), section("t", yn("q2", show_if={"op": "answered", "key": "s"})))
    assert "sections[1].items[0].show_if" in paths(defn)


def test_constraint_may_use_self_and_own_key_but_show_if_may_not_use_self() -> None:
    ok = form(
        section(
            "s",
            {
                "type": "integer",
                "key": "n",
                "constraint": {
                    "op": "and",
                    "args": [{"op": "ge", "args": [{"op": "self"}, 0]}, {"op": "le", "args": [var("n"), 10]}],
                },
            },
        )
    )
    assert check_definition(ok) == []
    bad = form(section("s", yn("q", show_if={"op": "eq", "args": [{"op": "self"}, True]})))
    assert "sections[0].items[0].show_if" in paths(bad)


def test_metric_tags_must_fit_the_question_type() -> None:
    ok = form(
        section(
            "s",
            {"type": "nps", "key": "a", "metric": "nps"},
            {"type": "rating", "key": "b", "metric": "csat"},
            yn("c", metric="fcr"),
            {"type": "duration", "key": "d", "metric": "time_to_answer_s"},
            {"type": "timer_sequence", "key": "e", "metric": "time_to_answer_s"},
        )
    )
    assert check_definition(ok) == []
    bad = form(
        section(
            "s",
            {"type": "rating", "key": "a", "metric": "nps"},
            yn("b", metric="csat"),
            {"type": "text", "key": "c", "metric": "time_to_answer_s"},
            {"type": "nps", "key": "d", "metric": "fcr"},
            {"type": "timer_sequence", "key": "e", "metric": "hold_s"},
        )
    )
    assert paths(bad) == [f"sections[0].items[{i}].metric" for i in range(5)]


def test_negative_weight_and_empty_definition() -> None:
    # A Struct built in code is not validated by msgspec, so the checker still looks.
    defn = msgspec.convert(form(section("s", yn("q"))), FormDefinition)
    defn.sections[0].weight = -1
    assert "sections[0].weight" in paths(msgspec.to_builtins(defn)) or any(
        p.path == "sections[0].weight" for p in check_definition(defn)
    )
    assert [p.path for p in check_definition(form(section("s")))] == ["sections", "sections[0].items"]


def test_critical_needs_a_failing_answer() -> None:
    defn = form(
        section(
            "s",
            yn("a", critical=True, fail_on=None),
            {"type": "rating", "key": "r", "critical": True},
            {"type": "single_choice", "key": "c", "critical": True, "choices": [{"value": "x"}]},
            {"type": "rating", "key": "ok", "critical": True, "fail_below": 3},
        )
    )
    assert paths(defn) == [f"sections[0].items[{i}].critical" for i in range(3)]


def test_band_edges_may_touch_but_not_overlap() -> None:
    touching = form(
        section(
            "s",
            {
                "type": "duration",
                "key": "d",
                "bands": [{"max": 20, "points": 2}, {"min": 20, "max": 60, "points": 1}, {"min": 60, "points": 0}],
            },
        )
    )
    assert check_definition(touching) == []
    open_ended = form(
        section("s", {"type": "duration", "key": "d", "bands": [{"points": 2}, {"min": 60, "points": 0}]})
    )
    assert paths(open_ended) == ["sections[0].items[0].bands[1]"]


def test_unknown_op_in_plain_json_is_a_shape_error() -> None:
    found = check_definition(form(section("s", yn("q", show_if={"op": "bogus"}))))
    assert [p.path for p in found] == ["sections[0].items[0].show_if.op"]


def test_a_choice_value_must_not_be_blank() -> None:
    # A blank string never answers a required question, so a blank choice could never be chosen.
    for blank in (" ", "\t", "\ufeff", "\u00a0\u3000"):
        found = problems(
            form(section("s", {"type": "single_choice", "key": "c", "choices": [{"value": "a"}, {"value": blank}]}))
        )
        assert found == {("sections[0].items[0].choices[1].value", "choice without a value")}, blank


def test_shape_errors_from_plain_json_are_reported_with_a_path() -> None:
    found = check_definition(form(section("s", {"type": "single_choice", "key": "c", "choices": [{"label": {}}]})))
    assert len(found) == 1 and found[0].path == "sections[0].items[0].choices[0]"


def test_visibility_hides_questions_in_hidden_sections_and_ignores_hidden_answers() -> None:
    defn = msgspec.convert(
        form(
            section("s", yn("gate"), yn("inner", show_if={"op": "eq", "args": [var("gate"), True]})),
            section(
                "t",
                yn("later", show_if={"op": "eq", "args": [var("inner"), True]}),
                show_if={"op": "eq", "args": [var("gate"), True]},
            ),
        ),
        FormDefinition,
    )
    view = visibility(defn, {"gate": False, "inner": True})
    assert view.shown == {"s": True, "gate": True, "inner": False, "t": False, "later": False}
    assert view.answers == {"gate": False}


def test_the_per_definition_cache_is_per_object_and_bounded() -> None:
    """Each report reuses its form's walked outline, but a different form never gets another's."""
    one = msgspec.convert(form(section("s", yn("a"))), FormDefinition)
    assert outline(one) is outline(one)
    assert [i.question.key for i in outline(one).questions] == ["a"]
    for i in range(PER_DEFINITION_LIMIT + 5):  # short-lived forms: ids get reused, entries evicted
        other = msgspec.convert(form(section("s", yn(f"q{i}"))), FormDefinition)
        assert [info.question.key for info in outline(other).questions] == [f"q{i}"]
    assert len(outline.cache) == PER_DEFINITION_LIMIT  # type: ignore[attr-defined]
    assert [i.question.key for i in outline(one).questions] == ["a"]


def test_keys_starting_with_two_underscores_are_refused() -> None:
    """`answers["__proto__"] = v` sets no key in the phone's JavaScript: conditions would differ there."""
    for key in ("__proto__", "__x"):
        bad = {"title": {"en": "t"}, "sections": [{"key": "s", "items": [{"type": "yes_no", "key": key}]}]}
        try:
            msgspec.convert(bad, FormDefinition)
        except msgspec.ValidationError as exc:
            assert "sections[0].items[0].key" in str(exc)
        else:
            raise AssertionError(f"{key} accepted")
    fine = {"title": {"en": "t"}, "sections": [{"key": "s", "items": [{"type": "yes_no", "key": "_private"}]}]}
    msgspec.convert(fine, FormDefinition)

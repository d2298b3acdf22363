"""The shared condition vectors hold in Python (the JavaScript run is test_condition_vectors_js)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api_schemas.forms import Expr
from backend.forms.conditions import (
    MISSING,
    ConditionError,
    compile_condition,
    evaluate,
    is_answered,
    is_blank_text,
    is_true,
    kind,
)

VECTORS = json.loads(
    (Path(__file__).resolve().parents[2] / "mobile_forms" / "condition_vectors.json").read_text("utf-8")
)


def _as_json(value: Any) -> Any:
    """The evaluator's value as the vectors write it: missing → null, numbers typed as such."""
    if value is MISSING:
        return None
    if isinstance(value, list):
        return [_as_json(item) for item in value]
    return value


def _same_json(got: Any, expected: Any) -> bool:
    if isinstance(expected, bool) or expected is None or isinstance(expected, str):
        return type(got) is type(expected) and got == expected
    if isinstance(expected, (int, float)):
        return kind(got) == "number" and got == expected
    if isinstance(expected, list):
        return (
            isinstance(got, list) and len(got) == len(expected) and all(_same_json(g, e) for g, e in zip(got, expected))
        )
    return got == expected


def test_there_are_enough_vectors_and_names_are_unique() -> None:
    names = [v["name"] for v in VECTORS]
    assert len(VECTORS) >= 150
    assert len(set(names)) == len(names)
    ops = {node["op"] for v in VECTORS for node in _nodes(v["expr"])}
    assert {
        "var",
        "self",
        "lit",
        "eq",
        "ne",
        "lt",
        "le",
        "gt",
        "ge",
        "and",
        "or",
        "not",
        "answered",
        "is_na",
        "in",
        "contains",
        "add",
        "sub",
        "mul",
        "div",
        "count",
    } <= ops


def _nodes(expr: Any) -> list[dict[str, Any]]:
    if isinstance(expr, dict) and isinstance(expr.get("op"), str):
        found = [expr]
        args = expr.get("args")
        for arg in args if isinstance(args, list) else []:
            found += _nodes(arg)
        return found
    if isinstance(expr, list):
        return [n for item in expr for n in _nodes(item)]
    return []


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_vector(vector: dict[str, Any]) -> None:
    kwargs = {"self_value": vector["self"]} if "self" in vector else {}
    if vector.get("error"):
        with pytest.raises(ConditionError):
            evaluate(vector["expr"], vector["answers"], **kwargs)
        return
    got = evaluate(vector["expr"], vector["answers"], **kwargs)
    assert _same_json(_as_json(got), vector["expected"]), (got, vector["expected"])
    assert is_true(vector["expr"], vector["answers"], **kwargs) is (vector["expected"] is True)


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_compiled_condition_agrees_with_the_interpreter(vector: dict[str, Any]) -> None:
    """Forms evaluate show-ifs and constraints compiled; a malformed one still raises only when evaluated."""
    kwargs = {"self_value": vector["self"]} if "self" in vector else {}
    compiled = compile_condition(vector["expr"])
    if vector.get("error"):
        with pytest.raises(ConditionError):
            compiled(vector["answers"], **kwargs)
        return
    assert compiled(vector["answers"], **kwargs) is (vector["expected"] is True)
    struct = _as_struct(vector["expr"]) if isinstance(vector["expr"], dict) else None
    if struct is not None:
        assert compile_condition(struct)(vector["answers"], **kwargs) is (vector["expected"] is True)


def _as_struct(expr: Any) -> Expr | None:
    try:
        return msgspec.convert(expr, Expr)
    except msgspec.ValidationError:  # e.g. a literal where a node is required: only plain JSON can say that
        return None


STRUCT_VECTORS = [
    v for v in VECTORS if not v.get("error") and isinstance(v["expr"], dict) and _as_struct(v["expr"]) is not None
]


def test_most_vectors_also_run_as_structs() -> None:
    assert len(STRUCT_VECTORS) >= 150


@pytest.mark.parametrize("vector", STRUCT_VECTORS, ids=lambda v: v["name"])
def test_vector_as_struct(vector: dict[str, Any]) -> None:
    """An Expr Struct decoded from the same JSON evaluates exactly like the plain dict."""
    expr = _as_struct(vector["expr"])
    kwargs = {"self_value": vector["self"]} if "self" in vector else {}
    got = evaluate(expr, vector["answers"], **kwargs)
    assert _same_json(_as_json(got), vector["expected"])


_BLANK_CHARS = (
    "\t\n\v\f\r\x1c\x1d\x1e\x1f \x85\xa0\u1680"
    + "".join(map(chr, range(0x2000, 0x200B)))
    + "\u2028\u2029\u202f\u205f\u3000\ufeff"
)
_ANSWERED = {"op": "answered", "key": "t"}


@given(st.text(alphabet=st.sampled_from(_BLANK_CHARS) | st.characters(blacklist_categories=("Cs",)), max_size=20))
@settings(max_examples=300, deadline=None)
def test_a_string_is_answered_exactly_when_it_has_a_non_blank_character(text: str) -> None:
    """Interpreted, compiled and as a Struct; a string Python's strip() empties is never answered."""
    expected = any(c not in _BLANK_CHARS for c in text)
    answers = {"t": text}
    assert evaluate(_ANSWERED, answers) is expected
    assert compile_condition(_ANSWERED)(answers) is expected
    assert compile_condition(msgspec.convert(_ANSWERED, Expr))(answers) is expected
    assert is_answered(text) is expected and is_blank_text(text) is not expected
    if not text.strip():
        assert not expected


LABEL_VECTORS = json.loads(
    (Path(__file__).resolve().parents[2] / "mobile_forms" / "label_vectors.json").read_text("utf-8")
)


@pytest.mark.parametrize("vector", LABEL_VECTORS, ids=[v["name"] for v in LABEL_VECTORS])
def test_label_references_are_filled_like_the_phone(vector: dict[str, Any]) -> None:
    from backend.forms.conditions import fill_references

    assert fill_references(vector["text"], vector["values"]) == vector["expected"]

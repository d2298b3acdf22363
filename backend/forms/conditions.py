"""The condition language: evaluate show-if conditions and constraints over a report's answers.

This module and ``mobile_forms/web/shared/conditions.js`` implement the SAME rules; the shared vectors in
``mobile_forms/condition_vectors.json`` prove it. Change both or neither.

Nodes
-----
A node is an ``Expr`` Struct or a plain mapping ``{"op": ..., "args": [...], "key": ...}`` (only
those three fields). An argument that is not a node is a literal: ``null``, a boolean, a number,
a string, or a list of those (a list literal). ``lit`` returns its single argument unevaluated.

Values
------
Every value has exactly one kind, decided the same way in Python and JavaScript:

* **missing** – an unanswered question (no key), ``null``, an N/A answer ``{"na": true}``,
  ``self`` outside a constraint, a non-finite number, and the result of failed arithmetic.
* **bool** – ``true``/``false``. A boolean is never a number: ``true`` is not ``1``.
* **number** – any other int or float. All numbers are IEEE doubles (as in JavaScript):
  ``1 == 1.0``, and Python ints are converted with ``float()`` (too large → missing).
* **string** – compared by exact equality only; strings are never ordered.
* **list** – a multiple-choice answer or a list literal (elements keep their own kind).
* **other** – any other answer shape (GPS, attachment, timer object): only ``answered`` sees it.

Operators (all arguments are always evaluated: no short-circuit, so a malformed branch is
always an error, never silently skipped)
--------------------------------------------------------------------------------------------
* ``var`` (key, no args): the answer to question ``key`` as a value (N/A → missing).
* ``self`` (no args): the answer being constrained; missing outside constraints.
* ``lit`` (1 arg): the literal.
* ``eq``/``ne`` (2 args): true only when both are bool/number/string of the SAME kind and
  equal (``eq``) or different (``ne``). Anything involving missing, lists, other or two
  kinds (``"1"`` vs ``1``, ``true`` vs ``1``) is false for BOTH ``eq`` and ``ne``.
* ``lt``/``le``/``gt``/``ge`` (2 args): two numbers, or two dates — strings that begin with an ISO
  date ``YYYY-MM-DD`` (a date, or a date-time such as a timestamp answer) — compared by those first
  ten characters (the date as written, in its own offset); otherwise false.
* ``and`` (any args, none → true), ``or`` (any args, none → false): a value counts as true
  only when it is the boolean ``true``; the result is always a boolean.
* ``not`` (1 arg): ``true`` unless the value is the boolean ``true`` (so not(missing) is true).
* ``answered`` (key, no args): the question has an answer that is not null, not N/A and not a
  blank string (see below); ``false``, ``0`` and ``[]`` (no choice selected) ARE answers.
  ``check_answers`` uses the same test for ``required``, so a show-if on ``answered`` and the
  required check never disagree about a question.
* ``is_na`` (key, no args): the answer is an N/A answer ``{"na": true}``.
* ``in`` (≥2 args): args[0] is a bool/number/string ``eq`` to some later argument; a later
  argument that is a list is searched element by element (one level).
* ``contains`` (2 args): args[0] is a list with an element ``eq`` to args[1]; else false.
* ``count`` (1 arg): the length of a list as a number; anything else → missing.
* ``add``/``sub``/``mul``/``div`` (≥2 args): folded left to right over numbers; any operand
  that is not a number, division by zero, or a non-finite result → missing.

Value functions (XLSForm's calculations; every argument is still evaluated):

* ``if`` (3 args): args[1] when args[0] is the boolean true, else args[2].
* ``concat`` (any args): the texts of the values joined: a string as it is, missing → "",
  true/false → "true"/"false", a list → its elements' texts joined by one space (as XLSForm
  writes a multiple choice), a whole number below 10^15 in size → its digits (``3``, not
  ``3.0``), another number with 10^-4 ≤ size < 10^15 → its shortest round-trip decimal form
  (Python ``repr`` = JavaScript ``String``); any other value (other, a number outside those
  ranges) makes the result missing.
* ``coalesce`` (≥1 args): the first value that is neither missing nor a blank string; else missing.
* ``regex`` (2 args): whether the string args[0] contains a match of the pattern args[1]
  (a search, not a full match); false when either is not a string or the pattern does not
  compile. Write patterns in the syntax both Python ``re`` and JavaScript ``RegExp`` read alike.
* ``strlen`` (1 arg): the number of characters (code points) of a string; missing → 0;
  anything else → missing.
* ``choice`` (key, no args): in a choice_filter, the column ``key`` of the choice being decided
  (``name`` is its value): ``answers["__choice"][key]`` as a value, missing when the caller gives no
  such column (outside a choice_filter there is none).
* ``today`` (no args): today's date as ``YYYY-MM-DD``, in UTC, when evaluated (on the phone while
  filling in, on the server when the report arrives); ``answers["__today"]`` when the caller gives
  one (the shared vectors pin the day so; no question key starts with ``__``).

Blank strings
-------------
A string is blank when it is empty or every character in it is one of: U+0009–U+000D,
U+001C–U+0020, U+0085, U+00A0, U+1680, U+2000–U+200A, U+2028, U+2029, U+202F, U+205F, U+3000,
U+FEFF. That is the union of what Python's ``str.isspace`` and JavaScript's ``String.trim``
treat as white space (the two differ: Python alone has U+001C–U+001F and U+0085, JavaScript alone
U+FEFF), written out so both sides use the same fixed list rather than their runtime's.

Errors
------
A malformed expression raises ``ConditionError`` (``Error`` in JavaScript): unknown op, wrong
number of args, ``key`` missing or given where not allowed, unknown fields, a list literal
holding a non-literal, nesting deeper than ``MAX_DEPTH`` nodes. ``check_definition`` reports
these up front, so a published form never raises.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final

from api_schemas.forms import Expr
from backend import moments

MAX_DEPTH: Final = 32

# The blank characters of the module docstring; conditions.js has the same class, character for character.
_BLANK: Final = re.compile(r"[\t\n\v\f\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]*")


class _Missing:
    """The single "no value" marker (``undefined`` in JavaScript)."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Final = _Missing()


class ConditionError(ValueError):
    """The expression is malformed (not a problem with the answers)."""


_KEY_OPS = frozenset({"var", "answered", "is_na", "choice"})
# op → (min args, max args or None for unbounded)
_ARITY: Final[dict[str, tuple[int, int | None]]] = {
    "var": (0, 0),
    "answered": (0, 0),
    "is_na": (0, 0),
    "self": (0, 0),
    "lit": (1, 1),
    "eq": (2, 2),
    "ne": (2, 2),
    "lt": (2, 2),
    "le": (2, 2),
    "gt": (2, 2),
    "ge": (2, 2),
    "and": (0, None),
    "or": (0, None),
    "not": (1, 1),
    "in": (2, None),
    "contains": (2, 2),
    "count": (1, 1),
    "add": (2, None),
    "sub": (2, None),
    "mul": (2, None),
    "div": (2, None),
    "if": (3, 3),
    "concat": (0, None),
    "coalesce": (1, None),
    "regex": (2, 2),
    "strlen": (1, 1),
    "today": (0, 0),
    "choice": (0, 0),
}
_VALUE_FUNCTIONS: Final = frozenset({"if", "concat", "coalesce", "regex", "strlen"})
_NODE_FIELDS = frozenset({"op", "args", "key"})


_NEVER_MAPPINGS: Final = frozenset({bool, int, float, str, list, type(None)})


def is_na_answer(answer: Any) -> bool:
    """An N/A answer is exactly a mapping whose "na" is the boolean true."""
    cls = type(answer)
    if cls is dict:  # decoded JSON: skip the (slow) abstract Mapping check, per answer per report
        return answer.get("na") is True
    return cls not in _NEVER_MAPPINGS and isinstance(answer, Mapping) and answer.get("na") is True


def is_blank_text(raw: Any) -> bool:
    """Whether `raw` is a string holding nothing but blank characters (see the module docstring)."""
    return isinstance(raw, str) and _BLANK.fullmatch(raw) is not None


def is_answered(raw: Any) -> bool:
    """What ``answered`` tests of a raw answer: present, not null, not N/A and not a blank string."""
    return raw is not MISSING and raw is not None and not is_na_answer(raw) and not is_blank_text(raw)


def value_of(raw: Any) -> Any:
    """Normalise an answer or literal to the evaluator's value kinds (see module docstring)."""
    if raw is None or raw is MISSING:
        return MISSING
    if isinstance(raw, (bool, str)):
        return raw
    if isinstance(raw, (int, float)):
        try:
            number = float(raw)
        except OverflowError:  # an int beyond the double range cannot exist in JavaScript
            return MISSING
        return number if math.isfinite(number) else MISSING
    if isinstance(raw, (list, tuple)):
        return [value_of(item) for item in raw]
    if is_na_answer(raw):
        return MISSING
    return raw  # kind "other": kept so `answered` sees it, useless to everything else


def kind(value: Any) -> str:
    """The kind of a normalised value: missing, bool, number, string, list or other."""
    if value is MISSING:
        return "missing"
    if isinstance(value, bool):  # before number: bool is an int subclass in Python
        return "bool"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    return "other"


def _same(a: Any, b: Any) -> bool:
    ka = kind(a)
    return ka in ("bool", "number", "string") and ka == kind(b) and a == b


def _differ(a: Any, b: Any) -> bool:
    ka = kind(a)
    return ka in ("bool", "number", "string") and ka == kind(b) and a != b


def _node_parts(node: Any) -> tuple[str, list[Any], str | None] | None:
    """(op, args, key) of a node, None when `node` is a literal; raises on malformed nodes."""
    if isinstance(node, Expr):
        return node.op.value, list(node.args), node.key
    if not isinstance(node, Mapping):
        return None
    unknown = set(node) - _NODE_FIELDS
    if unknown:
        raise ConditionError(f"unknown field(s) {sorted(map(str, unknown))}")
    op = node.get("op")
    op = getattr(op, "value", op)  # an Op enum member in a hand-built dict
    if not isinstance(op, str):
        raise ConditionError("node without a string op")
    args = node.get("args", [])
    if not isinstance(args, list):
        raise ConditionError(f"{op}: args must be a list")
    key = node.get("key")
    if key is not None and not isinstance(key, str):
        raise ConditionError(f"{op}: key must be a string")
    return op, args, key


def _check_node_shape(op: str, args: list[Any], key: str | None) -> None:
    if op not in _ARITY:
        raise ConditionError(f"unknown op {op!r}")
    low, high = _ARITY[op]
    if len(args) < low or (high is not None and len(args) > high):
        wanted = str(low) if low == high else f"at least {low}" if high is None else f"{low}–{high}"
        raise ConditionError(f"{op}: expects {wanted} argument(s), got {len(args)}")
    if op in _KEY_OPS and not key:
        raise ConditionError(f"{op}: needs a key")
    if op not in _KEY_OPS and key is not None:
        raise ConditionError(f"{op}: takes no key")


def _literal(arg: Any) -> Any:
    if isinstance(arg, (list, tuple)):
        for item in arg:
            if not (item is None or isinstance(item, (bool, int, float, str))):
                raise ConditionError("a list literal may hold only null, booleans, numbers and strings")
        return value_of(arg)
    if arg is None or isinstance(arg, (bool, int, float, str)):
        return value_of(arg)
    raise ConditionError(f"not a literal: {type(arg).__name__}")


def _arith(op: str, values: list[Any]) -> Any:
    if any(kind(v) != "number" for v in values):
        return MISSING
    result = values[0]
    for v in values[1:]:
        if op == "add":
            result = result + v
        elif op == "sub":
            result = result - v
        elif op == "mul":
            result = result * v
        else:
            if v == 0:
                return MISSING
            result = result / v
    return result if math.isfinite(result) else MISSING


_ORDER: Final = {"lt": operator.lt, "le": operator.le, "gt": operator.gt, "ge": operator.ge}
_DATE: Final = re.compile(r"^\d{4}-\d{2}-\d{2}")


def _ordered(compare: Callable[[Any, Any], bool], a: Any, b: Any) -> bool:
    """lt/le/gt/ge: two numbers, or two dates by their YYYY-MM-DD (see the docstring); else false."""
    if kind(a) == "number" and kind(b) == "number":
        return compare(a, b)
    if isinstance(a, str) and isinstance(b, str) and _DATE.match(a) and _DATE.match(b):
        return compare(a[:10], b[:10])
    return False


def _choice_column(answers: Mapping[str, Any], column: str | None) -> Any:
    row = answers.get("__choice")
    return value_of(row.get(column, MISSING)) if isinstance(row, Mapping) else MISSING


def _today(answers: Mapping[str, Any]) -> str:
    pinned = answers.get("__today")
    if isinstance(pinned, str):
        return pinned
    return moments.now().date().isoformat()


def _text_of(value: Any) -> str | None:
    """A value as ``concat`` writes it, or None when it has no agreed text (see the docstring)."""
    if value is MISSING:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        size = abs(value)
        if value.is_integer() and size < 1e15:
            return str(int(value))
        return repr(value) if 1e-4 <= size < 1e15 else None
    if isinstance(value, list):
        parts = [_text_of(item) for item in value]
        return None if any(p is None for p in parts) else " ".join(parts)  # type: ignore[arg-type]
    return None


def _function(op: str, values: list[Any]) -> Any:
    if op == "if":
        return values[1] if values[0] is True else values[2]
    if op == "concat":
        parts = [_text_of(v) for v in values]
        return MISSING if any(p is None for p in parts) else "".join(parts)  # type: ignore[arg-type]
    if op == "coalesce":
        return next((v for v in values if v is not MISSING and not is_blank_text(v)), MISSING)
    if op == "regex":
        text, pattern = values
        if not isinstance(text, str) or not isinstance(pattern, str):
            return False
        try:
            return re.search(pattern, text) is not None
        except re.error:
            return False
    # strlen
    (text,) = values
    if text is MISSING:
        return 0.0
    return float(len(text)) if isinstance(text, str) else MISSING


def _eval(node: Any, answers: Mapping[str, Any], self_value: Any, depth: int) -> Any:
    parts = _node_parts(node)
    if parts is None:
        return _literal(node)
    if depth > MAX_DEPTH:
        raise ConditionError(f"nested deeper than {MAX_DEPTH} nodes")
    op, args, key = parts
    _check_node_shape(op, args, key)
    if op == "lit":
        if _node_parts(args[0]) is not None:
            raise ConditionError("lit: its argument must be a literal, not a node")
        return _literal(args[0])
    if op in ("var", "answered", "is_na"):
        assert key is not None  # _check_node_shape requires a key for these
        value = answers.get(key, MISSING)
        return value_of(value) if op == "var" else is_answered(value) if op == "answered" else is_na_answer(value)
    if op == "self":
        return value_of(self_value)
    if op == "today":
        return _today(answers)
    if op == "choice":
        return _choice_column(answers, key)
    values = [_eval(arg, answers, self_value, depth + 1) for arg in args]
    if op == "eq":
        return _same(values[0], values[1])
    if op == "ne":
        return _differ(values[0], values[1])
    if op in ("lt", "le", "gt", "ge"):
        return _ordered(_ORDER[op], values[0], values[1])
    if op == "and":
        return all(v is True for v in values)
    if op == "or":
        return any(v is True for v in values)
    if op == "not":
        return values[0] is not True
    if op == "in":
        needle = values[0]
        for candidate in values[1:]:
            pool = candidate if isinstance(candidate, list) else [candidate]
            if any(_same(needle, item) for item in pool):
                return True
        return False
    if op == "contains":
        haystack, needle = values
        return isinstance(haystack, list) and any(_same(item, needle) for item in haystack)
    if op == "count":
        return float(len(values[0])) if isinstance(values[0], list) else MISSING
    if op in _VALUE_FUNCTIONS:
        return _function(op, values)
    return _arith(op, values)


def evaluate(expr: Expr | Mapping[str, Any] | Any, answers: Mapping[str, Any], *, self_value: Any = MISSING) -> Any:
    """The value of `expr` over `answers`; MISSING for "no value"; raises ConditionError."""
    return _eval(expr, answers, self_value, 1)


def is_true(expr: Expr | Mapping[str, Any] | Any, answers: Mapping[str, Any], *, self_value: Any = MISSING) -> bool:
    """Whether `expr` holds: only the boolean true counts (a show-if or constraint passes)."""
    return evaluate(expr, answers, self_value=self_value) is True


# A compiled node: (answers, self_value) -> value, exactly what ``_eval`` returns for it.
_Compiled = Callable[[Mapping[str, Any], Any], Any]


def _constant(value: Any) -> _Compiled:
    return lambda answers, self_value: value


def _compile(node: Any, depth: int) -> _Compiled:
    """Check one node's shape now, so evaluating it later cannot raise; mirrors ``_eval``."""
    parts = _node_parts(node)
    if parts is None:
        return _constant(_literal(node))
    if depth > MAX_DEPTH:
        raise ConditionError(f"nested deeper than {MAX_DEPTH} nodes")
    op, args, key = parts
    _check_node_shape(op, args, key)
    if op == "lit":
        if _node_parts(args[0]) is not None:
            raise ConditionError("lit: its argument must be a literal, not a node")
        return _constant(_literal(args[0]))
    if op in ("var", "answered", "is_na"):
        assert key is not None  # _check_node_shape requires a key for these
        name = key
        if op == "var":
            return lambda answers, self_value: value_of(answers.get(name, MISSING))
        if op == "answered":
            return lambda answers, self_value: is_answered(answers.get(name, MISSING))
        return lambda answers, self_value: is_na_answer(answers.get(name, MISSING))
    if op == "self":
        return lambda answers, self_value: value_of(self_value)
    if op == "today":
        return lambda answers, self_value: _today(answers)
    if op == "choice":
        return lambda answers, self_value: _choice_column(answers, key)
    # Every argument is still evaluated, as in _eval (no short-circuit).
    compiled = [_compile(arg, depth + 1) for arg in args]
    if op in ("eq", "ne", "contains") or op in _ORDER:
        first, second = compiled
        if op == "eq":
            return lambda answers, self_value: _same(first(answers, self_value), second(answers, self_value))
        if op == "ne":
            return lambda answers, self_value: _differ(first(answers, self_value), second(answers, self_value))
        if op == "contains":

            def contains(answers: Mapping[str, Any], self_value: Any) -> Any:
                haystack, needle = first(answers, self_value), second(answers, self_value)
                return isinstance(haystack, list) and any(_same(item, needle) for item in haystack)

            return contains
        compare = _ORDER[op]

        def ordered(answers: Mapping[str, Any], self_value: Any) -> Any:
            return _ordered(compare, first(answers, self_value), second(answers, self_value))

        return ordered
    if op == "not":
        (only,) = compiled
        return lambda answers, self_value: only(answers, self_value) is not True
    if op == "count":
        (only,) = compiled

        def count(answers: Mapping[str, Any], self_value: Any) -> Any:
            value = only(answers, self_value)
            return float(len(value)) if isinstance(value, list) else MISSING

        return count

    def values(answers: Mapping[str, Any], self_value: Any) -> list[Any]:
        return [arg(answers, self_value) for arg in compiled]

    if op == "and":
        return lambda answers, self_value: all(v is True for v in values(answers, self_value))
    if op == "or":
        return lambda answers, self_value: any(v is True for v in values(answers, self_value))
    if op in _VALUE_FUNCTIONS:
        return lambda answers, self_value: _function(op, values(answers, self_value))
    if op == "in":

        def is_in(answers: Mapping[str, Any], self_value: Any) -> Any:
            needle, *candidates = values(answers, self_value)
            for candidate in candidates:
                pool = candidate if isinstance(candidate, list) else [candidate]
                if any(_same(needle, item) for item in pool):
                    return True
            return False

        return is_in
    return lambda answers, self_value: _arith(op, values(answers, self_value))


def compile_condition(expr: Expr | Mapping[str, Any] | Any) -> Callable[..., bool]:
    """``is_true(expr, ...)`` as a function ``(answers, self_value=MISSING) -> bool``.

    The expression's shape is checked once here instead of at every evaluation (forms evaluate
    the same show-ifs for every report). A malformed expression compiles to the interpreter
    itself, so it raises the same ConditionError, only when evaluated, as ``is_true`` does.
    """
    try:
        compiled = _compile(expr, 1)
    except Exception:
        return lambda answers, self_value=MISSING: is_true(expr, answers, self_value=self_value)
    return lambda answers, self_value=MISSING: compiled(answers, self_value) is True


def compile_value(expr: Expr | Mapping[str, Any] | Any) -> Callable[[Mapping[str, Any]], Any]:
    """``evaluate(expr, answers)`` as a function of the answers (a calculation's value)."""
    try:
        compiled = _compile(expr, 1)
    except Exception:
        return lambda answers: evaluate(expr, answers)
    return lambda answers: compiled(answers, MISSING)


REFERENCE: Final = re.compile(r"\$\{([^}]*)\}")


def fill_references(text: str, values: Mapping[str, Any]) -> str:
    """A label or hint with each ${name} replaced by that value as ``concat`` writes it (nothing for
    an unanswered one); the phone's ``fillReferences`` does the same."""

    def fill(match: re.Match[str]) -> str:
        return _text_of(value_of(values.get(match.group(1).strip(), MISSING))) or ""

    return REFERENCE.sub(fill, text)


def check_expr(expr: Expr | Mapping[str, Any] | Any) -> list[str]:
    """Every structural problem of `expr` (evaluating it against no answers finds the first)."""
    try:
        evaluate(expr, {})
    except ConditionError as error:
        return [str(error)]
    return []


def iter_nodes(expr: Any) -> Iterator[tuple[str, str | None]]:
    """(op, key) of every node in `expr`, depth first; literals are skipped; tolerant of junk."""
    try:
        parts = _node_parts(expr)
    except ConditionError:
        return
    if parts is None:
        return
    op, args, key = parts
    yield op, key
    for arg in args:
        yield from iter_nodes(arg)


__all__ = [
    "MAX_DEPTH",
    "MISSING",
    "ConditionError",
    "check_expr",
    "compile_condition",
    "compile_value",
    "evaluate",
    "fill_references",
    "is_answered",
    "is_blank_text",
    "is_na_answer",
    "is_true",
    "iter_nodes",
    "kind",
    "value_of",
]

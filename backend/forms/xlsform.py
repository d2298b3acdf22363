"""XLSForm spreadsheets to and from form definitions, as pure functions (no database, no HTTP).

Import maps a survey/choices/settings workbook onto ``FormDefinition`` and reports every row it
cannot map (``XLSFormError.problems``), with warnings that include, at their rows, what publishing
(``check_definition``) would refuse in the draft; export writes a workbook that imports back to an equal
definition, or refuses with the same kind of problems.

Survey sheet columns
--------------------
``type``, ``name``, ``label`` / ``label::<lang>``, ``hint`` / ``hint::<lang>``, ``required``,
``relevant`` (show_if), ``constraint``, ``constraint_message`` / ``constraint_message::<lang>``,
and Fieldscore's own: ``weight``, ``na`` (N/A allowed), ``critical``, ``bonus``, ``metric``,
``points`` (rating, nps), ``parameters`` (range: ``start=1 end=5``), ``fail_below`` (rating),
``min`` / ``max`` (integer, decimal, duration; ``none`` = no bound), ``bands``
(``0..20=1; 20..=0``: [min, max) → points, a side left empty is open), ``max_length`` (text),
``give_up`` (seconds) and ``clock_start`` (``ring`` | ``menu_left``) for timer sequences.
A blank cell means the field's default. A language column ``label::English (en)`` is the
language ``en``; a plain ``label`` is the settings' default language.

Types
-----
=============================  =============================================================
XLSForm type                   question
=============================  =============================================================
``begin_group`` / ``end_group`` a section (a top-level group) or a nested section
``select_one L``               ``yes_no`` when list L is exactly the names ``yes`` and ``no``
                               (their points/fail columns give points_yes/points_no/fail_on;
                               their labels are not kept: the app shows its own Yes/No);
                               otherwise ``single_choice``
``select_multiple L``          ``multiple_choice``
``range``                      ``rating`` (parameters start/end, step must be 1)
``integer``, ``decimal``       same
``text``, ``note``             same
``date``, ``time``,            ``timestamp`` (a full date and time is recorded; a date-only or
``dateTime``                   time-only question is exported back as ``dateTime``)
``geopoint``                   ``gps``
``image``                      ``photo``
``audio`` / ``file``           ``file`` with accept = audio / any
``nps``, ``duration``,         Fieldscore extension types (not XLSForm types, and not in
``timer_sequence``             pyxform's list of types or aliases, so they cannot be misread)
=============================  =============================================================

Questions outside any group go into an implicit section (``section_<n>``). Every other type
(calculate, repeats, metadata such as start/end/deviceid, …) is rejected with its row, as is a
value in any column that the row's type does not use.

Expressions (relevant, constraint)
----------------------------------
The common XPath subset: ``${q}``, ``.`` (self), numbers, 'strings', ``= != < <= > >=``,
``+ - * div``, ``and or not()``, parentheses, ``selected(${q}, 'x')`` (contains for a
select_multiple, eq for a select_one), ``count-selected()``, ``true()``, ``false()``.
``${q} != ''`` is XLSForm's "answered" and becomes ``answered`` (``${q} = ''`` its negation),
because in our condition language a missing answer is neither equal nor unequal to ''.
For a yes_no question ``'yes'``/``'no'`` are the JSON booleans true/false.
Fieldscore extensions (so every condition round-trips; ODK does not know them): ``in(x, a, …)``,
``is-na(${q})``, ``list(a, …)`` (a list literal), ``lit(a)`` (an explicit literal node).
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import math
import re
import warnings
import zipfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Final, NamedTuple, Union

import msgspec
import openpyxl
import xlrd
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.utils import get_column_letter

from api_schemas.forms import (
    Acknowledge,
    Band,
    Calculate,
    Choice,
    Decimal,
    Duration,
    Expr,
    File,
    FormDefinition,
    Gps,
    Integer,
    MetricTag,
    MultipleChoice,
    Note,
    Nps,
    Op,
    Photo,
    Question,
    Rating,
    Section,
    SingleChoice,
    Text,
    TimerSequence,
    Timestamp,
    XLSFormRow,
    YesNo,
)
from backend.forms.definition import check_definition

Problem = tuple[str, int, str]
"""(sheet, 1-based spreadsheet row, reason naming the column); row 0 = the sheet as a whole."""

Operand = Union[Expr, str, int, float, bool, None, list[Union[str, int, float, bool, None]]]


class ImportWarning(NamedTuple):
    """Something in the workbook that carries no questionnaire meaning here, and what happens to it."""

    sheet: str
    row: int  # 1-based spreadsheet row; 0 = the sheet as a whole
    column: str  # "" = the whole row
    message: str


@dataclass(frozen=True)
class Imported:
    definition: FormDefinition
    warnings: list[ImportWarning]


MAX_ROWS: Final = 20_000  # far above any real questionnaire; bounds the work a hostile file causes
EXTENSION_TYPES: Final = ("nps", "duration", "timer_sequence")


class XLSFormError(ValueError):
    """The workbook (import) or definition (export) cannot be mapped; see ``problems``."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        shown = "; ".join(f"{s or 'workbook'} row {r}: {why}" for s, r, why in problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        super().__init__(f"{len(problems)} problem(s): {shown}{more}")


# --------------------------------------------------------------------------------------------
# Expressions: a tokenizer and recursive-descent parser for the XPath subset, and its writer.
# --------------------------------------------------------------------------------------------


class _ExprError(ValueError):
    pass


_TOKEN_RE: Final = re.compile(
    r"""
    (?P<ws>\s+)
    |(?P<var>\$\{(?P<varname>[^}]*)\})
    |(?P<num>(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)
    |(?P<str>'[^']*'|"[^"]*")
    |(?P<op>!=|<=|>=|=|<|>|\+|-|\*|\(|\)|,)
    |(?P<dot>\.)
    |(?P<name>[A-Za-z_][A-Za-z0-9_-]*(?::[A-Za-z_][A-Za-z0-9_-]*)?)
    """,
    re.VERBOSE,
)
_KEY_RE: Final = re.compile(r"^(?!__)[A-Za-z_][A-Za-z0-9_.-]*$")  # XLSForm's names (XML names without ':')


@dataclass(frozen=True)
class _Token:
    kind: str  # var, num, str, op, dot, name, end
    text: str
    pos: int


def _tokenize(source: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(source):
        match = _TOKEN_RE.match(source, pos)
        if match is None:
            char = source[pos]
            if char in "'\"":
                raise _ExprError(f"unterminated string starting at character {pos + 1}")
            if char in "/@[]|":
                raise _ExprError(
                    f"'{char}' at character {pos + 1}: XPath paths are not supported, refer to questions as ${{name}}"
                )
            raise _ExprError(f"unexpected '{char}' at character {pos + 1}")
        kind = match.lastgroup if match.lastgroup != "varname" else "var"
        if kind != "ws":
            text = match.group("varname") if kind == "var" else match.group(0)
            tokens.append(_Token(kind or "", text, pos + 1))
        pos = match.end()
    tokens.append(_Token("end", "", len(source) + 1))
    return tokens


# Precedence levels, loosest first (XPath 1.0 order).
_OR, _AND, _EQ, _REL, _ADD, _MUL, _UNARY, _PRIMARY = range(1, 9)
_BINARY: Final[dict[str, tuple[Op, int]]] = {
    "=": (Op.eq, _EQ),
    "!=": (Op.ne, _EQ),
    "<": (Op.lt, _REL),
    "<=": (Op.le, _REL),
    ">": (Op.gt, _REL),
    ">=": (Op.ge, _REL),
    "+": (Op.add, _ADD),
    "-": (Op.sub, _ADD),
    "*": (Op.mul, _MUL),
    "div": (Op.div, _MUL),
}
_SYMBOL: Final = {op: symbol for symbol, (op, _) in _BINARY.items()}
_PRECEDENCE: Final = {op: level for op, level in _BINARY.values()} | {Op.and_: _AND, Op.or_: _OR}
# Arithmetic and logic ops are n-ary in our language: `a + b + c` is one add node.
_NARY: Final = frozenset({Op.add, Op.sub, Op.mul, Op.div, Op.and_, Op.or_})
_SINGLE_ANSWER: Final = frozenset({"yes_no", "single_choice"})


# XPath functions that are value functions of the condition language (by XPath name).
_FUNCTIONS: Final = {
    "if": Op.if_,
    "concat": Op.concat,
    "coalesce": Op.coalesce,
    "regex": Op.regex,
    "string-length": Op.strlen,
}
_FUNCTION_NAMES: Final = {op: name for name, op in _FUNCTIONS.items()}


def _is_var(node: Operand) -> bool:
    return isinstance(node, Expr) and node.op is Op.var


class _Parser:
    """Recursive descent over the tokens; `kinds` maps each question key to its type tag."""

    def __init__(self, source: str, kinds: dict[str, str], choice_columns: bool = False) -> None:
        self.tokens = _tokenize(source)
        self.index = 0
        self.kinds = kinds
        self.choice_columns = choice_columns  # a choice_filter: a bare name is a column of the choice

    def parse(self) -> Expr:
        node = self._binary(_OR)
        token = self._peek()
        if token.kind != "end":
            raise _ExprError(f"unexpected '{token.text}' at character {token.pos}")
        # A bare literal (`true()`) is still a condition: wrap it in the explicit literal node.
        return node if isinstance(node, Expr) else Expr(op=Op.lit, args=[node])

    def _peek(self) -> _Token:
        return self.tokens[self.index]

    def _next(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def _expect(self, text: str) -> None:
        token = self._next()
        if token.text != text or token.kind not in ("op", "name"):
            shown = f"'{token.text}'" if token.kind != "end" else "the end"
            raise _ExprError(f"expected '{text}' at character {token.pos}, found {shown}")

    def _binary_op(self, level: int) -> tuple[Op, str] | None:
        token = self._peek()
        if token.kind == "name" and token.text == "mod":
            raise _ExprError(f"'mod' at character {token.pos} is not supported")
        if token.kind == "name" and token.text in ("and", "or"):
            op = Op.and_ if token.text == "and" else Op.or_
            return (op, token.text) if _PRECEDENCE[op] == level else None
        if token.kind in ("op", "name") and token.text in _BINARY:
            op, op_level = _BINARY[token.text]
            return (op, token.text) if op_level == level else None
        return None

    def _binary(self, level: int) -> Operand:
        if level == _UNARY:
            return self._unary()
        left = self._binary(level + 1)
        built_here = False  # only a chain built in this loop is flattened, never a (parenthesised) operand
        while (found := self._binary_op(level)) is not None:
            op, _ = found
            self._next()
            right = self._binary(level + 1)
            if op in (Op.eq, Op.ne):
                left = self._compare(op, left, right)
            elif op in _NARY and built_here and isinstance(left, Expr) and left.op is op:
                left = Expr(op=op, args=[*left.args, right])
            else:
                left = Expr(op=op, args=[left, right])
            built_here = True
        return left

    def _unary(self) -> Operand:
        token = self._peek()
        if token.kind == "op" and token.text == "-":
            self._next()
            operand = self._unary()
            if isinstance(operand, (int, float)) and not isinstance(operand, bool):
                return -operand
            return Expr(op=Op.sub, args=[0, operand])
        return self._primary()

    def _primary(self) -> Operand:
        token = self._next()
        if token.kind == "num":
            is_float = any(c in token.text for c in ".eE")
            return float(token.text) if is_float else int(token.text)
        if token.kind == "str":
            return token.text[1:-1]
        if token.kind == "var":
            return self._var(token)
        if token.kind == "dot":
            return Expr(op=Op.self_)
        if token.kind == "op" and token.text == "(":
            inner = self._binary(_OR)
            self._expect(")")
            return inner
        if token.kind == "name" and self._peek().text == "(" and self._peek().kind == "op":
            return self._call(token)
        if token.kind == "name" and self.choice_columns and _KEY_RE.match(token.text):
            # The column as the choices sheet's header was read: header names are case-insensitive.
            return Expr(op=Op.choice, key=token.text.lower())
        shown = f"'{token.text}'" if token.kind != "end" else "the end"
        raise _ExprError(f"unexpected {shown} at character {token.pos}")

    def _var(self, token: _Token) -> Expr:
        name = token.text.strip()
        if name not in self.kinds:
            raise _ExprError(f"unknown question ${{{name}}}")
        if self.kinds[name] == "section":
            raise _ExprError(f"${{{name}}} is a group, not a question")
        if self.kinds[name] == "metadata":
            raise _ExprError(f"${{{name}}} is form metadata, which has no value in Fieldscore's conditions")
        return Expr(op=Op.var, key=name)

    def _arguments(self) -> list[Operand]:
        self._expect("(")
        args: list[Operand] = []
        if self._peek().text == ")" and self._peek().kind == "op":
            self._next()
            return args
        while True:
            args.append(self._binary(_OR))
            token = self._next()
            if token.kind == "op" and token.text == ")":
                return args
            if not (token.kind == "op" and token.text == ","):
                raise _ExprError(f"expected ',' or ')' at character {token.pos}")

    def _call(self, token: _Token) -> Operand:
        name = token.text
        if name not in (
            "not",
            "selected",
            "count-selected",
            "true",
            "false",
            "in",
            "is-na",
            "list",
            "lit",
            "today",
            *_FUNCTIONS,
        ):
            raise _ExprError(f"function {name}() at character {token.pos} is not supported")
        args = self._arguments()
        wanted = {
            "not": 1,
            "selected": 2,
            "count-selected": 1,
            "true": 0,
            "false": 0,
            "today": 0,
            "is-na": 1,
            "lit": 1,
            "if": 3,
            "coalesce": 2,
            "regex": 2,
            "string-length": 1,
        }.get(name)
        if wanted is not None and len(args) != wanted:
            raise _ExprError(f"{name}() takes {wanted} argument(s), got {len(args)}")
        if name == "today":
            return Expr(op=Op.today)
        if name == "true":
            return True
        if name == "false":
            return False
        if name == "not":
            return Expr(op=Op.not_, args=args)
        if name == "count-selected":
            return Expr(op=Op.count_, args=args)
        if name in _FUNCTIONS:
            return Expr(op=_FUNCTIONS[name], args=args)
        if name == "is-na":
            if not _is_var(args[0]):
                raise _ExprError("is-na() takes a question ${name}")
            assert isinstance(args[0], Expr)
            return Expr(op=Op.is_na, key=args[0].key)
        if name == "list":
            literals = [a for a in args if not isinstance(a, (Expr, list))]
            if len(literals) != len(args):
                raise _ExprError("list() holds only literals")
            return literals
        if name == "lit":
            if isinstance(args[0], Expr):
                raise _ExprError("lit() holds only a literal")
            return Expr(op=Op.lit, args=args)
        if name == "in":
            if len(args) < 2:
                raise _ExprError("in() takes a value and at least one candidate")
            return Expr(op=Op.in_, args=[args[0], *(self._answer_literal(args[0], a) for a in args[1:])])
        # selected(): XLSForm uses it on select_one too, where it means equality.
        subject, needle = args
        if _is_var(subject):
            assert isinstance(subject, Expr) and subject.key is not None
            tag = self.kinds[subject.key]
            if tag in _SINGLE_ANSWER:
                return Expr(op=Op.eq, args=[subject, self._answer_literal(subject, needle)])
            if tag != "multiple_choice":
                raise _ExprError(f"selected() needs a choice question, ${{{subject.key}}} is {tag}")
        return Expr(op=Op.contains, args=[subject, needle])

    def _answer_literal(self, subject: Operand, value: Operand) -> Operand:
        """'yes'/'no' compared with a yes_no question are its JSON booleans."""
        if not (isinstance(subject, Expr) and subject.op is Op.var and self.kinds.get(subject.key or "") == "yes_no"):
            return value
        if isinstance(value, list):
            return [self._answer_literal(subject, item) for item in value]  # type: ignore[misc]
        if isinstance(value, str):
            if value not in ("yes", "no"):
                raise _ExprError(f"${{{subject.key}}} is yes/no: compare it with 'yes' or 'no', not '{value}'")
            return value == "yes"
        return value

    def _compare(self, op: Op, left: Operand, right: Operand) -> Expr:
        # XLSForm's test for "answered" is comparing with ''; an unanswered question is missing
        # in our language (neither equal nor unequal to ''), so translate the idiom, not the text.
        for subject, other in ((left, right), (right, left)):
            if _is_var(subject) and other == "" and isinstance(other, str):
                assert isinstance(subject, Expr)
                answered = Expr(op=Op.answered, key=subject.key)
                return answered if op is Op.ne else Expr(op=Op.not_, args=[answered])
        if _is_var(left):
            right = self._answer_literal(left, right)
        elif _is_var(right):
            left = self._answer_literal(right, left)
        return Expr(op=op, args=[left, right])


_SMART_QUOTES: Final = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"'})


def parse_xpath(source: str, kinds: dict[str, str], choice_columns: bool = False) -> Expr:
    """The condition for an XLSForm expression; `kinds` maps known question keys to type tags.

    Typographic quotes that a spreadsheet put in place of straight ones (‘yes’) are read as
    straight quotes when the expression only parses that way. Raises ValueError with a reason
    (unknown question, unsupported function, syntax error).
    """
    try:
        return _Parser(source, kinds, choice_columns).parse()
    except _ExprError:
        straight = source.translate(_SMART_QUOTES)
        if straight == source:
            raise
        try:
            return _Parser(straight, kinds, choice_columns).parse()
        except _ExprError:
            pass
        raise


def _quote(text: str) -> str:
    if "'" not in text:
        return f"'{text}'"
    if '"' not in text:
        return f'"{text}"'
    raise _ExprError("a string holding both ' and \" cannot be written in XPath 1.0")


def _number(value: int | float) -> str:
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _ExprError(f"{value} cannot be written in XPath")
        return repr(value)
    return str(value)


class _Writer:
    def __init__(self, kinds: dict[str, str]) -> None:
        self.kinds = kinds

    def top(self, node: Expr) -> str:
        if node.op is Op.lit and not node.key and len(node.args) == 1 and not isinstance(node.args[0], Expr):
            return self.literal(node.args[0])[0]
        return self.node(node)[0]

    def literal(self, value: Operand, subject: Operand = None) -> tuple[str, int]:
        if isinstance(value, Expr):
            return self.node(value)
        yes_no = _is_var(subject) and self.kinds.get(getattr(subject, "key", "") or "") == "yes_no"
        if isinstance(value, list):
            return f"list({', '.join(self.literal(v, subject)[0] for v in value)})", _PRIMARY
        if value is None:
            raise _ExprError("null has no XPath form (use answered / not answered)")
        if isinstance(value, bool):
            if yes_no:
                return ("'yes'" if value else "'no'"), _PRIMARY
            return ("true()" if value else "false()"), _PRIMARY
        if isinstance(value, str):
            if yes_no:
                raise _ExprError(
                    f"${{{getattr(subject, 'key', '')}}} is yes/no: its answers are "
                    f"true/false, not the string '{value}'"
                )
            return _quote(value), _PRIMARY
        text = _number(value)
        return text, (_UNARY if text.startswith("-") else _PRIMARY)

    def operand(self, node: Operand, minimum: int, subject: Operand = None, same_op: Op | None = None) -> str:
        text, level = self.literal(node, subject)
        # A nested node of the same n-ary op would be flattened when read back: parenthesise it.
        if level < minimum or (same_op is not None and isinstance(node, Expr) and node.op is same_op):
            return f"({text})"
        return text

    def _check_shape(self, node: Expr) -> None:
        op, nargs = node.op, len(node.args)
        keyed = op in (Op.var, Op.answered, Op.is_na, Op.choice)
        if keyed != (node.key is not None):
            raise _ExprError(f"{op.value}: key {'missing' if keyed else 'not allowed'}")
        if keyed and node.key is not None and op is not Op.choice:
            if node.key not in self.kinds:
                raise _ExprError(f"unknown question ${{{node.key}}}")
            if self.kinds[node.key] == "section":
                raise _ExprError(f"${{{node.key}}} is a group, not a question")
        arity = {
            Op.var: (0, 0),
            Op.answered: (0, 0),
            Op.is_na: (0, 0),
            Op.self_: (0, 0),
            Op.lit: (1, 1),
            Op.not_: (1, 1),
            Op.count_: (1, 1),
            Op.contains: (2, 2),
            Op.in_: (2, 10**9),
            Op.and_: (2, 10**9),
            Op.or_: (2, 10**9),
            Op.if_: (3, 3),
            Op.concat: (0, 10**9),
            Op.coalesce: (2, 2),
            Op.regex: (2, 2),
            Op.strlen: (1, 1),
            Op.today: (0, 0),
            Op.choice: (0, 0),
        }.get(op)
        if arity is None:
            arity = (2, 2) if op in (Op.eq, Op.ne, Op.lt, Op.le, Op.gt, Op.ge) else (2, 10**9)
        if not arity[0] <= nargs <= arity[1]:
            raise _ExprError(f"{op.value} with {nargs} argument(s) has no XPath form")

    def node(self, node: Expr) -> tuple[str, int]:
        self._check_shape(node)
        op, args = node.op, node.args
        if op is Op.var:
            return f"${{{node.key}}}", _PRIMARY
        if op is Op.self_:
            return ".", _PRIMARY
        if op is Op.today:
            return "today()", _PRIMARY
        if op is Op.choice:
            if node.key in ("and", "or", "div", "mod") or not _KEY_RE.match(node.key or ""):
                raise _ExprError(f"choice column {node.key!r} cannot be written as a bare name")
            return node.key or "", _PRIMARY
        if op is Op.answered:
            return f"${{{node.key}}} != ''", _EQ
        if op is Op.is_na:
            return f"is-na(${{{node.key}}})", _PRIMARY
        if op is Op.lit:
            if isinstance(args[0], Expr):
                raise _ExprError("lit holds a node, not a literal")
            return f"lit({self.literal(args[0])[0]})", _PRIMARY
        if op is Op.not_:
            return f"not({self.operand(args[0], _OR)})", _PRIMARY
        if op is Op.count_:
            return f"count-selected({self.operand(args[0], _OR)})", _PRIMARY
        if op in _FUNCTION_NAMES:
            return f"{_FUNCTION_NAMES[op]}({', '.join(self.operand(a, _OR) for a in args)})", _PRIMARY
        if op is Op.in_:
            subject = args[0]
            parts = [self.operand(subject, _OR)] + [self.operand(a, _OR, subject) for a in args[1:]]
            return f"in({', '.join(parts)})", _PRIMARY
        if op is Op.contains:
            subject, needle = args
            if _is_var(subject) and isinstance(subject, Expr):
                tag = self.kinds[subject.key or ""] if subject.key in self.kinds else ""
                if tag != "multiple_choice":
                    raise _ExprError(
                        f"contains on ${{{subject.key}}} ({tag or 'unknown'}) has no XPath "
                        "form: selected() means equality for a single answer"
                    )
            return f"selected({self.operand(subject, _OR)}, {self.operand(needle, _OR, subject)})", _PRIMARY
        level = _PRECEDENCE[op]
        symbol = {Op.and_: "and", Op.or_: "or"}.get(op) or _SYMBOL[op]
        if op in (Op.eq, Op.ne):
            left, right = args
            for subject, other in ((left, right), (right, left)):
                if _is_var(subject) and other == "" and isinstance(other, str):
                    raise _ExprError("comparing a question with '' reads back as answered: use the answered operator")
            left_text = self.operand(left, level, right if _is_var(right) else None)
            right_text = self.operand(right, level + 1, left if _is_var(left) else None)
            return f"{left_text} {symbol} {right_text}", level
        if op in (Op.and_, Op.or_):
            return f" {symbol} ".join(self.operand(a, level + 1) for a in args), level
        first = self.operand(args[0], level, same_op=op if op in _NARY else None)
        rest = [self.operand(a, level + 1) for a in args[1:]]
        return f" {symbol} ".join([first, *rest]), level


def write_xpath(expr: Expr, kinds: dict[str, str]) -> str:
    """The XPath text for a condition; raises ValueError when it has no form that reads back equal."""
    return _Writer(kinds).top(expr)


# --------------------------------------------------------------------------------------------
# Reading sheets
# --------------------------------------------------------------------------------------------

Column = tuple[str, Union[str, None]]  # (base name, language or None)

# XLSForm's columns whose second part (`label::English (en)`) names a language.
_LANGUAGE_COLUMNS: Final = frozenset(
    {
        "label",
        "hint",
        "constraint_message",
        "form_title",
        "required_message",
        "guidance_hint",
        "image",
        "big-image",
        "audio",
        "video",
    }
)
# Other spellings pyxform accepts for a column, onto the one used here.
_COLUMN_ALIASES: Final = {
    "relevance": "relevant",
    "caption": "label",
    "constraining_message": "constraint_message",
    "calculate": "calculation",
    "readonly": "read_only",
    "count": "repeat_count",
    "jr:count": "repeat_count",
    "requiredmsg": "required_message",
    "jr:constraintmsg": "constraint_message",
    "jr:requiredmsg": "required_message",
}
_SETTINGS_ALIASES: Final = {
    "set_form_title": "form_title",
    "title": "form_title",
    "set_form_id": "form_id",
    "id_string": "form_id",
}
# `bind::x`, `control::x`, `media::x`: the prefixed form of a plain column.
_PREFIXED: Final = {
    ("bind", "relevant"): "relevant",
    ("bind", "required"): "required",
    ("bind", "constraint"): "constraint",
    ("bind", "jr:constraintmsg"): "constraint_message",
    ("bind", "calculate"): "calculation",
    ("bind", "readonly"): "read_only",
    ("bind", "jr:requiredmsg"): "required_message",
    ("bind", "jr:noapperrorstring"): "no_app_error_string",
    ("control", "appearance"): "appearance",
    ("control", "jr:count"): "repeat_count",
    ("control", "autoplay"): "autoplay",
    ("control", "rows"): "rows",
    ("media", "image"): "image",
    ("media", "big-image"): "big-image",
    ("media", "audio"): "audio",
    ("media", "video"): "video",
}


def _language(text: str) -> str:
    """`English (en)` → `en` (ODK's style); a bare `en` or `English` stays as it is."""
    text = text.strip()
    match = re.fullmatch(r".*\(\s*([^()\s]+)\s*\)", text)
    return match.group(1) if match else text


def _split_header(header: str, double_colon: bool) -> list[str]:
    """A header's parts as pyxform splits them: on `::`, or on `:` in a sheet that has no `::`."""
    if double_colon or "::" in header:
        return [part.strip() for part in header.split("::")]
    parts = [part.strip() for part in header.split(":")]
    if "jr" in parts[:-1]:  # `jr:count` is one name, not two parts
        at = parts.index("jr")
        parts[at : at + 2] = [f"jr:{parts[at + 1]}"]
    return parts


def _column(header: str, double_colon: bool = True, sheet: str = "survey") -> Column:
    header = " ".join(header.split())
    parts = _split_header(header, double_colon)
    first = "_".join(parts[0].lower().split())  # "list name" and "List_Name" are list_name
    rest = parts[1:]
    if first in ("bind", "control", "media") and rest:
        prefixed = _PREFIXED.get((first, rest[0].lower()))
        if prefixed is None:
            return (header, None)  # kept as written: an unknown column, exported back verbatim
        first, rest = prefixed, rest[1:]
    first = (_SETTINGS_ALIASES if sheet == "settings" else _COLUMN_ALIASES).get(first, first)
    if not rest:
        return (first, None)
    if first in _LANGUAGE_COLUMNS and len(rest) == 1 and rest[0]:
        return (first, _language(rest[0]))
    return (header, None)


def _column_name(column: Column) -> str:
    return column[0] if column[1] is None else f"{column[0]}::{column[1]}"


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _text(value: Any) -> str:
    """A cell as text: Excel turns typed `1` into a number, but a choice name `1` is text."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    return str(value)


class _CellError(ValueError):
    pass


@dataclass
class _Row:
    sheet: str
    number: int
    cells: dict[Column, Any]
    used: set[Column] = field(default_factory=set)

    def raw(self, base: str) -> Any:
        self.used.add((base, None))
        return self.cells.get((base, None))

    def name(self, base: str) -> str | None:
        value = self.raw(base)
        return None if value is None else _text(value).strip()

    def labels(self, base: str, default_language: str) -> dict[str, str]:
        found: dict[str, str] = {}
        for (column_base, lang), value in self.cells.items():
            if column_base != base:
                continue
            self.used.add((column_base, lang))
            language = lang or default_language
            if language in found:
                raise _CellError(f"{base}: both '{base}' and '{base}::{language}' are filled in")
            found[language] = _text(value)
        return found


_KEPT_BECAUSE: Final = {
    "appearance": "kept for export; the app lays questions out itself",
    "image": "media kept for export; the app does not show it",
    "big-image": "media kept for export; the app does not show it",
    "audio": "media kept for export; the app does not show it",
    "video": "media kept for export; the app does not show it",
}
_KEPT: Final = "kept for export; it has no effect in Fieldscore"


class _Notes:
    """The import's warnings: one per sheet, column and reason, naming its first row and how many."""

    def __init__(self) -> None:
        self._rows: dict[tuple[str, str, str], list[int]] = {}

    def add(self, sheet: str, row: int, column: str, message: str) -> None:
        self._rows.setdefault((sheet, column, message), []).append(row)

    def keep(self, row: _Row, *, silent: frozenset[str] = frozenset()) -> dict[str, str]:
        """The row's cells that no field used, by header, each noted as kept for export."""
        cells: dict[str, str] = {}
        for column in sorted(row.cells.keys() - row.used, key=_column_name):
            name = _column_name(column)
            cells[name] = _text(row.cells[column])
            row.used.add(column)
            if column[0] not in silent:
                self.add(row.sheet, row.number, name, _KEPT_BECAUSE.get(column[0], _KEPT))
        return cells

    def ignore(self, row: _Row, why: str) -> None:
        for column in sorted(row.cells.keys() - row.used, key=_column_name):
            row.used.add(column)
            self.add(row.sheet, row.number, _column_name(column), why)

    def warnings(self) -> list[ImportWarning]:
        found = []
        for (sheet, column, message), rows in self._rows.items():
            if len(rows) > 1:
                message += f" (rows {rows[0]}–{rows[-1]}, {len(rows)} in all)"
            found.append(ImportWarning(sheet, rows[0], column, message))
        return sorted(found, key=lambda n: (n.sheet, n.row, n.column))


# pyxform stops reading a sheet after this many blank rows, and a header after this many blank columns.
_BLANK_ROWS_END: Final = 60
_BLANK_COLUMNS_END: Final = 20


def _sheet_rows(values: Iterable[tuple[Any, ...]], sheet: str, problems: list[Problem], notes: _Notes) -> list[_Row]:
    """The sheet's non-blank rows below its header; blank (formatted) rows cost nothing."""
    rows = iter(values)
    header = next(rows, None)
    if header is None or all(_blank(h) for h in header):
        if any(not _blank(v) for values in rows for v in values):
            problems.append((sheet, 1, "the first row must name the columns"))
        return []
    texts: list[str | None] = []
    for value in header:
        texts.append(None if _blank(value) else _text(value).strip())
        if len(texts) > _BLANK_COLUMNS_END and not any(texts[-_BLANK_COLUMNS_END - 1 :]):
            break
    double_colon = any("::" in t for t in texts if t)
    columns: list[Column | None] = []
    seen: dict[Column, str] = {}
    for text in texts:
        if text is None:
            columns.append(None)
            continue
        column = _column(text, double_colon, sheet)
        if column in seen:
            problems.append((sheet, 1, f"column '{text}' repeats column '{seen[column]}'"))
            columns.append(None)
            continue
        seen[column] = text
        columns.append(column)
    result: list[_Row] = []
    headless: set[int] = set()
    blank_run = 0
    for number, values in enumerate(rows, start=2):
        cells: dict[Column, Any] = {}
        for index, value in enumerate(values):
            if _blank(value):
                continue
            known = columns[index] if index < len(columns) else None
            if known is None:
                if index not in headless:  # once per column, not once per cell
                    headless.add(index)
                    notes.add(
                        sheet,
                        number,
                        get_column_letter(index + 1),
                        "a value in a column without a header: ignored (ODK tools ignore it too)",
                    )
                continue
            cells[known] = value
        if not cells:
            blank_run += 1
            # The sheet ends here for ODK tools too, however far down its formatting reaches; reading
            # on would cost a million empty rows for a sheet formatted to Excel's last row.
            if blank_run > _BLANK_ROWS_END:
                break
            continue
        blank_run = 0
        if len(result) == MAX_ROWS:
            problems.append((sheet, number, f"more than {MAX_ROWS} rows"))
            break
        result.append(_Row(sheet, number, cells))
    return result


def _bool(row: _Row, base: str) -> bool:
    value = row.raw(base)
    if value is None or isinstance(value, bool):
        return bool(value)
    text = _text(value).strip().lower()
    if text in ("yes", "true", "true()", "1", "y"):
        return True
    if text in ("no", "false", "false()", "0", "n"):
        return False
    raise _CellError(f"{base}: '{_text(value)}' is not yes or no")


def _parse_number(text: str) -> float | int:
    text = text.strip()
    if re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    number = float(text)  # ValueError for junk
    if not math.isfinite(number):
        raise ValueError(text)
    return number


def _num(
    row: _Row,
    base: str,
    low: float,
    high: float,
    default: Any = None,
    *,
    integer: bool = False,
    allow_none: bool = False,
) -> Any:
    value = row.raw(base)
    if value is None:
        return default
    if allow_none and isinstance(value, str) and value.strip().lower() == "none":
        return None
    if isinstance(value, bool):
        raise _CellError(f"{base}: '{_text(value)}' is not a number")
    if isinstance(value, (int, float)):
        number: int | float = value
    else:
        try:
            number = _parse_number(_text(value))
        except ValueError:
            raise _CellError(f"{base}: '{_text(value)}' is not a number") from None
    if isinstance(number, float) and not math.isfinite(number):
        raise _CellError(f"{base}: '{_text(value)}' is not a number")
    if integer:
        if isinstance(number, float) and not number.is_integer():
            raise _CellError(f"{base}: '{_text(value)}' is not a whole number")
        number = int(number)
    if not low <= number <= high:
        raise _CellError(f"{base}: {_text(value)} is outside {_text(float(low))}…{_text(float(high))}")
    return number


_BAND_NUMBER: Final = r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?"
_BAND_RE: Final = re.compile(rf"\s*({_BAND_NUMBER})?\s*\.\.\s*({_BAND_NUMBER})?\s*=\s*({_BAND_NUMBER})\s*")


def _bands(row: _Row) -> list[dict[str, Any]]:
    value = row.raw("bands")
    if value is None:
        return []
    bands = []
    for part in _text(value).split(";"):
        if not part.strip():
            continue
        match = _BAND_RE.fullmatch(part)
        if match is None:
            raise _CellError(f"bands: '{part.strip()}' is not min..max=points (e.g. 0..20=1; 20..=0)")
        low, high, points = (None if g is None else _parse_number(g) for g in match.groups())
        bands.append({"min": low, "max": high, "points": points})
    return bands


_XLS_MAGIC: Final = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # an OLE2 file: the Excel 97–2003 .xls format


@contextmanager
def _load(data: bytes) -> Iterator[dict[str, Callable[[], Iterator[tuple[Any, ...]]]]]:
    """The workbook's sheets by lower-cased name, each a function giving its rows' values."""
    if data[:8] == _XLS_MAGIC:
        yield _load_xls(data)
        return
    try:
        with warnings.catch_warnings():
            # openpyxl warns about Excel features it does not read (data validation, styles…);
            # none of them carries questionnaire content.
            warnings.simplefilter("ignore")
            workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError) as error:
        raise XLSFormError([("", 0, f"not an .xlsx or .xls workbook ({type(error).__name__})")]) from None
    except Exception as error:  # openpyxl raises assorted errors for damaged archives
        raise XLSFormError([("", 0, f"not a readable .xlsx workbook ({type(error).__name__})")]) from None
    try:
        yield {
            name.strip().lower(): functools.partial(workbook[name].iter_rows, values_only=True)
            for name in workbook.sheetnames
        }
    finally:
        workbook.close()


def _load_xls(data: bytes) -> dict[str, Callable[[], Iterator[tuple[Any, ...]]]]:
    try:
        book = xlrd.open_workbook(file_contents=data, logfile=io.StringIO())
    except Exception as error:  # noqa: BLE001 - xlrd raises assorted errors for damaged files
        raise XLSFormError([("", 0, f"not a readable .xls workbook ({type(error).__name__})")]) from None

    def value(cell: Any) -> Any:
        if cell.ctype == xlrd.XL_CELL_DATE:
            parts = xlrd.xldate_as_tuple(cell.value, book.datemode)
            return dt.time(*parts[3:]) if parts[:3] == (0, 0, 0) else dt.datetime(*parts)
        if cell.ctype == xlrd.XL_CELL_BOOLEAN:
            return bool(cell.value)
        if cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK, xlrd.XL_CELL_ERROR):
            return None
        return cell.value

    def rows(sheet: Any) -> Iterator[tuple[Any, ...]]:
        for number in range(sheet.nrows):
            yield tuple(value(cell) for cell in sheet.row(number))

    return {sheet.name.strip().lower(): functools.partial(rows, sheet) for sheet in book.sheets()}


# --------------------------------------------------------------------------------------------
# Import
# --------------------------------------------------------------------------------------------

_SIMPLE_TYPES: Final[dict[str, str]] = {
    "integer": "integer",
    "int": "integer",
    "decimal": "decimal",
    "text": "text",
    "string": "text",
    "note": "note",
    "date": "timestamp",
    "time": "timestamp",
    "datetime": "timestamp",
    "date time": "timestamp",
    "geopoint": "gps",
    "gps": "gps",
    "location": "gps",
    "image": "photo",
    "photo": "photo",
    "audio": "audio",
    "video": "video",
    "file": "file",
    "range": "rating",
    "nps": "nps",
    "duration": "duration",
    "timer_sequence": "timer_sequence",
    "calculate": "calculate",
    "hidden": "hidden",
    "acknowledge": "acknowledge",
    "barcode": "barcode",
    "begin_group": "begin",
    "begin group": "begin",
    "end_group": "end",
    "end group": "end",
    "begin_repeat": "begin_repeat",
    "begin repeat": "begin_repeat",
    "end_repeat": "end_repeat",
    "end repeat": "end_repeat",
}
# pyxform's older spellings of the same types (read as the type; exported in today's spelling).
_LEGACY_TYPES: Final[dict[str, str]] = {
    "phone number": "text",
    "q string": "text",
    "add text prompt": "text",
    "q int": "integer",
    "add integer prompt": "integer",
    "q decimal": "decimal",
    "add decimal prompt": "decimal",
    "q note": "note",
    "add note prompt": "note",
    "q date": "timestamp",
    "add date prompt": "timestamp",
    "q datetime": "timestamp",
    "q date time": "timestamp",
    "add datetime prompt": "timestamp",
    "add date time prompt": "timestamp",
    "q geopoint": "gps",
    "q location": "gps",
    "add location prompt": "gps",
    "q image": "photo",
    "q picture": "photo",
    "add image prompt": "photo",
    "add photo prompt": "photo",
    "q audio": "audio",
    "add audio prompt": "audio",
    "q video": "video",
    "add video prompt": "video",
    "add file prompt": "file",
    "trigger": "acknowledge",
    "q acknowledge": "acknowledge",
    "add acknowledge prompt": "acknowledge",
    "q barcode": "barcode",
    "add barcode prompt": "barcode",
}
_WHY_NOT: Final[dict[str, str]] = {
    "end loop": "end loop without a matching begin loop",
    "end_loop": "end loop without a matching begin loop",
    "geotrace": "geotrace is not supported (only geopoint)",
    "q geotrace": "geotrace is not supported (only geopoint)",
    "geoshape": "geoshape is not supported (only geopoint)",
    "q geoshape": "geoshape is not supported (only geopoint)",
    "rank": "rank questions (putting the choices in order) are not supported",
    "osm": "OpenStreetMap questions are not supported",
    "xml-external": "external data files are not supported",
    "csv-external": "external data files are not supported",
}
# Rows the phone or the server records by itself: no question,
# kept as they are for export.
_METADATA: Final = frozenset(
    {
        "start",
        "end",
        "today",
        "deviceid",
        "subscriberid",
        "simserial",
        "phonenumber",
        "username",
        "email",
        "audit",
        "start-geopoint",
        "background-audio",
        "background-geopoint",
        "imei",
        "start time",
        "end time",
        "get start time",
        "get end time",
        "get today",
        "device id",
        "get device id",
        "subscriber id",
        "get subscriber id",
        "sim id",
        "get sim id",
        "get phone number",
        "uri:subscriberid",
        "uri:phonenumber",
        "uri:simserial",
        "uri:deviceid",
        "uri:username",
        "uri:email",
    }
)
_SELECT_PREFIXES: Final = (
    ("select_one", "select_one"),
    ("select one from", "select_one"),
    ("select one using", "select_one"),
    ("select one", "select_one"),
    ("select1", "select_one"),
    ("add select one prompt using", "select_one"),
    ("select_multiple", "select_multiple"),
    ("select all that apply from", "select_multiple"),
    ("select multiple from", "select_multiple"),
    ("select multiple using", "select_multiple"),
    ("select all that apply", "select_multiple"),
    ("add select multiple prompt using", "select_multiple"),
)
# The select spellings, which need a list name after them.
_LIST_TYPES: Final = frozenset(
    {prefix for prefix, _kind in _SELECT_PREFIXES} | {"select_one_external", "select one external"}
)
_OR_OTHER: Final = re.compile(r"\s+(?:or_other|or\s+specify\s+other)$", re.IGNORECASE)


@dataclass(frozen=True)
class _Type:
    kind: str  # a question type tag, begin, end, select_one, select_multiple or metadata
    list_name: str | None = None
    or_other: bool = False
    external: bool = False  # select_one_external: the list is on the external_choices sheet
    legacy: str | None = None  # an older spelling that was read as `kind`


def _parse_type(text: str) -> _Type:
    words = text.split()
    normal = " ".join(words)
    lower = normal.lower()
    if lower in _SIMPLE_TYPES:
        return _Type(_SIMPLE_TYPES[lower])
    if lower in _LEGACY_TYPES:
        return _Type(_LEGACY_TYPES[lower], legacy=normal)
    head = words[0].lower() if words else ""
    if lower in _LIST_TYPES:
        # Before the prefixes below: 'select one from' alone would read as the list 'from'.
        raise _CellError(f"type: '{normal}' needs a choice list name")
    if head == "rank":  # `rank LIST` as XLSForm writes it
        raise _CellError(f"type: '{normal}' — {_WHY_NOT['rank']}")
    if head == "osm":
        raise _CellError(
            f"type: '{normal}' — OpenStreetMap questions are not supported: they need OpenMapKit to draw "
            "and tag map features, which the phone app does not have"
        )
    for prefix in ("select_one_external ", "select one external "):
        if lower.startswith(prefix):
            rest = normal[len(prefix) :].split()
            if len(rest) != 1:
                raise _CellError(f"type: '{normal}' — expected one list name after '{prefix.strip()}'")
            return _Type("select_one", rest[0], external=True)
    if head.endswith("_from_file") or lower.startswith(("select one from file", "select multiple from file")):
        raise _CellError(
            f"type: '{normal}' — choices from files (external choices) are not supported; "
            "put the choices on the choices sheet"
        )
    for prefix, kind in _SELECT_PREFIXES:
        if lower.startswith(prefix + " "):
            rest_text = normal[len(prefix) + 1 :]
            match = _OR_OTHER.search(rest_text)
            if match:
                rest_text = rest_text[: match.start()]
            rest = rest_text.split()
            if len(rest) != 1:
                raise _CellError(f"type: '{normal}' — expected one list name after '{prefix}'")
            return _Type(kind, rest[0], or_other=match is not None)
    if lower.startswith("begin loop over") or lower.startswith("begin_loop over"):
        raise _CellError(f"type: '{normal}' — a loop inside a loop is not supported")
    if lower in _WHY_NOT:
        raise _CellError(f"type: '{normal}' — {_WHY_NOT[lower]}")
    if lower in _METADATA:
        return _Type("metadata")
    raise _CellError(f"type: unknown type '{normal}'")


@dataclass
class _ChoiceList:
    rows: list[int]
    choices: list[Choice]
    # (row, name, first row) of a name met again in the list: only a choice_filter tells them apart.
    repeated: list[tuple[int, str, int]] = field(default_factory=list)

    def is_yes_no(self) -> bool:
        return sorted(c.value for c in self.choices) == ["no", "yes"]


@dataclass
class _Context:
    default_language: str
    kinds: dict[str, str]
    lists: dict[str, _ChoiceList]
    problems: list[Problem]
    notes: _Notes
    external_lists: dict[str, _ChoiceList] = field(default_factory=dict)
    renamed: dict[int, str] = field(default_factory=dict)  # row → its name as written (see read_xlsform)
    ambiguous: set[str] = field(default_factory=set)  # names used in several groups

    def unambiguous(self, base: str, text: str) -> None:
        """Refuse ${name} for a name several groups use: it could mean either question."""
        for match in _REFERENCE.finditer(text):
            name = match.group(1).strip()
            if name in self.ambiguous:
                raise _CellError(f"{base}: ${{{name}}} is ambiguous: several groups have a question named '{name}'")


def _field_name(path: str) -> str:
    column = {
        "key": "name",
        "show_if": "relevant",
        "na_allowed": "na",
        "give_up_s": "give_up",
        "min": "min/parameters",
        "max": "max/parameters",
    }
    field_ = path.removeprefix("$.").split(".")[0].split("[")[0]
    return column.get(field_, field_)


def _convert(row: _Row, data: dict[str, Any], cls: type[Any], problems: list[Problem]) -> Any:
    try:
        return msgspec.convert(data, cls)
    except msgspec.ValidationError as error:
        message = str(error)
        path = message.rsplit(" - at `", 1)[1].rstrip("`") if " - at `" in message else ""
        reason = message.split(" - at `")[0]
        problems.append((row.sheet, row.number, f"{_field_name(path) if path else 'row'}: {reason}"))
        return None


def _read_choices(
    rows: list[_Row], default_language: str, problems: list[Problem], notes: _Notes
) -> dict[str, _ChoiceList]:
    lists: dict[str, _ChoiceList] = {}
    seen: dict[tuple[str, str], int] = {}
    for row in rows:
        errors: list[str] = []
        list_name, name = row.name("list_name"), row.raw("name")
        value = None if name is None else _text(name)
        data: dict[str, Any] = {"value": value}
        for key, read in (
            ("label", lambda: row.labels("label", default_language)),
            ("points", lambda: _num(row, "points", -1000, 1000)),
            ("fail", lambda: _bool(row, "fail")),
        ):
            try:
                data[key] = read()
            except _CellError as error:
                errors.append(str(error))
        if not list_name:
            errors.append("list_name: missing")
        if value is None:
            errors.append("name: missing")
        extension = sorted(c for c in row.cells.keys() - row.used if c[0] in ("points", "fail"))
        errors.extend(f"column '{_column_name(c)}' is not used here" for c in extension)
        row.used.update(extension)
        cells = notes.keep(row)
        if cells:
            data["xlsform"] = cells
        repeated = None
        if list_name and value is not None:
            if (list_name, value) in seen:
                # XLSForm allows it for a cascade (choice_filter); a question without one is refused.
                repeated = (row.number, value, seen[list_name, value])
            else:
                seen[(list_name, value)] = row.number
        problems.extend((row.sheet, row.number, e) for e in errors)
        if errors or not list_name:
            continue
        choice = _convert(row, data, Choice, problems)
        if choice is not None:
            entry = lists.setdefault(list_name, _ChoiceList([], []))
            entry.rows.append(row.number)
            entry.choices.append(choice)
            if repeated is not None:
                entry.repeated.append(repeated)
    return lists


_REFERENCE: Final = re.compile(r"\$\{([^}]*)\}")


def _fillable(
    base: str, labels: dict[str, str], kinds: dict[str, str], row: _Row | None = None, notes: _Notes | None = None
) -> dict[str, str]:
    """`labels` when every ${name} in them names a question (or metadata row) the phone can fill in;
    else an error.

    A reference that cannot be filled would show the shopper "${name}" as it is. A metadata row is
    filled in by the phone (`metadataValues` in mobile_forms/web/app/lib/form.js): start, end and
    today from the report's own times, anything a web app cannot read (device id, SIM serial, phone
    number, user name…) as nothing; the import says so.
    """
    for text in labels.values():
        for match in _REFERENCE.finditer(text):
            name = match.group(1).strip()
            if kinds.get(name) == "metadata" and row is not None and notes is not None:
                notes.add(
                    row.sheet,
                    row.number,
                    base,
                    f"${{{name}}} is form metadata (or a pulldata() calculation), not a question: the phone "
                    "fills in the report's start, end or today, and anything else (device id, SIM, phone "
                    "number, user, pulled data) as nothing",
                )
                continue
            if kinds.get(name) in (None, "section", "metadata"):
                what = {"section": "a group", "metadata": "form metadata"}.get(kinds.get(name, ""), "")
                raise _CellError(
                    f"{base}: ${{{name}}} cannot be filled in: "
                    + (f"'{name}' is {what}, not a question" if what else f"no question is named '{name}'")
                )
    return labels


def _question(row: _Row, kind: str, list_name: str | None, ctx: _Context, external: bool = False) -> Question | None:
    errors: list[str] = []
    data: dict[str, Any] = {"key": row.name("name")}
    tag = ctx.kinds.get(data["key"] or "", kind)

    def take(key: str, read: Callable[[], Any]) -> None:
        try:
            value = read()
        except _CellError as error:
            errors.append(str(error))
            return
        if value is not None:
            data[key] = value

    def condition(base: str) -> Expr | None:
        source = row.raw(base)
        if source is None:
            return None
        ctx.unambiguous(base, _text(source))
        try:
            return parse_xpath(_text(source), ctx.kinds)
        except _ExprError as error:
            raise _CellError(f"{base}: {error}") from None

    lang = ctx.default_language

    def fillable(base: str) -> dict[str, str]:
        labels = row.labels(base, lang)
        for text in labels.values():
            ctx.unambiguous(base, text)
        return _fillable(base, labels, ctx.kinds, row, ctx.notes)

    for base in ("label", "hint", "constraint_message"):
        take(base, functools.partial(fillable, base))
    take("required", lambda: _bool(row, "required"))
    take("show_if", lambda: condition("relevant"))
    take("constraint", lambda: condition("constraint"))
    take("weight", lambda: _num(row, "weight", 0, 1000))
    take("na_allowed", lambda: _bool(row, "na"))
    take("critical", lambda: _bool(row, "critical"))
    take("bonus", lambda: _bool(row, "bonus"))
    take("metric", lambda: row.name("metric"))
    default_text = row.raw("default")

    if tag in ("yes_no", "single_choice", "multiple_choice"):
        assert list_name is not None
        choice_list = (ctx.external_lists if external else ctx.lists)[list_name]
        if external:
            data["external"] = True
            ctx.notes.add(
                row.sheet,
                row.number,
                "type",
                f"select_one_external: the choices of '{list_name}' come from the external_choices sheet; the "
                "phone shows them as a list (ODK shows a search box); exported to that sheet again",
            )
        if tag == "yes_no":
            by_value = {c.value: c for c in choice_list.choices}
            yes, no = by_value["yes"], by_value["no"]
            data.update(
                points_yes=yes.points, points_no=no.points, fail_on="yes" if yes.fail else "no" if no.fail else None
            )
            # The list's own labels and columns stay with the question (the export writes them back);
            # plain "Yes"/"No" in the default language is what the export writes anyway.
            if (yes.label, no.label) not in (({}, {}), ({lang: "Yes"}, {lang: "No"})):
                data.update(yes_label=yes.label, no_label=no.label)
            if yes.xlsform:
                data["yes_xlsform"] = yes.xlsform
            if no.xlsform:
                data["no_xlsform"] = no.xlsform
            if yes.fail and no.fail:
                errors.append(f"type: list '{list_name}' fails on both yes and no")
        else:
            data["choices"] = [msgspec.to_builtins(c) for c in choice_list.choices]
            # A ${name} naming no question is a mistake in the sheet (pyxform refuses it too), not a
            # filter we merely cannot read: refused rather than kept with every choice offered.
            for name in _unknown_references(row.raw("choice_filter"), ctx.kinds):
                errors.append(f"choice_filter: ${{{name}}} names no question of this form")
            try:
                choice_filter = _choice_filter(row, ctx)
            except _CellError as error:
                # As before cascades were read: kept as written, every choice offered, said so.
                choice_filter = None
                row.used.discard(("choice_filter", None))
                ctx.notes.add(row.sheet, row.number, "choice_filter", f"{error}: not applied, every choice is offered")
            if choice_filter is not None:
                data["choice_filter"] = choice_filter
            else:
                for number, value, first in choice_list.repeated:
                    errors.append(
                        f"type: list '{list_name}' has '{value}' twice (choices rows {first} and {number}); "
                        "only a question with a choice_filter may use such a list"
                    )
    elif tag == "rating":
        take("points", lambda: _num(row, "points", -1000, 1000))
        take("fail_below", lambda: _num(row, "fail_below", -1e9, 1e9, integer=True))

        def parameters() -> None:
            text = row.raw("parameters")
            # pyxform's defaults for a range without parameters
            found = {"start": "1", "end": "10", "step": "1"}
            for part in re.split(r"[\s,;]+", _text(text).strip()) if text is not None else []:
                name, sep, value = part.partition("=")
                if not sep or name.strip().lower() not in found:
                    raise _CellError(f"parameters: '{part}' is not start=…, end=… or step=…")
                found[name.strip().lower()] = value.strip()
            try:
                start, end, step = (_parse_number(found[k]) for k in ("start", "end", "step"))
            except ValueError:
                raise _CellError("parameters: start, end and step must be numbers") from None
            if step != 1:
                raise _CellError("parameters: a rating steps by 1 (step must be 1)")
            data["min"], data["max"] = start, end

        take("_", parameters)
    elif tag == "nps":
        take("points", lambda: _num(row, "points", -1000, 1000))
    elif tag in ("integer", "decimal", "duration"):
        take("min", lambda: _num(row, "min", -1e12, 1e12, 0 if tag == "duration" else None, allow_none=True))
        if tag == "duration" and row.cells.get(("min", None)) is not None and data.get("min") is None:
            data["min"] = None  # an explicit `none`: no lower bound (the default is 0)
        take("max", lambda: _num(row, "max", -1e12, 1e12, allow_none=True))
        take("bands", lambda: _bands(row))
    elif tag == "timer_sequence":
        take("give_up_s", lambda: _num(row, "give_up", 1, 86_400, integer=True))
        take("clock_start", lambda: row.name("clock_start"))
        take("bands", lambda: _bands(row))
    elif tag == "text":
        take("max_length", lambda: _num(row, "max_length", 1, 20_000, integer=True))
        if kind == "barcode":
            data["barcode"] = True
            ctx.notes.add(
                row.sheet,
                row.number,
                "type",
                "'barcode' is a text question here: the phone shows a text field to type or paste the "
                "code (a web app has no dependable scanner); exported as barcode",
            )
    elif tag == "file":
        data["accept"] = kind if kind in ("audio", "video") else "any"
    elif tag == "calculate" and kind == "hidden":
        # XLSForm's hidden: a value with no control, its default (a literal: a number when written as
        # one, else the text; missing when there is none), or computed when the row has a calculation.
        data["hidden"] = True
        if row.cells.get(("calculation", None)) is not None:
            take("calculation", lambda: condition("calculation"))
        else:
            text = _text(default_text).strip() if default_text is not None else ""
            data["calculation"] = Expr(op=Op.lit, args=[_hidden_value(text)])
            row.used.add(("default", None))
            default_text = None
    elif tag == "calculate":
        take("calculation", lambda: condition("calculation"))
        if row.cells.get(("calculation", None)) is None:
            errors.append("calculation: missing (a calculate row needs its expression)")

    if default_text is not None:
        default = _default(tag, _text(default_text).strip(), data)
        if default is None:
            row.used.discard(("default", None))  # kept as written, with its warning, as before
        else:
            data["default"] = default
    for column in sorted(row.cells.keys() - row.used, key=_column_name):
        if column[0] in _EXTENSION_COLUMNS:  # Fieldscore's own columns: a mistake, not foreign data
            errors.append(f"column '{_column_name(column)}' is not used by type '{_text(row.raw('type')).strip()}'")
            row.used.add(column)
    cells = ctx.notes.keep(row)
    if row.number in ctx.renamed:
        cells["name"] = ctx.renamed[row.number]  # exported as written
    if cells:
        data["xlsform"] = cells
    if errors:
        ctx.problems.extend((row.sheet, row.number, e) for e in errors)
        return None
    data["type"] = tag
    data.pop("_", None)
    question: Question | None = _convert(row, data, _QUESTION_CLASSES[tag], ctx.problems)
    return question


def _hidden_value(text: str) -> str | float | None:
    """A hidden row's default as its value: missing when blank, a number when written as one (as
    `_format_number` writes it back, so the export gives the same cell), else the text."""
    if not text:
        return None
    try:
        number = _parse_number(text)
    except ValueError:
        return text
    return number if _format_number(number) == text else text


def _default(tag: str, text: str, data: dict[str, Any]) -> Any:
    """A `default` cell as the answer it stands for, or None when it is none we can start a report with
    (a date, a value outside the choices…): then the cell is kept as written and not applied."""
    choices = {c["value"] for c in data.get("choices", [])}
    if tag == "yes_no":
        return {"yes": True, "no": False}.get(text.lower())
    if tag == "single_choice":
        return text if text in choices else None
    if tag == "multiple_choice":
        values = text.split()
        return values if values and all(v in choices for v in values) and len(set(values)) == len(values) else None
    if tag == "text":
        return text or None
    if tag in ("integer", "rating", "nps", "decimal"):
        try:
            number = _parse_number(text)
        except ValueError:
            return None
        if tag != "decimal":
            return int(number) if float(number).is_integer() else None
        return float(number)
    return None


def _unknown_references(source: Any, kinds: dict[str, str]) -> list[str]:
    """The names in `source`'s ${name} references that are no question, group or metadata row."""
    if source is None:
        return []
    names = (match.group(1).strip() for match in _REFERENCE.finditer(_text(source)))
    return list(dict.fromkeys(name for name in names if name not in kinds))


def _choice_filter(row: _Row, ctx: _Context) -> Expr | None:
    source = row.raw("choice_filter")
    if source is None:
        return None
    ctx.unambiguous("choice_filter", _text(source))
    try:
        return parse_xpath(_text(source), ctx.kinds, choice_columns=True)
    except _ExprError as error:
        raise _CellError(f"choice_filter: {error}") from None


_QUESTION_CLASSES: Final[dict[str, type[Any]]] = {
    "yes_no": YesNo,
    "single_choice": SingleChoice,
    "multiple_choice": MultipleChoice,
    "rating": Rating,
    "nps": Nps,
    "integer": Integer,
    "decimal": Decimal,
    "duration": Duration,
    "timestamp": Timestamp,
    "timer_sequence": TimerSequence,
    "text": Text,
    "photo": Photo,
    "file": File,
    "gps": Gps,
    "note": Note,
    "acknowledge": Acknowledge,
    "calculate": Calculate,
}
# Fieldscore's own survey columns (not XLSForm's): one on a row whose type does not use it is an error.
_EXTENSION_COLUMNS: Final = frozenset(
    {
        "points",
        "weight",
        "critical",
        "metric",
        "na",
        "bonus",
        "fail_below",
        "min",
        "max",
        "bands",
        "max_length",
        "give_up",
        "clock_start",
    }
)


def _read_settings(
    rows: list[_Row], problems: list[Problem], notes: _Notes
) -> tuple[dict[str, str], str, dict[str, str]]:
    if not rows:
        return {}, "en", {}
    row = rows[0]
    default = row.raw("default_language")
    language = _language(_text(default)) if default is not None else "en"
    try:
        title = row.labels("form_title", language)
    except _CellError as error:
        problems.append((row.sheet, row.number, str(error)))
        title = {}
    # form_id and version identify the spreadsheet in ODK (Fieldscore numbers its own versions):
    # kept for export without a warning, like every other settings column but with nothing to say.
    kept = notes.keep(row, silent=frozenset({"form_id", "version"}))
    for extra in rows[1:]:
        problems.append((extra.sheet, extra.number, "settings has one row of values; this row is extra"))
    if not 2 <= len(language) <= 16:
        problems.append((row.sheet, row.number, f"default_language: '{language}' is not a language code"))
        language = "en"
    return title, language, kept


_PULLDATA: Final = re.compile(r"\bpulldata\s*\(", re.IGNORECASE)
_LOOP: Final = re.compile(r"^begin[ _]loop\s+over\s+(\S+)$", re.IGNORECASE)
_LOOP_END: Final = frozenset({"end loop", "end_loop"})
_LOOP_FIELDS: Final = re.compile(r"%\((name|label)\)s")


def _row_type(row: _Row) -> str:
    value = row.cells.get(("type", None))
    return "" if value is None else " ".join(_text(value).split())


def _expand_loops(
    rows: list[_Row], lists: dict[str, _ChoiceList], language: str, problems: list[Problem], notes: _Notes
) -> list[_Row]:
    """`begin loop over LIST` … `end loop` written out as pyxform does: a group per choice of LIST.

    The loop becomes a group (its name and label); inside it, for each choice, a group named
    LOOP_CHOICE labelled with the choice's label, holding the loop's rows with their names suffixed
    `_CHOICE` (names are unique across a Fieldscore form), `%(name)s` / `%(label)s` replaced by the
    choice's name and label, and `${inner}` references to rows of the same loop pointed at that
    choice's copy. The export writes these groups, which read back to the same form.
    """
    out: list[_Row] = []
    index = 0
    while index < len(rows):
        row = rows[index]
        match = _LOOP.match(_row_type(row))
        if match is None:
            out.append(row)
            index += 1
            continue
        end = next((j for j in range(index + 1, len(rows)) if _row_type(rows[j]).lower() in _LOOP_END), None)
        if end is None:
            problems.append((row.sheet, row.number, "type: begin loop has no matching end loop"))
            return out + rows[index + 1 :]
        inner = rows[index + 1 : end]
        index = end + 1
        list_name = match.group(1)
        choice_list = lists.get(list_name)
        if choice_list is None:
            problems.append((row.sheet, row.number, f"type: loop over unknown choice list '{list_name}'"))
            continue
        loop_name = row.name("name") or ""
        notes.add(
            row.sheet,
            row.number,
            "type",
            f"the loop over '{list_name}' is written out as a group per choice ({loop_name}_<choice>), "
            "its questions named <name>_<choice>, as pyxform does; exported as those groups",
        )
        names = {n for r in inner if (n := r.name("name"))}
        out.append(_Row(row.sheet, row.number, {**row.cells, ("type", None): "begin_group"}))
        for choice in choice_list.choices:

            def fill(text: str, lang: str | None, choice: Choice = choice) -> str:
                label = choice.label.get(lang or language) or next(iter(choice.label.values()), choice.value)
                text = _LOOP_FIELDS.sub(lambda m: choice.value if m.group(1) == "name" else label, text)
                return _REFERENCE.sub(
                    lambda m: (
                        f"${{{m.group(1).strip()}_{choice.value}}}" if m.group(1).strip() in names else m.group(0)
                    ),
                    text,
                )

            group: dict[Column, Any] = {("type", None): "begin_group", ("name", None): f"{loop_name}_{choice.value}"}
            group.update({("label", lang): text for lang, text in choice.label.items()})
            out.append(_Row(row.sheet, row.number, group))
            for original in inner:
                cells = {
                    column: fill(value, column[1]) if isinstance(value, str) else value
                    for column, value in original.cells.items()
                }
                name = original.name("name")
                if name and _row_type(original).lower() not in ("end group", "end_group"):
                    cells[("name", None)] = f"{name}_{choice.value}"
                original.used.clear()
                out.append(_Row(original.sheet, original.number, cells))
            out.append(_Row(row.sheet, row.number, {("type", None): "end_group"}))
        out.append(_Row(rows[end].sheet, rows[end].number, {("type", None): "end_group"}))
    return out


@dataclass
class _Open:
    row: _Row
    data: dict[str, Any]
    items: list[Any]


def import_xlsform(data: bytes) -> FormDefinition:
    """The form definition in an XLSForm workbook; raises XLSFormError listing every problem."""
    return read_xlsform(data).definition


def read_xlsform(data: bytes) -> Imported:
    """The form definition in an XLSForm workbook and the warnings of its import.

    Raises XLSFormError listing every problem.
    """
    problems: list[Problem] = []
    notes = _Notes()
    with _load(data) as sheets:
        if "survey" not in sheets and len(sheets) == 1:  # as pyxform does: a lone sheet is the survey
            ((only, rows),) = sheets.items()
            sheets = {"survey": rows}
            notes.add("survey", 0, "", f"the workbook's only sheet, '{only}', is read as the survey sheet")
        if "survey" not in sheets:
            raise XLSFormError([("survey", 0, "the workbook has no 'survey' sheet")])

        def read(name: str) -> list[_Row]:
            return _sheet_rows(sheets[name](), name, problems, notes) if name in sheets else []

        title, language, settings = _read_settings(read("settings"), problems, notes)
        choice_rows = read("choices")
        lists = _read_choices(choice_rows, language, problems, notes)
        survey_rows = _expand_loops(read("survey"), lists, language, problems, notes)
        external_lists: dict[str, _ChoiceList] = {}
        if any(_row_type(r).lower().startswith(("select_one_external", "select one external")) for r in survey_rows):
            external_rows = read("external_choices")
            choice_rows = [*choice_rows, *external_rows]
            external_lists = _read_choices(external_rows, language, problems, notes)
        elif "external_choices" in sheets and _sheet_rows(
            sheets["external_choices"](), "external_choices", [], _Notes()
        ):
            notes.add("external_choices", 0, "", "the 'external_choices' sheet is ignored: no question uses it")
        if "entities" in sheets and _sheet_rows(sheets["entities"](), "entities", [], _Notes()):
            notes.add("entities", 0, "", "the 'entities' sheet is ignored: questions that use it are refused")
        header = next(iter(sheets["survey"]()), ())
        texts = [_text(h).strip() for h in header if not _blank(h)]
        columns = {_column(t, any("::" in t for t in texts)) for t in texts}
    missing = [c for c in ("type", "name") if (c, None) not in columns]
    if missing:
        # Without them no row can be read, so the rows' own problems would only be noise.
        problems.extend(("survey", 1, f"missing required column '{c}'") for c in missing)
        raise XLSFormError(problems)

    # First pass: every name and its type, so expressions may refer to later questions.
    all_names = {n for r in survey_rows if (n := r.name("name"))}
    for r in survey_rows:
        r.used.discard(("name", None))
    kinds: dict[str, str] = {}
    parsed: list[tuple[_Row, _Type]] = []
    first_row: dict[str, int] = {}
    # XLSForm allows a name again in another group; our keys are unique across the form, so the later
    # question is keyed GROUP.NAME (the enclosing group's name), exported with its name as written.
    groups: list[str | None] = []
    parent_of: dict[str, str | None] = {}
    renamed: dict[int, str] = {}
    ambiguous: set[str] = set()
    for row in survey_rows:
        type_cell = row.raw("type")
        if type_cell is None:
            if row.raw("name") is None and not any(base == "label" for base, _lang in row.cells):
                notes.add(row.sheet, row.number, "", "a row without type, name or label (a comment): ignored")
                row.used.update(row.cells)
                continue
            problems.append((row.sheet, row.number, "type: missing"))
            continue
        try:
            parsed_type = _parse_type(_text(type_cell))
        except _CellError as error:
            problems.append((row.sheet, row.number, str(error)))
            continue
        kind, list_name = parsed_type.kind, parsed_type.list_name
        name = row.name("name")
        if kind in ("end", "end_repeat"):
            if groups:
                groups.pop()
            parsed.append((row, parsed_type))
            continue
        parent = groups[-1] if groups else None
        if kind in ("begin", "begin_repeat"):
            groups.append(name)
        elif (
            name
            and name in first_row
            and parent is not None
            and parent_of.get(name, parent) != parent
            and not parsed_type.or_other
            and f"{parent}.{name}" not in first_row
            and f"{parent}.{name}" not in all_names
            and len(f"{parent}.{name}") <= 64
            and _KEY_RE.match(name)
        ):
            notes.add(
                row.sheet,
                row.number,
                "name",
                f"'{name}' is also the name of a question in another group (row {first_row[name]}): keyed "
                f"'{parent}.{name}' here (keys are unique across a Fieldscore form), exported as '{name}'; "
                f"${{{name}}} is ambiguous and refused",
            )
            renamed[row.number] = name
            ambiguous.add(name)
            name = f"{parent}.{name}"
            row.cells[("name", None)] = name
        if not name and kind == "note":
            # pyxform lets a note go without a name (nothing can refer to it); ours need one.
            number = row.number
            while f"note_row{number}" in first_row or f"note_row{number}" in all_names:
                number += 1
            name = f"note_row{number}"
            row.cells[("name", None)] = name
            notes.add(row.sheet, row.number, "name", f"a note without a name is named '{name}' (exported with it)")
        names = [name]
        if parsed_type.or_other and name:
            names.append(f"{name}_other")  # the text question XLSForm adds for the "other" answer
        problem = None
        if not name:
            problem = "name: missing"
        elif not _KEY_RE.match(name) or len(name) > 64:
            problem = (
                f"name: '{name}' must be letters, digits, _, - and . (starting with a letter or "
                "_, not with __), at most 64 characters"
            )
        elif any(n in first_row for n in names):
            taken = next(n for n in names if n in first_row)
            problem = f"name: '{taken}' is already used in row {first_row[taken]}"
        if problem is not None:
            problems.append((row.sheet, row.number, problem))
            if kind in ("begin", "begin_repeat"):
                # Still open the group, or its end_group would be reported as unmatched too.
                parsed.append((row, _Type("begin_invalid")))
            continue
        assert name is not None
        for each in [n for n in names if n is not None]:
            first_row[each] = row.number
            parent_of[each] = parent
        if kind == "select_one" and parsed_type.external:
            assert list_name is not None
            kinds[name] = "single_choice"
            if list_name not in external_lists:
                problems.append(
                    (
                        row.sheet,
                        row.number,
                        f"type: select_one_external refers to unknown list '{list_name}' "
                        "(not on the external_choices sheet)",
                    )
                )
                continue
        elif kind in ("select_one", "select_multiple"):
            assert list_name is not None
            if list_name not in lists:
                # Still known by name, so conditions that refer to it do not add false problems.
                kinds[name] = "multiple_choice" if kind == "select_multiple" else "single_choice"
                problems.append((row.sheet, row.number, f"type: {kind} refers to unknown choice list '{list_name}'"))
                continue
            if kind == "select_multiple":
                kinds[name] = "multiple_choice"
            elif lists[list_name].is_yes_no() and not parsed_type.or_other:
                kinds[name] = "yes_no"
            else:
                kinds[name] = "single_choice"
            if parsed_type.or_other:
                kinds[f"{name}_other"] = "text"
        elif kind == "calculate" and _PULLDATA.search(_text(row.cells.get(("calculation", None), ""))):
            # Reads a CSV attached to the form in ODK, which Fieldscore has not: kept, not computed.
            kinds[name] = "metadata"
            parsed_type = _Type("pulldata")
        else:
            kinds[name] = {
                "begin": "section",
                "begin_repeat": "section",
                "audio": "file",
                "video": "file",
                "barcode": "text",
                "hidden": "calculate",
            }.get(kind, kind)
        parsed.append((row, parsed_type))

    ctx = _Context(language, kinds, lists, problems, notes, external_lists, renamed, ambiguous)
    # A choice's label may show an answer too (${name}, filled in on the phone like a question's label);
    # one that cannot be filled would show the shopper "${name}" as it is.
    for row in choice_rows:
        try:
            labels = row.labels("label", language)
        except _CellError:
            continue  # already reported with the list
        try:
            for text in labels.values():
                ctx.unambiguous("label", text)
            _fillable("label", labels, kinds, row, notes)
        except _CellError as error:
            problems.append((row.sheet, row.number, str(error)))
    top: list[Any] = []
    stack: list[_Open] = []
    kept_rows: list[XLSFormRow] = []
    for row, parsed_type in parsed:
        kind, list_name = parsed_type.kind, parsed_type.list_name
        if parsed_type.legacy:
            notes.add(
                row.sheet,
                row.number,
                "type",
                f"'{parsed_type.legacy}' is an older spelling, read "
                f"and exported as '{_EXPORT_SPELLING.get(kinds.get(row.name('name') or '') or '', kind)}'",
            )
        if kind == "begin_invalid":
            row.used.update(row.cells)  # the row's name problem is already reported
            stack.append(_Open(row, {}, [None]))
        elif kind in ("begin", "begin_repeat"):
            section = _section_start(row, ctx, repeat=kind == "begin_repeat")
            stack.append(_Open(row, section, []))
        elif kind in ("end", "end_repeat"):
            word = "end_repeat" if kind == "end_repeat" else "end_group"
            notes.ignore(row, f"ignored on an {word} row (ODK tools ignore it too)")
            if not stack:
                problems.append(
                    (row.sheet, row.number, f"type: {word} without a matching {word.replace('end', 'begin')}")
                )
                continue
            opened = stack.pop()
            if opened.data and bool(opened.data.get("repeat")) != (kind == "end_repeat"):
                began = "begin_repeat" if opened.data.get("repeat") else "begin_group"
                problems.append((row.sheet, row.number, f"type: {word} closes the {began} of row {opened.row.number}"))
            closed = _section_end(opened, ctx)
            (stack[-1].items if stack else top).append(closed)
        elif kind == "pulldata":
            notes.add(
                row.sheet,
                row.number,
                "calculation",
                "pulldata() reads a CSV file attached to the form in ODK, which Fieldscore does not have: "
                "the calculation is kept for export and not computed; a label that shows it fills in as "
                "nothing, and a condition may not use it",
            )
            row.used.update({("name", None), ("type", None)})
            kept_rows.append(
                XLSFormRow(type="calculate", name=row.name("name") or "", cells=notes.keep(row, silent=_ALL))
            )
        elif kind == "metadata":
            type_text = " ".join(_text(row.raw("type")).split())
            name = row.name("name") or ""
            notes.add(
                row.sheet,
                row.number,
                "type",
                f"'{type_text}' is form metadata: no question in "
                "Fieldscore (the app records who, when and where itself); the row is kept for export",
            )
            row.used.add(("name", None))
            kept_rows.append(XLSFormRow(type=type_text, name=name, cells=notes.keep(row, silent=_ALL)))
        else:
            question = _question(row, kind, list_name, ctx, parsed_type.external)
            items = stack[-1].items if stack else top
            items.append(question)
            if parsed_type.or_other:
                items.append(_other_text(row, question, ctx))
    for opened in stack:
        problems.append(
            (
                opened.row.sheet,
                opened.row.number,
                f"type: {'begin_repeat' if opened.data.get('repeat') else 'begin_group'} "
                f"'{opened.data.get('key')}' has no matching {'end_repeat' if opened.data.get('repeat') else 'end_group'}",
            )
        )
    if not any(t.kind not in ("end", "metadata", "pulldata") for _row, t in parsed) and not problems:
        problems.append(("survey", 0, "the survey sheet has no questions"))
    if problems:
        # Sheet by sheet, top to bottom, as someone fixing the spreadsheet would read them.
        raise XLSFormError(sorted(problems, key=lambda p: (p[0], p[1])))
    definition = FormDefinition(
        title=title,
        default_language=language,
        sections=_sections(top, set(kinds)),
        xlsform_settings=settings,
        xlsform_rows=kept_rows,
    )
    _note_draft_problems(definition, first_row, notes)
    return Imported(definition, notes.warnings())


# A definition field and the survey column it is read from (the same name when not listed here);
# a field no survey column holds (a choice, a yes/no list's points) is noted on the whole row.
_DRAFT_COLUMNS: Final = {
    "show_if": "relevant",
    "key": "name",
    "na_allowed": "na",
    "give_up_s": "give_up",
    "repeat": "type",
    "items": "",
    "choices": "",
    "points_yes": "",
    "points_no": "",
}
_DRAFT_PATH: Final = re.compile(r"^sections\[(\d+)\]((?:\.items\[\d+\])*)(?:\.(\w+))?")


def _draft_cell(definition: FormDefinition, path: str, rows: dict[str, int]) -> tuple[int, str]:
    """The survey row and column a check_definition path points at: the row of the question or group
    (``rows``: key → the row that produced it) and the column of the field; row 0 for the form as a whole."""
    match = _DRAFT_PATH.match(path)
    if match is None:
        return 0, ""
    node: Section | Question = definition.sections[int(match.group(1))]
    for index in re.findall(r"\d+", match.group(2)):
        assert isinstance(node, Section)
        node = node.items[int(index)]
    row = rows.get(node.key)
    if row is None:  # a section the import made for questions outside any group: it has no row
        return 0, ""
    name = match.group(3)
    if name is None:
        return row, "type"  # the question or group itself: its type is what publishing refuses
    if isinstance(node, Rating) and name in ("min", "max"):
        return row, "parameters"
    return row, _DRAFT_COLUMNS.get(name, name)


def _note_draft_problems(definition: FormDefinition, rows: dict[str, int], notes: _Notes) -> None:
    """What publishing refuses in the imported draft (check_definition), each at its survey row and column.

    The import keeps such a form (it can be edited into shape), but says so now rather than at publishing."""
    for problem in check_definition(definition):
        row, column = _draft_cell(definition, problem.path, rows)
        notes.add("survey", row, column, f"the draft cannot be published until this is changed: {problem.reason}")


class _Everything(frozenset[str]):
    def __contains__(self, item: object) -> bool:
        return True


_ALL: Final = _Everything()
_EXPORT_SPELLING: Final = {"timestamp": "dateTime", "gps": "geopoint", "photo": "image"}
_OTHER_LABEL: Final = "Other"
_SPECIFY_OTHER: Final = "Specify other."


def _other_text(row: _Row, question: Question | None, ctx: _Context) -> Question | None:
    """XLSForm's `or_other`: an "other" choice, and a text question shown when it is chosen."""
    if not isinstance(question, (SingleChoice, MultipleChoice)):
        return None
    languages = {*question.label} or {ctx.default_language}
    if any(c.value == "other" for c in question.choices):
        ctx.problems.append(
            (row.sheet, row.number, "type: 'or_other' adds a choice 'other', but the list already has one")
        )
        return None
    question.choices.append(Choice(value="other", label=dict.fromkeys(sorted(languages), _OTHER_LABEL)))
    chosen = (
        Expr(op=Op.contains, args=[Expr(op=Op.var, key=question.key), "other"])
        if isinstance(question, MultipleChoice)
        else Expr(op=Op.eq, args=[Expr(op=Op.var, key=question.key), "other"])
    )
    ctx.notes.add(
        row.sheet,
        row.number,
        "type",
        f"'or_other' becomes the choice 'other' and the text question "
        f"'{question.key}_other' shown when it is chosen (exported that way)",
    )
    return Text(key=f"{question.key}_other", label=dict.fromkeys(sorted(languages), _SPECIFY_OTHER), show_if=chosen)


def _section_start(row: _Row, ctx: _Context, repeat: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {"key": row.name("name")}
    if repeat:
        data["repeat"] = True
    for key, read in (
        ("label", lambda: _fillable("label", row.labels("label", ctx.default_language), ctx.kinds)),
        ("weight", lambda: _num(row, "weight", 0, 1000)),
        ("show_if", lambda: row.raw("relevant")),
        ("repeat_count", lambda: row.raw("repeat_count") if repeat else None),
    ):
        try:
            value = read()
            if key in ("show_if", "repeat_count") and value is not None:
                column = "relevant" if key == "show_if" else key
                ctx.unambiguous(column, _text(value))
                try:
                    value = parse_xpath(_text(value), ctx.kinds)
                except _ExprError as error:
                    raise _CellError(f"{column}: {error}") from None
            if value is not None:
                data[key] = value
        except _CellError as error:
            ctx.problems.append((row.sheet, row.number, str(error)))
    for leftover in sorted(row.cells.keys() - row.used, key=_column_name):
        if leftover[0] in _EXTENSION_COLUMNS:
            ctx.problems.append(
                (row.sheet, row.number, f"column '{_column_name(leftover)}' is not used by begin_group")
            )
            row.used.add(leftover)
    cells = ctx.notes.keep(row)
    if cells:
        data["xlsform"] = cells
    return data


def _section_end(opened: _Open, ctx: _Context) -> Section | None:
    if any(item is None for item in opened.items):
        return None  # its rows already reported their problems
    data = dict(opened.data, items=opened.items)
    try:
        return msgspec.convert(data, Section, from_attributes=True)
    except msgspec.ValidationError as error:
        ctx.problems.append((opened.row.sheet, opened.row.number, f"begin_group: {error}"))
        return None


def _sections(top: list[Any], names: set[str]) -> list[Section]:
    """Top-level groups are sections; each run of questions outside groups gets its own section."""
    sections: list[Section] = []
    loose: list[Any] = []

    def flush() -> None:
        if not loose:
            return
        number = len(sections) + 1
        while f"section_{number}" in names:
            number += 1
        names.add(f"section_{number}")
        sections.append(Section(key=f"section_{number}", items=list(loose)))
        loose.clear()

    for item in top:
        if isinstance(item, Section):
            flush()
            sections.append(item)
        else:
            loose.append(item)
    flush()
    return sections


# --------------------------------------------------------------------------------------------
# Export
# --------------------------------------------------------------------------------------------

_EXPORT_TYPES: Final[dict[type[Any], str]] = {
    Rating: "range",
    Nps: "nps",
    Integer: "integer",
    Decimal: "decimal",
    Duration: "duration",
    Timestamp: "dateTime",
    TimerSequence: "timer_sequence",
    Text: "text",
    Photo: "image",
    Gps: "geopoint",
    Note: "note",
    Acknowledge: "acknowledge",
    Calculate: "calculate",
}
_SURVEY_ORDER: Final = (
    "type",
    "name",
    "label",
    "hint",
    "required",
    "relevant",
    "constraint",
    "constraint_message",
    "calculation",
    "default",
    "choice_filter",
    "repeat_count",
    "points",
    "weight",
    "critical",
    "metric",
    "na",
    "bonus",
    "parameters",
    "fail_below",
    "min",
    "max",
    "bands",
    "max_length",
    "give_up",
    "clock_start",
)


def _walk(items: Iterable[Any]) -> Iterator[Any]:
    for item in items:
        yield item
        if isinstance(item, Section):
            yield from _walk(item.items)


def _format_number(value: float | int) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def _hidden_default(calculation: Expr) -> str | None:
    """The `default` cell of a hidden value whose calculation is a literal that cell reads back as
    (see `_hidden_value`; "" for none), or None when it needs the calculation column."""
    if calculation.op is not Op.lit or len(calculation.args) != 1:
        return None
    literal = calculation.args[0]
    if literal is None:
        return ""
    if isinstance(literal, bool) or not isinstance(literal, (str, int, float)):
        return None
    text = literal if isinstance(literal, str) else _format_number(literal)
    read = _hidden_value(text.strip())
    return text if read is not None and isinstance(read, str) == isinstance(literal, str) and read == literal else None


def _format_bands(bands: list[Band]) -> str:
    def side(value: float | None) -> str:
        return "" if value is None else _format_number(value)

    return "; ".join(f"{side(b.min)}..{side(b.max)}={_format_number(b.points)}" for b in bands)


class _Sheet:
    """Rows as dicts keyed by column; columns appear in the order they are first needed."""

    def __init__(self, name: str, order: tuple[str, ...]) -> None:
        self.name = name
        self.order = order
        self.rows: list[dict[str, Any]] = []

    def add(self, row: dict[str, Any]) -> int:
        self.rows.append({k: v for k, v in row.items() if v is not None})
        return len(self.rows) + 1  # the spreadsheet row: the header is row 1

    def columns(self) -> list[str]:
        present = {c for row in self.rows for c in row}

        def rank(column: str) -> tuple[int, str]:
            base = column.partition("::")[0]
            return (self.order.index(base) if base in self.order else len(self.order), column)

        return sorted(present, key=rank)


def _labels_cells(base: str, labels: dict[str, str], where: tuple[str, int], problems: list[Problem]) -> dict[str, Any]:
    cells: dict[str, Any] = {}
    for lang, text in labels.items():
        if _language(lang) != lang or not lang or "::" in lang:
            problems.append(
                (
                    *where,
                    f"{base}: language '{lang}' cannot be a column name (it would read back as '{_language(lang)}')",
                )
            )
        elif not text.strip():
            problems.append((*where, f"{base}::{lang}: blank text reads back as no text"))
        else:
            cells[f"{base}::{lang}"] = text
    return cells


def export_xlsform(defn: FormDefinition) -> bytes:
    """An .xlsx workbook that import_xlsform reads back to an equal definition.

    Raises XLSFormError (sheet, row it would be written to, reason) for what has no lossless
    spreadsheet form (e.g. a single-choice question whose choices are exactly yes/no).
    """
    problems: list[Problem] = []
    kinds: dict[str, str] = {}
    for item in _walk(defn.sections):
        tag = "section" if isinstance(item, Section) else type(item).__struct_config__.tag
        if item.key in kinds:
            problems.append(("survey", 0, f"name: '{item.key}' is used twice"))
        kinds.setdefault(item.key, tag)
    writer = _Writer(kinds)
    survey = _Sheet("survey", _SURVEY_ORDER)
    choices = _Sheet("choices", ("list_name", "name", "label", "points", "fail"))
    external = _Sheet("external_choices", ("list_name", "name", "label"))
    lists: dict[tuple[Any, ...], str] = {}

    def expression(expr: Expr | None, base: str, row_number: int) -> str | None:
        if expr is None:
            return None
        try:
            return writer.top(expr)
        except _ExprError as error:
            problems.append(("survey", row_number, f"{base}: {error}"))
            return None

    def choice_list(question: Any) -> str:
        if isinstance(question, YesNo):
            labelled = bool(question.yes_label or question.no_label)
            rows = [
                Choice(
                    value="yes",
                    label=question.yes_label if labelled else {defn.default_language: "Yes"},
                    points=question.points_yes,
                    fail=question.fail_on == "yes",
                    xlsform=question.yes_xlsform,
                ),
                Choice(
                    value="no",
                    label=question.no_label if labelled else {defn.default_language: "No"},
                    points=question.points_no,
                    fail=question.fail_on == "no",
                    xlsform=question.no_xlsform,
                ),
            ]
            content: tuple[Any, ...] = ("yes_no", msgspec.json.encode(rows))
        else:
            content = ("choices", getattr(question, "external", False), msgspec.json.encode(question.choices))
            rows = question.choices
        if content in lists:
            return lists[content]
        if isinstance(question, YesNo):
            count = sum(1 for c in lists if c[0] == "yes_no")
            name = "yes_no" if count == 0 else f"yes_no_{count + 1}"
        else:
            name = f"{question.key}_choices"  # never yes_no or yes_no_<n>, never another key's
        lists[content] = name
        sheet = external if getattr(question, "external", False) else choices
        for choice in rows:
            number = len(sheet.rows) + 2
            sheet.add(
                {
                    **choice.xlsform,
                    "list_name": name,
                    "name": choice.value,
                    **_labels_cells("label", choice.label, (sheet.name, number), problems),
                    "points": choice.points,
                    "fail": "yes" if choice.fail else None,
                }
            )
        return name

    def emit_section(section: Section) -> None:
        number = len(survey.rows) + 2
        survey.add(
            {
                **section.xlsform,
                "type": "begin_repeat" if section.repeat else "begin_group",
                "name": section.key,
                **_labels_cells("label", section.label, ("survey", number), problems),
                "weight": None if section.weight == 1.0 else section.weight,
                "relevant": expression(section.show_if, "relevant", number),
                "repeat_count": expression(section.repeat_count, "repeat_count", number),
            }
        )
        for item in section.items:
            if isinstance(item, Section):
                emit_section(item)
            else:
                emit_question(item)
        survey.add({"type": "end_repeat" if section.repeat else "end_group", "name": section.key})

    def emit_question(q: Any) -> None:
        number = len(survey.rows) + 2
        where = ("survey", number)
        row: dict[str, Any] = {**q.xlsform, "name": q.xlsform.get("name", q.key)}
        if isinstance(q, (YesNo, SingleChoice, MultipleChoice)):
            if not isinstance(q, YesNo):
                values = [c.value for c in q.choices]
                if not values:
                    problems.append((*where, "type: a choice question needs at least one choice"))
                if len(set(values)) != len(values) and q.choice_filter is None:
                    problems.append((*where, "type: two choices have the same name"))
                if isinstance(q, SingleChoice) and not q.external and sorted(values) == ["no", "yes"]:
                    problems.append(
                        (
                            *where,
                            "type: a single choice of exactly yes/no reads back as a "
                            "yes_no question; make it a yes_no question",
                        )
                    )
                for value in values:
                    if not value.strip():
                        problems.append((*where, "type: a choice name is blank"))
            keyword = "select_multiple" if isinstance(q, MultipleChoice) else "select_one"
            if isinstance(q, SingleChoice) and q.external:
                keyword = "select_one_external"
            row["type"] = f"{keyword} {choice_list(q)}"
        elif isinstance(q, File):
            row["type"] = q.accept if q.accept in ("audio", "video") else "file"
        else:
            row["type"] = _EXPORT_TYPES[type(q)]
        row.update(_labels_cells("label", q.label, where, problems))
        row.update(_labels_cells("hint", q.hint, where, problems))
        row.update(_labels_cells("constraint_message", q.constraint_message, where, problems))
        row.update(
            required="yes" if q.required else None,
            relevant=expression(q.show_if, "relevant", number),
            constraint=expression(q.constraint, "constraint", number),
            weight=None if q.weight == 1.0 else q.weight,
            critical="yes" if q.critical else None,
            na="yes" if q.na_allowed else None,
            bonus="yes" if q.bonus else None,
            metric=None if q.metric is None else q.metric.value,
        )
        if q.default is not None:
            value = q.default
            row["default"] = (
                " ".join(value)
                if isinstance(value, list)
                else ("yes" if value else "no")
                if isinstance(value, bool)
                else _format_number(value)
                if isinstance(value, (int, float))
                else value
            )
        if getattr(q, "choice_filter", None) is not None:
            row["choice_filter"] = expression(q.choice_filter, "choice_filter", number)
        if isinstance(q, Rating):
            row.update(parameters=f"start={q.min} end={q.max}", points=q.points, fail_below=q.fail_below)
        elif isinstance(q, Nps):
            row["points"] = q.points
        elif isinstance(q, (Integer, Decimal, Duration)):
            default_min = 0 if isinstance(q, Duration) else None
            row["min"] = None if q.min == default_min else "none" if q.min is None else q.min
            row["max"] = q.max
            row["bands"] = _format_bands(q.bands) or None
        elif isinstance(q, TimerSequence):
            row.update(
                give_up=None if q.give_up_s == 300 else q.give_up_s,
                clock_start=None if q.clock_start == "ring" else q.clock_start,
                bands=_format_bands(q.bands) or None,
            )
        elif isinstance(q, Text):
            row["max_length"] = None if q.max_length == 2000 else q.max_length
            if q.barcode:
                row["type"] = "barcode"
        elif isinstance(q, Calculate) and q.hidden:
            row["type"] = "hidden"
            # Its value in the default column when that cell reads back as the same value, else
            # written as a calculation ('' or '5' as text, a list…), which reads back exactly.
            default = _hidden_default(q.calculation)
            if default is not None:
                row["default"] = default or None
            else:
                row["calculation"] = expression(q.calculation, "calculation", number)
        elif isinstance(q, Calculate):
            row["calculation"] = expression(q.calculation, "calculation", number)
        survey.add(row)

    for kept in defn.xlsform_rows:
        survey.add({**kept.cells, "type": kept.type, "name": kept.name or None})
    for section in defn.sections:
        emit_section(section)
    settings = _Sheet("settings", ("form_title", "form_id", "version", "default_language"))
    title = _labels_cells("form_title", defn.title, ("settings", 2), problems)
    # XLSForm tools expect a plain form_title; other languages are a Fieldscore extension.
    if f"form_title::{defn.default_language}" in title:
        title["form_title"] = title.pop(f"form_title::{defn.default_language}")
    settings.add({**defn.xlsform_settings, **title, "default_language": defn.default_language})
    if _language(defn.default_language) != defn.default_language:
        problems.append(
            (
                "settings",
                2,
                f"default_language: '{defn.default_language}' would read back as '{_language(defn.default_language)}'",
            )
        )
    for sheet in (survey, choices, external, settings):
        for number, row in enumerate(sheet.rows, start=2):
            for column, value in row.items():
                if isinstance(value, str) and ILLEGAL_CHARACTERS_RE.search(value):
                    problems.append(
                        (sheet.name, number, f"{column}: holds a control character a spreadsheet cannot store")
                    )
                elif isinstance(value, str) and "\r" in value:  # XML reads \r and \r\n back as \n
                    problems.append(
                        (sheet.name, number, f"{column}: holds a carriage return, which would read back as a line feed")
                    )
    if problems:
        raise XLSFormError(problems)
    return _workbook_bytes([survey, choices, external, settings])


def _cell_value(value: Any) -> Any:
    # openpyxl writes numbers with 16 significant digits; a float needing 17 goes in as text
    # (import reads numeric text) so that it reads back bit for bit.
    if isinstance(value, float) and float("%.16g" % value) != value:
        return repr(value)
    return value


def _workbook_bytes(sheets: list[_Sheet]) -> bytes:
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for sheet in sheets:
        if not sheet.rows:
            continue
        ws = workbook.create_sheet(sheet.name)
        columns = sheet.columns()
        ws.append(columns)
        for row in sheet.rows:
            ws.append([_cell_value(row.get(c)) for c in columns])
    for ws in workbook.worksheets:
        for cells in ws.iter_rows():
            for cell in cells:
                # openpyxl takes any text starting with "=" for a formula; ours are plain text.
                if cell.data_type == "f":
                    cell.data_type = "s"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


__all__ = [
    "EXTENSION_TYPES",
    "MAX_ROWS",
    "ImportWarning",
    "Imported",
    "Problem",
    "XLSFormError",
    "export_xlsform",
    "import_xlsform",
    "parse_xpath",
    "read_xlsform",
    "write_xpath",
]

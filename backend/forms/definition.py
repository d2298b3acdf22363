"""Walk form definitions (questions, weights, visibility) and report every problem in one."""

from __future__ import annotations

import itertools
import math
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any, Final, TypeVar, Union

import msgspec

from api_schemas.forms import (
    Band,
    Calculate,
    DefinitionProblem,
    FormDefinition,
    MultipleChoice,
    Question,
    Rating,
    Section,
    SingleChoice,
    TimerSequence,
    YesNo,
)
from backend.forms.conditions import (
    MISSING,
    check_expr,
    compile_condition,
    compile_value,
    is_blank_text,
    iter_nodes,
)

Node = Union[Question, Section]

# Types that can never earn points nor fail: critical/bonus make no sense on them.
UNSCORABLE_TYPES: Final = frozenset({"text", "photo", "file", "gps", "note", "timestamp", "calculate", "acknowledge"})
# Types that take no answer from the shopper: a note is display only, a calculation is computed.
UNANSWERED_TYPES: Final = frozenset({"note", "calculate"})
_NUMERIC: Final = frozenset({"integer", "decimal", "duration"})
# Which question types may carry which metric tag (the value must mean what the tag says).
METRIC_TYPES: Final[dict[str, frozenset[str]]] = {
    "time_to_answer_s": _NUMERIC | {"timer_sequence"},
    "rings": frozenset({"integer"}),
    "hold_s": _NUMERIC,
    "menu_s": _NUMERIC,
    "transfers": frozenset({"integer"}),
    "wait_s": _NUMERIC,
    "serve_s": _NUMERIC,
    "reply_h": _NUMERIC,
    "reply_s": _NUMERIC,
    "resolution_h": _NUMERIC,
    "nps": frozenset({"nps"}),
    "csat": frozenset({"rating"}),
    "fcr": frozenset({"yes_no"}),
    "right_person": frozenset({"yes_no"}),
    "answered": frozenset({"yes_no"}),
    "out_of_hours_cover": frozenset({"yes_no"}),
    "language_cover": frozenset({"yes_no"}),
}
# Waiting-time metrics censored at the question's `max` when the contact was never answered.
CENSORABLE_METRICS: Final = frozenset({"time_to_answer_s", "reply_h", "reply_s"})
_REF_OPS: Final = frozenset({"var", "answered", "is_na"})


def question_type(question: Question) -> str:
    """The `type` tag of a question, e.g. "yes_no"."""
    return type(question).__struct_config__.tag  # type: ignore[return-value]


@dataclass(frozen=True, slots=True)
class QuestionInfo:
    """A question with where it sits: `effective_weight` multiplies the weights down the tree."""

    question: Question
    path: str  # e.g. "sections[0].items[2]"
    section_path: tuple[str, ...]  # keys of the enclosing sections, outermost first
    sections: tuple[Section, ...]
    effective_weight: float
    index: int  # position in document order
    repeat: str | None = None  # key of the repeat section it is answered in, per instance


def repeat_of(parents: tuple[Section, ...]) -> str | None:
    """The key of the innermost repeat section among `parents`, or None."""
    return next((s.key for s in reversed(parents) if s.repeat), None)


def _walk(defn: FormDefinition) -> Iterator[tuple[Node, str, tuple[Section, ...]]]:
    """Every section and question in document order, with its path and its enclosing sections."""

    def walk_section(
        section: Section, path: str, parents: tuple[Section, ...]
    ) -> Iterator[tuple[Node, str, tuple[Section, ...]]]:
        yield section, path, parents
        inside = (*parents, section)
        for i, item in enumerate(section.items):
            item_path = f"{path}.items[{i}]"
            if isinstance(item, Section):
                yield from walk_section(item, item_path, inside)
            else:
                yield item, item_path, inside

    for i, section in enumerate(defn.sections):
        yield from walk_section(section, f"sections[{i}]", ())


def iter_questions(defn: FormDefinition) -> Iterator[QuestionInfo]:
    """Every question in document order, with its section path and effective weight."""
    index = 0
    for node, path, parents in _walk(defn):
        if isinstance(node, Section):
            continue
        weight = node.weight
        for section in parents:
            weight *= section.weight
        yield QuestionInfo(node, path, tuple(s.key for s in parents), parents, weight, index, repeat_of(parents))
        index += 1


def find_question(defn: FormDefinition, key: str) -> Question | None:
    """The first question with `key`, or None."""
    return next((info.question for info in iter_questions(defn) if info.question.key == key), None)


@dataclass(frozen=True, slots=True)
class Visibility:
    """Which sections and questions are shown, and the answers of shown questions only."""

    shown: dict[str, bool]
    answers: dict[str, Any]
    # Per shown repeat section: one Visibility per instance answered, whose `answers` are the visible
    # answers outside the repeat (as far as the repeat) and the instance's own shown answers.
    instances: dict[str, list[Visibility]] = dataclass_field(default_factory=dict)
    # Per shown repeat section with a repeat_count: how many instances it asks for (None when the
    # count has no whole-number value, e.g. unanswered: then it asks for none).
    counts: dict[str, int | None] = dataclass_field(default_factory=dict)


T = TypeVar("T")
# As many as forms.service keeps published definitions, so a busy process does not thrash.
PER_DEFINITION_LIMIT: Final = 1024


def per_definition(build: Callable[[FormDefinition], T]) -> Callable[[FormDefinition], T]:
    """Memoise `build` per definition object, for the per-report hot path.

    Definitions are treated as immutable (a changed form is a new version, decoded anew). The
    cache holds the definition itself, so its id cannot be reused by another object while the
    entry lives, and it forgets the least recently used beyond PER_DEFINITION_LIMIT.
    """
    cache: OrderedDict[int, tuple[FormDefinition, T]] = OrderedDict()
    lock = threading.Lock()

    def cached(defn: FormDefinition) -> T:
        key = id(defn)
        with lock:
            entry = cache.get(key)
            if entry is not None and entry[0] is defn:
                cache.move_to_end(key)
                return entry[1]
        value = build(defn)
        with lock:
            cache[key] = (defn, value)
            cache.move_to_end(key)
            while len(cache) > PER_DEFINITION_LIMIT:
                cache.popitem(last=False)
        return value

    cached.cache = cache  # type: ignore[attr-defined]  # for tests
    return cached


@dataclass(frozen=True, slots=True)
class Outline:
    """A definition walked once: its questions, and its nodes as visibility needs them."""

    questions: tuple[QuestionInfo, ...]
    # (key, enclosing section keys, compiled show-if or None, is a question, enclosing repeat key or
    # None), in document order. With unique keys a section's shown state already includes its
    # parents', so only the innermost enclosing section is listed.
    nodes: tuple[tuple[str, tuple[str, ...], Callable[..., bool] | None, bool, str | None], ...]
    conditional: bool  # some node has a show-if, or a value is calculated
    calculations: dict[str, Callable[[Mapping[str, Any]], Any]]  # key of a Calculate → its value
    question_keys: tuple[str, ...]  # document order, duplicates kept; none inside a repeat
    node_keys: tuple[str, ...]
    repeats: dict[str, Callable[[Mapping[str, Any]], Any] | None]  # repeat key → its compiled count


@per_definition
def outline(defn: FormDefinition) -> Outline:
    """The definition's Outline (cached per definition object)."""
    walked = list(_walk(defn))
    unique = len({node.key for node, _p, _s in walked}) == len(walked)
    nodes = tuple(
        (
            node.key,
            tuple(s.key for s in (parents[-1:] if unique else parents)),
            None if node.show_if is None else compile_condition(node.show_if),
            not isinstance(node, Section),
            repeat_of(parents),
        )
        for node, _path, parents in walked
    )
    calculations = {node.key: compile_value(node.calculation) for node, _p, _s in walked if isinstance(node, Calculate)}
    repeats = {
        node.key: None if node.repeat_count is None else compile_value(node.repeat_count)
        for node, _p, _s in walked
        if isinstance(node, Section) and node.repeat
    }
    return Outline(
        questions=tuple(iter_questions(defn)),
        nodes=nodes,
        conditional=bool(calculations) or bool(repeats) or any(n[2] is not None for n in nodes),
        calculations=calculations,
        question_keys=tuple(n[0] for n in nodes if n[3] and n[4] is None),
        node_keys=tuple(n[0] for n in nodes if n[4] is None),
        repeats=repeats,
    )


def _whole_count(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return int(value) if value == int(value) and value >= 0 else None


def visibility(defn: FormDefinition, answers: Mapping[str, Any]) -> Visibility:
    """Decide show-ifs in document order over the answers of questions shown so far.

    A question in a hidden section is hidden. Because a show-if may only use earlier
    questions, evaluating against the answers of *shown* earlier questions means an answer left
    behind on a now-hidden question can never reveal anything (the phone does the same).
    A shown calculation's value (never a submitted one) joins the answers as it is reached.
    """
    plan = outline(defn)
    if not plan.conditional:  # everything is shown
        return Visibility(
            dict.fromkeys(plan.node_keys, True), {key: answers[key] for key in plan.question_keys if key in answers}
        )
    shown: dict[str, bool] = {}
    visible: dict[str, Any] = {}
    instances: dict[str, list[Visibility]] = {}
    counts: dict[str, int | None] = {}
    for key, parents, show_if, is_question, repeat in plan.nodes:
        if repeat is not None:
            continue  # decided per instance, below
        is_shown = True
        for parent in parents:
            if not shown.get(parent, True):
                is_shown = False
                break
        if is_shown and show_if is not None:
            is_shown = show_if(visible, MISSING)
        if key not in shown:
            shown[key] = is_shown
        if is_shown and is_question and key in plan.calculations:
            value = plan.calculations[key](visible)
            if value is not MISSING:
                visible[key] = value
        elif is_shown and is_question and key in answers:
            visible[key] = answers[key]
        if is_shown and key in plan.repeats:
            count = plan.repeats[key]
            if count is not None:
                counts[key] = _whole_count(count(visible))
            given = answers.get(key)
            instances[key] = [
                _instance(plan, key, visible, instance)
                for instance in (given if isinstance(given, list) else [])
                if isinstance(instance, Mapping)
            ]
    return Visibility(shown, visible, instances, counts)


def _instance(plan: Outline, repeat: str, outside: Mapping[str, Any], answers: Mapping[str, Any]) -> Visibility:
    """One repeat instance: its nodes' show-ifs over the answers outside (so far) and its own."""
    shown: dict[str, bool] = {repeat: True}
    visible = dict(outside)
    for key, parents, show_if, is_question, in_repeat in plan.nodes:
        if in_repeat != repeat:
            continue
        is_shown = all(shown.get(parent, True) for parent in parents)
        if is_shown and show_if is not None:
            is_shown = show_if(visible, MISSING)
        shown.setdefault(key, is_shown)
        if is_shown and is_question and key in plan.calculations:
            value = plan.calculations[key](visible)
            if value is not MISSING:
                visible[key] = value
        elif is_shown and is_question and key in answers:
            visible[key] = answers[key]
    del shown[repeat]
    return Visibility(shown, visible)


def _msgspec_path(message: str) -> str:
    match = re.search(r"at `\$\.?(.*)`$", message)
    return match.group(1) if match else ""


def _coerce(defn: FormDefinition | Mapping[str, Any]) -> FormDefinition | DefinitionProblem:
    if isinstance(defn, FormDefinition):
        return defn
    try:
        return msgspec.convert(defn, FormDefinition)
    except msgspec.ValidationError as error:
        message = str(error)
        return DefinitionProblem(path=_msgspec_path(message), reason=message.split(" - at ")[0])


def _bad_number(x: float | None) -> bool:
    return x is not None and not math.isfinite(x)


def _band_problems(bands: list[Band], path: str) -> list[DefinitionProblem]:
    problems = []
    for i, band in enumerate(bands):
        if _bad_number(band.min) or _bad_number(band.max) or not math.isfinite(band.points):
            problems.append(
                DefinitionProblem(path=f"{path}.bands[{i}]", reason="band bounds and points must be finite")
            )
        elif band.min is not None and band.max is not None and band.min >= band.max:
            problems.append(DefinitionProblem(path=f"{path}.bands[{i}]", reason="band min must be below its max"))

    def low(band: Band) -> float:
        return -math.inf if band.min is None else band.min

    def high(band: Band) -> float:
        return math.inf if band.max is None else band.max

    ordered = sorted(
        (i for i, b in enumerate(bands) if not (b.min is not None and b.max is not None and b.min >= b.max)),
        key=lambda i: low(bands[i]),
    )
    for earlier, later in itertools.pairwise(ordered):
        end = high(bands[earlier])
        start = low(bands[later])
        if start < end:  # [min, max) intervals: touching is fine, overlapping is ambiguous
            problems.append(DefinitionProblem(path=f"{path}.bands[{later}]", reason=f"band overlaps bands[{earlier}]"))
    return problems


def _can_fail(question: Question) -> bool:
    if isinstance(question, YesNo):
        return question.fail_on is not None
    if isinstance(question, (SingleChoice, MultipleChoice)):
        return any(c.fail for c in question.choices)
    if isinstance(question, Rating):
        return question.fail_below is not None
    return False


def _question_problems(q: Question, path: str) -> list[DefinitionProblem]:
    problems: list[DefinitionProblem] = []
    kind = question_type(q)

    def add(where: str, reason: str) -> None:
        problems.append(DefinitionProblem(path=f"{path}{where}", reason=reason))

    if q.critical and kind in UNSCORABLE_TYPES:
        add(".critical", f"a {kind} question cannot be critical: it has no failing answer")
    elif q.critical and not _can_fail(q):
        add(".critical", "critical, but no answer fails it (set fail_on, a choice with fail, or fail_below)")
    if q.bonus and kind in UNSCORABLE_TYPES:
        add(".bonus", f"a {kind} question cannot be a bonus: it earns no points")
    if q.metric is not None:
        allowed = METRIC_TYPES.get(q.metric.value, frozenset())
        if kind == "timer_sequence" and q.metric.value != "time_to_answer_s":
            add(".metric", "a timer sequence may only be tagged time_to_answer_s (it derives the others)")
        elif kind not in allowed:
            add(".metric", f"metric {q.metric.value} needs a {' or '.join(sorted(allowed))} question, not {kind}")
    if kind == "note" and (q.required or q.na_allowed):
        add(".required" if q.required else ".na_allowed", "a note is display only and takes no answer")
    if kind == "calculate" and (q.required or q.na_allowed):
        add(".required" if q.required else ".na_allowed", "a calculation is computed and takes no answer")
    if isinstance(q, (SingleChoice, MultipleChoice)):
        if not q.choices:
            add(".choices", "a choice question needs at least one choice")
        seen: dict[str, int] = {}
        for i, choice in enumerate(q.choices):
            if is_blank_text(choice.value):  # a blank answer never answers a required question
                add(f".choices[{i}].value", "choice without a value")
            elif choice.value in seen and q.choice_filter is None:  # a filter tells them apart
                add(
                    f".choices[{i}].value",
                    f"duplicate choice value {choice.value!r} (also choices[{seen[choice.value]}])",
                )
            else:
                seen[choice.value] = i
            if _bad_number(choice.points):
                add(f".choices[{i}].points", "points must be finite")
    if isinstance(q, Rating):
        if q.min >= q.max:
            add(".max", f"rating max ({q.max}) must be above min ({q.min})")
        elif q.fail_below is not None and not q.min < q.fail_below <= q.max:
            add(".fail_below", f"fail_below must lie in ({q.min}, {q.max}] or no rating can fail")
    low, high = getattr(q, "min", None), getattr(q, "max", None)
    if kind in _NUMERIC and low is not None and high is not None and low > high:
        add(".max", f"max ({high}) is below min ({low})")
    if hasattr(q, "bands"):
        problems += _band_problems(q.bands, path)
    for name in ("points_yes", "points_no", "points"):
        if _bad_number(getattr(q, name, None)):
            add(f".{name}", "points must be finite")
    return problems


def check_definition(defn: FormDefinition | Mapping[str, Any]) -> list[DefinitionProblem]:
    """Every problem of a definition at once, each with a path like sections[0].items[2].show_if.

    A plain mapping is decoded first; a shape error stops there (msgspec reports the first).
    """
    coerced = _coerce(defn)
    if isinstance(coerced, DefinitionProblem):
        return [coerced]
    defn = coerced
    problems: list[DefinitionProblem] = []
    nodes = list(_walk(defn))
    # First occurrence of each key: its document position, its node (questions and sections
    # share one namespace because conditions and answers refer to both by bare key).
    first: dict[str, tuple[int, Node]] = {}
    target_index: dict[str, int] = {}
    for position, (node, path, _parents) in enumerate(nodes):
        target_index.setdefault(node.key, position)
        if node.key in first:
            problems.append(DefinitionProblem(path=f"{path}.key", reason=f"duplicate key {node.key!r}"))
        else:
            first[node.key] = (position, node)

    if not any(not isinstance(node, Section) for node, _p, _s in nodes):
        problems.append(DefinitionProblem(path="sections", reason="the form has no questions"))

    # The repeat each node is answered in (None outside repeats); a section's own repeat counts for its
    # items, not for its show-if or count, which are decided outside it.
    repeat_at = [repeat_of(parents) for _node, _path, parents in nodes]
    for (node, path, _parents), repeat in zip(nodes, repeat_at, strict=True):
        if isinstance(node, Section):
            if node.repeat and repeat is not None:
                problems.append(
                    DefinitionProblem(
                        path=f"{path}.repeat", reason=f"a repeat inside repeat {repeat!r} is not supported"
                    )
                )
            if node.repeat_count is not None and not node.repeat:
                problems.append(
                    DefinitionProblem(path=f"{path}.repeat_count", reason="repeat_count needs repeat: true")
                )
        elif repeat is not None:
            kind = question_type(node)
            if kind in ("photo", "file", "timer_sequence"):
                problems.append(
                    DefinitionProblem(path=path, reason=f"a {kind} question inside repeat {repeat!r} is not supported")
                )
            if node.metric is not None:
                problems.append(
                    DefinitionProblem(
                        path=f"{path}.metric",
                        reason=f"inside repeat {repeat!r}: a metric needs one answer per report",
                    )
                )

    answered_tag = any(
        not isinstance(n, Section) and n.metric is not None and n.metric.value == "answered" for n, _p, _s in nodes
    )

    for position, (node, path, _parents) in enumerate(nodes):
        if not math.isfinite(node.weight) or node.weight < 0:
            problems.append(DefinitionProblem(path=f"{path}.weight", reason="weight must be a finite number ≥ 0"))
        # A section's show-if may not look inside itself: its questions come after it.
        inner_end = position + sum(1 for _ in _walk_inner(node)) if isinstance(node, Section) else position
        conditions = [("show_if", node.show_if)]
        if not isinstance(node, Section):
            conditions.append(("constraint", node.constraint))
        if isinstance(node, Calculate):
            conditions.append(("calculation", node.calculation))
        if isinstance(node, (SingleChoice, MultipleChoice)):
            conditions.append(("choice_filter", node.choice_filter))
        if isinstance(node, Section):
            conditions.append(("repeat_count", node.repeat_count))
        own_repeat = repeat_at[position]
        for field, expr in conditions:
            if expr is None:
                continue
            where = f"{path}.{field}"
            problems += [DefinitionProblem(path=where, reason=r) for r in check_expr(expr)]
            for op, key in iter_nodes(expr):
                if op == "self" and field != "constraint":
                    problems.append(DefinitionProblem(path=where, reason="self is only meaningful in a constraint"))
                if op == "choice" and field != "choice_filter":
                    problems.append(
                        DefinitionProblem(path=where, reason="a choice column is only meaningful in a choice_filter")
                    )
                if op not in _REF_OPS or key is None:
                    continue
                target = first.get(key)
                if target is None:
                    reason = f"refers to unknown question {key!r}"
                elif isinstance(target[1], Section):
                    reason = f"refers to section {key!r}; conditions use questions"
                elif field == "constraint" and key == node.key:
                    continue  # var(own key) in a constraint is the answer itself, like self
                elif repeat_at[target_index[key]] not in (None, own_repeat):
                    reason = (
                        f"refers to {key!r}, which is answered per instance of repeat "
                        f"{repeat_at[target_index[key]]!r}; only questions of the same instance may be used"
                    )
                elif key == node.key or position < target[0] <= inner_end:
                    reason = f"refers to {key!r} which depends on this condition (cycle)"
                elif target[0] > position:
                    reason = f"refers to {key!r}, which comes later; only earlier questions may be used"
                else:
                    continue
                problems.append(DefinitionProblem(path=where, reason=reason))
        if isinstance(node, Section):
            if not node.items:
                problems.append(DefinitionProblem(path=f"{path}.items", reason="an empty section"))
            continue
        problems += _question_problems(node, path)
        if node.default is not None and not _default_fits(node, node.default):
            problems.append(
                DefinitionProblem(path=f"{path}.default", reason="the default is not an answer this question takes")
            )
        if (
            answered_tag
            and node.metric is not None
            and node.metric.value in CENSORABLE_METRICS
            and not isinstance(node, TimerSequence)
            and getattr(node, "max", None) is None
        ):
            problems.append(
                DefinitionProblem(
                    path=f"{path}.max",
                    reason="with an 'answered' question in the form, a waiting time needs a max: the "
                    "deadline at which an unanswered contact is censored",
                )
            )
    return problems


def _default_fits(q: Question, value: Any) -> bool:
    """Whether a default is an answer `q` takes (the shapes of backend/forms/answers.py, which
    imports this module, for the types a default is allowed on)."""
    kind = question_type(q)
    if kind == "yes_no":
        return isinstance(value, bool)
    if isinstance(q, (SingleChoice, MultipleChoice)):
        values = {c.value for c in q.choices}
        if isinstance(q, SingleChoice):
            return isinstance(value, str) and value in values
        return isinstance(value, list) and len(set(value)) == len(value) and all(v in values for v in value)
    if kind == "text":
        return isinstance(value, str) and len(value) <= q.max_length  # type: ignore[union-attr]
    if kind in ("integer", "rating", "nps", "decimal"):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            return False
        if kind != "decimal" and not isinstance(value, int):
            return False
        low, high = (0, 10) if kind == "nps" else (getattr(q, "min", None), getattr(q, "max", None))
        return (low is None or value >= low) and (high is None or value <= high)
    return False


def _walk_inner(section: Section) -> Iterator[Node]:
    for item in section.items:
        yield item
        if isinstance(item, Section):
            yield from _walk_inner(item)


__all__ = [
    "CENSORABLE_METRICS",
    "METRIC_TYPES",
    "PER_DEFINITION_LIMIT",
    "UNANSWERED_TYPES",
    "UNSCORABLE_TYPES",
    "Outline",
    "QuestionInfo",
    "Visibility",
    "check_definition",
    "find_question",
    "iter_questions",
    "outline",
    "per_definition",
    "question_type",
    "visibility",
]

"""Questionnaire definitions: sections, typed questions, conditions and scoring attributes.

A definition is plain data. The same document drives the phone form (JavaScript), server
validation and scoring (Python); see backend/forms and backend/scoring for the semantics.
"""

from __future__ import annotations

import datetime as dt
import uuid
from enum import Enum
from typing import Annotated, Any, Literal, Union

import msgspec

from api_schemas.common import NO_NUL, LongText, Name, Request

QuestionKey = Annotated[
    str,
    # Not starting with two underscores: in the phone's JavaScript `answers["__proto__"] = v` sets no key,
    # so a condition on it would evaluate differently there than in Python.
    msgspec.Meta(
        min_length=1,
        max_length=64,
        pattern=r"^(?!__)[A-Za-z_][A-Za-z0-9_.-]*$",
        description="Stable key of a question or section: letters, digits, underscore, and (as "
        "XLSForm names allow) dots and hyphens after the first character; not "
        "starting with two underscores.",
    ),
]
# Bounds on every array and map below are what a real form can need, several times over; they are
# checked while the body is decoded (backend.request_body), so oversized input is refused early.
LanguageKey = Annotated[str, msgspec.Meta(min_length=1, max_length=16, pattern=NO_NUL)]
MAX_LANGUAGES = 50
Labels = Annotated[
    dict[LanguageKey, Annotated[str, msgspec.Meta(max_length=2000, pattern=NO_NUL)]],
    msgspec.Meta(
        max_length=MAX_LANGUAGES,
        description='Label text by language code, e.g. {"en": "Was the greeting warm?", "de": "…"}.',
    ),
]
XLSFormCells = Annotated[
    dict[
        Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=NO_NUL)],
        Annotated[str, msgspec.Meta(max_length=20_000, pattern=NO_NUL)],
    ],
    msgspec.Meta(
        max_length=100,
        description="XLSForm columns that mean nothing to Fieldscore (appearance, media, "
        "instance::…), by header, kept as written so an export gives them back.",
    ),
]
Weight = Annotated[float, msgspec.Meta(ge=0, le=1000)]
Points = Annotated[float, msgspec.Meta(ge=-1000, le=1000)]
Bound = Annotated[float, msgspec.Meta(ge=-1e12, le=1e12)]


class Channel(str, Enum):
    visit = "visit"
    call = "call"
    email = "email"
    chat = "chat"


class MetricTag(str, Enum):
    time_to_answer_s = "time_to_answer_s"
    rings = "rings"
    hold_s = "hold_s"
    menu_s = "menu_s"
    transfers = "transfers"
    wait_s = "wait_s"
    serve_s = "serve_s"
    reply_h = "reply_h"
    reply_s = "reply_s"
    resolution_h = "resolution_h"
    nps = "nps"
    csat = "csat"
    fcr = "fcr"
    right_person = "right_person"
    answered = "answered"
    out_of_hours_cover = "out_of_hours_cover"
    language_cover = "language_cover"


class Op(str, Enum):
    """Operators of the condition language (see backend/forms/conditions.py)."""

    var = "var"  # value of the question named by `key`
    self_ = "self"  # the value being constrained (XLSForm ".")
    lit = "lit"  # args[0] as a literal (lists allowed)
    eq = "eq"
    ne = "ne"
    lt = "lt"
    le = "le"
    gt = "gt"
    ge = "ge"
    and_ = "and"
    or_ = "or"
    not_ = "not"
    answered = "answered"  # question `key` has a non-N/A answer
    is_na = "is_na"  # question `key` was answered N/A
    in_ = "in"  # args[0] is one of args[1:]
    contains = "contains"  # multiple-choice args[0] includes args[1]
    add = "add"
    sub = "sub"
    mul = "mul"
    div = "div"
    count_ = "count"  # number of choices selected in args[0] (`count` would shadow str.count)
    if_ = "if"  # args[1] when args[0] is true, else args[2]
    concat = "concat"  # the values' texts joined
    coalesce = "coalesce"  # the first answered value
    regex = "regex"  # string args[0] contains a match of pattern args[1]
    strlen = "strlen"  # characters in a string
    today = "today"  # today's date, YYYY-MM-DD
    choice = "choice"  # in a choice_filter: column `key` of the choice being decided


Scalar = Union[Annotated[str, msgspec.Meta(max_length=2000, pattern=NO_NUL)], int, float, bool, None]


class Expr(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, omit_defaults=True):
    """A node of the condition language, e.g. {"op": "eq", "args": [{"op": "var", "key": "q1"}, "yes"]}."""

    op: Op
    # A bare list is a list literal (the "lit … lists allowed" case), e.g. {"op": "in", "args": [x, ["a", "b"]]}.
    args: Annotated[
        list[Expr | Scalar | Annotated[list[Scalar], msgspec.Meta(max_length=500)]], msgspec.Meta(max_length=200)
    ] = []
    key: QuestionKey | None = None


class Choice(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, omit_defaults=True):
    value: Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=NO_NUL)]
    label: Labels = {}
    points: Points | None = None
    fail: bool = False  # choosing it fails a critical question
    xlsform: XLSFormCells = {}


class Band(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Numeric answers in [min, max) earn `points`; open-ended when a bound is null."""

    min: Bound | None = None
    max: Bound | None = None
    points: Points


Bands = Annotated[list[Band], msgspec.Meta(max_length=100)]


class _Question(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, omit_defaults=True, tag_field="type"):
    key: QuestionKey
    label: Labels = {}
    hint: Labels = {}
    required: bool = False
    show_if: Expr | None = None
    constraint: Expr | None = None
    constraint_message: Labels = {}
    weight: Weight = 1.0
    na_allowed: bool = False
    critical: bool = False
    bonus: bool = False
    metric: MetricTag | None = None
    xlsform: XLSFormCells = {}
    # XLSForm's `default`: the answer a new report starts with (yes/no, choice, number or text
    # questions), in the answer's own shape (backend/forms/answers.py); the shopper may change it.
    default: Union[
        Annotated[str, msgspec.Meta(max_length=2000, pattern=NO_NUL)],
        bool,
        int,
        float,
        Annotated[list[Annotated[str, msgspec.Meta(max_length=100, pattern=NO_NUL)]], msgspec.Meta(max_length=500)],
        None,
    ] = None


class YesNo(_Question, tag="yes_no"):
    points_yes: Points | None = 1.0
    points_no: Points | None = 0.0
    fail_on: Literal["yes", "no"] | None = "no"
    # From an XLSForm yes/no list: its choices' own labels (when not just "Yes"/"No") and other
    # columns, kept so the export gives them back; the phone shows a label in the shopper's language
    # when the form has one, else its own Yes/No.
    yes_label: Labels = {}
    no_label: Labels = {}
    yes_xlsform: XLSFormCells = {}
    no_xlsform: XLSFormCells = {}


class SingleChoice(_Question, tag="single_choice"):
    choices: Annotated[list[Choice], msgspec.Meta(max_length=500)] = []
    # XLSForm's choice_filter (cascading selects): only the choices for which it holds are offered,
    # decided over the answers so far and the choice's own columns (`choice` nodes; `name` is its
    # value). With a filter, two choices may share a value (each shown under its own filter).
    choice_filter: Expr | None = None
    # XLSForm's select_one_external: the choices came from (and export to) the external_choices
    # sheet; ODK shows them as a search box, the phone as a list.
    external: bool = False


class MultipleChoice(_Question, tag="multiple_choice"):
    choices: Annotated[list[Choice], msgspec.Meta(max_length=500)] = []
    choice_filter: Expr | None = None  # as SingleChoice.choice_filter


class Rating(_Question, tag="rating"):
    """A scale from `min` to `max`; scored linearly from 0 (min) to `points` (max)."""

    min: Annotated[int, msgspec.Meta(ge=0, le=100)] = 1
    max: Annotated[int, msgspec.Meta(ge=1, le=100)] = 5
    points: Points | None = None
    fail_below: int | None = None


class Nps(_Question, tag="nps"):
    """0–10 likelihood to recommend; promoters 9–10, passives 7–8, detractors 0–6."""

    points: Points | None = None


class Integer(_Question, tag="integer"):
    min: Bound | None = None
    max: Bound | None = None
    bands: Bands = []


class Decimal(_Question, tag="decimal"):
    min: Bound | None = None
    max: Bound | None = None
    bands: Bands = []


class Duration(_Question, tag="duration"):
    """Seconds; bands score it (e.g. answered within 20 s → 1 point)."""

    min: Bound | None = 0
    max: Bound | None = None
    bands: Bands = []


class Timestamp(_Question, tag="timestamp"):
    pass


class TimerEvent(str, Enum):
    dialled = "dialled"
    menu_left = "menu_left"
    answered = "answered"
    hold_on = "hold_on"
    hold_off = "hold_off"
    transferred = "transferred"
    ended = "ended"
    gave_up = "gave_up"


class TimerSequence(_Question, tag="timer_sequence"):
    """Taps during a call; time to answer, hold, menu time and transfers derive from them.

    A call not answered within `give_up_s` is censored at `give_up_s`. `clock_start` says whether
    time to answer counts from dialling (first ring) or from leaving the phone menu; both figures
    are kept.
    """

    give_up_s: Annotated[int, msgspec.Meta(ge=1, le=86_400)] = 300
    clock_start: Literal["ring", "menu_left"] = "ring"
    bands: Bands = []


class Text(_Question, tag="text"):
    max_length: Annotated[int, msgspec.Meta(ge=1, le=20_000)] = 2000
    # XLSForm's barcode: the answer is the code as text, typed (or pasted) in a text field on the
    # phone (a web app has no dependable scanner); exported back as `barcode`.
    barcode: bool = False


class Photo(_Question, tag="photo"):
    pass


class File(_Question, tag="file"):
    # any: an image, document or audio; audio: a recording; video: a video clip (XLSForm's video).
    accept: Literal["audio", "video", "any"] = "any"


class Gps(_Question, tag="gps"):
    pass


class Note(_Question, tag="note"):
    pass


class Acknowledge(_Question, tag="acknowledge"):
    """XLSForm's acknowledge (older spelling: trigger): the shopper confirms by ticking OK; the
    answer is ``true``. Never scored."""


class Calculate(_Question, tag="calculate"):
    """A value computed from earlier answers (XLSForm's calculate): shown read-only, usable in
    conditions and labels, never answered and never scored."""

    calculation: Expr
    # XLSForm's `hidden`: a value with no control (its `default`, as a literal; missing when it has
    # none), never shown on the phone; exported back as `hidden`.
    hidden: bool = False


Question = Union[
    YesNo,
    SingleChoice,
    MultipleChoice,
    Rating,
    Nps,
    Integer,
    Decimal,
    Duration,
    Timestamp,
    TimerSequence,
    Text,
    Photo,
    File,
    Gps,
    Note,
    Acknowledge,
    Calculate,
]


class Section(
    msgspec.Struct, forbid_unknown_fields=True, kw_only=True, omit_defaults=True, tag_field="type", tag="section"
):
    key: QuestionKey
    label: Labels = {}
    weight: Weight = 1.0
    show_if: Expr | None = None
    items: Annotated[list[Union[Question, Section]], msgspec.Meta(max_length=2000)] = []
    xlsform: XLSFormCells = {}
    # XLSForm's repeat: the section's questions are answered once per instance, and the report's
    # answer under the section's key is the list of instances, each {question key: answer}
    # (backend/forms/answers.py). `repeat_count` (an expression over earlier answers outside the
    # repeat, or a number) fixes how many instances there are; without it the shopper adds them.
    repeat: bool = False
    repeat_count: Expr | None = None


class XLSFormRow(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, omit_defaults=True):
    """A survey row with no questionnaire meaning here (start, end, deviceid, audit…), kept for export."""

    type: Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=NO_NUL)]
    name: Annotated[str, msgspec.Meta(max_length=200, pattern=NO_NUL)] = ""
    cells: XLSFormCells = {}


class FormDefinition(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, omit_defaults=True):
    title: Labels
    default_language: Annotated[str, msgspec.Meta(min_length=2, max_length=16, pattern=NO_NUL)] = "en"
    sections: Annotated[list[Section], msgspec.Meta(min_length=1, max_length=200)]
    xlsform_settings: XLSFormCells = {}  # settings columns (form_id, version, style…) kept for export
    xlsform_rows: Annotated[list[XLSFormRow], msgspec.Meta(max_length=200)] = []


class FormStatus(str, Enum):
    draft = "draft"
    published = "published"


class Form(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    name: str
    channel: Channel
    organisation_id: uuid.UUID | None
    created_at: dt.datetime
    latest_version: int
    published_version: int | None


class XLSFormWarning(msgspec.Struct, kw_only=True):
    """Something in an imported spreadsheet with no questionnaire meaning here, and what happens to it."""

    sheet: str
    row: int  # 1-based spreadsheet row (the first of several when `message` counts them); 0 = the whole sheet
    column: str  # the column's header (or letter when it has none); "" = the whole row
    message: str


class FormImported(Form, kw_only=True):
    """The form created from a spreadsheet, with what the import could not use and what it did with it."""

    warnings: list[XLSFormWarning] = []


class FormCreate(Request, kw_only=True):
    name: Name
    channel: Channel
    organisation_id: uuid.UUID | None = None
    definition: FormDefinition


class FormDraftUpdate(Request, kw_only=True):
    definition: FormDefinition


class FormVersion(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    form_id: uuid.UUID
    number: int
    status: FormStatus
    definition: FormDefinition
    created_at: dt.datetime
    published_at: dt.datetime | None


class DefinitionProblem(msgspec.Struct, kw_only=True):
    path: str
    reason: str


# How an item came out in a score: see docs/scoring.md.
ItemStatus = Literal["scored", "na", "hidden", "unanswered", "unscored", "bonus"]


class ScoreItem(msgspec.Struct, kw_only=True):
    """One item's share of the total: contribution = weight_share × earned / possible."""

    key: str
    section_path: list[str]
    earned: float
    possible: float
    effective_weight: float
    contribution: float
    status: ItemStatus
    critical_failed: bool = False


class ScoreResult(msgspec.Struct, kw_only=True):
    calculated: float | None  # 0–100, None when nothing was scorable
    final: float | None  # 0 when a critical item failed
    failed: bool
    items: list[ScoreItem]
    metrics: dict[str, Any] = {}


# A report's answers, in the shapes backend.forms.answers documents, typed only as deep as those
# shapes go: a nested array or an array of a million items is refused while the body is decoded,
# before answers.py looks at it. Every string is free text that may be stored, so none holds a NUL.
AnswerText = Annotated[str, msgspec.Meta(max_length=20_000, pattern=NO_NUL)]  # Text.max_length's ceiling
AnswerLeaf = Union[AnswerText, int, float, bool, None]
AnswerPartKey = Annotated[str, msgspec.Meta(max_length=32, pattern=NO_NUL)]
# A timer answer's {"event": ..., "at": ...}; the object-in-list is the deepest answer shape. Its values
# may still be short arrays, so that a mistyped tap reaches answers.py and is named there by question.
AnswerEvent = Annotated[
    dict[AnswerPartKey, Union[AnswerLeaf, Annotated[list[AnswerLeaf], msgspec.Meta(max_length=8)]]],
    msgspec.Meta(max_length=8),
]
MAX_TIMER_EVENTS = 1000  # taps in one call: dialled, holds, transfers, ... and one end
AnswerValue = Union[
    AnswerLeaf,
    Annotated[list[AnswerLeaf], msgspec.Meta(max_length=500)],  # multiple choice: at most every choice
    # {"na": true}, {"attachment": ...}, {"lat", "lon", "accuracy_m"}, {"events": [...]}
    Annotated[
        dict[
            AnswerPartKey,
            Union[
                AnswerLeaf, Annotated[list[Union[AnswerLeaf, AnswerEvent]], msgspec.Meta(max_length=MAX_TIMER_EVENTS)]
            ],
        ],
        msgspec.Meta(max_length=8),
    ],
]
MAX_ANSWERS = 2000
AnswerKey = Annotated[str, msgspec.Meta(max_length=64, pattern=NO_NUL)]  # a QuestionKey's length
# One instance of a repeat section: its questions' answers, in the shapes above.
AnswerInstance = Annotated[dict[AnswerKey, AnswerValue], msgspec.Meta(max_length=MAX_ANSWERS)]
# A repeat's answer is a list of instances; msgspec allows one array type in a union, so the
# multiple-choice list and the instance list share it (answers.py tells them apart per question).
AnswerTop = Union[
    AnswerLeaf,
    Annotated[list[Union[AnswerLeaf, AnswerInstance]], msgspec.Meta(max_length=500)],
    Annotated[
        dict[
            AnswerPartKey,
            Union[
                AnswerLeaf, Annotated[list[Union[AnswerLeaf, AnswerEvent]], msgspec.Meta(max_length=MAX_TIMER_EVENTS)]
            ],
        ],
        msgspec.Meta(max_length=8),
    ],
]
Answers = Annotated[dict[AnswerKey, AnswerTop], msgspec.Meta(max_length=MAX_ANSWERS)]


class ScorePreview(Request, kw_only=True):
    answers: Answers


__all__ = [
    "Acknowledge",
    "Answers",
    "Band",
    "Calculate",
    "Channel",
    "Choice",
    "DefinitionProblem",
    "Decimal",
    "Duration",
    "Expr",
    "File",
    "Form",
    "FormCreate",
    "FormImported",
    "FormDefinition",
    "FormDraftUpdate",
    "FormStatus",
    "FormVersion",
    "Gps",
    "Integer",
    "Labels",
    "LongText",
    "MetricTag",
    "MultipleChoice",
    "Note",
    "Nps",
    "Op",
    "Photo",
    "Question",
    "QuestionKey",
    "Rating",
    "ScoreItem",
    "ScorePreview",
    "ScoreResult",
    "Section",
    "SingleChoice",
    "Text",
    "TimerEvent",
    "TimerSequence",
    "Timestamp",
    "XLSFormCells",
    "XLSFormRow",
    "XLSFormWarning",
    "YesNo",
]

"""XLSForm import/export: every type, every malformed sheet, and lossless round trips."""

from __future__ import annotations

import io
import json
import pathlib
import re
import string
import zipfile
from typing import Any

import msgspec
import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api_schemas.forms import (
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
    Rating,
    Section,
    SingleChoice,
    Text,
    TimerSequence,
    Timestamp,
    YesNo,
)
from backend.forms.answers import check_answers
from backend.forms.definition import check_definition, visibility
from backend.forms.xlsform import (
    EXTENSION_TYPES,
    ImportWarning,
    XLSFormError,
    export_xlsform,
    import_xlsform,
    parse_xpath,
    read_xlsform,
    write_xpath,
)
from benchmarks.xlsform_corpus import pyxform_error
from tests.xlsform_sheets import YES_NO, problems_of, sheet_rows, xlsx

TEMPLATES = pathlib.Path(__file__).resolve().parents[2] / "mobile_forms" / "templates"
CORPUS = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "xlsforms" / "pyxform-examples"


def only_section_items(defn: FormDefinition) -> list[Any]:
    assert len(defn.sections) == 1
    return defn.sections[0].items


def var(key: str) -> Expr:
    return Expr(op=Op.var, key=key)


# ---------------------------------------------------------------------------------------------
# Types
# ---------------------------------------------------------------------------------------------


def test_every_xlsform_type_maps_to_its_question() -> None:
    survey = [
        ["type", "name", "label", "parameters"],
        ["begin_group", "main", "Main", None],
        ["select_one yn", "greet", "Greeted?", None],
        ["select_one colours", "colour", "Colour", None],
        ["select_multiple colours", "colours", "Colours", None],
        ["range", "rate", "Rate", "start=0 end=4"],
        ["range", "rate10", "Rate", None],
        ["integer", "people", "People", None],
        ["decimal", "price", "Price", None],
        ["text", "comment", "Comment", None],
        ["note", "intro", "Read this", None],
        ["date", "day", "Day", None],
        ["time", "hour", "Hour", None],
        ["dateTime", "when", "When", None],
        ["geopoint", "where", "Where", None],
        ["image", "receipt", "Receipt", None],
        ["audio", "recording", "Recording", None],
        ["file", "attachment", "Attachment", None],
        ["nps", "recommend", "Recommend?", None],
        ["duration", "wait", "Wait", None],
        ["timer_sequence", "call", "Call", None],
        ["end_group", None, None, None],
    ]
    choices = YES_NO + [["colours", "red", "Red"], ["colours", "blue", "Blue"]]
    items = only_section_items(import_xlsform(xlsx(survey, choices)))
    by_key = {q.key: q for q in items}
    assert isinstance(by_key["greet"], YesNo)
    assert by_key["greet"].points_yes is None and by_key["greet"].fail_on is None  # unscored in the sheet
    assert isinstance(by_key["colour"], SingleChoice)
    assert [c.value for c in by_key["colour"].choices] == ["red", "blue"]
    assert by_key["colour"].choices[0].label == {"en": "Red"}
    assert isinstance(by_key["colours"], MultipleChoice)
    assert by_key["rate"] == Rating(key="rate", label={"en": "Rate"}, min=0, max=4)
    assert (by_key["rate10"].min, by_key["rate10"].max) == (1, 10)  # pyxform's range defaults
    expected = {
        "people": Integer,
        "price": Decimal,
        "comment": Text,
        "intro": Note,
        "day": Timestamp,
        "hour": Timestamp,
        "when": Timestamp,
        "where": Gps,
        "receipt": Photo,
        "recommend": Nps,
        "wait": Duration,
        "call": TimerSequence,
    }
    for key, cls in expected.items():
        assert type(by_key[key]) is cls, key
    assert by_key["recording"] == File(key="recording", label={"en": "Recording"}, accept="audio")
    assert by_key["attachment"].accept == "any"
    assert by_key["wait"].min == 0 and by_key["call"].give_up_s == 300


def test_common_and_scoring_columns() -> None:
    survey = [
        [
            "type",
            "name",
            "label::en",
            "label::German (de)",
            "hint",
            "required",
            "relevant",
            "constraint",
            "constraint_message",
            "weight",
            "na",
            "critical",
            "bonus",
            "metric",
            "points",
        ],
        [
            "select_one yn",
            "answered",
            "Answered?",
            "Angenommen?",
            "Tap",
            "yes",
            None,
            None,
            None,
            2.5,
            None,
            "yes",
            None,
            "answered",
            None,
        ],
        [
            "nps",
            "rec",
            "Recommend",
            "Empfehlen",
            None,
            "true",
            "${answered} = 'yes'",
            ". >= 0 and . <= 10",
            "0 to 10",
            "3",
            "yes",
            None,
            "TRUE",
            "nps",
            4,
        ],
    ]
    choices = [
        ["list_name", "name", "label", "points", "fail"],
        ["yn", "yes", "Yes", 2, None],
        ["yn", "no", "No", "-1", "yes"],
    ]
    first, second = only_section_items(import_xlsform(xlsx(survey, choices)))
    assert first == YesNo(
        key="answered",
        label={"en": "Answered?", "de": "Angenommen?"},
        hint={"en": "Tap"},
        required=True,
        weight=2.5,
        critical=True,
        metric=MetricTag.answered,
        points_yes=2,
        points_no=-1,
        fail_on="no",
    )
    assert second.show_if == Expr(op=Op.eq, args=[var("answered"), True])
    assert second.constraint == Expr(
        op=Op.and_, args=[Expr(op=Op.ge, args=[Expr(op=Op.self_), 0]), Expr(op=Op.le, args=[Expr(op=Op.self_), 10])]
    )
    assert (second.na_allowed, second.bonus, second.weight, second.points) == (True, True, 3, 4)
    assert second.constraint_message == {"en": "0 to 10"}


def test_numeric_extension_columns() -> None:
    survey = [
        [
            "type",
            "name",
            "min",
            "max",
            "bands",
            "give_up",
            "clock_start",
            "max_length",
            "fail_below",
            "parameters",
            "points",
        ],
        ["duration", "wait", "none", 600, "0..20=1; 20..60=0.5; 60..=0", None, None, None, None, None, None],
        ["integer", "rings", -3, None, "..3=1", None, None, None, None, None, None],
        ["timer_sequence", "call", None, None, "..20=1", 120, "menu_left", None, None, None, None],
        ["text", "note", None, None, None, None, None, 140, None, None, None],
        ["range", "csat", None, None, None, None, None, None, 3, "start=1 end=5 step=1", 10],
    ]
    wait, rings, call, note, csat = only_section_items(import_xlsform(xlsx(survey)))
    assert wait == Duration(
        key="wait",
        min=None,
        max=600,
        bands=[Band(min=0, max=20, points=1), Band(min=20, max=60, points=0.5), Band(min=60, points=0)],
    )
    assert rings == Integer(key="rings", min=-3, bands=[Band(max=3, points=1)])
    assert call == TimerSequence(key="call", give_up_s=120, clock_start="menu_left", bands=[Band(max=20, points=1)])
    assert note.max_length == 140
    assert csat == Rating(key="csat", min=1, max=5, fail_below=3, points=10)


def test_questions_outside_groups_get_implicit_sections_in_order() -> None:
    survey = [
        ["type", "name"],
        ["text", "a"],
        ["begin_group", "g"],
        ["text", "b"],
        ["end_group", None],
        ["text", "c"],
        ["text", "section_3"],
    ]
    defn = import_xlsform(xlsx(survey))
    assert [s.key for s in defn.sections] == ["section_1", "g", "section_4"]  # section_3 is a question
    assert [q.key for q in defn.sections[2].items] == ["c", "section_3"]


def test_nested_groups_nest_and_keep_weight_and_relevant() -> None:
    survey = [
        ["type", "name", "label", "weight", "relevant"],
        ["begin_group", "outer", "Outer", 2, None],
        ["text", "t", None, None, None],
        ["begin group", "inner", "Inner", 0.5, "${t} != ''"],
        ["integer", "n", None, None, None],
        ["end group", None, None, None, None],
        ["end_group", None, None, None, None],
    ]
    (outer,) = import_xlsform(xlsx(survey)).sections
    inner = outer.items[1]
    assert isinstance(inner, Section) and outer.weight == 2 and inner.weight == 0.5
    assert inner.show_if == Expr(op=Op.answered, key="t")
    assert inner.items == [Integer(key="n")]


def test_settings_title_and_default_language() -> None:
    survey = [["type", "name", "label", "label::fr"], ["text", "q", "Hallo", "Bonjour"]]
    settings_rows = [
        ["form_title", "form_title::fr", "default_language", "version", "form_id"],
        ["Besuch", "Visite", "German (de)", "2024-01", "visit"],
    ]
    defn = import_xlsform(xlsx(survey, settings_rows=settings_rows))
    assert defn.title == {"de": "Besuch", "fr": "Visite"}
    assert defn.default_language == "de"
    assert only_section_items(defn)[0].label == {"de": "Hallo", "fr": "Bonjour"}


def test_header_aliases_and_numbers_typed_as_numbers() -> None:
    survey = [["Type", "Name", "Label"], ["select one nums", "pick", "Pick"], ["int", "n", 7]]
    choices = [["list name", "name", "label"], ["nums", 1, 1], ["nums", 2.0, "two"]]
    pick, n = only_section_items(import_xlsform(xlsx(survey, choices)))
    assert [c.value for c in pick.choices] == ["1", "2"]
    assert n == Integer(key="n", label={"en": "7"})


def test_extension_type_names_are_not_xlsform_types() -> None:
    from pyxform.question_type_dictionary import QUESTION_TYPE_DICT as pyxform_types

    assert not set(EXTENSION_TYPES) & set(pyxform_types)


# ---------------------------------------------------------------------------------------------
# Expressions
# ---------------------------------------------------------------------------------------------

KINDS = {
    "a": "integer",
    "b": "integer",
    "t": "text",
    "yn": "yes_no",
    "one": "single_choice",
    "many": "multiple_choice",
    "grp": "section",
}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("${t} = 'x'", Expr(op=Op.eq, args=[var("t"), "x"])),
        ('${t} != "it\'s"', Expr(op=Op.ne, args=[var("t"), "it's"])),
        ("${a} < 3", Expr(op=Op.lt, args=[var("a"), 3])),
        ("${a} <= 2.5", Expr(op=Op.le, args=[var("a"), 2.5])),
        ("${a} > -1", Expr(op=Op.gt, args=[var("a"), -1])),
        ("${a}>=${b}", Expr(op=Op.ge, args=[var("a"), var("b")])),
        ("selected(${many}, 'x')", Expr(op=Op.contains, args=[var("many"), "x"])),
        ("selected(${one}, 'x')", Expr(op=Op.eq, args=[var("one"), "x"])),
        ("selected(${yn}, 'no')", Expr(op=Op.eq, args=[var("yn"), False])),
        ("${yn} = 'yes'", Expr(op=Op.eq, args=[var("yn"), True])),
        ("'no' != ${yn}", Expr(op=Op.ne, args=[False, var("yn")])),
        ("count-selected(${many}) >= 2", Expr(op=Op.ge, args=[Expr(op=Op.count_, args=[var("many")]), 2])),
        ("${t} != ''", Expr(op=Op.answered, key="t")),
        ("${t} = ''", Expr(op=Op.not_, args=[Expr(op=Op.answered, key="t")])),
        (". != ''", Expr(op=Op.ne, args=[Expr(op=Op.self_), ""])),
        (
            "not(${a} = 1 or ${b} = 2) and ${t} = 'x'",
            Expr(
                op=Op.and_,
                args=[
                    Expr(
                        op=Op.not_,
                        args=[
                            Expr(
                                op=Op.or_, args=[Expr(op=Op.eq, args=[var("a"), 1]), Expr(op=Op.eq, args=[var("b"), 2])]
                            )
                        ],
                    ),
                    Expr(op=Op.eq, args=[var("t"), "x"]),
                ],
            ),
        ),
        (
            "${a} = 1 and ${b} = 2 and . > 0",
            Expr(
                op=Op.and_,
                args=[
                    Expr(op=Op.eq, args=[var("a"), 1]),
                    Expr(op=Op.eq, args=[var("b"), 2]),
                    Expr(op=Op.gt, args=[Expr(op=Op.self_), 0]),
                ],
            ),
        ),
        (
            "${a} + ${b} * 2 - 1 > 3 div 2",
            Expr(
                op=Op.gt,
                args=[
                    Expr(op=Op.sub, args=[Expr(op=Op.add, args=[var("a"), Expr(op=Op.mul, args=[var("b"), 2])]), 1]),
                    Expr(op=Op.div, args=[3, 2]),
                ],
            ),
        ),
        (
            "(${a} + ${b}) + 1 = 1 + 2 + 3",
            Expr(
                op=Op.eq,
                args=[
                    Expr(op=Op.add, args=[Expr(op=Op.add, args=[var("a"), var("b")]), 1]),
                    Expr(op=Op.add, args=[1, 2, 3]),
                ],
            ),
        ),
        ("-${a} < .5", Expr(op=Op.lt, args=[Expr(op=Op.sub, args=[0, var("a")]), 0.5])),
        ("true()", Expr(op=Op.lit, args=[True])),
        ("${a}", var("a")),
        ("in(${t}, 'x', list('y', 'z'))", Expr(op=Op.in_, args=[var("t"), "x", ["y", "z"]])),
        ("in(${yn}, 'yes')", Expr(op=Op.in_, args=[var("yn"), True])),
        (
            "is-na(${a}) or ${ a } = 1e3",
            Expr(op=Op.or_, args=[Expr(op=Op.is_na, key="a"), Expr(op=Op.eq, args=[var("a"), 1000.0])]),
        ),
    ],
)
def test_xpath_subset_translates_and_writes_back(source: str, expected: Expr) -> None:
    assert parse_xpath(source, KINDS) == expected
    assert parse_xpath(write_xpath(expected, KINDS), KINDS) == expected


def test_expressions_are_written_as_readable_xpath() -> None:
    expr = parse_xpath("${yn} = 'yes' and (selected(${many}, 'x') or ${t} != '')", KINDS)
    assert write_xpath(expr, KINDS) == "${yn} = 'yes' and (selected(${many}, 'x') or ${t} != '')"


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("pulldata('fruits', 'name', 'name', 'mango') = 1", "function pulldata() at character 1 is not supported"),
        ("now() > 3", "function now() at character 1 is not supported"),
        ("${nope} = 1", "unknown question ${nope}"),
        ("${grp} = 1", "is a group"),
        ("${a} = ", "unexpected the end"),
        ("(${a} = 1", "expected ')'"),
        ("${t} = 'x", "unterminated string"),
        ("/data/a = 1", "XPath paths are not supported"),
        ("${a} mod 2 = 0", "'mod'"),
        ("${yn} = 'maybe'", "compare it with 'yes' or 'no'"),
        ("selected(${t}, 'x')", "selected() needs a choice question"),
        ("${a} = 1 1", "unexpected '1'"),
        ("not(${a}, ${b})", "not() takes 1 argument"),
        ("# 1", "unexpected '#'"),
    ],
)
def test_unsupported_expressions_are_rejected_with_reason(source: str, reason: str) -> None:
    with pytest.raises(ValueError, match=None) as caught:
        parse_xpath(source, KINDS)
    assert reason in str(caught.value)


@pytest.mark.parametrize(
    ("expr", "reason"),
    [
        (Expr(op=Op.eq, args=[var("t"), ""]), "use the answered operator"),
        (Expr(op=Op.eq, args=[var("t"), None]), "null has no XPath form"),
        (Expr(op=Op.eq, args=[var("t"), 'it\'s "x"']), "both ' and \""),
        (Expr(op=Op.eq, args=[var("yn"), "yes"]), "its answers are true/false"),
        (Expr(op=Op.contains, args=[var("one"), "x"]), "selected() means equality"),
        (Expr(op=Op.and_, args=[var("a")]), "and with 1 argument(s)"),
        (Expr(op=Op.var, key="ghost"), "unknown question ${ghost}"),
        (Expr(op=Op.eq, args=[var("a"), float("inf")]), "cannot be written"),
        (Expr(op=Op.eq, key="a", args=[1, 1]), "key not allowed"),
    ],
)
def test_conditions_without_a_faithful_xpath_form_are_refused(expr: Expr, reason: str) -> None:
    with pytest.raises(ValueError) as caught:
        write_xpath(expr, KINDS)
    assert reason in str(caught.value)


# ---------------------------------------------------------------------------------------------
# Malformed workbooks: each problem names sheet, row and column
# ---------------------------------------------------------------------------------------------


def test_not_an_xlsx_at_all() -> None:
    assert problems_of(b"type,name\ntext,q\n") == [("", 0, "not an .xlsx or .xls workbook (BadZipFile)")]
    assert "not a readable .xls workbook" in problems_of(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100)[0][2]
    other_zip = io.BytesIO()
    with zipfile.ZipFile(other_zip, "w") as archive:
        archive.writestr("hello.txt", "hi")
    assert problems_of(other_zip.getvalue())[0][:2] == ("", 0)


def test_missing_survey_sheet() -> None:
    workbook = openpyxl.Workbook()
    workbook.active.title = "questions"
    workbook.create_sheet("notes")
    buffer = io.BytesIO()
    workbook.save(buffer)
    assert problems_of(buffer.getvalue()) == [("survey", 0, "the workbook has no 'survey' sheet")]


def test_a_lone_sheet_is_the_survey_as_for_pyxform() -> None:
    workbook = openpyxl.Workbook()
    workbook.active.title = "Sheet1"
    workbook.active.append(["type", "name"])
    workbook.active.append(["text", "q"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    imported = read_xlsform(buffer.getvalue())
    assert [q.key for q in only_section_items(imported.definition)] == ["q"]
    assert imported.warnings == [
        ImportWarning("survey", 0, "", "the workbook's only sheet, 'sheet1', is read as the survey sheet")
    ]


@pytest.mark.parametrize("missing", ["type", "name"])
def test_missing_required_column(missing: str) -> None:
    header = [c for c in ("type", "name", "label") if c != missing]
    assert problems_of(xlsx([header, ["text", "q"]])) == [("survey", 1, f"missing required column '{missing}'")]


def test_duplicate_names_point_at_the_second_row() -> None:
    survey = [["type", "name"], ["text", "q"], ["begin_group", "q"], ["end_group", None]]
    assert problems_of(xlsx(survey)) == [("survey", 3, "name: 'q' is already used in row 2")]


@pytest.mark.parametrize(
    ("type_", "reason"),
    [
        ("colour_picker", "unknown type 'colour_picker'"),
        ("begin_repeat", "begin_repeat 'q' has no matching end_repeat"),
        ("select_one yn or_other extra", "expected one list name"),
        ("select_one_from_file shops.csv", "choices from files (external choices) are not supported"),
        ("geotrace", "geotrace is not supported"),
        ("begin loop over yn", "begin loop has no matching end loop"),
        ("select_one", "needs a choice list name"),
        # XLSForm's rank names its list; the bare older spellings have none (not a list called 'from').
        ("rank yn", "rank questions (putting the choices in order) are not supported"),
        ("select one from", "needs a choice list name"),
        ("select all that apply from", "needs a choice list name"),
        ("select one external", "needs a choice list name"),
    ],
)
def test_unknown_and_unsupported_types(type_: str, reason: str) -> None:
    ((sheet, row, why),) = problems_of(xlsx([["type", "name"], ["text", "ok"], [type_, "q"]], YES_NO))
    assert (sheet, row) == ("survey", 3) and why.startswith("type:") and reason in why


def test_bad_expressions_name_the_column() -> None:
    survey = [
        ["type", "name", "relevant", "constraint"],
        ["text", "a", "${b} = 'x'", "round(.) < 5"],
        ["text", "b", "${a} = ", None],
    ]
    assert problems_of(xlsx(survey)) == [
        ("survey", 2, "constraint: function round() at character 1 is not supported"),
        ("survey", 3, "relevant: unexpected the end at character 8"),
    ]


def test_unknown_reference_in_a_group_relevant() -> None:
    survey = [["type", "name", "relevant"], ["begin_group", "g", "${ghost} = 1"], ["end_group", None, None]]
    assert problems_of(xlsx(survey)) == [("survey", 2, "relevant: unknown question ${ghost}")]


def test_unbalanced_groups() -> None:
    never_closed = [["type", "name"], ["begin_group", "g"], ["text", "q"]]
    assert problems_of(xlsx(never_closed)) == [("survey", 2, "type: begin_group 'g' has no matching end_group")]
    never_opened = [["type", "name"], ["text", "q"], ["end_group", None]]
    assert problems_of(xlsx(never_opened)) == [("survey", 3, "type: end_group without a matching begin_group")]


def test_select_with_unknown_list() -> None:
    survey = [["type", "name"], ["select_one colours", "c"], ["select_multiple yn", "m"]]
    assert problems_of(xlsx(survey, YES_NO)) == [
        ("survey", 2, "type: select_one refers to unknown choice list 'colours'")
    ]


def test_choice_list_with_duplicate_names() -> None:
    choices = [["list_name", "name", "label"], ["c", "a", "A"], ["c", "b", "B"], ["c", "a", "Again"]]
    # Allowed in the list (a cascade tells them apart), refused on a question without a choice_filter.
    assert problems_of(xlsx([["type", "name"], ["select_one c", "q"]], choices)) == [
        (
            "survey",
            2,
            "type: list 'c' has 'a' twice (choices rows 2 and 4); only a question with a choice_filter may use such a list",
        )
    ]


def test_bad_numbers_in_points_and_weight() -> None:
    survey = [
        ["type", "name", "weight", "points"],
        ["select_one c", "q", "heavy", None],
        ["nps", "n", -1, "lots"],
        ["text", "t", 2000, None],
    ]
    choices = [["list_name", "name", "points"], ["c", "a", "ten"], ["c", "b", 5000]]
    assert problems_of(xlsx(survey, choices)) == [
        ("choices", 2, "points: 'ten' is not a number"),
        ("choices", 3, "points: 5000 is outside -1000…1000"),
        ("survey", 2, "type: select_one refers to unknown choice list 'c'"),
        ("survey", 3, "weight: -1 is outside 0…1000"),
        ("survey", 3, "points: 'lots' is not a number"),
        ("survey", 4, "weight: 2000 is outside 0…1000"),
    ]


def test_every_problem_is_reported_at_once() -> None:
    survey = [
        ["type", "name", "label", "appearance"],
        ["text", "bad name", "x", None],
        ["integer", "n", "x", "numbers"],
        ["decimal", "d", "x", None],
        ["geoshape", "v", None, None],
    ]
    problems = problems_of(xlsx(survey))
    assert [(s, r) for s, r, _ in problems] == [("survey", 2), ("survey", 5)]
    assert "must be letters, digits, _, - and ." in problems[0][2]
    assert "geoshape is not supported" in problems[1][2]


def test_fieldscore_columns_a_type_does_not_use_are_refused() -> None:
    survey = [
        ["type", "name", "points", "bands", "give_up", "required"],
        ["integer", "n", 3, None, None, None],
        ["begin_group", "g", None, None, None, "yes"],
        ["text", "t", None, "0..1=1", 10, None],
        ["end_group", None, None, None, None, None],
    ]
    assert problems_of(xlsx(survey)) == [
        ("survey", 2, "column 'points' is not used by type 'integer'"),
        ("survey", 4, "column 'bands' is not used by type 'text'"),
        ("survey", 4, "column 'give_up' is not used by type 'text'"),
    ]


def test_assorted_cell_problems() -> None:
    survey = [
        ["type", "name", "label", "label::en", "required", "bands", "parameters", "metric", None],
        ["text", "a", "A", "A again", None, None, None, None, None],
        ["text", "b", None, None, "sometimes", None, None, None, None],
        ["duration", "c", None, None, None, "0-20:1", None, None, None],
        ["range", "r", None, None, None, None, "start=1 end=10 step=2", None, None],
        ["integer", "m", None, None, None, None, None, "speed", "stray"],
    ]
    assert problems_of(xlsx(survey)) == [
        ("survey", 2, "label: both 'label' and 'label::en' are filled in"),
        ("survey", 3, "required: 'sometimes' is not yes or no"),
        ("survey", 4, "bands: '0-20:1' is not min..max=points (e.g. 0..20=1; 20..=0)"),
        ("survey", 5, "parameters: a rating steps by 1 (step must be 1)"),
        ("survey", 6, "metric: Invalid enum value 'speed'"),
    ]


def test_yes_no_lists_cannot_fail_on_both_answers() -> None:
    choices = [["list_name", "name", "fail"], ["yn", "yes", "yes"], ["yn", "no", "yes"]]
    assert problems_of(xlsx([["type", "name"], ["select_one yn", "q"]], choices)) == [
        ("survey", 2, "type: list 'yn' fails on both yes and no")
    ]


def test_yes_no_compared_with_another_word() -> None:
    survey = [["type", "name", "relevant"], ["select_one yn", "q", None], ["text", "t", "${q} = 'maybe'"]]
    assert problems_of(xlsx(survey, YES_NO)) == [
        ("survey", 3, "relevant: ${q} is yes/no: compare it with 'yes' or 'no', not 'maybe'")
    ]


def test_extra_sheets_and_settings_columns_are_warnings_and_settings_are_kept() -> None:
    data = xlsx(
        [["type", "name"], ["text", "q"]],
        settings_rows=[["title", "id_string", "version", "style"], ["T", "shop_v1", "7", "pages"]],
        external_choices=[["list_name", "name"], ["x", "y"]],
    )
    imported = read_xlsform(data)
    assert imported.definition.title == {"en": "T"}  # `title` is pyxform's other spelling of form_title
    assert imported.definition.xlsform_settings == {"form_id": "shop_v1", "version": "7", "style": "pages"}
    assert imported.warnings == [
        ImportWarning("external_choices", 0, "", "the 'external_choices' sheet is ignored: no question uses it"),
        ImportWarning("settings", 2, "style", "kept for export; it has no effect in Fieldscore"),
    ]
    settings = sheet_rows(export_xlsform(imported.definition), "settings")
    assert settings == [
        ("form_title", "form_id", "version", "default_language", "style"),
        ("T", "shop_v1", "7", "en", "pages"),
    ]


# ---------------------------------------------------------------------------------------------
# Export: what it refuses, and round trips
# ---------------------------------------------------------------------------------------------


def one_section(*items: Any, **form: Any) -> FormDefinition:
    return FormDefinition(title={"en": "Form"}, sections=[Section(key="s", items=list(items))], **form)


def test_export_refuses_what_would_not_come_back_equal() -> None:
    defn = one_section(
        SingleChoice(key="sc", choices=[Choice(value="yes"), Choice(value="no")]),
        Text(key="t", label={"en": " "}, show_if=Expr(op=Op.eq, args=[var("t"), ""])),
        MultipleChoice(key="m", choices=[]),
        Text(key="s"),
    )
    with pytest.raises(XLSFormError) as caught:
        export_xlsform(defn)
    assert caught.value.problems == [
        ("survey", 0, "name: 's' is used twice"),
        (
            "survey",
            3,
            "type: a single choice of exactly yes/no reads back as a yes_no question; make it a yes_no question",
        ),
        ("survey", 4, "label::en: blank text reads back as no text"),
        ("survey", 4, "relevant: comparing a question with '' reads back as answered: use the answered operator"),
        ("survey", 5, "type: a choice question needs at least one choice"),
    ]


def test_export_refuses_carriage_returns_which_read_back_as_line_feeds() -> None:
    defn = one_section(
        SingleChoice(key="sc", label={"en": "Line 1\r\nLine 2"}, choices=[Choice(value="a\rb"), Choice(value="c")]),
        Text(key="t", show_if=Expr(op=Op.eq, args=[var("sc"), "a\rb"])),
    )
    with pytest.raises(XLSFormError) as caught:
        export_xlsform(defn)
    reason = "holds a carriage return, which would read back as a line feed"
    assert caught.value.problems == [
        ("survey", 3, f"label::en: {reason}"),
        ("survey", 4, f"relevant: {reason}"),
        ("choices", 2, f"name: {reason}"),
    ]
    assert import_xlsform(export_xlsform(one_section(Text(key="t", label={"en": "Line 1\nLine 2"})))) == one_section(
        Text(key="t", label={"en": "Line 1\nLine 2"})
    )  # a line feed alone is kept


def test_exported_workbook_is_plain_xlsform() -> None:
    defn = one_section(
        YesNo(key="ok", label={"en": "=SUM(A1) is text"}),
        Rating(key="r"),
        SingleChoice(key="c", choices=[Choice(value="a", points=2)]),
    )
    workbook = openpyxl.load_workbook(io.BytesIO(export_xlsform(defn)))
    assert workbook.sheetnames == ["survey", "choices", "settings"]
    rows = list(workbook["survey"].iter_rows(values_only=True))
    assert rows[0] == ("type", "name", "label::en", "parameters")
    assert rows[1:] == [
        ("begin_group", "s", None, None),
        ("select_one yes_no", "ok", "=SUM(A1) is text", None),
        ("range", "r", None, "start=1 end=5"),
        ("select_one c_choices", "c", None, None),
        ("end_group", "s", None, None),
    ]
    assert list(workbook["choices"].iter_rows(values_only=True)) == [
        ("list_name", "name", "label::en", "points", "fail"),
        ("yes_no", "yes", "Yes", 1, None),
        ("yes_no", "no", "No", 0, "yes"),
        ("c_choices", "a", None, 2, None),
    ]
    assert list(workbook["settings"].iter_rows(values_only=True)) == [
        ("form_title", "default_language"),
        ("Form", "en"),
    ]


def test_export_without_extensions_is_accepted_by_pyxform() -> None:
    from pyxform import xls2xform

    defn = one_section(
        YesNo(key="ok", label={"en": "OK?"}, critical=True, weight=2),
        SingleChoice(
            key="c",
            label={"en": "C"},
            choices=[Choice(value="a", label={"en": "A"}, points=2)],
            show_if=Expr(op=Op.eq, args=[var("ok"), True]),
        ),
        Rating(key="r", label={"en": "R"}),
        Timestamp(key="t", label={"en": "T"}),
        Integer(
            key="n",
            label={"en": "N"},
            bands=[Band(max=3, points=1)],
            constraint=Expr(op=Op.ge, args=[Expr(op=Op.self_), 0]),
        ),
        Text(key="x", label={"en": "X"}, show_if=Expr(op=Op.answered, key="n")),
    )
    result = xls2xform.convert(xlsform=io.BytesIO(export_xlsform(defn)), file_type=".xlsx")
    assert "<h:title>Form</h:title>" in result.xform
    relevant = [" ".join(r.split()) for r in re.findall(r'relevant="([^"]*)"', result.xform)]
    assert relevant == ["/data/s/ok = 'yes'", "/data/s/n != ''"]  # our conditions, as ODK reads them


SAMPLES: list[FormDefinition] = [
    one_section(Note(key="n")),
    FormDefinition(
        title={"en": "Store visit", "de": "Filialbesuch"},
        default_language="de",
        sections=[
            Section(
                key="arrival",
                label={"en": "Arrival", "de": "Ankunft"},
                weight=2,
                items=[
                    YesNo(key="greeted", label={"en": "Greeted?", "de": "Begrüßt?"}, critical=True, metric=None),
                    YesNo(key="clean", points_yes=2, points_no=None, fail_on=None, na_allowed=True),
                    YesNo(key="queue", points_yes=0, points_no=1, fail_on="yes", bonus=True),
                    Duration(
                        key="wait",
                        metric=MetricTag.wait_s,
                        bands=[Band(max=60, points=1), Band(min=60, points=0)],
                        show_if=Expr(op=Op.not_, args=[Expr(op=Op.answered, key="greeted")]),
                    ),
                ],
            ),
            Section(
                key="talk",
                show_if=Expr(op=Op.eq, args=[var("greeted"), True]),
                items=[
                    SingleChoice(
                        key="tone",
                        choices=[Choice(value="warm", label={"en": "Warm"}, points=2), Choice(value="cold", fail=True)],
                    ),
                    MultipleChoice(
                        key="offers",
                        choices=[Choice(value="bag"), Choice(value="card", points=0.5)],
                        constraint=Expr(op=Op.le, args=[Expr(op=Op.count_, args=[Expr(op=Op.self_)]), 2]),
                        constraint_message={"en": "Two at most"},
                    ),
                    Section(
                        key="deep",
                        weight=0,
                        items=[
                            Nps(key="nps", points=10, metric=MetricTag.nps, required=True),
                            Rating(key="csat", min=1, max=5, points=5, fail_below=2, hint={"de": "1–5"}),
                            Integer(key="rings", min=0, max=30),
                            Decimal(key="price", min=None, max=1e6),
                            TimerSequence(key="call", give_up_s=60, bands=[Band(min=None, max=20.5, points=1)]),
                            Text(
                                key="remarks",
                                max_length=500,
                                show_if=Expr(
                                    op=Op.or_,
                                    args=[
                                        Expr(op=Op.is_na, key="clean"),
                                        Expr(op=Op.in_, args=[var("tone"), ["warm", "cold"]]),
                                    ],
                                ),
                            ),
                            Photo(key="receipt"),
                            File(key="rec", accept="audio"),
                            File(key="doc"),
                            Gps(key="gps"),
                            Timestamp(key="at"),
                            Note(key="bye", label={"en": "Thanks\nbye"}),
                        ],
                    ),
                ],
            ),
            Section(key="empty"),
        ],
    ),
]


@pytest.mark.parametrize("defn", SAMPLES, ids=["minimal", "store_visit"])
def test_fixture_definitions_round_trip(defn: FormDefinition) -> None:
    assert import_xlsform(export_xlsform(defn)) == defn


def _templates() -> list[Any]:
    return [pytest.param(path, id=path.stem) for path in sorted(TEMPLATES.glob("*.json"))]


def test_the_built_in_templates_are_all_there() -> None:
    assert {p.stem for p in TEMPLATES.glob("*.json")} >= {"store_visit", "test_call", "test_email", "live_chat"}


@pytest.mark.parametrize("path", _templates())
def test_every_template_round_trips(path: pathlib.Path) -> None:
    raw = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(raw, dict) and "sections" not in raw and "definition" in raw:
        raw = raw["definition"]  # a template may wrap the definition with name and channel
    defn = msgspec.convert(raw, FormDefinition)
    assert import_xlsform(export_xlsform(defn)) == defn


# --- hypothesis: generated definitions --------------------------------------------------------

LANGUAGES = ["en", "de", "fr", "pt-BR"]
TEXT = st.text(
    st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff") | st.sampled_from("\n\t ="),
    min_size=1,
    max_size=20,
).filter(lambda s: s.strip())
LABELS = st.dictionaries(st.sampled_from(LANGUAGES), TEXT, max_size=3)
POINTS = st.none() | st.floats(-1000, 1000, allow_nan=False)
BOUND = st.none() | st.floats(-1e12, 1e12, allow_nan=False) | st.integers(-1000, 1000)
BANDS = st.lists(st.builds(Band, min=BOUND, max=BOUND, points=st.floats(-1000, 1000)), max_size=3)
CHOICE_VALUES = st.text(string.ascii_letters + string.digits + "_-. ", min_size=1, max_size=8).filter(str.strip)
STRING_LITERAL = st.text(
    st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from("\n\t'\""), min_size=1, max_size=8
).filter(lambda s: not ("'" in s and '"' in s))
SCALAR = (
    st.booleans() | st.integers(-(10**6), 10**6) | st.floats(allow_nan=False, allow_infinity=False) | STRING_LITERAL
)


def choices_strategy(min_size: int = 1) -> st.SearchStrategy[list[Choice]]:
    return st.lists(
        st.builds(Choice, value=CHOICE_VALUES, label=LABELS, points=POINTS, fail=st.booleans()),
        min_size=min_size,
        max_size=4,
        unique_by=lambda c: c.value,
    ).filter(lambda cs: sorted(c.value for c in cs) != ["no", "yes"])


def common() -> dict[str, Any]:
    return dict(
        label=LABELS,
        hint=LABELS,
        required=st.booleans(),
        constraint_message=LABELS,
        weight=st.floats(0, 1000),
        na_allowed=st.booleans(),
        critical=st.booleans(),
        bonus=st.booleans(),
        metric=st.none() | st.sampled_from(MetricTag),
    )


def question_strategy(key: str) -> st.SearchStrategy[Any]:
    c = common()
    return st.one_of(
        st.builds(
            YesNo,
            key=st.just(key),
            points_yes=POINTS,
            points_no=POINTS,
            fail_on=st.sampled_from(["yes", "no", None]),
            **c,
        ),
        st.builds(SingleChoice, key=st.just(key), choices=choices_strategy(), **c),
        st.builds(MultipleChoice, key=st.just(key), choices=choices_strategy(), **c),
        st.builds(
            Rating,
            key=st.just(key),
            min=st.integers(0, 100),
            max=st.integers(1, 100),
            points=POINTS,
            fail_below=st.none() | st.integers(-5, 100),
            **c,
        ),
        st.builds(Nps, key=st.just(key), points=POINTS, **c),
        st.builds(Integer, key=st.just(key), min=BOUND, max=BOUND, bands=BANDS, **c),
        st.builds(Decimal, key=st.just(key), min=BOUND, max=BOUND, bands=BANDS, **c),
        st.builds(Duration, key=st.just(key), min=BOUND, max=BOUND, bands=BANDS, **c),
        st.builds(
            TimerSequence,
            key=st.just(key),
            give_up_s=st.integers(1, 86_400),
            clock_start=st.sampled_from(["ring", "menu_left"]),
            bands=BANDS,
            **c,
        ),
        st.builds(Text, key=st.just(key), max_length=st.integers(1, 20_000), **c),
        st.builds(Timestamp, key=st.just(key), **c),
        st.builds(Photo, key=st.just(key), **c),
        st.builds(File, key=st.just(key), accept=st.sampled_from(["audio", "any"]), **c),
        st.builds(Gps, key=st.just(key), **c),
        st.builds(Note, key=st.just(key), **c),
    )


def tag_of(question: Any) -> str:
    return type(question).__struct_config__.tag


@st.composite
def expressions(draw: st.DrawFn, kinds: dict[str, str], in_constraint: bool) -> Expr:
    keys = sorted(k for k, tag in kinds.items() if tag != "section")
    multiple = [k for k in keys if kinds[k] == "multiple_choice"]

    def literal_for(subject: Any) -> Any:
        value = draw(SCALAR | st.lists(SCALAR, max_size=2))
        if isinstance(subject, Expr) and subject.op is Op.var and kinds[subject.key or ""] == "yes_no":
            return draw(st.booleans())  # yes_no answers are booleans
        return value if not (isinstance(value, list) and not draw(st.booleans())) else draw(SCALAR)

    def value(depth: int) -> Any:
        choice = draw(st.integers(0, 5 if depth < 2 else 2))
        if choice == 0 and keys:
            return var(draw(st.sampled_from(keys)))
        if choice == 1:
            return Expr(op=Op.self_) if in_constraint or draw(st.booleans()) else draw(SCALAR)
        if choice == 2:
            return draw(SCALAR)
        if choice == 3 and multiple:
            return Expr(op=Op.count_, args=[var(draw(st.sampled_from(multiple)))])
        if choice == 4:
            return Expr(op=Op.lit, args=[draw(SCALAR)])
        op = draw(st.sampled_from([Op.add, Op.sub, Op.mul, Op.div]))
        return Expr(op=op, args=[value(depth + 1) for _ in range(draw(st.integers(2, 3)))])

    def condition(depth: int) -> Expr:
        choice = draw(st.integers(0, 6 if depth < 2 else 3))
        if choice == 0 and keys:
            return Expr(op=draw(st.sampled_from([Op.answered, Op.is_na])), key=draw(st.sampled_from(keys)))
        if choice == 1 and multiple:
            subject = var(draw(st.sampled_from(multiple)))
            return Expr(op=Op.contains, args=[subject, draw(STRING_LITERAL)])
        if choice in (1, 2, 3):
            left, right = value(depth + 1), value(depth + 1)
            # A question compared with '' reads back as "answered"; a yes_no one takes booleans.
            if isinstance(left, Expr) and left.op is Op.var and not isinstance(right, Expr):
                right = literal_for(left) if right == "" or isinstance(right, str) else right
            if isinstance(right, Expr) and right.op is Op.var and not isinstance(left, Expr):
                left = literal_for(right) if left == "" or isinstance(left, str) else left
            op = draw(st.sampled_from([Op.eq, Op.ne, Op.lt, Op.le, Op.gt, Op.ge]))
            return Expr(op=op, args=[left, right])
        if choice == 4:
            subject = value(depth + 1)
            return Expr(op=Op.in_, args=[subject, *(literal_for(subject) for _ in range(draw(st.integers(1, 3))))])
        if choice == 5:
            return Expr(op=Op.not_, args=[condition(depth + 1)])
        op = draw(st.sampled_from([Op.and_, Op.or_]))
        return Expr(op=op, args=[condition(depth + 1) for _ in range(draw(st.integers(2, 3)))])

    expr = condition(0)
    return expr if draw(st.integers(0, 9)) else Expr(op=Op.lit, args=[draw(SCALAR)])


@st.composite
def definitions(draw: st.DrawFn) -> FormDefinition:
    counter = iter(range(10_000))

    def new_key() -> str:
        return f"{draw(st.sampled_from(['q', 'Greeting', '_x', 'yes_no', 'yes_no_2']))}_{next(counter)}"

    def section(depth: int) -> Section:
        items: list[Any] = []
        for _ in range(draw(st.integers(0, 3))):
            if depth < 2 and draw(st.integers(0, 5)) == 0:
                items.append(section(depth + 1))
            else:
                items.append(draw(question_strategy(new_key())))
        return Section(key=new_key(), label=draw(LABELS), weight=draw(st.floats(0, 1000)), items=items)

    sections = [section(0) for _ in range(draw(st.integers(1, 2)))]
    kinds: dict[str, str] = {}

    def walk(items: list[Any]) -> None:
        for item in items:
            kinds[item.key] = "section" if isinstance(item, Section) else tag_of(item)
            if isinstance(item, Section):
                walk(item.items)

    walk(sections)

    def with_conditions(item: Any) -> Any:
        if isinstance(item, Section):
            return msgspec.structs.replace(
                item,
                items=[with_conditions(i) for i in item.items],
                show_if=draw(st.none() | expressions(kinds, False)),
            )
        return msgspec.structs.replace(
            item,
            show_if=draw(st.none() | expressions(kinds, False)),
            constraint=draw(st.none() | expressions(kinds, True)),
        )

    sections = [with_conditions(s) for s in sections]
    return FormDefinition(title=draw(LABELS), default_language=draw(st.sampled_from(LANGUAGES)), sections=sections)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(definitions())
def test_generated_definitions_round_trip(defn: FormDefinition) -> None:
    defn = msgspec.convert(msgspec.to_builtins(defn), FormDefinition)  # as a stored definition would be
    assert import_xlsform(export_xlsform(defn)) == defn


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_generated_conditions_round_trip_through_xpath(data: st.DataObject) -> None:
    expr = data.draw(expressions(KINDS, data.draw(st.booleans())))
    assert parse_xpath(write_xpath(expr, KINDS), KINDS) == expr


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300) | st.builds(lambda b: b"PK\x03\x04" + b, st.binary(max_size=300)))
def test_garbage_bytes_give_problems_not_crashes(data: bytes) -> None:
    with pytest.raises(XLSFormError) as caught:
        import_xlsform(data)
    assert caught.value.problems and all(len(p) == 3 for p in caught.value.problems)


# ---------------------------------------------------------------------------------------------
# Spellings pyxform accepts, and what has no questionnaire meaning (kept, with warnings)
# ---------------------------------------------------------------------------------------------


def test_older_select_spellings_single_colon_languages_and_bind_columns() -> None:
    survey = [
        [
            "type",
            "name",
            "label:English",
            "label:Français",
            "bind:required",
            "bind:relevant",
            "bind:jr:constraintMsg:English",
            "bind:constraint",
        ],
        ["select one from colours", "c", "Colour?", "Couleur ?", "yes", None, None, None],
        [
            "select all that apply from colours",
            "m",
            "Many",
            None,
            None,
            "selected(${c}, 'red')",
            "Two at most",
            "count-selected(.) <= 2",
        ],
    ]
    choices = [
        ["list name", "name", "label:English", "label:Français"],
        ["colours", "red", "Red", "Rouge"],
        ["colours", "blue", "Blue", "Bleu"],
    ]
    imported = read_xlsform(xlsx(survey, choices))
    c, m = only_section_items(imported.definition)
    assert isinstance(c, SingleChoice) and c.required and c.label == {"English": "Colour?", "Français": "Couleur ?"}
    assert [ch.label for ch in c.choices] == [
        {"English": "Red", "Français": "Rouge"},
        {"English": "Blue", "Français": "Bleu"},
    ]
    assert isinstance(m, MultipleChoice) and m.show_if == Expr(op=Op.eq, args=[var("c"), "red"])
    assert m.constraint_message == {"English": "Two at most"}
    assert imported.warnings == []


def test_or_specify_other_becomes_an_other_choice_and_a_text_question() -> None:
    survey = [
        ["type", "name", "label"],
        ["select_one colours or_other", "c", "Colour"],
        ["select all that apply from colours or specify other", "m", "Many"],
    ]
    imported = read_xlsform(xlsx(survey, [["list_name", "name", "label"], ["colours", "red", "Red"]]))
    c, c_other, m, m_other = only_section_items(imported.definition)
    assert [ch.value for ch in c.choices] == ["red", "other"] and c.choices[1].label == {"en": "Other"}
    assert c_other == Text(
        key="c_other", label={"en": "Specify other."}, show_if=Expr(op=Op.eq, args=[var("c"), "other"])
    )
    assert m_other.show_if == Expr(op=Op.contains, args=[var("m"), "other"])
    assert [w.message.split(" (")[0] for w in imported.warnings] == [
        "'or_other' becomes the choice 'other' and the text question 'c_other' shown when it is chosen",
        "'or_other' becomes the choice 'other' and the text question 'm_other' shown when it is chosen",
    ]
    assert import_xlsform(export_xlsform(imported.definition)) == imported.definition
    taken = xlsx(
        [["type", "name"], ["text", "c_other"], ["select_one colours or_other", "c"]],
        [["list_name", "name"], ["colours", "red"]],
    )
    assert problems_of(taken) == [("survey", 3, "name: 'c_other' is already used in row 2")]


def test_metadata_rows_and_foreign_columns_are_kept_for_export_with_warnings() -> None:
    survey = [
        ["type", "name", "label", "appearance", "media::image", "instance::geometry"],
        ["start", "start", None, None, None, None],
        ["deviceid", "device", None, None, None, None],
        ["begin_group", "g", "G", "field-list", None, None],
        ["text", "t", "T", "multiline", "t.png", "x"],
        ["end_group", None, None, None, None, None],
    ]
    choices = [["list_name", "name", "label", "image"], ["c", "a", "A", "a.png"]]
    imported = read_xlsform(xlsx(survey, choices))
    defn = imported.definition
    assert [(r.type, r.name) for r in defn.xlsform_rows] == [("start", "start"), ("deviceid", "device")]
    assert defn.sections[0].xlsform == {"appearance": "field-list"}
    assert defn.sections[0].items[0].xlsform == {"appearance": "multiline", "image": "t.png", "instance::geometry": "x"}
    assert [(w.sheet, w.row, w.column) for w in imported.warnings] == [
        ("choices", 2, "image"),
        ("survey", 2, "type"),
        ("survey", 3, "type"),
        ("survey", 4, "appearance"),
        ("survey", 5, "image"),
        ("survey", 5, "instance::geometry"),
    ]
    # One warning per column and reason, counting its rows.
    assert imported.warnings[3].message == "kept for export; the app lays questions out itself (rows 4–5, 2 in all)"
    exported = export_xlsform(defn)
    assert import_xlsform(exported) == defn
    rows = sheet_rows(exported, "survey")
    assert rows[1][:2] == ("start", "start") and rows[2][:2] == ("deviceid", "device")


def test_legacy_xls_and_blank_formatted_rows() -> None:
    corpus = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "xlsforms" / "pyxform-examples"
    defn = import_xlsform((corpus / "pyx__yes_or_no_question.xls").read_bytes())
    assert isinstance(only_section_items(defn)[0], YesNo)
    # A sheet formatted down to row 65,536 but holding 3 rows is a 3-row sheet, not "too long".
    workbook = openpyxl.Workbook()
    ws = workbook.active
    ws.title = "survey"
    ws.append(["type", "name"])
    ws.append(["text", "a"])
    ws.append(["text", "b"])
    ws.cell(row=65_536, column=1).number_format = "0.00"
    ws.cell(row=65_536, column=1).value = " "
    buffer = io.BytesIO()
    workbook.save(buffer)
    assert [q.key for q in only_section_items(import_xlsform(buffer.getvalue()))] == ["a", "b"]


def test_older_type_spellings_are_read_and_said_so() -> None:
    imported = read_xlsform(xlsx([["type", "name"], ["phone number", "p"], ["q int", "n"]]))
    p, n = only_section_items(imported.definition)
    assert isinstance(p, Text) and isinstance(n, Integer)
    assert [w.message for w in imported.warnings] == [
        "'phone number' is an older spelling, read and exported as 'text'",
        "'q int' is an older spelling, read and exported as 'integer'",
    ]


def test_a_value_without_a_header_and_end_group_columns_are_ignored_with_a_warning() -> None:
    survey = [
        ["type", "name", "label", None],
        ["begin_group", "g", "G", None],
        ["text", "t", "T", "stray"],
        ["end_group", "g", "G", None],
    ]
    imported = read_xlsform(xlsx(survey))
    assert imported.warnings == [
        ImportWarning("survey", 3, "D", "a value in a column without a header: ignored (ODK tools ignore it too)"),
        ImportWarning("survey", 4, "label", "ignored on an end_group row (ODK tools ignore it too)"),
    ]


# ---------------------------------------------------------------------------------------------
# calculate, XPath value functions, smart quotes, names with dots and hyphens
# ---------------------------------------------------------------------------------------------


def test_calculate_rows_become_calculations_usable_in_conditions() -> None:
    survey = [
        ["type", "name", "label", "calculation", "relevant", "constraint"],
        ["integer", "adults", "Adults", None, None, None],
        ["integer", "kids", "Kids", None, None, None],
        ["calculate", "people", None, "${adults} + ${kids}", None, None],
        ["calculate", "size", None, "if(${people} > 4, 'large', concat('small:', ${people}))", None, None],
        ["text", "why", "Why so many?", None, "${size} = 'large'", "string-length(.) <= 20"],
        ["text", "mail", "E-mail", None, "coalesce(${why}, 'none') != 'x'", "regex(., '^[^@]+@[^@]+$')"],
    ]
    defn = import_xlsform(xlsx(survey))
    people, size = only_section_items(defn)[2:4]
    assert isinstance(people, Calculate) and people.calculation == Expr(op=Op.add, args=[var("adults"), var("kids")])
    assert size.calculation.op is Op.if_
    assert check_definition(defn) == []
    assert visibility(defn, {"adults": 2, "kids": 3}).shown["why"] is True
    assert visibility(defn, {"adults": 2, "kids": 1}).answers["size"] == "small:3"
    assert visibility(defn, {"adults": 2, "kids": 1}).shown["why"] is False
    # Computed, never answered: a submitted value is refused, a computed one is not needed.
    assert check_answers(defn, {"adults": 2, "kids": 3, "people": 9}) == [
        ("people", "answer.not_answerable: a calculated value is computed by the form, not answered")
    ]
    assert check_answers(defn, {"adults": 2, "kids": 3, "why": "a very long reason indeed, yes"}) == [
        ("why", "answer.constraint: the answer does not meet the constraint")
    ]
    assert check_answers(defn, {"mail": "a@b"}) == []
    assert import_xlsform(export_xlsform(defn)) == defn
    rows = sheet_rows(export_xlsform(defn), "survey")
    assert rows[4][:2] == ("calculate", "people") and "${adults} + ${kids}" in rows[4]


def test_a_calculate_row_without_calculation_is_refused() -> None:
    assert problems_of(xlsx([["type", "name"], ["calculate", "c"]])) == [
        ("survey", 2, "calculation: missing (a calculate row needs its expression)")
    ]


def test_hidden_rows_are_calculations_holding_their_default_and_export_back_as_hidden() -> None:
    survey = [
        ["type", "name", "label", "default", "calculation", "relevant"],
        ["hidden", "code", None, "ABC-12", None, None],
        ["hidden", "limit", None, "5", None, None],
        ["hidden", "blank", None, None, None, None],
        ["integer", "count", "Count", None, None, "${code} = 'ABC-12'"],
        ["hidden", "twice", None, None, "${count} * 2", None],
        ["text", "why", "Why over ${limit}?", None, None, "${count} > ${limit} and ${blank} = ''"],
    ]
    imported = read_xlsform(xlsx(survey))
    assert imported.warnings == []  # nothing dropped
    defn = imported.definition
    code, limit, blank, _count, twice, _why = only_section_items(defn)
    assert code == Calculate(key="code", hidden=True, calculation=Expr(op=Op.lit, args=["ABC-12"]))
    assert limit.calculation == Expr(op=Op.lit, args=[5]) and limit.hidden
    assert blank.calculation == Expr(op=Op.lit, args=[None]) and blank.hidden  # empty: as if unanswered
    assert twice.hidden and twice.calculation == Expr(op=Op.mul, args=[var("count"), 2])
    assert check_definition(defn) == []
    seen = visibility(defn, {"count": 7})
    assert (seen.answers["code"], seen.answers["limit"], seen.answers["twice"]) == ("ABC-12", 5, 14)
    assert "blank" not in seen.answers and seen.shown["count"] is True and seen.shown["why"] is True
    assert visibility(defn, {"count": 3}).shown["why"] is False
    # Never answered by the shopper.
    assert check_answers(defn, {"code": "XYZ"}) == [
        ("code", "answer.not_answerable: a calculated value is computed by the form, not answered")
    ]
    exported = export_xlsform(defn)
    rows = sheet_rows(exported, "survey")
    header = rows[0]
    cells = [dict(zip(header, row, strict=True)) for row in rows[1:]]
    assert [(c["type"], c["name"], c.get("default"), c.get("calculation")) for c in cells if c["type"] == "hidden"] == [
        ("hidden", "code", "ABC-12", None),
        ("hidden", "limit", "5", None),
        ("hidden", "blank", None, None),
        ("hidden", "twice", None, "${count} * 2"),
    ]
    again = import_xlsform(exported)
    assert again == defn
    assert all(sheet_rows(export_xlsform(again), name) == sheet_rows(exported, name) for name in ("survey", "settings"))
    assert pyxform_error(exported, ".xlsx") == ""


@pytest.mark.parametrize("value", ["", "5", " x", "1e3", 5, 5.5, None, True, ["a", "b"]])
def test_a_hidden_value_of_any_literal_exports_and_reads_back_the_same(value: Any) -> None:
    """A literal the default cell would read differently ('' or '5' as text…) goes in the calculation column."""
    hidden = Calculate(key="h", hidden=True, calculation=Expr(op=Op.lit, args=[value]))
    defn = FormDefinition(title={"en": "T"}, sections=[Section(key="s", items=[hidden])])
    exported = export_xlsform(defn)
    again = import_xlsform(exported)
    assert again == defn and sheet_rows(export_xlsform(again), "survey") == sheet_rows(exported, "survey")
    assert pyxform_error(exported, ".xlsx") == ""


def test_a_form_of_only_hidden_values_is_accepted() -> None:
    """pyxform accepts it (its hidden.xls example); a report on it has nothing to fill in."""
    defn = import_xlsform(xlsx([["type", "name", "label", "default"], ["hidden", "wave", None, "2024-06"]]))
    assert only_section_items(defn) == [
        Calculate(key="wave", hidden=True, calculation=Expr(op=Op.lit, args=["2024-06"]))
    ]
    assert check_definition(defn) == []
    assert check_answers(defn, {}) == []
    assert import_xlsform(export_xlsform(defn)) == defn


def test_smart_quotes_are_read_as_straight_quotes_and_names_may_have_dots_and_hyphens() -> None:
    survey = [["type", "name", "relevant"], ["text", "health-id.v2", None], ["text", "why", "${health-id.v2}=‘dead’"]]
    defn = import_xlsform(xlsx(survey))
    assert only_section_items(defn)[1].show_if == Expr(op=Op.eq, args=[var("health-id.v2"), "dead"])
    assert sheet_rows(export_xlsform(defn), "survey")[3][2] == "${health-id.v2} = 'dead'"
    assert "must be letters, digits, _, - and ." in problems_of(xlsx([["type", "name"], ["text", "-x"]]))[0][2]


def test_references_in_labels_must_be_fillable() -> None:
    survey = [
        ["type", "name", "label", "hint"],
        ["text", "who", "Name?", None],
        ["integer", "age", "How old is ${who}?", "${ who } said so"],
        ["start", "start", None, None],
        ["text", "x", "Since ${start}", None],
        ["text", "y", "Ask ${nobody}", None],
    ]
    assert problems_of(xlsx(survey)) == [
        ("survey", 6, "label: ${nobody} cannot be filled in: no question is named 'nobody'"),
    ]
    # A metadata row is filled in by the phone (start/end/today; device details blank), and said so.
    imported = read_xlsform(xlsx(survey[:5]))
    assert any(
        w.row == 5 and w.column == "label" and "${start} is form metadata" in w.message for w in imported.warnings
    )
    assert only_section_items(imported.definition)[2].label == {"en": "Since ${start}"}
    defn = import_xlsform(xlsx(survey[:3]))
    assert only_section_items(defn)[1].label == {"en": "How old is ${who}?"}  # filled in on the phone
    assert import_xlsform(export_xlsform(defn)) == defn


def test_references_in_choice_labels_must_be_fillable_too() -> None:
    """A choice's label is shown like a question's: ${name} is filled in on the phone, or refused."""
    survey = [["type", "name", "label"], ["start", "start", None], ["text", "who", "Who?"], ["select_one l", "q", "Q"]]
    choices = [
        ["list_name", "name", "label::en", "label::fr"],
        ["l", "a", "Ask ${who}", "Demander à ${who}"],
        ["l", "b", "Since ${start}", None],
        ["l", "c", "C", "C ${nobody}"],
        ["l", "d", "D ${g}", None],
    ]
    grouped = [*survey, ["begin_group", "g", "G"], ["text", "t", "T"], ["end_group", None, None]]
    assert problems_of(xlsx(grouped, choices)) == [
        ("choices", 4, "label: ${nobody} cannot be filled in: no question is named 'nobody'"),
        ("choices", 5, "label: ${g} cannot be filled in: 'g' is a group, not a question"),
    ]
    imported = read_xlsform(xlsx(survey, choices[:3]))
    q = only_section_items(imported.definition)[1]
    assert isinstance(q, SingleChoice)
    assert [c.label for c in q.choices] == [{"en": "Ask ${who}", "fr": "Demander à ${who}"}, {"en": "Since ${start}"}]
    assert any((w.sheet, w.row, w.column) == ("choices", 3, "label") for w in imported.warnings)
    assert import_xlsform(export_xlsform(imported.definition)) == imported.definition


def test_a_choice_filter_naming_no_question_is_refused_not_kept() -> None:
    """pyxform refuses it too; it is a mistake in the sheet, not a filter we merely cannot read."""
    survey = [["type", "name", "label", "choice_filter"], ["select_one l", "c", "C", "cf = ${nowhere}"]]
    choices = [["list_name", "name", "label", "cf"], ["l", "a", "A", "x"]]
    assert problems_of(xlsx(survey, choices)) == [
        ("survey", 2, "choice_filter: ${nowhere} names no question of this form")
    ]


def test_a_yes_no_list_keeps_its_labels_in_every_language_and_its_columns() -> None:
    choices = [
        ["list_name", "name", "label::en", "label::de", "image"],
        ["yn", "yes", "Yes", "Ja", "tick.png"],
        ["yn", "no", "No", "Nein", None],
    ]
    imported = read_xlsform(xlsx([["type", "name"], ["select_one yn", "q"]], choices))
    (q,) = only_section_items(imported.definition)
    assert isinstance(q, YesNo)
    assert (q.yes_label, q.no_label) == ({"en": "Yes", "de": "Ja"}, {"en": "No", "de": "Nein"})
    assert q.yes_xlsform == {"image": "tick.png"} and q.no_xlsform == {}
    assert not any("yes/no" in w.message for w in imported.warnings)  # nothing is dropped any more
    exported = export_xlsform(imported.definition)
    assert import_xlsform(exported) == imported.definition
    header, *rows = sheet_rows(exported, "choices")
    by_column = [dict(zip(header, row, strict=True)) for row in rows]
    assert [(r["name"], r["label::en"], r["label::de"], r["image"]) for r in by_column] == [
        ("yes", "Yes", "Ja", "tick.png"),
        ("no", "No", "Nein", None),
    ]
    # A plain Yes/No list stays label-free: the app says Yes/No in the shopper's language.
    plain = import_xlsform(xlsx([["type", "name"], ["select_one yn", "q"]], YES_NO))
    assert only_section_items(plain)[0].yes_label == {}


PUBLISHING_REFUSES = "the draft cannot be published until this is changed: "


def test_a_show_if_on_a_later_question_is_imported_with_a_warning_at_its_row() -> None:
    """pyxform's flat_xlsform_test shows a note on a later answer: kept, but said now, at the row, not at publishing."""
    content = (CORPUS / "pyx__flat_xlsform_test.xlsx").read_bytes()
    imported = read_xlsform(content)
    assert [p.path for p in check_definition(imported.definition)] == ["sections[0].items[1].show_if"]
    assert [w for w in imported.warnings if w.message.startswith(PUBLISHING_REFUSES)] == [
        ImportWarning(
            "survey",
            3,
            "relevant",
            PUBLISHING_REFUSES + "refers to 'address', which comes later; only earlier questions may be used",
        )
    ]


def test_what_publishing_refuses_in_a_repeat_is_a_warning_at_the_row_and_column() -> None:
    survey = [
        ["type", "name", "label", "relevant", "calculation"],
        ["begin_repeat", "shelf", "Shelves", None, None],
        ["integer", "facings", "Facings", None, None],
        ["image", "shot", "Photo of the shelf", None, None],
        ["end_repeat", None, None, None, None],
        ["text", "why", "Why so few?", "${facings} < 3", None],
        ["calculate", "total", None, None, "${later} + 1"],
        ["integer", "later", "Later", None, None],
        ["begin_group", "nothing", "Nothing", None, None],
        ["end_group", None, None, None, None],
    ]
    imported = read_xlsform(xlsx(survey))  # kept: it can be edited into shape
    assert [w for w in imported.warnings if w.message.startswith(PUBLISHING_REFUSES)] == [
        ImportWarning(
            "survey", 4, "type", PUBLISHING_REFUSES + "a photo question inside repeat 'shelf' is not supported"
        ),
        ImportWarning(
            "survey",
            6,
            "relevant",
            PUBLISHING_REFUSES + "refers to 'facings', which is answered per instance of repeat 'shelf'; "
            "only questions of the same instance may be used",
        ),
        ImportWarning(
            "survey",
            7,
            "calculation",
            PUBLISHING_REFUSES + "refers to 'later', which comes later; only earlier questions may be used",
        ),
        ImportWarning("survey", 9, "", PUBLISHING_REFUSES + "an empty section"),
    ]
    assert len(check_definition(imported.definition)) == 4


def test_a_repeat_in_a_repeat_and_a_form_of_only_groups_are_warned_about_at_import() -> None:
    nested = [
        ["type", "name", "label"],
        ["begin_repeat", "outer", "Outer"],
        ["begin_repeat", "inner", "Inner"],
        ["text", "x", "X"],
        ["end_repeat"],
        ["end_repeat"],
    ]
    (warning,) = [w for w in read_xlsform(xlsx(nested)).warnings if w.message.startswith(PUBLISHING_REFUSES)]
    assert warning == ImportWarning(
        "survey", 3, "type", PUBLISHING_REFUSES + "a repeat inside repeat 'outer' is not supported"
    )
    only_groups = [["type", "name", "label"], ["begin_group", "g", "G"], ["end_group"]]
    assert [w for w in read_xlsform(xlsx(only_groups)).warnings if w.message.startswith(PUBLISHING_REFUSES)] == [
        ImportWarning("survey", 0, "", PUBLISHING_REFUSES + "the form has no questions"),
        ImportWarning("survey", 2, "", PUBLISHING_REFUSES + "an empty section"),
    ]

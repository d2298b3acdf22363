"""XLSForm repeats, loops, acknowledge and barcode: read, checked, answered per instance, scored, exported."""

from __future__ import annotations

import pytest

from api_schemas.forms import (
    Acknowledge,
    Expr,
    FormDefinition,
    Integer,
    Op,
    Photo,
    Section,
    SingleChoice,
    Text,
    YesNo,
)
from backend.forms.answers import check_answers
from backend.forms.definition import check_definition, visibility
from backend.forms.xlsform import export_xlsform, import_xlsform, read_xlsform
from backend.scoring.engine import score
from tests.xlsform_sheets import YES_NO, problems_of, sheet_rows, xlsx


def var(key: str) -> Expr:
    return Expr(op=Op.var, key=key)


HOUSEHOLD = [
    ["type", "name", "label", "repeat_count", "relevant", "constraint"],
    ["integer", "members", "How many?", None, None, None],
    ["begin_repeat", "person", "Person", "${members}", None, None],
    ["integer", "age", "Age of the person", None, None, ". >= 0"],
    ["select_one yn", "votes", "Votes?", None, "${age} >= 18", None],
    ["end_repeat", None, None, None, None, None],
    ["note", "bye", "Thanks", None, None, None],
]


def test_a_repeat_is_read_as_a_repeat_section_and_exported_back() -> None:
    defn = import_xlsform(xlsx(HOUSEHOLD, YES_NO))
    repeat = defn.sections[1]  # a top-level repeat is a section of its own, like a top-level group
    assert isinstance(repeat, Section) and repeat.repeat and repeat.key == "person"
    assert repeat.repeat_count == var("members")
    assert [q.key for q in repeat.items] == ["age", "votes"]
    assert check_definition(defn) == []
    exported = export_xlsform(defn)
    types = [row[0] for row in sheet_rows(exported, "survey")[1:]]
    assert types[3:7] == ["begin_repeat", "integer", "select_one yes_no", "end_repeat"]
    assert import_xlsform(exported) == defn


def test_repeat_spellings_and_unmatched_ends() -> None:
    spelled = [["type", "name", "label", "jr:count"], ["begin repeat", "r", "R", 2], ["text", "t", "T"], ["end repeat"]]
    repeat = import_xlsform(xlsx(spelled)).sections[0]
    assert repeat.repeat and repeat.repeat_count == Expr(op=Op.lit, args=[2])
    crossed = [["type", "name", "label"], ["begin_repeat", "r", "R"], ["text", "t", "T"], ["end_group"]]
    assert problems_of(xlsx(crossed)) == [("survey", 4, "type: end_group closes the begin_repeat of row 2")]


def test_answers_inside_a_repeat_are_checked_per_instance() -> None:
    defn = import_xlsform(xlsx(HOUSEHOLD, YES_NO))
    ok = {"members": 2, "person": [{"age": 40, "votes": True}, {"age": 9}]}
    assert check_answers(defn, ok) == []
    problems = check_answers(defn, {"members": 2, "person": [{"age": -1}, {"age": 9, "votes": False}, {}]})
    codes = [(key, reason.split(":")[0]) for key, reason in problems]
    assert codes == [
        ("person", "answer.repeat_count"),
        ("person[0].age", "answer.constraint"),
        ("person[1].votes", "answer.hidden"),  # 9 years old: the question is not shown in that instance
    ]
    assert check_answers(defn, {"members": 1, "person": "x"})[0][1].startswith("answer.wrong_type")
    assert check_answers(defn, {"members": 0, "age": 3}) == [
        ("age", "answer.unknown_question: no question has this key")
    ]
    view = visibility(defn, ok)
    assert [i.shown["votes"] for i in view.instances["person"]] == [True, False]
    assert view.instances["person"][1].answers["members"] == 2  # answers outside are visible inside


def test_a_scored_item_in_a_repeat_counts_as_its_mean_over_instances() -> None:
    defn = FormDefinition(
        title={"en": "F"},
        sections=[
            Section(
                key="s",
                items=[
                    YesNo(key="clean"),
                    Section(
                        key="counters",
                        repeat=True,
                        items=[YesNo(key="greeted"), YesNo(key="smiled", show_if=var("greeted"))],
                    ),
                ],
            )
        ],
    )
    assert check_definition(defn) == []
    answers = {"clean": True, "counters": [{"greeted": True, "smiled": True}, {"greeted": False}, {"greeted": True}]}
    assert check_answers(defn, answers) == []
    result = score(defn, answers)
    by_key = {item.key: item for item in result.items}
    assert by_key["greeted"].earned == pytest.approx(2 / 3) and by_key["greeted"].status == "scored"
    assert by_key["smiled"].earned == 1.0  # shown and answered in one instance only
    # clean = 1; counters = mean(greeted 2/3, smiled 1) = 5/6; the form = mean(1, 5/6)
    assert result.calculated == pytest.approx(100 * (1 + 5 / 6) / 2)
    assert sum(item.contribution for item in result.items) == pytest.approx(result.calculated)
    empty = score(defn, {"clean": True, "counters": []})
    assert {i.key: i.status for i in empty.items}["greeted"] == "unanswered" and empty.calculated == 100.0


def test_a_critical_failure_in_any_instance_fails_the_report() -> None:
    defn = FormDefinition(
        title={"en": "F"},
        sections=[Section(key="s", items=[Section(key="r", repeat=True, items=[YesNo(key="safe", critical=True)])])],
    )
    assert score(defn, {"r": [{"safe": True}, {"safe": False}]}).failed
    assert not score(defn, {"r": [{"safe": True}]}).failed


def test_what_a_repeat_cannot_hold_or_be_referred_to_from() -> None:
    defn = FormDefinition(
        title={"en": "F"},
        sections=[
            Section(
                key="s",
                items=[
                    Section(
                        key="r",
                        repeat=True,
                        items=[
                            Integer(key="n"),
                            Photo(key="p"),
                            Section(key="inner", repeat=True, items=[Text(key="t")]),
                        ],
                    ),
                    Text(key="after", show_if=Expr(op=Op.gt, args=[var("n"), 1])),
                ],
            )
        ],
    )
    reasons = sorted(p.reason for p in check_definition(defn))
    assert reasons == [
        "a photo question inside repeat 'r' is not supported",
        "a repeat inside repeat 'r' is not supported",
        "refers to 'n', which is answered per instance of repeat 'r'; only questions of the same instance may be used",
    ]


def test_a_loop_is_written_out_as_a_group_per_choice() -> None:
    survey = [
        ["type", "name", "label"],
        ["begin loop over kinds", "loop", "Toilets"],
        ["integer", "number", "How many %(label)s (%(name)s)?"],
        ["text", "note", "About ${number}"],
        ["end loop"],
    ]
    choices = [["list_name", "name", "label"], ["kinds", "pit", "Pit latrines"], ["kinds", "flush", "Flush toilets"]]
    imported = read_xlsform(xlsx(survey, choices))
    (loop,) = imported.definition.sections
    assert loop.key == "loop" and [g.key for g in loop.items] == ["loop_pit", "loop_flush"]
    pit = loop.items[0]
    assert pit.label == {"en": "Pit latrines"}
    assert [q.key for q in pit.items] == ["number_pit", "note_pit"]
    assert pit.items[0].label == {"en": "How many Pit latrines (pit)?"}
    assert pit.items[1].label == {"en": "About ${number_pit}"}
    assert any("group per choice" in w.message for w in imported.warnings)
    assert import_xlsform(export_xlsform(imported.definition)) == imported.definition


def test_acknowledge_trigger_and_barcode() -> None:
    survey = [
        ["type", "name", "label"],
        ["acknowledge", "ok", "I agree"],
        ["trigger", "tr", "Push"],
        ["barcode", "code", "Scan it"],
        ["text", "echo", "You agreed: ${ok}"],
    ]
    imported = read_xlsform(xlsx(survey))
    ok, tr, code, _echo = imported.definition.sections[0].items
    assert isinstance(ok, Acknowledge) and isinstance(tr, Acknowledge)
    assert isinstance(code, Text) and code.barcode
    assert any(w.row == 4 and "barcode" in w.message for w in imported.warnings)
    assert any(w.row == 3 and "'trigger' is an older spelling" in w.message for w in imported.warnings)
    exported = export_xlsform(imported.definition)
    assert [row[0] for row in sheet_rows(exported, "survey")[2:-1]] == ["acknowledge", "acknowledge", "barcode", "text"]
    assert import_xlsform(exported) == imported.definition
    defn = imported.definition
    assert check_answers(defn, {"ok": True, "code": "4006381333931"}) == []
    assert check_answers(defn, {"ok": False})[0][1].startswith("answer.wrong_type")
    assert score(defn, {"ok": True}).items[0].status == "unscored"


def test_single_choice_stays_single_choice_inside_a_repeat() -> None:
    survey = [["type", "name", "label"], ["begin_repeat", "r", "R"], ["select_one c", "pick", "Pick"], ["end_repeat"]]
    choices = [["list_name", "name", "label"], ["c", "a", "A"], ["c", "b", "B"]]
    defn = import_xlsform(xlsx(survey, choices))
    assert isinstance(defn.sections[0].items[0], SingleChoice)
    assert check_answers(defn, {"r": [{"pick": "a"}, {"pick": "z"}]})[0][0] == "r[1].pick"


def test_a_video_question_is_a_file_question_taking_video_only() -> None:
    from api_schemas.forms import File
    from backend.attachments.service import _fits

    survey = [["type", "name", "label"], ["video", "clip", "Film the queue"], ["audio", "rec", "Record"]]
    defn = import_xlsform(xlsx(survey))
    clip, rec = defn.sections[0].items
    assert isinstance(clip, File) and clip.accept == "video" and rec.accept == "audio"
    assert [row[0] for row in sheet_rows(export_xlsform(defn), "survey")[2:-1]] == ["video", "audio"]
    assert import_xlsform(export_xlsform(defn)) == defn
    assert _fits(clip, "video") and not _fits(clip, "image")
    assert not _fits(File(key="any"), "video")  # a plain file question still takes no video


def test_a_note_without_a_name_is_named_after_its_row() -> None:
    survey = [
        ["type", "name", "label"],
        ["note", None, "Welcome"],
        ["text", "note_row2", "Taken"],
        ["note", None, "Bye"],
    ]
    imported = read_xlsform(xlsx(survey))
    assert [q.key for q in imported.definition.sections[0].items] == ["note_row3", "note_row2", "note_row4"]
    assert any(w.column == "name" and "named 'note_row3'" in w.message for w in imported.warnings)
    assert import_xlsform(export_xlsform(imported.definition)) == imported.definition
    assert problems_of(xlsx([["type", "name", "label"], ["text", None, "Q"]])) == [("survey", 2, "name: missing")]


def test_today_and_date_comparisons_in_expressions() -> None:
    from backend.forms.xlsform import parse_xpath, write_xpath

    kinds = {"d": "timestamp"}
    expr = parse_xpath(". >= today()", kinds)
    assert expr == Expr(op=Op.ge, args=[Expr(op=Op.self_), Expr(op=Op.today)])
    assert write_xpath(expr, kinds) == ". >= today()"
    survey = [["type", "name", "label", "constraint"], ["date", "d", "When?", ". >= today()"]]
    defn = import_xlsform(xlsx(survey))
    assert check_definition(defn) == []
    assert import_xlsform(export_xlsform(defn)) == defn
    assert check_answers(defn, {"d": "2999-01-01T10:00:00+00:00"}) == []
    assert check_answers(defn, {"d": "2000-01-01T10:00:00+00:00"})[0][1].startswith("answer.constraint")


def test_a_pulldata_calculation_is_kept_for_export_and_not_computed() -> None:
    survey = [
        ["type", "name", "label", "calculation"],
        ["calculate", "fruit", None, "pulldata('fruits', 'name', 'name', 'mango')"],
        ["note", "n", "The fruit: ${fruit}", None],
        ["text", "t", "Why?", None],
    ]
    imported = read_xlsform(xlsx(survey))
    (kept,) = imported.definition.xlsform_rows
    assert (kept.type, kept.name, kept.cells) == (
        "calculate",
        "fruit",
        {"calculation": "pulldata('fruits', 'name', 'name', 'mango')"},
    )
    assert any(w.column == "calculation" and "pulldata()" in w.message for w in imported.warnings)
    assert [q.key for q in imported.definition.sections[0].items] == ["n", "t"]
    assert import_xlsform(export_xlsform(imported.definition)) == imported.definition
    refers = [["type", "name", "label", "relevant", "calculation"], ["calculate", "fruit", None, None, "pulldata('f')"]]
    refers.append(["text", "t", "Why?", "${fruit} = 'mango'", None])
    assert problems_of(xlsx(refers))[0][:2] == ("survey", 3)


def test_select_one_external_reads_the_external_choices_sheet_and_exports_to_it() -> None:
    survey = [
        ["type", "name", "label"],
        ["select_one c", "zone", "Zone"],
        ["select_one_external shops", "shop", "Shop"],
    ]
    choices = [["list_name", "name", "label"], ["c", "n", "North"], ["c", "s", "South"]]
    external = [["list_name", "name", "label", "zone"], ["shops", "a1", "Alpha", "n"], ["shops", "b2", "Beta", "s"]]
    imported = read_xlsform(xlsx(survey, choices, external_choices=external))
    zone, shop = imported.definition.sections[0].items
    assert isinstance(shop, SingleChoice) and shop.external and not zone.external
    assert [(c.value, c.label, c.xlsform) for c in shop.choices] == [
        ("a1", {"en": "Alpha"}, {"zone": "n"}),
        ("b2", {"en": "Beta"}, {"zone": "s"}),
    ]
    assert any("external_choices sheet" in w.message for w in imported.warnings)
    exported = export_xlsform(imported.definition)
    assert sheet_rows(exported, "external_choices")[1][:3] == ("shop_choices", "a1", "Alpha")
    assert sheet_rows(exported, "survey")[3][0] == "select_one_external shop_choices"
    assert import_xlsform(exported) == imported.definition
    missing = problems_of(xlsx(survey, choices))
    assert missing == [
        ("survey", 3, "type: select_one_external refers to unknown list 'shops' (not on the external_choices sheet)")
    ]
    osm = problems_of(xlsx([["type", "name", "label"], ["osm c", "map", "Map"]], choices))
    assert "OpenStreetMap questions are not supported" in osm[0][2]


CASCADE_SURVEY = [
    ["type", "name", "label", "choice_filter"],
    ["select_one states", "state", "State", None],
    ["select_one counties", "county", "County", "${state}=cf"],
]
CASCADE_CHOICES = [
    ["list_name", "name", "label", "cf"],
    ["states", "texas", "Texas", None],
    ["states", "washington", "Washington", None],
    ["counties", "king", "King", "washington"],
    ["counties", "pierce", "Pierce", "washington"],
    ["counties", "king", "King", "texas"],
    ["counties", "cameron", "Cameron", "texas"],
]


def test_a_choice_filter_cascade_is_read_checked_and_exported_back() -> None:
    defn = import_xlsform(xlsx(CASCADE_SURVEY, CASCADE_CHOICES))
    _state, county = defn.sections[0].items
    assert county.choice_filter == Expr(op=Op.eq, args=[var("state"), Expr(op=Op.choice, key="cf")])
    assert [c.value for c in county.choices] == ["king", "pierce", "king", "cameron"]  # the same name, two filters
    assert check_definition(defn) == []
    assert check_answers(defn, {"state": "texas", "county": "cameron"}) == []
    assert check_answers(defn, {"state": "texas", "county": "king"}) == []
    assert check_answers(defn, {"state": "texas", "county": "pierce"}) == [
        ("county", "answer.not_offered: 'pierce' is not offered by the choice filter for the answers given")
    ]
    exported = export_xlsform(defn)
    assert sheet_rows(exported, "survey")[3][:2] == ("select_one county_choices", "county")
    assert "${state} = cf" in sheet_rows(exported, "survey")[3]
    assert import_xlsform(exported) == defn


def test_a_list_with_a_repeated_name_needs_a_choice_filter() -> None:
    survey = [row[:3] for row in CASCADE_SURVEY]
    assert problems_of(xlsx(survey, CASCADE_CHOICES)) == [
        (
            "survey",
            3,
            "type: list 'counties' has 'king' twice (choices rows 4 and 6); "
            "only a question with a choice_filter may use such a list",
        )
    ]
    misplaced = FormDefinition(
        title={"en": "F"},
        sections=[
            Section(key="s", items=[Text(key="t", show_if=Expr(op=Op.eq, args=[Expr(op=Op.choice, key="cf"), "x"]))])
        ],
    )
    assert [p.reason for p in check_definition(misplaced)] == ["a choice column is only meaningful in a choice_filter"]


def test_defaults_become_the_answers_a_report_starts_with() -> None:
    survey = [
        ["type", "name", "label", "default"],
        ["decimal", "price", "Price", 18.31],
        ["integer", "n", "How many", "3"],
        ["select_multiple c", "m", "Pick", "a c"],
        ["select_one c", "one", "One", "b"],
        ["select_one yn", "ok", "OK?", "yes"],
        ["text", "t", "Text", "hello"],
        ["date", "d", "When", "2010-06-15"],
        ["select_one c", "bad", "Bad", "zzz"],
    ]
    choices = [["list_name", "name", "label"], ["c", "a", "A"], ["c", "b", "B"], ["c", "c", "C"], *YES_NO[1:]]
    imported = read_xlsform(xlsx(survey, choices))
    by_key = {q.key: q for q in imported.definition.sections[0].items}
    assert [by_key[k].default for k in ("price", "n", "m", "one", "ok", "t")] == [
        18.31,
        3,
        ["a", "c"],
        "b",
        True,
        "hello",
    ]
    # Not an answer it could start with: kept as written, with a warning, not applied.
    assert by_key["d"].default is None and by_key["d"].xlsform == {"default": "2010-06-15"}
    assert by_key["bad"].default is None and by_key["bad"].xlsform == {"default": "zzz"}
    assert check_definition(imported.definition) == []
    assert import_xlsform(export_xlsform(imported.definition)) == imported.definition
    wrong = FormDefinition(title={"en": "F"}, sections=[Section(key="s", items=[Integer(key="n", max=2, default=5)])])
    assert [p.path for p in check_definition(wrong)] == ["sections[0].items[0].default"]


def test_headers_types_and_settings_are_read_whatever_their_case() -> None:
    survey = [
        ["TYPE", "NAME", "LABEL::EN", "CHOICE_FILTER", "Relevant"],
        ["SELECT_ONE c1", "q1", "Are you good?", None, None],
        ["Select_One_External c1", "q2", "Where are you?", "YES_NO=${q1}", None],
        ["BEGIN_REPEAT", "r", "R", None, None],
        ["Integer", "n", "N", None, "${q1} = 'n1'"],
        ["END_REPEAT", None, None, None, None],
    ]
    choices = [["LIST_NAME", "NAME", "LABEL::EN"], ["c1", "n1", "l1"], ["c1", "n2", "l2"]]
    external = [["LIST_NAME", "NAME", "LABEL", "YES_NO"], ["c1", "n1-e", "l1-e", "n1"], ["c1", "n2-e", "l2-e", "n2"]]
    settings = [["FORM_TITLE", "DEFAULT_LANGUAGE"], ["Case", "EN"]]
    defn = import_xlsform(xlsx(survey, choices, settings, external_choices=external))
    q1, q2 = defn.sections[0].items
    assert defn.default_language == "EN" and q1.label == {"EN": "Are you good?"}
    assert q2.external and q2.choice_filter == Expr(op=Op.eq, args=[Expr(op=Op.choice, key="yes_no"), var("q1")])
    assert defn.sections[1].repeat and defn.sections[1].items[0].show_if is not None
    assert check_answers(defn, {"q1": "n1", "q2": "n1-e", "r": [{"n": 1}]}) == []
    assert check_answers(defn, {"q1": "n1", "q2": "n2-e"})[0][0] == "q2"
    assert import_xlsform(export_xlsform(defn)) == defn


def test_the_same_name_in_two_groups_is_keyed_by_its_group_and_exported_as_written() -> None:
    survey = [
        ["type", "name", "label", "relevant"],
        ["begin_group", "front", "Front desk", None],
        ["integer", "wait", "Wait at the front", None],
        ["end_group", None, None, None],
        ["begin_group", "back", "Back office", None],
        ["integer", "wait", "Wait at the back", None],
        ["text", "why", "Why so long?", "${back.wait} > 10"],
        ["end_group", None, None, None],
    ]
    imported = read_xlsform(xlsx(survey))
    front, back = imported.definition.sections
    assert front.items[0].key == "wait" and back.items[0].key == "back.wait"
    assert back.items[0].xlsform == {"name": "wait"}
    assert any(w.row == 6 and w.column == "name" and "keyed 'back.wait'" in w.message for w in imported.warnings)
    assert check_definition(imported.definition) == []
    exported = export_xlsform(imported.definition)
    assert [row[1] for row in sheet_rows(exported, "survey")[1:]] == [
        "front",
        "wait",
        "front",
        "back",
        "wait",
        "why",
        "back",
    ]
    assert import_xlsform(exported) == imported.definition
    assert check_answers(imported.definition, {"wait": 3, "back.wait": 12, "why": "busy"}) == []
    # ${wait} could mean either question: refused, naming why.
    ambiguous = [row[:] for row in survey]
    ambiguous[6] = ["text", "why", "Why so long?", "${wait} > 10"]
    assert problems_of(xlsx(ambiguous)) == [
        ("survey", 7, "relevant: ${wait} is ambiguous: several groups have a question named 'wait'")
    ]
    # In the same group a name is still used once.
    same = [["type", "name", "label"], ["begin_group", "g", "G"], ["text", "a", "A"], ["text", "a", "B"], ["end_group"]]
    assert problems_of(xlsx(same)) == [("survey", 4, "name: 'a' is already used in row 3")]

"""Forms API: drafts, validation, publishing, immutable versions, score preview, XLSForm import/export."""

from __future__ import annotations

import io
import json
import pathlib
from typing import Any

import msgspec
import openpyxl
import pytest

from api_schemas.forms import FormDefinition
from mobile_forms.templates import TEMPLATE_NAMES, load_template
from tests.api.forms_fixture import SMALL_CALL_FORM, answers
from tests.world import World, build_world
from tests.xlsform_sheets import xlsx

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def assert_exports_and_imports_back(w: World, form_id: str, name: str, definition: Any) -> None:
    """Version 1 of the form, exported as an XLSForm and imported as a new form (`name`), has `definition`."""
    exported = await w.call("coordinator", "GET", f"/forms/{form_id}/versions/1/xlsform")
    again = await w.ok(
        "coordinator",
        "POST",
        "/forms/import",
        data={"name": name, "channel": "visit"},
        files={"file": ("again.xlsx", exported.content, XLSX)},
    )
    second = await w.ok("coordinator", "GET", f"/forms/{again['id']}/versions/1")
    assert msgspec.convert(second["definition"], FormDefinition) == msgspec.convert(definition, FormDefinition)


CORPUS = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "xlsforms" / "pyxform-examples"


async def test_draft_validate_publish_and_new_versions(client):
    w = await build_world(client)
    broken = {
        **SMALL_CALL_FORM,
        "sections": [
            {
                "key": "s",
                "items": [
                    {"type": "yes_no", "key": "a", "show_if": {"op": "eq", "args": [{"op": "var", "key": "b"}, True]}},
                    {"type": "yes_no", "key": "b"},
                    {"type": "text", "key": "a", "critical": True},
                ],
            }
        ],
    }
    form = await w.ok("coordinator", "POST", "/forms", json={"name": "Draft", "channel": "call", "definition": broken})
    problems = await w.ok("coordinator", "POST", f"/forms/{form['id']}/versions/1/validate", status=200)
    paths = {p["path"] for p in problems}
    assert "sections[0].items[0].show_if" in paths and any(p.startswith("sections[0].items[2]") for p in paths)
    refused = await w.call("coordinator", "POST", f"/forms/{form['id']}/publish")
    assert refused.status_code == 422 and refused.json()["code"] == "form.invalid_definition"
    assert all(e["field"].startswith("definition.") for e in refused.json()["errors"])

    await w.ok("coordinator", "PUT", f"/forms/{form['id']}/draft", json={"definition": SMALL_CALL_FORM})
    v1 = await w.ok("coordinator", "POST", f"/forms/{form['id']}/publish", status=200)
    assert v1["number"] == 1 and v1["status"] == "published"
    again = await w.call("coordinator", "POST", f"/forms/{form['id']}/publish")
    assert again.status_code == 409 and again.json()["code"] == "form.nothing_to_publish"
    # Editing a published form starts version 2; version 1 stays as it was.
    changed = {**SMALL_CALL_FORM, "title": {"en": "Quick test call v2"}}
    draft = await w.ok("coordinator", "PUT", f"/forms/{form['id']}/draft", json={"definition": changed})
    assert draft["number"] == 2 and draft["status"] == "draft"
    kept = await w.ok("coordinator", "GET", f"/forms/{form['id']}/versions/1")
    assert kept["definition"]["title"] == SMALL_CALL_FORM["title"]
    assert [v["number"] for v in (await w.ok("manager", "GET", f"/forms/{form['id']}/versions"))["items"]] == [1, 2]

    preview = await w.ok(
        "coordinator",
        "POST",
        f"/forms/{form['id']}/versions/1/score-preview",
        status=200,
        json={"answers": answers(answer_s=30)},
    )
    assert sum(i["contribution"] for i in preview["items"]) == pytest.approx(preview["calculated"])
    bad = await w.call(
        "coordinator", "POST", f"/forms/{form['id']}/versions/1/score-preview", json={"answers": {"greeted": "yes"}}
    )
    assert bad.status_code == 422 and any(e["field"] == "answers.greeted" for e in bad.json()["errors"])


@pytest.mark.parametrize("template", TEMPLATE_NAMES)
async def test_templates_round_trip_through_xlsform_over_http(client, template):
    w = await build_world(client)
    channel = {"store_visit": "visit", "test_call": "call", "test_email": "email", "live_chat": "chat"}[template]
    original = await w.ok(
        "coordinator",
        "POST",
        "/forms",
        json={"name": template, "channel": channel, "definition": load_template(template)},
    )
    exported = await w.call("coordinator", "GET", f"/forms/{original['id']}/versions/1/xlsform")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith(XLSX)
    assert "attachment" in exported.headers["content-disposition"]
    imported = await w.ok(
        "coordinator",
        "POST",
        "/forms/import",
        data={"name": f"{template} copy", "channel": channel},
        files={"file": (f"{template}.xlsx", exported.content, XLSX)},
    )
    first = await w.ok("coordinator", "GET", f"/forms/{original['id']}/versions/1")
    second = await w.ok("coordinator", "GET", f"/forms/{imported['id']}/versions/1")
    # Equal as definitions (one side may spell out a default the other leaves implicit).
    assert msgspec.convert(second["definition"], FormDefinition) == msgspec.convert(first["definition"], FormDefinition)


async def test_a_form_named_in_another_script_exports_with_its_name(client):
    w = await build_world(client)
    form = await w.ok(
        "coordinator",
        "POST",
        "/forms",
        json={"name": "Zkouška hovoru – Brno", "channel": "call", "definition": load_template("test_call")},
    )
    exported = await w.call("coordinator", "GET", f"/forms/{form['id']}/versions/1/xlsform")
    assert exported.status_code == 200, exported.text
    disposition = exported.headers["content-disposition"]
    assert 'filename="Zkou_ka_hovoru___Brno-v1.xlsx"' in disposition
    assert "filename*=UTF-8''Zkou%C5%A1ka_hovoru___Brno-v1.xlsx" in disposition


async def test_malformed_spreadsheets_name_the_row_and_create_nothing(client):
    w = await build_world(client)
    book = openpyxl.Workbook()
    survey = book.active
    survey.title = "survey"
    survey.append(["type", "name", "label"])
    survey.append(["begin_group", "g", "Group"])
    survey.append(["select_one nolist", "q1", "Q1"])
    survey.append(["geotrace", "q2", "Q2"])
    survey.append(["integer", "q1", "again"])
    survey.append(["text", "q3", "Q3"])
    buffer = io.BytesIO()
    book.save(buffer)
    response = await w.call(
        "coordinator",
        "POST",
        "/forms/import",
        data={"name": "Bad", "channel": "visit"},
        files={"file": ("bad.xlsx", buffer.getvalue(), XLSX)},
    )
    assert response.status_code == 422 and response.json()["code"] == "form.invalid_xlsform"
    fields = {e["field"] for e in response.json()["errors"]}
    assert {"survey!row 3", "survey!row 4", "survey!row 5"} <= fields
    not_xlsx = await w.call(
        "coordinator",
        "POST",
        "/forms/import",
        data={"name": "Text", "channel": "visit"},
        files={"file": ("notes.xlsx", b"just some text", XLSX)},
    )
    assert not_xlsx.status_code == 422
    assert (await w.ok("coordinator", "GET", "/forms"))["total"] == 0
    shopper = await w.call(
        "shopper",
        "POST",
        "/forms/import",
        data={"name": "x", "channel": "visit"},
        files={"file": ("x.xlsx", buffer.getvalue(), XLSX)},
    )
    assert shopper.status_code == 403


async def test_importing_a_legacy_xls_form_lists_what_it_keeps_as_warnings(client):
    """An ODK form as coordinators have it (.xls, `label:English`, metadata rows, media columns)."""
    w = await build_world(client)
    content = (CORPUS / "pyx__sms_info.xls").read_bytes()
    imported = await w.ok(
        "coordinator",
        "POST",
        "/forms/import",
        data={"name": "SMS", "channel": "visit"},
        files={"file": ("sms_info.xls", content, "application/vnd.ms-excel")},
    )
    start = next(x for x in imported["warnings"] if x["message"].startswith("'start' is form metadata"))
    assert (start["sheet"], start["row"], start["column"]) == ("survey", 17, "type")
    assert {
        "sheet": "survey",
        "row": 2,
        "column": "sms_field",
        "message": "kept for export; it has no effect in Fieldscore (rows 2–15, 9 in all)",
    } in imported["warnings"]
    version = await w.ok("coordinator", "GET", f"/forms/{imported['id']}/versions/1")
    assert [r["type"] for r in version["definition"]["xlsform_rows"]] == [
        "phonenumber",
        "start",
        "end",
        "today",
        "imei",
    ]
    await assert_exports_and_imports_back(w, imported["id"], "SMS again", version["definition"])


def _not_chain(depth: int) -> dict:
    expr: dict = {"op": "answered", "key": "greeted"}
    for _ in range(depth):
        expr = {"op": "not", "args": [expr]}
    return expr


@pytest.mark.parametrize("show_if", [{"op": "eq", "args": [1]}, _not_chain(50)], ids=["eq_one_arg", "not_50_deep"])
async def test_score_preview_of_a_malformed_draft_lists_the_definitions_problems(client, show_if):
    """Preview answers 422 with the same problems validate lists, never a 500."""
    w = await build_world(client)
    sections = [{**SMALL_CALL_FORM["sections"][0]}, {**SMALL_CALL_FORM["sections"][1]}]
    sections[1]["items"] = [
        *sections[1]["items"][:1],
        {**sections[1]["items"][1], "show_if": show_if},
        *sections[1]["items"][2:],
    ]
    form = await w.ok(
        "coordinator",
        "POST",
        "/forms",
        json={"name": "Broken", "channel": "call", "definition": {**SMALL_CALL_FORM, "sections": sections}},
    )
    listed = await w.ok("coordinator", "POST", f"/forms/{form['id']}/versions/1/validate", status=200)
    assert listed, "validate finds the malformed condition"
    preview = await w.call(
        "coordinator", "POST", f"/forms/{form['id']}/versions/1/score-preview", json={"answers": answers()}
    )
    assert preview.status_code == 422, preview.text
    assert preview.headers["content-type"].startswith("application/problem+json")
    body = preview.json()
    assert body["code"] == "form.invalid_definition"
    assert [(e["field"], e["reason"]) for e in body["errors"]] == [
        (f"definition.{p['path']}", p["reason"]) for p in listed
    ]


async def test_a_repeat_form_imports_checks_each_instance_scores_and_exports_back(client):
    """pyxform's tutorial: a household roster as a repeat, answered once per member."""
    w = await build_world(client)
    imported = await w.ok(
        "coordinator",
        "POST",
        "/forms/import",
        data={"name": "Roster", "channel": "visit"},
        files={"file": ("tutorial.xls", (CORPUS / "pyx__tutorial.xls").read_bytes(), "application/vnd.ms-excel")},
    )
    version = await w.ok("coordinator", "GET", f"/forms/{imported['id']}/versions/1")
    (repeat,) = version["definition"]["sections"]
    assert repeat["repeat"] is True and repeat["items"][0]["key"] == "name"
    member = {"name": "Ana", "relationship_to_household_head": "wife_or_husband", "sex": "female", "resident": True}
    preview = await w.ok(
        "coordinator",
        "POST",
        f"/forms/{imported['id']}/versions/1/score-preview",
        json={"answers": {"member": [member, {**member, "name": "Bo", "resident": False}]}},
    )
    assert {i["key"]: i["status"] for i in preview["items"]}["resident"] == "unscored"  # the sheet gives no points
    bad = await w.call(
        "coordinator",
        "POST",
        f"/forms/{imported['id']}/versions/1/score-preview",
        json={"answers": {"member": [member, {**member, "sex": "other"}]}},
    )
    assert bad.status_code == 422
    assert any(e["field"] == "answers.member[1].sex" for e in bad.json()["errors"])
    await assert_exports_and_imports_back(w, imported["id"], "Roster again", version["definition"])


async def test_a_scored_item_in_a_repeat_counts_as_its_mean_over_instances_over_http(client):
    w = await build_world(client)
    definition = {
        "title": {"en": "Counters"},
        "sections": [
            {
                "key": "s",
                "items": [
                    {"type": "yes_no", "key": "clean"},
                    {
                        "type": "section",
                        "key": "desks",
                        "repeat": True,
                        "items": [{"type": "yes_no", "key": "greeted"}],
                    },
                ],
            }
        ],
    }
    form = await w.ok("coordinator", "POST", "/forms", json={"name": "C", "channel": "visit", "definition": definition})
    answers = {"clean": True, "desks": [{"greeted": True}, {"greeted": False}, {"greeted": True}, {"greeted": True}]}
    preview = await w.ok(
        "coordinator", "POST", f"/forms/{form['id']}/versions/1/score-preview", json={"answers": answers}
    )
    greeted = next(i for i in preview["items"] if i["key"] == "greeted")
    assert greeted["earned"] == pytest.approx(0.75) and greeted["status"] == "scored"
    assert preview["calculated"] == pytest.approx(100 * (1 + 0.75) / 2)
    wrong = await w.call(
        "coordinator",
        "POST",
        f"/forms/{form['id']}/versions/1/score-preview",
        json={"answers": {"desks": {"greeted": True}}},
    )
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "answers.desks"


async def test_a_form_with_every_widget_imports_keeps_yes_no_labels_and_exports_back(client):
    """pyxform's flat_xlsform_test: acknowledge, barcode, video, metadata in labels, a yes/no list in two languages."""
    w = await build_world(client)
    content = (CORPUS / "pyx__flat_xlsform_test.xlsx").read_bytes()
    imported = await w.ok(
        "coordinator",
        "POST",
        "/forms/import",
        data={"name": "Flat", "channel": "visit"},
        files={"file": ("flat.xlsx", content, XLSX)},
    )
    messages = [x["message"] for x in imported["warnings"]]
    assert any("barcode" in m for m in messages) and any("${start} is form metadata" in m for m in messages)
    version = await w.ok("coordinator", "GET", f"/forms/{imported['id']}/versions/1")
    questions = {}

    def walk(items):
        for item in items:
            if item["type"] == "section":
                walk(item["items"])
            else:
                questions[item["key"]] = item

    walk(version["definition"]["sections"])
    assert questions["acknowledge_test"]["type"] == "acknowledge"
    assert questions["video_test"]["accept"] == "video"
    assert questions["barcode_test"]["barcode"] is True
    assert questions["skip_to_end"]["yes_label"] == {"en": "Yes", "chinese": "是"}
    await assert_exports_and_imports_back(w, imported["id"], "Flat again", version["definition"])


async def test_a_cascading_select_offers_only_what_its_choice_filter_lets_through(client):
    w = await build_world(client)
    imported = await w.ok(
        "coordinator",
        "POST",
        "/forms/import",
        data={"name": "Cascade", "channel": "visit"},
        files={"file": ("cascade.xlsx", (CORPUS / "pyx__choice_filter_test.xlsx").read_bytes(), XLSX)},
    )
    url = f"/forms/{imported['id']}/versions/1/score-preview"
    ok = {"state": "texas", "county": "king", "city": "dumont"}
    await w.ok("coordinator", "POST", url, json={"answers": ok})
    wrong = await w.call("coordinator", "POST", url, json={"answers": {**ok, "county": "pierce", "city": "tacoma"}})
    assert wrong.status_code == 422
    assert [e["field"] for e in wrong.json()["errors"]] == ["answers.county"]
    assert "answer.not_offered" in wrong.json()["errors"][0]["reason"]


@pytest.mark.parametrize(
    ("fixture", "check"),
    [
        ("pyx__loop.xlsx", "loop"),
        ("pyx__widgets.xls", "today"),
        ("pyx__pull_data.xlsx", "pulldata"),
        ("pyx__choice_name_as_type.xls", "external"),
    ],
)
async def test_pyxform_examples_with_loops_dates_pulldata_and_external_choices_import_and_export_back(
    client, fixture, check
):
    w = await build_world(client)
    imported = await w.ok(
        "coordinator",
        "POST",
        "/forms/import",
        data={"name": fixture, "channel": "visit"},
        files={"file": (fixture, (CORPUS / fixture).read_bytes(), "application/octet-stream")},
    )
    version = await w.ok("coordinator", "GET", f"/forms/{imported['id']}/versions/1")
    definition = version["definition"]
    text = json.dumps(definition)
    messages = " ".join(x["message"] for x in imported["warnings"])
    if check == "loop":
        assert "number_pit_latrine_with_slab" in text and "group per choice" in messages
    elif check == "today":
        assert '"op": "today"' in text
        assert '"default": 18.31' in text and '"default": ["a", "c"]' in text
    elif check == "pulldata":
        assert definition["xlsform_rows"][0]["name"] == "fruit" and "pulldata()" in messages
    else:
        assert '"external": true' in text and '"op": "choice"' in text
    await assert_exports_and_imports_back(w, imported["id"], f"{fixture} again", definition)


async def test_an_xlsform_hidden_row_imports_as_a_hidden_calculation_and_exports_back_as_hidden(client):
    """pyxform's hidden.xls (its only row is `hidden`), and a hidden value with a default used in a condition."""
    w = await build_world(client)
    imported = await w.ok(
        "coordinator",
        "POST",
        "/forms/import",
        data={"name": "Hidden", "channel": "visit"},
        files={"file": ("hidden.xls", (CORPUS / "pyx__hidden.xls").read_bytes(), "application/vnd.ms-excel")},
    )
    assert imported["warnings"] == []
    version = await w.ok("coordinator", "GET", f"/forms/{imported['id']}/versions/1")
    (section,) = version["definition"]["sections"]
    assert section["items"] == [
        {"type": "calculate", "key": "hidden_test", "hidden": True, "calculation": {"op": "lit", "args": [None]}}
    ]
    assert version["definition"].get("xlsform_rows", []) == []  # a question now, not a kept metadata row
    exported = await w.call("coordinator", "GET", f"/forms/{imported['id']}/versions/1/xlsform")
    survey = openpyxl.load_workbook(io.BytesIO(exported.content), read_only=True)["survey"]
    assert ("hidden", "hidden_test") in [row[:2] for row in survey.iter_rows(values_only=True)]

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "survey"
    for row in (
        ["type", "name", "label", "default", "relevant"],
        ["hidden", "wave", None, "spring", None],
        ["text", "note_it", "Spring only", None, "${wave} = 'spring'"],
    ):
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    form = await w.ok(
        "coordinator",
        "POST",
        "/forms/import",
        data={"name": "Wave", "channel": "visit"},
        files={"file": ("wave.xlsx", buffer.getvalue(), XLSX)},
    )
    assert form["warnings"] == []
    preview = await w.ok(
        "coordinator", "POST", f"/forms/{form['id']}/versions/1/score-preview", json={"answers": {"note_it": "ok"}}
    )
    assert {i["key"]: i["status"] for i in preview["items"]}["note_it"] == "unscored"  # shown: wave is 'spring'
    refused = await w.call(
        "coordinator",
        "POST",
        f"/forms/{form['id']}/versions/1/score-preview",
        json={"answers": {"wave": "autumn"}},
    )
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["answers.wave"]
    first = await w.ok("coordinator", "GET", f"/forms/{form['id']}/versions/1")
    await assert_exports_and_imports_back(w, form["id"], "Wave again", first["definition"])
    assert first["definition"]["sections"][0]["items"][0]["calculation"] == {"op": "lit", "args": ["spring"]}


async def test_older_spellings_calculations_other_and_names_import_over_http_and_messages_name_the_real_reason(client):
    """Item by item of issue 19 through POST /forms/import: `select one from … or specify other`, `label:English`,
    `bind:*` columns, settings `title`/`id_string`, typographic quotes, a calculation used in a show-if and a label,
    a name with dots and hyphens, the same name in two groups; then a sheet whose rows fail for their real reasons."""
    w = await build_world(client)
    survey = [
        ["type", "name", "label:English", "bind:relevant", "calculation", "appearance"],
        ["start", "start", None, None, None, None],
        ["select one from colours or specify other", "colour", "Colour for ${shop.id-2}?", None, None, None],
        ["integer", "shop.id-2", "Shop number", None, None, "numbers"],
        ["calculate", "double", None, None, "${shop.id-2} * 2", None],
        ["text", "why", "Why ${double}?", "${double} > 10 and ${colour} = ‘red’", None, None],
        ["begin_group", "a", "A", None, None, None],
        ["text", "note_it", "In A", None, None, None],
        ["end_group", None, None, None, None, None],
        ["begin_group", "b", "B", None, None, None],
        ["text", "note_it", "In B", None, None, None],
        ["end_group", None, None, None, None, None],
    ]
    choices = [["list name", "name", "label:English"], ["colours", "red", "Red"], ["colours", "blue", "Blue"]]
    settings = [["title", "id_string"], ["Shop colours", "shop_colours"]]
    imported = await w.ok(
        "coordinator",
        "POST",
        "/forms/import",
        data={"name": "Colours", "channel": "visit"},
        files={"file": ("colours.xlsx", xlsx(survey, choices, settings), XLSX)},
    )
    warned = {(x["sheet"], x["row"], x["column"]) for x in imported["warnings"]}
    assert {("survey", 2, "type"), ("survey", 3, "type"), ("survey", 4, "appearance"), ("survey", 11, "name")} <= warned
    version = await w.ok("coordinator", "GET", f"/forms/{imported['id']}/versions/1")
    definition = version["definition"]
    assert definition["title"] == {"en": "Shop colours"}  # `title` for form_title, in the default language
    assert definition["xlsform_settings"]["form_id"] == "shop_colours"
    items = {i["key"]: i for s in definition["sections"] for i in s["items"] if i["type"] != "section"}
    items |= {
        i["key"]: i for s in definition["sections"] for g in s["items"] if g["type"] == "section" for i in g["items"]
    }
    assert [c["value"] for c in items["colour"]["choices"]] == ["red", "blue", "other"]
    assert items["colour_other"]["type"] == "text" and items["double"]["type"] == "calculate"
    assert {"a.note_it", "note_it"} - set(items) == {"a.note_it"} and "b.note_it" in items
    url = f"/forms/{imported['id']}/versions/1/score-preview"
    shown = {"shop.id-2": 6, "colour": "red", "why": "bright"}  # double = 12 > 10: why is shown
    await w.ok("coordinator", "POST", url, json={"answers": shown})
    hidden = await w.call("coordinator", "POST", url, json={"answers": {**shown, "shop.id-2": 5}})
    assert hidden.status_code == 422 and [e["field"] for e in hidden.json()["errors"]] == ["answers.why"]
    computed = await w.call("coordinator", "POST", url, json={"answers": {**shown, "double": 12}})
    assert computed.status_code == 422 and "answer.not_answerable" in computed.json()["errors"][0]["reason"]
    await assert_exports_and_imports_back(w, imported["id"], "Colours again", definition)

    bad = [
        ["type", "name", "label", "choice_filter"],
        ["select_one states", "state", "State", None],
        ["select_one counties", "county", "County", "state = ${state}"],  # a cascade: no problem
        ["text", "ask", "Ask ${nobody}", None],
        ["rank states", "order", "Order", None],
    ]
    states = [
        ["list_name", "name", "label", "state"],
        ["states", "tx", "Texas", None],
        ["counties", "king", "King ${gone}", "tx"],
    ]
    refused = await w.call(
        "coordinator",
        "POST",
        "/forms/import",
        data={"name": "Bad", "channel": "visit"},
        files={"file": ("bad.xlsx", xlsx(bad, states), XLSX)},
    )
    assert refused.status_code == 422 and refused.json()["code"] == "form.invalid_xlsform"
    reasons = {e["field"]: e["reason"] for e in refused.json()["errors"]}
    assert reasons == {
        "choices!row 3": "label: ${gone} cannot be filled in: no question is named 'gone'",
        "survey!row 4": "label: ${nobody} cannot be filled in: no question is named 'nobody'",
        "survey!row 5": "type: 'rank states' — rank questions (putting the choices in order) are not supported",
    }


async def test_an_imported_draft_that_cannot_be_published_says_so_at_the_row(client):
    """What publishing refuses by JSON path is a warning of the import at its row and column; the form is kept."""
    w = await build_world(client)
    survey = [
        ["type", "name", "label", "relevant"],
        ["note", "email_note", "You entered an email address", "${address} != ''"],
        ["text", "address", "Address", None],
        ["begin_repeat", "shelf", "Shelves", None],
        ["image", "shot", "Photo of the shelf", None],
        ["end_repeat", None, None, None],
    ]
    imported = await w.ok(
        "coordinator",
        "POST",
        "/forms/import",
        data={"name": "Later", "channel": "visit"},
        files={"file": ("later.xlsx", xlsx(survey), XLSX)},
    )
    refused = "the draft cannot be published until this is changed: "
    assert [x for x in imported["warnings"] if x["message"].startswith(refused)] == [
        {
            "sheet": "survey",
            "row": 2,
            "column": "relevant",
            "message": refused + "refers to 'address', which comes later; only earlier questions may be used",
        },
        {
            "sheet": "survey",
            "row": 5,
            "column": "type",
            "message": refused + "a photo question inside repeat 'shelf' is not supported",
        },
    ]
    publish = await w.call("coordinator", "POST", f"/forms/{imported['id']}/publish")
    assert publish.status_code == 422 and publish.json()["code"] == "form.invalid_definition"
    assert {e["field"] for e in publish.json()["errors"]} == {
        "definition.sections[0].items[0].show_if",
        "definition.sections[1].items[0]",
    }

"""XLSForm features on the phone: a calculation shown live and read-only (also in a choice's label), a hidden
value never shown, repeat instances added and removed, an acknowledge tick and a cascading select — and the server holds exactly what was entered."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import screenshot, serious_accessibility_violations


def var(key: str) -> dict[str, Any]:
    return {"op": "var", "key": key}


FORM: dict[str, Any] = {
    "title": {"en": "Household"},
    "default_language": "en",
    "sections": [
        {
            "type": "section",
            "key": "home",
            "label": {"en": "Home"},
            "items": [
                {"type": "integer", "key": "adults", "label": {"en": "Adults"}},
                {"type": "integer", "key": "kids", "label": {"en": "Children"}},
                {
                    "type": "calculate",
                    "key": "people",
                    "label": {"en": "People"},
                    "calculation": {"op": "add", "args": [var("adults"), var("kids")]},
                },
                {"type": "note", "key": "count_note", "label": {"en": "So ${people} people live here."}},
                {
                    "type": "single_choice",
                    "key": "rooms",
                    "label": {"en": "Rooms"},
                    "choices": [
                        {"value": "each", "label": {"en": "One for each of the ${people}"}},
                        {"value": "shared", "label": {"en": "Shared"}},
                    ],
                },
                # XLSForm's hidden: a value the shopper never sees, usable in conditions and labels.
                {"type": "calculate", "key": "wave", "hidden": True, "calculation": {"op": "lit", "args": ["spring"]}},
                {
                    "type": "note",
                    "key": "wave_note",
                    "label": {"en": "Wave: ${wave}."},
                    "show_if": {"op": "eq", "args": [var("wave"), "spring"]},
                },
                {"type": "acknowledge", "key": "consent", "label": {"en": "I may ask"}, "required": True},
                {
                    "type": "single_choice",
                    "key": "state",
                    "label": {"en": "State"},
                    "choices": [
                        {"value": "texas", "label": {"en": "Texas"}},
                        {"value": "wa", "label": {"en": "Washington"}},
                    ],
                },
                {
                    "type": "single_choice",
                    "key": "county",
                    "label": {"en": "County"},
                    "choice_filter": {"op": "eq", "args": [var("state"), {"op": "choice", "key": "cf"}]},
                    "choices": [
                        {"value": "king", "label": {"en": "King (WA)"}, "xlsform": {"cf": "wa"}},
                        {"value": "pierce", "label": {"en": "Pierce"}, "xlsform": {"cf": "wa"}},
                        {"value": "king", "label": {"en": "King (TX)"}, "xlsform": {"cf": "texas"}},
                        {"value": "cameron", "label": {"en": "Cameron"}, "xlsform": {"cf": "texas"}},
                    ],
                },
            ],
        },
        {
            "type": "section",
            "key": "member",
            "label": {"en": "Member"},
            "repeat": True,
            "items": [
                {"type": "text", "key": "name", "label": {"en": "Name"}, "required": True},
                {"type": "integer", "key": "age", "label": {"en": "Age"}},
                {
                    "type": "calculate",
                    "key": "months",
                    "label": {"en": "Months"},
                    "calculation": {"op": "mul", "args": [var("age"), 12]},
                },
            ],
        },
    ],
}


def test_calculation_repeat_acknowledge_and_cascade_on_the_phone(phone, live):
    form = live.api("coordinator", "POST", "/forms", json={"name": "household", "channel": "visit", "definition": FORM})
    version = live.api("coordinator", "POST", f"/forms/{form['id']}/publish")
    live.world["forms"]["household"] = {"id": form["id"], "version_id": version["id"], "channel": "visit"}
    task = live.task(form="household", location="near_location")
    page = phone.login()
    page.locator(f"[data-task='{task['id']}'] a").click()
    page.get_by_role("link", name="Start report").click()
    page.locator("[data-key=adults]").wait_for()

    # The calculation: read-only (no input), computed live as the answers change, and in a label.
    people = page.locator("[data-key=people]")
    assert people.locator("input, textarea").count() == 0
    page.locator("[data-key=adults] input").fill("2")
    page.locator("[data-key=kids] input").fill("3")
    assert people.locator("output").inner_text() == "5"
    assert "So 5 people live here." in page.locator("[data-key=count_note]").inner_text()
    # A choice's label fills in its references too, as the answers change.
    assert page.locator("[data-key=rooms]").get_by_label("One for each of the 5").is_visible()
    # The hidden value: not on the screen at all, yet it decides a show-if and fills a label.
    assert page.locator("[data-key=wave]").count() == 0 and page.locator("[data-calc=wave]").count() == 0
    assert "Wave: spring." in page.locator("[data-key=wave_note]").inner_text()

    page.locator("[data-key=consent]").get_by_label("OK — acknowledged").check()

    # The cascade: only Texas's counties once Texas is chosen.
    page.locator("[data-key=state]").get_by_label("Texas").check()
    county = page.locator("[data-key=county]")
    assert county.get_by_label("Cameron").is_visible() and county.get_by_label("King (TX)").is_visible()
    assert county.get_by_label("Pierce").is_hidden() and county.get_by_label("King (WA)").is_hidden()
    county.get_by_label("King (TX)").check()

    # The repeat: two members added, one removed, each with its own calculation.
    for _ in range(3):
        page.get_by_role("button", name="Add another").click()
    instances = page.locator("[data-instance]")
    instances.nth(2).wait_for()
    instances.nth(1).get_by_role("button", name="Remove this one").click()
    page.wait_for_function("document.querySelectorAll('[data-instance]').length === 2")
    instances = page.locator("[data-instance]")
    for index, (name, age) in enumerate((("Ana", "40"), ("Bo", "9"))):
        instances.nth(index).locator("[data-key='member[%d].name'] textarea" % index).fill(name)
        instances.nth(index).locator("[data-key='member[%d].age'] input" % index).fill(age)
    assert instances.nth(1).locator("output").inner_text() == "108"
    screenshot(page, "xlsform-features-filled")
    assert serious_accessibility_violations(page) == []

    page.get_by_role("button", name="Send report").click()
    page.locator("[data-state=sent]").wait_for()
    (report,) = live.reports(task["id"])
    answers = report["answers"]
    assert answers["adults"] == 2 and answers["kids"] == 3 and "people" not in answers and "wave" not in answers
    assert answers["consent"] is True and answers["state"] == "texas" and answers["county"] == "king"
    assert answers["member"] == [{"name": "Ana", "age": 40}, {"name": "Bo", "age": 9}]

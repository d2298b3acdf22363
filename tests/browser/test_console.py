"""The coordinator's console and the manager's dashboard (/console/), in Chromium over the real API.

Each page visited is checked with axe-core (no serious or critical violation) and saved as a screenshot
(test-artifacts/browser/console-*.png). The shopper's side of the review loop goes through the API.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import openpyxl
import pytest
from pypdf import PdfReader

from tests.api.forms_fixture import SMALL_CALL_FORM, answers
from tests.attachment_samples import png
from tests.browser.conftest import ARTIFACTS, PASSWORD, Live, new_uuid, screenshot, serious_accessibility_violations

DESK = {
    "viewport": {"width": 1280, "height": 860},
    "device_scale_factor": 1,
    "locale": "en-GB",
    "timezone_id": "Europe/Amsterdam",
    "accept_downloads": True,
}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class Desk:
    """A desktop browser context on the console; fails the test on any JavaScript error."""

    def __init__(self, browser: Any, live: Live) -> None:
        self.live = live
        self.context = browser.new_context(base_url=live.base, **DESK)
        self.errors: list[str] = []
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))

    def renders(self) -> int:
        return int(self.page.evaluate("() => Number(document.body.dataset.renders || 0)"))

    def settle(self, before: int) -> Any:
        """Wait until a render that started after `before` renders has finished."""
        self.page.wait_for_function(
            f"() => Number(document.body.dataset.renders || 0) > {before} && document.body.dataset.ready === 'true'"
        )
        return self.page

    def go(self, route: str) -> Any:
        before = self.renders()
        # The same hash again fires no hashchange: ask for the render the way the console's own reloads do.
        self.page.evaluate(
            "(hash) => { if (location.hash === hash) window.dispatchEvent(new HashChangeEvent('hashchange'));"
            " else location.hash = hash; }",
            route,
        )
        return self.settle(before)

    def click(self, locator: Any) -> Any:
        before = self.renders()
        locator.click()
        return self.settle(before)

    def login(self, who: str, *, domain: str = "example.test") -> Any:
        page = self.page
        page.goto("/console/")
        page.wait_for_selector("body[data-ready=true]")
        before = self.renders()
        page.get_by_label("E-mail").fill(f"{who}@{domain}")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        return self.settle(before)

    def watch_progress(self) -> None:
        """Record every text the progress line (#progress) shows from now on, however briefly."""
        self.page.evaluate(
            """() => { window.progressSeen = [];
            new MutationObserver(() => { const text = document.getElementById('progress').innerText.trim();
              if (text) window.progressSeen.push(text); })
            .observe(document.getElementById('progress'), { childList: true, subtree: true, characterData: true }); }"""
        )

    def progress_seen(self) -> list[str]:
        seen: list[str] = self.page.evaluate("() => window.progressSeen")
        return seen

    def look(self, name: str) -> None:
        """No serious or critical accessibility violation, and a screenshot for the reviewer."""
        violations = serious_accessibility_violations(self.page)
        screenshot(self.page, f"console-{name}")
        assert violations == [], f"{name}: {violations}"

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def desk(browser: Any, live: Live) -> Iterator[Desk]:
    device = Desk(browser, live)
    try:
        yield device
    finally:
        device.close()
    assert not device.errors, f"JavaScript errors in the page: {device.errors}"


def _stamp(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def _xlsform(rows: list[list[Any]], choices: list[list[Any]] | None = None) -> bytes:
    book = openpyxl.Workbook()
    survey = book.active
    survey.title = "survey"
    for row in rows:
        survey.append(row)
    if choices:
        sheet = book.create_sheet("choices")
        for row in choices:
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


GOOD_XLSFORM = _xlsform(
    [
        ["type", "name", "label", "required", "appearance"],
        ["begin_group", "service", "Service", "", ""],
        ["select_one yn", "greeted", "Were you greeted?", "yes", ""],
        ["integer", "staff", "Staff on the floor", "", ""],
        ["text", "remarks", "Anything else?", "", "multiline"],
        ["end_group", "", "", "", ""],
    ],
    [["list_name", "name", "label"], ["yn", "yes", "Yes"], ["yn", "no", "No"]],
)
BAD_XLSFORM = _xlsform([["type", "name", "label"], ["select_one nolist", "q1", "Q1"], ["geotrace", "q2", "Q2"]])


def _submit(
    live: Live,
    task: dict[str, Any],
    body_answers: dict[str, Any],
    report_id: str | None = None,
    replaces: int | None = None,
    who: str = "shopper",
) -> dict[str, Any]:
    now = time.time()
    body: dict[str, Any] = {
        "id": report_id or new_uuid(),
        "task_id": task["id"],
        "started_at": _stamp(now - 1800),
        "ended_at": _stamp(now - 1500),
        "answers": body_answers,
    }
    if replaces:
        body["replaces_revision"] = replaces
    return live.api(who, "POST", "/reports", json=body)


def _task(live: Live, version_id: str, location: str, channel: str, shopper: str = "shopper") -> dict[str, Any]:
    """A task of this form version at `location` whose window is open now, assigned to `shopper`."""
    now = time.time()
    return live.api(
        "coordinator",
        "POST",
        "/tasks",
        json={
            "organisation_id": live.world["organisation_id"],
            "location_id": live.world[location],
            "form_version_id": version_id,
            "channel": channel,
            "window_start": _stamp(now - 7200),
            "window_end": _stamp(now + 7200),
            "shopper_id": live.world["users"][shopper]["id"],
        },
    )


def _shoppers(live: Live, n: int) -> list[str]:
    """n more shoppers (rotation lets each do a location once), logged in; their names in live.world."""
    names = []
    for i in range(n):
        name = f"extra_shopper_{i}"
        email = f"{name}@example.test"
        user = live.api(
            "admin",
            "POST",
            "/users",
            json={"email": email, "name": f"Extra Shopper {i}", "password": PASSWORD, "role": "shopper"},
        )
        live.api(
            "coordinator",
            "PUT",
            f"/users/{user['id']}/shopper-profile",
            json={
                "home_lat": 50.08,
                "home_lon": 14.42,
                "languages": ["en"],
                "travel_radius_km": 500,
                "capacity_per_day": 50,
                "capacity_per_week": 200,
            },
        )
        live.world["users"][name] = user
        live.world["tokens"][name] = httpx.post(
            f"{live.base}/auth/login", json={"email": email, "password": PASSWORD}, timeout=30
        ).json()["access_token"]
        names.append(name)
    return names


def _call_form(live: Live) -> str:
    form = live.api(
        "coordinator", "POST", "/forms", json={"name": "Quick call", "channel": "call", "definition": SMALL_CALL_FORM}
    )
    return live.api("coordinator", "POST", f"/forms/{form['id']}/publish")["id"]


def test_coordinator_uploads_publishes_plans_assigns_and_reviews(desk: Desk, live: Live, tmp_path: Path) -> None:
    page = desk.login("coordinator")
    assert page.get_by_role("heading", name="Review queue").is_visible()
    desk.look("review-queue-empty")

    # Form library: a broken spreadsheet is refused with its problems by sheet and row.
    desk.go("#/forms")
    bad, good = tmp_path / "bad.xlsx", tmp_path / "store-visit.xlsx"
    bad.write_bytes(BAD_XLSFORM)
    good.write_bytes(GOOD_XLSFORM)
    page.get_by_label("File").set_input_files(str(bad))
    page.get_by_label("Name", exact=True).fill("Broken")
    page.get_by_label("Channel", exact=True).last.select_option("visit")
    page.get_by_role("button", name="Upload").click()
    problems = page.locator("[data-code='form.invalid_xlsform']")
    problems.wait_for()
    assert problems.locator("[data-problem-row='2']").inner_text().startswith("survey")
    assert problems.locator("[data-problem-row='3']").is_visible()
    desk.look("forms-upload-problems")

    # A good one becomes a draft; preview, publish.
    page.get_by_label("File").set_input_files(str(good))
    page.get_by_label("Name", exact=True).fill("Store visit (XLSForm)")
    before = desk.renders()
    page.get_by_role("button", name="Upload").click()
    desk.settle(before)
    assert page.get_by_role("heading", name="Store visit (XLSForm)").is_visible()
    # What the import kept aside (an appearance it does not use) is said, with its row.
    assert re.match(r"Imported with 1 warning: survey row 5 \(appearance\)", page.locator("[data-flash]").inner_text())
    preview = page.locator("[data-preview]")
    assert "Were you greeted? *" in preview.inner_text() and "Staff on the floor" in preview.inner_text()
    desk.look("form-draft")
    page.get_by_role("button", name="Publish").click()
    page.get_by_text("Version 1 is published.").wait_for()
    page.locator("[data-version='1']").filter(has_text="Published").wait_for()
    form_id = page.evaluate("() => location.hash.split('/')[2].split('?')[0]")
    form = live.api("coordinator", "GET", f"/forms/{form_id}")
    assert form["published_version"] == 1
    version_id = live.api("coordinator", "GET", f"/forms/{form_id}/versions/1")["id"]
    desk.look("form-published")
    # The versions list filters by status (kept in the URL like every list's filters).
    for status, shown in (("draft", 0), ("published", 1)):
        page.get_by_label("Status").select_option(status)
        desk.click(page.get_by_role("button", name="Apply filters"))
        assert page.locator("[data-version]").count() == shown, status
        assert f"status={status}" in page.evaluate("() => location.hash")

    # Plan: a campaign measuring the Prague location by visits, one wave, generate, auto-assign.
    desk.go("#/campaigns")
    page.get_by_label("Name", exact=True).fill("Winter visits")
    page.get_by_label(re.compile(r"^Acme Prague Centre")).check()
    visit = page.locator("fieldset[data-channel='visit']")
    visit.get_by_label("Form").select_option(version_id)
    visit.get_by_label("Dayparts").fill("day 9-17")
    for day in ("Weekdays", "Saturday", "Sunday"):
        visit.get_by_label(day).check()
    desk.look("campaigns")
    desk.click(page.get_by_role("button", name="Create campaign"))
    assert page.get_by_role("heading", name="Winter visits").is_visible()
    # From tomorrow in Prague: a probe planned for today there has ended once it is past 17:00, and then
    # the grid says "missing" and automatic assignment skips it (15% of runs at a random hour and date).
    first = dt.datetime.now(ZoneInfo("Europe/Prague")).date() + dt.timedelta(days=1)
    page.get_by_label("Name", exact=True).fill("Week 1")
    page.get_by_label("Starts on").fill(first.isoformat())
    page.get_by_label("Ends on").fill((first + dt.timedelta(days=6)).isoformat())
    desk.look("campaign")
    desk.click(page.get_by_role("button", name="Create wave"))
    assert page.get_by_role("heading", name=re.compile("Week 1")).is_visible()
    desk.watch_progress()
    desk.click(page.get_by_role("button", name="Generate tasks"))
    wave_id = page.evaluate("() => location.hash.split('/')[4]")
    planned = live.api("coordinator", "GET", f"/tasks?wave_id={wave_id}")["total"]
    assert planned == 3  # one probe in each of the 3 slots (day × weekday / Saturday / Sunday)
    assert page.get_by_text("3 tasks created, 0 already there.").is_visible()
    row = page.locator("[data-coverage]").first
    assert "Acme Prague Centre" in row.inner_text()
    assert [c.get_attribute("data-state") for c in row.locator("[data-state]").all()] == ["due"] * 3
    assert (
        row.locator("[data-state]").first.get_attribute("title")
        == "0 done, 1 due, 0 unanswered, 0 missing of 1 planned"
    )
    desk.click(page.get_by_role("button", name="Assign automatically"))
    # Both long actions showed their progress while they ran.
    assert {text.split(" …")[0] for text in desk.progress_seen()} >= {"Generating tasks", "Assigning"}
    assignment = page.locator("[data-result]").inner_text()
    assigned = int(re.match(r"(\d+) of 3 tasks assigned", assignment).group(1))
    board = page.locator("[data-task]")
    assert board.count() == 3
    held = [t["shopper_id"] for t in live.api("coordinator", "GET", f"/tasks?wave_id={wave_id}")["items"]]
    assert sum(1 for h in held if h) == assigned >= 1
    # What could not be filled says why, on the board.
    assert page.locator("[data-unfilled]").count() == 3 - assigned
    assert re.search(r"(Shopper|Other Shopper)", board.first.inner_text())
    assert "Europe/Prague" in board.first.inner_text()  # the window in the location's own zone
    desk.look("wave")

    # By hand: moving a task to the shopper who already has this location this wave is refused by the
    # rotation rule, shown on the task's row; nothing changes.
    board = board.filter(has=page.get_by_role("button", name="Reassign"))
    task_id = board.first.get_attribute("data-task")
    holder = live.api("coordinator", "GET", f"/tasks/{task_id}")["shopper_id"]
    other = next(u for u in ("shopper", "other_shopper") if live.world["users"][u]["id"] != holder)
    board.first.get_by_role("combobox").select_option(live.world["users"][other]["id"])
    board.first.get_by_role("button", name="Reassign").click()
    refusal = board.first.get_by_role("alert")
    refusal.wait_for()
    assert (
        refusal.locator("[data-rule='rotation']").inner_text()
        == "worked this location (or brand) within the rotation period"
    )
    assert live.api("coordinator", "GET", f"/tasks/{task_id}")["shopper_id"] == holder
    desk.look("wave-refused")

    # The shopper reports (through the API) on a task of this form whose window is open now.
    task = _task(live, version_id, "far_location", "visit")
    report = _submit(live, task, {"greeted": False, "staff": 4, "remarks": "Nobody said hello"})

    # Review: the queue lists it; the report shows answers and score; return with a comment on one question.
    desk.go("#/review")
    queued = page.locator(f"[data-report='{report['id']}']")
    assert "Acme Brno" in queued.inner_text() and "Europe/Prague" in queued.inner_text()
    desk.look("review-queue")
    desk.click(queued.get_by_role("link"))
    assert page.get_by_role("heading", name="Report: Acme Brno").is_visible()
    assert page.locator("[data-answer='greeted'] td").nth(1).inner_text() == "No"
    assert page.locator("[data-score]").is_visible()
    desk.look("report-submitted")
    page.get_by_label("Comment on “Were you greeted?”").fill("Check again: the recording says they greeted you.")
    page.get_by_role("button", name="Return to the shopper").click()
    page.get_by_text("Done.").wait_for()
    returned = live.api("coordinator", "GET", f"/reports/{report['id']}")
    assert returned["status"] == "returned"
    comments = live.api("shopper", "GET", f"/reports/{report['id']}/comments")["items"]
    assert [(c["question_key"], c["text"]) for c in comments] == [
        ("greeted", "Check again: the recording says they greeted you.")
    ]

    # The shopper's fix (revision 2) shows as a diff on the report page.
    _submit(
        live, task, {"greeted": True, "staff": 4, "remarks": "Nobody said hello"}, report_id=report["id"], replaces=1
    )
    desk.go("#/review")
    desk.go(f"#/reports/{report['id']}")
    diff = page.locator("[data-diff]")
    assert "from revision 1 to 2" in diff.inner_text()
    change = diff.locator("[data-change='greeted']")
    assert change.locator(".diff-removed").inner_text() == "No"
    assert change.locator(".diff-added").inner_text() == "Yes"
    assert diff.locator("[data-change='staff']").count() == 0
    desk.look("report-diff")
    page.get_by_role("button", name="Approve").click()
    page.get_by_text("Done.").wait_for()
    assert live.api("coordinator", "GET", f"/reports/{report['id']}")["status"] == "approved"


def test_bulk_approve_of_a_filtered_set_and_the_other_coordinator_pages(desk: Desk, live: Live, tmp_path: Path) -> None:
    page = desk.login("coordinator")
    version_id = _call_form(live)
    ids = []
    for who in _shoppers(live, 3):
        task = _task(live, version_id, "call_location", "call", shopper=who)
        ids.append(_submit(live, task, answers(), who=who)["id"])
    desk.go("#/review")
    assert page.locator("[data-report]").count() == 3
    page.get_by_role("button", name="Approve all that match").click()
    page.get_by_text("3 reports approved.").wait_for()
    assert {live.api("coordinator", "GET", f"/reports/{i}")["status"] for i in ids} == {"approved"}

    # Shoppers, one shopper's record, set-up tabs: each loads, is accessible, and is saved for review.
    desk.go("#/shoppers?q=other")
    assert page.locator("[data-shopper]").count() == 1
    desk.look("shoppers")
    desk.go(f"#/shoppers/{live.world['users']['shopper']['id']}")
    assert page.get_by_role("heading", name="Review record").is_visible()
    desk.look("shopper")
    desk.go("#/setup?tab=locations")
    assert page.locator("[data-location]").count() == 3
    desk.look("setup-locations")

    # Import from CSV: problems by row, then the fixed file, then the same file again (nothing changes).
    header = "brand,name,code,region,timezone,opening_hours\n"
    bad, good = tmp_path / "bad.csv", tmp_path / "good.csv"
    bad.write_text(
        header + "Acme,Acme Plzeň,ACME-PL,Bohemia,Europe/Prague,\nAcme,Acme Ostrava,ACME-OS,Moravia,Moon/Base,\n"
    )
    good.write_text(
        header + "Acme,Acme Plzeň,ACME-PL,Bohemia,Europe/Prague,mon 08:00-18:00\n"
        "Acme,Acme Ostrava,ACME-OS,Moravia,Europe/Prague,\n"
    )
    importer = page.locator("form").filter(has=page.get_by_role("button", name="Import"))
    importer.get_by_label("File").set_input_files(str(bad))
    importer.get_by_role("button", name="Import").click()
    refused = page.locator("[data-code='location.import_invalid']")
    refused.wait_for()
    assert refused.locator("[data-problem-row='3']").inner_text().split("\t")[:2] == ["3", "timezone"]
    desk.look("setup-import-problems")
    importer.get_by_label("File").set_input_files(str(good))
    desk.click(importer.get_by_role("button", name="Import"))
    assert page.get_by_text("2 created, 0 updated, 0 unchanged.").is_visible()
    assert page.locator("[data-location]").count() == 5
    assert "mon 08:00-18:00" in page.locator("[data-location]").filter(has_text="Acme Plzeň").inner_text()
    importer = page.locator("form").filter(has=page.get_by_role("button", name="Import"))
    importer.get_by_label("File").set_input_files(str(good))
    desk.click(importer.get_by_role("button", name="Import"))
    assert page.get_by_text("0 created, 0 updated, 2 unchanged.").is_visible()
    assert page.locator("[data-location]").count() == 5
    desk.go("#/setup?tab=brands")
    desk.look("setup-brands")
    desk.go("#/setup?tab=organisations")
    desk.look("setup-organisations")
    # None of these pages draws a chart, so none loaded the chart code (nor Plot and d3, which it loads).
    for chart_code in CHART_CODE:
        assert not _loaded(page, chart_code), chart_code


PHOTO_VISIT_FORM = {
    "title": {"en": "Receipt check"},
    "sections": [
        {
            "key": "visit",
            "items": [
                {"type": "yes_no", "key": "greeted", "label": {"en": "Were you greeted?"}, "required": True},
                {"type": "photo", "key": "receipt", "label": {"en": "Photo of the receipt"}, "required": True},
            ],
        }
    ],
}


def test_review_queue_puts_the_most_flagged_first_and_the_report_shows_its_photo_and_reasons(
    desk: Desk, live: Live
) -> None:
    """Three visit reports: one clean, one whose visit was too short and whose receipt photo is another report's;
    the queue lists the flagged one first with its codes, and its page shows the photo and each flag's reason."""
    form = live.api(
        "coordinator", "POST", "/forms", json={"name": "Receipts", "channel": "visit", "definition": PHOTO_VISIT_FORM}
    )
    version_id = live.api("coordinator", "POST", f"/forms/{form['id']}/publish")["id"]
    photo = live.api("shopper", "POST", "/attachments", content=png(4, 4, seed=7))["sha256"]
    clean = _submit(
        live,
        _task(live, version_id, "near_location", "visit"),
        {"greeted": True, "receipt": {"attachment": photo}},
    )
    # The other shopper sends the same picture (uploaded again: the same document).
    assert live.api("other_shopper", "POST", "/attachments", content=png(4, 4, seed=7))["sha256"] == photo
    now = time.time()
    task = _task(live, version_id, "far_location", "visit", shopper="other_shopper")
    flagged = live.api(
        "other_shopper",
        "POST",
        "/reports",
        json={
            "id": new_uuid(),
            "task_id": task["id"],
            "started_at": _stamp(now - 120),
            "ended_at": _stamp(now - 60),
            "answers": {"greeted": False, "receipt": {"attachment": photo}},
        },
    )
    codes = sorted(f["code"] for f in live.api("coordinator", "GET", f"/reports/{flagged['id']}")["flags"])
    assert codes == ["photo.reused", "visit.too_short"]

    page = desk.login("coordinator")
    rows = page.locator("[data-report]")
    assert [rows.nth(i).get_attribute("data-report") for i in range(rows.count())][:2] == [flagged["id"], clean["id"]]
    assert "⚑ photo.reused" in rows.first.inner_text() and "⚑ visit.too_short" in rows.first.inner_text()
    assert "No flags" in rows.nth(1).inner_text()
    desk.look("review-queue-flagged")

    desk.click(rows.first.get_by_role("link"))
    reasons = page.locator("[data-flags] li").all_inner_texts()
    assert any(r.startswith("⚑ visit.too_short the visit lasted 60 s") for r in reasons), reasons
    assert any(r.startswith("⚑ photo.reused attachment ") for r in reasons), reasons
    image = page.get_by_role("img", name="Photo of the receipt (image/png)")
    image.wait_for()
    assert page.evaluate("(img) => img.complete && img.naturalWidth", image.element_handle()) == 4
    desk.look("report-flags-photo")


def test_coordinator_edits_a_draft_and_exports_it_as_an_xlsform(desk: Desk, live: Live, tmp_path: Path) -> None:
    """The draft's definition is edited as JSON (bad JSON said in words, nothing saved; the server's problems
    shown), the preview follows the saved draft, and the version exports as an XLSForm that holds the change."""
    form = live.api(
        "coordinator",
        "POST",
        "/forms/import",
        data={"name": "Editable", "channel": "visit"},
        files={"file": ("editable.xlsx", GOOD_XLSFORM, XLSX)},
    )
    page = desk.login("coordinator")
    desk.go(f"#/forms/{form['id']}")
    editor = page.get_by_label("Definition (JSON)")
    definition = editor.input_value()
    editor.fill(definition[:-1])
    page.get_by_role("button", name="Save draft").click()
    page.get_by_role("alert").filter(has_text="The definition is not valid JSON").wait_for()
    assert "Were you greeted?" in page.locator("[data-preview]").inner_text()

    editor.fill(definition.replace("Were you greeted?", "Did anyone greet you?"))
    desk.click(page.get_by_role("button", name="Save draft"))
    assert re.fullmatch(r"Draft version \d+ saved\.", page.locator("[data-flash]").inner_text())
    assert "Did anyone greet you? *" in page.locator("[data-preview]").inner_text()
    saved = live.api("coordinator", "GET", f"/forms/{form['id']}")
    latest = live.api("coordinator", "GET", f"/forms/{form['id']}/versions/{saved['latest_version']}")
    assert "Did anyone greet you?" in repr(latest["definition"]) and latest["status"] == "draft"
    desk.look("form-draft-edited")

    with page.expect_download() as download_info:
        page.get_by_role("button", name="Export as XLSForm").click()
    path = tmp_path / "exported.xlsx"
    download_info.value.save_as(path)
    survey = openpyxl.load_workbook(path)["survey"]
    cells = [str(c) for row in survey.iter_rows(values_only=True) for c in row if c is not None]
    assert "Did anyone greet you?" in cells and "Were you greeted?" not in cells

    # The server's own check: a definition it refuses is listed, and the draft stays as it was.
    editor = page.get_by_label("Definition (JSON)")
    editor.fill('{"title": {"en": "x"}, "sections": []}')
    page.get_by_role("button", name="Save draft").click()
    refusal = page.get_by_role("alert")
    refusal.wait_for()
    assert refusal.get_attribute("data-code") and "sections" in refusal.inner_text(), refusal.inner_text()
    after = live.api("coordinator", "GET", f"/forms/{form['id']}/versions/{saved['latest_version']}")
    assert after["definition"] == latest["definition"]


def test_coordinator_sets_up_a_competitor_brand_and_creates_and_edits_its_location(desk: Desk, live: Live) -> None:
    """Set-up by hand: a new brand, marked as the organisation's competitor; a location of it with its zone and
    opening hours (hours it cannot read are refused in words, nothing saved); then the location edited."""
    page = desk.login("coordinator")
    desk.go("#/setup?tab=brands")
    new_brand = page.locator("form.card").filter(has=page.get_by_role("heading", name="New brand"))
    new_brand.get_by_label("Name").fill("Nova Mobile")
    desk.click(new_brand.get_by_role("button", name="Create"))
    (brand,) = live.api("coordinator", "GET", "/brands?q=Nova")["items"]
    page.get_by_label("Nova Mobile: own or competitor").select_option("competitor")
    page.get_by_text("Saved.").wait_for()
    relations = live.api("coordinator", "GET", f"/organisations/{live.world['organisation_id']}/brands")["items"]
    assert {r["brand_id"]: r["relation"] for r in relations}[brand["id"]] == "competitor"
    desk.go("#/setup?tab=brands")
    assert page.get_by_label("Nova Mobile: own or competitor").input_value() == "competitor"
    desk.look("setup-brand-competitor")

    desk.go("#/setup?tab=locations")
    # The import's help names every column the import reads, the opening hours too.
    help_text = page.get_by_text("One row per location with the columns").inner_text()
    assert "opening_hours" in help_text and "brand, name, code and timezone (required)" in help_text
    form = page.locator("[data-location-form='new']")
    form.get_by_label("Brand").select_option(brand["id"])
    form.get_by_label("Name").fill("Nova Vienna")
    form.get_by_label("Region").fill("Austria")
    form.get_by_label("Time zone").fill("Europe/Vienna")
    form.get_by_label("Opening hours").fill("mon 09:00-18:00, sometimes")
    form.get_by_role("button", name="Create").click()
    page.get_by_role("alert").filter(has_text="Cannot read the opening hours").wait_for()
    assert live.api("coordinator", "GET", "/locations?q=Nova")["total"] == 0
    form.get_by_label("Opening hours").fill("mon 09:00-18:00, sat 10:00-14:00")
    desk.click(form.get_by_role("button", name="Create"))
    (location,) = live.api("coordinator", "GET", "/locations?q=Nova")["items"]
    assert (location["brand_id"], location["timezone"], location["region"]) == (brand["id"], "Europe/Vienna", "Austria")
    assert len(location["opening_hours"]) == 2
    row = page.locator(f"[data-location='{location['id']}']")
    assert _table(page, f"[data-location='{location['id']}']")[0][:5] == [
        "Nova Vienna",
        "Nova Mobile",
        "Austria",
        "Europe/Vienna",
        "mon 09:00-18:00, sat 10:00-14:00",
    ]

    desk.click(row.get_by_role("link", name="Edit Nova Vienna"))
    edit = page.locator(f"[data-location-form='{location['id']}']")
    assert edit.get_by_label("Name").input_value() == "Nova Vienna"
    edit.get_by_label("Name").fill("Nova Wien")
    edit.get_by_label("Opening hours").fill("mon 08:00-20:00")
    desk.look("setup-location-edit")
    desk.click(edit.get_by_role("button", name="Save"))
    changed = live.api("coordinator", "GET", f"/locations/{location['id']}")
    assert changed["name"] == "Nova Wien" and changed["brand_id"] == brand["id"] and len(changed["opening_hours"]) == 1
    assert _table(page, f"[data-location='{location['id']}']")[0][0::4][:2] == ["Nova Wien", "mon 08:00-20:00"]


def _table_after(page: Any, heading: str) -> list[list[str]]:
    """The cells of the first table after the level-2 heading `heading`."""
    return page.evaluate(
        """(heading) => {
        const h2 = [...document.querySelectorAll('h2')].find((h) => h.innerText.trim() === heading);
        let node = h2.nextElementSibling;
        while (node && !node.querySelector('table') && node.tagName !== 'TABLE') node = node.nextElementSibling;
        const table = node.tagName === 'TABLE' ? node : node.querySelector('table');
        return [...table.querySelectorAll('tbody tr')].map((row) => [...row.querySelectorAll('td')].map((td) => td.innerText.trim()));
        }""",
        heading,
    )


def test_a_shoppers_page_shows_workload_and_review_record_and_saves_the_profile(desk: Desk, live: Live) -> None:
    """One shopper: an open task, one report approved and one rejected: the workload and the record (with the
    approval rate) say so; capacity and languages edited on the page reach the profile the assignment uses."""
    version_id = _call_form(live)
    approved, rejected = (
        _submit(
            live, _task(live, version_id, location, "call", shopper="other_shopper"), answers(), who="other_shopper"
        )
        for location in ("call_location", "near_location")
    )
    live.api("coordinator", "POST", f"/reports/{approved['id']}/approve", json={})
    live.api("coordinator", "POST", f"/reports/{rejected['id']}/reject", json={"reason": "Not the right hotline"})
    _task(live, version_id, "far_location", "call", shopper="other_shopper")
    shopper_id = live.world["users"]["other_shopper"]["id"]

    page = desk.login("coordinator")
    desk.go(f"#/shoppers/{shopper_id}")
    assert page.get_by_role("heading", name="Other Shopper").is_visible()
    assert _table_after(page, "Workload now") == [["1", "0", "0"]]  # assigned, accepted, returned
    # submitted, approved, rejected, expired, cancelled, approved of reviewed
    assert _table_after(page, "Review record") == [["0", "1", "1", "0", "0", "50 %"]]
    assert len(_table_after(page, "Tasks")) == 3

    page.get_by_label("Languages").fill("en, de, cs")
    page.get_by_label("Per day").fill("4")
    page.get_by_label("Per week").fill("12")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Saved.").wait_for()
    profile = live.api("coordinator", "GET", f"/users/{shopper_id}/shopper-profile")
    assert (profile["languages"], profile["capacity_per_day"], profile["capacity_per_week"]) == (
        ["cs", "de", "en"],  # kept sorted
        4,
        12,
    )
    desk.look("shopper-profile-saved")
    desk.go("#/shoppers?q=other")
    assert _table(page, "[data-shopper]")[0][2:5] == ["cs, de, en", "4", "12"]


def _manager(live: Live, name: str, organisation_id: str) -> None:
    email = f"{name}@example.test"
    live.world["users"][name] = live.api(
        "admin",
        "POST",
        "/users",
        json={
            "email": email,
            "name": name.replace("_", " ").title(),
            "password": PASSWORD,
            "role": "manager",
            "organisation_id": organisation_id,
        },
    )
    live.world["tokens"][name] = httpx.post(
        f"{live.base}/auth/login", json={"email": email, "password": PASSWORD}, timeout=30
    ).json()["access_token"]


TIMER_CALL_FORM = {
    "title": {"en": "Reachability"},
    "sections": [
        {
            "key": "reach",
            "items": [
                {
                    "type": "timer_sequence",
                    "key": "call",
                    "label": {"en": "The call"},
                    "required": True,
                    "give_up_s": 60,
                    "metric": "time_to_answer_s",
                    "bands": [{"min": 0, "max": 20, "points": 1}, {"min": 20, "points": 0}],
                },
            ],
        }
    ],
}


def _zone_where_it_is_daytime() -> str:
    """A fixed-offset zone where it is now between 03:00 and 20:00, so "ten minutes ago" is today there."""
    now = dt.datetime.now(dt.timezone.utc)
    for offset in range(-12, 13):
        name = f"Etc/GMT{'+' if offset <= 0 else '-'}{abs(offset)}" if offset else "Etc/UTC"
        if 3 <= now.astimezone(ZoneInfo(name)).hour < 20:
            return name
    raise AssertionError("no zone found")


def _hotline_wave(live: Live) -> dict[str, Any]:
    """A call campaign over a hotline, one wave from today, generated; the probe whose window holds now is
    assigned to the shopper and reported as nobody answering (so a retry is planned)."""
    zone = _zone_where_it_is_daytime()
    brand_id = live.api("coordinator", "GET", f"/locations/{live.world['call_location']}")["brand_id"]
    hotline = live.api(
        "coordinator", "POST", "/locations", json={"brand_id": brand_id, "name": "Acme Hotline", "timezone": zone}
    )
    form = live.api(
        "coordinator", "POST", "/forms", json={"name": "Reach", "channel": "call", "definition": TIMER_CALL_FORM}
    )
    version = live.api("coordinator", "POST", f"/forms/{form['id']}/publish")
    campaign = live.api(
        "coordinator",
        "POST",
        "/campaigns",
        json={
            "organisation_id": live.world["organisation_id"],
            "name": "Hotline reach",
            "location_ids": [hotline["id"]],
            "forms": {"call": version["id"]},
            "slot_designs": {
                "call": {
                    "dayparts": [{"key": "day", "start_hour": 0, "end_hour": 24}],
                    "day_types": ["weekday", "saturday", "sunday"],
                    "probes_per_slot": 11,
                }
            },
            "call_rules": {"give_up_s": 60, "max_attempts": 2, "retry_after_hours": 24},
        },
    )
    today = dt.datetime.now(dt.timezone.utc).astimezone(ZoneInfo(zone)).date()
    wave = live.api(
        "coordinator",
        "POST",
        f"/campaigns/{campaign['id']}/waves",
        json={
            "name": "Fortnight",
            "starts_on": today.isoformat(),
            "ends_on": (today + dt.timedelta(days=14)).isoformat(),
        },
    )
    live.api("coordinator", "POST", f"/campaigns/{campaign['id']}/waves/{wave['id']}/generate")
    tasks = live.api("coordinator", "GET", f"/tasks?wave_id={wave['id']}&limit=100")["items"]
    now = dt.datetime.now(dt.timezone.utc)
    current = next(
        t
        for t in tasks
        if dt.datetime.fromisoformat(t["window_start"]) <= now <= dt.datetime.fromisoformat(t["window_end"])
    )
    live.api(
        "coordinator",
        "POST",
        f"/tasks/{current['id']}/assign",
        json={"shopper_id": live.world["users"]["shopper"]["id"]},
    )
    dialled = now - dt.timedelta(minutes=10)
    events = [("dialled", 0), ("gave_up", 60)]
    live.api(
        "shopper",
        "POST",
        "/reports",
        json={
            "id": new_uuid(),
            "task_id": current["id"],
            "started_at": dialled.isoformat(),
            "ended_at": (dialled + dt.timedelta(seconds=70)).isoformat(),
            "answers": {
                "call": {
                    "events": [{"event": e, "at": (dialled + dt.timedelta(seconds=s)).isoformat()} for e, s in events]
                }
            },
        },
    )
    (retry,) = [
        t
        for t in live.api("coordinator", "GET", f"/tasks?wave_id={wave['id']}&limit=100")["items"]
        if t["retry_of"] == current["id"]
    ]
    return {"campaign": campaign, "wave": wave, "current": current, "retry": retry}


def test_coordinator_cancels_a_task_after_confirming_and_sees_the_probe_unanswered(desk: Desk, live: Live) -> None:
    """The board's Cancel asks first (with a reason for the audit log); a call nobody answered whose retry
    is called off shows as unanswered in the coverage grid, with its symbol, its words and the legend."""
    plan = _hotline_wave(live)
    page = desk.login("coordinator")
    desk.go(f"#/campaigns/{plan['campaign']['id']}/waves/{plan['wave']['id']}?status=open")
    legend = page.locator("[data-legend]")
    assert [legend.nth(i).inner_text() for i in range(legend.count())] == [
        "✓ done – a report is in (for a call or message: someone answered)",
        "◷ due – still to do, its window not over",
        "⊘ unanswered – called or written, nobody answered, no retry due",
        "✗ missing – no report and no time left",
    ]
    slot = plan["current"]["slot_key"]
    column = [
        "Location",
        "Own or competitor",
        "Channel",
        *sorted({slot, "saturday:day", "sunday:day", "weekday:day"}),
    ].index(slot)
    cell = page.locator("[data-coverage] td").nth(column).locator("[data-state]")
    assert cell.get_attribute("data-state") == "due"  # its retry is still due

    # Cancel the retry: the first click only asks; "No, keep it" leaves it as it was.
    row = page.locator(f"[data-task='{plan['retry']['id']}']")
    row.get_by_role("button", name="Cancel task at Acme Hotline").click()
    question = row.get_by_role("group", name="Cancel the task at Acme Hotline?", exact=False)
    assert question.is_visible()
    desk.look("wave-cancel-confirm")
    question.get_by_role("button", name="No, keep it").click()
    assert not question.is_visible()
    assert live.api("coordinator", "GET", f"/tasks/{plan['retry']['id']}")["status"] == "open"
    row.get_by_role("button", name="Cancel task at Acme Hotline").click()
    question.get_by_label("Reason (optional, kept in the audit log)").fill("Enough calls this wave")
    desk.click(question.get_by_role("button", name="Yes, cancel the task"))
    assert page.locator("[data-flash]").inner_text() == "The task at Acme Hotline is cancelled."
    assert live.api("coordinator", "GET", f"/tasks/{plan['retry']['id']}")["status"] == "cancelled"
    (entry,) = live.api("coordinator", "GET", f"/audit?entity_id={plan['retry']['id']}&action=task.cancelled")["items"]
    assert entry["detail"]["reason"] == "Enough calls this wave"
    assert page.locator(f"[data-task='{plan['retry']['id']}']").count() == 0  # the board shows open tasks only

    cell = page.locator("[data-coverage] td").nth(column).locator("[data-state]")
    assert cell.get_attribute("data-state") == "unanswered"
    assert "⊘1" in cell.inner_text()
    assert re.match(r"\d+ done, \d+ due, 1 unanswered, \d+ missing of \d+ planned", cell.get_attribute("title"))
    assert cell.locator(".sr-only").inner_text() == cell.get_attribute("title")  # read out in words
    desk.look("wave-unanswered")

    # A submitted task cannot be cancelled: no button, and the API says why.
    desk.go(f"#/campaigns/{plan['campaign']['id']}/waves/{plan['wave']['id']}?status=submitted")
    submitted = page.locator(f"[data-task='{plan['current']['id']}']")
    assert submitted.get_by_role("button", name=re.compile("Cancel task")).count() == 0


def _scored_world(live: Live) -> dict[str, Any]:
    """Approved call reports: three at each of two own locations and at a competitor's, one at a third own
    location (not enough data); a second organisation with its own manager, brand and location."""
    org = live.world["organisation_id"]
    rival = live.api("coordinator", "POST", "/brands", json={"name": "Rival"})
    live.api("coordinator", "PUT", f"/organisations/{org}/brands/{rival['id']}", json={"relation": "competitor"})
    live.world["rival_location"] = live.api(
        "coordinator",
        "POST",
        "/locations",
        json={
            "brand_id": rival["id"],
            "name": "Rival hotline",
            "region": "US East",
            "timezone": "America/New_York",
            "phone": "+1 212 555 0199",
        },
    )["id"]
    version_id = _call_form(live)
    shoppers = _shoppers(live, 3)
    plan = {
        "call_location": [(8, True, 5), (15, True, 4), (25, False, 4)],
        "near_location": [(40, False, 2), (70, False, 3), (30, True, 3)],
        "rival_location": [(90, False, 1), (120, False, 2), (65, False, 2)],
        "far_location": [(12, True, 5)],
    }
    for location, calls in plan.items():
        for who, (answer_s, greeted, friendliness) in zip(shoppers, calls):
            task = _task(live, version_id, location, "call", shopper=who)
            _submit(live, task, answers(answer_s=answer_s, greeted=greeted, friendliness=friendliness), who=who)
    approved = live.api("coordinator", "POST", "/reports/bulk-approve", json={"organisation_id": org, "max_flags": 100})
    assert approved["approved"] == 10
    other = live.api("admin", "POST", "/organisations", json={"name": "Other Org"})
    secret = live.api("coordinator", "POST", "/brands", json={"name": "Secret Brand"})
    live.api("coordinator", "PUT", f"/organisations/{other['id']}/brands/{secret['id']}", json={"relation": "own"})
    secret_location = live.api(
        "coordinator",
        "POST",
        "/locations",
        json={"brand_id": secret["id"], "name": "Secret Store", "region": "Hidden", "timezone": "Europe/Berlin"},
    )
    _manager(live, "manager", org)
    _manager(live, "other_manager", other["id"])
    return {"other_org": other["id"], "secret_location": secret_location["id"]}


def _table(page: Any, selector: str) -> list[list[str]]:
    return page.evaluate(
        """(selector) => [...document.querySelectorAll(selector)].map(
        (row) => [...row.querySelectorAll('td')].map((td) => td.innerText.trim()))""",
        selector,
    )


def _loaded(page: Any, path: str) -> bool:
    """Whether the page has fetched `path` since it was opened (Resource Timing)."""
    loaded: bool = page.evaluate(
        "(path) => performance.getEntriesByType('resource').some((e) => new URL(e.name).pathname === path)", path
    )
    return loaded


# The dashboard's chart code: the module that draws, and the vendored libraries it adds when a chart is shown.
CHART_CODE = ("/console/lib/charts.js", "/vendor/d3/d3.min.js", "/vendor/plot/plot.umd.min.js")


def _centre_y(locator: Any) -> float:
    box = locator.bounding_box()
    assert box is not None
    return float(box["y"] + box["height"] / 2)


def _luminance(colour: str) -> float:
    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def _number(text: str) -> float | None:
    return float(text) if re.fullmatch(r"-?\d+(\.\d+)?", text) else None


def test_manager_filters_drills_down_exports_and_prints(desk: Desk, live: Live, tmp_path: Path) -> None:
    _scored_world(live)
    page = desk.login("manager")
    assert page.get_by_role("heading", name="Dashboard: Acme Telecom").is_visible()
    assert [a.inner_text() for a in page.locator("#nav a").all()] == ["Dashboard"]
    brands = {row[0]: row for row in _table(page, "[data-brand-row]")}
    assert set(brands) == {"Acme", "Rival"}
    assert brands["Acme"][1] == "Own" and brands["Acme"][2] == "7" and brands["Rival"][2] == "3"
    locations = {row[0]: row for row in _table(page, "[data-location-row]")}
    assert set(locations) == {"Acme New York hotline", "Acme Prague Centre", "Rival hotline", "Acme Brno"}
    assert locations["Acme Brno"][3:] == ["1", "not enough data", "", "", "–"]  # words, no number, no rank
    chart = page.locator("section[aria-labelledby=locations-title] svg.chart")
    # "Not enough data" is written in the chart, never drawn: no interval, no dot for that location.
    assert chart.locator("[data-not-enough]").filter(has_text="not enough data (n=1)").count() == 1
    assert chart.locator("[data-row='Acme Brno']").count() == 1
    for name in ("Acme New York hotline", "Acme Prague Centre", "Rival hotline"):
        mean, low, high = (_number(x) for x in locations[name][4:7])
        assert low is not None and low <= mean <= high
        # One interval a location with enough data, its ends the table's; the estimate's dot on it.
        (interval,) = chart.locator(f"[data-row='{name}'][data-interval]").all()
        ends = [float(x) for x in (interval.get_attribute("data-interval") or "").split()]
        assert ends == pytest.approx([low, high], abs=0.05)
        (dot,) = chart.locator(f"[data-row='{name}'][data-value]").all()
        assert float(dot.get_attribute("data-value") or "nan") == pytest.approx(mean, abs=0.05)
        assert _centre_y(dot) == pytest.approx(_centre_y(interval), abs=1)
        left, right = interval.bounding_box(), dot.bounding_box()
        assert left and right and left["x"] <= right["x"] + right["width"] / 2 <= left["x"] + left["width"] + 0.5
        # Own and competitor told apart by shape and fill (a filled circle, a hollow square), not by colour.
        own = locations[name][1].endswith("(Own)")
        assert dot.get_attribute("data-relation") == ("own" if own else "competitor")
        assert (dot.get_attribute("fill") == "#fff") is not own
    assert chart.locator("[data-interval]").count() == 3
    assert page.locator("[data-legend]").all_inner_texts()[:2] == ["● Own", "□ Competitor"]
    # The comparison API's panels: the hour × weekday grid, what fails most (worst first), score by week.
    page.wait_for_selector("[data-panels=ready]")
    assert page.locator("[data-heatmap='time_to_answer'] tbody tr").count() == 7  # its numbers, as a table
    grid = live.api("manager", "GET", "/analytics/comparison?measure=time_to_answer&group_by=weekday&group_by=hour")
    heat = page.locator("section[aria-labelledby=grid-title] svg.chart")
    assert heat.get_attribute("aria-label") == "Time to answer by weekday and local hour: darker is worse"
    # A heatmap: a cell a weekday and hour with data (as many as the table's), each with enough data shaded,
    # darker the longer the wait (the grid's best 0, worst 4); too few contacts written "n<", not shaded.
    shaded = page.evaluate(
        """() => [...document.querySelectorAll("[aria-labelledby=grid-title] svg [data-shade]")].map(
        (cell) => [cell.dataset.cell, Number(cell.dataset.value), Number(cell.dataset.shade), cell.getAttribute('fill')])"""
    )
    written = heat.locator("[data-not-enough]").count()
    assert len(shaded) + written == len(grid["groups"]) == page.locator("[data-heatmap] td[data-cell]").count()
    assert written == sum(1 for g in grid["groups"] if not g["figure"]["enough_data"])
    assert len(shaded) >= 2
    assert {shade for _, _, shade, _ in shaded} >= {0, 4}
    low, high = min(v for _, v, _, _ in shaded), max(v for _, v, _, _ in shaded)
    shades: dict[int, str] = {}
    for cell, value, shade, colour in shaded:
        assert shade == int(4 * (value - low) / (high - low) + 0.5), cell  # as Math.round
        assert shades.setdefault(shade, colour) == colour  # one colour a shade
        figure = next(g["figure"] for g in grid["groups"] if f"{g['keys'][0]['value']}:{g['keys'][1]['value']}" == cell)
        assert figure["value"] == pytest.approx(value)
    # One hue, darker each step: the order holds in greyscale too.
    lightness = [_luminance(shades[s]) for s in sorted(shades)]
    assert lightness == sorted(lightness, reverse=True) and len(set(lightness)) == len(lightness)
    assert page.locator("[data-heat-legend]").inner_text().startswith("Shade: better")
    worst = live.api("manager", "GET", "/analytics/comparison?measure=item_pass_rate&group_by=item&sort=worst&limit=10")
    shown = page.locator("[data-item]")
    assert [shown.nth(i).get_attribute("data-item") for i in range(shown.count())] == [
        g["keys"][0]["value"] for g in worst["groups"]
    ]
    assert shown.count() >= 1
    # Named as the form names them, not by their keys.
    names = [row[0] for row in _table(page, "[data-item]")]
    assert names == [g["keys"][0]["label"] for g in worst["groups"]]
    assert "Greeted politely?" in names and "greeted" not in names
    weeks = live.api("manager", "GET", "/analytics/comparison?measure=score&group_by=week&sort=key")
    assert page.locator("[data-week]").count() == len(weeks["groups"]) >= 1
    desk.look("dashboard")
    for chart_code in CHART_CODE:
        assert _loaded(page, chart_code), chart_code  # loaded for the dashboard's charts

    # Filters go to the URL (a shared link shows the same view).
    page.get_by_label("Own or competitor").select_option("own")
    desk.click(page.get_by_role("button", name="Apply filters"))
    assert "relation=own" in page.url
    assert {row[0] for row in _table(page, "[data-location-row]")} == {
        "Acme New York hotline",
        "Acme Prague Centre",
        "Acme Brno",
    }
    shared = desk.context.new_page()
    shared.goto(page.url)
    shared.wait_for_selector("body[data-ready=true] [data-location-row]")
    assert len(_table(shared, "[data-location-row]")) == 3
    shared.close()

    # Drill-down: brand → region → location → report with its score explained, under the dashboard's filters.
    desk.go("#/dashboard?channel=call")
    desk.click(page.locator("[data-brand-row]").filter(has_text="Acme").get_by_role("link"))
    assert page.get_by_role("heading", name="Regions of Acme").is_visible()
    desk.look("dashboard-brand")
    desk.click(page.get_by_role("link", name="Bohemia"))
    assert "region=Bohemia" in page.url
    assert [row[0] for row in _table(page, "[data-location-row]")] == ["Acme Prague Centre"]
    desk.click(page.get_by_role("link", name="Acme Prague Centre"))
    assert page.get_by_role("heading", name="Approved reports: Acme Prague Centre").is_visible()
    assert page.locator("[data-report]").count() == 3
    assert "Europe/Prague" in page.locator("[data-report]").first.inner_text()
    # The report list has the dashboard's filters, says so, and the way back keeps them.
    listed = page.url.split("#", 1)[1]
    assert "channel=call" in listed and "region=Bohemia" in listed
    assert page.locator("[data-report-filters]").inner_text() == "Under the dashboard's filters: Channel: Call"
    back = page.get_by_role("link", name="Back to the dashboard").get_attribute("href") or ""
    assert "channel=call" in back and "region=Bohemia" in back
    desk.look("dashboard-location-reports")
    # The list honours each filter: no e-mail report and none started on a day to come.
    desk.go("#" + listed.replace("channel=call", "channel=email"))
    assert page.locator("[data-report]").count() == 0
    assert page.get_by_text("Nothing matches these filters.").is_visible()
    assert page.locator("[data-filter=channel]").inner_text() == "Channel: E-mail"
    desk.go("#" + listed + "&date_from=2099-01-01")
    assert page.locator("[data-report]").count() == 0
    assert page.locator("[data-filter=date_from]").inner_text() == "From day: 2099-01-01"
    desk.go("#" + listed + "&date_to=2099-01-01")
    assert page.locator("[data-report]").count() == 3
    desk.go("#" + listed)
    desk.click(page.locator("[data-report]").first.get_by_role("link", name="Open"))
    assert page.get_by_role("heading", name="Report: Acme Prague Centre").is_visible()
    assert page.locator("[data-score]").is_visible()
    assert page.get_by_role("button", name="Approve").count() == 0  # a manager only reads
    assert page.get_by_role("heading", name="Evidence flags").count() == 0
    desk.look("dashboard-report")

    # Export XLSX: the file's numbers are the page's.
    desk.go("#/dashboard")
    shown_brands = _table(page, "[data-brand-row]")
    shown_locations = _table(page, "[data-location-row]")
    desk.watch_progress()
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Export XLSX").click()
    assert "Export XLSX …" in desk.progress_seen()  # the export shows its progress too
    path = tmp_path / "scores.xlsx"
    download_info.value.save_as(path)
    sheet = openpyxl.load_workbook(path).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[0][:10] == [
        "Level",
        "Brand",
        "Own or competitor",
        "Region",
        "Location",
        "Reports",
        "Mean",
        "95% low",
        "95% high",
        "Rank",
    ]
    exported_brands = {r[1]: r for r in rows[1:] if r[0] == "Brand"}
    exported_locations = {r[4]: r for r in rows[1:] if r[0] == "Location"}
    assert len(exported_brands) == len(shown_brands) and len(exported_locations) == len(shown_locations)
    for row in shown_brands:
        out = exported_brands[row[0]]
        assert [out[5], out[6], out[7], out[8], out[9]] == [
            int(row[2]),
            _number(row[3]),
            _number(row[4]),
            _number(row[5]),
            row[6],
        ]
    for row in shown_locations:
        out = exported_locations[row[0]]
        assert out[5] == int(row[3]) and out[9] == row[7]
        assert [out[6], out[7], out[8]] == [_number(x) for x in row[4:7]]
        if row[4] == "not enough data":
            assert out[10] == "not enough data"
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Export CSV").click()
    csv_text = Path(download_info.value.path()).read_text(encoding="utf-8-sig")
    assert csv_text.splitlines()[0].startswith("Level,Brand,Own or competitor,Region,Location,Reports,Mean")
    assert len(csv_text.splitlines()) == 1 + len(shown_brands) + len(shown_locations)

    # Print: the print stylesheet leaves out navigation and buttons; the charts' numbers are in the PDF.
    page.wait_for_selector("[data-panels=ready]")
    pdf = tmp_path / "dashboard.pdf"
    page.emulate_media(media="print")
    page.pdf(path=str(pdf), format="A4", print_background=True)
    page.emulate_media(media="screen")
    (ARTIFACTS / "console-dashboard.pdf").write_bytes(pdf.read_bytes())
    text = "\n".join(p.extract_text() for p in PdfReader(str(pdf)).pages)
    assert "Dashboard: Acme Telecom" in text and "Printed" in text
    for name in ("Acme Prague Centre", "Rival hotline", "Acme Brno", "not enough data"):
        assert name in text, name
    assert "Export XLSX" not in text and "Apply filters" not in text and "Log out" not in text


def _api_ranks(groups: list[dict[str, Any]]) -> dict[str, str]:
    """The rank each group of one comparison response should show: its tier, "=" when another group shares it."""
    tiers = [g["tier"] for g in groups]
    return {
        g["keys"][0]["value"]: "–" if g["tier"] is None else f"{'=' if tiers.count(g['tier']) > 1 else ''}{g['tier']}"
        for g in groups
    }


def _shown_ranks(page: Any, attribute: str, column: int) -> dict[str, str]:
    ranks: dict[str, str] = page.evaluate(
        """([attribute, column]) => Object.fromEntries([...document.querySelectorAll(`[${attribute}]`)].map(
        (row) => [row.getAttribute(attribute), row.querySelectorAll('td')[column].innerText.trim()]))""",
        [attribute, column],
    )
    return ranks


def test_manager_dashboard_ranks_are_the_apis_tiers(desk: Desk, live: Live) -> None:
    """The rank column shows the comparison API's tiers for the same filters (shared tiers as "=n"), with a
    legend naming the API's test and correction; the browser applies no interval rule of its own."""
    _scored_world(live)
    page = desk.login("manager")
    comparison = "/analytics/comparison?measure=score&limit=500"
    views = [
        ("#/dashboard", ""),
        ("#/dashboard?relation=own", "&relation=own"),
        ("#/dashboard?channel=call&min_sample_size=2", "&channel=call&min_sample_size=2"),
    ]
    by_brand = live.api("manager", "GET", f"{comparison}&group_by=brand&group_by=relation")
    acme = next(g["keys"][0]["value"] for g in by_brand["groups"] if g["keys"][0]["label"] == "Acme")
    views.append((f"#/dashboard?brand={acme}", f"&brand_id={acme}"))
    seen: set[str] = set()
    for route, filters in views:
        desk.go(route)
        brands = live.api(
            "manager", "GET", f"{comparison}&group_by=brand&group_by=relation{filters.split('&brand_id')[0]}"
        )
        locations = live.api("manager", "GET", f"{comparison}&group_by=location{filters}")
        assert _shown_ranks(page, "data-brand-row", 6) == _api_ranks(brands["groups"]), route
        shown = _shown_ranks(page, "data-location-row", 7)
        assert shown == _api_ranks(locations["groups"]), route
        seen.update(shown.values())
        assert (
            "Welch's two-sided t-test" in locations["method"] and "Holm's step-down correction" in locations["method"]
        )
    # The demo data give shared and unranked groups both (the legend's "=n" and "–").
    assert "–" in seen and any(rank.startswith("=") for rank in seen), seen
    desk.go("#/dashboard")
    legend = page.locator("[data-rank-legend]").inner_text()
    assert "Welch" in legend and "Holm" in legend and "=2" in legend and "overlap" not in legend
    desk.look("dashboard-tiers")


def test_manager_sees_waiting_time_curves_own_against_competitors(desk: Desk, live: Live) -> None:
    """Kaplan–Meier curves of time to answer, own (solid) vs competitors (dashed), with their numbers as tables."""
    _scored_world(live)
    page = desk.login("manager")
    page.wait_for_selector("[data-panels=ready]")
    api = live.api(
        "manager", "GET", "/analytics/comparison?measure=time_to_answer&group_by=relation&sort=key&curve=true"
    )
    figures = {g["keys"][0]["value"]: g["figure"] for g in api["groups"]}
    section = page.locator("[data-km='time_to_answer']")
    assert section.get_by_role("heading", name="Waiting times: own vs competitors (Kaplan–Meier)").is_visible()
    chart = section.locator("svg.chart")
    assert chart.get_attribute("aria-label").startswith("Time to answer: share still waiting")
    assert chart.locator("[data-curve]").count() == 2
    assert chart.locator("[data-band]").count() == 2  # each with its 95% band
    # Told apart by line style, not colour: solid own, dashed competitors (the legend shows the same).
    own_line = chart.locator("[data-curve='Own']")
    rival_line = chart.locator("[data-curve='Competitor']")
    assert own_line.get_attribute("stroke-dasharray") is None
    assert rival_line.get_attribute("stroke-dasharray") in ("7 4", "7,4")
    assert section.locator("[data-legend] .legend-dashed").count() == 1
    for line, curve in ((own_line, figures["own"]["curve"]), (rival_line, figures["competitor"]["curve"])):
        # Steps: from each answer time across at the old share, then straight down (never a slope).
        points = [
            (float(x), float(y))
            for x, y in re.findall(r"(-?[\d.]+),(-?[\d.]+)", line.locator("path").get_attribute("d") or "")
        ]
        assert len(points) == 2 * len(curve) - 1
        for (x0, y0), (x1, y1) in itertools.pairwise(points):
            assert x0 == pytest.approx(x1, abs=0.01) or y0 == pytest.approx(y1, abs=0.01)
        # Down the chart (waiting falls) as far as its last share.
        assert points[0][1] <= points[-1][1]
    rows = {row[0]: row for row in _table(page, "[data-km-group]")}
    assert rows["Own"][1:3] == [str(figures["own"]["n"]), str(figures["own"]["events"])] == ["7", "7"]
    assert _number(rows["Own"][3]) == pytest.approx(figures["own"]["value"], abs=0.05)
    assert rows["Competitor"][1] == "3"
    # Every step of the curve as numbers.
    steps = section.locator("[data-km-steps='competitor']")
    steps.locator("summary").click()
    shown = _table(page, "[data-km-steps='competitor'] [data-step]")
    assert len(shown) == len(figures["competitor"]["curve"])
    for row, point in zip(shown, figures["competitor"]["curve"], strict=True):
        assert _number(row[0]) == pytest.approx(point["time"], abs=0.005)
        assert row[1] == f"{point['survival'] * 100:.1f} %" and row[3] == str(point["at_risk"])
    desk.look("dashboard-waiting-times")

    # Another waiting time: in the URL, so a shared link shows it; no calls had a chat, so no curve.
    before = desk.renders()
    page.get_by_label("Measure").nth(1).select_option("chat_reply_time")
    desk.settle(before)
    page.wait_for_selector("[data-panels=ready] [data-km='chat_reply_time']")
    assert "km=chat_reply_time" in page.url
    assert page.locator("[data-km] svg").count() == 0


def test_manager_filters_by_campaign_waves_and_dates_apply_to_every_figure(desk: Desk, live: Live) -> None:
    """The main figures come from the comparison API with the filters in the URL: a campaign (and its waves)
    keeps only its reports, in the brands, the locations and the panels alike; days outside the data, none."""
    _scored_world(live)
    plan = _hotline_wave(live)
    (report,) = live.api("coordinator", "GET", f"/reports?task_id={plan['current']['id']}")["items"]
    live.api("coordinator", "POST", f"/reports/{report['id']}/approve", json={})
    page = desk.login("manager")
    page.wait_for_selector("[data-panels=ready]")
    assert len(_table(page, "[data-location-row]")) == 5  # the hotline's report counts too

    page.get_by_label("Campaign").select_option(label="Hotline reach")
    desk.click(page.get_by_role("button", name="Apply filters"))
    assert f"campaign_id={plan['campaign']['id']}" in page.url
    locations = _table(page, "[data-location-row]")
    assert [(row[0], row[3], row[4]) for row in locations] == [("Acme Hotline", "1", "not enough data")]
    assert [(row[0], row[2]) for row in _table(page, "[data-brand-row]")] == [("Acme", "1")]
    page.wait_for_selector("[data-panels=ready]")
    assert [row[3] for row in _table(page, "[data-week]")] == ["1"]  # the panels are filtered too
    assert [row[1] for row in _table(page, "[data-km-group]")] == ["1"]

    # The wave range (the chosen campaign's waves), also in the URL; a shared link shows the same.
    page.get_by_label("From wave").select_option(plan["wave"]["id"])
    page.get_by_label("To wave").select_option(plan["wave"]["id"])
    desk.click(page.get_by_role("button", name="Apply filters"))
    assert f"wave_from={plan['wave']['id']}" in page.url and f"wave_to={plan['wave']['id']}" in page.url
    assert [row[0] for row in _table(page, "[data-location-row]")] == ["Acme Hotline"]
    desk.look("dashboard-filtered")
    shared = desk.context.new_page()
    shared.goto(page.url)
    shared.wait_for_selector("body[data-ready=true] [data-location-row]")
    assert [row[0] for row in _table(shared, "[data-location-row]")] == ["Acme Hotline"]
    assert shared.get_by_label("From wave").input_value() == plan["wave"]["id"]
    shared.close()

    # A wave range without a campaign: every campaign's waves are offered, named with their campaign.
    desk.go("#/dashboard")
    assert page.get_by_label("Campaign").input_value() == ""
    offered = page.get_by_label("From wave").locator("option").all_inner_texts()
    assert f"Hotline reach · {plan['wave']['name']} ({plan['wave']['starts_on']})" in offered
    page.get_by_label("From wave").select_option(plan["wave"]["id"])
    page.get_by_label("To wave").select_option(plan["wave"]["id"])
    desk.click(page.get_by_role("button", name="Apply filters"))
    assert f"wave_from={plan['wave']['id']}" in page.url and "campaign_id" not in page.url
    assert [row[0] for row in _table(page, "[data-location-row]")] == ["Acme Hotline"]
    api = live.api(
        "manager",
        "GET",
        f"/analytics/comparison?measure=score&group_by=location&wave_from={plan['wave']['id']}"
        f"&wave_to={plan['wave']['id']}",
    )
    assert [g["keys"][0]["label"] for g in api["groups"]] == ["Acme Hotline"]
    assert page.get_by_label("To wave").input_value() == plan["wave"]["id"]
    desk.look("dashboard-waves-without-campaign")

    # Days before any report: nothing, said in words.
    before = (dt.date.today() - dt.timedelta(days=2)).isoformat()
    desk.go(f"#/dashboard?date_to={before}")
    assert page.get_by_label("To day").input_value() == before
    assert page.get_by_text("No scores for these filters.").is_visible()
    assert page.locator("[data-location-row]").count() == 0
    api = live.api("manager", "GET", f"/analytics/comparison?measure=score&group_by=brand&date_to={before}")
    assert api["groups"] == []


def test_manager_sees_the_score_across_weeks_months_and_waves_with_the_target_drawn(desk: Desk, live: Live) -> None:
    """The trend panel draws each period's mean on its 95% interval with the target as a dashed rule, lists
    the gap to it, and is chosen by wave, week or month (in the URL); its numbers are the comparison API's."""
    _scored_world(live)
    plan = _hotline_wave(live)
    (report,) = live.api("coordinator", "GET", f"/reports?task_id={plan['current']['id']}")["items"]
    live.api("coordinator", "POST", f"/reports/{report['id']}/approve", json={})
    live.api("manager", "POST", "/analytics/targets", json={"measure": "score", "target": 60})
    page = desk.login("manager")
    page.wait_for_selector("[data-panels=ready] [data-trend='week']")
    for by, route in (("week", None), ("month", "#/dashboard?trend=month"), ("wave", None)):
        if route:
            desk.go(route)
        elif by == "wave":
            before = desk.renders()
            page.get_by_label("Periods").select_option("wave")
            desk.settle(before)
            assert "trend=wave" in page.url
        page.wait_for_selector(f"[data-panels=ready] [data-trend='{by}']")
        api = live.api("manager", "GET", f"/analytics/comparison?measure=score&group_by={by}&sort=key&limit=60")
        groups = [g for g in api["groups"] if g["keys"][0]["value"]]
        assert groups, by
        section = page.locator(f"[data-trend='{by}']")
        chart = section.locator("svg.chart")
        assert chart.get_attribute("aria-label").startswith("Score across")
        rows = _table(page, f"[data-{by}]")
        assert len(rows) == len(groups)
        periods = chart.evaluate(
            "(svg) => [...new Set([...svg.querySelectorAll('[data-period]')].map((m) => m.dataset.period))]"
        )
        target_y = set()
        for row, group in zip(rows, groups, strict=True):
            figure, target = group["figure"], group["target"]
            expected = group["keys"][0]["label"] if by == "wave" else group["keys"][0]["value"]
            assert row[0] == expected
            assert row[3] == str(figure["n"])
            assert target is not None and target["target"] == 60
            words = {"meets": "meets it", "misses": "misses it", "uncertain": "uncertain", None: "–"}[target["status"]]
            gap = re.fullmatch(rf"target 60\.0, gap (.+) \({words}\)", row[4])
            assert gap is not None, row[4]
            if target["gap"] is None:
                assert gap.group(1) == "–"
            else:
                assert _number(gap.group(1)) == pytest.approx(target["gap"], abs=0.05)
            mark = chart.locator(f"[data-period='{expected}']")
            (target_rule,) = mark.and_(chart.locator("[data-target='60']")).all()  # the target in the period's column
            assert target_rule.evaluate("(line) => getComputedStyle(line).strokeDasharray") == "5px, 3px"  # dashed
            target_y.add(round(_centre_y(target_rule), 1))
            dot = mark.and_(chart.locator("[data-value]"))
            if figure["enough_data"]:
                assert _number(row[1]) == pytest.approx(figure["value"], abs=0.05)
                assert float(dot.get_attribute("data-value") or "nan") == pytest.approx(figure["value"])
                (interval,) = mark.and_(chart.locator("[data-interval]")).all()
                box = interval.bounding_box()
                assert box and box["y"] - 0.5 <= _centre_y(dot) <= box["y"] + box["height"] + 0.5  # on its interval
                # Above the dashed target when it beats it, below when it misses it.
                assert (_centre_y(dot) < _centre_y(target_rule)) is (figure["value"] > 60)
            else:
                assert row[1] == "not enough data"
                assert dot.count() == 0 and mark.and_(chart.locator("[data-not-enough]")).count() == 1
        assert periods == [g["keys"][0]["label"] if by == "wave" else g["keys"][0]["value"] for g in groups]
        assert len(target_y) == 1  # one target (60) for every period: one height, the y axis's 60
        (tick,) = chart.locator("text").filter(has_text=re.compile(r"^60$")).all()
        assert target_y.pop() == pytest.approx(_centre_y(tick), abs=2)
        assert section.locator("[data-legend='target'] .legend-dashed").count() == 1
        desk.look(f"dashboard-trend-{by}")
    assert [row[0] for row in _table(page, "[data-wave]")] == [plan["wave"]["name"]]


def test_a_manager_reaches_neither_coordinator_pages_nor_another_organisation(desk: Desk, live: Live) -> None:
    other = _scored_world(live)
    page = desk.login("manager")
    for route in ("#/review", "#/campaigns", "#/forms", "#/setup", "#/users"):
        desk.go(route)
        assert page.get_by_role("heading", name="Not available to your role").is_visible(), route
    desk.look("manager-forbidden")
    # The API refuses them whatever the page does.
    for path in ("/reports/review-queue", "/users"):
        live.api("manager", "GET", path, expect=403)
    # The audit log a manager may read (their organisation's) holds nothing of another organisation.
    assert other["other_org"] not in repr(live.api("manager", "GET", "/audit?limit=500"))
    live.api(
        "manager",
        "POST",
        "/forms/import",
        expect=403,
        data={"name": "x", "channel": "call"},
        files={"file": ("x.xlsx", GOOD_XLSFORM, XLSX)},
    )

    # Another organisation's data: by URL and by API alike, not found, and nothing of it shown.
    desk.go(f"#/dashboard?organisation_id={other['other_org']}")
    assert page.get_by_role("heading", name="Not found").is_visible()
    desk.go(f"#/dashboard/locations/{other['secret_location']}")
    assert page.get_by_role("heading", name="Not found").is_visible()
    assert "Secret" not in page.content()
    live.api("manager", "GET", f"/analytics/location-scores?organisation_id={other['other_org']}", expect=404)
    live.api("manager", "GET", f"/locations/{other['secret_location']}", expect=404)
    # The other organisation's manager sees their own (empty) programme, not Acme's.
    desk.click(page.get_by_role("button", name="Log out"))
    page = desk.login("other_manager")
    assert page.get_by_role("heading", name="Dashboard: Other Org").is_visible()
    assert "Acme" not in page.locator("main").inner_text()


def test_an_admin_in_german_creates_a_manager_and_deactivates_them(desk: Desk, live: Live) -> None:
    """The console's own texts in German (the choice kept for the next visit); the admin's Users page creates a
    user with a role and organisation, filters the list, changes their role, and deactivates them, after which they
    cannot log in."""
    page = desk.login("admin")
    before = desk.renders()
    page.get_by_label("Language").select_option("de")
    desk.settle(before)
    assert page.evaluate("() => document.documentElement.lang") == "de"
    assert [a.inner_text() for a in page.locator("#nav a").all()][:3] == ["Prüfung", "Kampagnen", "Formulare"]
    desk.go("#/users")
    assert page.get_by_role("heading", name="Benutzer", exact=True).is_visible()
    new = page.locator("form.card").filter(has=page.get_by_role("heading", name="Neuer Benutzer"))
    new.get_by_label("E-Mail").fill("new_manager@example.test")
    new.get_by_label("Name").fill("Neue Managerin")
    new.get_by_label("Passwort").fill(PASSWORD)
    new.get_by_label("Rolle").select_option("manager")
    new.get_by_label("Organisation").select_option(live.world["organisation_id"])
    desk.click(new.get_by_role("button", name="Anlegen"))
    assert page.locator("[data-flash]").inner_text() == "Gespeichert."
    (user,) = live.api("admin", "GET", "/users?q=new_manager")["items"]
    assert (user["role"], user["organisation_id"], user["is_active"]) == (
        "manager",
        live.world["organisation_id"],
        True,
    )
    desk.go("#/users?q=new_manager")
    row = page.locator(f"[data-user='{user['id']}']")
    assert page.locator("tr[data-user]").count() == 1
    assert _table(page, "tr[data-user]")[0][:5] == [
        "Neue Managerin",
        "new_manager@example.test",
        "Manager",
        "Acme Telecom",
        "Ja",
    ]
    desk.look("users-de")
    # Editing the user: a new role, whose organisation rule the page follows and the API's refusals are shown.
    row.get_by_role("button", name="Bearbeiten").click()
    editor = page.locator(f"form[data-edit-user='{user['id']}']")
    assert editor.get_by_role("heading", name="Neue Managerin bearbeiten").is_visible()
    assert editor.get_by_label("Organisation").is_enabled()
    editor.get_by_label("Organisation").select_option("")
    editor.get_by_role("button", name="Speichern").click()
    refused = page.locator("[role=alert][data-code='validation.failed']")
    refused.wait_for()
    assert refused.locator("[data-field=organisation_id]").count() == 1
    editor.get_by_label("Rolle").select_option("coordinator")
    assert editor.get_by_label("Organisation").is_disabled()  # only managers belong to an organisation
    desk.click(editor.get_by_role("button", name="Speichern"))
    assert page.locator("[data-flash]").inner_text() == "Gespeichert."
    assert _table(page, "tr[data-user]")[0][2:4] == ["Koordinator", "–"]
    changed = live.api("admin", "GET", f"/users/{user['id']}")
    assert (changed["role"], changed["organisation_id"]) == ("coordinator", None)
    # The only admin cannot step down: the API's refusal is shown, and nothing changes.
    me = live.api("admin", "GET", "/auth/me")
    desk.go(f"#/users?q={me['email']}")
    page.locator(f"[data-user='{me['id']}']").get_by_role("button", name="Bearbeiten").click()
    own = page.locator(f"form[data-edit-user='{me['id']}']")
    own.get_by_label("Rolle").select_option("coordinator")
    own.get_by_role("button", name="Speichern").click()
    page.locator("[role=alert][data-code='user.last_admin']").wait_for()
    assert live.api("admin", "GET", "/auth/me")["role"] == "admin"
    desk.go("#/users?q=new_manager")
    row = page.locator(f"[data-user='{user['id']}']")
    desk.click(row.get_by_role("button", name="Deaktivieren"))
    assert _table(page, "tr[data-user]")[0][4] == "Nein"
    assert page.locator(f"[data-user='{user['id']}']").get_by_role("button", name="Reaktivieren").is_visible()
    assert live.api("admin", "GET", f"/users/{user['id']}")["is_active"] is False
    refused = httpx.post(
        f"{live.base}/auth/login", json={"email": "new_manager@example.test", "password": PASSWORD}, timeout=30
    )
    assert refused.status_code in (401, 403)
    # The language is kept for the next visit.
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    assert page.get_by_role("heading", name="Benutzer", exact=True).is_visible()


def test_a_shopper_cannot_use_the_console(desk: Desk, live: Live) -> None:
    page = desk.page
    page.goto("/console/")
    page.wait_for_selector("body[data-ready=true]")
    desk.look("login")
    page.get_by_label("E-mail").fill("shopper@example.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("alert").filter(has_text="The console is for coordinators, managers and admins").wait_for()
    assert page.evaluate("() => localStorage.getItem('fieldscore.console.session')") is None
    desk.look("login-shopper-refused")
    # Even with a token in hand, the API gives a shopper neither console's data.
    for path in ("/reports/review-queue", "/analytics/location-scores", "/campaigns", "/users", "/organisations"):
        live.api("shopper", "GET", path, expect=403)


def test_generating_a_wave_says_which_tasks_were_already_over_and_refuses_one_that_is_over(
    desk: Desk, live: Live
) -> None:
    """A wave generated after it started says how many of its tasks were born missing; a wave that is over
    is refused with its problem code, and nothing is created."""
    campaign = live.api(
        "coordinator",
        "POST",
        "/campaigns",
        json={
            "organisation_id": live.world["organisation_id"],
            "name": "Late start",
            "location_ids": [live.world["call_location"]],
            "forms": {"call": live.world["forms"]["call"]["version_id"]},
            "slot_designs": {
                "call": {
                    "dayparts": [{"key": "day", "start_hour": 0, "end_hour": 24}],
                    "day_types": ["weekday", "saturday", "sunday"],
                    "probes_per_slot": 2,
                }
            },
        },
    )
    today = dt.date.today()
    waves = [
        live.api(
            "coordinator",
            "POST",
            f"/campaigns/{campaign['id']}/waves",
            json={"name": name, "starts_on": (today + start).isoformat(), "ends_on": (today + end).isoformat()},
        )
        for name, start, end in (
            ("Over", dt.timedelta(days=-60), dt.timedelta(days=-40)),
            ("Under way", dt.timedelta(days=-20), dt.timedelta(days=20)),
        )
    ]
    page = desk.login("coordinator")
    desk.go(f"#/campaigns/{campaign['id']}/waves/{waves[1]['id']}")
    desk.click(page.get_by_role("button", name="Generate tasks"))
    assert page.get_by_text("6 tasks created, 0 already there.").is_visible()
    over = int(re.search(r"(\d+) of them had already ended", page.locator("[data-result]").inner_text()).group(1))
    tasks = live.api("coordinator", "GET", f"/tasks?wave_id={waves[1]['id']}&limit=100")["items"]
    ended = sum(dt.datetime.fromisoformat(t["window_end"]) <= dt.datetime.now(dt.timezone.utc) for t in tasks)
    assert 0 < over <= ended  # (a window may end between the two looks)
    desk.go(f"#/campaigns/{campaign['id']}/waves/{waves[0]['id']}")
    page.get_by_role("button", name="Generate tasks").click()
    refused = page.locator("[data-code='wave.past']")
    refused.wait_for()
    assert "is over" in refused.inner_text()
    assert live.api("coordinator", "GET", f"/tasks?wave_id={waves[0]['id']}")["total"] == 0

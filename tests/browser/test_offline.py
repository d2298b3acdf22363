"""Offline-first: the app loads with no network, reports wait in the outbox and go when the network is back,
failures on the way lose nothing and duplicate nothing, and closing the browser loses nothing."""

from __future__ import annotations

import json
import time

import pytest

from tests.browser.conftest import PASSWORD, Phone, persistent_phone
from tests.browser.steps import answer_call_questions, check_screen, tap_call


def fill_call(page) -> None:
    tap_call(page, ["dialled", "answered", "ended"])
    answer_call_questions(page)


def open_task_form(page, task_id: str) -> None:
    page.get_by_role("link", name="My tasks").click()
    page.locator(f"[data-task='{task_id}'] a").click()
    page.get_by_role("link", name="Start report").click()
    page.locator("[data-tap=dialled]").wait_for()


def test_offline_reload_fill_submit_then_network_back_sends_exactly_one_without_reload(phone, live):
    task = live.task()
    page = phone.login()
    phone.wait_for_service_worker()
    page.locator(f"[data-task='{task['id']}'] a").click()  # the task and its form are now on the phone
    page.get_by_role("link", name="Start report").wait_for()

    phone.context.set_offline(True)
    page.goto("/app/#/tasks")  # a cold load with no network: from the service worker
    page.wait_for_selector("body[data-ready=true]")
    page.get_by_text("Offline: showing the list as of").wait_for()
    check_screen(page, "10-offline-tasks")
    open_task_form(page, task["id"])
    fill_call(page)
    page.get_by_role("button", name="Send report").click()
    page.locator("[data-state=waiting]").wait_for()
    assert "1 waiting to send" in page.locator("#status").inner_text()
    check_screen(page, "11-waiting-to-send")
    assert live.reports(task["id"]) == []
    reloads = page.evaluate("() => performance.getEntriesByType('navigation').length")

    phone.context.set_offline(False)  # the browser says "online": the outbox sends by itself
    page.locator("[data-state=sent]").wait_for(timeout=15000)
    assert page.evaluate("() => performance.getEntriesByType('navigation').length") == reloads
    reports = live.reports(task["id"])
    assert len(reports) == 1 and reports[0]["answers"]["friendliness"] == 5
    assert [e["event"] for e in reports[0]["answers"]["call_timer"]["events"]] == ["dialled", "answered", "ended"]
    # The status line is redrawn beside the report screen (refreshStatus is not awaited): wait for it.
    page.locator("#status").filter(has_text="0 reports only on this phone").wait_for()


def test_server_failures_are_retried_without_loss_or_duplicate_and_a_422_returns_to_the_question(
    phone_without_worker, live
):
    task = live.task()
    page = phone_without_worker.login()
    faults = {"attachments": ["500"], "reports": ["503", "reset", "stored-then-timeout"]}
    seen = {"attachments": 0, "reports": 0}

    def fault(route, kind):
        if route.request.method != "POST":
            return route.continue_()
        seen[kind] += 1
        plan = faults[kind].pop(0) if faults[kind] else None
        if plan in ("500", "503"):
            return route.fulfill(
                status=int(plan),
                content_type="application/problem+json",
                body=json.dumps({"status": int(plan), "title": "down", "code": "server.down"}),
            )
        if plan == "reset":
            return route.abort("connectionreset")
        if plan == "stored-then-timeout":  # the server stores it; its answer never reaches the phone
            route.fetch()
            return route.abort("timedout")
        return route.continue_()

    page.route("**/attachments", lambda route: fault(route, "attachments"))
    page.route("**/reports", lambda route: fault(route, "reports"))
    page.locator(f"[data-task='{task['id']}'] a").click()
    page.get_by_role("link", name="Start report").click()
    page.locator("[data-tap=dialled]").wait_for()
    fill_call(page)
    page.locator("[data-key=call_log] input[type=file]").set_input_files(
        {"name": "log.png", "mimeType": "image/png", "buffer": _png()}
    )
    page.locator("[data-key=call_log] img").wait_for()
    page.get_by_role("button", name="Send report").click()
    page.locator("[data-state=waiting]").wait_for()
    # Backoff 2, 4, 8, 16 s (±20 %): the retries run by themselves.
    page.locator("[data-state=sent]").wait_for(timeout=60000)
    assert seen["reports"] >= 4 and seen["attachments"] >= 2
    reports = live.reports(task["id"])
    assert len(reports) == 1 and reports[0]["revision"] == 1
    assert "call_log" in reports[0]["answers"]

    # A 422 the server really gives (the delivery altered on the way to break a rule) goes back to the form.
    second = live.task(location="near_location")
    page.unroute("**/reports")

    def break_it(route):
        if route.request.method != "POST":
            return route.continue_()
        body = json.loads(route.request.post_data)
        body["answers"]["friendliness"] = 9  # the scale is 1–5
        return route.fulfill(response=route.fetch(post_data=json.dumps(body)))

    page.route("**/reports", break_it)
    open_task_form(page, second["id"])
    fill_call(page)
    page.get_by_role("button", name="Send report").click()
    page.locator("[data-state=draft]").wait_for()
    problem = page.locator("[data-key=friendliness] .problem")
    problem.wait_for()
    assert "out of range" in problem.inner_text()
    assert page.locator(".question.invalid").count() == 1
    check_screen(page, "12-server-problem-at-question")
    assert live.reports(second["id"]) == []
    page.unroute("**/reports")
    page.locator("[data-key=friendliness]").get_by_label("3", exact=True).check()
    page.get_by_role("button", name="Send report").click()
    page.locator("[data-state=sent]").wait_for()
    assert [r["answers"]["friendliness"] for r in live.reports(second["id"])] == [3]


def _png() -> bytes:
    import base64

    return base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
    )


def test_closing_and_reopening_the_browser_keeps_drafts_and_the_outbox(playwright, live, tmp_path):
    first, second = live.task(), live.task(location="near_location")
    profile = tmp_path / "profile"
    device = persistent_phone(playwright, live, profile)
    page = device.login()
    device.wait_for_service_worker()
    for task in (first, second):
        page.locator(f"[data-task='{task['id']}'] a").click()
        page.get_by_role("link", name="Start report").wait_for()
        page.get_by_role("link", name="My tasks").click()
    device.context.set_offline(True)
    open_task_form(page, first["id"])
    fill_call(page)
    page.get_by_role("button", name="Send report").click()
    page.locator("[data-state=waiting]").wait_for()
    waiting_id = page.evaluate("() => location.hash.split('/').pop()")
    open_task_form(page, second["id"])
    page.locator("[data-key=person_answered]").get_by_label("No", exact=True).check()
    page.locator("[data-key=comments] textarea").fill("Rang out twice")
    draft_id = page.evaluate("() => location.hash.split('/').pop()")
    assert not device.errors
    device.context.close()  # the browser is closed with no network

    device = persistent_phone(playwright, live, profile)
    page = device.page
    device.context.set_offline(True)
    page.goto(f"/app/#/report/{draft_id}")
    page.wait_for_selector("body[data-ready=true]")
    page.locator("[data-key=comments] textarea").wait_for()
    assert page.locator("[data-key=comments] textarea").input_value() == "Rang out twice"
    assert page.locator("[data-key=person_answered]").get_by_label("No", exact=True).is_checked()
    assert device.state_of(waiting_id) == "waiting"
    page.locator("#status").filter(has_text="2 reports only on this phone").wait_for()  # drawn beside the screen
    device.context.set_offline(False)
    deadline = time.monotonic() + 20
    while device.state_of(waiting_id) != "sent" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert device.state_of(waiting_id) == "sent"
    assert len(live.reports(first["id"])) == 1 and live.reports(second["id"]) == []
    errors = device.errors
    device.context.close()
    assert not errors


def test_logout_with_unsent_reports_warns_and_keeps_them_for_their_shopper(phone, live):
    task = live.task()
    page = phone.login()
    phone.wait_for_service_worker()
    page.locator(f"[data-task='{task['id']}'] a").click()
    page.get_by_role("link", name="Start report").wait_for()
    phone.context.set_offline(True)
    open_task_form(page, task["id"])
    fill_call(page)
    page.get_by_role("button", name="Send report").click()
    page.locator("[data-state=waiting]").wait_for()
    report_id = page.evaluate("() => location.hash.split('/').pop()")

    page.get_by_role("link", name="Settings").click()
    page.get_by_text("1 unsent report stays on this phone").wait_for()
    check_screen(page, "16-settings")
    messages = []
    page.once("dialog", lambda dialog: (messages.append(dialog.message), dialog.accept()))
    page.get_by_role("button", name="Log out").click()
    page.get_by_role("heading", name="Log in").wait_for()
    assert "1 report is not sent yet" in messages[0]

    # Logging in needs the network: offline it fails with a clear message.
    page.get_by_label("E-mail").fill("other_shopper@example.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("alert").filter(has_text="No connection").wait_for()
    phone.context.set_offline(False)

    # Another shopper on the same phone: the report is kept, never sent under their account.
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="My tasks").wait_for()
    page.get_by_role("link", name="On this phone").click()
    page.get_by_text("1 report of another shopper is kept on this phone").wait_for()
    check_screen(page, "13-another-shoppers-report-kept")
    time.sleep(1)
    assert live.reports(task["id"]) == [] and phone.state_of(report_id) == "waiting"
    page.get_by_role("link", name="Settings").click()
    page.get_by_role("button", name="Log out").click()
    page.get_by_role("heading", name="Log in").wait_for()

    phone.login("shopper")  # its own shopper is back: it goes
    deadline = time.monotonic() + 20
    while phone.state_of(report_id) != "sent" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert phone.state_of(report_id) == "sent" and len(live.reports(task["id"])) == 1


TOKEN_TTL_S = 8


@pytest.mark.parametrize("live", [{"token_ttl_hours": TOKEN_TTL_S / 3600}], indirect=True)
def test_a_login_that_expires_while_reports_wait_asks_to_log_in_again_then_sends(phone, live):
    task = live.task()
    page = phone.login()
    logged_in = time.monotonic()
    phone.wait_for_service_worker()
    page.locator(f"[data-task='{task['id']}'] a").click()
    page.get_by_role("link", name="Start report").wait_for()
    phone.context.set_offline(True)
    open_task_form(page, task["id"])
    fill_call(page)
    page.get_by_role("button", name="Send report").click()
    page.locator("[data-state=waiting]").wait_for()
    report_id = page.evaluate("() => location.hash.split('/').pop()")
    time.sleep(max(0.0, TOKEN_TTL_S + 1 - (time.monotonic() - logged_in)))  # the login has expired now

    phone.context.set_offline(False)  # the outbox tries, the server says 401: asked to log in again
    page.get_by_text("Your login has expired. Log in again to send the 1 report").wait_for(timeout=15000)
    check_screen(page, "14-login-expired")
    assert phone.state_of(report_id) == "waiting" and live.reports(task["id"]) == []
    page.get_by_label("Password").fill(PASSWORD)  # the e-mail is filled in already
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="My tasks").wait_for()
    deadline = time.monotonic() + 20
    while phone.state_of(report_id) != "sent" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert phone.state_of(report_id) == "sent" and len(live.reports(task["id"])) == 1


def test_unsent_reports_exported_to_a_file_are_imported_by_a_coordinator_and_the_phone_later_sends_nothing_twice(
    phone, live, tmp_path
):
    task = live.task()
    page = phone.login()
    phone.wait_for_service_worker()
    page.locator(f"[data-task='{task['id']}'] a").click()
    page.get_by_role("link", name="Start report").wait_for()
    phone.context.set_offline(True)
    open_task_form(page, task["id"])
    fill_call(page)
    page.locator("[data-key=call_log] input[type=file]").set_input_files(
        {"name": "log.png", "mimeType": "image/png", "buffer": _png()}
    )
    page.locator("[data-key=call_log] img").wait_for()
    page.get_by_role("button", name="Send report").click()
    page.locator("[data-state=waiting]").wait_for()
    report_id = page.evaluate("() => location.hash.split('/').pop()")
    page.get_by_role("link", name="On this phone").click()
    page.get_by_text("1 report is only on this phone.").wait_for()
    with page.expect_download() as download:
        page.get_by_role("button", name="Export unsent to a file").click()
    page.get_by_text("1 report saved to a file").wait_for()
    check_screen(page, "17-exported")
    exported = json.loads(open(download.value.path(), encoding="utf-8").read())
    assert [r["id"] for r in exported["reports"]] == [report_id] and len(exported["attachments"]) == 1

    result = live.api("coordinator", "POST", "/reports/import", json=exported)
    assert (result["created"], result["refused"]) == (1, 0)
    phone.context.set_offline(False)  # the phone sends it too: the server already has it, nothing doubles
    deadline = time.monotonic() + 20
    while phone.state_of(report_id) != "sent" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert phone.state_of(report_id) == "sent"
    reports = live.reports(task["id"])
    assert len(reports) == 1 and reports[0]["id"] == report_id and reports[0]["revision"] == 1


# The phone's storage as version 1 of the app left it (no index by state), with the reports it kept.
SEED_VERSION_1 = """([session, reports]) => new Promise((resolve, reject) => {
    localStorage.setItem('fieldscore.session', session);
    const open = indexedDB.open('fieldscore', 1);
    open.onupgradeneeded = () => {
        const db = open.result;
        const store = db.createObjectStore('reports', { keyPath: 'id' });
        store.createIndex('by_shopper', 'shopper_id');
        store.createIndex('by_task', 'task_id');
        db.createObjectStore('blobs', { keyPath: 'sha256' });
        db.createObjectStore('kv');
        for (const report of reports) store.put(report);
    };
    open.onsuccess = () => { open.result.close(); resolve(); };
    open.onerror = () => reject(open.error);
})"""

READ_ALL = """() => new Promise((resolve, reject) => {
    const open = indexedDB.open('fieldscore');
    open.onsuccess = () => {
        const db = open.result;
        const store = db.transaction('reports').objectStore('reports');
        const all = store.getAll();
        all.onsuccess = () => resolve({ version: db.version, indexes: [...store.indexNames], reports: all.result });
        all.onerror = () => reject(all.error);
    };
    open.onerror = () => reject(open.error);
})"""


def test_a_phone_with_version_1_storage_upgrades_keeping_every_report_and_counts_only_the_unsent(phone, live):
    elsewhere = Phone(phone.browser, live)  # a login (for its session) that leaves this phone's storage alone
    session = elsewhere.login().evaluate("() => localStorage.getItem('fieldscore.session')")
    elsewhere.close()
    me = live.world["users"]["shopper"]["id"]
    other = live.world["users"]["other_shopper"]["id"]

    def report(n: int, state: str, shopper: str = me) -> dict:
        stamp = f"2026-01-05T09:{n:02d}:00.000Z"
        return {
            "id": f"00000000-0000-4000-8000-{n:012d}",
            "shopper_id": shopper,
            "task_id": f"task-{n}",
            "task_label": f"Visit {n}",
            "state": state,
            "answers": {"friendliness": n % 5 + 1},
            "created_at": stamp,
            "updated_at": stamp,
            "queued_at": stamp,
            "attempts": 0,
            "next_attempt_at": 0,
        }

    kept = [report(1, "draft"), report(2, "waiting"), report(3, "waiting", other)]
    kept += [report(n, "sent") for n in range(10, 22)]
    page = phone.page
    page.goto("/app/icon.svg")  # the app's origin, without the app opening its storage
    page.evaluate(SEED_VERSION_1, [session, kept])

    # The waiting report stays waiting: its send fails for want of network.
    phone.context.route(
        "**/reports", lambda route: route.abort() if route.request.method == "POST" else route.continue_()
    )
    page.goto("/app/#/tasks")
    page.wait_for_selector("body[data-ready=true]")
    page.locator("#status").filter(has_text="2 reports only on this phone").wait_for()
    assert "1 waiting to send" in page.locator("#status").inner_text()

    stored = page.evaluate(READ_ALL)
    assert stored["version"] == 2 and "by_state" in stored["indexes"]
    by_id = {r["id"]: r for r in stored["reports"]}
    assert sorted(by_id) == sorted(r["id"] for r in kept)
    for before in kept:  # nothing lost or changed but the failed attempt's bookkeeping on the waiting one
        after = by_id[before["id"]]
        assert (after["state"], after["shopper_id"], after["answers"]) == (
            before["state"],
            before["shopper_id"],
            before["answers"],
        ), before["id"]

    page.get_by_role("link", name="On this phone").click()
    page.get_by_text("2 reports are only on this phone.").wait_for()
    page.get_by_text("1 report of another shopper is kept on this phone").wait_for()
    assert page.locator("[data-report]").count() == 14  # this shopper's own, receipts included

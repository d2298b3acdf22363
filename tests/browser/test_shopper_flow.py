"""A shopper's whole test call on a phone: log in, claim from the job board, tap-time the call, attach a photo, send."""

from __future__ import annotations

import hashlib
import time

import httpx

from tests.attachment_samples import PDF
from tests.browser.conftest import (
    camera_jpeg,
    jpeg_size,
    screenshot,
    serious_accessibility_violations,
)
from tests.browser.steps import answer_call_questions, check_screen, tap_call


def test_claim_fill_with_tap_timer_and_photo_then_the_server_holds_exactly_that_report(phone, live):
    near = live.task(shopper=None, location="near_location")
    far = live.task(shopper=None, location="call_location")
    page = phone.login()
    check_screen(page, "02-my-tasks-empty")

    page.get_by_role("link", name="Job board").click()
    page.get_by_role("heading", name="Job board").wait_for()
    cards = page.locator("[data-task]")
    cards.nth(1).wait_for()
    assert cards.nth(0).get_attribute("data-task") == near["id"]  # nearest first, with its distance
    assert "km away" in cards.nth(0).inner_text() and "km away" in cards.nth(1).inner_text()
    check_screen(page, "03-job-board")

    page.locator(f"[data-task='{far['id']}']").get_by_role("button", name="Claim").click()
    page.get_by_role("heading", name="Acme New York hotline").wait_for()
    assert page.get_by_role("link", name="+1 212 555 0100").get_attribute("href") == "tel:+12125550100"
    assert page.get_by_role("link", name="care@acme.example").get_attribute("href") == "mailto:care@acme.example"
    assert "openstreetmap.org" in page.get_by_role("link", name="Map").get_attribute("href")
    text = page.locator("main").inner_text()
    assert "America/New_York" in text and "your phone's time" in text
    assert "Tap each moment" in text  # the form's instructions
    check_screen(page, "04-task")
    page.get_by_role("button", name="Accept task").click()
    page.get_by_role("link", name="Start report").click()
    page.locator("[data-tap=dialled]").wait_for()
    check_screen(page, "05-form-empty")

    tap_call(page, ["dialled", "menu_left", "answered", "hold_on", "hold_off", "ended"])
    page.get_by_role("button", name="Undo last tap").click()  # ended by mistake: undone, then ended again
    assert page.locator("[data-derived]").count() == 0
    tap_call(page, ["transferred", "ended"])
    derived = page.locator("[data-derived=call_timer]")
    assert "Time to answer" in derived.inner_text() and "Transfers" in derived.inner_text()
    answer_call_questions(page)
    photo = camera_jpeg(page, 3000, 1500, orientation=6)  # a portrait photo stored sideways, as phones do
    page.locator("[data-key=call_log] input[type=file]").set_input_files(
        {"name": "IMG_0001.jpg", "mimeType": "image/jpeg", "buffer": photo}
    )
    page.locator("[data-key=call_log] img").wait_for()
    assert "1000 × 2000 px" in page.locator("[data-key=call_log]").inner_text()
    check_screen(page, "06-form-filled")

    page.get_by_role("button", name="Send report").click()
    page.locator("[data-state=sent]").wait_for()
    check_screen(page, "07-report-sent")
    local_id = page.evaluate("() => location.hash.split('/').pop()")

    reports = live.reports(far["id"])
    assert len(reports) == 1
    report = reports[0]
    assert report["id"] == local_id and report["revision"] == 1 and report["status"] == "submitted"
    assert report["score"] is not None and report["score"]["final"] is not None  # scored
    events = [e["event"] for e in report["answers"]["call_timer"]["events"]]
    assert events == ["dialled", "menu_left", "answered", "hold_on", "hold_off", "transferred", "ended"]
    assert report["answers"]["friendliness"] == 5 and report["answers"]["rings"] == 3
    sha = report["answers"]["call_log"]["attachment"]
    stored = httpx.get(
        f"{live.base}/attachments/{sha}", headers={"Authorization": f"Bearer {live.world['tokens']['shopper']}"}
    ).content
    assert hashlib.sha256(stored).hexdigest() == sha
    assert jpeg_size(stored) == (1000, 2000)  # upright (EXIF orientation applied) and longest side 2,000 px
    assert b"Exif" not in stored[:200]

    page.get_by_role("link", name="On this phone").click()
    page.locator(f"[data-report='{local_id}'] [data-state=sent]").wait_for()
    assert "0 reports are only on this phone" in page.locator("[data-testid=unsent-count]").inner_text()
    check_screen(page, "08-on-this-phone")


def test_required_and_constraint_problems_show_at_the_question_before_sending(phone, live):
    task = live.task(form="visit", location="near_location")
    phone.context.grant_permissions(["geolocation"])
    phone.context.set_geolocation({"latitude": 50.0861, "longitude": 14.4251, "accuracy": 12})
    page = phone.login()
    page.locator(f"[data-task='{task['id']}'] a").click()
    page.get_by_role("link", name="Start report").click()
    page.locator("[data-key=greeted]").wait_for()
    # A show-if: the follow-up appears only after "yes".
    assert page.locator("[data-key=greeting_words]").is_hidden()
    page.locator("[data-key=greeted]").get_by_label("Yes", exact=True).check()
    assert page.locator("[data-key=greeting_words]").is_visible()
    page.locator("[data-key=staff] input").fill("25")  # breaks the constraint (at most 20)
    page.get_by_role("button", name="Send report").click()
    assert "Please answer this question." in page.locator("[data-key=greeting_words]").inner_text()
    assert "Please answer this question." in page.locator("[data-key=friendliness]").inner_text()
    assert "More than 20 staff? Check again." in page.locator("[data-key=staff]").inner_text()
    page.get_by_role("alert").filter(has_text="3 questions need attention").wait_for()
    check_screen(page, "09-form-problems")

    page.locator("[data-key=greeting_words] textarea").fill("Good morning, welcome to Acme")
    page.locator("[data-key=friendliness]").get_by_label("4", exact=True).check()
    page.locator("[data-key=staff] input").fill("6")
    page.get_by_role("button", name="Check in here").click()
    page.locator("[data-key=checkin]").get_by_text("accurate to 12 m").wait_for()
    page.locator("[data-key=queue]").get_by_label("Short", exact=True).check()
    page.locator("[data-key=offered]").get_by_label("Coffee", exact=True).check()
    page.locator("[data-key=clean]").get_by_label("Not applicable").check()
    page.locator("[data-key=price] input").fill("12.5")
    page.locator("[data-key=arrived_at]").get_by_role("button", name="Now").click()
    page.locator("[data-key=recording] input[type=file]").set_input_files(
        {
            "name": "note.pdf",
            "mimeType": "application/pdf",
            "buffer": PDF,
        }
    )
    page.locator("[data-key=recording]").get_by_text("File attached").wait_for()
    page.get_by_role("button", name="Send report").click()
    page.locator("[data-state=sent]").wait_for()
    report = live.reports(task["id"])[0]
    answers = report["answers"]
    assert answers["checkin"] == {"lat": 50.0861, "lon": 14.4251, "accuracy_m": 12}
    assert answers["greeted"] is True and answers["greeting_words"] == "Good morning, welcome to Acme"
    assert answers["offered"] == ["coffee"] and answers["clean"] == {"na": True} and answers["price"] == 12.5
    assert answers["staff"] == 6 and "recording" in answers and "arrived_at" in answers


def test_in_store_stopwatch_runs_survives_a_reload_and_each_tap_can_be_undone(phone, live):
    task = live.task(form="visit", location="near_location")
    page = phone.login()
    page.locator(f"[data-task='{task['id']}'] a").click()
    page.get_by_role("link", name="Start report").click()
    served = page.locator("[data-key=served_s]")
    served.locator("[data-wait=queued]").click()
    clock = served.get_by_role("timer")
    page.wait_for_function("el => el.textContent !== '0:00'", arg=clock.element_handle(), timeout=5000)
    assert served.locator("[data-wait=queued]").is_disabled() and served.locator("[data-wait=served]").is_enabled()

    # The first tap is kept with the draft: the app closed in the queue still knows when it began.
    page.reload()
    served = page.locator("[data-key=served_s]")
    served.locator("[data-wait=served]").wait_for()
    assert served.locator("[data-wait=served]").is_enabled(), "the wait is still running after a reload"
    page.wait_for_function("el => el.textContent !== '0:00'", arg=served.get_by_role("timer").element_handle())

    # Undo the first tap: nothing is timing; start again, stop, undo the stop: timing goes on from the start.
    served.locator("[data-wait=undo]").click()
    assert served.get_by_role("timer").inner_text() == "0:00" and served.locator("[data-wait=served]").is_disabled()
    served.locator("[data-wait=queued]").click()
    time.sleep(1.1)
    served.locator("[data-wait=served]").click()
    first = served.locator("input[type=number]").input_value()
    assert first.isdigit() and int(first) >= 1
    served.locator("[data-wait=undo]").click()
    assert served.locator("input[type=number]").input_value() == ""
    assert served.locator("[data-wait=served]").is_enabled() and served.locator("[data-wait=queued]").is_disabled()
    time.sleep(1.1)
    served.locator("[data-wait=served]").click()
    seconds = int(served.locator("input[type=number]").input_value())
    assert seconds >= int(first) + 1, "the wait counts from the first tap, not from the undone second"
    assert str(seconds) in served.inner_text()
    screenshot(page, "22-in-store-stopwatch")
    assert not serious_accessibility_violations(page)

    # Sent with the rest of a valid visit, the seconds arrive as the answer.
    page.locator("[data-key=greeted]").get_by_label("No", exact=True).check()
    page.locator("[data-key=friendliness]").get_by_label("4", exact=True).check()
    phone.context.grant_permissions(["geolocation"])
    phone.context.set_geolocation({"latitude": 50.0861, "longitude": 14.4251, "accuracy": 12})
    page.get_by_role("button", name="Check in here").click()
    page.locator("[data-key=checkin]").get_by_text("accurate to 12 m").wait_for()
    page.locator("[data-key=recording] input[type=file]").set_input_files(
        {"name": "note.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    page.locator("[data-key=recording]").get_by_text("File attached").wait_for()
    page.get_by_role("button", name="Send report").click()
    page.locator("[data-state=sent]").wait_for()
    assert live.reports(task["id"])[0]["answers"]["served_s"] == seconds

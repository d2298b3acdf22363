"""A report sent back by the coordinator: the comments show on the questions they concern; the fix is a revision."""

from __future__ import annotations

import datetime as dt
import uuid

from tests.browser.steps import check_screen


def _now(offset_s: float = 0) -> str:
    return (dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=offset_s)).isoformat()


def test_returned_report_shows_comments_on_the_right_questions_and_the_fix_is_a_revision(phone, live):
    task = live.task(form="visit", location="near_location")
    report_id = str(uuid.uuid4())
    live.api(
        "shopper",
        "POST",
        "/reports",
        json={
            "id": report_id,
            "task_id": task["id"],
            "started_at": _now(-600),
            "ended_at": _now(-60),
            "answers": {"greeted": False, "friendliness": 2, "staff": 3},
        },
    )
    live.api(
        "coordinator",
        "POST",
        f"/reports/{report_id}/return",
        json={
            "comments": [
                {"question_key": "friendliness", "text": "Two seems harsh given your notes; please check."},
                {"text": "Please also add a photo of the receipt."},
            ]
        },
    )

    page = phone.login()
    page.get_by_role("heading", name="Sent back to you to fix").wait_for()
    page.locator(f"[data-task='{task['id']}'] a").click()
    page.get_by_role("link", name="Fix the report").click()
    comment = page.locator("[data-key=friendliness] [data-comment=friendliness]")
    comment.wait_for()
    assert "Two seems harsh" in comment.inner_text()
    assert "add a photo of the receipt" in page.locator("[data-comment='']").inner_text()
    assert page.locator("[data-comment]").count() == 2
    # The answers as sent are there to correct.
    assert page.locator("[data-key=friendliness]").get_by_label("2", exact=True).is_checked()
    assert page.locator("[data-key=staff] input").input_value() == "3"
    check_screen(page, "15-returned-report")

    page.locator("[data-key=friendliness]").get_by_label("4", exact=True).check()
    page.get_by_role("button", name="Send report").click()
    page.locator("[data-state=sent]").wait_for()
    report = live.api("coordinator", "GET", f"/reports/{report_id}")
    assert report["revision"] == 2 and report["status"] == "submitted"
    assert report["answers"]["friendliness"] == 4
    revisions = live.api("coordinator", "GET", f"/reports/{report_id}/revisions")["items"]
    assert [r["answers"]["friendliness"] for r in revisions] == [2, 4]
    assert len(live.reports(task["id"])) == 1

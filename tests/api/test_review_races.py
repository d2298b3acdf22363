"""The review loop under concurrency and resubmission: what was checked is what is written.

On PostgreSQL writers run at once, so a review and an edit of one report can interleave: each write
is conditional on the revision and status its author saw. (SQLite runs one write block at a time, so
there the interleavings below cannot happen; the tests that need them are PostgreSQL only.)
"""

from __future__ import annotations

import asyncio
import contextvars

import pytest

from backend.reports import service
from tests.api.forms_fixture import answers
from tests.api.test_end_to_end import make_task, publish_form, report_body
from tests.world import World, build_world


async def _submitted(w: World) -> tuple[dict, dict, dict]:
    task = await make_task(w, await publish_form(w), w.own_location_id)
    body = report_body(task)
    report = await w.ok("shopper", "POST", "/reports", json=body, status=201)
    return task, body, report


async def _statuses(w: World, task: dict, report: dict) -> tuple[str, int, str]:
    stored = await w.ok("coordinator", "GET", f"/reports/{report['id']}")
    return stored["status"], stored["revision"], (await w.ok("coordinator", "GET", f"/tasks/{task['id']}"))["status"]


# SQLite runs one write block at a time: there the second writer would wait for the first, and these
# interleavings cannot happen.
POSTGRES_ONLY = pytest.mark.parametrize("database", [pytest.param("postgres", marks=pytest.mark.postgres)],
                                        indirect=True)


def _elsewhere(coroutine):
    """Another request, in a context of its own (its own connection and transaction)."""
    return asyncio.create_task(coroutine, context=contextvars.Context())


async def test_a_returned_report_sent_back_unchanged_goes_back_to_review(client):
    w = await build_world(client)
    task, body, report = await _submitted(w)
    await w.ok("coordinator", "POST", f"/reports/{report['id']}/return", status=200,
               json={"comments": [{"text": "Please confirm the call time."}]})
    confirmed = await w.ok("shopper", "POST", "/reports", json={**body, "replaces_revision": 1}, status=200)
    assert (confirmed["status"], confirmed["revision"]) == ("submitted", 2)
    assert await _statuses(w, task, report) == ("submitted", 2, "submitted")
    queue = await w.ok("coordinator", "GET", "/reports/review-queue")
    assert [r["id"] for r in queue["items"]] == [report["id"]]
    retried = await w.ok("shopper", "POST", "/reports", json={**body, "replaces_revision": 1}, status=200)
    assert retried["revision"] == 2  # a retry of that resubmission makes no third revision
    # Without naming the revision it replaces, the same content is a retry of what is stored.
    assert (await w.ok("shopper", "POST", "/reports", json=body, status=200))["revision"] == 2


@POSTGRES_ONLY
async def test_an_edit_does_not_overwrite_an_approval_that_committed_after_its_check(client):
    w = await build_world(client)
    task, body, report = await _submitted(w)
    check, approvals = service._unchanged, []

    async def check_then_approve(*args, **kwargs):
        unchanged = await check(*args, **kwargs)
        if not approvals:  # once
            approvals.append(_elsewhere(w.call("coordinator", "POST", f"/reports/{report['id']}/approve")))
            await approvals[0]
        return unchanged

    service._unchanged = check_then_approve
    try:
        edit = await w.call("shopper", "POST", "/reports",
                            json={**body, "answers": answers(greeted=False), "replaces_revision": 1})
    finally:
        service._unchanged = check
    assert approvals[0].result().status_code == 200
    assert edit.status_code == 409 and edit.json()["code"] == "report.not_editable"
    assert await _statuses(w, task, report) == ("approved", 1, "approved")


@POSTGRES_ONLY
async def test_a_review_is_refused_when_an_edit_committed_after_the_reviewer_looked(client):
    w = await build_world(client)
    task, body, report = await _submitted(w)
    look, edits = service._row, []

    async def look_then_edit(*args, **kwargs):
        row = await look(*args, **kwargs)
        if not edits:  # once: the edit's own reads come here too
            edits.append(_elsewhere(w.call("shopper", "POST", "/reports", json={
                **body, "answers": answers(greeted=False), "replaces_revision": 1})))
            await edits[0]
        return row

    service._row = look_then_edit
    try:
        approval = await w.call("coordinator", "POST", f"/reports/{report['id']}/approve")
    finally:
        service._row = look
    assert edits[0].result().status_code == 200 and edits[0].result().json()["revision"] == 2
    assert approval.status_code == 409 and approval.json()["code"] == "report.changed"
    assert await _statuses(w, task, report) == ("submitted", 2, "submitted")
    assert (await w.ok("coordinator", "POST", f"/reports/{report['id']}/approve", status=200))["status"] == "approved"


@POSTGRES_ONLY
async def test_bulk_approval_leaves_out_a_report_edited_after_it_was_selected(client):
    w = await build_world(client)
    form = await publish_form(w)
    kept_task = await make_task(w, form, w.own_location_id)
    kept = await w.ok("shopper", "POST", "/reports", json=report_body(kept_task), status=201)
    edited_task = await make_task(w, form, w.competitor_location_id)  # other answers: no answers.identical flag
    edited_body = report_body(edited_task, friendliness=2)
    edited = await w.ok("shopper", "POST", "/reports", json=edited_body, status=201)
    look, edits = service._row, []

    async def look_then_edit(actor, report_id, *columns):
        row = await look(actor, report_id, *columns)
        if str(report_id) == edited["id"] and not edits:
            edits.append(_elsewhere(w.call("shopper", "POST", "/reports", json={
                **edited_body, "answers": answers(greeted=False, friendliness=2), "replaces_revision": 1})))
            await edits[0]
        return row

    service._row = look_then_edit
    try:
        result = await w.ok("coordinator", "POST", "/reports/bulk-approve", status=200,
                            json={"organisation_id": w.organisation_id})
    finally:
        service._row = look
    assert edits[0].result().status_code == 200
    assert (result["approved"], result["report_ids"]) == (1, [kept["id"]])
    assert await _statuses(w, kept_task, kept) == ("approved", 1, "approved")
    assert await _statuses(w, edited_task, edited) == ("submitted", 2, "submitted")

"""The review loop under concurrency and resubmission: what was checked is what is written.

On PostgreSQL writers run at once, so a review and an edit of one report can interleave: each write
is conditional on the revision and status its author saw. (SQLite runs one write block at a time, so
there the interleavings below cannot happen; the tests that need them are PostgreSQL only.)
"""

from __future__ import annotations

import asyncio
import contextvars

import pytest

from backend.reports import service, submission
from tests.api.forms_fixture import answers
from tests.builders import make_task, publish_form, report_body
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
POSTGRES_ONLY = pytest.mark.parametrize(
    "database", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)


def _elsewhere(coroutine):
    """Another request, in a context of its own (its own connection and transaction)."""
    return asyncio.create_task(coroutine, context=contextvars.Context())


def _interleave(monkeypatch, name: str, request, when=lambda *args: True, module=service) -> list[asyncio.Task]:
    """After the first call of <module>.<name> for which `when(*args)` holds, run `request()` to its end
    as another request; the task it ran in is appended to the returned list."""
    original, done = getattr(module, name), []

    async def then_request(*args, **kwargs):
        result = await original(*args, **kwargs)
        if not done and when(*args):  # once: the other request's own calls come here too
            done.append(_elsewhere(request()))
            await done[0]
        return result

    monkeypatch.setattr(module, name, then_request)
    return done


async def test_a_returned_report_sent_back_unchanged_goes_back_to_review(client):
    w = await build_world(client)
    task, body, report = await _submitted(w)
    await w.ok(
        "coordinator",
        "POST",
        f"/reports/{report['id']}/return",
        status=200,
        json={"comments": [{"text": "Please confirm the call time."}]},
    )
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
async def test_an_edit_does_not_overwrite_an_approval_that_committed_after_its_check(client, monkeypatch):
    w = await build_world(client)
    task, body, report = await _submitted(w)
    approvals = _interleave(
        monkeypatch,
        "prepare",
        lambda: w.call("coordinator", "POST", f"/reports/{report['id']}/approve"),
        module=submission,
    )
    edit = await w.call(
        "shopper", "POST", "/reports", json={**body, "answers": answers(greeted=False), "replaces_revision": 1}
    )
    assert approvals[0].result().status_code == 200
    assert edit.status_code == 409 and edit.json()["code"] == "report.not_editable"
    assert await _statuses(w, task, report) == ("approved", 1, "approved")


@POSTGRES_ONLY
async def test_a_review_is_refused_when_an_edit_committed_after_the_reviewer_looked(client, monkeypatch):
    w = await build_world(client)
    task, body, report = await _submitted(w)
    edits = _interleave(
        monkeypatch,
        "_row",
        lambda: w.call(
            "shopper", "POST", "/reports", json={**body, "answers": answers(greeted=False), "replaces_revision": 1}
        ),
    )
    approval = await w.call("coordinator", "POST", f"/reports/{report['id']}/approve")
    assert edits[0].result().status_code == 200 and edits[0].result().json()["revision"] == 2
    assert approval.status_code == 409 and approval.json()["code"] == "report.changed"
    assert await _statuses(w, task, report) == ("submitted", 2, "submitted")
    assert (await w.ok("coordinator", "POST", f"/reports/{report['id']}/approve", status=200))["status"] == "approved"


@POSTGRES_ONLY
async def test_bulk_approval_leaves_out_a_report_edited_after_it_was_selected(client, monkeypatch):
    w = await build_world(client)
    form = await publish_form(w)
    kept_task = await make_task(w, form, w.own_location_id)
    kept = await w.ok("shopper", "POST", "/reports", json=report_body(kept_task), status=201)
    edited_task = await make_task(w, form, w.competitor_location_id)  # other answers: no answers.identical flag
    edited_body = report_body(edited_task, friendliness=2)
    edited = await w.ok("shopper", "POST", "/reports", json=edited_body, status=201)
    edits = _interleave(
        monkeypatch,
        "_row",
        lambda: w.call(
            "shopper",
            "POST",
            "/reports",
            json={**edited_body, "answers": answers(greeted=False, friendliness=2), "replaces_revision": 1},
        ),
        when=lambda actor, report_id, *columns: str(report_id) == edited["id"],
    )
    result = await w.ok(
        "coordinator", "POST", "/reports/bulk-approve", status=200, json={"organisation_id": w.organisation_id}
    )
    assert edits[0].result().status_code == 200
    assert (result["approved"], result["report_ids"]) == (1, [kept["id"]])
    assert await _statuses(w, kept_task, kept) == ("approved", 1, "approved")
    assert await _statuses(w, edited_task, edited) == ("submitted", 2, "submitted")


@POSTGRES_ONLY
async def test_accepting_while_a_coordinator_reassigns_does_not_accept_for_the_new_shopper(client, monkeypatch):
    """The shopper's accept read the task as theirs; a reassignment to another shopper committed before its
    update. The accept must not then move the other shopper's task (it did: 'accepted' for B, and a 404 for A)."""
    from backend.tasks import service as tasks

    w = await build_world(client)
    task = await make_task(w, await publish_form(w), w.own_location_id)
    original, done = tasks.task_row, []

    async def then_reassign(actor, task_id):
        row = await original(actor, task_id)
        if not done and actor.role.value == "shopper":
            done.append(
                _elsewhere(
                    w.call(
                        "coordinator",
                        "POST",
                        f"/tasks/{task['id']}/assign",
                        json={"shopper_id": w.users["other_shopper"]["id"]},
                    )
                )
            )
            assert (await done[0]).status_code == 200
        return row

    monkeypatch.setattr(tasks, "task_row", then_reassign)
    response = await w.call("shopper", "POST", f"/tasks/{task['id']}/accept")
    assert response.status_code == 409 and response.json()["code"] == "task.changed", response.text
    stored = await w.ok("coordinator", "GET", f"/tasks/{task['id']}")
    assert (stored["status"], stored["shopper_id"]) == ("assigned", w.users["other_shopper"]["id"])

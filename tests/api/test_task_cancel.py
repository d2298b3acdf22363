"""Cancelling a task: staff only, before any report came in, audited with the reason (both engines)."""

from __future__ import annotations

import pytest

from tests.builders import make_task, publish_form, report_body
from tests.world import build_world, new_id


async def test_staff_cancel_open_assigned_and_accepted_tasks_and_the_audit_log_says_who_and_why(client):
    w = await build_world(client)
    version_id = await publish_form(w)
    assigned = await make_task(w, version_id, w.own_location_id)
    accepted = await make_task(w, version_id, w.competitor_location_id)  # rotation: one task per location
    await w.ok("shopper", "POST", f"/tasks/{accepted['id']}/accept", status=200)

    done = await w.ok("coordinator", "POST", f"/tasks/{assigned['id']}/cancel", status=200, json={"reason": "Closed"})
    assert done["status"] == "cancelled"
    assert (await w.ok("shopper", "GET", f"/tasks/{assigned['id']}"))["status"] == "cancelled"  # as its shopper sees it
    assert (await w.ok("admin", "POST", f"/tasks/{accepted['id']}/cancel", status=200, json={}))[
        "status"
    ] == "cancelled"

    (entry,) = (
        await w.ok("coordinator", "GET", "/audit", params={"entity_id": assigned["id"], "action": "task.cancelled"})
    )["items"]
    assert entry["actor_id"] == w.users["coordinator"]["id"]
    assert entry["detail"]["from"] == "assigned" and entry["detail"]["reason"] == "Closed"
    assert entry["detail"]["shopper_id"] == w.users["shopper"]["id"]

    # A cancelled task takes no report.
    refused = await w.call("shopper", "POST", "/reports", json=report_body(assigned))
    assert refused.status_code == 409


async def test_a_task_with_a_report_or_already_final_cannot_be_cancelled(client):
    w = await build_world(client)
    version_id = await publish_form(w)
    task = await make_task(w, version_id, w.own_location_id)
    await w.ok("shopper", "POST", "/reports", status=201, json=report_body(task))
    refused = await w.call("coordinator", "POST", f"/tasks/{task['id']}/cancel", json={})
    assert refused.status_code == 409
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["code"] == "task.not_cancellable" and "submitted" in refused.json()["detail"]

    other = await make_task(w, version_id, w.competitor_location_id)
    await w.ok("coordinator", "POST", f"/tasks/{other['id']}/cancel", status=200, json={})
    again = await w.call("coordinator", "POST", f"/tasks/{other['id']}/cancel", json={})
    assert again.status_code == 409 and again.json()["code"] == "task.not_cancellable"


@pytest.mark.parametrize(
    ("body", "field"), [({"reason": ""}, "reason"), ({"reason": "x" * 501}, "reason"), ({"why": "x"}, "why")]
)
async def test_a_bad_cancel_body_names_the_field(client, body, field):
    w = await build_world(client)
    task = await make_task(w, await publish_form(w), w.own_location_id)
    response = await w.call("coordinator", "POST", f"/tasks/{task['id']}/cancel", json=body)
    assert response.status_code in (400, 422) and field in response.text
    assert (await w.ok("coordinator", "GET", f"/tasks/{task['id']}"))["status"] == "assigned"


async def test_only_staff_may_cancel_and_an_unknown_task_is_404(client):
    w = await build_world(client)
    task = await make_task(w, await publish_form(w), w.own_location_id)
    for who in ("manager", "shopper"):
        response = await w.call(who, "POST", f"/tasks/{task['id']}/cancel", json={})
        assert response.status_code == 403 and response.json()["code"] == "auth.forbidden_role", who
    missing = await w.call("coordinator", "POST", f"/tasks/{new_id()}/cancel", json={})
    assert missing.status_code == 404 and missing.json()["code"] == "task.not_found"
    assert (await w.ok("coordinator", "GET", f"/tasks/{task['id']}"))["status"] == "assigned"

"""Decisions on what was left open (issue 14, item 7), each checked through the API.

The fifth, a call corrected unanswered -> answered -> unanswered getting its retry again, is
tests/api/test_campaigns.py::test_a_report_corrected_to_answered_cancels_the_retry_nobody_has_under_way.
"""

from __future__ import annotations

import pytest

from tests.builders import campaign, make_task, publish_form, report_body
from tests.conftest import with_replaced
from tests.world import add_shoppers, build_world


async def test_a_rejected_task_still_counts_for_rotation(client):
    """The shopper was there (or called), and may be recognised: a rejected report does not free the
    location for them within the rotation period."""
    w = await build_world(client)
    version_id = await publish_form(w)
    s1, s2 = await add_shoppers(w, 2, languages=["en"])
    first = await make_task(w, version_id, w.own_location_id, shopper=s1)
    report = await w.ok(s1, "POST", "/reports", json=report_body(first), status=201)
    await w.ok("coordinator", "POST", f"/reports/{report['id']}/reject", json={"reason": "made up"}, status=200)
    assert (await w.ok("coordinator", "GET", f"/tasks/{first['id']}"))["status"] == "rejected"
    again = await w.call(
        "coordinator",
        "POST",
        "/tasks",
        json={
            "organisation_id": w.organisation_id,
            "location_id": w.own_location_id,
            "form_version_id": version_id,
            "channel": "call",
            "window_start": first["window_start"],
            "window_end": first["window_end"],
            "shopper_id": w.users[s1]["id"],
        },
    )
    assert again.status_code == 409 and again.json()["code"] == "task.not_assignable"
    assert [e["field"] for e in again.json()["errors"]] == ["shopper_id"]
    assert any("rotation" in e["reason"] for e in again.json()["errors"])
    # Another shopper, who has not been there, may take it: the refusal is the rotation, not the task.
    await make_task(w, version_id, w.own_location_id, shopper=s2)


@pytest.fixture
def settings(settings):
    return with_replaced(settings, max_wave_tasks=20)


async def test_wave_generation_refuses_a_plan_larger_than_the_cap(client):
    """One probe per location and slot (4 dayparts x weekday, Saturday, Sunday) at two locations: a
    wave of weekdays plans 8 tasks, a whole week 24 (over the cap of 20)."""
    w = await build_world(client)
    c = await campaign(w, await publish_form(w))
    small = await w.ok(
        "coordinator",
        "POST",
        f"/campaigns/{c['id']}/waves",
        json={"name": "Small", "starts_on": "2038-03-01", "ends_on": "2038-03-03"},
    )
    assert (await w.ok("coordinator", "POST", f"/campaigns/{c['id']}/waves/{small['id']}/generate", status=200))[
        "created"
    ] == 8
    large = await w.ok(
        "coordinator",
        "POST",
        f"/campaigns/{c['id']}/waves",
        json={"name": "Large", "starts_on": "2038-03-08", "ends_on": "2038-03-14"},
    )
    refused = await w.call("coordinator", "POST", f"/campaigns/{c['id']}/waves/{large['id']}/generate")
    assert refused.status_code == 422
    problem = refused.json()
    assert problem["code"] == "wave.too_large" and "24 tasks" in problem["detail"] and "20" in problem["detail"]
    assert problem["errors"] == [{"field": "wave_id", "reason": "the plan has 24 tasks, more than the cap of 20"}]
    tasks = await w.ok("coordinator", "GET", "/tasks", params={"limit": 100})
    assert tasks["total"] == 8  # nothing of the large wave was written

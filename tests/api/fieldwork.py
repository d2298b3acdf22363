"""Fieldwork in every state a task can be in, for the tests of what a client's manager may see."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from tests.builders import make_task, publish_form, report_body
from tests.world import World, add_shoppers

UTC = dt.timezone.utc


@dataclass
class Fieldwork:
    version_id: str
    hidden_tasks: dict[str, str]  # state → task id the manager must never see
    hidden_reports: dict[str, str]  # state → report id the manager must never see
    approved_task: str
    approved_report: str
    shopper_ids: set[str]


async def fieldwork_in_every_state(w: World) -> Fieldwork:
    """One task of the manager's organisation in each state, each by a different shopper."""
    version_id = await publish_form(w)
    s = await add_shoppers(w, 5)
    now = dt.datetime.now(UTC)
    future = {
        "window_start": (now + dt.timedelta(days=2)).isoformat(),
        "window_end": (now + dt.timedelta(days=2, hours=3)).isoformat(),
    }
    planned = await w.ok(
        "coordinator",
        "POST",
        "/tasks",
        json={
            "organisation_id": w.organisation_id,
            "location_id": w.own_location_id,
            "form_version_id": version_id,
            "channel": "call",
            **future,
        },
    )
    upcoming = await w.ok(
        "coordinator",
        "POST",
        "/tasks",
        json={
            "organisation_id": w.organisation_id,
            "location_id": w.competitor_location_id,
            "form_version_id": version_id,
            "channel": "call",
            "shopper_id": w.users[s[0]]["id"],
            **future,
        },
    )
    accepted = await make_task(w, version_id, w.own_location_id, shopper=s[1])
    await w.ok(s[1], "POST", f"/tasks/{accepted['id']}/accept", status=200)
    submitted = await make_task(w, version_id, w.own_location_id, shopper=s[2])
    submitted_report = await w.ok(s[2], "POST", "/reports", json=report_body(submitted), status=201)
    returned = await make_task(w, version_id, w.own_location_id, shopper=s[3])
    returned_report = await w.ok(s[3], "POST", "/reports", json=report_body(returned), status=201)
    await w.ok(
        "coordinator",
        "POST",
        f"/reports/{returned_report['id']}/return",
        status=200,
        json={"comments": [{"text": "Please check the time."}]},
    )
    rejected = await make_task(w, version_id, w.own_location_id, shopper=s[4])
    rejected_report = await w.ok(s[4], "POST", "/reports", json=report_body(rejected), status=201)
    await w.ok(
        "coordinator",
        "POST",
        f"/reports/{rejected_report['id']}/reject",
        status=200,
        json={"reason": "Called the wrong number."},
    )
    approved = await make_task(w, version_id, w.own_location_id, shopper="shopper")
    approved_report = await w.ok("shopper", "POST", "/reports", json=report_body(approved), status=201)
    await w.ok("coordinator", "POST", f"/reports/{approved_report['id']}/approve", status=200)
    return Fieldwork(
        version_id=version_id,
        hidden_tasks={
            "open": planned["id"],
            "assigned": upcoming["id"],
            "accepted": accepted["id"],
            "submitted": submitted["id"],
            "returned": returned["id"],
            "rejected": rejected["id"],
        },
        hidden_reports={
            "submitted": submitted_report["id"],
            "returned": returned_report["id"],
            "rejected": rejected_report["id"],
        },
        approved_task=approved["id"],
        approved_report=approved_report["id"],
        shopper_ids={w.users[who]["id"] for who in (*s, "shopper")},
    )

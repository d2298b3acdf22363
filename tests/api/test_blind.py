"""Mystery shopping is blind: a client's manager learns of a visit or call only once its report is
approved, and never who shopped. Every route a manager may call is checked against fieldwork in
every state (planned, assigned, accepted, submitted, returned, rejected, approved)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
from typing import Any

import openpyxl

from tests.api.fieldwork import fieldwork_in_every_state
from tests.builders import make_task, publish_form, report_body
from tests.world import build_world

UTC = dt.timezone.utc


def _ids(page: dict[str, Any]) -> set[str]:
    return {item["id"] for item in page["items"]}


def _mentions(body: Any, values: set[str]) -> set[str]:
    """Which of `values` appear anywhere in a JSON body."""
    text = repr(body)
    return {v for v in values if v in text}


async def test_a_manager_lists_and_reads_only_tasks_whose_report_is_approved(client):
    w = await build_world(client)
    f = await fieldwork_in_every_state(w)
    everything = await w.ok("manager", "GET", "/tasks", params={"limit": 100})
    assert _ids(everything) == {f.approved_task} and everything["total"] == 1
    for status in (
        "open",
        "assigned",
        "accepted",
        "submitted",
        "returned",
        "approved",
        "rejected",
        "expired",
        "cancelled",
    ):
        page = await w.ok("manager", "GET", "/tasks", params={"status": status})
        assert _ids(page) == ({f.approved_task} if status == "approved" else set()), status
        assert page["total"] == len(page["items"])
    for params in (
        {"location_id": w.own_location_id},
        {"location_id": w.competitor_location_id},
        {"organisation_id": w.organisation_id},
        {"channel": "call"},
        {"window_from": dt.datetime.now(UTC).isoformat()},
        {"window_to": (dt.datetime.now(UTC) + dt.timedelta(days=30)).isoformat()},
    ):
        page = await w.ok("manager", "GET", "/tasks", params=params)
        assert _ids(page) <= {f.approved_task}, params
    # A shopper is no object a manager may see, so filtering by one is the same 404 as a made-up id.
    for shopper_id in (*f.shopper_ids, str(uuid.uuid4())):
        response = await w.call("manager", "GET", "/tasks", params={"shopper_id": shopper_id})
        assert response.status_code == 404 and response.json()["code"] == "user.not_found", shopper_id
    assert not _mentions(everything, f.shopper_ids)
    for state, task_id in f.hidden_tasks.items():
        response = await w.call("manager", "GET", f"/tasks/{task_id}")
        assert response.status_code == 404 and response.json()["code"] == "task.not_found", state
    seen = await w.ok("manager", "GET", f"/tasks/{f.approved_task}")
    assert seen["status"] == "approved" and seen["shopper_id"] is None
    # Staff still see it all.
    assert (await w.ok("coordinator", "GET", "/tasks", params={"limit": 100}))["total"] == 7


async def test_a_manager_reads_only_approved_reports_without_the_shopper_or_the_review_flags(client):
    w = await build_world(client)
    f = await fieldwork_in_every_state(w)
    # The approved report has the same answers as the shopper's report at another location would;
    # flags like that one name the shopper's other work, so a manager sees none.
    listed = await w.ok("manager", "GET", "/reports", params={"limit": 100})
    assert _ids(listed) == {f.approved_report}
    for status in ("submitted", "returned", "rejected", "approved"):
        page = await w.ok("manager", "GET", "/reports", params={"status": status})
        assert _ids(page) == ({f.approved_report} if status == "approved" else set()), status
    # A task the manager may not see yet filters like a made-up id: the same 404, nothing listed.
    for task_id in (*f.hidden_tasks.values(), str(uuid.uuid4())):
        response = await w.call("manager", "GET", "/reports", params={"task_id": task_id})
        assert response.status_code == 404 and response.json()["code"] == "task.not_found", task_id
    for state, report_id in f.hidden_reports.items():
        for url in (f"/reports/{report_id}", f"/reports/{report_id}/score"):
            response = await w.call("manager", "GET", url)
            assert response.status_code == 404 and response.json()["code"] == "report.not_found", (state, url)
    report = await w.ok("manager", "GET", f"/reports/{f.approved_report}")
    assert report["shopper_id"] is None and report["flags"] == []
    assert not _mentions(report, f.shopper_ids)
    assert not _mentions(await w.ok("manager", "GET", f"/reports/{f.approved_report}/score"), f.shopper_ids)


async def test_evidence_flags_that_link_a_shoppers_reports_are_not_shown_to_a_manager(client):
    w = await build_world(client)
    version_id = await publish_form(w)
    reports = []
    for location in (w.competitor_location_id, w.own_location_id):  # the same answers twice
        task = await make_task(w, version_id, location)
        report = await w.ok("shopper", "POST", "/reports", json=report_body(task), status=201)
        reports.append(report["id"])
    staff_view = await w.ok("coordinator", "GET", f"/reports/{reports[1]}")
    assert [flag["code"] for flag in staff_view["flags"]] == ["answers.identical"]
    assert "Rival Brno" in staff_view["flags"][0]["reason"]
    await w.ok("coordinator", "POST", f"/reports/{reports[1]}/approve", status=200)
    client_view = await w.ok("manager", "GET", f"/reports/{reports[1]}")
    assert client_view["flags"] == [] and client_view["shopper_id"] is None
    listed = await w.ok("manager", "GET", "/reports")
    assert "Rival Brno" not in repr(listed) and all(r["flags"] == [] for r in listed["items"])


async def test_a_managers_analytics_count_only_approved_reports(client):
    w = await build_world(client)
    work = await fieldwork_in_every_state(w)
    scores = await w.ok("manager", "GET", "/analytics/location-scores", params={"min_sample_size": 2})
    counts = {row["location_id"]: row["score"]["n"] for row in scores["locations"]}
    assert counts.get(w.own_location_id) == 1 and counts.get(w.competitor_location_id, 0) == 0
    # By hour or day nothing shows but the approved call: no sign of the ones submitted, sent back or planned.
    for group_by in ("hour", "day", "location", "relation"):
        result = await w.ok(
            "manager",
            "GET",
            "/analytics/comparison",
            params={"measure": "score", "group_by": group_by, "min_sample_size": 1},
        )
        assert sum(g["figure"]["n"] for g in result["groups"]) == 1, group_by
    versus = await w.ok(
        "manager", "GET", "/analytics/own-vs-competitors", params={"measure": "score", "min_sample_size": 1}
    )
    assert versus["own"]["n"] == 1 and all(c["competitor"]["n"] == 0 for c in versus["competitors"])
    for params in ({"group_by": "shopper"}, {"group_by": "location", "include_pending": "true"}):
        refused = await w.call("manager", "GET", "/analytics/comparison", params={"measure": "score", **params})
        assert refused.status_code == 403, params
    # Shopper effects: the approved report only, and no shopper named.
    effects = await w.ok("manager", "GET", "/analytics/shopper-effects", params={"min_sample_size": 1})
    assert sum(g["raw"]["n"] for g in effects["groups"]) == 1 and effects["shoppers"] == []
    assert not any(shopper in repr(effects) for shopper in work.shopper_ids)
    refused = await w.call("manager", "GET", "/analytics/shopper-effects", params={"include_pending": "true"})
    assert refused.status_code == 403
    # Exports: a comparison counts the approved report only; the reports export lists it alone, without a shopper.
    for group_by in ("hour", "location"):
        exported = await w.call(
            "manager",
            "GET",
            "/analytics/exports/comparison.csv",
            params={"measure": "score", "group_by": group_by, "min_sample_size": 1},
        )
        assert exported.status_code == 200
        table = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
        assert sum(int(row["n"]) for row in table) == 1, group_by
    exported = await w.call("manager", "GET", "/analytics/exports/reports.csv")
    assert exported.status_code == 200
    table = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert [row["report_id"] for row in table] == [work.approved_report] and "shopper" not in table[0]
    hidden = [*work.hidden_reports.values(), *work.hidden_tasks.values(), *work.shopper_ids]
    assert not any(secret in exported.text for secret in hidden)
    workbook = await w.call("manager", "GET", "/analytics/exports/reports.xlsx")
    assert workbook.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(workbook.content), read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 2 and rows[1][0] == work.approved_report
    for refused_params in ({"group_by": "shopper"}, {"group_by": "location", "include_pending": "true"}):
        refused = await w.call(
            "manager", "GET", "/analytics/exports/comparison.csv", params={"measure": "score", **refused_params}
        )
        assert refused.status_code == 403, refused_params


async def test_a_managers_coverage_grid_shows_approvals_only(client):
    """The grid of a running wave tells a coordinator which slots are still due and which were missed
    (from each task's window); for the client every probe not yet approved is simply due until the
    wave ends, so no cell tells when a visit or call is coming or has happened."""
    w = await build_world(client)
    version_id = await publish_form(w)
    dayparts = [{"key": "day", "start_hour": 8, "end_hour": 20}, {"key": "night", "start_hour": 20, "end_hour": 8}]
    c = await w.ok(
        "coordinator",
        "POST",
        "/campaigns",
        json={
            "organisation_id": w.organisation_id,
            "name": "Hotline",
            "location_ids": [w.own_location_id],
            "forms": {"call": version_id},
            "slot_designs": {
                # Eight probes a slot over a 25-day wave centred on today: a weekday slot's probes are at
                # most ~2 days apart and each weekend slot uses every date, so some windows have ended and
                # some are to come whatever the rotation offsets (one probe a slot left that to chance).
                "call": {"dayparts": dayparts, "day_types": ["weekday", "saturday", "sunday"], "probes_per_slot": 8}
            },
        },
    )
    today = dt.datetime.now(UTC).date()
    wave = await w.ok(
        "coordinator",
        "POST",
        f"/campaigns/{c['id']}/waves",
        json={
            "name": "Running",
            "starts_on": (today - dt.timedelta(days=12)).isoformat(),
            "ends_on": (today + dt.timedelta(days=12)).isoformat(),
        },
    )
    await w.ok("coordinator", "POST", f"/campaigns/{c['id']}/waves/{wave['id']}/generate", status=200)
    url = f"/campaigns/{c['id']}/waves/{wave['id']}/coverage"
    staff = await w.ok("coordinator", "GET", url)
    staff_cells = [cell for row in staff["rows"] for cell in row["cells"]]
    assert sum(cell["missing"] for cell in staff_cells) > 0 and sum(cell["due"] for cell in staff_cells) > 0
    client_view = await w.ok("manager", "GET", url)
    client_cells = [cell for row in client_view["rows"] for cell in row["cells"]]
    assert [c["planned"] for c in client_cells] == [c["planned"] for c in staff_cells]
    assert all((cell["done"], cell["missing"], cell["due"]) == (0, 0, cell["planned"]) for cell in client_cells)
    # The campaign and its waves are the client's own programme: readable, with nothing about tasks.
    assert _ids(await w.ok("manager", "GET", f"/campaigns/{c['id']}/waves")) == {wave["id"]}
    assert (await w.ok("manager", "GET", f"/campaigns/{c['id']}"))["id"] == c["id"]
    assert c["id"] in _ids(await w.ok("manager", "GET", "/campaigns"))


async def test_a_manager_cannot_reach_a_shoppers_account_or_the_task_forms(client):
    w = await build_world(client)
    f = await fieldwork_in_every_state(w)
    for shopper_id in f.shopper_ids:
        response = await w.call("manager", "GET", f"/users/{shopper_id}")
        assert response.status_code == 404 and response.json()["code"] == "user.not_found"
    for url in (
        f"/tasks/{f.approved_task}/form",
        f"/reports/{f.approved_report}/comments",
        f"/reports/{f.approved_report}/revisions",
        f"/reports/{f.approved_report}/diff",
        "/job-board",
        f"/users/{next(iter(f.shopper_ids))}/shopper-profile",
    ):
        response = await w.call("manager", "GET", url)
        assert response.status_code == 403 and response.json()["code"] == "auth.forbidden_role", url

"""Errors that help a client fix its request: unknown query parameters are named, and an enumerated value
that is not accepted comes with the values that are."""

from __future__ import annotations

import datetime as dt
import re

from backend.accounts.guards import PUBLIC
from tests.api.routes import ROLE_USERS, fill, route_cases, seeded_objects
from tests.builders import make_task, report_body
from tests.world import build_world

# Operations with a required query parameter get it, so what is checked is the unknown one.
REQUIRED_QUERY = {
    path: {"measure": "score"}
    for path in (
        "/analytics/comparison",
        "/analytics/own-vs-competitors",
        "/analytics/exports/comparison.csv",
        "/analytics/exports/comparison.xlsx",
    )
}
TIMER_EVENTS = "dialled, menu_left, answered, hold_on, hold_off, transferred, ended, gave_up"


async def test_every_operation_refuses_a_query_parameter_it_does_not_declare(client, app):
    w = await build_world(client)
    objects = await seeded_objects(w)
    failures, checked = [], 0
    documented = {re.sub(r":\w+}", "}", path) for path in app.openapi_schema.paths}
    for case in route_cases(app):
        if re.sub(r":\w+}", "}", case.path) not in documented:
            continue  # the pages and files the app serves are not API operations
        who = "admin" if case.roles == PUBLIC else ROLE_USERS[case.roles[0]]
        if case.method == "POST" and case.path == "/auth/logout":
            continue  # would end the session the other cases use
        body = {"json": {}} if case.method in ("POST", "PUT", "PATCH") else {}
        params = {"not_a_parameter": "1", **REQUIRED_QUERY.get(case.path, {})}
        response = await w.call(who, case.method, fill(case.path, w, objects), params=params, **body)
        checked += 1
        problem = response.json() if response.headers.get("content-type", "").startswith("application/problem") else {}
        if (
            response.status_code != 400
            or problem.get("code") != "request.unknown_parameter"
            or [e["field"] for e in problem.get("errors", [])] != ["query.not_a_parameter"]
        ):
            failures.append(f"{case.method} {case.path} as {who} → {response.status_code} {response.text[:160]}")
    assert checked > 40
    assert not failures, "\n".join(failures)


async def test_the_refusal_lists_what_the_operation_accepts_and_changes_nothing(client):
    w = await build_world(client)
    response = await w.call("manager", "GET", "/locations", params={"limit": 5, "campaign_id": "c", "sort": "name"})
    assert response.status_code == 400
    problem = response.json()
    assert [e["field"] for e in problem["errors"]] == ["query.campaign_id", "query.sort"]
    assert problem["errors"][0]["reason"] == (
        "unknown parameter; this operation accepts: brand_id, limit, offset, organisation_id, q, region, relation"
    )
    created = await w.call("coordinator", "POST", "/brands", params={"dry_run": "1"}, json={"name": "Nobody"})
    assert created.status_code == 400
    assert "Nobody" not in {b["name"] for b in (await w.ok("coordinator", "GET", "/brands"))["items"]}
    # Declared parameters, including the shared pagination ones, still work.
    assert (await w.ok("manager", "GET", "/locations", params={"limit": 1, "offset": 1}))["limit"] == 1


async def test_an_unknown_enumerated_value_lists_the_accepted_ones(client):
    w = await build_world(client)
    query = await w.call("coordinator", "GET", "/reports", params={"status": "done"})
    assert query.status_code == 400
    assert query.json()["errors"] == [
        {
            "field": "query.status",
            "reason": "Invalid enum value 'done'; accepted: submitted, returned, approved, rejected",
        }
    ]
    body = await w.call("coordinator", "POST", "/forms", json={"name": "F", "channel": "fax", "definition": {}})
    assert body.status_code == 400
    assert body.json()["errors"] == [
        {"field": "channel", "reason": "Invalid enum value 'fax'; accepted: visit, call, email, chat"}
    ]
    nested = await w.call(
        "coordinator",
        "POST",
        "/forms",
        json={
            "name": "F",
            "channel": "call",
            "definition": {
                "title": {"en": "T"},
                "sections": [{"key": "s", "items": [{"type": "checkbox", "key": "q"}]}],
            },
        },
    )
    assert nested.status_code == 400
    (error,) = nested.json()["errors"]
    assert error["field"] == "definition.sections[0].items[0].type"
    assert error["reason"].startswith("Invalid value 'checkbox'; accepted: ") and "timer_sequence" in error["reason"]


CALL_FORM = {
    "title": {"en": "Call"},
    "sections": [
        {
            "key": "s",
            "items": [
                {"type": "timer_sequence", "key": "call", "required": True, "give_up_s": 60},
                {
                    "type": "single_choice",
                    "key": "outcome",
                    "required": True,
                    "choices": [{"value": "solved"}, {"value": "referred"}, {"value": "unsolved"}],
                },
            ],
        }
    ],
}


async def test_an_unknown_timer_event_or_choice_lists_the_accepted_ones(client):
    w = await build_world(client)
    form = await w.ok(
        "coordinator", "POST", "/forms", json={"name": "Call", "channel": "call", "definition": CALL_FORM}
    )
    version = await w.ok("coordinator", "POST", f"/forms/{form['id']}/publish", status=200)
    task = await make_task(w, version["id"], w.own_location_id)
    now = dt.datetime.now(dt.timezone.utc)
    body = report_body(task)
    body["answers"] = {
        "outcome": "fixed",
        "call": {
            "events": [
                {"event": "dialled", "at": (now - dt.timedelta(minutes=19)).isoformat()},
                {"event": "picked_up", "at": (now - dt.timedelta(minutes=18)).isoformat()},
                {"event": "ended", "at": (now - dt.timedelta(minutes=16)).isoformat()},
            ]
        },
    }
    response = await w.call("shopper", "POST", "/reports", json=body)
    assert response.status_code == 422, response.text
    reasons = {e["field"]: e["reason"] for e in response.json()["errors"]}
    assert f"unknown event 'picked_up'; accepted: {TIMER_EVENTS}" in reasons["answers.call"], reasons
    assert "'fixed' is not a choice; accepted: solved, referred, unsolved" in reasons["answers.outcome"], reasons
    assert (await w.ok("shopper", "GET", "/reports"))["total"] == 0

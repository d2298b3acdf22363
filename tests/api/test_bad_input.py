"""Bad input is refused with a problem document naming the field and a stable code, and nothing is written."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import pytest

from tests.api.forms_fixture import SMALL_CALL_FORM
from tests.builders import assert_problem, campaign, publish_form, total
from tests.world import PASSWORD, World, build_world

UTC = dt.timezone.utc


def location(w: World, **changes: Any) -> dict[str, Any]:
    return {
        "brand_id": w.own_brand_id,
        "name": "New place",
        "timezone": "Europe/Prague",
        "lat": 50.0,
        "lon": 14.0,
        **changes,
    }


def window(start_hours: float, end_hours: float) -> dict[str, str]:
    now = dt.datetime.now(UTC)
    return {
        "window_start": (now + dt.timedelta(hours=start_hours)).isoformat(),
        "window_end": (now + dt.timedelta(hours=end_hours)).isoformat(),
    }


# ---------------------------------------------------------------- request bodies


BODY_CASES = [
    # (id, url, body, status, code, fields)
    ("unknown_field", "/locations", {"colour": "red"}, 400, "request.invalid", ["colour"]),
    ("missing_field", "/locations", {"name": None}, 400, "request.invalid", ["name"]),
    ("wrong_type", "/locations", {"lat": "north"}, 400, "request.invalid", ["lat"]),
    ("latitude_91", "/locations", {"lat": 91}, 400, "request.invalid", ["lat"]),
    ("longitude_only", "/locations", {"lat": None}, 422, "validation.failed", ["lat"]),
    ("unknown_time_zone", "/locations", {"timezone": "Mars/Olympus"}, 422, "validation.failed", ["timezone"]),
    (
        "closes_before_opens",
        "/locations",
        {"opening_hours": [{"day": "mon", "opens": "09:00", "closes": "09:00"}]},
        422,
        "validation.failed",
        ["opening_hours[0].closes"],
    ),
    (
        "bad_clock_time",
        "/locations",
        {"opening_hours": [{"day": "mon", "opens": "9", "closes": "18:00"}]},
        400,
        "request.invalid",
        ["opening_hours[0].opens"],
    ),
    (
        "nested_missing_field",
        "/locations",
        {"opening_hours": [{"day": "mon", "opens": "09:00"}]},
        400,
        "request.invalid",
        ["opening_hours[0].closes"],
    ),
    (
        "nested_unknown_field",
        "/locations",
        {"opening_hours": [{"day": "mon", "opens": "09:00", "closes": "18:00", "note": "lunch"}]},
        400,
        "request.invalid",
        ["opening_hours[0].note"],
    ),
    (
        "unknown_brand",
        "/locations",
        {"brand_id": "00000000-0000-4000-8000-000000000000"},
        422,
        "validation.failed",
        ["brand_id"],
    ),
]


@pytest.mark.parametrize("case", BODY_CASES, ids=[c[0] for c in BODY_CASES])
async def test_bad_location_is_refused_and_nothing_written(client, case):
    _, url, changes, status, code, fields = case
    w = await build_world(client)
    before = await total(w, url)
    body = location(w, **changes)
    body = {k: v for k, v in body.items() if v is not None}
    response = await w.call("coordinator", "POST", url, json=body)
    assert_problem(response, status, code, *fields)
    assert await total(w, url) == before


async def test_malformed_and_missing_bodies(client):
    w = await build_world(client)
    headers = {**w.as_("coordinator"), "content-type": "application/json"}
    before = await total(w, "/brands")
    response = await client.post("/brands", content=b'{"name": "Half', headers=headers)
    assert_problem(response, 400, "request.malformed", "body")
    response = await client.post("/brands", content=b"", headers=headers)
    assert_problem(response, 400, "request.invalid", "body")
    response = await client.post("/brands", content=b'["Acme 2"]', headers=headers)
    assert_problem(response, 400, "request.invalid", "body")
    response = await w.call("coordinator", "POST", "/brands", json={})
    assert_problem(response, 400, "request.invalid", "name")
    assert await total(w, "/brands") == before


# ---------------------------------------------------------------- users


USER_CASES = [
    ("invalid_email", {"email": "not-an-address"}, 400, "request.invalid", ["email"]),
    ("short_password", {"password": "short"}, 400, "request.invalid", ["password"]),
    ("unknown_role", {"role": "owner"}, 400, "request.invalid", ["role"]),
    ("manager_without_organisation", {"role": "manager"}, 422, "validation.failed", ["organisation_id"]),
    ("shopper_with_organisation", {"organisation_id": "ORG"}, 422, "validation.failed", ["organisation_id"]),
    ("duplicate_email", {"email": "Shopper@Example.TEST"}, 409, "user.duplicate_email", ["email"]),
]


@pytest.mark.parametrize("case", USER_CASES, ids=[c[0] for c in USER_CASES])
async def test_bad_user_is_refused_and_nothing_written(client, case):
    _, changes, status, code, fields = case
    w = await build_world(client)
    before = await total(w, "/users")
    body = {"email": "new@example.test", "name": "New", "role": "shopper", "password": PASSWORD, **changes}
    if body.get("organisation_id") == "ORG":
        body["organisation_id"] = w.organisation_id
    response = await w.call("admin", "POST", "/users", json=body)
    assert_problem(response, status, code, *fields)
    assert await total(w, "/users") == before


async def test_bad_user_update_changes_nothing(client):
    w = await build_world(client)
    shopper_id = w.users["shopper"]["id"]
    response = await w.call("admin", "PATCH", f"/users/{shopper_id}", json={"password": "short", "name": "Renamed"})
    assert_problem(response, 400, "request.invalid", "password")
    admin = await w.ok("admin", "GET", "/auth/me")
    response = await w.call("admin", "PATCH", f"/users/{admin['id']}", json={"is_active": False})
    assert_problem(response, 422, "validation.failed", "is_active")
    assert (await w.ok("admin", "GET", f"/users/{shopper_id}"))["name"] == "Shopper"
    await w.login("shopper@example.test")  # the password did not change


# ---------------------------------------------------------------- query parameters


QUERY_CASES = [
    ("/locations", {"offset": -1}, "query.offset"),
    ("/locations", {"limit": 0}, "query.limit"),
    ("/tasks", {"limit": 501}, "query.limit"),
    ("/reports", {"limit": "ten"}, "query.limit"),
    ("/tasks", {"window_from": "yesterday"}, "query.window_from"),
    ("/tasks", {"status": "lost"}, "query.status"),
    ("/users", {"organisation_id": "acme"}, "query.organisation_id"),
    ("/analytics/location-scores", {"min_sample_size": 1}, "query.min_sample_size"),
]


async def test_bad_query_parameters_are_named(client):
    w = await build_world(client)
    failures = []
    for url, params, field in QUERY_CASES:
        response = await w.call("admin", "GET", url, params=params)
        problem = response.json()
        fields = [e["field"] for e in problem.get("errors", [])]
        if (response.status_code, problem.get("code")) != (400, "request.invalid") or field not in fields:
            failures.append(f"GET {url} {params} → {response.status_code} {problem}")
    assert not failures, "\n".join(failures)


NUL_QUERIES = [
    ("/users", "q"),
    ("/organisations", "q"),
    ("/brands", "q"),
    ("/locations", "q"),
    ("/forms", "q"),
    ("/campaigns", "q"),
    ("/audit", "action"),
    ("/audit", "entity"),
    ("/audit", "entity_id"),
]


async def test_a_nul_in_a_query_parameter_is_named_alike_on_both_engines(client):
    """SQLite searched for a NUL (200, nothing found) while PostgreSQL refused it with a 400 that named
    nothing: the same rule as for bodies now, 400 naming the parameter."""
    w = await build_world(client)
    failures = []
    for url, name in NUL_QUERIES:
        response = await w.call("admin", "GET", url, params={name: "Ac\u0000me"})
        problem = response.json()
        errors = [(e["field"], e["reason"]) for e in problem.get("errors", [])]
        if (response.status_code, problem.get("code"), errors) != (
            400,
            "request.invalid",
            [(f"query.{name}", "must not contain a NUL character")],
        ):
            failures.append(f"GET {url} {name} → {response.status_code} {problem}")
    assert not failures, "\n".join(failures)
    assert (await w.ok("admin", "GET", "/brands", params={"q": "Ac"}))["total"] == 1


# ---------------------------------------------------------------- login


async def test_wrong_password_and_unknown_email_look_the_same(client):
    await build_world(client)
    for email, password in (("shopper@example.test", "wrong-password-1"), ("nobody@example.test", PASSWORD)):
        response = await client.post("/auth/login", json={"email": email, "password": password})
        problem = assert_problem(response, 401, "auth.invalid_credentials")
        assert "access_token" not in problem
    response = await client.post("/auth/login", json={"email": "shopper@example.test"})
    assert_problem(response, 400, "request.invalid", "password")


# ---------------------------------------------------------------- forms and tasks


def _invalid_definition() -> dict[str, Any]:
    definition = copy.deepcopy(SMALL_CALL_FORM)
    definition["sections"][1]["items"][1]["key"] = "greeted"  # duplicate key
    definition["sections"][0]["items"][0]["bands"][0] = {"min": 20, "max": 0, "points": 2}  # min above max
    return definition


async def test_publishing_an_invalid_definition_lists_every_problem(client):
    w = await build_world(client)
    form = await w.ok(
        "coordinator", "POST", "/forms", json={"name": "Broken", "channel": "call", "definition": _invalid_definition()}
    )
    response = await w.call("coordinator", "POST", f"/forms/{form['id']}/publish")
    problem = assert_problem(response, 422, "form.invalid_definition", "definition.sections[1].items[1].key")
    assert len(problem["errors"]) >= 2
    assert all(e["field"].startswith("definition.sections[") for e in problem["errors"])
    after = await w.ok("coordinator", "GET", f"/forms/{form['id']}")
    assert after["published_version"] is None
    versions = (await w.ok("coordinator", "GET", f"/forms/{form['id']}/versions"))["items"]
    assert [v["status"] for v in versions] == ["draft"]


async def test_bad_tasks_are_refused_and_nothing_written(client):
    w = await build_world(client)
    published = await publish_form(w)
    draft_form = await w.ok(
        "coordinator", "POST", "/forms", json={"name": "Unpublished", "channel": "call", "definition": SMALL_CALL_FORM}
    )
    draft_version = (await w.ok("coordinator", "GET", f"/forms/{draft_form['id']}/versions"))["items"][0]["id"]
    visit_form = await w.ok(
        "coordinator", "POST", "/forms", json={"name": "Visit", "channel": "visit", "definition": SMALL_CALL_FORM}
    )
    visit_version = (await w.ok("coordinator", "POST", f"/forms/{visit_form['id']}/publish"))["id"]

    def task(**changes: Any) -> dict[str, Any]:
        return {
            "organisation_id": w.organisation_id,
            "location_id": w.own_location_id,
            "form_version_id": published,
            "channel": "call",
            **window(1, 3),
            **changes,
        }

    naive = (dt.datetime.now(UTC) + dt.timedelta(hours=1)).replace(tzinfo=None).isoformat()
    cases = [
        (task(**window(3, 1)), 422, "task.invalid_window", "window_end"),
        (task(**window(1, 1)), 422, "task.invalid_window", "window_end"),
        (task(window_start=naive), 400, "request.invalid", "window_start"),
        (task(form_version_id=draft_version), 422, "validation.failed", "form_version_id"),
        (task(form_version_id=visit_version), 422, "validation.failed", "form_version_id"),
        (task(channel="fax"), 400, "request.invalid", "channel"),
        (task(shopper_id=w.users["manager"]["id"]), 422, "validation.failed", "shopper_id"),
        (task(organisation_id=w.other_organisation_id), 422, "validation.failed", "location_id"),
    ]
    for body, status, code, field in cases:
        assert_problem(await w.call("coordinator", "POST", "/tasks", json=body), status, code, field)
    assert await total(w, "/tasks") == 0


async def test_date_times_that_cannot_be_told_in_utc_are_named(client):
    """Years 1 and 9999 decode, but with their offset they fall outside what a date-time holds."""
    w = await build_world(client)
    early, late = "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"
    for url, params, field in (
        ("/audit", {"since": late}, "since"),
        ("/audit", {"until": early}, "until"),
        ("/tasks", {"window_from": late}, "window_from"),
        ("/tasks", {"window_to": early}, "window_to"),
    ):
        response = await w.call("admin", "GET", url, params=params)
        assert_problem(response, 422, "validation.failed", field)
    response = await w.call("admin", "POST", "/reports/bulk-approve", json={"submitted_before": late})
    assert_problem(response, 422, "validation.failed", "submitted_before")


async def test_task_windows_and_waves_out_of_range_are_named(client):
    w = await build_world(client)
    version = await publish_form(w)
    now = dt.datetime.now(dt.timezone.utc)
    response = await w.call(
        "coordinator",
        "POST",
        "/tasks",
        json={
            "organisation_id": w.organisation_id,
            "location_id": w.own_location_id,
            "form_version_id": version,
            "channel": "call",
            "window_start": "0001-01-01T00:00:00+05:00",
            "window_end": now.isoformat(),
        },
    )
    assert_problem(response, 422, "validation.failed", "window_start")
    far = await campaign(w, version)
    response = await w.call(
        "coordinator",
        "POST",
        f"/campaigns/{far['id']}/waves",
        json={"name": "End of time", "starts_on": "9999-12-30", "ends_on": "9999-12-31"},
    )
    assert_problem(response, 422, "wave.invalid", "starts_on", "ends_on")
    assert (await w.ok("coordinator", "GET", "/tasks"))["total"] == 0


async def test_blank_names_and_nul_characters_are_refused_alike_on_both_engines(client):
    w = await build_world(client)
    for body, field, reason in (
        ({"name": "   "}, "name", "must not be blank or contain a NUL character"),
        ({"name": "a\u0000b"}, "name", "must not be blank or contain a NUL character"),
    ):
        response = await w.call("coordinator", "POST", "/brands", json=body)
        problem = assert_problem(response, 400, "request.invalid", field)
        assert problem["errors"][0]["reason"] == reason
    response = await w.call(
        "coordinator",
        "POST",
        "/locations",
        json={"brand_id": w.own_brand_id, "name": "Fine", "region": "Bo\u0000hemia", "timezone": "Europe/Prague"},
    )
    assert (
        assert_problem(response, 400, "request.invalid", "region")["errors"][0]["reason"]
        == "must not contain a NUL character"
    )
    assert (await w.ok("coordinator", "GET", "/brands"))["total"] == 2  # Acme and Rival only

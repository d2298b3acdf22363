"""Who may call what: the route × role matrix built from the app's own routes, tokens, and tenant scoping."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from api_schemas.accounts import Role
from backend.accounts.guards import PUBLIC, requires_roles
from backend.accounts.security import new_token
from backend.accounts.tables import AccessToken
from tests.api.forms_fixture import SMALL_CALL_FORM
from tests.api.routes import (
    ENDS_SESSION,
    NOT_API_PATHS,
    PATH_PARAM,
    ROLE_USERS,
    fill,
    is_automatic_options,
    route_cases,
    seeded_objects,
)
from tests.builders import make_task, publish_form, report_body
from tests.world import World, bearer, build_world, new_id, other_organisation_location

UTC = dt.timezone.utc
PROBLEM_JSON = "application/problem+json"


def _problem(response: httpx.Response) -> dict[str, Any]:
    if not response.headers.get("content-type", "").startswith(PROBLEM_JSON):
        return {}
    return response.json()


async def test_every_route_declares_who_may_call_it(app):
    cases = route_cases(app)
    assert len(cases) > 40, "the route enumeration found too few routes"
    paths = {route.path for route in app.routes}
    assert NOT_API_PATHS <= paths, "a skipped path no longer exists; update NOT_API_PATHS"
    problems = []
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            if route.path in NOT_API_PATHS or is_automatic_options(handler):
                continue
            allowed = handler.opt.get("roles")
            where = f"{sorted(handler.http_methods)} {route.path} ({handler.handler_name})"
            if allowed != PUBLIC and not (
                isinstance(allowed, tuple) and allowed and all(isinstance(r, Role) for r in allowed)
            ):
                problems.append(f"{where}: opt['roles'] is {allowed!r}, not PUBLIC or a tuple of roles")
            if not any(getattr(g, "func", g) is requires_roles for g in handler.resolve_guards()):
                problems.append(f"{where}: the requires_roles guard does not run")
    assert not problems, "\n".join(problems)


# Routes whose roles the matrix pins as well as checks (a change of their roles must be deliberate).
PINNED_ROLES = {
    ("POST", "/tasks/{task_id:uuid}/cancel"): {Role.admin, Role.coordinator},
    ("POST", "/tasks/{task_id:uuid}/assign"): {Role.admin, Role.coordinator},
}


async def test_pinned_routes_keep_their_roles(app):
    declared = {(c.method, c.path): set(c.roles) for c in route_cases(app) if (c.method, c.path) in PINNED_ROLES}
    assert declared == PINNED_ROLES


async def test_route_role_matrix(client, app):
    w = await build_world(client)
    objects = await seeded_objects(w)
    failures: list[str] = []
    checked = 0
    assert ("POST", "/auth/password") in {(c.method, c.path) for c in route_cases(app)}  # every role, own password
    for case in route_cases(app):
        url = fill(case.path, w, objects)
        body = {"json": {}} if case.method in ("POST", "PUT", "PATCH") else {}
        label = f"{case.method} {case.path}"
        if case.roles != PUBLIC and not isinstance(case.roles, tuple):
            failures.append(f"{label} declares no roles ({case.roles!r})")
            continue

        anonymous = await client.request(case.method, url, **body)
        checked += 1
        if case.roles == PUBLIC:
            if anonymous.status_code in (401, 403):
                failures.append(f"{label} is PUBLIC but anonymous got {anonymous.status_code}")
            continue
        if anonymous.status_code != 401 or _problem(anonymous).get("status") != 401:
            failures.append(f"{label} anonymous → {anonymous.status_code} {anonymous.text[:120]}, expected 401")

        for role, who in ROLE_USERS.items():
            if (case.method, case.path) in ENDS_SESSION:
                headers = bearer(await w.login(f"{who}@example.test"))
            else:
                headers = w.as_(who)
            response = await client.request(case.method, url, headers=headers, **body)
            checked += 1
            code = _problem(response).get("code")
            if role in case.roles:
                if response.status_code == 401 or code == "auth.forbidden_role" or response.status_code >= 500:
                    failures.append(f"{label} as allowed {who} → {response.status_code} {response.text[:160]}")
            elif response.status_code != 403 or code != "auth.forbidden_role":
                failures.append(f"{label} as {who} (not allowed) → {response.status_code} {response.text[:160]}")
    assert checked > 150
    assert not failures, f"{len(failures)} of {checked} checks failed:\n" + "\n".join(failures)


# ---------------------------------------------------------------- tokens


async def test_garbage_and_missing_tokens_are_401(client):
    w = await build_world(client)
    for headers in (
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic YWRtaW46cGFzcw=="},
        bearer("not-a-real-token"),
        {"Authorization": w.tokens["admin"]},
    ):
        response = await client.get("/auth/me", headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["content-type"].startswith(PROBLEM_JSON)
        assert response.json()["code"] in ("auth.unauthenticated", "auth.invalid_token")


async def test_expired_token_is_401(client):
    w = await build_world(client)
    token, hashed = new_token()
    past = dt.datetime.now(UTC) - dt.timedelta(minutes=1)
    await AccessToken.insert(
        AccessToken(
            id=uuid.uuid4(),
            user=uuid.UUID(w.users["coordinator"]["id"]),
            token_hash=hashed,
            created_at=past - dt.timedelta(hours=1),
            expires_at=past,
        )
    )
    response = await client.get("/auth/me", headers=bearer(token))
    assert response.status_code == 401 and response.json()["code"] == "auth.token_expired"
    assert (await w.call("coordinator", "GET", "/auth/me")).status_code == 200  # the other session lives on


async def test_logout_revokes_only_that_token(client):
    w = await build_world(client)
    second = await w.login("manager@example.test")
    await w.ok("manager", "POST", "/auth/logout", status=204)
    response = await w.call("manager", "GET", "/auth/me")
    assert response.status_code == 401 and response.json()["code"] == "auth.invalid_token"
    assert (await client.get("/auth/me", headers=bearer(second))).status_code == 200


async def test_deactivating_a_user_ends_their_sessions_and_logins(client):
    w = await build_world(client)
    shopper_id = w.users["shopper"]["id"]
    await w.ok("admin", "PATCH", f"/users/{shopper_id}", json={"is_active": False}, status=200)
    response = await w.call("shopper", "GET", "/tasks")
    assert response.status_code == 401 and response.json()["code"] == "auth.invalid_token"
    login = await client.post(
        "/auth/login", json={"email": "shopper@example.test", "password": "correct-horse-battery"}
    )
    assert login.status_code == 401 and login.json()["code"] == "auth.invalid_credentials"
    await w.ok("admin", "PATCH", f"/users/{shopper_id}", json={"is_active": True}, status=200)
    assert (await w.call("shopper", "GET", "/tasks")).status_code == 401  # reactivation does not revive tokens
    await w.login("shopper@example.test")


# ---------------------------------------------------------------- tenant scoping


@dataclass
class OtherTenant:
    brand_id: str
    location_id: str
    form_id: str
    task_id: str
    report_id: str
    own_task_id: str
    own_report_id: str


async def _two_tenants(w: World) -> OtherTenant:
    """Organisation A (the manager's) and B (other_manager's), each with an approved report by a different shopper."""
    version_id = await publish_form(w)
    location = await other_organisation_location(w, "Other Vienna")
    private_form = await w.ok(
        "coordinator",
        "POST",
        "/forms",
        json={
            "name": "Other's private form",
            "channel": "call",
            "organisation_id": w.other_organisation_id,
            "definition": SMALL_CALL_FORM,
        },
    )
    now = dt.datetime.now(UTC)
    other_task = await w.ok(
        "coordinator",
        "POST",
        "/tasks",
        json={
            "organisation_id": w.other_organisation_id,
            "location_id": location["id"],
            "form_version_id": version_id,
            "channel": "call",
            "window_start": (now - dt.timedelta(hours=3)).isoformat(),
            "window_end": (now + dt.timedelta(hours=3)).isoformat(),
            "shopper_id": w.users["other_shopper"]["id"],
        },
    )
    other_report = await w.ok("other_shopper", "POST", "/reports", json=report_body(other_task), status=201)
    await w.ok("coordinator", "POST", f"/reports/{other_report['id']}/approve", status=200)
    own_task = await make_task(w, version_id, w.own_location_id)
    own_report = await w.ok("shopper", "POST", "/reports", json=report_body(own_task), status=201)
    await w.ok("coordinator", "POST", f"/reports/{own_report['id']}/approve", status=200)
    return OtherTenant(
        location["brand_id"],
        location["id"],
        private_form["id"],
        other_task["id"],
        other_report["id"],
        own_task["id"],
        own_report["id"],
    )


def _ids(page: dict[str, Any]) -> set[str]:
    return {item["id"] for item in page["items"]}


async def test_manager_never_sees_another_organisation(client):
    w = await build_world(client)
    b = await _two_tenants(w)
    other_org = w.other_organisation_id

    assert _ids(await w.ok("manager", "GET", "/organisations")) == {w.organisation_id}
    assert _ids(await w.ok("other_manager", "GET", "/organisations")) == {other_org}
    for url in (
        f"/organisations/{other_org}",
        f"/organisations/{other_org}/brands",
        f"/brands/{b.brand_id}",
        f"/locations/{b.location_id}",
        f"/forms/{b.form_id}",
        f"/forms/{b.form_id}/versions",
        f"/tasks/{b.task_id}",
        f"/reports/{b.report_id}",
        f"/reports/{b.report_id}/score",
        f"/users/{w.users['other_manager']['id']}",
    ):
        response = await w.call("manager", "GET", url)
        assert response.status_code == 404, f"manager GET {url} → {response.status_code}"

    brands = _ids(await w.ok("manager", "GET", "/brands"))
    assert brands == {w.own_brand_id, w.competitor_brand_id}
    locations = await w.ok("manager", "GET", "/locations")
    assert _ids(locations) == {w.own_location_id, w.competitor_location_id}
    assert (await w.call("manager", "GET", "/locations", params={"organisation_id": other_org})).status_code == 404
    assert b.form_id not in _ids(await w.ok("manager", "GET", "/forms"))

    tasks = await w.ok("manager", "GET", "/tasks")
    assert _ids(tasks) == {b.own_task_id} and tasks["total"] == 1
    assert (await w.call("manager", "GET", "/tasks", params={"organisation_id": other_org})).status_code == 404
    assert all(t["shopper_id"] is None for t in tasks["items"])
    reports = await w.ok("manager", "GET", "/reports")
    assert _ids(reports) == {b.own_report_id} and reports["total"] == 1
    assert (await w.call("manager", "GET", "/reports", params={"organisation_id": other_org})).status_code == 404

    analytics = await w.call("manager", "GET", "/analytics/location-scores", params={"organisation_id": other_org})
    assert analytics.status_code == 404
    mine = await w.ok("manager", "GET", "/analytics/location-scores")
    assert b.location_id not in {row["location_id"] for row in mine["locations"]}
    theirs = await w.ok("other_manager", "GET", "/analytics/location-scores")
    assert {row["location_id"] for row in theirs["locations"]} == {b.location_id}


async def test_shopper_sees_only_their_own_work(client):
    w = await build_world(client)
    b = await _two_tenants(w)

    tasks = await w.ok("shopper", "GET", "/tasks")
    assert _ids(tasks) == {b.own_task_id}
    snooped = await w.call("shopper", "GET", "/tasks", params={"shopper_id": w.users["other_shopper"]["id"]})
    assert snooped.status_code == 404 and snooped.json()["code"] == "user.not_found"
    reports = await w.ok("shopper", "GET", "/reports")
    assert _ids(reports) == {b.own_report_id}
    for url in (
        f"/tasks/{b.task_id}",
        f"/tasks/{b.task_id}/form",
        f"/reports/{b.report_id}",
        f"/users/{w.users['other_shopper']['id']}",
        f"/users/{w.users['other_shopper']['id']}/shopper-profile",
    ):
        response = await w.call("shopper", "GET", url)
        assert response.status_code == 404, f"shopper GET {url} → {response.status_code}"
    response = await w.call(
        "shopper", "PUT", f"/users/{w.users['other_shopper']['id']}/shopper-profile", json={"capacity_per_day": 9}
    )
    assert response.status_code == 404
    assert (await w.ok("other_shopper", "GET", f"/users/{w.users['other_shopper']['id']}/shopper-profile"))[
        "capacity_per_day"
    ] != 9
    response = await w.call("shopper", "POST", f"/tasks/{b.task_id}/accept")
    assert response.status_code == 404

    for url in (
        "/organisations",
        "/locations",
        "/users",
        f"/locations/{w.own_location_id}",
        "/brands",
        "/forms",
        "/analytics/location-scores",
    ):
        response = await w.call("shopper", "GET", url)
        assert response.status_code == 403, f"shopper GET {url} → {response.status_code}"
        assert response.json()["code"].startswith("auth.forbidden")


async def test_a_shopper_may_declare_conflicts_of_interest_but_not_lift_them(client):
    w = await build_world(client)
    url = f"/users/{w.users['shopper']['id']}/shopper-profile"
    await w.ok("coordinator", "PUT", url, json={"excluded_brand_ids": [w.competitor_brand_id]})
    for change in ({"excluded_brand_ids": []}, {"languages": ["en"]}):
        response = await w.call("shopper", "PUT", url, json=change)
        assert response.status_code == 403 and response.json()["code"] == "profile.exclusion_locked", response.text
        assert [e["field"] for e in response.json()["errors"]] == ["excluded_brand_ids"]
    assert (await w.ok("shopper", "GET", url))["excluded_brand_ids"] == [w.competitor_brand_id]
    added = await w.ok(
        "shopper",
        "PUT",
        url,
        json={
            "excluded_brand_ids": [w.competitor_brand_id],
            "excluded_location_ids": [w.own_location_id],
            "capacity_per_day": 2,
        },
    )
    assert (added["excluded_location_ids"], added["capacity_per_day"]) == ([w.own_location_id], 2)
    lifted = await w.ok("coordinator", "PUT", url, json={})
    assert (lifted["excluded_brand_ids"], lifted["excluded_location_ids"]) == ([], [])


async def test_a_coordinator_finds_shoppers_to_assign_but_no_other_accounts(client):
    w = await build_world(client)
    shoppers = {w.users[who]["id"] for who in ("shopper", "other_shopper")}
    listed = await w.ok("coordinator", "GET", "/users?limit=100")
    assert {u["role"] for u in listed["items"]} == {"shopper"}
    assert shoppers <= {u["id"] for u in listed["items"]} and listed["total"] == len(listed["items"])
    found = await w.ok("coordinator", "GET", f"/users?q={w.users['other_shopper']['email']}")
    assert [u["id"] for u in found["items"]] == [w.users["other_shopper"]["id"]]
    for role in ("admin", "coordinator", "manager"):  # a filter cannot widen the coordinator's view
        assert (await w.ok("coordinator", "GET", f"/users?role={role}"))["total"] == 0
    assert (await w.ok("coordinator", "GET", f"/users/{w.users['shopper']['id']}"))["role"] == "shopper"
    everyone = await w.ok("admin", "GET", "/users?limit=100")
    for user in everyone["items"]:
        if user["role"] != "shopper" and user["id"] != w.users["coordinator"]["id"]:  # themselves they may read
            response = await w.call("coordinator", "GET", f"/users/{user['id']}")
            assert response.status_code == 404 and response.json()["code"] == "user.not_found", user["email"]
    assert {"admin", "coordinator", "manager", "shopper"} <= {u["role"] for u in everyone["items"]}


# ---------------------------------------------------------------- existence does not leak


async def _other_campaign(w: World, b: OtherTenant) -> dict[str, str]:
    """A campaign and wave of the other organisation (invisible to this organisation's manager)."""
    version_id = await publish_form(w)
    campaign = await w.ok(
        "coordinator",
        "POST",
        "/campaigns",
        json={
            "organisation_id": w.other_organisation_id,
            "name": "Other's program",
            "location_ids": [b.location_id],
            "forms": {"call": version_id},
            "slot_designs": {
                "call": {
                    "dayparts": [{"key": "day", "start_hour": 9, "end_hour": 17}],
                    "day_types": ["weekday"],
                    "probes_per_slot": 1,
                }
            },
        },
    )
    wave = await w.ok(
        "coordinator",
        "POST",
        f"/campaigns/{campaign['id']}/waves",
        json={"name": "W", "starts_on": "2030-03-04", "ends_on": "2030-03-08"},
    )
    return {"campaign_id": campaign["id"], "wave_id": wave["id"]}


def _answer(response: httpx.Response) -> tuple[int, str | None]:
    return response.status_code, _problem(response).get("code")


async def test_hidden_objects_answer_exactly_like_missing_ones_on_every_route(client, app):
    """For a manager and a shopper, every route given another tenant's (or shopper's) ids answers as it does
    for ids that exist nowhere: same status, same problem code."""
    w = await build_world(client)
    b = await _two_tenants(w)
    campaign = await _other_campaign(w, b)
    hidden = {
        "manager": {
            "organisation_id": w.other_organisation_id,
            "brand_id": b.brand_id,
            "location_id": b.location_id,
            "form_id": b.form_id,
            "task_id": b.task_id,
            "report_id": b.report_id,
            "user_id": w.users["other_shopper"]["id"],
            **campaign,
        },
        "shopper": {
            "task_id": b.task_id,
            "report_id": b.report_id,
            "user_id": w.users["other_shopper"]["id"],
            "organisation_id": w.other_organisation_id,
            "location_id": b.location_id,
            **campaign,
        },
    }
    failures, compared = [], 0
    for case in route_cases(app):
        names = {m.group("name") for m in PATH_PARAM.finditer(case.path)}
        if not names or (case.method, case.path) in ENDS_SESSION:
            continue
        for who, ids in hidden.items():
            if not names & set(ids):
                continue
            known = {name: ids.get(name, new_id()) for name in names}
            missing = {name: (new_id() if name in ids else value) for name, value in known.items()}
            body = {"json": {}} if case.method in ("POST", "PUT", "PATCH") else {}

            def url(values: dict[str, str]) -> str:
                return PATH_PARAM.sub(lambda m: values.get(m.group("name"), "1"), case.path)

            seen = await w.call(who, case.method, url(known), **body)
            absent = await w.call(who, case.method, url(missing), **body)
            compared += 1
            if _answer(seen) != _answer(absent):
                failures.append(
                    f"{who} {case.method} {case.path}: hidden → {_answer(seen)}, missing → {_answer(absent)}"
                )
    assert compared > 30
    assert not failures, "\n".join(failures)


# Every list filter that names an object, with who may use the list.
_ANALYTICS = (
    "/analytics/comparison",
    "/analytics/own-vs-competitors",
    "/analytics/shopper-effects",
    "/analytics/exports/comparison.csv",
    "/analytics/exports/comparison.xlsx",
    "/analytics/exports/reports.csv",
    "/analytics/exports/reports.xlsx",
)
ID_FILTERS = [
    ("/locations", "organisation_id"),
    ("/locations", "brand_id"),
    ("/tasks", "organisation_id"),
    ("/tasks", "location_id"),
    ("/tasks", "shopper_id"),
    ("/tasks", "wave_id"),
    ("/reports", "organisation_id"),
    ("/reports", "location_id"),
    ("/reports", "task_id"),
    ("/reports", "campaign_id"),
    ("/reports", "wave_from"),
    ("/reports", "wave_to"),
    ("/reports/review-queue", "organisation_id"),
    ("/reports/review-queue", "campaign_id"),
    ("/campaigns", "organisation_id"),
    ("/forms", "organisation_id"),
    ("/users", "organisation_id"),
    ("/analytics/location-scores", "organisation_id"),
    ("/analytics/targets", "organisation_id"),
    *[
        (path, name)
        for path in _ANALYTICS
        for name in ("organisation_id", "campaign_id", "brand_id", "wave_from", "wave_to")
    ],
]
# Query parameters naming an object that are not list filters of this kind, and why.
NOT_ID_FILTERS = {
    # The audit log's search: entries by anyone's id (a manager's filter on anyone but themselves finds nothing,
    # for a hidden and a made-up id alike), and entity_id is any entity's id as text.
    ("/audit", "actor_id"),
    ("/audit", "entity_id"),
}
# Required query parameters of the operations above, so the filter is what is answered.
_REQUIRED: dict[str, dict[str, str]] = {
    "/analytics/own-vs-competitors": {"measure": "score"},
    **{
        path: {"measure": "score", "group_by": "location"}
        for path in ("/analytics/comparison", "/analytics/exports/comparison.csv", "/analytics/exports/comparison.xlsx")
    },
}


async def test_every_query_parameter_naming_an_object_is_a_checked_filter(app):
    """A new filter on an id is added to ID_FILTERS (and so checked above) or explained in NOT_ID_FILTERS."""
    document = app.openapi_schema.to_schema()
    named = {
        (path, parameter["name"])
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method == "get"
        for parameter in operation.get("parameters", [])
        if parameter["in"] == "query"
        and (parameter["name"].endswith("_id") or parameter["name"] in ("wave_from", "wave_to"))
    }
    assert named - set(ID_FILTERS) - NOT_ID_FILTERS == set()
    assert set(ID_FILTERS) | NOT_ID_FILTERS <= named


async def test_a_filter_on_a_hidden_id_is_the_same_404_as_on_a_missing_one(client, app):
    w = await build_world(client)
    b = await _two_tenants(w)
    campaign = await _other_campaign(w, b)
    hidden = {
        "organisation_id": w.other_organisation_id,
        "brand_id": b.brand_id,
        "location_id": b.location_id,
        "task_id": b.task_id,
        "shopper_id": w.users["other_shopper"]["id"],
        "wave_from": campaign["wave_id"],
        "wave_to": campaign["wave_id"],
        **campaign,
    }
    allowed = {case.path: case.roles for case in route_cases(app) if case.method == "GET"}
    failures = []
    for path, name in ID_FILTERS:
        for who in ("manager", "shopper"):
            if Role(who) not in allowed[path]:
                continue
            required = _REQUIRED.get(path, {})
            seen = await w.call(who, "GET", path, params={name: hidden[name], **required})
            absent = await w.call(who, "GET", path, params={name: new_id(), **required})
            body = _problem(seen)
            if (
                seen.status_code != 404
                or _answer(seen) != _answer(absent)
                or body.get("errors") != [{"field": f"query.{name}", "reason": "no such object visible to you"}]
            ):
                failures.append(
                    f"{who} GET {path}?{name}=<hidden> → {seen.status_code} {seen.text[:160]}; "
                    f"missing → {_answer(absent)}"
                )
        required = {"organisation_id": w.organisation_id} if path in _ANALYTICS and name != "organisation_id" else {}
        required |= _REQUIRED.get(path, {})
        staff = await w.call("coordinator", "GET", path, params={name: new_id(), **required})
        if Role.coordinator in allowed[path] and staff.status_code != 404:
            failures.append(f"coordinator GET {path}?{name}=<missing> → {staff.status_code}")
    assert not failures, "\n".join(failures)
    # What a caller may see still filters: the manager's own organisation, the shopper's own task.
    own = await w.ok("manager", "GET", "/locations", params={"organisation_id": w.organisation_id})
    assert _ids(own) == {w.own_location_id, w.competitor_location_id}
    mine = await w.ok("shopper", "GET", "/reports", params={"task_id": b.own_task_id})
    assert _ids(mine) == {b.own_report_id}
    assert (await w.ok("shopper", "GET", "/tasks", params={"shopper_id": w.users["shopper"]["id"]}))["total"] == 1

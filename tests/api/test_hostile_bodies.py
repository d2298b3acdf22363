"""Hostile request bodies on every JSON route: not JSON, nested too deeply, far larger than a form needs."""

from __future__ import annotations

import copy
from typing import Any

import httpx
import msgspec
import pytest
from litestar import Litestar

from api_schemas.accounts import Role
from backend.accounts.guards import PUBLIC
from backend.request_body import JSON_BODY_MAX, LARGE_JSON_BODY_MAX
from tests.api.forms_fixture import SMALL_CALL_FORM
from tests.api.routes import Objects, fill
from tests.builders import assert_problem, make_task, publish_form, report_body, total
from tests.world import World, build_world, new_id

DEEP = 1_000


def json_routes(app: Litestar) -> list[tuple[str, str, Any]]:
    """(method, path template, roles) of every route whose body is JSON."""
    found = []
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            data = handler.parsed_data_field
            if data is None or handler.resolve_request_max_body_size() is None:
                continue
            media = getattr(data.kwarg_definition, "media_type", None)
            if media is not None and getattr(media, "value", media) != "application/json":
                continue  # multipart uploads and raw attachment bodies are not JSON routes
            for method in sorted(handler.http_methods):
                found.append((method, route.path, handler.opt.get("roles")))
    return found


def _caller(roles: Any) -> str | None:
    if roles == PUBLIC:
        return None
    return {Role.admin: "admin", Role.coordinator: "coordinator", Role.manager: "manager", Role.shopper: "shopper"}[
        roles[0]
    ]


async def _send_to_every_json_route(
    app: Litestar, w: World, content: bytes, content_type: str
) -> list[tuple[str, httpx.Response]]:
    objects = Objects(form_id=new_id(), task_id=new_id(), report_id=new_id())
    sent = []
    for method, path, roles in json_routes(app):
        who = _caller(roles)
        headers = {**(w.as_(who) if who else {}), "Content-Type": content_type}
        response = await w.client.request(method, fill(path, w, objects), content=content, headers=headers)
        sent.append((f"{method} {path}", response))
    return sent


async def test_the_sweep_finds_the_json_routes(app):
    routes = {(m, p) for m, p, _ in json_routes(app)}
    assert ("POST", "/auth/login") in routes and ("POST", "/reports") in routes and ("POST", "/forms") in routes
    assert ("POST", "/attachments") not in routes  # raw bytes, its own Content-Type rules


@pytest.mark.parametrize(
    "content_type,content",
    [
        ("text/plain", b'{"name": "Acme"}'),
        ("application/xml", b"<brand><name>Acme</name></brand>"),
        ("application/x-www-form-urlencoded", b"name=Acme"),
    ],
    ids=["text", "xml", "form"],
)
async def test_every_json_route_answers_415_to_a_body_that_is_not_json(app, client, content_type, content):
    w = await build_world(client)
    wrong = [
        (route, r.status_code, r.text)
        for route, r in await _send_to_every_json_route(app, w, content, content_type)
        if r.status_code != 415
    ]
    assert not wrong, wrong


async def test_a_report_sent_as_text_plain_is_refused_and_not_stored(client):
    w = await build_world(client)
    task = await make_task(w, await publish_form(w), w.own_location_id)

    body = msgspec.json.encode(report_body(task))
    before = await total(w, "/reports")
    response = await w.client.post("/reports", content=body, headers={**w.as_("shopper"), "Content-Type": "text/plain"})
    problem = assert_problem(response, 415, "request.unsupported_media_type", "body")
    assert "application/json" in problem["detail"]
    assert await total(w, "/reports") == before
    response = await w.client.post(
        "/reports", content=body, headers={**w.as_("shopper"), "Content-Type": "application/json; charset=utf-8"}
    )
    assert response.status_code == 201, response.text


async def test_every_json_route_answers_400_naming_the_body_to_deep_nesting(app, client):
    w = await build_world(client)
    nested = b"[" * DEEP + b"]" * DEEP
    wrong = [
        (route, r.status_code, r.text)
        for route, r in await _send_to_every_json_route(app, w, nested, "application/json")
        if r.status_code != 400 or "body" not in {e["field"] for e in r.json().get("errors", [])}
    ]
    assert not wrong, wrong


def _deep_condition(depth: int) -> bytes:
    """A not-chain nested `depth` JSON levels deep (each not is two: an object and its args array)."""
    nots = depth // 2
    return b'{"op": "not", "args": [' * nots + b'{"op": "answered", "key": "q1"}' + b"]}" * nots


async def test_deep_nesting_inside_a_field_is_400_not_500(client):
    w = await build_world(client)
    deep_object = b'{"email": "a@example.test", "password": ' + b"[" * DEEP + b"]" * DEEP + b"}"
    response = await client.post("/auth/login", content=deep_object, headers={"Content-Type": "application/json"})
    assert_problem(response, 400, "request.invalid", "password")

    task = await make_task(w, await publish_form(w), w.own_location_id)
    body = report_body(task)

    raw = msgspec.json.encode(body).replace(b'"answers":{', b'"answers":{"deep":' + b"[" * DEEP + b"]" * DEEP + b",", 1)
    before = await total(w, "/reports")
    response = await w.client.post(
        "/reports", content=raw, headers={**w.as_("shopper"), "Content-Type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert await total(w, "/reports") == before

    form = (
        b'{"name": "Deep", "channel": "call", "definition": {"title": {"en": "Deep"}, "sections": ['
        b'{"type": "section", "key": "s", "items": [{"type": "yes_no", "key": "q1"},'
        b'{"type": "yes_no", "key": "q2", "show_if": ' + _deep_condition(DEEP) + b"}]}]}}"
    )
    response = await client.post(
        "/forms", content=form, headers={**w.as_("coordinator"), "Content-Type": "application/json"}
    )
    assert_problem(response, 400, "request.too_deep", "body")


# ---------------------------------------------------------------- far larger than a form needs

# The one JSON route allowed more: a phone's exported outbox, its photos inside as base64, imported by staff.
OUTBOX_IMPORT = ("POST", "/reports/import")


def test_every_json_route_bounds_its_body(app):
    """Decoding costs memory several times the body, whatever the schema's bounds: so every JSON route
    refuses a body far larger than a form needs before decoding it (Litestar's own default is 10 MB)."""
    limits = {}
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            data = handler.parsed_data_field
            media = getattr(getattr(data, "kwarg_definition", None), "media_type", None)
            if data is None or (media is not None and getattr(media, "value", media) != "application/json"):
                continue
            for method in handler.http_methods:
                limits[(method, route.path)] = handler.resolve_request_max_body_size()
    assert limits.pop(OUTBOX_IMPORT) == 64 * 1024 * 1024
    assert len(limits) > 20
    too_large = {route: limit for route, limit in limits.items() if limit is None or limit > LARGE_JSON_BODY_MAX}
    assert not too_large, too_large
    assert limits[("POST", "/auth/login")] == JSON_BODY_MAX


async def test_a_report_of_millions_of_answers_is_refused_before_it_is_decoded(client):
    """The defect as found: a 9.5 MB report whose answer is an array of 1.9 million items was decoded
    in full (~30 MiB a request) and only then refused with 422. Now the body's size refuses it."""
    w = await build_world(client)
    task = await make_task(w, await publish_form(w), w.own_location_id)
    body = msgspec.json.encode(report_body(task))
    huge = body.replace(b'"answers":{', b'"answers":{"huge":[' + b",".join([b"1"] * 1_900_000) + b"],", 1)
    assert len(huge) > 3_800_000
    before = await total(w, "/reports")
    response = await w.client.post(
        "/reports", content=huge, headers={**w.as_("shopper"), "Content-Type": "application/json"}
    )
    problem = assert_problem(response, 413, "request.too_large", "body")
    assert str(LARGE_JSON_BODY_MAX) in problem["errors"][0]["reason"]
    # Within the size, an array longer than any question can need stops the decoder, naming the answer.
    long = body.replace(b'"answers":{', b'"answers":{"long":[' + b",".join([b"1"] * 100_000) + b"],", 1)
    assert len(long) < LARGE_JSON_BODY_MAX
    response = await w.client.post(
        "/reports", content=long, headers={**w.as_("shopper"), "Content-Type": "application/json"}
    )
    problem = assert_problem(response, 400, "request.invalid")
    assert problem["errors"][0]["field"].startswith("answers"), problem
    assert await total(w, "/reports") == before
    # The public login is bounded tighter still.
    padded = b'{"email": "a@example.test", "password": "' + b"x" * JSON_BODY_MAX + b'"}'
    response = await client.post("/auth/login", content=padded, headers={"Content-Type": "application/json"})
    assert_problem(response, 413, "request.too_large", "body")


# ---------------------------------------------------------------- NUL characters


NUL_REASON = "must not contain a NUL character"


async def test_nul_in_stored_text_is_refused_naming_the_field_on_both_engines(client):
    """PostgreSQL cannot store U+0000 and SQLite would: one rule (a shared msgspec constraint,
    api_schemas.common.NO_NUL) refuses it on both, naming the field, and nothing is written."""
    w = await build_world(client)
    location = {"brand_id": w.own_brand_id, "name": "Fine", "timezone": "Europe/Prague"}
    for changes, field in (
        ({"address": "Main St\u0000 1"}, "address"),
        ({"timezone": "Europe/Pr\u0000ague"}, "timezone"),
    ):
        response = await w.call("coordinator", "POST", "/locations", json={**location, **changes})
        assert assert_problem(response, 400, "request.invalid", field)["errors"][0]["reason"] == NUL_REASON
    response = await w.call("coordinator", "PATCH", f"/locations/{w.own_location_id}", json={"address": "\u0000"})
    assert_problem(response, 400, "request.invalid", "address")
    assert (await w.ok("coordinator", "GET", f"/locations/{w.own_location_id}"))["address"] != "\u0000"

    response = await w.call(
        "admin",
        "POST",
        "/users",
        json={"email": "nul\u0000@example.test", "name": "N", "role": "shopper", "password": "a long passphrase here"},
    )
    assert_problem(response, 400, "request.invalid", "email")
    response = await client.post("/auth/login", json={"email": "shopper@example.test\u0000", "password": "x"})
    assert_problem(response, 400, "request.invalid", "email")

    form = copy.deepcopy(SMALL_CALL_FORM)
    form["sections"][0]["items"].append({"type": "text", "key": "remarks", "label": {"en": "Remarks"}})
    forms_before = (await w.ok("coordinator", "GET", "/forms"))["total"]
    label = copy.deepcopy(form)
    label["sections"][1]["items"][0]["label"] = {"en": "Greeted\u0000?"}
    choice = copy.deepcopy(form)
    choice["sections"][1]["items"].append(
        {"type": "single_choice", "key": "tone", "choices": [{"value": "warm\u0000"}]}
    )
    for broken, field in (
        (label, "definition.sections[1].items[0].label"),
        (choice, "definition.sections[1].items[4].choices[0].value"),
    ):
        response = await w.call(
            "coordinator", "POST", "/forms", json={"name": "F", "channel": "call", "definition": broken}
        )
        problem = assert_problem(response, 400, "request.invalid")
        assert problem["errors"][0]["field"].startswith(field), problem
        assert problem["errors"][0]["reason"] == NUL_REASON
    assert (await w.ok("coordinator", "GET", "/forms"))["total"] == forms_before

    created = await w.ok(
        "coordinator", "POST", "/forms", json={"name": "With remarks", "channel": "call", "definition": form}
    )
    version = await w.ok("coordinator", "POST", f"/forms/{created['id']}/publish", status=200)
    task = await make_task(w, version["id"], w.own_location_id)
    body = report_body(task)
    body["answers"]["remarks"] = "Rude\u0000"
    before = await total(w, "/reports")
    response = await w.call("shopper", "POST", "/reports", json=body)
    problem = assert_problem(response, 400, "request.invalid")
    assert problem["errors"][0]["field"].startswith("answers") and problem["errors"][0]["reason"] == NUL_REASON
    assert await total(w, "/reports") == before
    body["answers"]["remarks"] = "Rude"
    report = await w.ok("shopper", "POST", "/reports", json=body, status=201)

    response = await w.call(
        "coordinator",
        "POST",
        f"/reports/{report['id']}/return",
        json={"comments": [{"question_key": "remarks\u0000", "text": "Say more"}]},
    )
    assert_problem(response, 400, "request.invalid", "comments[0].question_key")
    response = await w.call("coordinator", "POST", f"/reports/{report['id']}/reject", json={"reason": "No\u0000"})
    assert_problem(response, 400, "request.invalid", "reason")
    assert (await w.ok("coordinator", "GET", f"/reports/{report['id']}"))["status"] == "submitted"

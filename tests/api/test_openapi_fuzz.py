"""Schemathesis fuzzes every operation in the app's OpenAPI document, as every role, on SQLite and PostgreSQL.

The operations come from the app itself (`create_app().openapi_schema`), so a new endpoint is fuzzed
without touching this file. Each one is called against a real server (`fieldscore serve` in a
subprocess, the production lifespan and PostgreSQL pool) over a database seeded with a small world, and
every response must be documented: no 5xx, a documented status code, content type, body and headers.
"""

from __future__ import annotations

import asyncio
import ctypes
import datetime as dt
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
import zlib
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from litestar.serialization import encode_json
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from backend import db
from backend.accounts.guards import PUBLIC
from backend.app import create_app
from backend.settings import Settings
from tests.attachment_samples import png
from tests.builders import make_task, publish_form, report_body
from tests.conftest import PG_ADMIN_DSN, _pg_base, _pg_execute
from tests.world import PASSWORD, build_world, other_organisation_location

ROLES = ("admin", "coordinator", "manager", "shopper")
MAX_EXAMPLES = 50  # generated cases per operation and engine, spread over the roles
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]

# The document the server serves at /schema/openapi.json (the fixture checks they are the same).
# Built on a throw-away database: collecting the tests must not create one in the current folder.
_SCHEMA_DIR = tempfile.TemporaryDirectory(prefix="fieldscore-openapi-")
_APP = create_app(
    Settings(
        database_url=f"sqlite:///{_SCHEMA_DIR.name}/schema.sqlite3",
        data_dir=Path(_SCHEMA_DIR.name),
    )
)
OPENAPI = json.loads(encode_json(_APP.openapi_schema.to_schema()))


def _without_examples(document: Any) -> Any:
    """The document minus its examples. They are captured from real calls (tests/capture_examples.py) and
    tests/api/test_openapi_docs.py checks each against its schema; fuzzed from, they would send real-looking
    logins with made-up passwords until the loopback address is throttled, and change the fuzzed world's
    accounts (a password change, a logout) under the fuzz."""
    if isinstance(document, dict):
        return {k: _without_examples(v) for k, v in document.items() if k != "examples"}
    if isinstance(document, list):
        return [_without_examples(v) for v in document]
    return document


schema = schemathesis.openapi.from_dict(_without_examples(OPENAPI))
schema.config.seed = 20240611
schema.config.generation.update(max_examples=MAX_EXAMPLES, deterministic=True)
# Not the coverage phase: it enumerates every boundary of a form definition (~11,000 cases, minutes each).
schema.config.phases.update(phases=["examples", "fuzzing"])


def _roles_by_operation() -> dict[tuple[str, str], tuple[str, ...]]:
    """(METHOD, OpenAPI path) → the roles the route lets in ("public" routes: every role)."""
    allowed = {}
    for route in _APP.routes:
        for handler in getattr(route, "route_handlers", []):
            roles = handler.opt.get("roles")
            if roles is None:
                continue
            names = ROLES if roles == PUBLIC else tuple(r.value for r in roles)
            for method in handler.http_methods:
                allowed[(method, re.sub(r":\w+}", "}", route.path))] = names
    return allowed


ALLOWED = _roles_by_operation()
_OPERATIONS = {
    (method.upper(), path): spec
    for path, item in OPENAPI["paths"].items()
    for method, spec in item.items()
    if isinstance(spec, dict) and "responses" in spec
}
# Operations that take nothing (GET /auth/me, POST /auth/logout): Hypothesis has one case for them, so
# that case is sent as every role.
NO_INPUT = {op for op, spec in _OPERATIONS.items() if not spec.get("parameters") and "requestBody" not in spec}
# What _seed returns real ids for; query filters of these names are given real ids now and then.
KNOWN_ID_NAMES = (
    "organisation_id",
    "brand_id",
    "location_id",
    "user_id",
    "form_id",
    "task_id",
    "report_id",
    "campaign_id",
    "wave_id",
)
ID_FILTERS = {
    op: [p["name"] for p in spec.get("parameters", []) if p.get("in") == "query" and p["name"] in KNOWN_ID_NAMES]
    for op, spec in _OPERATIONS.items()
}
# The share of cases sent as a role the route refuses: enough to fuzz the guard, the rest get past it.
REFUSED_SHARE = 1 / 8


@dataclass
class Served:
    """A running `fieldscore serve` over a seeded database."""

    base_url: str
    log: Path
    session: requests.Session = field(default_factory=requests.Session)
    known_ids: dict[str, list[str]] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    # (METHOD, path) → role → status codes answered: what the fuzz really reached, checked at the end.
    reached: dict[tuple[str, str], dict[str, Counter[str]]] = field(default_factory=dict)

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


async def _seed(url: str, data_dir: Path) -> dict[str, list[str]]:
    """Builds the world in-process and returns real ids per path-parameter name."""
    seed_settings = Settings(
        database_url=url, data_dir=data_dir, argon2_time_cost=1, argon2_memory_kib=8192, pg_pool_min=1, pg_pool_max=2
    )
    engine = db.create_engine(url)
    app = create_app(seed_settings, engine)
    await db.open_pool(engine, min_size=1, max_size=2)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://seed") as client:
            w = await build_world(client)
            version_id = await publish_form(w)
            reported = await make_task(w, version_id, w.own_location_id)
            report = await w.ok("shopper", "POST", "/reports", json=report_body(reported), status=201)
            await w.ok("coordinator", "POST", f"/reports/{report['id']}/approve", status=200)
            # Work in every role's view: a report awaiting review, one sent back to its shopper, an
            # accepted task, a planned wave of open tasks, a photo; each role reaches real objects.
            pending_task = await make_task(w, version_id, w.competitor_location_id, shopper="other_shopper")
            pending = await w.ok("other_shopper", "POST", "/reports", json=report_body(pending_task), status=201)
            returned_task = await make_task(w, version_id, w.competitor_location_id)
            returned = await w.ok("shopper", "POST", "/reports", json=report_body(returned_task), status=201)
            await w.ok(
                "coordinator",
                "POST",
                f"/reports/{returned['id']}/return",
                status=200,
                json={"comments": [{"question_key": "greeted", "text": "Please check."}]},
            )
            accepted = await make_task(w, version_id, w.own_location_id, shopper="other_shopper")
            await w.ok("other_shopper", "POST", f"/tasks/{accepted['id']}/accept", status=200)
            elsewhere = await other_organisation_location(w, "Other Vienna")
            soon = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)
            open_task = await w.ok(
                "coordinator",
                "POST",
                "/tasks",
                json={  # on the shopper's job board
                    "organisation_id": w.other_organisation_id,
                    "location_id": elsewhere["id"],
                    "form_version_id": version_id,
                    "channel": "call",
                    "window_start": soon.isoformat(),
                    "window_end": (soon + dt.timedelta(hours=4)).isoformat(),
                },
            )
            await w.ok(
                "coordinator",
                "PUT",
                f"/users/{w.users['shopper']['id']}/shopper-profile",
                json={"home_lat": 50.08, "home_lon": 14.43, "travel_radius_km": 300, "languages": ["en", "cs"]},
            )
            campaign = await w.ok(
                "coordinator",
                "POST",
                "/campaigns",
                json={
                    "organisation_id": w.organisation_id,
                    "name": "Hotline",
                    "forms": {"call": version_id},
                    "location_ids": [w.own_location_id, w.competitor_location_id],
                    "slot_designs": {
                        "call": {
                            "dayparts": [{"key": "day", "start_hour": 8, "end_hour": 20}],
                            "day_types": ["weekday"],
                            "probes_per_slot": 1,
                        }
                    },
                },
            )
            today = dt.date.today()
            wave = await w.ok(
                "coordinator",
                "POST",
                f"/campaigns/{campaign['id']}/waves",
                json={
                    "name": "Next",
                    "starts_on": (today + dt.timedelta(days=2)).isoformat(),
                    "ends_on": (today + dt.timedelta(days=9)).isoformat(),
                },
            )
            await w.ok("coordinator", "POST", f"/campaigns/{campaign['id']}/waves/{wave['id']}/generate", status=200)
            photo = await w.client.post("/attachments", content=png(seed=5), headers=w.as_("shopper"))
            assert photo.status_code == 201, photo.text
            forms = await w.ok("coordinator", "GET", "/forms")
    finally:
        await db.close_pool(engine)
    # The users fuzzed as never include the ones the test logs in with: a PATCH must not lock a role out.
    return {
        "organisation_id": [w.organisation_id, w.other_organisation_id],
        "brand_id": [w.own_brand_id, w.competitor_brand_id],
        "location_id": [w.own_location_id, w.competitor_location_id],
        "user_id": [w.users["other_shopper"]["id"], w.users["other_manager"]["id"]],
        "form_id": [item["id"] for item in forms["items"]],
        "number": ["1"],
        "task_id": [reported["id"], open_task["id"], pending_task["id"], returned_task["id"], accepted["id"]],
        "report_id": [report["id"], pending["id"], returned["id"]],
        "campaign_id": [campaign["id"]],
        "wave_id": [wave["id"]],
        "sha256": [photo.json()["sha256"]],
    }


def _report_reach(engine: str, reached: dict[tuple[str, str], dict[str, Counter[str]]]) -> None:
    """How far the fuzz got, per role: calls, and how many were answered 2xx (printed with -s)."""
    totals: dict[str, Counter[str]] = {}
    for by_role in reached.values():
        for role, statuses in by_role.items():
            totals.setdefault(role, Counter())["calls"] += sum(statuses.values())
            totals[role]["2xx"] += sum(n for code, n in statuses.items() if code.startswith("2"))
            totals[role]["refused"] += sum(n for code, n in statuses.items() if " " in code)
    print(
        f"\nfuzz reach on {engine} ({len(reached)} operations): "
        + "; ".join(
            f"{role} {t['calls']} calls, {t['2xx']} 2xx, {t['refused']} refused by the guard"
            for role, t in sorted(totals.items())
        )
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:
    """Linux: the server gets SIGTERM if pytest itself is killed before it can stop the server."""
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@contextmanager
def _serve(url: str, tmp: Path) -> Iterator[tuple[str, Path]]:
    port = _free_port()
    log = tmp / "server.log"
    env = {
        **os.environ,
        "FIELDSCORE_DATABASE_URL": url,
        "FIELDSCORE_DATA_DIR": str(tmp / "data"),
        "FIELDSCORE_ARGON2_TIME_COST": "1",
        "FIELDSCORE_ARGON2_MEMORY_KIB": "8192",
        "FIELDSCORE_PG_POOL_MAX": "5",
    }
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "backend.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"server exited with {process.returncode}:\n{log.read_text(errors='replace')}")
            try:
                if requests.get(f"{base_url}/health", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"server did not become healthy:\n{log.read_text(errors='replace')}")
            time.sleep(0.2)
        yield base_url, log
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp(f"fuzz-{request.param}")
    drop: str | None = None
    if request.param == "sqlite":
        path = tmp / "fuzz.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
    else:
        template: str = request.getfixturevalue("pg_template")
        drop = f"fs_fuzz_{uuid.uuid4().hex[:12]}"
        asyncio.run(_pg_execute(f'CREATE DATABASE "{drop}" TEMPLATE "{template}"'))
        url = f"{_pg_base(PG_ADMIN_DSN)}/{drop}"
    try:
        known_ids = asyncio.run(_seed(url, tmp / "data"))
        with _serve(url, tmp) as (base_url, log):
            server = Served(base_url=base_url, log=log, known_ids=known_ids)
            served_document = server.session.get(f"{base_url}/schema/openapi.json", timeout=10).json()
            assert served_document == OPENAPI, "the fuzzed document must be the one the server serves"
            try:
                yield server
            finally:
                server.session.close()
            problems = check_every_allowed_role_was_fuzzed(server.reached)
            assert not problems, "what the fuzz never reached, by operation and role:\n" + "\n".join(problems)
            _report_reach(request.param, server.reached)
    finally:
        if drop:
            asyncio.run(_pg_execute(f'DROP DATABASE IF EXISTS "{drop}" WITH (FORCE)'))


@pytest.fixture
def role_headers(served: Served) -> dict[str, dict[str, str]]:
    # A fuzzed POST /auth/logout revokes the token it was sent with: such a token is replaced by a fresh
    # login before the next operation. Otherwise the tokens are kept: every login is a password hash,
    # and the fuzzed logins with made-up credentials count against the loopback address's throttle.
    headers = {}
    for role in ROLES:
        token = served.tokens.get(role)
        if (
            token is None
            or served.session.get(
                f"{served.base_url}/auth/me", timeout=10, headers={"Authorization": f"Bearer {token}"}
            ).status_code
            != 200
        ):
            response = served.session.post(
                f"{served.base_url}/auth/login",
                timeout=10,
                json={"email": f"{role}@example.test", "password": PASSWORD},
            )
            assert response.status_code == 200, response.text
            token = served.tokens[role] = response.json()["access_token"]
        headers[role] = {"Authorization": f"Bearer {token}"}
    return headers


def _key(case: schemathesis.Case, salt: str) -> tuple[object, ...]:
    return salt, case.method, case.path_parameters, case.query, case.headers, case.body


def _pick(case: schemathesis.Case, salt: str, options: Sequence[str]) -> str:
    """A choice that depends only on the case, so Hypothesis replays and shrinks it faithfully."""
    return options[zlib.crc32(repr(_key(case, salt)).encode()) % len(options)]


@schema.parametrize()
@settings(
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_every_response_is_documented(
    case: schemathesis.Case, served: Served, role_headers: dict[str, dict[str, str]]
) -> None:
    # Mostly a role the route lets in, so every role's cases reach the handler; now and then one it
    # refuses, so the guard is fuzzed too.
    operation = (case.operation.method.upper(), case.operation.path)
    allowed = ALLOWED[operation]
    refused = [r for r in ROLES if r not in allowed]
    weights = round((1 - REFUSED_SHARE) / REFUSED_SHARE) if refused else 1
    if operation in NO_INPUT:
        roles = list(ROLES)  # its one possible case, as every role
    else:
        roles = [_pick(case, "role", [*allowed * weights, *refused] if refused else list(allowed))]
    if case.meta is None or case.meta.generation.mode == GenerationMode.POSITIVE:
        # Random UUIDs only ever reach "not found"; real ids reach the handlers' other branches.
        for name in list(case.path_parameters or {}):
            ids = served.known_ids.get(name)
            if ids and _pick(case, name, ["random", "real"]) == "real":
                case.path_parameters[name] = _pick(case, f"{name} id", ids)
        # Filters too, present or not: organisation_id=<a real one> finds something to compute.
        for name in ID_FILTERS.get(operation, ()):
            if _pick(case, f"query {name}", ["as generated", "real"]) == "real":
                case.query = {**(case.query or {}), name: _pick(case, f"query {name} id", served.known_ids[name])}
    for role in roles:
        headers = role_headers[role]
        response = case.call(base_url=served.base_url, session=served.session, headers=headers, timeout=30)
        served.reached.setdefault(operation, {}).setdefault(role, Counter())[_outcome(response)] += 1
        if response.status_code >= 500:
            print(f"server log:\n{served.log_tail()}")
        case.validate_response(response, checks=CHECKS, headers=headers)


_GUARD_CODES = frozenset({"auth.unauthenticated", "auth.invalid_token", "auth.token_expired", "auth.forbidden_role"})


def _outcome(response: schemathesis.Response) -> str:
    """The status, and for a refusal by authentication or the role guard, its problem code."""
    if response.status_code in (401, 403):
        types = {k.lower(): v for k, v in response.headers.items()}.get("content-type") or [""]
        if str(types[0] if isinstance(types, list) else types).startswith("application/problem+json"):
            code = response.json().get("code")
            if code in _GUARD_CODES:
                return f"{response.status_code} {code}"
    return str(response.status_code)


def _past_the_guard(outcomes: Counter[str]) -> bool:
    return any(" " not in outcome for outcome in outcomes)


def check_every_allowed_role_was_fuzzed(reached: dict[tuple[str, str], dict[str, Counter[str]]]) -> list[str]:
    """For each operation fuzzed: every role it lets in got past authentication and its guard at least once."""
    problems = []
    for operation, by_role in sorted(reached.items()):
        for role in ALLOWED[operation]:
            statuses = by_role.get(role, Counter())
            if not _past_the_guard(statuses):
                problems.append(f"{operation} as {role}: {dict(statuses) or 'never called'}")
    return problems

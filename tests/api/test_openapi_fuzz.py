"""Schemathesis fuzzes every operation in the app's OpenAPI document, as every role, on SQLite and PostgreSQL.

The operations come from the app itself (`create_app().openapi_schema`), so a new endpoint is fuzzed
without touching this file. Each one is called against a real server (`fieldscore serve` in a
subprocess, the production lifespan and PostgreSQL pool) over a database seeded with a small world, and
every response must be documented: no 5xx, a documented status code, content type, body and headers.
"""

from __future__ import annotations

import asyncio
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

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
from backend.app import create_app
from backend.settings import Settings
from tests.builders import make_task, publish_form, report_body
from tests.conftest import PG_ADMIN_DSN, _pg_base, _pg_execute
from tests.world import PASSWORD, build_world

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
OPENAPI = json.loads(encode_json(create_app(Settings(
    database_url=f"sqlite:///{_SCHEMA_DIR.name}/schema.sqlite3", data_dir=Path(_SCHEMA_DIR.name),
)).openapi_schema.to_schema()))
schema = schemathesis.openapi.from_dict(OPENAPI)
schema.config.seed = 20240611
schema.config.generation.update(max_examples=MAX_EXAMPLES, deterministic=True)
# Not the coverage phase: it enumerates every boundary of a form definition (~11,000 cases, minutes each).
schema.config.phases.update(phases=["examples", "fuzzing"])


@dataclass
class Served:
    """A running `fieldscore serve` over a seeded database."""

    base_url: str
    log: Path
    session: requests.Session = field(default_factory=requests.Session)
    known_ids: dict[str, list[str]] = field(default_factory=dict)

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


async def _seed(url: str, data_dir: Path) -> dict[str, list[str]]:
    """Builds the world in-process and returns real ids per path-parameter name."""
    seed_settings = Settings(database_url=url, data_dir=data_dir, argon2_time_cost=1, argon2_memory_kib=8192,
                             pg_pool_min=1, pg_pool_max=2)
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
            open_task = await make_task(w, version_id, w.competitor_location_id)
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
        "task_id": [reported["id"], open_task["id"]],
        "report_id": [report["id"]],
    }


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
            env=env, stdout=out, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent,
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
    finally:
        if drop:
            asyncio.run(_pg_execute(f'DROP DATABASE IF EXISTS "{drop}" WITH (FORCE)'))


@pytest.fixture
def role_headers(served: Served) -> dict[str, dict[str, str]]:
    # A fresh login per operation: a fuzzed POST /auth/logout revokes only the token it was sent with.
    headers = {}
    for role in ROLES:
        response = served.session.post(f"{served.base_url}/auth/login", timeout=10,
                                       json={"email": f"{role}@example.test", "password": PASSWORD})
        assert response.status_code == 200, response.text
        headers[role] = {"Authorization": f"Bearer {response.json()['access_token']}"}
    return headers


def _key(case: schemathesis.Case, salt: str) -> tuple[object, ...]:
    return salt, case.method, case.path_parameters, case.query, case.headers, case.body


def _pick(case: schemathesis.Case, salt: str, options: Sequence[str]) -> str:
    """A choice that depends only on the case, so Hypothesis replays and shrinks it faithfully."""
    return options[zlib.crc32(repr(_key(case, salt)).encode()) % len(options)]


@schema.parametrize()
@settings(deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow, HealthCheck.filter_too_much])
def test_every_response_is_documented(case: schemathesis.Case, served: Served,
                                      role_headers: dict[str, dict[str, str]]) -> None:
    # Every role, so the operations each one may use are fuzzed past their guards too.
    headers = role_headers[_pick(case, "role", ROLES)]
    if case.meta is None or case.meta.generation.mode == GenerationMode.POSITIVE:
        # Random UUIDs only ever reach "not found"; real ids reach the handlers' other branches.
        for name in list(case.path_parameters or {}):
            ids = served.known_ids.get(name)
            if ids and _pick(case, name, ["random", "real"]) == "real":
                case.path_parameters[name] = _pick(case, f"{name} id", ids)
    response = case.call(base_url=served.base_url, session=served.session, headers=headers, timeout=30)
    if response.status_code >= 500:
        print(f"server log:\n{served.log_tail()}")
    case.validate_response(response, checks=CHECKS, headers=headers)

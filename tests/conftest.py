"""Test harness: a fresh, migrated database per test on SQLite and on PostgreSQL.

Migrations run once per session into a template (a SQLite file, a PostgreSQL template
database) through the real `fieldscore migrate` command; each test gets a copy. Set
FIELDSCORE_REQUIRE_POSTGRES=1 (CI does) to turn "PostgreSQL unreachable" into a failure.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import asyncpg
import httpx
import hypothesis
import pytest

from backend import db
from backend.app import create_app
from backend.settings import Settings

PG_ADMIN_DSN = os.environ.get("FIELDSCORE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REQUIRE_PG = os.environ.get("FIELDSCORE_REQUIRE_POSTGRES") == "1"
PASSWORD = "correct-horse-battery"

# Hypothesis times each example (200 ms deadline) and each test's data generation (the too_slow health
# check) by the wall clock; on a loaded two-core machine either fails a test whose code is correct.
# With the CI variable set (CI runs), Hypothesis has already loaded its own "ci" profile: no deadline,
# derandomized (the same examples every run) and no example database. This profile is made on top of
# whichever is active, so CI keeps all of that and developers' runs get no deadline either.
# Loaded here, before any test module builds its own @settings, so those inherit it; a test naming
# its own suppress_health_check replaces this list and names too_slow itself where it needs to.
hypothesis.settings.register_profile(
    "fieldscore", deadline=None, suppress_health_check=[hypothesis.HealthCheck.too_slow]
)
hypothesis.settings.load_profile("fieldscore")


def _pg_base(dsn: str) -> str:
    return dsn.rsplit("/", 1)[0]


def _migrate(url: str) -> None:
    env = {**os.environ, "FIELDSCORE_DATABASE_URL": url}
    result = subprocess.run(
        [sys.executable, "-m", "backend.cli", "migrate"], env=env, capture_output=True, text=True, timeout=300
    )
    if result.returncode != 0:
        raise RuntimeError(f"migrate failed for {url}:\n{result.stdout}\n{result.stderr}")


async def _pg_execute(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _pg_available() -> str | None:
    try:
        asyncio.run(_pg_execute("SELECT 1"))
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        return f"{type(exc).__name__}: {exc}"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    _migrate(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    problem = _pg_available()
    if problem:
        if REQUIRE_PG:
            pytest.fail(f"PostgreSQL is required (FIELDSCORE_REQUIRE_POSTGRES=1) but unreachable: {problem}")
        pytest.skip(f"PostgreSQL unreachable: {problem}")
    name = f"fs_tmpl_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg_execute(f'CREATE DATABASE "{name}"'))
    try:
        _migrate(f"{_pg_base(PG_ADMIN_DSN)}/{name}")
        yield name
    finally:
        asyncio.run(_pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@dataclass
class Database:
    kind: str
    url: str


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "test.sqlite3"
        shutil.copyfile(template, path)
        yield Database("sqlite", f"sqlite:///{path}")
        return
    template_name: str = request.getfixturevalue("pg_template")
    name = f"fs_t_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg_execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_name}"'))
    try:
        yield Database("postgres", f"{_pg_base(PG_ADMIN_DSN)}/{name}")
    finally:
        asyncio.run(_pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def settings(database: Database, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database.url,
        data_dir=tmp_path / "data",
        argon2_time_cost=1,
        argon2_memory_kib=8192,
        pg_pool_min=1,
        pg_pool_max=5,
    )


@pytest.fixture
async def app(settings: Settings):
    # What the app's lifespan does, done in the test's own task (anyio cancel scopes cannot
    # span a fixture's set-up and tear-down); the real lifespan runs in the served-app test.
    engine = db.create_engine(settings.database_url)
    application = create_app(settings, engine)
    await db.open_pool(engine, min_size=settings.pg_pool_min, max_size=settings.pg_pool_max)
    try:
        yield application
    finally:
        await db.close_pool(engine)


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        yield c


def with_replaced(settings: Settings, **changes: object) -> Settings:
    return replace(settings, **changes)


_outcomes: dict[str, int] = {"postgres_passed": 0, "skipped": 0}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped:
        _outcomes["skipped"] += 1
    elif report.when == "call" and report.passed and "postgres" in report.keywords:
        _outcomes["postgres_passed"] += 1


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """In CI a skipped suite is a failure: PostgreSQL must really have run, and nothing may skip."""
    if not REQUIRE_PG or exitstatus not in (0,):
        return
    problems = []
    if _outcomes["postgres_passed"] == 0:
        problems.append("no PostgreSQL test passed")
    if _outcomes["skipped"]:
        problems.append(f"{_outcomes['skipped']} test(s) skipped")
    if problems:
        print(f"\nFIELDSCORE_REQUIRE_POSTGRES=1 but {' and '.join(problems)}: failing the run.")
        session.exitstatus = 1

"""Analytics reads served by a real PostgreSQL streaming replica equal the primary's.

The replica is made with pg_basebackup (-R: a standby that streams from its primary) and started with
pg_ctl on a free port. Its primary is the test cluster (FIELDSCORE_TEST_PG) when that cluster accepts
replication connections; where its pg_hba.conf has no `replication` entry (the shared development
server), the test starts its own primary with initdb, which does. Either way the app is configured with
FIELDSCORE_ANALYTICS_REPLICA_URL's setting, and the test proves the comparison was read from the replica:
with replay paused there, a report approved on the primary is not counted yet; once replay resumes, the
replica's figures equal the primary's exactly.
"""

from __future__ import annotations

import asyncio
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import urllib.parse
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from backend import db
from backend.app import create_app
from backend.settings import Settings
from tests.api.analytics_fixture import Shopped, publish_full_form
from tests.conftest import PG_ADMIN_DSN, REQUIRE_PG, _migrate, _pg_available
from tests.world import build_world

pytestmark = pytest.mark.postgres


def _bin(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4]))
    if not candidates:
        pytest.fail(f"{name} not found (PostgreSQL server binaries: /usr/lib/postgresql/*/bin)")
    return candidates[-1]


def _as_postgres(command: list[str]) -> list[str]:
    """PostgreSQL's server programs refuse to run as root: run them as the postgres user then."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(_as_postgres(command), check=False, capture_output=True, text=True, timeout=180, **kwargs)


def _workdir() -> Path:
    path = Path(tempfile.mkdtemp(prefix="fs-replica-", dir="/tmp"))
    if os.geteuid() == 0:
        shutil.chown(path, "postgres", "postgres")
    return path


@contextmanager
def _server(data: Path, port: int) -> Iterator[None]:
    started = _run(
        [
            _bin("pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(data.parent / f"{data.name}.log"),
            "-o",
            f"-k {data} -c listen_addresses=127.0.0.1 -p {port} -c fsync=off",
            "-w",
            "start",
        ]
    )
    if started.returncode != 0:
        log = data.parent / f"{data.name}.log"
        pytest.fail(f"pg_ctl start failed: {started.stderr}\n{log.read_text() if log.exists() else ''}")
    try:
        yield
    finally:
        _run([_bin("pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"])


def _basebackup(primary_dsn: str, target: Path) -> subprocess.CompletedProcess[str]:
    return _run([_bin("pg_basebackup"), "-d", primary_dsn, "-D", str(target), "-R", "-X", "stream", "-c", "fast"])


def _with_port(dsn: str, port: int, database: str) -> str:
    parts = urllib.parse.urlsplit(dsn)
    credentials = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
    return urllib.parse.urlunsplit((parts.scheme, f"{credentials}127.0.0.1:{port}", f"/{database}", "", ""))


@contextmanager
def _primary_and_replica() -> Iterator[tuple[str, str]]:
    """(admin DSN of the primary, admin DSN of its streaming replica), both on 127.0.0.1."""
    work = _workdir()
    try:
        replica_data = work / "replica"
        own_primary = None
        backup = _basebackup(PG_ADMIN_DSN, replica_data)
        if backup.returncode == 0:
            primary_dsn = PG_ADMIN_DSN
            # A packaged cluster keeps its configuration outside the data directory: give the copy its own.
            if not (replica_data / "postgresql.conf").exists():
                (replica_data / "postgresql.conf").write_text("hot_standby = on\n")
            (replica_data / "pg_hba.conf").write_text("local all all trust\nhost all all 127.0.0.1/32 trust\n")
        else:
            # The test cluster refuses replication (no `replication` line in its pg_hba.conf): a pair of our own.
            shutil.rmtree(replica_data, ignore_errors=True)
            own_primary = work / "primary"
            made = _run([_bin("initdb"), "-D", str(own_primary), "-U", "postgres", "-A", "trust", "--no-sync"])
            assert made.returncode == 0, made.stderr
            port = _free_port()
            primary_dsn = f"postgresql://postgres@127.0.0.1:{port}/postgres"
        with _server(own_primary, port) if own_primary else _nothing():
            if own_primary:
                backup = _basebackup(primary_dsn, replica_data)
                assert backup.returncode == 0, backup.stderr
            replica_port = _free_port()
            with _server(replica_data, replica_port):
                yield primary_dsn, _with_port(primary_dsn, replica_port, "postgres")
    finally:
        shutil.rmtree(work, ignore_errors=True)


@contextmanager
def _nothing() -> Iterator[None]:
    yield


async def _caught_up(primary: str, replica: str) -> None:
    """Wait until the replica has replayed everything the primary has written so far."""
    p = await asyncpg.connect(primary)
    r = await asyncpg.connect(replica)
    try:
        lsn = await p.fetchval("SELECT pg_current_wal_lsn()")
        for _ in range(600):
            if await r.fetchval("SELECT pg_last_wal_replay_lsn() >= $1", lsn):
                return
            await asyncio.sleep(0.05)
        raise AssertionError("the replica did not catch up within 30 s")
    finally:
        await p.close()
        await r.close()


async def _sql(dsn: str, statement: str) -> Any:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval(statement)
    finally:
        await conn.close()


QUESTIONS = [
    {"measure": "score", "group_by": "location"},
    {"measure": "time_to_answer", "group_by": "relation"},
    {"measure": "item_pass_rate", "group_by": "item"},
    {"measure": "service_level", "group_by": ["weekday", "hour"]},
    {"measure": "nps", "group_by": "brand", "channel": "call"},
]


async def test_analytics_from_a_streaming_replica_equal_the_primarys(tmp_path: Path) -> None:
    problem = await asyncio.to_thread(_pg_available)
    if problem:
        if REQUIRE_PG:
            pytest.fail(f"PostgreSQL is required but unreachable: {problem}")
        pytest.skip(f"PostgreSQL unreachable: {problem}")
    with _primary_and_replica() as (primary_admin, replica_admin):
        assert await _sql(replica_admin, "SELECT pg_is_in_recovery()") is True
        name = f"fs_replica_{uuid.uuid4().hex[:12]}"
        await _sql(primary_admin, f'CREATE DATABASE "{name}"')
        try:
            primary_url = primary_admin.rsplit("/", 1)[0] + f"/{name}"
            replica_url = replica_admin.rsplit("/", 1)[0] + f"/{name}"
            await asyncio.to_thread(_migrate, primary_url)
            settings = Settings(
                database_url=primary_url,
                data_dir=tmp_path / "data",
                argon2_time_cost=1,
                argon2_memory_kib=8192,
                pg_pool_min=1,
                pg_pool_max=3,
                analytics_replica_url=replica_url,
            )
            await _check(settings, primary_admin, replica_admin)
        finally:
            await _sql(primary_admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _check(settings: Settings, primary_admin: str, replica_admin: str) -> None:
    engine = db.create_engine(settings.database_url, analytics_replica_url=settings.analytics_replica_url)
    app = create_app(settings, engine)
    await db.open_pool(engine, min_size=1, max_size=3)
    try:
        assert db.analytics_node() == "analytics"
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            w = await build_world(client)
            s = Shopped(w, await publish_full_form(w))
            for k in range(4):
                await s.report(w.own_location_id if k % 2 else w.competitor_location_id, answer_s=5 + 7 * k, nps=k)
            await _caught_up(primary_admin, replica_admin)

            async def from_replica(params: dict[str, Any]) -> dict[str, Any]:
                return await w.ok("manager", "GET", "/analytics/comparison", params={**params, "min_sample_size": 1})

            async def from_primary(params: dict[str, Any]) -> dict[str, Any]:
                replicas = engine.extra_nodes  # type: ignore[attr-defined]
                engine.extra_nodes = {}  # type: ignore[attr-defined]
                try:
                    return await from_replica(params)
                finally:
                    engine.extra_nodes = replicas  # type: ignore[attr-defined]

            for params in QUESTIONS:
                assert await from_replica(params) == await from_primary(params), params

            # Replay paused: a report approved now is on the primary only, so the replica's answer is the old one.
            await _sql(replica_admin, "SELECT pg_wal_replay_pause()")
            score = {"measure": "score", "group_by": "relation"}
            before = await from_replica(score)
            await s.report(w.own_location_id, answer_s=9, nps=10)
            assert await from_replica(score) == before
            assert await from_primary(score) != before
            await _sql(replica_admin, "SELECT pg_wal_replay_resume()")
            await _caught_up(primary_admin, replica_admin)
            for params in [*QUESTIONS, score]:
                assert await from_replica(params) == await from_primary(params), params
    finally:
        await db.close_pool(engine)

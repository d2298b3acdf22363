"""Fresh benchmark databases: a SQLite file or a uniquely named PostgreSQL database, migrated by the real CLI."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import urllib.parse
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg

_PG_SOCKET_DIR = "/var/run/postgresql"


def _admin_dsn() -> str:
    """FIELDSCORE_BENCH_PG, else the local server through its Unix socket when it has one (how an app on
    the database's own machine connects: a TCP round trip on loopback cost the app about a quarter of
    its PostgreSQL throughput here), else TCP on 127.0.0.1:5432."""
    if dsn := os.environ.get("FIELDSCORE_BENCH_PG"):
        return dsn
    if os.path.exists(f"{_PG_SOCKET_DIR}/.s.PGSQL.5432"):
        return f"postgresql://postgres@/postgres?host={_PG_SOCKET_DIR}"
    return "postgresql://postgres@127.0.0.1:5432/postgres"


PG_ADMIN_DSN = _admin_dsn()


def postgres_transport(dsn: str = PG_ADMIN_DSN) -> str:
    """How the app and (b) reach PostgreSQL, for the report."""
    parts = urllib.parse.urlsplit(dsn)
    host = urllib.parse.parse_qs(parts.query).get("host", [parts.hostname or ""])[0]
    return f"the Unix socket in {host}" if host.startswith("/") else f"TCP to {host}:{parts.port or 5432}"


@dataclass(frozen=True)
class Database:
    kind: str  # "sqlite" or "postgres"
    url: str

    @property
    def label(self) -> str:
        return "SQLite" if self.kind == "sqlite" else "PostgreSQL"

    @property
    def sqlite_path(self) -> Path:
        return Path(self.url.removeprefix("sqlite:///"))

    @property
    def dsn(self) -> str:
        return self.url


def env_for(database: Database) -> dict[str, str]:
    return {**os.environ, "FIELDSCORE_DATABASE_URL": database.url}


def cli(database: Database, *args: str, extra_env: dict[str, str] | None = None, timeout: float = 300) -> str:
    """Run `python -m backend.cli ...` against the database; its output is returned, shown only on failure."""
    result = subprocess.run(
        [sys.executable, "-m", "backend.cli", *args],
        env={**env_for(database), **(extra_env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise RuntimeError(f"backend.cli {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def migrate(database: Database, timeout: float = 300) -> None:
    """Migrate with the real CLI (a kept database of millions of reports may take minutes: `timeout`)."""
    cli(database, "migrate", timeout=timeout)


async def _pg(sql: str, dsn: str = PG_ADMIN_DSN) -> str | None:
    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        return await conn.fetchval(sql)
    finally:
        await conn.close()


def postgres_version() -> str:
    """Version and the durability settings that decide commit cost."""

    async def facts() -> str:
        conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=10)
        try:
            version = await conn.fetchval("SELECT version()")
            settings = {
                name: await conn.fetchval(f"SHOW {name}")
                for name in (
                    "fsync",
                    "synchronous_commit",
                    "wal_sync_method",
                    "shared_buffers",
                    "max_connections",
                    "max_wal_size",
                    "checkpoint_timeout",
                    "full_page_writes",
                )
            }
        finally:
            await conn.close()
        return f"{version.split(' on ')[0]} ({', '.join(f'{k}={v}' for k, v in settings.items())})"

    return asyncio.run(facts())


def postgres_checkpoints() -> int:
    """Checkpoints the server has begun so far (timed and requested). After each one, the first change to
    every page writes the whole page to the WAL again, so a checkpoint inside a measurement raises its cost."""

    async def count() -> int:
        conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=10)
        try:
            return await conn.fetchval("SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter")
        finally:
            await conn.close()

    return asyncio.run(count())


@contextmanager
def fresh_sqlite(workdir: Path) -> Iterator[Database]:
    path = workdir / f"bench-{uuid.uuid4().hex[:8]}.sqlite3"
    try:
        yield Database("sqlite", f"sqlite:///{path}")
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


@contextmanager
def fresh_postgres() -> Iterator[Database]:
    name = f"fs_bench_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg(f'CREATE DATABASE "{name}"'))
    try:
        yield Database("postgres", urllib.parse.urlsplit(PG_ADMIN_DSN)._replace(path=f"/{name}").geturl())
    finally:
        asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def named_postgres(name: str, create: bool) -> Database:
    """A PostgreSQL database kept under a stable name (a long fill measured again later): created when asked (it
    must not exist yet), else it must exist. Drop it by hand: DROP DATABASE "name" WITH (FORCE)."""
    if not name.replace("_", "").isalnum():
        raise ValueError(f"database name {name!r}: letters, digits and _ only")
    exists = asyncio.run(_pg(f"SELECT 1 FROM pg_database WHERE datname = '{name}'"))
    if create and exists:
        raise RuntimeError(f"database {name} exists; measure it with --reuse-database or drop it first")
    if not create and not exists:
        raise RuntimeError(f"database {name} does not exist; fill it with --keep-database first")
    if create:
        asyncio.run(_pg(f'CREATE DATABASE "{name}"'))
    return Database("postgres", urllib.parse.urlsplit(PG_ADMIN_DSN)._replace(path=f"/{name}").geturl())


async def analyze(database: Database) -> None:
    """ANALYZE the whole database (a kept one, after migrations that rewrote tables; autovacuum may be off)."""
    conn = await asyncpg.connect(database.dsn)
    try:
        await conn.execute("ANALYZE")
    finally:
        await conn.close()

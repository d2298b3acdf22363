"""Storage: migrations create the schema on both engines, SQLite runs in WAL, concurrent writers never fail."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys

from backend import db
from tests.world import build_world


async def _columns(table: str) -> set[str]:
    if db.is_postgres():
        rows = await db.engine().run_querystring(
            __import__("piccolo.querystring", fromlist=["QueryString"]).QueryString(
                "SELECT column_name AS name FROM information_schema.columns WHERE table_name = {}", table
            )
        )
    else:
        rows = await db.engine().run_ddl(f"PRAGMA table_info({table})")
    return {r["name"] for r in rows}


async def test_migrations_create_every_table_and_column(app, database):
    for table in db.all_tables():
        expected = {c._meta.db_column_name for c in table._meta.columns}
        actual = await _columns(table._meta.tablename)
        assert expected <= actual, f"{table._meta.tablename} lacks {expected - actual} on {database.kind}"


def test_migrate_again_is_a_no_op(database):
    env = {**os.environ, "FIELDSCORE_DATABASE_URL": database.url}
    result = subprocess.run(
        [sys.executable, "-m", "backend.cli", "migrate"], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "No migrations need to be run" in result.stdout


async def test_commits_are_durable_on_either_engine(app, database):
    """SQLite runs in WAL with synchronous=FULL on every connection; PostgreSQL commits synchronously."""
    if database.kind == "sqlite":
        path = database.url.removeprefix("sqlite:///")
        with sqlite3.connect(path) as conn:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        async with db.writing():
            assert (await db.session().fetch("PRAGMA synchronous")) == [{"synchronous": 2}]  # FULL
    else:
        async with db.reading() as session:
            assert (await session.fetch("SHOW synchronous_commit")) == [{"synchronous_commit": "on"}]


async def test_concurrent_writers_all_succeed(client):
    """Many simultaneous writes (each read-then-write) queue instead of failing with 'database is locked'."""
    w = await build_world(client)
    n = 40

    async def create(i: int):
        return await w.call(
            "coordinator",
            "POST",
            "/locations",
            json={
                "brand_id": w.own_brand_id,
                "name": f"Branch {i}",
                "code": f"BR-{i:03d}",
                "timezone": "Europe/Berlin",
            },
        )

    responses = await asyncio.gather(*(create(i) for i in range(n)))
    assert [r.status_code for r in responses] == [201] * n, [r.text for r in responses if r.status_code != 201][:3]
    listed = await w.ok("coordinator", "GET", "/locations", params={"brand_id": w.own_brand_id, "limit": 100})
    assert listed["total"] == n + 1


async def test_concurrent_duplicate_codes_admit_exactly_one(client):
    w = await build_world(client)

    async def create(i: int):
        return await w.call(
            "coordinator",
            "POST",
            "/locations",
            json={"brand_id": w.own_brand_id, "name": f"Twin {i}", "code": "SAME-CODE", "timezone": "Europe/Berlin"},
        )

    statuses = sorted(r.status_code for r in await asyncio.gather(*(create(i) for i in range(10))))
    assert statuses.count(201) == 1 and set(statuses) <= {201, 409}, statuses


async def test_tables_and_migrations_agree():
    """What Piccolo's auto-migration would write next is nothing: every table's columns, with their
    indexes, are what the migrations build (a column's `index=` changed without a migration fails here)."""
    from piccolo.apps.migrations.auto.diffable_table import DiffableTable
    from piccolo.apps.migrations.auto.schema_differ import SchemaDiffer
    from piccolo.apps.migrations.auto.schema_snapshot import SchemaSnapshot
    from piccolo.apps.migrations.commands.base import BaseMigrationManager

    from backend.piccolo_conf import APP_REGISTRY

    pending = {}
    for name, config in APP_REGISTRY.app_configs.items():
        managers = await BaseMigrationManager().get_migration_managers(app_config=config)
        tables = [
            DiffableTable(
                class_name=table.__name__,
                tablename=table._meta.tablename,
                columns=table._meta.non_default_columns,
                schema=table._meta.schema,
            )
            for table in config.table_classes
        ]
        differ = SchemaDiffer(schema=tables, schema_snapshot=SchemaSnapshot(managers).get_snapshot(), auto_input="y")
        statements = [line for group in differ.get_alter_statements() for line in group.statements]
        if statements:
            pending[name] = statements
    assert pending == {}

"""The storage ceiling: the rows one accepted report writes (the report, its first revision, its task's
status, two audit entries), inserted straight from Python in one transaction per report with the app's
durability."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sqlite3
import time
import uuid
from typing import Any

import asyncpg

from backend.ids import uuid7
from benchmarks import servers
from benchmarks.databases import Database
from benchmarks.seed import sqlite_text
from benchmarks.stats import Measurement

UTC = dt.timezone.utc
Pair = tuple[str, str]  # (task id, shopper id)

_UPDATE_TASK = 'UPDATE "task" SET "status" = {0}, "updated_at" = {1} WHERE "id" = {2} AND "status" = {3}'
_INSERT_AUDIT = (
    'INSERT INTO "audit_entry" ("id", "at", "actor", "action", "entity", "entity_id", "detail") '
    "VALUES ({0}, {1}, {2}, {3}, {4}, {5}, {6})"
)


def _insert(table: str, columns: list[str], placeholder: Any) -> str:
    names = ", ".join(f'"{c}"' for c in columns)
    return f'INSERT INTO "{table}" ({names}) VALUES ({", ".join(placeholder(i) for i in range(len(columns)))})'


def _rows(
    template: dict[str, Any], revision_template: dict[str, Any], task_id: Any, shopper: Any
) -> tuple[dict[str, Any], dict[str, Any], list[tuple[Any, ...]]]:
    """The report row and its first revision (copies of rows the app stored, with new ids, task and
    time) and its two audit entries; ids made as the app makes them (the phone's UUID for the report)."""
    now = dt.datetime.now(UTC)
    report_id = uuid.uuid4()
    report = {**template, "id": report_id, "task": task_id, "shopper": shopper, "submitted_at": now}
    revision = {**revision_template, "id": uuid7(), "report": report_id, "number": 1, "submitted_at": now}
    audit = [
        (
            uuid7(),
            now,
            shopper,
            "task.submitted",
            "task",
            str(task_id),
            json.dumps({"from": "assigned", "to": "submitted", "report_id": str(report_id)}),
        ),
        (
            uuid7(),
            now,
            shopper,
            "report.submitted",
            "report",
            str(report_id),
            json.dumps({"task_id": str(task_id), "score": template["score_final"]}),
        ),
    ]
    return report, revision, audit


_WITHOUT_REVISION = (
    'SELECT count(*) FROM "report" r WHERE NOT EXISTS (SELECT 1 FROM "report_revision" v WHERE v."report" = r."id")'
)


def _check_every_report_has_its_revision(missing: int) -> None:
    """The app's reports and these copies alike: (b) is only a ceiling if it writes what the app writes."""
    if missing:
        raise RuntimeError(f"{missing} report(s) without a revision: (b) no longer writes the rows the app writes")


def _template(rows: Any, table: str) -> dict[str, Any]:
    if rows is None:
        raise RuntimeError(f"no stored {table} row to copy: the API phase stored none")
    return rows


def _sqlite_row(conn: sqlite3.Connection, table: str) -> dict[str, Any]:
    cursor = conn.execute(f'SELECT * FROM "{table}" LIMIT 1')
    found = _template(cursor.fetchone(), table)
    return dict(zip([d[0] for d in cursor.description], found, strict=True))


def sqlite_ceiling(database: Database, pairs: list[Pair], *, warmup_s: float, duration_s: float) -> Measurement:
    """One connection writing sequentially: SQLite has one writer at a time, so more would only queue."""
    conn = sqlite3.connect(database.sqlite_path, timeout=30, isolation_level=None)
    try:
        # The app's per-connection pragmas (backend/db.py); WAL is already a property of the file.
        conn.execute("PRAGMA foreign_keys = 1")
        conn.execute("PRAGMA synchronous = FULL")
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
        if mode != "wal":
            raise RuntimeError(f"expected a WAL database, found journal_mode={mode}")
        template, revision_template = _sqlite_row(conn, "report"), _sqlite_row(conn, "report_revision")
        columns, revision_columns = list(template), list(revision_template)
        insert_report = _insert("report", columns, lambda i: "?")
        insert_revision = _insert("report_revision", revision_columns, lambda i: "?")
        update_task = _UPDATE_TASK.format("?", "?", "?", "?")
        insert_audit = _INSERT_AUDIT.format(*"???????")
        start = time.monotonic()
        t0, t1 = start + warmup_s, start + warmup_s + duration_s
        latencies, errors, before = [], 0, None
        for task_id, shopper in pairs:
            now = time.monotonic()
            if now >= t1:
                break
            if before is None and now >= t0:
                before = (now, time.process_time(), servers.machine_busy_seconds())
            report, revision, audit = _rows(template, revision_template, task_id, shopper)
            sent = time.monotonic()
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(insert_report, [sqlite_text(report[c]) for c in columns])
            conn.execute(insert_revision, [sqlite_text(revision[c]) for c in revision_columns])
            changed = conn.execute(
                update_task, ("submitted", sqlite_text(report["submitted_at"]), task_id, "assigned")
            ).rowcount
            for entry in audit:
                conn.execute(insert_audit, [sqlite_text(v) for v in entry])
            conn.execute("COMMIT")
            done = time.monotonic()
            if t0 <= done <= t1:
                if changed == 1:
                    latencies.append(done - sent)
                else:
                    errors += 1
        after = (time.monotonic(), time.process_time(), servers.machine_busy_seconds())
        _check_every_report_has_its_revision(conn.execute(_WITHOUT_REVISION).fetchone()[0])
    finally:
        conn.close()
    return _measurement(latencies, errors, duration_s, before, after, exhausted=time.monotonic() < t1 - 0.01)


def _measurement(
    latencies: list[float],
    errors: int,
    duration_s: float,
    before: Any,
    after: Any,
    *,
    exhausted: bool,
    postgres: tuple[float, float] | None = None,
) -> Measurement:
    notes = ["ran out of tasks before the end of the window"] if exhausted else []
    cpu: dict[str, float] = {}
    if before is not None:
        wall = after[0] - before[0]
        cpu = {"bench process": (after[1] - before[1]) / wall}
        if postgres:
            cpu["postgres"] = (postgres[1] - postgres[0]) / wall
        cpu["machine"] = (after[2] - before[2]) / wall
        cpu["others"] = max(0.0, cpu["machine"] - sum(v for k, v in cpu.items() if k != "machine"))
    seconds = duration_s if not exhausted or before is None else after[0] - before[0]
    return Measurement(
        completed=len(latencies), seconds=seconds, latencies=latencies, errors=errors, cpu=cpu, notes=notes
    )


def postgres_ceiling(
    database: Database, pairs: list[Pair], *, connections: int, warmup_s: float, duration_s: float
) -> Measurement:
    return asyncio.run(_postgres(database, pairs, connections, warmup_s, duration_s))


async def _postgres(
    database: Database, pairs: list[Pair], connections: int, warmup_s: float, duration_s: float
) -> Measurement:
    conns = await asyncio.gather(*(asyncpg.connect(database.dsn, timeout=30) for _ in range(connections)))
    try:
        template = dict(_template(await conns[0].fetchrow('SELECT * FROM "report" LIMIT 1'), "report"))
        revision_template = dict(
            _template(await conns[0].fetchrow('SELECT * FROM "report_revision" LIMIT 1'), "report_revision")
        )
        columns, revision_columns = list(template), list(revision_template)
        insert_report = _insert("report", columns, lambda i: f"${i + 1}")
        insert_revision = _insert("report_revision", revision_columns, lambda i: f"${i + 1}")
        update_task = _UPDATE_TASK.format("$1", "$2", "$3", "$4")
        insert_audit = _INSERT_AUDIT.format(*(f"${i}" for i in range(1, 8)))
        start = time.monotonic()
        t0, t1 = start + warmup_s, start + warmup_s + duration_s
        latencies: list[float] = []
        errors = 0
        exhausted = False

        async def worker(conn: asyncpg.Connection, mine: list[Pair]) -> None:
            nonlocal errors, exhausted
            for task_id, shopper in mine:
                if time.monotonic() >= t1:
                    return
                report, revision, audit = _rows(template, revision_template, uuid.UUID(task_id), uuid.UUID(shopper))
                sent = time.monotonic()
                async with conn.transaction():
                    await conn.execute(insert_report, *(report[c] for c in columns))
                    await conn.execute(insert_revision, *(revision[c] for c in revision_columns))
                    status = await conn.execute(
                        update_task, "submitted", report["submitted_at"], report["task"], "assigned"
                    )
                    for entry in audit:
                        await conn.execute(insert_audit, *entry)
                done = time.monotonic()
                if t0 <= done <= t1:
                    if status == "UPDATE 1":
                        latencies.append(done - sent)
                    else:
                        errors += 1
            exhausted = exhausted or time.monotonic() < t1

        async def sample_window() -> tuple[Any, Any, tuple[float, float]]:
            await asyncio.sleep(max(0.0, t0 - time.monotonic()))
            before = (time.monotonic(), time.process_time(), servers.machine_busy_seconds())
            pg_before = servers.postgres_cpu_seconds()
            await asyncio.sleep(max(0.0, t1 - time.monotonic()))
            after = (time.monotonic(), time.process_time(), servers.machine_busy_seconds())
            return before, after, (pg_before, servers.postgres_cpu_seconds())

        sampled, *_ = await asyncio.gather(
            sample_window(), *(worker(c, pairs[i::connections]) for i, c in enumerate(conns))
        )
        before, after, pg = sampled
        _check_every_report_has_its_revision(await conns[0].fetchval(_WITHOUT_REVISION))
    finally:
        await asyncio.gather(*(c.close() for c in conns))
    return _measurement(latencies, errors, duration_s, before, after, exhausted=exhausted, postgres=pg)

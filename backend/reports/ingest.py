"""The submission hot path in hand-written SQL: the reads every submission makes, and batched writes
of new reports.

Piccolo builds each query string anew (about 0.5 ms a select, 2 ms for a join); at hundreds of
submissions a second that was most of a request's time. The statements here read and write the same
rows, in the same formats, as the Piccolo code in service.py (tests check both give the same report).

New reports (the first revision) are written in batches by one writer per engine: while one batch
is written, the next collects. A batch is one transaction, and takes what is pending once it has
begun (on SQLite, once this process has the write turn, see backend.db.sqlite.WriterFileLock). Under the write lock (SQLite) or row locks
(PostgreSQL) it re-checks what each report's validation relied on (the id is unused; the task still
has the status and shopper seen, and no report) and writes the reports that pass with one statement
per table: multi-row VALUES on SQLite, in one hop to the writer's thread; arrays unnested on
PostgreSQL. Reports that no longer pass are answered "changed" and their requests look again. A
request is answered only after the commit: a 2xx still means the report is on disk.
"""

from __future__ import annotations

import asyncio
import collections
import contextvars
import dataclasses
import datetime as dt
import sqlite3
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec

from backend import db
from backend.ids import uuid7
from backend.reports import evidence

CURRENT_SQL = "SELECT shopper, content_hash, revision, status, task FROM report WHERE id = ?"

# What a submission needs to know, in one statement: the stored report with this id (cur_*), the task
# (task_*) and the shopper's latest other report on the task's form at another location of the task's
# organisation, for the identical-answers check (prev_*; served by the index report(shopper,
# form_version, submitted_at)). Not another organisation's: forms are shared, and the flag names the
# location to that organisation's reviewers and managers.
# One statement is one round trip on PostgreSQL, and on SQLite one read transaction: each one starts
# with the connection's page cache emptied when another connection has committed since, and each call
# hands the GIL to the writer's thread and back.
_READ_COLUMNS = """
    cur.shopper AS cur_shopper, cur.content_hash AS cur_content_hash, cur.revision AS cur_revision,
    cur.status AS cur_status, cur.task AS cur_task,
    t.id AS task_id, t.organisation AS task_organisation_id, t.location AS task_location_id,
    t.form_version AS task_form_version_id, t.channel AS task_channel, t.status AS task_status,
    t.shopper AS task_shopper_id, t.window_start AS task_window_start, t.window_end AS task_window_end,
    t.campaign AS task_campaign_id, l.lat AS task_location_lat, l.lon AS task_location_lon,
    c.gps_limit_m AS task_gps_limit_m,
    EXISTS (SELECT 1 FROM report r WHERE r.task = t.id) AS task_has_report
"""
_READ_POSTGRES = f"""
    SELECT {_READ_COLUMNS}, prev.answers AS prev_answers, prev.location_name AS prev_location_name
    FROM (SELECT 1) AS one
    LEFT JOIN report cur ON cur.id = $1
    LEFT JOIN task t ON t.id = $2
    LEFT JOIN location l ON l.id = t.location
    LEFT JOIN campaign c ON c.id = t.campaign
    LEFT JOIN LATERAL (
        SELECT r.answers, pl.name AS location_name
        FROM report r JOIN location pl ON pl.id = r.location
        WHERE r.shopper = $3 AND r.organisation = t.organisation AND r.form_version = t.form_version
          AND r.location <> t.location AND r.id <> $1
        ORDER BY r.submitted_at DESC LIMIT 1
    ) AS prev ON true
"""
# SQLite has no LATERAL: the previous report is found by a correlated subquery in its join.
_READ_SQLITE = f"""
    SELECT {_READ_COLUMNS}, prev.answers AS prev_answers, pl.name AS prev_location_name
    FROM (SELECT 1) AS one
    LEFT JOIN report cur ON cur.id = ?1
    LEFT JOIN task t ON t.id = ?2
    LEFT JOIN location l ON l.id = t.location
    LEFT JOIN campaign c ON c.id = t.campaign
    LEFT JOIN report prev ON prev.id = (
        SELECT r.id FROM report r
        WHERE r.shopper = ?3 AND r.organisation = t.organisation AND r.form_version = t.form_version
          AND r.location <> t.location AND r.id <> ?1
        ORDER BY r.submitted_at DESC LIMIT 1)
    LEFT JOIN location pl ON pl.id = prev.location
"""

Row = dict[str, Any]


async def read(report_id: uuid.UUID, task_id: uuid.UUID, shopper_id: uuid.UUID) -> tuple[Row | None, Row | None,
                                                                                         Row | None]:
    """What a submission needs to know: the stored report with this id (CURRENT_SQL's columns), the
    task and the shopper's previous comparable report (answers, location_name), each or None."""
    async with db.reading() as session:
        if session.postgres:
            row = dict(await session.connection.fetchrow(_READ_POSTGRES, report_id, task_id, shopper_id))
        else:
            found = await session.fetchrow(_READ_SQLITE, report_id, task_id, shopper_id)
            assert found is not None  # FROM (SELECT 1): always one row
            row = found

    def part(prefix: str, key: str) -> Row | None:
        if row[prefix + key] is None:
            return None
        return {k.removeprefix(prefix): v for k, v in row.items() if k.startswith(prefix)}

    return part("cur_", "status"), part("task_", "id"), part("prev_", "location_name")


@dataclass(frozen=True, slots=True)
class _Table:
    """Columns and their PostgreSQL types, for inserting many rows at once."""

    name: str
    columns: tuple[tuple[str, str], ...]

    def sqlite_insert(self, rows: int) -> str:
        """One statement for `rows` rows. sqlite3 lets go of the GIL around every step of a statement
        and executemany steps once a row; one statement a table keeps the writer's thread from
        trading the GIL with the event loop row by row."""
        names = ", ".join(name for name, _ in self.columns)
        row = f"({', '.join('?' * len(self.columns))})"
        return f"INSERT INTO {self.name} ({names}) VALUES {', '.join([row] * rows)}"

    def postgres_insert(self) -> str:
        """One statement for the whole batch: a column-wise array per column, unnested into rows."""
        names = ", ".join(name for name, _ in self.columns)
        values = ", ".join(f"{name}::json" if kind == "json" else name for name, kind in self.columns)
        arrays = ", ".join(f"${i}::{'text' if kind == 'json' else kind}[]"
                           for i, (_, kind) in enumerate(self.columns, start=1))
        return f"INSERT INTO {self.name} ({names}) SELECT {values} FROM unnest({arrays}) AS u({names})"


_REPORT = _Table("report", (
    ("id", "uuid"), ("task", "uuid"), ("shopper", "uuid"), ("organisation", "uuid"), ("location", "uuid"),
    ("form_version", "uuid"), ("status", "text"), ("revision", "int"), ("content_hash", "text"), ("answers", "json"),
    ("started_at", "timestamptz"), ("ended_at", "timestamptz"), ("submitted_at", "timestamptz"),
    ("score_calculated", "float8"), ("score_final", "float8"), ("failed", "bool"), ("score_detail", "json"),
    ("flags", "json"), ("flag_count", "int")))
_REVISION = _Table("report_revision", (
    ("id", "uuid"), ("report", "uuid"), ("number", "int"), ("content_hash", "text"), ("answers", "json"),
    ("started_at", "timestamptz"), ("ended_at", "timestamptz"), ("submitted_at", "timestamptz"),
    ("score_calculated", "float8"), ("score_final", "float8"), ("failed", "bool"), ("score_detail", "json")))
_LINK = _Table("report_attachment", (("id", "uuid"), ("report_id", "uuid"), ("question_key", "text"),
                                     ("sha256", "text")))
_AUDIT = _Table("audit_entry", (("id", "uuid"), ("at", "timestamptz"), ("actor", "uuid"), ("action", "text"),
                                ("entity", "text"), ("entity_id", "text"), ("detail", "json")))
_RECHECK_SQLITE = """
    SELECT 'task' AS kind, id, status, shopper FROM task WHERE id IN ({tasks})
    UNION ALL SELECT 'taken', id, NULL, NULL FROM report WHERE id IN ({ids})
    UNION ALL SELECT 'reported', task, NULL, NULL FROM report WHERE task IN ({tasks})
"""
_MOVE_TASK_SQLITE = "UPDATE task SET status = 'submitted', updated_at = ? WHERE id IN ({})"
_SQLITE_MAX_VARIABLES = 32_000  # SQLite >= 3.32 allows 32,766 parameters per statement
_MOVE_TASK_POSTGRES = """
    UPDATE task SET status = 'submitted', updated_at = $1
    FROM unnest($2::uuid[], $3::text[]) AS u(id, status) WHERE task.id = u.id AND task.status = u.status
"""


@dataclass(frozen=True, slots=True)
class NewReport:
    """A validated, scored and flagged first revision, ready to store; JSON columns already encoded."""

    id: uuid.UUID
    task_id: uuid.UUID
    task_status: str  # what validation saw; the write re-checks it
    shopper_id: uuid.UUID
    organisation_id: uuid.UUID
    location_id: uuid.UUID
    form_version_id: uuid.UUID
    content_hash: str
    answers_json: str
    started_at: dt.datetime
    ended_at: dt.datetime
    submitted_at: dt.datetime
    score_calculated: float | None
    score_final: float | None
    failed: bool
    detail_json: str
    flags_json: str
    flag_count: int
    links: tuple[tuple[str, str], ...]  # (question key, sha256) of the attachments the answers name
    task_audit_json: str
    report_audit_json: str

    def with_reused(self, hashes: set[str]) -> NewReport:
        """This report flagged photo.reused for `hashes` (found under the write lock)."""
        flags = evidence.with_reused(
            [evidence.Flag(f["code"], f["reason"]) for f in msgspec.json.decode(self.flags_json)], hashes)
        audit = {**msgspec.json.decode(self.report_audit_json), "flags": len(flags)}
        return dataclasses.replace(
            self, flags_json=msgspec.json.encode([{"code": f.code, "reason": f.reason} for f in flags]).decode(),
            flag_count=len(flags), report_audit_json=msgspec.json.encode(audit).decode())


# Whether a report's attachments are in other reports is decided under the write lock, where reports
# sent at once (a phone emptying its outbox) see each other. On PostgreSQL, writers run concurrently:
# each first takes a transaction-scoped lock per hash (in sorted order, after its task row locks, in
# every writer), so the second waits for the first's commit and then sees its links.
_LOCK_HASHES_POSTGRES = "SELECT pg_advisory_xact_lock(hashtextextended(sha, 0)) FROM unnest($1::text[]) AS sha"
_LINKED_POSTGRES = "SELECT sha256, report_id FROM report_attachment WHERE sha256 = ANY($1::text[])"
_LINKED_SQLITE = "SELECT sha256, report_id FROM report_attachment WHERE sha256 IN ({})"


async def reused_attachments(report_id: uuid.UUID, task_id: uuid.UUID, hashes: set[str]) -> set[str]:
    """Inside `db.writing()`: which of `hashes` other reports already name."""
    if not hashes:
        return set()
    session, ordered = db.session(), sorted(hashes)
    if session.postgres:
        await session.connection.execute("SELECT 1 FROM task WHERE id = $1 FOR UPDATE", task_id)
        await session.connection.execute(_LOCK_HASHES_POSTGRES, ordered)
        rows = [dict(row) for row in await session.connection.fetch(_LINKED_POSTGRES, ordered)]
    else:
        rows = await session.fetch(_LINKED_SQLITE.format(", ".join("?" * len(ordered))), *ordered)
    return {row["sha256"] for row in rows if str(row["report_id"]) != str(report_id)}


def _mark_reused(good: list[NewReport], linked: list[dict[str, Any]]) -> list[NewReport]:
    """`good`, each flagged for the attachments that stored reports (`linked`) or earlier ones in the batch name."""
    named: dict[str, set[str]] = {}
    for row in linked:
        named.setdefault(row["sha256"], set()).add(str(row["report_id"]))
    marked = []
    for r in good:
        hashes = {sha for _, sha in r.links}
        reused = {sha for sha in hashes if named.get(sha, set()) - {str(r.id)}}
        for sha in hashes:
            named.setdefault(sha, set()).add(str(r.id))
        marked.append(r.with_reused(reused) if reused else r)
    return marked


async def store(report: NewReport) -> bool:
    """Store a new report; True once it is committed, False when what its validation relied on
    changed meanwhile (the caller looks again)."""
    return await _writer().store(report)


class _Writer:
    max_batch = 256

    def __init__(self) -> None:
        # A deque: on SQLite the writer's thread takes from it (popleft) while the event loop appends.
        self._pending: collections.deque[tuple[NewReport, asyncio.Future[bool]]] = collections.deque()
        self._draining: asyncio.Task[None] | None = None

    async def store(self, report: NewReport) -> bool:
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._pending.append((report, future))
        if self._draining is None or self._draining.done():
            # A context of its own: the drain must not run inside the first submitter's transaction.
            self._draining = asyncio.create_task(self._drain(), context=contextvars.Context())
        # Shielded: a client that goes away does not take the write with it (a retry then gets 200).
        return await asyncio.shield(future)

    async def _drain(self) -> None:
        batch: list[tuple[NewReport, asyncio.Future[bool]]] = []

        def take() -> list[NewReport]:
            """The batch: what is pending once the write transaction has begun (on SQLite, on the writer's
            thread, once the processes' write turn is ours), so that reports validated while another
            process held the turn go with this batch instead of waiting for the next one."""
            for _ in range(min(len(self._pending), self.max_batch)):
                batch.append(self._pending.popleft())
            return [report for report, _ in batch]

        try:
            while self._pending:
                batch = []
                try:
                    outcomes = await _write_batch(take)
                except asyncio.CancelledError:
                    if _cancelling():
                        raise
                    exc = ConnectionAbortedError("the write transaction was interrupted")
                    for _, future in batch:
                        _answer(future, exc)
                    continue
                except Exception as exc:
                    if not batch:  # it failed before taking its reports: these are the ones it was for
                        take()
                    if len(batch) == 1:
                        _answer(batch[0][1], exc)
                        continue
                    # One report spoiled the batch (say a unique index raced by another process):
                    # write each alone, so only that one fails and its request retries or reports it.
                    for report, future in batch:
                        try:
                            _answer(future, (await _write_batch(lambda report=report: [report]))[0])
                        except Exception as single:
                            _answer(future, single)
                    continue
                for (_, future), outcome in zip(batch, outcomes, strict=True):
                    _answer(future, outcome)
                batch = []
        except BaseException as exc:  # cancelled (shutdown): nobody may wait for ever
            for _, future in batch + list(self._pending):
                _answer(future, exc if isinstance(exc, Exception) else ConnectionAbortedError("shutting down"))
            self._pending.clear()
            raise


def _cancelling() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def _answer(future: asyncio.Future[bool], outcome: bool | BaseException) -> None:
    if future.done():
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)


_current: tuple[Any, asyncio.AbstractEventLoop, _Writer] | None = None


def _writer() -> _Writer:
    """The writer of the bound engine on this event loop (one engine is bound at a time)."""
    global _current
    engine, loop = db.engine(), asyncio.get_running_loop()
    if _current is None or _current[0] is not engine or _current[1] is not loop:
        _current = (engine, loop, _Writer())
    return _current[2]


async def _write_batch(take: Callable[[], list[NewReport]]) -> list[bool]:
    """Write the reports `take()` gives, called once the write transaction has begun; their outcomes in order."""
    engine = db.engine()
    if isinstance(engine, db.FieldscoreSQLiteEngine):  # one hop to the writer's thread for the whole batch
        return await engine.run_block(lambda connection: _write_batch_sqlite(connection, take()))
    async with db.writing():
        reports = take()
        session = db.session()
        connection = session.connection
        # The look-ups are planned for the tables as they are now: generic plans cached while `report` was
        # small kept seq-scanning it, about once a batch, until autovacuum next analysed it (the cost per
        # report grew with the table). Only for them: custom plans for every insert's foreign-key checks
        # cost more than they save.
        await connection.execute("SET LOCAL plan_cache_mode = force_custom_plan")
        ids, task_ids = list({r.id for r in reports}), list({r.task_id for r in reports})
        taken = await connection.fetch("SELECT id FROM report WHERE id = ANY($1::uuid[])", ids)
        # Lock the tasks until commit, so nothing moves them between this check and the update.
        tasks = await connection.fetch(
            "SELECT id, status, shopper FROM task WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE", task_ids)
        reported = await connection.fetch("SELECT task FROM report WHERE task = ANY($1::uuid[])", task_ids)
        await connection.execute("SET LOCAL plan_cache_mode = auto")
        ok = _still_valid(reports, taken, tasks, reported)
        good = [r for r, valid in zip(reports, ok, strict=True) if valid]
        if hashes := sorted({sha for r in good for _, sha in r.links}):
            await connection.execute(_LOCK_HASHES_POSTGRES, hashes)
            good = _mark_reused(good, [dict(row) for row in await connection.fetch(_LINKED_POSTGRES, hashes)])
        now = dt.datetime.now(dt.timezone.utc)
        for table, rows in _rows(good, now):
            if rows:
                await connection.execute(table.postgres_insert(), *(list(column) for column in zip(*rows)))
        if good:
            await connection.execute(_MOVE_TASK_POSTGRES, now, [r.task_id for r in good],
                                     [r.task_status for r in good])
    return ok


def _write_batch_sqlite(connection: sqlite3.Connection, reports: list[NewReport]) -> list[bool]:
    """On the writer's thread, inside the block's transaction or savepoint (the write turn keeps everything still)."""
    ids, task_ids = tuple({r.id for r in reports}), tuple({r.task_id for r in reports})
    # One statement for the three looks (each a call that hands the GIL back and forth, while the write
    # turn is held). The task rows come first: a compound SELECT's column types (UUID) are the first one's.
    rows = connection.execute(_RECHECK_SQLITE.format(tasks=", ".join("?" * len(task_ids)),
                                                     ids=", ".join("?" * len(ids))),
                              (*task_ids, *ids, *task_ids)).fetchall()
    tasks = [row for row in rows if row["kind"] == "task"]
    taken = [row for row in rows if row["kind"] == "taken"]
    reported = [{"task": row["id"]} for row in rows if row["kind"] == "reported"]
    ok = _still_valid(reports, taken, tasks, reported)
    good = [r for r, valid in zip(reports, ok, strict=True) if valid]
    if hashes := sorted({sha for r in good for _, sha in r.links}):
        good = _mark_reused(good, connection.execute(_LINKED_SQLITE.format(", ".join("?" * len(hashes))),
                                                     hashes).fetchall())
    now = dt.datetime.now(dt.timezone.utc)
    for table, rows in _rows(good, now):
        per_statement = _SQLITE_MAX_VARIABLES // len(table.columns)
        for start in range(0, len(rows), per_statement):
            chunk = rows[start:start + per_statement]
            connection.execute(table.sqlite_insert(len(chunk)), [value for row in chunk for value in row])
    if good:  # under the write lock each task still has the status just checked
        connection.execute(_MOVE_TASK_SQLITE.format(", ".join("?" * len(good))), [now, *(r.task_id for r in good)])
    return ok


def _still_valid(reports: list[NewReport], taken_rows: list[dict[str, Any]], task_rows: list[dict[str, Any]],
                 reported_rows: list[dict[str, Any]]) -> list[bool]:
    """Which reports may still be stored, in order, given the rows read in the write transaction: a
    batch may hold two deliveries of one report, or two reports for one task; the first wins."""
    taken = {row["id"] for row in taken_rows}
    tasks = {row["id"]: (row["status"], row["shopper"]) for row in task_rows}
    reported = {row["task"] for row in reported_rows}
    ok = []
    for r in reports:
        valid = r.id not in taken and r.task_id not in reported and tasks.get(r.task_id) == (r.task_status,
                                                                                             r.shopper_id)
        if valid:
            taken.add(r.id)
            reported.add(r.task_id)
        ok.append(valid)
    return ok


def _rows(good: list[NewReport], now: dt.datetime) -> list[tuple[_Table, list[tuple[Any, ...]]]]:
    """The rows that store `good`, per table, in the tables' column order."""
    return [
        (_REPORT, [(
            r.id, r.task_id, r.shopper_id, r.organisation_id, r.location_id, r.form_version_id, "submitted", 1,
            r.content_hash, r.answers_json, r.started_at, r.ended_at, r.submitted_at, r.score_calculated,
            r.score_final, r.failed, r.detail_json, r.flags_json, r.flag_count) for r in good]),
        (_REVISION, [(
            uuid7(), r.id, 1, r.content_hash, r.answers_json, r.started_at, r.ended_at, r.submitted_at,
            r.score_calculated, r.score_final, r.failed, r.detail_json) for r in good]),
        (_LINK, [(uuid7(), r.id, key, sha256) for r in good for key, sha256 in r.links]),
        (_AUDIT, [row for r in good for row in (
            (uuid7(), now, r.shopper_id, "task.submitted", "task", str(r.task_id), r.task_audit_json),
            (uuid7(), now, r.shopper_id, "report.submitted", "report", str(r.id), r.report_audit_json))]),
    ]

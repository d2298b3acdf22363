"""The submission hot path in hand-written SQL: the reads every submission makes, and batched writes
of new reports.

Piccolo builds each query string anew (about 0.5 ms a select, 2 ms for a join); at hundreds of
submissions a second that was most of a request's time. The statements here read and write the same
rows, in the same formats, as the Piccolo code in service.py (tests check both give the same report).

New reports (the first revision) are written by one writer per database engine in batches: while a
batch is being written, the next one collects. A batch is one transaction that re-checks, under the
write lock (SQLite) or row locks (PostgreSQL), what each report's validation relied on (its id is
unused, its task still has the status and shopper seen, and has no report) and writes those that
still hold with one statement per table. On SQLite the whole batch is one hop to the writer's thread. The others are answered "changed" and their requests look
again. A requester is answered only after the commit: a 2xx still means the report is on disk.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
import uuid
from dataclasses import dataclass
from typing import Any

from backend import db

CURRENT_SQL = "SELECT shopper, content_hash, revision, status, task FROM report WHERE id = ?"

TASK_SQL = """
    SELECT t.id, t.organisation AS organisation_id, t.location AS location_id, t.form_version AS form_version_id,
           t.channel, t.status, t.shopper AS shopper_id, t.window_start, t.window_end, t.campaign AS campaign_id,
           l.lat AS location_lat, l.lon AS location_lon, c.gps_limit_m,
           EXISTS (SELECT 1 FROM report r WHERE r.task = t.id) AS has_report
    FROM task t JOIN location l ON l.id = t.location LEFT JOIN campaign c ON c.id = t.campaign
    WHERE t.id = ?
"""

# The shopper's latest other report on the task's form at another location (identical-answers check);
# served by the index report(shopper, form_version, submitted_at). Args: task id, shopper, report id.
PREVIOUS_SQL = """
    SELECT r.answers, l.name AS location_name
    FROM task t JOIN report r ON r.form_version = t.form_version AND r.location <> t.location
                JOIN location l ON l.id = r.location
    WHERE t.id = ? AND r.shopper = ? AND r.id <> ?
    ORDER BY r.submitted_at DESC LIMIT 1
"""

_INSERT_REPORT = """
    INSERT INTO report (id, task, shopper, organisation, location, form_version, status, revision, content_hash,
                        answers, started_at, ended_at, submitted_at, score_calculated, score_final, failed,
                        score_detail, flags, flag_count)
    VALUES (?, ?, ?, ?, ?, ?, 'submitted', 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
_INSERT_REVISION = """
    INSERT INTO report_revision (id, report, number, content_hash, answers, started_at, ended_at, submitted_at,
                                 score_calculated, score_final, failed, score_detail)
    VALUES (?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
_MOVE_TASK = "UPDATE task SET status = 'submitted', updated_at = ? WHERE id = ? AND status = ?"
_INSERT_AUDIT = "INSERT INTO audit_entry (id, at, actor, action, entity, entity_id, detail) VALUES (?, ?, ?, ?, ?, ?, ?)"
_INSERT_LINK = "INSERT INTO report_attachment (id, report_id, question_key, sha256) VALUES (?, ?, ?, ?)"


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


async def store(report: NewReport) -> bool:
    """Store a new report; True once it is committed, False when what its validation relied on
    changed meanwhile (the caller looks again)."""
    return await _writer().store(report)


class _Writer:
    max_batch = 256

    def __init__(self) -> None:
        self._pending: list[tuple[NewReport, asyncio.Future[bool]]] = []
        self._draining: asyncio.Task[None] | None = None

    async def store(self, report: NewReport) -> bool:
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._pending.append((report, future))
        if self._draining is None or self._draining.done():
            self._draining = asyncio.create_task(self._drain())
        # Shielded: a client that goes away does not take the write with it (a retry then gets 200).
        return await asyncio.shield(future)

    async def _drain(self) -> None:
        batch: list[tuple[NewReport, asyncio.Future[bool]]] = []
        try:
            while self._pending:
                batch, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch :]
                try:
                    outcomes = await _write_batch([report for report, _ in batch])
                except Exception as exc:
                    if len(batch) == 1:
                        _answer(batch[0][1], exc)
                        continue
                    # One report spoiled the batch (say a unique index raced by another process):
                    # write each alone, so only that one fails and its request retries or reports it.
                    for report, future in batch:
                        try:
                            _answer(future, (await _write_batch([report]))[0])
                        except Exception as single:
                            _answer(future, single)
                    continue
                for (_, future), outcome in zip(batch, outcomes, strict=True):
                    _answer(future, outcome)
                batch = []
        except BaseException as exc:  # cancelled (shutdown): nobody may wait for ever
            for _, future in batch + self._pending:
                _answer(future, exc if isinstance(exc, Exception) else ConnectionAbortedError("shutting down"))
            self._pending = []
            raise


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


async def _write_batch(reports: list[NewReport]) -> list[bool]:
    engine = db.engine()
    if isinstance(engine, db.FieldscoreSQLiteEngine):  # one hop to the writer's thread for the whole batch
        return await engine.run_block(lambda connection: _write_batch_sqlite(connection, reports))
    async with db.writing():
        session = db.session()
        where, ids = session.any("id", {r.id for r in reports})
        taken = await session.fetch(f"SELECT id FROM report WHERE {where}", *ids)
        where, task_ids = session.any("id", {r.task_id for r in reports})
        # Lock the tasks until commit, so nothing moves them between this check and the update.
        tasks = await session.fetch(f"SELECT id, status, shopper FROM task WHERE {where} ORDER BY id FOR UPDATE",
                                    *task_ids)
        where, task_ids = session.any("task", {r.task_id for r in reports})
        reported = await session.fetch(f"SELECT task FROM report WHERE {where}", *task_ids)
        ok = _still_valid(reports, taken, tasks, reported)
        for sql, rows in _writes([r for r, valid in zip(reports, ok, strict=True) if valid]):
            await session.executemany(sql, rows)
    return ok


def _write_batch_sqlite(connection: sqlite3.Connection, reports: list[NewReport]) -> list[bool]:
    """On the writer's thread, inside the block's savepoint (the write lock keeps everything still)."""
    def fetch(sql: str, values: set[uuid.UUID]) -> list[dict[str, Any]]:
        return connection.execute(sql.format(", ".join("?" * len(values))), tuple(values)).fetchall()

    taken = fetch("SELECT id FROM report WHERE id IN ({})", {r.id for r in reports})
    tasks = fetch("SELECT id, status, shopper FROM task WHERE id IN ({})", {r.task_id for r in reports})
    reported = fetch("SELECT task FROM report WHERE task IN ({})", {r.task_id for r in reports})
    ok = _still_valid(reports, taken, tasks, reported)
    for sql, rows in _writes([r for r, valid in zip(reports, ok, strict=True) if valid]):
        if rows:
            connection.executemany(sql, rows)
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


def _writes(good: list[NewReport]) -> list[tuple[str, list[tuple[Any, ...]]]]:
    """The statements that store `good`, each with its rows."""
    now = dt.datetime.now(dt.timezone.utc)
    return [
        (_INSERT_REPORT, [(
            r.id, r.task_id, r.shopper_id, r.organisation_id, r.location_id, r.form_version_id, r.content_hash,
            r.answers_json, r.started_at, r.ended_at, r.submitted_at, r.score_calculated, r.score_final, r.failed,
            r.detail_json, r.flags_json, r.flag_count) for r in good]),
        (_INSERT_REVISION, [(
            uuid.uuid4(), r.id, r.content_hash, r.answers_json, r.started_at, r.ended_at, r.submitted_at,
            r.score_calculated, r.score_final, r.failed, r.detail_json) for r in good]),
        (_INSERT_LINK, [(uuid.uuid4(), r.id, key, sha256) for r in good for key, sha256 in r.links]),
        (_MOVE_TASK, [(now, r.task_id, r.task_status) for r in good]),
        (_INSERT_AUDIT, [row for r in good for row in (
            (uuid.uuid4(), now, r.shopper_id, "task.submitted", "task", str(r.task_id), r.task_audit_json),
            (uuid.uuid4(), now, r.shopper_id, "report.submitted", "report", str(r.id), r.report_audit_json))]),
    ]

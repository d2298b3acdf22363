"""How a submission reads what it needs and stores a revision, first or edit, in hand-written SQL.

Piccolo builds each query string anew (about 0.5 ms a select, 2 ms for a join); at hundreds of
submissions a second that was most of a request's time. The rows other domains keep (the task's move
and its audit entry, attachment links) are built by those domains' own functions
(backend.tasks.service, backend.audit.service, backend.attachments.service); this module only puts
them in the batch. The rows of one revision are built in one place (`_Rows.add`).

Every revision is written by one writer per engine, in batches: while one batch is written, the next
collects. A batch is one transaction, and takes what is pending once it has begun (on SQLite, once
this process has the write turn, see backend.db.sqlite.WriterFileLock). Under the write lock
(SQLite) or row locks (PostgreSQL: the reports', then the tasks', as a review takes them) it
re-checks what each revision's validation relied on (the stored report is the revision seen, or the
id is unused; the task still has the status and shopper seen, and for a first revision no report)
and writes the revisions that pass with one statement per table: multi-row VALUES on SQLite, arrays
unnested on PostgreSQL. A revision may carry a step another domain runs in the same transaction
once the rows are written (a call's retry); a batch without one, the common case, is written on
SQLite in one hop to the writer's thread. Revisions that no longer pass are answered "changed" and
their requests look again. A request is answered only after the commit: a 2xx still means the
report is on disk.
"""

from __future__ import annotations

import asyncio
import collections
import contextvars
import dataclasses
import datetime as dt
import functools
import sqlite3
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import msgspec

from api_schemas.reports import Flag
from api_schemas.tasks import TaskStatus
from backend import db, moments
from backend.attachments import service as attachments
from backend.audit import service as audit
from backend.db import BulkInsert
from backend.db.raw_sql import numbered
from backend.ids import uuid7
from backend.reports import evidence
from backend.tasks import service as tasks

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


class StoredReport(msgspec.Struct, frozen=True):
    """The report already stored under a delivery's id."""

    shopper: uuid.UUID
    content_hash: str
    revision: int
    status: str
    task: uuid.UUID

    @property
    def state(self) -> tuple[int, str, str]:
        """What an edit relies on staying as it was until it is written."""
        return self.revision, self.status, self.content_hash


class TaskContext(msgspec.Struct, frozen=True):
    """The task a delivery reports on, with what validation and the evidence checks need of it."""

    id: uuid.UUID
    organisation_id: uuid.UUID
    location_id: uuid.UUID
    form_version_id: uuid.UUID
    channel: str
    status: str
    shopper_id: uuid.UUID | None
    window_start: dt.datetime  # aware, UTC
    window_end: dt.datetime
    campaign_id: uuid.UUID | None
    location_lat: float | None
    location_lon: float | None
    gps_limit_m: float | None
    has_report: bool


class PreviousReport(msgspec.Struct, frozen=True):
    """The shopper's latest report on the same form at another location of the task's organisation."""

    answers_json: str
    location_name: str


class Context(msgspec.Struct, frozen=True):
    """Everything a submission reads before validating, in one statement."""

    stored: StoredReport | None
    task: TaskContext | None
    previous: PreviousReport | None


def _stored(row: dict[str, Any], prefix: str = "") -> StoredReport | None:
    if row[prefix + "status"] is None:
        return None
    return StoredReport(
        shopper=row[prefix + "shopper"],
        content_hash=row[prefix + "content_hash"],
        revision=row[prefix + "revision"],
        status=row[prefix + "status"],
        task=row[prefix + "task"],
    )


async def read_context(report_id: uuid.UUID, task_id: uuid.UUID, shopper_id: uuid.UUID) -> Context:
    """What a submission needs to know: the stored report with this id, the task and the shopper's
    previous comparable report, each or None."""
    async with db.reading() as session:
        if session.postgres:
            row = dict(await session.connection.fetchrow(_READ_POSTGRES, report_id, task_id, shopper_id))
        else:
            found = await session.fetchrow(_READ_SQLITE, report_id, task_id, shopper_id)
            assert found is not None  # FROM (SELECT 1): always one row
            row = found
    task = (
        None
        if row["task_id"] is None
        else TaskContext(
            id=row["task_id"],
            organisation_id=row["task_organisation_id"],
            location_id=row["task_location_id"],
            form_version_id=row["task_form_version_id"],
            channel=row["task_channel"],
            status=row["task_status"],
            shopper_id=row["task_shopper_id"],
            window_start=moments.aware(row["task_window_start"]),
            window_end=moments.aware(row["task_window_end"]),
            campaign_id=row["task_campaign_id"],
            location_lat=row["task_location_lat"],
            location_lon=row["task_location_lon"],
            gps_limit_m=row["task_gps_limit_m"],
            has_report=bool(row["task_has_report"]),
        )
    )
    previous = (
        None
        if row["prev_location_name"] is None
        else PreviousReport(answers_json=row["prev_answers"], location_name=row["prev_location_name"])
    )
    return Context(stored=_stored(row, "cur_"), task=task, previous=previous)


class Basis(msgspec.Struct, frozen=True):
    """What a revision's validation relied on, looked at again under the write lock before storing it."""

    report: tuple[int, str, str] | None  # the stored report's StoredReport.state; None: no report had the id
    task: tuple[str, uuid.UUID | None]  # the task's (status, shopper)
    first: bool  # a first revision: the task must still have no report


def still_valid(
    basis: Basis,
    report_now: tuple[int, str, str] | None,
    task_now: tuple[str, uuid.UUID | None] | None,
    task_reported: bool,
) -> bool:
    """The one re-validation rule, for every revision a batch writes: nothing validation relied
    on has changed (the report with this id, the task's status and shopper, and for a first revision
    that the task has no report)."""
    return report_now == basis.report and task_now == basis.task and not (basis.first and task_reported)


_REPORT = BulkInsert(
    "report",
    (
        ("id", "uuid"),
        ("task", "uuid"),
        ("shopper", "uuid"),
        ("organisation", "uuid"),
        ("location", "uuid"),
        ("form_version", "uuid"),
        ("status", "text"),
        ("revision", "int"),
        ("content_hash", "text"),
        ("answers", "json"),
        ("started_at", "timestamptz"),
        ("ended_at", "timestamptz"),
        ("submitted_at", "timestamptz"),
        ("score_calculated", "float8"),
        ("score_final", "float8"),
        ("failed", "bool"),
        ("score_detail", "json"),
        ("flags", "json"),
        ("flag_count", "int"),
    ),
)
# An edit keeps the report's first six columns (id, task, shopper, organisation, location, form version)
# and sets the others, from its status on. A resubmission awaits review: the return's reason and
# reviewer stay in the audit log and the comments, not on a report that would look reviewed.
_KEPT = 6


def _edit_sql(postgres: bool) -> str:
    sets = ", ".join(
        f"{name} = ?::json" if postgres and kind == "json" else f"{name} = ?" for name, kind in _REPORT.columns[_KEPT:]
    )
    sql = f"UPDATE report SET {sets}, review_reason = NULL, reviewed_by = NULL, reviewed_at = NULL WHERE id = ?"
    return numbered(sql) if postgres else sql


_EDIT_SQLITE, _EDIT_POSTGRES = _edit_sql(postgres=False), _edit_sql(postgres=True)
_REVISION = BulkInsert(
    "report_revision",
    (
        ("id", "uuid"),
        ("report", "uuid"),
        ("number", "int"),
        ("content_hash", "text"),
        ("answers", "json"),
        ("started_at", "timestamptz"),
        ("ended_at", "timestamptz"),
        ("submitted_at", "timestamptz"),
        ("score_calculated", "float8"),
        ("score_final", "float8"),
        ("failed", "bool"),
        ("score_detail", "json"),
    ),
)
# The re-check reads the reports with the batch's ids as they are now (an edit relies on their state,
# a first revision on there being none; an edit's audit entry names the score it replaces), the
# batch's tasks, and which of those tasks have a report.
_RECHECK_SQLITE = """
    SELECT 'task' AS kind, id, status, shopper, NULL AS revision, NULL AS content_hash, NULL AS score_final
    FROM task WHERE id IN ({tasks})
    UNION ALL SELECT 'report', id, status, NULL, revision, content_hash, score_final FROM report WHERE id IN ({ids})
    UNION ALL SELECT 'reported', task, NULL, NULL, NULL, NULL, NULL FROM report WHERE task IN ({tasks})
"""
# A batch with edits locks their reports first, then the tasks, as a review does (its report's update,
# then its task's move). First revisions alone need no report lock: their ids are unused.
_REPORTS_POSTGRES = "SELECT id, status, revision, content_hash, score_final FROM report WHERE id = ANY($1::uuid[])"
_LOCK_REPORTS_POSTGRES = _REPORTS_POSTGRES + " ORDER BY id FOR UPDATE"
_SQLITE_MAX_VARIABLES = 32_000  # SQLite >= 3.32 allows 32,766 parameters per statement

# A step another domain runs under the same write lock and in the same transaction, once the revision's
# rows are written (a call's retry scheduled or cancelled by the campaign).
Step = Callable[[], Awaitable[object]]


@dataclass(frozen=True, slots=True)
class PendingRevision:
    """A validated, scored and flagged revision, ready to store; JSON columns already encoded."""

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
    number: int = 1
    replaces: tuple[int, str, str] | None = None  # an edit: the stored report's state it was validated against
    step: Step | None = None

    @property
    def basis(self) -> Basis:
        return Basis(report=self.replaces, task=(self.task_status, self.shopper_id), first=self.number == 1)

    @property
    def moves_task(self) -> bool:
        """A first revision, or an edit of a returned report, moves its task to submitted."""
        return self.number == 1 or self.task_status == TaskStatus.returned.value

    def with_reused(self, hashes: set[str]) -> PendingRevision:
        """This revision flagged photo.reused for `hashes` (found under the write lock)."""
        flags = evidence.with_reused(msgspec.json.decode(self.flags_json, type=list[Flag]), hashes)
        return dataclasses.replace(self, flags_json=msgspec.json.encode(flags).decode(), flag_count=len(flags))


@dataclass(slots=True)
class _Rows:
    """What a batch writes, table by table, in the tables' column order."""

    reports: list[tuple[Any, ...]] = dataclasses.field(default_factory=list)  # first revisions: inserted
    edits: list[tuple[Any, ...]] = dataclasses.field(default_factory=list)  # _EDIT_*'s parameters
    revisions: list[tuple[Any, ...]] = dataclasses.field(default_factory=list)
    unlinked: list[uuid.UUID] = dataclasses.field(default_factory=list)  # edited: their earlier links go
    links: list[tuple[Any, ...]] = dataclasses.field(default_factory=list)
    audit: list[tuple[Any, ...]] = dataclasses.field(default_factory=list)
    moved: list[tuple[uuid.UUID, str]] = dataclasses.field(default_factory=list)  # (task, the status it leaves)

    def add(self, r: PendingRevision, now: dt.datetime, score_before: float | None) -> None:
        """The rows of one revision: the report (inserted, or updated by an edit), its revision, its
        attachment links, its task's move and the audit entries, each other domain's by its own function."""
        report = (
            r.id,
            r.task_id,
            r.shopper_id,
            r.organisation_id,
            r.location_id,
            r.form_version_id,
            "submitted",
            r.number,
            r.content_hash,
            r.answers_json,
            r.started_at,
            r.ended_at,
            r.submitted_at,
            r.score_calculated,
            r.score_final,
            r.failed,
            r.detail_json,
            r.flags_json,
            r.flag_count,
        )
        if r.number == 1:
            self.reports.append(report)
        else:
            self.edits.append((*report[_KEPT:], r.id))
            self.unlinked.append(r.id)  # an edit's answers are the current ones
        self.revisions.append(
            (
                uuid7(),
                r.id,
                r.number,
                r.content_hash,
                r.answers_json,
                r.started_at,
                r.ended_at,
                r.submitted_at,
                r.score_calculated,
                r.score_final,
                r.failed,
                r.detail_json,
            )
        )
        self.links += attachments.link_rows(r.id, r.links)
        if r.moves_task:
            self.moved.append((r.task_id, r.task_status))
            self.audit.append(tasks.submitted_entry(r.shopper_id, r.task_id, r.task_status, r.id, now))
        if r.number == 1:
            detail = {"task_id": str(r.task_id), "score": r.score_final, "flags": r.flag_count}
            self.audit.append(audit.entry_row(r.shopper_id, "report.submitted", "report", r.id, detail, now))
        else:
            detail = {"revision": r.number, "score_before": score_before, "score_after": r.score_final}
            self.audit.append(audit.entry_row(r.shopper_id, "report.revised", "report", r.id, detail, now))

    def inserts(self) -> list[tuple[BulkInsert, list[tuple[Any, ...]]]]:
        """The inserts after the reports' own rows (which the others refer to), in order."""
        return [(_REVISION, self.revisions), (attachments.LINK_ROWS, self.links), (audit.ENTRY_ROWS, self.audit)]


# Whether a revision's attachments are in other reports is decided under the write lock, where reports
# sent at once (a phone emptying its outbox) see each other. On PostgreSQL, writers run concurrently:
# each first takes a transaction-scoped lock per hash (in sorted order, after its report and task row
# locks, in every writer), so the second waits for the first's commit and then sees its links.
_LOCK_HASHES_POSTGRES = "SELECT pg_advisory_xact_lock(hashtextextended(sha, 0)) FROM unnest($1::text[]) AS sha"
_LINKED_POSTGRES = "SELECT sha256, report_id FROM report_attachment WHERE sha256 = ANY($1::text[])"
_LINKED_SQLITE = "SELECT sha256, report_id FROM report_attachment WHERE sha256 IN ({})"


def _mark_reused(good: list[PendingRevision], linked: list[dict[str, Any]]) -> list[PendingRevision]:
    """`good`, each flagged for the attachments that stored reports (`linked`) or earlier ones in the batch
    name (a report's own earlier links aside)."""
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


async def store(revision: PendingRevision) -> bool:
    """Store a revision (the one way, first or edit); True once it is committed, False when what its
    validation relied on changed meanwhile (the caller looks again)."""
    return await _writer().store(revision)


class _Writer:
    max_batch = 256

    def __init__(self) -> None:
        # A deque: on SQLite the writer's thread takes from it (popleft) while the event loop appends.
        self._pending: collections.deque[tuple[PendingRevision, asyncio.Future[bool]]] = collections.deque()
        self._draining: asyncio.Task[None] | None = None

    async def store(self, revision: PendingRevision) -> bool:
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._pending.append((revision, future))
        if self._draining is None or self._draining.done():
            # A context of its own: the drain must not run inside the first submitter's transaction.
            self._draining = asyncio.create_task(self._drain(), context=contextvars.Context())
        # Shielded: a client that goes away does not take the write with it (a retry then gets 200).
        return await asyncio.shield(future)

    async def _drain(self) -> None:
        batch: list[tuple[PendingRevision, asyncio.Future[bool]]] = []

        def take(plain: bool) -> list[PendingRevision]:
            """The batch: what is pending once the write transaction has begun (on SQLite, on the writer's
            thread, once the processes' write turn is ours), so that reports validated while another
            process held the turn go with this batch instead of waiting for the next one. A `plain`
            batch stops before a revision with a step: those go in the next."""
            for _ in range(min(len(self._pending), self.max_batch)):
                if plain and self._pending[0][0].step is not None:
                    break
                batch.append(self._pending.popleft())
            return [revision for revision, _ in batch]

        try:
            while self._pending:
                batch = []
                steps = self._pending[0][0].step is not None
                try:
                    outcomes = await _write_batch(functools.partial(take, not steps), steps)
                except asyncio.CancelledError:
                    if _cancelling():
                        raise
                    exc = ConnectionAbortedError("the write transaction was interrupted")
                    for _, future in batch:
                        _answer(future, exc)
                    continue
                except Exception as exc:
                    if not batch:  # it failed before taking its reports: these are the ones it was for
                        take(not steps)
                    if len(batch) == 1:
                        _answer(batch[0][1], exc)
                        continue
                    # One report spoiled the batch (say a unique index raced by another process):
                    # write each alone, so only that one fails and its request retries or reports it.
                    for revision, future in batch:
                        try:
                            alone = functools.partial(_alone, revision)
                            _answer(future, (await _write_batch(alone, revision.step is not None))[0])
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


def _alone(revision: PendingRevision) -> list[PendingRevision]:
    return [revision]


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


async def _write_batch(take: Callable[[], list[PendingRevision]], steps: bool) -> list[bool]:
    """Write the revisions `take()` gives, called once the write transaction has begun; their outcomes in
    order. With `steps`, the revisions' steps run in the same transaction once the rows are written."""
    engine = db.engine()
    if isinstance(engine, db.FieldscoreSQLiteEngine) and not steps:
        # The common case: one hop to the writer's thread for the whole batch.
        return await engine.run_block(lambda connection: _write_batch_sqlite(connection, take()))
    async with db.writing():
        revisions = take()
        if isinstance(engine, db.FieldscoreSQLiteEngine):
            ok = await engine.run_in_block(lambda connection: _write_batch_sqlite(connection, revisions))
        else:
            ok = await _write_batch_postgres(revisions)
        for r, valid in zip(revisions, ok, strict=True):
            if valid and r.step is not None:
                await r.step()
    return ok


async def _write_batch_postgres(revisions: list[PendingRevision]) -> list[bool]:
    """Inside the batch's transaction: lock, re-check and write."""
    connection = db.session().connection
    # The look-ups are planned for the tables as they are now: generic plans cached while `report` was
    # small kept seq-scanning it, about once a batch, until autovacuum next analysed it (the cost per
    # report grew with the table). Only for them: custom plans for every insert's foreign-key checks
    # cost more than they save.
    await connection.execute("SET LOCAL plan_cache_mode = force_custom_plan")
    ids, task_ids = list({r.id for r in revisions}), list({r.task_id for r in revisions})
    # Lock the edited reports (if any) and the tasks until commit: nothing changes them before the writes.
    edits = any(r.number > 1 for r in revisions)
    stored = await connection.fetch(_LOCK_REPORTS_POSTGRES if edits else _REPORTS_POSTGRES, ids)
    task_rows = await connection.fetch(
        "SELECT id, status, shopper FROM task WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE", task_ids
    )
    reported = await connection.fetch("SELECT task FROM report WHERE task = ANY($1::uuid[])", task_ids)
    await connection.execute("SET LOCAL plan_cache_mode = auto")
    ok, before = _still_valid(revisions, stored, task_rows, reported)
    good = [r for r, valid in zip(revisions, ok, strict=True) if valid]
    if hashes := sorted({sha for r in good for _, sha in r.links}):
        await connection.execute(_LOCK_HASHES_POSTGRES, hashes)
        good = _mark_reused(good, [dict(row) for row in await connection.fetch(_LINKED_POSTGRES, hashes)])
    now = moments.now()
    rows = _rows(good, now, before)
    if rows.reports:
        await connection.execute(
            _REPORT.postgres_insert(), *(list(column) for column in zip(*rows.reports, strict=True))
        )
    if rows.edits:
        await connection.executemany(_EDIT_POSTGRES, rows.edits)
    if rows.unlinked:
        await connection.execute(attachments.UNLINK_POSTGRES, rows.unlinked)
    for table, table_rows in rows.inserts():
        if table_rows:
            await connection.execute(
                table.postgres_insert(), *(list(column) for column in zip(*table_rows, strict=True))
            )
    if rows.moved:
        await connection.execute(
            tasks.SUBMIT_POSTGRES, now, [task for task, _ in rows.moved], [status for _, status in rows.moved]
        )
    return ok


def _write_batch_sqlite(connection: sqlite3.Connection, revisions: list[PendingRevision]) -> list[bool]:
    """On the writer's thread, inside the block's transaction or savepoint (the write turn keeps everything still)."""
    ids, task_ids = tuple({r.id for r in revisions}), tuple({r.task_id for r in revisions})
    # One statement for the three looks (each a call that hands the GIL back and forth, while the write
    # turn is held). The task rows come first: a compound SELECT's column types (UUID) are the first one's.
    found = connection.execute(
        _RECHECK_SQLITE.format(tasks=", ".join("?" * len(task_ids)), ids=", ".join("?" * len(ids))),
        (*task_ids, *ids, *task_ids),
    ).fetchall()
    task_rows = [row for row in found if row["kind"] == "task"]
    stored = [row for row in found if row["kind"] == "report"]
    reported = [{"task": row["id"]} for row in found if row["kind"] == "reported"]
    ok, before = _still_valid(revisions, stored, task_rows, reported)
    good = [r for r, valid in zip(revisions, ok, strict=True) if valid]
    if hashes := sorted({sha for r in good for _, sha in r.links}):
        good = _mark_reused(
            good, connection.execute(_LINKED_SQLITE.format(", ".join("?" * len(hashes))), hashes).fetchall()
        )
    now = moments.now()
    rows = _rows(good, now, before)
    _insert_sqlite(connection, _REPORT, rows.reports)
    if rows.edits:
        connection.executemany(_EDIT_SQLITE, rows.edits)
    if rows.unlinked:
        connection.execute(attachments.UNLINK_SQLITE.format(", ".join("?" * len(rows.unlinked))), rows.unlinked)
    for table, table_rows in rows.inserts():
        _insert_sqlite(connection, table, table_rows)
    if rows.moved:  # under the write lock each task still has the status just checked
        connection.execute(
            tasks.SUBMIT_SQLITE.format(", ".join("?" * len(rows.moved))), [now, *(task for task, _ in rows.moved)]
        )
    return ok


def _insert_sqlite(connection: sqlite3.Connection, table: BulkInsert, rows: list[tuple[Any, ...]]) -> None:
    per_statement = _SQLITE_MAX_VARIABLES // len(table.columns)
    for start in range(0, len(rows), per_statement):
        chunk = rows[start : start + per_statement]
        connection.execute(table.sqlite_insert(len(chunk)), [value for row in chunk for value in row])


def _still_valid(
    revisions: list[PendingRevision],
    report_rows: list[dict[str, Any]],
    task_rows: list[dict[str, Any]],
    reported_rows: list[dict[str, Any]],
) -> tuple[list[bool], dict[uuid.UUID, float | None]]:
    """`still_valid` for each revision of a batch, in order, given the rows read in the write transaction
    (a batch may hold two deliveries of one report, or two reports for one task: the first wins), and
    the score each stored report had."""
    report_now = {row["id"]: (row["revision"], row["status"], row["content_hash"]) for row in report_rows}
    before = {row["id"]: row["score_final"] for row in report_rows}
    task_now = {row["id"]: (row["status"], row["shopper"]) for row in task_rows}
    reported = {row["task"] for row in reported_rows}
    ok = []
    for r in revisions:
        valid = still_valid(r.basis, report_now.get(r.id), task_now.get(r.task_id), r.task_id in reported)
        if valid:
            report_now[r.id] = (r.number, "submitted", r.content_hash)
            task_now[r.task_id] = (TaskStatus.submitted.value, r.shopper_id)
            reported.add(r.task_id)
        ok.append(valid)
    return ok, before


def _rows(good: list[PendingRevision], now: dt.datetime, before: dict[uuid.UUID, float | None]) -> _Rows:
    rows = _Rows()
    for r in good:
        rows.add(r, now, before.get(r.id))
    return rows

"""Submitting a report: the protocol of docs/submission.md, top to bottom.

1. The times must be tellable in UTC; the delivery's content hash says what "the same report" is.
2. Read once what the submission needs (storage.read_context): the report stored under this id, the
   task, the shopper's previous comparable report.
3. Decide the revision: a repeat of what is stored is answered with it (200); an edit must name the
   latest revision of a report that is still editable; anything else under a used id is 409.
4. Check the task (the shopper's, in a status that takes a report), interpret the answers once
   (visibility, call timers) and hand that one reading to validation, scoring and the evidence flags.
5. Store the revision: one writer for every revision (storage.store), batched with the others
   pending. Its rows are the report (inserted, or updated by an edit), the revision, and those of
   other domains built by their own functions (the task's move, audit entries, attachment links);
   a call's retry, scheduled or cancelled by the campaign, is a step run in the same transaction.
   Under the write lock, `storage.still_valid` checks that nothing validation relied on has changed;
   if something has, go back to 2.
6. Answer with the stored report as its shopper sees it (one builder for every path), 201 or 200.

Validation, scoring and flagging read and compute a lot; they run before the write lock is taken,
so writers hold it only for the writes.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import uuid
from dataclasses import dataclass

import msgspec

from api_schemas.forms import FormDefinition, ScoreResult
from api_schemas.reports import CallRetry, Flag, Report, ReportCreate, ReportStatus
from api_schemas.tasks import TaskStatus
from backend import moments
from backend.accounts.security import Actor
from backend.attachments import service as attachments
from backend.campaigns import service as campaigns
from backend.errors import Conflict, InvalidInput, NotFound, is_unique_violation
from backend.forms import service as forms
from backend.forms.answers import check_answers
from backend.forms.interpretation import Interpreted, interpret
from backend.moments import in_utc
from backend.reports import evidence, storage
from backend.reports.service import call_retry, get_report
from backend.reports.storage import Basis, Context, StoredReport, TaskContext
from backend.scoring.engine import score
from backend.tasks.lifecycle import SUBMITTABLE, can_move
from backend.tasks.tables import Task

# A phone's clock may run a little ahead of the server's.
CLOCK_SKEW = dt.timedelta(minutes=5)
# Concurrent writers (PostgreSQL) may change what a delivery relied on; it is looked at again this often.
ATTEMPTS = 5
DEFAULT_GPS_LIMIT_M = 300.0


async def submit(actor: Actor, data: ReportCreate) -> tuple[Report, bool]:
    """Store a report; returns (report, created). The same id with the same content returns the stored one."""
    in_utc(started_at=data.started_at, ended_at=data.ended_at)  # 422 when either cannot be told in UTC
    digest = content_hash(data)
    try:
        return await _submit_once(actor, data, digest)
    except Conflict as exc:
        # PostgreSQL runs submissions concurrently: a duplicate delivery of this very report may have
        # committed between our first look for the id and our task checks. Looking again sees it and
        # answers as for any resubmission (200 with the stored report, or 409 when it really differs).
        if exc.code not in _RACE_CODES:
            raise
    except Exception as exc:
        if not is_unique_violation(exc):
            raise
    return await _submit_once(actor, data, digest)


_RACE_CODES = frozenset({"task.not_submittable", "report.duplicate_for_task", "task.changed"})


def content_hash(data: ReportCreate) -> str:
    """What makes two deliveries "the same report": task, times and answers, canonically encoded."""
    canonical = msgspec.json.encode(
        {
            "task_id": str(data.task_id),
            "started_at": data.started_at.astimezone(dt.timezone.utc).isoformat(),
            "ended_at": data.ended_at.astimezone(dt.timezone.utc).isoformat(),
            "answers": data.answers,
        },
        order="sorted",
    )
    return hashlib.sha256(canonical).hexdigest()


async def _submit_once(actor: Actor, data: ReportCreate, digest: str) -> tuple[Report, bool]:
    for _ in range(ATTEMPTS):
        context = await storage.read_context(data.id, data.task_id, actor.user_id)
        number = next_revision(actor, data, digest, context.stored)
        if number is None:
            return await get_report(actor, data.id), False  # as stored: it may have been reviewed since
        revision = await prepare(actor, data, digest, number, context)
        if await store(actor, data, revision):
            retry = await _retry(data.task_id) if revision.answered is False else None
            return as_submitted(revision, data, retry), number == 1
    raise Conflict("The report or its task kept changing; try again.", code="report.busy")


def next_revision(actor: Actor, data: ReportCreate, digest: str, stored: StoredReport | None) -> int | None:
    """The revision this delivery would create, or None when it repeats what is stored."""
    if stored is None:
        if data.replaces_revision is not None:
            raise NotFound("There is no report to edit with this id.", code="report.not_found")
        return 1
    resubmits = stored.status == ReportStatus.returned.value and data.replaces_revision == stored.revision
    if stored.shopper == actor.user_id and stored.content_hash == digest and not resubmits:
        return None  # a retry of what is stored: nothing to do (a returned report sent back as it was is not)
    if data.replaces_revision is None or stored.shopper != actor.user_id:
        raise Conflict(
            "A different report with this id exists.",
            code="report.conflict",
            errors=[("id", "already used for other content")],
        )
    if data.replaces_revision != stored.revision:
        raise Conflict(
            f"This edit replaces revision {data.replaces_revision}, but the latest is "
            f"{stored.revision}; reload and edit that.",
            code="report.stale_revision",
            errors=[("replaces_revision", f"latest is {stored.revision}")],
        )
    if stored.status not in (ReportStatus.submitted.value, ReportStatus.returned.value):
        raise Conflict(f"A report that is {stored.status} can no longer be edited.", code="report.not_editable")
    if stored.task != data.task_id:
        raise InvalidInput(
            "An edit cannot move a report to another task.", errors=[("task_id", "differs from the report's task")]
        )
    return stored.revision + 1


@dataclass(frozen=True, slots=True)
class Revision:
    """A validated, scored and flagged revision, ready to store, with what its validation relied on."""

    number: int
    digest: str
    shopper_id: uuid.UUID
    task: TaskContext
    task_status: TaskStatus
    basis: Basis
    definition: FormDefinition
    result: ScoreResult
    flags: list[Flag]
    submitted_at: dt.datetime

    @property
    def answered(self) -> bool | None:
        """For a call: whether someone answered (None when the form does not say)."""
        return self.result.metrics.get("answered")


async def prepare(actor: Actor, data: ReportCreate, digest: str, number: int, context: Context) -> Revision:
    """Check the task, then read the answers once and validate, score and flag them."""
    task = _submittable_task(actor, number, context.task)
    definition = await forms.published_definition(task.form_version_id)
    reading = interpret(definition, data.answers)
    problems = timing_problems(data, task.window_start, task.window_end, moments.now())
    problems += [(f"answers.{key}", reason) for key, reason in check_answers(definition, data.answers, reading.view)]
    problems += [
        (f"answers.{key}", reason)
        for key, reason in await attachments.check_attachment_answers(definition, data.answers, actor.user_id)
    ]
    if problems:
        raise InvalidInput(f"The report has {len(problems)} problem(s).", code="report.invalid", errors=problems)
    return Revision(
        number=number,
        digest=digest,
        shopper_id=actor.user_id,
        task=task,
        task_status=TaskStatus(task.status),
        basis=Basis(
            report=None if context.stored is None else context.stored.state,
            task=(task.status, task.shopper_id),
            first=number == 1,
        ),
        definition=definition,
        result=score(definition, data.answers, reading),
        flags=_flags(data, task, context, definition, reading),
        submitted_at=moments.now(),
    )


def _submittable_task(actor: Actor, number: int, task: TaskContext | None) -> TaskContext:
    if task is None or task.shopper_id != actor.user_id:
        # Another shopper's task answers as a made-up id does: a different answer would confirm it exists.
        raise NotFound(
            "You have no task with this id.",
            code="task.not_found",
            errors=[("task_id", "no task of yours with this id")],
        )
    status = TaskStatus(task.status)
    if number == 1:
        if status not in SUBMITTABLE:
            raise Conflict(f"A task that is {status.value} takes no report.", code="task.not_submittable")
        if not can_move(status, TaskStatus.submitted, actor.role):
            raise Conflict(f"A task that is {status.value} cannot become submitted.", code="task.invalid_transition")
        if task.has_report:
            raise Conflict(
                "This task already has a report.",
                code="report.duplicate_for_task",
                errors=[("task_id", "already reported")],
            )
    return task


def timing_problems(
    data: ReportCreate, window_start: dt.datetime, window_end: dt.datetime, now: dt.datetime
) -> list[tuple[str, str]]:
    problems = []
    if data.ended_at <= data.started_at:
        problems.append(("ended_at", "must be after started_at"))
    if data.started_at < window_start:
        problems.append(("started_at", f"before the task window opens ({window_start.isoformat()})"))
    if data.ended_at > window_end:
        problems.append(("ended_at", f"after the task window closes ({window_end.isoformat()})"))
    if data.ended_at > now + CLOCK_SKEW:
        problems.append(("ended_at", "in the future: a report is submitted after the visit or call ends"))
    return problems


def _flags(
    data: ReportCreate, task: TaskContext, context: Context, definition: FormDefinition, reading: Interpreted
) -> list[Flag]:
    identical_to = None
    mine = evidence.comparable_answers(definition, data.answers)
    if len(mine) >= evidence.MIN_COMPARABLE_ANSWERS and context.previous is not None:
        theirs = evidence.comparable_answers(definition, msgspec.json.decode(context.previous.answers_json))
        if theirs == mine:
            identical_to = context.previous.location_name
    ctx = evidence.Context(
        channel=task.channel,
        window_start=task.window_start,
        window_end=task.window_end,
        started_at=data.started_at,
        ended_at=data.ended_at,
        location_lat=task.location_lat,
        location_lon=task.location_lon,
        gps_limit_m=DEFAULT_GPS_LIMIT_M if task.gps_limit_m is None else float(task.gps_limit_m),
    )
    # photo.reused is decided under the write lock (by the writer, backend.reports.storage), where
    # reports sent at once see each other.
    return evidence.evidence_flags(definition, data.answers, ctx, identical_to_location=identical_to, reading=reading)


# ---------------------------------------------------------------- storing


async def store(actor: Actor, data: ReportCreate, revision: Revision) -> bool:
    """Store a revision; True once committed, False when what its validation relied on changed meanwhile.

    Every revision, first or edit, goes to the one writer (storage.store), batched with whatever else
    is pending; a call's retry is its step, run in the same transaction."""
    return await storage.store(pending(actor, data, revision))


def pending(actor: Actor, data: ReportCreate, r: Revision) -> storage.PendingRevision:
    """The revision as the writer stores it: its columns encoded, the basis of its re-check, its step."""
    result, task = r.result, r.task
    return storage.PendingRevision(
        id=data.id,
        task_id=data.task_id,
        task_status=task.status,
        shopper_id=r.shopper_id,
        organisation_id=task.organisation_id,
        location_id=task.location_id,
        form_version_id=task.form_version_id,
        content_hash=r.digest,
        answers_json=msgspec.json.encode(data.answers).decode(),
        started_at=data.started_at.astimezone(dt.timezone.utc),
        ended_at=data.ended_at.astimezone(dt.timezone.utc),
        submitted_at=r.submitted_at,
        score_calculated=result.calculated,
        score_final=result.final,
        failed=result.failed,
        detail_json=msgspec.json.encode(result).decode(),
        flags_json=msgspec.json.encode(r.flags).decode(),
        flag_count=len(r.flags),
        links=tuple((q.key, sha) for q, sha in attachments.attachment_answers(r.definition, data.answers)),
        number=r.number,
        replaces=r.basis.report,
        step=_retry_step(actor, data, r),
    )


def _retry_step(actor: Actor, data: ReportCreate, r: Revision) -> storage.Step | None:
    """What the campaign does about a call's retry, in the revision's own transaction."""
    if r.answered is False:
        # A call nobody answered, in the first report or corrected to that later: the result (censored) is
        # kept, and the campaign may call again another day.
        return functools.partial(campaigns.schedule_retry, actor, data.task_id)
    if r.answered is True and r.number > 1:
        # Corrected to say it was answered: a retry scheduled for it and not yet under way is not needed.
        return functools.partial(campaigns.cancel_retry, data.task_id, data.id, r.number)
    return None


# ---------------------------------------------------------------- the answer


async def _retry(task_id: uuid.UUID) -> CallRetry | None:
    """What the write just decided about an unanswered call's retry (stored on its task)."""
    row = await Task.select(Task.retry_state).where(Task.id == task_id).first()
    return call_retry(None if row is None else row["retry_state"])


def as_submitted(r: Revision, data: ReportCreate, retry: CallRetry | None = None) -> Report:
    """The stored revision as GET /reports/{id} shows it to its shopper (the only role that submits: no
    score, no flags, no review reason: a resubmission clears it), built from what was written."""
    return Report(
        id=data.id,
        task_id=data.task_id,
        shopper_id=r.shopper_id,
        organisation_id=r.task.organisation_id,
        location_id=r.task.location_id,
        form_version_id=r.task.form_version_id,
        status=ReportStatus.submitted,
        revision=r.number,
        started_at=data.started_at.astimezone(dt.timezone.utc),
        ended_at=data.ended_at.astimezone(dt.timezone.utc),
        submitted_at=r.submitted_at,
        answers=data.answers,
        score=None,
        review_reason=None,
        flags=[],
        retry=retry,
    )

"""Reports service: loss-proof, idempotent submission; validation and scoring; review."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

import msgspec

from api_schemas.accounts import Role
from api_schemas.common import Page
from api_schemas.forms import FormDefinition, ScoreResult
from api_schemas.reports import (
    AnswerChange,
    BulkApprove,
    BulkApproveResult,
    Report,
    ReportComment,
    ReportCreate,
    ReportDiff,
    ReportExplanation,
    ReportReject,
    ReportReturn,
    ReportRevision,
    ReportStatus,
)
from api_schemas.tasks import TaskStatus
from backend import db
from backend.accounts.security import Actor
from backend.analytics import facts as analytics_facts
from backend.attachments import service as attachments
from backend.audit.service import record
from backend.forms.definition import iter_questions
from backend.reports import evidence, ingest
from backend.campaigns import service as campaigns
from backend.errors import Conflict, Forbidden, InvalidInput, NotFound, is_unique_violation
from backend.forms import service as forms
from backend.forms.answers import check_answers
from backend.moments import in_utc
from backend.pagination import PageParams
from backend.reports import tables as t
from backend.scoring.engine import score
from backend.tasks import service as tasks
from backend.tasks.lifecycle import SUBMITTABLE, can_move
from backend.tasks.tables import Task
from backend.ids import uuid7

# A phone's clock may run a little ahead of the server's.
CLOCK_SKEW = dt.timedelta(minutes=5)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def content_hash(data: ReportCreate) -> str:
    """What makes two deliveries "the same report": task, times and answers, canonically encoded."""
    canonical = msgspec.json.encode(
        {"task_id": str(data.task_id), "started_at": data.started_at.astimezone(dt.timezone.utc).isoformat(),
         "ended_at": data.ended_at.astimezone(dt.timezone.utc).isoformat(), "answers": data.answers},
        order="sorted",
    )
    return hashlib.sha256(canonical).hexdigest()


_COLUMNS = (
    t.Report.id,
    t.Report.task.as_alias("task_id"),
    t.Report.shopper.as_alias("shopper_id"),
    t.Report.organisation.as_alias("organisation_id"),
    t.Report.location.as_alias("location_id"),
    t.Report.form_version.as_alias("form_version_id"),
    t.Report.status,
    t.Report.revision,
    t.Report.started_at,
    t.Report.ended_at,
    t.Report.submitted_at,
    t.Report.answers,
    t.Report.score_calculated,
    t.Report.score_final,
    t.Report.failed,
    t.Report.review_reason,
    t.Report.flags,
)


def _to_report(row: dict[str, Any], actor: Actor) -> Report:
    """A report as `actor` may see it: managers do not see who shopped; shoppers see no scores (DESIGN §2)
    and no evidence flags (they are the review's, and would teach how checks are passed)."""
    shopper = actor.role == Role.shopper
    return msgspec.convert(
        {
            **{k: v for k, v in row.items() if not k.startswith("score_") and k not in ("failed", "flags")},
            "shopper_id": None if actor.role == Role.manager else row["shopper_id"],
            "score": None if shopper else {"calculated": row["score_calculated"], "final": row["score_final"],
                                           "failed": row["failed"]},
            "flags": [] if shopper else row["flags"],
        },
        Report,
    )


def _scope(actor: Actor) -> Any:
    if actor.role == Role.shopper:
        return t.Report.shopper == actor.user_id
    if actor.role == Role.manager:
        # Only approved reports reach the client.
        return (t.Report.organisation == actor.organisation_id) & (t.Report.status == ReportStatus.approved.value)
    return None


async def _row(actor: Actor, report_id: uuid.UUID, *columns: Any) -> dict[str, Any]:
    query = t.Report.select(*(columns or _COLUMNS)).where(t.Report.id == report_id)
    scope = _scope(actor)
    if scope is not None:
        query = query.where(scope)
    row = await query.output(load_json=True).first()
    if row is None:
        raise NotFound("No such report.", code="report.not_found")
    return row


async def get_report(actor: Actor, report_id: uuid.UUID) -> Report:
    return _to_report(await _row(actor, report_id), actor)


async def list_reports(
    actor: Actor, page: PageParams, *, status: ReportStatus | None, organisation_id: uuid.UUID | None,
    location_id: uuid.UUID | None, task_id: uuid.UUID | None,
) -> Page[Report]:
    clauses = [
        _scope(actor),
        t.Report.status == status.value if status else None,
        t.Report.organisation == organisation_id if organisation_id else None,
        t.Report.location == location_id if location_id else None,
        t.Report.task == task_id if task_id else None,
    ]
    query = t.Report.select(*_COLUMNS).order_by(t.Report.submitted_at, ascending=False).order_by(t.Report.id)
    count = t.Report.count()
    for clause in clauses:
        if clause is not None:
            query, count = query.where(clause), count.where(clause)
    rows = await query.output(load_json=True).limit(page.limit).offset(page.offset)
    return Page(items=[_to_report(r, actor) for r in rows], total=await count, limit=page.limit,
                offset=page.offset)


def _timing_problems(data: ReportCreate, window_start: dt.datetime, window_end: dt.datetime,
                     now: dt.datetime) -> list[tuple[str, str]]:
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


async def _current(report_id: uuid.UUID) -> dict[str, Any] | None:
    async with db.reading() as session:
        return await session.fetchrow(ingest.CURRENT_SQL, report_id)


def _next_revision(actor: Actor, data: ReportCreate, digest: str, existing: dict[str, Any] | None) -> int | None:
    """The revision this delivery would create, or None when it repeats what is stored."""
    if existing is None:
        if data.replaces_revision is not None:
            raise NotFound("There is no report to edit with this id.", code="report.not_found")
        return 1
    resubmits = (existing["status"] == ReportStatus.returned.value and data.replaces_revision == existing["revision"])
    if existing["shopper"] == actor.user_id and existing["content_hash"] == digest and not resubmits:
        return None  # a retry of what is stored: nothing to do (a returned report sent back as it was is not)
    if data.replaces_revision is None or existing["shopper"] != actor.user_id:
        raise Conflict("A different report with this id exists.", code="report.conflict",
                       errors=[("id", "already used for other content")])
    if data.replaces_revision != existing["revision"]:
        raise Conflict(f"This edit replaces revision {data.replaces_revision}, but the latest is "
                       f"{existing['revision']}; reload and edit that.", code="report.stale_revision",
                       errors=[("replaces_revision", f"latest is {existing['revision']}")])
    if existing["status"] not in (ReportStatus.submitted.value, ReportStatus.returned.value):
        raise Conflict(f"A report that is {existing['status']} can no longer be edited.", code="report.not_editable")
    if existing["task"] != data.task_id:
        raise InvalidInput("An edit cannot move a report to another task.",
                           errors=[("task_id", "differs from the report's task")])
    return existing["revision"] + 1


class _Changed(Exception):
    """The report moved between _unchanged and the write (PostgreSQL): the write is rolled back and looked at again."""


@dataclass(frozen=True, slots=True)
class _Prepared:
    """Everything decided before taking the write lock: validated, scored and flagged."""

    revision: int
    task: dict[str, Any]
    status: TaskStatus
    definition: FormDefinition
    result: ScoreResult
    flags: list[evidence.Flag]


async def _submit_once(actor: Actor, data: ReportCreate, digest: str) -> tuple[Report, bool]:
    # Validation, scoring and flagging read and compute a lot; done before the write lock, so
    # writers hold it only for the writes. Under the lock we look again at what they relied on.
    for _ in range(5):
        existing, task, previous = await ingest.read(data.id, data.task_id, actor.user_id)
        revision = _next_revision(actor, data, digest, existing)
        if revision is None:
            return await get_report(actor, data.id), False
        prepared = await _prepare(actor, data, revision, task, previous)
        if _batched(prepared):
            new = _new_report(actor, data, digest, prepared)
            if await ingest.store(new):
                return _in_hand(new, data), True
            continue
        written = False
        try:
            async with db.writing():
                if await _unchanged(data, existing, prepared):
                    await _write(actor, data, digest, prepared)
                    written = True
        except _Changed:
            pass  # PostgreSQL writes concurrently: the report moved after _unchanged looked; look again
        if written:
            return await get_report(actor, data.id), revision == 1
    raise Conflict("The report or its task kept changing; try again.", code="report.busy")


def _batched(p: _Prepared) -> bool:
    """The common case, a new report that schedules nothing, is written in a batch with others
    (backend.reports.ingest); edits and unanswered calls (which schedule a retry) take _write."""
    return p.revision == 1 and p.result.metrics.get("answered") is not False


def _new_report(actor: Actor, data: ReportCreate, digest: str, p: _Prepared) -> ingest.NewReport:
    result, task = p.result, p.task
    return ingest.NewReport(
        id=data.id, task_id=data.task_id, task_status=p.status.value, shopper_id=actor.user_id,
        organisation_id=task["organisation_id"], location_id=task["location_id"],
        form_version_id=task["form_version_id"], content_hash=digest,
        answers_json=msgspec.json.encode(data.answers).decode(), started_at=data.started_at.astimezone(dt.timezone.utc),
        ended_at=data.ended_at.astimezone(dt.timezone.utc), submitted_at=_now(), score_calculated=result.calculated,
        score_final=result.final, failed=result.failed, detail_json=msgspec.json.encode(result).decode(),
        flags_json=msgspec.json.encode([{"code": f.code, "reason": f.reason} for f in p.flags]).decode(),
        flag_count=len(p.flags),
        links=tuple((q.key, sha) for q, sha in attachments.attachment_answers(p.definition, data.answers)),
        task_audit_json=msgspec.json.encode({"from": p.status.value, "to": TaskStatus.submitted.value,
                                             "report_id": str(data.id)}).decode(),
        report_audit_json=msgspec.json.encode({"task_id": str(data.task_id), "score": result.final,
                                               "flags": len(p.flags)}).decode(),
    )


def _in_hand(new: ingest.NewReport, data: ReportCreate) -> Report:
    """The stored report as GET /reports/{id} shows it to its shopper (the only role that submits: no score,
    no flags), built from what was written."""
    return Report(
        id=new.id, task_id=new.task_id, shopper_id=new.shopper_id, organisation_id=new.organisation_id,
        location_id=new.location_id, form_version_id=new.form_version_id, status=ReportStatus.submitted, revision=1,
        started_at=new.started_at, ended_at=new.ended_at, submitted_at=new.submitted_at, answers=data.answers,
        score=None, review_reason=None, flags=[],
    )


async def _unchanged(data: ReportCreate, seen: dict[str, Any] | None, prepared: _Prepared) -> bool:
    now = await _current(data.id)
    if (now is None) != (seen is None) or (now is not None and seen is not None and (
            now["revision"], now["status"], now["content_hash"]) != (seen["revision"], seen["status"],
                                                                    seen["content_hash"])):
        return False
    task = await Task.select(Task.status, Task.shopper).where(Task.id == data.task_id).first()
    if task is None or task["status"] != prepared.status.value or task["shopper"] != prepared.task["shopper_id"]:
        return False
    return prepared.revision > 1 or not await t.Report.exists().where(t.Report.task == data.task_id)


async def _prepare(actor: Actor, data: ReportCreate, revision: int, task: dict[str, Any] | None,
                   previous: dict[str, Any] | None) -> _Prepared:
    """Check, score and flag a delivery; `task` and `previous` as ingest.read gives them."""
    if task is None:
        raise InvalidInput("Unknown task.", errors=[("task_id", "no such task")])
    if task["shopper_id"] != actor.user_id:
        raise Forbidden("This task is not assigned to you.", code="task.not_yours")
    status = TaskStatus(task["status"])
    if revision == 1:
        if status not in SUBMITTABLE:
            raise Conflict(f"A task that is {status.value} takes no report.", code="task.not_submittable")
        if not can_move(status, TaskStatus.submitted, actor.role):
            raise Conflict(f"A task that is {status.value} cannot become submitted.", code="task.invalid_transition")
        if task["has_report"]:
            raise Conflict("This task already has a report.", code="report.duplicate_for_task",
                           errors=[("task_id", "already reported")])
    definition = await forms.published_definition(task["form_version_id"])
    window_start, window_end = tasks._aware(task["window_start"]), tasks._aware(task["window_end"])
    problems = _timing_problems(data, window_start, window_end, _now())
    problems += [(f"answers.{key}", reason) for key, reason in check_answers(definition, data.answers)]
    problems += [(f"answers.{key}", reason) for key, reason in
                 await attachments.check_attachment_answers(definition, data.answers, actor.user_id)]
    if problems:
        raise InvalidInput(f"The report has {len(problems)} problem(s).", code="report.invalid", errors=problems)
    result = score(definition, data.answers)
    flags = await _flags(data, task, previous, definition, window_start, window_end)
    return _Prepared(revision=revision, task=task, status=status, definition=definition, result=result, flags=flags)


async def _write(actor: Actor, data: ReportCreate, digest: str, p: _Prepared) -> None:
    """Store one prepared revision; inside the caller's write transaction."""
    now, result, revision, task = _now(), p.result, p.revision, p.task
    detail = msgspec.to_builtins(result)
    flags = evidence.with_reused(p.flags, await ingest.reused_attachments(
        data.id, data.task_id, evidence.attachment_hashes(data.answers)))
    values = dict(
        status=ReportStatus.submitted.value, revision=revision, content_hash=digest, answers=data.answers,
        started_at=data.started_at, ended_at=data.ended_at, submitted_at=now,
        score_calculated=result.calculated, score_final=result.final, failed=result.failed,
        score_detail=detail, flags=[{"code": f.code, "reason": f.reason} for f in flags],
        flag_count=len(flags),
    )
    if revision == 1:
        await t.Report.insert(t.Report(
            id=data.id, task=data.task_id, shopper=actor.user_id, organisation=task["organisation_id"],
            location=task["location_id"], form_version=task["form_version_id"], **values))
    else:
        previous = await t.Report.select(t.Report.score_final).where(t.Report.id == data.id).first()
        # A resubmission awaits review: the return's reason and reviewer stay in the audit log and the
        # comments, not on a report that would look reviewed.
        values.update(review_reason=None, reviewed_by=None, reviewed_at=None)
        # Only the revision this edit replaces, still editable: on PostgreSQL a review (or another edit)
        # may have committed since _unchanged looked, and must not be overwritten.
        if not await t.Report.update({getattr(t.Report, k): v for k, v in values.items()}).where(
                (t.Report.id == data.id) & (t.Report.revision == revision - 1)
                & t.Report.status.is_in([ReportStatus.submitted.value, ReportStatus.returned.value])
        ).returning(t.Report.id):
            raise _Changed
    await t.ReportRevision.insert(t.ReportRevision(
        id=uuid7(), report=data.id, number=revision, content_hash=digest, answers=data.answers,
        started_at=data.started_at, ended_at=data.ended_at, submitted_at=now,
        score_calculated=result.calculated, score_final=result.final, failed=result.failed, score_detail=detail))
    if revision > 1 or evidence.attachment_hashes(data.answers):
        await attachments.link_attachments(data.id, p.definition, data.answers)
    if revision == 1:
        await tasks.move(actor, data.task_id, p.status, TaskStatus.submitted, detail={"report_id": str(data.id)})
        await record(actor.user_id, "report.submitted", "report", data.id,
                     {"task_id": str(data.task_id), "score": result.final, "flags": len(flags)})
    else:
        if p.status == TaskStatus.returned:
            await tasks.move(actor, data.task_id, p.status, TaskStatus.submitted, detail={"report_id": str(data.id)})
        await record(actor.user_id, "report.revised", "report", data.id,
                     {"revision": revision, "score_before": previous["score_final"], "score_after": result.final})
    answered = result.metrics.get("answered")
    if answered is False:
        # A call nobody answered, in the first report or corrected to that later: the result (censored) is
        # kept, and the campaign may call again another day, once.
        await campaigns.schedule_retry(actor, data.task_id)
    elif answered is True and revision > 1:
        # Corrected to say it was answered: a retry scheduled for it and not yet under way is not needed.
        await campaigns.cancel_retry(data.task_id, data.id, revision)


async def _flags(data: ReportCreate, task: dict[str, Any], previous: dict[str, Any] | None,
                 definition: FormDefinition, window_start: dt.datetime, window_end: dt.datetime) -> list[evidence.Flag]:
    gps_limit = 300.0 if task["gps_limit_m"] is None else float(task["gps_limit_m"])
    identical_to = None
    mine = evidence.comparable_answers(definition, data.answers)
    if len(mine) >= evidence.MIN_COMPARABLE_ANSWERS and previous is not None:
        if evidence.comparable_answers(definition, msgspec.json.decode(previous["answers"])) == mine:
            identical_to = previous["location_name"]
    ctx = evidence.Context(channel=task["channel"], window_start=window_start, window_end=window_end,
                           started_at=data.started_at, ended_at=data.ended_at, location_lat=task["location_lat"],
                           location_lon=task["location_lon"], gps_limit_m=gps_limit)
    # photo.reused is decided under the write lock (ingest.reused_attachments), where reports sent at
    # once see each other.
    return evidence.evidence_flags(definition, data.answers, ctx, identical_to_location=identical_to)


async def explanation(actor: Actor, report_id: uuid.UUID) -> ReportExplanation:
    row = await _row(actor, report_id, t.Report.id, t.Report.form_version, t.Report.score_detail)
    return ReportExplanation(report_id=row["id"], form_version_id=row["form_version"],
                             result=msgspec.convert(row["score_detail"], ScoreResult))


# What each review may start from. A returned report the shopper never sends back can still be
# rejected, so its task does not stay open for ever.
_REVIEWABLE = {
    ReportStatus.approved: (ReportStatus.submitted.value,),
    ReportStatus.returned: (ReportStatus.submitted.value,),
    ReportStatus.rejected: (ReportStatus.submitted.value, ReportStatus.returned.value),
}


async def _review(actor: Actor, report_id: uuid.UUID, target: ReportStatus, reason: str | None,
                  seen_revision: int | None = None) -> None:
    """Inside the caller's write transaction. `seen_revision`: the revision the reviewer looked at;
    when the shopper has edited since, the review is refused (409 report.changed)."""
    row = await _row(actor, report_id, t.Report.status, t.Report.task, t.Report.revision)
    if row["status"] not in _REVIEWABLE[target]:
        raise Conflict(f"A report that is {row['status']} cannot be {target.value}.", code="report.not_reviewable")
    if seen_revision is not None and seen_revision != row["revision"]:
        raise Conflict(f"The report has been edited since revision {seen_revision}; review revision "
                       f"{row['revision']}.", code="report.changed",
                       errors=[("revision", f"latest is {row['revision']}")])
    # Only the revision read above, in the status read: on PostgreSQL an edit or another review may
    # have committed since, and a reviewer decides on what they saw.
    if not await t.Report.update({
        t.Report.status: target.value, t.Report.review_reason: reason, t.Report.reviewed_by: actor.user_id,
        t.Report.reviewed_at: _now(),
    }).where((t.Report.id == report_id) & (t.Report.status == row["status"])
             & (t.Report.revision == row["revision"])).returning(t.Report.id):
        raise Conflict("The report changed while it was being reviewed; reload it.", code="report.changed")
    if target == ReportStatus.approved:  # counted in analytics from this commit on
        await analytics_facts.record(report_id)
    await tasks.move(actor, row["task"], TaskStatus(row["status"]), TaskStatus(target.value),
                     detail={"report_id": str(report_id)})
    await record(actor.user_id, f"report.{target.value}", "report", report_id,
                 {"reason": reason, "revision": row["revision"]})


async def approve(actor: Actor, report_id: uuid.UUID, revision: int | None = None) -> Report:
    async with db.writing():
        await _review(actor, report_id, ReportStatus.approved, None, revision)
    return await get_report(actor, report_id)


async def reject(actor: Actor, report_id: uuid.UUID, data: ReportReject, revision: int | None = None) -> Report:
    async with db.writing():
        await _review(actor, report_id, ReportStatus.rejected, data.reason, revision)
    return await get_report(actor, report_id)


async def return_to_shopper(actor: Actor, report_id: uuid.UUID, data: ReportReturn,
                            revision: int | None = None) -> Report:
    async with db.writing():
        row = await _row(actor, report_id, t.Report.revision, t.Report.form_version)
        version = await forms.get_version_by_id(row["form_version"])
        known = {info.question.key for info in iter_questions(version.definition)}
        unknown = [(f"comments[{i}].question_key", "no such question in this form")
                   for i, c in enumerate(data.comments) if c.question_key is not None and c.question_key not in known]
        if unknown:
            raise InvalidInput("Comments must be on questions of the report's form.", errors=unknown)
        await _review(actor, report_id, ReportStatus.returned, "; ".join(c.text for c in data.comments)[:2000],
                      revision)
        await t.ReportComment.insert(*(
            t.ReportComment(id=uuid.uuid4(), report=report_id, revision=row["revision"], question_key=c.question_key,
                            text=c.text, author=actor.user_id, created_at=_now())
            for c in data.comments))
    return await get_report(actor, report_id)


async def list_comments(actor: Actor, report_id: uuid.UUID, page: PageParams) -> Page[ReportComment]:
    """Oldest first."""
    await _row(actor, report_id, t.Report.id)
    rows = await t.ReportComment.select(
        t.ReportComment.id, t.ReportComment.revision, t.ReportComment.question_key, t.ReportComment.text,
        t.ReportComment.author.as_alias("author_id"), t.ReportComment.created_at,
    ).where(t.ReportComment.report == report_id).order_by(t.ReportComment.created_at).order_by(
        t.ReportComment.id).limit(page.limit).offset(page.offset)
    total = await t.ReportComment.count().where(t.ReportComment.report == report_id)
    return Page(items=[msgspec.convert(r, ReportComment) for r in rows], total=total, limit=page.limit,
                offset=page.offset)


async def list_revisions(actor: Actor, report_id: uuid.UUID, page: PageParams) -> Page[ReportRevision]:
    """Oldest first."""
    items = await _revisions(actor, report_id, page)
    total = await t.ReportRevision.count().where(t.ReportRevision.report == report_id)
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


async def _revisions(actor: Actor, report_id: uuid.UUID, page: PageParams | None = None) -> list[ReportRevision]:
    """Oldest first; without `page`, every one."""
    await _row(actor, report_id, t.Report.id)
    query = t.ReportRevision.select(
        t.ReportRevision.number, t.ReportRevision.submitted_at, t.ReportRevision.started_at,
        t.ReportRevision.ended_at, t.ReportRevision.answers, t.ReportRevision.score_calculated,
        t.ReportRevision.score_final, t.ReportRevision.failed,
    ).where(t.ReportRevision.report == report_id).order_by(t.ReportRevision.number).output(load_json=True)
    if page is not None:
        query = query.limit(page.limit).offset(page.offset)
    shopper = actor.role == Role.shopper  # shoppers see no scores (DESIGN §2)
    return [msgspec.convert({**r, "score": None if shopper else {
        "calculated": r["score_calculated"], "final": r["score_final"], "failed": r["failed"]}}, ReportRevision)
        for r in await query]


def answer_changes(before: dict[str, Any], after: dict[str, Any]) -> list[AnswerChange]:
    changes = []
    for key in sorted(set(before) | set(after)):
        if key not in before:
            changes.append(AnswerChange(key=key, change="added", after=after[key]))
        elif key not in after:
            changes.append(AnswerChange(key=key, change="removed", before=before[key]))
        elif msgspec.json.encode(before[key], order="sorted") != msgspec.json.encode(after[key], order="sorted"):
            changes.append(AnswerChange(key=key, change="changed", before=before[key], after=after[key]))
    return changes


async def diff(actor: Actor, report_id: uuid.UUID, from_revision: int | None, to_revision: int | None) -> ReportDiff:
    revisions = {r.number: r for r in await _revisions(actor, report_id)}
    latest = max(revisions)
    to_n = to_revision or latest
    from_n = from_revision or max(1, to_n - 1)
    missing = [(name, f"no revision {n} (latest is {latest})") for name, n in
               (("from_revision", from_n), ("to_revision", to_n)) if n not in revisions]
    if missing:
        raise NotFound("No such revision.", code="report.revision_not_found", errors=missing)
    before, after = revisions[from_n], revisions[to_n]
    times = [AnswerChange(key=key, change="changed", before=getattr(before, key), after=getattr(after, key))
             for key in ("started_at", "ended_at") if getattr(before, key) != getattr(after, key)]
    return ReportDiff(report_id=report_id, from_revision=from_n, to_revision=to_n,
                      changes=answer_changes(before.answers, after.answers), time_changes=times)


async def review_queue(actor: Actor, page: PageParams, organisation_id: uuid.UUID | None,
                       campaign_id: uuid.UUID | None) -> Page[Report]:
    """Submitted reports awaiting review: most flags first, then oldest first."""
    query = t.Report.select(*_COLUMNS).where(t.Report.status == ReportStatus.submitted.value)
    count = t.Report.count().where(t.Report.status == ReportStatus.submitted.value)
    for clause in (t.Report.organisation == organisation_id if organisation_id else None,
                   t.Report.task.campaign == campaign_id if campaign_id else None):
        if clause is not None:
            query, count = query.where(clause), count.where(clause)
    rows = await (query.order_by(t.Report.flag_count, ascending=False).order_by(t.Report.submitted_at)
                  .order_by(t.Report.id).output(load_json=True).limit(page.limit).offset(page.offset))
    return Page(items=[_to_report(r, actor) for r in rows], total=await count, limit=page.limit,
                offset=page.offset)


async def bulk_approve(actor: Actor, data: BulkApprove) -> BulkApproveResult:
    submitted_before = in_utc(submitted_before=data.submitted_before)["submitted_before"]
    async with db.writing():
        query = t.Report.select(t.Report.id).where(
            (t.Report.status == ReportStatus.submitted.value) & (t.Report.flag_count <= data.max_flags))
        for clause in (
            t.Report.organisation == data.organisation_id if data.organisation_id else None,
            t.Report.location == data.location_id if data.location_id else None,
            t.Report.task.campaign == data.campaign_id if data.campaign_id else None,
            t.Report.task.wave == data.wave_id if data.wave_id else None,
            t.Report.submitted_at < submitted_before if submitted_before else None,
        ):
            if clause is not None:
                query = query.where(clause)
        ids = [r["id"] for r in await query.order_by(t.Report.submitted_at).order_by(t.Report.id).limit(data.limit)]
        approved = []
        for report_id in ids:
            try:
                await _review(actor, report_id, ReportStatus.approved, None)
            except Conflict as exc:  # raised before _review writes anything
                if exc.code not in ("report.changed", "report.not_reviewable"):
                    raise
                continue  # edited or reviewed since it was selected (PostgreSQL): left for a reviewer to see
            approved.append(report_id)
        await record(actor.user_id, "report.bulk_approved", "report", "bulk",
                     {"count": len(approved), "filter": msgspec.to_builtins(data)})
    return BulkApproveResult(approved=len(approved), report_ids=approved)

"""Reports service: loss-proof, idempotent submission; validation and scoring; review."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from typing import Any

import msgspec

from api_schemas.accounts import Role
from api_schemas.common import Page
from api_schemas.forms import ScoreResult
from api_schemas.reports import Report, ReportCreate, ReportExplanation, ReportReject, ReportStatus
from api_schemas.tasks import TaskStatus
from backend import db
from backend.accounts.security import Actor
from backend.audit.service import record
from backend.campaigns import service as campaigns
from backend.errors import Conflict, Forbidden, InvalidInput, NotFound, is_unique_violation
from backend.forms import service as forms
from backend.forms.answers import check_answers
from backend.pagination import PageParams
from backend.reports import tables as t
from backend.scoring.engine import score
from backend.tasks import service as tasks
from backend.tasks.lifecycle import SUBMITTABLE

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
)


def _to_report(row: dict[str, Any], *, hide_shopper: bool) -> Report:
    return msgspec.convert(
        {
            **{k: v for k, v in row.items() if not k.startswith("score_") and k != "failed"},
            "shopper_id": None if hide_shopper else row["shopper_id"],
            "score": {"calculated": row["score_calculated"], "final": row["score_final"], "failed": row["failed"]},
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
    return _to_report(await _row(actor, report_id), hide_shopper=actor.role == Role.manager)


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
    hide = actor.role == Role.manager
    return Page(items=[_to_report(r, hide_shopper=hide) for r in rows], total=await count, limit=page.limit,
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
    digest = content_hash(data)
    try:
        return await _submit_once(actor, data, digest)
    except Exception as exc:
        # A duplicate delivery racing this one committed first (PostgreSQL checks run concurrently):
        # try again, now seeing the stored report, which gives 200 or 409 as for any resubmission.
        if not is_unique_violation(exc):
            raise
        return await _submit_once(actor, data, digest)


async def _submit_once(actor: Actor, data: ReportCreate, digest: str) -> tuple[Report, bool]:
    async with db.writing():
        existing = await t.Report.select(t.Report.shopper, t.Report.content_hash).where(t.Report.id == data.id).first()
        if existing is not None:
            if existing["shopper"] == actor.user_id and existing["content_hash"] == digest:
                return await get_report(actor, data.id), False
            raise Conflict("A different report with this id exists.", code="report.conflict",
                           errors=[("id", "already used for other content")])
        try:
            task = await tasks.task_row(Actor(actor.user_id, Role.admin, None), data.task_id)
        except NotFound:
            raise InvalidInput("Unknown task.", errors=[("task_id", "no such task")]) from None
        if task["shopper_id"] != actor.user_id:
            raise Forbidden("This task is not assigned to you.", code="task.not_yours")
        status = TaskStatus(task["status"])
        if status not in SUBMITTABLE:
            raise Conflict(f"A task that is {status.value} takes no report.", code="task.not_submittable")
        if await t.Report.exists().where(t.Report.task == data.task_id):
            raise Conflict("This task already has a report.", code="report.duplicate_for_task",
                           errors=[("task_id", "already reported")])
        version = await forms.get_version_by_id(task["form_version_id"])
        window_start, window_end = tasks._aware(task["window_start"]), tasks._aware(task["window_end"])
        now = _now()
        problems = _timing_problems(data, window_start, window_end, now)
        problems += [(f"answers.{key}", reason) for key, reason in check_answers(version.definition, data.answers)]
        if problems:
            raise InvalidInput(f"The report has {len(problems)} problem(s).", code="report.invalid", errors=problems)
        result = score(version.definition, data.answers)
        await t.Report.insert(t.Report(
            id=data.id, task=data.task_id, shopper=actor.user_id, organisation=task["organisation_id"],
            location=task["location_id"], form_version=task["form_version_id"],
            status=ReportStatus.submitted.value, revision=1, content_hash=digest, answers=data.answers,
            started_at=data.started_at, ended_at=data.ended_at, submitted_at=now,
            score_calculated=result.calculated, score_final=result.final, failed=result.failed,
            score_detail=msgspec.to_builtins(result),
        ))
        await tasks.move(actor, data.task_id, status, TaskStatus.submitted, detail={"report_id": str(data.id)})
        await record(actor.user_id, "report.submitted", "report", data.id,
                     {"task_id": str(data.task_id), "score": result.final})
        if result.metrics.get("answered") is False:
            # The probe's result (not answered, censored) is kept; the campaign may call again another day.
            await campaigns.schedule_retry(actor, data.task_id)
    return await get_report(actor, data.id), True


async def explanation(actor: Actor, report_id: uuid.UUID) -> ReportExplanation:
    row = await _row(actor, report_id, t.Report.id, t.Report.form_version, t.Report.score_detail)
    return ReportExplanation(report_id=row["id"], form_version_id=row["form_version"],
                             result=msgspec.convert(row["score_detail"], ScoreResult))


async def _review(actor: Actor, report_id: uuid.UUID, target: ReportStatus, reason: str | None) -> Report:
    async with db.writing():
        row = await _row(actor, report_id, t.Report.status, t.Report.task)
        if row["status"] != ReportStatus.submitted.value:
            raise Conflict(f"A report that is {row['status']} cannot be {target.value}.", code="report.not_reviewable")
        await t.Report.update({
            t.Report.status: target.value, t.Report.review_reason: reason, t.Report.reviewed_by: actor.user_id,
            t.Report.reviewed_at: _now(),
        }).where(t.Report.id == report_id)
        await tasks.move(actor, row["task"], TaskStatus.submitted, TaskStatus(target.value),
                         detail={"report_id": str(report_id)})
        await record(actor.user_id, f"report.{target.value}", "report", report_id, {"reason": reason})
    return await get_report(actor, report_id)


async def approve(actor: Actor, report_id: uuid.UUID) -> Report:
    return await _review(actor, report_id, ReportStatus.approved, None)


async def reject(actor: Actor, report_id: uuid.UUID, data: ReportReject) -> Report:
    return await _review(actor, report_id, ReportStatus.rejected, data.reason)

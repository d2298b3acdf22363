"""Reports service: reading reports (as each role may see them), lists, review, revisions and their diff.
Submission is backend.reports.submission."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
from piccolo.query import Select

from api_schemas.accounts import Role
from api_schemas.common import Page
from api_schemas.forms import Channel, ScoreResult
from api_schemas.reports import (
    AnswerChange,
    BulkApprove,
    BulkApproveResult,
    CallRetry,
    Report,
    ReportComment,
    ReportDiff,
    ReportExplanation,
    ReportReject,
    ReportReturn,
    ReportRevision,
    ReportStatus,
    RetryState,
)
from api_schemas.tasks import TaskStatus
from backend import db
from backend.accounts.security import Actor
from backend.analytics import facts as analytics_facts
from backend.analytics.comparison import Filters, wave_ids
from backend.audit.service import record
from backend.campaigns.tables import Wave
from backend.errors import Conflict, InvalidInput, NotFound
from backend.forms import service as forms
from backend.forms.definition import iter_questions
from backend.locations.tables import Location
from backend.moments import in_utc, now
from backend.pagination import PageParams, converted_page, page_of, paged, scoped_row
from backend.reports import tables as t
from backend.reports.visibility import report_scope
from backend.tasks import service as tasks

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
    t.Report.task.retry_state.as_alias("retry_state"),
)


def call_retry(state: str | None) -> CallRetry | None:
    """A task's stored retry state (see backend.campaigns.service.schedule_retry) as the report shows it."""
    if state == "scheduled":
        return CallRetry(state=RetryState.scheduled)
    if state in NO_RETRY_REASONS:
        return CallRetry(state=RetryState.none_left, reason=NO_RETRY_REASONS[state])
    return None


NO_RETRY_REASONS = {
    "no_slot_left": "no slot left in the wave: no later day of this slot before the wave ends",
    "attempts_used": "the campaign's call rules allow no further attempt (max_attempts reached)",
}


def _to_report(row: dict[str, Any], actor: Actor) -> Report:
    """A report as `actor` may see it: managers do not see who shopped; shoppers see no scores, and
    only staff see evidence flags: they are the review's, would teach a shopper how checks are passed,
    and tell a manager which reports one shopper made ("the same answers as this shopper's previous
    report for location …", "also in another report")."""
    shopper = actor.role == Role.shopper
    staff = actor.role in (Role.admin, Role.coordinator)
    return msgspec.convert(
        {
            **{
                k: v
                for k, v in row.items()
                if not k.startswith("score_") and k not in ("failed", "flags", "retry_state")
            },
            "shopper_id": None if actor.role == Role.manager else row["shopper_id"],
            "score": None
            if shopper
            else {"calculated": row["score_calculated"], "final": row["score_final"], "failed": row["failed"]},
            "flags": row["flags"] if staff else [],
            "retry": None if actor.role == Role.manager else call_retry(row.get("retry_state")),
        },
        Report,
    )


async def _row(actor: Actor, report_id: uuid.UUID, *columns: Any) -> dict[str, Any]:
    return await scoped_row(
        t.Report.select(*(columns or _COLUMNS)).where(t.Report.id == report_id),
        report_scope(actor),
        NotFound("No such report.", code="report.not_found"),
        load_json=True,
    )


async def get_report(actor: Actor, report_id: uuid.UUID) -> Report:
    return _to_report(await _row(actor, report_id), actor)


async def wave_range(
    actor: Actor,
    organisation_id: uuid.UUID | None,
    campaign_id: uuid.UUID | None,
    wave_from: uuid.UUID | None,
    wave_to: uuid.UUID | None,
) -> list[uuid.UUID] | None:
    """The waves from wave_from to wave_to by start date, as the dashboard's figures take them
    (backend.analytics.comparison.wave_ids): among the waves of the organisation's campaigns, or of
    campaign_id's. The organisation is the one named, a manager's own, or the named wave's. None: no
    wave filter. The caller has checked that each named object is visible."""
    named = wave_from or wave_to
    if named is None:
        return None
    owner = organisation_id or (actor.organisation_id if actor.role == Role.manager else None)
    if owner is None:
        query = Wave.select(Wave.campaign.organisation.as_alias("organisation")).where(Wave.id == named)
        # None: it was checked visible; deleted since, it is not found.
        owner = (await scoped_row(query, None, NotFound("No such wave.", code="wave.not_found")))["organisation"]
    return await wave_ids(Filters(organisation_id=owner, campaign_id=campaign_id, wave_from=wave_from, wave_to=wave_to))


def _day_start(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    """The first moment of `day` in `zone`, in UTC; days at the ends of the calendar are clamped to it."""
    try:
        return dt.datetime.combine(day, dt.time(), tzinfo=zone).astimezone(dt.UTC)
    except OverflowError:
        return (dt.datetime.min if day.year == dt.MINYEAR else dt.datetime.max).replace(tzinfo=dt.UTC)


async def _local_days(location_id: uuid.UUID | None, date_from: dt.date | None, date_to: dt.date | None) -> Any:
    """Reports started on date_from … date_to in their location's local days (as analytics counts a report's
    local_day): per time zone in use, the UTC moments those days span."""
    if date_from is None and date_to is None:
        return None
    zones = Location.select(Location.timezone).distinct()
    if location_id is not None:
        zones = zones.where(Location.id == location_id)
    clause: Any = None
    for row in await zones:
        zone = ZoneInfo(row["timezone"])
        part: Any = t.Report.location.timezone == row["timezone"]
        if date_from is not None:
            part = part & (t.Report.started_at >= _day_start(date_from, zone))
        if date_to is not None:
            after = dt.datetime.max.replace(tzinfo=dt.UTC)
            if date_to < dt.date.max:
                after = _day_start(date_to + dt.timedelta(days=1), zone)
            part = part & (t.Report.started_at < after)
        clause = part if clause is None else clause | part
    return t.Report.id.is_null() if clause is None else clause  # no location at all: nothing started then


async def list_reports(
    actor: Actor,
    page: PageParams,
    *,
    status: ReportStatus | None,
    organisation_id: uuid.UUID | None,
    location_id: uuid.UUID | None,
    task_id: uuid.UUID | None,
    campaign_id: uuid.UUID | None = None,
    waves: list[uuid.UUID] | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    channel: Channel | None = None,
) -> Page[Report]:
    """`waves`: only reports of these waves (from wave_range); None: any, wave or none."""
    clauses = [
        report_scope(actor),
        t.Report.status == status.value if status else None,
        t.Report.organisation == organisation_id if organisation_id else None,
        t.Report.location == location_id if location_id else None,
        t.Report.task == task_id if task_id else None,
        t.Report.task.campaign == campaign_id if campaign_id else None,
        None if waves is None else t.Report.task.wave.is_in(waves) if waves else t.Report.id.is_null(),
        t.Report.task.channel == channel.value if channel else None,
        await _local_days(location_id, date_from, date_to),
    ]
    query = t.Report.select(*_COLUMNS).order_by(t.Report.submitted_at, ascending=False).order_by(t.Report.id)
    rows, total = await paged(query, t.Report.count(), clauses, page, load_json=True)
    return page_of([_to_report(r, actor) for r in rows], total, page)


async def explanation(actor: Actor, report_id: uuid.UUID) -> ReportExplanation:
    row = await _row(actor, report_id, t.Report.id, t.Report.form_version, t.Report.score_detail)
    return ReportExplanation(
        report_id=row["id"],
        form_version_id=row["form_version"],
        result=msgspec.convert(row["score_detail"], ScoreResult),
    )


# What each review may start from. A returned report the shopper never sends back can still be
# rejected, so its task does not stay open for ever.
_REVIEWABLE = {
    ReportStatus.approved: (ReportStatus.submitted.value,),
    ReportStatus.returned: (ReportStatus.submitted.value,),
    ReportStatus.rejected: (ReportStatus.submitted.value, ReportStatus.returned.value),
}


async def _review(
    actor: Actor, report_id: uuid.UUID, target: ReportStatus, reason: str | None, seen_revision: int | None = None
) -> None:
    """Inside the caller's write transaction. `seen_revision`: the revision the reviewer looked at;
    when the shopper has edited since, the review is refused (409 report.changed)."""
    row = await _row(actor, report_id, t.Report.status, t.Report.task, t.Report.revision)
    if row["status"] not in _REVIEWABLE[target]:
        raise Conflict(f"A report that is {row['status']} cannot be {target.value}.", code="report.not_reviewable")
    if seen_revision is not None and seen_revision != row["revision"]:
        raise Conflict(
            f"The report has been edited since revision {seen_revision}; review revision {row['revision']}.",
            code="report.changed",
            errors=[("revision", f"latest is {row['revision']}")],
        )
    # Only the revision read above, in the status read: on PostgreSQL an edit or another review may
    # have committed since, and a reviewer decides on what they saw.
    if (
        not await t.Report.update(
            {
                t.Report.status: target.value,
                t.Report.review_reason: reason,
                t.Report.reviewed_by: actor.user_id,
                t.Report.reviewed_at: now(),
            }
        )
        .where((t.Report.id == report_id) & (t.Report.status == row["status"]) & (t.Report.revision == row["revision"]))
        .returning(t.Report.id)
    ):
        raise Conflict("The report changed while it was being reviewed; reload it.", code="report.changed")
    if target == ReportStatus.approved:  # counted in analytics from this commit on
        await analytics_facts.record(report_id)
    await tasks.move(
        actor, row["task"], TaskStatus(row["status"]), TaskStatus(target.value), detail={"report_id": str(report_id)}
    )
    await record(
        actor.user_id, f"report.{target.value}", "report", report_id, {"reason": reason, "revision": row["revision"]}
    )


async def approve(actor: Actor, report_id: uuid.UUID, revision: int | None = None) -> Report:
    async with db.writing():
        await _review(actor, report_id, ReportStatus.approved, None, revision)
    return await get_report(actor, report_id)


async def reject(actor: Actor, report_id: uuid.UUID, data: ReportReject, revision: int | None = None) -> Report:
    async with db.writing():
        await _review(actor, report_id, ReportStatus.rejected, data.reason, revision)
    return await get_report(actor, report_id)


async def return_to_shopper(
    actor: Actor, report_id: uuid.UUID, data: ReportReturn, revision: int | None = None
) -> Report:
    async with db.writing():
        row = await _row(actor, report_id, t.Report.revision, t.Report.form_version)
        version = await forms.get_version_by_id(row["form_version"])
        known = {info.question.key for info in iter_questions(version.definition)}
        unknown = [
            (f"comments[{i}].question_key", "no such question in this form")
            for i, c in enumerate(data.comments)
            if c.question_key is not None and c.question_key not in known
        ]
        if unknown:
            raise InvalidInput("Comments must be on questions of the report's form.", errors=unknown)
        await _review(
            actor, report_id, ReportStatus.returned, "; ".join(c.text for c in data.comments)[:2000], revision
        )
        await t.ReportComment.insert(
            *(
                t.ReportComment(
                    id=uuid.uuid4(),
                    report=report_id,
                    revision=row["revision"],
                    question_key=c.question_key,
                    text=c.text,
                    author=actor.user_id,
                    created_at=now(),
                )
                for c in data.comments
            )
        )
    return await get_report(actor, report_id)


async def list_comments(actor: Actor, report_id: uuid.UUID, page: PageParams) -> Page[ReportComment]:
    """Oldest first."""
    await _row(actor, report_id, t.Report.id)
    query = (
        t.ReportComment.select(
            t.ReportComment.id,
            t.ReportComment.revision,
            t.ReportComment.question_key,
            t.ReportComment.text,
            t.ReportComment.author.as_alias("author_id"),
            t.ReportComment.created_at,
        )
        .order_by(t.ReportComment.created_at)
        .order_by(t.ReportComment.id)
    )
    return await converted_page(
        query, t.ReportComment.count(), [t.ReportComment.report == report_id], page, ReportComment
    )


async def list_revisions(actor: Actor, report_id: uuid.UUID, page: PageParams) -> Page[ReportRevision]:
    """Oldest first."""
    await _row(actor, report_id, t.Report.id)
    rows, total = await paged(
        _revision_query(), t.ReportRevision.count(), [t.ReportRevision.report == report_id], page, load_json=True
    )
    return page_of(_as_revisions(actor, rows), total, page)


async def _revisions(actor: Actor, report_id: uuid.UUID) -> list[ReportRevision]:
    """Every revision, oldest first."""
    await _row(actor, report_id, t.Report.id)
    rows = await _revision_query().where(t.ReportRevision.report == report_id).output(load_json=True)
    return _as_revisions(actor, rows)


def _as_revisions(actor: Actor, rows: list[dict[str, Any]]) -> list[ReportRevision]:
    shopper = actor.role == Role.shopper  # shoppers see no scores (docs/architecture.md)
    return [
        msgspec.convert(
            {
                **r,
                "score": None
                if shopper
                else {"calculated": r["score_calculated"], "final": r["score_final"], "failed": r["failed"]},
            },
            ReportRevision,
        )
        for r in rows
    ]


def _revision_query() -> Select[Any]:
    """A report's revisions, oldest first (a new query each time: Piccolo's `where` adds to its query)."""
    return t.ReportRevision.select(
        t.ReportRevision.number,
        t.ReportRevision.submitted_at,
        t.ReportRevision.started_at,
        t.ReportRevision.ended_at,
        t.ReportRevision.answers,
        t.ReportRevision.score_calculated,
        t.ReportRevision.score_final,
        t.ReportRevision.failed,
    ).order_by(t.ReportRevision.number)


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
    missing = [
        (name, f"no revision {n} (latest is {latest})")
        for name, n in (("from_revision", from_n), ("to_revision", to_n))
        if n not in revisions
    ]
    if missing:
        raise NotFound("No such revision.", code="report.revision_not_found", errors=missing)
    before, after = revisions[from_n], revisions[to_n]
    times = [
        AnswerChange(key=key, change="changed", before=getattr(before, key), after=getattr(after, key))
        for key in ("started_at", "ended_at")
        if getattr(before, key) != getattr(after, key)
    ]
    return ReportDiff(
        report_id=report_id,
        from_revision=from_n,
        to_revision=to_n,
        changes=answer_changes(before.answers, after.answers),
        time_changes=times,
    )


async def review_queue(
    actor: Actor, page: PageParams, organisation_id: uuid.UUID | None, campaign_id: uuid.UUID | None
) -> Page[Report]:
    """Submitted reports awaiting review: most flags first, then oldest first."""
    query = (
        t.Report.select(*_COLUMNS)
        .order_by(t.Report.flag_count, ascending=False)
        .order_by(t.Report.submitted_at)
        .order_by(t.Report.id)
    )
    rows, total = await paged(
        query,
        t.Report.count(),
        (
            t.Report.status == ReportStatus.submitted.value,
            t.Report.organisation == organisation_id if organisation_id else None,
            t.Report.task.campaign == campaign_id if campaign_id else None,
        ),
        page,
        load_json=True,
    )
    return page_of([_to_report(r, actor) for r in rows], total, page)


async def bulk_approve(actor: Actor, data: BulkApprove) -> BulkApproveResult:
    submitted_before = in_utc(submitted_before=data.submitted_before)["submitted_before"]
    async with db.writing():
        query = t.Report.select(t.Report.id).where(
            (t.Report.status == ReportStatus.submitted.value) & (t.Report.flag_count <= data.max_flags)
        )
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
        await record(
            actor.user_id,
            "report.bulk_approved",
            "report",
            "bulk",
            {"count": len(approved), "filter": msgspec.to_builtins(data)},
        )
    return BulkApproveResult(approved=len(approved), report_ids=approved)

"""Reports HTTP API: submission, reading, score explanation, review."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from api_schemas.accounts import Role
from api_schemas.common import Page
from api_schemas.forms import Channel
from api_schemas.reports import (
    BulkApprove,
    BulkApproveResult,
    OutboxExport,
    OutboxImportResult,
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
from backend.accounts.guards import ALL_ROLES, STAFF, requires_roles, roles
from backend.attachments.controller import provide_attachment_store
from backend.attachments.store import AttachmentStore
from backend.deps import ActorDep, PageDep, SettingsDep
from backend.errors import InvalidInput
from backend.openapi import problems
from backend.reports import outbox_import, service, submission
from backend.request_body import LARGE_JSON_BODY_MAX
from backend.visible_filters import require_visible

# The revision a reviewer looked at: when given and the shopper has edited since, the review is
# refused (409 report.changed) rather than applied to content nobody reviewed.
SeenRevision = Annotated[
    int | None,
    QueryParameter(
        ge=1, le=10_000, description="The revision you reviewed; 409 report.changed if there is a newer one."
    ),
]


class ReportController(Controller):
    path = "/reports"
    tags = ["reports"]
    guards = [requires_roles]

    @post(
        "/",
        operation_id="SubmitReport",
        opt=roles(Role.shopper),
        status_code=201,
        request_max_body_size=LARGE_JSON_BODY_MAX,
        responses=problems(404, 409, 422),
    )
    async def submit(self, actor: ActorDep, data: JSONBody[ReportCreate]) -> Response[Report]:
        """Submit the report of one of your tasks (assigned, accepted, or returned to you): `id` is made by the phone
        before the first save and is the idempotency key; `started_at`/`ended_at` bound the visit or call;
        `answers` follow the form version of the task (GET /tasks/{task_id}/form). The report is validated,
        scored and checked for evidence flags, and the task becomes submitted. 201 the first time; re-sending the
        same id and content returns the stored report (200). A 2xx means it is durably stored.

        An edit (of a report returned to you, or not yet reviewed) sends the same `id` with `replaces_revision` set
        to the latest revision: 200 with a new revision; nothing is overwritten.

        Problems: 404 `task.not_found` (not your task) or `report.not_found`; 409 `report.conflict` (the same id
        with other content and no `replaces_revision`), `report.stale_revision`, `report.not_editable` (already
        reviewed), `report.duplicate_for_task`, `task.not_submittable` (the task's status takes no report),
        `task.invalid_transition`, `report.busy` (try again); 422 `report.invalid` (every problem at once, each
        named `answers.<key>` or by field).
        """
        report, created = await submission.submit(actor, data)
        return Response(report, status_code=201 if created else 200)

    @post(
        "/import",
        operation_id="ImportOutboxFile",
        opt=roles(*STAFF),
        status_code=200,
        responses=problems(413, 422),
        request_max_body_size=64 * 1024 * 1024,
        dependencies={"attachment_store": Provide(provide_attachment_store, sync_to_thread=False)},
    )
    async def import_outbox(
        self,
        actor: ActorDep,
        settings: SettingsDep,
        data: JSONBody[OutboxExport],
        attachment_store: NamedDependency[AttachmentStore],
    ) -> OutboxImportResult:
        """Import the file a shopper's phone exported with its unsent reports (`"format": "fieldscore.outbox"`):
        each one is delivered as that shopper's own submission (checked and scored as usual), so importing it
        again, or a report the phone has sent meanwhile, changes nothing (`unchanged`). A report the server
        refuses is listed with its problem; the others are still stored.

        Problems: 422 `import.unknown_shopper` (the file names no active shopper) or `import.bad_attachment` (a
        damaged attachment refuses the whole file); 413 `request.too_large` above 64 MiB.
        """
        return await outbox_import.import_outbox(actor, data, attachment_store, settings)

    @get("/", operation_id="ListReports", opt=roles(*ALL_ROLES), responses=problems(404, 422))
    async def list_reports(
        self,
        actor: ActorDep,
        page: PageDep,
        status: FromQuery[ReportStatus | None] = None,
        organisation_id: FromQuery[uuid.UUID | None] = None,
        location_id: FromQuery[uuid.UUID | None] = None,
        task_id: FromQuery[uuid.UUID | None] = None,
        campaign_id: Annotated[uuid.UUID | None, QueryParameter(description="Only this campaign's reports.")] = None,
        wave_from: Annotated[
            uuid.UUID | None,
            QueryParameter(
                description="Only reports of waves starting on or after this wave's start (among the waves of its "
                "organisation's campaigns, or of campaign_id's), as GET /analytics/comparison takes it."
            ),
        ] = None,
        wave_to: Annotated[
            uuid.UUID | None,
            QueryParameter(
                description="Only reports of waves starting on or before this wave's start; with wave_from, a range."
            ),
        ] = None,
        date_from: Annotated[
            dt.date | None,
            QueryParameter(
                description="Only visits/contacts started on or after this day, in the location's local time."
            ),
        ] = None,
        date_to: Annotated[
            dt.date | None,
            QueryParameter(
                description="Only visits/contacts started on or before this day, in the location's local time."
            ),
        ] = None,
        channel: Annotated[Channel | None, QueryParameter(description="Only this channel's reports.")] = None,
    ) -> Page[Report]:
        """Reports, newest first, filtered by status, organisation, location, task, campaign, wave range, days and
        channel. A shopper sees their own; a manager only their organisation's approved ones (never who shopped).
        The campaign, wave range (`wave_from`/`wave_to`), days (`date_from`/`date_to`, the location's local days
        of the report's start) and channel filters are those of GET /analytics/comparison, so a report list
        opened from the dashboard holds the reports its figures count.

        Problems: 404 `organisation.not_found`, `location.not_found`, `task.not_found`, `campaign.not_found` or
        `wave.not_found` (a filter on an id the caller cannot see, such as a task not yet approved for a manager, is
        the same 404 as a made-up one; a wave of another organisation or campaign than the other filters name is
        not found either); 422 `validation.failed` (date_to before date_from).
        """
        await require_visible(
            actor,
            organisation_id=organisation_id,
            location_id=location_id,
            task_id=task_id,
            campaign_id=campaign_id,
            wave_from=wave_from,
            wave_to=wave_to,
        )
        if date_from and date_to and date_from > date_to:
            raise InvalidInput("The days are the wrong way round.", errors=[("query.date_to", "before date_from")])
        waves = await service.wave_range(actor, organisation_id, campaign_id, wave_from, wave_to)
        return await service.list_reports(
            actor,
            page,
            status=status,
            organisation_id=organisation_id,
            location_id=location_id,
            task_id=task_id,
            campaign_id=campaign_id,
            waves=waves,
            date_from=date_from,
            date_to=date_to,
            channel=channel,
        )

    @get("/review-queue", operation_id="GetReviewQueue", opt=roles(*STAFF), responses=problems(404))
    async def review_queue(
        self,
        actor: ActorDep,
        page: PageDep,
        organisation_id: FromQuery[uuid.UUID | None] = None,
        campaign_id: FromQuery[uuid.UUID | None] = None,
    ) -> Page[Report]:
        """Submitted reports awaiting review, most evidence flags first, then oldest first; filter by organisation
        or campaign. Review each with approve, return or reject.

        Problems: 404 `organisation.not_found` or `campaign.not_found`.
        """
        await require_visible(actor, organisation_id=organisation_id, campaign_id=campaign_id)
        return await service.review_queue(actor, page, organisation_id, campaign_id)

    @post(
        "/bulk-approve", operation_id="BulkApproveReports", opt=roles(*STAFF), status_code=200, responses=problems(404)
    )
    async def bulk_approve(self, actor: ActorDep, data: JSONBody[BulkApprove]) -> BulkApproveResult:
        """Approve every submitted report matching the filter (organisation, campaign, wave, location, submitted
        before), by default only those without evidence flags (`max_flags: 0`), at most `limit`, oldest first; says how
        many and which were approved (a report that changed meanwhile is left for review).

        Problems: 404 `organisation.not_found`, `location.not_found` or `campaign.not_found`.
        """
        await require_visible(
            actor,
            where="",
            organisation_id=data.organisation_id,
            location_id=data.location_id,
            campaign_id=data.campaign_id,
        )
        return await service.bulk_approve(actor, data)

    @get("/{report_id:uuid}", operation_id="GetReport", opt=roles(*ALL_ROLES), responses=problems(404))
    async def get_report(self, actor: ActorDep, report_id: FromPath[uuid.UUID]) -> Report:
        """One report with its answers, status, latest revision, evidence flags and (not for shoppers) its score. A
        shopper reads their own; a manager their organisation's approved reports only, without the shopper.

        Problems: 404 `report.not_found`.
        """
        return await service.get_report(actor, report_id)

    @get(
        "/{report_id:uuid}/score",
        operation_id="GetReportScore",
        opt=roles(Role.admin, Role.coordinator, Role.manager),
        responses=problems(404),
    )
    async def score(self, actor: ActorDep, report_id: FromPath[uuid.UUID]) -> ReportExplanation:
        """The score with each item's contribution, as frozen when the report was scored (under the form version it
        answers); managers: approved reports only.

        Problems: 404 `report.not_found`.
        """
        return await service.explanation(actor, report_id)

    @post(
        "/{report_id:uuid}/approve",
        operation_id="ApproveReport",
        opt=roles(*STAFF),
        status_code=200,
        responses=problems(404, 409),
    )
    async def approve(self, actor: ActorDep, report_id: FromPath[uuid.UUID], revision: SeenRevision = None) -> Report:
        """Approve a submitted report: it then counts in analytics and managers see it. Pass `revision` (the one you
        reviewed) so that an edit made meanwhile is not approved unseen.

        Problems: 404 `report.not_found`; 409 `report.not_reviewable` (not submitted) or `report.changed` (edited
        since the revision you reviewed; reload it).
        """
        return await service.approve(actor, report_id, revision)

    @post(
        "/{report_id:uuid}/return",
        operation_id="ReturnReport",
        opt=roles(*STAFF),
        status_code=200,
        responses=problems(404, 409, 422),
    )
    async def return_report(
        self,
        actor: ActorDep,
        report_id: FromPath[uuid.UUID],
        data: JSONBody[ReportReturn],
        revision: SeenRevision = None,
    ) -> Report:
        """Send a submitted report back to the shopper with comments, per question where it helps; the shopper edits
        it (a new revision) and submits it again.

        Problems: 404 `report.not_found`; 409 `report.not_reviewable` or `report.changed`; 422 `validation.failed`
        (a comment on a question the form does not have).
        """
        return await service.return_to_shopper(actor, report_id, data, revision)

    @get(
        "/{report_id:uuid}/comments",
        operation_id="ListReportComments",
        opt=roles(Role.admin, Role.coordinator, Role.shopper),
        responses=problems(404),
    )
    async def comments(self, actor: ActorDep, report_id: FromPath[uuid.UUID], page: PageDep) -> Page[ReportComment]:
        """The reviewers' comments on the report (from returns), oldest first, each with the revision it was about and
        its question, if any.

        Problems: 404 `report.not_found`.
        """
        return await service.list_comments(actor, report_id, page)

    @get(
        "/{report_id:uuid}/revisions",
        operation_id="ListReportRevisions",
        opt=roles(Role.admin, Role.coordinator, Role.shopper),
        responses=problems(404),
    )
    async def revisions(self, actor: ActorDep, report_id: FromPath[uuid.UUID], page: PageDep) -> Page[ReportRevision]:
        """Every revision as submitted, oldest first, each with its answers and score; nothing is overwritten.

        Problems: 404 `report.not_found`.
        """
        return await service.list_revisions(actor, report_id, page)

    @get(
        "/{report_id:uuid}/diff",
        operation_id="GetReportDiff",
        opt=roles(Role.admin, Role.coordinator, Role.shopper),
        responses=problems(404),
    )
    async def diff(
        self,
        actor: ActorDep,
        report_id: FromPath[uuid.UUID],
        from_revision: Annotated[int | None, QueryParameter(ge=1, le=10_000)] = None,
        to_revision: Annotated[int | None, QueryParameter(ge=1, le=10_000)] = None,
    ) -> ReportDiff:
        """Per-question changes between two revisions (default: the previous and the latest).

        Problems: 404 `report.not_found` or `report.revision_not_found`.
        """
        return await service.diff(actor, report_id, from_revision, to_revision)

    @post(
        "/{report_id:uuid}/reject",
        operation_id="RejectReport",
        opt=roles(*STAFF),
        status_code=200,
        responses=problems(404, 409),
    )
    async def reject(
        self,
        actor: ActorDep,
        report_id: FromPath[uuid.UUID],
        data: JSONBody[ReportReject],
        revision: SeenRevision = None,
    ) -> Report:
        """Reject a submitted report, or a returned one the shopper has not sent back, with a reason. A rejected
        report never counts in analytics; its task still counts for the shopper's rotation and capacity.

        Problems: 404 `report.not_found`; 409 `report.not_reviewable` or `report.changed`.
        """
        return await service.reject(actor, report_id, data, revision)

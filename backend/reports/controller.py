"""Reports HTTP API: submission, reading, score explanation, review."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from api_schemas.accounts import Role
from api_schemas.common import Page
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
        """Submit a report (201). Re-sending the same id and content returns the stored report (200);
        the same id with other content is 409 `report.conflict`, unless it is an edit naming the latest
        revision in `replaces_revision` (200, a new revision; a stale one is 409 `report.stale_revision`).
        A 2xx means it is durably stored."""
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
        """Import the file a shopper's phone exported with its unsent reports: each one is delivered as
        that shopper's own submission (checked and scored as usual), so importing it again, or a report
        the phone has sent meanwhile, changes nothing (`unchanged`). A report the server refuses is listed
        with its problem; the others are still stored. Damaged attachments refuse the whole file (422)."""
        return await outbox_import.import_outbox(actor, data, attachment_store, settings)

    @get("/", operation_id="ListReports", opt=roles(*ALL_ROLES), responses=problems(404))
    async def list_reports(
        self,
        actor: ActorDep,
        page: PageDep,
        status: FromQuery[ReportStatus | None] = None,
        organisation_id: FromQuery[uuid.UUID | None] = None,
        location_id: FromQuery[uuid.UUID | None] = None,
        task_id: FromQuery[uuid.UUID | None] = None,
    ) -> Page[Report]:
        """Newest first; a shopper sees their own, a manager only their organisation's approved ones."""
        await require_visible(actor, organisation_id=organisation_id, location_id=location_id, task_id=task_id)
        return await service.list_reports(
            actor, page, status=status, organisation_id=organisation_id, location_id=location_id, task_id=task_id
        )

    @get("/review-queue", operation_id="GetReviewQueue", opt=roles(*STAFF), responses=problems(404))
    async def review_queue(
        self,
        actor: ActorDep,
        page: PageDep,
        organisation_id: FromQuery[uuid.UUID | None] = None,
        campaign_id: FromQuery[uuid.UUID | None] = None,
    ) -> Page[Report]:
        """Submitted reports awaiting review, most evidence flags first, then oldest first."""
        await require_visible(actor, organisation_id=organisation_id, campaign_id=campaign_id)
        return await service.review_queue(actor, page, organisation_id, campaign_id)

    @post(
        "/bulk-approve", operation_id="BulkApproveReports", opt=roles(*STAFF), status_code=200, responses=problems(404)
    )
    async def bulk_approve(self, actor: ActorDep, data: JSONBody[BulkApprove]) -> BulkApproveResult:
        """Approve every submitted report matching the filter (by default only those without flags)."""
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
        return await service.get_report(actor, report_id)

    @get(
        "/{report_id:uuid}/score",
        operation_id="GetReportScore",
        opt=roles(Role.admin, Role.coordinator, Role.manager),
        responses=problems(404),
    )
    async def score(self, actor: ActorDep, report_id: FromPath[uuid.UUID]) -> ReportExplanation:
        """The score with each item's contribution, as frozen when the report was scored."""
        return await service.explanation(actor, report_id)

    @post(
        "/{report_id:uuid}/approve",
        operation_id="ApproveReport",
        opt=roles(*STAFF),
        status_code=200,
        responses=problems(404, 409),
    )
    async def approve(self, actor: ActorDep, report_id: FromPath[uuid.UUID], revision: SeenRevision = None) -> Report:
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
        """Send the report back to the shopper with comments, per question where it helps."""
        return await service.return_to_shopper(actor, report_id, data, revision)

    @get(
        "/{report_id:uuid}/comments",
        operation_id="ListReportComments",
        opt=roles(Role.admin, Role.coordinator, Role.shopper),
        responses=problems(404),
    )
    async def comments(self, actor: ActorDep, report_id: FromPath[uuid.UUID], page: PageDep) -> Page[ReportComment]:
        """Oldest first."""
        return await service.list_comments(actor, report_id, page)

    @get(
        "/{report_id:uuid}/revisions",
        operation_id="ListReportRevisions",
        opt=roles(Role.admin, Role.coordinator, Role.shopper),
        responses=problems(404),
    )
    async def revisions(self, actor: ActorDep, report_id: FromPath[uuid.UUID], page: PageDep) -> Page[ReportRevision]:
        """Every revision as submitted, oldest first; nothing is overwritten."""
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
        """Per-question changes between two revisions (default: the previous and the latest)."""
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
        """Reject a submitted report, or a returned one the shopper has not sent back."""
        return await service.reject(actor, report_id, data, revision)

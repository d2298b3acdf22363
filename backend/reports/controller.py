"""Reports HTTP API: submission, reading, score explanation, review."""

from __future__ import annotations

import uuid

from litestar import Controller, Response, get, post
from litestar.params import FromPath, FromQuery, JSONBody

from api_schemas.accounts import Role
from api_schemas.common import Page
from api_schemas.reports import Report, ReportCreate, ReportExplanation, ReportReject, ReportStatus
from backend.accounts.guards import ALL_ROLES, STAFF, requires_roles, roles
from backend.deps import ActorDep, PageDep
from backend.openapi import problems
from backend.reports import service


class ReportController(Controller):
    path = "/reports"
    tags = ["reports"]
    guards = [requires_roles]

    @post("/", operation_id="SubmitReport", opt=roles(Role.shopper), status_code=201,
          responses=problems(409, 422))
    async def submit(self, actor: ActorDep, data: JSONBody[ReportCreate]) -> Response[Report]:
        """Submit a report (201). Re-sending the same id and content returns the stored report (200);
        the same id with other content is 409 `report.conflict`. A 2xx means it is durably stored."""
        report, created = await service.submit(actor, data)
        return Response(report, status_code=201 if created else 200)

    @get("/", operation_id="ListReports", opt=roles(*ALL_ROLES), responses=problems())
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
        return await service.list_reports(actor, page, status=status, organisation_id=organisation_id,
                                          location_id=location_id, task_id=task_id)

    @get("/{report_id:uuid}", operation_id="GetReport", opt=roles(*ALL_ROLES), responses=problems(404))
    async def get_report(self, actor: ActorDep, report_id: FromPath[uuid.UUID]) -> Report:
        return await service.get_report(actor, report_id)

    @get("/{report_id:uuid}/score", operation_id="GetReportScore",
         opt=roles(Role.admin, Role.coordinator, Role.manager), responses=problems(404))
    async def score(self, actor: ActorDep, report_id: FromPath[uuid.UUID]) -> ReportExplanation:
        """The score with each item's contribution, as frozen when the report was scored."""
        return await service.explanation(actor, report_id)

    @post("/{report_id:uuid}/approve", operation_id="ApproveReport", opt=roles(*STAFF), status_code=200,
          responses=problems(404, 409))
    async def approve(self, actor: ActorDep, report_id: FromPath[uuid.UUID]) -> Report:
        return await service.approve(actor, report_id)

    @post("/{report_id:uuid}/reject", operation_id="RejectReport", opt=roles(*STAFF), status_code=200,
          responses=problems(404, 409))
    async def reject(self, actor: ActorDep, report_id: FromPath[uuid.UUID], data: JSONBody[ReportReject]) -> Report:
        return await service.reject(actor, report_id, data)

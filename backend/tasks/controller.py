"""Tasks HTTP API."""

from __future__ import annotations

import datetime as dt
import uuid

from litestar import Controller, get, post
from litestar.params import FromPath, FromQuery, JSONBody

from api_schemas.accounts import Role
from api_schemas.common import Page
from api_schemas.forms import Channel, FormVersion
from api_schemas.tasks import Task, TaskAssign, TaskCancel, TaskCreate, TaskStatus
from backend.accounts.guards import ALL_ROLES, STAFF, requires_roles, roles
from backend.deps import ActorDep, PageDep
from backend.frontend import GZIP
from backend.openapi import problems
from backend.tasks import service
from backend.visible_filters import require_visible


class TaskController(Controller):
    path = "/tasks"
    tags = ["tasks"]
    guards = [requires_roles]

    @get("/", operation_id="ListTasks", opt=roles(*ALL_ROLES), responses=problems(404), middleware=GZIP)
    async def list_tasks(
        self,
        actor: ActorDep,
        page: PageDep,
        status: FromQuery[TaskStatus | None] = None,
        organisation_id: FromQuery[uuid.UUID | None] = None,
        location_id: FromQuery[uuid.UUID | None] = None,
        shopper_id: FromQuery[uuid.UUID | None] = None,
        channel: FromQuery[Channel | None] = None,
        window_from: FromQuery[dt.datetime | None] = None,
        window_to: FromQuery[dt.datetime | None] = None,
        wave_id: FromQuery[uuid.UUID | None] = None,
    ) -> Page[Task]:
        """Tasks by window start; a shopper sees their own, a manager their organisation's (without shoppers).
        `wave_id` lists one wave's tasks (the console's assignment board)."""
        await require_visible(actor, organisation_id=organisation_id, location_id=location_id, shopper_id=shopper_id)
        return await service.list_tasks(
            actor,
            page,
            status=status,
            organisation_id=organisation_id,
            location_id=location_id,
            shopper_id=shopper_id,
            channel=channel,
            window_from=window_from,
            window_to=window_to,
            wave_id=wave_id,
        )

    @post("/", operation_id="CreateTask", opt=roles(*STAFF), responses=problems(422))
    async def create_task(self, actor: ActorDep, data: JSONBody[TaskCreate]) -> Task:
        """Plan one visit / call at a location in a time window, optionally assigned at once."""
        return await service.create_task(actor, data)

    @get("/{task_id:uuid}", operation_id="GetTask", opt=roles(*ALL_ROLES), responses=problems(404))
    async def get_task(self, actor: ActorDep, task_id: FromPath[uuid.UUID]) -> Task:
        return await service.get_task(actor, task_id)

    @post(
        "/expire-overdue", operation_id="ExpireOverdueTasks", opt=roles(*STAFF), status_code=200, responses=problems()
    )
    async def expire_overdue(self, actor: ActorDep) -> dict[str, int]:
        """Expire every task whose window passed without a report (also done every few minutes by the server)."""
        return {"expired": await service.expire_overdue(actor)}

    @post(
        "/{task_id:uuid}/assign",
        operation_id="AssignTask",
        opt=roles(*STAFF),
        status_code=200,
        responses=problems(404, 409, 422),
    )
    async def assign(self, actor: ActorDep, task_id: FromPath[uuid.UUID], data: JSONBody[TaskAssign]) -> Task:
        return await service.assign(actor, task_id, data)

    @post(
        "/{task_id:uuid}/cancel",
        operation_id="CancelTask",
        opt=roles(*STAFF),
        status_code=200,
        responses=problems(404, 409, 422),
    )
    async def cancel(self, actor: ActorDep, task_id: FromPath[uuid.UUID], data: JSONBody[TaskCancel]) -> Task:
        """Call off an open, assigned or accepted task (409 task.not_cancellable otherwise: a task with a report
        is decided by review); its shopper sees it cancelled and can no longer report on it. Audited with the
        reason."""
        return await service.cancel(actor, task_id, data)

    @post(
        "/{task_id:uuid}/accept",
        operation_id="AcceptTask",
        opt=roles(Role.shopper),
        status_code=200,
        responses=problems(404, 409),
    )
    async def accept(self, actor: ActorDep, task_id: FromPath[uuid.UUID]) -> Task:
        """The assigned shopper confirms they will do it."""
        return await service.accept(actor, task_id)

    @get(
        "/{task_id:uuid}/form",
        operation_id="GetTaskForm",
        opt=roles(Role.admin, Role.coordinator, Role.shopper),
        responses=problems(404),
    )
    async def form(self, actor: ActorDep, task_id: FromPath[uuid.UUID]) -> FormVersion:
        """The questionnaire version the report for this task answers."""
        return await service.form_for_task(actor, task_id)

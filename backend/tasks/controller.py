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
        """Tasks by window start, filtered by status, organisation, location, shopper, channel, window and wave
        (`wave_id` lists one wave's tasks: the console's assignment board). A shopper sees their own; a manager
        their organisation's, without shoppers.

        Problems: 404 `organisation.not_found`, `location.not_found`, `user.not_found` or `wave.not_found` (a filter
        on an id the caller cannot see is the same 404 as a made-up one).
        """
        await require_visible(
            actor, organisation_id=organisation_id, location_id=location_id, shopper_id=shopper_id, wave_id=wave_id
        )
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

    @post("/", operation_id="CreateTask", opt=roles(*STAFF), responses=problems(409, 422))
    async def create_task(self, actor: ActorDep, data: JSONBody[TaskCreate]) -> Task:
        """Plan one visit or call at a location in a time window (`window_start` < `window_end`, at most 366 days,
        with UTC offsets), answering a published form version of the same channel. With `shopper_id` it is
        assigned at once (status `assigned`), checked like an assignment; without, it is `open` on the job board.

        Problems: 409 `task.not_assignable` (the shopper may not take it; `errors` gives each rule broken:
        rotation, capacity, distance, language, exclusion…); 422 `task.invalid_window`, or `validation.failed`
        (unknown organisation, location or form version; a location whose brand is not the organisation's own
        or competitor; a draft version or one of another channel or organisation; not an active shopper).
        """
        return await service.create_task(actor, data)

    @get("/{task_id:uuid}", operation_id="GetTask", opt=roles(*ALL_ROLES), responses=problems(404))
    async def get_task(self, actor: ActorDep, task_id: FromPath[uuid.UUID]) -> Task:
        """One task: location, channel, window, status and (not for managers) its shopper. Status moves open →
        assigned → accepted → submitted, then approved, rejected or returned (to the shopper, who submits it
        again); an open, assigned or accepted task expires when its window passes without a report.

        Problems: 404 `task.not_found`.
        """
        return await service.get_task(actor, task_id)

    @post(
        "/expire-overdue", operation_id="ExpireOverdueTasks", opt=roles(*STAFF), status_code=200, responses=problems()
    )
    async def expire_overdue(self, actor: ActorDep) -> dict[str, int]:
        """Expire every open, assigned or accepted task whose window ended without a report, and say how many
        (the server also does this every few minutes).
        """
        return {"expired": await service.expire_overdue(actor)}

    @post(
        "/{task_id:uuid}/assign",
        operation_id="AssignTask",
        opt=roles(*STAFF),
        status_code=200,
        responses=problems(404, 409, 422),
    )
    async def assign(self, actor: ActorDep, task_id: FromPath[uuid.UUID], data: JSONBody[TaskAssign]) -> Task:
        """Give an open (or assigned) task to a shopper, checked against every assignment rule: rotation (not the same
        location, or brand, within the campaign's rotation period), capacity per day and week, travel distance
        from home, language and conflicts of interest.

        Problems: 404 `task.not_found`; 409 `task.not_assignable` (`errors` gives each rule broken),
        `task.window_passed`, `task.invalid_transition` (the task's status does not allow it) or `task.changed`
        (changed meanwhile; reload); 422 `validation.failed` (not an active shopper).
        """
        return await service.assign(actor, task_id, data)

    @post(
        "/{task_id:uuid}/cancel",
        operation_id="CancelTask",
        opt=roles(*STAFF),
        status_code=200,
        responses=problems(404, 409),
    )
    async def cancel(self, actor: ActorDep, task_id: FromPath[uuid.UUID], data: JSONBody[TaskCancel]) -> Task:
        """Call off an open, assigned or accepted task; its shopper sees it cancelled and can no longer report
        on it. Audited with the reason.

        Problems: 404 `task.not_found`; 409 `task.not_cancellable` (a task with a report is decided by review,
        and a final task stays as it ended), or `task.changed` (changed meanwhile; reload).
        """
        return await service.cancel(actor, task_id, data)

    @post(
        "/{task_id:uuid}/accept",
        operation_id="AcceptTask",
        opt=roles(Role.shopper),
        status_code=200,
        responses=problems(404, 409),
    )
    async def accept(self, actor: ActorDep, task_id: FromPath[uuid.UUID]) -> Task:
        """The assigned shopper confirms they will do it (assigned → accepted).

        Problems: 404 `task.not_found` (not your task); 409 `task.invalid_transition` or `task.changed`.
        """
        return await service.accept(actor, task_id)

    @get(
        "/{task_id:uuid}/form",
        operation_id="GetTaskForm",
        opt=roles(Role.admin, Role.coordinator, Role.shopper),
        responses=problems(404),
    )
    async def form(self, actor: ActorDep, task_id: FromPath[uuid.UUID]) -> FormVersion:
        """The questionnaire version the report for this task answers (the shopper's phone caches it).

        Problems: 404 `task.not_found`.
        """
        return await service.form_for_task(actor, task_id)

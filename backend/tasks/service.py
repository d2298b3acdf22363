"""Tasks service: create, assign, accept, list and read tasks, scoped by the actor."""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo
from collections.abc import Iterable
from typing import Any

import msgspec

from api_schemas.accounts import Role
from api_schemas.common import Page
from api_schemas.forms import Channel, FormStatus, FormVersion
from api_schemas.tasks import Task, TaskAssign, TaskCancel, TaskCreate, TaskStatus
from backend import db, moments
from backend.accounts.security import Actor
from backend.accounts.tables import Organisation, User
from backend.audit.service import entry_row, record
from backend.campaigns import eligibility
from backend.errors import Conflict, InvalidInput, NotFound
from backend.forms import service as forms
from backend.forms.tables import FormVersion as FormVersionRow
from backend.ids import uuid7
from backend.locations import hours
from backend.locations.tables import Location, OrganisationBrand
from backend.moments import in_utc
from backend.pagination import PageParams, page_of, paged, scoped_row
from backend.tasks import tables as t
from backend.tasks.lifecycle import can_move

MAX_WINDOW = dt.timedelta(days=366)


TASK_COLUMNS = (
    t.Task.id,
    t.Task.organisation.as_alias("organisation_id"),
    t.Task.form_version.as_alias("form_version_id"),
    t.Task.channel,
    t.Task.status,
    t.Task.shopper.as_alias("shopper_id"),
    t.Task.window_start,
    t.Task.window_end,
    t.Task.created_at,
    t.Task.campaign.as_alias("campaign_id"),
    t.Task.wave.as_alias("wave_id"),
    t.Task.slot_key,
    t.Task.attempt,
    t.Task.retry_of,
    t.Task.language,
    t.Task.location_hours.as_alias("hours"),
    t.Task.location.id.as_alias("location_id"),
    t.Task.location.name.as_alias("location_name"),
    # Piccolo types a join through two foreign keys as Column | Any; it is the brand's name column.
    t.Task.location.brand.name.as_alias("location_brand_name"),  # type: ignore[union-attr]
    t.Task.location.address.as_alias("location_address"),
    t.Task.location.region.as_alias("location_region"),
    t.Task.location.timezone.as_alias("location_timezone"),
    t.Task.location.phone.as_alias("location_phone"),
    t.Task.location.email.as_alias("location_email"),
    t.Task.location.lat.as_alias("location_lat"),
    t.Task.location.lon.as_alias("location_lon"),
)


def to_task(row: dict[str, Any], *, hide_shopper: bool = False, distance_km: float | None = None) -> Task:
    zone = zoneinfo.ZoneInfo(row["location_timezone"])
    start, end = moments.aware(row["window_start"]), moments.aware(row["window_end"])
    location = {k.removeprefix("location_"): v for k, v in row.items() if k.startswith("location_")}
    location["id"] = location.pop("id")
    return msgspec.convert(
        {
            "id": row["id"],
            "organisation_id": row["organisation_id"],
            "form_version_id": row["form_version_id"],
            "channel": row["channel"],
            "status": row["status"],
            "shopper_id": None if hide_shopper else row["shopper_id"],
            "window_start": start,
            "window_end": end,
            "window_start_local": start.astimezone(zone).isoformat(),
            "window_end_local": end.astimezone(zone).isoformat(),
            "created_at": row["created_at"],
            "location": location,
            "campaign_id": row["campaign_id"],
            "wave_id": row["wave_id"],
            "slot_key": row["slot_key"],
            "attempt": row["attempt"],
            "retry_of": row["retry_of"],
            "language": row["language"],
            "location_hours": row.get("hours"),
            "distance_km": distance_km,
        },
        Task,
    )


def _scope(actor: Actor) -> Any:
    if actor.role == Role.shopper:
        return t.Task.shopper == actor.user_id
    if actor.role == Role.manager:
        # Mystery shopping is blind: the client learns of a visit or call only once its report is
        # approved, never of one planned, under way or in review.
        return (t.Task.organisation == actor.organisation_id) & (t.Task.status == TaskStatus.approved.value)
    return None


async def task_row(actor: Actor, task_id: uuid.UUID) -> dict[str, Any]:
    return await scoped_row(
        t.Task.select(*TASK_COLUMNS).where(t.Task.id == task_id),
        _scope(actor),
        NotFound("No such task.", code="task.not_found"),
    )


async def get_task(actor: Actor, task_id: uuid.UUID) -> Task:
    return to_task(await task_row(actor, task_id), hide_shopper=actor.role == Role.manager)


async def list_tasks(
    actor: Actor,
    page: PageParams,
    *,
    status: TaskStatus | None,
    organisation_id: uuid.UUID | None,
    location_id: uuid.UUID | None,
    shopper_id: uuid.UUID | None,
    channel: Channel | None,
    window_from: dt.datetime | None,
    window_to: dt.datetime | None,
    wave_id: uuid.UUID | None = None,
) -> Page[Task]:
    bounds = in_utc(window_from=window_from, window_to=window_to)
    window_from, window_to = bounds["window_from"], bounds["window_to"]
    clauses = [
        _scope(actor),
        t.Task.status == status.value if status else None,
        t.Task.organisation == organisation_id if organisation_id else None,
        t.Task.location == location_id if location_id else None,
        t.Task.shopper == shopper_id if shopper_id and actor.role != Role.manager else None,
        t.Task.channel == channel.value if channel else None,
        t.Task.window_end >= window_from if window_from else None,
        t.Task.window_start <= window_to if window_to else None,
        t.Task.wave == wave_id if wave_id else None,
    ]
    query = t.Task.select(*TASK_COLUMNS).order_by(t.Task.window_start).order_by(t.Task.id)
    rows, total = await paged(query, t.Task.count(), clauses, page)
    hide = actor.role == Role.manager
    return page_of([to_task(r, hide_shopper=hide) for r in rows], total, page)


async def _check_shopper(shopper_id: uuid.UUID) -> None:
    row = await User.select(User.role, User.is_active).where(User.id == shopper_id).first()
    if row is None or row["role"] != Role.shopper.value or not row["is_active"]:
        raise InvalidInput("Not an active shopper.", errors=[("shopper_id", "no active shopper with this id")])


async def create_task(actor: Actor, data: TaskCreate, *, as_of: dt.datetime | None = None) -> Task:
    """`as_of` lets the demo loader plan history as a coordinator would have at that time."""
    window = in_utc(window_start=data.window_start, window_end=data.window_end)
    start, end = window["window_start"], window["window_end"]
    assert start is not None and end is not None
    problems: list[tuple[str, str]] = []
    if end <= start:
        problems.append(("window_end", "must be after window_start"))
    elif end - start > MAX_WINDOW:
        problems.append(("window_end", "the window may span at most 366 days"))
    if problems:
        raise InvalidInput("The task window is invalid.", code="task.invalid_window", errors=problems)
    async with db.writing():
        if not await Organisation.exists().where(Organisation.id == data.organisation_id):
            raise InvalidInput("Unknown organisation.", errors=[("organisation_id", "no such organisation")])
        location = (
            await Location.select(Location.brand, Location.timezone, Location.opening_hours)
            .where(Location.id == data.location_id)
            .first()
        )
        if location is None:
            raise InvalidInput("Unknown location.", errors=[("location_id", "no such location")])
        if not await OrganisationBrand.exists().where(
            (OrganisationBrand.organisation == data.organisation_id) & (OrganisationBrand.brand == location["brand"])
        ):
            raise InvalidInput(
                "The location's brand is neither the organisation's own nor a competitor of it.",
                errors=[("location_id", "brand not related to the organisation")],
            )
        version = await (
            FormVersionRow.select(
                FormVersionRow.status,
                FormVersionRow.form.channel.as_alias("channel"),
                FormVersionRow.form.organisation.as_alias("organisation_id"),
            )
            .where(FormVersionRow.id == data.form_version_id)
            .first()
        )
        if version is None:
            raise InvalidInput("Unknown form version.", errors=[("form_version_id", "no such form version")])
        if version["status"] != FormStatus.published.value:
            raise InvalidInput(
                "Only a published form version can be used.", errors=[("form_version_id", "not published")]
            )
        if version["channel"] != data.channel.value:
            raise InvalidInput(
                "The form is for another channel.",
                errors=[("form_version_id", f"form is for {version['channel']}, task is {data.channel.value}")],
            )
        if version["organisation_id"] not in (None, data.organisation_id):
            raise InvalidInput(
                "The form belongs to another organisation.",
                errors=[("form_version_id", "form of another organisation")],
            )
        if data.shopper_id:
            await _check_shopper(data.shopper_id)
        task_id = uuid7()
        status = TaskStatus.assigned if data.shopper_id else TaskStatus.open
        await t.Task.insert(
            t.Task(
                id=task_id,
                organisation=data.organisation_id,
                location=data.location_id,
                form_version=data.form_version_id,
                channel=data.channel.value,
                status=status.value,
                shopper=data.shopper_id,
                window_start=start,
                window_end=end,
                created_by=actor.user_id,
                created_at=moments.now(),
                updated_at=moments.now(),
                location_hours=hours.classify(
                    hours.from_stored(location["opening_hours"]), zoneinfo.ZoneInfo(location["timezone"]), start, end
                ),
            )
        )
        if data.shopper_id:
            await _check_rules(task_id, data.shopper_id, now=as_of)
        await record(actor.user_id, "task.created", "task", task_id, {"status": status.value})
    return await get_task(actor, task_id)


_ANYONE: Any = object()


async def move(
    actor: Actor | None,
    task_id: uuid.UUID,
    current: TaskStatus,
    target: TaskStatus,
    values: dict[Any, Any] | None = None,
    detail: dict[str, Any] | None = None,
    shopper_was: uuid.UUID | None = _ANYONE,
) -> None:
    """Guarded transition inside the caller's write transaction; actor None is the system itself (audited
    without an actor). The update re-checks the status and, on PostgreSQL where a reassignment may commit
    meanwhile, the shopper: `shopper_was` as the caller saw it, and a shopper's own move always needs the
    task still to be theirs."""
    if not can_move(current, target, actor.role if actor else None):
        raise Conflict(f"A task that is {current.value} cannot become {target.value}.", code="task.invalid_transition")
    if shopper_was is _ANYONE and actor is not None and actor.role == Role.shopper and current != TaskStatus.open:
        shopper_was = actor.user_id
    guard = (t.Task.id == task_id) & (t.Task.status == current.value)
    if shopper_was is not _ANYONE:
        guard &= t.Task.shopper.is_null() if shopper_was is None else t.Task.shopper == shopper_was
    updated = (
        await t.Task.update({t.Task.status: target.value, t.Task.updated_at: moments.now(), **(values or {})})
        .where(guard)
        .returning(t.Task.id)
    )
    if not updated:
        raise Conflict("The task changed meanwhile; reload it.", code="task.changed")
    await record(
        actor.user_id if actor else None,
        f"task.{target.value}",
        "task",
        task_id,
        {"from": current.value, "to": target.value, **(detail or {})},
    )


# A batch of first reports moves its tasks to submitted in hand-written SQL (backend.reports.storage):
# the same transition `move` makes, each task's status as the batch's re-check found it.
SUBMIT_SQLITE = "UPDATE task SET status = 'submitted', updated_at = ? WHERE id IN ({})"
SUBMIT_POSTGRES = """
    UPDATE task SET status = 'submitted', updated_at = $1
    FROM unnest($2::uuid[], $3::text[]) AS u(id, status) WHERE task.id = u.id AND task.status = u.status
"""


def submitted_entry(
    shopper_id: uuid.UUID, task_id: uuid.UUID, current: str, report_id: uuid.UUID, at: dt.datetime
) -> tuple[Any, ...]:
    """The audit row of a batch's task move, as `move` records it (audit.ENTRY_ROWS' columns)."""
    return entry_row(
        shopper_id,
        "task.submitted",
        "task",
        task_id,
        {"from": current, "to": TaskStatus.submitted.value, "report_id": str(report_id)},
        at,
    )


async def assign(actor: Actor, task_id: uuid.UUID, data: TaskAssign) -> Task:
    async with db.writing():
        row = await task_row(actor, task_id)
        current = TaskStatus(row["status"])
        if moments.aware(row["window_end"]) <= moments.now():
            raise Conflict("The task's window has passed.", code="task.window_passed")
        await _check_shopper(data.shopper_id)
        await _check_rules(task_id, data.shopper_id)
        await move(
            actor,
            task_id,
            current,
            TaskStatus.assigned,
            {t.Task.shopper: data.shopper_id},
            {"shopper_id": str(data.shopper_id), "by": "hand"},
            shopper_was=row["shopper_id"],
        )
    return await get_task(actor, task_id)


# The namespace of the shoppers' advisory locks (the two-key form keeps it apart from any other use).
_SHOPPER_LOCKS = 0x5350


async def lock_shoppers(shopper_ids: Iterable[uuid.UUID | str]) -> None:
    """Inside `db.writing()`, before checking assignment rules: on PostgreSQL, where writers run at once,
    two assignments to one shopper (by hand, claimed, automatic) are checked one after the other, so
    both cannot pass a capacity or rotation check that only one may. SQLite writes one at a time."""
    ids = sorted({str(s) for s in shopper_ids})
    if ids and db.is_postgres():
        await db.session().connection.execute(
            f"SELECT pg_advisory_xact_lock({_SHOPPER_LOCKS}, hashtext(s)) FROM unnest($1::text[]) AS s", ids
        )


async def _check_rules(task_id: uuid.UUID, shopper_id: uuid.UUID, now: dt.datetime | None = None) -> None:
    await lock_shoppers([shopper_id])
    problems = await eligibility.assignment_problems(task_id, shopper_id, now=now)
    if problems:
        raise Conflict(
            "This shopper may not take this task.",
            code="task.not_assignable",
            errors=[("shopper_id", p) for p in problems],
        )


EXPIRABLE = (TaskStatus.open, TaskStatus.assigned, TaskStatus.accepted)
# A shopper's report of a visit or call done inside the window may reach us after it closes (phones
# queue reports while offline). A task with a shopper expires only this long after its window, so
# that whether such a report is accepted does not depend on when the expiry sweep last ran.
LATE_REPORT_GRACE = dt.timedelta(hours=24)


async def expire_overdue(actor: Actor | None = None) -> int:
    """Tasks whose window has passed without a report become expired (a system transition, audited):
    open ones at once, those with a shopper LATE_REPORT_GRACE after the window."""
    now = moments.now()
    with_shopper = [s.value for s in EXPIRABLE if s != TaskStatus.open]
    async with db.writing():
        expired = (
            await t.Task.update({t.Task.status: TaskStatus.expired.value, t.Task.updated_at: now})
            .where(
                ((t.Task.status == TaskStatus.open.value) & (t.Task.window_end <= now))
                | (t.Task.status.is_in(with_shopper) & (t.Task.window_end <= now - LATE_REPORT_GRACE))
            )
            .returning(t.Task.id, t.Task.status)
        )
        for row in expired:
            await record(actor.user_id if actor else None, "task.expired", "task", row["id"], {"to": "expired"})
    return len(expired)


async def accept(actor: Actor, task_id: uuid.UUID) -> Task:
    async with db.writing():
        row = await task_row(actor, task_id)
        await move(actor, task_id, TaskStatus(row["status"]), TaskStatus.accepted)
    return await get_task(actor, task_id)


CANCELLABLE = (TaskStatus.open, TaskStatus.assigned, TaskStatus.accepted)


async def cancel(actor: Actor, task_id: uuid.UUID, data: TaskCancel) -> Task:
    """Staff call a task off before any report came in (audited with the reason). Once a report is in
    (submitted, returned) it is decided by review instead, and a final task stays as it ended."""
    async with db.writing():
        row = await task_row(actor, task_id)
        current = TaskStatus(row["status"])
        if current not in CANCELLABLE:
            raise Conflict(
                f"A task that is {current.value} cannot be cancelled; only open, assigned or accepted ones can.",
                code="task.not_cancellable",
            )
        await move(
            actor,
            task_id,
            current,
            TaskStatus.cancelled,
            detail={"reason": data.reason, "shopper_id": None if row["shopper_id"] is None else str(row["shopper_id"])},
            shopper_was=row["shopper_id"],
        )
    return await get_task(actor, task_id)


async def form_for_task(actor: Actor, task_id: uuid.UUID) -> FormVersion:
    row = await task_row(actor, task_id)
    return await forms.get_version_by_id(row["form_version_id"])


__all__ = [
    "CANCELLABLE",
    "accept",
    "assign",
    "cancel",
    "create_task",
    "form_for_task",
    "get_task",
    "list_tasks",
    "move",
    "task_row",
    "to_task",
]

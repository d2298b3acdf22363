"""Audit log: writes entries inside the caller's transaction; reads them scoped to what the reader may see."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import msgspec
from piccolo.columns.combination import WhereRaw

from api_schemas.accounts import Role
from api_schemas.audit import AuditEntry as Entry
from api_schemas.common import Page
from backend import moments
from backend.accounts.security import Actor
from backend.audit.tables import AuditEntry
from backend.db import BulkInsert
from backend.ids import uuid7
from backend.moments import in_utc
from backend.pagination import page_of, paged


async def record(
    actor_id: uuid.UUID | None,
    action: str,
    entity: str,
    entity_id: uuid.UUID | str,
    detail: dict[str, Any] | None = None,
) -> None:
    await AuditEntry.insert(
        AuditEntry(
            id=uuid7(),
            at=moments.now(),
            actor=actor_id,
            action=action,
            entity=entity,
            entity_id=str(entity_id),
            detail=detail or {},
        )
    )


# For writers that store many entries at once in hand-written SQL (a batch of submitted reports).
ENTRY_ROWS = BulkInsert(
    "audit_entry",
    (
        ("id", "uuid"),
        ("at", "timestamptz"),
        ("actor", "uuid"),
        ("action", "text"),
        ("entity", "text"),
        ("entity_id", "text"),
        ("detail", "json"),
    ),
)


def entry_row(
    actor_id: uuid.UUID | None,
    action: str,
    entity: str,
    entity_id: uuid.UUID | str,
    detail: dict[str, Any],
    at: dt.datetime,
) -> tuple[Any, ...]:
    """The row `record` would insert, in ENTRY_ROWS' column order (detail encoded as JSON text)."""
    return uuid7(), at, actor_id, action, entity, str(entity_id), msgspec.json.encode(detail).decode()


async def recorded(action: str, entity: str, entity_id: uuid.UUID | str, *, by_system: bool = False) -> bool:
    """Whether `action` has been recorded on this entity (inside the caller's transaction); with
    `by_system`, only by the system itself (no actor)."""
    query = AuditEntry.exists().where(
        (AuditEntry.entity_id == str(entity_id)) & (AuditEntry.entity == entity) & (AuditEntry.action == action)
    )
    return await (query.where(AuditEntry.actor.is_null()) if by_system else query)


# ---------------------------------------------------------------- who reads what
#
# An entry is seen by whoever may see the object it is about, as the object's own routes scope it.
# Entity ids are text (some are not UUIDs, e.g. "bulk"), so the ids of visible objects are compared as text.

_ID = "CAST(id AS VARCHAR(64))"

# Coordinators see shoppers' accounts and their own (GET /users/{id}); entries about any other account
# (its creation with e-mail and role, its logins) are hidden like the account. Login attempts by client
# address or by e-mail (the throttle's entries) are the admins' security record, not the programme's.
_ADMIN_ONLY_ENTITIES = ("client_address", "login")
_HIDDEN_ACCOUNTS = (
    f"NOT (entity = 'user' AND entity_id IN (SELECT {_ID} FROM app_user "
    "WHERE role <> 'shopper' AND id <> {}))"
    " AND entity NOT IN (" + ", ".join(f"'{e}'" for e in _ADMIN_ONLY_ENTITIES) + ")"
)

# What a client's manager sees, by entity: entries about their organisation's objects, and for fieldwork
# only the approved visit or call, and only the steps that say nothing of who did it or of the review
# (an assignment names the shopper; a return or rejection is between the reviewer and the shopper).
_MANAGER_ENTITIES: dict[str, tuple[tuple[str, ...], str]] = {
    "task": (
        ("task.created", "task.submitted", "task.approved"),
        "SELECT " + _ID + " FROM task WHERE organisation = {} AND status = 'approved'",
    ),
    "report": (
        ("report.submitted", "report.approved"),
        "SELECT " + _ID + " FROM report WHERE organisation = {} AND status = 'approved'",
    ),
    "campaign": (("campaign.created",), "SELECT " + _ID + " FROM campaign WHERE organisation = {}"),
    "wave": (
        ("wave.created",),
        "SELECT " + _ID + " FROM wave WHERE campaign IN (SELECT id FROM campaign WHERE organisation = {})",
    ),
    "form": (
        ("form.created", "form.draft_saved", "form.published"),
        "SELECT " + _ID + " FROM form WHERE organisation = {} OR organisation IS NULL",
    ),
}
# The details a manager may read, per action; anything else (a shopper's id, evidence flags) is dropped.
_MANAGER_DETAIL: dict[str, frozenset[str]] = {
    "task.created": frozenset(),
    "task.submitted": frozenset({"from", "to", "report_id"}),
    "task.approved": frozenset({"from", "to", "report_id"}),
    "report.submitted": frozenset({"task_id", "score"}),
    "report.approved": frozenset({"revision"}),
    "campaign.created": frozenset({"name"}),
    "wave.created": frozenset({"campaign_id"}),
    "form.created": frozenset({"name"}),
    "form.draft_saved": frozenset({"version"}),
    "form.published": frozenset({"version"}),
}


def _manager_scope(actor: Actor) -> WhereRaw:
    parts: list[str] = []
    args: list[object] = []
    for entity, (actions, visible_ids) in _MANAGER_ENTITIES.items():
        listed = ", ".join(f"'{a}'" for a in actions)
        parts.append(f"(entity = '{entity}' AND action IN ({listed}) AND entity_id IN ({visible_ids}))")
        args.append(actor.organisation_id)
    parts.append("(entity = 'organisation' AND entity_id = {})")
    args.append(str(actor.organisation_id))
    parts.append("(entity = 'user' AND entity_id = {})")  # their own account: their logins
    args.append(str(actor.user_id))
    return WhereRaw("(" + " OR ".join(parts) + ")", *args)


def _scope(actor: Actor) -> Any:
    if actor.role == Role.admin:
        return None
    if actor.role == Role.coordinator:
        return WhereRaw(_HIDDEN_ACCOUNTS, actor.user_id)
    if actor.role == Role.manager:
        return _manager_scope(actor)
    return AuditEntry.id.is_null()  # shoppers (and any role added later) see nothing


def _as_seen_by(actor: Actor, row: dict[str, Any]) -> Entry:
    if actor.role == Role.manager:
        # Other people's accounts are not a manager's to see: who reviewed, and above all who shopped.
        keep = _MANAGER_DETAIL.get(row["action"], frozenset())
        row = {
            **row,
            "actor_id": row["actor_id"] if row["actor_id"] == actor.user_id else None,
            "detail": {k: v for k, v in (row["detail"] or {}).items() if k in keep},
        }
    return msgspec.convert(row, Entry)


async def list_entries(
    actor: Actor,
    page: Any,
    *,
    entity: str | None,
    entity_id: str | None,
    action: str | None,
    actor_id: uuid.UUID | None,
    since: dt.datetime | None,
    until: dt.datetime | None,
) -> Page[Entry]:
    bounds = in_utc(since=since, until=until)
    since, until = bounds["since"], bounds["until"]
    if actor.role == Role.manager and actor_id not in (None, actor.user_id):
        # A manager sees no one else's actor id, so may not filter by one either (it would tell who shopped).
        return page_of([], 0, page)
    query = (
        AuditEntry.select(
            AuditEntry.id,
            AuditEntry.at,
            AuditEntry.actor.as_alias("actor_id"),
            AuditEntry.action,
            AuditEntry.entity,
            AuditEntry.entity_id,
            AuditEntry.detail,
        )
        .order_by(AuditEntry.at, ascending=False)
        .order_by(AuditEntry.id)
    )
    rows, total = await paged(
        query,
        AuditEntry.count(),
        (
            _scope(actor),
            AuditEntry.entity == entity if entity else None,
            AuditEntry.entity_id == entity_id if entity_id else None,
            AuditEntry.action == action if action else None,
            AuditEntry.actor == actor_id if actor_id else None,
            AuditEntry.at >= since if since else None,
            AuditEntry.at <= until if until else None,
        ),
        page,
        load_json=True,
    )
    return page_of([_as_seen_by(actor, r) for r in rows], total, page)

"""Writes audit entries inside the caller's transaction."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import msgspec

from api_schemas.audit import AuditEntry as Entry
from api_schemas.common import Page
from backend.audit.tables import AuditEntry
from backend.db import BulkInsert
from backend.ids import uuid7
from backend.moments import in_utc
from backend.pagination import page_of, paged


async def record(
    actor_id: uuid.UUID | None, action: str, entity: str, entity_id: uuid.UUID | str, detail: dict[str, Any] | None = None
) -> None:
    await AuditEntry.insert(
        AuditEntry(
            id=uuid7(),
            at=dt.datetime.now(dt.timezone.utc),
            actor=actor_id,
            action=action,
            entity=entity,
            entity_id=str(entity_id),
            detail=detail or {},
        )
    )


# For writers that store many entries at once in hand-written SQL (a batch of submitted reports).
ENTRY_ROWS = BulkInsert("audit_entry", (("id", "uuid"), ("at", "timestamptz"), ("actor", "uuid"), ("action", "text"),
                                        ("entity", "text"), ("entity_id", "text"), ("detail", "json")))


def entry_row(actor_id: uuid.UUID | None, action: str, entity: str, entity_id: uuid.UUID | str,
              detail: dict[str, Any], at: dt.datetime) -> tuple[Any, ...]:
    """The row `record` would insert, in ENTRY_ROWS' column order (detail encoded as JSON text)."""
    return uuid7(), at, actor_id, action, entity, str(entity_id), msgspec.json.encode(detail).decode()


async def recorded(action: str, entity: str, entity_id: uuid.UUID | str, *, by_system: bool = False) -> bool:
    """Whether `action` has been recorded on this entity (inside the caller's transaction); with
    `by_system`, only by the system itself (no actor)."""
    query = AuditEntry.exists().where(
        (AuditEntry.entity_id == str(entity_id)) & (AuditEntry.entity == entity) & (AuditEntry.action == action))
    return await (query.where(AuditEntry.actor.is_null()) if by_system else query)


async def list_entries(
    page: Any, *, entity: str | None, entity_id: str | None, action: str | None, actor_id: uuid.UUID | None,
    since: dt.datetime | None, until: dt.datetime | None,
) -> Page[Entry]:
    bounds = in_utc(since=since, until=until)
    since, until = bounds["since"], bounds["until"]
    query = AuditEntry.select(
        AuditEntry.id, AuditEntry.at, AuditEntry.actor.as_alias("actor_id"), AuditEntry.action, AuditEntry.entity,
        AuditEntry.entity_id, AuditEntry.detail,
    ).order_by(AuditEntry.at, ascending=False).order_by(AuditEntry.id)
    rows, total = await paged(query, AuditEntry.count(), (
        AuditEntry.entity == entity if entity else None,
        AuditEntry.entity_id == entity_id if entity_id else None,
        AuditEntry.action == action if action else None,
        AuditEntry.actor == actor_id if actor_id else None,
        AuditEntry.at >= since if since else None,
        AuditEntry.at <= until if until else None,
    ), page, load_json=True)
    return page_of([msgspec.convert(r, Entry) for r in rows], total, page)

"""Writes audit entries inside the caller's transaction."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import msgspec

from api_schemas.audit import AuditEntry as Entry
from api_schemas.common import Page
from backend.audit.tables import AuditEntry
from backend.ids import uuid7
from backend.moments import in_utc


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


async def recorded(action: str, entity: str, entity_id: uuid.UUID | str) -> bool:
    """Whether `action` has been recorded on this entity (inside the caller's transaction)."""
    return await AuditEntry.exists().where(
        (AuditEntry.entity_id == str(entity_id)) & (AuditEntry.entity == entity) & (AuditEntry.action == action))


async def list_entries(
    page: Any, *, entity: str | None, entity_id: str | None, action: str | None, actor_id: uuid.UUID | None,
    since: dt.datetime | None, until: dt.datetime | None,
) -> Page[Entry]:
    bounds = in_utc(since=since, until=until)
    since, until = bounds["since"], bounds["until"]
    query = AuditEntry.select(
        AuditEntry.id, AuditEntry.at, AuditEntry.actor.as_alias("actor_id"), AuditEntry.action, AuditEntry.entity,
        AuditEntry.entity_id, AuditEntry.detail,
    )
    count = AuditEntry.count()
    for clause in (
        AuditEntry.entity == entity if entity else None,
        AuditEntry.entity_id == entity_id if entity_id else None,
        AuditEntry.action == action if action else None,
        AuditEntry.actor == actor_id if actor_id else None,
        AuditEntry.at >= since if since else None,
        AuditEntry.at <= until if until else None,
    ):
        if clause is not None:
            query, count = query.where(clause), count.where(clause)
    rows = await (query.order_by(AuditEntry.at, ascending=False).order_by(AuditEntry.id).output(load_json=True)
                  .limit(page.limit).offset(page.offset))
    return Page(items=[msgspec.convert(r, Entry) for r in rows], total=await count, limit=page.limit,
                offset=page.offset)

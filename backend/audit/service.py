"""Writes audit entries inside the caller's transaction."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from backend.audit.tables import AuditEntry


async def record(
    actor_id: uuid.UUID | None, action: str, entity: str, entity_id: uuid.UUID | str, detail: dict[str, Any] | None = None
) -> None:
    await AuditEntry.insert(
        AuditEntry(
            id=uuid.uuid4(),
            at=dt.datetime.now(dt.timezone.utc),
            actor=actor_id,
            action=action,
            entity=entity,
            entity_id=str(entity_id),
            detail=detail or {},
        )
    )

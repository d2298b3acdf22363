"""Audit log entries."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import msgspec


class AuditEntry(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    at: dt.datetime
    actor_id: uuid.UUID | None
    action: str
    entity: str
    entity_id: str
    detail: dict[str, Any]

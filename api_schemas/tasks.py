"""Tasks: one visit, call, email or chat at one location within a time window."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import Enum
from typing import Annotated, Literal

import msgspec

from api_schemas.common import NOT_BLANK, AwareDatetime, Request
from api_schemas.forms import Channel


class TaskStatus(str, Enum):
    open = "open"
    assigned = "assigned"
    accepted = "accepted"
    submitted = "submitted"
    returned = "returned"
    approved = "approved"
    rejected = "rejected"
    expired = "expired"
    cancelled = "cancelled"


class TaskLocation(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    name: str
    brand_name: str
    address: str
    region: str
    timezone: str
    phone: str | None
    email: str | None
    lat: float | None
    lon: float | None


class Task(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    organisation_id: uuid.UUID
    location: TaskLocation
    form_version_id: uuid.UUID
    channel: Channel
    status: TaskStatus
    shopper_id: uuid.UUID | None
    window_start: dt.datetime
    window_end: dt.datetime
    window_start_local: str  # ISO 8601 in the location's time zone
    window_end_local: str
    created_at: dt.datetime
    campaign_id: uuid.UUID | None = None
    wave_id: uuid.UUID | None = None
    slot_key: str | None = None
    attempt: int = 1
    retry_of: uuid.UUID | None = None
    language: str | None = None
    # The window against the location's opening hours (local time, DST included): open throughout, closed
    # throughout (out of hours), partly_open, or unknown (the location has no hours, or an older task).
    location_hours: Literal["open", "closed", "partly_open", "unknown"] | None = None
    distance_km: float | None = None  # from the shopper's home, on the job board


class TaskCreate(Request, kw_only=True):
    organisation_id: uuid.UUID
    location_id: uuid.UUID
    form_version_id: uuid.UUID
    channel: Channel
    window_start: AwareDatetime
    window_end: AwareDatetime
    shopper_id: uuid.UUID | None = None


class TaskAssign(Request, kw_only=True):
    shopper_id: uuid.UUID


class TaskCancel(Request, kw_only=True):
    """Why the task is called off (kept in the audit log); open, assigned and accepted tasks only."""

    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=500, pattern=NOT_BLANK)] | None = None

"""Campaigns (programs), waves, slot designs, task generation, coverage and assignment."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import Enum
from typing import Annotated, Literal

import msgspec

from api_schemas.common import Code, Name, Request
from api_schemas.forms import Channel

Hour = Annotated[int, msgspec.Meta(ge=0, le=24)]


class DayType(str, Enum):
    weekday = "weekday"
    saturday = "saturday"
    sunday = "sunday"


class LocationIs(str, Enum):
    """When in a location's opening hours a daypart's probes fall."""

    open = "open"
    closed = "closed"
    any = "any"


class Daypart(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Local hours; an end at or before the start wraps past midnight (21→8 is out of hours).

    `location_is` ties the daypart to each location's opening hours: `open` plans a probe only while the
    location is open (its window is the longest open stretch of the daypart that day), `closed` only while
    it is closed (an out-of-hours test: a 24-hour location has none), `any` ignores the hours. Unset:
    `open` for visits, `any` for the other channels. A location without opening hours is planned over the
    whole daypart. Days on which the stretch does not exist are skipped; a slot with no such day at all is
    listed in the generation's `problems`."""

    key: Code
    start_hour: Hour
    end_hour: Hour
    location_is: LocationIs | None = None


class SlotDesign(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    dayparts: Annotated[list[Daypart], msgspec.Meta(max_length=24)]
    day_types: Annotated[list[DayType], msgspec.Meta(max_length=3)]
    probes_per_slot: Annotated[int, msgspec.Meta(ge=1, le=50)] = 1


class CallRules(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """An unanswered call probe is retried on another day, up to `max_attempts` in all."""

    give_up_s: Annotated[int, msgspec.Meta(ge=10, le=3600)] = 300
    max_attempts: Annotated[int, msgspec.Meta(ge=1, le=5)] = 2
    retry_after_hours: Annotated[int, msgspec.Meta(ge=1, le=720)] = 24


class Campaign(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    organisation_id: uuid.UUID
    name: str
    location_ids: list[uuid.UUID]
    forms: dict[Channel, uuid.UUID]  # channel → published form version
    slot_designs: dict[Channel, SlotDesign]
    call_rules: CallRules
    rotation_days: int
    rotation_scope: Literal["location", "brand"]
    language: str | None
    gps_limit_m: int
    created_at: dt.datetime


class CampaignCreate(Request, kw_only=True):
    organisation_id: uuid.UUID
    name: Name
    location_ids: Annotated[list[uuid.UUID], msgspec.Meta(min_length=1, max_length=5000)]
    forms: Annotated[dict[Channel, uuid.UUID], msgspec.Meta(min_length=1, max_length=len(Channel))]
    slot_designs: Annotated[dict[Channel, SlotDesign], msgspec.Meta(min_length=1, max_length=len(Channel))]
    call_rules: CallRules = msgspec.field(default_factory=CallRules)
    rotation_days: Annotated[int, msgspec.Meta(ge=0, le=730)] = 90
    rotation_scope: Literal["location", "brand"] = "location"
    language: Annotated[str, msgspec.Meta(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")] | None = None
    gps_limit_m: Annotated[int, msgspec.Meta(ge=10, le=100_000)] = 300


class Wave(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    campaign_id: uuid.UUID
    name: str
    starts_on: dt.date
    ends_on: dt.date


class WaveCreate(Request, kw_only=True):
    name: Name
    starts_on: dt.date
    ends_on: dt.date


class PlanProblem(msgspec.Struct, kw_only=True):
    location_id: uuid.UUID
    channel: Channel
    slot_key: str
    reason: str


class GenerationResult(msgspec.Struct, kw_only=True):
    """What generation did. `already_over` counts the tasks just created whose window had already ended
    (a wave generated after it started): they show as missing in the coverage grid at once."""

    created: int
    existing: int
    already_over: int = 0
    problems: list[PlanProblem]


class CoverageCell(msgspec.Struct, kw_only=True):
    """Probes planned in one location × slot and where each stands (they add up to `planned`): done (a report is
    in: coordinators count submitted ones, managers approved ones), due, missing (no report and no more time),
    unanswered (its contacts' reports say nobody answered, and no retry is still due)."""

    slot_key: str
    planned: int
    done: int
    due: int
    missing: int
    unanswered: int = 0


class CoverageRow(msgspec.Struct, kw_only=True):
    location_id: uuid.UUID
    location_name: str
    relation: str
    channel: Channel
    cells: list[CoverageCell]


class Coverage(msgspec.Struct, kw_only=True):
    wave_id: uuid.UUID
    slot_keys: list[str]
    rows: list[CoverageRow]
    total_rows: int
    limit: int
    offset: int


class Unfilled(msgspec.Struct, kw_only=True):
    task_id: uuid.UUID
    reasons: list[str]


class AutoAssignResult(msgspec.Struct, kw_only=True):
    considered: int
    assigned: int
    unfilled: list[Unfilled]

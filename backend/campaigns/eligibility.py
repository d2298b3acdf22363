"""Assignment rules as the database holds them: shoppers' profiles, their work, a campaign's rules.

The rules themselves are pure (backend.campaigns.assignment); this module reads what they judge. Tasks
(hand assignment) and campaigns (auto-assign, the job board, claims) both ask it, so it imports
neither's service.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from api_schemas.accounts import Role
from backend import moments
from backend.accounts.tables import ShopperProfile
from backend.campaigns import assignment
from backend.campaigns import tables as t
from backend.tasks.tables import Task

# Work that occupies a shopper: it counts for capacity and rotation. A rejected task counts too: its
# report was refused, but the shopper was there (or called) and may be recognised (docs/scoring.md).
ACTIVE_STATUSES = ("assigned", "accepted", "submitted", "returned", "approved", "rejected")


async def shoppers(only: uuid.UUID | None = None) -> list[assignment.Shopper]:
    query = ShopperProfile.select(
        ShopperProfile.user.as_alias("id"),
        ShopperProfile.home_lat,
        ShopperProfile.home_lon,
        ShopperProfile.languages,
        ShopperProfile.travel_radius_km,
        ShopperProfile.capacity_per_day,
        ShopperProfile.capacity_per_week,
        ShopperProfile.excluded_brand_ids,
        ShopperProfile.excluded_location_ids,
    ).where((ShopperProfile.user.is_active == True) & (ShopperProfile.user.role == Role.shopper.value))  # noqa: E712
    if only:
        query = query.where(ShopperProfile.user == only)
    return [
        assignment.Shopper(
            id=str(r["id"]),
            lat=r["home_lat"],
            lon=r["home_lon"],
            languages=frozenset(r["languages"] or []),
            travel_radius_km=r["travel_radius_km"],
            capacity_per_day=r["capacity_per_day"],
            capacity_per_week=r["capacity_per_week"],
            excluded_brand_ids=frozenset(r["excluded_brand_ids"] or []),
            excluded_location_ids=frozenset(r["excluded_location_ids"] or []),
        )
        for r in await query.output(load_json=True)
    ]


JOB_COLUMNS = (
    Task.id,
    Task.location.as_alias("location_id"),
    Task.location.brand.as_alias("brand_id"),
    Task.channel,
    Task.location.lat.as_alias("lat"),
    Task.location.lon.as_alias("lon"),
    Task.window_start,
    Task.window_end,
    Task.location.timezone.as_alias("timezone"),
    Task.language,
    Task.shopper.as_alias("shopper_id"),
)


def job(r: dict[str, Any]) -> assignment.Job:
    return assignment.Job(
        id=str(r["id"]),
        location_id=str(r["location_id"]),
        brand_id=str(r["brand_id"]),
        channel=r["channel"],
        lat=r["lat"],
        lon=r["lon"],
        window_start=moments.aware(r["window_start"]),
        window_end=moments.aware(r["window_end"]),
        local_date=moments.local_date(r["window_start"], r["timezone"]),
        language=r["language"],
    )


async def past_work(
    shopper_id: uuid.UUID | None = None,
    around: tuple[dt.datetime, dt.datetime] | None = None,
    exclude_task: uuid.UUID | None = None,
) -> list[assignment.Past]:
    query = Task.select(*JOB_COLUMNS).where(Task.shopper.is_not_null() & Task.status.is_in(list(ACTIVE_STATUSES)))
    if shopper_id:
        query = query.where(Task.shopper == shopper_id)
    if around:
        query = query.where((Task.window_start >= around[0]) & (Task.window_start <= around[1]))
    if exclude_task:
        query = query.where(Task.id != exclude_task)
    return [
        assignment.Past(
            shopper_id=str(r["shopper_id"]),
            location_id=str(r["location_id"]),
            brand_id=str(r["brand_id"]),
            at=moments.aware(r["window_start"]),
            local_date=moments.local_date(r["window_start"], r["timezone"]),
        )
        for r in await query
    ]


async def rules_for(campaign_id: uuid.UUID | None) -> assignment.Rules:
    row = (
        None
        if campaign_id is None
        else await t.Campaign.select(t.Campaign.rotation_days, t.Campaign.rotation_scope)
        .where(t.Campaign.id == campaign_id)
        .first()
    )
    if row is None:
        return assignment.Rules()
    return assignment.Rules(rotation_days=row["rotation_days"], rotation_scope=row["rotation_scope"])


async def assignment_problems(
    task_id: uuid.UUID, shopper_id: uuid.UUID, *, now: dt.datetime | None = None
) -> list[str]:
    """Every rule that giving this task to this shopper would break (empty when allowed)."""
    row = await Task.select(*JOB_COLUMNS, Task.campaign.as_alias("campaign_id")).where(Task.id == task_id).first()
    if row is None:
        return ["no such task"]
    profiles = await shoppers(only=shopper_id)
    if not profiles:
        return ["not an active shopper with a profile"]
    rules = await rules_for(row["campaign_id"])
    past = await past_work(shopper_id=shopper_id, exclude_task=task_id)
    return assignment.violations(profiles[0], job(row), past, rules, now=now or moments.now())

"""List filters that name an object: the object must exist and be visible to the caller, or 404.

A filter on another tenant's id must answer exactly as reading that object would (404 with the same
code), never with an empty page (which says "it exists but has nothing") nor with the caller's own
rows (which look filtered and are not). Visibility is the domain's own read rule, reused here, so a
filter and a direct read cannot disagree.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from api_schemas.accounts import Role
from api_schemas.common import ProblemField
from backend.accounts.security import Actor
from backend.accounts.service import get_organisation, get_user
from backend.campaigns.service import get_campaign, wave_campaign
from backend.errors import NotFound
from backend.locations.service import get_brand, get_location
from backend.tasks.service import task_row
from backend.tasks.tables import Task


async def _organisation(actor: Actor, organisation_id: uuid.UUID) -> None:
    if actor.role == Role.shopper:  # a shopper knows an organisation only through their own tasks
        if not await Task.exists().where((Task.shopper == actor.user_id) & (Task.organisation == organisation_id)):
            raise NotFound("No such organisation.", code="organisation.not_found")
        return
    await get_organisation(actor, organisation_id)


async def _location(actor: Actor, location_id: uuid.UUID) -> None:
    if actor.role == Role.shopper:  # likewise a location
        if not await Task.exists().where((Task.shopper == actor.user_id) & (Task.location == location_id)):
            raise NotFound("No such location.", code="location.not_found")
        return
    await get_location(actor, location_id)


async def _brand(actor: Actor, brand_id: uuid.UUID) -> None:
    await get_brand(actor, brand_id)


async def _task(actor: Actor, task_id: uuid.UUID) -> None:
    await task_row(actor, task_id)


async def _shopper(actor: Actor, shopper_id: uuid.UUID) -> None:
    # A manager never learns who shopped (docs/architecture.md, who sees what), so no shopper is visible to them.
    if actor.role == Role.manager or (actor.role == Role.shopper and shopper_id != actor.user_id):
        raise NotFound("No such user.", code="user.not_found")
    user = await get_user(actor, shopper_id)
    if user.role != Role.shopper:
        raise NotFound("No such user.", code="user.not_found")


async def _campaign(actor: Actor, campaign_id: uuid.UUID) -> None:
    if actor.role == Role.shopper:  # a shopper knows a campaign only through their own tasks
        if not await Task.exists().where((Task.shopper == actor.user_id) & (Task.campaign == campaign_id)):
            raise NotFound("No such campaign.", code="campaign.not_found")
        return
    await get_campaign(actor, campaign_id)


async def _wave(actor: Actor, wave_id: uuid.UUID) -> None:
    if actor.role == Role.shopper:  # a shopper knows a wave only through their own tasks
        if not await Task.exists().where((Task.shopper == actor.user_id) & (Task.wave == wave_id)):
            raise NotFound("No such wave.", code="wave.not_found")
        return
    campaign_id = await wave_campaign(wave_id)
    if campaign_id is None:
        raise NotFound("No such wave.", code="wave.not_found")
    try:
        await get_campaign(actor, campaign_id)
    except NotFound:
        raise NotFound("No such wave.", code="wave.not_found") from None


_CHECKS: dict[str, Callable[[Actor, uuid.UUID], Awaitable[None]]] = {
    "organisation_id": _organisation,
    "location_id": _location,
    "brand_id": _brand,
    "task_id": _task,
    "shopper_id": _shopper,
    "campaign_id": _campaign,
    "wave_id": _wave,
    "wave_from": _wave,
    "wave_to": _wave,
}


async def require_visible(actor: Actor, where: str = "query", **filters: uuid.UUID | None) -> None:
    """404, naming the parameter, for the first filter whose object the caller cannot read."""
    for name, value in filters.items():
        if value is None:
            continue
        try:
            await _CHECKS[name](actor, value)
        except NotFound as exc:
            exc.errors = [
                ProblemField(field=f"{where}.{name}" if where else name, reason="no such object visible to you")
            ]
            raise exc from None

"""Analytics HTTP API."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, get
from litestar.params import FromQuery, QueryParameter

from api_schemas.accounts import Role
from api_schemas.analytics import LocationScores, ScoreBasis
from api_schemas.forms import Channel
from api_schemas.locations import BrandRelation
from backend.accounts.guards import requires_roles, roles
from backend.analytics import service
from backend.deps import ActorDep, PageDep, SettingsDep
from backend.openapi import problems


class AnalyticsController(Controller):
    path = "/analytics"
    tags = ["analytics"]
    guards = [requires_roles]

    @get("/location-scores", operation_id="GetLocationScores", opt=roles(Role.admin, Role.coordinator, Role.manager),
         responses=problems(404, 422))
    async def location_scores(
        self,
        actor: ActorDep,
        page: PageDep,
        settings: SettingsDep,
        organisation_id: FromQuery[uuid.UUID | None] = None,
        basis: FromQuery[ScoreBasis] = ScoreBasis.final,
        include_failed: FromQuery[bool] = True,
        channel: FromQuery[Channel | None] = None,
        relation: FromQuery[BrandRelation | None] = None,
        region: Annotated[str | None, QueryParameter(max_length=200)] = None,
        min_sample_size: Annotated[int | None, QueryParameter(ge=2, le=1000)] = None,
    ) -> LocationScores:
        """Mean score per location and per brand from approved reports, own and competitors side by side,
        each with its number of reports and 95% t-interval; small samples show as not enough data."""
        return await service.location_scores(
            actor, page, organisation_id=organisation_id, basis=basis, include_failed=include_failed,
            channel=channel, relation=relation, region=region,
            min_sample_size=min_sample_size or settings.min_sample_size,
        )

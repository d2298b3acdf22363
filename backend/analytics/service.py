"""Analytics service: mean score per location and per brand, own and competitor side by side."""

from __future__ import annotations

import uuid
from typing import Any

from api_schemas.accounts import Role
from api_schemas.analytics import BrandScore, Estimate, LocationScore, LocationScores, ScoreBasis
from api_schemas.forms import Channel
from api_schemas.locations import BrandRelation
from backend.accounts.security import Actor
from backend.accounts.tables import Organisation
from backend.analytics.statistics import MeanInterval, Moments, mean_interval
from backend.errors import InvalidInput, NotFound
from backend.locations.tables import Location, OrganisationBrand
from backend.pagination import PageParams
from backend.reports.tables import Report


def _estimate(result: MeanInterval) -> Estimate:
    return Estimate(
        n=result.n, mean=result.mean, ci_low=result.low, ci_high=result.high, enough_data=result.enough_data
    )


async def _moments_by_location(
    organisation_id: uuid.UUID, basis: ScoreBasis, include_failed: bool, channel: Channel | None
) -> dict[Any, Moments]:
    column = "score_final" if basis == ScoreBasis.final else "score_calculated"
    sql = (
        f"SELECT r.location AS location, COUNT(r.{column}) AS n, SUM(r.{column}) AS total, "
        f"SUM(r.{column} * r.{column}) AS total_sq FROM report r"
        + (" JOIN task t ON t.id = r.task" if channel else "")
        + f" WHERE r.organisation = {{}} AND r.status = 'approved' AND r.{column} IS NOT NULL"
        + ("" if include_failed else " AND r.failed = {}")
        + (" AND t.channel = {}" if channel else "")
        + " GROUP BY r.location"
    )
    args: list[Any] = [organisation_id]
    if not include_failed:
        args.append(False)
    if channel:
        args.append(channel.value)
    rows = await Report.raw(sql, *args)
    return {str(r["location"]): Moments(int(r["n"]), float(r["total"] or 0), float(r["total_sq"] or 0)) for r in rows}


async def location_scores(
    actor: Actor,
    page: PageParams,
    *,
    organisation_id: uuid.UUID | None,
    basis: ScoreBasis,
    include_failed: bool,
    channel: Channel | None,
    relation: BrandRelation | None,
    region: str | None,
    min_sample_size: int,
) -> LocationScores:
    if actor.role == Role.manager:
        if organisation_id not in (None, actor.organisation_id):
            raise NotFound("No such organisation.", code="organisation.not_found")
        organisation_id = actor.organisation_id
    if organisation_id is None:
        raise InvalidInput("Say whose results to show.", errors=[("organisation_id", "required")])
    if not await Organisation.exists().where(Organisation.id == organisation_id):
        raise NotFound("No such organisation.", code="organisation.not_found")

    relations = await OrganisationBrand.select(
        OrganisationBrand.brand.as_alias("brand_id"),
        OrganisationBrand.brand.name.as_alias("brand_name"),
        OrganisationBrand.relation,
    ).where(OrganisationBrand.organisation == organisation_id)
    relation_of = {str(r["brand_id"]): r for r in relations}
    moments = await _moments_by_location(organisation_id, basis, include_failed, channel)

    query = Location.select(Location.id, Location.name, Location.region, Location.brand.as_alias("brand_id")).where(
        Location.brand.is_in([r["brand_id"] for r in relations]) if relations else Location.id.is_null()
    )
    if region:
        query = query.where(Location.region == region)
    locations = await query
    rows: list[LocationScore] = []
    per_brand: dict[str, Moments] = {}
    for loc in locations:
        rel = relation_of[str(loc["brand_id"])]
        if relation and rel["relation"] != relation.value:
            continue
        m = moments.get(str(loc["id"]), Moments())
        per_brand[str(loc["brand_id"])] = per_brand.get(str(loc["brand_id"]), Moments()) + m
        rows.append(
            LocationScore(
                location_id=loc["id"],
                location_name=loc["name"],
                region=loc["region"],
                brand_id=loc["brand_id"],
                brand_name=rel["brand_name"],
                relation=BrandRelation(rel["relation"]),
                score=_estimate(mean_interval(m, min_n=min_sample_size)),
            )
        )
    # Own first, then competitors; within each, best estimate first and "not enough data" last.
    rows.sort(
        key=lambda r: (r.relation != BrandRelation.own, r.score.mean is None, -(r.score.mean or 0), r.location_name)
    )
    brands = sorted(
        (
            BrandScore(
                brand_id=rel["brand_id"],
                brand_name=rel["brand_name"],
                relation=BrandRelation(rel["relation"]),
                score=_estimate(mean_interval(per_brand.get(bid, Moments()), min_n=min_sample_size)),
            )
            for bid, rel in relation_of.items()
            if not relation or rel["relation"] == relation.value
        ),
        key=lambda b: (b.relation != BrandRelation.own, b.brand_name),
    )
    return LocationScores(
        organisation_id=organisation_id,
        basis=basis,
        include_failed=include_failed,
        min_sample_size=min_sample_size,
        brands=brands,
        locations=rows[page.offset : page.offset + page.limit],
        total_locations=len(rows),
        limit=page.limit,
        offset=page.offset,
    )

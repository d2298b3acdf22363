"""Analytics HTTP API."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from litestar import Controller, delete, get, patch, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.response import Stream

from api_schemas.accounts import Role
from api_schemas.analytics import (
    Comparison,
    Dimension,
    LocationScores,
    Measure,
    OwnVersusCompetitors,
    ScoreBasis,
    ShopperEffects,
    SortOrder,
    Target,
    TargetCreate,
    TargetUpdate,
)
from api_schemas.common import NO_NUL, Page
from api_schemas.forms import Channel
from api_schemas.locations import BrandRelation
from backend.accounts.guards import requires_roles, roles
from backend.analytics import comparison, exports, service, shoppers, targets
from backend.analytics.comparison import Filters
from backend.deps import ActorDep, PageDep, SettingsDep
from backend.openapi import problems
from backend.visible_filters import require_visible

FiltersDep = NamedDependency[Filters]
_KEY_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"


def provide_filters(
    organisation_id: Annotated[
        uuid.UUID | None,
        QueryParameter(
            description="Whose program (admins and coordinators: required; managers: their own, the default)."
        ),
    ] = None,
    campaign_id: Annotated[uuid.UUID | None, QueryParameter(description="Only this campaign's reports.")] = None,
    wave_from: Annotated[
        uuid.UUID | None,
        QueryParameter(
            description="Only waves starting on or after this wave's start (a wave of the organisation's campaigns)."
        ),
    ] = None,
    wave_to: Annotated[
        uuid.UUID | None,
        QueryParameter(
            description="Only waves starting on or before this wave's start; with wave_from, a range of waves."
        ),
    ] = None,
    date_from: Annotated[
        dt.date | None,
        QueryParameter(description="Only visits/contacts on or after this day, in the location's local time."),
    ] = None,
    date_to: Annotated[
        dt.date | None,
        QueryParameter(description="Only visits/contacts on or before this day, in the location's local time."),
    ] = None,
    channel: Annotated[Channel | None, QueryParameter(description="Only this channel.")] = None,
    brand_id: Annotated[uuid.UUID | None, QueryParameter(description="Only this brand's locations.")] = None,
    region: Annotated[
        str | None, QueryParameter(max_length=200, pattern=NO_NUL, description="Only this region's locations.")
    ] = None,
    relation: Annotated[
        BrandRelation | None, QueryParameter(description="Only own or only competitor locations.")
    ] = None,
    section_key: Annotated[
        str | None,
        QueryParameter(
            max_length=64,
            pattern=_KEY_PATTERN,
            description="section_score: this section; item_pass_rate: the items of this top-level section.",
        ),
    ] = None,
    item_key: Annotated[
        str | None, QueryParameter(max_length=64, pattern=_KEY_PATTERN, description="item_pass_rate: only this item.")
    ] = None,
    basis: Annotated[
        ScoreBasis,
        QueryParameter(
            description="score: final (a critical failure counts as 0) or calculated (the score before it)."
        ),
    ] = ScoreBasis.final,
    include_failed: Annotated[
        bool, QueryParameter(description="score: whether reports failed by a critical item count.")
    ] = True,
    include_pending: Annotated[
        bool,
        QueryParameter(
            description="Coordinators and admins: count reports still waiting for review as if approved (each "
            "figure's `pending` says how many); managers: 403."
        ),
    ] = False,
    threshold_s: Annotated[
        float,
        QueryParameter(
            gt=0, le=86400, description="service_level: answered within this many seconds counts (default 20)."
        ),
    ] = 20.0,
) -> Filters:
    return Filters(
        organisation_id=organisation_id,  # type: ignore[arg-type]  # checked by comparison.scope
        campaign_id=campaign_id,
        wave_from=wave_from,
        wave_to=wave_to,
        date_from=date_from,
        date_to=date_to,
        channel=channel,
        brand_id=brand_id,
        region=region,
        relation=relation,
        section_key=section_key,
        item_key=item_key,
        basis=basis,
        include_failed=include_failed,
        include_pending=include_pending,
        threshold_s=threshold_s,
    )


_MIN_N = QueryParameter(
    ge=1,
    le=1000,
    description="Groups with fewer reports than this show as not enough data (n only); default: the program's setting.",
)


class AnalyticsController(Controller):
    path = "/analytics"
    tags = ["analytics"]
    guards = [requires_roles]
    dependencies = {"filters": Provide(provide_filters, sync_to_thread=False)}

    @get(
        "/location-scores",
        operation_id="GetLocationScores",
        opt=roles(Role.admin, Role.coordinator, Role.manager),
        responses=problems(404, 422),
    )
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
        each with its number of reports and 95% t-interval; small samples show as not enough data.

        Problems: 404 `organisation.not_found`; 422 `validation.failed` (admins and coordinators must name the
        organisation).
        """
        await require_visible(actor, organisation_id=organisation_id)
        return await service.location_scores(
            actor,
            page,
            organisation_id=organisation_id,
            basis=basis,
            include_failed=include_failed,
            channel=channel,
            relation=relation,
            region=region,
            min_sample_size=min_sample_size or settings.min_sample_size,
        )

    @get(
        "/comparison",
        operation_id="GetComparison",
        opt=roles(Role.admin, Role.coordinator, Role.manager),
        responses=problems(404, 422),
    )
    async def compare(
        self,
        actor: ActorDep,
        page: PageDep,
        settings: SettingsDep,
        filters: FiltersDep,
        measure: Annotated[Measure, QueryParameter(description="What to compare (see the Measure schema).")],
        group_by: Annotated[
            list[Dimension],
            QueryParameter(
                min_items=1,
                max_items=2,
                description="One or two dimensions, repeated (group_by=weekday&group_by=hour is the hour × weekday "
                "grid). Local times are the location's. shopper: coordinators and admins only (403).",
            ),
        ],
        min_sample_size: Annotated[int | None, _MIN_N] = None,
        sort: Annotated[
            SortOrder,
            QueryParameter(
                description="best: best tier first; worst: worst first (what fails most); key: by the groups' keys "
                "(time order for trends)."
            ),
        ] = SortOrder.best,
        curve: Annotated[
            bool,
            QueryParameter(
                description="Kaplan–Meier measures only: each figure with its survival curve (time, share still "
                "waiting, pointwise 95% interval, at risk)."
            ),
        ] = False,
    ) -> Comparison:
        """Compare a measure across groups of approved reports, each figure with its n and 95% interval.

        Managers see their own organisation's locations and its competitors', approved reports only, never
        who shopped. Coordinators may preview with pending reports (`include_pending`). Groups get tiers:
        equal tiers are not significantly different (the test and correction are in `method`). Groups are
        paged with limit/offset; `total` counts them all.

        Problems: 403 `analytics.pending_not_allowed` (a manager asking for pending reports) or
        `analytics.shopper_hidden` (a manager grouping by shopper); 404 `organisation.not_found`,
        `campaign.not_found`, `brand.not_found` or `wave.not_found` (a filter on an id the caller cannot see is the
        same 404 as a made-up one);
        422 `validation.failed` (a missing organisation for staff, a grouping or section/item filter the measure
        does not take, date_to before date_from).
        """
        return await comparison.compare(
            actor,
            page,
            measure=measure,
            group_by=group_by,
            filters=filters,
            min_sample_size=min_sample_size or settings.min_sample_size,
            sort=sort,
            curve=curve,
        )

    @get(
        "/own-vs-competitors",
        operation_id="GetOwnVersusCompetitors",
        opt=roles(Role.admin, Role.coordinator, Role.manager),
        responses=problems(404, 422),
    )
    async def own_versus_competitors(
        self,
        actor: ActorDep,
        settings: SettingsDep,
        filters: FiltersDep,
        measure: Annotated[Measure, QueryParameter(description="What to compare (see the Measure schema).")],
        min_sample_size: Annotated[int | None, _MIN_N] = None,
    ) -> OwnVersusCompetitors:
        """The organisation's own brands taken together against each competitor brand, under the same filters:
        both figures and the difference own − competitor with its 95% interval (method in `method`).
        The `relation` filter is ignored here.

        Problems: 403 `analytics.pending_not_allowed`; 404 `organisation.not_found`,
        `campaign.not_found`, `brand.not_found` or `wave.not_found` (a filter on an id the caller cannot see is the
        same 404 as a made-up one); 422 `validation.failed`.
        """
        return await comparison.own_versus_competitors(
            actor, measure=measure, filters=filters, min_sample_size=min_sample_size or settings.min_sample_size
        )

    @get(
        "/shopper-effects",
        operation_id="GetShopperEffects",
        opt=roles(Role.admin, Role.coordinator, Role.manager),
        responses=problems(404, 422),
    )
    async def shopper_effects(
        self,
        actor: ActorDep,
        settings: SettingsDep,
        filters: FiltersDep,
        group_by: Annotated[
            Dimension,
            QueryParameter(
                description="Groups whose scores to adjust: location, region, brand, relation, channel, wave or daypart."
            ),
        ] = Dimension.location,
        min_sample_size: Annotated[int | None, _MIN_N] = None,
        flag_points: Annotated[
            float,
            QueryParameter(
                gt=0,
                le=100,
                description="Flag a shopper whose effect is at least this many points (and whose interval excludes 0).",
            ),
        ] = 5.0,
    ) -> ShopperEffects:
        """Shopper strictness and scores adjusted for it (the method is in `method`): each group's raw mean and
        its mean at an average shopper, each shopper's effect with its interval and a flag when large (shoppers are
        listed to coordinators and admins only), and agreement between two shoppers who shopped the same location
        in the same wave and slot.

        Problems: 403 `analytics.pending_not_allowed`; 404 `organisation.not_found`,
        `campaign.not_found`, `brand.not_found` or `wave.not_found` (a filter on an id the caller cannot see is the
        same 404 as a made-up one); 422 `validation.failed`.
        """
        return await shoppers.shopper_effects(
            actor,
            group_by=group_by,
            filters=filters,
            min_sample_size=min_sample_size or settings.min_sample_size,
            flag_points=flag_points,
        )


CSV = "text/csv; charset=utf-8"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"'}


class ExportController(Controller):
    """Exports: the same numbers as the API, as CSV (streamed) or XLSX (built in write-only mode, then streamed)."""

    path = "/analytics/exports"
    tags = ["analytics"]
    guards = [requires_roles]
    dependencies = {"filters": Provide(provide_filters, sync_to_thread=False)}

    async def _comparison(
        self,
        actor: ActorDep,
        settings: SettingsDep,
        filters: Filters,
        measure: Measure,
        group_by: list[Dimension],
        min_sample_size: int | None,
        sort: SortOrder,
    ) -> tuple[list[str], list[list[object]]]:
        return await exports.comparison_table(
            actor,
            measure=measure,
            group_by=group_by,
            filters=filters,
            min_sample_size=min_sample_size or settings.min_sample_size,
            sort=sort,
        )

    @get(
        "/comparison.csv",
        operation_id="ExportComparisonCsv",
        opt=roles(Role.admin, Role.coordinator, Role.manager),
        responses=problems(404, 422),
        media_type=CSV,
    )
    async def comparison_csv(
        self,
        actor: ActorDep,
        settings: SettingsDep,
        filters: FiltersDep,
        measure: Annotated[Measure, QueryParameter(description="As for GET /analytics/comparison.")],
        group_by: Annotated[
            list[Dimension], QueryParameter(min_items=1, max_items=2, description="As for GET /analytics/comparison.")
        ],
        min_sample_size: Annotated[int | None, _MIN_N] = None,
        sort: Annotated[SortOrder, QueryParameter(description="As for GET /analytics/comparison.")] = SortOrder.best,
    ) -> Stream:
        """GET /analytics/comparison as CSV, every group (no pages): one row per group with its keys and labels,
        n, pending, value, interval, quartiles, tier and target columns.

        Problems: as GET /analytics/comparison: 403 `analytics.pending_not_allowed`, 404 `organisation.not_found`,
        `campaign.not_found`, `brand.not_found` or `wave.not_found`, 422 `validation.failed`.
        """
        header, rows = await self._comparison(actor, settings, filters, measure, group_by, min_sample_size, sort)
        return Stream(
            exports.csv_stream(header, rows), media_type=CSV, headers=_attachment(f"comparison-{measure.value}.csv")
        )

    @get(
        "/comparison.xlsx",
        operation_id="ExportComparisonXlsx",
        opt=roles(Role.admin, Role.coordinator, Role.manager),
        responses=problems(404, 422),
        media_type=XLSX,
    )
    async def comparison_xlsx(
        self,
        actor: ActorDep,
        settings: SettingsDep,
        filters: FiltersDep,
        measure: Annotated[Measure, QueryParameter(description="As for GET /analytics/comparison.")],
        group_by: Annotated[
            list[Dimension], QueryParameter(min_items=1, max_items=2, description="As for GET /analytics/comparison.")
        ],
        min_sample_size: Annotated[int | None, _MIN_N] = None,
        sort: Annotated[SortOrder, QueryParameter(description="As for GET /analytics/comparison.")] = SortOrder.best,
    ) -> Stream:
        """GET /analytics/comparison as an XLSX workbook, the same columns as the CSV.

        Problems: as GET /analytics/comparison: 403 `analytics.pending_not_allowed`, 404 `organisation.not_found`,
        `campaign.not_found`, `brand.not_found` or `wave.not_found`, 422 `validation.failed`.
        """
        header, rows = await self._comparison(actor, settings, filters, measure, group_by, min_sample_size, sort)
        return Stream(
            exports.xlsx_stream("comparison", header, rows),
            media_type=XLSX,
            headers=_attachment(f"comparison-{measure.value}.xlsx"),
        )

    @get(
        "/reports.csv",
        operation_id="ExportReportsCsv",
        opt=roles(Role.admin, Role.coordinator, Role.manager),
        responses=problems(404, 422),
        media_type=CSV,
    )
    async def reports_csv(self, actor: ActorDep, filters: FiltersDep) -> Stream:
        """Approved reports, one row each (streamed): ids, location, brand, relation, region, channel, campaign,
        wave, the start in UTC and in the location's local time, the shopper (coordinators and admins only),
        scores and measures, then one column per question (q.<key>). Competitors' free-text answers are left
        out. Filters as for GET /analytics/comparison (include_pending, section/item and score options do not
        apply).

        Problems: 404 `organisation.not_found`,
        `campaign.not_found`, `brand.not_found` or `wave.not_found` (a filter on an id the caller cannot see is the
        same 404 as a made-up one); 422 `validation.failed`.
        """
        header, rows = await exports.report_rows(actor, filters)
        return Stream(exports.csv_stream(header, rows), media_type=CSV, headers=_attachment("reports.csv"))

    @get(
        "/reports.xlsx",
        operation_id="ExportReportsXlsx",
        opt=roles(Role.admin, Role.coordinator, Role.manager),
        responses=problems(404, 422),
        media_type=XLSX,
    )
    async def reports_xlsx(self, actor: ActorDep, filters: FiltersDep) -> Stream:
        """The reports export as an XLSX workbook (the same columns as the CSV).

        Problems: 404 `organisation.not_found`,
        `campaign.not_found`, `brand.not_found` or `wave.not_found` (a filter on an id the caller cannot see is the
        same 404 as a made-up one); 422 `validation.failed`.
        """
        header, rows = await exports.report_rows(actor, filters)
        return Stream(
            exports.xlsx_stream("reports", header, rows), media_type=XLSX, headers=_attachment("reports.xlsx")
        )


class TargetController(Controller):
    """Targets per measure and scope. Managers set their organisation's; coordinators read them."""

    path = "/analytics/targets"
    tags = ["analytics"]
    guards = [requires_roles]

    @get(
        "/", operation_id="ListTargets", opt=roles(Role.admin, Role.coordinator, Role.manager), responses=problems(404)
    )
    async def list_targets(
        self,
        actor: ActorDep,
        page: PageDep,
        organisation_id: Annotated[
            uuid.UUID | None,
            QueryParameter(
                description="Admins and coordinators: whose targets (all when omitted); managers: their own."
            ),
        ] = None,
        measure: Annotated[Measure | None, QueryParameter(description="Only this measure's targets.")] = None,
    ) -> Page[Target]:
        """Targets, filtered by organisation and measure. Managers see (and set) their organisation's; coordinators
        read them.

        Problems: 404 `organisation.not_found` (a filter on an organisation the caller cannot see is the same 404 as
        on a made-up one).
        """
        await require_visible(actor, organisation_id=organisation_id)
        return await targets.list_targets(actor, page, organisation_id, measure)

    @post("/", operation_id="CreateTarget", opt=roles(Role.admin, Role.manager), responses=problems(404, 409, 422))
    async def create_target(self, actor: ActorDep, data: JSONBody[TargetCreate]) -> Target:
        """A target for one measure at one scope (organisation, brand, region, location or channel); comparisons
        then show each group's gap to the most specific target that applies (location, then brand, region,
        channel, organisation) and whether its 95% interval clears it. Values are in the measure's unit (shares
        0–1). A service-level target names its threshold_s and applies to comparisons with that threshold.

        Problems: 404 `organisation.not_found`; 409 `target.exists` (change that one instead); 422
        `validation.failed` (no organisation named by staff, a value outside the measure's scale, a scope value
        that does not fit the scope, threshold_s missing for service_level or given for another measure).
        """
        return await targets.create(actor, data)

    @get(
        "/{target_id:uuid}",
        operation_id="GetTarget",
        opt=roles(Role.admin, Role.coordinator, Role.manager),
        responses=problems(404),
    )
    async def get_target(self, actor: ActorDep, target_id: FromPath[uuid.UUID]) -> Target:
        """One target.

        Problems: 404 `target.not_found`.
        """
        return await targets.get(actor, target_id)

    @patch(
        "/{target_id:uuid}",
        operation_id="UpdateTarget",
        opt=roles(Role.admin, Role.manager),
        responses=problems(404, 422),
    )
    async def update_target(
        self, actor: ActorDep, target_id: FromPath[uuid.UUID], data: JSONBody[TargetUpdate]
    ) -> Target:
        """Change a target's value or direction (only the fields sent change).

        Problems: 404 `target.not_found`; 422 `validation.failed` (a value out of the measure's range).
        """
        return await targets.update(actor, target_id, data)

    @delete(
        "/{target_id:uuid}", operation_id="DeleteTarget", opt=roles(Role.admin, Role.manager), responses=problems(404)
    )
    async def delete_target(self, actor: ActorDep, target_id: FromPath[uuid.UUID]) -> None:
        """Delete a target; comparisons no longer show a gap to it.

        Problems: 404 `target.not_found`.
        """
        await targets.delete(actor, target_id)

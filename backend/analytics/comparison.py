"""The comparison service: any measure grouped by up to two dimensions, with intervals and tiers.

One SQL statement per request aggregates the fact tables (backend.analytics.tables) into sufficient
statistics per group (count, sum, sum of squares; successes; NPS classes; distinct (time, censored)
pairs for Kaplan–Meier); backend.analytics.statistics turns them into figures, intervals and tiers.
A coordinator's preview with pending reports computes their facts inside a write transaction that is
rolled back, so pending reports go through exactly the same statement and are never stored.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from dataclasses import dataclass, replace
from typing import Any

from msgspec.structs import replace as replace_struct

from api_schemas.accounts import Role
from api_schemas.analytics import (
    Comparison,
    ComparisonGroup,
    CompetitorDifference,
    CurvePoint,
    Dimension,
    Figure,
    FigureKind,
    GroupKey,
    Measure,
    OwnVersusCompetitors,
    ScoreBasis,
    SortOrder,
    Target,
    TargetScope,
)
from api_schemas.forms import Channel
from api_schemas.locations import BrandRelation
from backend import db
from backend.accounts.security import Actor
from backend.accounts.tables import Organisation, User
from backend.analytics import facts as analytics_facts
from backend.analytics import rollups, targets
from backend.analytics import statistics as st
from backend.analytics.labels import item_labels
from backend.analytics.measures import DIMENSIONS, MEASURES, MeasureSql, method_text
from backend.analytics.tables import ReportFact
from backend.campaigns.tables import Campaign, Wave
from backend.errors import Forbidden, InvalidInput, NotFound
from backend.locations.tables import Brand, Location
from backend.pagination import PageParams
from backend.visible_filters import require_visible

MAX_GROUP_BY = 2


@dataclass(frozen=True, slots=True)
class Filters:
    """What a comparison looks at; `organisation_id` is always the caller's (checked by `scope`)."""

    organisation_id: uuid.UUID
    campaign_id: uuid.UUID | None = None
    wave_from: uuid.UUID | None = None
    wave_to: uuid.UUID | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    channel: Channel | None = None
    brand_id: uuid.UUID | None = None
    region: str | None = None
    relation: BrandRelation | None = None
    section_key: str | None = None
    item_key: str | None = None
    basis: ScoreBasis = ScoreBasis.final
    include_failed: bool = True
    include_pending: bool = False
    threshold_s: float = 20.0


async def scope(actor: Actor, filters: Filters, include_pending: bool) -> uuid.UUID:
    """Whose results the caller may see: a manager only their own organisation's, approved reports only. A
    campaign or brand filter the caller cannot read is the same 404 as a made-up id (backend.visible_filters),
    never figures that are empty or not filtered at all."""
    await require_visible(
        actor, organisation_id=filters.organisation_id, campaign_id=filters.campaign_id, brand_id=filters.brand_id
    )
    return await _organisation_in_scope(actor, filters.organisation_id, include_pending)


async def _organisation_in_scope(actor: Actor, organisation_id: uuid.UUID | None, include_pending: bool) -> uuid.UUID:
    if actor.role == Role.manager:
        if organisation_id not in (None, actor.organisation_id):
            raise NotFound("No such organisation.", code="organisation.not_found")
        if include_pending:
            raise Forbidden("Managers see approved reports only.", code="analytics.pending_not_allowed")
        organisation_id = actor.organisation_id
        if organisation_id is not None:
            # It exists: their user row references it (app_user.organisation, ON DELETE RESTRICT, enforced on both
            # engines), so no query.
            return organisation_id
    if organisation_id is None:
        raise InvalidInput("Say whose results to show.", errors=[("organisation_id", "required")])
    if not await Organisation.exists().where(Organisation.id == organisation_id):
        raise NotFound("No such organisation.", code="organisation.not_found")
    return organisation_id


def measure_sql(measure: Measure, filters: Filters) -> MeasureSql:
    spec = replace(MEASURES[measure], key=measure.value)
    if measure == Measure.score:
        column = "f.score_final" if filters.basis == ScoreBasis.final else "f.score_calculated"
        return replace(spec, value=column)
    if measure == Measure.service_level:
        return replace(spec, value="NOT f.time_to_answer_censored AND f.time_to_answer_s <= {}")
    return spec


def _dimension_sql(dimension: Dimension, spec: MeasureSql) -> str:
    if dimension == Dimension.section and spec.items == "section":
        return "i.key"  # a section score's own section
    return DIMENSIONS[dimension]


async def wave_ids(filters: Filters) -> list[uuid.UUID] | None:
    """The organisation's waves from wave_from to wave_to (by start date), or None for no wave filter."""
    if filters.wave_from is None and filters.wave_to is None:
        return None
    query = Wave.select(Wave.id, Wave.starts_on).where(Wave.campaign.organisation == filters.organisation_id)
    if filters.campaign_id is not None:
        query = query.where(Wave.campaign == filters.campaign_id)
    waves = {str(w["id"]): w["starts_on"] for w in await query}
    bounds = []
    for name, wave in (("wave_from", filters.wave_from), ("wave_to", filters.wave_to)):
        if wave is not None and str(wave) not in waves:
            # Like any filter on an object the caller cannot read: 404, naming the parameter.
            raise NotFound(
                "No such wave in this organisation's campaigns.",
                code="wave.not_found",
                errors=[(f"query.{name}", "no such object visible to you")],
            )
        bounds.append(None if wave is None else waves[str(wave)])
    low, high = bounds
    return [
        uuid.UUID(w) for w, start in waves.items() if (low is None or start >= low) and (high is None or start <= high)
    ]


def validate(measure: Measure, spec: MeasureSql, group_by: list[Dimension], actor: Actor, filters: Filters) -> None:
    errors = []
    if len(group_by) > MAX_GROUP_BY or len(set(group_by)) != len(group_by):
        errors.append(("group_by", f"one or {MAX_GROUP_BY} different dimensions"))
    for d in group_by:
        if d in (Dimension.section, Dimension.item) and spec.items is None:
            errors.append(("group_by", f"{d.value} only groups item_pass_rate and section_score"))
        if d == Dimension.item and spec.items != "item":
            errors.append(("group_by", "item only groups item_pass_rate"))
    if filters.item_key is not None and spec.items != "item":
        errors.append(("item_key", "only for item_pass_rate"))
    if filters.section_key is not None and spec.items is None:
        errors.append(("section_key", "only for item_pass_rate and section_score"))
    if measure == Measure.section_score and Dimension.section not in group_by and filters.section_key is None:
        errors.append(("section_key", "section_score needs a section: group by section or name section_key"))
    if filters.date_from and filters.date_to and filters.date_from > filters.date_to:
        errors.append(("date_to", "before date_from"))
    if errors:
        raise InvalidInput("This comparison cannot be made.", errors=errors)
    if Dimension.shopper in group_by and actor.role not in (Role.admin, Role.coordinator):
        raise Forbidden("Shoppers are never named to managers.", code="analytics.shopper_hidden")


_LOCATION_FILTERS = ("l.brand = {}", "l.region = {}", "ob.relation = {}")


def _is_place(dimension_sql: str) -> bool:
    """A grouping a location determines (joined from location / organisation_brand after aggregating)."""
    return dimension_sql.startswith(("l.", "ob."))


def rollup_source(spec: MeasureSql, dims: list[str], filters: Filters, waves: list[uuid.UUID] | None) -> str | None:
    """The rollup (backend.analytics.rollups) that answers this comparison, or None for the fact tables: a
    survival, item, mean, share or NPS measure (not service level: its threshold is a parameter) grouped and filtered
    only by what a location determines and the channel (and item / section for items; the ISO week for a mean,
    share or NPS measure)."""
    if (
        filters.include_pending
        or filters.campaign_id is not None
        or waves is not None
        or filters.date_from is not None
        or filters.date_to is not None
    ):
        return None
    kept = ("f.location", "f.channel")
    if spec.kind == FigureKind.survival and spec.key and all(_is_place(d) or d in kept for d in dims):
        return "survival_rollup"
    if spec.items and all(_is_place(d) or d in (*kept, "i.key", "i.section") for d in dims):
        return "item_rollup"
    if (
        not spec.items
        and spec.kind in (FigureKind.mean, FigureKind.proportion, FigureKind.nps)
        and rollups.measure_rollup_name(spec.key, filters.basis.value, filters.include_failed) is not None
        and all(_is_place(d) or d in (*kept, "f.local_week") for d in dims)
    ):
        return "measure_rollup"
    return None


def statement(
    spec: MeasureSql,
    dims: list[str],
    filters: Filters,
    waves: list[uuid.UUID] | None,
    *,
    postgres: bool | None = None,
) -> tuple[str, list[Any]]:
    """One SQL statement: sums per group (columns g0, g1, … and the kind's sums; survival: one row per group,
    time t and censored c, with its count n).

    Two stages, so the fact tables are read in index order without joins: the inner query aggregates per
    location (and the groupings stored on the fact rows) from report_fact — or from a rollup when one answers
    (`rollup_source`) — with the brand / region / relation filters pushed down as the list of matching
    locations; the outer query joins those few thousand rows to location and organisation_brand and adds
    them up per group. A fact whose location's brand is no longer in the organisation's program drops out
    at that join, as before."""
    source = rollup_source(spec, dims, filters, waves)
    place = "i.location" if source == "item_rollup" else "f.location"
    dims = ["a.loc" if d == "f.location" else d for d in dims]
    if source == "item_rollup":
        dims = ["i.channel" if d == "f.channel" else d for d in dims]
    inner: list[str] = [f"{place} AS loc"]
    inner_group = [place]
    args: list[Any] = []
    for k, d in enumerate(dims):
        if not _is_place(d) and d != "a.loc":
            inner.append(f"{d} AS d{k}")
            inner_group.append(d)
    where: list[str] = []
    if source == "survival_rollup":
        where += ["f.organisation = {}", "f.measure = {}"]
        args += [filters.organisation_id, spec.key]
        inner += ["f.t AS t", "CASE WHEN f.censored THEN 1 ELSE 0 END AS c", "SUM(f.n) AS n"]
        inner_group += ["f.t", "f.censored"]
    elif source == "measure_rollup":
        where += ["f.organisation = {}", "f.measure = {}"]
        args += [
            filters.organisation_id,
            rollups.measure_rollup_name(spec.key, filters.basis.value, filters.include_failed),
        ]
        names = {
            FigureKind.mean: ("n", "s", "ss"),
            FigureKind.proportion: ("n", "x", None),
            FigureKind.nps: ("n", "promoters", "detractors"),
        }[spec.kind]
        inner += [f"SUM(f.{column}) AS {name}" for column, name in zip(("n", "s", "ss"), names, strict=True) if name]
    elif source == "item_rollup":
        where += ["i.organisation = {}", f"i.kind = '{spec.items}'"]
        args.append(filters.organisation_id)
        if spec.kind == FigureKind.mean:
            inner += ["SUM(i.n) AS n", "SUM(i.score_sum) AS s", "SUM(i.score_sq) AS ss"]
        else:
            where.append("i.judged > 0")
            inner += ["SUM(i.judged) AS n", "SUM(i.passed) AS x"]
    if source is not None and filters.channel is not None:
        where.append(f"{place.split('.')[0]}.channel = {{}}")
        args.append(filters.channel.value)
    if source is None:
        where.append("f.organisation = {}")
        if spec.items:
            where.append(f"i.kind = '{spec.items}'")
        if spec.kind == FigureKind.mean:
            where.append(f"{spec.value} IS NOT NULL")
            inner += ["COUNT(*) AS n", f"SUM({spec.value}) AS s", f"SUM({spec.value} * {spec.value}) AS ss"]
        elif spec.kind == FigureKind.proportion:
            where.append(spec.base or "1 = 1")
            inner += ["COUNT(*) AS n", f"SUM(CASE WHEN {spec.value} THEN 1 ELSE 0 END) AS x"]
            if "{}" in spec.value:
                args.append(filters.threshold_s)
        elif spec.kind == FigureKind.nps:
            where.append(f"{spec.value} IS NOT NULL")
            inner += [
                "COUNT(*) AS n",
                f"SUM(CASE WHEN {spec.value} >= 9 THEN 1 ELSE 0 END) AS promoters",
                f"SUM(CASE WHEN {spec.value} <= 6 THEN 1 ELSE 0 END) AS detractors",
            ]
        else:
            where.append(f"{spec.value} IS NOT NULL")
            censored = spec.censored or "FALSE"
            # The time rounded half up to the measure's resolution, as the rollup holds it (rollups.bucket):
            # the same IEEE arithmetic on both engines (SQLite's CAST truncates; times are never negative).
            steps = rollups.resolution(spec.key)
            postgres = db.is_postgres() if postgres is None else postgres
            whole = (
                f"FLOOR({spec.value} * {steps} + 0.5)" if postgres else f"CAST({spec.value} * {steps} + 0.5 AS INTEGER)"
            )
            t = f"{whole} / {steps}.0"
            inner += [f"{t} AS t", f"CASE WHEN {censored} THEN 1 ELSE 0 END AS c", "COUNT(*) AS n"]
            inner_group += [t, f"CASE WHEN {censored} THEN 1 ELSE 0 END"]
        if filters.include_pending:
            inner.append("SUM(CASE WHEN f.pending THEN 1 ELSE 0 END) AS pending")
        args.append(filters.organisation_id)
        if filters.campaign_id is not None:
            where.append("f.campaign = {}")
            args.append(filters.campaign_id)
        if waves is not None:
            if not waves:
                where.append("1 = 0")
            else:
                where.append("f.wave IN (" + ", ".join("{}" for _ in waves) + ")")
                args.extend(waves)
        for condition, value in (
            ("f.local_day >= {}", filters.date_from.isoformat() if filters.date_from else None),
            ("f.local_day <= {}", filters.date_to.isoformat() if filters.date_to else None),
            ("f.channel = {}", filters.channel.value if filters.channel else None),
        ):
            if value is not None:
                where.append(condition)
                args.append(value)
        if spec.value in ("f.score_final", "f.score_calculated") and not filters.include_failed:
            where.append("NOT f.failed")
    if filters.item_key is not None:
        where.append("i.key = {}")
        args.append(filters.item_key)
    if filters.section_key is not None:
        where.append("i.key = {}" if spec.items == "section" else "i.section = {}")
        args.append(filters.section_key)
    places = [
        (condition, value)
        for condition, value in zip(
            _LOCATION_FILTERS,
            (filters.brand_id, filters.region, filters.relation.value if filters.relation else None),
            strict=True,
        )
        if value is not None
    ]
    if places:
        where.append(
            f"{place} IN (SELECT l.id FROM location l JOIN organisation_brand ob ON ob.brand = l.brand "
            "AND ob.organisation = {} WHERE " + " AND ".join(c for c, _ in places) + ")"
        )
        args += [filters.organisation_id, *(v for _, v in places)]
    table = {
        "measure_rollup": "measure_rollup f",
        "survival_rollup": "survival_rollup f",
        "item_rollup": "item_rollup i",
        None: "report_fact f" + (" JOIN item_fact i ON i.report = f.id" if spec.items else ""),
    }[source]
    if source == "survival_rollup":
        # Its rows are unique per (organisation, measure, location, t, censored) and every grouping is a place:
        # there is nothing to add up per location first, so one join and one GROUP BY (on SQLite half the time
        # of the two stages, which materialise every row before joining).
        keys = ["f.location" if d == "a.loc" else d for d in dims]
        select = [f"{d} AS g{k}" for k, d in enumerate(keys)]
        select += ["SUM(f.n) AS n", "f.t AS t", "CASE WHEN f.censored THEN 1 ELSE 0 END AS c", "0 AS pending"]
        sql = (
            f"SELECT {', '.join(select)} FROM survival_rollup f JOIN location l ON l.id = f.location "
            "JOIN organisation_brand ob ON ob.organisation = {} AND ob.brand = l.brand "
            f"WHERE {' AND '.join(where)} GROUP BY {', '.join([*keys, 'f.t', 'f.censored'])}"
        )
        return sql, [filters.organisation_id, *args]
    if source is not None and not any(_is_place(d) or d == "a.loc" for d in dims):
        # A rollup grouped only by what its rows hold (ISO week, channel, item, section): one GROUP BY over the
        # rollup's rows, the program's locations as a semi-join (what the join after aggregating does, without
        # adding every row up per location first: on PostgreSQL with 100,000 reports the ISO-week trend took 23 ms
        # in two stages, 9 ms in one).
        if not places:
            where.append(
                f"{place} IN (SELECT l.id FROM location l JOIN organisation_brand ob ON ob.brand = l.brand "
                "AND ob.organisation = {})"
            )
            args.append(filters.organisation_id)
        select = [f"{d} AS g{k}" for k, d in enumerate(dims)]
        key_columns = {f"{d} AS d{k}" for k, d in enumerate(dims)}
        select += [column for column in inner[1:] if column not in key_columns]
        group = [d for d in inner_group if d != place]
        sql = f"SELECT {', '.join([*select, '0 AS pending'])} FROM {table} WHERE {' AND '.join(where)}" + (
            " GROUP BY " + ", ".join(group) if group else ""
        )
        return sql, args
    inner_sql = f"SELECT {', '.join(inner)} FROM {table} WHERE {' AND '.join(where)} GROUP BY {', '.join(inner_group)}"

    outer = [f"{d if _is_place(d) or d == 'a.loc' else f'a.d{k}'} AS g{k}" for k, d in enumerate(dims)]
    outer_group = [d if _is_place(d) or d == "a.loc" else f"a.d{k}" for k, d in enumerate(dims)]
    sums = {
        FigureKind.mean: ("n", "s", "ss"),
        FigureKind.proportion: ("n", "x"),
        FigureKind.nps: ("n", "promoters", "detractors"),
        FigureKind.survival: ("n",),
    }[spec.kind]
    outer += [f"SUM(a.{column}) AS {column}" for column in sums]
    if spec.kind == FigureKind.survival:
        outer += ["a.t AS t", "a.c AS c"]
        outer_group += ["a.t", "a.c"]
    outer.append("SUM(a.pending) AS pending" if filters.include_pending and source is None else "0 AS pending")
    sql = (
        f"SELECT {', '.join(outer)} FROM ({inner_sql}) a JOIN location l ON l.id = a.loc "
        "JOIN organisation_brand ob ON ob.organisation = {} AND ob.brand = l.brand"
        + (" GROUP BY " + ", ".join(outer_group) if outer_group else "")
    )
    return sql, [*args, filters.organisation_id]


class _Preview(Exception):
    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows


async def fetch_rows(sql: str, args: list[Any], filters: Filters, *, few: bool = False) -> list[dict[str, Any]]:
    """The statement's rows. `few`: it reads a rollup with a row or a few per location and group (measure_rollup,
    item_rollup), which on SQLite is read on the event loop's own reader (db.reading), not on a pooled reader's
    thread: the read takes about as long as the hop there and back, and on a loaded machine the hop (waiting for
    the thread, then for the event loop) took several times the read."""
    if not filters.include_pending:
        if few and not db.is_postgres():
            async with db.reading() as session:
                # `statement` writes Piccolo's placeholders, {}; it has no other braces.
                return await session.fetch(sql.replace("{}", "?"), *args)
        # On the analytics replica when there is one (backend.db.analytics_node).
        rows: list[dict[str, Any]] = await ReportFact.raw(sql, *args).run(node=db.analytics_node())
        return rows
    # The organisation's pending reports are counted as if approved, inside a transaction that is rolled
    # back: the same statement sees them, and nothing is stored.
    pending = await analytics_facts.facts_where(
        "r.organisation = {} AND r.status = 'submitted'", filters.organisation_id
    )
    try:
        async with db.writing():
            await analytics_facts.insert([replace(f, report={**f.report, "pending": True}) for f in pending])
            raise _Preview(await ReportFact.raw(sql, *args))
    except _Preview as preview:
        return preview.rows


def key_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return str(int(value))
    return str(value)


@dataclass(slots=True)
class _Group:
    key: tuple[str | None, ...]
    pending: int = 0
    moments: st.Moments = st.Moments()
    counts: st.Counts = st.Counts()
    nps: st.NpsCounts = st.NpsCounts()
    times: list[float] | None = None
    events: list[bool] | None = None
    reps: list[int] | None = None


def _collect(
    kind: FigureKind, rows: list[dict[str, Any]], width: int, steps: int = 1
) -> dict[tuple[str | None, ...], _Group]:
    """Rows of `statement` per group; survival times rounded to 1/steps of their unit (as the rollups hold them)."""
    groups: dict[tuple[str | None, ...], _Group] = {}
    names = [f"g{k}" for k in range(width)]
    survival = kind == FigureKind.survival
    for row in rows:
        key = tuple([key_text(row[name]) for name in names])
        group = groups.get(key)
        first = group is None
        if group is None:  # only survival groups keep lists (times, events, counts)
            group = groups[key] = _Group(key, times=[], events=[], reps=[]) if survival else _Group(key)
        if pending := row["pending"]:
            group.pending += int(pending)
        if kind == FigureKind.mean:
            moments = st.Moments(int(row["n"]), float(row["s"] or 0), float(row["ss"] or 0))
            group.moments = moments if first else group.moments + moments  # a rollup's group is mostly one row
        elif kind == FigureKind.proportion:
            group.counts += st.Counts(int(row["n"]), int(row["x"] or 0))
        elif kind == FigureKind.nps:
            n, p, d = int(row["n"]), int(row["promoters"] or 0), int(row["detractors"] or 0)
            group.nps += st.NpsCounts(p, n - p - d, d)
        else:
            assert group.times is not None and group.events is not None and group.reps is not None
            group.times.append(rollups.bucket(float(row["t"]), steps))
            group.events.append(not bool(row["c"]))
            group.reps.append(int(row["n"]))
    return groups


def _steps(spec: MeasureSql) -> int:
    return rollups.resolution(spec.key) if spec.kind == FigureKind.survival else 1


def _figures(kind: FigureKind, spec: MeasureSql, groups: list[_Group], min_n: int, curve: bool = False) -> list[Figure]:
    """The figures of many groups; means and shares with their quantiles computed in one vectorised call."""
    if kind == FigureKind.mean:
        results = st.mean_intervals([g.moments for g in groups], min_n=min_n, bounds=spec.bounds)
    elif kind == FigureKind.proportion:
        results = st.wilsons([g.counts for g in groups], min_n=min_n)
    else:
        figures = [_figure(kind, spec, g, min_n) for g in groups]
        return [with_curve(f, g) for f, g in zip(figures, groups, strict=True)] if curve else figures
    return [
        Figure(n=r.n, enough_data=r.enough_data, value=r.mean, ci_low=r.low, ci_high=r.high, pending=g.pending)
        for r, g in zip(results, groups, strict=True)
    ]


def with_curve(figure: Figure, group: _Group) -> Figure:
    """A survival figure with its Kaplan–Meier curve (none below the minimum n, like the median)."""
    if not figure.enough_data or group.times is None or group.events is None:
        return figure
    points = st.survival_curve(group.times, group.events, group.reps)
    return replace_struct(
        figure,
        curve=[
            CurvePoint(time=p.time, survival=p.survival, ci_low=p.ci_low, ci_high=p.ci_high, at_risk=p.at_risk)
            for p in points
        ],
    )


def _figure(kind: FigureKind, spec: MeasureSql, group: _Group, min_n: int) -> Figure:
    if kind == FigureKind.survival:
        assert group.times is not None and group.events is not None
        km = st.kaplan_meier(group.times, group.events, group.reps, min_n=min_n)
        return Figure(
            n=km.n,
            enough_data=km.enough_data,
            value=km.median,
            ci_low=km.ci_low,
            ci_high=km.ci_high,
            pending=group.pending,
            events=km.events,
            q25=km.q25,
            q75=km.q75,
            not_reached=km.enough_data and (km.median is None or km.ci_high is None),
        )
    if kind == FigureKind.mean:
        r = st.mean_interval(group.moments, min_n=min_n, bounds=spec.bounds)
    elif kind == FigureKind.proportion:
        r = st.wilson(group.counts, min_n=min_n)
    else:
        r = st.nps_interval(group.nps, min_n=min_n)
    return Figure(n=r.n, enough_data=r.enough_data, value=r.mean, ci_low=r.low, ci_high=r.high, pending=group.pending)


def _tiers(kind: FigureKind, spec: MeasureSql, groups: list[_Group], figures: list[Figure]) -> list[int | None]:
    ranked = [k for k, f in enumerate(figures) if f.enough_data and f.value is not None]
    result: list[int | None] = [None] * len(figures)
    if not ranked:
        return result
    if kind == FigureKind.mean:  # the values are the means m.total / m.n
        tiers = st.mean_tiers([groups[k].moments for k in ranked], higher_is_better=spec.higher_is_better)
        for k, tier in zip(ranked, tiers, strict=True):
            result[k] = tier
        return result
    if kind == FigureKind.proportion:
        p = st.proportion_pvalues([groups[k].counts for k in ranked])
    elif kind == FigureKind.nps:
        p = st.nps_pvalues([groups[k].nps for k in ranked])
    else:
        p = st.interval_pvalues([(figures[k].ci_low or 0.0, figures[k].ci_high) for k in ranked])
    values = [float(figures[k].value) for k in ranked]  # type: ignore[arg-type]
    for k, tier in zip(ranked, st.tiers(values, p, higher_is_better=spec.higher_is_better), strict=True):
        result[k] = tier
    return result


_PROGRAM = (Dimension.location, Dimension.brand)


async def program_names(session: db.Session, dimension: Dimension, organisation_id: uuid.UUID) -> dict[str, str]:
    """The name of every location or brand in the organisation's program (the only ones a comparison can group by),
    by id as text: one query over the program, without a parameter per key (300 locations: 1.5 ms instead of 4 ms
    on SQLite), the ids as text so that no UUID objects are made and printed again."""
    join = (
        "location t JOIN organisation_brand ob ON ob.brand = t.brand"
        if dimension == Dimension.location
        else ("brand t JOIN organisation_brand ob ON ob.brand = t.id")
    )
    rows = await session.fetch(
        f"SELECT CAST(t.id AS TEXT) AS id, t.name AS label FROM {join} AND ob.organisation = ?", organisation_id
    )
    return {r["id"]: r["label"] for r in rows}


async def group_labels(
    dimension: Dimension, values: set[str], organisation_id: uuid.UUID | None = None
) -> dict[str, str]:
    """The names of a dimension's keys; with `organisation_id`, locations' and brands' from `program_names`.
    Hand-written SQL (db.reading: on SQLite the event loop's own reader, no hop to a connection's thread; no
    Piccolo query building)."""
    if not any(values):
        return {}
    if organisation_id is not None and dimension in _PROGRAM:
        async with db.reading() as session:
            names = await program_names(session, dimension, organisation_id)
        return {key: label for key, label in names.items() if key in values}
    ids = [uuid.UUID(v) for v in values if v]
    table: Any  # Piccolo's Table type does not declare the generated `id` column
    table, column = {
        Dimension.location: (Location, Location.name),
        Dimension.brand: (Brand, Brand.name),
        Dimension.campaign: (Campaign, Campaign.name),
        Dimension.wave: (Wave, Wave.name),
        Dimension.shopper: (User, User.name),
    }[dimension]
    # Not Piccolo's is_in: it builds a condition object per value (about 6 ms for 300 locations).
    placeholders = ", ".join("?" for _ in ids)
    async with db.reading() as session:
        rows = await session.fetch(
            f"SELECT id, {column._meta.db_column_name} AS label FROM {table._meta.tablename} "
            f"WHERE id IN ({placeholders})",
            *ids,
        )
    return {str(r["id"]): r["label"] for r in rows}


LABELLED = {Dimension.location, Dimension.brand, Dimension.campaign, Dimension.wave, Dimension.shopper}
_NUMERIC_KEYS = {Dimension.hour, Dimension.weekday}


def key_order(dimension: Dimension, value: str | None) -> tuple[int, Any]:
    if value is None:
        return (1, "")
    return (0, int(value) if dimension in _NUMERIC_KEYS else value)


async def _places(location_ids: list[str | None]) -> dict[str, tuple[str, str]]:
    """(brand id, region) of each location, for the brand and region targets a location group falls under."""
    ids = [uuid.UUID(i) for i in location_ids if i]
    rows = (
        await Location.select(Location.id, Location.brand, Location.region).where(Location.id.is_in(ids)) if ids else []
    )
    return {str(r["id"]): (str(r["brand"]), r["region"]) for r in rows}


def _scopes(
    group_by: list[Dimension], key: tuple[str | None, ...], places: dict[str, tuple[str, str]], filters: Filters
) -> dict[TargetScope, str]:
    """The target scopes a group belongs to: its own keys, a location's brand and region, and the filters."""
    scopes: dict[TargetScope, str] = {}
    if filters.brand_id is not None:
        scopes[TargetScope.brand] = str(filters.brand_id)
    if filters.region is not None:
        scopes[TargetScope.region] = filters.region
    if filters.channel is not None:
        scopes[TargetScope.channel] = filters.channel.value
    for dimension, value in zip(group_by, key, strict=True):
        if value is None:
            continue
        if dimension == Dimension.location and value in places:
            scopes[TargetScope.brand], scopes[TargetScope.region] = places[value]
        scope = {
            Dimension.location: TargetScope.location,
            Dimension.brand: TargetScope.brand,
            Dimension.region: TargetScope.region,
            Dimension.channel: TargetScope.channel,
        }.get(dimension)
        if scope is not None:
            scopes[scope] = value
    return scopes


async def _beside(
    group_by: list[Dimension], organisation_id: uuid.UUID, measure: Measure, threshold_s: float
) -> tuple[dict[Dimension, dict[str, str]], dict[tuple[TargetScope, str | None], Target]]:
    """What a comparison shows beside its figures that the figures do not decide, in one reading session: the
    names of the program's locations or brands it groups by, and the measure's targets."""
    async with db.reading() as session:
        names = {d: await program_names(session, d, organisation_id) for d in group_by if d in _PROGRAM}
        goals = await targets.applicable(organisation_id, measure, threshold_s, session)
    return names, goals


async def compare(
    actor: Actor,
    page: PageParams,
    *,
    measure: Measure,
    group_by: list[Dimension],
    filters: Filters,
    min_sample_size: int,
    sort: SortOrder,
    curve: bool = False,
) -> Comparison:
    organisation_id = await scope(actor, filters, filters.include_pending)
    filters = replace(filters, organisation_id=organisation_id)
    spec = measure_sql(measure, filters)
    validate(measure, spec, group_by, actor, filters)
    if curve and spec.kind != FigureKind.survival:
        raise InvalidInput(
            "Only waiting times have a survival curve.", errors=[("curve", "only for Kaplan–Meier measures")]
        )
    waves = await wave_ids(filters)
    dims = [_dimension_sql(d, spec) for d in group_by]
    sql, args = statement(spec, dims, filters, waves)
    few = rollup_source(spec, dims, filters, waves) in ("measure_rollup", "item_rollup")
    if db.is_postgres():
        # The program's names and the measure's targets do not depend on the rows: on PostgreSQL they are read on a
        # second connection while the statement waits on the server (the sleep lets the statement's task start).
        # On SQLite both would compete for the one process (measured: slower), so they are read after it.
        statement_rows = asyncio.ensure_future(fetch_rows(sql, args, filters))
        try:
            await asyncio.sleep(0)
            names, goals = await _beside(group_by, organisation_id, measure, filters.threshold_s)
        except BaseException:
            statement_rows.cancel()
            raise
        rows = await statement_rows
    else:
        rows = await fetch_rows(sql, args, filters, few=few)
        names, goals = await _beside(group_by, organisation_id, measure, filters.threshold_s)
    collected = list(_collect(spec.kind, rows, len(group_by), _steps(spec)).values())
    figures = _figures(spec.kind, spec, collected, min_sample_size, curve)
    tier_of = _tiers(spec.kind, spec, collected, figures)
    keys = [{v for g in collected if (v := g.key[k])} for k in range(len(group_by))]
    labels = {
        d: {key: label for key, label in names[d].items() if key in keys[k]}
        if d in names
        else await group_labels(d, keys[k], organisation_id)
        if d in LABELLED
        else await item_labels(organisation_id, keys[k])
        if d in (Dimension.item, Dimension.section)
        else {}
        for k, d in enumerate(group_by)
    }
    places = (
        await _places([g.key[group_by.index(Dimension.location)] for g in collected])
        if goals and Dimension.location in group_by
        else {}
    )
    groups = []
    for g, figure, tier in zip(collected, figures, tier_of, strict=True):
        goal = targets.pick(goals, _scopes(group_by, g.key, places, filters)) if goals else None
        groups.append(
            ComparisonGroup(
                keys=[
                    GroupKey(dimension=d, value=g.key[k], label=labels[d].get(g.key[k] or ""))
                    for k, d in enumerate(group_by)
                ],
                figure=figure,
                tier=tier,
                target=None if goal is None else targets.check(figure, goal),
            )
        )

    def by_key(c: ComparisonGroup) -> tuple[Any, ...]:
        return tuple(key_order(k.dimension, k.value) for k in c.keys)

    if sort == SortOrder.key:
        groups.sort(key=by_key)
    else:
        sign = 1 if spec.higher_is_better == (sort == SortOrder.best) else -1
        groups.sort(
            key=lambda c: (
                c.tier is None,
                (c.tier or 0) * (1 if sort == SortOrder.best else -1),
                -sign * (c.figure.value or 0),
                by_key(c),
            )
        )
    return Comparison(
        organisation_id=organisation_id,
        measure=measure,
        kind=spec.kind,
        unit=spec.unit,
        higher_is_better=spec.higher_is_better,
        group_by=group_by,
        min_sample_size=min_sample_size,
        threshold_s=filters.threshold_s if measure == Measure.service_level else None,
        include_pending=filters.include_pending,
        confidence=st.CONFIDENCE,
        method=method_text(spec.kind, spec),
        groups=groups[page.offset : page.offset + page.limit],
        total=len(groups),
        limit=page.limit,
        offset=page.offset,
    )


async def own_versus_competitors(
    actor: Actor, *, measure: Measure, filters: Filters, min_sample_size: int
) -> OwnVersusCompetitors:
    """The organisation's own brands together against each competitor brand: the difference and its interval."""
    organisation_id = await scope(actor, filters, filters.include_pending)
    filters = replace(filters, organisation_id=organisation_id, relation=None)
    spec = measure_sql(measure, filters)
    validate(measure, spec, [Dimension.relation], actor, filters)
    waves = await wave_ids(filters)
    sql, args = statement(spec, ["ob.relation", "l.brand"], filters, waves)
    rows = await fetch_rows(sql, args, filters)
    by_brand = _collect(spec.kind, rows, 2, _steps(spec))
    own = _Group(("own",), times=[], events=[], reps=[])
    competitors: dict[str, _Group] = {}
    for (relation, brand), g in by_brand.items():
        target = (
            own
            if relation == BrandRelation.own.value
            else competitors.setdefault(brand or "", _Group((brand,), times=[], events=[], reps=[]))
        )
        target.pending += g.pending
        target.moments += g.moments
        target.counts += g.counts
        target.nps += g.nps
        if g.times is not None:  # a survival measure's
            assert target.times is not None and target.events is not None and target.reps is not None
            assert g.events is not None and g.reps is not None
            target.times += g.times
            target.events += g.events
            target.reps += g.reps
    names = await group_labels(Dimension.brand, set(competitors), organisation_id)
    own_figure = _figure(spec.kind, spec, own, min_sample_size)
    result = []
    for brand, g in sorted(competitors.items(), key=lambda kv: names.get(kv[0], "")):
        figure = _figure(spec.kind, spec, g, min_sample_size)
        if spec.kind == FigureKind.mean:
            diff = st.mean_difference(own.moments, g.moments, min_n=min_sample_size)
        elif spec.kind == FigureKind.proportion:
            diff = st.proportion_difference(own.counts, g.counts, min_n=min_sample_size)
        elif spec.kind == FigureKind.nps:
            diff = st.nps_difference(own.nps, g.nps, min_n=min_sample_size)
        else:  # medians: the difference without an interval (each median's own interval is in the figures)
            gap = own_figure.value - figure.value if own_figure.value is not None and figure.value is not None else None
            diff = st.Difference(gap, None, None, None)
        result.append(
            CompetitorDifference(
                brand_id=uuid.UUID(brand),
                brand_name=names.get(brand, ""),
                competitor=figure,
                difference=diff.difference,
                ci_low=diff.low,
                ci_high=diff.high,
                significant=diff.significant,
            )
        )
    method = method_text(spec.kind, spec).split(" Tiers:")[0] + (
        " Differences own − competitor: "
        + {
            FigureKind.mean: "Welch's t-interval (Welch–Satterthwaite degrees of freedom).",
            FigureKind.proportion: "Newcombe's hybrid score interval (statsmodels confint_proportions_2indep, "
            "method newcomb).",
            FigureKind.nps: "normal interval with the two NPS variances added.",
            FigureKind.survival: "the difference of the medians, without an interval (compare the medians' own "
            "intervals).",
        }[spec.kind]
    )
    return OwnVersusCompetitors(
        organisation_id=organisation_id,
        measure=measure,
        kind=spec.kind,
        unit=spec.unit,
        higher_is_better=spec.higher_is_better,
        min_sample_size=min_sample_size,
        include_pending=filters.include_pending,
        method=method,
        own=own_figure,
        competitors=result,
    )


__all__ = ["DIMENSIONS", "Filters", "compare", "own_versus_competitors", "scope"]

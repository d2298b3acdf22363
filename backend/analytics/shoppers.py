"""Shopper effects: how strictly each shopper rates, scores adjusted for it, and agreement between shoppers."""

from __future__ import annotations

import itertools
import uuid
from collections import defaultdict
from dataclasses import replace

from api_schemas.accounts import Role
from api_schemas.analytics import (
    AdjustedGroup,
    Dimension,
    Figure,
    GroupKey,
    Measure,
    ShopperAgreement,
    ShopperEffect,
    ShopperEffects,
)
from backend.accounts.security import Actor
from backend.analytics import comparison as c
from backend.analytics import statistics as st
from backend.errors import InvalidInput

METHOD = (
    "Linear mixed model (statsmodels MixedLM, REML): score = group mean + shopper intercept + noise, the shopper "
    "intercept random (normal, mean 0). adjusted = each group's mean at an average shopper (its fixed effect, Wald "
    "95% interval): shopper strictness removed, which matters when groups were shopped by different shoppers. "
    "effect = each shopper's predicted intercept (BLUP) with a 95% interval from its conditional variance; flagged "
    "when the interval excludes 0 and |effect| >= flag_points. Agreement: pairs of reports by two different "
    "shoppers at the same location in the same wave, daypart and day type (weekday, Saturday, Sunday)."
)
_GROUPABLE = (
    Dimension.location,
    Dimension.region,
    Dimension.brand,
    Dimension.relation,
    Dimension.channel,
    Dimension.wave,
    Dimension.daypart,
)


def _figure(r: st.MeanInterval) -> Figure:
    return Figure(n=r.n, enough_data=r.enough_data, value=r.mean, ci_low=r.low, ci_high=r.high)


def _day_type(weekday: str | None) -> str:
    return {"6": "saturday", "7": "sunday"}.get(weekday or "", "weekday")


async def shopper_effects(
    actor: Actor, *, group_by: Dimension, filters: c.Filters, min_sample_size: int, flag_points: float
) -> ShopperEffects:
    organisation_id = await c.scope(actor, filters, filters.include_pending)
    filters = replace(filters, organisation_id=organisation_id)
    if group_by not in _GROUPABLE:
        raise InvalidInput(
            "Shopper effects group by a place, channel, wave or daypart.",
            errors=[("group_by", "one of " + ", ".join(d.value for d in _GROUPABLE))],
        )
    spec = c.measure_sql(Measure.score, filters)
    c.validate(Measure.score, spec, [group_by], actor, filters)
    waves = await c.wave_ids(filters)
    # One row per report: grouped by its own id, so the sums are the report's score.
    dims = [
        c.DIMENSIONS[group_by],
        "f.shopper",
        "f.id",
        "f.wave",
        "f.location",
        "f.daypart",
        "f.local_weekday",
        "CASE WHEN f.failed THEN 1 ELSE 0 END",
    ]
    sql, args = c.statement(spec, dims, filters, waves)
    rows = await c.fetch_rows(sql, args, filters)
    reports = [
        (
            c.key_text(r["g0"]),
            c.key_text(r["g1"]),
            float(r["s"]),
            c.key_text(r["g3"]),
            c.key_text(r["g4"]),
            c.key_text(r["g5"]),
            c.key_text(r["g6"]),
            bool(int(r["g7"])),
        )
        for r in rows
    ]

    by_group: dict[str | None, list[float]] = defaultdict(list)
    for group, _shopper, score, *_ in reports:
        by_group[group].append(score)
    model = st.shopper_model([(g or "", s, score) for g, s, score, *_ in reports if s is not None])
    adjusted = {e.key: e for e in model.groups} if model else {}
    labels = await c.group_labels(group_by, {g for g in by_group if g}) if group_by in c.LABELLED else {}
    groups = []
    for group, scores in sorted(by_group.items(), key=lambda kv: c.key_order(group_by, kv[0])):
        moments = st.Moments(len(scores), sum(scores), sum(x * x for x in scores))
        raw = _figure(st.mean_interval(moments, min_n=min_sample_size))
        effect = adjusted.get(group or "")
        enough = effect is not None and len(scores) >= min_sample_size
        estimate = effect if enough else None
        groups.append(
            AdjustedGroup(
                key=GroupKey(dimension=group_by, value=group, label=labels.get(group or "")),
                raw=raw,
                adjusted=Figure(
                    n=len(scores),
                    enough_data=enough,
                    value=estimate.estimate if estimate else None,
                    ci_low=max(0.0, estimate.low) if estimate else None,
                    ci_high=min(100.0, estimate.high) if estimate else None,
                ),
            )
        )

    shoppers: list[ShopperEffect] = []
    if model and actor.role in (Role.admin, Role.coordinator):
        names = await c.group_labels(Dimension.shopper, {e.key for e in model.shoppers})
        shoppers = sorted(
            (
                ShopperEffect(
                    shopper_id=uuid.UUID(e.key),
                    shopper_name=names.get(e.key, ""),
                    n=e.n,
                    effect=e.estimate,
                    ci_low=e.low,
                    ci_high=e.high,
                    flagged=not (e.low <= 0 <= e.high) and abs(e.estimate) >= flag_points,
                )
                for e in model.shoppers
            ),
            key=lambda e: e.effect,
        )

    slots: dict[tuple[str | None, ...], list[tuple[str | None, float, bool]]] = defaultdict(list)
    for _g, shopper, score, wave, location, daypart, weekday, failed in reports:
        if wave is not None:
            slots[(wave, location, daypart, _day_type(weekday))].append((shopper, score, failed))
    differences, same = [], []
    for visits in slots.values():
        for (a, sa, fa), (b, sb, fb) in itertools.combinations(visits, 2):
            if a != b:
                differences.append(abs(sa - sb))
                same.append(fa == fb)
    agreement = ShopperAgreement(
        pairs=len(differences),
        mean_abs_difference=_figure(
            st.mean_interval(
                st.Moments(len(differences), sum(differences), sum(d * d for d in differences)), min_n=min_sample_size
            )
        ),
        same_critical_outcome=_figure(st.wilson(st.Counts(len(same), sum(same)), min_n=min_sample_size)),
    )
    return ShopperEffects(
        organisation_id=organisation_id,
        group_by=group_by,
        basis=filters.basis,
        method=METHOD,
        fitted=model is not None,
        shopper_sd=model.shopper_sd if model else None,
        residual_sd=model.residual_sd if model else None,
        flag_points=flag_points,
        groups=groups,
        shoppers=shoppers,
        agreement=agreement,
    )


__all__ = ["METHOD", "shopper_effects"]

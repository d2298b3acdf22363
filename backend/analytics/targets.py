"""Targets: a manager's goal for a measure at a scope, and how a figure stands against it."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec

from api_schemas.accounts import Role
from api_schemas.analytics import (
    Figure,
    Measure,
    Target,
    TargetCheck,
    TargetCreate,
    TargetDirection,
    TargetScope,
    TargetUpdate,
)
from api_schemas.common import Page
from api_schemas.forms import Channel
from backend import db, moments
from backend.accounts.security import Actor
from backend.analytics import tables as t
from backend.analytics.measures import MEASURES
from backend.errors import Conflict, InvalidInput, NotFound, is_unique_violation
from backend.locations.tables import Location, OrganisationBrand
from backend.pagination import PageParams, page_of, paged, scoped_row

# Which scope a group's keys name, most specific first: the target of the most specific scope applies.
PRECEDENCE = (
    TargetScope.location,
    TargetScope.brand,
    TargetScope.region,
    TargetScope.channel,
    TargetScope.organisation,
)
_RANGES = {"share": (0.0, 1.0), "points": (0.0, 100.0), "nps": (-100.0, 100.0)}


def status(figure: Figure, target: float, direction: TargetDirection) -> tuple[float | None, str | None]:
    """(gap = value − target, meets | misses | uncertain): meets when the whole 95% interval is on the target's
    good side, misses when it is wholly on the bad side, uncertain otherwise (an open bound reaches infinity)."""
    if not figure.enough_data or figure.value is None:
        return None, None
    low = figure.ci_low if figure.ci_low is not None else figure.value
    high = figure.ci_high if figure.ci_high is not None else float("inf")
    gap = figure.value - target
    if direction == TargetDirection.at_least:
        verdict = "meets" if low >= target else "misses" if high < target else "uncertain"
    else:
        verdict = "meets" if high <= target else "misses" if low > target else "uncertain"
    return gap, verdict


def _target(row: dict[str, Any]) -> Target:
    return Target(
        id=row["id"],
        organisation_id=row["organisation"],
        measure=Measure(row["measure"]),
        scope=TargetScope(row["scope"]),
        scope_value=row["scope_value"],
        target=row["target"],
        direction=TargetDirection(row["direction"]),
        threshold_s=row["threshold_s"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _organisation(actor: Actor, organisation_id: uuid.UUID | None) -> uuid.UUID:
    if actor.role == Role.manager:
        if organisation_id not in (None, actor.organisation_id):
            raise NotFound("No such organisation.", code="organisation.not_found")
        return actor.organisation_id  # type: ignore[return-value]
    if organisation_id is None:
        raise InvalidInput("Say whose target this is.", errors=[("organisation_id", "required")])
    return organisation_id


async def _check_scope(organisation_id: uuid.UUID, data: TargetCreate) -> str | None:
    if data.scope == TargetScope.organisation:
        if data.scope_value is not None:
            raise InvalidInput(
                "An organisation-wide target names no scope value.",
                errors=[("scope_value", "must be null for scope organisation")],
            )
        return None
    value = data.scope_value
    if value is None:
        raise InvalidInput("Say which one.", errors=[("scope_value", f"required for scope {data.scope.value}")])
    if data.scope == TargetScope.channel:
        if value not in {c.value for c in Channel}:
            raise InvalidInput(
                "No such channel.", errors=[("scope_value", "one of " + ", ".join(c.value for c in Channel))]
            )
        return value
    if data.scope == TargetScope.region:
        return value
    try:
        ident = uuid.UUID(value)
    except ValueError:
        raise InvalidInput("Not an id.", errors=[("scope_value", "a UUID")]) from None
    brands = OrganisationBrand.select(OrganisationBrand.brand).where(OrganisationBrand.organisation == organisation_id)
    if data.scope == TargetScope.brand:
        found = await OrganisationBrand.exists().where(
            (OrganisationBrand.organisation == organisation_id) & (OrganisationBrand.brand == ident)
        )
    else:
        found = await Location.exists().where((Location.id == ident) & Location.brand.is_in(brands))
    if not found:
        raise InvalidInput(
            f"No such {data.scope.value} in this organisation's program.",
            errors=[("scope_value", f"no such {data.scope.value}")],
        )
    return str(ident)


def _check_value(measure: Measure, value: float, field: str = "target") -> None:
    low, high = _RANGES.get(MEASURES[measure].unit, (0.0, 1e9))
    if not low <= value <= high:
        raise InvalidInput(
            "The target is outside the measure's scale.",
            errors=[(field, f"between {low:g} and {high:g} for {measure.value}")],
        )


async def create(actor: Actor, data: TargetCreate) -> Target:
    organisation_id = _organisation(actor, data.organisation_id)
    if not await _exists_organisation(organisation_id):
        raise NotFound("No such organisation.", code="organisation.not_found")
    _check_value(data.measure, data.target)
    if (data.measure == Measure.service_level) != (data.threshold_s is not None):
        raise InvalidInput(
            "threshold_s belongs to service_level targets only, and they need it.",
            errors=[("threshold_s", "required for service_level, null otherwise")],
        )
    scope_value = await _check_scope(organisation_id, data)
    now = moments.now()
    row = t.Target(
        id=uuid.uuid4(),
        organisation=organisation_id,
        measure=data.measure.value,
        scope=data.scope.value,
        scope_value=scope_value,
        target=data.target,
        direction=data.direction.value,
        threshold_s=data.threshold_s,
        created_by=actor.user_id,
        created_at=now,
        updated_at=now,
    )
    try:
        async with db.writing():
            await t.Target.insert(row)
    except Exception as exc:
        if is_unique_violation(exc):
            raise Conflict(
                "There is already a target for this measure and scope; change that one.", code="target.exists"
            ) from None
        raise
    return await get(actor, row.id)


async def _exists_organisation(organisation_id: uuid.UUID) -> bool:
    from backend.accounts.tables import Organisation

    return await Organisation.exists().where(Organisation.id == organisation_id)


def _scoped(actor: Actor) -> Any:
    return t.Target.organisation == actor.organisation_id if actor.role == Role.manager else None


async def get(actor: Actor, target_id: uuid.UUID) -> Target:
    row = await scoped_row(
        t.Target.select().where(t.Target.id == target_id),
        _scoped(actor),
        NotFound("No such target.", code="target.not_found"),
    )
    return _target(row)


async def list_targets(
    actor: Actor, page: PageParams, organisation_id: uuid.UUID | None, measure: Measure | None
) -> Page[Target]:
    conditions = []
    if actor.role == Role.manager:
        if organisation_id not in (None, actor.organisation_id):
            raise NotFound("No such organisation.", code="organisation.not_found")
        organisation_id = actor.organisation_id
    if organisation_id is not None:
        conditions.append(t.Target.organisation == organisation_id)
    if measure is not None:
        conditions.append(t.Target.measure == measure.value)
    query = t.Target.select().order_by(t.Target.measure).order_by(t.Target.scope).order_by(t.Target.id)
    rows, total = await paged(query, t.Target.count(), conditions, page)
    return page_of([_target(r) for r in rows], total, page)


async def update(actor: Actor, target_id: uuid.UUID, data: TargetUpdate) -> Target:
    current = await get(actor, target_id)
    changes: dict[Any, Any] = {t.Target.updated_at: moments.now()}
    if data.target is not msgspec.UNSET:
        _check_value(current.measure, data.target)
        changes[t.Target.target] = data.target
    if data.direction is not msgspec.UNSET:
        changes[t.Target.direction] = data.direction.value
    async with db.writing():
        await t.Target.update(changes).where(t.Target.id == target_id)
    return await get(actor, target_id)


async def delete(actor: Actor, target_id: uuid.UUID) -> None:
    await get(actor, target_id)
    async with db.writing():
        await t.Target.delete().where(t.Target.id == target_id)


async def applicable(
    organisation_id: uuid.UUID, measure: Measure, threshold_s: float | None, session: db.Session | None = None
) -> dict[tuple[TargetScope, str | None], Target]:
    """The organisation's targets for a measure by (scope, scope_value); service level: for this threshold.
    Hand-written SQL: every comparison asks (db.reading: on SQLite the event loop's own reader, no Piccolo query
    building); in `session` when the caller has one open."""
    sql = f"SELECT * FROM {t.Target._meta.tablename} WHERE organisation = ? AND measure = ?"
    if session is None:
        async with db.reading() as own:
            rows = await own.fetch(sql, organisation_id, measure.value)
    else:
        rows = await session.fetch(sql, organisation_id, measure.value)
    return {
        (TargetScope(r["scope"]), r["scope_value"]): _target(r)
        for r in rows
        if measure != Measure.service_level or r["threshold_s"] == threshold_s
    }


def pick(targets: dict[tuple[TargetScope, str | None], Target], scopes: dict[TargetScope, str]) -> Target | None:
    """The most specific target among the scopes a group belongs to."""
    for scope in PRECEDENCE:
        key = (scope, None if scope == TargetScope.organisation else scopes.get(scope))
        if scope != TargetScope.organisation and key[1] is None:
            continue
        if key in targets:
            return targets[key]
    return None


def check(figure: Figure, target: Target) -> TargetCheck:
    gap, verdict = status(figure, target.target, target.direction)
    scope = target.scope.value + (f":{target.scope_value}" if target.scope_value else "")
    return TargetCheck(
        target_id=target.id,
        scope=scope,
        target=target.target,
        direction=target.direction.value,
        gap=gap,
        status=verdict,
    )


__all__ = ["PRECEDENCE", "applicable", "check", "create", "delete", "get", "list_targets", "pick", "status", "update"]

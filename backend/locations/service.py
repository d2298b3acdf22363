"""Locations service: brands, own/competitor relations and locations, scoped by the actor."""

from __future__ import annotations

import uuid
import zoneinfo
from typing import Any

import msgspec

from api_schemas.accounts import Role
from api_schemas.common import Page
from api_schemas.locations import (
    Brand,
    BrandCreate,
    BrandRelation,
    BrandUpdate,
    Location,
    LocationCreate,
    LocationImport,
    LocationUpdate,
    OpeningInterval,
    OrganisationBrand,
    OrganisationBrandSet,
)
from backend import db
from backend.accounts.security import Actor
from backend.accounts.tables import Organisation
from backend.audit.service import record
from backend.errors import Conflict, Forbidden, InvalidInput, NotFound
from backend.locations import hours, importing
from backend.locations import tables as t
from backend.moments import now
from backend.pagination import PageParams, contains, converted_page, scoped_row


def check_timezone(name: str) -> None:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            f"Unknown time zone {name!r}.", errors=[("timezone", "not an IANA time zone name")]
        ) from None


def check_opening_hours(intervals: list[OpeningInterval]) -> None:
    """Overnight intervals (22:00–02:00), whole days (00:00–24:00) and closed days (no interval) are
    sound; an interval that opens and closes at the same time, or overlaps another (across midnight
    too), is 422 naming it (rules in backend/locations/hours.py)."""
    problems = hours.hours_problems([(i.day.value, i.opens, i.closes) for i in intervals])
    if problems:
        raise InvalidInput("Opening hours are inconsistent.", errors=problems)


# ---------------------------------------------------------------- brands


async def list_brands(actor: Actor, page: PageParams, q: str | None) -> Page[Brand]:
    query = t.Brand.select(t.Brand.id, t.Brand.name, t.Brand.created_at).order_by(t.Brand.name)
    clauses = [contains(q, t.Brand.name) if q else None]
    if actor.role == Role.manager:
        clauses.append(
            t.Brand.id.is_in(
                t.OrganisationBrand.select(t.OrganisationBrand.brand).where(
                    t.OrganisationBrand.organisation == actor.organisation_id
                )
            )
        )
    return await converted_page(query, t.Brand.count(), clauses, page, Brand)


async def get_brand(actor: Actor, brand_id: uuid.UUID) -> Brand:
    query = t.Brand.select(t.Brand.id, t.Brand.name, t.Brand.created_at).where(t.Brand.id == brand_id)
    row = await query.first()
    if row is None or (actor.role == Role.manager and not await _brand_related(actor.organisation_id, brand_id)):
        raise NotFound("No such brand.", code="brand.not_found")
    return msgspec.convert(row, Brand)


async def _brand_related(organisation_id: uuid.UUID | None, brand_id: uuid.UUID) -> bool:
    return await t.OrganisationBrand.exists().where(
        (t.OrganisationBrand.organisation == organisation_id) & (t.OrganisationBrand.brand == brand_id)
    )


async def create_brand(actor: Actor, data: BrandCreate) -> Brand:
    async with db.writing():
        if await t.Brand.exists().where(t.Brand.name == data.name):
            raise Conflict(
                "A brand with this name exists.", code="brand.duplicate_name", errors=[("name", "already used")]
            )
        brand_id = uuid.uuid4()
        await t.Brand.insert(t.Brand(id=brand_id, name=data.name, created_at=now()))
        await record(actor.user_id, "brand.created", "brand", brand_id, {"name": data.name})
    return await get_brand(actor, brand_id)


async def update_brand(actor: Actor, brand_id: uuid.UUID, data: BrandUpdate) -> Brand:
    async with db.writing():
        await get_brand(actor, brand_id)
        if data.name is not msgspec.UNSET:
            if await t.Brand.exists().where((t.Brand.name == data.name) & (t.Brand.id != brand_id)):
                raise Conflict(
                    "A brand with this name exists.", code="brand.duplicate_name", errors=[("name", "already used")]
                )
            await t.Brand.update({t.Brand.name: data.name}).where(t.Brand.id == brand_id)
            await record(actor.user_id, "brand.updated", "brand", brand_id, {"name": data.name})
    return await get_brand(actor, brand_id)


# ---------------------------------------------------------------- own / competitor


_RELATION_COLUMNS = (
    t.OrganisationBrand.organisation.as_alias("organisation_id"),
    t.OrganisationBrand.brand.as_alias("brand_id"),
    t.OrganisationBrand.brand.name.as_alias("brand_name"),
    t.OrganisationBrand.relation,
)


def _check_org_visible(actor: Actor, organisation_id: uuid.UUID) -> None:
    if actor.role == Role.manager and actor.organisation_id != organisation_id:
        raise NotFound("No such organisation.", code="organisation.not_found")


async def list_organisation_brands(
    actor: Actor, organisation_id: uuid.UUID, relation: BrandRelation | None, page: PageParams
) -> Page[OrganisationBrand]:
    _check_org_visible(actor, organisation_id)
    if not await Organisation.exists().where(Organisation.id == organisation_id):
        raise NotFound("No such organisation.", code="organisation.not_found")
    query = (
        t.OrganisationBrand.select(*_RELATION_COLUMNS)
        .order_by(t.OrganisationBrand.relation, ascending=False)
        .order_by(t.OrganisationBrand.brand.name)
        .order_by(t.OrganisationBrand.id)
    )
    clauses = [
        t.OrganisationBrand.organisation == organisation_id,
        t.OrganisationBrand.relation == relation.value if relation else None,
    ]
    return await converted_page(query, t.OrganisationBrand.count(), clauses, page, OrganisationBrand)


async def set_organisation_brand(
    actor: Actor, organisation_id: uuid.UUID, brand_id: uuid.UUID, data: OrganisationBrandSet
) -> OrganisationBrand:
    async with db.writing():
        if not await Organisation.exists().where(Organisation.id == organisation_id):
            raise NotFound("No such organisation.", code="organisation.not_found")
        await get_brand(actor, brand_id)
        where = (t.OrganisationBrand.organisation == organisation_id) & (t.OrganisationBrand.brand == brand_id)
        if await t.OrganisationBrand.exists().where(where):
            await t.OrganisationBrand.update({t.OrganisationBrand.relation: data.relation.value}).where(where)
        else:
            await t.OrganisationBrand.insert(
                t.OrganisationBrand(
                    id=uuid.uuid4(), organisation=organisation_id, brand=brand_id, relation=data.relation.value
                )
            )
        await record(
            actor.user_id,
            "organisation_brand.set",
            "organisation",
            organisation_id,
            {"brand_id": str(brand_id), "relation": data.relation.value},
        )
    row = await t.OrganisationBrand.select(*_RELATION_COLUMNS).where(where).first()
    return msgspec.convert(row, OrganisationBrand)


# ---------------------------------------------------------------- locations


_LOCATION_COLUMNS = (
    t.Location.id,
    t.Location.brand.as_alias("brand_id"),
    t.Location.name,
    t.Location.code,
    t.Location.region,
    t.Location.district,
    t.Location.address,
    t.Location.lat,
    t.Location.lon,
    t.Location.phone,
    t.Location.email,
    t.Location.timezone,
    t.Location.opening_hours,
    t.Location.created_at,
)


def _location_scope(actor: Actor) -> Any:
    if actor.role == Role.manager:
        return t.Location.brand.is_in(
            t.OrganisationBrand.select(t.OrganisationBrand.brand).where(
                t.OrganisationBrand.organisation == actor.organisation_id
            )
        )
    if actor.role == Role.shopper:
        raise Forbidden("Shoppers see locations through their tasks.")
    return None


async def list_locations(
    actor: Actor,
    page: PageParams,
    *,
    brand_id: uuid.UUID | None,
    region: str | None,
    organisation_id: uuid.UUID | None,
    relation: BrandRelation | None,
    q: str | None,
) -> Page[Location]:
    if actor.role == Role.manager:
        organisation_id = actor.organisation_id
    if relation and organisation_id is None:
        raise InvalidInput(
            "Own/competitor depends on the organisation.", errors=[("organisation_id", "required with relation")]
        )
    clauses = [
        _location_scope(actor),
        t.Location.brand == brand_id if brand_id else None,
        t.Location.region == region if region else None,
        contains(q, t.Location.name, t.Location.address) if q else None,
    ]
    if organisation_id:
        related = t.OrganisationBrand.select(t.OrganisationBrand.brand).where(
            t.OrganisationBrand.organisation == organisation_id
        )
        if relation:
            related = related.where(t.OrganisationBrand.relation == relation.value)
        clauses.append(t.Location.brand.is_in(related))
    query = (
        t.Location.select(*_LOCATION_COLUMNS)
        .order_by(t.Location.region)
        .order_by(t.Location.name)
        .order_by(t.Location.id)
    )  # unique last: pages never overlap or skip rows
    return await converted_page(query, t.Location.count(), clauses, page, Location, load_json=True)


async def get_location(actor: Actor, location_id: uuid.UUID) -> Location:
    row = await scoped_row(
        t.Location.select(*_LOCATION_COLUMNS).where(t.Location.id == location_id),
        _location_scope(actor),
        NotFound("No such location.", code="location.not_found"),
        load_json=True,
    )
    return msgspec.convert(row, Location)


def _check_location(tz: str | None, lat: float | None, lon: float | None, hours: list[OpeningInterval] | None) -> None:
    if tz is not None:
        check_timezone(tz)
    if (lat is None) != (lon is None):
        raise InvalidInput(
            "Give both coordinates or neither.", errors=[("lon" if lon is None else "lat", "missing its pair")]
        )
    if hours is not None:
        check_opening_hours(hours)


async def create_location(actor: Actor, data: LocationCreate) -> Location:
    _check_location(data.timezone, data.lat, data.lon, data.opening_hours)
    async with db.writing():
        if not await t.Brand.exists().where(t.Brand.id == data.brand_id):
            raise InvalidInput("Unknown brand.", errors=[("brand_id", "no such brand")])
        if data.code and await t.Location.exists().where(t.Location.code == data.code):
            raise Conflict(
                "A location with this code exists.", code="location.duplicate_code", errors=[("code", "already used")]
            )
        location_id = uuid.uuid4()
        await t.Location.insert(
            t.Location(
                id=location_id,
                brand=data.brand_id,
                name=data.name,
                code=data.code,
                region=data.region,
                district=data.district,
                address=data.address,
                lat=data.lat,
                lon=data.lon,
                phone=data.phone,
                email=data.email.lower() if data.email else None,
                timezone=data.timezone,
                opening_hours=msgspec.to_builtins(data.opening_hours),
                created_at=now(),
            )
        )
        await record(actor.user_id, "location.created", "location", location_id, {"name": data.name})
    return await get_location(actor, location_id)


async def update_location(actor: Actor, location_id: uuid.UUID, data: LocationUpdate) -> Location:
    changes = {name: value for name in data.__struct_fields__ if (value := getattr(data, name)) is not msgspec.UNSET}
    async with db.writing():
        current = await get_location(actor, location_id)
        merged = msgspec.structs.replace(current, **changes)
        _check_location(merged.timezone, merged.lat, merged.lon, merged.opening_hours)
        if (
            "code" in changes
            and changes["code"]
            and await t.Location.exists().where((t.Location.code == changes["code"]) & (t.Location.id != location_id))
        ):
            raise Conflict(
                "A location with this code exists.", code="location.duplicate_code", errors=[("code", "already used")]
            )
        if changes.get("email"):
            changes["email"] = changes["email"].lower()
        if "opening_hours" in changes:
            changes["opening_hours"] = msgspec.to_builtins(changes["opening_hours"])
        if changes:
            await t.Location.update({getattr(t.Location, k): v for k, v in changes.items()}).where(
                t.Location.id == location_id
            )
            await record(actor.user_id, "location.updated", "location", location_id, {"changed": sorted(changes)})
    return await get_location(actor, location_id)


_IMPORTED_FIELDS = (
    "brand",
    "name",
    "region",
    "district",
    "address",
    "lat",
    "lon",
    "phone",
    "email",
    "timezone",
    "opening_hours",
)


def _check_row(location: LocationCreate, where: str) -> list[tuple[str, str]]:
    """The create-time checks (zone, coordinates in pairs, opening hours), as problems of this row."""
    try:
        _check_location(location.timezone, location.lat, location.lon, location.opening_hours)
    except InvalidInput as exc:
        return [(f"{where}.{e.field.split('[')[0]}", e.reason) for e in exc.errors]
    return []


async def import_locations(actor: Actor, data: bytes) -> LocationImport:
    """Create or update locations from a CSV/XLSX file, matched on their code; all rows or none."""
    try:
        rows = importing.read_rows(data)
    except importing.UnreadableFile as exc:
        raise InvalidInput(
            f"The file cannot be imported: {exc}.", code="location.import_invalid", errors=[("file", str(exc))]
        ) from None
    problems = importing.header_problems(rows)
    if problems:
        raise InvalidInput("The file's columns are not right.", code="location.import_invalid", errors=problems)
    # Brands by name as a person types it (case ignored); a tenant has tens of brands, not millions.
    wanted = {row.get("brand", "").casefold() for row in rows}
    brands = {
        r["name"].casefold(): r["id"]
        for r in await t.Brand.select(t.Brand.id, t.Brand.name)
        if r["name"].casefold() in wanted
    }
    parsed: list[LocationCreate] = []
    seen: dict[str, str] = {}
    for row in rows:
        where = f"row {row['__row__']}"
        brand_id = brands.get(row.get("brand", "").casefold())
        if brand_id is None:
            problems.append((f"{where}.brand", "required" if not row.get("brand") else "no such brand"))
            continue
        location, row_problems = importing.row_fields(row, str(brand_id))
        if location is not None:
            row_problems = _check_row(location, where)
        problems += row_problems
        if location is None or row_problems:
            continue
        assert location.code is not None  # a required column of an import (importing.REQUIRED)
        if location.code in seen:
            problems.append((f"{where}.code", f"repeats the code of {seen[location.code]}"))
            continue
        seen[location.code] = where
        parsed.append(location)
    if problems:
        raise InvalidInput(
            f"The file has {len(problems)} problem(s); nothing was imported.",
            code="location.import_invalid",
            errors=problems[:500],
        )
    created = updated = 0
    async with db.writing():
        existing = (
            {
                r["code"]: r
                for r in await t.Location.select(
                    t.Location.id, t.Location.code, *(getattr(t.Location, f) for f in _IMPORTED_FIELDS)
                )
                .where(t.Location.code.is_in(list(seen)))
                .output(load_json=True)
            }
            if seen
            else {}
        )
        imported_at = now()
        for location in parsed:
            values = {
                "brand": location.brand_id,
                "name": location.name,
                "region": location.region,
                "district": location.district,
                "address": location.address,
                "lat": location.lat,
                "lon": location.lon,
                "phone": location.phone,
                "email": location.email.lower() if location.email else None,
                "timezone": location.timezone,
                "opening_hours": msgspec.to_builtins(location.opening_hours),
            }
            current = existing.get(location.code)
            if current is None:
                location_id = uuid.uuid4()
                await t.Location.insert(
                    t.Location(id=location_id, code=location.code, created_at=imported_at, **values)
                )
                await record(
                    actor.user_id,
                    "location.created",
                    "location",
                    location_id,
                    {"name": location.name, "imported": True},
                )
                created += 1
                continue
            changed = {
                k: v
                for k, v in values.items()
                if (str(current[k]) if k == "brand" else current[k]) != (str(v) if k == "brand" else v)
            }
            if changed:
                await t.Location.update({getattr(t.Location, k): v for k, v in changed.items()}).where(
                    t.Location.id == current["id"]
                )
                await record(
                    actor.user_id,
                    "location.updated",
                    "location",
                    current["id"],
                    {"changed": sorted(changed), "imported": True},
                )
                updated += 1
    return LocationImport(rows=len(parsed), created=created, updated=updated, unchanged=len(parsed) - created - updated)

"""Locations HTTP API: brands, own/competitor relations, locations."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from litestar import Controller, get, patch, post, put
from litestar.datastructures import UploadFile
from litestar.params import FromPath, FromQuery, JSONBody, MultipartBody, QueryParameter

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
    OrganisationBrand,
    OrganisationBrandSet,
)
from backend.accounts.guards import STAFF, requires_roles, roles
from backend.deps import ActorDep, PageDep
from backend.locations import service
from backend.openapi import problems
from backend.pagination import Search
from backend.visible_filters import require_visible

READERS = (Role.admin, Role.coordinator, Role.manager)
MAX_IMPORT_BYTES = 5 * 1024 * 1024


@dataclass
class LocationsUpload:
    """A CSV or XLSX file, one row per location (see backend.locations.importing for the columns)."""

    file: UploadFile


class BrandController(Controller):
    path = "/brands"
    tags = ["locations"]
    guards = [requires_roles]

    @get("/", operation_id="ListBrands", opt=roles(*READERS), responses=problems())
    async def list_brands(self, actor: ActorDep, page: PageDep, q: Search = None) -> Page[Brand]:
        """Brands; a manager sees their own and their competitors'."""
        return await service.list_brands(actor, page, q)

    @post("/", operation_id="CreateBrand", opt=roles(*STAFF), responses=problems(409))
    async def create_brand(self, actor: ActorDep, data: JSONBody[BrandCreate]) -> Brand:
        return await service.create_brand(actor, data)

    @get("/{brand_id:uuid}", operation_id="GetBrand", opt=roles(*READERS), responses=problems(404))
    async def get_brand(self, actor: ActorDep, brand_id: FromPath[uuid.UUID]) -> Brand:
        return await service.get_brand(actor, brand_id)

    @patch("/{brand_id:uuid}", operation_id="UpdateBrand", opt=roles(*STAFF), responses=problems(404, 409))
    async def update_brand(self, actor: ActorDep, brand_id: FromPath[uuid.UUID], data: JSONBody[BrandUpdate]) -> Brand:
        return await service.update_brand(actor, brand_id, data)


class OrganisationBrandController(Controller):
    path = "/organisations/{organisation_id:uuid}/brands"
    tags = ["locations"]
    guards = [requires_roles]

    @get("/", operation_id="ListOrganisationBrands", opt=roles(*READERS), responses=problems(404))
    async def list_organisation_brands(
        self,
        actor: ActorDep,
        organisation_id: FromPath[uuid.UUID],
        page: PageDep,
        relation: FromQuery[BrandRelation | None] = None,
    ) -> Page[OrganisationBrand]:
        """The organisation's own brands, then its competitors, by name."""
        return await service.list_organisation_brands(actor, organisation_id, relation, page)

    @put("/{brand_id:uuid}", operation_id="SetOrganisationBrand", opt=roles(*STAFF), responses=problems(404))
    async def set_organisation_brand(
        self,
        actor: ActorDep,
        organisation_id: FromPath[uuid.UUID],
        brand_id: FromPath[uuid.UUID],
        data: JSONBody[OrganisationBrandSet],
    ) -> OrganisationBrand:
        """Mark a brand as the organisation's own or a competitor."""
        return await service.set_organisation_brand(actor, organisation_id, brand_id, data)


class LocationController(Controller):
    path = "/locations"
    tags = ["locations"]
    guards = [requires_roles]

    @get("/", operation_id="ListLocations", opt=roles(*READERS), responses=problems(404, 422))
    async def list_locations(
        self,
        actor: ActorDep,
        page: PageDep,
        brand_id: FromQuery[uuid.UUID | None] = None,
        region: Annotated[str | None, QueryParameter(max_length=200)] = None,
        organisation_id: FromQuery[uuid.UUID | None] = None,
        relation: FromQuery[BrandRelation | None] = None,
        q: Search = None,
    ) -> Page[Location]:
        """Locations, filtered by brand, region, and own/competitor for an organisation."""
        await require_visible(actor, organisation_id=organisation_id, brand_id=brand_id)
        return await service.list_locations(
            actor, page, brand_id=brand_id, region=region, organisation_id=organisation_id, relation=relation, q=q
        )

    @post("/", operation_id="CreateLocation", opt=roles(*STAFF), responses=problems(409, 422))
    async def create_location(self, actor: ActorDep, data: JSONBody[LocationCreate]) -> Location:
        return await service.create_location(actor, data)

    @post(
        "/import",
        operation_id="ImportLocations",
        opt=roles(*STAFF),
        status_code=200,
        responses=problems(413, 422),
        request_max_body_size=MAX_IMPORT_BYTES,
    )
    async def import_locations(self, actor: ActorDep, data: MultipartBody[LocationsUpload]) -> LocationImport:
        """Create or update locations from a CSV or XLSX file (columns brand, name, code, timezone; region,
        district, address, lat, lon, phone, email, opening_hours optional). Rows match existing locations by
        code, so importing the same file again changes nothing. Any problem refuses the whole file, each named
        by its row and column (\"row 3.timezone\")."""
        return await service.import_locations(actor, await data.file.read())

    @get("/{location_id:uuid}", operation_id="GetLocation", opt=roles(*READERS), responses=problems(404))
    async def get_location(self, actor: ActorDep, location_id: FromPath[uuid.UUID]) -> Location:
        return await service.get_location(actor, location_id)

    @patch("/{location_id:uuid}", operation_id="UpdateLocation", opt=roles(*STAFF), responses=problems(404, 409, 422))
    async def update_location(
        self, actor: ActorDep, location_id: FromPath[uuid.UUID], data: JSONBody[LocationUpdate]
    ) -> Location:
        return await service.update_location(actor, location_id, data)

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
        """Brands by name (`q` searches the name); a manager sees their organisation's own brands and its
        competitors'."""
        return await service.list_brands(actor, page, q)

    @post("/", operation_id="CreateBrand", opt=roles(*STAFF), responses=problems(409))
    async def create_brand(self, actor: ActorDep, data: JSONBody[BrandCreate]) -> Brand:
        """Create a brand (a chain of locations: the client's own, or a competitor's). Relate it to an organisation
        with PUT /organisations/{organisation_id}/brands/{brand_id}.

        Problems: 409 `brand.duplicate_name`.
        """
        return await service.create_brand(actor, data)

    @get("/{brand_id:uuid}", operation_id="GetBrand", opt=roles(*READERS), responses=problems(404))
    async def get_brand(self, actor: ActorDep, brand_id: FromPath[uuid.UUID]) -> Brand:
        """One brand. A manager may read their organisation's own and competitor brands only.

        Problems: 404 `brand.not_found`.
        """
        return await service.get_brand(actor, brand_id)

    @patch("/{brand_id:uuid}", operation_id="UpdateBrand", opt=roles(*STAFF), responses=problems(404, 409))
    async def update_brand(self, actor: ActorDep, brand_id: FromPath[uuid.UUID], data: JSONBody[BrandUpdate]) -> Brand:
        """Rename a brand.

        Problems: 404 `brand.not_found`; 409 `brand.duplicate_name`.
        """
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
        """The organisation's own brands, then its competitors, by name; `relation` keeps one kind.

        Problems: 404 `organisation.not_found`.
        """
        return await service.list_organisation_brands(actor, organisation_id, relation, page)

    @put("/{brand_id:uuid}", operation_id="SetOrganisationBrand", opt=roles(*STAFF), responses=problems(404))
    async def set_organisation_brand(
        self,
        actor: ActorDep,
        organisation_id: FromPath[uuid.UUID],
        brand_id: FromPath[uuid.UUID],
        data: JSONBody[OrganisationBrandSet],
    ) -> OrganisationBrand:
        """Mark a brand as the organisation's own (`{"relation": "own"}`) or a competitor (`"competitor"`). Campaigns
        may shop both; analytics compare own against competitors. Setting it again changes the relation.

        Problems: 404 `organisation.not_found` or `brand.not_found`.
        """
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
        """Locations by name, filtered by brand, region, `q` (name or address), and for an organisation by
        relation (own or competitor). A manager sees their organisation's own and competitor locations only.

        Problems: 404 `organisation.not_found` or `brand.not_found` (a filter on an id the caller cannot see is the
        same 404 as a made-up one); 422 `validation.failed` (`relation` without `organisation_id`).
        """
        await require_visible(actor, organisation_id=organisation_id, brand_id=brand_id)
        return await service.list_locations(
            actor, page, brand_id=brand_id, region=region, organisation_id=organisation_id, relation=relation, q=q
        )

    @post("/", operation_id="CreateLocation", opt=roles(*STAFF), responses=problems(409, 422))
    async def create_location(self, actor: ActorDep, data: JSONBody[LocationCreate]) -> Location:
        """Create a location of a brand: a branch to visit or a line to call. `timezone` (IANA, e.g. `Europe/Prague`)
        decides the local dates and hours of its tasks; `opening_hours` lists intervals per day (`mon`…`sun`,
        `opens`/`closes` as `HH:MM`); `lat`/`lon` place it for travel distances and the GPS check-in flag;
        `code` is your own unique reference (imports match on it).

        Problems: 409 `location.duplicate_code`; 422 `validation.failed` (unknown brand or time zone, bad opening
        hours, one coordinate without the other).
        """
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
        code, so importing the same file again changes nothing.

        Problems: 422 `location.import_invalid`: any problem refuses the whole file, each named by its row and
        column ("row 3.timezone"); 413 `request.too_large` above 5 MiB.
        """
        return await service.import_locations(actor, await data.file.read())

    @get("/{location_id:uuid}", operation_id="GetLocation", opt=roles(*READERS), responses=problems(404))
    async def get_location(self, actor: ActorDep, location_id: FromPath[uuid.UUID]) -> Location:
        """One location. A manager may read their organisation's own and competitor locations only.

        Problems: 404 `location.not_found`.
        """
        return await service.get_location(actor, location_id)

    @patch("/{location_id:uuid}", operation_id="UpdateLocation", opt=roles(*STAFF), responses=problems(404, 409, 422))
    async def update_location(
        self, actor: ActorDep, location_id: FromPath[uuid.UUID], data: JSONBody[LocationUpdate]
    ) -> Location:
        """Change a location (only the fields sent change), e.g. its opening hours or coordinates.

        Problems: 404 `location.not_found`; 409 `location.duplicate_code`; 422 `validation.failed` (as for
        creating one).
        """
        return await service.update_location(actor, location_id, data)

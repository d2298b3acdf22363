"""Brands, an organisation's own/competitor relation to a brand, and locations."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import Enum
from typing import Annotated

import msgspec

from api_schemas.common import NO_NUL, Code, Email, Latitude, Longitude, Name, Request, ShortText

ClockTime = Annotated[str, msgspec.Meta(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$")]
Phone = Annotated[str, msgspec.Meta(max_length=40, pattern=r"^\+?[0-9 ()./-]*$")]
TimeZoneName = Annotated[
    str, msgspec.Meta(min_length=1, max_length=64, pattern=NO_NUL, description="IANA time zone, e.g. Europe/Prague")
]
Address = Annotated[str, msgspec.Meta(max_length=500, pattern=NO_NUL)]


class BrandRelation(str, Enum):
    own = "own"
    competitor = "competitor"


class Weekday(str, Enum):
    mon = "mon"
    tue = "tue"
    wed = "wed"
    thu = "thu"
    fri = "fri"
    sat = "sat"
    sun = "sun"


class Brand(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    name: str
    created_at: dt.datetime


class BrandCreate(Request, kw_only=True):
    name: Name


class BrandUpdate(Request, kw_only=True):
    name: Name | msgspec.UnsetType = msgspec.UNSET


class OrganisationBrand(msgspec.Struct, kw_only=True):
    organisation_id: uuid.UUID
    brand_id: uuid.UUID
    brand_name: str
    relation: BrandRelation


class OrganisationBrandSet(Request, kw_only=True):
    relation: BrandRelation


class OpeningInterval(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Open from `opens` on `day` to `closes`, in the location's own time zone. A `closes` earlier than
    `opens` is on the next day (`fri 22:00–02:00` is Friday 22:00 to Saturday 02:00); `closes` 24:00 is the
    midnight ending the day, so `00:00–24:00` is all day (all seven days so: a 24-hour location). A weekday
    with no interval is closed; no intervals at all means the hours are not known. `opens` equal to
    `closes`, or intervals that overlap (across midnight too), are refused (422 naming the interval)."""

    day: Weekday
    opens: ClockTime
    closes: ClockTime


class Location(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    brand_id: uuid.UUID
    name: str
    code: str | None
    region: str
    district: str
    address: str
    lat: float | None
    lon: float | None
    phone: str | None
    email: str | None
    timezone: str
    opening_hours: list[OpeningInterval]
    created_at: dt.datetime


class LocationCreate(Request, kw_only=True):
    brand_id: uuid.UUID
    name: Name
    code: Code | None = None
    region: ShortText = ""
    district: ShortText = ""
    address: Address = ""
    lat: Latitude | None = None
    lon: Longitude | None = None
    phone: Phone | None = None
    email: Email | None = None
    timezone: TimeZoneName
    opening_hours: Annotated[list[OpeningInterval], msgspec.Meta(max_length=50)] = []


class LocationUpdate(Request, kw_only=True):
    name: Name | msgspec.UnsetType = msgspec.UNSET
    code: Code | msgspec.UnsetType | None = msgspec.UNSET
    region: ShortText | msgspec.UnsetType = msgspec.UNSET
    district: ShortText | msgspec.UnsetType = msgspec.UNSET
    address: Address | msgspec.UnsetType = msgspec.UNSET
    lat: Latitude | msgspec.UnsetType | None = msgspec.UNSET
    lon: Longitude | msgspec.UnsetType | None = msgspec.UNSET
    phone: Phone | msgspec.UnsetType | None = msgspec.UNSET
    email: Email | msgspec.UnsetType | None = msgspec.UNSET
    timezone: TimeZoneName | msgspec.UnsetType = msgspec.UNSET
    opening_hours: Annotated[list[OpeningInterval], msgspec.Meta(max_length=50)] | msgspec.UnsetType = msgspec.UNSET


class LocationImport(msgspec.Struct, kw_only=True):
    """What an import of locations did: rows are matched on their code, so the same file again changes nothing."""

    rows: int
    created: int
    updated: int
    unchanged: int

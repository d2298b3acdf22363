"""Locations tables."""

from piccolo.columns import JSON, UUID, DoublePrecision, ForeignKey, OnDelete, Timestamptz, Varchar
from piccolo.table import Table

from backend.accounts.tables import Organisation


class Brand(Table):
    id = UUID(primary_key=True)
    name = Varchar(length=200, unique=True)
    created_at = Timestamptz()


class OrganisationBrand(Table):
    """For one client organisation, a brand is its own or a competitor (unique per pair, see migration)."""

    id = UUID(primary_key=True)
    organisation = ForeignKey(Organisation, on_delete=OnDelete.cascade)
    brand = ForeignKey(Brand, on_delete=OnDelete.cascade)
    relation = Varchar(length=16)


class Location(Table):
    id = UUID(primary_key=True)
    brand = ForeignKey(Brand, on_delete=OnDelete.restrict, index=True)
    name = Varchar(length=200)
    code = Varchar(length=64, null=True, default=None, unique=True)
    region = Varchar(length=200, index=True)
    district = Varchar(length=200)
    address = Varchar(length=500)
    lat = DoublePrecision(null=True, default=None)
    lon = DoublePrecision(null=True, default=None)
    phone = Varchar(length=40, null=True, default=None)
    email = Varchar(length=254, null=True, default=None)
    timezone = Varchar(length=64)
    opening_hours = JSON(default=[])
    created_at = Timestamptz()

"""Accounts tables."""

from piccolo.columns import (
    JSON,
    UUID,
    Boolean,
    DoublePrecision,
    ForeignKey,
    Integer,
    OnDelete,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table


class Organisation(Table):
    id = UUID(primary_key=True)
    name = Varchar(length=200, unique=True)
    created_at = Timestamptz()


class User(Table, tablename="app_user"):  # "user" is reserved in PostgreSQL
    id = UUID(primary_key=True)
    email = Varchar(length=254, unique=True)  # stored lower-cased
    name = Varchar(length=200)
    role = Varchar(length=20, index=True)
    organisation = ForeignKey(Organisation, null=True, on_delete=OnDelete.restrict)
    password_hash = Varchar(length=200)
    is_active = Boolean(default=True)
    created_at = Timestamptz()


class AccessToken(Table):
    id = UUID(primary_key=True)
    user = ForeignKey(User, on_delete=OnDelete.cascade)
    token_hash = Varchar(length=64, unique=True)  # sha256 of the bearer token; the token itself is never stored
    created_at = Timestamptz()
    expires_at = Timestamptz()
    revoked_at = Timestamptz(null=True, default=None)


class ShopperProfile(Table):
    id = UUID(primary_key=True)
    user = ForeignKey(User, unique=True, on_delete=OnDelete.cascade)
    home_lat = DoublePrecision(null=True, default=None)
    home_lon = DoublePrecision(null=True, default=None)
    languages = JSON(default=[])
    travel_radius_km = DoublePrecision(default=25.0)
    capacity_per_day = Integer(default=4)
    capacity_per_week = Integer(default=15)
    excluded_brand_ids = JSON(default=[])
    excluded_location_ids = JSON(default=[])


class ThrottleKey(Table, tablename="login_throttle"):
    """Password guesses per throttle key (an account at a client address, or an address), shared by
    every server process and host; see backend.accounts.throttle."""

    throttle_key = Varchar(length=64, primary_key=True)  # sha256: typed e-mails and addresses are not kept
    attempts = Integer()
    delay_s = DoublePrecision()  # the delay last armed; the next one is twice as long
    locked_until = DoublePrecision()  # Unix seconds; guesses before then are refused
    last_at = DoublePrecision(index=True)  # Unix seconds; keys quiet for long are purged
    refused = Boolean(default=False)  # whether the latest guess was refused (read back by the upsert)

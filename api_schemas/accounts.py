"""Organisations, users, shopper profiles and login."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import Enum
from typing import Annotated

import msgspec

from api_schemas.common import NO_NUL, Email, Latitude, Longitude, Name, Request

# NIST SP 800-63B: at least 10 characters, no composition rules; backend.accounts.password_policy
# refuses common ones and one character repeated wherever a password is set.
Password = Annotated[str, msgspec.Meta(min_length=10, max_length=256)]
LanguageCode = Annotated[str, msgspec.Meta(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")]


class Role(str, Enum):
    admin = "admin"
    coordinator = "coordinator"
    manager = "manager"
    shopper = "shopper"


class Organisation(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    name: str
    created_at: dt.datetime


class OrganisationCreate(Request, kw_only=True):
    name: Name


class OrganisationUpdate(Request, kw_only=True):
    name: Name | msgspec.UnsetType = msgspec.UNSET


class User(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    email: str
    name: str
    role: Role
    organisation_id: uuid.UUID | None
    is_active: bool
    created_at: dt.datetime


class UserCreate(Request, kw_only=True):
    email: Email
    name: Name
    role: Role
    password: Password
    organisation_id: uuid.UUID | None = None


class UserUpdate(Request, kw_only=True):
    name: Name | msgspec.UnsetType = msgspec.UNSET
    password: Password | msgspec.UnsetType = msgspec.UNSET
    is_active: bool | msgspec.UnsetType = msgspec.UNSET
    organisation_id: uuid.UUID | msgspec.UnsetType | None = msgspec.UNSET
    role: Role | msgspec.UnsetType = msgspec.UNSET


class ShopperProfile(msgspec.Struct, kw_only=True):
    user_id: uuid.UUID
    home_lat: float | None
    home_lon: float | None
    languages: list[str]
    travel_radius_km: float
    capacity_per_day: int
    capacity_per_week: int
    excluded_brand_ids: list[uuid.UUID] = []
    excluded_location_ids: list[uuid.UUID] = []


class ShopperProfileUpdate(Request, kw_only=True):
    home_lat: Latitude | None = None
    home_lon: Longitude | None = None
    languages: Annotated[list[LanguageCode], msgspec.Meta(max_length=20)] = []
    travel_radius_km: Annotated[float, msgspec.Meta(ge=0, le=2000)] = 25.0
    capacity_per_day: Annotated[int, msgspec.Meta(ge=0, le=100)] = 4
    capacity_per_week: Annotated[int, msgspec.Meta(ge=0, le=500)] = 15
    # Conflicts of interest: never assigned there (e.g. a relative works at that brand).
    excluded_brand_ids: Annotated[list[uuid.UUID], msgspec.Meta(max_length=500)] = []
    excluded_location_ids: Annotated[list[uuid.UUID], msgspec.Meta(max_length=5000)] = []


class LoginRequest(Request, kw_only=True):
    email: Annotated[str, msgspec.Meta(min_length=1, max_length=254, pattern=NO_NUL)]
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]


class PasswordChange(Request, kw_only=True):
    """Change one's own password: the current one is asked for, and other sessions end."""

    current_password: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
    new_password: Password


class Token(msgspec.Struct, kw_only=True):
    access_token: str
    token_type: str
    expires_at: dt.datetime
    user: User

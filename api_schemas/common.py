"""Shared constrained types, pagination and the problem document."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Generic, TypeVar

import msgspec

T = TypeVar("T")

# Text that says something: at least one character that is not white space, and (like all text) no NUL,
# which PostgreSQL cannot store and SQLite would: refused up front, the engines behave alike.
NOT_BLANK = r"^[^\x00]*[^\x00\s][^\x00]*$"
NO_NUL = r"^[^\x00]*$"

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=NOT_BLANK)]
ShortText = Annotated[str, msgspec.Meta(max_length=200, pattern=NO_NUL)]
LongText = Annotated[str, msgspec.Meta(max_length=4000, pattern=NO_NUL)]
Email = Annotated[
    str,
    msgspec.Meta(
        min_length=3,
        max_length=254,
        pattern=r"^[^@\s\x00]+@[^@\s\x00]+\.[^@\s\x00]+$",
        description="An e-mail address.",
    ),
]
Latitude = Annotated[float, msgspec.Meta(ge=-90, le=90)]
Longitude = Annotated[float, msgspec.Meta(ge=-180, le=180)]
Code = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
AwareDatetime = Annotated[dt.datetime, msgspec.Meta(tz=True, description="ISO 8601 with a UTC offset.")]
PageLimit = Annotated[int, msgspec.Meta(ge=1, le=500)]
PageOffset = Annotated[int, msgspec.Meta(ge=0, le=10_000_000)]


class Request(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Base of every request body: unknown fields are an error, every field is named."""


class Page(msgspec.Struct, Generic[T], kw_only=True):
    """One page of a list, with the total number of matching items."""

    items: list[T]
    total: int
    limit: int
    offset: int


class ProblemField(msgspec.Struct, kw_only=True):
    field: str
    reason: str


class Problem(msgspec.Struct, kw_only=True, omit_defaults=True):
    """RFC 9457 problem details with Fieldscore's stable code and per-field errors."""

    type: str
    title: str
    status: int
    code: str
    detail: str = ""
    errors: list[ProblemField] = []


class Health(msgspec.Struct, kw_only=True):
    status: str
    database: str
    time: dt.datetime


__all__ = [
    "AwareDatetime",
    "Code",
    "Email",
    "Health",
    "Latitude",
    "LongText",
    "Longitude",
    "Name",
    "Page",
    "PageLimit",
    "PageOffset",
    "Problem",
    "ProblemField",
    "Request",
    "ShortText",
    "uuid",
]

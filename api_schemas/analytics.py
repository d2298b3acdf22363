"""Analytics: comparable scores with sample sizes and 95% intervals."""

from __future__ import annotations

import uuid
from enum import Enum

import msgspec

from api_schemas.locations import BrandRelation


class ScoreBasis(str, Enum):
    final = "final"  # critical failures count as 0
    calculated = "calculated"  # the score before a critical failure zeroed it


class Estimate(msgspec.Struct, kw_only=True):
    """A mean with its t-interval; `mean` is null ("not enough data") when n < min_sample_size."""

    n: int
    mean: float | None
    ci_low: float | None
    ci_high: float | None
    enough_data: bool


class LocationScore(msgspec.Struct, kw_only=True):
    location_id: uuid.UUID
    location_name: str
    region: str
    brand_id: uuid.UUID
    brand_name: str
    relation: BrandRelation
    score: Estimate


class BrandScore(msgspec.Struct, kw_only=True):
    brand_id: uuid.UUID
    brand_name: str
    relation: BrandRelation
    score: Estimate


class LocationScores(msgspec.Struct, kw_only=True):
    organisation_id: uuid.UUID
    basis: ScoreBasis
    include_failed: bool
    min_sample_size: int
    brands: list[BrandScore]
    locations: list[LocationScore]
    total_locations: int
    limit: int
    offset: int

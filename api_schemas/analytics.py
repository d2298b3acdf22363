"""Analytics: comparable scores with sample sizes and 95% intervals."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import Enum
from typing import Annotated

import msgspec

from api_schemas.common import NOT_BLANK, Request
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


# --- Comparison API ----------------------------------------------------------------------------------


class Measure(str, Enum):
    """What to compare. Each counts only reports whose form tags it (see the form's `metric` tags)."""

    score = "score"  # overall score 0–100 (mean, t-interval)
    section_score = "section_score"  # a section's score 0–100 (mean, t-interval); group by section or name section_key
    item_pass_rate = "item_pass_rate"  # share of reports where an item earned full points (Wilson)
    critical_fail_rate = "critical_fail_rate"  # share of reports failed by a critical item (Wilson)
    unanswered_rate = "unanswered_rate"  # share of contacts nobody answered (Wilson)
    service_level = "service_level"  # share of contacts answered within threshold_s; unanswered = not within (Wilson)
    time_to_answer = "time_to_answer"  # seconds, Kaplan–Meier (unanswered calls censored at the give-up time)
    email_reply_time = "email_reply_time"  # hours, Kaplan–Meier (no reply by the deadline: censored)
    chat_reply_time = "chat_reply_time"  # seconds, Kaplan–Meier (censored likewise)
    resolution_time = "resolution_time"  # hours, Kaplan–Meier
    rings = "rings"  # rings before a person answered (mean)
    hold_time = "hold_time"  # seconds on hold (mean)
    menu_time = "menu_time"  # seconds in the phone menu (mean)
    transfers = "transfers"  # transfers per call (mean)
    store_wait = "store_wait"  # seconds before a visitor is greeted (mean)
    time_to_serve = "time_to_serve"  # seconds until served (mean)
    nps = "nps"  # shopper NPS −100…100 (normal interval from its variance)
    csat = "csat"  # share of the top two marks of a satisfaction rating (Wilson)
    fcr = "fcr"  # first-contact resolution (Wilson)
    right_person = "right_person"  # reached someone able to help (Wilson)
    out_of_hours_response = "out_of_hours_response"  # someone or something responded out of hours (Wilson)
    language_cover = "language_cover"  # served in another language (Wilson)


class Dimension(str, Enum):
    location = "location"
    region = "region"
    brand = "brand"
    relation = "relation"  # own | competitor
    channel = "channel"
    campaign = "campaign"
    wave = "wave"
    day = "day"  # local calendar day, 2026-03-31
    week = "week"  # local ISO week, 2026-W14
    month = "month"  # local month, 2026-03
    weekday = "weekday"  # local ISO weekday, 1 Monday … 7 Sunday
    hour = "hour"  # local hour 0–23
    daypart = "daypart"  # the campaign slot's daypart, else night/morning/afternoon/evening by local hour
    shopper = "shopper"  # coordinators and admins only
    section = "section"  # top-level form section (item_pass_rate, section_score)
    item = "item"  # form item (item_pass_rate)


class FigureKind(str, Enum):
    mean = "mean"
    proportion = "proportion"
    nps = "nps"
    survival = "survival"


class SortOrder(str, Enum):
    best = "best"  # best tier and value first
    worst = "worst"  # worst first ("what fails most")
    key = "key"  # by group key (time order for day/week/month/hour/weekday)


class CurvePoint(msgspec.Struct, kw_only=True):
    """One step of a Kaplan–Meier curve: from `time` on (the measure's unit), the share `survival` still waiting."""

    time: float
    survival: float  # 0–1
    ci_low: float  # pointwise 95% interval, log(−log) transformed
    ci_high: float
    at_risk: int  # contacts still waiting just before `time`


class Figure(msgspec.Struct, kw_only=True):
    """One figure with its sample size and 95% interval. Not enough data: `value`, `ci_low`, `ci_high` are null.

    mean: value = mean; proportion: value = share 0–1; nps: value −100…100; survival: value = Kaplan–Meier
    median, with `q25`/`q75` and `events` (contacts answered); there `value` null with enough_data true, or
    `ci_high` null, means "not reached" (too many never answered), flagged by `not_reached`.
    """

    n: int
    enough_data: bool
    value: float | None
    ci_low: float | None
    ci_high: float | None
    pending: int = 0  # of n, reports not yet approved (coordinators' preview only)
    events: int | None = None
    q25: float | None = None
    q75: float | None = None
    not_reached: bool = False
    # survival with curve=true only: the step function from (0, 1) to the longest time observed, at most 200 steps
    curve: list[CurvePoint] | None = None


class GroupKey(msgspec.Struct, kw_only=True):
    dimension: Dimension
    value: str | None  # id, name or number as text; null when the reports have none (e.g. no wave)
    label: (
        str | None
    )  # display name for ids (location, brand, wave, campaign, shopper) and items and sections, else null


class TargetCheck(msgspec.Struct, kw_only=True):
    """The target that applies to a group (the most specific scope) and how the figure stands against it."""

    target_id: uuid.UUID
    scope: str
    target: float
    direction: str  # at_least | at_most
    gap: float | None  # value − target (null: not enough data)
    status: str | None  # meets (whole interval on the good side) | misses (whole interval on the bad side) | uncertain


class ComparisonGroup(msgspec.Struct, kw_only=True):
    keys: list[GroupKey]
    figure: Figure
    tier: int | None  # 1 = best; equal tiers are not significantly different; null: not enough data
    target: TargetCheck | None = None


class Comparison(msgspec.Struct, kw_only=True):
    organisation_id: uuid.UUID
    measure: Measure
    kind: FigureKind
    unit: str
    higher_is_better: bool
    group_by: list[Dimension]
    min_sample_size: int
    threshold_s: float | None  # service_level only
    include_pending: bool
    confidence: float
    method: str  # how the figures, intervals and tiers were computed
    groups: list[ComparisonGroup]
    total: int
    limit: int
    offset: int


class CompetitorDifference(msgspec.Struct, kw_only=True):
    brand_id: uuid.UUID
    brand_name: str
    competitor: Figure
    difference: float | None  # own − competitor (null: not enough data on either side, or no interval method)
    ci_low: float | None
    ci_high: float | None
    significant: bool | None


class OwnVersusCompetitors(msgspec.Struct, kw_only=True):
    organisation_id: uuid.UUID
    measure: Measure
    kind: FigureKind
    unit: str
    higher_is_better: bool
    min_sample_size: int
    include_pending: bool
    method: str
    own: Figure
    competitors: list[CompetitorDifference]


# --- Targets -----------------------------------------------------------------------------------------


class TargetScope(str, Enum):
    organisation = "organisation"  # the whole program (scope_value null)
    brand = "brand"  # scope_value: a brand id
    region = "region"  # scope_value: a region name
    location = "location"  # scope_value: a location id
    channel = "channel"  # scope_value: visit | call | email | chat


class TargetDirection(str, Enum):
    at_least = "at_least"  # e.g. score ≥ 85, service level ≥ 0.8
    at_most = "at_most"  # e.g. unanswered ≤ 0.05, email reply ≤ 24 h


TargetValue = Annotated[
    float,
    msgspec.Meta(
        ge=-1e9,
        le=1e9,
        description=(
            "In the measure's unit: shares 0–1, scores 0–100, NPS −100…100, times in the measure's seconds or hours."
        ),
    ),
]


class Target(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    organisation_id: uuid.UUID
    measure: Measure
    scope: TargetScope
    scope_value: str | None
    target: float
    direction: TargetDirection
    threshold_s: float | None
    created_at: dt.datetime
    updated_at: dt.datetime


class TargetCreate(Request, kw_only=True):
    organisation_id: uuid.UUID | None = None  # admins and coordinators: required; managers: their own
    measure: Measure
    scope: TargetScope = TargetScope.organisation
    scope_value: Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=NOT_BLANK)] | None = None
    target: TargetValue
    direction: TargetDirection = TargetDirection.at_least
    threshold_s: Annotated[float, msgspec.Meta(gt=0, le=86400)] | None = None  # service_level: required


class TargetUpdate(Request, kw_only=True):
    target: TargetValue | msgspec.UnsetType = msgspec.UNSET
    direction: TargetDirection | msgspec.UnsetType = msgspec.UNSET


# --- Shopper effects ------------------------------------------------------------------------------------


class ShopperEffect(msgspec.Struct, kw_only=True):
    shopper_id: uuid.UUID
    shopper_name: str
    n: int
    effect: float  # points above (lenient) or below (strict) what an average shopper would score the same places
    ci_low: float
    ci_high: float
    flagged: bool  # the interval excludes 0 and |effect| >= flag_points


class AdjustedGroup(msgspec.Struct, kw_only=True):
    key: GroupKey
    raw: Figure  # the plain mean score with its t-interval
    adjusted: Figure  # the group's mean at an average shopper (the model's fixed effect, Wald 95% interval)


class ShopperAgreement(msgspec.Struct, kw_only=True):
    """Pairs of reports by two different shoppers at the same location, wave, daypart and day type."""

    pairs: int
    mean_abs_difference: Figure  # points between the pair's scores (t-interval)
    same_critical_outcome: Figure  # share of pairs agreeing on a critical failure (Wilson)


class ShopperEffects(msgspec.Struct, kw_only=True):
    organisation_id: uuid.UUID
    group_by: Dimension
    basis: ScoreBasis
    method: str
    fitted: bool  # false: too few shoppers or reports to fit (groups then carry only raw figures)
    shopper_sd: float | None
    residual_sd: float | None
    flag_points: float
    groups: list[AdjustedGroup]
    shoppers: list[ShopperEffect]  # coordinators and admins only; empty for managers
    agreement: ShopperAgreement

"""What each measure and grouping means in SQL over the fact tables (pure: strings and flags, no I/O).

`f` is report_fact, `l` the location, `ob` the organisation's relation to the location's brand, `i` an
item_fact row (item or section measures only). Booleans are tested bare (`f.x`, `NOT f.x`), which both
SQLite (0/1) and PostgreSQL (boolean) read alike.
"""

from __future__ import annotations

from dataclasses import dataclass

from api_schemas.analytics import Dimension, FigureKind, Measure


@dataclass(frozen=True, slots=True)
class MeasureSql:
    kind: FigureKind
    unit: str
    higher_is_better: bool
    # mean: the value; proportion: the success condition (with `base` the condition to be counted);
    # nps: the 0–10 mark; survival: the time, with `censored` its censoring flag.
    value: str
    base: str | None = None
    censored: str | None = None
    items: str | None = None  # "item" or "section": one row per item_fact of that kind
    bounds: tuple[float, float] = (0.0, float("inf"))
    description: str = ""
    key: str = ""  # the Measure's value (filled in by the comparison service)


def _share(flag: str, what: str) -> MeasureSql:
    return MeasureSql(
        FigureKind.proportion,
        "share",
        True,
        f"f.{flag}",
        base=f"f.{flag} IS NOT NULL",
        description=f"share of reports where {what}, among reports whose form asks it",
    )


def _mean(column: str, unit: str, what: str) -> MeasureSql:
    return MeasureSql(FigureKind.mean, unit, False, f"f.{column}", description=f"mean {what}")


MEASURES: dict[Measure, MeasureSql] = {
    # score: the column depends on `basis` and is filled in by the service.
    Measure.score: MeasureSql(
        FigureKind.mean, "points", True, "", bounds=(0.0, 100.0), description="mean overall score 0–100"
    ),
    Measure.section_score: MeasureSql(
        FigureKind.mean,
        "points",
        True,
        "i.score",
        items="section",
        bounds=(0.0, 100.0),
        description="mean section score 0–100",
    ),
    Measure.item_pass_rate: MeasureSql(
        FigureKind.proportion,
        "share",
        True,
        "i.passed",
        base="i.passed IS NOT NULL",
        items="item",
        description="share of reports in which an item earned its full points",
    ),
    Measure.critical_fail_rate: MeasureSql(
        FigureKind.proportion,
        "share",
        False,
        "f.failed",
        base="f.failed IS NOT NULL",
        description="share of reports failed by a critical item",
    ),
    Measure.unanswered_rate: MeasureSql(
        FigureKind.proportion,
        "share",
        False,
        "NOT f.answered",
        base="f.answered IS NOT NULL",
        description="share of contacts nobody answered within the give-up time",
    ),
    Measure.service_level: MeasureSql(
        FigureKind.proportion,
        "share",
        True,
        "",
        base="f.time_to_answer_s IS NOT NULL",
        description="share of contacts answered within threshold_s seconds; an unanswered contact counts as not within",
    ),
    Measure.time_to_answer: MeasureSql(
        FigureKind.survival,
        "seconds",
        False,
        "f.time_to_answer_s",
        censored="f.time_to_answer_censored",
        description="time to answer in seconds",
    ),
    Measure.email_reply_time: MeasureSql(
        FigureKind.survival,
        "hours",
        False,
        "f.reply_h",
        censored="f.reply_h_censored",
        description="e-mail reply time in hours",
    ),
    Measure.chat_reply_time: MeasureSql(
        FigureKind.survival,
        "seconds",
        False,
        "f.reply_s",
        censored="f.reply_s_censored",
        description="chat reply time in seconds",
    ),
    Measure.resolution_time: MeasureSql(
        FigureKind.survival, "hours", False, "f.resolution_h", censored=None, description="resolution time in hours"
    ),
    Measure.rings: _mean("rings", "rings", "rings before a person answered"),
    Measure.hold_time: _mean("hold_s", "seconds", "seconds on hold"),
    Measure.menu_time: _mean("menu_s", "seconds", "seconds in the phone menu"),
    Measure.transfers: _mean("transfers", "transfers", "transfers per call"),
    Measure.store_wait: _mean("wait_s", "seconds", "seconds before a visitor was greeted"),
    Measure.time_to_serve: _mean("serve_s", "seconds", "seconds until a visitor was served"),
    Measure.nps: MeasureSql(
        FigureKind.nps,
        "nps",
        True,
        "f.nps",
        base="f.nps IS NOT NULL",
        bounds=(-100.0, 100.0),
        description="shopper NPS: % promoters (9–10) − % detractors (0–6)",
    ),
    Measure.csat: _share("csat_satisfied", "the satisfaction rating was one of its top two marks"),
    Measure.fcr: _share("fcr", "the question was resolved in the first contact"),
    Measure.right_person: _share("right_person", "the caller reached someone able to help"),
    Measure.out_of_hours_response: _share(
        "out_of_hours_cover", "someone (or a bot or voicemail with call-back) responded out of hours"
    ),
    Measure.language_cover: _share("language_cover", "the customer could be served in another language"),
}

# Group columns; `i.` ones need the item_fact join.
DIMENSIONS: dict[Dimension, str] = {
    Dimension.location: "f.location",
    Dimension.region: "l.region",
    Dimension.brand: "l.brand",
    Dimension.relation: "ob.relation",
    Dimension.channel: "f.channel",
    Dimension.campaign: "f.campaign",
    Dimension.wave: "f.wave",
    Dimension.day: "f.local_day",
    Dimension.week: "f.local_week",
    Dimension.month: "f.local_month",
    Dimension.weekday: "f.local_weekday",
    Dimension.hour: "f.local_hour",
    Dimension.daypart: "f.daypart",
    Dimension.shopper: "f.shopper",
    Dimension.section: "i.section",
    Dimension.item: "i.key",
}

METHODS: dict[FigureKind, str] = {
    FigureKind.mean: (
        "Mean with a Student t 95% interval (n − 1 degrees of freedom), clipped to the scale. Tiers: Welch's "
        "two-sided t-test for every pair of groups"
    ),
    FigureKind.proportion: (
        "Share with a Wilson score 95% interval (as R's binom.confint, method wilson). Tiers: pooled two-sided "
        "two-proportion z-test for every pair of groups"
    ),
    FigureKind.nps: (
        "NPS = % promoters − % detractors; 95% interval NPS ± 1.96·sqrt(v/n) with v = p + d − (p − d)² the "
        "variance of one answer scored +1/0/−1, clipped to −100…100. Tiers: two-sided z-test on the "
        "difference (variances added) for every pair of groups"
    ),
    FigureKind.survival: (
        "Kaplan–Meier estimate (statsmodels SurvfuncRight): contacts never answered are censored at the give-up "
        "time or deadline, never dropped and never counted as 0. value = median, q25/q75 the quartiles, and "
        "the median's 95% interval by inverting the cloglog-transformed test (as SAS LIFETEST); an open upper "
        "bound or a median the curve never reaches is null with not_reached true. Tiers: groups whose median "
        "intervals do not overlap"
    ),
}

TIER_RULE = (
    " with Holm's step-down correction over all pairs (family-wise error 5%). Groups are ordered by value; "
    "a new tier starts only where every group above differs significantly from every group below, so groups "
    "in different tiers always differ significantly and groups in one tier are ranked equal. Groups below "
    "min_sample_size are 'not enough data': n only, no value, no tier."
)


def method_text(kind: FigureKind, measure: MeasureSql) -> str:
    rule = (
        TIER_RULE
        if kind != FigureKind.survival
        else TIER_RULE.replace(" with Holm's step-down correction over all pairs (family-wise error 5%)", "")
    )
    return f"{measure.description[:1].upper()}{measure.description[1:]}. {METHODS[kind]}{rule}"


__all__ = ["DIMENSIONS", "MEASURES", "METHODS", "MeasureSql", "method_text"]

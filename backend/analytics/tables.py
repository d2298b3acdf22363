"""Analytics fact tables: one narrow row per approved report (and one per scored item and section).

A report's answers and score explanation are kilobytes of JSON; grouping a million of them means
reading all of it. These rows hold what analytics groups and counts, copied when a report is approved
(in the same transaction, see backend.analytics.facts), so a comparison reads a few dozen bytes a report.
An approved report is final (no edit, review or re-scoring moves it), so a fact never goes stale; brand,
region and relation are joined from the (small) location and organisation_brand tables at query time
so that moving a location between regions is seen at once. Local-time fields use the location's time
zone at approval; `fieldscore analytics-rebuild` recomputes every fact from the reports.
"""

from piccolo.columns import UUID, Boolean, DoublePrecision, Integer, Timestamptz, Varchar
from piccolo.table import Table


class ReportFact(Table):
    id = UUID(primary_key=True)  # the report's id
    organisation = UUID()
    location = UUID()
    shopper = UUID(null=True, default=None)
    campaign = UUID(null=True, default=None)
    wave = UUID(null=True, default=None)
    form_version = UUID()
    channel = Varchar(length=16)
    started_at = Timestamptz()
    # The visit's or call's start in the location's time zone.
    local_day = Varchar(length=10)  # 2026-03-31
    local_week = Varchar(length=8)  # ISO week, 2026-W14
    local_month = Varchar(length=7)  # 2026-03
    local_weekday = Integer()  # ISO: 1 Monday … 7 Sunday
    local_hour = Integer()
    daypart = Varchar(length=80)
    score_final = DoublePrecision(null=True, default=None)
    score_calculated = DoublePrecision(null=True, default=None)
    failed = Boolean(default=False)
    # Only inside a coordinator's preview transaction, which is rolled back: stored facts are approved.
    pending = Boolean(default=False)
    # Metrics (backend.scoring.engine): null where the form does not tag them or the answer was not given.
    answered = Boolean(null=True, default=None)
    time_to_answer_s = DoublePrecision(null=True, default=None)
    time_to_answer_censored = Boolean(null=True, default=None)
    rings = DoublePrecision(null=True, default=None)
    hold_s = DoublePrecision(null=True, default=None)
    menu_s = DoublePrecision(null=True, default=None)
    transfers = DoublePrecision(null=True, default=None)
    wait_s = DoublePrecision(null=True, default=None)
    serve_s = DoublePrecision(null=True, default=None)
    reply_h = DoublePrecision(null=True, default=None)
    reply_h_censored = Boolean(null=True, default=None)
    reply_s = DoublePrecision(null=True, default=None)
    reply_s_censored = Boolean(null=True, default=None)
    resolution_h = DoublePrecision(null=True, default=None)
    nps = Integer(null=True, default=None)
    csat_satisfied = Boolean(null=True, default=None)
    fcr = Boolean(null=True, default=None)
    right_person = Boolean(null=True, default=None)
    out_of_hours_cover = Boolean(null=True, default=None)
    language_cover = Boolean(null=True, default=None)


class ItemFact(Table):
    """A scored item (kind "item": passed = full points) or a section's score (kind "section") of an approved report."""

    report = UUID()
    kind = Varchar(length=8)
    key = Varchar(length=64)
    section = Varchar(length=64)  # the top-level section it sits in
    score = DoublePrecision()  # 0–100
    passed = Boolean(null=True, default=None)
    critical_failed = Boolean(default=False)


class Target(Table, tablename="analytics_target"):
    """A manager's target for a measure at one scope; unique per (organisation, measure, scope, scope_value)."""

    id = UUID(primary_key=True)
    organisation = UUID()
    measure = Varchar(length=32)
    scope = Varchar(length=16)  # organisation | brand | region | location | channel
    scope_value = Varchar(length=200, null=True, default=None)  # id, region name or channel; null for organisation
    target = DoublePrecision()
    direction = Varchar(length=8)  # at_least | at_most
    threshold_s = DoublePrecision(null=True, default=None)  # service_level: within this many seconds
    created_by = UUID(null=True, default=None)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class SurvivalRollup(Table):
    """How many of an organisation's approved reports at a location on a channel had each (time, censored) pair
    of a survival measure, the time rounded to the measure's resolution (backend.analytics.rollups). Kept by
    backend.analytics.facts.insert in the approval's transaction; unique per (organisation, measure, location,
    channel, t, censored)."""

    organisation = UUID()
    location = UUID()
    channel = Varchar(length=16)
    measure = Varchar(length=32)
    t = DoublePrecision()
    censored = Boolean()
    n = Integer()


class ItemRollup(Table):
    """Sums over an organisation's approved reports at a location on a channel, per scored item or section
    (item_fact rows with the same kind, key and section): how many, how many passed (of those with a pass/fail),
    the scores' sum and sum of squares, how many failed critically. Unique per (organisation, location, channel,
    kind, key, section)."""

    organisation = UUID()
    location = UUID()
    channel = Varchar(length=16)
    kind = Varchar(length=8)
    key = Varchar(length=64)
    section = Varchar(length=64)
    n = Integer()
    judged = Integer()  # rows with passed not null
    passed = Integer()
    score_sum = DoublePrecision()
    score_sq = DoublePrecision()
    critical = Integer()


class MeasureRollup(Table):
    """Sums over an organisation's approved reports at a location on a channel in an ISO week (local, as
    report_fact.local_week) for each mean, share and NPS measure (backend.analytics.rollups.MEASURE_ROLLUPS): n
    and, for a mean, the sum and sum of squares; for a share, the successes in `s`; for NPS, promoters in `s` and
    detractors in `ss`. Unique per (organisation, measure, location, channel, local_week)."""

    organisation = UUID()
    location = UUID()
    channel = Varchar(length=16)
    local_week = Varchar(length=8)
    measure = Varchar(length=40)
    n = Integer()
    s = DoublePrecision()
    ss = DoublePrecision()

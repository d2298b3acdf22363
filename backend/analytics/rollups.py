"""Rollups: per-location sums of the analytics facts, kept in the approval's transaction.

A comparison of Kaplan–Meier times or of item pass rates over a million reports would group millions of
fact rows; these tables hold the same counts per (organisation, location, channel, ...), a few thousand rows,
and the comparison reads them whenever it filters and groups only by what a location determines (location,
region, brand, relation), the channel, item and section for items, and the ISO week for the mean, share and NPS
measures (measure_rollup is kept per week, for trends) — see backend.analytics.comparison. An
approved report is final, so a rollup only ever grows: `add` (in backend.analytics.facts.insert, so in the same
transaction as the facts, including a coordinator's rolled-back preview) upserts the increments, and
`rebuild` recomputes everything from the facts in one set-based statement per rollup (`fieldscore
analytics-rebuild`, the migrations that changed the tables, and the tests' from-scratch reference).

Survival times are counted at a resolution (`resolution`): whole seconds for the measures in seconds and
hundredths of an hour (36 s) for those in hours, rounded half up, on every path (rollup or facts), so a
median is never finer than that. `increments` is pure.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

# Survival measures: (fact column, its censoring column or None, units per resolution step).
SURVIVAL: dict[str, tuple[str, str | None, int]] = {
    "time_to_answer": ("time_to_answer_s", "time_to_answer_censored", 1),
    "email_reply_time": ("reply_h", "reply_h_censored", 100),
    "chat_reply_time": ("reply_s", "reply_s_censored", 1),
    "resolution_time": ("resolution_h", None, 100),
}


def resolution(measure: str) -> int:
    """Steps per unit: 1 (whole seconds) or 100 (hundredths of an hour)."""
    return SURVIVAL[measure][2]


def bucket(value: float, steps: int) -> float:
    """A time rounded half up to 1/steps of its unit."""
    return math.floor(value * steps + 0.5) / steps


# Mean, share and NPS measures kept per location: rollup name → (kind, fact column, condition). mean: the
# column's values (condition "passed": only reports not failed by a critical item); share: n = reports where
# the column is set, s = those where it equals the condition; nps: s = promoters (9–10), ss = detractors (0–6).
# Service level is not here (its threshold is a request parameter), nor section or item measures (item_rollup).
MEASURE_ROLLUPS: dict[str, tuple[str, str, Any]] = {
    "score:final:all": ("mean", "score_final", None),
    "score:final:passed": ("mean", "score_final", "passed"),
    "score:calculated:all": ("mean", "score_calculated", None),
    "score:calculated:passed": ("mean", "score_calculated", "passed"),
    "rings": ("mean", "rings", None),
    "hold_time": ("mean", "hold_s", None),
    "menu_time": ("mean", "menu_s", None),
    "transfers": ("mean", "transfers", None),
    "store_wait": ("mean", "wait_s", None),
    "time_to_serve": ("mean", "serve_s", None),
    "critical_fail_rate": ("share", "failed", True),
    "unanswered_rate": ("share", "answered", False),
    "csat": ("share", "csat_satisfied", True),
    "fcr": ("share", "fcr", True),
    "right_person": ("share", "right_person", True),
    "out_of_hours_response": ("share", "out_of_hours_cover", True),
    "language_cover": ("share", "language_cover", True),
    "nps": ("nps", "nps", None),
}


def measure_rollup_name(measure: str, basis: str, include_failed: bool) -> str | None:
    """The MEASURE_ROLLUPS row a comparison of this measure reads, or None when it has none."""
    name = f"score:{basis}:{'all' if include_failed else 'passed'}" if measure == "score" else measure
    return name if name in MEASURE_ROLLUPS else None


def measure_contribution(report: dict[str, Any], name: str) -> tuple[int, float, float] | None:
    """What one report's fact row adds to a MEASURE_ROLLUPS row (n, s, ss), or None."""
    kind, column, condition = MEASURE_ROLLUPS[name]
    value = report.get(column)
    if value is None:
        return None
    if kind == "mean":
        if condition == "passed" and report.get("failed"):
            return None
        v = float(value)
        return 1, v, v * v
    if kind == "share":
        return 1, float(bool(value) == condition), 0.0
    mark = int(value)
    return 1, float(mark >= 9), float(mark <= 6)


@dataclass
class ItemSums:
    n: int = 0
    judged: int = 0
    passed: int = 0
    score_sum: float = 0.0
    score_sq: float = 0.0
    critical: int = 0

    def add(self, item: dict[str, Any]) -> None:
        self.n += 1
        if item["passed"] is not None:
            self.judged += 1
            self.passed += int(bool(item["passed"]))
        score = float(item["score"])
        self.score_sum += score
        self.score_sq += score * score
        self.critical += int(bool(item["critical_failed"]))


SurvivalKey = tuple[str, str, str, str, float, bool]  # organisation, location, channel, measure, t, censored
ItemKey = tuple[str, str, str, str, str, str]  # organisation, location, channel, kind, key, section
MeasureKey = tuple[str, str, str, str, str]  # organisation, location, channel, local_week, measure


def increments(
    reports: Iterable[tuple[dict[str, Any], list[dict[str, Any]]]],
) -> tuple[dict[SurvivalKey, int], dict[ItemKey, ItemSums], dict[MeasureKey, list[float]]]:
    """What these reports' facts (report row, item rows) add to each rollup row."""
    survival: dict[SurvivalKey, int] = {}
    items: dict[ItemKey, ItemSums] = {}
    measures: dict[MeasureKey, list[float]] = {}
    for report, report_items in reports:
        place = (str(report["organisation"]), str(report["location"]), str(report["channel"]))
        for name in MEASURE_ROLLUPS:
            contribution = measure_contribution(report, name)
            if contribution is not None:
                sums = measures.setdefault((*place, str(report["local_week"]), name), [0, 0.0, 0.0])
                for k in range(3):
                    sums[k] += contribution[k]
        for measure, (column, censored_column, steps) in SURVIVAL.items():
            value = report.get(column)
            if value is None:
                continue
            censored = bool(report.get(censored_column)) if censored_column else False
            key = (*place, measure, bucket(float(value), steps), censored)
            survival[key] = survival.get(key, 0) + 1
        for item in report_items:
            item_key = (*place, item["kind"], item["key"], item["section"])
            items.setdefault(item_key, ItemSums()).add(item)
    return survival, items, measures


# --- Storage -----------------------------------------------------------------------------------------

_BATCH = 400


async def add(
    reports: list[tuple[dict[str, Any], list[dict[str, Any]]]], tables: tuple[str, ...] | None = None
) -> None:
    """Add these reports' facts to the rollups (`tables`: only these; default all); inside the write transaction
    that stores the facts."""
    from backend.analytics.tables import SurvivalRollup

    tables = ROLLUP_TABLES if tables is None else tables
    survival, items, measures = increments(reports)
    if "survival_rollup" not in tables:
        survival = {}
    if "item_rollup" not in tables:
        items = {}
    if "measure_rollup" not in tables:
        measures = {}
    rows = [(uuid.UUID(o), uuid.UUID(loc), *rest, n) for (o, loc, *rest), n in survival.items()]  # rest: channel…
    for start in range(0, len(rows), _BATCH):
        chunk = rows[start : start + _BATCH]
        await SurvivalRollup.raw(
            "INSERT INTO survival_rollup (organisation, location, channel, measure, t, censored, n) VALUES "
            + ", ".join("({}, {}, {}, {}, {}, {}, {})" for _ in chunk)
            + " ON CONFLICT (organisation, measure, location, channel, t, censored) DO UPDATE SET "
            "n = survival_rollup.n + "
            "excluded.n",
            *(v for row in chunk for v in row),
        )
    item_rows = [
        (uuid.UUID(o), uuid.UUID(loc), *rest, s.n, s.judged, s.passed, s.score_sum, s.score_sq, s.critical)
        for (o, loc, *rest), s in items.items()
    ]
    for start in range(0, len(item_rows), _BATCH):
        chunk = item_rows[start : start + _BATCH]
        await SurvivalRollup.raw(
            "INSERT INTO item_rollup (organisation, location, channel, kind, key, section, n, judged, passed, "
            "score_sum, score_sq, critical) VALUES "
            + ", ".join("({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {})" for _ in chunk)
            + " ON CONFLICT (organisation, location, channel, kind, key, section) DO UPDATE SET "
            "n = item_rollup.n + excluded.n, judged = item_rollup.judged + excluded.judged, "
            "passed = item_rollup.passed + excluded.passed, score_sum = item_rollup.score_sum + excluded.score_sum, "
            "score_sq = item_rollup.score_sq + excluded.score_sq, critical = item_rollup.critical + excluded.critical",
            *(v for row in chunk for v in row),
        )

    measure_rows: list[tuple[object, ...]] = [
        (uuid.UUID(o), uuid.UUID(loc), channel, week, name, int(n), sm, sq)
        for (o, loc, channel, week, name), (n, sm, sq) in measures.items()
    ]
    for start in range(0, len(measure_rows), _BATCH):
        chunk = measure_rows[start : start + _BATCH]
        await SurvivalRollup.raw(
            "INSERT INTO measure_rollup (organisation, location, channel, local_week, measure, n, s, ss) VALUES "
            + ", ".join("({}, {}, {}, {}, {}, {}, {}, {})" for _ in chunk)
            + " ON CONFLICT (organisation, measure, location, channel, local_week) DO UPDATE SET "
            "n = measure_rollup.n + excluded.n, "
            "s = measure_rollup.s + excluded.s, ss = measure_rollup.ss + excluded.ss",
            *(v for row in chunk for v in row),
        )


ROLLUP_TABLES = ("survival_rollup", "item_rollup", "measure_rollup")


async def clear(tables: tuple[str, ...] = ROLLUP_TABLES) -> None:
    from backend.analytics.tables import ReportFact

    for table in tables:
        await ReportFact.raw(f"DELETE FROM {table}")


def _flag(column: str | None) -> str:
    """A nullable boolean fact as 1 when true, else 0 (as `increments` counts it: bool(None) is False)."""
    return f"CASE WHEN {column} THEN 1 ELSE 0 END" if column else "0"


def rebuild_statements(postgres: bool) -> dict[str, list[str]]:
    """Per rollup table, the INSERT … SELECT statements that write its rows from the stored facts: the same rows
    `add` keeps (times rounded half up as `bucket` does, with the same IEEE arithmetic; SQLite's CAST truncates,
    and times are never negative)."""

    def rounded(column: str, steps: int) -> str:
        whole = f"FLOOR({column} * {steps} + 0.5)" if postgres else f"CAST({column} * {steps} + 0.5 AS INTEGER)"
        return f"{whole} / {steps}.0"

    true = "TRUE" if postgres else "1"
    survival = []
    for measure, (column, censored_column, steps) in SURVIVAL.items():
        censored = f"CASE WHEN {censored_column} THEN {true} ELSE NOT {true} END" if censored_column else f"NOT {true}"
        t = rounded(column, steps)
        survival.append(
            "INSERT INTO survival_rollup (organisation, location, channel, measure, t, censored, n) "
            f"SELECT organisation, location, channel, '{measure}', {t}, {censored}, COUNT(*) FROM report_fact "
            f"WHERE {column} IS NOT NULL GROUP BY organisation, location, channel, {t}, {censored}"
        )
    items = [
        "INSERT INTO item_rollup (organisation, location, channel, kind, key, section, n, judged, passed, score_sum, "
        "score_sq, critical) SELECT f.organisation, f.location, f.channel, i.kind, i.key, i.section, COUNT(*), "
        f"COUNT(i.passed), SUM({_flag('i.passed')}), SUM(i.score), SUM(i.score * i.score), "
        f"SUM({_flag('i.critical_failed')}) FROM item_fact i JOIN report_fact f ON f.id = i.report "
        "GROUP BY f.organisation, f.location, f.channel, i.kind, i.key, i.section"
    ]
    measures = []
    for name, (kind, column, condition) in MEASURE_ROLLUPS.items():
        where = f"{column} IS NOT NULL" + (" AND NOT failed" if condition == "passed" else "")
        if kind == "mean":
            sums = f"SUM({column}), SUM({column} * {column})"
        elif kind == "share":
            success = column if condition else f"NOT {column}"
            sums = f"SUM(CASE WHEN {success} THEN 1.0 ELSE 0.0 END), 0.0"
        else:
            sums = f"SUM(CASE WHEN {column} >= 9 THEN 1.0 ELSE 0.0 END), SUM(CASE WHEN {column} <= 6 THEN 1.0 ELSE 0.0 END)"
        measures.append(
            "INSERT INTO measure_rollup (organisation, location, channel, local_week, measure, n, s, ss) "
            f"SELECT organisation, location, channel, local_week, '{name}', COUNT(*), {sums} FROM report_fact "
            f"WHERE {where} GROUP BY organisation, location, channel, local_week"
        )
    return {"survival_rollup": survival, "item_rollup": items, "measure_rollup": measures}


async def rebuild(tables: tuple[str, ...] = ROLLUP_TABLES) -> None:
    """Recompute the rollups (`tables`: only these) from the stored facts, deleting what was there, and analyse
    them; inside the caller's write transaction. Set-based (a GROUP BY per measure over the fact tables), so it takes one pass over
    the facts however many there are."""
    from backend import db
    from backend.analytics.tables import ReportFact

    await clear(tables)
    for table, statements in rebuild_statements(db.is_postgres()).items():
        if table in tables:
            for sql in statements:
                await ReportFact.raw(sql)
            # Its planner statistics, now: a rebuilt rollup's row count and key values (channel, week) differ from
            # what the planner last saw (without them PostgreSQL estimated 25 of 2,100 rows for a channel and
            # rescanned the rollup once per location: 0.9 s instead of 5 ms at 40,000 reports).
            await ReportFact.raw(f"ANALYZE {table}")


__all__ = [
    "MEASURE_ROLLUPS",
    "ROLLUP_TABLES",
    "SURVIVAL",
    "ItemSums",
    "add",
    "bucket",
    "clear",
    "increments",
    "measure_contribution",
    "measure_rollup_name",
    "rebuild",
    "rebuild_statements",
    "resolution",
]

"""Rollups: per-location sums of the analytics facts, kept in the approval's transaction.

A comparison of Kaplan–Meier times or of item pass rates over a million reports would group millions of
fact rows; these tables hold the same counts per (organisation, location, ...), a few thousand rows, and
the comparison reads them whenever it filters and groups only by what a location determines (location,
region, brand, relation; item and section for items) — see backend.analytics.comparison. An approved
report is final, so a rollup only ever grows: `add` (in backend.analytics.facts.insert, so in the same
transaction as the facts, including a coordinator's rolled-back preview) upserts the increments, and
`rebuild` recomputes everything from the facts (`fieldscore analytics-rebuild`, the migration that made
the tables, and the tests' from-scratch reference).

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


SurvivalKey = tuple[str, str, str, float, bool]  # organisation, location, measure, t, censored
ItemKey = tuple[str, str, str, str, str]  # organisation, location, kind, key, section


def increments(
    reports: Iterable[tuple[dict[str, Any], list[dict[str, Any]]]],
) -> tuple[dict[SurvivalKey, int], dict[ItemKey, ItemSums]]:
    """What these reports' facts (report row, item rows) add to each rollup row."""
    survival: dict[SurvivalKey, int] = {}
    items: dict[ItemKey, ItemSums] = {}
    for report, report_items in reports:
        place = (str(report["organisation"]), str(report["location"]))
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
    return survival, items


# --- Storage -----------------------------------------------------------------------------------------

_BATCH = 400


async def add(reports: list[tuple[dict[str, Any], list[dict[str, Any]]]]) -> None:
    """Add these reports' facts to the rollups; inside the write transaction that stores the facts."""
    from backend.analytics.tables import SurvivalRollup

    survival, items = increments(reports)
    rows = [(uuid.UUID(o), uuid.UUID(loc), *rest, n) for (o, loc, *rest), n in survival.items()]
    for start in range(0, len(rows), _BATCH):
        chunk = rows[start : start + _BATCH]
        await SurvivalRollup.raw(
            "INSERT INTO survival_rollup (organisation, location, measure, t, censored, n) VALUES "
            + ", ".join("({}, {}, {}, {}, {}, {})" for _ in chunk)
            + " ON CONFLICT (organisation, location, measure, t, censored) DO UPDATE SET n = survival_rollup.n + "
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
            "INSERT INTO item_rollup (organisation, location, kind, key, section, n, judged, passed, score_sum, "
            "score_sq, critical) VALUES "
            + ", ".join("({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {})" for _ in chunk)
            + " ON CONFLICT (organisation, location, kind, key, section) DO UPDATE SET "
            "n = item_rollup.n + excluded.n, judged = item_rollup.judged + excluded.judged, "
            "passed = item_rollup.passed + excluded.passed, score_sum = item_rollup.score_sum + excluded.score_sum, "
            "score_sq = item_rollup.score_sq + excluded.score_sq, critical = item_rollup.critical + excluded.critical",
            *(v for row in chunk for v in row),
        )


async def clear() -> None:
    from backend.analytics.tables import ItemRollup, SurvivalRollup

    await SurvivalRollup.delete(force=True)
    await ItemRollup.delete(force=True)


_FACT_COLUMNS = ("id", "organisation", "location", *(c for col, cen, _ in SURVIVAL.values() for c in (col, cen) if c))


async def rebuild(batch: int = 5000) -> None:
    """Recompute the rollups from the stored facts (deletes what was there); inside the caller's write
    transaction."""
    from backend.analytics.tables import ItemFact, ReportFact

    await clear()
    last = ""
    while True:
        reports = await ReportFact.raw(
            f"SELECT {', '.join(_FACT_COLUMNS)} FROM report_fact WHERE CAST(id AS VARCHAR(36)) > {{}} "
            "ORDER BY CAST(id AS VARCHAR(36)) LIMIT {}",
            last,
            batch,
        )
        if not reports:
            return
        ids = [r["id"] for r in reports]
        items: dict[str, list[dict[str, Any]]] = {}
        for item in await ItemFact.raw(
            "SELECT report, kind, key, section, score, passed, critical_failed FROM item_fact WHERE report IN ("
            + ", ".join("{}" for _ in ids)
            + ")",
            *ids,
        ):
            items.setdefault(str(item["report"]), []).append(item)
        await add([(r, items.get(str(r["id"]), [])) for r in reports])
        last = str(ids[-1])


__all__ = ["SURVIVAL", "ItemSums", "add", "bucket", "clear", "increments", "rebuild", "resolution"]

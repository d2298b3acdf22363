"""Analytics facts: what a report contributes to analytics, computed once when it is approved.

`build` is pure (a report, its task, its location's zone and its form → fact rows); `record` writes
them inside the approval's transaction, so a report counts from the moment its approval commits;
`rebuild` recomputes every fact from the reports (the from-scratch reference the tests compare with,
and `fieldscore analytics-rebuild` for a database that had approved reports before this table).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from api_schemas.forms import FormDefinition, ScoreItem, ScoreResult, Section
from backend.analytics import rollups
from backend.analytics.tables import ItemFact, ReportFact

# Dayparts for reports without a planned slot (a task made by hand): local hours [start, end).
DEFAULT_DAYPARTS = (("night", 0, 8), ("morning", 8, 12), ("afternoon", 12, 17), ("evening", 17, 21), ("night", 21, 24))

# Metric keys of ScoreResult.metrics copied as they are (the rest are derived below).
_NUMBERS = (
    "time_to_answer_s",
    "rings",
    "hold_s",
    "menu_s",
    "transfers",
    "wait_s",
    "serve_s",
    "reply_h",
    "reply_s",
    "resolution_h",
)
_FLAGS = ("answered", "fcr", "right_person", "out_of_hours_cover", "language_cover", "csat_satisfied")


@dataclass(frozen=True, slots=True)
class Facts:
    report: dict[str, Any]
    items: list[dict[str, Any]] = field(default_factory=list)


def daypart(slot_key: str | None, local_hour: int) -> str:
    """The slot's daypart when the task was planned in one (slot keys are "<day type>:<daypart>"), else
    the default band of the local hour."""
    if slot_key and ":" in slot_key:
        return slot_key.split(":", 1)[1]
    return next(name for name, start, end in DEFAULT_DAYPARTS if start <= local_hour < end)


def _fraction(item: ScoreItem) -> float | None:
    if item.possible <= 0:
        return None
    if item.status in ("scored", "bonus"):
        return item.earned / item.possible
    if item.status == "unanswered":  # a required question left unanswered counts as 0 in the score
        return 0.0
    return None


def section_scores(defn: FormDefinition, items: list[ScoreItem]) -> dict[str, float]:
    """Each section's score (0–100) as the scoring engine weighs it: Σ wᵢ·fᵢ / Σ wᵢ over its counted
    non-bonus children (bonus adds to the numerator only; capped at 100). Sections with nothing
    counted are left out. `items` are ScoreResult.items, in document order."""
    fractions = iter([(_fraction(i), i.status == "bonus") for i in items])
    scores: dict[str, float] = {}

    def tally(section: Section) -> tuple[float | None, bool]:
        numerator = denominator = bonus_weight = 0.0
        for child in section.items:
            if isinstance(child, Section):
                fraction, bonus = tally(child)
                weight = child.weight
            else:
                fraction, bonus = next(fractions)
                weight = child.weight
            if fraction is None:
                continue
            numerator += weight * fraction
            if bonus:
                bonus_weight += weight
            else:
                denominator += weight
        scale = denominator if denominator > 0 else bonus_weight
        if scale <= 0:
            return None, False
        fraction = numerator / scale
        scores[section.key] = min(100.0, 100 * fraction)
        return fraction, denominator == 0

    for top in defn.sections:
        tally(top)
    return scores


def build(report: dict[str, Any], task: dict[str, Any], timezone: str, definition: FormDefinition) -> Facts:
    """The fact rows of one report. `report` has id, organisation, location, shopper, form_version,
    started_at, score_final, score_calculated, failed, score_detail; `task` has channel, campaign, wave,
    slot_key."""
    result = report["score_detail"]
    if not isinstance(result, ScoreResult):
        result = msgspec.convert(result if isinstance(result, dict) else msgspec.json.decode(result), ScoreResult)
    started: dt.datetime = report["started_at"]
    if started.tzinfo is None:  # SQLite hands back naive UTC
        started = started.replace(tzinfo=dt.UTC)
    local = started.astimezone(ZoneInfo(timezone))
    year, week, weekday = local.isocalendar()
    metrics = result.metrics
    row: dict[str, Any] = {
        "id": report["id"],
        "organisation": report["organisation"],
        "location": report["location"],
        "shopper": report.get("shopper"),
        "campaign": task.get("campaign"),
        "wave": task.get("wave"),
        "form_version": report["form_version"],
        "channel": task["channel"],
        "started_at": started,
        "local_day": local.date().isoformat(),
        "local_week": f"{year:04d}-W{week:02d}",
        "local_month": f"{local.year:04d}-{local.month:02d}",
        "local_weekday": weekday,
        "local_hour": local.hour,
        "daypart": daypart(task.get("slot_key"), local.hour),
        "score_final": report["score_final"],
        "score_calculated": report["score_calculated"],
        "failed": bool(report["failed"]),
    }
    for key in _NUMBERS:
        value = metrics.get(key)
        row[key] = None if value is None else float(value)
    for key in _FLAGS:
        value = metrics.get(key)
        row[key] = None if value is None else bool(value)
    row["time_to_answer_censored"] = _censored(metrics, "time_to_answer_s")
    row["reply_h_censored"] = _censored(metrics, "reply_h")
    row["reply_s_censored"] = _censored(metrics, "reply_s")
    nps = metrics.get("nps")
    row["nps"] = None if nps is None else int(nps)
    # A call nobody answered says so through its timer or an "answered" question; one with only a
    # censored waiting time is unanswered too.
    if row["answered"] is None and row["time_to_answer_censored"] is not None:
        row["answered"] = not row["time_to_answer_censored"]

    items: list[dict[str, Any]] = []
    for item in result.items:
        fraction = _fraction(item)
        if fraction is None:
            continue
        items.append(
            {
                "report": report["id"],
                "kind": "item",
                "key": item.key,
                "section": item.section_path[0] if item.section_path else "",
                "score": 100 * fraction,
                "passed": item.earned >= item.possible,
                "critical_failed": item.critical_failed,
            }
        )
    top = {s.key for s in definition.sections}
    parents = _top_sections(definition)
    for key, score in section_scores(definition, result.items).items():
        items.append(
            {
                "report": report["id"],
                "kind": "section",
                "key": key,
                "section": key if key in top else parents[key],
                "score": score,
                "passed": None,
                "critical_failed": False,
            }
        )
    return Facts(row, items)


def _censored(metrics: dict[str, Any], key: str) -> bool | None:
    if metrics.get(key) is None:
        return None
    return bool(metrics.get(f"{key}_censored", False))


def _top_sections(definition: FormDefinition) -> dict[str, str]:
    parents: dict[str, str] = {}

    def walk(section: Section, top: str) -> None:
        for child in section.items:
            if isinstance(child, Section):
                parents[child.key] = top
                walk(child, top)

    for section in definition.sections:
        walk(section, section.key)
    return parents


# --- Storage -----------------------------------------------------------------------------------------

_REPORT_SQL = (
    "SELECT r.id, r.organisation, r.location, r.shopper, r.form_version, r.started_at, r.score_final, "
    "r.score_calculated, r.failed, r.score_detail, t.channel, t.campaign, t.wave, t.slot_key, l.timezone "
    "FROM report r JOIN task t ON t.id = r.task JOIN location l ON l.id = r.location"
)


async def _definitions(version_ids: Iterable[Any]) -> dict[str, FormDefinition]:
    from backend.forms import service as forms

    result: dict[str, FormDefinition] = {}
    for version_id in {str(v) for v in version_ids}:
        result[version_id] = await forms.published_definition(uuid.UUID(version_id))
    return result


async def _build_rows(rows: list[dict[str, Any]]) -> list[Facts]:
    definitions = await _definitions(r["form_version"] for r in rows)
    return [build(r, r, r["timezone"], definitions[str(r["form_version"])]) for r in rows]


async def facts_where(condition: str, *args: Any) -> list[Facts]:
    """Facts of the reports matching a condition on `r` (report), computed now (not stored)."""
    return await _build_rows(await ReportFact.raw(f"{_REPORT_SQL} WHERE {condition}", *args))


async def insert(all_facts: list[Facts]) -> None:
    """Store facts and add them to the rollups (backend.analytics.rollups); inside a write transaction."""
    if not all_facts:
        return
    await ReportFact.insert(*(ReportFact(**f.report) for f in all_facts))
    items = [ItemFact(**item) for f in all_facts for item in f.items]
    for start in range(0, len(items), 500):
        await ItemFact.insert(*items[start : start + 500])
    await rollups.add([(f.report, f.items) for f in all_facts])


async def record(report_id: uuid.UUID) -> None:
    """Store the facts of a report just approved; call inside the approval's write transaction."""
    await insert(await facts_where("r.id = {} AND r.status = 'approved'", report_id))


async def rebuild(batch: int = 2000) -> int:
    """Recompute every fact and rollup from the approved reports (deletes what was there); returns the number of
    reports."""
    from backend import db

    async with db.writing():
        await ItemFact.delete(force=True)
        await ReportFact.delete(force=True)
        await rollups.clear()
    done = 0
    last = ""
    while True:
        ids = await ReportFact.raw(
            "SELECT id FROM report WHERE status = 'approved' AND CAST(id AS VARCHAR(36)) > {} "
            "ORDER BY CAST(id AS VARCHAR(36)) LIMIT {}",
            last,
            batch,
        )
        if not ids:
            return done
        chunk = [r["id"] for r in ids]
        built = await facts_where("r.id IN (" + ", ".join("{}" for _ in chunk) + ")", *chunk)
        async with db.writing():
            await insert(built)
        done += len(chunk)
        last = str(chunk[-1])


__all__ = [
    "DEFAULT_DAYPARTS",
    "Facts",
    "build",
    "daypart",
    "facts_where",
    "insert",
    "rebuild",
    "record",
    "section_scores",
]

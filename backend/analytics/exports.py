"""Exports of reports and comparisons as CSV (streamed row by row) and XLSX (openpyxl write-only mode).

Reports: one row per approved report the caller may see (a manager: their organisation's), in pages by id
so memory stays flat however many; the visit's start in UTC and in the location's local time, the report's
groups, scores and measures, then one column per question of the forms involved. Competitor locations'
free text (text answers, which may name staff) is left out, and the shopper is named to coordinators only.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import json
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import replace
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from api_schemas.accounts import Role
from api_schemas.analytics import Comparison
from backend.accounts.security import Actor
from backend.analytics import comparison as comparisons
from backend.analytics.comparison import Filters
from backend.analytics.tables import ReportFact
from backend.forms.definition import iter_questions, question_type

PAGE = 1000
# Measures as they are stored with each report (backend.analytics.tables.ReportFact).
MEASURE_COLUMNS = (
    "score_final",
    "score_calculated",
    "failed",
    "answered",
    "time_to_answer_s",
    "time_to_answer_censored",
    "rings",
    "hold_s",
    "menu_s",
    "transfers",
    "wait_s",
    "serve_s",
    "reply_h",
    "reply_h_censored",
    "reply_s",
    "reply_s_censored",
    "resolution_h",
    "nps",
    "csat_satisfied",
    "fcr",
    "right_person",
    "out_of_hours_cover",
    "language_cover",
)
_FREE_TEXT = {"text", "repeat"}  # a repeat's instances may hold free text too


def comparison_rows(result: Comparison) -> tuple[list[str], list[list[Any]]]:
    """A comparison as a table: one row per group, in the API's order, with the same numbers."""
    header = []
    for d in result.group_by:
        header += [d.value, f"{d.value}_label"]
    header += [
        "n",
        "pending",
        "enough_data",
        "value",
        "ci_low",
        "ci_high",
        "q25",
        "q75",
        "events",
        "not_reached",
        "tier",
        "target",
        "target_direction",
        "gap",
        "target_status",
    ]
    rows = []
    for g in result.groups:
        row: list[Any] = []
        for key in g.keys:
            row += [key.value, key.label]
        f = g.figure
        row += [
            f.n,
            f.pending,
            f.enough_data,
            f.value,
            f.ci_low,
            f.ci_high,
            f.q25,
            f.q75,
            f.events,
            f.not_reached,
            g.tier,
        ]
        row += (
            [None, None, None, None]
            if g.target is None
            else [g.target.target, g.target.direction, g.target.gap, g.target.status]
        )
        rows.append(row)
    return header, rows


async def comparison_table(actor: Actor, **kwargs: Any) -> tuple[list[str], list[list[Any]]]:
    from backend.pagination import PageParams

    result = await comparisons.compare(actor, PageParams(limit=10_000_000, offset=0), **kwargs)
    return comparison_rows(result)


_SQL = (
    "SELECT f.*, r.answers AS answers, l.name AS location_name, l.region AS region, l.timezone AS timezone, "
    "ob.relation AS relation, b.name AS brand_name, l.brand AS brand, u.name AS shopper_name "
    "FROM report_fact f JOIN report r ON r.id = f.id JOIN location l ON l.id = f.location "
    "JOIN organisation_brand ob ON ob.organisation = f.organisation AND ob.brand = l.brand "
    "JOIN brand b ON b.id = l.brand LEFT JOIN app_user u ON u.id = f.shopper"
)


def _where(filters: Filters) -> tuple[list[str], list[Any]]:
    where: list[str] = ["f.organisation = {}"]
    args: list[Any] = [filters.organisation_id]
    for condition, value in (
        ("f.campaign = {}", filters.campaign_id),
        ("f.local_day >= {}", filters.date_from.isoformat() if filters.date_from else None),
        ("f.local_day <= {}", filters.date_to.isoformat() if filters.date_to else None),
        ("f.channel = {}", filters.channel.value if filters.channel else None),
        ("l.brand = {}", filters.brand_id),
        ("l.region = {}", filters.region),
        ("ob.relation = {}", filters.relation.value if filters.relation else None),
    ):
        if value is not None:
            where.append(condition)
            args.append(value)
    return where, args


async def _questions(where: list[str], args: list[Any]) -> list[tuple[str, str]]:
    """(key, type) of every question of the forms the selected reports use, in form and document order."""
    from backend.forms import service as forms

    versions = await ReportFact.raw(
        "SELECT DISTINCT f.form_version AS v FROM report_fact f JOIN location l ON l.id = f.location "
        "JOIN organisation_brand ob ON ob.organisation = f.organisation AND ob.brand = l.brand WHERE "
        + " AND ".join(where),
        *args,
    )
    seen: dict[str, str] = {}
    for version in sorted(str(v["v"]) for v in versions):
        for info in iter_questions(await forms.published_definition(uuid.UUID(version))):
            if info.repeat is not None:  # one column for the repeat: its instances as JSON
                seen.setdefault(info.repeat, "repeat")
                continue
            kind = question_type(info.question)
            if kind != "note":
                seen.setdefault(info.question.key, kind)
    return list(seen.items())


def _cell(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


async def report_rows(actor: Actor, filters: Filters) -> tuple[list[str], AsyncIterator[list[Any]]]:
    """The header and the rows (fetched a page at a time) of the reports export."""
    organisation_id = await comparisons.scope(actor, filters, False)
    filters = replace(filters, organisation_id=organisation_id, include_pending=False)
    waves = await comparisons.wave_ids(filters)
    where, args = _where(filters)
    if waves is not None:
        where.append("f.wave IN (" + ", ".join("{}" for _ in waves) + ")" if waves else "1 = 0")
        args.extend(waves)
    questions = await _questions(where, args)
    staff = actor.role in (Role.admin, Role.coordinator)
    header = [
        "report_id",
        "location_id",
        "location",
        "brand",
        "relation",
        "region",
        "channel",
        "campaign_id",
        "wave_id",
        "started_at_utc",
        "started_at_local",
        "timezone",
        "local_day",
        "local_hour",
        "daypart",
    ]
    if staff:
        header += ["shopper"]
    header += list(MEASURE_COLUMNS) + [f"q.{key}" for key, _ in questions]

    async def rows() -> AsyncIterator[list[Any]]:
        last = None
        while True:
            page_where, page_args = list(where), list(args)
            if last is not None:
                page_where.append("f.id > {}")
                page_args.append(last)
            batch = await ReportFact.raw(
                _SQL + " WHERE " + " AND ".join(page_where) + f" ORDER BY f.id LIMIT {PAGE}", *page_args
            )
            for r in batch:
                yield _report_row(r, questions, staff)
            if len(batch) < PAGE:
                return
            last = batch[-1]["id"]

    return header, rows()


def _report_row(r: dict[str, Any], questions: list[tuple[str, str]], staff: bool) -> list[Any]:
    started: dt.datetime = r["started_at"]
    if started.tzinfo is None:
        started = started.replace(tzinfo=dt.UTC)
    local = started.astimezone(ZoneInfo(r["timezone"]))
    answers = r["answers"] if isinstance(r["answers"], dict) else json.loads(r["answers"])
    competitor = r["relation"] == "competitor"
    row: list[Any] = [
        str(r["id"]),
        str(r["location"]),
        r["location_name"],
        r["brand_name"],
        r["relation"],
        r["region"],
        r["channel"],
        _cell(r["campaign"]),
        _cell(r["wave"]),
        started.astimezone(dt.UTC).isoformat(),
        local.isoformat(),
        r["timezone"],
        r["local_day"],
        r["local_hour"],
        r["daypart"],
    ]
    if staff:
        row.append(r["shopper_name"])
    for column in MEASURE_COLUMNS:
        value = r[column]
        if column in ("failed", "answered") or column.endswith(("_censored", "_satisfied", "fcr", "_person", "_cover")):
            value = None if value is None else bool(value)
        row.append(value)
    for key, kind in questions:
        # Competitors' staff are never identified: their free text stays out of every export.
        row.append(None if competitor and kind in _FREE_TEXT else _cell(answers.get(key)))
    return row


async def csv_stream(header: list[str], rows: AsyncIterator[list[Any]] | Iterable[list[Any]]) -> AsyncIterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    yield ("\ufeff" + buffer.getvalue()).encode()  # a BOM, so spreadsheet programs read UTF-8
    chunk: list[list[Any]] = []

    def flush() -> bytes:
        buffer.seek(0)
        buffer.truncate()
        writer.writerows([["" if v is None else v for v in row] for row in chunk])
        chunk.clear()
        return buffer.getvalue().encode()

    if isinstance(rows, AsyncIterator):
        async for row in rows:
            chunk.append(row)
            if len(chunk) >= 500:
                yield flush()
    else:
        for row in rows:
            chunk.append(row)
    if chunk:
        yield flush()


async def xlsx_stream(
    sheet: str, header: list[str], rows: AsyncIterator[list[Any]] | Iterable[list[Any]]
) -> AsyncIterator[bytes]:
    """A write-only workbook (rows go to a temporary file as they come), then the file in chunks."""
    workbook = Workbook(write_only=True)
    worksheet = workbook.create_sheet(sheet)
    worksheet.append(header)

    def cells(row: list[Any]) -> list[Any]:
        return [_xlsx(worksheet, v) for v in row]

    if isinstance(rows, AsyncIterator):
        async for row in rows:
            worksheet.append(cells(row))
    else:
        for row in rows:
            worksheet.append(cells(row))
    handle, path = tempfile.mkstemp(suffix=".xlsx")
    os.close(handle)
    try:
        await asyncio.to_thread(workbook.save, path)
        file = await asyncio.to_thread(open, path, "rb")
        try:
            while chunk := await asyncio.to_thread(file.read, 1 << 16):
                yield chunk
        finally:
            file.close()
    finally:
        os.unlink(path)


def _xlsx(worksheet: Any, value: Any) -> Any:
    if isinstance(value, str):
        # Control characters cannot be written in a workbook's XML (openpyxl refuses them, which would
        # break the download halfway): each becomes U+FFFD, visibly. The CSV export keeps them as they are.
        value = ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
    if isinstance(value, str) and value.startswith("="):
        # Text, never a formula: what a shopper typed must not run in a manager's spreadsheet.
        cell = WriteOnlyCell(worksheet, value=value)
        cell.data_type = "s"
        return cell
    return value


__all__ = ["MEASURE_COLUMNS", "comparison_rows", "comparison_table", "csv_stream", "report_rows", "xlsx_stream"]

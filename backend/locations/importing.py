"""Locations from a spreadsheet (CSV or XLSX), as pure functions: rows in, location fields or problems out.

One row per location. The header names the columns (any order, case ignored); `brand`, `name`, `code` and
`timezone` are required, `region`, `district`, `address`, `lat`, `lon`, `phone`, `email` and `opening_hours`
(``mon 09:00-17:00, fri 22:00-02:00, sun closed``, or ``24/7``) may be left out or blank. The location's `code` is what a re-import
matches on, so importing the same file again changes nothing. Every problem names its row and column.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from typing import Any, Final

import msgspec

from api_schemas.locations import LocationCreate

REQUIRED: Final = ("brand", "name", "code", "timezone")
OPTIONAL: Final = ("region", "district", "address", "lat", "lon", "phone", "email", "opening_hours")
MAX_ROWS: Final = 10_000
_HOURS = re.compile(r"^(mon|tue|wed|thu|fri|sat|sun)\s+(\d{2}:\d{2})\s*[-–]\s*(\d{2}:\d{2})$")
_CLOSED = re.compile(r"^(mon|tue|wed|thu|fri|sat|sun)\s+closed$")
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

Problem = tuple[str, str]  # ("row 3.timezone", "not an IANA time zone name")


class UnreadableFile(ValueError):
    """The file as a whole cannot be read (not CSV/XLSX, no header, too many rows)."""


def read_rows(data: bytes) -> list[dict[str, str]]:
    """The rows under the header as {column: text}, XLSX (a ZIP) or CSV (UTF-8, `,` or `;`)."""
    if data[:4] == b"PK\x03\x04":
        return _xlsx_rows(data)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UnreadableFile("the file is neither an XLSX workbook nor UTF-8 CSV") from None
    if "\x00" in text:
        raise UnreadableFile("the file holds a NUL character: it is not CSV")
    sample = text[:4096]
    dialect = ";" if sample.count(";") > sample.count(",") else ","
    table = list(csv.reader(io.StringIO(text), delimiter=dialect))
    return _under_header(table)


def _xlsx_rows(data: bytes) -> list[dict[str, str]]:
    import openpyxl  # only for workbooks

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise UnreadableFile(f"the workbook cannot be read ({type(exc).__name__})") from None
    try:
        sheet = book.worksheets[0]
        table = [
            ["" if v is None else _cell_text(v) for v in row]
            for row in sheet.iter_rows(values_only=True, max_row=MAX_ROWS + 2)
        ]
    finally:
        book.close()
    return _under_header(table)


def _cell_text(value: Any) -> str:
    # A code typed as 101 comes back from the workbook as 101.0; it means "101".
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def _under_header(table: list[list[str]]) -> list[dict[str, str]]:
    table = [row for row in table if any(str(c).strip() for c in row)] if table else []
    if not table:
        raise UnreadableFile("the file is empty: the first row must name the columns")
    header = [str(c).strip().lower() for c in table[0]]
    if len(table) - 1 > MAX_ROWS:
        raise UnreadableFile(f"more than {MAX_ROWS} rows")
    return [
        {"__row__": str(i + 2), **{h: str(row[j]).strip() if j < len(row) else "" for j, h in enumerate(header) if h}}
        for i, row in enumerate(table[1:])
    ]


def header_problems(rows: list[dict[str, str]]) -> list[Problem]:
    columns = {k for row in rows[:1] for k in row if k != "__row__"}
    problems = [(f"row 1.{c}", "unknown column") for c in sorted(columns - set(REQUIRED) - set(OPTIONAL))]
    problems += [(f"row 1.{c}", "required column is missing") for c in REQUIRED if c not in columns]
    return problems


def parse_opening_hours(text: str) -> list[dict[str, str]]:
    """``mon 09:00-17:00, fri 22:00-02:00`` (closing the next day), ``sun closed`` (no interval that day:
    said for the reader, it adds nothing) or ``24/7`` (every day 00:00-24:00)."""
    intervals = []
    for part in (p.strip() for p in text.split(",")):
        if not part or _CLOSED.match(part.lower()):
            continue
        if part.lower() in ("24/7", "24h", "24 hours"):
            intervals += [{"day": day, "opens": "00:00", "closes": "24:00"} for day in _DAYS]
            continue
        match = _HOURS.match(part.lower())
        if not match:
            raise ValueError(
                f"cannot read {part!r}: write e.g. 'mon 09:00-17:00', 'fri 22:00-02:00', 'sun closed' or '24/7'"
            )
        intervals.append({"day": match.group(1), "opens": match.group(2), "closes": match.group(3)})
    return intervals


def row_fields(row: dict[str, str], brand_id: str) -> tuple[LocationCreate | None, list[Problem]]:
    """One row as the fields of a new location (brand already resolved), or its problems."""
    where = f"row {row['__row__']}"
    problems: list[Problem] = []
    fields: dict[str, Any] = {"brand_id": brand_id}
    for column in ("name", "code", "region", "district", "address", "timezone"):
        if row.get(column):
            fields[column] = row[column]
    for column in ("phone", "email"):
        if row.get(column):
            fields[column] = row[column]
    for column in ("lat", "lon"):
        if row.get(column):
            try:
                fields[column] = float(row[column].replace(",", "."))
            except ValueError:
                problems.append((f"{where}.{column}", "not a number"))
    if row.get("opening_hours"):
        try:
            fields["opening_hours"] = parse_opening_hours(row["opening_hours"])
        except ValueError as exc:
            problems.append((f"{where}.opening_hours", str(exc)))
    for column in REQUIRED:
        if column != "brand" and not row.get(column):
            problems.append((f"{where}.{column}", "required"))
    if problems:
        return None, problems
    try:
        return msgspec.convert(fields, LocationCreate), []
    except msgspec.ValidationError as exc:
        # "Expected `str` of length <= 200 - at `$.name`" → the column and the reason.
        message = str(exc)
        match = re.search(r"at `\$\.(\w+)", message)
        column = match.group(1) if match else "row"
        return None, [(f"{where}.{column}", message.split(" - at ")[0])]


__all__ = [
    "MAX_ROWS",
    "OPTIONAL",
    "REQUIRED",
    "Problem",
    "UnreadableFile",
    "header_problems",
    "parse_opening_hours",
    "read_rows",
    "row_fields",
]

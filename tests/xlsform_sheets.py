"""XLSForm workbooks for tests: sheets from rows, rows back from a workbook, the problems an import names."""

from __future__ import annotations

import io
from typing import Any

import openpyxl
import pytest

from backend.forms.xlsform import XLSFormError, import_xlsform

YES_NO = [["list_name", "name", "label"], ["yn", "yes", "Yes"], ["yn", "no", "No"]]


def xlsx(
    survey: list[list[Any]],
    choices: list[list[Any]] | None = None,
    settings_rows: list[list[Any]] | None = None,
    **other: list[list[Any]],
) -> bytes:
    """A workbook whose sheets hold these rows (the first row of each is the header)."""
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    sheets = {"survey": survey, "choices": choices, "settings": settings_rows, **other}
    for name, rows in sheets.items():
        if rows is None:
            continue
        ws = workbook.create_sheet(name)
        for row in rows:
            ws.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def sheet_rows(data: bytes, sheet: str) -> list[tuple[Any, ...]]:
    workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    try:
        return list(workbook[sheet].iter_rows(values_only=True))
    finally:
        workbook.close()


def problems_of(data: bytes) -> list[tuple[str, int, str]]:
    with pytest.raises(XLSFormError) as caught:
        import_xlsform(data)
    return caught.value.problems

"""XLSX export cells: what a workbook cannot hold never breaks a download halfway."""

from __future__ import annotations

import asyncio
import io

import openpyxl
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.analytics.exports import xlsx_stream


def _workbook(header: list[str], rows: list[list[object]]) -> list[tuple[object, ...]]:
    async def collect() -> bytes:
        return b"".join([chunk async for chunk in xlsx_stream("reports", header, rows)])

    book = openpyxl.load_workbook(io.BytesIO(asyncio.run(collect())), read_only=True)
    try:
        return list(book["reports"].iter_rows(values_only=True))
    finally:
        book.close()


def test_control_characters_become_a_visible_replacement_and_formulas_stay_text() -> None:
    got = _workbook(["location", "note"], [["Shop\x01A\x1f", '=HYPERLINK("x")'], ["plain", "tab\tkept"]])
    assert got == [("location", "note"), ("Shop\ufffdA\ufffd", '=HYPERLINK("x")'), ("plain", "tab\tkept")]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(max_size=30), min_size=1, max_size=4))
def test_any_text_makes_a_workbook_that_opens(texts: list[str]) -> None:
    got = _workbook([f"c{i}" for i in range(len(texts))], [texts])
    assert len(got) == 2
    for written, read in zip(texts, got[1], strict=True):
        # Only the characters XML cannot carry are replaced; everything else arrives as written (but for
        # XML's own line-end rule: a reader sees \r\n and \r as \n).
        expected = "".join("\ufffd" if (ord(c) < 32 and c not in "\t\n\r") else c for c in written)
        assert (read or "") == expected.replace("\r\n", "\n").replace("\r", "\n")

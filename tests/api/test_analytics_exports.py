"""Exports opened back with csv and openpyxl equal the API's numbers cell by cell; tenants and ethics hold."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from tests.api.analytics_fixture import FULL_FORM, Shopped, publish_full_form
from tests.world import build_world


def _csv(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def _xlsx(content: bytes) -> list[list[Any]]:
    sheet = openpyxl.load_workbook(io.BytesIO(content), read_only=True).active
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    width = len(rows[0])
    return [row + [None] * (width - len(row)) for row in rows]  # trailing empty cells are not stored


def _same(cell: Any, expected: Any) -> bool:
    if expected is None:
        return cell in (None, "")
    if isinstance(expected, bool):
        return cell in (expected, str(expected))
    if isinstance(expected, (int, float)):
        return float(cell) == pytest.approx(float(expected), rel=1e-12, abs=1e-12)
    return str(cell) == str(expected)


async def _shop(client: Any) -> tuple[Any, Shopped]:
    w = await build_world(client)
    s = Shopped(w, await publish_full_form(w))
    await s.report(w.own_location_id, answer_s=12, nps=9)
    await s.report(w.own_location_id, answer_s=30, nps=6, greeted=False)
    await s.report(w.own_location_id, answered=False, nps=8)
    await s.report(w.competitor_location_id, answer_s=8, nps=10)
    await s.report(w.competitor_location_id, answer_s=50, nps=2)
    await s.report(w.own_location_id, approve=False)
    return w, s


async def test_comparison_exports_equal_the_api(client):
    w, _ = await _shop(client)
    for measure, group_by in (
        ("score", ["location"]),
        ("time_to_answer", ["relation"]),
        ("item_pass_rate", ["item", "relation"]),
    ):
        params = {"measure": measure, "group_by": group_by, "min_sample_size": 2, "sort": "key"}
        api = await w.ok("manager", "GET", "/analytics/comparison", params=params)
        for kind, read in (("csv", _csv), ("xlsx", _xlsx)):
            response = await w.call("manager", "GET", f"/analytics/exports/comparison.{kind}", params=params)
            assert response.status_code == 200, response.text
            assert "attachment" in response.headers["content-disposition"]
            header, *rows = read(response.content)
            assert len(rows) == len(api["groups"]) == api["total"]
            for row, group in zip(rows, api["groups"], strict=True):
                cells = dict(zip(header, row, strict=True))
                for key in group["keys"]:
                    assert _same(cells[key["dimension"]], key["value"])
                    assert _same(cells[f"{key['dimension']}_label"], key["label"])
                for field in (
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
                ):
                    assert _same(cells[field], group["figure"][field]), (kind, measure, field)
                assert _same(cells["tier"], group["tier"])


async def test_report_exports_one_row_per_approved_report(client):
    w, s = await _shop(client)
    approved = {r["id"]: r for r in s.reports if r["status"] == "approved"}
    prague = ZoneInfo("Europe/Prague")
    question_keys = [q["key"] for section in FULL_FORM["sections"] for q in section["items"]]
    for kind, read in (("csv", _csv), ("xlsx", _xlsx)):
        response = await w.call("manager", "GET", f"/analytics/exports/reports.{kind}")
        assert response.status_code == 200, response.text
        header, *rows = read(response.content)
        assert "shopper" not in header  # never who shopped, to a manager
        assert [h for h in header if h.startswith("q.")] == [f"q.{k}" for k in question_keys]
        assert len(rows) == len(approved)
        for row in rows:
            cells = dict(zip(header, row, strict=True))
            report = approved[cells["report_id"]]
            started = dt.datetime.fromisoformat(report["started_at"])
            assert dt.datetime.fromisoformat(str(cells["started_at_utc"])) == started
            local = dt.datetime.fromisoformat(str(cells["started_at_local"]))
            assert local == started and local.utcoffset() == started.astimezone(prague).utcoffset()
            assert _same(cells["score_final"], report["score"]["final"])
            assert _same(cells["failed"], report["score"]["failed"])
            assert _same(cells["nps"], report["spec"]["nps"])
            assert _same(cells["answered"], report["spec"]["answered"])
            competitor = report["location_id"] == w.competitor_location_id
            # A competitor's staff are never identified: their free text is not exported.
            assert _same(cells["q.staff_note"], None if competitor else "Anna at the desk was helpful")
            for key in question_keys:
                if key in report["answers"] and not (competitor and key == "staff_note"):
                    assert _same(cells[f"q.{key}"], report["answers"][key]), key
    staff = _csv(
        (
            await w.call(
                "coordinator", "GET", "/analytics/exports/reports.csv", params={"organisation_id": w.organisation_id}
            )
        ).content
    )
    assert "shopper" in staff[0]
    only_own = _csv(
        (await w.call("manager", "GET", "/analytics/exports/reports.csv", params={"relation": "own"})).content
    )
    assert len(only_own) - 1 == sum(1 for r in approved.values() if r["location_id"] == w.own_location_id)
    other = _csv((await w.call("other_manager", "GET", "/analytics/exports/reports.csv")).content)
    assert len(other) == 1  # the header only: nothing of another organisation
    assert (
        await w.call(
            "other_manager", "GET", "/analytics/exports/reports.csv", params={"organisation_id": w.organisation_id}
        )
    ).status_code == 404
    assert (await w.call("shopper", "GET", "/analytics/exports/reports.csv")).status_code == 403

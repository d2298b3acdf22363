"""Locations imported from CSV or XLSX: hundreds at once, problems by row and column, and idempotent."""

from __future__ import annotations

import io

import openpyxl

from tests.world import build_world

CSV = "text/csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADER = "brand,name,code,region,district,address,lat,lon,phone,email,timezone,opening_hours"


def _csv(rows: list[str]) -> bytes:
    return ("\ufeff" + "\n".join([HEADER, *rows]) + "\n").encode()


def _row(i: int, *, name: str | None = None, timezone: str = "Europe/Prague") -> str:
    return (
        f"Acme,{name or f'Acme branch {i}'},ACME-{i:04d},Bohemia,Praha {i % 10},Street {i},50.{i:04d},14.4,"
        f'+420 222 000 {i % 1000:03d},branch{i}@acme.example,{timezone},"mon 09:00-17:00, sat 10:00-14:00"'
    )


async def _import(w, who: str, content: bytes, filename: str = "locations.csv", media: str = CSV):
    return await w.call(who, "POST", "/locations/import", files={"file": (filename, content, media)})


async def test_hundreds_of_locations_import_and_the_same_file_again_changes_nothing(client):
    w = await build_world(client)
    content = _csv([_row(i) for i in range(300)])
    first = await _import(w, "coordinator", content)
    assert first.status_code == 200, first.text
    assert first.json() == {"rows": 300, "created": 300, "updated": 0, "unchanged": 0}
    listed = await w.ok("coordinator", "GET", "/locations", params={"q": "Acme branch 7", "limit": 500})
    branch = next(x for x in listed["items"] if x["code"] == "ACME-0007")
    assert branch["timezone"] == "Europe/Prague" and branch["lat"] == 50.0007 and branch["region"] == "Bohemia"
    assert branch["opening_hours"] == [
        {"day": "mon", "opens": "09:00", "closes": "17:00"},
        {"day": "sat", "opens": "10:00", "closes": "14:00"},
    ]
    total = (await w.ok("coordinator", "GET", "/locations"))["total"]

    again = await _import(w, "coordinator", content)
    assert again.json() == {"rows": 300, "created": 0, "updated": 0, "unchanged": 300}
    assert (await w.ok("coordinator", "GET", "/locations"))["total"] == total

    # One renamed row, as an XLSX workbook: that one is updated, matched by its code.
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER.split(","))
    sheet.append(
        [
            "acme",
            "Acme flagship",
            "ACME-0007",
            "Bohemia",
            "Praha 7",
            "Street 7",
            50.0007,
            14.4,
            "+420 222 000 007",
            "branch7@acme.example",
            "Europe/Prague",
            "mon 09:00-17:00, sat 10:00-14:00",
        ]
    )
    buffer = io.BytesIO()
    book.save(buffer)
    changed = await _import(w, "admin", buffer.getvalue(), "locations.xlsx", XLSX)
    assert changed.json() == {"rows": 1, "created": 0, "updated": 1, "unchanged": 0}, changed.text
    assert (await w.ok("coordinator", "GET", f"/locations/{branch['id']}"))["name"] == "Acme flagship"
    audit = await w.ok("admin", "GET", "/audit", params={"entity_id": branch["id"]})
    assert [e["action"] for e in audit["items"]][-2:] in (
        ["location.created", "location.updated"],
        ["location.updated", "location.created"],
    )


async def test_every_problem_is_named_by_row_and_column_and_nothing_is_written(client):
    w = await build_world(client)
    before = (await w.ok("coordinator", "GET", "/locations"))["total"]
    content = _csv(
        [
            _row(1),
            _row(2, timezone="Mars/Olympus"),
            "Nobody,Ghost shop,GHOST-1,,,,,,,,Europe/Prague,",
            "Acme,No code,,,,,,,,,Europe/Prague,",
            "Acme,Bad latitude,ACME-BAD,,,,north,14.4,,,Europe/Prague,",
            "Acme,Half coordinates,ACME-HALF,,,,50.1,,,,Europe/Prague,",
            "Acme,Odd hours,ACME-HRS,,,,,,,,Europe/Prague,monday 9-5",
            _row(1, name="Same code again"),
        ]
    )
    response = await _import(w, "coordinator", content)
    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "location.import_invalid"
    by_field = {e["field"]: e["reason"] for e in problem["errors"]}
    assert by_field["row 3.timezone"] == "not an IANA time zone name"
    assert by_field["row 4.brand"] == "no such brand"
    assert by_field["row 5.code"] == "required"
    assert by_field["row 6.lat"] == "not a number"
    assert by_field["row 7.lon"] == "missing its pair"
    assert "monday 9-5" in by_field["row 8.opening_hours"]
    assert by_field["row 9.code"] == "repeats the code of row 2"
    assert not any(f.startswith("row 2.") for f in by_field)
    assert (await w.ok("coordinator", "GET", "/locations"))["total"] == before  # all rows or none


async def test_a_file_that_is_not_a_table_or_has_wrong_columns_is_refused(client):
    w = await build_world(client)
    for content, field in (
        (b"\x00\x01\x02binary", "file"),
        (b"", "file"),
        (b"PK\x03\x04 not really a zip", "file"),
        (b"brand,name,code,colour\nAcme,A,A-1,red\n", "row 1.colour"),
    ):
        response = await _import(w, "coordinator", content)
        assert response.status_code == 422, content
        assert field in {e["field"] for e in response.json()["errors"]}, response.text
    missing = await _import(w, "coordinator", b"brand,name\nAcme,A\n")
    assert {e["field"] for e in missing.json()["errors"]} == {"row 1.code", "row 1.timezone"}


async def test_only_coordinators_and_admins_may_import(client):
    w = await build_world(client)
    for who in ("manager", "shopper"):
        assert (await _import(w, who, _csv([_row(1)]))).status_code == 403
    assert (
        await w.call(None, "POST", "/locations/import", files={"file": ("l.csv", _csv([_row(1)]), CSV)})
    ).status_code == 401

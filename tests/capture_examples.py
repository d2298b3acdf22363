"""Capture the OpenAPI document's examples from real calls: `python -m tests.capture_examples`.

Drives a freshly migrated app (a temporary SQLite database) through every operation as an integrator
would, records the request and response of the calls that succeeded, and writes them to
backend/openapi_examples.json, which backend/openapi.py merges into /schema/openapi.json. Run it again
after adding a route or changing a shape; tests/api/test_openapi_docs.py fails until every operation with
a body has its examples and every example fits its schema.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import logging
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx

from backend import db
from backend.app import create_app
from backend.openapi import EXAMPLES_FILE
from backend.settings import Settings
from tests.attachment_samples import png
from tests.world import World, add_shoppers, build_world, new_id

UTC = dt.timezone.utc
DEFAULT_SUMMARY = "Captured from a real call"
# Not the test worlds' password: the fuzz sends the document's examples, and the password change example
# must not change the password its users log in with.
SPARE_PASSWORD = "temporary-pass-phrase"

CALL_FORM: dict[str, Any] = {
    "title": {"en": "Hotline test call"},
    "sections": [
        {
            "type": "section",
            "key": "reach",
            "label": {"en": "Reaching someone"},
            "items": [
                {
                    "type": "timer_sequence",
                    "key": "call",
                    "label": {"en": "Tap as the call goes"},
                    "required": True,
                    "metric": "time_to_answer_s",
                    "give_up_s": 120,
                    "bands": [{"min": 0, "max": 20, "points": 2}, {"min": 20, "max": 60, "points": 1}],
                },
            ],
        },
        {
            "type": "section",
            "key": "conduct",
            "label": {"en": "Conduct"},
            "weight": 2,
            "show_if": {"op": "answered", "key": "call"},
            "items": [
                {"type": "yes_no", "key": "greeted", "label": {"en": "Greeted by name?"}, "required": True},
                {
                    "type": "yes_no",
                    "key": "offered_callback",
                    "label": {"en": "Offered a call back?"},
                    "na_allowed": True,
                },
                {
                    "type": "single_choice",
                    "key": "outcome",
                    "label": {"en": "Was the question answered?"},
                    "required": True,
                    "critical": True,
                    "choices": [
                        {"value": "fully", "label": {"en": "Fully"}, "points": 2},
                        {"value": "partly", "label": {"en": "Partly"}, "points": 1},
                        {"value": "wrongly", "label": {"en": "Wrongly"}, "points": 0, "fail": True},
                    ],
                },
                {
                    "type": "rating",
                    "key": "friendliness",
                    "label": {"en": "Friendliness"},
                    "min": 1,
                    "max": 5,
                    "points": 1,
                    "metric": "csat",
                },
                {"type": "nps", "key": "recommend", "label": {"en": "Would you recommend them?"}, "points": 1},
                {"type": "text", "key": "remarks", "label": {"en": "Remarks"}, "max_length": 500},
            ],
        },
    ],
}

VISIT_FORM: dict[str, Any] = {
    "title": {"en": "Branch visit"},
    "sections": [
        {
            "type": "section",
            "key": "arrival",
            "label": {"en": "Arrival"},
            "items": [
                {"type": "gps", "key": "check_in", "label": {"en": "Check in at the door"}, "required": True},
                {"type": "timestamp", "key": "entered_at", "label": {"en": "Entered at"}, "required": True},
                {"type": "photo", "key": "receipt", "label": {"en": "Photo of the receipt"}, "required": True},
                {"type": "yes_no", "key": "greeted", "label": {"en": "Greeted within a minute?"}, "required": True},
            ],
        }
    ],
}


def _events(start: dt.datetime, answered_after_s: float = 14, talk_s: float = 95) -> dict[str, Any]:
    at = lambda s: (start + dt.timedelta(seconds=s)).isoformat()  # noqa: E731
    return {
        "events": [
            {"event": "dialled", "at": at(0)},
            {"event": "menu_left", "at": at(6)},
            {"event": "answered", "at": at(answered_after_s)},
            {"event": "hold_on", "at": at(answered_after_s + 30)},
            {"event": "hold_off", "at": at(answered_after_s + 55)},
            {"event": "ended", "at": at(answered_after_s + talk_s)},
        ]
    }


class Recorder:
    """Records each successful call under its operation id: the request's JSON body (or its multipart
    fields) and the response's body, per status. `summary` names the next calls' examples."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.routes: list[tuple[str, re.Pattern[str], str]] = []
        for path, item in document["paths"].items():
            pattern = re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + "$")
            for method, operation in item.items():
                if isinstance(operation, dict) and "operationId" in operation:
                    self.routes.append((method.upper(), pattern, operation["operationId"]))
        # Literal paths before templated ones (/reports/review-queue before /reports/{report_id}).
        self.routes.sort(key=lambda r: r[1].pattern.count("[^/]+"))
        self.captured: dict[str, dict[str, Any]] = {}
        self.summary: str | None = None

    def operation(self, method: str, path: str) -> str | None:
        return next((op for m, p, op in self.routes if m == method and p.match(path)), None)

    async def record(self, response: httpx.Response) -> None:
        await response.aread()
        request = response.request
        await request.aread()  # a multipart body is streamed; its stream can be read again
        op = self.operation(request.method, request.url.path)
        if op is None or not 200 <= response.status_code < 300:
            return
        entry = self.captured.setdefault(op, {"request": [], "responses": {}})
        summary = self.summary or DEFAULT_SUMMARY
        kind = request.headers.get("content-type", "")
        if request.content and "json" in kind:
            _add(entry["request"], summary, json.loads(request.content))
        elif request.content and kind.startswith("multipart/form-data"):
            _add(entry["request"], summary, _multipart_fields(request))
        media = response.headers.get("content-type", "")
        if not response.content:
            return
        if "json" in media:
            value: Any = response.json()
        elif media.startswith("text/"):
            value = response.text
        else:
            return  # bytes (a spreadsheet, an image): the schema says binary, no example needed
        _add(entry["responses"].setdefault(str(response.status_code), []), summary, value)


def _add(examples: list[dict[str, Any]], summary: str, value: Any) -> None:
    """One example per summary: the first call stands for the operation unless a summary names others."""
    if summary == DEFAULT_SUMMARY and examples:
        return
    if all(e["summary"] != summary for e in examples):
        examples.append({"summary": summary, "value": value})


def _multipart_fields(request: httpx.Request) -> dict[str, str]:
    """A multipart body as its fields; a file part shows its name and size (its bytes are not JSON)."""
    boundary = request.headers["content-type"].split("boundary=", 1)[1].encode()
    fields: dict[str, str] = {}
    for part in request.content.split(b"--" + boundary)[1:-1]:
        head, _, body = part.strip(b"\r\n").partition(b"\r\n\r\n")
        name = re.search(rb'name="([^"]+)"', head)
        filename = re.search(rb'filename="([^"]+)"', head)
        if name is None:
            continue
        if filename is not None:
            text = body.decode("utf-8", "replace") if b"text/csv" in head else None
            fields[name.group(1).decode()] = text or f"<{filename.group(1).decode()}: {len(body)} bytes>"
        else:
            fields[name.group(1).decode()] = body.decode()
    return fields


async def _upload(w: World, who: str, content: bytes) -> dict[str, Any]:
    headers = {**w.as_(who), "Content-Type": "image/png"}
    response = await w.client.post("/attachments", content=content, headers=headers)
    assert response.status_code in (200, 201), response.text
    return response.json()


async def drive(w: World, rec: Recorder) -> None:
    now = dt.datetime.now(UTC)
    org, other_org = w.organisation_id, w.other_organisation_id
    shopper_id = w.users["shopper"]["id"]

    await w.ok("admin", "GET", "/health")
    await w.ok("shopper", "GET", "/auth/me")
    spare = await w.ok(
        "admin",
        "POST",
        "/users",
        json={"email": "temp@example.test", "name": "Temp", "password": SPARE_PASSWORD, "role": "coordinator"},
    )
    w.tokens["spare"] = await w.login("temp@example.test", SPARE_PASSWORD)
    await w.ok(
        "spare",
        "POST",
        "/auth/password",
        status=204,
        json={"current_password": SPARE_PASSWORD, "new_password": "a-longer-secret-phrase"},
    )
    await w.ok("spare", "POST", "/auth/logout", status=204)

    await w.ok("manager", "GET", "/organisations")
    await w.ok("coordinator", "GET", f"/organisations/{org}")
    await w.ok("admin", "PATCH", f"/organisations/{other_org}", json={"name": "Other Client Ltd"})
    await w.ok("admin", "GET", "/users?role=shopper&limit=2")
    await w.ok("coordinator", "GET", f"/users/{shopper_id}")
    await w.ok("admin", "PATCH", f"/users/{spare['id']}", json={"name": "Tereza Novak"})
    profile = {"home_lat": 50.08, "home_lon": 14.43, "languages": ["cs", "en"], "travel_radius_km": 40}
    await w.ok("coordinator", "PUT", f"/users/{shopper_id}/shopper-profile", json=profile)
    await w.ok("coordinator", "PUT", f"/users/{w.users['other_shopper']['id']}/shopper-profile", json=profile)
    await w.ok("shopper", "GET", f"/users/{shopper_id}/shopper-profile")

    await w.ok("manager", "GET", "/brands?limit=2")
    await w.ok("manager", "GET", f"/brands/{w.own_brand_id}")
    await w.ok("coordinator", "PATCH", f"/brands/{w.competitor_brand_id}", json={"name": "Rival Mobile"})
    await w.ok("manager", "GET", f"/organisations/{org}/brands")
    await w.ok("manager", "GET", f"/locations?organisation_id={org}&relation=own")
    await w.ok("manager", "GET", f"/locations/{w.own_location_id}")
    await w.ok(
        "coordinator",
        "PATCH",
        f"/locations/{w.own_location_id}",
        json={"opening_hours": [{"day": d, "opens": "08:00", "closes": "20:00"} for d in ("mon", "tue", "wed")]},
    )
    csv = "brand,name,code,timezone,region\nAcme,Acme Brno Centre,ACME-BRN-1,Europe/Prague,Moravia\n"
    await w.ok("coordinator", "POST", "/locations/import", files={"file": ("locations.csv", csv, "text/csv")})

    # Forms: a call form with a tap timer, a visit form with GPS, a timestamp and a photo.
    call_form = await w.ok(
        "coordinator",
        "POST",
        "/forms",
        json={"name": "Hotline test call", "channel": "call", "organisation_id": org, "definition": CALL_FORM},
    )
    await w.ok("coordinator", "PUT", f"/forms/{call_form['id']}/draft", json={"definition": CALL_FORM})
    await w.ok("coordinator", "POST", f"/forms/{call_form['id']}/versions/1/validate")
    call_version = await w.ok("coordinator", "POST", f"/forms/{call_form['id']}/publish")
    visit_form = await w.ok(
        "coordinator", "POST", "/forms", json={"name": "Branch visit", "channel": "visit", "definition": VISIT_FORM}
    )
    visit_version = await w.ok("coordinator", "POST", f"/forms/{visit_form['id']}/publish")
    await w.ok("manager", "GET", "/forms?channel=call")
    await w.ok("manager", "GET", f"/forms/{call_form['id']}")
    await w.ok("manager", "GET", f"/forms/{call_form['id']}/versions")
    await w.ok("manager", "GET", f"/forms/{call_form['id']}/versions/1")
    xlsx = await w.call("coordinator", "GET", f"/forms/{call_form['id']}/versions/1/xlsform")
    assert xlsx.status_code == 200, xlsx.text
    await w.ok(
        "coordinator",
        "POST",
        "/forms/import",
        data={"name": "Hotline test call (imported)", "channel": "call"},
        files={"file": ("hotline.xlsx", xlsx.content, "application/octet-stream")},
    )
    sample = {
        "call": _events(now),
        "greeted": True,
        "offered_callback": {"na": True},
        "outcome": "partly",
        "friendliness": 4,
        "recommend": 8,
    }
    await w.ok("coordinator", "POST", f"/forms/{call_form['id']}/versions/1/score-preview", json={"answers": sample})

    # A campaign with a call slot design, a wave, its tasks, coverage and auto-assignment.
    design = {
        "dayparts": [
            {"key": "day", "start_hour": 9, "end_hour": 17},
            {"key": "out_of_hours", "start_hour": 20, "end_hour": 8},
        ],
        "day_types": ["weekday", "saturday"],
        "probes_per_slot": 2,
    }
    campaign = await w.ok(
        "coordinator",
        "POST",
        "/campaigns",
        json={
            "organisation_id": org,
            "name": "Hotline 2030",
            "location_ids": [w.own_location_id, w.competitor_location_id],
            "forms": {"call": call_version["id"]},
            "slot_designs": {"call": design},
            "call_rules": {"max_attempts": 3},
            "rotation_days": 60,
        },
    )
    cid = campaign["id"]
    start = (now + dt.timedelta(days=30)).date()
    wave = await w.ok(
        "coordinator",
        "POST",
        f"/campaigns/{cid}/waves",
        json={"name": "Wave 1", "starts_on": start.isoformat(), "ends_on": (start + dt.timedelta(days=13)).isoformat()},
    )
    await w.ok("coordinator", "POST", f"/campaigns/{cid}/waves/{wave['id']}/generate")
    await w.ok("manager", "GET", f"/campaigns?organisation_id={org}")
    await w.ok("manager", "GET", f"/campaigns/{cid}")
    await w.ok("manager", "GET", f"/campaigns/{cid}/waves")

    # Single tasks: assigned at once, assigned later, and one on the job board.
    window = {
        "window_start": (now - dt.timedelta(hours=2)).isoformat(),
        "window_end": (now + dt.timedelta(hours=6)).isoformat(),
    }
    base = {"organisation_id": org, "location_id": w.own_location_id, **window}
    call_task = await w.ok(
        "coordinator",
        "POST",
        "/tasks",
        json={**base, "form_version_id": call_version["id"], "channel": "call", "shopper_id": shopper_id},
    )
    visit_task = await w.ok(
        "coordinator", "POST", "/tasks", json={**base, "form_version_id": visit_version["id"], "channel": "visit"}
    )
    await w.ok(
        "coordinator", "POST", f"/tasks/{visit_task['id']}/assign", json={"shopper_id": w.users["other_shopper"]["id"]}
    )
    await w.ok("shopper", "POST", f"/tasks/{call_task['id']}/accept")
    await w.ok("shopper", "GET", f"/tasks/{call_task['id']}/form")
    await w.ok("shopper", "GET", f"/tasks/{call_task['id']}")
    await w.ok("shopper", "GET", "/tasks?status=accepted")
    board_task = await w.ok(
        "coordinator",
        "POST",
        "/tasks",
        json={
            **base,
            "location_id": w.competitor_location_id,
            "form_version_id": call_version["id"],
            "channel": "call",
        },
    )
    await w.ok("other_shopper", "GET", "/job-board?channel=call&limit=2")
    await w.ok("other_shopper", "POST", f"/job-board/{board_task['id']}/claim")
    await w.ok("coordinator", "POST", "/tasks/expire-overdue")
    spare_task = await w.ok(
        "coordinator", "POST", "/tasks", json={**base, "form_version_id": call_version["id"], "channel": "call"}
    )
    reason = {"reason": "The branch is closed for refurbishment this week."}
    await w.ok("coordinator", "POST", f"/tasks/{spare_task['id']}/cancel", json=reason)

    # Reports: a call with its taps, a visit with GPS and a photo, review, revisions.
    photo = png(seed=7)
    rec.summary = "The first upload of these bytes"
    await _upload(w, "other_shopper", photo)
    rec.summary = "The same bytes again (a retry): the stored document"
    sha = (await _upload(w, "other_shopper", photo))["sha256"]
    rec.summary = None
    assert sha == hashlib.sha256(photo).hexdigest()
    await w.ok("other_shopper", "GET", f"/attachments/{sha}/meta")
    assert (await w.call("other_shopper", "GET", f"/attachments/{sha}")).status_code == 200

    started = now - dt.timedelta(minutes=40)
    call_report = {
        "id": new_id(),
        "task_id": call_task["id"],
        "started_at": started.isoformat(),
        "ended_at": (started + dt.timedelta(minutes=3)).isoformat(),
        "answers": {**sample, "call": _events(started), "remarks": "Put on hold without asking."},
    }
    rec.summary = "A test call: timer taps, an N/A answer, a choice, a rating, an NPS"
    await w.ok("shopper", "POST", "/reports", json=call_report, status=201)
    rec.summary = "The same report sent again (a retry): the stored report"
    await w.ok("shopper", "POST", "/reports", json=call_report, status=200)
    visit_report = {
        "id": new_id(),
        "task_id": visit_task["id"],
        "started_at": started.isoformat(),
        "ended_at": (started + dt.timedelta(minutes=2)).isoformat(),
        "answers": {
            "check_in": {"lat": 50.0861, "lon": 14.4252, "accuracy_m": 8},
            "entered_at": (started + dt.timedelta(seconds=20)).isoformat(),
            "receipt": {"attachment": sha},
            "greeted": False,
        },
    }
    rec.summary = "A visit: GPS, a timestamp and a photo by its sha256 (flagged: too short)"
    await w.ok("other_shopper", "POST", "/reports", json=visit_report, status=201)
    rec.summary = None
    await w.ok("coordinator", "GET", f"/reports/review-queue?organisation_id={org}&limit=2")
    await w.ok(
        "coordinator",
        "POST",
        f"/reports/{call_report['id']}/return?revision=1",
        json={"comments": [{"question_key": "friendliness", "text": "A 4 with a hold unasked? Please check."}]},
    )
    await w.ok("shopper", "GET", f"/reports/{call_report['id']}/comments")
    edited = {**call_report, "replaces_revision": 1, "answers": {**call_report["answers"], "friendliness": 3}}
    rec.summary = "An edit of a returned report: names the revision it replaces"
    await w.ok("shopper", "POST", "/reports", json=edited, status=200)
    rec.summary = None
    await w.ok("coordinator", "GET", f"/reports/{call_report['id']}/revisions")
    await w.ok("coordinator", "GET", f"/reports/{call_report['id']}/diff")
    await w.ok("coordinator", "POST", f"/reports/{call_report['id']}/approve?revision=2")
    await w.ok(
        "coordinator",
        "POST",
        f"/reports/{visit_report['id']}/reject",
        json={"reason": "The receipt is of another shop."},
    )
    await w.ok("manager", "GET", f"/reports/{call_report['id']}")
    await w.ok("manager", "GET", f"/reports/{call_report['id']}/score")
    await w.ok("manager", "GET", f"/reports?organisation_id={org}&status=approved")

    # More approved calls, some through the outbox import and a bulk approval, for the analytics.
    crowd = await add_shoppers(w, 6)
    for i, shopper in enumerate(crowd):
        location = (w.own_location_id, w.competitor_location_id)[i % 2]
        task = await w.ok(
            "coordinator",
            "POST",
            "/tasks",
            json={
                **base,
                "location_id": location,
                "form_version_id": call_version["id"],
                "channel": "call",
                "shopper_id": w.users[shopper]["id"],
            },
        )
        body = {
            "id": new_id(),
            "task_id": task["id"],
            "started_at": (started + dt.timedelta(minutes=i)).isoformat(),
            "ended_at": (started + dt.timedelta(minutes=i + 3)).isoformat(),
            "answers": {
                **sample,
                "call": _events(started + dt.timedelta(minutes=i), 8 + 9 * i),
                "outcome": ["fully", "partly"][i % 2],
                "friendliness": 2 + i % 4,
            },
        }
        if i == 0:
            export = {
                "format": "fieldscore.outbox",
                "version": 1,
                "shopper_id": w.users[shopper]["id"],
                "shopper_email": f"{shopper}@example.test",
                "exported_at": now.isoformat(),
                "reports": [{**body, "answers": {**body["answers"], "remarks": ""}}],
                "attachments": [],
            }
            del export["reports"][0]["answers"]["remarks"]
            await w.ok("coordinator", "POST", "/reports/import", json=export)
        else:
            await w.ok(shopper, "POST", "/reports", json=body, status=201)
    await w.ok("coordinator", "POST", "/reports/bulk-approve", json={"organisation_id": org, "max_flags": 5})

    await w.ok("manager", "GET", f"/analytics/location-scores?organisation_id={org}&min_sample_size=2")
    await w.ok("manager", "GET", "/analytics/comparison?measure=score&group_by=relation&min_sample_size=2")
    await w.ok("manager", "GET", "/analytics/own-vs-competitors?measure=time_to_answer&min_sample_size=2")
    await w.ok("coordinator", "GET", f"/analytics/shopper-effects?organisation_id={org}&min_sample_size=2")
    rec.summary = "Scores by own and competitor locations"
    csv_export = await w.call(
        "manager", "GET", "/analytics/exports/comparison.csv?measure=score&group_by=relation&min_sample_size=2"
    )
    assert csv_export.status_code == 200, csv_export.text
    reports_csv = await w.call("manager", "GET", "/analytics/exports/reports.csv?channel=call")
    assert reports_csv.status_code == 200, reports_csv.text
    rec.summary = None
    for path in ("comparison.xlsx?measure=score&group_by=relation", "reports.xlsx"):
        assert (await w.call("manager", "GET", f"/analytics/exports/{path}")).status_code == 200
    target = await w.ok("manager", "POST", "/analytics/targets", json={"measure": "score", "target": 85})
    await w.ok("manager", "GET", "/analytics/targets")
    await w.ok("manager", "GET", f"/analytics/targets/{target['id']}")
    await w.ok("manager", "PATCH", f"/analytics/targets/{target['id']}", json={"target": 80})
    await w.ok("manager", "DELETE", f"/analytics/targets/{target['id']}", status=204)
    await w.ok("manager", "GET", "/audit?entity=report&limit=2")
    await w.ok("coordinator", "POST", f"/campaigns/{cid}/waves/{wave['id']}/auto-assign")
    await w.ok("coordinator", "GET", f"/campaigns/{cid}/waves/{wave['id']}/coverage?limit=1")


async def capture(url: str, data_dir: Path) -> dict[str, Any]:
    settings = Settings(database_url=url, data_dir=data_dir, argon2_time_cost=1, argon2_memory_kib=8192)
    engine = db.create_engine(url)
    app = create_app(settings, engine)
    rec = Recorder(app.openapi_schema.to_schema())
    await db.open_pool(engine, min_size=1, max_size=2)
    try:
        transport = httpx.ASGITransport(app=app)
        hooks = {"response": [rec.record]}
        async with httpx.AsyncClient(transport=transport, base_url="http://fieldscore.example", event_hooks=hooks) as c:
            await drive(await build_world(c), rec)
    finally:
        await db.close_pool(engine)
    return dict(sorted(rec.captured.items()))


def main() -> None:
    logging.getLogger("httpx").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/examples.sqlite3"
        env = {**os.environ, "FIELDSCORE_DATABASE_URL": url}
        subprocess.run([sys.executable, "-m", "backend.cli", "migrate"], env=env, check=True, capture_output=True)
        examples = asyncio.run(capture(url, Path(tmp) / "data"))
    EXAMPLES_FILE.write_text(json.dumps(examples, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{len(examples)} operations captured into {EXAMPLES_FILE}")


if __name__ == "__main__":
    main()

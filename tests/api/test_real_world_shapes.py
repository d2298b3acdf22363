"""Real-world shapes over HTTP, on both engines: opening hours across midnight, 24-hour locations and
closed days honoured by wave generation; a wave that is over refused at generation; an unanswered call
with no retry left said so in the submit response and the coverage grid; a retry offered to automatic
assignment like any open task."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from backend.tasks.tables import Task
from tests.builders import ALL_DAYS, campaign, publish_form
from tests.world import World, add_shoppers, build_world

UTC = dt.timezone.utc
WEEK = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
VISIT_FORM = {
    "title": {"en": "Store visit"},
    "sections": [{"key": "s", "items": [{"type": "yes_no", "key": "greeted", "label": {"en": "Greeted?"}}]}],
}
TIMER_FORM = {
    "title": {"en": "Reachability"},
    "sections": [
        {
            "key": "reach",
            "items": [
                {
                    "type": "timer_sequence",
                    "key": "call",
                    "required": True,
                    "give_up_s": 60,
                    "metric": "time_to_answer_s",
                    "bands": [{"min": 0, "max": 20, "points": 1}, {"min": 20, "points": 0}],
                },
            ],
        }
    ],
}


async def _location(w: World, name: str, opening_hours: list[dict], zone: str = "Europe/Prague") -> dict:
    return await w.ok(
        "coordinator",
        "POST",
        "/locations",
        json={"brand_id": w.own_brand_id, "name": name, "timezone": zone, "opening_hours": opening_hours},
    )


async def _wave(w: World, c: dict, starts_on: str, ends_on: str, name: str = "W") -> dict:
    return await w.ok(
        "coordinator",
        "POST",
        f"/campaigns/{c['id']}/waves",
        json={"name": name, "starts_on": starts_on, "ends_on": ends_on},
    )


async def _tasks(w: World, location_id: str) -> list[dict]:
    return (await w.ok("coordinator", "GET", "/tasks", params={"location_id": location_id, "limit": 100}))["items"]


async def test_opening_hours_across_midnight_all_day_and_closed_days_are_kept_and_bad_ones_named(client):
    w = await build_world(client)
    bar = await _location(w, "Night bar", [{"day": "fri", "opens": "22:00", "closes": "02:00"}])
    assert bar["opening_hours"] == [{"day": "fri", "opens": "22:00", "closes": "02:00"}]
    always = await _location(w, "All-night pharmacy", [{"day": d, "opens": "00:00", "closes": "24:00"} for d in WEEK])
    assert len(always["opening_hours"]) == 7
    for hours, field in (
        ([{"day": "mon", "opens": "09:00", "closes": "09:00"}], "opening_hours[0].closes"),
        ([{"day": "tue", "opens": "24:00", "closes": "02:00"}], "opening_hours[0].opens"),
        (
            [{"day": "fri", "opens": "22:00", "closes": "03:00"}, {"day": "sat", "opens": "02:00", "closes": "06:00"}],
            "opening_hours[1]",
        ),
        (
            [{"day": "sun", "opens": "20:00", "closes": "02:00"}, {"day": "mon", "opens": "01:00", "closes": "08:00"}],
            "opening_hours[1]",
        ),
    ):
        response = await w.call(
            "coordinator",
            "POST",
            "/locations",
            json={"brand_id": w.own_brand_id, "name": "Bad", "timezone": "Europe/Prague", "opening_hours": hours},
        )
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert field in {e["field"] for e in response.json()["errors"]}, response.json()
        # The same check on a change.
        patched = await w.call("coordinator", "PATCH", f"/locations/{bar['id']}", json={"opening_hours": hours})
        assert patched.status_code == 422 and field in {e["field"] for e in patched.json()["errors"]}
    assert (await w.ok("coordinator", "GET", f"/locations/{bar['id']}"))["opening_hours"] == bar["opening_hours"]


async def test_generation_keeps_probes_to_the_hours_in_the_locations_zone(client):
    w = await build_world(client)
    # Open Monday to Friday 09:00–18:00 plus Friday night 22:00–02:00; closed at the weekend.
    shop = await _location(
        w,
        "Shop and bar",
        [{"day": d, "opens": "09:00", "closes": "18:00"} for d in WEEK[:5]]
        + [{"day": "fri", "opens": "22:00", "closes": "02:00"}],
        zone="America/New_York",
    )
    always = await _location(
        w, "24-hour line", [{"day": d, "opens": "00:00", "closes": "24:00"} for d in WEEK], zone="America/New_York"
    )
    form = await w.ok(
        "coordinator", "POST", "/forms", json={"name": "Visit", "channel": "visit", "definition": VISIT_FORM}
    )
    visit_version = (await w.ok("coordinator", "POST", f"/forms/{form['id']}/publish", status=200))["id"]
    c = await w.ok(
        "coordinator",
        "POST",
        "/campaigns",
        json={
            "organisation_id": w.organisation_id,
            "name": "Hours",
            "location_ids": [shop["id"], always["id"]],
            "forms": {"visit": visit_version, "call": await publish_form(w)},
            "slot_designs": {
                # A visit daypart says nothing: kept to the open hours.
                "visit": {"dayparts": [{"key": "day", "start_hour": 8, "end_hour": 20}], "day_types": ALL_DAYS},
                "call": {
                    "dayparts": [{"key": "night", "start_hour": 21, "end_hour": 8, "location_is": "closed"}],
                    "day_types": ["weekday"],
                },
            },
        },
    )
    # 2038-03-08..14 holds New York's spring-forward Sunday (14 March, 02:00 → 03:00).
    wave = await _wave(w, c, "2038-03-08", "2038-03-14")
    result = await w.ok("coordinator", "POST", f"/campaigns/{c['id']}/waves/{wave['id']}/generate", status=200)
    problems = {(p["location_id"], p["channel"], p["slot_key"]): p["reason"] for p in result["problems"]}
    assert "closed throughout the day daypart on every saturday" in problems[(shop["id"], "visit", "saturday:day")]
    assert "closed throughout" in problems[(shop["id"], "visit", "sunday:day")]
    assert "no out-of-hours time" in problems[(always["id"], "call", "weekday:night")]
    assert result["created"] == 5 and result["already_over"] == 0

    zone = zoneinfo.ZoneInfo("America/New_York")
    shop_tasks = {t["channel"]: t for t in await _tasks(w, shop["id"])}
    visit = shop_tasks["visit"]
    start, end = (dt.datetime.fromisoformat(visit[k]).astimezone(zone) for k in ("window_start", "window_end"))
    assert (start.time(), end.time(), visit["location_hours"]) == (dt.time(9), dt.time(18), "open")
    call = shop_tasks["call"]
    start, end = (dt.datetime.fromisoformat(call[k]).astimezone(zone) for k in ("window_start", "window_end"))
    assert call["location_hours"] == "closed"
    if start.weekday() == 5:  # Friday's night: the bar's hours (22:00–02:00) leave 02:00–08:00 on Saturday
        assert (start.time(), end.time(), end.weekday()) == (dt.time(2), dt.time(8), 5)
    else:  # another weekday: 21:00 after closing at 18:00, to 08:00 before opening at 09:00
        assert (start.time(), end.time()) == (dt.time(21), dt.time(8))
    always_tasks = await _tasks(w, always["id"])
    assert {t["channel"] for t in always_tasks} == {"visit"} and len(always_tasks) == 3
    sunday = next(t for t in always_tasks if t["slot_key"] == "sunday:day")
    assert sunday["window_start_local"] == "2038-03-14T08:00:00-04:00" and sunday["location_hours"] == "open"

    # A task made by hand says how its window stands, too.
    by_hand = await w.ok(
        "coordinator",
        "POST",
        "/tasks",
        json={
            "organisation_id": w.organisation_id,
            "location_id": shop["id"],
            "form_version_id": visit_version,
            "channel": "visit",
            "window_start": "2038-03-13T15:00:00+00:00",  # a Saturday
            "window_end": "2038-03-13T19:00:00+00:00",
        },
    )
    assert by_hand["location_hours"] == "closed"


async def test_a_wave_that_is_over_is_refused_at_generation_and_one_under_way_is_warned_about(client):
    w = await build_world(client)
    c = await campaign(w, await publish_form(w))
    today = dt.datetime.now(UTC).date()
    over = await _wave(w, c, (today - dt.timedelta(days=60)).isoformat(), (today - dt.timedelta(days=30)).isoformat())
    response = await w.call("coordinator", "POST", f"/campaigns/{c['id']}/waves/{over['id']}/generate")
    assert response.status_code == 409 and response.json()["code"] == "wave.past"
    assert response.json()["errors"] == [{"field": "wave_id", "reason": "every planned window has already ended"}]
    assert (await w.ok("coordinator", "GET", "/tasks", params={"wave_id": over["id"]}))["total"] == 0
    running = await _wave(
        w, c, (today - dt.timedelta(days=10)).isoformat(), (today + dt.timedelta(days=10)).isoformat(), "Now"
    )
    result = await w.ok("coordinator", "POST", f"/campaigns/{c['id']}/waves/{running['id']}/generate", status=200)
    assert result["created"] == 24 and 0 < result["already_over"] < 24
    coverage = await w.ok("coordinator", "GET", f"/campaigns/{c['id']}/waves/{running['id']}/coverage")
    assert sum(cell["missing"] for row in coverage["rows"] for cell in row["cells"]) == result["already_over"]
    # The description says so where an integrator reads it.
    schema = (await client.get("/schema/openapi.json")).json()
    operation = next(
        op for path in schema["paths"].values() for op in path.values() if op.get("operationId") == "GenerateWaveTasks"
    )
    assert "wave.past" in operation["description"] and "409" in operation["responses"]


async def _hotline_now(w: World, max_attempts: int = 2) -> tuple[dict, dict, dict]:
    """A call campaign on a 24-hour hotline (all-day daypart, one probe a day over a fortnight from today),
    the hotline, the campaign, and the probe whose window holds now."""
    now = dt.datetime.now(UTC)
    zone = next(
        name
        for name in (f"Etc/GMT{'+' if o <= 0 else '-'}{abs(o)}" if o else "Etc/UTC" for o in range(-12, 13))
        if 3 <= now.astimezone(zoneinfo.ZoneInfo(name)).hour < 20
    )
    hotline = await _location(w, "Hotline", [{"day": d, "opens": "00:00", "closes": "24:00"} for d in WEEK], zone)
    form = await w.ok(
        "coordinator", "POST", "/forms", json={"name": "Reach", "channel": "call", "definition": TIMER_FORM}
    )
    version = await w.ok("coordinator", "POST", f"/forms/{form['id']}/publish", status=200)
    c = await campaign(
        w,
        version["id"],
        design={
            "dayparts": [{"key": "day", "start_hour": 0, "end_hour": 24}],
            "day_types": ALL_DAYS,
            "probes_per_slot": 11,
        },
        locations=[hotline["id"]],
        call_rules={"give_up_s": 60, "max_attempts": max_attempts, "retry_after_hours": 24},
    )
    today = now.astimezone(zoneinfo.ZoneInfo(zone)).date()
    wave = await _wave(w, c, today.isoformat(), (today + dt.timedelta(days=14)).isoformat())
    await w.ok("coordinator", "POST", f"/campaigns/{c['id']}/waves/{wave['id']}/generate", status=200)
    current = next(
        t
        for t in await _tasks(w, hotline["id"])
        if dt.datetime.fromisoformat(t["window_start"]) <= now <= dt.datetime.fromisoformat(t["window_end"])
    )
    assert current["location_hours"] == "open"
    return hotline, c, current


def _unanswered(task: dict, report_id: str | None = None) -> dict:
    dialled = dt.datetime.now(UTC) - dt.timedelta(minutes=10)
    return {
        "id": report_id or str(__import__("uuid").uuid4()),
        "task_id": task["id"],
        "started_at": dialled.isoformat(),
        "ended_at": (dialled + dt.timedelta(seconds=61)).isoformat(),
        "answers": {
            "call": {
                "events": [
                    {"event": "dialled", "at": dialled.isoformat()},
                    {"event": "gave_up", "at": (dialled + dt.timedelta(seconds=60)).isoformat()},
                ]
            }
        },
    }


async def test_an_unanswered_call_with_no_slot_left_says_so_in_the_answer_and_the_coverage_grid(client):
    from backend.campaigns.tables import Wave

    w = await build_world(client)
    (s1,) = await add_shoppers(w, 1)
    hotline, c, current = await _hotline_now(w)
    await w.ok("coordinator", "POST", f"/tasks/{current['id']}/assign", json={"shopper_id": w.users[s1]["id"]})
    # The wave ends today: no later day is left for a retry.
    await Wave.update({Wave.ends_on: dt.date.fromisoformat(current["window_start_local"][:10])}).where(
        Wave.id == current["wave_id"]
    )
    body = _unanswered(current)
    submitted = await w.ok(s1, "POST", "/reports", status=201, json=body)
    assert submitted["retry"]["state"] == "none_left" and "no slot left in the wave" in submitted["retry"]["reason"]
    # A repeated delivery answers the same; the report read back says it too, to its shopper and staff.
    assert (await w.ok(s1, "POST", "/reports", status=200, json=body))["retry"] == submitted["retry"]
    assert (await w.ok("coordinator", "GET", f"/reports/{body['id']}"))["retry"] == submitted["retry"]
    url = f"/campaigns/{c['id']}/waves/{current['wave_id']}/coverage"
    (cell,) = [
        cell for row in (await w.ok("coordinator", "GET", url))["rows"] for cell in row["cells"] if cell["unanswered"]
    ]
    assert (cell["done"], cell["unanswered"]) == (0, 1)
    # The client sees it once approved, never the retry decision on the report (blind).
    assert all(cell["unanswered"] == 0 for row in (await w.ok("manager", "GET", url))["rows"] for cell in row["cells"])
    await w.ok("coordinator", "POST", f"/reports/{body['id']}/approve", status=200)
    cells = [cell for row in (await w.ok("manager", "GET", url))["rows"] for cell in row["cells"]]
    assert sum(cell["unanswered"] for cell in cells) == 1
    assert (await w.ok("manager", "GET", f"/reports/{body['id']}"))["retry"] is None
    assert not [t for t in await _tasks(w, hotline["id"]) if t["retry_of"] == current["id"]]


async def test_a_scheduled_retry_is_said_and_offered_to_automatic_assignment(client):
    w = await build_world(client)
    (s1,) = await add_shoppers(w, 1)
    hotline, c, current = await _hotline_now(w)
    await w.ok("coordinator", "POST", f"/tasks/{current['id']}/assign", json={"shopper_id": w.users[s1]["id"]})
    submitted = await w.ok(s1, "POST", "/reports", status=201, json=_unanswered(current))
    assert submitted["retry"] == {"state": "scheduled", "reason": None}
    (retry,) = [t for t in await _tasks(w, hotline["id"]) if t["retry_of"] == current["id"]]
    assert (retry["status"], retry["attempt"], retry["location_hours"]) == ("open", 2, "open")
    # The probe is still due, not unanswered: its retry is ahead.
    url = f"/campaigns/{c['id']}/waves/{current['wave_id']}/coverage"
    assert (
        sum(cell["unanswered"] for row in (await w.ok("coordinator", "GET", url))["rows"] for cell in row["cells"]) == 0
    )
    # Only the retry is left open in the wave, so automatic assignment has exactly it to offer.
    await Task.update({Task.status: "cancelled"}).where(
        (Task.wave == current["wave_id"]) & (Task.status == "open") & (Task.id != retry["id"])
    )
    result = await w.ok(
        "coordinator", "POST", f"/campaigns/{c['id']}/waves/{current['wave_id']}/auto-assign", status=200
    )
    assert (result["considered"], result["assigned"]) == (1, 1), result
    assigned = await w.ok("coordinator", "GET", f"/tasks/{retry['id']}")
    # Any shopper but the one who made the first call (rotation keeps them from the same location).
    assert assigned["status"] == "assigned" and assigned["shopper_id"] != w.users[s1]["id"]


async def test_a_call_with_its_attempts_used_up_says_so(client):
    w = await build_world(client)
    (s1,) = await add_shoppers(w, 1)
    _, c, current = await _hotline_now(w, max_attempts=1)
    await w.ok("coordinator", "POST", f"/tasks/{current['id']}/assign", json={"shopper_id": w.users[s1]["id"]})
    submitted = await w.ok(s1, "POST", "/reports", status=201, json=_unanswered(current))
    assert submitted["retry"]["state"] == "none_left" and "max_attempts" in submitted["retry"]["reason"]
    url = f"/campaigns/{c['id']}/waves/{current['wave_id']}/coverage"
    cells = [cell for row in (await w.ok("coordinator", "GET", url))["rows"] for cell in row["cells"]]
    assert sum(cell["unanswered"] for cell in cells) == 1


async def test_the_locations_import_takes_overnight_hours_closed_days_and_24_7_and_names_a_bad_row(client):
    w = await build_world(client)
    header = "brand,name,code,timezone,opening_hours"
    good = [
        'Acme,Night bar,BAR-1,Europe/Prague,"mon 17:00-23:00, fri 22:00-02:00, sun closed"',
        "Acme,Pharmacy,PH-1,Europe/Prague,24/7",
    ]
    response = await w.call(
        "coordinator",
        "POST",
        "/locations/import",
        files={"file": ("l.csv", "\n".join([header, *good]).encode(), "text/csv")},
    )
    assert response.status_code == 200, response.text
    listed = {x["code"]: x for x in (await w.ok("coordinator", "GET", "/locations", params={"limit": 100}))["items"]}
    assert listed["BAR-1"]["opening_hours"][1] == {"day": "fri", "opens": "22:00", "closes": "02:00"}
    assert len(listed["PH-1"]["opening_hours"]) == 7
    bad = 'Acme,Clash,CL-1,Europe/Prague,"fri 22:00-03:00, sat 02:00-06:00"'
    response = await w.call(
        "coordinator",
        "POST",
        "/locations/import",
        files={"file": ("l.csv", "\n".join([header, bad]).encode(), "text/csv")},
    )
    assert response.status_code == 422
    assert {"field": "row 2.opening_hours", "reason": "overlaps opening_hours[0]"} in response.json()["errors"]

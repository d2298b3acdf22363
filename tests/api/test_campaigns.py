"""Campaigns: planning across the hours in each location's zone, idempotent generation, coverage,
fair assignment three ways under one rule set, retries of unanswered calls, expiry, bad input."""

from __future__ import annotations

import asyncio
import datetime as dt
import zoneinfo

import pytest

from backend.tasks.tables import Task
from tests.api.forms_fixture import SMALL_CALL_FORM
from tests.builders import ALL_DAYS, DAYPARTS, campaign, make_task, publish_form, report_body
from tests.world import World, add_shoppers, build_world, new_id

UTC = dt.timezone.utc

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


async def test_generation_covers_every_slot_once_and_is_idempotent(client):
    w = await build_world(client)
    c = await campaign(w, await publish_form(w))
    wave = await w.ok(
        "coordinator",
        "POST",
        f"/campaigns/{c['id']}/waves",
        json={"name": "W1", "starts_on": "2038-03-01", "ends_on": "2038-03-31"},
    )
    first = await w.ok("coordinator", "POST", f"/campaigns/{c['id']}/waves/{wave['id']}/generate", status=200)
    assert first == {"created": 2 * 4 * 3, "existing": 0, "already_over": 0, "problems": []}
    again = await w.ok("coordinator", "POST", f"/campaigns/{c['id']}/waves/{wave['id']}/generate", status=200)
    assert again == {"created": 0, "existing": 24, "already_over": 0, "problems": []}
    listed = await w.ok("coordinator", "GET", "/tasks", params={"organisation_id": w.organisation_id, "limit": 100})
    assert listed["total"] == 24
    own = [t for t in listed["items"] if t["location"]["id"] == w.own_location_id]
    assert sorted(t["slot_key"] for t in own) == sorted(f"{d}:{p['key']}" for d in ALL_DAYS for p in DAYPARTS)
    for task in own:  # every window starts at the daypart's local wall-clock hour (Europe/Prague)
        start = dt.datetime.fromisoformat(task["window_start_local"])
        daypart = next(p for p in DAYPARTS if task["slot_key"].endswith(p["key"]))
        assert start.hour == daypart["start_hour"]
        weekday = start.weekday()
        assert {"weekday": weekday < 5, "saturday": weekday == 5, "sunday": weekday == 6}[
            task["slot_key"].split(":")[0]
        ]

    cov = await w.ok("coordinator", "GET", f"/campaigns/{c['id']}/waves/{wave['id']}/coverage")
    assert cov["total_rows"] == 2 and len(cov["slot_keys"]) == 12
    assert all(cell["planned"] == 1 and cell["missing"] == 0 for row in cov["rows"] for cell in row["cells"])
    assert cov["rows"][0]["relation"] == "own"


async def test_out_of_hours_window_across_spring_forward_is_an_hour_shorter(client):
    w = await build_world(client)
    berlin = await w.ok(
        "coordinator",
        "POST",
        "/locations",
        json={"brand_id": w.own_brand_id, "name": "Berlin hotline", "timezone": "Europe/Berlin"},
    )
    night = {
        "dayparts": [{"key": "night", "start_hour": 21, "end_hour": 8}],
        "day_types": ["saturday"],
        "probes_per_slot": 1,
    }
    c = await campaign(w, await publish_form(w), design=night, locations=[berlin["id"]])
    # 2038-03-27 is the Saturday before Europe's clocks go forward (Sunday 28 March, 02:00 → 03:00).
    wave = await w.ok(
        "coordinator",
        "POST",
        f"/campaigns/{c['id']}/waves",
        json={"name": "DST", "starts_on": "2038-03-27", "ends_on": "2038-03-27"},
    )
    await w.ok("coordinator", "POST", f"/campaigns/{c['id']}/waves/{wave['id']}/generate", status=200)
    (task,) = (await w.ok("coordinator", "GET", "/tasks", params={"location_id": berlin["id"]}))["items"]
    assert task["window_start_local"] == "2038-03-27T21:00:00+01:00"
    assert task["window_end_local"] == "2038-03-28T08:00:00+02:00"
    length = dt.datetime.fromisoformat(task["window_end"]) - dt.datetime.fromisoformat(task["window_start"])
    assert length == dt.timedelta(hours=10)


async def test_bad_campaign_input_is_refused_and_writes_nothing(client):
    w = await build_world(client)
    version_id = await publish_form(w)
    no_slots = await w.call(
        "coordinator",
        "POST",
        "/campaigns",
        json={
            "organisation_id": w.organisation_id,
            "name": "Empty",
            "location_ids": [w.own_location_id],
            "forms": {"call": version_id},
            "slot_designs": {"call": {"dayparts": [], "day_types": [], "probes_per_slot": 1}},
        },
    )
    assert no_slots.status_code == 422
    assert any(e["field"].startswith("slot_designs.call") for e in no_slots.json()["errors"])
    unknown_form = await w.call(
        "coordinator",
        "POST",
        "/campaigns",
        json={
            "organisation_id": w.organisation_id,
            "name": "Ghost",
            "location_ids": [w.own_location_id],
            "forms": {"call": new_id()},
            "slot_designs": {"call": {"dayparts": DAYPARTS[:1], "day_types": ["weekday"]}},
        },
    )
    assert unknown_form.status_code == 422
    assert {"field": "forms.call", "reason": "no such form version"} in unknown_form.json()["errors"]
    assert (await w.ok("coordinator", "GET", "/campaigns"))["total"] == 0

    c = await campaign(w, version_id)
    await w.ok(
        "coordinator",
        "POST",
        f"/campaigns/{c['id']}/waves",
        json={"name": "W1", "starts_on": "2027-03-01", "ends_on": "2027-03-31"},
    )
    overlap = await w.call(
        "coordinator",
        "POST",
        f"/campaigns/{c['id']}/waves",
        json={"name": "W2", "starts_on": "2027-03-31", "ends_on": "2027-04-30"},
    )
    assert overlap.status_code == 409 and overlap.json()["code"] == "wave.overlap"
    backwards = await w.call(
        "coordinator",
        "POST",
        f"/campaigns/{c['id']}/waves",
        json={"name": "W3", "starts_on": "2027-06-30", "ends_on": "2027-06-01"},
    )
    assert backwards.status_code == 422 and backwards.json()["errors"][0]["field"] == "ends_on"
    waves = await w.ok("coordinator", "GET", f"/campaigns/{c['id']}/waves", params={"limit": 1})
    assert (len(waves["items"]), waves["total"]) == (1, 1)


async def _future_wave(w: World, c: dict, days: int = 20) -> dict:
    today = dt.date.today()
    return await w.ok(
        "coordinator",
        "POST",
        f"/campaigns/{c['id']}/waves",
        json={
            "name": "Now",
            "starts_on": (today + dt.timedelta(days=2)).isoformat(),
            "ends_on": (today + dt.timedelta(days=days)).isoformat(),
        },
    )


async def test_auto_assignment_fills_fairly_and_explains_the_rest(client):
    w = await build_world(client)
    shoppers = await add_shoppers(w, 4, languages=["cs", "en"], capacity_per_day=10, capacity_per_week=50)
    c = await campaign(w, await publish_form(w), language="cs")
    wave = await _future_wave(w, c)
    await w.ok("coordinator", "POST", f"/campaigns/{c['id']}/waves/{wave['id']}/generate", status=200)
    result = await w.ok("coordinator", "POST", f"/campaigns/{c['id']}/waves/{wave['id']}/auto-assign", status=200)
    assert result["considered"] == 24
    # Rotation: each shopper may shop each location once in 90 days; 4 shoppers × 2 locations = 8 tasks.
    assert result["assigned"] == 8
    assert len(result["unfilled"]) == 16 and all(u["reasons"] for u in result["unfilled"])
    assert any("rotation" in reason for u in result["unfilled"] for reason in u["reasons"])
    tasks = (await w.ok("coordinator", "GET", "/tasks", params={"status": "assigned", "limit": 100}))["items"]
    pairs = [(t["shopper_id"], t["location"]["id"]) for t in tasks]
    assert len(pairs) == len(set(pairs)) == 8
    per_shopper = [sum(1 for s, _ in pairs if s == w.users[name]["id"]) for name in shoppers]
    assert max(per_shopper) - min(per_shopper) <= 1
    # The default shoppers speak no Czech, so they got nothing.
    assert not any(s in (w.users["shopper"]["id"], w.users["other_shopper"]["id"]) for s, _ in pairs)


async def test_job_board_claims_and_concurrent_claims(client):
    w = await build_world(client)
    a, b = await add_shoppers(w, 2, home_lat=50.08, home_lon=14.43, languages=["en"], travel_radius_km=50)
    c = await campaign(w, await publish_form(w))
    wave = await _future_wave(w, c)
    await w.ok("coordinator", "POST", f"/campaigns/{c['id']}/waves/{wave['id']}/generate", status=200)
    board = await w.ok(a, "GET", "/job-board")
    assert board["total"] == 24
    task_id = board["items"][0]["id"]
    responses = await asyncio.gather(
        w.call(a, "POST", f"/job-board/{task_id}/claim"), w.call(b, "POST", f"/job-board/{task_id}/claim")
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 404], [r.text for r in responses]
    winner = next(r for r in responses if r.status_code == 200).json()
    assert winner["status"] == "assigned"
    loser = next(r for r in responses if r.status_code == 404).json()
    assert loser["code"] == "task.not_found"  # now another shopper's task, which the loser may not see
    # Rotation: the winner no longer sees other tasks at that location on the board.
    who = a if winner["shopper_id"] == w.users[a]["id"] else b
    after = await w.ok(who, "GET", "/job-board", params={"limit": 100})
    assert all(t["location"]["id"] != winner["location"]["id"] for t in after["items"])
    # Managers and coordinators have no job board.
    assert (await w.call("manager", "GET", "/job-board")).status_code == 403


async def test_hand_assignment_obeys_the_same_rules(client):
    w = await build_world(client)
    (s1,) = await add_shoppers(w, 1)
    c = await campaign(w, await publish_form(w))
    wave = await _future_wave(w, c)
    await w.ok("coordinator", "POST", f"/campaigns/{c['id']}/waves/{wave['id']}/generate", status=200)
    own = (await w.ok("coordinator", "GET", "/tasks", params={"location_id": w.own_location_id}))["items"]
    await w.ok(
        "coordinator", "POST", f"/tasks/{own[0]['id']}/assign", json={"shopper_id": w.users[s1]["id"]}, status=200
    )
    second = await w.call(
        "coordinator", "POST", f"/tasks/{own[1]['id']}/assign", json={"shopper_id": w.users[s1]["id"]}
    )
    assert second.status_code == 409 and second.json()["code"] == "task.not_assignable"
    assert any("rotation" in e["reason"] for e in second.json()["errors"])
    # A conflict of interest: this shopper may never shop the competitor brand.
    await w.ok(
        "coordinator",
        "PUT",
        f"/users/{w.users[s1]['id']}/shopper-profile",
        json={"excluded_brand_ids": [w.competitor_brand_id]},
    )
    rival = (await w.ok("coordinator", "GET", "/tasks", params={"location_id": w.competitor_location_id}))["items"]
    refused = await w.call(
        "coordinator", "POST", f"/tasks/{rival[0]['id']}/assign", json={"shopper_id": w.users[s1]["id"]}
    )
    assert refused.status_code == 409
    assert any("conflict" in e["reason"] for e in refused.json()["errors"])


def _zone_with_comfortable_hour() -> str:
    """A fixed-offset zone where it is now between 03:00 and 20:00, so 'ten minutes ago' is today."""
    now = dt.datetime.now(UTC)
    for offset in range(-12, 13):
        name = f"Etc/GMT{'+' if offset <= 0 else '-'}{abs(offset)}" if offset else "Etc/UTC"
        if 3 <= now.astimezone(zoneinfo.ZoneInfo(name)).hour < 20:
            return name
    raise AssertionError("no zone found")


async def _hotline_task_now(w: World, shopper: str) -> tuple[dict, dict]:
    """A call campaign on a hotline with a probe whose window holds now, assigned to `shopper`; the
    hotline and that task."""
    zone = _zone_with_comfortable_hour()
    hotline = await w.ok(
        "coordinator", "POST", "/locations", json={"brand_id": w.own_brand_id, "name": "Hotline", "timezone": zone}
    )
    form = await w.ok(
        "coordinator", "POST", "/forms", json={"name": "Reach", "channel": "call", "definition": TIMER_FORM}
    )
    version = await w.ok("coordinator", "POST", f"/forms/{form['id']}/publish", status=200)
    # Enough probes per slot that every date of the 15-day wave, today included, has one.
    allday = {
        "dayparts": [{"key": "day", "start_hour": 0, "end_hour": 24}],
        "day_types": ALL_DAYS,
        "probes_per_slot": 11,
    }
    c = await campaign(
        w,
        version["id"],
        design=allday,
        locations=[hotline["id"]],
        call_rules={"give_up_s": 60, "max_attempts": 2, "retry_after_hours": 24},
    )
    today = dt.datetime.now(UTC).astimezone(zoneinfo.ZoneInfo(zone)).date()
    wave = await w.ok(
        "coordinator",
        "POST",
        f"/campaigns/{c['id']}/waves",
        json={
            "name": "This fortnight",
            "starts_on": today.isoformat(),
            "ends_on": (today + dt.timedelta(days=14)).isoformat(),
        },
    )
    await w.ok("coordinator", "POST", f"/campaigns/{c['id']}/waves/{wave['id']}/generate", status=200)
    tasks = (await w.ok("coordinator", "GET", "/tasks", params={"location_id": hotline["id"], "limit": 100}))["items"]
    now = dt.datetime.now(UTC)
    current = next(
        t
        for t in tasks
        if dt.datetime.fromisoformat(t["window_start"]) <= now <= dt.datetime.fromisoformat(t["window_end"])
    )
    await w.ok(
        "coordinator", "POST", f"/tasks/{current['id']}/assign", json={"shopper_id": w.users[shopper]["id"]}, status=200
    )
    return hotline, current


def _retries(tasks: list[dict], task: dict) -> list[dict]:
    return [t for t in tasks if t["retry_of"] == task["id"]]


async def test_unanswered_call_is_retried_another_day_and_the_first_result_kept(client):
    w = await build_world(client)
    (s1,) = await add_shoppers(w, 1)
    hotline, current = await _hotline_task_now(w, s1)
    dialled = dt.datetime.now(UTC) - dt.timedelta(minutes=10)
    report = await w.ok(
        s1,
        "POST",
        "/reports",
        status=201,
        json={
            "id": new_id(),
            "task_id": current["id"],
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
        },
    )
    report = await w.ok("coordinator", "GET", f"/reports/{report['id']}")
    assert report["score"]["final"] == pytest.approx(0.0)  # censored at the give-up time: the worst band
    retries = [
        t
        for t in (await w.ok("coordinator", "GET", "/tasks", params={"location_id": hotline["id"], "limit": 100}))[
            "items"
        ]
        if t["retry_of"] == current["id"]
    ]
    assert len(retries) == 1
    retry = retries[0]
    assert retry["attempt"] == 2 and retry["status"] == "open" and retry["slot_key"] == current["slot_key"]
    retry_day = dt.datetime.fromisoformat(retry["window_start_local"]).date()
    assert retry_day > dt.datetime.fromisoformat(current["window_start_local"]).date()
    kept = await w.ok("coordinator", "GET", f"/reports/{report['id']}")
    assert kept["answers"]["call"]["events"][-1]["event"] == "gave_up"


async def test_expiry_and_assigning_an_expired_task(client):
    w = await build_world(client)
    version_id = await publish_form(w)
    past = dt.datetime.now(UTC) - dt.timedelta(days=2)
    task = await w.ok(
        "coordinator",
        "POST",
        "/tasks",
        json={
            "organisation_id": w.organisation_id,
            "location_id": w.own_location_id,
            "form_version_id": version_id,
            "channel": "call",
            "window_start": past.isoformat(),
            "window_end": (past + dt.timedelta(hours=4)).isoformat(),
        },
    )
    expired = await w.ok("coordinator", "POST", "/tasks/expire-overdue", status=200)
    assert expired == {"expired": 1}
    assert (await w.ok("coordinator", "GET", f"/tasks/{task['id']}"))["status"] == "expired"
    response = await w.call(
        "coordinator", "POST", f"/tasks/{task['id']}/assign", json={"shopper_id": w.users["shopper"]["id"]}
    )
    assert response.status_code == 409
    assert (await w.ok("coordinator", "GET", f"/tasks/{task['id']}"))["shopper_id"] is None


async def test_a_report_arriving_after_the_window_is_accepted_within_the_grace_whenever_expiry_ran(client):
    """A call done in the window, sent from the phone's outbox after it closed: the expiry sweep leaves
    a task with a shopper alone for LATE_REPORT_GRACE, and expires it after that."""
    from backend.tasks.service import LATE_REPORT_GRACE
    from backend.tasks.tables import Task

    w = await build_world(client)
    version_id = await publish_form(w)
    now = dt.datetime.now(UTC)
    late, abandoned = [
        await make_task(w, version_id, location) for location in (w.own_location_id, w.competitor_location_id)
    ]
    for task, window_end in (
        (late, now - dt.timedelta(minutes=10)),
        (abandoned, now - LATE_REPORT_GRACE - dt.timedelta(minutes=10)),
    ):
        await Task.update({Task.window_start: window_end - dt.timedelta(hours=3), Task.window_end: window_end}).where(
            Task.id == task["id"]
        )
    assert await w.ok("coordinator", "POST", "/tasks/expire-overdue", status=200) == {"expired": 1}
    assert (await w.ok("coordinator", "GET", f"/tasks/{abandoned['id']}"))["status"] == "expired"
    report = await w.ok("shopper", "POST", "/reports", json=report_body(late), status=201)  # ended 15 min ago
    assert report["status"] == "submitted"
    too_late = await w.call(
        "shopper",
        "POST",
        "/reports",
        json={
            **report_body(abandoned),
            "started_at": (now - LATE_REPORT_GRACE - dt.timedelta(minutes=40)).isoformat(),
            "ended_at": (now - LATE_REPORT_GRACE - dt.timedelta(minutes=20)).isoformat(),
        },
    )
    assert too_late.status_code == 409 and too_late.json()["code"] == "task.not_submittable"


@pytest.mark.parametrize("database", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
async def test_two_hand_assignments_at_once_cannot_both_pass_a_capacity_check(client, monkeypatch):
    """PostgreSQL runs the two at once: each checked the shopper's work before the other's was written."""
    from backend.campaigns import eligibility

    w = await build_world(client)
    (s1,) = await add_shoppers(w, 1, capacity_per_day=1, capacity_per_week=5)
    c = await campaign(w, await publish_form(w))
    wave = await _future_wave(w, c)
    await w.ok("coordinator", "POST", f"/campaigns/{c['id']}/waves/{wave['id']}/generate", status=200)
    tasks = (await w.ok("coordinator", "GET", "/tasks", params={"limit": 100}))["items"]
    day = {}
    for t in tasks:  # two tasks at different locations on one local day
        day.setdefault(t["window_start_local"][:10], {})[t["location"]["id"]] = t["id"]
    pair = next(list(by_location.values()) for by_location in day.values() if len(by_location) == 2)
    original = eligibility.assignment_problems

    async def slow_check(*args, **kwargs):
        problems = await original(*args, **kwargs)
        await asyncio.sleep(0.3)  # the other assignment checks meanwhile
        return problems

    monkeypatch.setattr(eligibility, "assignment_problems", slow_check)
    responses = await asyncio.gather(
        *(
            w.call(who, "POST", f"/tasks/{task_id}/assign", json={"shopper_id": w.users[s1]["id"]})
            for who, task_id in zip(("coordinator", "admin"), pair)
        )
    )
    assert sorted(r.status_code for r in responses) == [200, 409], [r.text for r in responses]
    refused = next(r for r in responses if r.status_code == 409).json()
    assert any("capacity_day" in e["reason"] for e in refused["errors"])


async def test_auto_assignment_checks_its_plan_again_against_work_taken_meanwhile(client, monkeypatch):
    from backend.campaigns import service as campaigns_service

    w = await build_world(client)
    (s1,) = await add_shoppers(w, 1, languages=["cs"], capacity_per_day=1, capacity_per_week=1)
    c = await campaign(w, await publish_form(w), language="cs")
    wave = await _future_wave(w, c)
    await w.ok("coordinator", "POST", f"/campaigns/{c['id']}/waves/{wave['id']}/generate", status=200)
    tasks = (await w.ok("coordinator", "GET", "/tasks", params={"limit": 100}))["items"]
    original, planned_count = campaigns_service.anyio.to_thread.run_sync, []

    async def plan_then_claim(function, *args, **kwargs):
        plan = await original(function, *args, **kwargs)
        week = {t["id"]: dt.date.fromisoformat(t["window_start_local"][:10]).isocalendar()[:2] for t in tasks}
        planned = set(plan.assignments)
        assert planned, "the shopper can take one task"
        other = next(t["id"] for t in tasks if t["id"] not in planned and week[t["id"]] in {week[p] for p in planned})
        await w.ok(s1, "POST", f"/job-board/{other}/claim")  # the shopper's one task of the week
        planned_count.append(len(planned))
        return plan

    monkeypatch.setattr(campaigns_service.anyio.to_thread, "run_sync", plan_then_claim)
    result = await w.ok("coordinator", "POST", f"/campaigns/{c['id']}/waves/{wave['id']}/auto-assign", status=200)
    monkeypatch.undo()
    # The planned task in the claimed task's week is refused (others may be, by rotation at its location).
    assert result["assigned"] < planned_count[0]
    mine = (await w.ok(s1, "GET", "/tasks"))["items"]
    weeks = [dt.date.fromisoformat(t["window_start_local"][:10]).isocalendar()[:2] for t in mine]
    locations = [t["location"]["id"] for t in mine]
    assert len(mine) == result["assigned"] + 1
    assert len(weeks) == len(set(weeks)) and len(locations) == len(set(locations)), "the profile's rules hold"
    assert any("capacity_week" in reason for u in result["unfilled"] for reason in u["reasons"])


async def test_a_report_corrected_to_unanswered_schedules_the_retry(client):
    """Returned and fixed: the shopper's first report said a person answered; the fix says nobody did."""
    w = await build_world(client)
    (s1,) = await add_shoppers(w, 1)
    hotline, current = await _hotline_task_now(w, s1)
    dialled = dt.datetime.now(UTC) - dt.timedelta(minutes=10)

    def body(*events: tuple[str, int]) -> dict:
        return {
            "task_id": current["id"],
            "started_at": dialled.isoformat(),
            "ended_at": (dialled + dt.timedelta(seconds=70)).isoformat(),
            "answers": {
                "call": {
                    "events": [{"event": e, "at": (dialled + dt.timedelta(seconds=s)).isoformat()} for e, s in events]
                }
            },
        }

    report = await w.ok(
        s1,
        "POST",
        "/reports",
        status=201,
        json={"id": new_id(), **body(("dialled", 0), ("answered", 20), ("ended", 70))},
    )
    all_tasks = {"location_id": hotline["id"], "limit": 100}
    assert _retries((await w.ok("coordinator", "GET", "/tasks", params=all_tasks))["items"], current) == []
    await w.ok(
        "coordinator",
        "POST",
        f"/reports/{report['id']}/return",
        json={"comments": [{"question_key": "call", "text": "Did anyone really answer?"}]},
    )
    fixed = {"id": report["id"], "replaces_revision": 1, **body(("dialled", 0), ("gave_up", 60))}
    await w.ok(s1, "POST", "/reports", status=200, json=fixed)
    assert len(_retries((await w.ok("coordinator", "GET", "/tasks", params=all_tasks))["items"], current)) == 1
    # Another correction that keeps it unanswered schedules no second retry.
    await w.ok("coordinator", "POST", f"/reports/{report['id']}/return", json={"comments": [{"text": "times?"}]})
    again = {**fixed, "replaces_revision": 2, "ended_at": (dialled + dt.timedelta(seconds=65)).isoformat()}
    await w.ok(s1, "POST", "/reports", status=200, json=again)
    assert len(_retries((await w.ok("coordinator", "GET", "/tasks", params=all_tasks))["items"], current)) == 1


def _call(task: dict, dialled: dt.datetime, *events: tuple[str, int]) -> dict:
    """A report body for a call dialled at `dialled`: (event, seconds after dialling) each."""
    return {
        "task_id": task["id"],
        "started_at": dialled.isoformat(),
        "ended_at": (dialled + dt.timedelta(seconds=70)).isoformat(),
        "answers": {
            "call": {"events": [{"event": e, "at": (dialled + dt.timedelta(seconds=s)).isoformat()} for e, s in events]}
        },
    }


async def _return(w: World, report: dict) -> None:
    await w.ok("coordinator", "POST", f"/reports/{report['id']}/return", json={"comments": [{"text": "Check it."}]})


async def test_a_report_corrected_to_answered_cancels_the_retry_nobody_has_under_way(client):
    """The first report said nobody answered, the fix says someone did: the retry, assigned but not yet
    accepted, is cancelled by the system, and the audit log says why."""
    w = await build_world(client)
    s1, s2 = await add_shoppers(w, 2)
    hotline, current = await _hotline_task_now(w, s1)
    dialled = dt.datetime.now(UTC) - dt.timedelta(minutes=10)
    unanswered = {"id": new_id(), **_call(current, dialled, ("dialled", 0), ("gave_up", 60))}
    report = await w.ok(s1, "POST", "/reports", status=201, json=unanswered)
    all_tasks = {"location_id": hotline["id"], "limit": 100}
    (retry,) = _retries((await w.ok("coordinator", "GET", "/tasks", params=all_tasks))["items"], current)
    await w.ok("coordinator", "POST", f"/tasks/{retry['id']}/assign", json={"shopper_id": w.users[s2]["id"]})
    await _return(w, report)
    answered = _call(current, dialled, ("dialled", 0), ("answered", 20), ("ended", 70))
    await w.ok(s1, "POST", "/reports", status=200, json={**unanswered, "replaces_revision": 1, **answered})
    assert (await w.ok(s2, "GET", f"/tasks/{retry['id']}"))["status"] == "cancelled"  # as its shopper sees it
    (entry,) = (
        await w.ok("coordinator", "GET", "/audit", params={"entity_id": retry["id"], "action": "task.cancelled"})
    )["items"]
    assert entry["actor_id"] is None  # the system, not the shopper who corrected the report
    assert entry["detail"]["from"] == "assigned" and entry["detail"]["retry_of"] == current["id"]
    assert entry["detail"]["report_id"] == report["id"] and "answered" in entry["detail"]["reason"]
    # Corrected back to unanswered: the call gets its retry again (the same task, opened again for a
    # later day of the slot, without a shopper), audited as the system's.
    await _return(w, report)
    await w.ok(s1, "POST", "/reports", status=200, json={**unanswered, "replaces_revision": 2})
    (again,) = _retries((await w.ok("coordinator", "GET", "/tasks", params=all_tasks))["items"], current)
    assert (again["id"], again["status"], again["shopper_id"]) == (retry["id"], "open", None)
    assert (
        dt.datetime.fromisoformat(again["window_start"]).date()
        > dt.datetime.fromisoformat(current["window_start"]).date()
    )
    (reopened,) = (
        await w.ok("coordinator", "GET", "/audit", params={"entity_id": retry["id"], "action": "task.open"})
    )["items"]
    assert reopened["actor_id"] is None and reopened["detail"]["from"] == "cancelled"


async def test_a_correction_to_answered_leaves_a_retry_already_under_way(client):
    w = await build_world(client)
    s1, s2 = await add_shoppers(w, 2)
    hotline, current = await _hotline_task_now(w, s1)
    dialled = dt.datetime.now(UTC) - dt.timedelta(minutes=10)
    unanswered = {"id": new_id(), **_call(current, dialled, ("dialled", 0), ("gave_up", 60))}
    report = await w.ok(s1, "POST", "/reports", status=201, json=unanswered)
    (retry,) = _retries(
        (await w.ok("coordinator", "GET", "/tasks", params={"location_id": hotline["id"], "limit": 100}))["items"],
        current,
    )
    await w.ok("coordinator", "POST", f"/tasks/{retry['id']}/assign", json={"shopper_id": w.users[s2]["id"]})
    await w.ok(s2, "POST", f"/tasks/{retry['id']}/accept", status=200)
    await _return(w, report)
    answered = _call(current, dialled, ("dialled", 0), ("answered", 20), ("ended", 70))
    await w.ok(s1, "POST", "/reports", status=200, json={**unanswered, "replaces_revision": 1, **answered})
    assert (await w.ok("coordinator", "GET", f"/tasks/{retry['id']}"))["status"] == "accepted"
    trail = await w.ok("coordinator", "GET", "/audit", params={"entity_id": retry["id"], "action": "task.cancelled"})
    assert trail["total"] == 0


async def test_a_call_with_no_retry_slot_left_says_so_once_however_often_it_is_corrected(client):
    from backend.campaigns.tables import Wave

    w = await build_world(client)
    (s1,) = await add_shoppers(w, 1)
    hotline, current = await _hotline_task_now(w, s1)
    # The wave ends today: no later day is left for a retry.
    await Wave.update({Wave.ends_on: dt.date.fromisoformat(current["window_start_local"][:10])}).where(
        Wave.id == current["wave_id"]
    )
    dialled = dt.datetime.now(UTC) - dt.timedelta(minutes=10)
    unanswered = {"id": new_id(), **_call(current, dialled, ("dialled", 0), ("gave_up", 60))}
    report = await w.ok(s1, "POST", "/reports", status=201, json=unanswered)
    for revision in (1, 2):  # corrected twice, still nobody answered
        await _return(w, report)
        await w.ok(
            s1,
            "POST",
            "/reports",
            status=200,
            json={
                **unanswered,
                "replaces_revision": revision,
                "ended_at": (dialled + dt.timedelta(seconds=65 - revision)).isoformat(),
            },
        )
    trail = await w.ok(
        "coordinator", "GET", "/audit", params={"entity_id": current["id"], "action": "task.retry_not_possible"}
    )
    assert trail["total"] == 1
    assert (
        _retries(
            (await w.ok("coordinator", "GET", "/tasks", params={"location_id": hotline["id"], "limit": 100}))["items"],
            current,
        )
        == []
    )


async def test_a_waves_tasks_are_listed_by_wave_and_only_within_reach(client):
    """The console's assignment board lists one wave's tasks (GET /tasks?wave_id=…), paged."""
    w = await build_world(client)
    c = await campaign(w, await publish_form(w))
    waves = [
        await w.ok(
            "coordinator",
            "POST",
            f"/campaigns/{c['id']}/waves",
            json={"name": name, "starts_on": start, "ends_on": end},
        )
        for name, start, end in (("March", "2038-03-01", "2038-03-31"), ("April", "2038-04-01", "2038-04-30"))
    ]
    for wave in waves:
        await w.ok("coordinator", "POST", f"/campaigns/{c['id']}/waves/{wave['id']}/generate", status=200)
    march = await w.ok("coordinator", "GET", "/tasks", params={"wave_id": waves[0]["id"], "limit": 10})
    assert march["total"] == 24 and len(march["items"]) == 10
    assert {t["wave_id"] for t in march["items"]} == {waves[0]["id"]}
    rest = await w.ok("coordinator", "GET", "/tasks", params={"wave_id": waves[0]["id"], "limit": 100, "offset": 10})
    assert len(rest["items"]) == 14 and not {t["id"] for t in rest["items"]} & {t["id"] for t in march["items"]}
    unknown = await w.call("coordinator", "GET", "/tasks", params={"wave_id": new_id()})
    assert unknown.status_code == 404 and unknown.json()["code"] == "wave.not_found"
    assert unknown.json()["errors"] == [{"field": "query.wave_id", "reason": "no such object visible to you"}]
    # A shopper knows a wave only through their own tasks: another wave is the same 404 as a made-up one.
    theirs = await w.call("shopper", "GET", "/tasks", params={"wave_id": waves[0]["id"]})
    assert (theirs.status_code, theirs.json()["code"]) == (404, "wave.not_found")
    bad = await w.call("coordinator", "GET", "/tasks", params={"wave_id": "not-a-uuid"})
    assert bad.status_code == 400


async def test_claiming_a_task_one_cannot_see_is_as_unknown_as_a_made_up_id(client):
    """Another shopper's task, or one no longer open, answers exactly as a random id does (404), on
    every shopper route that names a task; only one's own task is told apart (409 task.not_open)."""
    w = await build_world(client)
    version_id = await publish_form(w)
    theirs = await make_task(w, version_id, w.own_location_id, shopper="other_shopper")
    mine = await make_task(w, version_id, w.competitor_location_id, shopper="shopper")
    now = dt.datetime.now(UTC)
    expired = await w.ok(
        "coordinator",
        "POST",
        "/tasks",
        json={
            "organisation_id": w.organisation_id,
            "location_id": w.own_location_id,
            "form_version_id": version_id,
            "channel": "call",
            "window_start": (now + dt.timedelta(hours=1)).isoformat(),
            "window_end": (now + dt.timedelta(hours=3)).isoformat(),
        },
    )
    await Task.update({Task.status: "expired"}).where(Task.id == expired["id"])  # as the expiry sweep leaves it

    def answer(response) -> tuple:
        body = response.json()
        return response.status_code, body["code"], body["detail"], body.get("errors")

    for method, template in (
        ("POST", "/job-board/{}/claim"),
        ("POST", "/tasks/{}/accept"),
        ("GET", "/tasks/{}"),
        ("GET", "/tasks/{}/form"),
    ):
        unknown = answer(await w.call("shopper", method, template.format(new_id())))
        assert unknown[:2] == (404, "task.not_found"), (template, unknown)
        for task in (theirs, expired):
            assert answer(await w.call("shopper", method, template.format(task["id"]))) == unknown, template
    own = await w.call("shopper", "POST", f"/job-board/{mine['id']}/claim")
    assert own.status_code == 409 and own.json()["code"] == "task.not_open"
    still = await w.ok("coordinator", "GET", f"/tasks/{theirs['id']}")
    assert (still["status"], still["shopper_id"]) == ("assigned", w.users["other_shopper"]["id"])


async def test_coverage_counts_a_probe_nobody_answered_once_no_retry_is_due(client):
    """A call nobody answered is "unanswered" in the coverage grid, not done; while its retry is due the
    probe is still due; with the retry called off (cancelled) it is unanswered."""
    w = await build_world(client)
    (s1,) = await add_shoppers(w, 1)
    hotline, current = await _hotline_task_now(w, s1)
    url = f"/campaigns/{current['campaign_id']}/waves/{current['wave_id']}/coverage"

    def cell(cov: dict) -> dict:
        (row,) = cov["rows"]
        return next(c for c in row["cells"] if c["slot_key"] == current["slot_key"])

    before = cell(await w.ok("coordinator", "GET", url))
    assert before["unanswered"] == 0 and before["done"] == 0
    dialled = dt.datetime.now(UTC) - dt.timedelta(minutes=10)
    await w.ok(
        s1,
        "POST",
        "/reports",
        status=201,
        json={"id": new_id(), **_call(current, dialled, ("dialled", 0), ("gave_up", 60))},
    )
    (retry,) = _retries(
        (await w.ok("coordinator", "GET", "/tasks", params={"location_id": hotline["id"], "limit": 100}))["items"],
        current,
    )
    pending = cell(await w.ok("coordinator", "GET", url))
    assert (pending["unanswered"], pending["done"], pending["planned"]) == (0, 0, before["planned"])  # retry due

    await w.ok("coordinator", "POST", f"/tasks/{retry['id']}/cancel", status=200, json={"reason": "enough calls"})
    after = cell(await w.ok("coordinator", "GET", url))
    assert (after["unanswered"], after["done"]) == (1, 0)
    assert (
        after["done"] + after["due"] + after["missing"] + after["unanswered"] == after["planned"] == before["planned"]
    )


async def test_forms_takes_a_published_version_id_and_names_each_mistake(client):
    """`forms` maps a channel to a published form version of the organisation (or a shared one), as the
    CreateCampaign description says; each way to get it wrong is 422 naming forms.<channel> with its reason."""
    w = await build_world(client)
    published = await publish_form(w)
    form_id = (await w.ok("coordinator", "GET", "/forms", params={"q": "Quick call"}))["items"][0]["id"]
    draft_form = await w.ok(
        "coordinator", "POST", "/forms", json={"name": "Draft", "channel": "call", "definition": SMALL_CALL_FORM}
    )
    (draft,) = (await w.ok("coordinator", "GET", f"/forms/{draft_form['id']}/versions"))["items"]
    others = await w.ok(
        "coordinator",
        "POST",
        "/forms",
        json={
            "name": "Theirs",
            "channel": "call",
            "organisation_id": w.other_organisation_id,
            "definition": SMALL_CALL_FORM,
        },
    )
    other_org = await w.ok("coordinator", "POST", f"/forms/{others['id']}/publish", status=200)
    visit_form = await w.ok(
        "coordinator", "POST", "/forms", json={"name": "Visit", "channel": "visit", "definition": SMALL_CALL_FORM}
    )
    visit = await w.ok("coordinator", "POST", f"/forms/{visit_form['id']}/publish", status=200)
    for version_id, reason in (
        (form_id, "a form's id, not a form version's: give a published version's id"),
        (draft["id"], "not published"),
        (other_org["id"], "a form of another organisation"),
        (visit["id"], "the form is for visit"),
        (new_id(), "no such form version"),
    ):
        response = await w.call(
            "coordinator",
            "POST",
            "/campaigns",
            json={
                "organisation_id": w.organisation_id,
                "name": "Wrong form",
                "location_ids": [w.own_location_id],
                "forms": {"call": version_id},
                "slot_designs": {"call": {"dayparts": DAYPARTS[:1], "day_types": ["weekday"]}},
            },
        )
        assert response.status_code == 422 and response.json()["code"] == "campaign.invalid", response.text
        assert {"field": "forms.call", "reason": reason} in response.json()["errors"], response.text
    assert (await campaign(w, published))["forms"] == {"call": published}

"""Builders shared by the API tests: a published form, tasks (through the API or inserted directly),
report bodies, campaigns, and the checks of what the database holds after a load test. Test modules
import these from here, never from one another."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from typing import Any

import httpx

from backend import db
from backend.reports.tables import Report
from backend.tasks.tables import Task
from tests.api.forms_fixture import SMALL_CALL_FORM, answers
from tests.world import World, new_id

UTC = dt.timezone.utc
DAYPARTS = [
    {"key": "morning", "start_hour": 8, "end_hour": 12},
    {"key": "afternoon", "start_hour": 12, "end_hour": 17},
    {"key": "evening", "start_hour": 17, "end_hour": 21},
    {"key": "night", "start_hour": 21, "end_hour": 8},
]
ALL_DAYS = ["weekday", "saturday", "sunday"]


async def publish_form(w: World) -> str:
    form = await w.ok(
        "coordinator", "POST", "/forms", json={"name": "Quick call", "channel": "call", "definition": SMALL_CALL_FORM}
    )
    version = await w.ok("coordinator", "POST", f"/forms/{form['id']}/publish", status=200)
    assert version["status"] == "published" and version["number"] == 1
    return version["id"]


async def make_task(w: World, version_id: str, location_id: str, shopper: str = "shopper") -> dict:
    now = dt.datetime.now(UTC)
    return await w.ok(
        "coordinator",
        "POST",
        "/tasks",
        json={
            "organisation_id": w.organisation_id,
            "location_id": location_id,
            "form_version_id": version_id,
            "channel": "call",
            "window_start": (now - dt.timedelta(hours=3)).isoformat(),
            "window_end": (now + dt.timedelta(hours=3)).isoformat(),
            "shopper_id": w.users[shopper]["id"],
        },
    )


def report_body(task: dict, **kw) -> dict:
    now = dt.datetime.now(UTC)
    return {
        "id": new_id(),
        "task_id": task["id"],
        "started_at": (now - dt.timedelta(minutes=20)).isoformat(),
        "ended_at": (now - dt.timedelta(minutes=15)).isoformat(),
        "answers": answers(**kw),
    }


async def campaign(w: World, version_id: str, *, design=None, locations=None, **extra) -> dict:
    return await w.ok(
        "coordinator",
        "POST",
        "/campaigns",
        json={
            "organisation_id": w.organisation_id,
            "name": "Hotline 2027",
            "location_ids": locations or [w.own_location_id, w.competitor_location_id],
            "forms": {"call": version_id},
            "slot_designs": {"call": design or {"dayparts": DAYPARTS, "day_types": ALL_DAYS, "probes_per_slot": 1}},
            **extra,
        },
    )


async def insert_assigned_tasks(w: World, version_id: str, shoppers: list[str], n: int) -> list[dict[str, Any]]:
    """n call tasks assigned round-robin to `shoppers`, inserted directly (the API is too slow for
    a thousand); their window spans the last and next six hours."""
    now = dt.datetime.now(UTC)
    locations = [w.own_location_id, w.competitor_location_id]
    tasks = [
        {"id": uuid.uuid4(), "shopper": shoppers[i % len(shoppers)], "location": locations[i % 2]} for i in range(n)
    ]
    rows = [
        Task(
            id=task["id"],
            organisation=uuid.UUID(w.organisation_id),
            location=uuid.UUID(task["location"]),
            form_version=uuid.UUID(version_id),
            channel="call",
            status="assigned",
            shopper=uuid.UUID(w.users[task["shopper"]]["id"]),
            window_start=now - dt.timedelta(hours=6),
            window_end=now + dt.timedelta(hours=6),
            created_by=uuid.UUID(w.users["coordinator"]["id"]),
            created_at=now,
            updated_at=now,
        )
        for task in tasks
    ]
    async with db.writing():
        for start in range(0, len(rows), 100):
            await Task.insert(*rows[start : start + 100])
    return tasks


def intended_report(task: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """A valid report body with varied content, as the phone would build it (millisecond times)."""
    now = dt.datetime.now(UTC).replace(microsecond=0)
    started = now - dt.timedelta(minutes=rng.randint(30, 300), milliseconds=rng.randint(0, 999))
    ended = started + dt.timedelta(seconds=rng.randint(30, 1200), milliseconds=rng.randint(1, 999))
    answers = {
        "answer_s": rng.choice([rng.randint(0, 3600), round(rng.uniform(0, 120), 1)]),
        "greeted": rng.random() < 0.8,
        "no_interrupt": rng.random() < 0.7,
        "thanked": {"na": True} if rng.random() < 0.2 else rng.random() < 0.6,
        "friendliness": rng.randint(1, 5),
    }
    return {
        "id": str(uuid.uuid4()),
        "task_id": str(task["id"]),
        "started_at": started.isoformat(timespec="milliseconds"),
        "ended_at": ended.isoformat(timespec="milliseconds"),
        "answers": answers,
    }


def aware(value: dt.datetime | str) -> dt.datetime:
    parsed = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


async def stored_reports() -> dict[str, dict[str, Any]]:
    rows = await Report.select(
        Report.id, Report.task, Report.shopper, Report.answers, Report.started_at, Report.ended_at
    ).output(load_json=True)
    return {str(row["id"]): row for row in rows}


def content_problems(body: dict[str, Any], stored: dict[str, Any], shopper_id: str) -> list[str]:
    """Differences between what the phone sent and what the database holds (empty when intact)."""
    problems = []
    if str(stored["task"]) != body["task_id"]:
        problems.append(f"task {stored['task']} != {body['task_id']}")
    if str(stored["shopper"]) != shopper_id:
        problems.append(f"shopper {stored['shopper']} != {shopper_id}")
    if stored["answers"] != body["answers"]:
        problems.append(f"answers {stored['answers']} != {body['answers']}")
    for key in ("started_at", "ended_at"):
        if aware(stored[key]) != aware(body[key]):
            problems.append(f"{key} {stored[key]!r} != {body[key]}")
    return problems


PROBLEM_JSON = "application/problem+json"


def assert_problem(response: httpx.Response, status: int, code: str, *fields: str) -> dict[str, Any]:
    assert response.status_code == status, f"{response.status_code}: {response.text}"
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    problem = response.json()
    assert problem["status"] == status and problem["code"] == code, problem
    named = {e["field"] for e in problem.get("errors", [])}
    assert set(fields) <= named, f"expected errors naming {fields}, got {problem.get('errors')}"
    return problem


async def total(w: World, url: str, **params: Any) -> int:
    return (await w.ok("admin", "GET", url, params=params))["total"]

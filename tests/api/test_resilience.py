"""Submission over a faulty network: nothing acknowledged is lost, nothing is stored twice.

A phone's outbox retries each report with the same id and body until it gets a 2xx. Between it and
the server sits a transport that refuses connections, drops responses after the server has committed,
delivers requests twice and delays them, driven by a seeded random generator.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from backend import db
from backend.audit.tables import AuditEntry
from backend.reports.tables import Report
from backend.tasks.tables import Task
from tests.api.test_end_to_end import publish_form
from tests.world import World, add_shoppers, bearer, build_world

UTC = dt.timezone.utc
SUBMISSIONS = 1_000
NEVER_SUBMITTED = 25
CONCURRENCY = 20
MAX_ATTEMPTS = 40


# --- set-up shared with test_crash ---------------------------------------------------------------


async def insert_assigned_tasks(w: World, version_id: str, shoppers: list[str], n: int) -> list[dict[str, Any]]:
    """n call tasks assigned round-robin to `shoppers`, inserted directly (the API is too slow for
    a thousand); their window spans the last and next six hours."""
    now = dt.datetime.now(UTC)
    locations = [w.own_location_id, w.competitor_location_id]
    tasks = [
        {"id": uuid.uuid4(), "shopper": shoppers[i % len(shoppers)], "location": locations[i % 2]}
        for i in range(n)
    ]
    rows = [
        Task(id=task["id"], organisation=uuid.UUID(w.organisation_id), location=uuid.UUID(task["location"]),
             form_version=uuid.UUID(version_id), channel="call", status="assigned",
             shopper=uuid.UUID(w.users[task["shopper"]]["id"]), window_start=now - dt.timedelta(hours=6),
             window_end=now + dt.timedelta(hours=6), created_by=uuid.UUID(w.users["coordinator"]["id"]),
             created_at=now, updated_at=now)
        for task in tasks
    ]
    async with db.writing():
        for start in range(0, len(rows), 100):
            await Task.insert(*rows[start:start + 100])
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
    return {"id": str(uuid.uuid4()), "task_id": str(task["id"]),
            "started_at": started.isoformat(timespec="milliseconds"),
            "ended_at": ended.isoformat(timespec="milliseconds"), "answers": answers}


def aware(value: dt.datetime | str) -> dt.datetime:
    parsed = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


async def stored_reports() -> dict[str, dict[str, Any]]:
    rows = await Report.select(Report.id, Report.task, Report.shopper, Report.answers, Report.started_at,
                               Report.ended_at).output(load_json=True)
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


# --- the faulty network ----------------------------------------------------------------------------


@dataclass
class Faults:
    counts: Counter[str] = field(default_factory=Counter)
    # Statuses the server returned, including responses the phone never saw.
    server_statuses: Counter[int] = field(default_factory=Counter)
    # Responses to the second copy of a duplicated request that were not 2xx.
    bad_duplicate_responses: list[str] = field(default_factory=list)


class FaultyTransport(httpx.AsyncBaseTransport):
    """Wraps the app's transport; per request, with a seeded generator: delay, then one of refuse,
    deliver-and-drop-the-response, deliver twice (concurrently or back to back), or deliver cleanly."""

    def __init__(self, inner: httpx.AsyncBaseTransport, rng: random.Random, faults: Faults) -> None:
        self.inner, self.rng, self.faults = inner, rng, faults

    async def _deliver(self, request: httpx.Request) -> httpx.Response:
        # A fresh request object per delivery, as a second TCP delivery would be.
        copy = httpx.Request(request.method, request.url, headers=request.headers, content=request.content)
        response = await self.inner.handle_async_request(copy)
        await response.aread()
        self.faults.server_statuses[response.status_code] += 1
        return response

    async def _pause(self) -> None:
        # Small random delays let later requests overtake earlier ones.
        if self.rng.random() < 0.5:
            self.faults.counts["delayed"] += 1
            await asyncio.sleep(self.rng.uniform(0, 0.004))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await self._pause()
        roll = self.rng.random()
        if roll < 0.12:
            self.faults.counts["refused_before_delivery"] += 1
            raise httpx.ConnectError("connection refused (injected)", request=request)
        if roll < 0.24:
            await self._deliver(request)
            await self._pause()
            if self.rng.random() < 0.5:
                self.faults.counts["response_dropped_timeout"] += 1
                raise httpx.ReadTimeout("response lost (injected)", request=request)
            self.faults.counts["response_dropped_protocol"] += 1
            raise httpx.RemoteProtocolError("connection reset mid-response (injected)", request=request)
        if roll < 0.36:
            if self.rng.random() < 0.5:
                self.faults.counts["duplicate_concurrent"] += 1
                first, second = await asyncio.gather(self._deliver(request), self._deliver(request))
            else:
                self.faults.counts["duplicate_sequential"] += 1
                first = await self._deliver(request)
                second = await self._deliver(request)
            kept, other = (first, second) if self.rng.random() < 0.5 else (second, first)
            if not other.is_success and request.url.path == "/reports":
                self.faults.bad_duplicate_responses.append(f"{other.status_code} {other.text}")
            return kept
        self.faults.counts["clean"] += 1
        return await self._deliver(request)


# --- the phone's outbox ------------------------------------------------------------------------------


@dataclass
class Outbox:
    client: httpx.AsyncClient
    max_attempts: int = MAX_ATTEMPTS
    attempts: Counter[str] = field(default_factory=Counter)
    # Final answers other than 200/201 (none may happen: every submission here is valid).
    refusals: list[str] = field(default_factory=list)

    async def send(self, token: str, body: dict[str, Any]) -> httpx.Response | None:
        """Retry with the same id and body until a 2xx or a 4xx; transport errors and 5xx are retried."""
        for attempt in range(self.max_attempts):
            self.attempts["sent"] += 1
            try:
                response = await self.client.post("/reports", json=body, headers=bearer(token))
            except httpx.TransportError as exc:
                self.attempts[type(exc).__name__] += 1
                await asyncio.sleep(0.001 * min(attempt, 5))
                continue
            if response.status_code >= 500:
                self.refusals.append(f"{body['id']}: {response.status_code} {response.text}")
                continue
            if not response.is_success:
                self.refusals.append(f"{body['id']}: {response.status_code} {response.text}")
            return response
        self.refusals.append(f"{body['id']}: gave up after {self.max_attempts} attempts")
        return None


async def test_faulty_network_loses_and_duplicates_nothing(app, client, database):
    w = await build_world(client)
    version_id = await publish_form(w)
    shoppers = ["shopper", "other_shopper", *await add_shoppers(w, 4)]
    tasks = await insert_assigned_tasks(w, version_id, shoppers, SUBMISSIONS + NEVER_SUBMITTED)
    rng = random.Random(20240607)
    to_submit, untouched = tasks[:SUBMISSIONS], tasks[SUBMISSIONS:]
    bodies = [(task, intended_report(task, rng)) for task in to_submit]

    faults = Faults()
    transport = FaultyTransport(httpx.ASGITransport(app=app), random.Random(7), faults)
    acknowledged: dict[str, dict[str, Any]] = {}
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as phone:
        outbox = Outbox(phone)
        gate = asyncio.Semaphore(CONCURRENCY)

        async def submit(task: dict[str, Any], body: dict[str, Any]) -> None:
            async with gate:
                response = await outbox.send(w.tokens[task["shopper"]], body)
            if response is not None and response.is_success:
                acknowledged[body["id"]] = response.json()

        await asyncio.gather(*(submit(task, body) for task, body in bodies))

    print(f"\n[{database.kind}] faults {dict(faults.counts)} server {dict(faults.server_statuses)} "
          f"outbox {dict(outbox.attempts)} refusals {len(outbox.refusals)} "
          f"bad duplicate responses {len(faults.bad_duplicate_responses)}")
    # The injected faults really happened, often enough to matter.
    for kind in ("refused_before_delivery", "response_dropped_timeout", "response_dropped_protocol",
                 "duplicate_concurrent", "duplicate_sequential", "delayed"):
        assert faults.counts[kind] >= 20, (kind, faults.counts)

    # Every acknowledgement describes what was sent.
    for task, body in bodies:
        if (shown := acknowledged.get(body["id"])) is None:
            continue
        assert (shown["task_id"], shown["answers"]) == (body["task_id"], body["answers"])
        assert aware(shown["started_at"]) == aware(body["started_at"])

    # The database: exactly the intended reports, intact, one per task; nothing for untouched tasks.
    stored = await stored_reports()
    assert await Report.count() == SUBMISSIONS
    assert set(stored) == {body["id"] for _, body in bodies}
    damaged = {body["id"]: problems for task, body in bodies
               if (problems := content_problems(body, stored[body["id"]], w.users[task["shopper"]]["id"]))}
    assert damaged == {}, list(damaged.items())[:5]
    assert len({str(row["task"]) for row in stored.values()}) == SUBMISSIONS
    statuses = {str(row["id"]): row["status"] for row in await Task.select(Task.id, Task.status)}
    assert Counter(statuses[str(task["id"])] for task in to_submit) == {"submitted": SUBMISSIONS}
    assert Counter(statuses[str(task["id"])] for task in untouched) == {"assigned": NEVER_SUBMITTED}
    # One audit entry per report: no delivery was half-applied twice.
    audited = await AuditEntry.select(AuditEntry.entity_id).where(AuditEntry.action == "report.submitted")
    assert sorted(row["entity_id"] for row in audited) == sorted(stored)

    # Every delivery was answered as the contract says: 201 once, then 200 with the stored report.
    assert 500 not in faults.server_statuses, faults.server_statuses
    assert outbox.refusals == [], outbox.refusals[:5]
    assert set(acknowledged) == {body["id"] for _, body in bodies}
    assert faults.bad_duplicate_responses == [], faults.bad_duplicate_responses[:5]
    assert faults.server_statuses[201] == SUBMISSIONS, faults.server_statuses
    assert faults.server_statuses[200] >= faults.counts["response_dropped_timeout"], faults.server_statuses

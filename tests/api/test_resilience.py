"""Submission over a faulty network: nothing acknowledged is lost, nothing is stored twice.

A phone's outbox retries each report with the same id and body until it gets a 2xx. Between it and
the server sits a transport that refuses connections, drops responses after the server has committed,
delivers requests twice and delays them, driven by a seeded random generator.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from backend.audit.tables import AuditEntry
from backend.reports.tables import Report
from backend.tasks.tables import Task
from tests.builders import (  # noqa: F401 - also for branches in flight
    aware,
    content_problems,
    insert_assigned_tasks,
    intended_report,
    publish_form,
    stored_reports,
)
from tests.world import add_shoppers, bearer, build_world

UTC = dt.timezone.utc
SUBMISSIONS = 1_000
NEVER_SUBMITTED = 25
CONCURRENCY = 20
MAX_ATTEMPTS = 40


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

    print(
        f"\n[{database.kind}] faults {dict(faults.counts)} server {dict(faults.server_statuses)} "
        f"outbox {dict(outbox.attempts)} refusals {len(outbox.refusals)} "
        f"bad duplicate responses {len(faults.bad_duplicate_responses)}"
    )
    # The injected faults really happened, often enough to matter.
    for kind in (
        "refused_before_delivery",
        "response_dropped_timeout",
        "response_dropped_protocol",
        "duplicate_concurrent",
        "duplicate_sequential",
        "delayed",
    ):
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
    damaged = {
        body["id"]: problems
        for task, body in bodies
        if (problems := content_problems(body, stored[body["id"]], w.users[task["shopper"]]["id"]))
    }
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

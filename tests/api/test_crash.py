"""A server killed mid-load (SIGKILL) loses no acknowledged report; resubmitting after a restart
completes the rest without duplicates."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO, Any

import httpx
import pytest

from backend.audit.tables import AuditEntry
from backend.reports.tables import Report
from backend.tasks.tables import Task
from tests.builders import content_problems, insert_assigned_tasks, intended_report, publish_form, stored_reports
from tests.world import add_shoppers, bearer, build_world

ROOT = Path(__file__).resolve().parents[2]
TASKS = 400
CONCURRENCY = 24
MAX_ATTEMPTS = 10


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`fieldscore serve` as a child process; its output goes to a file (a full pipe would stall it)."""

    def __init__(self, database_url: str, port: int, log_path: Path, data_dir: Path, workers: int = 1) -> None:
        self.port, self.log_path = port, log_path
        self.base = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "FIELDSCORE_DATABASE_URL": database_url,
            "FIELDSCORE_DATA_DIR": str(data_dir),
            "FIELDSCORE_PG_POOL_MAX": "10",
        }
        self.log: IO[str] = log_path.open("w")
        # A session of its own: with several workers, SIGKILL goes to the supervisor and every worker at once.
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "backend.cli",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                str(workers),
            ],
            env=env,
            cwd=ROOT,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )

    def output(self) -> str:
        self.log.flush()
        return self.log_path.read_text()

    async def wait_healthy(self) -> None:
        # A deadline rather than a count of probes: two workers importing the app on a busy 2-core
        # machine took ~30 s to answer, and a slow start is not what this test is about.
        deadline = time.monotonic() + 180
        async with httpx.AsyncClient(base_url=self.base, timeout=2) as probe:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise AssertionError(f"server exited with {self.process.returncode}:\n{self.output()}")
                try:
                    if (await probe.get("/health")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.15)
        raise AssertionError(f"server did not become healthy:\n{self.output()}")

    def send_kill(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def kill(self) -> None:
        self.send_kill()
        self.process.wait(timeout=30)

    def close(self) -> None:
        try:
            self.kill()
        finally:
            self.log.close()


@pytest.mark.parametrize("workers", [1, 2], ids=["one process", "two processes"])
async def test_sigkill_mid_load_loses_no_acknowledged_report(app, client, database, tmp_path, workers):
    """With two processes on SQLite, one of them holds the writers' file lock at any moment: the kernel
    lets go of it with the process, and the restarted servers write on."""
    w = await build_world(client)
    version_id = await publish_form(w)
    shoppers = ["shopper", "other_shopper", *await add_shoppers(w, 4)]
    tasks = await insert_assigned_tasks(w, version_id, shoppers, TASKS)
    rng = random.Random(1312)
    bodies = {(body := intended_report(task, rng))["id"]: (task, body) for task in tasks}
    kill_after = rng.randint(150, 300)

    port = _free_port()
    servers: list[Server] = []
    acknowledged: dict[str, dict[str, Any]] = {}
    failures: Counter[str] = Counter()
    in_flight_at_kill = -1
    try:
        first = Server(database.url, port, tmp_path / "server-1.log", tmp_path / "data", workers)
        servers.append(first)
        await first.wait_healthy()

        in_flight = 0
        killed = asyncio.Event()
        gate = asyncio.Semaphore(CONCURRENCY)

        async def submit(http: httpx.AsyncClient, task: dict[str, Any], body: dict[str, Any]) -> None:
            nonlocal in_flight, in_flight_at_kill
            async with gate:
                for _ in range(MAX_ATTEMPTS):
                    if killed.is_set():
                        return
                    in_flight += 1
                    try:
                        response = await http.post("/reports", json=body, headers=bearer(w.tokens[task["shopper"]]))
                    except httpx.TransportError as exc:
                        failures[f"{'after' if killed.is_set() else 'before'} kill: {type(exc).__name__}"] += 1
                        continue
                    finally:
                        in_flight -= 1
                    assert response.status_code in (200, 201), response.text
                    acknowledged[body["id"]] = response.json()
                    if len(acknowledged) >= kill_after and not killed.is_set():
                        # Other submitters are between sending and hearing back right now.
                        in_flight_at_kill = in_flight
                        first.send_kill()
                        killed.set()
                    return

        async def cut_off(http: httpx.AsyncClient, task: dict[str, Any], body: dict[str, Any]) -> None:
            """One report is certainly mid-request at the kill: half its body goes before, the rest only
            after the server is dead. (The submitters' requests in flight at the kill may all have been
            answered already, on a loaded machine where this client reads its responses late.)"""
            data = json.dumps(body).encode()

            async def halves() -> AsyncIterator[bytes]:
                yield data[: len(data) // 2]
                await killed.wait()
                yield data[len(data) // 2 :]

            headers = {**bearer(w.tokens[task["shopper"]]), "content-type": "application/json"}
            try:
                response = await http.post("/reports", content=halves(), headers=headers)
            except httpx.TransportError as exc:
                failures[f"after kill: {type(exc).__name__} (cut off)"] += 1
            else:
                raise AssertionError(f"a report whose body was cut off by the kill was answered: {response.text}")

        cut_id, *submitted = bodies
        async with httpx.AsyncClient(base_url=first.base, timeout=30) as http:
            cut = asyncio.create_task(cut_off(http, *bodies[cut_id]))
            try:
                await asyncio.gather(*(submit(http, *bodies[report_id]) for report_id in submitted))
            finally:
                if not killed.is_set():
                    cut.cancel()
            await asyncio.gather(cut, return_exceptions=not killed.is_set())
        first.kill()
        assert killed.is_set()
        assert first.process.returncode == -signal.SIGKILL
        assert in_flight_at_kill > 0
        assert sum(n for kind, n in failures.items() if kind.startswith("after kill")) > 0, failures
        assert kill_after <= len(acknowledged) < TASKS

        # Whatever the database holds now, every acknowledged report is in it, intact.
        stored = await stored_reports()
        assert set(acknowledged) <= set(stored)
        damaged = {
            i: p
            for i in acknowledged
            if (p := content_problems(bodies[i][1], stored[i], w.users[bodies[i][0]["shopper"]]["id"]))
        }
        assert damaged == {}, list(damaged.items())[:5]
        committed_unacknowledged = set(stored) - set(acknowledged)

        second = Server(database.url, port, tmp_path / "server-2.log", tmp_path / "data", workers)
        servers.append(second)
        await second.wait_healthy()
        async with httpx.AsyncClient(base_url=second.base, timeout=30) as http:
            # A coordinator sees each acknowledged report as it was sent.
            for report_id, shown in acknowledged.items():
                task, body = bodies[report_id]
                response = await http.get(f"/reports/{report_id}", headers=w.as_("coordinator"))
                assert response.status_code == 200, response.text
                served = response.json()
                assert {**served, "score": None, "flags": []} == shown  # the shopper was shown no score or flags
                assert (served["task_id"], served["answers"]) == (body["task_id"], body["answers"])

            # The phones resubmit everything they never heard back about: stored ones come back 200.
            outcomes: Counter[int] = Counter()
            for report_id in sorted(set(bodies) - set(acknowledged)):
                task, body = bodies[report_id]
                response = await http.post("/reports", json=body, headers=bearer(w.tokens[task["shopper"]]))
                outcomes[response.status_code] += 1
                assert response.status_code == (200 if report_id in committed_unacknowledged else 201), response.text
                assert response.json()["answers"] == body["answers"]
            health = (await http.get("/health")).json()
        assert health["database"] == ("postgresql" if database.kind == "postgres" else "sqlite")
    finally:
        for server in servers:
            server.close()

    print(
        f"\n[{database.kind}, {workers} process(es)] killed after {len(acknowledged)} acks (target {kill_after}), "
        f"{in_flight_at_kill} requests in flight, transport failures {dict(failures)}, "
        f"{len(committed_unacknowledged)} committed but unacknowledged, resubmitted {dict(outcomes)}"
    )
    stored = await stored_reports()
    assert await Report.count() == TASKS
    assert set(stored) == set(bodies)
    damaged = {
        i: p
        for i, (task, body) in bodies.items()
        if (p := content_problems(body, stored[i], w.users[task["shopper"]]["id"]))
    }
    assert damaged == {}, list(damaged.items())[:5]
    statuses = Counter(row["status"] for row in await Task.select(Task.status))
    assert statuses == {"submitted": TASKS}
    audited = await AuditEntry.select(AuditEntry.entity_id).where(AuditEntry.action == "report.submitted")
    assert sorted(row["entity_id"] for row in audited) == sorted(stored)

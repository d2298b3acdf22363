"""The HTTP load: client processes, each with concurrent workers on keep-alive connections, POSTing one
fresh report per request; only requests that complete inside the measured window count.

Two clients: a lean one (asyncio + httptools, one connection per worker) and one httpx.AsyncClient
whose pool holds a connection per worker. On this 2-core machine httpx's own CPU use at 50 concurrent requests caps
the load far below what the server can take (the run measures and reports that), so the lean one is
the default: client, server and database share the same cores, and every cycle the client spends is
taken from the server.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import multiprocessing as mp
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import httptools
import httpx
import msgspec

from benchmarks import servers
from benchmarks.stats import Measurement
from tests.api.forms_fixture import answers

UTC = dt.timezone.utc


@dataclass
class WorkerJob:
    """One concurrent client: its bearer token and the tasks it reports on (None: random ids, for the bare app)."""

    token: str | None
    task_ids: list[str] | None


@dataclass
class ClientResult:
    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    error_samples: list[str] = field(default_factory=list)
    cpu_s: float = 0.0
    cpu_wall_s: float = 0.0
    exhausted: int = 0


def _body(task_id: str, started: str, ended: str, rng: random.Random) -> bytes:
    return msgspec.json.encode(
        {
            "id": str(uuid.uuid4()),
            "task_id": task_id,
            "started_at": started,
            "ended_at": ended,
            "answers": answers(
                answer_s=rng.choice((8, 15, 30, 75)), greeted=rng.random() < 0.9, friendliness=rng.randint(1, 5)
            ),
        }
    )


class _Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection carrying one request at a time."""

    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.body = bytearray()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def on_body(self, body: bytes) -> None:
        self.body += body

    def on_message_complete(self) -> None:
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result((self.parser.get_status_code(), bytes(self.body)))

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError(f"connection lost: {exc}"))

    async def post(self, request: bytes) -> tuple[int, bytes]:
        assert self.transport is not None
        self.body = bytearray()
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return await self.waiter


CONNECT_SPACING_S = 0.01  # 50 clients: the last opens its connection 0.5 s into the 2 s warm-up


class LeanClient:
    """POST over one connection, reconnecting when the server closed it."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.connection: _Connection | None = None

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        if self.connection is None or self.connection.transport is None:
            _, self.connection = await asyncio.get_running_loop().create_connection(_Connection, self.host, self.port)
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        request = (
            f"POST {path} HTTP/1.1\r\nhost: {self.host}:{self.port}\r\n{head}content-length: {len(body)}\r\n\r\n"
        ).encode() + body
        try:
            return await asyncio.wait_for(self.connection.post(request), 60)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self.connection is not None and self.connection.transport is not None:
            self.connection.transport.close()
        self.connection = None


async def _client(
    base_url: str, jobs: list[WorkerJob], start: float, warmup_s: float, duration_s: float, kind: str
) -> ClientResult:
    result = ClientResult()
    t0, t1 = start + warmup_s, start + warmup_s + duration_s
    now = dt.datetime.now(UTC)
    started = (now - dt.timedelta(minutes=20)).isoformat()
    ended = (now - dt.timedelta(minutes=15)).isoformat()
    rng = random.Random(1)

    async def cpu_window() -> None:
        await asyncio.sleep(max(0.0, t0 - time.monotonic()))
        cpu, wall = time.process_time(), time.monotonic()
        await asyncio.sleep(max(0.0, t1 - time.monotonic()))
        result.cpu_s, result.cpu_wall_s = time.process_time() - cpu, time.monotonic() - wall

    async def worker(client: httpx.AsyncClient | None, job: WorkerJob, index: int) -> None:
        # Connections opened in one burst can all be accepted by one server process (it wakes first and
        # accepts until the queue is empty), leaving another idle for the whole run: open them apart.
        await asyncio.sleep(index * CONNECT_SPACING_S)
        host, port = base_url.removeprefix("http://").split(":")
        lean = LeanClient(host, int(port)) if client is None else None
        headers = {"content-type": "application/json"}
        if job.token:
            headers["authorization"] = f"Bearer {job.token}"
        tasks = iter(job.task_ids) if job.task_ids is not None else None
        while time.monotonic() < t1:
            task_id = next(tasks, None) if tasks is not None else str(uuid.uuid4())
            if task_id is None:
                result.exhausted += 1
                return
            body = _body(task_id, started, ended, rng)
            sent = time.monotonic()
            try:
                if lean is not None:
                    status, content = await lean.post("/reports", body, headers)
                else:
                    response = await client.post("/reports", content=body, headers=headers)  # type: ignore[union-attr]
                    status, content = response.status_code, response.content
                problem = None if 200 <= status < 300 else f"HTTP {status}"
                if problem and len(result.error_samples) < 3:
                    result.error_samples.append(f"{problem}: {content[:300].decode(errors='replace')}")
            except (httpx.HTTPError, OSError, asyncio.TimeoutError) as exc:
                problem = type(exc).__name__
            done = time.monotonic()
            if t0 <= done <= t1:
                if problem:
                    result.errors[problem] += 1
                else:
                    result.latencies.append(done - sent)
        if lean is not None:
            lean.close()

    if kind == "lean":
        await asyncio.sleep(max(0.0, start - time.monotonic()))
        await asyncio.gather(cpu_window(), *(worker(None, job, i) for i, job in enumerate(jobs)))
        return result
    limits = httpx.Limits(max_connections=len(jobs), max_keepalive_connections=len(jobs))
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60) as client:
        await asyncio.sleep(max(0.0, start - time.monotonic()))
        await asyncio.gather(cpu_window(), *(worker(client, job, i) for i, job in enumerate(jobs)))
    return result


def _client_process(
    index: int,
    base_url: str,
    jobs: list[WorkerJob],
    warmup_s: float,
    duration_s: float,
    kind: str,
    ready: mp.Queue,
    go: mp.Event,
    start_at: mp.Value,
    results: mp.Queue,
) -> None:  # type: ignore[type-arg]
    try:
        import uvloop

        loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = uvloop.new_event_loop
    except ImportError:
        loop_factory = None
    ready.put(index)
    go.wait()
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        result = runner.run(_client(base_url, jobs, start_at.value, warmup_s, duration_s, kind))
    results.put((index, result))


def drive(
    base_url: str,
    jobs: list[WorkerJob],
    *,
    processes: int,
    warmup_s: float,
    duration_s: float,
    server_pid: int,
    postgres: bool,
    label: str,
    client: str = "lean",
) -> Measurement:
    """Run the load and measure `duration_s` after `warmup_s`; CPU shares are of one core."""
    ctx = mp.get_context("spawn")
    ready, results, go, start_at = ctx.Queue(), ctx.Queue(), ctx.Event(), ctx.Value("d", 0.0)
    children = [
        ctx.Process(
            target=_client_process,
            daemon=True,
            args=(i, base_url, jobs[i::processes], warmup_s, duration_s, client, ready, go, start_at, results),
        )
        for i in range(processes)
    ]
    for child in children:
        child.start()
    try:
        for _ in children:
            ready.get(timeout=60)
        start = time.monotonic() + 0.3
        start_at.value = start
        go.set()
        t0, t1 = start + warmup_s, start + warmup_s + duration_s
        time.sleep(max(0.0, t0 - time.monotonic()))
        before = (
            time.monotonic(),
            servers.process_cpu_seconds(server_pid),
            servers.machine_busy_seconds(),
            servers.postgres_cpu_seconds() if postgres else 0.0,
        )
        next_tick = t0 + 5
        while time.monotonic() < t1:
            time.sleep(max(0.0, min(t1, next_tick) - time.monotonic()))
            if time.monotonic() >= next_tick and time.monotonic() < t1 - 1:
                print(f"      {label}: {next_tick - t0:.0f}/{duration_s:.0f} s", flush=True)
                next_tick += 5
        after = (
            time.monotonic(),
            servers.process_cpu_seconds(server_pid),
            servers.machine_busy_seconds(),
            servers.postgres_cpu_seconds() if postgres else 0.0,
        )
        collected = dict(results.get(timeout=120) for _ in children)
    finally:
        for child in children:
            child.join(timeout=10)
            if child.is_alive():
                child.terminate()
    wall = after[0] - before[0]
    merged = ClientResult()
    for part in collected.values():
        merged.latencies += part.latencies
        merged.errors.update(part.errors)
        merged.error_samples += part.error_samples
        merged.exhausted += part.exhausted
    cpu = {
        "server": (after[1] - before[1]) / wall,
        "clients": sum(p.cpu_s for p in collected.values()) / duration_s,
    }
    if postgres:
        cpu["postgres"] = (after[3] - before[3]) / wall
    cpu["machine"] = (after[2] - before[2]) / wall
    # Whatever else ran on the machine meanwhile (other people's test runs, say) took this much.
    cpu["others"] = max(0.0, cpu["machine"] - sum(v for k, v in cpu.items() if k != "machine"))
    notes = [f"sample error: {s}" for s in merged.error_samples[:3]]
    if merged.exhausted:
        notes.append(f"{merged.exhausted} of {len(jobs)} clients ran out of tasks before the end")
    return Measurement(
        completed=len(merged.latencies),
        seconds=duration_s,
        latencies=merged.latencies,
        errors=sum(merged.errors.values()),
        error_kinds=dict(merged.errors),
        cpu=cpu,
        notes=notes,
    )

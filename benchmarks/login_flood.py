"""Login flood (issue 13): concurrent logins for made-up e-mails against a real server process, on
127.0.0.1 only, while /health is probed and the server's memory sampled.

Before the fix, 80 such logins 40 at a time grew the server by 2.3 GiB (Argon2 at 64 MiB each, as many
at once as there were threads) and /health took 2.2 s. Two scenarios, each on a fresh SQLite database
and a fresh server (`python -m backend.cli serve`, the deployed defaults, Argon2 at OWASP's m=19 MiB):
as deployed, where every request comes from one address so the per-address throttle soon answers
429 without checking a password; and with that throttle lifted, so every login reaches the password
check and only the bound on hashes at once (503 with Retry-After past a short wait) holds.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import re
import statistics
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing.synchronize import Event
from multiprocessing.queues import Queue
from pathlib import Path

import httpx

from benchmarks import databases, servers

START, END = "<!-- login-flood:start -->", "<!-- login-flood:end -->"
MEMORY_TARGET_MIB = 200
HEALTH_TARGET_MS = 200
SCENARIOS = (
    ("as deployed (every login from 127.0.0.1)", {}),
    (
        "per-address throttle lifted: every login reaches the password check",
        {"FIELDSCORE_LOGIN_FREE_FAILURES_PER_ADDRESS": "1000000"},
    ),
)


@dataclass
class FloodResult:
    scenario: str
    logins: int
    statuses: Counter[int]
    wall_s: float
    rss_before_mib: float
    rss_peak_mib: float
    health_ms: list[float] = field(default_factory=list)
    health_idle_ms: float = 0.0
    health_failures: int = 0
    server_cpu_s: float = 0.0
    load_average: float = 0.0

    @property
    def growth_mib(self) -> float:
        return self.rss_peak_mib - self.rss_before_mib

    def health(self, q: float) -> float:
        ordered = sorted(self.health_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def rss_mib(pid: int) -> float:
    """Resident memory of the server process and its children (uvicorn's workers), from /proc."""
    total_kib = 0
    for p in servers.process_tree(pid):
        try:
            status = Path(f"/proc/{p}/status").read_text()
        except OSError:
            continue
        match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
        total_kib += int(match.group(1)) if match else 0
    return total_kib / 1024


def _probe_health(base_url: str, started: Event, stop: Event, out: Queue) -> None:  # type: ignore[type-arg]
    """/health every 50 ms on one connection, in a process of its own: the flood's client loop must not
    delay the probe (measured from the flood's own event loop, its stalls showed as /health time)."""
    latencies, failures = [], 0
    with httpx.Client(base_url=base_url, timeout=30) as probe:
        probe.get("/health")
        started.set()
        while not stop.is_set():
            began = time.perf_counter()
            try:
                failures += probe.get("/health").status_code != 200
            except httpx.HTTPError:
                failures += 1
            latencies.append((time.perf_counter() - began) * 1000)
            time.sleep(0.05)
    out.put((latencies, failures))


def _sample_memory(pid: int, stop: threading.Event, peak: list[float]) -> None:
    while not stop.is_set():
        peak[0] = max(peak[0], rss_mib(pid))
        time.sleep(0.02)


async def _send_logins(base_url: str, logins: int) -> list[int]:
    limits = httpx.Limits(max_connections=logins, max_keepalive_connections=logins)
    async with httpx.AsyncClient(base_url=base_url, timeout=120, limits=limits) as client:

        async def login(i: int) -> int:
            response = await client.post(
                "/auth/login", json={"email": f"nobody-{i}@flood.example", "password": f"made-up-password-{i}"}
            )
            return response.status_code

        return list(await asyncio.gather(*(login(i) for i in range(logins))))


def _flood(base_url: str, pid: int, logins: int, scenario: str) -> FloodResult:
    with httpx.Client(base_url=base_url, timeout=10) as probe:
        idle = []
        for _ in range(10):
            began = time.perf_counter()
            probe.get("/health")
            idle.append((time.perf_counter() - began) * 1000)
    result = FloodResult(
        scenario, logins, Counter(), 0.0, rss_mib(pid), rss_mib(pid), health_idle_ms=statistics.median(idle)
    )
    context = multiprocessing.get_context("fork")  # before any thread of ours starts
    started, stop, out = context.Event(), context.Event(), context.Queue()
    prober = context.Process(target=_probe_health, args=(base_url, started, stop, out), daemon=True)
    prober.start()
    sampling, peak = threading.Event(), [result.rss_before_mib]
    sampler = threading.Thread(target=_sample_memory, args=(pid, sampling, peak), daemon=True)
    sampler.start()
    try:
        started.wait(30)
        time.sleep(0.2)
        began, cpu_before = time.perf_counter(), servers.process_cpu_seconds(pid)
        statuses = asyncio.run(_send_logins(base_url, logins))
        result.wall_s = time.perf_counter() - began
        result.server_cpu_s = servers.process_cpu_seconds(pid) - cpu_before
        result.load_average = os.getloadavg()[0]
        time.sleep(0.2)
    finally:
        stop.set()
        sampling.set()
        sampler.join()
    result.health_ms, result.health_failures = out.get(timeout=60)
    prober.join(timeout=30)
    result.statuses = Counter(statuses)
    result.rss_peak_mib = peak[0]
    return result


def run(logins: int = 200, say=print) -> list[FloodResult]:  # type: ignore[no-untyped-def]
    results = []
    workdir = Path(tempfile.mkdtemp(prefix="fieldscore-login-flood-"))
    for scenario, extra_env in SCENARIOS:
        with databases.fresh_sqlite(workdir) as database:
            databases.migrate(database)
            port = servers.free_port()
            command = servers.fieldscore_command(port)
            with servers.serving(
                command, port, {**databases.env_for(database), **extra_env}, workdir / "server.log"
            ) as server:
                say(f"  {scenario}: {logins} concurrent logins for made-up e-mails against {server.base_url}")
                result = _flood(server.base_url, server.pid, logins, scenario)
        say(
            f"    {dict(sorted(result.statuses.items()))} in {result.wall_s:.1f} s; memory {result.rss_before_mib:.0f} → "
            f"peak {result.rss_peak_mib:.0f} MiB (+{result.growth_mib:.0f}); /health p50 {result.health(0.5):.0f} ms, "
            f"p95 {result.health(0.95):.0f} ms, max {max(result.health_ms):.0f} ms over {len(result.health_ms)} probes"
        )
        results.append(result)
    return results


def section(results: list[FloodResult], command: str) -> str:
    rows = []
    for r in results:
        statuses = ", ".join(f"{count} × {status}" for status, count in sorted(r.statuses.items()))
        memory_met = r.growth_mib < MEMORY_TARGET_MIB
        health_met = max(r.health_ms) < HEALTH_TARGET_MS and not r.health_failures
        rows.append(
            f"| {r.scenario} | {r.logins} | {statuses} | {r.wall_s:.1f} | {r.rss_before_mib:.0f} | "
            f"{r.rss_peak_mib:.0f} | **+{r.growth_mib:.0f}** | {r.health_idle_ms:.1f} | {r.health(0.5):.1f} | "
            f"{r.health(0.95):.1f} | **{max(r.health_ms):.1f}** ({len(r.health_ms)} probes, "
            f"{r.health_failures} failed) | {r.server_cpu_s:.1f} | {r.load_average:.1f} | "
            f"{'met' if memory_met else 'NOT met'} | {'met' if health_met else 'NOT met'} |"
        )
    return "\n".join(
        [
            START,
            "## Login flood (issue 13)",
            "",
            f"Command: `{command}` (this section only; the sections above are left as they were). "
            f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
            "",
            "Logins for made-up e-mails, all sent at once from one `httpx.AsyncClient` (one connection each) to "
            "`python -m backend.cli serve` on 127.0.0.1 (one worker process, Argon2id m=19 MiB t=2 p=1, up to one "
            "hash per two CPUs at once, a login waits up to 2 s for one), on a fresh SQLite database per scenario. "
            "Meanwhile `/health` is requested every 50 ms on its own connection from a separate process, and the "
            "server's resident memory "
            "(process and children, /proc) sampled every 20 ms. Before the fix, 80 such logins 40 at a time grew "
            "the server by 2.3 GiB and /health took 2.2 s.",
            "",
            f"Targets: memory growth under {MEMORY_TARGET_MIB} MiB, every /health answered within {HEALTH_TARGET_MS} ms.",
            "",
            "| scenario | logins | answers | wall s | RSS before MiB | RSS peak MiB | growth MiB | /health idle p50 ms "
            f"| /health p50 ms | /health p95 ms | /health max ms | server CPU s | load average "
            f"| growth < {MEMORY_TARGET_MIB} MiB | /health < {HEALTH_TARGET_MS} ms |",
            "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---|---|",
            *rows,
            "",
            "401: the password was checked (against a dummy hash: the e-mails are unknown, and cost the same as "
            "known ones); 429: refused by the login throttle without a check; 503: no hashing slot came free "
            "within the wait (both with Retry-After). Server CPU: the server process's CPU seconds during the flood; "
            "load average: the machine's 1-minute load at its end (2 cores; other work on the machine takes CPU "
            "from the server and shows as /health time).",
            END,
            "",
        ]
    )


def splice(document: str, new_section: str) -> str:
    """`document` with its login-flood section replaced by `new_section` (appended when it has none)."""
    pattern = re.compile(re.escape(START) + r".*?" + re.escape(END) + r"\n?", re.DOTALL)
    if pattern.search(document):
        return pattern.sub(lambda _: new_section, document)
    return document.rstrip("\n") + "\n\n" + new_section

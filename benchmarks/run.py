"""`python -m benchmarks.run`: measure report ingestion on SQLite and PostgreSQL and write docs/benchmarks.md.

Three measurements per run: (a) POST /reports through the real server process, (b) the same rows written
straight into the same schema from Python, (c) a bare Litestar endpoint that only decodes the same JSON.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import shlex
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from benchmarks import assignment, databases, load, login_flood, raw, report, seed, servers
from benchmarks.config import Config
from benchmarks.databases import Database
from benchmarks.stats import Measurement, Summary

ROOT = Path(__file__).resolve().parent.parent


def parse(argv: list[str] | None) -> tuple[Config, Path]:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="seconds per phase, SQLite only, one repetition: checks the machinery, not the speed",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--databases", default=None, help="comma-separated: sqlite,postgres")
    parser.add_argument("--clients", type=int, default=50, help="concurrent HTTP clients")
    parser.add_argument("--client-processes", type=int, default=1, help="processes the clients are spread over")
    parser.add_argument(
        "--client",
        choices=("lean", "httpx"),
        default="lean",
        help="HTTP client for (a) and (c); httpx is measured against it on (c) either way",
    )
    parser.add_argument(
        "--server-workers",
        default="sqlite=2,postgres=2",
        help="server processes per database for (a); PostgreSQL takes writers from several "
        "processes at once; on SQLite each process group-commits its own requests and they take turns "
        "at the file",
    )
    parser.add_argument("--reps", type=int, default=None)
    parser.add_argument("--duration", type=float, default=None, help="measured seconds per HTTP repetition")
    parser.add_argument(
        "--only",
        choices=("ingestion", "login"),
        default=None,
        help="one benchmark: `login` (the login flood, issue 13) rewrites only its own section of "
        "--out; `ingestion` leaves the login section as it was. Default: both (--quick: ingestion)",
    )
    parser.add_argument("--logins", type=int, default=200, help="concurrent logins in the login flood")
    args = parser.parse_args(argv)
    quick = args.quick
    kinds = tuple(args.databases.split(",")) if args.databases else (("sqlite",) if quick else ("sqlite", "postgres"))
    if unknown := set(kinds) - {"sqlite", "postgres"}:
        parser.error(f"unknown database(s): {', '.join(sorted(unknown))}")
    config = Config(
        kinds=kinds,
        clients=args.clients,
        client_processes=args.client_processes,
        shoppers=1 if quick else 5,
        reps=args.reps or (1 if quick else 3),
        warmup_s=0.5 if quick else 2.0,
        duration_s=args.duration or (1.0 if quick else 15.0),
        probe_s=0.0 if quick else 3.0,
        raw_warmup_s=0.2 if quick else 1.0,
        raw_duration_s=0.8 if quick else 5.0,
        pg_raw_connections=50,
        client=args.client,
        server_workers={
            **{"sqlite": 2, "postgres": 2},
            **{k: int(v) for k, _, v in (item.partition("=") for item in args.server_workers.split(","))},
        },
        httpx_check_s=0.0 if quick else 5.0,
        quick=quick,
        only=args.only or ("ingestion" if quick else None),
        logins=args.logins,
    )
    return config, args.out


def say(message: str) -> None:
    print(message, flush=True)


def line(m: Measurement) -> str:
    cpu = ", ".join(f"{k} {v:.0%}" for k, v in m.cpu.items())
    errors = f"{m.errors} errors" + (f" {m.error_kinds}" if m.error_kinds else "")
    return (
        f"{m.rate:8.0f}/s  p50 {m.ms(50):6.1f} ms  p95 {m.ms(95):6.1f} ms  p99 {m.ms(99):6.1f} ms  "
        f"{errors}  [CPU of one core: {cpu}]"
    )


def _tasks_needed(rate: float, seconds: float, workers: int) -> int:
    """Tasks per worker so the load cannot run dry: three times the last rate's share, plus a margin. Clients
    do not all go at the average pace (with two server processes one may serve its clients faster), and
    a client that runs out leaves fewer than the stated number of clients for the rest of the window."""
    return math.ceil(max(rate, 100.0) * 3.0 * seconds / workers) + 20


@contextmanager
def _checkpoints_noted(database: Database) -> Iterator[list[str]]:
    """On PostgreSQL, a note of the checkpoints the server began during the block (warm-up included)."""
    noted: list[str] = []
    before = databases.postgres_checkpoints() if database.kind == "postgres" else 0
    yield noted
    if database.kind == "postgres" and (began := databases.postgres_checkpoints() - before):
        noted.append(f"{began} PostgreSQL checkpoint(s) began during the repetition")


def measure_api(config: Config, database: Database, server: servers.Server, world: seed.World) -> Summary:
    workers = config.clients
    shopper_of = [world.shoppers[w % len(world.shoppers)] for w in range(workers)]

    def jobs(per_worker: int) -> list[load.WorkerJob]:
        ids = seed.add_tasks(database, world, [s[0] for s in shopper_of for _ in range(per_worker)])
        return [
            load.WorkerJob(token=s[1], task_ids=ids[w * per_worker : (w + 1) * per_worker])
            for w, s in enumerate(shopper_of)
        ]

    def drive(job_list: list[load.WorkerJob], warmup_s: float, duration_s: float, label: str) -> Measurement:
        return load.drive(
            server.base_url,
            job_list,
            processes=config.client_processes,
            warmup_s=warmup_s,
            duration_s=duration_s,
            server_pid=server.pid,
            postgres=database.kind == "postgres",
            label=label,
            client=config.client,
        )

    rate, reps = 500.0, []
    if config.probe_s:
        probe = drive(jobs(_tasks_needed(3000, config.probe_s, workers)), 0.0, config.probe_s, "warm-up")
        say(f"    warm-up      {line(probe)}")
        rate = probe.rate
    for i in range(config.reps):
        per_worker = _tasks_needed(rate, config.warmup_s + config.duration_s, workers)
        say(
            f"    rep {i + 1}/{config.reps}: {per_worker * workers} fresh assigned tasks inserted; "
            f"{config.warmup_s:.1f} s warm-up + {config.duration_s:.1f} s measured"
        )
        with _checkpoints_noted(database) as noted:
            m = drive(jobs(per_worker), config.warmup_s, config.duration_s, f"rep {i + 1}")
        m.notes.extend(noted)
        for note in m.notes:
            say(f"      note: {note}")
        say(f"    rep {i + 1}/{config.reps}  {line(m)}")
        reps.append(m)
        rate = max(m.rate, 1.0)
    return Summary(reps)


def measure_raw(config: Config, database: Database, world: seed.World) -> Summary:
    rate = 1000.0 if config.quick else 4000.0 if database.kind == "sqlite" else 8000.0
    seconds = config.raw_warmup_s + config.raw_duration_s
    reps = []
    for i in range(config.reps):
        shoppers = [world.shoppers[n % len(world.shoppers)][0] for n in range(math.ceil(rate * 1.5 * seconds))]
        pairs = list(zip(seed.add_tasks(database, world, shoppers), shoppers, strict=True))
        say(
            f"    rep {i + 1}/{config.reps}: {len(pairs)} fresh assigned tasks; "
            f"{config.raw_warmup_s:.1f} s warm-up + {config.raw_duration_s:.1f} s measured"
        )
        if database.kind == "sqlite":
            m = raw.sqlite_ceiling(database, pairs, warmup_s=config.raw_warmup_s, duration_s=config.raw_duration_s)
        else:
            with _checkpoints_noted(database) as noted:
                m = raw.postgres_ceiling(
                    database,
                    pairs,
                    connections=config.pg_raw_connections,
                    warmup_s=config.raw_warmup_s,
                    duration_s=config.raw_duration_s,
                )
            m.notes.extend(noted)
        for note in m.notes:
            say(f"      note: {note}")
        say(f"    rep {i + 1}/{config.reps}  {line(m)}")
        reps.append(m)
        rate = max(m.rate, 100.0)
    return Summary(reps)


def measure_database(config: Config, kind: str, workdir: Path) -> tuple[Summary, Summary]:
    fresh = databases.fresh_sqlite(workdir) if kind == "sqlite" else databases.fresh_postgres()
    with fresh as database:
        say(f"\n== {database.label}: fresh database {database.url}")
        started = time.monotonic()
        databases.migrate(database)
        seed.create_admin(database)
        say(f"  migrated (python -m backend.cli migrate) and admin created in {time.monotonic() - started:.1f} s")
        port = servers.free_port()
        command = servers.fieldscore_command(port, config.server_workers[kind])
        say(
            f"  (a) POST /reports through `{shlex.join(['python', *command[1:]])}`, "
            f"{config.clients} clients in {config.client_processes} process(es)"
        )
        with servers.serving(command, port, databases.env_for(database), workdir / f"server-{kind}.log") as server:
            started = time.monotonic()
            world = seed.build_world(server.base_url, config.shoppers)
            say(
                f"  set-up through the API: organisation, brand, {len(world.location_ids)} locations, published form, "
                f"{config.shoppers} shoppers logged in ({time.monotonic() - started:.1f} s)"
            )
            api = measure_api(config, database, server, world)
        writers = "1 connection" if kind == "sqlite" else f"{config.pg_raw_connections} asyncpg connections"
        say(f"  (b) the same rows straight into the schema, one transaction per report, {writers}")
        ceiling = measure_raw(config, database, world)
    return api, ceiling


def measure_bare(config: Config, workdir: Path) -> tuple[Summary, Measurement | None, Measurement | None]:
    port = servers.free_port()
    say(
        f"\n== (c) bare Litestar endpoint (benchmarks.bare_app) on uvicorn, port {port}, "
        f"{config.clients} clients in {config.client_processes} process(es)"
    )
    with servers.serving(servers.bare_command(port), port, {**databases.os.environ}, workdir / "bare.log") as server:
        jobs = [load.WorkerJob(token=None, task_ids=None) for _ in range(config.clients)]

        def drive(warmup_s: float, duration_s: float, label: str, client: str = config.client) -> Measurement:
            return load.drive(
                server.base_url,
                jobs,
                processes=config.client_processes,
                warmup_s=warmup_s,
                duration_s=duration_s,
                server_pid=server.pid,
                postgres=False,
                label=label,
                client=client,
            )

        if config.probe_s:
            say(f"    warm-up      {line(drive(0.0, config.probe_s, 'warm-up'))}")
        reps = []
        for i in range(config.reps):
            m = drive(config.warmup_s, config.duration_s, f"rep {i + 1}")
            say(f"    rep {i + 1}/{config.reps}  {line(m)}")
            reps.append(m)
        lean = httpx = None
        if config.httpx_check_s:
            say(
                f"    client check: the same load from httpx.AsyncClient and from the lean client, "
                f"{config.httpx_check_s:.0f} s each"
            )
            httpx = drive(1.0, config.httpx_check_s, "httpx", client="httpx")
            say(f"    httpx        {line(httpx)}")
            lean = drive(1.0, config.httpx_check_s, "lean", client="lean")
            say(f"    lean         {line(lean)}")
    return Summary(reps), httpx, lean


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args[:2] == ["--only", "analytics"]:  # issue 16's section alone: the ingestion runs are not repeated
        from benchmarks import analytics

        analytics.main(args[2:], command=shlex.join(["python", "-m", "benchmarks.run", *args]))
        return
    config, out = parse(argv)
    python = os.path.relpath(sys.executable, ROOT) if sys.executable.startswith(str(ROOT)) else sys.executable
    command = shlex.join([python, "-m", "benchmarks.run", *args])
    if os.environ.get("MAKELEVEL") and not args:
        command = f"make bench` → `{command}"
    if config.only == "login":
        say(f"Fieldscore login flood: {config.logins} concurrent logins; its section of {out} is rewritten")
        flood = login_flood.section(login_flood.run(config.logins, say=say), command)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(login_flood.splice(out.read_text() if out.exists() else "", flood))
        say(f"\nwrote the login flood section of {out}")
        return
    began = time.monotonic()
    pg_version = databases.postgres_version() if "postgres" in config.kinds else None
    load_before = os.getloadavg()
    say(
        f"Fieldscore ingestion benchmark: {', '.join(config.kinds)}; {config.reps} repetition(s) of "
        f"{config.duration_s:.0f} s per HTTP measurement; results go to {out}"
    )
    if load_before[0] > 0.5:
        say(
            f"  note: the machine is already busy (load average {load_before[0]:.2f}); other processes will take "
            "CPU from the measurement, and the report says how much"
        )
    workdir = Path(tempfile.mkdtemp(prefix="fieldscore-bench-"))
    results: dict[str, tuple[Summary, Summary]] = {}
    try:
        for kind in config.kinds:
            results[kind] = measure_database(config, kind, workdir)
        bare, httpx_check, lean_check = measure_bare(config, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    say("Automatic assignment (pure core): 10,000 tasks × 500 shoppers, checked by the independent validator")
    assigned = assignment.run(quick=config.quick)
    say(
        f"  median {assigned['median_s']:.3f} s; {assigned['assigned']} assigned, {assigned['unfilled']} unfilled, "
        f"{assigned['violations']} rule violations"
    )
    elapsed = time.monotonic() - began
    text = report.render(
        config,
        results,
        bare,
        command=command,
        postgres_version=pg_version,
        elapsed_s=elapsed,
        load_average=(load_before, os.getloadavg()),
        client_check=(httpx_check, lean_check),
    )
    new_flood = None
    if config.only is None:
        say(f"Login flood (issue 13): {config.logins} concurrent logins for made-up e-mails")
        new_flood = login_flood.section(login_flood.run(config.logins, say=say), command)
    out.parent.mkdir(parents=True, exist_ok=True)
    # Sections other benchmarks write into the same file (phone app, dashboard) between their markers stay.
    previous = out.read_text() if out.exists() else ""
    kept = [
        m.group(0) for m in re.finditer(r"<!-- ([\w-]+):(?:start|begin) -->.*?<!-- \1:end -->", previous, flags=re.S)
    ]
    text += report.assignment_section(assigned) + "".join(f"\n{section}\n" for section in kept)
    out.write_text(login_flood.splice(text, new_flood) if new_flood else text)
    say(f"\nDone in {elapsed:.0f} s; wrote {out}\n")
    say(report.summary_table(results, bare))


if __name__ == "__main__":
    main()

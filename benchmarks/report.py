"""docs/benchmarks.md: the results table, ratios, issue 5's targets, CPU shares, machine and method."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from benchmarks import databases, machine, seed
from benchmarks.stats import Measurement, Summary

if TYPE_CHECKING:
    from benchmarks.config import Config

LABEL = {"sqlite": "SQLite", "postgres": "PostgreSQL"}
API = "(a) POST /reports through the server"
RAW = "(b) same rows straight into the database"
BARE = "(c) bare Litestar endpoint, decode only"


def _n(value: float, digits: int = 0) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{value:,.{digits}f}"


def _row(name: str, db: str, s: Summary) -> str:
    return (
        f"| {name} | {db} | {_n(s.rate)} | {_n(s.ms(50), 1)} | {_n(s.ms(95), 1)} | {_n(s.ms(99), 1)} "
        f"| {s.errors} | {s.completed:,} | {len(s.reps)} |"
    )


def summary_table(results: dict[str, tuple[Summary, Summary]], bare: Summary) -> str:
    lines = [
        "| Measurement | Database | req/s (median) | p50 ms | p95 ms | p99 ms | errors | ok requests (all reps) "
        "| reps |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for kind, (api, raw) in results.items():
        lines.append(_row(API, LABEL[kind], api))
        lines.append(_row(RAW, LABEL[kind], raw))
    lines.append(_row(BARE, "none", bare))
    return "\n".join(lines)


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.1%}" if b else "n/a"


def _verdict(ok: bool) -> str:
    return "yes" if ok else "**no**"


def _targets(results: dict[str, tuple[Summary, Summary]], bare: Summary) -> list[str]:
    lines = ["| Target (issue 5) | Measured (median) | Met? |", "|---|---:|---|"]
    if "sqlite" in results:
        api = results["sqlite"][0]
        lines += [
            f"| SQLite ≥ 1,500 reports/s | {_n(api.rate)} /s | {_verdict(api.rate >= 1500)} |",
            f"| SQLite p99 ≤ 150 ms | {_n(api.ms(99), 1)} ms | {_verdict(api.ms(99) <= 150)} |",
            f"| SQLite zero errors | {api.errors} | {_verdict(api.errors == 0)} |",
            f"| SQLite ≥ 40% of the bare-endpoint ceiling | {_ratio(api.rate, bare.rate)} | "
            f"{_verdict(api.rate >= 0.4 * bare.rate)} |",
        ]
    if "postgres" in results:
        api = results["postgres"][0]
        lines += [
            f"| PostgreSQL ≥ 1,500 reports/s | {_n(api.rate)} /s | {_verdict(api.rate >= 1500)} |",
            f"| PostgreSQL p99 ≤ 100 ms | {_n(api.ms(99), 1)} ms | {_verdict(api.ms(99) <= 100)} |",
            f"| (PostgreSQL errors, for information) | {api.errors} | |",
        ]
    return lines


def _cpu(results: dict[str, tuple[Summary, Summary]], bare: Summary) -> list[str]:
    lines = [
        "| Measurement | Database | server process | client processes | bench process | PostgreSQL | "
        "other processes | whole machine (of 200%) |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]

    def row(name: str, db: str, s: Summary) -> str:
        cells = [s.cpu(k) for k in ("server", "clients", "bench process", "postgres", "others", "machine")]
        return f"| {name} | {db} | " + " | ".join("" if c is None else f"{c:.0%}" for c in cells) + " |"

    for kind, (api, raw) in results.items():
        lines += [row(API, LABEL[kind], api), row(RAW, LABEL[kind], raw)]
    lines.append(row(BARE, "none", bare))
    return lines


def _reps(results: dict[str, tuple[Summary, Summary]], bare: Summary) -> list[str]:
    lines = [
        "| Measurement | Database | rep | req/s | p50 ms | p95 ms | p99 ms | errors | notes |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    groups = [(name, LABEL[kind], s) for kind, pair in results.items() for name, s in zip((API, RAW), pair)]
    for name, db, s in [*groups, (BARE, "none", bare)]:
        for i, m in enumerate(s.reps, 1):
            notes = "; ".join([*(f"{k}: {v}" for k, v in m.error_kinds.items()), *m.notes]).replace("|", "\\|")
            lines.append(
                f"| {name} | {db} | {i} | {_n(m.rate)} | {_n(m.ms(50), 1)} | {_n(m.ms(95), 1)} | "
                f"{_n(m.ms(99), 1)} | {m.errors} | {notes[:300]} |"
            )
    return lines


def _client_check(httpx: Measurement | None, lean: Measurement | None, clients: int) -> list[str]:
    if httpx is None or lean is None:
        return ["Not run in quick mode."]
    return [
        f"The same {clients}-client load on the bare endpoint (c), from one process each:",
        "",
        "| Client | req/s | p50 ms | p99 ms | client CPU (of one core) | server CPU |",
        "|---|---:|---:|---:|---:|---:|",
        *(
            f"| {name} | {_n(m.rate)} | {_n(m.ms(50), 1)} | {_n(m.ms(99), 1)} | {m.cpu.get('clients', 0):.0%} | "
            f"{m.cpu.get('server', 0):.0%} |"
            for name, m in (("httpx.AsyncClient (one pool)", httpx), ("lean asyncio + httptools", lean))
        ),
        "",
        "httpx spends far more CPU per request than the server it measures, so with it the load generator, "
        "not the server, sets the rate; the lean client is used for (a) and (c). A client process near 100% "
        "of a core in the CPU table would mean it is the bottleneck; spread it with `--client-processes`.",
    ]


def render(
    config: Config,
    results: dict[str, tuple[Summary, Summary]],
    bare: Summary,
    *,
    command: str,
    postgres_version: str | None,
    elapsed_s: float,
    load_average: tuple[tuple[float, ...], tuple[float, ...]],
    client_check: tuple[Measurement | None, Measurement | None],
) -> str:
    facts = machine.describe(command, postgres_version)
    facts["Load average (1, 5, 15 min)"] = (
        f"{', '.join(f'{v:.2f}' for v in load_average[0])} at the start, "
        f"{', '.join(f'{v:.2f}' for v in load_average[1])} at the end"
    )
    ratios = ["| Database | (a) / (b): app vs raw storage | (a) / (c): app vs bare endpoint |", "|---|---:|---:|"]
    for kind, (api, raw) in results.items():
        ratios.append(f"| {LABEL[kind]} | {_ratio(api.rate, raw.rate)} | {_ratio(api.rate, bare.rate)} |")
    quick = (
        "\n> **Quick mode** (`--quick`): seconds per phase, one repetition. These numbers only show that "
        "the machinery works; they are not a measurement.\n"
        if config.quick
        else ""
    )
    raw_sqlite = "one connection writing sequentially (SQLite has one writer at a time)"
    parts = [
        "# Report ingestion benchmarks",
        "",
        f"Written by `{command}` on {facts['Date']} in {elapsed_s:.0f} s. Do not edit by hand: run `make bench` again.",
        quick,
        f"## Results (median of {config.reps} repetition(s); {config.clients} concurrent clients for HTTP)",
        "",
        summary_table(results, bare),
        "",
        "req/s counts successful (2xx) responses completed inside the measured window; latencies are those "
        "responses' times from send to full response, seen by the client; errors are non-2xx responses and "
        "transport failures completed inside the window, summed over all repetitions.",
        "",
        "## Ratios (of the median req/s)",
        "",
        *ratios,
        "",
        "## Where we stand against issue 5's targets",
        "",
        *_targets(results, bare),
        "",
        "## CPU used during the measured window (median; 100% = one core, the machine has 200%)",
        "",
        *_cpu(results, bare),
        "",
        "The server, clients, database and this script share the same two cores. A row whose whole-machine "
        "figure is near 200% is CPU-bound on the machine, whoever's process it is; a server process near 100% is "
        'bound by its single event loop. "Other processes" is CPU taken by anything else running on the machine '
        "meanwhile: where it is large, every rate here is lower than on an idle machine.",
        "",
        "## The load generator",
        "",
        *_client_check(*client_check, config.clients),
        "",
        "## Machine",
        "",
        *(f"- **{k}**: {v}" for k, v in facts.items()),
        "",
        "## Method",
        "",
        f"- Each database is fresh: a new SQLite file, or a new uniquely named PostgreSQL database that is dropped "
        "afterwards, migrated with `python -m backend.cli migrate` (`FIELDSCORE_DATABASE_URL` points at it); the "
        "first admin is made with `python -m backend.cli create-user`. The app and (b) reach PostgreSQL through "
        f"{databases.postgres_transport()} (`FIELDSCORE_BENCH_PG` sets another server).",
        "- (a) The real server process: `python -m backend.cli serve --host 127.0.0.1 --port <free port>` (uvicorn, "
        f"{', '.join(f'{k}: {n} worker process(es)' for k, n in config.server_workers.items())}; "
        "default settings: uvloop + httptools, log level info with the access log on, PostgreSQL "
        "pool of 20 per process; the cyclic garbage collector tuned at start-up, `backend/app.py`; SQLite "
        "processes each group-commit and take turns at the file through a lock file, with a checkpointer "
        "thread copying the WAL back, `backend/db/sqlite.py`). New reports are stored by the app's batch writer (`backend/reports/storage.py`): "
        "requests validated meanwhile are written together in one transaction, and each is answered after that "
        "commit. Set-up through its API (untimed): organisation, brand and relation, "
        f"{seed.LOCATIONS} locations (tasks go round them, so a shopper's reports span several), the "
        f"published small call form (`tests/api/forms_fixture.py`), {config.shoppers} shoppers who log in. "
        "Then, before each repetition, fresh ASSIGNED tasks are inserted straight into the database (untimed) "
        "with the columns `tasks.service.create_task` writes, plus its `task.created` audit entry. Each of the "
        f"{config.clients} clients (the {config.client} client, keep-alive connections, spread over "
        f"{config.client_processes} process(es) with uvloop) posts one report per task, each with a fresh UUID "
        "and the shopper's bearer token: full authentication, validation, scoring and storage.",
        f"- (b) The rows one accepted report writes (copies of a report row and its first revision the app "
        "stored, with new ids, task and time; the task's status update; the two audit entries; ids made as the "
        "app makes them) in one transaction per report, with the "
        f"app's durability. SQLite: Python's sqlite3, WAL, `synchronous = FULL`, `foreign_keys = 1`, "
        f"`BEGIN IMMEDIATE`, {raw_sqlite}. PostgreSQL: asyncpg with {config.pg_raw_connections} connections, "
        "the server's default `synchronous_commit`. No reads, no validation, no HTTP.",
        "- (c) `benchmarks/bare_app.py` on the same uvicorn with the same defaults, in one process (one event "
        "loop, where the app in (a) runs in the worker processes named above): `POST /reports` decodes the "
        "same JSON body into `api_schemas.reports.ReportCreate` (msgspec) and answers 201 with no body. Its "
        "rate is therefore a one-core ceiling; the (a)/(c) ratio compares the app on all its processes with it.",
        f"- Every HTTP repetition: {config.warmup_s:.1f} s warm-up then {config.duration_s:.1f} s measured"
        + (f", after one {config.probe_s:.1f} s warm-up run per server" if config.probe_s else "")
        + f"; raw repetitions: {config.raw_warmup_s:.1f} s + "
        f"{config.raw_duration_s:.1f} s. Medians over repetitions. Only 127.0.0.1 traffic.",
        "",
        "## Every repetition",
        "",
        *_reps(results, bare),
        "",
    ]
    return "\n".join(parts)


def assignment_section(result: dict[str, object]) -> str:
    """The automatic-assignment benchmark (issue 4: 10,000 tasks to 500 shoppers in under 5 s, no rule broken)."""
    runs = ", ".join(f"{t:.3f}" for t in result.get("runs_s", []))  # type: ignore[union-attr]
    median = float(result["median_s"])  # type: ignore[arg-type]
    met = median < 5 and result["violations"] == 0
    return "\n".join(
        [
            "",
            "## Automatic assignment (issue 4)",
            "",
            f"`backend.campaigns.assignment.auto_assign` on {result['jobs']:,} tasks (visits and calls over a 4-week "
            f"wave, {result.get('visits', '?')} visits) and {result['shoppers']:,} shoppers with "
            f"{result.get('past_work', '?')} past-work entries and a 90-day rotation; then "
            "`validate_assignment`, an independent checker, re-checks every rule. Pure CPU, no database.",
            "",
            "| tasks | shoppers | median s (3 runs) | runs s | assigned | unfilled | rule violations | target < 5 s, 0 violations |",
            "|---:|---:|---:|---|---:|---:|---:|---|",
            f"| {result['jobs']:,} | {result['shoppers']:,} | {median:.3f} | {runs} | {result['assigned']:,} | "
            f"{result['unfilled']:,} | {result['violations']} | {'met' if met else '**not met**'} |",
            "",
        ]
    )

"""`python -m benchmarks.dashboard`: the manager's dashboard first render with the demo data, in Chromium.

Loads the demo data into a fresh SQLite database, serves it, and opens /console/#/dashboard as the demo
manager in a new browser context each time (cold cache), already logged in (the token in local storage,
as after a login). Measured in the page: the User Timing mark the console sets when the page is shown
with its data and its controls work (`fieldscore:rendered`), and the bytes transferred (Resource Timing).
Writes its own section of docs/benchmarks.md (between markers), leaving the rest of the file as it is.

With `--reports N` (e.g. 1000000) it then grows the analytics facts to N approved reports and measures
again: each demo report's facts (report_fact and its item_fact rows) are copied under new ids until there
are N, so the same locations, brands, forms and distribution, N times as many rows for every query the
dashboard makes (the report rows themselves are not copied: the dashboard's figures read only the facts).
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from benchmarks import machine, servers

ROOT = Path(__file__).resolve().parent.parent
BEGIN, END = "<!-- dashboard-benchmark:begin -->", "<!-- dashboard-benchmark:end -->"
CHROMIUM = os.environ.get("FIELDSCORE_CHROMIUM", "/usr/bin/chromium")
TARGET_S = 1.5
DEMO_PASSWORD = "fieldscore-demo"

_MEASURE = """() => {
  const mark = performance.getEntriesByName('fieldscore:rendered')[0];
  const panels = performance.getEntriesByName('fieldscore:panels')[0];
  const nav = performance.getEntriesByType('navigation')[0];
  const resources = performance.getEntriesByType('resource');
  const bytes = (entries) => entries.reduce((sum, e) => sum + (e.transferSize || 0), 0);
  const decoded = (entries) => entries.reduce((sum, e) => sum + (e.decodedBodySize || 0), 0);
  const js = resources.filter((e) => /\\.m?js(\\?|$)/.test(e.name));
  const api = resources.filter((e) => !/\\/(console|shared|vendor|app)\\//.test(new URL(e.name).pathname));
  return {
    rendered_ms: mark ? mark.startTime : null,
    panels_ms: panels ? panels.startTime : null,
    requests: resources.length + 1,
    transferred: bytes([nav, ...resources]),
    decoded: decoded([nav, ...resources]),
    js_decoded: decoded(js), js_files: js.length,
    api_requests: api.length, api_decoded: decoded(api),
    chart_code_loaded: ['/console/lib/charts.js', '/vendor/d3/d3.min.js', '/vendor/plot/plot.umd.min.js'].every(
      (path) => resources.some((e) => new URL(e.name).pathname === path)),
  };
}"""


def measure(base_url: str, token: str, user: dict[str, Any], runs: int) -> list[dict[str, Any]]:
    from playwright.sync_api import sync_playwright

    results = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        try:
            for _ in range(runs):
                context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 860})
                context.add_init_script(
                    f"localStorage.setItem('fieldscore.console.session', {json.dumps(json.dumps({'token': token, 'user': user}))});"
                    "localStorage.setItem('fieldscore.console.lang', 'en');"
                )
                page = context.new_page()
                page.goto("/console/#/dashboard")
                page.wait_for_selector("body[data-ready=true] [data-location-row]", timeout=60_000)
                page.wait_for_selector("[data-panels=ready]", timeout=60_000)
                page.wait_for_load_state("networkidle")
                results.append(page.evaluate(_MEASURE))
                context.close()
        finally:
            browser.close()
    return results


# A random version-4 UUID as SQLite's text form of Piccolo's UUID columns.
_NEW_UUID = (
    "lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-' || "
    "substr('89ab', 1 + abs(random()) % 4, 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)))"
)


def grow_facts(database: Path, reports: int) -> int:
    """Copy the approved reports' analytics facts under new ids until there are `reports`, and write the rollups of
    them all (before, the rollups kept only the demo's reports, so the figures they answer were not measured at
    the size); returns the count."""
    db = sqlite3.connect(database)
    try:
        base = db.execute("SELECT COUNT(*) FROM report_fact").fetchone()[0]
        extra = reports - base
        if base == 0 or extra <= 0:
            return base
        fact_columns = [r[1] for r in db.execute("PRAGMA table_info(report_fact)") if r[1] != "id"]
        item_columns = [r[1] for r in db.execute("PRAGMA table_info(item_fact)") if r[1] not in ("id", "report")]
        copies = -(-extra // base)
        db.execute("CREATE TEMP TABLE copy_no (k INTEGER PRIMARY KEY)")
        db.execute(
            "WITH RECURSIVE c(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM c WHERE k < ?) INSERT INTO copy_no SELECT k FROM c",
            (copies,),
        )
        db.execute(
            f"CREATE TEMP TABLE id_map AS SELECT f.id AS old, {_NEW_UUID} AS new "
            "FROM report_fact f CROSS JOIN copy_no ORDER BY copy_no.k, f.id LIMIT ?",
            (extra,),
        )
        cols = ", ".join(fact_columns)
        db.execute(
            f"INSERT INTO report_fact (id, {cols}) SELECT m.new, {', '.join(f'f.{c}' for c in fact_columns)} "
            "FROM id_map m JOIN report_fact f ON f.id = m.old"
        )
        db.execute(
            f"INSERT INTO item_fact (report, {', '.join(item_columns)}) "
            f"SELECT m.new, {', '.join(f'i.{c}' for c in item_columns)} FROM id_map m JOIN item_fact i ON i.report = m.old"
        )
        # The rollups (what most of the dashboard's figures read) of all the facts, as the approval path keeps them.
        from backend.analytics.rollups import ROLLUP_TABLES, rebuild_statements

        for table in ROLLUP_TABLES:
            db.execute(f"DELETE FROM {table}")
        for statements in rebuild_statements(postgres=False).values():
            for sql in statements:
                db.execute(sql)
        db.commit()
        db.execute("ANALYZE")
        return int(db.execute("SELECT COUNT(*) FROM report_fact").fetchone()[0])
    finally:
        db.close()


def row(label: str, results: list[dict[str, Any]]) -> str:
    times = [r["rendered_ms"] for r in results]
    median_s = statistics.median(times) / 1000
    panels_s = statistics.median(r["panels_ms"] for r in results) / 1000
    first = results[0]
    verdict = "met" if median_s <= TARGET_S else "NOT met"
    return (
        f"| {label} | {len(results)} | {median_s:.3f} | {', '.join(f'{t / 1000:.3f}' for t in times)} | {verdict} | "
        f"{panels_s:.3f} | {first['requests']} | {first['transferred'] / 1024:.1f} | {first['decoded'] / 1024:.1f} | "
        f"{first['js_decoded'] / 1024:.1f} ({first['js_files']}) | {first['api_requests']} "
        f"({first['api_decoded'] / 1024:.1f}) | {'on the dashboard only' if first['chart_code_loaded'] else 'no'} |"
    )


def section(
    measured: list[tuple[str, list[dict[str, Any]], float]],
    locations: int,
    reports: int,
    command: str,
    grown: int | None,
) -> str:
    info = machine.describe(command, None)
    loads = ", ".join(f"{load:.1f}" for _, _, load in measured)
    return "\n".join(
        [
            BEGIN,
            "## Dashboard first render (issue 17)",
            "",
            f"The manager's dashboard (`/console/#/dashboard`) over the demo data ({locations} locations, {reports} "
            "approved call reports: what the manager sees)"
            + (
                f" and over {grown:,} approved reports (the demo's analytics facts copied under new ids, "
                "`--reports`: the same locations and distribution, as many rows for every query the dashboard makes)"
                if grown
                else ""
            )
            + ", opened in Debian's Chromium (headless) in a new browser context each run "
            "(empty cache), logged in. *Interactive* is the console's `fieldscore:rendered` User Timing mark: the "
            "page shows the brand and location charts and tables, and its filters, drill-down links and export buttons "
            "work; the panels (hour × weekday grid, waiting-time curves, what fails most, score over time) fill in "
            "after it (`fieldscore:panels`, the *complete* column). Weight is Resource Timing's bytes over the wire (the "
            "console's files gzipped, the API's JSON answers not) and decoded.",
            "",
            f"| data | runs | interactive median s | runs s | target ≤ {TARGET_S} s | complete median s | requests | "
            "transferred KB | decoded KB | JavaScript KB (files) | API requests (KB) | chart code loaded |",
            "|---|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---|",
            *(row(label, results) for label, results, _ in measured),
            "",
            f"Machine: {info['CPU']}; {info['RAM']}; {info['OS']}; load average {loads} when measured (other work "
            f"shares the 2 cores); commit {info['Git commit']}; {info['Date']}. Command: {info['Command']}."
            + ("" if grown else " The 1,000,000-report figure is not measured here: `--reports 1000000` adds it."),
            END,
            "",
        ]
    )


def write(out: Path, text: str) -> None:
    current = out.read_text(encoding="utf-8") if out.exists() else ""
    if BEGIN in current and END in current:
        head, rest = current.split(BEGIN, 1)
        tail = rest.split(END, 1)[1].lstrip("\n")
        current = head + text + tail
    else:
        current = current.rstrip("\n") + "\n\n" + text
    out.write_text(current, encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.dashboard", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument(
        "--reports", type=int, default=0, help="then grow the facts to this many reports and measure again"
    )
    args = parser.parse_args(argv)
    command = (
        "python -m benchmarks.dashboard"
        + (f" --runs {args.runs}" if args.runs != 5 else "")
        + (f" --reports {args.reports}" if args.reports else "")
    )
    measured: list[tuple[str, list[dict[str, Any]], float]] = []
    grown = None
    with tempfile.TemporaryDirectory(prefix="fieldscore-dashboard-") as folder:
        env = {
            **os.environ,
            "FIELDSCORE_DATABASE_URL": f"sqlite:///{folder}/demo.sqlite3",
            "FIELDSCORE_DATA_DIR": f"{folder}/data",
        }
        print("loading the demo data …", flush=True)
        subprocess.run(
            [sys.executable, "-m", "backend.cli", "demo"], env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL
        )
        for grow in (False, True) if args.reports else (False,):
            if grow:
                started = time.monotonic()
                print(f"growing the facts to {args.reports:,} reports …", flush=True)
                grown = grow_facts(Path(folder) / "demo.sqlite3", args.reports)
                print(f"{grown:,} reports' facts in {time.monotonic() - started:.1f} s", flush=True)
            port = servers.free_port()
            with servers.serving(servers.fieldscore_command(port), port, env, Path(folder) / "server.log") as server:
                login = httpx.post(
                    f"{server.base_url}/auth/login",
                    timeout=60,
                    json={"email": "manager@demo.fieldscore.test", "password": DEMO_PASSWORD},
                ).json()
                headers = {"Authorization": f"Bearer {login['access_token']}"}
                scores = httpx.get(
                    f"{server.base_url}/analytics/location-scores?limit=500", headers=headers, timeout=600
                ).json()
                if not grow:
                    reports = httpx.get(f"{server.base_url}/reports?limit=1", headers=headers, timeout=60).json()[
                        "total"
                    ]
                started = time.monotonic()
                load = os.getloadavg()[0]
                results = measure(server.base_url, login["access_token"], login["user"], args.runs)
                print(f"{args.runs} runs in {time.monotonic() - started:.1f} s", flush=True)
            measured.append((f"{grown:,} reports" if grow else f"demo, {reports} reports", results, load))
    text = section(measured, scores["total_locations"], reports, command, grown)
    write(args.out, text)
    print(text)


if __name__ == "__main__":
    main()

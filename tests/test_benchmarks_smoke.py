"""`make bench` cannot rot silently: the benchmark runs end to end in quick mode and writes its table."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_quick_benchmark_writes_a_table_with_throughput_for_all_three_measurements(tmp_path: Path) -> None:
    out = tmp_path / "benchmarks.md"
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--quick", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,  # 56 s measured at load 8 on the 2-core machine; CI shares it with PostgreSQL
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    text = out.read_text()
    rates = {}
    for row in text.splitlines():
        cells = [c.strip() for c in row.strip().strip("|").split("|")]
        if len(cells) == 9 and cells[0][:3] in ("(a)", "(b)", "(c)"):
            rates.setdefault(cells[0][:3], float(cells[2].replace(",", "")))
    assert set(rates) == {"(a)", "(b)", "(c)"}, text
    assert all(rate > 0 for rate in rates.values()), rates
    assert "## Machine" in text and "Quick mode" in text


def test_the_login_flood_rewrites_only_its_own_section(tmp_path: Path) -> None:
    out = tmp_path / "benchmarks.md"
    kept = "# Benchmarks\n\n## Results\n\nthe ingestion tables, left as they were\n"
    stale = "<!-- login-flood:start -->\n## Login flood (issue 13)\nstale\n<!-- login-flood:end -->\n"
    out.write_text(kept + "\n" + stale + "\n## Automatic assignment\n\nalso left\n")
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--only", "login", "--logins", "20", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    text = out.read_text()
    assert text.startswith(kept) and text.endswith("\n## Automatic assignment\n\nalso left\n")
    assert text.count("## Login flood (issue 13)") == 1 and "stale" not in text
    rows = [row for row in text.splitlines() if row.startswith("| as deployed") or row.startswith("| per-address")]
    assert len(rows) == 2, text
    for row in rows:
        answers = row.split("|")[3]
        counts = dict((int(status), int(n)) for n, status in re.findall(r"(\d+) × (\d{3})", answers))
        assert sum(counts.values()) == 20 and set(counts) <= {401, 429, 503}, row


def test_the_dashboard_benchmark_grows_the_facts_under_new_ids_with_their_items(
    sqlite_template: Path, tmp_path: Path
) -> None:
    """`--reports N`: each report's facts are copied whole (with its items) until there are N, ids all new."""
    import shutil
    import sqlite3
    import uuid

    from benchmarks.dashboard import grow_facts

    database = tmp_path / "grow.sqlite3"
    shutil.copy(sqlite_template, database)
    db = sqlite3.connect(database)
    ids = [str(uuid.uuid4()) for _ in range(2)]
    for k, report in enumerate(ids):
        db.execute(
            "INSERT INTO report_fact (id, organisation, location, form_version, channel, started_at, local_day, "
            "local_week, local_month, local_weekday, local_hour, daypart, score_final, failed, pending) "
            "VALUES (?, ?, ?, ?, 'call', '2026-11-30 10:00:00+00:00', '2026-11-30', '2026-W49', '2026-11', 1, 11, "
            "'morning', ?, 0, 0)",
            (report, str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4()), 50.0 + k),
        )
        for key in ("greeted", "thanked"):
            db.execute(
                "INSERT INTO item_fact (report, kind, key, section, score, passed, critical_failed) "
                "VALUES (?, 'item', ?, 'conduct', 100.0, 1, 0)",
                (report, key),
            )
    db.commit()
    db.close()
    assert grow_facts(database, 7) == 7
    db = sqlite3.connect(database)
    rows = db.execute("SELECT id, score_final FROM report_fact").fetchall()
    assert len({r[0] for r in rows}) == 7 and all(uuid.UUID(r[0]) for r in rows)
    scores = [r[1] for r in rows]
    assert sorted(scores.count(v) for v in (50.0, 51.0)) == [3, 4]  # copied round by round
    items = db.execute("SELECT report, COUNT(*) FROM item_fact GROUP BY report").fetchall()
    assert len(items) == 7 and {n for _, n in items} == {2}
    # The rollups are of all 7 reports (what the rollup-answered figures read).
    assert db.execute("SELECT SUM(n) FROM measure_rollup WHERE measure = 'score:final:all'").fetchone()[0] == 7
    assert db.execute("SELECT SUM(judged), SUM(passed) FROM item_rollup").fetchone() == (14, 14)
    assert grow_facts(database, 5) == 7  # never shrinks


def test_the_analytics_benchmark_replaces_only_its_own_runs_subsections(tmp_path: Path) -> None:
    """Each (engine, size) run has its subsection: a run rewrites its own, keeps the others and every other
    section of the document."""
    from benchmarks.analytics import SECTION, write_section

    def run(kind: str, n: int, text: str) -> str:
        return f"<!-- analytics-{kind}-{n}:start -->\n### {kind} {n}\n\n{text}\n<!-- analytics-{kind}-{n}:end -->"

    out = tmp_path / "benchmarks.md"
    out.write_text("# Benchmarks\n\n## Other\n\nkept\n")
    write_section(out, [run("sqlite", 1000000, "run-one"), run("postgres", 1000000, "run-one")])
    write_section(out, [run("postgres", 10000000, "run-big")])
    write_section(out, [run("postgres", 1000000, "run-two")])
    text = out.read_text()
    assert text.startswith("# Benchmarks\n\n## Other\n\nkept\n") and text.count(SECTION) == 1
    order = [text.index(f"### {name}") for name in ("sqlite 1000000", "postgres 1000000", "postgres 10000000")]
    assert order == sorted(order)
    assert "run-two" in text and "run-big" in text and text.count("run-one") == 1  # sqlite's first run stays

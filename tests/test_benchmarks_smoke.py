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
        timeout=120,
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

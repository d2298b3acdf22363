"""`make bench` cannot rot silently: the benchmark runs end to end in quick mode and writes its table."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_quick_benchmark_writes_a_table_with_throughput_for_all_three_measurements(tmp_path: Path) -> None:
    out = tmp_path / "benchmarks.md"
    result = subprocess.run([sys.executable, "-m", "benchmarks.run", "--quick", "--out", str(out)],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
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

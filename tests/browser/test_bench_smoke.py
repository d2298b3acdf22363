"""`make bench-phone` cannot rot silently: it runs end to end on a small outbox and writes only its own section."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from benchmarks.phone_app import END, START, section_of

ROOT = Path(__file__).resolve().parents[2]


def test_phone_benchmark_writes_its_section_and_keeps_the_rest(playwright, tmp_path: Path) -> None:
    out = tmp_path / "benchmarks.md"
    out.write_text(f"# Report ingestion benchmarks\n\nkept above\n\n{START}\nold phone numbers\n{END}\n\nkept below\n")
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.phone_app", "--reps", "1", "--reports", "5", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    text = out.read_text()
    assert text.startswith("# Report ingestion benchmarks\n\nkept above\n") and text.rstrip().endswith("kept below")
    section = section_of(out)
    assert "old phone numbers" not in section and text.count(START) == 1
    rows = [r for r in section.splitlines() if r.startswith("| ")]
    assert any("First visit" in r and " KB" in r for r in rows)
    assert any("Warm start (offline)" in r for r in rows)
    outbox = next(r for r in rows if "reports in the outbox sync" in r)
    assert outbox.rstrip().endswith("| yes |"), outbox  # 5 sent, none lost, none duplicated

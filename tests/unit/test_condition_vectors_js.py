"""The shared condition vectors hold in JavaScript too: runs `node --test tests/js/` from pytest."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_javascript_evaluator_passes_the_shared_vectors() -> None:
    node = shutil.which("node")
    # Not a skip: without node nothing proves the phone evaluates conditions like the server.
    assert node, "node is required to run tests/js (the phone-side condition evaluator)"
    run = subprocess.run([node, "--test", "tests/js/"], cwd=ROOT, capture_output=True, text=True,
                         timeout=120, check=False)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "# fail 0" in run.stdout

"""The shared condition vectors hold in JavaScript too: runs `node --test tests/js/` from pytest."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from backend.forms.conditions import compile_condition

ROOT = Path(__file__).resolve().parents[2]


def test_javascript_evaluator_passes_the_shared_vectors() -> None:
    node = shutil.which("node")
    # Not a skip: without node nothing proves the phone evaluates conditions like the server.
    assert node, "node is required to run tests/js (the phone-side condition evaluator)"
    run = subprocess.run(
        [node, "--test", "tests/js/"], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "# fail 0" in run.stdout


# The blank characters documented in backend/forms/conditions.py (U+0009–U+000D, U+001C–U+0020,
# U+0085, U+00A0, U+1680, U+2000–U+200A, U+2028, U+2029, U+202F, U+205F, U+3000, U+FEFF).
DOCUMENTED_BLANK = {
    *range(0x09, 0x0E),
    *range(0x1C, 0x21),
    0x85,
    0xA0,
    0x1680,
    *range(0x2000, 0x200B),
    0x2028,
    0x2029,
    0x202F,
    0x205F,
    0x3000,
    0xFEFF,
}
_JS_UNANSWERED = """
import { evaluate } from "./mobile_forms/web/shared/conditions.js";
const expr = { op: "answered", key: "t" };
const unanswered = [];
for (let c = 0; c <= 0x10ffff; c += 1) {
  if (c >= 0xd800 && c <= 0xdfff) continue;
  if (evaluate(expr, { t: String.fromCodePoint(c) }) !== true) unanswered.push(c);
}
process.stdout.write(JSON.stringify(unanswered));
"""


def test_every_character_is_blank_or_not_alike_in_python_and_javascript() -> None:
    """`answered` on each one-character answer, for every code point: the phone and the server
    agree character by character, and the characters that do not answer are exactly the documented ones."""
    node = shutil.which("node")
    assert node, "node is required to run the phone-side condition evaluator"
    run = subprocess.run(
        [node, "--input-type=module", "-e", _JS_UNANSWERED],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    in_javascript = set(json.loads(run.stdout))
    answered = compile_condition({"op": "answered", "key": "t"})
    in_python = {c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF and not answered({"t": chr(c)})}
    assert in_python == in_javascript == DOCUMENTED_BLANK
    assert {c for c in range(0x110000) if chr(c).isspace()} <= DOCUMENTED_BLANK  # Python's idea of space too

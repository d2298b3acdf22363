"""The phone derives a call's times from its taps exactly as the server does (random well-formed calls)."""

from __future__ import annotations

import datetime as dt
import json
import random
import shutil
import subprocess
from pathlib import Path

from backend.forms.timers import derive, timer_problems

ROOT = Path(__file__).resolve().parents[2]
_SCRIPT = """
import { derive } from "./mobile_forms/web/app/lib/timer.js";
const cases = JSON.parse(process.argv[1]);
process.stdout.write(JSON.stringify(cases.map((c) => derive(c.events, { giveUpS: c.give_up_s, clockStart: c.clock_start }))));
"""


def _random_call(rng: random.Random) -> list[dict[str, str]]:
    """A well-formed tap sequence built the way the phone's buttons allow."""
    t = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    events = [("dialled", t)]
    answered = menu = hold = False
    while True:
        t += dt.timedelta(seconds=rng.choice([0.4, 3, 17.5, 60, 140, 290]))
        if not answered:
            options = ["answered", "ended", "gave_up"] + ([] if menu else ["menu_left"])
        else:
            options = ["ended", "transferred", "hold_off" if hold else "hold_on"]
        name = rng.choice(options)
        if name == "gave_up":
            t = max(t, events[0][1] + dt.timedelta(seconds=400))
        events.append((name, t))
        answered |= name == "answered"
        menu |= name == "menu_left"
        hold = (hold or name == "hold_on") and name != "hold_off"
        if name in ("ended", "gave_up"):
            return [{"event": n, "at": m.isoformat()} for n, m in events]


def test_phone_and_server_derive_the_same_times() -> None:
    node = shutil.which("node")
    assert node, "node is required to run the phone's timer logic"
    rng = random.Random(15)
    cases = []
    for i in range(300):
        events = _random_call(rng)
        cases.append(
            {"events": events, "give_up_s": rng.choice([30, 120, 300]), "clock_start": "menu_left" if i % 2 else "ring"}
        )
    run = subprocess.run(
        [node, "--input-type=module", "-e", _SCRIPT, json.dumps(cases)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    for case, phone in zip(cases, json.loads(run.stdout), strict=True):
        assert timer_problems({"events": case["events"]}) == []
        server = derive({"events": case["events"]}, give_up_s=case["give_up_s"], clock_start=case["clock_start"])
        for name in (
            "answered",
            "censored",
            "time_to_answer_s",
            "time_to_answer_ring_s",
            "time_to_answer_menu_s",
            "menu_s",
            "hold_s",
            "transfers",
            "call_s",
            "talk_s",
        ):
            expected, got = getattr(server, name), phone[name]
            if isinstance(expected, float) and got is not None:
                assert abs(expected - got) < 1e-6, (name, case, expected, got)
            else:
                assert expected == got, (name, case, expected, got)

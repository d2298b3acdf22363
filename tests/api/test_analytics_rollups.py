"""Rollups kept as reports are approved, returned, edited and rejected equal a from-scratch recomputation.

Property (hypothesis, both engines): after any sequence of reviews of reports on two channels, (1) the stored
rollups equal the ones `fieldscore analytics-rebuild` recomputes from the raw reports, and (2) every comparison
the rollups answer (grouped or filtered by location, region, brand, relation, channel, item, section; the ISO
week) equals the same comparison computed from the fact rows (a date filter that keeps everything forces that
path), so what a manager sees through a rollup is what the reports say.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.analytics import facts, rollups
from backend.analytics.tables import ItemRollup, MeasureRollup, SurvivalRollup
from tests.api.analytics_fixture import Shopped, full_answers, publish_full_form
from tests.world import World, build_world

# A report: where, what was answered (fractional seconds and hours exercise the resolution), and its review.
REPORT = st.fixed_dictionaries(
    {
        "own": st.booleans(),
        "channel": st.sampled_from(["call", "email"]),
        "weeks_ago": st.sampled_from([0, 1, 3]),  # ISO weeks (measure_rollup's key)
        "answered": st.booleans(),
        "answer_s": st.sampled_from([0.4, 0.5, 7.49, 7.5, 12.0, 19.99, 20.5, 44.5]),
        "reply": st.sampled_from([1800.0, 3618.0, 3636.0, 7200.0, 90000.0]),
        "chat": st.sampled_from([3.5, 30.0, 61.25]),
        "greeted": st.booleans(),
        "fcr": st.booleans(),
        "nps": st.integers(0, 10),
        "review": st.sampled_from(["approve", "return, edit, approve", "reject", "pending"]),
    }
)

QUESTIONS: list[dict[str, Any]] = [
    {"measure": m, "group_by": g}
    for m in ("time_to_answer", "email_reply_time", "chat_reply_time", "resolution_time")
    for g in ("relation", "location", "brand", "region")
] + [
    {"measure": "item_pass_rate", "group_by": "item"},
    {"measure": "item_pass_rate", "group_by": ["relation", "item"]},
    {"measure": "item_pass_rate", "group_by": "section", "region": "Bohemia"},
    {"measure": "section_score", "group_by": "section"},
    {"measure": "section_score", "group_by": ["location", "section"]},
    {"measure": "item_pass_rate", "group_by": "location", "item_key": "greeted"},
    {"measure": "score", "group_by": "location"},
    {"measure": "score", "group_by": "relation", "basis": "calculated", "include_failed": "false"},
    {"measure": "score", "group_by": "brand", "include_failed": "false"},
    {"measure": "score", "group_by": "region", "basis": "calculated"},
    {"measure": "critical_fail_rate", "group_by": "relation"},
    {"measure": "unanswered_rate", "group_by": "location", "relation": "own"},
    {"measure": "nps", "group_by": "brand"},
    {"measure": "fcr", "group_by": "relation"},
    {"measure": "rings", "group_by": "region"},
    {"measure": "csat", "group_by": "location"},
    # The channel, a key of every rollup: as a grouping and as a filter.
    {"measure": "time_to_answer", "group_by": "brand", "channel": "call"},
    {"measure": "chat_reply_time", "group_by": ["relation", "channel"]},
    {"measure": "item_pass_rate", "group_by": ["channel", "item"]},
    {"measure": "section_score", "group_by": "section", "channel": "email"},
    {"measure": "score", "group_by": "channel"},
    {"measure": "score", "group_by": ["location", "channel"], "include_failed": "false"},
    {"measure": "nps", "group_by": "relation", "channel": "email"},
    {"measure": "unanswered_rate", "group_by": "channel", "region": "Bohemia"},
    # The ISO week, a key of measure_rollup (trends).
    {"measure": "score", "group_by": "week"},
    {"measure": "nps", "group_by": ["channel", "week"]},
    {"measure": "unanswered_rate", "group_by": "week", "relation": "own"},
    {"measure": "score", "group_by": ["brand", "week"], "basis": "calculated", "channel": "call"},
]


async def _rollup_rows() -> tuple[list[tuple[Any, ...]], ...]:
    survival = await SurvivalRollup.select(
        SurvivalRollup.organisation,
        SurvivalRollup.location,
        SurvivalRollup.channel,
        SurvivalRollup.measure,
        SurvivalRollup.t,
        SurvivalRollup.censored,
        SurvivalRollup.n,
    )
    items = await ItemRollup.select(
        ItemRollup.organisation,
        ItemRollup.location,
        ItemRollup.channel,
        ItemRollup.kind,
        ItemRollup.key,
        ItemRollup.section,
        ItemRollup.n,
        ItemRollup.judged,
        ItemRollup.passed,
        ItemRollup.score_sum,
        ItemRollup.score_sq,
        ItemRollup.critical,
    )
    return (
        sorted(
            (
                str(r["organisation"]),
                str(r["location"]),
                r["channel"],
                r["measure"],
                r["t"],
                bool(r["censored"]),
                r["n"],
            )
            for r in survival
        ),
        sorted(
            (
                str(r["organisation"]),
                str(r["location"]),
                r["channel"],
                r["kind"],
                r["key"],
                r["section"],
                r["n"],
                r["judged"],
                r["passed"],
                pytest.approx(r["score_sum"], abs=1e-6),
                pytest.approx(r["score_sq"], abs=1e-4),
                r["critical"],
            )
            for r in items
        ),
        sorted(
            (
                str(r["organisation"]),
                str(r["location"]),
                r["channel"],
                r["local_week"],
                r["measure"],
                r["n"],
                pytest.approx(r["s"], rel=1e-12, abs=1e-6),
                pytest.approx(r["ss"], rel=1e-12, abs=1e-4),
            )
            for r in await MeasureRollup.select(
                MeasureRollup.organisation,
                MeasureRollup.location,
                MeasureRollup.channel,
                MeasureRollup.local_week,
                MeasureRollup.measure,
                MeasureRollup.n,
                MeasureRollup.s,
                MeasureRollup.ss,
            )
        ),
    )


async def _review(w: World, shopped: dict[str, Shopped], spec: dict[str, Any]) -> None:
    s = shopped[spec["channel"]]
    answers = {k: spec[k] for k in ("answered", "answer_s", "reply", "chat", "greeted", "fcr", "nps")}
    location = w.own_location_id if spec["own"] else w.competitor_location_id
    started = dt.datetime.now(dt.UTC) - dt.timedelta(weeks=spec["weeks_ago"], minutes=20)
    report = await s.report(location, approve=spec["review"] == "approve", started_at=started, **answers)
    if spec["review"] == "return, edit, approve":
        await w.ok(
            "coordinator",
            "POST",
            f"/reports/{report['id']}/return",
            status=200,
            json={"comments": [{"question_key": "nps", "text": "Check the mark"}]},
        )
        edited = {**answers, "nps": 10 - spec["nps"], "answer_s": spec["answer_s"] + 1.5}
        body = {
            "id": report["id"],
            "task_id": report["task_id"],
            "started_at": report["started_at"],
            "ended_at": report["ended_at"],
            "answers": full_answers(**edited),
            "replaces_revision": 1,
        }
        await w.ok(report["shopper"], "POST", "/reports", json=body, status=(200, 201))
        await w.ok("coordinator", "POST", f"/reports/{report['id']}/approve", status=200)
    elif spec["review"] == "reject":
        await w.ok("coordinator", "POST", f"/reports/{report['id']}/reject", status=200, json={"reason": "Wrong shop"})


def _figures(result: dict[str, Any]) -> dict[tuple[Any, ...], dict[str, Any]]:
    return {tuple(k["value"] for k in g["keys"]): g["figure"] for g in result["groups"]}


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batch=st.lists(REPORT, min_size=1, max_size=3))
async def test_rollups_equal_a_recomputation_from_the_reports(client, batch: list[dict[str, Any]]) -> None:
    # One world per test run; every example adds its reports to it, so the rollups grow as they do in use.
    state = getattr(client, "_rollup_world", None)
    if state is None:
        w = await build_world(client)
        state = (
            w,
            {channel: Shopped(w, await publish_full_form(w, channel), channel) for channel in ("call", "email")},
        )
        client._rollup_world = state  # type: ignore[attr-defined]
    w, s = state
    for spec in batch:
        await _review(w, s, spec)

    kept = await _rollup_rows()
    from backend import db

    async with db.writing():
        await rollups.rebuild()
    assert await _rollup_rows() == kept
    await facts.rebuild()  # facts and rollups from the raw reports
    assert await _rollup_rows() == kept

    for question in QUESTIONS:
        params = {**question, "min_sample_size": 1}
        through_rollup = await w.ok(
            "coordinator", "GET", "/analytics/comparison", params={**params, "organisation_id": w.organisation_id}
        )
        from_facts = await w.ok(
            "coordinator",
            "GET",
            "/analytics/comparison",
            params={**params, "organisation_id": w.organisation_id, "date_from": "2000-01-01"},
        )
        a, b = _figures(through_rollup), _figures(from_facts)
        assert a.keys() == b.keys(), question
        for key in a:
            for field in ("n", "enough_data", "events", "not_reached", "pending"):
                assert a[key][field] == b[key][field], (question, key, field)
            for field in ("value", "ci_low", "ci_high", "q25", "q75"):
                expected = b[key][field]
                assert a[key][field] == (
                    expected if expected is None else pytest.approx(expected, rel=1e-9, abs=1e-9)
                ), (
                    question,
                    key,
                    field,
                )


async def test_a_location_whose_brand_is_not_in_the_program_drops_out_of_every_grouping(client) -> None:
    """A comparison counts only locations whose brand is in the organisation's program, whether it is grouped by a
    place (joined after adding up per location) or only by what a rollup row holds (week, channel, item: the
    program's locations as a semi-join), and through a rollup as from the facts."""
    w = await build_world(client)
    shopped = Shopped(w, await publish_full_form(w, "call"), "call")
    answers = {"answered": True, "answer_s": 12.0, "reply": 1800.0, "chat": 3.5, "greeted": True, "fcr": True}
    for location, nps in ((w.own_location_id, 9), (w.own_location_id, 3), (w.competitor_location_id, 10)):
        await shopped.report(location, nps=nps, **answers)
    # The competitor's shop is taken over by a brand the organisation does not follow (no API moves a location
    # out of a program, so the test does it in the table).
    outsider = await w.ok("admin", "POST", "/brands", json={"name": "Outside the program"})
    from backend.locations.tables import Location

    await Location.update({Location.brand: outsider["id"]}).where(Location.id == w.competitor_location_id)
    questions = [
        {"measure": "score", "group_by": "week"},
        {"measure": "score", "group_by": "channel"},
        {"measure": "nps", "group_by": "week"},
        {"measure": "item_pass_rate", "group_by": "item", "item_key": "greeted"},
        {"measure": "score", "group_by": "relation"},
        {"measure": "score", "group_by": "location"},
    ]
    for question in questions:
        params = {**question, "min_sample_size": 1, "organisation_id": w.organisation_id}
        through_rollup = _figures(await w.ok("coordinator", "GET", "/analytics/comparison", params=params))
        from_facts = _figures(
            await w.ok("coordinator", "GET", "/analytics/comparison", params={**params, "date_from": "2000-01-01"})
        )
        assert {k: f["n"] for k, f in through_rollup.items()} == {k: f["n"] for k, f in from_facts.items()}, question
        assert sum(f["n"] for f in through_rollup.values()) == 2, question  # the own shop's two reports only

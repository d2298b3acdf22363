"""The comparison API against figures computed here from the answers the shoppers sent (both engines)."""

from __future__ import annotations

import copy
import datetime as dt
import statistics
import warnings
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from statsmodels.duration.survfunc import SurvfuncRight
from statsmodels.stats.proportion import proportion_confint
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

from backend.analytics.facts import daypart
from tests.api.analytics_fixture import Shopped, publish_full_form
from tests.api.forms_fixture import SMALL_CALL_FORM
from tests.builders import make_task, publish_form, report_body
from tests.world import World, build_world

PRAGUE = ZoneInfo("Europe/Prague")
UTC = dt.timezone.utc

# (location: own/competitor, answers); one more own report stays pending.
PLAN: list[tuple[str, dict[str, Any]]] = [
    ("own", {}),
    ("own", {"answer_s": 25, "rings": 4, "hold": 30, "csat": 3, "nps": 7, "fcr": False, "wait": 200}),
    ("own", {"answered": False, "nps": 3, "right_person": False, "lang": True}),
    ("own", {"answer_s": 15, "greeted": False, "nps": 10, "transfers": 2, "reply": 90000, "chat": 100}),
    ("own", {"answer_s": 15, "menu": 20, "ooh": False, "resolution": 7200}),
    ("competitor", {"answer_s": 40, "nps": 6, "csat": 2, "serve": 300}),
    ("competitor", {"answered": False, "fcr": False, "nps": 9}),
    ("competitor", {"answer_s": 12, "rings": 1, "hold": 10, "nps": 8}),
]


async def shop(client: Any) -> tuple[World, Shopped]:
    w = await build_world(client)
    s = Shopped(w, await publish_full_form(w))
    start = dt.datetime.now(UTC).replace(microsecond=0) - dt.timedelta(hours=30)
    for k, (which, answers) in enumerate(PLAN):
        location = w.own_location_id if which == "own" else w.competitor_location_id
        # Spread over the hours, so hour and day groups differ.
        await s.report(location, started_at=start + dt.timedelta(hours=3 * k), **answers)
    await s.report(w.own_location_id, approve=False, answer_s=100, nps=0)
    return w, s


def approved(s: Shopped, which: str | None = None) -> list[dict[str, Any]]:
    own = s.w.own_location_id
    return [
        r
        for r in s.reports
        if r["status"] == "approved" and (which is None or (r["location_id"] == own) == (which == "own"))
    ]


def _share(values: list[bool]) -> tuple[float, float, float]:
    low, high = proportion_confint(sum(values), len(values), method="wilson")
    return sum(values) / len(values), low, high


def expected(measure: str, reports: list[dict[str, Any]]) -> tuple[float | None, float | None, float | None, int]:
    """(value, ci_low, ci_high, n) computed from the answers and stored scores, independently of the service."""
    specs = [r["spec"] for r in reports]
    mean_of = {
        "rings": "rings",
        "hold_time": "hold",
        "menu_time": "menu",
        "transfers": "transfers",
        "store_wait": "wait",
        "time_to_serve": "serve",
    }
    share_of = {"fcr": "fcr", "right_person": "right_person", "out_of_hours_response": "ooh", "language_cover": "lang"}
    if measure == "score" or measure in mean_of:
        values = [r["score"]["final"] for r in reports] if measure == "score" else [s[mean_of[measure]] for s in specs]
        d = DescrStatsW(np.array(values, dtype=float))
        low, high = d.tconfint_mean() if statistics.pstdev(values) > 0 else (d.mean, d.mean)
        if measure == "score":
            low, high = max(0.0, low), min(100.0, high)
        else:
            low = max(0.0, low)
        return d.mean, low, high, len(values)
    if measure in share_of:
        return (*_share([bool(s[share_of[measure]]) for s in specs]), len(specs))
    if measure == "csat":
        return (*_share([s["csat"] >= 4 for s in specs]), len(specs))
    if measure == "unanswered_rate":
        return (*_share([not s["answered"] for s in specs]), len(specs))
    if measure == "critical_fail_rate":
        return (*_share([not s["greeted"] for s in specs]), len(specs))
    if measure == "service_level":
        return (*_share([s["answered"] and s["answer_s"] <= 20 for s in specs]), len(specs))
    if measure == "nps":
        marks = [s["nps"] for s in specs]
        p = sum(m >= 9 for m in marks) / len(marks)
        d = sum(m <= 6 for m in marks) / len(marks)
        half = 1.959963984540054 * ((p + d - (p - d) ** 2) / len(marks)) ** 0.5
        return 100 * (p - d), 100 * max(-1, p - d - half), 100 * min(1, p - d + half), len(marks)
    times = {
        "time_to_answer": [(s["answer_s"], True) if s["answered"] else (300.0, False) for s in specs],
        # An unanswered call censors every waiting time at its deadline (the form's max).
        "email_reply_time": [(s["reply"] / 3600, True) if s["answered"] else (72.0, False) for s in specs],
        "chat_reply_time": [(s["chat"], True) if s["answered"] else (600.0, False) for s in specs],
        "resolution_time": [(s["resolution"] / 3600, True) for s in specs],
    }[measure]
    fit = SurvfuncRight(np.array([t for t, _ in times]), np.array([e for _, e in times], dtype=float))
    median = float(fit.quantile(0.5))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        low, high = fit.quantile_ci(0.5)
    if np.isnan(low) and not np.isnan(median):  # documented: no observed time inside the band
        low = high = median
    return (
        None if np.isnan(median) else median,
        None if np.isnan(low) else float(low),
        None if np.isinf(high) or np.isnan(high) else float(high),
        len(times),
    )


MEASURES = [
    "score",
    "critical_fail_rate",
    "unanswered_rate",
    "service_level",
    "time_to_answer",
    "email_reply_time",
    "chat_reply_time",
    "resolution_time",
    "rings",
    "hold_time",
    "menu_time",
    "transfers",
    "store_wait",
    "time_to_serve",
    "nps",
    "csat",
    "fcr",
    "right_person",
    "out_of_hours_response",
    "language_cover",
]


def by_key(result: dict[str, Any]) -> dict[tuple[str | None, ...], dict[str, Any]]:
    return {tuple(k["value"] for k in g["keys"]): g for g in result["groups"]}


async def test_every_measure_by_relation_matches_the_reports(client):
    w, s = await shop(client)
    for measure in MEASURES:
        result = await w.ok(
            "manager",
            "GET",
            "/analytics/comparison",
            params={"measure": measure, "group_by": "relation", "min_sample_size": 1},
        )
        assert result["measure"] == measure and result["include_pending"] is False and result["method"]
        groups = by_key(result)
        for which in ("own", "competitor"):
            figure = groups[(which,)]["figure"]
            value, low, high, n = expected(measure, approved(s, which))
            assert figure["n"] == n, (measure, which)
            assert figure["pending"] == 0
            got = (figure["value"], figure["ci_low"], figure["ci_high"])
            assert got == pytest.approx((value, low, high), abs=1e-9), (measure, which, got)
            if result["kind"] == "survival":
                assert figure["not_reached"] == (value is None or high is None)
                assert (
                    figure["events"] == sum(1 for r in approved(s, which) if r["spec"]["answered"])
                    or measure == "resolution_time"
                )


async def test_survival_curves_own_versus_competitors_match_the_reports(client):
    """curve=true: each group's Kaplan–Meier steps equal statsmodels' on the answers; unanswered calls censored."""
    w, s = await shop(client)
    plain = await w.ok(
        "manager",
        "GET",
        "/analytics/comparison",
        params={"measure": "time_to_answer", "group_by": "relation", "min_sample_size": 1},
    )
    assert all(g["figure"]["curve"] is None for g in plain["groups"])
    result = await w.ok(
        "manager",
        "GET",
        "/analytics/comparison",
        params={"measure": "time_to_answer", "group_by": "relation", "min_sample_size": 1, "curve": "true"},
    )
    for which, group in by_key(result).items():
        specs = [r["spec"] for r in approved(s, which[0])]
        times = [(sp["answer_s"], True) if sp["answered"] else (300.0, False) for sp in specs]
        fit = SurvfuncRight(np.array([t for t, _ in times], dtype=float), np.array([e for _, e in times], dtype=float))
        curve = group["figure"]["curve"]
        assert curve[0] == {"time": 0.0, "survival": 1.0, "ci_low": 1.0, "ci_high": 1.0, "at_risk": len(times)}
        steps = {p["time"]: p for p in curve[1:]}
        for time, survival, at_risk in zip(fit.surv_times, fit.surv_prob, fit.n_risk, strict=True):
            assert steps[time]["survival"] == pytest.approx(survival) and steps[time]["at_risk"] == at_risk
        assert curve[-1]["time"] == max(t for t, _ in times)  # the unanswered call's 300 s keeps the curve flat
    # Too few reports for a median: no curve either.
    strict = await w.ok(
        "manager",
        "GET",
        "/analytics/comparison",
        params={"measure": "time_to_answer", "group_by": "relation", "min_sample_size": 50, "curve": "true"},
    )
    assert all(g["figure"]["curve"] is None for g in strict["groups"])


async def test_groupings_put_each_report_in_its_group(client):
    w, s = await shop(client)
    reports = approved(s)
    local = {r["id"]: dt.datetime.fromisoformat(r["started_at"]).astimezone(PRAGUE) for r in reports}
    own = w.own_location_id
    key_of = {
        "location": lambda r: r["location_id"],
        "region": lambda r: "Bohemia" if r["location_id"] == own else "Moravia",
        "brand": lambda r: w.own_brand_id if r["location_id"] == own else w.competitor_brand_id,
        "relation": lambda r: "own" if r["location_id"] == own else "competitor",
        "channel": lambda r: "call",
        "campaign": lambda r: None,
        "wave": lambda r: None,
        "day": lambda r: local[r["id"]].date().isoformat(),
        "week": lambda r: "{:04d}-W{:02d}".format(*local[r["id"]].isocalendar()[:2]),
        "month": lambda r: local[r["id"]].strftime("%Y-%m"),
        "weekday": lambda r: str(local[r["id"]].isoweekday()),
        "hour": lambda r: str(local[r["id"]].hour),
        "daypart": lambda r: daypart(None, local[r["id"]].hour),
        "shopper": lambda r: w.users[r["shopper"]]["id"],
    }
    for dimension, key in key_of.items():
        result = await w.ok(
            "coordinator",
            "GET",
            "/analytics/comparison",
            params={
                "measure": "score",
                "group_by": dimension,
                "min_sample_size": 1,
                "organisation_id": w.organisation_id,
                "sort": "key",
                "limit": 500,
            },
        )
        want: dict[tuple[str | None], int] = {}
        for r in reports:
            want[(key(r),)] = want.get((key(r),), 0) + 1
        got = {k: g["figure"]["n"] for k, g in by_key(result).items()}
        assert got == want, dimension
        assert result["total"] == len(want)
        if dimension in ("location", "brand", "shopper"):
            assert all(g["keys"][0]["label"] for g in result["groups"]), dimension
    labels = {
        g["keys"][0]["value"]: g["keys"][0]["label"]
        for g in (
            await w.ok("manager", "GET", "/analytics/comparison", params={"measure": "score", "group_by": "brand"})
        )["groups"]
    }
    assert labels == {w.own_brand_id: "Acme", w.competitor_brand_id: "Rival"}

    # The hour × weekday grid: two dimensions at once, every report in one cell.
    grid = await w.ok(
        "manager",
        "GET",
        "/analytics/comparison",
        params={"measure": "unanswered_rate", "group_by": ["weekday", "hour"], "min_sample_size": 1, "sort": "key"},
    )
    cells = by_key(grid)
    assert sum(g["figure"]["n"] for g in cells.values()) == len(reports)
    for r in reports:
        assert (key_of["weekday"](r), key_of["hour"](r)) in cells
    assert [k for k in cells] == sorted(cells, key=lambda k: (int(k[0]), int(k[1])))


async def test_items_and_sections(client):
    w, s = await shop(client)
    reports = approved(s)
    items = by_key(
        await w.ok(
            "manager",
            "GET",
            "/analytics/comparison",
            params={"measure": "item_pass_rate", "group_by": "item", "min_sample_size": 1, "sort": "worst"},
        )
    )
    greeted = items[("greeted",)]["figure"]
    assert greeted["n"] == len(reports) and greeted["value"] == pytest.approx(
        sum(r["spec"]["greeted"] for r in reports) / len(reports)
    )
    fcr = items[("fcr",)]["figure"]
    assert fcr["value"] == pytest.approx(sum(r["spec"]["fcr"] for r in reports) / len(reports))
    assert ("ooh",) not in items  # an unscored question has no pass rate
    # Answer within 20 s earns the band's point; unanswered calls hide the question (not counted).
    answer = items[("answer_s",)]["figure"]
    answered = [r for r in reports if r["spec"]["answered"]]
    assert answer["n"] == len(answered)
    assert answer["value"] == pytest.approx(sum(r["spec"]["answer_s"] < 20 for r in answered) / len(answered))
    one_section = await w.ok(
        "manager",
        "GET",
        "/analytics/comparison",
        params={"measure": "item_pass_rate", "group_by": "item", "section_key": "reach", "min_sample_size": 1},
    )
    assert {g["keys"][0]["value"] for g in one_section["groups"]} <= {
        "answered",
        "answer_s",
        "rings",
        "hold",
        "menu",
        "transfers",
    }
    by_section = by_key(
        await w.ok(
            "manager",
            "GET",
            "/analytics/comparison",
            params={"measure": "item_pass_rate", "group_by": "section", "min_sample_size": 1},
        )
    )
    assert set(by_section) == {("reach",), ("conduct",)}  # "times" has no scored item

    sections = by_key(
        await w.ok(
            "manager",
            "GET",
            "/analytics/comparison",
            params={"measure": "section_score", "group_by": "section", "min_sample_size": 1},
        )
    )
    # The conduct section: greeted, right_person, fcr (yes/no, 1 point) and csat (rating 1–5 → 0–1), equal weights.
    conduct = [
        100 * (r["spec"]["greeted"] + r["spec"]["right_person"] + r["spec"]["fcr"] + (r["spec"]["csat"] - 1) / 4) / 4
        for r in reports
    ]
    assert sections[("conduct",)]["figure"]["value"] == pytest.approx(statistics.fmean(conduct))
    assert sections[("conduct",)]["figure"]["n"] == len(reports)
    # Scores weigh sections as the scoring does: reach (weight 1) and conduct (weight 2) make the overall score.
    for r in reports:
        spec = r["spec"]
        reach = (
            100
            * ((1 if spec["answered"] else 0) + (spec["answer_s"] < 20 if spec["answered"] else 0))
            / (2 if spec["answered"] else 1)
        )
        c = 100 * (spec["greeted"] + spec["right_person"] + spec["fcr"] + (spec["csat"] - 1) / 4) / 4
        assert r["score"]["calculated"] == pytest.approx((reach + 2 * c) / 3)


async def test_pending_reports_only_in_a_coordinators_preview_and_never_stored(client):
    w, s = await shop(client)
    params = {"measure": "nps", "group_by": "relation", "min_sample_size": 1, "organisation_id": w.organisation_id}
    before = by_key(await w.ok("coordinator", "GET", "/analytics/comparison", params=params))
    preview = by_key(
        await w.ok("coordinator", "GET", "/analytics/comparison", params={**params, "include_pending": "true"})
    )
    assert preview[("own",)]["figure"]["n"] == before[("own",)]["figure"]["n"] + 1
    assert preview[("own",)]["figure"]["pending"] == 1
    assert preview[("competitor",)]["figure"]["pending"] == 0
    after = by_key(await w.ok("coordinator", "GET", "/analytics/comparison", params=params))
    assert after == before
    refused = await w.call(
        "manager",
        "GET",
        "/analytics/comparison",
        params={"measure": "nps", "group_by": "relation", "include_pending": "true"},
    )
    assert refused.status_code == 403 and refused.json()["code"] == "analytics.pending_not_allowed"
    # Approving it counts it at once.
    pending = next(r for r in s.reports if r["status"] == "submitted")
    await w.ok("coordinator", "POST", f"/reports/{pending['id']}/approve", status=200)
    counted = by_key(await w.ok("coordinator", "GET", "/analytics/comparison", params=params))
    assert counted[("own",)]["figure"]["n"] == preview[("own",)]["figure"]["n"]
    assert counted[("own",)]["figure"]["value"] == pytest.approx(preview[("own",)]["figure"]["value"])


async def test_tenants_filters_and_suppression(client):
    w, s = await shop(client)
    other = await w.call(
        "other_manager",
        "GET",
        "/analytics/comparison",
        params={"measure": "score", "group_by": "location", "organisation_id": w.organisation_id},
    )
    assert other.status_code == 404
    theirs = await w.ok(
        "other_manager", "GET", "/analytics/comparison", params={"measure": "score", "group_by": "location"}
    )
    assert theirs["groups"] == [] and theirs["total"] == 0
    hidden = await w.call("manager", "GET", "/analytics/comparison", params={"measure": "score", "group_by": "shopper"})
    assert hidden.status_code == 403 and hidden.json()["code"] == "analytics.shopper_hidden"
    assert (
        await w.call("shopper", "GET", "/analytics/comparison", params={"measure": "score", "group_by": "location"})
    ).status_code == 403

    n_own = len(approved(s, "own"))
    for params, n in (
        ({"relation": "own"}, n_own),
        ({"region": "Moravia"}, len(approved(s, "competitor"))),
        ({"brand_id": w.own_brand_id}, n_own),
        ({"channel": "visit"}, 0),
        ({"date_from": "2000-01-01", "date_to": "2000-01-31"}, 0),
    ):
        result = await w.ok(
            "manager",
            "GET",
            "/analytics/comparison",
            params={"measure": "score", "group_by": "channel", "min_sample_size": 1, **params},
        )
        assert sum(g["figure"]["n"] for g in result["groups"]) == n, params

    # Below the minimum n: the n, never a number.
    strict = await w.ok(
        "manager",
        "GET",
        "/analytics/comparison",
        params={"measure": "score", "group_by": "relation", "min_sample_size": 6},
    )
    for g in strict["groups"]:
        assert g["figure"]["enough_data"] is False and g["figure"]["value"] is None and g["tier"] is None
        assert g["figure"]["n"] in (n_own, len(approved(s, "competitor")))

    for params, field in (
        ({"measure": "score", "group_by": ["day", "hour", "weekday"]}, "group_by"),
        ({"measure": "score", "group_by": ["day", "day"]}, "group_by"),
        ({"measure": "score", "group_by": "item"}, "group_by"),
        ({"measure": "section_score", "group_by": "location"}, "section_key"),
        ({"measure": "score", "group_by": "location", "item_key": "greeted"}, "item_key"),
        ({"measure": "score", "group_by": "location", "date_from": "2026-02-02", "date_to": "2026-02-01"}, "date_to"),
        ({"measure": "score", "group_by": "relation", "curve": "true"}, "curve"),
    ):
        response = await w.call("manager", "GET", "/analytics/comparison", params=params)
        assert response.status_code in (400, 422), (params, response.text)
        assert field in response.text, (params, response.text)


async def test_own_versus_each_competitor(client):
    w, s = await shop(client)
    result = await w.ok(
        "manager", "GET", "/analytics/own-vs-competitors", params={"measure": "score", "min_sample_size": 2}
    )
    own = [r["score"]["final"] for r in approved(s, "own")]
    rival = [r["score"]["final"] for r in approved(s, "competitor")]
    (comp,) = result["competitors"]
    assert comp["brand_id"] == w.competitor_brand_id and comp["brand_name"] == "Rival"
    assert result["own"]["n"] == len(own) and comp["competitor"]["n"] == len(rival)
    reference = CompareMeans.from_data(np.array(own, dtype=float), np.array(rival, dtype=float))
    low, high = reference.tconfint_diff(usevar="unequal")
    assert comp["difference"] == pytest.approx(statistics.fmean(own) - statistics.fmean(rival))
    assert (comp["ci_low"], comp["ci_high"]) == pytest.approx((low, high))
    assert comp["significant"] == (not low <= 0 <= high)

    shares = await w.ok(
        "manager", "GET", "/analytics/own-vs-competitors", params={"measure": "unanswered_rate", "min_sample_size": 1}
    )
    (comp,) = shares["competitors"]
    own_rate = sum(not r["spec"]["answered"] for r in approved(s, "own")) / len(approved(s, "own"))
    rival_rate = sum(not r["spec"]["answered"] for r in approved(s, "competitor")) / len(approved(s, "competitor"))
    assert comp["difference"] == pytest.approx(own_rate - rival_rate)
    assert comp["ci_low"] <= comp["difference"] <= comp["ci_high"]
    assert "Newcombe" in shares["method"]


async def test_items_and_sections_carry_their_labels_from_the_form(client):
    """What fails most names the questions as the form does, not by their keys; a key without a label has none."""
    w = await build_world(client)
    version_id = await publish_form(w)
    for location in (w.own_location_id, w.competitor_location_id):
        task = await make_task(w, version_id, location)
        report = await w.ok("shopper", "POST", "/reports", status=201, json=report_body(task, greeted=False))
        await w.ok("coordinator", "POST", f"/reports/{report['id']}/approve", status=200, json={})
    items = await w.ok(
        "manager",
        "GET",
        "/analytics/comparison",
        params={"measure": "item_pass_rate", "group_by": "item", "sort": "worst", "min_sample_size": 1},
    )
    labels = {g["keys"][0]["value"]: g["keys"][0]["label"] for g in items["groups"]}
    assert labels["greeted"] == "Greeted politely?" and labels["answer_s"] == "Seconds to answer"
    assert items["groups"][0]["keys"][0]["value"] == "greeted"  # failed by both: worst
    sections = await w.ok(
        "manager",
        "GET",
        "/analytics/comparison",
        params={"measure": "section_score", "group_by": "section", "min_sample_size": 1},
    )
    assert {g["keys"][0]["value"]: g["keys"][0]["label"] for g in sections["groups"]} == {
        "reach": "Reaching someone",
        "conduct": "Conduct",
    }


async def test_an_items_label_comes_from_the_latest_published_version_that_has_it(client):
    """Reports made with two forms: a question both ask is named as the later-published one names it, and a
    question only the earlier one asks keeps that one's label."""
    w = await build_world(client)
    first_id = await publish_form(w)
    renamed = copy.deepcopy(SMALL_CALL_FORM)
    for section in renamed["sections"]:
        for item in section["items"]:
            if item["key"] == "greeted":
                item["label"] = {"en": "Greeted by name?"}
    form = await w.ok(
        "coordinator", "POST", "/forms", json={"name": "Renamed call", "channel": "call", "definition": renamed}
    )
    second_id = (await w.ok("coordinator", "POST", f"/forms/{form['id']}/publish", status=200))["id"]
    for version_id, location_id in ((first_id, w.own_location_id), (second_id, w.competitor_location_id)):
        task = await make_task(w, version_id, location_id)
        report = await w.ok("shopper", "POST", "/reports", status=201, json=report_body(task, greeted=False))
        await w.ok("coordinator", "POST", f"/reports/{report['id']}/approve", status=200, json={})
    items = await w.ok(
        "manager",
        "GET",
        "/analytics/comparison",
        params={"measure": "item_pass_rate", "group_by": "item", "min_sample_size": 1},
    )
    labels = {g["keys"][0]["value"]: g["keys"][0]["label"] for g in items["groups"]}
    assert labels["greeted"] == "Greeted by name?" and labels["answer_s"] == "Seconds to answer"
    assert next(g for g in items["groups"] if g["keys"][0]["value"] == "greeted")["figure"]["n"] == 2

"""Shopper effects through the API: adjusted scores per group, each shopper's effect (staff only), agreement."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.api.analytics_fixture import Shopped, a_wave, publish_full_form
from tests.world import build_world

UTC = dt.timezone.utc


async def test_shopper_effects_and_agreement(client):
    w = await build_world(client)
    s = Shopped(w, await publish_full_form(w))
    # Every report by its own shopper; two pairs shopped the same location in the same wave and slot.
    wave = await a_wave(w)
    start = dt.datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=2)
    for location, answers in (
        (w.own_location_id, {}),
        (w.own_location_id, {"fcr": False}),
        (w.own_location_id, {"greeted": False}),
        (w.competitor_location_id, {}),
        (w.competitor_location_id, {"right_person": False}),
        (w.competitor_location_id, {"csat": 1}),
    ):
        await s.report(location, started_at=start, wave=wave, **answers)
    staff = await w.ok(
        "coordinator",
        "GET",
        "/analytics/shopper-effects",
        params={"organisation_id": w.organisation_id, "group_by": "location", "min_sample_size": 2},
    )
    assert staff["method"].startswith("Linear mixed model")
    groups = {g["key"]["value"]: g for g in staff["groups"]}
    assert set(groups) == {w.own_location_id, w.competitor_location_id}
    own_scores = [r["score"]["final"] for r in s.reports if r["location_id"] == w.own_location_id]
    assert groups[w.own_location_id]["raw"]["n"] == 3
    assert groups[w.own_location_id]["raw"]["value"] == pytest.approx(sum(own_scores) / 3)
    assert staff["fitted"]
    assert len(staff["shoppers"]) == 6
    assert all(e["ci_low"] <= e["effect"] <= e["ci_high"] for e in staff["shoppers"])
    assert groups[w.own_location_id]["adjusted"]["value"] is not None
    # Same location, wave, daypart and day type, different shoppers: 3 pairs at each location.
    assert staff["agreement"]["pairs"] == 6
    manager = await w.ok("manager", "GET", "/analytics/shopper-effects", params={"group_by": "location"})
    assert manager["shoppers"] == []  # managers never learn who shopped
    assert [g["raw"] for g in manager["groups"]] == [g["raw"] for g in staff["groups"]]
    by_wave = await w.ok("manager", "GET", "/analytics/comparison", params={"measure": "score", "group_by": "wave"})
    assert [(g["keys"][0]["value"], g["keys"][0]["label"], g["figure"]["n"]) for g in by_wave["groups"]] == [
        (wave[1], "Wave 1", 6)
    ]
    assert (
        await w.ok(
            "manager",
            "GET",
            "/analytics/comparison",
            params={"measure": "score", "group_by": "wave", "wave_from": wave[1], "wave_to": wave[1]},
        )
    )["total"] == 1
    bad = await w.call("manager", "GET", "/analytics/shopper-effects", params={"group_by": "item"})
    assert bad.status_code in (400, 422)
    item = await w.call("manager", "GET", "/analytics/shopper-effects", params={"item_key": "greeted"})
    assert item.status_code == 422 and "item_key" in item.text
    assert (
        await w.call("shopper", "GET", "/analytics/shopper-effects", params={"group_by": "location"})
    ).status_code == 403

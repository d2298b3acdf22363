"""Targets: managers set them for their organisation; comparisons show the gap and whether the interval clears it."""

from __future__ import annotations

import pytest

from api_schemas.analytics import Figure, TargetDirection
from backend.analytics.targets import status
from tests.api.analytics_fixture import Shopped, publish_full_form
from tests.world import build_world, other_organisation_location


def test_status_reads_the_whole_interval() -> None:
    figure = Figure(n=30, enough_data=True, value=0.8, ci_low=0.7, ci_high=0.9)
    assert status(figure, 0.6, TargetDirection.at_least) == (pytest.approx(0.2), "meets")
    assert status(figure, 0.75, TargetDirection.at_least) == (pytest.approx(0.05), "uncertain")
    assert status(figure, 0.95, TargetDirection.at_least) == (pytest.approx(-0.15), "misses")
    assert status(figure, 0.95, TargetDirection.at_most)[1] == "meets"
    assert status(figure, 0.6, TargetDirection.at_most)[1] == "misses"
    open_above = Figure(n=30, enough_data=True, value=20.0, ci_low=15.0, ci_high=None, not_reached=True)
    assert status(open_above, 30, TargetDirection.at_most)[1] == "uncertain"
    assert status(open_above, 10, TargetDirection.at_most)[1] == "misses"
    assert status(
        Figure(n=2, enough_data=False, value=None, ci_low=None, ci_high=None), 1, TargetDirection.at_least
    ) == (None, None)


async def test_targets_crud_scoping_and_gaps(client):
    w = await build_world(client)
    s = Shopped(w, await publish_full_form(w))
    for answer_s in (5, 8, 12, 15, 30):
        await s.report(w.own_location_id, answer_s=answer_s)
    for answer_s in (40, 50):
        await s.report(w.competitor_location_id, answer_s=answer_s)

    org = await w.ok(
        "manager",
        "POST",
        "/analytics/targets",
        status=201,
        json={"measure": "score", "target": 50, "direction": "at_least"},
    )
    assert org["organisation_id"] == w.organisation_id and org["scope"] == "organisation"
    own = await w.ok(
        "manager",
        "POST",
        "/analytics/targets",
        status=201,
        json={"measure": "score", "scope": "location", "scope_value": w.own_location_id, "target": 99.5},
    )
    level = await w.ok(
        "manager",
        "POST",
        "/analytics/targets",
        status=201,
        json={
            "measure": "service_level",
            "scope": "brand",
            "scope_value": w.own_brand_id,
            "target": 0.5,
            "threshold_s": 20,
        },
    )
    duplicate = await w.call("manager", "POST", "/analytics/targets", json={"measure": "score", "target": 60})
    assert duplicate.status_code == 409 and duplicate.json()["code"] == "target.exists"
    for body, field in (
        ({"measure": "unanswered_rate", "target": 5}, "target"),  # shares are 0–1
        ({"measure": "service_level", "target": 0.8}, "threshold_s"),
        ({"measure": "score", "target": 1, "threshold_s": 20}, "threshold_s"),
        ({"measure": "score", "target": 1, "scope": "brand"}, "scope_value"),
        ({"measure": "score", "target": 1, "scope": "channel", "scope_value": "fax"}, "scope_value"),
        ({"measure": "score", "target": 1, "scope": "location", "scope_value": "not-an-id"}, "scope_value"),
    ):
        response = await w.call("manager", "POST", "/analytics/targets", json=body)
        assert response.status_code == 422 and field in response.text, (body, response.text)
    # Another organisation's location is no scope of ours; its manager never sees our targets.
    theirs = await other_organisation_location(w, "Elsewhere")
    response = await w.call(
        "manager",
        "POST",
        "/analytics/targets",
        json={"measure": "score", "target": 1, "scope": "location", "scope_value": theirs["id"]},
    )
    assert response.status_code == 422
    assert (await w.ok("other_manager", "GET", "/analytics/targets"))["total"] == 0
    assert (await w.call("other_manager", "GET", f"/analytics/targets/{org['id']}")).status_code == 404
    assert (await w.call("other_manager", "DELETE", f"/analytics/targets/{org['id']}")).status_code == 404
    assert (
        await w.call(
            "coordinator",
            "POST",
            "/analytics/targets",
            json={"organisation_id": w.organisation_id, "measure": "score", "target": 1},
        )
    ).status_code == 403
    listed = await w.ok("coordinator", "GET", "/analytics/targets", params={"organisation_id": w.organisation_id})
    assert listed["total"] == 3

    scores = await w.ok(
        "manager",
        "GET",
        "/analytics/comparison",
        params={"measure": "score", "group_by": "location", "min_sample_size": 2},
    )
    by_location = {g["keys"][0]["value"]: g for g in scores["groups"]}
    mine, rival = by_location[w.own_location_id], by_location[w.competitor_location_id]
    assert mine["target"]["target_id"] == own["id"] and rival["target"]["target_id"] == org["id"]
    assert mine["target"]["gap"] == pytest.approx(mine["figure"]["value"] - 99.5)
    low, high = mine["figure"]["ci_low"], mine["figure"]["ci_high"]
    assert mine["target"]["status"] == ("meets" if low >= 99.5 else "misses" if high < 99.5 else "uncertain")

    levels = await w.ok(
        "manager",
        "GET",
        "/analytics/comparison",
        params={"measure": "service_level", "group_by": "brand", "min_sample_size": 2, "threshold_s": 20},
    )
    by_brand = {g["keys"][0]["value"]: g for g in levels["groups"]}
    assert by_brand[w.own_brand_id]["target"]["target_id"] == level["id"]
    assert by_brand[w.own_brand_id]["figure"]["value"] == pytest.approx(4 / 5)
    assert by_brand[w.competitor_brand_id]["target"] is None
    other_threshold = await w.ok(
        "manager",
        "GET",
        "/analytics/comparison",
        params={"measure": "service_level", "group_by": "brand", "min_sample_size": 2, "threshold_s": 30},
    )
    assert all(g["target"] is None for g in other_threshold["groups"])

    changed = await w.ok("manager", "PATCH", f"/analytics/targets/{own['id']}", json={"target": 10})
    assert changed["target"] == 10
    assert (
        await w.call("manager", "PATCH", f"/analytics/targets/{own['id']}", json={"target": 101})
    ).status_code == 422
    await w.ok("manager", "DELETE", f"/analytics/targets/{own['id']}", status=204)
    again = await w.ok(
        "manager",
        "GET",
        "/analytics/comparison",
        params={"measure": "score", "group_by": "location", "min_sample_size": 2},
    )
    assert all(g["target"]["target_id"] == org["id"] for g in again["groups"])

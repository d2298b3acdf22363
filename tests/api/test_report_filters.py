"""GET /reports filtered as the dashboard's figures are (campaign, wave range, local days, channel): each filter
narrows the list to the reports GET /analytics/comparison counts under the same filters (both engines)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from backend.campaigns.tables import Campaign, Wave
from tests.api.analytics_fixture import Shopped, publish_full_form
from tests.builders import assert_problem
from tests.world import World, build_world, new_id

UTC = dt.timezone.utc


async def _campaign_with_waves(w: World, name: str, starts: list[int]) -> tuple[str, list[str]]:
    """A campaign of the world's organisation with a wave starting `starts[i]` days before today, written directly
    (the reports' tasks are made by hand)."""
    now = dt.datetime.now(UTC)
    campaign = uuid.uuid4()
    await Campaign.insert(
        Campaign(
            id=campaign,
            organisation=w.organisation_id,
            name=name,
            forms={},
            slot_designs={},
            call_rules={},
            created_at=now,
        )
    )
    waves = [uuid.uuid4() for _ in starts]
    await Wave.insert(
        *(
            Wave(
                id=wave,
                campaign=campaign,
                name=f"{name} wave {i + 1}",
                starts_on=now.date() - dt.timedelta(days=days),
                ends_on=now.date() + dt.timedelta(days=7),
                created_at=now,
            )
            for i, (wave, days) in enumerate(zip(waves, starts, strict=True))
        )
    )
    return str(campaign), [str(w) for w in waves]


async def _world(client: Any) -> tuple[World, dict[str, Any]]:
    """Reports on two days D-1 and D (D five days ago), at a Prague and a New York location: at 03:00 UTC on D it is
    already D in Prague but still D-1 in New York."""
    w = await build_world(client)
    new_york = await w.ok(
        "coordinator",
        "POST",
        "/locations",
        json={"brand_id": w.own_brand_id, "name": "Acme NY", "region": "US East", "timezone": "America/New_York"},
    )
    spring, (w1, w2, w3) = await _campaign_with_waves(w, "Spring", [30, 20, 10])
    autumn, (w4,) = await _campaign_with_waves(w, "Autumn", [20])
    day = dt.datetime.now(UTC).date() - dt.timedelta(days=5)
    early = dt.datetime.combine(day, dt.time(3), tzinfo=UTC)
    noon = dt.datetime.combine(day, dt.time(12), tzinfo=UTC)
    call = Shopped(w, await publish_full_form(w, "call"), "call")
    email = Shopped(w, await publish_full_form(w, "email"), "email")
    prague = w.own_location_id
    made = {
        "r1": await call.report(prague, started_at=early, wave=(spring, w1)),
        "r2": await call.report(prague, started_at=noon - dt.timedelta(days=1), wave=(spring, w2)),
        "r3": await email.report(prague, started_at=noon, wave=(spring, w3)),
        "r4": await call.report(new_york["id"], started_at=early, wave=(autumn, w4)),
        "r5": await call.report(prague, started_at=noon),
        "pending": await call.report(prague, started_at=noon, wave=(spring, w1), approve=False),
    }
    ids = {str(r["id"]): name for name, r in made.items()}
    return w, {
        "ids": ids,
        "reports": made,
        "shoppers": {name: r["shopper"] for name, r in made.items()},
        "spring": spring,
        "autumn": autumn,
        "waves": (w1, w2, w3, w4),
        "day": day,
        "new_york": new_york["id"],
    }


async def _listed(w: World, who: str, ids: dict[str, str], **params: Any) -> set[str]:
    page = await w.ok(who, "GET", "/reports", params={"limit": 100, **params})
    assert page["total"] == len(page["items"])
    return {ids[r["id"]] for r in page["items"]}


async def test_each_filter_narrows_the_list_to_what_the_dashboard_counts(client):
    w, s = await _world(client)
    ids, day = s["ids"], s["day"]
    w1, w2, w3, w4 = s["waves"]
    before = (day - dt.timedelta(days=1)).isoformat()
    cases: list[tuple[dict[str, Any], set[str]]] = [
        ({}, {"r1", "r2", "r3", "r4", "r5"}),
        ({"campaign_id": s["spring"]}, {"r1", "r2", "r3"}),
        ({"campaign_id": s["autumn"]}, {"r4"}),
        # A wave range is by start date over the organisation's waves (Autumn's wave starts with Spring's second).
        ({"wave_from": w2}, {"r2", "r3", "r4"}),
        ({"wave_to": w2}, {"r1", "r2", "r4"}),
        ({"wave_from": w2, "wave_to": w2}, {"r2", "r4"}),
        ({"wave_from": w2, "wave_to": w2, "campaign_id": s["spring"]}, {"r2"}),
        ({"wave_from": w3, "wave_to": w1}, set()),
        # Local days: 03:00 UTC on D is D in Prague, D-1 in New York.
        ({"date_from": day.isoformat(), "date_to": day.isoformat()}, {"r1", "r3", "r5"}),
        ({"date_to": before}, {"r2", "r4"}),
        ({"date_from": day.isoformat()}, {"r1", "r3", "r5"}),
        ({"date_from": before, "date_to": before, "location_id": s["new_york"]}, {"r4"}),
        ({"channel": "email"}, {"r3"}),
        ({"channel": "call", "campaign_id": s["spring"], "date_from": day.isoformat()}, {"r1"}),
    ]
    failures = []
    for params, expected in cases:
        listed = await _listed(w, "manager", ids, **params)
        if listed != expected:
            failures.append(f"{params}: listed {sorted(listed)}, expected {sorted(expected)}")
        # The dashboard's figure under the same filters counts exactly these reports.
        # (The comparison takes no location_id: that location's group.)
        place = params.get("location_id")
        comparison = await w.ok(
            "manager",
            "GET",
            "/analytics/comparison",
            params={"measure": "score", "group_by": "location"}
            | {k: v for k, v in params.items() if k != "location_id"},
        )
        counted = sum(g["figure"]["n"] for g in comparison["groups"] if place in (None, g["keys"][0]["value"]))
        if counted != len(expected):
            failures.append(f"{params}: the comparison counts {counted}, the list has {len(expected)}")
    assert not failures, "\n".join(failures)
    # Staff see the report still waiting for review too; a shopper their own, by the campaign of their task.
    assert await _listed(w, "coordinator", ids, campaign_id=s["spring"], wave_to=w1) == {"r1", "pending"}
    assert await _listed(w, "coordinator", ids, status="submitted", channel="call") == {"pending"}
    shopper = s["shoppers"]["r1"]
    assert await _listed(w, shopper, ids, campaign_id=s["spring"]) == {"r1"}
    assert await _listed(w, shopper, ids, wave_from=w1, wave_to=w1) == {"r1"}


async def test_a_wave_or_campaign_the_caller_cannot_see_is_not_found(client):
    w, s = await _world(client)
    w1, _, _, w4 = s["waves"]
    # A wave of another campaign than the one named: not in the range's waves, like the dashboard says.
    outside = await w.call("manager", "GET", "/reports", params={"campaign_id": s["spring"], "wave_from": w4})
    assert_problem(outside, 404, "wave.not_found", "query.wave_from")
    # Another organisation's campaign and wave are a made-up id's 404 for its manager.
    for name, value in (("campaign_id", s["spring"]), ("wave_from", w1), ("wave_to", w1)):
        hidden = await w.call("other_manager", "GET", "/reports", params={name: value})
        missing = await w.call("other_manager", "GET", "/reports", params={name: new_id()})
        code = "campaign.not_found" if name == "campaign_id" else "wave.not_found"
        assert_problem(hidden, 404, code, f"query.{name}")
        assert hidden.json() == missing.json()
    # A shopper knows a campaign only through their own tasks.
    stranger = s["shoppers"]["r4"]
    hidden = await w.call(stranger, "GET", "/reports", params={"campaign_id": s["spring"]})
    assert_problem(hidden, 404, "campaign.not_found", "query.campaign_id")
    assert (await w.ok(stranger, "GET", "/reports", params={"campaign_id": s["autumn"]}))["total"] == 1


async def test_bad_filter_values_are_problems_naming_the_field(client):
    w = await build_world(client)
    for params, status, code, field in (
        ({"date_from": "2026-13-01"}, 400, "request.invalid", "query.date_from"),
        ({"date_to": "yesterday"}, 400, "request.invalid", "query.date_to"),
        ({"channel": "fax"}, 400, "request.invalid", "query.channel"),
        ({"wave_from": "wave-1"}, 400, "request.invalid", "query.wave_from"),
        ({"campaign_id": "1"}, 400, "request.invalid", "query.campaign_id"),
        ({"date_from": "2026-03-02", "date_to": "2026-03-01"}, 422, "validation.failed", "query.date_to"),
    ):
        assert_problem(await w.call("manager", "GET", "/reports", params=params), status, code, field)
    # The accepted channels are listed.
    channel = await w.call("manager", "GET", "/reports", params={"channel": "fax"})
    assert "accepted: visit, call, email" in channel.json()["errors"][0]["reason"]
    # Days at the ends of the calendar are answered, not a crash.
    for params in ({"date_from": "0001-01-01"}, {"date_to": "9999-12-31"}, {"date_from": "9999-12-31"}):
        assert (await w.ok("coordinator", "GET", "/reports", params=params))["total"] == 0

"""The foundation path: form → task → shopper report → validation and scoring → approval → manager's scores."""

from __future__ import annotations

import copy
import datetime as dt

import pytest

from tests.api.forms_fixture import SMALL_CALL_FORM, answers
from tests.builders import make_task, publish_form, report_body
from tests.world import add_shoppers, build_world, new_id

UTC = dt.timezone.utc


async def test_foundation_path(client):
    w = await build_world(client)
    version_id = await publish_form(w)

    shoppers = await add_shoppers(w, 6)
    scores = []
    for shopper, (location, kw) in zip(
        shoppers,
        [
            (w.own_location_id, {}),  # 100
            (w.own_location_id, {"answer_s": 30, "friendliness": 3}),
            (w.own_location_id, {"greeted": False}),
            (w.competitor_location_id, {"answer_s": 90, "no_interrupt": False, "friendliness": 1}),
            (w.competitor_location_id, {"thanked": {"na": True}}),
            (w.competitor_location_id, {"answer_s": 45}),
        ],
    ):
        task = await make_task(w, version_id, location, shopper=shopper)
        assert task["status"] == "assigned"
        assert task["window_start_local"].endswith(("+01:00", "+02:00"))  # Europe/Prague
        mine = await w.ok(shopper, "GET", "/tasks")
        assert task["id"] in [t["id"] for t in mine["items"]]
        form = await w.ok(shopper, "GET", f"/tasks/{task['id']}/form")
        assert form["id"] == version_id
        report = await w.ok(shopper, "POST", "/reports", json=report_body(task, **kw), status=201)
        assert report["status"] == "submitted"
        assert report["score"] is None  # shoppers see no scores
        scores.append((location, (await w.ok("coordinator", "GET", f"/reports/{report['id']}"))["score"]["final"]))
        await w.ok("coordinator", "POST", f"/reports/{report['id']}/approve", status=200)

    # Exact scores: sections reach (w1) and conduct (w2); conduct items: 3 yes/no + rating (1 point each).
    assert scores[0][1] == pytest.approx(100.0)
    # answer 30 s → 1/2 band; friendliness 3 → 0.5; conduct = (1+1+1+0.5)/4 = 0.875 → (0.5·1 + 0.875·2)/3
    assert scores[1][1] == pytest.approx((0.5 + 0.875 * 2) / 3 * 100)
    # thanked N/A is excluded: conduct = 3/3
    assert scores[4][1] == pytest.approx(100.0)

    result = await w.ok("manager", "GET", "/analytics/location-scores", params={"min_sample_size": 2})
    by_location = {row["location_id"]: row for row in result["locations"]}
    own, rival = by_location[w.own_location_id], by_location[w.competitor_location_id]
    assert own["relation"] == "own" and rival["relation"] == "competitor"
    assert own["score"]["n"] == 3 and rival["score"]["n"] == 3
    own_scores = [s for loc, s in scores if loc == w.own_location_id]
    assert own["score"]["mean"] == pytest.approx(sum(own_scores) / 3)
    assert own["score"]["ci_low"] <= own["score"]["mean"] <= own["score"]["ci_high"]
    assert [b["relation"] for b in result["brands"]] == ["own", "competitor"]
    assert result["locations"][0]["relation"] == "own"  # own first, competitors after

    # Not enough data is shown as such, never as a number.
    strict = await w.ok("manager", "GET", "/analytics/location-scores", params={"min_sample_size": 4})
    assert all(row["score"]["mean"] is None and not row["score"]["enough_data"] for row in strict["locations"])

    # The explanation sums to the score.
    reports = await w.ok("manager", "GET", "/reports")
    assert reports["total"] == 6
    explanation = await w.ok("manager", "GET", f"/reports/{reports['items'][0]['id']}/score")
    total = sum(item["contribution"] for item in explanation["result"]["items"])
    assert total == pytest.approx(explanation["result"]["calculated"])


async def test_resubmission_is_idempotent_and_conflicts_are_refused(client):
    w = await build_world(client)
    version_id = await publish_form(w)
    task = await make_task(w, version_id, w.own_location_id)
    body = report_body(task)
    first = await w.call("shopper", "POST", "/reports", json=body)
    again = await w.call("shopper", "POST", "/reports", json=body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()
    changed = {**body, "answers": answers(greeted=False)}
    conflict = await w.call("shopper", "POST", "/reports", json=changed)
    assert conflict.status_code == 409 and conflict.json()["code"] == "report.conflict"
    listed = await w.ok("coordinator", "GET", "/reports", params={"task_id": task["id"]})
    assert listed["total"] == 1
    assert listed["items"][0]["answers"]["greeted"] is True


async def test_invalid_report_lists_every_problem_and_writes_nothing(client):
    w = await build_world(client)
    version_id = await publish_form(w)
    task = await make_task(w, version_id, w.own_location_id)
    body = report_body(task)
    body["answers"] = {"answer_s": "fast", "greeted": True, "friendliness": 9, "unknown_q": 1}
    body["ended_at"] = body["started_at"]
    response = await w.call("shopper", "POST", "/reports", json=body)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    fields = {e["field"] for e in response.json()["errors"]}
    assert {
        "ended_at",
        "answers.answer_s",
        "answers.no_interrupt",
        "answers.friendliness",
        "answers.unknown_q",
    } <= fields
    assert (await w.ok("coordinator", "GET", "/reports"))["total"] == 0
    assert (await w.ok("coordinator", "GET", f"/tasks/{task['id']}"))["status"] == "assigned"


async def test_required_text_left_blank_is_refused_naming_it_and_nothing_is_written(client):
    w = await build_world(client)
    definition = copy.deepcopy(SMALL_CALL_FORM)
    definition["sections"][1]["items"].append(
        {"type": "text", "key": "what_happened", "label": {"en": "What happened?"}, "required": True}
    )
    form = await w.ok(
        "coordinator",
        "POST",
        "/forms",
        json={"name": "Call with a comment", "channel": "call", "definition": definition},
    )
    version = await w.ok("coordinator", "POST", f"/forms/{form['id']}/publish", status=200)
    task = await make_task(w, version["id"], w.own_location_id)
    for blank in ("", "   ", "\t\n\u00a0"):
        body = report_body(task)
        body["answers"]["what_happened"] = blank
        response = await w.call("shopper", "POST", "/reports", json=body)
        assert response.status_code == 422, blank
        assert response.json()["code"] == "report.invalid"
        [error] = response.json()["errors"]
        assert error["field"] == "answers.what_happened" and error["reason"].startswith("answer.required:")
        assert "blank" in error["reason"]
    assert (await w.ok("coordinator", "GET", "/reports"))["total"] == 0
    assert (await w.ok("coordinator", "GET", f"/tasks/{task['id']}"))["status"] == "assigned"
    # Words with spaces around them are an answer, kept as the shopper typed them.
    body = report_body(task)
    body["answers"]["what_happened"] = "  Put on hold twice "
    stored = await w.ok("shopper", "POST", "/reports", json=body, status=201)
    assert stored["answers"]["what_happened"] == "  Put on hold twice "


async def test_shopper_cannot_report_someone_elses_task(client):
    w = await build_world(client)
    version_id = await publish_form(w)
    task = await make_task(w, version_id, w.own_location_id, shopper="other_shopper")
    response = await w.call("shopper", "POST", "/reports", json=report_body(task))
    # As for a made-up task id: the answer must not confirm that another shopper's task exists.
    made_up = await w.call("shopper", "POST", "/reports", json=report_body({"id": new_id()}))
    for refused in (response, made_up):
        assert refused.status_code == 404 and refused.json()["code"] == "task.not_found", refused.text
        assert refused.json()["errors"] == [{"field": "task_id", "reason": "no task of yours with this id"}]
    assert response.json()["detail"] == made_up.json()["detail"]
    assert (await w.call("shopper", "GET", f"/tasks/{task['id']}")).status_code == 404
    assert (await w.ok("coordinator", "GET", "/reports", params={"task_id": task["id"]}))["total"] == 0


async def test_manager_sees_only_approved_reports_of_their_organisation(client):
    w = await build_world(client)
    version_id = await publish_form(w)
    task = await make_task(w, version_id, w.own_location_id)
    report = await w.ok("shopper", "POST", "/reports", json=report_body(task), status=201)
    assert (await w.ok("manager", "GET", "/reports"))["total"] == 0
    assert (await w.call("manager", "GET", f"/reports/{report['id']}")).status_code == 404
    await w.ok("coordinator", "POST", f"/reports/{report['id']}/approve", status=200)
    seen = await w.ok("manager", "GET", f"/reports/{report['id']}")
    assert seen["shopper_id"] is None  # clients never learn who the shopper was
    assert (await w.call("other_manager", "GET", f"/reports/{report['id']}")).status_code == 404
    other = await w.call(
        "other_manager", "GET", "/analytics/location-scores", params={"organisation_id": w.organisation_id}
    )
    assert other.status_code == 404


async def test_simultaneous_duplicate_deliveries_store_one_report(client):
    import asyncio

    w = await build_world(client)
    version_id = await publish_form(w)
    task = await make_task(w, version_id, w.own_location_id)
    body = report_body(task)
    responses = await asyncio.gather(*(w.call("shopper", "POST", "/reports", json=body) for _ in range(8)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 7 + [201], statuses
    assert len({r.json()["id"] for r in responses}) == 1
    assert (await w.ok("coordinator", "GET", "/reports", params={"task_id": task["id"]}))["total"] == 1


TIMER_CALL_FORM = {
    "title": {"en": "Call"},
    "sections": [
        {
            "key": "s",
            "items": [
                {"type": "timer_sequence", "key": "call", "required": True, "give_up_s": 300},
                {"type": "yes_no", "key": "greeted"},
            ],
        }
    ],
}


async def test_bad_timer_taps_and_unstorable_times_are_refused_and_nothing_written(client):
    w = await build_world(client)
    form = await w.ok(
        "coordinator", "POST", "/forms", json={"name": "Timer", "channel": "call", "definition": TIMER_CALL_FORM}
    )
    version = await w.ok("coordinator", "POST", f"/forms/{form['id']}/publish", status=200)
    task = await make_task(w, version["id"], w.own_location_id)
    dialled = dt.datetime.now(UTC) - dt.timedelta(minutes=19)

    def taps(*events: tuple[object, float]) -> dict:
        return {
            "call": {
                "events": [{"event": name, "at": (dialled + dt.timedelta(seconds=s)).isoformat()} for name, s in events]
            }
        }

    cases = [
        ({"answers": taps((["dialled"], 0), ("ended", 60))}, "answers.call", "unknown event"),
        ({"answers": taps(("dialled", 0), ("gave_up", 5))}, "answers.call", "before the give-up time"),
        ({"started_at": "0001-01-01T00:30:00+01:00"}, "started_at", "outside the years"),
        ({"ended_at": "9999-12-31T23:59:00-01:00"}, "ended_at", "outside the years"),
    ]
    for change, field, reason in cases:
        body = {**report_body(task), "answers": taps(("dialled", 0), ("answered", 5), ("ended", 60)), **change}
        response = await w.call("shopper", "POST", "/reports", json=body)
        assert 400 <= response.status_code < 500, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert any(e["field"] == field and reason in e["reason"] for e in response.json()["errors"]), response.text
    assert (await w.ok("coordinator", "GET", "/reports"))["total"] == 0
    body = {**report_body(task), "answers": taps(("dialled", 0), ("gave_up", 300))}
    await w.ok("shopper", "POST", "/reports", json=body, status=201)  # a wait to the give-up time is fine

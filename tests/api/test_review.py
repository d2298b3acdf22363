"""Revisions, edits and the review loop; evidence flags and the review queue; bulk approval; the audit log."""

from __future__ import annotations

import asyncio
import datetime as dt

from tests import attachment_samples as samples
from tests.api.forms_fixture import answers
from tests.builders import make_task, publish_form, report_body
from tests.world import World, add_shoppers, build_world, other_organisation_location

UTC = dt.timezone.utc

VISIT_FORM = {
    "title": {"en": "Visit"},
    "sections": [
        {
            "key": "visit",
            "items": [
                {"type": "gps", "key": "checkin", "required": True},
                {"type": "yes_no", "key": "greeted", "required": True},
                {"type": "yes_no", "key": "clean", "required": True},
                {"type": "yes_no", "key": "thanked", "required": True},
                {"type": "rating", "key": "knowledge", "required": True, "min": 1, "max": 5, "points": 1},
            ],
        }
    ],
}


async def _seen(w: World, report: dict) -> dict:
    """The report as the coordinator sees it (the shopper sees no score and no flags)."""
    return await w.ok("coordinator", "GET", f"/reports/{report['id']}")


async def test_edits_make_revisions_and_stale_edits_are_refused(client):
    w = await build_world(client)
    task = await make_task(w, await publish_form(w), w.own_location_id)
    body = report_body(task)
    first = await w.ok("shopper", "POST", "/reports", json=body, status=201)
    assert first["revision"] == 1
    first_score = (await _seen(w, first))["score"]["final"]
    edit = {**body, "answers": answers(greeted=False), "replaces_revision": 1}
    second = await w.ok("shopper", "POST", "/reports", json=edit, status=200)
    assert second["revision"] == 2 and second["answers"]["greeted"] is False
    assert (await _seen(w, second))["score"]["final"] < first_score
    again = await w.ok("shopper", "POST", "/reports", json=edit, status=200)  # a retried edit: no third revision
    assert again["revision"] == 2
    stale = await w.call("shopper", "POST", "/reports", json={**edit, "answers": answers(friendliness=1)})
    assert stale.status_code == 409 and stale.json()["code"] == "report.stale_revision"
    no_claim = await w.call("shopper", "POST", "/reports", json={**body, "answers": answers(friendliness=2)})
    assert no_claim.status_code == 409 and no_claim.json()["code"] == "report.conflict"

    revisions = (await w.ok("coordinator", "GET", f"/reports/{first['id']}/revisions"))["items"]
    assert [r["number"] for r in revisions] == [1, 2]
    assert revisions[0]["answers"]["greeted"] is True  # the first revision is kept as it was
    diff = await w.ok("coordinator", "GET", f"/reports/{first['id']}/diff")
    assert diff["from_revision"] == 1 and diff["to_revision"] == 2
    assert diff["changes"] == [{"key": "greeted", "change": "changed", "before": True, "after": False}]
    missing = await w.call("coordinator", "GET", f"/reports/{first['id']}/diff", params={"from_revision": 7})
    assert missing.status_code == 404


async def test_return_with_comments_fix_and_approve(client):
    w = await build_world(client)
    task = await make_task(w, await publish_form(w), w.own_location_id)
    body = report_body(task, friendliness=2)
    report = await w.ok("shopper", "POST", "/reports", json=body, status=201)
    bad = await w.call(
        "coordinator",
        "POST",
        f"/reports/{report['id']}/return",
        json={"comments": [{"question_key": "nope", "text": "?"}]},
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "comments[0].question_key"
    returned = await w.ok(
        "coordinator",
        "POST",
        f"/reports/{report['id']}/return",
        status=200,
        json={
            "comments": [
                {
                    "question_key": "friendliness",
                    "text": "Your notes say the agent was warm; please check this rating.",
                },
                {"text": "Please also confirm the call time."},
            ]
        },
    )
    assert returned["status"] == "returned"
    assert (await w.ok("shopper", "GET", f"/tasks/{task['id']}"))["status"] == "returned"
    comments = (await w.ok("shopper", "GET", f"/reports/{report['id']}/comments"))["items"]
    assert [c["question_key"] for c in comments] == ["friendliness", None]
    assert (await w.call("other_shopper", "GET", f"/reports/{report['id']}/comments")).status_code == 404
    # Approving a returned report is not possible until the shopper resubmits.
    assert (await w.call("coordinator", "POST", f"/reports/{report['id']}/approve")).status_code == 409

    fixed = await w.ok(
        "shopper",
        "POST",
        "/reports",
        status=200,
        json={**body, "answers": answers(friendliness=4), "replaces_revision": 1},
    )
    assert fixed["status"] == "submitted" and fixed["revision"] == 2
    assert (await w.ok("shopper", "GET", f"/tasks/{task['id']}"))["status"] == "submitted"
    diff = await w.ok("shopper", "GET", f"/reports/{report['id']}/diff")
    assert diff["changes"] == [{"key": "friendliness", "change": "changed", "before": 2, "after": 4}]
    approved = await w.ok("coordinator", "POST", f"/reports/{report['id']}/approve", status=200)
    assert approved["status"] == "approved"
    locked = await w.call(
        "shopper", "POST", "/reports", json={**body, "answers": answers(friendliness=5), "replaces_revision": 2}
    )
    assert locked.status_code == 409 and locked.json()["code"] == "report.not_editable"

    trail = await w.ok("coordinator", "GET", "/audit", params={"entity": "report", "entity_id": report["id"]})
    actions = [e["action"] for e in reversed(trail["items"])]
    assert actions == ["report.submitted", "report.returned", "report.revised", "report.approved"]
    assert trail["items"][0]["actor_id"] == w.users["coordinator"]["id"]
    assert (await w.call("shopper", "GET", "/audit")).status_code == 403
    client_trail = await w.ok("manager", "GET", "/audit", params={"entity": "report", "entity_id": report["id"]})
    assert [e["action"] for e in reversed(client_trail["items"])] == ["report.submitted", "report.approved"]
    assert {e["actor_id"] for e in client_trail["items"]} == {None}  # neither the shopper nor the reviewer


async def test_a_resubmitted_report_awaits_review_without_the_returns_review_on_it(client):
    """Returned, then fixed: the report is in the queue again and says nothing reviewed it; the return
    stays in its comments and the audit log."""
    from backend.reports.tables import Report

    w = await build_world(client)
    task = await make_task(w, await publish_form(w), w.own_location_id)
    body = report_body(task, friendliness=2)
    report = await w.ok("shopper", "POST", "/reports", json=body, status=201)
    returned = await w.ok(
        "coordinator",
        "POST",
        f"/reports/{report['id']}/return",
        status=200,
        json={"comments": [{"question_key": "friendliness", "text": "Check this rating."}]},
    )
    assert returned["review_reason"] == "Check this rating."
    fixed = await w.ok(
        "shopper",
        "POST",
        "/reports",
        status=200,
        json={**body, "answers": answers(friendliness=4), "replaces_revision": 1},
    )
    assert (fixed["status"], fixed["review_reason"]) == ("submitted", None)
    assert (await _seen(w, report))["review_reason"] is None
    queue = (await w.ok("coordinator", "GET", "/reports/review-queue"))["items"]
    assert [(r["id"], r["review_reason"]) for r in queue] == [(report["id"], None)]
    row = await Report.select(Report.reviewed_by, Report.reviewed_at).where(Report.id == report["id"]).first()
    assert row == {"reviewed_by": None, "reviewed_at": None}
    assert [c["text"] for c in (await w.ok("shopper", "GET", f"/reports/{report['id']}/comments"))["items"]] == [
        "Check this rating."
    ]
    trail = await w.ok("coordinator", "GET", "/audit", params={"entity_id": report["id"], "action": "report.returned"})
    assert trail["items"][0]["detail"]["reason"] == "Check this rating."
    approved = await w.ok("coordinator", "POST", f"/reports/{report['id']}/approve", status=200)
    assert approved["review_reason"] is None
    row = await Report.select(Report.reviewed_by, Report.reviewed_at).where(Report.id == report["id"]).first()
    assert str(row["reviewed_by"]) == w.users["coordinator"]["id"] and row["reviewed_at"] is not None


async def _visit_task(w: World, version_id: str, location_id: str, shopper: str) -> dict:
    now = dt.datetime.now(UTC)
    return await w.ok(
        "coordinator",
        "POST",
        "/tasks",
        json={
            "organisation_id": w.organisation_id,
            "location_id": location_id,
            "form_version_id": version_id,
            "channel": "visit",
            "window_start": (now - dt.timedelta(hours=5)).isoformat(),
            "window_end": (now + dt.timedelta(hours=1)).isoformat(),
            "shopper_id": w.users[shopper]["id"],
        },
    )


def _visit(task: dict, lat: float, lon: float, minutes: float = 20, **kw) -> dict:
    end = dt.datetime.now(UTC) - dt.timedelta(minutes=30)
    values = {"greeted": True, "clean": True, "thanked": False, "knowledge": 4, **kw}
    return {
        "id": __import__("uuid").uuid4().hex,
        "task_id": task["id"],
        "started_at": (end - dt.timedelta(minutes=minutes)).isoformat(),
        "ended_at": end.isoformat(),
        "answers": {"checkin": {"lat": lat, "lon": lon, "accuracy_m": 8}, **values},
    }


async def test_evidence_flags_order_the_review_queue_and_bulk_approve_skips_flagged(client):
    w = await build_world(client)
    form = await w.ok(
        "coordinator", "POST", "/forms", json={"name": "Visit", "channel": "visit", "definition": VISIT_FORM}
    )
    version = await w.ok("coordinator", "POST", f"/forms/{form['id']}/publish", status=200)
    (s1, s2) = await add_shoppers(w, 2, home_lat=50.08, home_lon=14.43, travel_radius_km=300)
    # own location is at 50.086, 14.425; the competitor at 49.195, 16.608
    clean = await w.ok(
        s1,
        "POST",
        "/reports",
        status=201,
        json=_visit(await _visit_task(w, version["id"], w.own_location_id, s1), 50.0861, 14.4251),
    )
    assert (await _seen(w, clean))["flags"] == []
    far_and_short = await w.ok(
        s2,
        "POST",
        "/reports",
        status=201,
        json=_visit(await _visit_task(w, version["id"], w.own_location_id, s2), 50.2, 14.425, minutes=1.5, knowledge=2),
    )
    codes = {f["code"] for f in (await _seen(w, far_and_short))["flags"]}
    assert codes == {"gps.far", "visit.too_short"}
    copied = await w.ok(
        s1,
        "POST",
        "/reports",
        status=201,
        json=_visit(await _visit_task(w, version["id"], w.competitor_location_id, s1), 49.1951, 16.6081),
    )
    copied_flags = (await _seen(w, copied))["flags"]
    assert [f["code"] for f in copied_flags] == ["answers.identical"]
    assert "Acme Prague Centre" in copied_flags[0]["reason"]

    queue = await w.ok("coordinator", "GET", "/reports/review-queue")
    assert [r["id"] for r in queue["items"]] == [far_and_short["id"], copied["id"], clean["id"]]
    result = await w.ok(
        "coordinator", "POST", "/reports/bulk-approve", json={"organisation_id": w.organisation_id}, status=200
    )
    assert result["approved"] == 1 and result["report_ids"] == [clean["id"]]
    remaining = await w.ok("coordinator", "GET", "/reports/review-queue")
    assert remaining["total"] == 2
    everything = await w.ok("coordinator", "POST", "/reports/bulk-approve", json={"max_flags": 5}, status=200)
    assert everything["approved"] == 2
    assert (await w.ok("manager", "GET", "/reports"))["total"] == 3


async def test_identical_answers_are_only_compared_within_the_tasks_organisation(client):
    """Forms are shared between organisations and the flag names a location: another organisation's
    report by the same shopper must neither flag this one nor show its location's name."""
    w = await build_world(client)
    version_id = await publish_form(w)
    elsewhere = await other_organisation_location(w, "Other organisation's store")
    now = dt.datetime.now(UTC)
    their_task = await w.ok(
        "coordinator",
        "POST",
        "/tasks",
        json={
            "organisation_id": w.other_organisation_id,
            "location_id": elsewhere["id"],
            "form_version_id": version_id,
            "channel": "call",
            "window_start": (now - dt.timedelta(hours=3)).isoformat(),
            "window_end": (now + dt.timedelta(hours=3)).isoformat(),
            "shopper_id": w.users["shopper"]["id"],
        },
    )
    await w.ok("shopper", "POST", "/reports", json=report_body(their_task), status=201)
    ours = await w.ok(
        "shopper", "POST", "/reports", json=report_body(await make_task(w, version_id, w.own_location_id)), status=201
    )
    assert (await _seen(w, ours))["flags"] == []
    await w.ok("coordinator", "POST", f"/reports/{ours['id']}/approve", status=200)
    assert (await w.ok("manager", "GET", f"/reports/{ours['id']}"))["flags"] == []
    # Within one organisation the same answers at another location are still flagged, naming it.
    again = await w.ok(
        "shopper",
        "POST",
        "/reports",
        json=report_body(await make_task(w, version_id, w.competitor_location_id)),
        status=201,
    )
    assert [f["code"] for f in (await _seen(w, again))["flags"]] == ["answers.identical"]


async def test_shoppers_see_no_scores_or_flags_anywhere(client):
    """docs/architecture.md, "Who sees what": a shopper sees no scores and no evidence flags (they belong to the review)."""
    w = await build_world(client)
    version_id = await publish_form(w)
    await w.ok(
        "shopper",
        "POST",
        "/reports",
        json=report_body(await make_task(w, version_id, w.competitor_location_id)),
        status=201,
    )
    report = await w.ok(
        "shopper", "POST", "/reports", json=report_body(await make_task(w, version_id, w.own_location_id)), status=201
    )
    assert (await _seen(w, report))["flags"] != []  # there is something to hide
    views = [
        report,
        await w.ok("shopper", "GET", f"/reports/{report['id']}"),
        *(await w.ok("shopper", "GET", "/reports"))["items"],
    ]
    assert [(v["score"], v["flags"]) for v in views] == [(None, [])] * 4
    revisions = (await w.ok("shopper", "GET", f"/reports/{report['id']}/revisions"))["items"]
    assert [r["score"] for r in revisions] == [None]
    assert (await w.call("shopper", "GET", f"/reports/{report['id']}/score")).status_code == 403


async def test_a_review_names_the_revision_it_saw(client):
    """An edit made while the coordinator was reading is not approved (or rejected, or returned) unseen."""
    w = await build_world(client)
    task = await make_task(w, await publish_form(w), w.own_location_id)
    body = report_body(task)
    report = await w.ok("shopper", "POST", "/reports", json=body, status=201)
    seen = (await _seen(w, report))["revision"]
    await w.ok(
        "shopper",
        "POST",
        "/reports",
        status=200,
        json={**body, "answers": answers(greeted=False), "replaces_revision": 1},
    )
    url = f"/reports/{report['id']}"
    for response in (
        await w.call("coordinator", "POST", f"{url}/approve", params={"revision": seen}),
        await w.call("coordinator", "POST", f"{url}/reject", params={"revision": seen}, json={"reason": "made up"}),
        await w.call(
            "coordinator", "POST", f"{url}/return", params={"revision": seen}, json={"comments": [{"text": "check"}]}
        ),
    ):
        assert response.status_code == 409 and response.json()["code"] == "report.changed", response.text
        assert response.json()["errors"] == [{"field": "revision", "reason": "latest is 2"}]
    assert (await _seen(w, report))["status"] == "submitted"
    approved = await w.ok("coordinator", "POST", f"{url}/approve", params={"revision": 2})
    assert approved["status"] == "approved" and approved["revision"] == 2


async def test_a_returned_report_never_sent_back_can_be_rejected(client):
    w = await build_world(client)
    task = await make_task(w, await publish_form(w), w.own_location_id)
    report = await w.ok("shopper", "POST", "/reports", json=report_body(task), status=201)
    url = f"/reports/{report['id']}"
    await w.ok("coordinator", "POST", f"{url}/return", json={"comments": [{"text": "Which branch was this?"}]})
    rejected = await w.ok("coordinator", "POST", f"{url}/reject", json={"reason": "Never sent back"})
    assert (rejected["status"], rejected["review_reason"]) == ("rejected", "Never sent back")
    assert (await w.ok("coordinator", "GET", f"/tasks/{task['id']}"))["status"] == "rejected"
    trail = await w.ok(
        "coordinator", "GET", "/audit", params={"entity": "task", "entity_id": task["id"], "action": "task.rejected"}
    )
    assert [e["detail"]["from"] for e in trail["items"]] == ["returned"]
    # Returning or approving still needs a submitted report.
    for action in ("approve", "return"):
        response = await w.call("coordinator", "POST", f"{url}/{action}", json={"comments": [{"text": "x"}]})
        assert response.status_code == 409 and response.json()["code"] == "report.not_reviewable"


async def test_blank_review_texts_are_refused(client):
    w = await build_world(client)
    task = await make_task(w, await publish_form(w), w.own_location_id)
    report = await w.ok("shopper", "POST", "/reports", json=report_body(task), status=201)
    url = f"/reports/{report['id']}"
    response = await w.call("coordinator", "POST", f"{url}/reject", json={"reason": " \t\n "})
    assert response.status_code == 400 and response.json()["errors"] == [
        {"field": "reason", "reason": "must not be blank or contain a NUL character"}
    ], response.text
    response = await w.call(
        "coordinator",
        "POST",
        f"{url}/return",
        json={"comments": [{"text": "fine"}, {"question_key": "greeted", "text": "  "}]},
    )
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "comments[1].text"
    assert (await _seen(w, report))["status"] == "submitted"


async def test_revisions_and_comments_are_paginated_and_the_diff_shows_moved_times(client):
    w = await build_world(client)
    task = await make_task(w, await publish_form(w), w.own_location_id)
    body = report_body(task)
    report = await w.ok("shopper", "POST", "/reports", json=body, status=201)
    url = f"/reports/{report['id']}"
    earlier = (dt.datetime.fromisoformat(body["started_at"]) - dt.timedelta(minutes=5)).isoformat()
    for n in (1, 2, 3):
        await w.ok(
            "shopper",
            "POST",
            "/reports",
            status=200,
            json={
                **body,
                "answers": answers(friendliness=1 + n),
                "replaces_revision": n,
                **({"started_at": earlier} if n == 3 else {}),
            },
        )
        await w.ok(
            "coordinator", "POST", f"{url}/return", json={"comments": [{"text": f"round {n}"}]}
        ) if n < 3 else None
    page = await w.ok("coordinator", "GET", f"{url}/revisions", params={"limit": 2, "offset": 1})
    assert ([r["number"] for r in page["items"]], page["total"], page["limit"], page["offset"]) == ([2, 3], 4, 2, 1)
    comments = await w.ok("shopper", "GET", f"{url}/comments", params={"limit": 1, "offset": 1})
    assert ([c["text"] for c in comments["items"]], comments["total"]) == (["round 2"], 2)
    diff = await w.ok("coordinator", "GET", f"{url}/diff")
    assert [(c["key"], c["change"]) for c in diff["time_changes"]] == [("started_at", "changed")]
    assert dt.datetime.fromisoformat(diff["time_changes"][0]["after"]) == dt.datetime.fromisoformat(earlier)
    assert [c["key"] for c in diff["changes"]] == ["friendliness"]
    untouched = await w.ok("coordinator", "GET", f"{url}/diff", params={"from_revision": 1, "to_revision": 2})
    assert untouched["time_changes"] == []


PHOTO_FORM = {
    "title": {"en": "Photo"},
    "sections": [
        {
            "key": "s",
            "items": [{"type": "photo", "key": "storefront", "required": True}, {"type": "text", "key": "remarks"}],
        }
    ],
}


async def test_a_photo_in_two_reports_is_flagged_even_when_they_are_sent_at_once(client):
    """A phone emptying its outbox sends reports together: each must see the other's photo."""
    w = await build_world(client)
    form = await w.ok(
        "coordinator", "POST", "/forms", json={"name": "Photo", "channel": "call", "definition": PHOTO_FORM}
    )
    version = (await w.ok("coordinator", "POST", f"/forms/{form['id']}/publish", status=200))["id"]
    photos = []
    for seed in (1, 2):
        response = await client.post("/attachments", content=samples.png(seed=seed), headers=w.as_("shopper"))
        assert response.status_code == 201, response.text
        photos.append(response.json()["sha256"])

    def body(task: dict, sha: str, remarks: str) -> dict:
        return {**report_body(task), "answers": {"storefront": {"attachment": sha}, "remarks": remarks}}

    tasks = [await make_task(w, version, location) for location in (w.own_location_id, w.competitor_location_id)]
    together = await asyncio.gather(
        *(
            w.ok("shopper", "POST", "/reports", json=body(task, photos[0], str(i)), status=201)
            for i, task in enumerate(tasks)
        )
    )
    flagged = [[f["code"] for f in (await _seen(w, r))["flags"]] for r in together]
    assert sorted(flagged) == [[], ["photo.reused"]], "the later of the two is flagged"
    # An edit (written on its own, not in a batch) that swaps in the other's photo is flagged too.
    clean = together[[codes == [] for codes in flagged].index(True)]
    third_location = await w.ok(
        "coordinator",
        "POST",
        "/locations",
        json={
            "brand_id": w.own_brand_id,
            "name": "Acme Ostrava",
            "timezone": "Europe/Prague",
            "lat": 49.83,
            "lon": 18.29,
        },
    )
    third = await make_task(w, version, third_location["id"])
    own = await w.ok("shopper", "POST", "/reports", json=body(third, photos[1], "x"), status=201)
    assert (await _seen(w, own))["flags"] == []
    edit = {**body(third, photos[0], "x"), "id": own["id"], "replaces_revision": 1}
    await w.ok("shopper", "POST", "/reports", json=edit, status=200)
    edited = await _seen(w, own)
    assert [f["code"] for f in edited["flags"]] == ["photo.reused"]
    assert photos[0][:12] in edited["flags"][0]["reason"]
    assert (await _seen(w, clean))["flags"] == []  # an earlier report is not flagged after the fact
    trail = await w.ok("coordinator", "GET", "/audit", params={"entity": "report", "action": "report.submitted"})
    assert sorted(e["detail"]["flags"] for e in trail["items"]) == [0, 0, 1]

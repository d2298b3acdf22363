"""Analytics facts kept as reports are approved, returned, edited and rejected equal a from-scratch rebuild."""

from __future__ import annotations

from typing import Any

from backend.analytics import facts
from backend.analytics.tables import ItemFact, ReportFact
from tests.api.analytics_fixture import Shopped, full_answers, publish_full_form
from tests.world import build_world


async def _snapshot() -> tuple[list[dict[str, Any]], list[tuple[Any, ...]]]:
    reports = await ReportFact.select().order_by(ReportFact.id)
    items = await ItemFact.select(
        ItemFact.report,
        ItemFact.kind,
        ItemFact.key,
        ItemFact.section,
        ItemFact.score,
        ItemFact.passed,
        ItemFact.critical_failed,
    )
    rows = [{k: v for k, v in r.items()} for r in reports]
    return rows, sorted(
        (str(i["report"]), i["kind"], i["key"], i["section"], round(i["score"], 9), i["passed"], i["critical_failed"])
        for i in items
    )


async def test_facts_follow_the_review_loop_and_equal_a_rebuild(client):
    w = await build_world(client)
    s = Shopped(w, await publish_full_form(w))
    kept = await s.report(w.own_location_id, nps=3)
    await s.report(w.competitor_location_id, answered=False)
    returned = await s.report(w.own_location_id, approve=False, nps=10)
    rejected = await s.report(w.own_location_id, approve=False)
    await s.report(w.own_location_id, approve=False)  # stays pending: no fact

    assert {str(r["id"]) for r in (await _snapshot())[0]} == {kept["id"], s.reports[1]["id"]}
    await w.ok(
        "coordinator",
        "POST",
        f"/reports/{returned['id']}/return",
        status=200,
        json={"comments": [{"question_key": "nps", "text": "Check the mark"}]},
    )
    assert len((await _snapshot())[0]) == 2  # a returned report is not counted
    body = {
        "id": returned["id"],
        "task_id": returned["task_id"],
        "started_at": returned["started_at"],
        "ended_at": returned["ended_at"],
        "answers": full_answers(nps=6),
        "replaces_revision": 1,
    }
    await w.ok(returned["shopper"], "POST", "/reports", json=body, status=(200, 201))
    await w.ok("coordinator", "POST", f"/reports/{returned['id']}/approve", status=200)
    await w.ok("coordinator", "POST", f"/reports/{rejected['id']}/reject", status=200, json={"reason": "Wrong shop"})

    incremental = await _snapshot()
    assert {str(r["id"]) for r in incremental[0]} == {kept["id"], s.reports[1]["id"], returned["id"]}
    edited = next(r for r in incremental[0] if str(r["id"]) == returned["id"])
    assert edited["nps"] == 6  # the approved revision's answers, not the first one's
    assert not next(r for r in incremental[0] if str(r["id"]) == s.reports[1]["id"])["answered"]
    assert await facts.rebuild(batch=2) == 3
    assert await _snapshot() == incremental

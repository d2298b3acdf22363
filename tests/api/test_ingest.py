"""Every revision goes through the one batched writer (backend.reports.storage): what it stores and answers
must be what GET shows, whatever else is in the same batch."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import uuid

import msgspec
import pytest

from backend import db
from backend.db.raw_sql import numbered as numbered_placeholders
from backend.reports import storage
from tests.api.forms_fixture import answers
from tests.builders import insert_assigned_tasks, make_task, publish_form, report_body
from tests.world import add_shoppers, build_world

UTC = dt.timezone.utc


async def test_the_answer_built_in_hand_is_what_get_shows(client):
    w = await build_world(client)
    version_id = await publish_form(w)
    earlier = await make_task(w, version_id, w.competitor_location_id)
    await w.ok("shopper", "POST", "/reports", json=report_body(earlier, answer_s=7.5), status=201)
    task = await make_task(w, version_id, w.own_location_id)
    body = report_body(task, answer_s=7.5)
    posted = await w.ok("shopper", "POST", "/reports", json=body, status=201)
    assert (posted["score"], posted["flags"]) == (None, [])  # shoppers see no scores and no evidence flags
    assert posted == await w.ok("shopper", "GET", f"/reports/{body['id']}")
    seen = await w.ok("coordinator", "GET", f"/reports/{body['id']}")
    assert {**seen, "score": None, "flags": []} == posted
    assert [f["code"] for f in seen["flags"]] == ["answers.identical"], "the same answers as at the competitor"
    explanation = await w.ok("coordinator", "GET", f"/reports/{body['id']}/score")
    assert (explanation["result"]["calculated"], explanation["result"]["final"]) == (
        seen["score"]["calculated"],
        seen["score"]["final"],
    )
    revisions = (await w.ok("coordinator", "GET", f"/reports/{body['id']}/revisions"))["items"]
    assert [(r["number"], r["answers"], r["score"]) for r in revisions] == [(1, seen["answers"], seen["score"])]
    own_revisions = (await w.ok("shopper", "GET", f"/reports/{body['id']}/revisions"))["items"]
    assert [(r["number"], r["score"]) for r in own_revisions] == [(1, None)]
    assert (await w.ok("shopper", "GET", f"/tasks/{task['id']}"))["status"] == "submitted"
    task_trail = await w.ok(
        "coordinator", "GET", "/audit", params={"entity": "task", "entity_id": task["id"], "action": "task.submitted"}
    )
    assert [e["detail"] for e in task_trail["items"]] == [
        {"from": "assigned", "to": "submitted", "report_id": body["id"]}
    ]
    assert task_trail["items"][0]["actor_id"] == w.users["shopper"]["id"]
    report_trail = await w.ok("coordinator", "GET", "/audit", params={"entity": "report", "entity_id": body["id"]})
    assert [(e["action"], e["detail"]) for e in report_trail["items"]] == [
        ("report.submitted", {"task_id": task["id"], "score": seen["score"]["final"], "flags": len(seen["flags"])})
    ]


async def test_many_reports_at_once_are_all_stored_once(client):
    w = await build_world(client)
    shoppers = ["shopper", *await add_shoppers(w, 3)]
    version_id = await publish_form(w)
    tasks = await insert_assigned_tasks(w, version_id, shoppers, 24)
    bodies = [
        (task["shopper"], report_body({"id": str(task["id"])}, friendliness=1 + i % 5)) for i, task in enumerate(tasks)
    ]
    # Every report twice, all at once: one batch holds duplicates of itself.
    responses = await asyncio.gather(*(w.call(who, "POST", "/reports", json=body) for who, body in bodies + bodies))
    first, second = responses[:24], responses[24:]
    for a, b in zip(first, second, strict=True):
        assert sorted((a.status_code, b.status_code)) == [200, 201], (a.text, b.text)
        assert a.json() == b.json()
    listed = await w.ok("coordinator", "GET", "/reports", params={"limit": 100})
    assert listed["total"] == 24
    assert {r["id"]: r["answers"]["friendliness"] for r in listed["items"]} == {
        body["id"]: body["answers"]["friendliness"] for _, body in bodies
    }
    statuses = await w.ok("coordinator", "GET", "/tasks", params={"status": "submitted", "limit": 100})
    assert statuses["total"] == 24
    trail = await w.ok("coordinator", "GET", "/audit", params={"action": "report.submitted", "limit": 100})
    assert trail["total"] == 24


async def test_two_reports_for_one_task_at_once_one_wins(client):
    w = await build_world(client)
    version_id = await publish_form(w)
    task = await make_task(w, version_id, w.own_location_id)
    responses = await asyncio.gather(*(w.call("shopper", "POST", "/reports", json=report_body(task)) for _ in range(6)))
    assert sorted(r.status_code for r in responses) == [201] + [409] * 5
    # Checked before the winner was stored or after: either way the loser is told why.
    assert {r.json()["code"] for r in responses if r.status_code == 409} <= {
        "report.duplicate_for_task",
        "task.not_submittable",
    }
    assert (await w.ok("coordinator", "GET", "/reports", params={"task_id": task["id"]}))["total"] == 1


async def test_a_report_that_cannot_be_written_fails_alone(client):
    """A batch with one unwritable report (its organisation does not exist) stores the others."""
    w = await build_world(client)
    version_id = await publish_form(w)
    tasks = [{"id": str(t["id"])} for t in await insert_assigned_tasks(w, version_id, ["shopper"], 3)]
    good_a, bad, good_b = (
        _pending(w, version_id, tasks[0]),
        _pending(w, version_id, tasks[1], organisation_id=uuid.uuid4()),
        _pending(w, version_id, tasks[2]),
    )
    results = await asyncio.gather(*(storage.store(r) for r in (good_a, bad, good_b)), return_exceptions=True)
    assert results[0] is True and results[2] is True
    assert isinstance(results[1], Exception)
    listed = await w.ok("coordinator", "GET", "/reports")
    assert {r["id"] for r in listed["items"]} == {str(good_a.id), str(good_b.id)}
    assert (await w.ok("coordinator", "GET", f"/tasks/{tasks[1]['id']}"))["status"] == "assigned"


async def test_a_task_that_changed_is_answered_changed(client):
    w = await build_world(client)
    version_id = await publish_form(w)
    task = await make_task(w, version_id, w.own_location_id)
    now = dt.datetime.now(UTC)
    report = storage.PendingRevision(
        id=uuid.uuid4(),
        task_id=uuid.UUID(task["id"]),
        task_status="accepted",  # it is "assigned"
        shopper_id=uuid.UUID(w.users["shopper"]["id"]),
        organisation_id=uuid.UUID(w.organisation_id),
        location_id=uuid.UUID(w.own_location_id),
        form_version_id=uuid.UUID(version_id),
        content_hash="0" * 64,
        answers_json="{}",
        started_at=now,
        ended_at=now,
        submitted_at=now,
        score_calculated=None,
        score_final=None,
        failed=False,
        detail_json="{}",
        flags_json="[]",
        flag_count=0,
        links=(),
    )
    assert await storage.store(report) is False
    assert (await w.ok("coordinator", "GET", "/reports"))["total"] == 0


@pytest.mark.parametrize(
    ("sql", "numbered"),
    [
        ("SELECT 1", "SELECT 1"),
        ("a = ? AND b = ?", "a = $1 AND b = $2"),
        ("VALUES (?, ?, 'x', ?)", "VALUES ($1, $2, 'x', $3)"),
    ],
)
def test_placeholders_are_numbered_for_postgres(sql, numbered):
    assert numbered_placeholders(sql) == numbered


async def test_hot_path_reads_see_every_commit(client):
    """Reads between commits see each of them (on SQLite the inline reader must never keep a snapshot)."""
    w = await build_world(client)
    statement = "SELECT id FROM organisation ORDER BY id"
    for i in range(3):
        async with db.reading() as session:
            before = await session.fetch(statement)
            await session.fetchrow(statement)  # several rows, only the first taken
        await w.ok("admin", "POST", "/organisations", json={"name": f"Later {i}"})
        async with db.reading() as session:
            first = await session.fetchrow(statement)
            after = await session.fetch(statement)
        assert first == after[0] and len(after) == len(before) + 1


def _pending(w, version_id: str, task: dict, **kw) -> storage.PendingRevision:
    now = dt.datetime.now(UTC)
    return storage.PendingRevision(
        **{
            "id": uuid.uuid4(),
            "task_id": uuid.UUID(task["id"]),
            "task_status": "assigned",
            "shopper_id": uuid.UUID(w.users["shopper"]["id"]),
            "organisation_id": uuid.UUID(w.organisation_id),
            "location_id": uuid.UUID(w.own_location_id),
            "form_version_id": uuid.UUID(version_id),
            "content_hash": "0" * 64,
            "answers_json": msgspec.json.encode(answers()).decode(),
            "started_at": now - dt.timedelta(minutes=9),
            "ended_at": now - dt.timedelta(minutes=4),
            "submitted_at": now,
            "score_calculated": 90.0,
            "score_final": 90.0,
            "failed": False,
            "detail_json": "{}",
            "flags_json": "[]",
            "flag_count": 0,
            "links": (),
            **kw,
        }
    )


async def test_first_revisions_and_edits_go_through_the_one_writer(client, monkeypatch):
    written: list[tuple[str, int]] = []
    original = storage._write_batch

    async def recording(take, steps):
        def taking():
            revisions = take()
            written.extend((str(r.id), r.number) for r in revisions)
            return revisions

        return await original(taking, steps)

    monkeypatch.setattr(storage, "_write_batch", recording)
    w = await build_world(client)
    task = await make_task(w, await publish_form(w), w.own_location_id)
    body = report_body(task)
    await w.ok("shopper", "POST", "/reports", json=body, status=201)
    edit = {**body, "answers": answers(greeted=False), "replaces_revision": 1}
    assert (await w.ok("shopper", "POST", "/reports", json=edit, status=200))["revision"] == 2
    assert written == [(body["id"], 1), (body["id"], 2)]
    trail = await w.ok("coordinator", "GET", "/audit", params={"entity": "report", "entity_id": body["id"]})
    assert [e["action"] for e in trail["items"]] == ["report.revised", "report.submitted"]  # newest first


async def test_a_step_runs_in_its_revisions_transaction_and_fails_with_it(client):
    """A revision's step (a call's retry) runs under the same write lock as its rows and sees them; when it
    fails, its revision is not stored, and the others of its batch are."""
    from backend.audit import service as audit
    from backend.reports.tables import Report

    w = await build_world(client)
    version_id = await publish_form(w)
    tasks = [{"id": str(t["id"])} for t in await insert_assigned_tasks(w, version_id, ["shopper"], 3)]
    seen: list[bool] = []

    async def step_sees_its_rows() -> None:
        seen.append(await Report.exists().where(Report.id == stepped.id))
        await audit.record(None, "report.step_ran", "report", stepped.id)

    async def step_fails() -> None:
        raise RuntimeError("the campaign could not decide")

    stepped = _pending(w, version_id, tasks[0], step=step_sees_its_rows)
    failing = _pending(w, version_id, tasks[1], step=step_fails)
    plain = _pending(w, version_id, tasks[2])
    results = await asyncio.gather(*(storage.store(r) for r in (stepped, failing, plain)), return_exceptions=True)
    assert results[0] is True and results[2] is True
    assert isinstance(results[1], RuntimeError)
    assert seen and all(seen)
    listed = await w.ok("coordinator", "GET", "/reports")
    assert {r["id"] for r in listed["items"]} == {str(stepped.id), str(plain.id)}
    assert (await w.ok("coordinator", "GET", f"/tasks/{tasks[1]['id']}"))["status"] == "assigned"
    trail = await w.ok("coordinator", "GET", "/audit", params={"action": "report.step_ran"})
    assert [e["entity_id"] for e in trail["items"]] == [str(stepped.id)]  # once: a failed batch leaves nothing


def _bare_report() -> storage.PendingRevision:
    now = dt.datetime.now(UTC)
    return storage.PendingRevision(
        id=uuid.uuid4(),
        task_id=uuid.uuid4(),
        task_status="assigned",
        shopper_id=uuid.uuid4(),
        organisation_id=uuid.uuid4(),
        location_id=uuid.uuid4(),
        form_version_id=uuid.uuid4(),
        content_hash="0" * 64,
        answers_json="{}",
        started_at=now,
        ended_at=now,
        submitted_at=now,
        score_calculated=None,
        score_final=None,
        failed=False,
        detail_json="{}",
        flags_json="[]",
        flag_count=0,
        links=(),
    )


async def test_reports_arriving_while_a_batch_waits_for_its_write_turn_join_it(monkeypatch):
    """A batch is what is pending once its transaction has begun (on SQLite: once this process has the
    write turn), so reports validated meanwhile are written with it instead of a whole turn later."""
    turn, written = asyncio.Event(), []

    async def write_batch(take, steps):
        await turn.wait()  # another process writes meanwhile
        reports = take()
        written.append([r.id for r in reports])
        return [True] * len(reports)

    monkeypatch.setattr(storage, "_write_batch", write_batch)
    writer = storage._Writer()
    reports = [_bare_report() for _ in range(5)]
    first = asyncio.create_task(writer.store(reports[0]))
    await asyncio.sleep(0.01)  # its drain has begun and waits for the turn
    later = [asyncio.create_task(writer.store(r)) for r in reports[1:]]
    await asyncio.sleep(0.01)
    turn.set()
    assert await asyncio.gather(first, *later) == [True] * 5
    assert written == [[r.id for r in reports]]


async def test_a_batch_that_fails_before_taking_its_reports_still_answers_each(monkeypatch):
    """Failing before the write turn (say BEGIN could not get the lock) leaves no report waiting for ever:
    the pending ones are retried one by one, and each request hears its own outcome."""
    calls = []

    async def write_batch(take, steps):
        calls.append("call")
        if len(calls) == 1:
            raise RuntimeError("database is locked")
        (report,) = take()
        if report.flag_count:
            raise ValueError("this one is broken")
        return [True]

    monkeypatch.setattr(storage, "_write_batch", write_batch)
    writer = storage._Writer()
    reports = [_bare_report() for _ in range(3)]
    reports[1] = dataclasses.replace(reports[1], flag_count=1)
    outcomes = await asyncio.wait_for(asyncio.gather(*(writer.store(r) for r in reports), return_exceptions=True), 20)
    assert outcomes[0] is True and outcomes[2] is True
    assert isinstance(outcomes[1], ValueError)
    assert len(calls) == 4  # the failed batch, then each of the three alone

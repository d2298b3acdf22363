"""A coordinator imports the file of unsent reports a shopper's phone exported: stored as the shopper's own
submissions, idempotently, and a damaged or foreign file changes nothing."""

from __future__ import annotations

import base64
import copy
import hashlib

from tests.api.forms_fixture import SMALL_CALL_FORM
from tests.attachment_samples import png
from tests.builders import make_task, report_body
from tests.world import build_world

PHOTO_FORM = copy.deepcopy(SMALL_CALL_FORM)
PHOTO_FORM["sections"][0]["items"].append({"type": "photo", "key": "receipt", "label": {"en": "Receipt"}})


async def _world_with_tasks(client, n: int = 2):
    w = await build_world(client)
    form = await w.ok(
        "coordinator", "POST", "/forms", json={"name": "Call", "channel": "call", "definition": PHOTO_FORM}
    )
    version = await w.ok("coordinator", "POST", f"/forms/{form['id']}/publish", status=200)
    # Two locations: rotation forbids one shopper two tasks at the same one.
    tasks = [
        await make_task(w, version["id"], location) for location in (w.own_location_id, w.competitor_location_id)[:n]
    ]
    return w, tasks


def _export(w, reports, attachments) -> dict:
    return {
        "format": "fieldscore.outbox",
        "version": 1,
        "exported_at": "2026-12-03T10:00:00+01:00",
        "shopper_id": w.users["shopper"]["id"],
        "shopper_email": "shopper@example.test",
        "reports": reports,
        "attachments": [
            {"sha256": hashlib.sha256(b).hexdigest(), "media_type": "image/png", "base64": base64.b64encode(b).decode()}
            for b in attachments
        ],
    }


async def test_an_exported_file_is_imported_as_the_shoppers_reports_once_however_often(client):
    w, tasks = await _world_with_tasks(client)
    photo = png(4, 3, seed=7)
    first = report_body(tasks[0])
    first["answers"]["receipt"] = {"attachment": hashlib.sha256(photo).hexdigest()}
    second = report_body(tasks[1])
    file = _export(w, [first, second], [photo])

    result = await w.ok("coordinator", "POST", "/reports/import", json=file, status=200)
    assert (result["created"], result["unchanged"], result["refused"]) == (2, 0, 0)
    assert [r["outcome"] for r in result["reports"]] == ["created", "created"]
    stored = await w.ok("coordinator", "GET", f"/reports/{first['id']}")
    assert stored["shopper_id"] == w.users["shopper"]["id"] and stored["score"] is not None
    assert stored["answers"]["receipt"] == first["answers"]["receipt"]
    # The shopper sees them as their own, and their photo with them.
    mine = await w.ok("shopper", "GET", "/reports")
    assert {r["id"] for r in mine["items"]} == {first["id"], second["id"]}
    sha = first["answers"]["receipt"]["attachment"]
    assert (await w.call("shopper", "GET", f"/attachments/{sha}")).content == photo

    again = await w.ok("coordinator", "POST", "/reports/import", json=file, status=200)
    assert (again["created"], again["unchanged"], again["refused"]) == (0, 2, 0)
    everything = await w.ok("coordinator", "GET", f"/reports?task_id={tasks[0]['id']}")
    assert everything["total"] == 1
    audit = await w.ok("admin", "GET", f"/audit?entity_id={first['id']}&action=report.imported")
    assert [e["actor_id"] for e in audit["items"]] == [w.users["coordinator"]["id"]]


async def test_a_report_the_phone_already_sent_is_unchanged_and_a_bad_one_is_refused_alone(client):
    w, tasks = await _world_with_tasks(client)
    sent = report_body(tasks[0])
    await w.ok("shopper", "POST", "/reports", json=sent, status=201)
    broken = report_body(tasks[1], friendliness=9)  # out of the 1–5 scale
    result = await w.ok("coordinator", "POST", "/reports/import", json=_export(w, [sent, broken], []), status=200)
    outcomes = {r["id"]: r for r in result["reports"]}
    assert outcomes[sent["id"]]["outcome"] == "unchanged"
    refused = outcomes[broken["id"]]
    assert refused["outcome"] == "refused" and refused["code"] == "report.invalid"
    assert [e["field"] for e in refused["errors"]] == ["answers.friendliness"]
    assert (await w.call("coordinator", "GET", f"/reports/{broken['id']}")).status_code == 404


async def test_a_damaged_or_foreign_file_changes_nothing(client):
    w, tasks = await _world_with_tasks(client, 1)
    photo = png(2, 2, seed=3)
    body = report_body(tasks[0])
    file = _export(w, [body], [photo])
    file["attachments"][0]["base64"] = base64.b64encode(photo + b"x").decode()
    response = await w.call("coordinator", "POST", "/reports/import", json=file)
    assert response.status_code == 422 and response.json()["code"] == "import.bad_attachment"
    assert response.json()["errors"][0]["field"] == "attachments[0].sha256"
    file["attachments"][0]["base64"] = "%%% not base64 %%%"
    response = await w.call("coordinator", "POST", "/reports/import", json=file)
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "attachments[0].base64"

    for who in ("coordinator", "manager"):  # not a shopper
        foreign = _export(w, [body], [])
        foreign["shopper_id"] = w.users[who]["id"]
        response = await w.call("coordinator", "POST", "/reports/import", json=foreign)
        assert response.status_code == 422 and response.json()["errors"][0]["field"] == "shopper_id"
    # Another shopper's file cannot deliver this shopper's task.
    other = _export(w, [body], [])
    other["shopper_id"] = w.users["other_shopper"]["id"]
    result = await w.ok("coordinator", "POST", "/reports/import", json=other, status=200)
    assert result["reports"][0]["outcome"] == "refused" and result["reports"][0]["code"] == "task.not_found"
    assert (await w.call("coordinator", "GET", f"/reports/{body['id']}")).status_code == 404
    for who in ("shopper", "manager"):
        response = await w.call(who, "POST", "/reports/import", json=_export(w, [body], []))
        assert response.status_code == 403

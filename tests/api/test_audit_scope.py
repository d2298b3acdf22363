"""The audit log is scoped per role as the objects it describes are: every filter of GET /audit, for
every role, returns exactly the entries an admin sees that the role may see, and nothing else."""

from __future__ import annotations

import datetime as dt
from typing import Any

from backend import db
from backend.audit.service import record
from tests.api.fieldwork import Fieldwork, fieldwork_in_every_state
from tests.world import World, build_world

MANAGER_ACTIONS = {
    "task": {"task.created", "task.submitted", "task.approved"},
    "report": {"report.submitted", "report.approved"},
}


async def _world(client: Any) -> World:
    w = await build_world(client)
    w.users["admin"] = await w.ok("admin", "GET", "/auth/me")
    return w


async def _all(w: World, who: str, **params: Any) -> list[dict[str, Any]]:
    page = await w.ok(who, "GET", "/audit", params={"limit": 500, **params})
    assert page["total"] == len(page["items"]) < 500
    return page["items"]


def _visible_to_coordinator(w: World, hidden_accounts: set[str], entry: dict[str, Any]) -> bool:
    if entry["entity"] in ("client_address", "login"):
        return False
    return not (entry["entity"] == "user" and entry["entity_id"] in hidden_accounts)


def _visible_to_manager(w: World, f: Fieldwork, shared_form_ids: set[str], entry: dict[str, Any]) -> bool:
    entity, entity_id, action = entry["entity"], entry["entity_id"], entry["action"]
    if entity == "task":
        return entity_id == f.approved_task and action in MANAGER_ACTIONS["task"]
    if entity == "report":
        return entity_id == f.approved_report and action in MANAGER_ACTIONS["report"]
    if entity == "organisation":
        return entity_id == w.organisation_id
    if entity == "user":
        return entity_id == w.users["manager"]["id"]
    if entity == "form":
        return entity_id in shared_form_ids
    return False


def _filters(entries: list[dict[str, Any]], w: World, f: Fieldwork) -> list[dict[str, str]]:
    """Every filter alone with every value that occurs (and a few that matter most), plus combinations."""
    times = sorted(e["at"] for e in entries)
    middle = times[len(times) // 2]
    filters: list[dict[str, str]] = [{}]
    filters += [{"entity": v} for v in sorted({e["entity"] for e in entries})]
    filters += [{"action": v} for v in sorted({e["action"] for e in entries})]
    filters += [{"actor_id": v} for v in sorted({e["actor_id"] for e in entries if e["actor_id"]})]
    ids = {w.users[who]["id"] for who in ("admin", "coordinator", "manager", "other_manager", "shopper")}
    ids |= set(f.hidden_tasks.values()) | set(f.hidden_reports.values()) | {f.approved_task, f.approved_report}
    ids |= {w.organisation_id, w.other_organisation_id}
    filters += [{"entity_id": v} for v in sorted(ids)]
    filters += [{"since": middle}, {"until": middle}, {"since": times[0], "until": times[-1]}]
    filters += [
        {"action": "user.created", "entity": "user"},
        {"action": "auth.login", "actor_id": w.users["admin"]["id"]},
        {"action": "auth.login", "actor_id": w.users["manager"]["id"]},
        {"entity": "task", "entity_id": f.approved_task},
        {"entity": "task", "action": "task.assigned"},
        {"entity": "report", "since": middle},
    ]
    return filters


def _matches(entry: dict[str, Any], filters: dict[str, str]) -> bool:
    for name, value in filters.items():
        if name in ("entity", "entity_id", "action", "actor_id") and entry[name] != value:
            return False
        if name == "since" and entry["at"] < value:
            return False
        if name == "until" and entry["at"] > value:
            return False
    return True


async def test_every_audit_filter_for_every_role_shows_only_what_the_role_may_see(client):
    w = await _world(client)
    f = await fieldwork_in_every_state(w)
    async with db.writing():  # security events as the login throttle records them: admins' only
        await record(None, "auth.throttled", "client_address", "203.0.113.7", {"attempts": 11})
        await record(None, "auth.throttled", "login", "9f" * 32, {"attempts": 6})
    everything = await _all(w, "admin")
    assert {"user.created", "auth.login", "task.accepted", "report.returned"} <= {e["action"] for e in everything}
    hidden_accounts = {
        u["id"]
        for u in (await w.ok("admin", "GET", "/users", params={"limit": 500}))["items"]
        if u["role"] != "shopper" and u["id"] != w.users["coordinator"]["id"]
    }
    shared_forms = {
        form["id"] for form in (await w.ok("admin", "GET", "/forms"))["items"] if form["organisation_id"] is None
    }
    shoppers = f.shopper_ids
    manager_id = w.users["manager"]["id"]
    checked = 0
    for filters in _filters(everything, w, f):
        expected = [e for e in everything if _matches(e, filters)]
        assert [e["id"] for e in await _all(w, "admin", **filters)] == [e["id"] for e in expected], filters

        as_coordinator = await _all(w, "coordinator", **filters)
        assert as_coordinator == [e for e in expected if _visible_to_coordinator(w, hidden_accounts, e)], filters
        for email in ("admin@", "manager@", "other_manager@"):
            assert email not in repr(as_coordinator), (filters, email)

        as_manager = await _all(w, "manager", **filters)
        wanted = [e for e in expected if _visible_to_manager(w, f, shared_forms, e)]
        if filters.get("actor_id") not in (None, manager_id):
            wanted = []  # a manager cannot find out whose actions an id stands for
        assert [e["id"] for e in as_manager] == [e["id"] for e in wanted], filters
        for entry in as_manager:
            assert entry["actor_id"] in (None, manager_id), entry
            assert not {s for s in shoppers if s in repr(entry)}, entry
        other = [
            e["id"]
            for e in expected
            if e["entity"] == "user"
            and e["entity_id"] == w.users["other_manager"]["id"]
            or e["entity"] == "organisation"
            and e["entity_id"] == w.other_organisation_id
            or e["entity"] == "form"
            and e["entity_id"] in shared_forms
        ]
        if filters.get("actor_id") not in (None, w.users["other_manager"]["id"]):
            other = []
        assert [e["id"] for e in await _all(w, "other_manager", **filters)] == other, filters
        for who in ("shopper", "other_shopper"):
            response = await w.call(who, "GET", "/audit", params=filters)
            assert response.status_code == 403 and response.json()["code"] == "auth.forbidden_role"
        checked += 1
    assert checked > 40


async def test_a_coordinator_learns_nothing_of_admins_and_managers_from_the_audit_log(client):
    """The defect as found: a coordinator could list every admin's and manager's e-mail and role, and
    their login times, from the audit log, though GET /users/{id} hides those accounts."""
    w = await _world(client)
    created = await _all(w, "coordinator", action="user.created")
    assert {(e["detail"]["role"], e["entity_id"] == w.users["coordinator"]["id"]) for e in created} == {
        ("shopper", False),
        ("coordinator", True),
    }  # shoppers' accounts, and their own
    for who in ("admin", "manager", "other_manager"):
        user_id = w.users[who]["id"]
        assert await _all(w, "coordinator", action="auth.login", actor_id=user_id) == []
        assert await _all(w, "coordinator", entity="user", entity_id=user_id) == []
        assert (await w.call("coordinator", "GET", f"/users/{user_id}")).status_code == 404
    assert len(await _all(w, "admin", actor_id=w.users["admin"]["id"], action="auth.login")) >= 1
    # Their own logins and shoppers' stay in view.
    mine = await _all(w, "coordinator", action="auth.login", actor_id=w.users["coordinator"]["id"])
    assert mine and all(e["entity_id"] == w.users["coordinator"]["id"] for e in mine)
    assert await _all(w, "coordinator", action="auth.login", actor_id=w.users["shopper"]["id"])


async def test_a_manager_reads_the_approved_visit_history_without_who_did_it(client):
    w = await _world(client)
    f = await fieldwork_in_every_state(w)
    trail = await _all(w, "manager", entity="task", entity_id=f.approved_task)
    assert [e["action"] for e in reversed(trail)] == ["task.created", "task.submitted", "task.approved"]
    assert all(e["actor_id"] is None for e in trail)
    staff_trail = await _all(w, "coordinator", entity="task", entity_id=f.approved_task)
    assert "task.assigned" in {e["action"] for e in staff_trail} or any(
        e["detail"].get("status") == "assigned" for e in staff_trail
    )
    for task_id in f.hidden_tasks.values():
        assert await _all(w, "manager", entity_id=task_id) == []
    assert await _all(w, "manager", actor_id=w.users["shopper"]["id"]) == []
    own = await _all(w, "manager", actor_id=w.users["manager"]["id"])
    assert own and {e["action"] for e in own} <= {"auth.login", "auth.logout"}
    since = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)).isoformat()
    assert await _all(w, "manager", since=since) == []

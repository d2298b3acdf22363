"""An admin changes a user's role (PATCH /users/{id} with `role`): creation's organisation rules, the last active
admin kept, the user's sessions ended, the change in the audit log; nobody else may (both engines)."""

from __future__ import annotations

from tests.builders import assert_problem
from tests.world import PASSWORD, World, build_world, new_id


async def _admin(w: World, who: str, *, active: bool = True) -> str:
    user = await w.ok(
        "admin",
        "POST",
        "/users",
        json={"email": f"{who}@example.test", "name": who.title(), "password": PASSWORD, "role": "admin"},
    )
    w.users[who] = user
    w.tokens[who] = await w.login(f"{who}@example.test")
    if not active:
        await w.ok("admin", "PATCH", f"/users/{user['id']}", json={"is_active": False})
    return str(user["id"])


async def _me(w: World, who: str) -> int:
    return (await w.call(who, "GET", "/auth/me")).status_code


async def test_a_role_change_ends_the_sessions_and_is_audited(client):
    w = await build_world(client)
    coordinator = w.users["coordinator"]["id"]
    assert await _me(w, "coordinator") == 200
    changed = await w.ok(
        "admin", "PATCH", f"/users/{coordinator}", json={"role": "manager", "organisation_id": w.organisation_id}
    )
    assert changed["role"] == "manager" and changed["organisation_id"] == w.organisation_id
    assert (await w.ok("admin", "GET", f"/users/{coordinator}"))["role"] == "manager"
    # The old session is over; a new one has the new role (a manager's dashboard, no coordinator's lists).
    assert await _me(w, "coordinator") == 401
    token = await w.login("coordinator@example.test")
    w.tokens["coordinator"] = token
    assert (await w.ok("coordinator", "GET", "/auth/me"))["role"] == "manager"
    assert (await w.call("coordinator", "GET", "/reports/review-queue")).status_code == 403
    entries = await w.ok("admin", "GET", "/audit", params={"entity_id": coordinator, "action": "user.updated"})
    detail = entries["items"][0]["detail"]
    assert detail["role"] == {"from": "coordinator", "to": "manager"}
    assert detail["sessions_revoked"] == 1 and "role" in detail["changed"]
    # A change that keeps the role ends no session.
    await w.ok("admin", "PATCH", f"/users/{coordinator}", json={"role": "manager", "name": "Same Role"})
    assert await _me(w, "coordinator") == 200


async def test_the_role_follows_creations_organisation_rules(client):
    w = await build_world(client)
    manager, coordinator = w.users["manager"]["id"], w.users["coordinator"]["id"]
    # A manager keeps an organisation only as a manager: say organisation_id null with another role.
    kept = await w.call("admin", "PATCH", f"/users/{manager}", json={"role": "coordinator"})
    assert_problem(kept, 422, "validation.failed", "organisation_id")
    for body in ({"role": "manager"}, {"role": "manager", "organisation_id": None}):
        assert_problem(await w.call("admin", "PATCH", f"/users/{coordinator}", json=body), 422, "validation.failed")
    unknown = await w.call(
        "admin", "PATCH", f"/users/{coordinator}", json={"role": "manager", "organisation_id": new_id()}
    )
    assert_problem(unknown, 422, "validation.failed", "organisation_id")
    given = await w.call(
        "admin", "PATCH", f"/users/{coordinator}", json={"role": "shopper", "organisation_id": w.organisation_id}
    )
    assert_problem(given, 422, "validation.failed", "organisation_id")
    # Nothing refused was changed, and no session ended.
    assert (await w.ok("admin", "GET", f"/users/{manager}"))["role"] == "manager"
    assert (await w.ok("admin", "GET", f"/users/{coordinator}"))["role"] == "coordinator"
    assert await _me(w, "manager") == 200 and await _me(w, "coordinator") == 200
    moved = await w.ok("admin", "PATCH", f"/users/{manager}", json={"role": "coordinator", "organisation_id": None})
    assert moved["role"] == "coordinator" and moved["organisation_id"] is None
    # A new shopper gets a shopper's profile (assignment reads it).
    await w.ok("admin", "PATCH", f"/users/{coordinator}", json={"role": "shopper"})
    profile = await w.ok("admin", "GET", f"/users/{coordinator}/shopper-profile")
    assert profile["user_id"] == coordinator and profile["languages"] == []
    bad = await w.call("admin", "PATCH", f"/users/{coordinator}", json={"role": "owner"})
    assert_problem(bad, 400, "request.invalid", "role")


async def test_the_last_active_admin_cannot_stop_being_one(client):
    w = await build_world(client)
    me = (await w.ok("admin", "GET", "/auth/me"))["id"]
    # An inactive admin does not count.
    spare = await _admin(w, "spare", active=False)
    for role in ("coordinator", "manager", "shopper"):
        body = {"role": role, **({"organisation_id": w.organisation_id} if role == "manager" else {})}
        refused = await w.call("admin", "PATCH", f"/users/{me}", json=body)
        assert_problem(refused, 409, "user.last_admin", "role")
    assert (await w.ok("admin", "GET", "/auth/me"))["role"] == "admin"  # unchanged, still logged in
    # With another active admin, an admin may step down (and their own session ends).
    await w.ok("admin", "PATCH", f"/users/{spare}", json={"is_active": True})
    await w.ok("admin", "PATCH", f"/users/{me}", json={"role": "coordinator"})
    assert await _me(w, "admin") == 401
    # Now the other is the last one: neither demoted nor deactivated by a returning admin.
    w.tokens["spare"] = await w.login("spare@example.test")
    assert_problem(
        await w.call("spare", "PATCH", f"/users/{spare}", json={"role": "coordinator"}), 409, "user.last_admin", "role"
    )
    await w.ok("spare", "PATCH", f"/users/{me}", json={"role": "admin"})
    w.tokens["admin"] = await w.login("admin@example.test")
    assert (await w.ok("admin", "GET", "/auth/me"))["role"] == "admin"


async def test_only_an_admin_changes_a_role(client):
    w = await build_world(client)
    shopper = w.users["shopper"]["id"]
    for who in ("coordinator", "manager", "shopper"):
        for target in (shopper, w.users[who]["id"]):  # nobody else's role, nor their own
            refused = await w.call(who, "PATCH", f"/users/{target}", json={"role": "admin"})
            assert_problem(refused, 403, "auth.forbidden_role")
    assert (await w.ok("admin", "GET", f"/users/{shopper}"))["role"] == "shopper"
    for who in ("coordinator", "manager", "shopper"):
        assert (await w.ok("admin", "GET", f"/users/{w.users[who]['id']}"))["role"] == who
    assert_problem(
        await w.call("admin", "PATCH", f"/users/{new_id()}", json={"role": "shopper"}), 404, "user.not_found"
    )

"""Passwords: NIST 800-63B style (length plus a blocklist, no composition rules) wherever one is set,
and changing one's own password (the current one required, other sessions ended, audited)."""

from __future__ import annotations

import pytest

from backend.accounts import throttle
from backend.accounts.password_policy import common_passwords, password_problem
from tests.builders import assert_problem, total
from tests.world import PASSWORD, bearer, build_world

WEAK = ["aaaaaaaaaa", "1234567890", " " * 10, "Password123", "qwertyuiop", "ZZZZZZZZZZZZZZZZ"]
FINE = [PASSWORD, "my dog likes green tea", "Tr0ub4dor&3xyz", "aaaaaaaaab"]


def test_the_blocklist_is_the_shipped_one():
    assert len(common_passwords()) > 19_000
    assert {"1234567890", "qwertyuiop", "password123"} <= common_passwords()


@pytest.mark.parametrize("password", WEAK)
def test_weak_passwords_are_named(password):
    assert password_problem(password) in ("is one character repeated", "is one of the most common passwords")


@pytest.mark.parametrize("password", FINE)
def test_ordinary_passphrases_pass_without_composition_rules(password):
    assert password_problem(password) is None


def test_the_accounts_own_email_is_refused():
    assert (
        password_problem("Someone.Long@Example.test", "someone.long@example.test") == "is the account's e-mail address"
    )


@pytest.mark.parametrize("role", ["admin", "coordinator", "manager", "shopper"])
async def test_weak_passwords_are_refused_for_every_role(client, role):
    w = await build_world(client)
    before = await total(w, "/users")
    for password in ("aaaaaaaaaa", "1234567890", " " * 10):
        body = {"email": f"new-{role}@example.test", "name": "New", "role": role, "password": password}
        if role == "manager":
            body["organisation_id"] = w.organisation_id
        problem = assert_problem(await w.call("admin", "POST", "/users", json=body), 422, "password.weak", "password")
        assert problem["errors"][0]["reason"] in ("is one character repeated", "is one of the most common passwords")
    assert await total(w, "/users") == before


async def test_an_admin_cannot_set_a_weak_password_on_anyone(client):
    w = await build_world(client)
    admin_id = (await w.ok("admin", "GET", "/auth/me"))["id"]
    for user_id in (admin_id, w.users["shopper"]["id"]):
        response = await w.call("admin", "PATCH", f"/users/{user_id}", json={"password": "1234567890", "name": "X"})
        assert_problem(response, 422, "password.weak", "password")
    await w.login("admin@example.test")
    await w.login("shopper@example.test")
    assert (await w.ok("admin", "GET", f"/users/{w.users['shopper']['id']}"))["name"] == "Shopper"


# ---------------------------------------------------------------- changing one's own password

NEW = "a brand new passphrase"


async def test_changing_ones_password_ends_the_other_sessions_and_is_audited(client):
    w = await build_world(client)
    phone = await w.login("shopper@example.test")  # the same shopper, signed in elsewhere
    response = await w.call(
        "shopper", "POST", "/auth/password", json={"current_password": PASSWORD, "new_password": NEW}
    )
    assert response.status_code == 204, response.text
    assert (await w.call("shopper", "GET", "/auth/me")).status_code == 200  # this session goes on
    ended = await client.get("/auth/me", headers=bearer(phone))
    assert ended.status_code == 401 and ended.json()["code"] == "auth.invalid_token"
    assert (
        await client.post("/auth/login", json={"email": "shopper@example.test", "password": PASSWORD})
    ).status_code == 401
    await w.login("shopper@example.test", NEW)
    entries = (await w.ok("admin", "GET", "/audit", params={"action": "user.password_changed"}))["items"]
    assert [(e["actor_id"], e["entity_id"], e["detail"]) for e in entries] == [
        (w.users["shopper"]["id"], w.users["shopper"]["id"], {"sessions_revoked": 1})
    ]


@pytest.mark.parametrize("who", ["admin", "coordinator", "manager", "shopper"])
async def test_a_password_change_needs_the_current_password_and_a_good_new_one(client, who):
    w = await build_world(client)
    email = f"{who}@example.test"
    response = await w.call(
        who, "POST", "/auth/password", json={"current_password": "not-my-password", "new_password": NEW}
    )
    assert_problem(response, 403, "auth.wrong_password", "current_password")
    for weak in ("aaaaaaaaaa", "1234567890", email):
        response = await w.call(
            who, "POST", "/auth/password", json={"current_password": PASSWORD, "new_password": weak}
        )
        assert_problem(response, 422, "password.weak", "new_password")
    response = await w.call(who, "POST", "/auth/password", json={"current_password": PASSWORD, "new_password": "short"})
    assert_problem(response, 400, "request.invalid", "new_password")
    await w.login(email)  # nothing changed
    assert (await w.ok("admin", "GET", "/audit", params={"action": "user.password_changed"}))["total"] == 0


async def test_guessing_the_current_password_with_a_token_is_throttled(client, monkeypatch):
    monkeypatch.setattr(throttle.time, "time", lambda: 1_900_000_000.0)  # no delay runs out meanwhile
    w = await build_world(client)
    statuses = []
    for i in range(8):
        response = await w.call(
            "manager", "POST", "/auth/password", json={"current_password": f"guess-{i:04d}-x", "new_password": NEW}
        )
        statuses.append(response.status_code)
    assert statuses == [403] * 6 + [429] * 2

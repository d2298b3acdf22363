"""The front door: guesses slowed per (account, address) and per address with growing delays, nobody
locked out by a stranger, a bounded number of password hashes at once, old hashes upgraded."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from backend import db
from backend.accounts import throttle
from backend.accounts.security import Passwords
from backend.accounts.tables import User
from backend.app import create_app
from backend.errors import Busy
from backend.settings import Settings
from tests.builders import assert_problem
from tests.conftest import with_replaced
from tests.world import PASSWORD, World, build_world

STRANGER = "203.0.113.66"
OWNER = "198.51.100.7"


@asynccontextmanager
async def from_address(app: Any, address: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The throttle's clock, frozen unless a test moves it."""
    now = [time.time()]
    monkeypatch.setattr(throttle.time, "time", lambda: now[0])
    return now


async def guess(c: httpx.AsyncClient, email: str, password: str = "wrong-password-1") -> httpx.Response:
    return await c.post("/auth/login", json={"email": email, "password": password})


async def audit(w: World, **params: Any) -> list[dict[str, Any]]:
    return (await w.ok("admin", "GET", "/audit", params={"limit": 500, **params}))["items"]


async def test_a_strangers_guesses_do_not_lock_the_owner_out(app, client, clock):
    w = await build_world(client)
    async with from_address(app, STRANGER) as stranger, from_address(app, OWNER) as owner:
        statuses = [(await guess(stranger, "admin@example.test")).status_code for _ in range(12)]
        assert statuses == [401] * 6 + [429] * 6  # five free, the sixth armed a delay
        response = await guess(stranger, "admin@example.test", PASSWORD)
        assert_problem(response, 429, "auth.rate_limited")  # even the right password, from there
        assert int(response.headers["Retry-After"]) >= 1
        for _ in range(3):  # the owner, from their own device, is not held up at all
            assert (await guess(owner, "admin@example.test", PASSWORD)).status_code == 200
    admin_id = (await w.ok("admin", "GET", "/auth/me"))["id"]
    throttled = await audit(w, action="auth.throttled")
    assert [(e["entity"], e["entity_id"], e["detail"]["scope"], e["detail"]["address"]) for e in throttled] == [
        ("user", admin_id, "account_address", STRANGER)
    ]


async def test_delays_grow_and_the_right_password_after_one_gets_in(app, client, clock):
    await build_world(client)
    async with from_address(app, STRANGER) as c:
        for _ in range(5):
            assert (await guess(c, "shopper@example.test")).status_code == 401
        waits = []
        for _ in range(5):
            assert (await guess(c, "shopper@example.test")).status_code == 401  # checked; arms the next delay
            refused = await guess(c, "shopper@example.test")
            assert_problem(refused, 429, "auth.rate_limited")
            waits.append(int(refused.headers["Retry-After"]))
            clock[0] += waits[-1]
        assert waits == [1, 2, 4, 8, 16]
        assert (await guess(c, "shopper@example.test", PASSWORD)).status_code == 200
        # The owner's success cleared that count: five free guesses again.
        assert [(await guess(c, "shopper@example.test")).status_code for _ in range(7)] == [401] * 6 + [429]
        clock[0] += 3601  # quiet for an hour: forgotten
        assert [(await guess(c, "shopper@example.test")).status_code for _ in range(6)] == [401] * 6


async def test_delays_stop_growing_at_the_longest(settings, clock):
    engine = db.create_engine(settings.database_url)
    db.bind(engine)
    await db.open_pool(engine, min_size=1, max_size=2)
    try:
        gate = throttle.LoginThrottle(free=0, free_per_address=1000, first_delay_s=60, max_delay_s=300)
        waits = []
        for _ in range(6):
            verdict = await gate.begin("x@example.test", STRANGER)
            assert verdict.wait_s == 0
            refused = await gate.begin("x@example.test", STRANGER)
            waits.append(refused.wait_s)
            clock[0] += refused.wait_s
        assert waits == [60, 120, 240, 300, 300, 300]
    finally:
        await db.close_pool(engine)


async def test_one_guess_each_at_forty_accounts_from_one_address_is_throttled(app, client, clock):
    w = await build_world(client)
    emails = ["admin@example.test", "coordinator@example.test", "manager@example.test", "shopper@example.test"]
    emails += [f"person{i}@example.test" for i in range(36)]
    async with from_address(app, STRANGER) as stranger, from_address(app, OWNER) as owner:
        statuses = [(await guess(stranger, email)).status_code for email in emails]
        assert statuses == [401] * 21 + [429] * 19
        assert (await guess(owner, "person39@example.test")).status_code == 401  # elsewhere, not slowed
        assert (await guess(owner, "shopper@example.test", PASSWORD)).status_code == 200
    entries = await audit(w, action="auth.throttled", entity="client_address")
    assert [(e["entity_id"], e["detail"]["scope"], e["detail"]["attempts"]) for e in entries] == [
        (STRANGER, "address", 21)
    ]


async def test_signing_in_to_ones_own_account_does_not_wipe_out_guesses(app, client, clock):
    await build_world(client)
    async with from_address(app, STRANGER) as c:
        for i in range(20):
            assert (await guess(c, f"person{i}@example.test")).status_code == 401
            assert (await guess(c, "shopper@example.test", PASSWORD)).status_code == 200
        assert (await guess(c, "person20@example.test")).status_code == 401  # the 21st guess arms the delay
        assert (await guess(c, "person21@example.test")).status_code == 429


async def test_guesses_sent_at_once_each_count(app, client, clock):
    """The password is checked off the event loop: every guess in flight must already count."""
    await build_world(client)
    async with from_address(app, STRANGER) as c:
        guesses = await asyncio.gather(*(guess(c, "shopper@example.test", f"guess-{i:04d}-x") for i in range(40)))
    assert sorted(r.status_code for r in guesses) == [401] * 6 + [429] * 34


async def test_the_throttle_is_shared_by_server_processes(app, client, settings, clock):
    """Each server process is its own app: the counts are in the database, whichever process a guess reaches."""
    await build_world(client)
    other = create_app(settings, db.engine())  # a second process's app, on the same database
    async with from_address(app, STRANGER) as first, from_address(other, STRANGER) as second:
        for i in range(6):
            assert (await guess((first, second)[i % 2], "shopper@example.test")).status_code == 401
        for c in (first, second):
            assert_problem(await guess(c, "shopper@example.test", PASSWORD), 429, "auth.rate_limited")


# ---------------------------------------------------------------- the cost of a guess


class Spy:
    """Argon2's PasswordHasher with some methods wrapped (its attributes cannot be set)."""

    def __init__(self, inner: Any, **wrappers: Callable[..., Any]) -> None:
        self._inner, self._wrappers = inner, wrappers

    def __getattr__(self, name: str) -> Any:
        real = getattr(self._inner, name)
        wrapper = self._wrappers.get(name)
        return (lambda *args: wrapper(real, *args)) if wrapper else real


async def test_unknown_emails_are_checked_against_a_real_hash(client, app):
    """A login for an unregistered e-mail runs the same Argon2 verification as one for a real account,
    so the time taken does not tell which e-mails are registered."""
    await build_world(client)
    passwords: Passwords = app.dependencies["passwords"].dependency()
    checked: list[str] = []

    def verify(real: Callable[[str, str], bool], hash_: str, password: str) -> bool:
        checked.append(hash_)
        return real(hash_, password)

    passwords._hasher = Spy(passwords._hasher, verify=verify)
    for email in ("nobody@example.test", "shopper@example.test"):
        assert (await guess(client, email)).status_code == 401
    assert len(checked) == 2 and all(h.startswith("$argon2id$") for h in checked)
    assert checked[0] == passwords._dummy


async def test_a_login_that_finds_every_hashing_slot_taken_is_503_and_not_counted(client, settings):
    app = create_app(with_replaced(settings, password_hash_concurrency=1, password_hash_wait_s=0.05), db.engine())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        await build_world(c)
        passwords: Passwords = app.dependencies["passwords"].dependency()
        await passwords._slots.acquire()  # another sign-in is being checked
        try:
            for _ in range(8):
                response = await guess(c, "shopper@example.test")
                assert_problem(response, 503, "server.busy")
                assert int(response.headers["Retry-After"]) >= 1
        finally:
            passwords._slots.release()
        # None of those was a guess: the owner still has every free attempt and signs in.
        assert [(await guess(c, "shopper@example.test")).status_code for _ in range(5)] == [401] * 5
        assert (await guess(c, "shopper@example.test", PASSWORD)).status_code == 200


async def test_at_most_the_configured_number_of_hashes_run_at_once():
    passwords = Passwords(time_cost=1, memory_kib=8192, concurrency=2, max_wait_s=30)
    running, most = 0, 0

    def tracked(real: Callable[[str], str], password: str) -> str:
        nonlocal running, most
        running += 1
        most = max(most, running)
        try:
            time.sleep(0.02)
            return real(password)
        finally:
            running -= 1

    passwords._hasher = Spy(passwords._hasher, hash=tracked)
    await asyncio.gather(*(passwords.hash(f"password-{i}") for i in range(12)))
    assert most == 2


async def test_a_busy_hasher_refuses_after_its_wait():
    passwords = Passwords(time_cost=1, memory_kib=8192, concurrency=1, max_wait_s=0.05)
    await passwords._slots.acquire()
    with pytest.raises(Busy):
        await passwords.verify(None, "anything-at-all")
    passwords._slots.release()
    assert await passwords.verify(await passwords.hash("anything-at-all"), "anything-at-all")


async def test_an_old_hash_is_upgraded_at_the_next_login(client, app):
    """Hashes made with other Argon2 parameters (the old 64 MiB default) still work and are replaced."""
    w = await build_world(client)
    old = Passwords(time_cost=2, memory_kib=4096, parallelism=2)
    old_hash = await old.hash(PASSWORD)
    shopper = uuid.UUID(w.users["shopper"]["id"])
    await User.update({User.password_hash: old_hash}).where(User.id == shopper)
    await w.login("shopper@example.test")
    stored = (await User.select(User.password_hash).where(User.id == shopper).first())["password_hash"]
    passwords: Passwords = app.dependencies["passwords"].dependency()
    assert stored != old_hash and not passwords.needs_rehash(stored)
    assert "m=8192,t=1,p=1" in stored  # the test settings' parameters
    await w.login("shopper@example.test")  # and the new hash works
    logins = await audit(w, action="auth.login", entity_id=str(shopper))
    assert sum(bool(e["detail"].get("rehashed")) for e in logins) == 1


def test_the_default_argon2_parameters_are_owasps():
    passwords = Settings(database_url="sqlite:///x", data_dir=Path("x")).passwords()
    assert passwords._dummy.startswith("$argon2id$v=19$m=19456,t=2,p=1$")

"""The login throttle: password guesses per (account, client address) and per client address, with
delays that grow, counted in the database so every server process (and host) shares them.

Why these keys: counted per account alone, anyone could lock anyone out (ten wrong passwords and the
owner, admin included, was refused for 15 minutes, renewable forever), while one guess each at many
accounts was never slowed. Counted per (account, address), a stranger's guesses slow the stranger,
not the owner signing in from their own device; counted per address too, one address guessing across
many accounts is slowed. There is deliberately no limit per account from all addresses together: it
would hand the lock-out back to whoever can send requests from many addresses.

How: each key gets `free` guesses; every guess after that arms a delay before the next one is
looked at, doubling from `first_delay_s` up to `max_delay_s`. A guess sent while a delay runs is
refused (429 with the seconds left) and not counted. A key quiet for `forget_after_s` starts afresh.
A success clears its (account, address) key and takes back its own count from the address key, with
the delay it armed if it was the one past the free guesses (not more, so signing in to one's own
account cannot wipe out guesses at others'). Each guess is counted
before its password is checked, in one atomic upsert per key, so guesses sent at once each count.
"""

from __future__ import annotations

import hashlib
import math
import re
import time
from dataclasses import dataclass
from typing import Any

from backend import db

# One statement per key, atomic on both engines (PostgreSQL locks the row; SQLite writes one at a
# time). SET expressions read the row as it was before this statement, on both engines.
_COUNT_SQL = """
    INSERT INTO login_throttle (throttle_key, attempts, delay_s, locked_until, last_at, refused)
    VALUES (:key, 1, :first_delay, :first_lock, :now, FALSE)
    ON CONFLICT (throttle_key) DO UPDATE SET
        refused = CASE WHEN login_throttle.last_at <= :forget THEN FALSE
                       ELSE login_throttle.locked_until > :now END,
        attempts = CASE WHEN login_throttle.last_at <= :forget THEN 1
                        WHEN login_throttle.locked_until > :now THEN login_throttle.attempts
                        ELSE login_throttle.attempts + 1 END,
        delay_s = CASE WHEN login_throttle.last_at <= :forget THEN :first_delay
                       WHEN login_throttle.locked_until > :now OR login_throttle.attempts + 1 <= :free
                           THEN login_throttle.delay_s
                       WHEN login_throttle.attempts = :free THEN :first_delay
                       ELSE LEAST_DELAY END,
        locked_until = CASE WHEN login_throttle.last_at <= :forget THEN :first_lock
                            WHEN login_throttle.locked_until > :now THEN login_throttle.locked_until
                            WHEN login_throttle.attempts + 1 <= :free THEN 0
                            WHEN login_throttle.attempts = :free THEN :first_unlock
                            ELSE :now + LEAST_DELAY END,
        last_at = :now
    RETURNING attempts, locked_until, delay_s, refused
"""
# The next delay: twice the last, at most the longest (MIN of two values is spelt differently by the
# two engines).
_LEAST = "CASE WHEN login_throttle.delay_s * 2 < :max_delay THEN login_throttle.delay_s * 2 ELSE :max_delay END"
_COUNT_SQL = _COUNT_SQL.replace("LEAST_DELAY", _LEAST)
_NAMED = re.compile(r":([a-z_]+)")


def _run(session: db.Session, method: str, sql: str, **values: Any) -> Any:
    """Named parameters for readability; the session takes `?` in order."""
    names = _NAMED.findall(sql)
    return getattr(session, method)(_NAMED.sub("?", sql), *(values[name] for name in names))


# Forgotten keys are deleted now and then, not on every guess: a guess under a flood costs less, and
# the upsert starts a key afresh whether or not its old row is still there.
PURGE_EVERY_S = 60.0
_PURGE_SQL = "DELETE FROM login_throttle WHERE last_at <= :forget AND locked_until <= :now"
_CLEAR_SQL = "DELETE FROM login_throttle WHERE throttle_key = :key"
# Takes back one counted guess, and the delay it armed if it was the one that went past the free ones.
_REFUND_SQL = """
    UPDATE login_throttle SET attempts = attempts - 1,
        locked_until = CASE WHEN attempts - 1 <= :free THEN 0 ELSE locked_until END
    WHERE throttle_key = :key AND attempts > 0
"""


def _key(*parts: str) -> str:
    # Hashed: the throttle keeps neither the e-mails people typed nor, in the clear, where from.
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def account_key(email: str, address: str) -> str:
    return _key("account", email, address)


def address_key(address: str) -> str:
    return _key("address", address)


@dataclass(frozen=True, slots=True)
class Engaged:
    """A delay this guess armed: worth an audit entry if the guess turns out wrong."""

    scope: str  # "account_address" | "address"
    attempts: int
    delay_s: float


@dataclass(frozen=True, slots=True)
class Verdict:
    wait_s: int  # > 0: refused, retry after this many seconds
    engaged: tuple[Engaged, ...] = ()


class LoginThrottle:
    def __init__(
        self,
        *,
        free: int = 5,
        free_per_address: int = 20,
        first_delay_s: float = 1.0,
        max_delay_s: float = 900.0,
        forget_after_s: float = 3600.0,
    ) -> None:
        self.free = free
        self.free_per_address = free_per_address
        self.first_delay_s = first_delay_s
        self.max_delay_s = max_delay_s
        self.forget_after_s = forget_after_s
        self._next_purge = 0.0

    async def begin(self, email: str, address: str) -> Verdict:
        """Count a guess at `email` from `address` before its password is checked; refused (wait_s > 0)
        while a delay runs on either key. The guess stays counted unless `succeeded` or `refund`."""
        now = time.time()
        forget = now - self.forget_after_s
        results = []
        purge = now >= self._next_purge
        if purge:
            self._next_purge = now + PURGE_EVERY_S
        async with db.writing():
            session = db.session()
            if purge:
                await _run(session, "fetch", _PURGE_SQL, forget=forget, now=now)
            for scope, key, free in (
                ("account_address", account_key(email, address), self.free),
                ("address", address_key(address), self.free_per_address),
            ):
                row = await _run(
                    session,
                    "fetchrow",
                    _COUNT_SQL,
                    key=key,
                    now=now,
                    forget=forget,
                    free=free,
                    first_delay=self.first_delay_s,
                    first_unlock=now + self.first_delay_s,
                    max_delay=self.max_delay_s,
                    first_lock=now + self.first_delay_s if free == 0 else 0.0,
                )
                assert row is not None
                results.append((scope, row))
        waits = [row["locked_until"] - now for _, row in results if row["refused"]]
        if waits:
            return Verdict(wait_s=max(1, math.ceil(max(waits))))
        engaged = tuple(
            Engaged(scope, row["attempts"], row["delay_s"]) for scope, row in results if row["locked_until"] > now
        )
        return Verdict(wait_s=0, engaged=engaged)

    async def succeeded(self, email: str, address: str) -> None:
        async with db.writing():
            session = db.session()
            await _run(session, "fetch", _CLEAR_SQL, key=account_key(email, address))
            await _run(session, "fetch", _REFUND_SQL, key=address_key(address), free=self.free_per_address)

    async def refund(self, email: str, address: str) -> None:
        """Take back a counted guess whose password was never checked (the server was too busy)."""
        async with db.writing():
            session = db.session()
            for key, free in ((account_key(email, address), self.free), (address_key(address), self.free_per_address)):
                await _run(session, "fetch", _REFUND_SQL, key=key, free=free)

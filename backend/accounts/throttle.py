"""The login throttle: failed logins per account, counted in the database.

Counted in process memory, the limit was per server process, so `--workers N` (or N hosts) allowed
N times the guesses. Here every process counts in one row per account (`login_failures`), in one
atomic upsert: concurrent guesses each get their own count, whichever process they reach.

The window is fixed, not sliding: the first failure opens it; the attempt that takes the count past
the limit, and every one after it until the window has passed, is refused with the seconds left.
"""

from __future__ import annotations

import hashlib
import math
import time

from backend import db

# One statement, atomic on both engines (PostgreSQL locks the row for the update; SQLite writes one
# at a time): a fresh or expired row starts a new window at 1, otherwise the count goes up.
_COUNT_SQL = """
    INSERT INTO login_failures (email_key, failures, window_start) VALUES (?, 1, ?)
    ON CONFLICT (email_key) DO UPDATE SET
        failures = CASE WHEN login_failures.window_start <= ? THEN 1 ELSE login_failures.failures + 1 END,
        window_start = CASE WHEN login_failures.window_start <= ? THEN excluded.window_start
                            ELSE login_failures.window_start END
    RETURNING failures, window_start
"""
_PURGE_SQL = "DELETE FROM login_failures WHERE window_start <= ?"
_CLEAR_SQL = "DELETE FROM login_failures WHERE email_key = ?"


def email_key(email: str) -> str:
    return hashlib.sha256(email.encode()).hexdigest()


class LoginThrottle:
    """At most `max_failures` failed logins per account in `window_s` seconds, across processes."""

    def __init__(self, max_failures: int, window_s: int) -> None:
        self.max_failures = max_failures
        self.window_s = window_s

    async def begin(self, email: str) -> int:
        """Count an attempt before its password is checked (guesses sent at once each count) and
        return the seconds to wait when it is over the limit, else 0. The attempt stays counted as a
        failure unless `succeeded` clears the account's count."""
        now = time.time()
        expired = now - self.window_s
        async with db.writing():
            session = db.session()
            await session.fetch(_PURGE_SQL, expired)  # windows that have passed, of any account
            row = await session.fetchrow(_COUNT_SQL, email_key(email), now, expired, expired)
        assert row is not None
        if row["failures"] <= self.max_failures:
            return 0
        return max(1, math.ceil(row["window_start"] + self.window_s - now))

    async def succeeded(self, email: str) -> None:
        async with db.writing():
            await db.session().fetch(_CLEAR_SQL, email_key(email))

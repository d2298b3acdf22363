"""Password hashing (Argon2), bearer tokens, the login throttle, and the authenticated actor."""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from collections import deque
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from api_schemas.accounts import Role


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is making the request: what every service call is scoped by."""

    user_id: uuid.UUID
    role: Role
    organisation_id: uuid.UUID | None
    token_id: uuid.UUID | None = None

    @property
    def is_staff(self) -> bool:
        return self.role in (Role.admin, Role.coordinator)


class Passwords:
    def __init__(self, *, time_cost: int, memory_kib: int) -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib)
        # Verifying against this when the user does not exist keeps timing the same.
        self._dummy = self._hasher.hash(secrets.token_hex(16))

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash or self._dummy, password) and password_hash is not None
        except (VerificationError, InvalidHashError):
            return False


def new_token() -> tuple[str, str]:
    """A fresh bearer token and the hash that is stored."""
    token = "fs_" + secrets.token_urlsafe(32)
    return token, token_hash(token)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class LoginThrottle:
    """Counts failed logins per e-mail in a sliding window (per process)."""

    def __init__(self, max_failures: int, window_s: int) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self._failures: dict[str, deque[float]] = {}

    def retry_after(self, email: str) -> int:
        """Seconds to wait before another attempt is allowed; 0 when allowed now."""
        now = time.monotonic()
        failures = self._failures.get(email)
        if failures is None:
            return 0
        while failures and failures[0] <= now - self.window_s:
            failures.popleft()
        if not failures:
            del self._failures[email]  # e-mails that never log in do not pile up
            return 0
        if len(failures) < self.max_failures:
            return 0
        return max(1, int(failures[0] + self.window_s - now) + 1)

    def begin(self, email: str) -> int:
        """Check and count an attempt in one step, before the password is verified (off the event loop):
        guesses sent at once are each counted, instead of all passing the check before any failure is
        recorded. Returns the seconds to wait (the attempt is refused and not counted), or 0; the
        attempt counts as a failure until `succeeded` clears the account's count."""
        wait = self.retry_after(email)
        if not wait:
            self._failures.setdefault(email, deque()).append(time.monotonic())
        return wait

    def succeeded(self, email: str) -> None:
        self._failures.pop(email, None)

"""Password hashing (Argon2id, a bounded number at once), bearer tokens, and the authenticated actor."""

from __future__ import annotations

import hashlib
import math
import os
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import anyio
import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from api_schemas.accounts import Role
from backend.errors import Busy

T = TypeVar("T")

# Argon2id at OWASP's current recommendation (Password Storage Cheat Sheet: m=19 MiB, t=2, p=1).
# What a login flood multiplies is the memory of each hash: argon2-cffi's default (RFC 9106's
# low-memory profile, 64 MiB, t=3, p=4) made 40 logins at once cost 2.3 GiB. At 19 MiB the cost to a
# guesser is kept by the second pass, and the number of hashes at once is bounded below, so a flood
# costs at most `concurrency` x 19 MiB. Hashes made with other parameters still verify and are
# replaced at the next successful login (`needs_rehash`).
ARGON2_TIME_COST = 2
ARGON2_MEMORY_KIB = 19 * 1024
ARGON2_PARALLELISM = 1


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
    """Hashes and verifies passwords in worker threads, at most `concurrency` at once in this process.

    A hash is CPU and memory bound: more at once than cores only queues them inside the threads while
    holding their memory, and starves the event loop. A request waits up to `max_wait_s` for a slot, then is refused (503
    `server.busy` with Retry-After) rather than piling up.
    """

    def __init__(
        self,
        *,
        time_cost: int = ARGON2_TIME_COST,
        memory_kib: int = ARGON2_MEMORY_KIB,
        parallelism: int = ARGON2_PARALLELISM,
        concurrency: int | None = None,
        max_wait_s: float = 2.0,
    ) -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)
        # Verifying against this when the user does not exist costs what a real check costs, so the
        # time taken does not tell whether an e-mail is registered.
        self._dummy = self._hasher.hash(secrets.token_hex(16))
        # Half the cores by default: hashes are pure CPU, and the event loop (everything else the
        # server answers, /health included) needs a core of its own while a flood of logins is checked.
        self.concurrency = concurrency or max(1, (os.cpu_count() or 2) // 2)
        self._slots = anyio.Semaphore(self.concurrency)
        self.max_wait_s = max_wait_s

    async def _in_slot(self, fn: Callable[..., T], *args: object) -> T:
        with anyio.move_on_after(self.max_wait_s) as waiting:
            await self._slots.acquire()
        if waiting.cancelled_caught:
            retry = max(1, math.ceil(self.max_wait_s))
            raise Busy("Too many sign-ins at once; try again in a moment.", headers={"Retry-After": str(retry)})
        try:
            return await anyio.to_thread.run_sync(fn, *args)
        finally:
            self._slots.release()

    async def hash(self, password: str) -> str:
        return await self._in_slot(self._hasher.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        return await self._in_slot(self._check, password_hash, password)

    def _check(self, password_hash: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash or self._dummy, password) and password_hash is not None
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        """A hash made with other parameters than today's (e.g. before they were lowered to OWASP's)."""
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True


def new_token() -> tuple[str, str]:
    """A fresh bearer token and the hash that is stored."""
    token = "fs_" + secrets.token_urlsafe(32)
    return token, token_hash(token)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()

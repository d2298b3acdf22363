"""Password hashing (Argon2), bearer tokens, and the authenticated actor."""

from __future__ import annotations

import hashlib
import secrets
import uuid
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

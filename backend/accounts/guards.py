"""Authentication middleware and the one guard every route carries.

Each route handler declares who may call it in `opt={"roles": ...}`; a route without that
declaration is refused to everyone (fail closed), and the route × role test enumerates the
app's routes to prove every route has one.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from api_schemas.accounts import Role
from backend import db, moments
from backend.accounts.security import Actor, token_hash
from backend.errors import Forbidden, Unauthenticated

PUBLIC = "public"
ALL_ROLES: tuple[Role, ...] = tuple(Role)
STAFF: tuple[Role, ...] = (Role.admin, Role.coordinator)
ADMIN: tuple[Role, ...] = (Role.admin,)


def roles(*allowed: Role | str) -> dict[str, Any]:
    """The `opt` of a route handler: who may call it."""
    if allowed == (PUBLIC,):
        return {"roles": PUBLIC, "exclude_from_auth": True}
    return {"roles": tuple(Role(r) for r in allowed)}


_TOKEN_SQL = """
    SELECT t.id, t.expires_at, t.revoked_at, u.id AS user_id, u.role, u.organisation AS organisation_id,
           u.is_active
    FROM access_token t JOIN app_user u ON u.id = t."user"
    WHERE t.token_hash = ?
"""


class BearerTokenMiddleware(AbstractAuthenticationMiddleware):
    async def authenticate_request(self, connection: ASGIConnection[Any, Any, Any, Any]) -> AuthenticationResult:
        header = connection.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("Send 'Authorization: Bearer <token>'; get a token from POST /auth/login.")
        async with db.reading() as session:  # every request passes here: hand-written SQL
            row = await session.fetchrow(_TOKEN_SQL, token_hash(token.strip()))
        now = moments.now()
        if row is None or row["revoked_at"] is not None or not row["is_active"]:
            raise Unauthenticated(
                "The token is unknown, revoked, or its user is deactivated.", code="auth.invalid_token"
            )
        expires_at = row["expires_at"]
        if expires_at.tzinfo is None:
            expires_at = expires_at.replace(tzinfo=dt.timezone.utc)
        if expires_at <= now:
            raise Unauthenticated("The token has expired; log in again.", code="auth.token_expired")
        actor = Actor(
            user_id=row["user_id"],
            role=Role(row["role"]),
            organisation_id=row["organisation_id"],
            token_id=row["id"],
        )
        return AuthenticationResult(user=actor, auth=row["id"])


async def requires_roles(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    allowed = handler.opt.get("roles")
    if allowed == PUBLIC:
        return
    if not allowed:
        raise Forbidden(f"Route {handler} declares no roles, so nobody may call it.")
    actor: Actor = connection.user
    if actor.role not in allowed:
        raise Forbidden(f"Role '{actor.role.value}' may not do this.", code="auth.forbidden_role")


def provide_actor(request: Request[Any, Any, Any]) -> Actor:
    actor: Actor = request.user  # set by the authentication middleware on every route that is not public
    return actor

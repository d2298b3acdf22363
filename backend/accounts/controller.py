"""Accounts HTTP API: login, organisations, users, shopper profiles."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, get, patch, post, put
from litestar.params import FromPath, FromQuery, JSONBody

from api_schemas.accounts import (
    LoginRequest,
    Organisation,
    OrganisationCreate,
    OrganisationUpdate,
    PasswordChange,
    Role,
    ShopperProfile,
    ShopperProfileUpdate,
    Token,
    User,
    UserCreate,
    UserUpdate,
)
from api_schemas.common import Page
from backend.accounts import service
from backend.accounts.guards import ADMIN, ALL_ROLES, PUBLIC, STAFF, requires_roles, roles
from backend.deps import ActorDep, PageDep, PasswordsDep, SettingsDep, ThrottleDep
from backend.openapi import problems
from backend.pagination import Search
from backend.visible_filters import require_visible


def client_address(request: Request[Any, Any, Any]) -> str:
    """Where a request comes from, as the ASGI server reports it: behind a proxy, uvicorn takes
    X-Forwarded-For from the proxies named in FORWARDED_ALLOW_IPS (127.0.0.1 by default)."""
    return request.client.host if request.client else "unknown"


class AuthController(Controller):
    path = "/auth"
    tags = ["auth"]
    guards = [requires_roles]

    @post(
        "/login",
        operation_id="Login",
        opt=roles(PUBLIC),
        status_code=200,
        responses=problems(401, 429, 503, public=True),
    )
    async def login(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[LoginRequest],
        passwords: PasswordsDep,
        login_throttle: ThrottleDep,
        settings: SettingsDep,
    ) -> Token:
        """Exchange e-mail and password for a bearer token (`access_token`; send it as `Authorization: Bearer
        <token>`), valid until `expires_at`, with the user it belongs to.

        Problems: 401 `auth.invalid_credentials` (which of the two was wrong is not said); 429 `auth.rate_limited`
        with Retry-After after repeated wrong guesses (slowed per account and client address, and per address);
        503 `server.busy` with Retry-After when the server is busy checking other passwords.
        """
        return await service.login(data, passwords, login_throttle, settings.token_ttl_hours, client_address(request))

    @post(
        "/password",
        operation_id="ChangePassword",
        opt=roles(*ALL_ROLES),
        status_code=204,
        responses=problems(403, 422, 429, 503),
    )
    async def change_password(
        self,
        request: Request[Any, Any, Any],
        actor: ActorDep,
        data: JSONBody[PasswordChange],
        passwords: PasswordsDep,
        login_throttle: ThrottleDep,
    ) -> None:
        """Change your own password. The current one is required; your other sessions end, this one stays.

        Problems: 403 `auth.wrong_password` (the current password is wrong; repeated guesses are slowed like
        logins: 429 `auth.rate_limited`); 422 `password.weak` (too short, too common, one character repeated, or
        containing the e-mail); 503 `server.busy` with Retry-After.
        """
        await service.change_password(actor, data, passwords, login_throttle, client_address(request))

    @post("/logout", operation_id="Logout", opt=roles(*ALL_ROLES), status_code=204, responses=problems())
    async def logout(self, actor: ActorDep) -> None:
        """Revoke the token used for this request (other sessions of the same user stay). A revoked token answers
        401 `auth.invalid_token` from then on.
        """
        await service.logout(actor)

    @get("/me", operation_id="GetMe", opt=roles(*ALL_ROLES), responses=problems())
    async def me(self, actor: ActorDep) -> User:
        """The user the token belongs to: id, e-mail, name, role and (managers) organisation. Use it after logging in
        to learn your own id (a shopper's id is the `shopper_id` of their tasks).
        """
        return await service.get_user_unscoped(actor.user_id)


class OrganisationController(Controller):
    path = "/organisations"
    tags = ["organisations"]
    guards = [requires_roles]

    @get(
        "/",
        operation_id="ListOrganisations",
        opt=roles(Role.admin, Role.coordinator, Role.manager),
        responses=problems(),
    )
    async def list_organisations(self, actor: ActorDep, page: PageDep, q: Search = None) -> Page[Organisation]:
        """Client organisations by name (`q` searches the name); a manager sees only their own."""
        return await service.list_organisations(actor, page, q)

    @post("/", operation_id="CreateOrganisation", opt=roles(*ADMIN), responses=problems(409))
    async def create_organisation(self, actor: ActorDep, data: JSONBody[OrganisationCreate]) -> Organisation:
        """Create a client organisation: the company whose locations are shopped and whose managers read the results.
        Then mark its own and competitor brands (PUT /organisations/{organisation_id}/brands/{brand_id}).

        Problems: 409 `organisation.duplicate_name`.
        """
        return await service.create_organisation(actor, data)

    @get(
        "/{organisation_id:uuid}",
        operation_id="GetOrganisation",
        opt=roles(Role.admin, Role.coordinator, Role.manager),
        responses=problems(404),
    )
    async def get_organisation(self, actor: ActorDep, organisation_id: FromPath[uuid.UUID]) -> Organisation:
        """One organisation. A manager may read only their own; any other id is 404 like a made-up one.

        Problems: 404 `organisation.not_found`.
        """
        return await service.get_organisation(actor, organisation_id)

    @patch(
        "/{organisation_id:uuid}", operation_id="UpdateOrganisation", opt=roles(*ADMIN), responses=problems(404, 409)
    )
    async def update_organisation(
        self, actor: ActorDep, organisation_id: FromPath[uuid.UUID], data: JSONBody[OrganisationUpdate]
    ) -> Organisation:
        """Rename an organisation.

        Problems: 404 `organisation.not_found`; 409 `organisation.duplicate_name`.
        """
        return await service.update_organisation(actor, organisation_id, data)


class UserController(Controller):
    path = "/users"
    tags = ["users"]
    guards = [requires_roles]

    @get("/", operation_id="ListUsers", opt=roles(*STAFF), responses=problems(404))
    async def list_users(
        self,
        actor: ActorDep,
        page: PageDep,
        role: FromQuery[Role | None] = None,
        organisation_id: FromQuery[uuid.UUID | None] = None,
        is_active: FromQuery[bool | None] = None,
        q: Search = None,
    ) -> Page[User]:
        """Accounts by e-mail, filtered by role, organisation, active or not, and `q` (e-mail or name). Admins see
        everyone; coordinators see shoppers only, to find whom to assign work to.

        Problems: 404 `organisation.not_found` (an `organisation_id` filter on an organisation that does not exist).
        """
        await require_visible(actor, organisation_id=organisation_id)
        return await service.list_users(actor, page, role, organisation_id, q, is_active)

    @post("/", operation_id="CreateUser", opt=roles(*ADMIN), responses=problems(409, 422))
    async def create_user(self, actor: ActorDep, data: JSONBody[UserCreate], passwords: PasswordsDep) -> User:
        """Create an account: an admin, a coordinator (plans and reviews field work), a manager (reads their
        organisation's results; `organisation_id` required) or a shopper (does visits and calls). The password
        must pass the password policy. A shopper's profile (home, languages, capacity) is set with
        PUT /users/{user_id}/shopper-profile.

        Problems: 409 `user.duplicate_email`; 422 `password.weak`, or `validation.failed` (a manager without an
        organisation, an organisation given to another role, an unknown organisation).
        """
        return await service.create_user(actor, data, passwords)

    @get("/{user_id:uuid}", operation_id="GetUser", opt=roles(*ALL_ROLES), responses=problems(404))
    async def get_user(self, actor: ActorDep, user_id: FromPath[uuid.UUID]) -> User:
        """One account. Admins see anyone, coordinators shoppers (and themselves); everyone else only themselves:
        any other id is 404 like a made-up one.

        Problems: 404 `user.not_found`.
        """
        return await service.get_user(actor, user_id)

    @patch("/{user_id:uuid}", operation_id="UpdateUser", opt=roles(*ADMIN), responses=problems(404, 409, 422))
    async def update_user(
        self, actor: ActorDep, user_id: FromPath[uuid.UUID], data: JSONBody[UserUpdate], passwords: PasswordsDep
    ) -> User:
        """Change a user's name, password, role, organisation, or deactivate them (`is_active: false` ends all their
        sessions at once and refuses their logins). Only the fields sent change. A new `role` follows creation's
        rules with the organisation the user ends up with (a manager needs one, the other roles have none: send
        `organisation_id` with the role when it changes too), ends all the user's sessions (they log in again with
        the new role) and is recorded in the audit log with the old and new role; a new shopper gets a profile.

        Problems: 404 `user.not_found`; 409 `user.last_admin` (the last active admin cannot stop being one); 422
        `password.weak`, or `validation.failed` (an organisation rule broken).
        """
        return await service.update_user(actor, user_id, data, passwords)

    @get(
        "/{user_id:uuid}/shopper-profile",
        operation_id="GetShopperProfile",
        opt=roles(Role.admin, Role.coordinator, Role.shopper),
        responses=problems(404),
    )
    async def get_shopper_profile(self, actor: ActorDep, user_id: FromPath[uuid.UUID]) -> ShopperProfile:
        """A shopper's profile: home coordinates, travel radius, languages, daily and weekly capacity and
        conflict-of-interest exclusions, which auto-assignment and the job board use. A shopper reads their own.

        Problems: 404 `shopper.not_found` (no such shopper, or not visible to the caller).
        """
        return await service.get_shopper_profile(actor, user_id)

    @put(
        "/{user_id:uuid}/shopper-profile",
        operation_id="SetShopperProfile",
        opt=roles(Role.admin, Role.coordinator, Role.shopper),
        responses=problems(404, 422),
    )
    async def set_shopper_profile(
        self, actor: ActorDep, user_id: FromPath[uuid.UUID], data: JSONBody[ShopperProfileUpdate]
    ) -> ShopperProfile:
        """Replace a shopper's profile. Tasks are offered and assigned only within `travel_radius_km` of home, in the
        shopper's languages (`de` serves `de-AT`), within capacity, and never at an excluded brand or location.
        A shopper may edit their own profile and add exclusions, but not remove one (403
        `profile.exclusion_locked`): only a coordinator can lift a declared conflict of interest.

        Problems: 403 `profile.exclusion_locked`; 404 `shopper.not_found`; 422 `validation.failed` (one home
        coordinate without the other).
        """
        return await service.set_shopper_profile(actor, user_id, data)

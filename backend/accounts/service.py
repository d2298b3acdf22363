"""Accounts service: login, organisations, users and shopper profiles, scoped by the actor."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from typing import Any

import msgspec

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
from backend import db
from backend.accounts import tables as t
from backend.accounts.password_policy import password_problem
from backend.accounts.security import Actor, Passwords, new_token
from backend.accounts.throttle import LoginThrottle, Verdict
from backend.audit.service import record
from backend.errors import Busy, Conflict, Forbidden, InvalidInput, NotFound, TooManyRequests, Unauthenticated
from backend.moments import now
from backend.pagination import PageParams, contains, converted_page, scoped_row

_USER_COLUMNS = (
    t.User.id,
    t.User.email,
    t.User.name,
    t.User.role,
    t.User.organisation.as_alias("organisation_id"),
    t.User.is_active,
    t.User.created_at,
)


# ---------------------------------------------------------------- login


async def login(
    data: LoginRequest, passwords: Passwords, throttle: LoginThrottle, ttl_hours: float, address: str
) -> Token:
    email = data.email.strip().lower()
    verdict = await throttle.begin(email, address)
    _refuse_if_throttled(verdict)
    row = await t.User.select(t.User.id, t.User.password_hash, t.User.is_active).where(t.User.email == email).first()
    ok = await _check_guess(passwords, throttle, email, address, row["password_hash"] if row else None, data.password)
    if not ok or row is None or not row["is_active"]:
        await _record_throttling(verdict, row["id"] if row else None, email, address)
        raise Unauthenticated("Wrong e-mail or password.", code="auth.invalid_credentials")
    await throttle.succeeded(email, address)
    rehashed = await _rehash(passwords, row["password_hash"], data.password)
    token, hashed = new_token()
    expires_at = now() + dt.timedelta(hours=ttl_hours)
    async with db.writing():
        await t.AccessToken.insert(
            t.AccessToken(id=uuid.uuid4(), user=row["id"], token_hash=hashed, created_at=now(), expires_at=expires_at)
        )
        if rehashed:
            await t.User.update({t.User.password_hash: rehashed}).where(
                (t.User.id == row["id"]) & (t.User.password_hash == row["password_hash"])
            )
        await record(row["id"], "auth.login", "user", row["id"], {"rehashed": True} if rehashed else None)
    user = await get_user_unscoped(row["id"])
    return Token(access_token=token, token_type="bearer", expires_at=expires_at, user=user)


def _refuse_if_throttled(verdict: Verdict) -> None:
    if verdict.wait_s:
        raise TooManyRequests(
            f"Too many failed sign-ins from here; try again in {verdict.wait_s} s.",
            headers={"Retry-After": str(verdict.wait_s)},
        )


async def _check_guess(
    passwords: Passwords, throttle: LoginThrottle, email: str, address: str, password_hash: str | None, password: str
) -> bool:
    try:
        return await passwords.verify(password_hash, password)
    except Busy:
        await throttle.refund(email, address)  # the password was never checked: not a guess
        raise


async def _rehash(passwords: Passwords, password_hash: str, password: str) -> str | None:
    """The password hashed with today's parameters when the stored hash has older ones."""
    if not passwords.needs_rehash(password_hash):
        return None
    try:
        return await passwords.hash(password)
    except Busy:
        return None  # the next sign-in will do it


async def _record_throttling(verdict: Verdict, user_id: uuid.UUID | None, email: str, address: str) -> None:
    """A wrong guess that armed a delay: audited, so staff see guessing and from where."""
    if not verdict.engaged:
        return
    async with db.writing():
        for engaged in verdict.engaged:
            detail = {
                "scope": engaged.scope,
                "address": address,
                "attempts": engaged.attempts,
                "delay_s": engaged.delay_s,
            }
            if engaged.scope == "address":
                await record(None, "auth.throttled", "client_address", address, detail)
            elif user_id is not None:
                await record(None, "auth.throttled", "user", user_id, detail)
            else:  # an unregistered e-mail: named by its hash, as the throttle keeps it
                await record(None, "auth.throttled", "login", hashlib.sha256(email.encode()).hexdigest(), detail)


async def change_password(
    actor: Actor, data: PasswordChange, passwords: Passwords, throttle: LoginThrottle, address: str
) -> None:
    """The caller's own password, given the current one; every other session of theirs ends."""
    row = await scoped_row(
        t.User.select(t.User.email, t.User.password_hash).where(t.User.id == actor.user_id),
        None,
        NotFound("No such user.", code="user.not_found"),
    )
    _check_new_password(data.new_password, row["email"], "new_password")
    # A token is not the password: someone holding a stolen one may not guess it here unthrottled.
    verdict = await throttle.begin(row["email"], address)
    _refuse_if_throttled(verdict)
    if not await _check_guess(passwords, throttle, row["email"], address, row["password_hash"], data.current_password):
        await _record_throttling(verdict, actor.user_id, row["email"], address)
        raise Forbidden(
            "The current password is wrong.",
            code="auth.wrong_password",
            errors=[("current_password", "does not match")],
        )
    await throttle.succeeded(row["email"], address)
    new_hash = await passwords.hash(data.new_password)
    async with db.writing():
        await t.User.update({t.User.password_hash: new_hash}).where(t.User.id == actor.user_id)
        others = (
            (t.AccessToken.user == actor.user_id)
            & t.AccessToken.revoked_at.is_null()
            & (t.AccessToken.id != actor.token_id)
        )
        revoked = await t.AccessToken.count().where(others)
        await t.AccessToken.update({t.AccessToken.revoked_at: now()}).where(others)
        await record(actor.user_id, "user.password_changed", "user", actor.user_id, {"sessions_revoked": revoked})


def _check_new_password(password: str, email: str, field: str = "password") -> None:
    problem = password_problem(password, email)
    if problem:
        raise InvalidInput(
            f"Choose another password: this one {problem}.", code="password.weak", errors=[(field, problem)]
        )


async def logout(actor: Actor) -> None:
    async with db.writing():
        await t.AccessToken.update({t.AccessToken.revoked_at: now()}).where(t.AccessToken.id == actor.token_id)
        await record(actor.user_id, "auth.logout", "user", actor.user_id)


# ---------------------------------------------------------------- organisations


def _org_scope(actor: Actor) -> Any:
    if actor.role == Role.manager:
        return t.Organisation.id == actor.organisation_id
    if actor.role == Role.shopper:
        raise Forbidden("Shoppers see no organisations.")
    return None


async def list_organisations(actor: Actor, page: PageParams, q: str | None) -> Page[Organisation]:
    query = t.Organisation.select(t.Organisation.id, t.Organisation.name, t.Organisation.created_at).order_by(
        t.Organisation.name
    )
    clauses = (_org_scope(actor), contains(q, t.Organisation.name) if q else None)
    return await converted_page(query, t.Organisation.count(), clauses, page, Organisation)


async def get_organisation(actor: Actor, organisation_id: uuid.UUID) -> Organisation:
    if actor.role == Role.manager and actor.organisation_id != organisation_id:
        raise NotFound("No such organisation.", code="organisation.not_found")
    row = await scoped_row(
        t.Organisation.select(t.Organisation.id, t.Organisation.name, t.Organisation.created_at).where(
            t.Organisation.id == organisation_id
        ),
        None,
        NotFound("No such organisation.", code="organisation.not_found"),
    )
    return msgspec.convert(row, Organisation)


async def create_organisation(actor: Actor, data: OrganisationCreate) -> Organisation:
    async with db.writing():
        if await t.Organisation.exists().where(t.Organisation.name == data.name):
            raise Conflict(
                "An organisation with this name exists.",
                code="organisation.duplicate_name",
                errors=[("name", "already used")],
            )
        org_id = uuid.uuid4()
        await t.Organisation.insert(t.Organisation(id=org_id, name=data.name, created_at=now()))
        await record(actor.user_id, "organisation.created", "organisation", org_id, {"name": data.name})
    return await get_organisation(actor, org_id)


async def update_organisation(actor: Actor, organisation_id: uuid.UUID, data: OrganisationUpdate) -> Organisation:
    async with db.writing():
        await get_organisation(actor, organisation_id)
        if data.name is not msgspec.UNSET:
            clash = await t.Organisation.exists().where(
                (t.Organisation.name == data.name) & (t.Organisation.id != organisation_id)
            )
            if clash:
                raise Conflict(
                    "An organisation with this name exists.",
                    code="organisation.duplicate_name",
                    errors=[("name", "already used")],
                )
            await t.Organisation.update({t.Organisation.name: data.name}).where(t.Organisation.id == organisation_id)
            await record(actor.user_id, "organisation.updated", "organisation", organisation_id, {"name": data.name})
    return await get_organisation(actor, organisation_id)


# ---------------------------------------------------------------- users


async def get_user_unscoped(user_id: uuid.UUID) -> User:
    row = await scoped_row(
        t.User.select(*_USER_COLUMNS).where(t.User.id == user_id),
        None,
        NotFound("No such user.", code="user.not_found"),
    )
    return msgspec.convert(row, User)


async def get_user(actor: Actor, user_id: uuid.UUID) -> User:
    if actor.role != Role.admin and actor.user_id != user_id:
        user = await get_user_unscoped(user_id) if actor.role == Role.coordinator else None
        if user is None or user.role != Role.shopper:
            raise NotFound("No such user.", code="user.not_found")
        return user
    return await get_user_unscoped(user_id)


async def list_users(
    actor: Actor,
    page: PageParams,
    role: Role | None,
    organisation_id: uuid.UUID | None,
    q: str | None,
    is_active: bool | None,
) -> Page[User]:
    query = t.User.select(*_USER_COLUMNS).order_by(t.User.email)
    clauses = [
        # A coordinator sees shoppers only: whom they may assign work to.
        t.User.role == Role.shopper.value if actor.role != Role.admin else None,
        t.User.role == role.value if role else None,
        t.User.organisation == organisation_id if organisation_id else None,
        contains(q, t.User.email, t.User.name) if q else None,
        t.User.is_active == is_active if is_active is not None else None,
    ]
    return await converted_page(query, t.User.count(), clauses, page, User)


async def _check_organisation_rule(role: Role, organisation_id: uuid.UUID | None) -> None:
    if role == Role.manager and organisation_id is None:
        raise InvalidInput(
            "A manager belongs to an organisation.", errors=[("organisation_id", "required for a manager")]
        )
    if role != Role.manager and organisation_id is not None:
        raise InvalidInput(
            "Only managers belong to a client organisation.",
            errors=[("organisation_id", f"must be null for role {role.value}")],
        )
    if organisation_id is not None and not await t.Organisation.exists().where(t.Organisation.id == organisation_id):
        raise InvalidInput("Unknown organisation.", errors=[("organisation_id", "no such organisation")])


async def create_user(actor: Actor, data: UserCreate, passwords: Passwords) -> User:
    email = data.email.strip().lower()
    _check_new_password(data.password, email)
    password_hash = await passwords.hash(data.password)
    async with db.writing():
        await _check_organisation_rule(data.role, data.organisation_id)
        if await t.User.exists().where(t.User.email == email):
            raise Conflict(
                "This e-mail is already registered.",
                code="user.duplicate_email",
                errors=[("email", "already registered")],
            )
        user_id = uuid.uuid4()
        await t.User.insert(
            t.User(
                id=user_id,
                email=email,
                name=data.name,
                role=data.role.value,
                organisation=data.organisation_id,
                password_hash=password_hash,
                is_active=True,
                created_at=now(),
            )
        )
        if data.role == Role.shopper:
            await t.ShopperProfile.insert(t.ShopperProfile(id=uuid.uuid4(), user=user_id, languages=[]))
        await record(actor.user_id, "user.created", "user", user_id, {"email": email, "role": data.role.value})
    return await get_user_unscoped(user_id)


# The advisory lock that takes changes removing an admin one after the other (PostgreSQL runs writers at once).
_ADMIN_LOCK = 0x4144


async def _check_an_admin_remains(user: User, role: Role, is_active: bool) -> None:
    """Inside the caller's write transaction: an active admin may lose the role (or be deactivated) only while
    another active admin remains, or nobody could manage users any more."""
    if user.role != Role.admin or not user.is_active or (role == Role.admin and is_active):
        return
    if db.is_postgres():  # two admins demoting each other at once: the second sees the first's change
        await db.session().connection.execute(f"SELECT pg_advisory_xact_lock({_ADMIN_LOCK})")
    others = await t.User.count().where(
        (t.User.role == Role.admin.value) & (t.User.is_active == True) & (t.User.id != user.id)  # noqa: E712
    )
    if others == 0:
        raise Conflict(
            "This is the last active admin; make another user an admin first.",
            code="user.last_admin",
            errors=[("role" if role != Role.admin else "is_active", "would leave no active admin")],
        )


async def update_user(actor: Actor, user_id: uuid.UUID, data: UserUpdate, passwords: Passwords) -> User:
    values: dict[Any, Any] = {}
    if data.password is not msgspec.UNSET:
        _check_new_password(data.password, (await get_user_unscoped(user_id)).email)
        values[t.User.password_hash] = await passwords.hash(data.password)
    async with db.writing():
        current = await get_user_unscoped(user_id)
        role = current.role if data.role is msgspec.UNSET else data.role
        organisation_id = current.organisation_id if data.organisation_id is msgspec.UNSET else data.organisation_id
        if data.name is not msgspec.UNSET:
            values[t.User.name] = data.name
        if data.organisation_id is not msgspec.UNSET or role != current.role:
            # The role and organisation the user ends up with follow creation's rules.
            await _check_organisation_rule(role, organisation_id)
            if data.organisation_id is not msgspec.UNSET:
                values[t.User.organisation] = data.organisation_id
        role_changed = role != current.role
        if role_changed:
            values[t.User.role] = role.value
            if role == Role.shopper and not await t.ShopperProfile.exists().where(t.ShopperProfile.user == user_id):
                await t.ShopperProfile.insert(t.ShopperProfile(id=uuid.uuid4(), user=user_id, languages=[]))
        if data.is_active is not msgspec.UNSET:
            if not data.is_active and user_id == actor.user_id:
                raise InvalidInput("You cannot deactivate yourself.", errors=[("is_active", "would lock you out")])
            values[t.User.is_active] = data.is_active
        await _check_an_admin_remains(
            current, role, current.is_active if data.is_active is msgspec.UNSET else data.is_active
        )
        if values:
            await t.User.update(values).where(t.User.id == user_id)
        revoked = 0
        if data.is_active is False or data.password is not msgspec.UNSET or role_changed:
            # A deactivated user, a changed password or a changed role ends every session: what a session may do
            # was decided when it began.
            live = (t.AccessToken.user == user_id) & t.AccessToken.revoked_at.is_null()
            revoked = await t.AccessToken.count().where(live)
            await t.AccessToken.update({t.AccessToken.revoked_at: now()}).where(live)
        changed = sorted(k._meta.name for k in values)
        detail: dict[str, Any] = {"changed": changed}
        if role_changed:
            detail |= {"role": {"from": current.role.value, "to": role.value}, "sessions_revoked": revoked}
        await record(actor.user_id, "user.updated", "user", user_id, detail)
    return await get_user_unscoped(user_id)


# ---------------------------------------------------------------- shopper profiles


async def get_shopper_profile(actor: Actor, user_id: uuid.UUID) -> ShopperProfile:
    if actor.role == Role.shopper and actor.user_id != user_id:
        raise NotFound("No such shopper.", code="shopper.not_found")
    row = await scoped_row(
        t.ShopperProfile.select(
            t.ShopperProfile.user.as_alias("user_id"),
            t.ShopperProfile.home_lat,
            t.ShopperProfile.home_lon,
            t.ShopperProfile.languages,
            t.ShopperProfile.travel_radius_km,
            t.ShopperProfile.capacity_per_day,
            t.ShopperProfile.capacity_per_week,
            t.ShopperProfile.excluded_brand_ids,
            t.ShopperProfile.excluded_location_ids,
        ).where(t.ShopperProfile.user == user_id),
        None,
        NotFound("No such shopper.", code="shopper.not_found"),
        load_json=True,
    )
    return msgspec.convert(row, ShopperProfile)


async def set_shopper_profile(actor: Actor, user_id: uuid.UUID, data: ShopperProfileUpdate) -> ShopperProfile:
    if (data.home_lat is None) != (data.home_lon is None):
        field = "home_lon" if data.home_lon is None else "home_lat"
        raise InvalidInput("Give both coordinates of home or neither.", errors=[(field, "missing its pair")])
    async with db.writing():
        stored = await get_shopper_profile(actor, user_id)
        if actor.role == Role.shopper:
            # A shopper may declare conflicts of interest, not lift them: only staff remove an exclusion.
            lifted = [
                (name, f"only a coordinator can remove {len(missing)} of these")
                for name, before, after in (
                    ("excluded_brand_ids", stored.excluded_brand_ids, data.excluded_brand_ids),
                    ("excluded_location_ids", stored.excluded_location_ids, data.excluded_location_ids),
                )
                if (missing := set(before) - set(after))
            ]
            if lifted:
                raise Forbidden(
                    "A shopper cannot remove a conflict-of-interest exclusion; send the current ones with any you add.",
                    code="profile.exclusion_locked",
                    errors=lifted,
                )
        await t.ShopperProfile.update(
            {
                t.ShopperProfile.home_lat: data.home_lat,
                t.ShopperProfile.home_lon: data.home_lon,
                t.ShopperProfile.languages: sorted(set(data.languages)),
                t.ShopperProfile.travel_radius_km: data.travel_radius_km,
                t.ShopperProfile.capacity_per_day: data.capacity_per_day,
                t.ShopperProfile.capacity_per_week: data.capacity_per_week,
                t.ShopperProfile.excluded_brand_ids: sorted({str(b) for b in data.excluded_brand_ids}),
                t.ShopperProfile.excluded_location_ids: sorted({str(x) for x in data.excluded_location_ids}),
            }
        ).where(t.ShopperProfile.user == user_id)
        await record(actor.user_id, "shopper_profile.updated", "user", user_id)
    return await get_shopper_profile(actor, user_id)

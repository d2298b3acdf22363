"""Builds a small world through the real API: an organisation, a user per role, brands, locations."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from api_schemas.accounts import Role, UserCreate
from backend.accounts import service as accounts
from backend.accounts.security import Actor, Passwords

PASSWORD = "correct-horse-battery"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class World:
    client: httpx.AsyncClient
    tokens: dict[str, str] = field(default_factory=dict)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    organisation_id: str = ""
    other_organisation_id: str = ""
    own_brand_id: str = ""
    competitor_brand_id: str = ""
    own_location_id: str = ""
    competitor_location_id: str = ""

    def as_(self, who: str) -> dict[str, str]:
        return bearer(self.tokens[who])

    async def call(self, who: str | None, method: str, url: str, **kw: Any) -> httpx.Response:
        headers = self.as_(who) if who else {}
        return await self.client.request(method, url, headers=headers, **kw)

    async def ok(self, who: str, method: str, url: str, status: int | tuple[int, ...] = (200, 201), **kw: Any) -> Any:
        response = await self.call(who, method, url, **kw)
        expected = status if isinstance(status, tuple) else (status,)
        assert response.status_code in expected, f"{method} {url} → {response.status_code}: {response.text}"
        return response.json() if response.content else None

    async def login(self, email: str, password: str = PASSWORD) -> str:
        response = await self.client.post("/auth/login", json={"email": email, "password": password})
        assert response.status_code == 200, response.text
        return response.json()["access_token"]


async def bootstrap_admin(email: str = "admin@example.test") -> None:
    """The first admin, created the way `fieldscore create-user` does it."""
    system = Actor(user_id=None, role=Role.admin, organisation_id=None)  # type: ignore[arg-type]
    await accounts.create_user(
        system,
        UserCreate(email=email, name="Admin", role=Role.admin, password=PASSWORD),
        Passwords(time_cost=1, memory_kib=8192),
    )


async def build_world(client: httpx.AsyncClient) -> World:
    w = World(client)
    await bootstrap_admin()
    w.tokens["admin"] = await w.login("admin@example.test")
    org = await w.ok("admin", "POST", "/organisations", json={"name": "Acme Telecom"})
    other = await w.ok("admin", "POST", "/organisations", json={"name": "Other Client"})
    w.organisation_id, w.other_organisation_id = org["id"], other["id"]
    specs = {
        "coordinator": {"role": "coordinator"},
        "manager": {"role": "manager", "organisation_id": org["id"]},
        "other_manager": {"role": "manager", "organisation_id": other["id"]},
        "shopper": {"role": "shopper"},
        "other_shopper": {"role": "shopper"},
    }
    for who, spec in specs.items():
        email = f"{who}@example.test"
        user = await w.ok(
            "admin", "POST", "/users", json={"email": email, "name": who.title(), "password": PASSWORD, **spec}
        )
        w.users[who] = user
        w.tokens[who] = await w.login(email)
    own = await w.ok("coordinator", "POST", "/brands", json={"name": "Acme"})
    rival = await w.ok("coordinator", "POST", "/brands", json={"name": "Rival"})
    w.own_brand_id, w.competitor_brand_id = own["id"], rival["id"]
    for brand, relation in ((own, "own"), (rival, "competitor")):
        await w.ok(
            "coordinator", "PUT", f"/organisations/{org['id']}/brands/{brand['id']}", json={"relation": relation}
        )
    loc = await w.ok(
        "coordinator",
        "POST",
        "/locations",
        json={
            "brand_id": own["id"],
            "name": "Acme Prague Centre",
            "code": "ACME-PRG-1",
            "region": "Bohemia",
            "district": "Prague 1",
            "address": "Na Příkopě 1",
            "lat": 50.086,
            "lon": 14.425,
            "phone": "+420 222 000 111",
            "timezone": "Europe/Prague",
            "opening_hours": [
                {"day": d, "opens": "09:00", "closes": "18:00"} for d in ("mon", "tue", "wed", "thu", "fri")
            ],
        },
    )
    comp = await w.ok(
        "coordinator",
        "POST",
        "/locations",
        json={
            "brand_id": rival["id"],
            "name": "Rival Brno",
            "region": "Moravia",
            "timezone": "Europe/Prague",
            "lat": 49.195,
            "lon": 16.608,
        },
    )
    w.own_location_id, w.competitor_location_id = loc["id"], comp["id"]
    return w


def new_id() -> str:
    return str(uuid.uuid4())


async def add_shoppers(w: World, n: int, prefix: str = "s", **profile: Any) -> list[str]:
    """n more shoppers (names prefix1..prefixN) logged in; `profile` fields go to their shopper profile."""
    names = []
    for i in range(1, n + 1):
        who = f"{prefix}{i}"
        user = await w.ok(
            "admin",
            "POST",
            "/users",
            json={"email": f"{who}@example.test", "name": who.upper(), "password": PASSWORD, "role": "shopper"},
        )
        w.users[who] = user
        w.tokens[who] = await w.login(f"{who}@example.test")
        if profile:
            await w.ok("coordinator", "PUT", f"/users/{user['id']}/shopper-profile", json=profile)
        names.append(who)
    return names


async def other_organisation_location(w: World, name: str) -> dict[str, Any]:
    """A location of another brand that is the other organisation's own (not visible to w's manager)."""
    brand = await w.ok("coordinator", "POST", "/brands", json={"name": "Other Brand"})
    await w.ok(
        "coordinator", "PUT", f"/organisations/{w.other_organisation_id}/brands/{brand['id']}", json={"relation": "own"}
    )
    return await w.ok(
        "coordinator",
        "POST",
        "/locations",
        json={"brand_id": brand["id"], "name": name, "region": "Wien", "timezone": "Europe/Vienna"},
    )

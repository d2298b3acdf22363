"""Untimed set-up: an admin, organisation, brand, 20 locations, published form and shoppers through the API,
then assigned tasks inserted straight into the database with the columns `tasks.service.create_task` writes."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sqlite3
import uuid
from dataclasses import dataclass

import asyncpg
import httpx

from backend.ids import uuid7
from benchmarks.databases import Database, cli
from tests.api.forms_fixture import SMALL_CALL_FORM

PASSWORD = "bench-password-not-secret"
ADMIN_EMAIL = "bench-admin@example.test"
LOCATIONS = 20
UTC = dt.timezone.utc


@dataclass
class World:
    admin_id: str
    organisation_id: str
    location_ids: list[str]
    form_version_id: str
    shoppers: list[tuple[str, str]]  # (user id, bearer token)


def create_admin(database: Database) -> None:
    """The first admin, the way an operator creates it: `fieldscore create-user`."""
    cli(
        database,
        "create-user",
        "--email",
        ADMIN_EMAIL,
        "--name",
        "Bench Admin",
        "--role",
        "admin",
        extra_env={"FIELDSCORE_PASSWORD": PASSWORD},
    )


def build_world(base_url: str, shoppers: int) -> World:
    with httpx.Client(base_url=base_url, timeout=60) as client:

        def ok(method: str, url: str, token: str | None = None, **kw: object) -> dict:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            response = client.request(method, url, headers=headers, **kw)  # type: ignore[arg-type]
            if response.status_code not in (200, 201):
                raise RuntimeError(f"set-up {method} {url} → {response.status_code}: {response.text}")
            return response.json()

        def login(email: str) -> dict:
            return ok("POST", "/auth/login", json={"email": email, "password": PASSWORD})

        admin = login(ADMIN_EMAIL)
        token = admin["access_token"]
        org = ok("POST", "/organisations", token, json={"name": "Bench Telecom"})
        brand = ok("POST", "/brands", token, json={"name": "Bench"})
        ok("PUT", f"/organisations/{org['id']}/brands/{brand['id']}", token, json={"relation": "own"})
        # A shopper's reports span many locations, as in the field (the identical-answers check
        # compares each report with the shopper's latest one at another location).
        locations = [
            ok(
                "POST",
                "/locations",
                token,
                json={
                    "brand_id": brand["id"],
                    "name": f"Bench Prague {i}",
                    "code": f"BENCH-{i}",
                    "region": "Bohemia",
                    "timezone": "Europe/Prague",
                    "lat": 50.086 + i / 1000,
                    "lon": 14.425,
                },
            )["id"]
            for i in range(1, LOCATIONS + 1)
        ]
        form = ok(
            "POST", "/forms", token, json={"name": "Bench call", "channel": "call", "definition": SMALL_CALL_FORM}
        )
        version = ok("POST", f"/forms/{form['id']}/publish", token)
        people = []
        for i in range(shoppers):
            email = f"bench-shopper-{i}@example.test"
            user = ok(
                "POST",
                "/users",
                token,
                json={"email": email, "name": f"Shopper {i}", "password": PASSWORD, "role": "shopper"},
            )
            people.append((user["id"], login(email)["access_token"]))
        return World(
            admin_id=admin["user"]["id"],
            organisation_id=org["id"],
            location_ids=locations,
            form_version_id=version["id"],
            shoppers=people,
        )


def sqlite_text(value: object) -> object:
    """What Piccolo's sqlite3 adapters store: UUIDs as text, aware datetimes as str() in UTC."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dt.datetime):
        return str(value.astimezone(UTC))
    return value


TASK_COLUMNS = (
    "id",
    "organisation",
    "location",
    "form_version",
    "channel",
    "status",
    "shopper",
    "window_start",
    "window_end",
    "created_by",
    "created_at",
    "updated_at",
)
AUDIT_COLUMNS = ("id", "at", "actor", "action", "entity", "entity_id", "detail")


def add_tasks(database: Database, world: World, shopper_ids: list[str]) -> list[str]:
    """One ASSIGNED task per entry of `shopper_ids` (and its `task.created` audit entry); returns the task ids."""
    now = dt.datetime.now(UTC)
    admin, org = uuid.UUID(world.admin_id), uuid.UUID(world.organisation_id)
    locations = [uuid.UUID(location) for location in world.location_ids]
    version = uuid.UUID(world.form_version_id)
    tasks, audit = [], []
    for i, shopper in enumerate(shopper_ids):
        task_id, loc = uuid7(), locations[i % len(locations)]
        # The window is wide so reports stamped "a few minutes ago" fit it for the whole run.
        tasks.append(
            (
                task_id,
                org,
                loc,
                version,
                "call",
                "assigned",
                uuid.UUID(shopper),
                now - dt.timedelta(days=1),
                now + dt.timedelta(days=1),
                admin,
                now,
                now,
            )
        )
        audit.append((uuid7(), now, admin, "task.created", "task", str(task_id), json.dumps({"status": "assigned"})))
    if database.kind == "sqlite":
        conn = sqlite3.connect(database.sqlite_path, timeout=60, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            for table, columns, rows in (("task", TASK_COLUMNS, tasks), ("audit_entry", AUDIT_COLUMNS, audit)):
                conn.executemany(
                    f'INSERT INTO "{table}" ({", ".join(columns)}) VALUES ({", ".join("?" * len(columns))})',
                    [tuple(sqlite_text(v) for v in row) for row in rows],
                )
            conn.execute("COMMIT")
        finally:
            conn.close()
    else:

        async def copy() -> None:
            conn = await asyncpg.connect(database.dsn, timeout=30)
            try:
                async with conn.transaction():
                    await conn.copy_records_to_table("task", records=tasks, columns=list(TASK_COLUMNS))
                    await conn.copy_records_to_table("audit_entry", records=audit, columns=list(AUDIT_COLUMNS))
            finally:
                await conn.close()

        asyncio.run(copy())
    return [str(row[0]) for row in tasks]

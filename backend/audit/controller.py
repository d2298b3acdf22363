"""Audit log HTTP API: who did what, when."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from litestar import Controller, get
from litestar.params import FromQuery, QueryParameter

from api_schemas.accounts import Role
from api_schemas.audit import AuditEntry
from api_schemas.common import Page
from backend.accounts.guards import requires_roles, roles
from backend.audit import service
from backend.deps import ActorDep, PageDep
from backend.openapi import problems


class AuditController(Controller):
    path = "/audit"
    tags = ["audit"]
    guards = [requires_roles]

    @get(
        "/",
        operation_id="ListAuditEntries",
        opt=roles(Role.admin, Role.coordinator, Role.manager),
        responses=problems(),
    )
    async def list_entries(
        self,
        actor: ActorDep,
        page: PageDep,
        entity: Annotated[str | None, QueryParameter(max_length=32)] = None,
        entity_id: Annotated[str | None, QueryParameter(max_length=64)] = None,
        action: Annotated[str | None, QueryParameter(max_length=64)] = None,
        actor_id: FromQuery[uuid.UUID | None] = None,
        since: FromQuery[dt.datetime | None] = None,
        until: FromQuery[dt.datetime | None] = None,
    ) -> Page[AuditEntry]:
        """Newest first: submissions, edits, reviews and score changes, assignments, logins… filtered by entity,
        entity id, action, actor and time. Each role sees the entries about what it may see: a coordinator none
        about accounts other than shoppers' and their own; a manager their organisation's programme, forms and
        approved visits and calls (never who did them) and their own logins.
        """
        return await service.list_entries(
            actor, page, entity=entity, entity_id=entity_id, action=action, actor_id=actor_id, since=since, until=until
        )

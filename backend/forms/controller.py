"""Forms HTTP API: questionnaires, drafts, validation, publishing, versions and score preview."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, get, post, put
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from api_schemas.accounts import Role
from api_schemas.common import Page
from api_schemas.forms import (
    Channel,
    DefinitionProblem,
    Form,
    FormCreate,
    FormDraftUpdate,
    FormVersion,
    ScorePreview,
    ScoreResult,
)
from backend.accounts.guards import STAFF, requires_roles, roles
from backend.deps import ActorDep, PageDep
from backend.forms import service
from backend.openapi import problems

READERS = (Role.admin, Role.coordinator, Role.manager)
VersionNumber = Annotated[int, QueryParameter(ge=1, le=1_000_000)]


class FormController(Controller):
    path = "/forms"
    tags = ["forms"]
    guards = [requires_roles]

    @get("/", operation_id="ListForms", opt=roles(*READERS), responses=problems())
    async def list_forms(
        self,
        actor: ActorDep,
        page: PageDep,
        channel: FromQuery[Channel | None] = None,
        organisation_id: FromQuery[uuid.UUID | None] = None,
        q: Annotated[str | None, QueryParameter(max_length=200)] = None,
    ) -> Page[Form]:
        return await service.list_forms(actor, page, channel, organisation_id, q)

    @post("/", operation_id="CreateForm", opt=roles(*STAFF), responses=problems(422))
    async def create_form(self, actor: ActorDep, data: JSONBody[FormCreate]) -> Form:
        """Create a questionnaire; its definition becomes draft version 1."""
        return await service.create_form(actor, data)

    @get("/{form_id:uuid}", operation_id="GetForm", opt=roles(*READERS), responses=problems(404))
    async def get_form(self, actor: ActorDep, form_id: FromPath[uuid.UUID]) -> Form:
        return await service.get_form(actor, form_id)

    @put("/{form_id:uuid}/draft", operation_id="SaveFormDraft", opt=roles(*STAFF), responses=problems(404))
    async def save_draft(self, actor: ActorDep, form_id: FromPath[uuid.UUID], data: JSONBody[FormDraftUpdate]) -> FormVersion:
        """Replace the draft, or start the next version as a draft if the latest is published."""
        return await service.save_draft(actor, form_id, data.definition)

    @post("/{form_id:uuid}/publish", operation_id="PublishForm", opt=roles(*STAFF), status_code=200,
          responses=problems(404, 409, 422))
    async def publish(self, actor: ActorDep, form_id: FromPath[uuid.UUID]) -> FormVersion:
        """Freeze the draft as an immutable, numbered version (refused while it has problems)."""
        return await service.publish(actor, form_id)

    @get("/{form_id:uuid}/versions", operation_id="ListFormVersions", opt=roles(*READERS), responses=problems(404))
    async def list_versions(self, actor: ActorDep, form_id: FromPath[uuid.UUID]) -> list[FormVersion]:
        return await service.list_versions(actor, form_id)

    @get("/{form_id:uuid}/versions/{number:int}", operation_id="GetFormVersion", opt=roles(*READERS),
         responses=problems(404))
    async def get_version(self, actor: ActorDep, form_id: FromPath[uuid.UUID], number: FromPath[int]) -> FormVersion:
        return await service.get_version(actor, form_id, number)

    @post("/{form_id:uuid}/versions/{number:int}/validate", operation_id="ValidateFormVersion",
          opt=roles(*STAFF), status_code=200, responses=problems(404))
    async def validate(self, actor: ActorDep, form_id: FromPath[uuid.UUID], number: FromPath[int]) -> list[DefinitionProblem]:
        """Every problem of the definition at once, each with its path; empty when it can be published."""
        return await service.validate_version(actor, form_id, number)

    @post("/{form_id:uuid}/versions/{number:int}/score-preview", operation_id="PreviewScore",
          opt=roles(*STAFF), status_code=200, responses=problems(404, 422))
    async def preview_score(
        self, actor: ActorDep, form_id: FromPath[uuid.UUID], number: FromPath[int], data: JSONBody[ScorePreview]
    ) -> ScoreResult:
        """Score a sample answer set with this version's rules, with each item's contribution."""
        return await service.preview_score(actor, form_id, number, data.answers)

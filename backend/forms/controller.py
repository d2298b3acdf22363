"""Forms HTTP API: questionnaires, drafts, validation, publishing, versions and score preview."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from litestar import Controller, Response, get, post, put
from litestar.datastructures import UploadFile
from litestar.params import FromPath, FromQuery, JSONBody, MultipartBody, PathParameter

from api_schemas.accounts import Role
from api_schemas.common import Page
from api_schemas.forms import (
    Channel,
    DefinitionProblem,
    Form,
    FormCreate,
    FormDraftUpdate,
    FormImported,
    FormStatus,
    FormVersion,
    ScorePreview,
    ScoreResult,
)
from backend.accounts.guards import STAFF, requires_roles, roles
from backend.deps import ActorDep, PageDep
from backend.errors import InvalidInput
from backend.forms import service
from backend.openapi import problems
from backend.pagination import Search
from backend.request_body import LARGE_JSON_BODY_MAX
from backend.visible_filters import require_visible

READERS = (Role.admin, Role.coordinator, Role.manager)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_XLSFORM_BYTES = 5 * 1024 * 1024
# The column is a 32-bit integer: a larger number is a 400, not a PostgreSQL overflow (500).
VersionNumber = Annotated[int, PathParameter(ge=1, le=2_147_483_647)]


@dataclass
class XLSFormUpload:
    """An XLSForm spreadsheet (.xlsx) and the form it becomes."""

    file: UploadFile
    name: str
    channel: Channel
    organisation_id: uuid.UUID | None = None


class FormController(Controller):
    path = "/forms"
    tags = ["forms"]
    guards = [requires_roles]

    @get("/", operation_id="ListForms", opt=roles(*READERS), responses=problems(404))
    async def list_forms(
        self,
        actor: ActorDep,
        page: PageDep,
        channel: FromQuery[Channel | None] = None,
        organisation_id: FromQuery[uuid.UUID | None] = None,
        q: Search = None,
    ) -> Page[Form]:
        """Questionnaires by name, filtered by channel, organisation and `q` (name). Forms without an organisation
        are shared by all; a manager sees the shared ones and their organisation's.

        Problems: 404 `organisation.not_found` (an `organisation_id` filter the caller cannot see).
        """
        await require_visible(actor, organisation_id=organisation_id)
        return await service.list_forms(actor, page, channel, organisation_id, q)

    @post(
        "/",
        operation_id="CreateForm",
        opt=roles(*STAFF),
        responses=problems(422),
        request_max_body_size=LARGE_JSON_BODY_MAX,
    )
    async def create_form(self, actor: ActorDep, data: JSONBody[FormCreate]) -> Form:
        """Create a questionnaire for one channel (`visit`, `call`, `email`, `chat`); its `definition` becomes draft
        version 1. A definition is sections (`"type": "section"`) of questions, each with a `type` (yes_no,
        single_choice, multiple_choice, rating, nps, integer, decimal, duration, timestamp, timer_sequence, text,
        photo, file, gps, note, calculate), a `key` unique in the form, labels per language, and optional
        `required`, `na_allowed`, `show_if`, `constraint`, `weight`, `critical`, `bonus`, `metric` (the tag that
        analytics measure, e.g. `time_to_answer_s`). Publish it before use (POST /forms/{form_id}/publish).

        Problems: 422 `form.invalid_definition` (every problem at once, each with its path), or
        `validation.failed` (an unknown organisation).
        """
        return await service.create_form(actor, data)

    @post(
        "/import",
        operation_id="ImportXLSForm",
        opt=roles(*STAFF),
        responses=problems(413, 422),
        request_max_body_size=MAX_XLSFORM_BYTES,
    )
    async def import_xlsform(self, actor: ActorDep, data: MultipartBody[XLSFormUpload]) -> FormImported:
        """Create a form from an XLSForm (ODK / KoboToolbox / SurveyCTO) spreadsheet (.xlsx or .xls) as draft
        version 1; multipart fields `file`, `name`, `channel` and optional `organisation_id`. A question that
        cannot be mapped is refused with its sheet, row and reason; what has no questionnaire meaning here
        (metadata rows, appearance, media…) is listed in `warnings` with what happens to it (kept for export, or
        ignored as ODK tools ignore it), and so is each problem publishing would refuse in the draft (a show-if on a
        later question, a photo inside a repeat…), at its row and column: the form is kept, to be edited.

        Problems: 422 `form.invalid_xlsform` (not readable as a form: sheet, row and reason), or
        `validation.failed` (no name); 413 `request.too_large` above 5 MiB.
        """
        content = await data.file.read()
        if not 0 < len(data.name.strip()) <= 200:
            raise InvalidInput("Name the form.", errors=[("name", "1–200 characters")])
        return await service.import_form(
            actor, name=data.name.strip(), channel=data.channel, organisation_id=data.organisation_id, data=content
        )

    @get("/{form_id:uuid}", operation_id="GetForm", opt=roles(*READERS), responses=problems(404))
    async def get_form(self, actor: ActorDep, form_id: FromPath[uuid.UUID]) -> Form:
        """One form: name, channel, organisation (none: shared by all), its latest version number and the number of
        its published version, if any.

        Problems: 404 `form.not_found`.
        """
        return await service.get_form(actor, form_id)

    @put(
        "/{form_id:uuid}/draft",
        operation_id="SaveFormDraft",
        opt=roles(*STAFF),
        responses=problems(404),
        request_max_body_size=LARGE_JSON_BODY_MAX,
    )
    async def save_draft(
        self, actor: ActorDep, form_id: FromPath[uuid.UUID], data: JSONBody[FormDraftUpdate]
    ) -> FormVersion:
        """Replace the draft's definition, or start the next version as a draft if the latest is published (a
        published version never changes: reports keep the version they answered). Problems of the definition are
        not refused here: list them with POST /forms/{form_id}/versions/{number}/validate; publishing refuses them.

        Problems: 404 `form.not_found`.
        """
        return await service.save_draft(actor, form_id, data.definition)

    @post(
        "/{form_id:uuid}/publish",
        operation_id="PublishForm",
        opt=roles(*STAFF),
        status_code=200,
        responses=problems(404, 409, 422),
    )
    async def publish(self, actor: ActorDep, form_id: FromPath[uuid.UUID]) -> FormVersion:
        """Freeze the draft as an immutable, numbered version, usable by tasks and campaigns (by its version `id`).

        Problems: 404 `form.not_found`; 409 `form.nothing_to_publish` (the latest version is already published);
        422 `form.invalid_definition` (the draft has problems, each with its path).
        """
        return await service.publish(actor, form_id)

    @get("/{form_id:uuid}/versions", operation_id="ListFormVersions", opt=roles(*READERS), responses=problems(404))
    async def list_versions(
        self,
        actor: ActorDep,
        form_id: FromPath[uuid.UUID],
        page: PageDep,
        status: FromQuery[FormStatus | None] = None,
    ) -> Page[FormVersion]:
        """Every version, the draft included, oldest first, each with its definition; `status` keeps the draft or
        the published ones.

        Problems: 404 `form.not_found`.
        """
        return await service.list_versions(actor, form_id, page, status)

    @get(
        "/{form_id:uuid}/versions/{number:int}",
        operation_id="GetFormVersion",
        opt=roles(*READERS),
        responses=problems(404),
    )
    async def get_version(self, actor: ActorDep, form_id: FromPath[uuid.UUID], number: VersionNumber) -> FormVersion:
        """One version of the form by its number, with its definition and status (draft or published).

        Problems: 404 `form.not_found` or `form.version_not_found`.
        """
        return await service.get_version(actor, form_id, number)

    @get(
        "/{form_id:uuid}/versions/{number:int}/xlsform",
        operation_id="ExportXLSForm",
        opt=roles(*READERS),
        responses=problems(404, 422),
        media_type=XLSX,
    )
    async def export_xlsform(
        self, actor: ActorDep, form_id: FromPath[uuid.UUID], number: VersionNumber
    ) -> Response[bytes]:
        """This version as an XLSForm spreadsheet; importing it gives back the same definition.

        Problems: 404 `form.not_found` or `form.version_not_found`; 422 `form.not_exportable` (it uses something
        XLSForm cannot express).
        """
        filename, content = await service.export_form(actor, form_id, number)
        return Response(
            content, media_type=XLSX, headers={"Content-Disposition": service.content_disposition(filename)}
        )

    @post(
        "/{form_id:uuid}/versions/{number:int}/validate",
        operation_id="ValidateFormVersion",
        opt=roles(*STAFF),
        status_code=200,
        responses=problems(404),
    )
    async def validate(
        self, actor: ActorDep, form_id: FromPath[uuid.UUID], number: VersionNumber
    ) -> list[DefinitionProblem]:
        """Every problem of the definition at once, each with its path (e.g. `sections[1].items[0].choices`); an
        empty list means it can be published.

        Problems: 404 `form.not_found` or `form.version_not_found`.
        """
        return await service.validate_version(actor, form_id, number)

    @post(
        "/{form_id:uuid}/versions/{number:int}/score-preview",
        operation_id="PreviewScore",
        opt=roles(*STAFF),
        status_code=200,
        responses=problems(404, 422),
    )
    async def preview_score(
        self, actor: ActorDep, form_id: FromPath[uuid.UUID], number: VersionNumber, data: JSONBody[ScorePreview]
    ) -> ScoreResult:
        """Score a sample answer set with this version's rules, with each item's contribution and the metrics the
        answers give (e.g. time to answer from the timer taps), without storing anything.

        Problems: 404 `form.not_found` or `form.version_not_found`; 422 `report.invalid_answers` (the answers do
        not fit the form; each problem named `answers.<key>`).
        """
        return await service.preview_score(actor, form_id, number, data.answers)

"""Forms service: drafts, validation, publishing and versions of questionnaires."""

from __future__ import annotations

import urllib.parse
import uuid
from typing import Any

import msgspec

from api_schemas.accounts import Role
from api_schemas.common import Page
from api_schemas.forms import (
    Channel,
    DefinitionProblem,
    Form,
    FormCreate,
    FormDefinition,
    FormImported,
    FormStatus,
    FormVersion,
    ScoreResult,
    XLSFormWarning,
)
from backend import db
from backend.accounts.security import Actor
from backend.accounts.tables import Organisation
from backend.audit.service import record
from backend.errors import Conflict, InvalidInput, NotFound
from backend.forms import tables as t
from backend.forms.answers import check_answers
from backend.forms.definition import check_definition
from backend.forms.xlsform import XLSFormError, export_xlsform, read_xlsform
from backend.moments import now
from backend.pagination import PageParams, contains, page_of, paged, scoped_row
from backend.scoring.engine import score


def _visible(actor: Actor) -> Any:
    if actor.role == Role.manager:
        return t.Form.organisation.is_null() | (t.Form.organisation == actor.organisation_id)
    return None


async def _form_row(actor: Actor, form_id: uuid.UUID) -> dict[str, Any]:
    query = t.Form.select(
        t.Form.id, t.Form.name, t.Form.channel, t.Form.organisation.as_alias("organisation_id"), t.Form.created_at
    ).where(t.Form.id == form_id)
    return await scoped_row(query, _visible(actor), NotFound("No such form.", code="form.not_found"))


async def _with_versions(row: dict[str, Any]) -> Form:
    versions = await t.FormVersion.select(t.FormVersion.number, t.FormVersion.status).where(
        t.FormVersion.form == row["id"]
    )
    published = [v["number"] for v in versions if v["status"] == FormStatus.published.value]
    return msgspec.convert(
        {
            **row,
            "latest_version": max(v["number"] for v in versions),
            "published_version": max(published) if published else None,
        },
        Form,
    )


def _version(row: dict[str, Any]) -> FormVersion:
    return msgspec.convert(row, FormVersion)


_VERSION_COLUMNS = (
    t.FormVersion.id,
    t.FormVersion.form.as_alias("form_id"),
    t.FormVersion.number,
    t.FormVersion.status,
    t.FormVersion.definition,
    t.FormVersion.created_at,
    t.FormVersion.published_at,
)


def _raise_definition(problems: list[DefinitionProblem]) -> None:
    if problems:
        raise InvalidInput(
            f"The definition has {len(problems)} problem(s).",
            code="form.invalid_definition",
            errors=[(f"definition.{p.path}", p.reason) for p in problems],
        )


async def create_form(actor: Actor, data: FormCreate) -> Form:
    async with db.writing():
        if data.organisation_id and not await Organisation.exists().where(Organisation.id == data.organisation_id):
            raise InvalidInput("Unknown organisation.", errors=[("organisation_id", "no such organisation")])
        form_id = uuid.uuid4()
        await t.Form.insert(
            t.Form(
                id=form_id,
                name=data.name,
                channel=data.channel.value,
                organisation=data.organisation_id,
                created_at=now(),
            )
        )
        await t.FormVersion.insert(
            t.FormVersion(
                id=uuid.uuid4(),
                form=form_id,
                number=1,
                status=FormStatus.draft.value,
                definition=msgspec.to_builtins(data.definition),
                created_at=now(),
            )
        )
        await record(actor.user_id, "form.created", "form", form_id, {"name": data.name})
    return await get_form(actor, form_id)


async def get_form(actor: Actor, form_id: uuid.UUID) -> Form:
    return await _with_versions(await _form_row(actor, form_id))


async def list_forms(
    actor: Actor, page: PageParams, channel: Channel | None, organisation_id: uuid.UUID | None, q: str | None
) -> Page[Form]:
    query = (
        t.Form.select(
            t.Form.id, t.Form.name, t.Form.channel, t.Form.organisation.as_alias("organisation_id"), t.Form.created_at
        )
        .order_by(t.Form.name)
        .order_by(t.Form.id)
    )  # unique last: pages never overlap or skip rows
    rows, total = await paged(
        query,
        t.Form.count(),
        (
            _visible(actor),
            t.Form.channel == channel.value if channel else None,
            t.Form.organisation == organisation_id if organisation_id else None,
            contains(q, t.Form.name) if q else None,
        ),
        page,
    )
    return page_of([await _with_versions(r) for r in rows], total, page)


async def list_versions(
    actor: Actor, form_id: uuid.UUID, page: PageParams, status: FormStatus | None = None
) -> Page[FormVersion]:
    """Oldest first."""
    await _form_row(actor, form_id)
    query = t.FormVersion.select(*_VERSION_COLUMNS).order_by(t.FormVersion.number)
    filters = [t.FormVersion.form == form_id, t.FormVersion.status == status.value if status else None]
    rows, total = await paged(query, t.FormVersion.count(), filters, page, load_json=True)
    return page_of([_version(r) for r in rows], total, page)


async def get_version(actor: Actor, form_id: uuid.UUID, number: int) -> FormVersion:
    await _form_row(actor, form_id)
    row = await scoped_row(
        t.FormVersion.select(*_VERSION_COLUMNS).where(
            (t.FormVersion.form == form_id) & (t.FormVersion.number == number)
        ),
        None,
        NotFound("No such version.", code="form.version_not_found"),
        load_json=True,
    )
    return _version(row)


async def get_version_by_id(version_id: uuid.UUID) -> FormVersion:
    """Unscoped: callers check that the actor may see it (e.g. through a task)."""
    row = await scoped_row(
        t.FormVersion.select(*_VERSION_COLUMNS).where(t.FormVersion.id == version_id),
        None,
        NotFound("No such form version.", code="form.version_not_found"),
        load_json=True,
    )
    return _version(row)


_PUBLISHED: dict[uuid.UUID, FormDefinition] = {}


async def published_definition(version_id: uuid.UUID) -> FormDefinition:
    """A published version's definition; published versions never change, so each process keeps them."""
    cached = _PUBLISHED.get(version_id)
    if cached is not None:
        return cached
    version = await get_version_by_id(version_id)
    if version.status == FormStatus.published:
        if len(_PUBLISHED) >= 1024:
            _PUBLISHED.pop(next(iter(_PUBLISHED)))
        _PUBLISHED[version_id] = version.definition
    return version.definition


async def save_draft(actor: Actor, form_id: uuid.UUID, definition: FormDefinition) -> FormVersion:
    """Edit the draft; when the latest version is published, start the next one as a draft."""
    async with db.writing():
        await _form_row(actor, form_id)
        # A form is created with its first version; only a concurrent delete finds none.
        latest = await scoped_row(
            t.FormVersion.select(t.FormVersion.id, t.FormVersion.number, t.FormVersion.status)
            .where(t.FormVersion.form == form_id)
            .order_by(t.FormVersion.number, ascending=False),
            None,
            NotFound("No such form.", code="form.not_found"),
        )
        body = msgspec.to_builtins(definition)
        if latest["status"] == FormStatus.draft.value:
            await t.FormVersion.update({t.FormVersion.definition: body}).where(t.FormVersion.id == latest["id"])
            number = latest["number"]
        else:
            number = latest["number"] + 1
            await t.FormVersion.insert(
                t.FormVersion(
                    id=uuid.uuid4(),
                    form=form_id,
                    number=number,
                    status=FormStatus.draft.value,
                    definition=body,
                    created_at=now(),
                )
            )
        await record(actor.user_id, "form.draft_saved", "form", form_id, {"version": number})
    return await get_version(actor, form_id, number)


async def validate_version(actor: Actor, form_id: uuid.UUID, number: int) -> list[DefinitionProblem]:
    version = await get_version(actor, form_id, number)
    return check_definition(version.definition)


async def _sound_version(actor: Actor, form_id: uuid.UUID, number: int) -> FormVersion:
    """The version when its definition has no problem; 422 form.invalid_definition listing what validate
    lists otherwise. A draft may hold anything (it is saved to be worked on), and evaluating a malformed
    condition raises: whatever evaluates a definition's rules goes through here first."""
    version = await get_version(actor, form_id, number)
    _raise_definition(check_definition(version.definition))
    return version


async def publish(actor: Actor, form_id: uuid.UUID) -> FormVersion:
    async with db.writing():
        await _form_row(actor, form_id)
        # A form is created with its first version; only a concurrent delete finds none.
        latest = await scoped_row(
            t.FormVersion.select(*_VERSION_COLUMNS)
            .where(t.FormVersion.form == form_id)
            .order_by(t.FormVersion.number, ascending=False),
            None,
            NotFound("No such form.", code="form.not_found"),
            load_json=True,
        )
        if latest["status"] != FormStatus.draft.value:
            raise Conflict("There is no draft to publish; save a draft first.", code="form.nothing_to_publish")
        _raise_definition(check_definition(msgspec.convert(latest["definition"], FormDefinition)))
        await t.FormVersion.update(
            {t.FormVersion.status: FormStatus.published.value, t.FormVersion.published_at: now()}
        ).where(t.FormVersion.id == latest["id"])
        await record(actor.user_id, "form.published", "form", form_id, {"version": latest["number"]})
    return await get_version(actor, form_id, latest["number"])


def score_answers(definition: FormDefinition, answers: dict[str, Any]) -> ScoreResult:
    problems = check_answers(definition, answers)
    if problems:
        raise InvalidInput(
            f"{len(problems)} answer(s) are invalid.",
            code="report.invalid_answers",
            errors=[(f"answers.{key}", reason) for key, reason in problems],
        )
    return score(definition, answers)


async def preview_score(actor: Actor, form_id: uuid.UUID, number: int, answers: dict[str, Any]) -> ScoreResult:
    version = await _sound_version(actor, form_id, number)
    return score_answers(version.definition, answers)


def _xlsform_problems(exc: XLSFormError) -> list[tuple[str, str]]:
    return [(f"{sheet}!row {row}" if sheet else "file", reason) for sheet, row, reason in exc.problems]


async def import_form(
    actor: Actor, *, name: str, channel: Channel, organisation_id: uuid.UUID | None, data: bytes
) -> FormImported:
    """Create a form whose draft version 1 is read from an XLSForm spreadsheet; nothing is kept on any problem.

    What has no questionnaire meaning here comes back as warnings, each saying what happened to it, and so does
    what publishing would refuse in the draft (check_definition), at its row.
    """
    try:
        imported = read_xlsform(data)
    except XLSFormError as exc:
        raise InvalidInput(
            f"The spreadsheet has {len(exc.problems)} problem(s).",
            code="form.invalid_xlsform",
            errors=_xlsform_problems(exc),
        ) from None
    form = await create_form(
        actor, FormCreate(name=name, channel=channel, organisation_id=organisation_id, definition=imported.definition)
    )
    return FormImported(
        **msgspec.structs.asdict(form),
        warnings=[
            XLSFormWarning(sheet=w.sheet, row=w.row, column=w.column, message=w.message) for w in imported.warnings
        ],
    )


async def export_form(actor: Actor, form_id: uuid.UUID, number: int) -> tuple[str, bytes]:
    form = await get_form(actor, form_id)
    version = await get_version(actor, form_id, number)
    try:
        content = export_xlsform(version.definition)
    except XLSFormError as exc:
        raise InvalidInput(
            "This definition cannot be written as an XLSForm.",
            code="form.not_exportable",
            errors=_xlsform_problems(exc),
        ) from None
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in form.name)[:80] or "form"
    return f"{safe}-v{number}.xlsx", content


def content_disposition(filename: str) -> str:
    """An attachment header that every client can read: an ASCII `filename` and, for names in other
    scripts (forms are named in many languages), the exact one as RFC 6266 `filename*`."""
    ascii_name = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "_" for c in filename)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{urllib.parse.quote(filename)}"

"""Attachments service: retry-safe uploads stored by content hash, scoped reads, and the link to report answers."""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

import msgspec

from api_schemas.accounts import Role
from api_schemas.attachments import Attachment, AttachmentKind
from api_schemas.forms import File, FormDefinition, Photo
from backend import db
from backend.accounts.security import Actor
from backend.attachments import tables as t
from backend.attachments.sniff import ACCEPTED, Kind, sniff
from backend.attachments.store import AttachmentStore
from backend.db import BulkInsert
from backend.errors import FieldscoreError, InvalidInput, NotFound, is_unique_violation
from backend.forms.definition import iter_questions, per_definition
from backend.ids import uuid7
from backend.moments import now
from backend.pagination import scoped_row
from backend.reports.visibility import approved_of
from backend.settings import Settings

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
UPLOADERS = (Role.shopper, Role.coordinator, Role.admin)


class AttachmentTooLarge(FieldscoreError):
    status, code, title = 413, "attachment.too_large", "Attachment too large"


def size_limit(settings: Settings, kind: Kind) -> int:
    return {
        "image": settings.attachment_max_image_bytes,
        "document": settings.attachment_max_document_bytes,
        "audio": settings.attachment_max_audio_bytes,
        "video": settings.attachment_max_video_bytes,
    }[kind]


def _accepted_list() -> str:
    return ", ".join(sorted(ACCEPTED))


_COLUMNS = (t.Attachment.sha256, t.Attachment.size, t.Attachment.media_type, t.Attachment.kind)


async def upload(actor: Actor, store: AttachmentStore, settings: Settings, data: bytes) -> tuple[Attachment, bool]:
    """Store `data` for the actor; returns (document, created). The same bytes again return the stored document."""
    if not data:
        raise InvalidInput("The upload is empty.", code="attachment.empty", errors=[("body", "no bytes")])
    found = sniff(data)
    if found is None:
        raise InvalidInput(
            f"The content is not an accepted type (detected from the bytes, not the Content-Type). "
            f"Accepted: {_accepted_list()}.",
            code="attachment.unsupported_type",
            errors=[("body", f"not one of {_accepted_list()}")],
        )
    limit = size_limit(settings, found.kind)
    if len(data) > limit:
        raise AttachmentTooLarge(
            f"A {found.kind} attachment may be at most {limit} bytes; this one is {len(data)}.",
            errors=[("body", f"more than {limit} bytes")],
        )
    sha256 = hashlib.sha256(data).hexdigest()
    # The bytes first: a row then always names stored content. A crash in between leaves an
    # unreferenced file, which the retry reuses.
    await store.put(sha256, data)
    document = Attachment(sha256=sha256, size=len(data), media_type=found.media_type, kind=AttachmentKind(found.kind))
    try:
        return document, await _record_upload(actor, document)
    except Exception as exc:
        # The same upload retried concurrently committed first (PostgreSQL): it is stored, so this is a 200.
        if not is_unique_violation(exc):
            raise
        return document, await _record_upload(actor, document)


async def _record_upload(actor: Actor, document: Attachment) -> bool:
    async with db.writing():
        mine = (t.Attachment.sha256 == document.sha256) & (t.Attachment.uploaded_by == actor.user_id)
        if await t.Attachment.exists().where(mine):
            return False
        await t.Attachment.insert(
            t.Attachment(
                id=uuid.uuid4(),
                sha256=document.sha256,
                size=document.size,
                media_type=document.media_type,
                kind=document.kind.value,
                uploaded_by=actor.user_id,
                uploaded_at=now(),
            )
        )
    return True


def _visible_to(actor: Actor) -> Any:
    """Which Attachment rows the actor may read, as a where clause (None: every row)."""
    if actor.role in (Role.admin, Role.coordinator):
        return None
    if actor.role == Role.shopper:
        return t.Attachment.uploaded_by == actor.user_id
    if actor.role == Role.manager:
        return t.Attachment.sha256.is_in(
            t.ReportAttachment.select(t.ReportAttachment.sha256).where(
                t.ReportAttachment.report_id.is_in(approved_of(actor.organisation_id))
            )
        )
    # Unreachable while every role is handled above; kept so that a role added later sees nothing until decided.
    return t.Attachment.id.is_null()  # type: ignore[unreachable]


async def get_meta(actor: Actor, sha256: str) -> Attachment:
    """The attachment document, when the actor may see it; 404 otherwise (not 403: do not confirm it exists)."""
    not_found = NotFound("No such attachment.", code="attachment.not_found")
    if not _SHA256.match(sha256):
        raise not_found
    row = await scoped_row(
        t.Attachment.select(*_COLUMNS).where(t.Attachment.sha256 == sha256), _visible_to(actor), not_found
    )
    return msgspec.convert(row, Attachment)


async def get_content(actor: Actor, store: AttachmentStore, sha256: str) -> tuple[Attachment, bytes]:
    document = await get_meta(actor, sha256)
    return document, await store.get(sha256)


# ---------------------------------------------------------------- report answers


def _fits(question: Photo | File, kind: str) -> bool:
    if isinstance(question, Photo):
        return kind == "image"
    if question.accept == "audio":
        return kind == "audio"
    if question.accept == "video":
        return kind == "video"
    return kind in ("image", "document", "audio")


@per_definition
def _attachment_questions(definition: FormDefinition) -> tuple[Photo | File, ...]:
    return tuple(info.question for info in iter_questions(definition) if isinstance(info.question, (Photo, File)))


def attachment_answers(definition: FormDefinition, answers: Mapping[str, Any]) -> list[tuple[Photo | File, str]]:
    """(question, sha256) for each photo/file question answered with a well-formed attachment."""
    found = []
    for question in _attachment_questions(definition):
        value = answers.get(question.key)
        if not isinstance(value, Mapping):
            continue
        sha256 = value.get("attachment")
        if isinstance(sha256, str) and _SHA256.match(sha256):
            found.append((question, sha256))
    return found


async def check_attachment_answers(
    definition: FormDefinition, answers: dict[str, Any], shopper_id: uuid.UUID
) -> list[tuple[str, str]]:
    """(question key, reason) for each photo/file answer naming an attachment the shopper cannot use.

    Reasons follow backend.forms.answers ("<code>: <detail>"): attachment.missing (not uploaded by this
    shopper: whether someone else uploaded those bytes is not told), attachment.wrong_kind (a photo needs an
    image; a file with accept="audio" needs audio). Malformed answers are left to check_answers.
    """
    named = attachment_answers(definition, answers)
    if not named:
        return []
    rows = await t.Attachment.select(t.Attachment.sha256, t.Attachment.kind, t.Attachment.uploaded_by).where(
        t.Attachment.sha256.is_in(sorted({sha for _, sha in named}))
    )
    uploaders: dict[str, set[uuid.UUID]] = {}
    kinds: dict[str, str] = {}
    for row in rows:
        uploaders.setdefault(row["sha256"], set()).add(row["uploaded_by"])
        kinds[row["sha256"]] = row["kind"]
    problems: list[tuple[str, str]] = []
    for question, sha256 in named:
        if shopper_id not in uploaders.get(sha256, ()):
            problems.append((question.key, "attachment.missing: upload it with POST /attachments first"))
        elif not _fits(question, kinds[sha256]):
            needed = "an image" if isinstance(question, Photo) else "a video" if question.accept == "video" else "audio"
            problems.append((question.key, f"attachment.wrong_kind: needs {needed}, got {kinds[sha256]}"))
    return problems


# For writers that store many reports at once in hand-written SQL (a batch of submitted reports).
LINK_ROWS = BulkInsert(
    "report_attachment", (("id", "uuid"), ("report_id", "uuid"), ("question_key", "text"), ("sha256", "text"))
)


def link_rows(report_id: uuid.UUID, links: Iterable[tuple[str, str]]) -> list[tuple[Any, ...]]:
    """The link rows of a report's (question key, sha256) pairs, in LINK_ROWS' order."""
    return [(uuid7(), report_id, key, sha256) for key, sha256 in links]


# An edit's answers are the current ones: the batch writer (backend.reports.storage) drops the edited
# reports' earlier links before inserting the new ones (LINK_ROWS).
UNLINK_SQLITE = "DELETE FROM report_attachment WHERE report_id IN ({})"
UNLINK_POSTGRES = "DELETE FROM report_attachment WHERE report_id = ANY($1::uuid[])"

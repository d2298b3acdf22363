"""A coordinator imports the file a shopper's phone exported ("Export unsent to a file"): each report is
delivered as if the phone had sent it, under the shopper's own account, so it is checked, scored and
stored by the same path, and importing a file twice (or a report the phone sent meanwhile) changes nothing."""

from __future__ import annotations

import base64
import binascii
import hashlib

from api_schemas.accounts import Role
from api_schemas.reports import ImportedReport, OutboxExport, OutboxImportResult
from backend.accounts import service as accounts
from backend.accounts.security import Actor
from backend.attachments import service as attachments
from backend.attachments.store import AttachmentStore
from backend.audit.service import record
from backend.errors import FieldscoreError, InvalidInput, NotFound
from backend.reports import submission
from backend.settings import Settings


async def import_outbox(
    actor: Actor, data: OutboxExport, store: AttachmentStore, settings: Settings
) -> OutboxImportResult:
    try:
        shopper = await accounts.get_user_unscoped(data.shopper_id)
    except NotFound:
        shopper = None
    if shopper is None or shopper.role != Role.shopper or not shopper.is_active:
        raise InvalidInput(
            "The file names no active shopper.",
            code="import.unknown_shopper",
            errors=[("shopper_id", "not an active shopper")],
        )
    # Every attachment must be the bytes its hash says, before anything is stored.
    contents: list[bytes] = []
    problems: list[tuple[str, str]] = []
    for i, item in enumerate(data.attachments):
        try:
            content = base64.b64decode(item.base64, validate=True)
        except (binascii.Error, ValueError):
            problems.append((f"attachments[{i}].base64", "not base64"))
            continue
        if hashlib.sha256(content).hexdigest() != item.sha256:
            problems.append((f"attachments[{i}].sha256", "does not match the bytes"))
        contents.append(content)
    if problems:
        raise InvalidInput(
            "The file's attachments are damaged; nothing was imported.", code="import.bad_attachment", errors=problems
        )
    as_shopper = Actor(user_id=shopper.id, role=Role.shopper, organisation_id=shopper.organisation_id)
    for content in contents:
        await attachments.upload(as_shopper, store, settings, content)
    outcomes: list[ImportedReport] = []
    for report in data.reports:
        try:
            stored, created = await submission.submit(as_shopper, report)
        except FieldscoreError as exc:
            outcomes.append(
                ImportedReport(id=report.id, outcome="refused", code=exc.code, detail=str(exc), errors=exc.errors)
            )
            continue
        outcomes.append(
            ImportedReport(id=report.id, outcome="created" if created else "unchanged", revision=stored.revision)
        )
        if created:
            await record(
                actor.user_id,
                "report.imported",
                "report",
                report.id,
                {"shopper_id": str(shopper.id), "revision": stored.revision},
            )
    count = {kind: sum(1 for o in outcomes if o.outcome == kind) for kind in ("created", "unchanged", "refused")}
    return OutboxImportResult(shopper_id=shopper.id, reports=outcomes, **count)

"""The error catalogue: domain exceptions with stable codes, rendered as application/problem+json."""

from __future__ import annotations

import logging
import re
import sqlite3
from typing import Any

import asyncpg
import msgspec
from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    SerializationException,
    ValidationException,
)
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from api_schemas.common import NO_NUL, NOT_BLANK, Problem, ProblemField

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("fieldscore")


class Code(msgspec.Struct, frozen=True):
    status: int
    meaning: str


# Every stable `code` a client may see, with its HTTP status and what it means. A test
# (tests/unit/test_error_catalogue.py) checks that every code raised anywhere in backend/ is listed
# here with the status it is raised with; the OpenAPI description lists them (`catalogue_markdown`).
CATALOGUE: dict[str, Code] = {
    # The request itself
    "request.invalid": Code(400, "A parameter or body field is invalid; `errors` names each field and why."),
    "request.malformed": Code(400, "The body is not valid JSON."),
    "request.unknown_parameter": Code(
        400, "A query parameter the route does not take; `errors` names it and lists the ones it does."
    ),
    "request.too_deep": Code(400, "The JSON body nests deeper than any request needs."),
    "request.too_large": Code(413, "The body is larger than the route accepts."),
    "request.method_not_allowed": Code(405, "The route does not take this method."),
    "request.unsupported_media_type": Code(415, "The body's media type is not accepted here."),
    "request.rate_limited": Code(429, "Too many requests; retry after the Retry-After header."),
    "validation.failed": Code(422, "The input is well-formed but breaks a rule; `errors` names each field."),
    "server.error": Code(500, "An unexpected error; nothing was changed by the failed part."),
    "server.busy": Code(
        503, "The server is at a bound it keeps on purpose (password hashes at once); retry after Retry-After."
    ),
    # Authentication and roles
    "auth.unauthenticated": Code(401, "No bearer token was sent."),
    "auth.invalid_credentials": Code(401, "Wrong e-mail or password (which one is not said)."),
    "auth.invalid_token": Code(401, "The token is unknown or revoked."),
    "auth.token_expired": Code(401, "The token has expired; log in again."),
    "auth.forbidden": Code(403, "The caller's role may not do this."),
    "auth.forbidden_role": Code(403, "The caller's role may not use this route."),
    "auth.rate_limited": Code(429, "Too many failed logins for this account; retry after Retry-After."),
    "auth.wrong_password": Code(403, "The current password given to change it is wrong."),
    "password.weak": Code(
        422, "The new password is too short, too common or contains the e-mail; `errors` says which."
    ),
    # Generic resource states
    "resource.not_found": Code(404, "No such resource, or not visible to the caller."),
    "resource.conflict": Code(409, "Conflicts with the resource's current state."),
    "resource.duplicate": Code(409, "Another request just created the same thing (a unique field is named)."),
    # Accounts
    "organisation.not_found": Code(404, "No such organisation, or not visible to the caller."),
    "organisation.duplicate_name": Code(409, "An organisation with this name exists."),
    "user.not_found": Code(404, "No such user, or not visible to the caller."),
    "user.duplicate_email": Code(409, "A user with this e-mail exists."),
    "user.last_admin": Code(409, "The change would leave no active admin; make another user an admin first."),
    "shopper.not_found": Code(404, "No such shopper."),
    "profile.exclusion_locked": Code(403, "A shopper cannot remove a conflict-of-interest exclusion."),
    # Locations and brands
    "brand.not_found": Code(404, "No such brand, or not visible to the caller."),
    "brand.duplicate_name": Code(409, "A brand with this name exists."),
    "location.not_found": Code(404, "No such location, or not visible to the caller."),
    "location.duplicate_code": Code(409, "A location with this code exists."),
    "location.import_invalid": Code(422, "The locations file cannot be imported; `errors` names each row and column."),
    # Forms
    "form.not_found": Code(404, "No such form, or not visible to the caller."),
    "form.version_not_found": Code(404, "No such version of the form."),
    "form.invalid_definition": Code(422, "The form definition breaks a rule; `errors` names each place."),
    "form.invalid_xlsform": Code(422, "The uploaded XLSForm cannot be read as a form."),
    "form.not_exportable": Code(422, "The form uses something XLSForm cannot express."),
    "form.nothing_to_publish": Code(409, "The form has no draft to publish."),
    # Campaigns and waves
    "campaign.not_found": Code(404, "No such campaign, or not visible to the caller."),
    "campaign.invalid": Code(422, "The campaign breaks a rule; `errors` names each field."),
    "wave.not_found": Code(404, "No such wave in this campaign."),
    "wave.invalid": Code(422, "The wave breaks a rule; `errors` names each field."),
    "wave.overlap": Code(409, "The wave overlaps another wave of the campaign."),
    "wave.too_large": Code(422, "Generating the wave would create more tasks than the configured cap."),
    "wave.past": Code(409, "The wave is over: every window its generation would create has already ended."),
    # Tasks
    "task.not_found": Code(404, "No such task, or not visible to the caller."),
    "task.invalid_window": Code(422, "The task's time window is invalid."),
    "task.window_passed": Code(409, "The task's window has already ended."),
    "task.invalid_transition": Code(409, "The task's status does not allow this move."),
    "task.changed": Code(409, "The task changed meanwhile; reload it."),
    "task.not_assignable": Code(409, "The shopper may not take this task; `errors` gives each rule broken."),
    "task.not_open": Code(409, "The caller has this task already."),
    "task.not_submittable": Code(409, "The task's status takes no report."),
    "task.not_cancellable": Code(409, "Only open, assigned or accepted tasks can be cancelled."),
    # Reports
    "report.not_found": Code(404, "No such report, or not visible to the caller."),
    "report.revision_not_found": Code(404, "No such revision of the report."),
    "report.invalid": Code(422, "The report has problems; `errors` names each field or answer."),
    "report.invalid_answers": Code(422, "The answers do not fit the form (score preview)."),
    "report.conflict": Code(409, "A different report was stored under this id."),
    "report.stale_revision": Code(409, "The edit replaces a revision that is no longer the latest."),
    "report.not_editable": Code(409, "The report has been reviewed and can no longer be edited."),
    "report.duplicate_for_task": Code(409, "The task already has a report."),
    "report.not_reviewable": Code(409, "The report's status does not allow this review."),
    "report.changed": Code(409, "The report was edited since the reviewer looked; reload it."),
    "report.busy": Code(409, "The report or its task kept changing while it was stored; try again."),
    # Analytics
    "analytics.pending_not_allowed": Code(403, "Managers see approved reports only: no pending preview."),
    "analytics.shopper_hidden": Code(403, "Shoppers are never named to managers: no grouping by shopper."),
    "target.not_found": Code(404, "No such analytics target, or not visible to the caller."),
    "target.exists": Code(409, "The organisation already has a target for this measure and scope; change that one."),
    # Importing a phone's exported outbox
    "import.unknown_shopper": Code(422, "The exported file names no active shopper."),
    "import.bad_attachment": Code(422, "An attachment in the file is damaged; nothing was imported."),
    # Attachments
    "attachment.not_found": Code(404, "No such attachment, or not visible to the caller."),
    "attachment.empty": Code(422, "The upload is empty."),
    "attachment.too_large": Code(413, "The upload is larger than its kind of attachment may be."),
    "attachment.unsupported_type": Code(422, "The upload's content is not a type this kind of answer takes."),
}


def catalogue_markdown() -> str:
    """The catalogue as a Markdown table, for the OpenAPI description."""
    rows = [f"| `{code}` | {entry.status} | {entry.meaning} |" for code, entry in CATALOGUE.items()]
    return "\n".join(["| code | status | meaning |", "| --- | --- | --- |", *rows])


class FieldscoreError(Exception):
    """Base of every error a client may see; `code` is stable and listed in CATALOGUE."""

    status: int = 400
    code: str = "request.invalid"
    title: str = "Bad request"

    def __init__(
        self,
        detail: str = "",
        *,
        code: str | None = None,
        errors: list[tuple[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail
        if code:
            self.code = code
        self.errors = [ProblemField(field=f, reason=r) for f, r in (errors or [])]
        self.headers = headers or {}


class InvalidInput(FieldscoreError):
    status, code, title = 422, "validation.failed", "Invalid input"


class Unauthenticated(FieldscoreError):
    status, code, title = 401, "auth.unauthenticated", "Authentication required"


class Forbidden(FieldscoreError):
    status, code, title = 403, "auth.forbidden", "Not allowed"


class NotFound(FieldscoreError):
    status, code, title = 404, "resource.not_found", "Not found"


class Conflict(FieldscoreError):
    status, code, title = 409, "resource.conflict", "Conflict"


class TooManyRequests(FieldscoreError):
    status, code, title = 429, "auth.rate_limited", "Too many requests"


class Busy(FieldscoreError):
    """The server is at a bound it keeps on purpose (e.g. password hashes at once); retry shortly."""

    status, code, title = 503, "server.busy", "Server busy"


class MalformedBody(FieldscoreError):
    status, code, title = 400, "request.malformed", "Malformed request body"


class UnsupportedMediaType(FieldscoreError):
    status, code, title = 415, "request.unsupported_media_type", "Unsupported media type"


def problem_response(problem: Problem, headers: dict[str, str] | None = None) -> Response[bytes]:
    return Response(
        content=msgspec.json.encode(problem),
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def _problem(status: int, code: str, title: str, detail: str = "", errors: list[ProblemField] | None = None) -> Problem:
    return Problem(
        type=f"urn:fieldscore:problem:{code}",
        title=title,
        status=status,
        code=code,
        detail=detail,
        errors=errors or [],
    )


def handle_fieldscore_error(_: Request[Any, Any, Any], exc: FieldscoreError) -> Response[bytes]:
    return problem_response(_problem(exc.status, exc.code, exc.title, exc.detail, exc.errors), exc.headers)


_AT_PATH = re.compile(r" - at `\$(?P<path>[^`]*)`")
# Litestar reports the whole body as key "data"; msgspec names a missing or unknown field only in the message.
_NAMED_FIELD = re.compile(r"^Object (?:missing required|contains unknown) field `(?P<name>[^`]+)`")


def _field_from(message: str, key: str | None) -> tuple[str, str]:
    """msgspec says "Expected `int`, got `str` - at `$.lat`": split it into (field, reason)."""
    match = _AT_PATH.search(message)
    if match:
        path, message = match.group("path").lstrip("."), message[: match.start()]
    else:
        path = "" if key in (None, "data") else key
    if key == "data" and message == "'data'":  # no body at all
        return "body", "a JSON body is required"
    named = _NAMED_FIELD.match(message)
    if named:
        path = f"{path}.{named.group('name')}" if path else named.group("name")
    if message == f"Expected `str` matching regex {NOT_BLANK!r}":
        message = "must not be blank or contain a NUL character"
    elif message == f"Expected `str` matching regex {NO_NUL!r}":
        message = "must not contain a NUL character"
    return (path or "body"), message


_INVALID_VALUE = re.compile(r"^Invalid (?:enum )?value ")


def _with_accepted_values(
    request: Request[Any, Any, Any], key: str | None, source: Any, message: str, reason: str
) -> str:
    """An invalid enumerated value's reason lists what would have been accepted."""
    if not _INVALID_VALUE.match(reason) or not key:
        return reason
    from backend.accepted_values import accepted_values

    parameters = request.route_handler.parsed_fn_signature.parameters
    # A body error's key is the path inside the body; a parameter's key is its name.
    parameter, path = (parameters.get("data"), key) if source == "body" else (parameters.get(key), "")
    match = _AT_PATH.search(message)
    if match:
        path = match.group("path")
    values = accepted_values(parameter.annotation, path) if parameter else None
    return f"{reason}; accepted: {', '.join(values)}" if values else reason


def handle_validation(request: Request[Any, Any, Any], exc: ValidationException) -> Response[bytes]:
    errors: list[ProblemField] = []
    malformed = False
    for item in exc.extra if isinstance(exc.extra, list) else []:
        message = str(item.get("message", "")) if isinstance(item, dict) else str(item)
        key = item.get("key") if isinstance(item, dict) else None
        source = item.get("source") if isinstance(item, dict) else None
        if "malformed" in message.lower() or "invalid json" in message.lower():
            malformed = True
        field, reason = _field_from(message, key)
        reason = _with_accepted_values(request, key, getattr(source, "value", source), message, reason)
        source = getattr(source, "value", source)  # a ParamType enum formats as "ParamType.QUERY"
        if source and source != "body" and field == key:
            field = f"{source}.{field}"
        errors.append(ProblemField(field=field, reason=reason))
    if malformed:
        return problem_response(
            _problem(400, "request.malformed", "Malformed request body", "The body is not valid JSON.", errors)
        )
    detail = "; ".join(f"{e.field}: {e.reason}" for e in errors) or str(exc.detail)
    return problem_response(_problem(400, "request.invalid", "Invalid request", detail, errors))


def handle_http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    if isinstance(exc.__cause__, SerializationException):
        # Litestar turns a body that does not decode into a plain 400 ClientException.
        return problem_response(
            _problem(
                400,
                "request.malformed",
                "Malformed request body",
                "The body is not valid JSON.",
                [ProblemField(field="body", reason=str(exc.detail))],
            )
        )
    if isinstance(exc, NotAuthorizedException):
        code, title = "auth.unauthenticated", "Authentication required"
    elif isinstance(exc, PermissionDeniedException):
        code, title = "auth.forbidden", "Not allowed"
    elif isinstance(exc, NotFoundException):
        code, title = "resource.not_found", "Not found"
    elif exc.status_code == 405:
        code, title = "request.method_not_allowed", "Method not allowed"
    elif exc.status_code == 413:
        limit = _body_limit(request)
        reason = f"larger than the {limit} bytes this route accepts" if limit else "too large"
        return problem_response(
            _problem(
                413,
                "request.too_large",
                "Request too large",
                f"The request body is {reason}.",
                [ProblemField(field="body", reason=reason)],
            ),
            exc.headers,
        )
    elif exc.status_code == 415:
        code, title = "request.unsupported_media_type", "Unsupported media type"
    elif exc.status_code == 429:
        code, title = "request.rate_limited", "Too many requests"
    elif exc.status_code >= 500:
        code, title = "server.error", "Server error"
    else:
        code, title = "request.invalid", "Bad request"
    return problem_response(_problem(exc.status_code, code, title, str(exc.detail)), exc.headers)


def _body_limit(request: Request[Any, Any, Any]) -> int | None:
    try:
        limit: int | None = request.route_handler.resolve_request_max_body_size()
        return limit
    except Exception:
        return None


def _unique_field(exc: Exception) -> str | None:
    """The column a unique violation is about, from PostgreSQL's constraint name or SQLite's message."""
    constraint: str | None = getattr(exc, "constraint_name", None)
    table: str | None = getattr(exc, "table_name", None)
    if constraint and table and constraint.startswith(f"{table}_") and constraint.endswith("_key"):
        return constraint[len(table) + 1 : -len("_key")]
    match = re.search(r"UNIQUE constraint failed: \w+\.(\w+)", str(exc))
    return match.group(1) if match else None


def is_unique_violation(exc: Exception) -> bool:
    return isinstance(exc, asyncpg.UniqueViolationError) or (
        isinstance(exc, sqlite3.IntegrityError) and "UNIQUE constraint failed" in str(exc)
    )


def handle_integrity(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    """Two concurrent writers both passed the duplicate check; the database's unique index stopped one."""
    if not is_unique_violation(exc):
        return handle_unexpected(request, exc)
    field = _unique_field(exc)
    return problem_response(
        _problem(
            409,
            "resource.duplicate",
            "Conflict",
            "Another request just created the same thing.",
            [ProblemField(field=field, reason="already used")] if field else [],
        )
    )


def handle_unstorable_text(_: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    # PostgreSQL text and jsonb cannot hold U+0000; such input is the client's error, not the server's.
    return problem_response(
        _problem(400, "request.invalid", "Invalid request", "Text may not contain the NUL character (U+0000).")
    )


def handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(
        _problem(HTTP_500_INTERNAL_SERVER_ERROR, "server.error", "Server error", "An unexpected error occurred.")
    )


EXCEPTION_HANDLERS = {
    FieldscoreError: handle_fieldscore_error,
    ValidationException: handle_validation,
    HTTPException: handle_http,
    asyncpg.CharacterNotInRepertoireError: handle_unstorable_text,
    asyncpg.UntranslatableCharacterError: handle_unstorable_text,
    asyncpg.IntegrityConstraintViolationError: handle_integrity,
    sqlite3.IntegrityError: handle_integrity,
    Exception: handle_unexpected,
}

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


class FieldscoreError(Exception):
    """Base of every error a client may see; `code` is stable and documented."""

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
        return problem_response(_problem(400, "request.malformed", "Malformed request body",
                                         "The body is not valid JSON.", [ProblemField(field="body", reason=str(exc.detail))]))
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
        return problem_response(_problem(413, "request.too_large", "Request too large",
                                         f"The request body is {reason}.", [ProblemField(field="body", reason=reason)]),
                                exc.headers)
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
        return request.route_handler.resolve_request_max_body_size()  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - no route (e.g. the limit hit before routing): say less
        return None


def _unique_field(exc: Exception) -> str | None:
    """The column a unique violation is about, from PostgreSQL's constraint name or SQLite's message."""
    constraint = getattr(exc, "constraint_name", None)
    table = getattr(exc, "table_name", None)
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
    return problem_response(_problem(
        409, "resource.duplicate", "Conflict", "Another request just created the same thing.",
        [ProblemField(field=field, reason="already used")] if field else [],
    ))


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


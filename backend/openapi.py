"""OpenAPI documentation of the problem responses each route can return."""

from __future__ import annotations

from typing import Any

from litestar.openapi.datastructures import ResponseSpec

from api_schemas.common import Problem
from backend.errors import PROBLEM_JSON

_DESCRIPTIONS = {
    400: "Malformed or invalid request (problem+json names each field).",
    401: "Not authenticated, or the token is invalid or expired.",
    403: "The caller's role may not do this.",
    404: "Not found, or not visible to the caller.",
    409: "Conflicts with the current state.",
    413: "Request body too large.",
    415: "The body is not sent as application/json.",
    422: "Semantically invalid input (problem+json names each field).",
    429: "Too many attempts; retry after the Retry-After header.",
    503: "The server is busy; retry after the Retry-After header.",
}


def problems(*statuses: int, public: bool = False) -> dict[int, ResponseSpec]:
    """Problem responses for a route: the given statuses plus those every guarded route may return."""
    codes = set(statuses) | {400} | (set() if public else {401, 403})
    return {
        # No generated examples: they are random (a Problem with status 8793) and change the document per process.
        code: ResponseSpec(
            data_container=Problem, description=_DESCRIPTIONS[code], media_type=PROBLEM_JSON, generate_examples=False
        )
        for code in sorted(codes)
    }


def document_json_bodies(route_handlers: Any) -> None:
    """Every route that takes a JSON body may answer 413 and 415 (backend.request_body); say so in one place
    rather than in each route's `problems(...)`."""
    for handler in route_handlers:
        data = handler.parsed_data_field
        media = getattr(getattr(data, "kwarg_definition", None), "media_type", None)
        if data is None or getattr(media, "value", media) not in (None, "application/json"):
            continue
        handler.responses = {**(handler.responses or {}), **problems(413, 415, public=True)}

"""Refuse query parameters an operation does not declare, for every route in one place.

A filter the operation does not have must not be ignored: a manager who adds `campaign_id=...` to an
endpoint without that filter would read unfiltered figures that look filtered. The accepted names are
the ones Litestar itself parses for the handler (its own and its dependencies', e.g. `limit`/`offset`),
so this list cannot drift from what the handler really reads.

A value holding a NUL character is refused here too, naming the parameter: PostgreSQL cannot compare
text with U+0000 in it (a generic 400 that named nothing) while SQLite searched for it (200), and
request bodies already refuse NUL alike on both engines (api_schemas.common.NO_NUL).
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar, Request

from backend.errors import FieldscoreError


class UnknownQueryParameter(FieldscoreError):
    status, code, title = 400, "request.unknown_parameter", "Unknown query parameter"


class QueryParameterCheck:
    """`check` is the app's before_request hook; `learn` reads the app's routes once it is built."""

    def __init__(self) -> None:
        self._accepted: dict[int, frozenset[str]] = {}

    def learn(self, app: Litestar) -> None:
        for route in app.routes:
            for handler, kwargs_model in getattr(route, "route_handler_map", {}).values():
                if not handler.resolve_include_in_schema():  # files, pages and the generated docs: not the API
                    continue
                self._accepted[id(handler)] = frozenset(p.field_alias for p in kwargs_model.expected_query_params)

    async def check(self, request: Request[Any, Any, Any]) -> None:
        known = self._accepted.get(id(request.route_handler))
        if known is None or not request.query_params:
            return
        unknown = sorted(set(request.query_params) - known)
        if unknown:
            listed = ", ".join(sorted(known)) or "none"
            raise UnknownQueryParameter(
                f"This operation does not accept {', '.join(unknown)}; it accepts: {listed}.",
                errors=[(f"query.{name}", f"unknown parameter; this operation accepts: {listed}") for name in unknown],
            )
        with_nul = sorted({name for name, value in request.query_params.multi_items() if "\x00" in value})
        if with_nul:
            raise FieldscoreError(
                "Query parameters may not contain the NUL character (U+0000).",
                errors=[(f"query.{name}", "must not contain a NUL character") for name in with_nul],
            )

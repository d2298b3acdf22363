"""Lists and lookups shared by every domain: page parameters, the text search, "filters -> count ->
page" (`paged`) and "scoped lookup or not found" (`scoped_row`)."""

from __future__ import annotations

import functools
import operator
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

import msgspec
from litestar.params import QueryParameter
from piccolo.columns import Column
from piccolo.columns.combination import WhereRaw
from piccolo.custom_types import Combinable
from piccolo.query import Count, Select

from api_schemas.common import Page
from backend.errors import NotFound

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class PageParams:
    limit: int
    offset: int


def provide_page(
    limit: Annotated[int, QueryParameter(ge=1, le=500, description="Items per page (1–500).")] = 50,
    offset: Annotated[int, QueryParameter(ge=0, le=10_000_000, description="Items to skip.")] = 0,
) -> PageParams:
    return PageParams(limit=limit, offset=offset)


def contains(q: str, *columns: Column) -> Combinable:
    """Rows where any of `columns` contains `q`, ignoring case, with % and _ in `q` taken literally.

    Both sides go through the database's own lower() (Unicode-aware on PostgreSQL, ASCII on SQLite),
    so a search matches its own text on either engine; Piccolo's ilike falls back to LIKE on SQLite
    with a warning and would treat % and _ as wildcards."""
    pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    clauses = [
        WhereRaw(
            f'lower("{c._meta.table._meta.tablename}"."{c._meta.db_column_name}") LIKE lower({{}}) ESCAPE \'\\\'',
            pattern,
        )
        for c in columns
    ]
    return functools.reduce(operator.or_, clauses)


Search = Annotated[str | None, QueryParameter(max_length=200, description="Case-insensitive substring search.")]
"""The `q` parameter of every list that searches text (see `contains`)."""


async def paged(
    query: Select[Any], count: Count, clauses: Iterable[Combinable | None], page: PageParams, *, load_json: bool = False
) -> tuple[list[dict[str, Any]], int]:
    """A list's page of rows and its total: every clause given (None: no filter) narrows both the
    query (already ordered, unique column last) and its count, so `total` counts what the pages hold."""
    for clause in clauses:
        if clause is not None:
            query, count = query.where(clause), count.where(clause)
    rows = await query.output(load_json=load_json).limit(page.limit).offset(page.offset)
    return rows, await count


def page_of(items: list[T], total: int, page: PageParams) -> Page[T]:
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


async def converted_page(
    query: Select[Any],
    count: Count,
    clauses: Iterable[Combinable | None],
    page: PageParams,
    schema: type[T],
    *,
    load_json: bool = False,
) -> Page[T]:
    """`paged`, each row converted to `schema`."""
    rows, total = await paged(query, count, clauses, page, load_json=load_json)
    return page_of([msgspec.convert(r, schema) for r in rows], total, page)


async def scoped_row(
    query: Select[Any], scope: Combinable | None, not_found: NotFound, *, load_json: bool = False
) -> dict[str, Any]:
    """The one row `query` selects, if `scope` (what the actor may see; None: everything) lets the
    actor see it; else `not_found`. Another tenant's row is "not found", never "forbidden": a 403
    would confirm that it exists."""
    if scope is not None:
        query = query.where(scope)
    row = await query.output(load_json=load_json).first()
    if row is None:
        raise not_found
    return row

"""Pagination parameters and the text search shared by every list endpoint."""

from __future__ import annotations

import functools
import operator
from dataclasses import dataclass
from typing import Annotated

from litestar.params import QueryParameter
from piccolo.columns import Column
from piccolo.columns.combination import Combinable, WhereRaw


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
    clauses = [WhereRaw(f'lower("{c._meta.table._meta.tablename}"."{c._meta.db_column_name}") '
                        "LIKE lower({}) ESCAPE '\\'", pattern) for c in columns]
    return functools.reduce(operator.or_, clauses)

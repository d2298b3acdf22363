"""Pagination parameters shared by every list endpoint."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from litestar.params import QueryParameter


@dataclass(frozen=True, slots=True)
class PageParams:
    limit: int
    offset: int


def provide_page(
    limit: Annotated[int, QueryParameter(ge=1, le=500, description="Items per page (1–500).")] = 50,
    offset: Annotated[int, QueryParameter(ge=0, le=10_000_000, description="Items to skip.")] = 0,
) -> PageParams:
    return PageParams(limit=limit, offset=offset)

"""The bare-endpoint ceiling: a Litestar app that only decodes a report into msgspec and answers 201."""

from __future__ import annotations

from litestar import Litestar, get, post

from api_schemas.reports import ReportCreate


@post("/reports", status_code=201)
async def submit(data: ReportCreate) -> None:
    # Decoding (and msgspec's validation of ReportCreate) is all the work: nothing is checked or stored.
    del data


@get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


app = Litestar(route_handlers=[submit, health], debug=False)

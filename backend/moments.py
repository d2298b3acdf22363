"""Date-times from requests, told in UTC before they reach a query or a stored row."""

from __future__ import annotations

import datetime as dt

from backend.errors import InvalidInput


def in_utc(**moments: dt.datetime | None) -> dict[str, dt.datetime | None]:
    """Each named moment in UTC (one without an offset is taken as UTC). Years 1 and 9999 decode, but
    with their offset some fall outside what a date-time can hold: 422 naming every such field."""
    told, out_of_range = {}, []
    for name, moment in moments.items():
        try:
            told[name] = None if moment is None else (
                moment.replace(tzinfo=dt.timezone.utc) if moment.utcoffset() is None
                else moment.astimezone(dt.timezone.utc))
        except OverflowError:
            out_of_range.append((name, "outside the years a date-time can be stored in"))
    if out_of_range:
        raise InvalidInput("A date-time is out of range.", errors=out_of_range)
    return told

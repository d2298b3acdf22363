"""Time: now, date-times from the database and from requests told in UTC, and local dates.

Stored date-times are UTC. SQLite hands them back naive (they were written in UTC), PostgreSQL aware;
`aware` makes them the same. Requests may carry any offset; `in_utc` tells them in UTC, refusing
those that cannot be (422). A location's local date is its own time zone's (docs/architecture.md).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

from backend.errors import InvalidInput


def now() -> dt.datetime:
    """The current moment, in UTC."""
    return dt.datetime.now(dt.timezone.utc)


def aware(value: dt.datetime) -> dt.datetime:
    """A stored date-time as an aware one (SQLite returns the UTC value without its offset)."""
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def local_date(at: dt.datetime, tz: str) -> dt.date:
    """The date at `at` in the zone `tz` (a location's), e.g. for one-a-day rules."""
    return aware(at).astimezone(zoneinfo.ZoneInfo(tz)).date()


def in_utc(**moments: dt.datetime | None) -> dict[str, dt.datetime | None]:
    """Each named moment in UTC (one without an offset is taken as UTC). Years 1 and 9999 decode, but
    with their offset some fall outside what a date-time can hold: 422 naming every such field."""
    told, out_of_range = {}, []
    for name, moment in moments.items():
        try:
            told[name] = (
                None
                if moment is None
                else (
                    moment.replace(tzinfo=dt.timezone.utc)
                    if moment.utcoffset() is None
                    else moment.astimezone(dt.timezone.utc)
                )
            )
        except OverflowError:
            out_of_range.append((name, "outside the years a date-time can be stored in"))
    if out_of_range:
        raise InvalidInput("A date-time is out of range.", errors=out_of_range)
    return told

"""Which reports an actor may see, as query clauses: the reports domain's rule, used by its own lists
and lookups and by the domains that show things reports hold (a manager sees an attachment only
through an approved report of their organisation)."""

from __future__ import annotations

import uuid
from typing import Any

from api_schemas.accounts import Role
from api_schemas.reports import ReportStatus
from backend.accounts.security import Actor
from backend.reports.tables import Report


def _approved(organisation_id: uuid.UUID | None) -> Any:
    # Only approved reports reach the client.
    return (Report.organisation == organisation_id) & (Report.status == ReportStatus.approved.value)


def approved_of(organisation_id: uuid.UUID | None) -> Any:
    """The ids of an organisation's approved reports (a sub-query)."""
    return Report.select(Report.id).where(_approved(organisation_id))


def report_scope(actor: Actor) -> Any:
    """The reports `actor` may see, as a where clause (None: every report)."""
    if actor.role == Role.shopper:
        return Report.shopper == actor.user_id
    if actor.role == Role.manager:
        return _approved(actor.organisation_id)
    return None

"""Audit log table."""

from piccolo.columns import JSON, UUID, ForeignKey, OnDelete, Timestamptz, Varchar
from piccolo.table import Table

from backend.accounts.tables import User


class AuditEntry(Table):
    id = UUID(primary_key=True)
    at = Timestamptz(index=True)
    actor = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    action = Varchar(length=64, index=True)  # e.g. task.assigned, report.submitted
    entity = Varchar(length=32)
    entity_id = Varchar(length=64, index=True)
    detail = JSON(default={})

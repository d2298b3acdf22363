"""Forms tables: a questionnaire and its numbered versions (immutable once published)."""

from piccolo.columns import JSON, UUID, ForeignKey, Integer, OnDelete, Timestamptz, Varchar
from piccolo.table import Table

from backend.accounts.tables import Organisation


class Form(Table):
    id = UUID(primary_key=True)
    name = Varchar(length=200)
    channel = Varchar(length=16, index=True)
    organisation = ForeignKey(Organisation, null=True, on_delete=OnDelete.restrict)
    created_at = Timestamptz()


class FormVersion(Table):
    """Unique per (form, number) (see migration); `definition` is frozen once status is published."""

    id = UUID(primary_key=True)
    form = ForeignKey(Form, on_delete=OnDelete.cascade, index=True)
    number = Integer()
    status = Varchar(length=16)
    definition = JSON()
    created_at = Timestamptz()
    published_at = Timestamptz(null=True, default=None)

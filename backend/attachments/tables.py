"""Attachments tables: who uploaded which content, and which report answers use it."""

from piccolo.columns import UUID, ForeignKey, Integer, OnDelete, Timestamptz, Varchar
from piccolo.table import Table

from backend.accounts.tables import User


class Attachment(Table):
    """One upload of some content by one user; unique per (sha256, uploaded_by), see migration.

    The bytes live once in the attachment store under their sha256; a row per uploader keeps
    "only your own uploads" checkable when two people happen to upload the same file.
    """

    id = UUID(primary_key=True)
    sha256 = Varchar(length=64)  # indexed by the unique (sha256, uploaded_by)
    size = Integer()
    media_type = Varchar(length=64)  # sniffed from the bytes, never the declared Content-Type
    kind = Varchar(length=16)  # image, document, audio, video
    uploaded_by = ForeignKey(User, null=False, on_delete=OnDelete.restrict, index=True)
    uploaded_at = Timestamptz()


class ReportAttachment(Table):
    """An answer of a report that names an attachment. `report_id` carries no foreign key so this
    app does not depend on the reports app's migrations."""

    id = UUID(primary_key=True)
    report_id = UUID(index=True)
    question_key = Varchar(length=64)
    sha256 = Varchar(length=64, index=True)

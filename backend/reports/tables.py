"""Reports table."""

from piccolo.columns import (
    JSON,
    UUID,
    Boolean,
    DoublePrecision,
    ForeignKey,
    Integer,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table

from backend.accounts.tables import Organisation, User
from backend.forms.tables import FormVersion
from backend.locations.tables import Location
from backend.tasks.tables import Task


class Report(Table):
    """One report per task; `id` comes from the phone. Organisation and location are copied from
    the task so analytics group without joins."""

    id = UUID(primary_key=True)
    task = ForeignKey(Task, unique=True, on_delete=OnDelete.restrict)
    # Indexed by report_shopper_form_latest (shopper, form_version, submitted_at); see the migrations.
    shopper = ForeignKey(User, null=True, on_delete=OnDelete.restrict)
    organisation = ForeignKey(Organisation, on_delete=OnDelete.restrict, index=True)
    location = ForeignKey(Location, on_delete=OnDelete.restrict, index=True)
    form_version = ForeignKey(FormVersion, on_delete=OnDelete.restrict)
    status = Varchar(length=16, index=True)
    revision = Integer(default=1)
    content_hash = Varchar(length=64)
    answers = JSON()
    started_at = Timestamptz()
    ended_at = Timestamptz()
    submitted_at = Timestamptz()
    score_calculated = DoublePrecision(null=True, default=None)
    score_final = DoublePrecision(null=True, default=None)
    failed = Boolean(default=False)
    score_detail = JSON()  # the ScoreResult with each item's contribution, frozen at scoring time
    review_reason = Text(null=True, default=None)
    reviewed_by = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    reviewed_at = Timestamptz(null=True, default=None)
    flags = JSON(default=[])  # evidence flags computed at submission: [{code, reason}]
    flag_count = Integer(default=0, index=True)


class ReportRevision(Table):
    """Every submitted version of a report, never overwritten; unique per (report, number) (see migration)."""

    id = UUID(primary_key=True)
    report = ForeignKey(Report, on_delete=OnDelete.cascade)  # indexed by report_revision_number (report, number)
    number = Integer()
    content_hash = Varchar(length=64)
    answers = JSON()
    started_at = Timestamptz()
    ended_at = Timestamptz()
    submitted_at = Timestamptz()
    score_calculated = DoublePrecision(null=True, default=None)
    score_final = DoublePrecision(null=True, default=None)
    failed = Boolean(default=False)
    score_detail = JSON()


class ReportComment(Table):
    """A reviewer's comment when returning a report, on one question or on the whole report."""

    id = UUID(primary_key=True)
    report = ForeignKey(Report, on_delete=OnDelete.cascade, index=True)
    revision = Integer()
    question_key = Varchar(length=64, null=True, default=None)
    text = Text()
    author = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz()

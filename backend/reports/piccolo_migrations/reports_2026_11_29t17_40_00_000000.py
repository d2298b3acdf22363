"""Drop two indexes that wider ones already serve: every new report paid for their upkeep.

report(shopper) is the leading column of report_shopper_form_latest (shopper, form_version,
submitted_at); report_revision(report) is the leading column of the unique report_revision_number
(report, number). Lookups by shopper or by report use those.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import ForeignKey

ID = "2026-11-29T17:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "drop report(shopper) and report_revision(report): prefixes of wider indexes"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="reports", description=DESCRIPTION)
    manager.alter_column(table_class_name="Report", tablename="report", column_name="shopper",
                         db_column_name="shopper", params={"index": False}, old_params={"index": True},
                         column_class=ForeignKey, old_column_class=ForeignKey, schema=None)
    manager.alter_column(table_class_name="ReportRevision", tablename="report_revision", column_name="report",
                         db_column_name="report", params={"index": False}, old_params={"index": True},
                         column_class=ForeignKey, old_column_class=ForeignKey, schema=None)
    return manager

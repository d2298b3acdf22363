"""A revision number is used once per report."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-23T01:28:21:000000"
VERSION = "1.38.0"
DESCRIPTION = "unique (report, number) on report_revision"


class ReportRevision(Table, tablename="report_revision", schema=None):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="reports", description=DESCRIPTION)

    async def unique_number() -> None:
        await ReportRevision.raw("CREATE UNIQUE INDEX report_revision_number ON report_revision (report, number)")

    async def drop_unique_number() -> None:
        await ReportRevision.raw("DROP INDEX report_revision_number")

    manager.add_raw(unique_number)
    manager.add_raw_backwards(drop_unique_number)
    return manager

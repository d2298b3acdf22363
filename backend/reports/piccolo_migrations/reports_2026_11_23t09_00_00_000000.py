"""An index for the identical-answers check: a shopper's latest report on a form."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-23T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "index report (shopper, form_version, submitted_at)"


class Report(Table, tablename="report", schema=None):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="reports", description=DESCRIPTION)

    async def create() -> None:
        await Report.raw("CREATE INDEX report_shopper_form_latest ON report (shopper, form_version, submitted_at)")

    async def drop() -> None:
        await Report.raw("DROP INDEX report_shopper_form_latest")

    manager.add_raw(create)
    manager.add_raw_backwards(drop)
    return manager

"""Indexes for the analytics fact tables: an organisation's facts by location, a report's items."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-03T08:15:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "index report_fact (organisation, location) and item_fact (report, kind)"


class ReportFact(Table, tablename="report_fact", schema=None):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="analytics", description=DESCRIPTION)

    async def create() -> None:
        await ReportFact.raw("CREATE INDEX report_fact_organisation_location ON report_fact (organisation, location)")
        await ReportFact.raw("CREATE INDEX item_fact_report_kind ON item_fact (report, kind)")

    async def drop() -> None:
        await ReportFact.raw("DROP INDEX report_fact_organisation_location")
        await ReportFact.raw("DROP INDEX item_fact_report_kind")

    manager.add_raw(create)
    manager.add_raw_backwards(drop)
    return manager

"""survival_rollup read in one index: a measure's rows together (organisation, measure, location, t, censored) and
the count in a covering index, so a Kaplan–Meier comparison aggregates per location in index order without
touching the table."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-03T12:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "survival_rollup key ordered by measure first; covering index with the count"


class SurvivalRollup(Table, tablename="survival_rollup", schema=None):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="analytics", description=DESCRIPTION)

    async def create() -> None:
        await SurvivalRollup.raw("DROP INDEX survival_rollup_key")
        await SurvivalRollup.raw(
            "CREATE UNIQUE INDEX survival_rollup_key ON survival_rollup (organisation, measure, location, t, censored)"
        )
        await SurvivalRollup.raw(
            "CREATE INDEX survival_rollup_read ON survival_rollup (organisation, measure, location, t, censored, n)"
        )

    async def drop() -> None:
        await SurvivalRollup.raw("DROP INDEX survival_rollup_read")
        await SurvivalRollup.raw("DROP INDEX survival_rollup_key")
        await SurvivalRollup.raw(
            "CREATE UNIQUE INDEX survival_rollup_key ON survival_rollup (organisation, location, measure, t, censored)"
        )

    manager.add_raw(create)
    manager.add_raw_backwards(drop)
    return manager

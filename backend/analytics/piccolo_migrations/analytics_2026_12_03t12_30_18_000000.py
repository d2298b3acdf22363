"""measure_rollup's key, and its rows for the facts already stored."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-03T12:30:18:000000"
VERSION = "1.38.0"
DESCRIPTION = "unique measure_rollup (organisation, measure, location); filled from the facts"


class MeasureRollup(Table, tablename="measure_rollup", schema=None):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="analytics", description=DESCRIPTION)

    async def create() -> None:
        await MeasureRollup.raw(
            "CREATE UNIQUE INDEX measure_rollup_key ON measure_rollup (organisation, measure, location)"
        )
        # A database with facts already: their rollups are written by the migration that keys the rollups by
        # channel (2026-12-03T15:00:01), which rebuilds them all with today's code.

    async def drop() -> None:
        await MeasureRollup.raw("DROP INDEX measure_rollup_key")

    manager.add_raw(create)
    manager.add_raw_backwards(drop)
    return manager

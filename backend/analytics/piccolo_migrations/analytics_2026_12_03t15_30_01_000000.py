"""measure_rollup per ISO week: its unique key with the week last, and its rows written again from the facts, so a
trend of a mean, share or NPS measure by week (the dashboard's score by week) reads the rollup instead of the
fact table."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-03T15:30:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "measure_rollup key with the ISO week; rebuilt from the facts"


class MeasureRollup(Table, tablename="measure_rollup", schema=None):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="analytics", description=DESCRIPTION)

    async def create() -> None:
        await MeasureRollup.raw("DROP INDEX measure_rollup_key")
        await MeasureRollup.raw(
            "CREATE UNIQUE INDEX measure_rollup_key ON measure_rollup (organisation, measure, location, channel, "
            "local_week)"
        )
        from backend.analytics import rollups  # its rows per week, from the facts already stored (set-based)

        await rollups.rebuild(tables=("measure_rollup",))

    async def drop() -> None:
        # The rows are per week, which the old key does not allow: emptied (`fieldscore analytics-rebuild` with the
        # code of that time writes them again).
        await MeasureRollup.raw("DELETE FROM measure_rollup")
        await MeasureRollup.raw("DROP INDEX measure_rollup_key")
        await MeasureRollup.raw(
            "CREATE UNIQUE INDEX measure_rollup_key ON measure_rollup (organisation, measure, location, channel)"
        )

    manager.add_raw(create)
    manager.add_raw_backwards(drop)
    return manager

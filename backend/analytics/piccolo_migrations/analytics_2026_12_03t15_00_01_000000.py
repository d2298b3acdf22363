"""The rollups keyed by channel: their unique keys (and survival_rollup's covering index) with the channel after
the location, and their rows written again from the facts, so a comparison filtered or grouped by channel reads a
rollup instead of the fact tables."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-03T15:00:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "rollup keys with the channel; rollups rebuilt from the facts"

CREATE = (
    "DROP INDEX survival_rollup_read",
    "DROP INDEX survival_rollup_key",
    "DROP INDEX item_rollup_key",
    "DROP INDEX measure_rollup_key",
    "CREATE UNIQUE INDEX survival_rollup_key ON survival_rollup (organisation, measure, location, channel, t, censored)",
    "CREATE INDEX survival_rollup_read ON survival_rollup (organisation, measure, location, channel, t, censored, n)",
    "CREATE UNIQUE INDEX item_rollup_key ON item_rollup (organisation, location, channel, kind, key, section)",
    "CREATE UNIQUE INDEX measure_rollup_key ON measure_rollup (organisation, measure, location, channel)",
)
# Back: the rows are per channel, which the old keys do not allow; they are emptied (`fieldscore analytics-rebuild`
# with the code of that time writes them again).
DROP = (
    "DELETE FROM survival_rollup",
    "DELETE FROM item_rollup",
    "DELETE FROM measure_rollup",
    "DROP INDEX survival_rollup_read",
    "DROP INDEX survival_rollup_key",
    "DROP INDEX item_rollup_key",
    "DROP INDEX measure_rollup_key",
    "CREATE UNIQUE INDEX survival_rollup_key ON survival_rollup (organisation, measure, location, t, censored)",
    "CREATE INDEX survival_rollup_read ON survival_rollup (organisation, measure, location, t, censored, n)",
    "CREATE UNIQUE INDEX item_rollup_key ON item_rollup (organisation, location, kind, key, section)",
    "CREATE UNIQUE INDEX measure_rollup_key ON measure_rollup (organisation, measure, location)",
)


class SurvivalRollup(Table, tablename="survival_rollup", schema=None):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="analytics", description=DESCRIPTION)

    async def create() -> None:
        for statement in CREATE:
            await SurvivalRollup.raw(statement)
        from backend.analytics import rollups  # from the facts already stored (set-based)

        # measure_rollup's rows are written by the next change to its key (2026-12-03T15:30:01), with today's code.
        await rollups.rebuild(tables=("survival_rollup", "item_rollup"))

    async def drop() -> None:
        for statement in DROP:
            await SurvivalRollup.raw(statement)

    manager.add_raw(create)
    manager.add_raw_backwards(drop)
    return manager

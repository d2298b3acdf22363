"""One target per organisation, measure and scope."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-03T09:00:37:000000"
VERSION = "1.38.0"
DESCRIPTION = "unique analytics_target (organisation, measure, scope, scope_value)"


class Target(Table, tablename="analytics_target", schema=None):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="analytics", description=DESCRIPTION)

    async def create() -> None:
        # COALESCE: an organisation-wide target has no scope_value, and NULLs are never equal in a unique index.
        await Target.raw("CREATE UNIQUE INDEX analytics_target_scope ON analytics_target "
                         "(organisation, measure, scope, COALESCE(scope_value, ''))")

    async def drop() -> None:
        await Target.raw("DROP INDEX analytics_target_scope")

    manager.add_raw(create)
    manager.add_raw_backwards(drop)
    return manager

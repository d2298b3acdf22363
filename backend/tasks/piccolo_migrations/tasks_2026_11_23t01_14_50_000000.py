"""Planned probes are unique per (wave, location, channel, slot, probe, attempt): task generation is idempotent.

Hand-tasks have NULL wave/slot and are unaffected (NULLs are distinct in unique indexes on both engines).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-23T01:14:50:000000"
VERSION = "1.38.0"
DESCRIPTION = "unique planned probe per wave"


class Task(Table, tablename="task", schema=None):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="tasks", description=DESCRIPTION)

    async def unique_probe() -> None:
        await Task.raw(
            "CREATE UNIQUE INDEX task_planned_probe ON task (wave, location, channel, slot_key, probe_index, attempt)"
        )

    async def drop_unique_probe() -> None:
        await Task.raw("DROP INDEX task_planned_probe")

    manager.add_raw(unique_probe)
    manager.add_raw_backwards(drop_unique_probe)
    return manager

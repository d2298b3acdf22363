"""One version per (form, number): Piccolo has no composite unique constraint."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-23T01:04:22:000000"
VERSION = "1.38.0"
DESCRIPTION = "unique (form, number) on form_version"


class FormVersion(Table, tablename="form_version", schema=None):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="forms", description=DESCRIPTION)

    async def unique_number() -> None:
        await FormVersion.raw("CREATE UNIQUE INDEX form_version_number ON form_version (form, number)")

    async def drop_unique_number() -> None:
        await FormVersion.raw("DROP INDEX form_version_number")

    manager.add_raw(unique_number)
    manager.add_raw_backwards(drop_unique_number)
    return manager

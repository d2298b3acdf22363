"""One own/competitor relation per (organisation, brand): Piccolo has no composite unique constraint."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-23T01:00:07:000000"
VERSION = "1.38.0"
DESCRIPTION = "unique (organisation, brand) on organisation_brand"


class OrganisationBrand(Table, tablename="organisation_brand", schema=None):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="locations", description=DESCRIPTION)

    async def unique_pair() -> None:
        await OrganisationBrand.raw(
            "CREATE UNIQUE INDEX organisation_brand_pair ON organisation_brand (organisation, brand)"
        )

    async def drop_unique_pair() -> None:
        await OrganisationBrand.raw("DROP INDEX organisation_brand_pair")

    manager.add_raw(unique_pair)
    manager.add_raw_backwards(drop_unique_pair)
    return manager

"""A location is in a campaign at most once."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-23T01:14:48:000000"
VERSION = "1.38.0"
DESCRIPTION = "unique (campaign, location)"


class CampaignLocation(Table, tablename="campaign_location", schema=None):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="campaigns", description=DESCRIPTION)

    async def unique_pair() -> None:
        await CampaignLocation.raw(
            "CREATE UNIQUE INDEX campaign_location_pair ON campaign_location (campaign, location)"
        )

    async def drop_unique_pair() -> None:
        await CampaignLocation.raw("DROP INDEX campaign_location_pair")

    manager.add_raw(unique_pair)
    manager.add_raw_backwards(drop_unique_pair)
    return manager

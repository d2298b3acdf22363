from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Integer
from piccolo.columns.indexes import IndexMethod

ID = "2026-11-23T01:28:17:733475"
VERSION = "1.38.0"
DESCRIPTION = ""


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="campaigns", description=DESCRIPTION
    )

    manager.add_column(
        table_class_name="Campaign",
        tablename="campaign",
        column_name="gps_limit_m",
        db_column_name="gps_limit_m",
        column_class_name="Integer",
        column_class=Integer,
        params={
            "default": 300,
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    return manager

"""Two task columns: how a planned probe's window stands to its location's opening hours, and whether an
unanswered call has a retry (scheduled) or none left (no_slot_left, attempts_used). Existing rows keep NULL:
unknown hours, no retry decision recorded on the task."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-03T12:05:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "task location_hours and retry_state"


def _nullable_varchar(length: int) -> dict:
    return {
        "length": length,
        "default": None,
        "null": True,
        "primary_key": False,
        "unique": False,
        "index": False,
        "index_method": IndexMethod.btree,
        "choices": None,
        "db_column_name": None,
        "secret": False,
    }


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="tasks", description=DESCRIPTION)
    for name in ("location_hours", "retry_state"):
        manager.add_column(
            table_class_name="Task",
            tablename="task",
            column_name=name,
            db_column_name=name,
            column_class_name="Varchar",
            column_class=Varchar,
            params=_nullable_varchar(16),
            schema=None,
        )
    return manager

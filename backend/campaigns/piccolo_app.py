"""Piccolo app registration for the campaigns tables and migrations."""

from pathlib import Path

from piccolo.conf.apps import AppConfig, table_finder

APP_CONFIG = AppConfig(
    app_name="campaigns",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=table_finder(["backend.campaigns.tables"], exclude_imported=True),
    migration_dependencies=["backend.locations.piccolo_app", "backend.forms.piccolo_app"],
)

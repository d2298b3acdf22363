"""Piccolo app registration for the tasks tables and migrations."""

from pathlib import Path

from piccolo.conf.apps import AppConfig, table_finder

APP_CONFIG = AppConfig(
    app_name="tasks",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=table_finder(["backend.tasks.tables"], exclude_imported=True),
    migration_dependencies=[
        "backend.locations.piccolo_app",
        "backend.forms.piccolo_app",
        "backend.campaigns.piccolo_app",
    ],
)

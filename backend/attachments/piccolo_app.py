"""Piccolo app registration for the attachments tables and migrations."""

from pathlib import Path

from piccolo.conf.apps import AppConfig, table_finder

APP_CONFIG = AppConfig(
    app_name="attachments",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=table_finder(["backend.attachments.tables"], exclude_imported=True),
    migration_dependencies=["backend.accounts.piccolo_app"],
)

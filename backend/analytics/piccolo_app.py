"""Piccolo app registration for the analytics fact tables and migrations."""

from pathlib import Path

from piccolo.conf.apps import AppConfig, table_finder

APP_CONFIG = AppConfig(
    app_name="analytics",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=table_finder(["backend.analytics.tables"], exclude_imported=True),
    migration_dependencies=["backend.reports.piccolo_app"],
)

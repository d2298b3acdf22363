"""Piccolo configuration: the engine from FIELDSCORE_DATABASE_URL and every app's tables."""

from piccolo.conf.apps import AppRegistry

from backend.db import create_engine
from backend.settings import load_settings

_settings = load_settings()
DB = create_engine(_settings.database_url, sqlite_timeout_s=_settings.sqlite_timeout_s)

APP_REGISTRY = AppRegistry(
    apps=[
        "backend.accounts.piccolo_app",
        "backend.audit.piccolo_app",
        "backend.locations.piccolo_app",
        "backend.forms.piccolo_app",
        "backend.campaigns.piccolo_app",
        "backend.tasks.piccolo_app",
        "backend.reports.piccolo_app",
        "backend.attachments.piccolo_app",
    ]
)

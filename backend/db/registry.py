"""Every domain's Piccolo app (tables and migrations). Building it imports the table modules only:
no engine, no settings, no database file."""

from piccolo.conf.apps import AppRegistry

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
        "backend.analytics.piccolo_app",
    ]
)

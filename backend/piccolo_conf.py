"""Piccolo configuration: every app's tables, and `DB`, the engine from FIELDSCORE_DATABASE_URL.

`DB` is built the first time someone asks for it (`from backend.piccolo_conf import DB`, Piccolo's
own engine lookup), not on import: importing the configuration must not create a database file in
whatever folder the process runs from. The app and the tests bind their own engine (backend.db.bind).
"""

from __future__ import annotations

import functools
from typing import Any

from backend.db.registry import APP_REGISTRY

__all__ = ["APP_REGISTRY", "DB"]  # noqa: F822 - DB comes from __getattr__ below


@functools.cache
def _engine() -> Any:
    from backend.db import create_engine
    from backend.settings import load_settings

    settings = load_settings()
    return create_engine(settings.database_url, sqlite_timeout_s=settings.sqlite_timeout_s)


def __getattr__(name: str) -> Any:  # PEP 562: `DB` on first use
    if name == "DB":
        return _engine()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""Fieldscore backend: the Litestar application, its domains, storage and CLI."""

import os

# Piccolo resolves a table's engine through this module unless one is bound explicitly.
os.environ.setdefault("PICCOLO_CONF", "backend.piccolo_conf")

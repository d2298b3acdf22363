"""Built-in form templates (FormDefinition JSON documents) and their loader."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any, Final

TEMPLATE_NAMES: Final = ("store_visit", "test_call", "test_email", "live_chat")


def load_template(name: str) -> dict[str, Any]:
    """A fresh copy of the named template's definition as plain JSON data."""
    if name not in TEMPLATE_NAMES:
        raise KeyError(f"unknown template {name!r}; choose one of {', '.join(TEMPLATE_NAMES)}")
    text = resources.files(__name__).joinpath(f"{name}.json").read_text(encoding="utf-8")
    definition: dict[str, Any] = json.loads(text)
    return definition


__all__ = ["TEMPLATE_NAMES", "load_template"]

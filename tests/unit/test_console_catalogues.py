"""The console's texts are translatable: every key its code uses exists in English and German alike."""

from __future__ import annotations

import json
import re
from pathlib import Path

CONSOLE = Path(__file__).resolve().parents[2] / "mobile_forms" / "web" / "console"


def _catalogue(lang: str) -> dict[str, str]:
    return json.loads((CONSOLE / "i18n" / f"{lang}.json").read_text(encoding="utf-8"))


def _used_keys() -> set[str]:
    keys: set[str] = set()
    for path in CONSOLE.rglob("*.js"):
        keys.update(re.findall(r'\bt\("([a-z_]+\.[a-z_.]+|[a-z_]+)"', path.read_text(encoding="utf-8")))
    return keys


def _present(key: str, catalogue: dict[str, str]) -> bool:
    return key in catalogue or f"{key}.other" in catalogue  # plural keys: key.one / key.other


def test_every_key_the_console_uses_is_in_english_and_german() -> None:
    used = _used_keys()
    assert len(used) > 200
    for lang in ("en", "de"):
        catalogue = _catalogue(lang)
        assert [k for k in sorted(used) if not _present(k, catalogue)] == [], lang


def test_english_and_german_have_the_same_keys_and_the_same_placeholders() -> None:
    en, de = _catalogue("en"), _catalogue("de")
    assert set(en) == set(de)
    for key, text in en.items():
        assert set(re.findall(r"\{(\w+)\}", text)) == set(re.findall(r"\{(\w+)\}", de[key])), key


def test_every_navigation_label_and_status_word_is_translated() -> None:
    # Keys built at run time (`status.${x}`, `channel.${x}`, ...) for every value the API can send.
    from api_schemas.accounts import Role
    from api_schemas.forms import Channel
    from api_schemas.reports import ReportStatus
    from api_schemas.tasks import TaskStatus
    from backend.campaigns.assignment import REASONS

    expected = (
        [f"role.{r.value}" for r in Role]
        + [f"channel.{c.value}" for c in Channel]
        + [f"status.{s.value}" for s in ReportStatus if s.value != "draft"]
        + [f"taskstatus.{s.value}" for s in TaskStatus]
        + [f"rule.{r}" for r in REASONS]
        + [f"nav.{n}" for n in ("review", "campaigns", "forms", "shoppers", "setup", "users", "dashboard")]
    )
    for lang in ("en", "de"):
        catalogue = _catalogue(lang)
        assert [k for k in expected if k not in catalogue] == [], lang

"""Importing the configuration (or the app) builds no engine and creates no database file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIELDSCORE_")}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_importing_the_configuration_and_the_app_touches_no_database(tmp_path):
    done = _run(
        "import backend.piccolo_conf, backend.app, backend.cli, backend.db\n"
        "from piccolo.conf.apps import Finder\n"
        "assert Finder().get_app_registry().app_configs\n",
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert list(tmp_path.iterdir()) == []  # no var/fieldscore.sqlite3, no lock file


def test_the_configured_engine_is_built_when_asked_for(tmp_path):
    done = _run(
        "from backend.piccolo_conf import DB\nfrom backend import db\n"
        "assert isinstance(DB, db.FieldscoreSQLiteEngine), DB\n"
        "from piccolo.engine import engine_finder\nassert engine_finder() is DB\n",
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "var" / "fieldscore.sqlite3").exists()


def test_collecting_the_tests_creates_no_database_in_the_current_folder(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIELDSCORE_")}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", str(ROOT / "tests")],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert not (tmp_path / "var").exists() and not list(tmp_path.glob("**/*.sqlite3"))

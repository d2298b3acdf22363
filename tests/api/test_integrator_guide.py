"""docs/integrator-guide.md cannot go stale: its `sh` blocks run, in order and as written, as one bash
script with real curl and jq against the app served by uvicorn on a free port (SQLite and PostgreSQL)."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import Database

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "integrator-guide.md"
_BLOCK = re.compile(r"^```sh\n(.*?)^```$", re.S | re.M)


def guide_script() -> str:
    blocks = _BLOCK.findall(GUIDE.read_text(encoding="utf-8"))
    assert len(blocks) >= 8, "the guide's commands are in ```sh blocks"
    return "set -euo pipefail\n" + "\n".join(blocks)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(database: Database, tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """The app as an operator runs it (`fieldscore serve`) on SQLite and on PostgreSQL, and the environment
    its CLI needs."""
    for tool in ("curl", "jq", "bash"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is needed to run the integrator guide (.ci/run installs it)")
    port = _free_port()
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",  # the `fieldscore` CLI
        "PYTHONPATH": str(ROOT),
        "FIELDSCORE_DATABASE_URL": database.url,
        "FIELDSCORE_DATA_DIR": str(tmp_path / "data"),
        "FIELDSCORE_ARGON2_TIME_COST": "1",
        "FIELDSCORE_ARGON2_MEMORY_KIB": "8192",
    }
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "backend.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                pytest.fail(f"the server exited with {server.returncode}:\n{log.read_text(errors='replace')}")
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the server did not become healthy:\n{log.read_text(errors='replace')}")
            time.sleep(0.2)
        yield base, {**env, "FIELDSCORE": base}
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def test_the_guide_runs_as_written(served, tmp_path):
    base, env = served
    script = tmp_path / "guide.sh"
    script.write_text(guide_script(), encoding="utf-8")
    result = subprocess.run(
        ["bash", str(script)], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, f"the guide failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"

    # What the guide did is what the API now says: four calls approved, compared as own vs competitor.
    token = httpx.post(
        f"{base}/auth/login", json={"email": "manager@example.com", "password": "long-enough-passphrase-1"}
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.get(f"{base}/reports?status=approved", headers=headers).json()["total"] == 4

    def compare(measure: str) -> dict[str, dict]:
        params = {"measure": measure, "group_by": "relation", "min_sample_size": 2}
        answer = httpx.get(f"{base}/analytics/comparison", params=params, headers=headers).json()
        return {g["keys"][0]["value"]: g["figure"] for g in answer["groups"]}

    seconds = compare("time_to_answer")
    assert seconds["own"]["n"] == seconds["competitor"]["n"] == 2
    assert 12 <= seconds["own"]["value"] <= 16 and 45 <= seconds["competitor"]["value"] <= 49
    scores = compare("score")
    assert scores["own"]["value"] > scores["competitor"]["value"]  # answered sooner and fully
    # The guide printed those figures too.
    assert '"relation":"own","n":2' in result.stdout


def test_the_guide_uses_only_documented_operations(tmp_path):
    """Every path the guide calls is in the OpenAPI document (a renamed route fails here by name)."""
    from backend.app import create_app
    from backend.settings import Settings

    app = create_app(Settings(database_url=f"sqlite:///{tmp_path}/unused.sqlite3", data_dir=tmp_path))
    patterns = [
        re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + "$")
        for path in app.openapi_schema.to_schema()["paths"]
    ]
    called = set(re.findall(r"""(?:GET|POST|PUT|PATCH|DELETE) "?(/[^"?\s']*)""", guide_script()))
    normalised = {re.sub(r"\$(\w+)|\$\{\w+\}", "x", path) for path in called}
    unknown = sorted(p for p in normalised if not any(pattern.match(p) for pattern in patterns))
    assert len(called) > 15
    assert not unknown, unknown

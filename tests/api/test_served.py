"""The real `fieldscore serve` process: lifespan, docs with local assets, login, clean shutdown."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time

import httpx

from tests.world import PASSWORD


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_migrates_serves_docs_and_stops_cleanly(database, tmp_path):
    port = _free_port()
    env = {**os.environ, "FIELDSCORE_DATABASE_URL": database.url, "FIELDSCORE_DATA_DIR": str(tmp_path)}
    created = subprocess.run(
        [
            sys.executable,
            "-m",
            "backend.cli",
            "create-user",
            "--email",
            "first@example.test",
            "--name",
            "First",
            "--role",
            "admin",
        ],
        env={**env, "FIELDSCORE_PASSWORD": PASSWORD},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert created.returncode == 0, created.stderr
    server = subprocess.Popen(
        [sys.executable, "-m", "backend.cli", "serve", "--host", "127.0.0.1", "--port", str(port), "--demo-if-empty"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            raise AssertionError("server did not become healthy")
        health = httpx.get(f"{base}/health").json()
        assert health["database"] == ("postgresql" if database.kind == "postgres" else "sqlite")

        docs = httpx.get(f"{base}/schema")
        assert docs.status_code == 200 and "swagger" in docs.text.lower()
        assets = re.findall(r'(?:src|href)="([^"]+)"', docs.text)
        assert assets and all(a.startswith("/static/") for a in assets), assets  # no CDN
        for asset in assets:
            assert httpx.get(f"{base}{asset}").status_code == 200
        spec = httpx.get(f"{base}/schema/openapi.json").json()
        assert "/reports" in spec["paths"]

        login = httpx.post(f"{base}/auth/login", json={"email": "first@example.test", "password": PASSWORD})
        assert login.status_code == 200
        me = httpx.get(f"{base}/auth/me", headers={"Authorization": f"Bearer {login.json()['access_token']}"})
        assert me.json()["role"] == "admin"
    finally:
        server.send_signal(signal.SIGINT)
        try:
            output, _ = server.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            output, _ = server.communicate()
    assert server.returncode == 0, output
    assert "Application shutdown complete" in output
    # It says where everything is served: the phone app, the console and the API's documentation.
    for what, path in (("Phone app", "/app/"), ("Console", "/console/"), ("API docs", "/schema")):
        assert re.search(rf"{what}: +http://127\.0\.0\.1:\d+{path}", output), output
    # The database had a user already: no demo was loaded, so no demo logins are offered.
    assert "leaving it as it is" in output and "Demo logins" not in output, output


def test_demo_command_migrates_a_fresh_database_first(tmp_path):
    env = {
        **os.environ,
        "FIELDSCORE_DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.sqlite3'}",
        "FIELDSCORE_DATA_DIR": str(tmp_path),
    }
    loaded = subprocess.run(
        [sys.executable, "-m", "backend.cli", "demo"], env=env, capture_output=True, text=True, timeout=300
    )
    assert loaded.returncode == 0, loaded.stderr
    again = subprocess.run(
        [sys.executable, "-m", "backend.cli", "demo"], env=env, capture_output=True, text=True, timeout=60
    )
    assert again.returncode != 0 and "not empty" in again.stderr


def test_create_user_applies_the_apis_rules_and_writes_nothing_when_they_fail(database, tmp_path):
    env = {**os.environ, "FIELDSCORE_DATABASE_URL": database.url, "FIELDSCORE_DATA_DIR": str(tmp_path)}

    def create(email: str, name: str, password: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "backend.cli", "create-user", "--email", email, "--name", name, "--role", "admin"],
            env={**env, "FIELDSCORE_PASSWORD": password},
            capture_output=True,
            text=True,
            timeout=60,
        )

    for email, name, password, field in (
        ("first@example.test", "First", "x", "$.password"),
        ("not-an-email", "First", PASSWORD, "$.email"),
        ("first@example.test", "", PASSWORD, "$.name"),
        ("first@example.test", "First", "1234567890", "password: is one of"),
        ("first@example.test", "First", "!" * 12, "password: is one character"),
    ):
        refused = create(email, name, password)
        assert refused.returncode != 0 and field in refused.stderr, refused.stderr
    assert create("first@example.test", "First", PASSWORD).returncode == 0  # the e-mail was never taken

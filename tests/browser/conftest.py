"""Browser tests: the real app served by uvicorn on a free loopback port, driven in Debian's Chromium.

Each test gets a fresh copy of a database that already holds a small world (built once per session
through the real API): an admin, a coordinator, shoppers with home coordinates, locations in two time
zones and published forms. A missing Chromium or Playwright skips these tests on a developer's machine
and FAILS them when FIELDSCORE_REQUIRE_BROWSER=1 (CI sets it). Screenshots go to test-artifacts/browser/.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from backend.app import create_app
from backend.settings import Settings
from mobile_forms.templates import load_template

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("FIELDSCORE_CHROMIUM", "/usr/bin/chromium")
REQUIRE_BROWSER = os.environ.get("FIELDSCORE_REQUIRE_BROWSER") == "1"
ARTIFACTS = ROOT / "test-artifacts" / "browser"
AXE = ROOT / "mobile_forms" / "web" / "vendor" / "axe-core" / "axe.min.js"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "correct-horse-battery"
PHONE = {
    "viewport": {"width": 360, "height": 640},
    "is_mobile": True,
    "has_touch": True,
    "device_scale_factor": 1,
    "locale": "en-GB",
    "timezone_id": "Europe/Amsterdam",
}


def _missing(reason: str) -> None:
    if REQUIRE_BROWSER:
        pytest.fail(f"browser tests are required (FIELDSCORE_REQUIRE_BROWSER=1) but {reason}")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """The real app (create_app, its lifespan) served by uvicorn in a thread of the test process over one
    SQLite file: a subprocess would re-import the app for every test (seconds on a busy machine)."""

    def __init__(self, db_path: Path, data_dir: Path, port: int | None = None, **settings: Any) -> None:
        self.port = port or _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.settings = Settings(
            database_url=f"sqlite:///{db_path}",
            data_dir=data_dir,
            argon2_time_cost=1,
            argon2_memory_kib=8192,
            **settings,
        )
        self.server: uvicorn.Server | None = None
        self.thread: threading.Thread | None = None

    def start(self) -> Server:
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        config = uvicorn.Config(
            create_app(self.settings), host="127.0.0.1", port=self.port, log_level="warning", lifespan="on"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name=f"uvicorn-{self.port}", daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        if self.server and self.thread:
            self.server.should_exit = True
            self.thread.join(timeout=20)
        self.server = self.thread = None


@dataclass
class Live:
    """The running server and the world in its database; `api` calls it as one of the world's users."""

    base: str
    world: dict[str, Any]
    server: Server
    tokens: dict[str, str] = field(default_factory=dict)

    def api(
        self, who: str | None, method: str, path: str, expect: int | tuple[int, ...] = (200, 201), **kw: Any
    ) -> Any:
        headers = {"Authorization": f"Bearer {self.world['tokens'][who]}"} if who else {}
        response = httpx.request(method, f"{self.base}{path}", headers=headers, timeout=30, **kw)
        expected = expect if isinstance(expect, tuple) else (expect,)
        assert response.status_code in expected, f"{method} {path} → {response.status_code}: {response.text}"
        return response.json() if response.content else None

    def task(
        self,
        form: str = "call",
        shopper: str | None = "shopper",
        location: str = "call_location",
        hours_before: float = 2,
        hours_after: float = 6,
    ) -> dict[str, Any]:
        """A task whose window is open now (reports must lie inside it), assigned to `shopper` or open."""
        now = time.time()
        stamp = lambda t: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))  # noqa: E731
        body: dict[str, Any] = {
            "organisation_id": self.world["organisation_id"],
            "location_id": self.world[location],
            "form_version_id": self.world["forms"][form]["version_id"],
            "channel": self.world["forms"][form]["channel"],
            "window_start": stamp(now - hours_before * 3600),
            "window_end": stamp(now + hours_after * 3600),
        }
        if shopper:
            body["shopper_id"] = self.world["users"][shopper]["id"]
        return self.api("coordinator", "POST", "/tasks", json=body)

    def reports(self, task_id: str) -> list[dict[str, Any]]:
        return self.api("coordinator", "GET", f"/reports?task_id={task_id}")["items"]


# A form with every question type, a section shown only on a condition, a show-if and a constraint.
ALL_TYPES_FORM: dict[str, Any] = {
    "title": {"en": "Store visit (all types)", "de": "Filialbesuch (alle Typen)"},
    "default_language": "en",
    "sections": [
        {
            "type": "section",
            "key": "arrival",
            "label": {"en": "Arrival", "de": "Ankunft"},
            "items": [
                {
                    "type": "note",
                    "key": "intro",
                    "label": {"en": "Check in when you arrive.", "de": "Bei Ankunft einchecken."},
                },
                {"type": "gps", "key": "checkin", "label": {"en": "GPS check-in", "de": "GPS-Check-in"}},
                {"type": "timestamp", "key": "arrived_at", "label": {"en": "Arrived at", "de": "Angekommen um"}},
                {"type": "timer_sequence", "key": "wait_timer", "label": {"en": "Waiting", "de": "Warten"}},
            ],
        },
        {
            "type": "section",
            "key": "service",
            "label": {"en": "Service", "de": "Service"},
            "items": [
                {
                    "type": "yes_no",
                    "key": "greeted",
                    "label": {"en": "Were you greeted?", "de": "Wurden Sie begrüßt?"},
                    "required": True,
                },
                {
                    "type": "text",
                    "key": "greeting_words",
                    "label": {"en": "What did they say?", "de": "Was wurde gesagt?"},
                    "show_if": {"op": "eq", "args": [{"op": "var", "key": "greeted"}, True]},
                    "required": True,
                },
                {
                    "type": "single_choice",
                    "key": "queue",
                    "label": {"en": "Queue length", "de": "Warteschlange"},
                    "choices": [
                        {"value": "none", "label": {"en": "None", "de": "Keine"}},
                        {"value": "short", "label": {"en": "Short", "de": "Kurz"}},
                        {"value": "long", "label": {"en": "Long", "de": "Lang"}},
                    ],
                },
                {
                    "type": "multiple_choice",
                    "key": "offered",
                    "label": {"en": "What was offered?", "de": "Was wurde angeboten?"},
                    "choices": [
                        {"value": "help", "label": {"en": "Help"}},
                        {"value": "coffee", "label": {"en": "Coffee"}},
                    ],
                },
                {
                    "type": "rating",
                    "key": "friendliness",
                    "label": {"en": "Friendliness", "de": "Freundlichkeit"},
                    "min": 1,
                    "max": 5,
                    "required": True,
                },
                {"type": "nps", "key": "recommend", "label": {"en": "Would you recommend it?", "de": "Empfehlen?"}},
                {
                    "type": "integer",
                    "key": "staff",
                    "label": {"en": "Staff on the floor", "de": "Personal"},
                    "min": 0,
                    "max": 50,
                    "constraint": {"op": "le", "args": [{"op": "self"}, 20]},
                    "constraint_message": {
                        "en": "More than 20 staff? Check again.",
                        "de": "Mehr als 20? Bitte prüfen.",
                    },
                },
                {"type": "decimal", "key": "price", "label": {"en": "Price quoted", "de": "Genannter Preis"}, "min": 0},
                {
                    "type": "duration",
                    "key": "served_s",
                    "label": {"en": "Seconds until served", "de": "Sekunden bis bedient"},
                    "metric": "serve_s",
                },
                {
                    "type": "yes_no",
                    "key": "clean",
                    "label": {"en": "Was it clean?", "de": "Sauber?"},
                    "na_allowed": True,
                },
            ],
        },
        {
            "type": "section",
            "key": "evidence",
            "label": {"en": "Evidence", "de": "Belege"},
            "items": [
                {"type": "photo", "key": "receipt", "label": {"en": "Photo of the receipt", "de": "Foto des Belegs"}},
                {"type": "file", "key": "recording", "label": {"en": "Recording", "de": "Aufnahme"}, "accept": "any"},
            ],
        },
    ],
}


def _build_world(base: str, admin_email: str) -> dict[str, Any]:
    client = httpx.Client(base_url=base, timeout=30)

    def login(email: str) -> str:
        r = client.post("/auth/login", json={"email": email, "password": PASSWORD})
        assert r.status_code == 200, r.text
        return r.json()["access_token"]

    tokens = {"admin": login(admin_email)}

    def ok(who: str, method: str, path: str, **kw: Any) -> Any:
        r = client.request(method, path, headers={"Authorization": f"Bearer {tokens[who]}"}, **kw)
        assert r.status_code in (200, 201), f"{method} {path}: {r.status_code} {r.text}"
        return r.json() if r.content else None

    world: dict[str, Any] = {"tokens": tokens, "users": {}, "forms": {}}
    org = ok("admin", "POST", "/organisations", json={"name": "Acme Telecom"})
    world["organisation_id"] = org["id"]
    for who, role in (("coordinator", "coordinator"), ("shopper", "shopper"), ("other_shopper", "shopper")):
        email = f"{who}@example.test"
        world["users"][who] = ok(
            "admin",
            "POST",
            "/users",
            json={"email": email, "name": who.replace("_", " ").title(), "password": PASSWORD, "role": role},
        )
        tokens[who] = login(email)
    for who in ("shopper", "other_shopper"):
        ok(
            "coordinator",
            "PUT",
            f"/users/{world['users'][who]['id']}/shopper-profile",
            json={
                "home_lat": 50.08,
                "home_lon": 14.42,
                "languages": ["en", "de"],
                "travel_radius_km": 500,
                "capacity_per_day": 50,
                "capacity_per_week": 200,
            },
        )
    brand = ok("coordinator", "POST", "/brands", json={"name": "Acme"})
    ok("coordinator", "PUT", f"/organisations/{org['id']}/brands/{brand['id']}", json={"relation": "own"})
    call = ok(
        "coordinator",
        "POST",
        "/locations",
        json={
            "brand_id": brand["id"],
            "name": "Acme New York hotline",
            "region": "US East",
            "address": "350 5th Ave, New York",
            "lat": 40.748,
            "lon": -73.985,
            "phone": "+1 212 555 0100",
            "email": "care@acme.example",
            "timezone": "America/New_York",
        },
    )
    near = ok(
        "coordinator",
        "POST",
        "/locations",
        json={
            "brand_id": brand["id"],
            "name": "Acme Prague Centre",
            "region": "Bohemia",
            "address": "Na Příkopě 1, Praha",
            "lat": 50.086,
            "lon": 14.425,
            "phone": "+420 222 000 111",
            "timezone": "Europe/Prague",
        },
    )
    far = ok(
        "coordinator",
        "POST",
        "/locations",
        json={
            "brand_id": brand["id"],
            "name": "Acme Brno",
            "region": "Moravia",
            "address": "Náměstí Svobody 1, Brno",
            "lat": 49.195,
            "lon": 16.608,
            "timezone": "Europe/Prague",
        },
    )
    world.update(call_location=call["id"], near_location=near["id"], far_location=far["id"])
    call_form = load_template("test_call")
    notes = next(section for section in call_form["sections"] if section["key"] == "notes")
    notes["items"].append(
        {
            "type": "photo",
            "key": "call_log",
            "label": {"en": "Photo of the phone's call log", "de": "Foto der Anrufliste"},
        }
    )
    for name, channel, definition in (("call", "call", call_form), ("visit", "visit", ALL_TYPES_FORM)):
        form = ok("coordinator", "POST", "/forms", json={"name": name, "channel": channel, "definition": definition})
        version = ok("coordinator", "POST", f"/forms/{form['id']}/publish")
        world["forms"][name] = {"id": form["id"], "version_id": version["id"], "channel": channel}
    client.close()
    return world


@pytest.fixture(scope="session")
def world_template(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    folder = tmp_path_factory.mktemp("browser-world")
    path = folder / "world.sqlite3"
    shutil.copyfile(sqlite_template, path)
    env = {
        **os.environ,
        "FIELDSCORE_DATABASE_URL": f"sqlite:///{path}",
        "FIELDSCORE_DATA_DIR": str(folder),
        "FIELDSCORE_PASSWORD": PASSWORD,
        "FIELDSCORE_ARGON2_TIME_COST": "1",
        "FIELDSCORE_ARGON2_MEMORY_KIB": "8192",
    }
    created = subprocess.run(
        [
            sys.executable,
            "-m",
            "backend.cli",
            "create-user",
            "--email",
            "admin@example.test",
            "--name",
            "Admin",
            "--role",
            "admin",
        ],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert created.returncode == 0, created.stderr
    server = Server(path, folder / "data").start()
    try:
        world = _build_world(server.base, "admin@example.test")
    finally:
        server.stop()
    return path, world


@pytest.fixture
def live(request: pytest.FixtureRequest, world_template: tuple[Path, dict[str, Any]], tmp_path: Path) -> Iterator[Live]:
    """The server over a fresh copy of the world; parametrize indirectly with a dict to change its Settings."""
    template, world = world_template
    path = tmp_path / "app.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{template}{suffix}").exists():
            shutil.copyfile(f"{template}{suffix}", f"{path}{suffix}")
    server = Server(path, tmp_path / "data", **getattr(request, "param", {})).start()
    try:
        yield Live(server.base, json.loads(json.dumps(world)), server)
    finally:
        server.stop()


@pytest.fixture(scope="module")
def playwright() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the playwright package is not installed (pip install -e '.[test]')")
    if not Path(CHROMIUM).exists():
        _missing(f"Chromium is not at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as instance:
        yield instance


@pytest.fixture(scope="module")
def browser(playwright: Any) -> Iterator[Any]:
    instance = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
    try:
        yield instance
    finally:
        instance.close()


def persistent_phone(playwright: Any, live: Live, profile: Path) -> Phone:
    """A phone whose browser keeps its data in `profile` (IndexedDB, service worker) across restarts."""
    context = playwright.chromium.launch_persistent_context(
        str(profile),
        executable_path=CHROMIUM,
        headless=True,
        args=CHROMIUM_FLAGS,
        base_url=live.base,
        service_workers="allow",
        **PHONE,
    )
    return Phone(None, live, context=context)


class Phone:
    """A browser context sized like a phone; collects JavaScript errors so a test fails on any."""

    def __init__(self, browser: Any, live: Live, context: Any = None, service_workers: str = "allow") -> None:
        self.browser, self.live = browser, live
        self.context = context or browser.new_context(base_url=live.base, service_workers=service_workers, **PHONE)
        self.errors: list[str] = []
        if self.context.pages:  # a persistent context opens with a blank page
            self.page = self.context.pages[0]
            self.page.on("pageerror", lambda error: self.errors.append(f"{error}"))
        else:
            self.page = self.new_page()

    def new_page(self) -> Any:
        page = self.context.new_page()
        page.on("pageerror", lambda error: self.errors.append(f"{error}"))
        return page

    def wait_for_service_worker(self) -> None:
        """The page is controlled by the app's service worker (so it can load with no network)."""
        self.page.wait_for_function("() => navigator.serviceWorker.controller !== null")
        self.page.evaluate("() => navigator.serviceWorker.ready.then(() => true)")

    def state_of(self, report_id: str) -> str | None:
        return self.page.evaluate(
            """(id) => new Promise((resolve, reject) => {
            const open = indexedDB.open('fieldscore');
            open.onsuccess = () => {
                const get = open.result.transaction('reports').objectStore('reports').get(id);
                get.onsuccess = () => resolve(get.result ? get.result.state : null);
                get.onerror = () => reject(get.error);
            };
        })""",
            report_id,
        )

    def open(self, path: str = "/app/") -> Any:
        self.page.goto(path)
        self.page.wait_for_selector("body[data-ready=true]")
        return self.page

    def login(self, who: str = "shopper") -> Any:
        page = self.open()
        page.get_by_label("E-mail").fill(f"{who}@example.test")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.get_by_role("heading", name="My tasks").wait_for()
        return page

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def phone(browser: Any, live: Live) -> Iterator[Phone]:
    yield from _used(Phone(browser, live))


@pytest.fixture
def phone_without_worker(browser: Any, live: Live) -> Iterator[Phone]:
    """A phone whose app runs without its service worker, for tests that put faults on the API with page.route:
    a request that passes through a controlling worker (even one the worker leaves to the network, as it does
    every POST) escapes page.route, so such a test would depend on whether the worker had claimed the page."""
    yield from _used(Phone(browser, live, service_workers="block"))


def _used(device: Phone) -> Iterator[Phone]:
    try:
        yield device
    finally:
        device.close()
    assert not device.errors, f"JavaScript errors in the page: {device.errors}"


def screenshot(page: Any, name: str) -> Path:
    """Save the page as test-artifacts/browser/<name>.png (what a reviewer looks at)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def serious_accessibility_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core (vendored) on the current page: violations with impact serious or critical."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ['violations']});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                       nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}));
    }""")
    return [v for v in result if v["impact"] in ("serious", "critical")]


def no_horizontal_scroll(page: Any) -> bool:
    return page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")


def small_touch_targets(page: Any) -> list[str]:
    """Visible buttons, links in the navigation, inputs of choices smaller than 44 × 44 CSS px."""
    return page.evaluate("""() => {
        const bad = [];
        for (const el of document.querySelectorAll('button, .nav a, a.button, .choice, select, input:not([type=radio]):not([type=checkbox])')) {
            const r = el.getBoundingClientRect();
            if (r.width === 0 || r.height === 0) continue;
            if (r.height < 44 || r.width < 44) bad.push(`${el.tagName} "${(el.textContent || el.name || '').trim().slice(0, 30)}" ${Math.round(r.width)}x${Math.round(r.height)}`);
        }
        return bad;
    }""")


def new_uuid() -> str:
    return str(uuid.uuid4())


def camera_jpeg(page: Any, width: int, height: int, orientation: int = 1) -> bytes:
    """A JPEG as a phone camera writes it: `width` × `height` stored pixels (drawn by Chromium, a gradient
    with a marker in the top-left corner) and an EXIF orientation tag saying how to turn it upright."""
    import base64

    data_url = page.evaluate(
        """([w, h]) => {
        const c = document.createElement('canvas'); c.width = w; c.height = h;
        const g = c.getContext('2d'); const grad = g.createLinearGradient(0, 0, w, h);
        grad.addColorStop(0, '#204080'); grad.addColorStop(1, '#e0c040');
        g.fillStyle = grad; g.fillRect(0, 0, w, h); g.fillStyle = '#ff0000'; g.fillRect(0, 0, w / 4, h / 4);
        return c.toDataURL('image/jpeg', 0.9);
    }""",
        [width, height],
    )
    jpeg = base64.b64decode(data_url.split(",", 1)[1])
    if orientation == 1:
        return jpeg
    # APP1 "Exif": a big-endian TIFF header and one IFD entry, Orientation (0x0112, SHORT, 1 value).
    tiff = (
        b"MM\x00\x2a"
        + (8).to_bytes(4, "big")
        + (1).to_bytes(2, "big")
        + (0x0112).to_bytes(2, "big")
        + (3).to_bytes(2, "big")
        + (1).to_bytes(4, "big")
        + orientation.to_bytes(2, "big")
        + b"\x00\x00"
        + (0).to_bytes(4, "big")
    )
    payload = b"Exif\x00\x00" + tiff
    app1 = b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload
    return jpeg[:2] + app1 + jpeg[2:]


def jpeg_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a JPEG's frame header."""
    assert data[:2] == b"\xff\xd8", "not a JPEG"
    i = 2
    while i < len(data):
        marker, length = data[i + 1], int.from_bytes(data[i + 2 : i + 4], "big")
        if marker in (0xC0, 0xC1, 0xC2):
            return int.from_bytes(data[i + 7 : i + 9], "big"), int.from_bytes(data[i + 5 : i + 7], "big")
        i += 2 + length
    raise AssertionError("no frame header")

"""The console is served like the phone app: its page and every module it loads, no token needed."""

from __future__ import annotations

import re

from backend import frontend


async def test_the_console_and_its_modules_are_served_without_a_token(client):
    page = await client.get("/console/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "no-cache" in page.headers["cache-control"]
    for asset in re.findall(r'(?:src|href)="(/[^"]+)"', page.text):
        assert (await client.get(asset)).status_code == 200, asset
    modules = sorted((frontend.WEB_DIR / "console").rglob("*.js"))
    assert len(modules) > 10
    for path in modules:
        url = f"/console/{path.relative_to(frontend.WEB_DIR / 'console').as_posix()}"
        response = await client.get(url)
        assert response.status_code == 200 and "javascript" in response.headers["content-type"], url
    for lang in ("en", "de"):
        assert (await client.get(f"/console/i18n/{lang}.json")).status_code == 200


async def test_the_phone_apps_service_worker_does_not_cache_the_console(client):
    worker = (await client.get("/app/sw.js")).text
    assert "/console/" not in worker

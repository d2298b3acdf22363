"""The front ends are served by the app itself: no token needed, revalidated on use, a versioned service worker."""

from __future__ import annotations

import re
import shutil

from backend import frontend


async def test_the_phone_app_and_its_modules_are_served_without_a_token(client):
    page = await client.get("/app/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "no-cache" in page.headers["cache-control"]
    for asset in re.findall(r'(?:src|href)="(/[^"]+)"', page.text):
        response = await client.get(asset)
        assert response.status_code == 200, asset
    for module in ("/app/main.js", "/shared/api.js", "/shared/i18n.js", "/shared/dom.js", "/shared/conditions.js"):
        response = await client.get(module)
        assert response.status_code == 200, module
        assert "javascript" in response.headers["content-type"], module
    assert (await client.get("/app/nothing-here.js")).status_code == 404
    # Gzipped for the phone's sake; the API's JSON is not.
    zipped = await client.get("/app/main.js", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers.get("content-encoding") == "gzip"
    assert "content-encoding" not in (await client.get("/health", headers={"Accept-Encoding": "gzip"})).headers
    assert (await client.get("/vendor/axe-core/LICENSE")).status_code == 200
    # The dashboard's chart libraries (vendored with their licences), gzipped like the rest.
    for library, version in (("plot/plot.umd.min.js", "@observablehq/plot@0.6.17"), ("d3/d3.min.js", "d3@7.9.0")):
        folder = library.split("/")[0]
        response = await client.get(f"/vendor/{library}", headers={"Accept-Encoding": "gzip"})
        assert response.status_code == 200 and "javascript" in response.headers["content-type"], library
        assert response.headers.get("content-encoding") == "gzip", library
        assert (await client.get(f"/vendor/{folder}/LICENSE")).status_code == 200, library
        assert (await client.get(f"/vendor/{folder}/VERSION")).text.strip() == version


async def test_the_service_worker_precaches_the_app_and_is_versioned_by_content(client, monkeypatch, tmp_path):
    response = await client.get("/app/sw.js")
    assert response.status_code == 200 and "javascript" in response.headers["content-type"]
    assert "no-cache" in response.headers["cache-control"]
    version = re.search(r'const VERSION = "([0-9a-f]{16})"', response.text)
    precache = re.search(r"const PRECACHE = (\[.*?\]);", response.text)
    assert version and precache
    urls = set(eval(precache.group(1)))  # noqa: S307 - a JSON list of strings rendered by the server
    assert {"/app/", "/app/main.js", "/app/app.css", "/shared/conditions.js", "/app/i18n/en.json"} <= urls
    # Test and console libraries stay out (axe-core, and Plot and d3, which only the dashboard loads).
    assert not any(url.startswith("/vendor/") or url.endswith(("plot.umd.min.js", "d3.min.js")) for url in urls)
    for url in urls:
        assert (await client.get(url)).status_code == 200, url

    # Any change to a cached file is a new version (a new cache, installed on the next start).
    copy = tmp_path / "web"
    shutil.copytree(frontend.WEB_DIR, copy)
    monkeypatch.setattr(frontend, "WEB_DIR", copy)
    assert re.search(r'"([0-9a-f]{16})"', frontend.service_worker_source()).group(1) == version.group(1)
    (copy / "app" / "app.css").write_text((copy / "app" / "app.css").read_text() + "\n/* changed */\n")
    assert re.search(r'"([0-9a-f]{16})"', frontend.service_worker_source()).group(1) != version.group(1)


async def test_the_lists_a_phone_loads_on_start_come_gzipped(client):
    from tests.builders import make_task, publish_form
    from tests.world import build_world

    w = await build_world(client)
    await make_task(w, await publish_form(w), w.own_location_id)
    zipped = await client.get("/tasks", headers={**w.as_("shopper"), "Accept-Encoding": "gzip"})
    assert zipped.status_code == 200 and zipped.headers.get("content-encoding") == "gzip"
    assert zipped.json()["total"] == 1  # httpx undoes the gzip: the same JSON
    board = await client.get("/job-board", headers={**w.as_("shopper"), "Accept-Encoding": "gzip"})
    assert board.status_code == 200
    plain = await client.get(
        "/tasks", headers={**w.as_("shopper"), "Accept-Encoding": "identity"}
    )  # a client that does not ask for gzip gets plain JSON
    assert "content-encoding" not in plain.headers and plain.json()["total"] == 1

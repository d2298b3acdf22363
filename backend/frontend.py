"""Serves the browser front ends (static ES modules from mobile_forms/web) and the phone app's service worker.

No build step: the files are served as they are. Every file is revalidated on use (`no-cache`) so a
deployment shows at once online; offline, the service worker answers from its versioned cache. The
service worker itself is rendered per request with a version that is a hash of every file it caches,
so any change to the app makes browsers install the new version (and drop the old cache) on the next start.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from litestar import Response, get
from litestar.config.compression import CompressionConfig
from litestar.datastructures import CacheControlHeader
from litestar.middleware.base import DefineMiddleware
from litestar.middleware.compression import CompressionMiddleware
from litestar.router import Router
from litestar.static_files import create_static_files_router

from backend.accounts.guards import PUBLIC, requires_roles, roles

WEB_DIR = Path(__file__).resolve().parent.parent / "mobile_forms" / "web"
# URL prefix → directory under mobile_forms/web. A new front end (e.g. the console) adds its folder here.
FRONT_ENDS = {"/app": "app", "/console": "console", "/shared": "shared", "/vendor": "vendor"}
# Front ends' paths for the auth middleware's exclude list: static files carry no token.
PUBLIC_PATHS = [f"^{prefix}(/|$)" for prefix in FRONT_ENDS]
# What the phone app's service worker precaches: its own files and the shared modules (not vendor/: axe-core
# for the tests, Plot and d3 for the console's dashboard; the phone loads none of them).
_PRECACHED = ("app", "shared")
_REVALIDATE = CacheControlHeader(no_cache=True)
_JS = "text/javascript; charset=utf-8"
# The front ends' files go gzipped (a phone on a slow network loads a third of the bytes), and the lists a
# phone loads on start (its tasks, the job board: ~1.6 KB of JSON a task, a tenth of it gzipped); not the
# rest of the API, whose small answers are not worth the server's time.
GZIP = [
    DefineMiddleware(
        CompressionMiddleware, config=CompressionConfig(backend="gzip", minimum_size=512, gzip_compress_level=6)
    )
]


def _precache() -> list[tuple[str, Path]]:
    files: list[tuple[str, Path]] = []
    for folder in _PRECACHED:
        prefix = next(p for p, f in FRONT_ENDS.items() if f == folder)
        for path in sorted((WEB_DIR / folder).rglob("*")):
            if path.is_file() and path.name != "sw.js" and not path.name.startswith("."):
                files.append((f"{prefix}/{path.relative_to(WEB_DIR / folder).as_posix()}", path))
    return files


def service_worker_source() -> str:
    """sw.js with its version (hash of every cached file) and the list of URLs to precache filled in."""
    files = _precache()
    digest = hashlib.sha256()
    for url, path in files:
        digest.update(url.encode())
        digest.update(path.read_bytes())
    source = (WEB_DIR / "app" / "sw.js").read_text(encoding="utf-8")
    digest.update(source.encode())
    urls = ["/app/", *(url for url, _ in files if not url.endswith("/index.html"))]
    return source.replace('"__VERSION__"', json.dumps(digest.hexdigest()[:16])).replace(
        '["__PRECACHE__"]', json.dumps(urls)
    )


@get(
    "/app/sw.js",
    operation_id="AppServiceWorker",
    opt=roles(PUBLIC),
    guards=[requires_roles],
    include_in_schema=False,
    cache_control=_REVALIDATE,
    middleware=GZIP,
)
async def service_worker() -> Response[str]:
    # Scope /app/ (its own folder); the browser fetches it bypassing the HTTP cache on every update check.
    return Response(service_worker_source(), media_type=_JS)


def front_end_routes() -> list[Any]:
    routers: list[Router | Any] = [service_worker]
    for prefix, folder in FRONT_ENDS.items():
        routers.append(
            create_static_files_router(
                path=prefix,
                directories=[WEB_DIR / folder],
                html_mode=True,
                opt=roles(PUBLIC),
                guards=[requires_roles],
                include_in_schema=False,
                cache_control=_REVALIDATE,
                name=f"front_end_{folder}",
                middleware=GZIP,
            )
        )
    return routers

// The phone app's service worker: after the first visit the app opens and works with no network.
// The server fills in VERSION (a hash of every cached file) and PRECACHE: a changed app is a new
// cache, installed in the background and used from the next start; old caches are deleted then.
const VERSION = "__VERSION__";
const PRECACHE = ["__PRECACHE__"];
const CACHE = `fieldscore-app-${VERSION}`;
const PRECACHED = new Set(PRECACHE);

// This version's cache, opened once while the worker runs: each of a start's dozen requests then reads it
// directly instead of looking it up by name first (caches.match with a cacheName opens it every time).
let opened = null;
const fromCache = (key, request) =>
  (opened ??= caches.open(CACHE)).then((cache) => cache.match(key)).then((hit) => hit || fetch(request));

self.addEventListener("install", (event) => {
  // cache: "reload" skips the HTTP cache so a new version never precaches an old file.
  event.waitUntil(caches.open(CACHE).then((cache) =>
    cache.addAll(PRECACHE.map((url) => new Request(url, { cache: "reload" })))));
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) {
      if (key.startsWith("fieldscore-app-") && key !== CACHE) await caches.delete(key);
    }
    // The first visit is controlled at once, so it works offline without a second load.
    await self.clients.claim();
  })());
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  // Pages of the app are one page (index.html); its files come from the cache; the API goes to the network.
  if (request.mode === "navigate" && url.pathname.startsWith("/app/")) {
    event.respondWith(fromCache("/app/", request));
    return;
  }
  if (PRECACHED.has(url.pathname)) event.respondWith(fromCache(url.pathname, request));
});

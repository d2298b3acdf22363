// Answers the page started fetching before its modules arrived (the inline script in index.html): on a
// slow network a cold start then waits one round trip for the modules, the texts and the task list
// together, instead of one after the other.

/** The bearer token in request headers (a plain object, as shared/api.js builds them), or null. */
function bearerOf(headers) {
  const value = headers?.Authorization || headers?.authorization || "";
  return value.startsWith("Bearer ") ? value.slice("Bearer ".length) : null;
}

/**
 * The prefetched response for a GET of `url` made with the same token, taken once (a body reads once);
 * null when there is none, so the caller fetches as usual.
 */
export function takePrefetched(url, { method = "GET", token = null } = {}, started = globalThis.fieldscorePrefetched) {
  const hit = started?.[url];
  if (!hit || method.toUpperCase() !== "GET" || (hit.token ?? null) !== (token ?? null)) return null;
  delete started[url];
  return hit.response;
}

/** `fetchImpl` that answers from what was prefetched when it can. */
export function withPrefetched(fetchImpl, started = globalThis.fieldscorePrefetched) {
  return (url, init = {}) =>
    takePrefetched(String(url), { method: init.method || "GET", token: bearerOf(init.headers) }, started) ??
    fetchImpl(url, init);
}

/**
 * The inline script's read of `key` from the phone's key-value store (a promise of the value), taken once;
 * null when there is none, so the caller reads the store itself.
 */
export function takeStored(key, started = globalThis.fieldscorePrefetched) {
  const hit = started?.[`kv:${key}`];
  if (!hit) return null;
  delete started[`kv:${key}`];
  return hit;
}

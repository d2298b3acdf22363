// A small client for Fieldscore's JSON API: bearer token, timeouts, problem+json errors by field.

/** The server answered with an error (application/problem+json). */
export class ApiError extends Error {
  constructor(status, problem = {}) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.name = "ApiError";
    this.status = status;
    this.code = problem.code || `http.${status}`;
    this.title = problem.title || "";
    this.problem = problem;
    /** field → list of reasons, e.g. {"answers.greeting": ["answer.required: …"]} */
    this.fields = fieldErrors(problem);
  }
}

/** No answer from the server: offline, connection dropped, or the request timed out. */
export class NetworkError extends Error {
  constructor(message, { timeout = false } = {}) {
    super(message);
    this.name = "NetworkError";
    this.timeout = timeout;
  }
}

export function fieldErrors(problem) {
  const fields = {};
  for (const { field, reason } of problem?.errors || []) {
    (fields[field] ||= []).push(reason);
  }
  return fields;
}

/** Problems about answers, by question key ("answers.q1" → "q1"); other fields under their own name. */
export function problemsByQuestion(fields) {
  const out = {};
  for (const [field, reasons] of Object.entries(fields || {})) {
    const key = field.startsWith("answers.") ? field.slice("answers.".length) : field;
    (out[key] ||= []).push(...reasons);
  }
  return out;
}

/**
 * createApi({ getToken, base, timeoutMs, fetchImpl }) → { request, get, post, put, patch }.
 * `getToken()` is read per request so a new login takes effect at once.
 */
export function createApi({ getToken = () => null, base = "", timeoutMs = 30000, fetchImpl } = {}) {
  const doFetch = fetchImpl || ((...args) => globalThis.fetch(...args));

  async function request(method, path, { json, body, headers = {}, timeout = timeoutMs, token } = {}) {
    const finalHeaders = { Accept: "application/json, application/problem+json", ...headers };
    const bearer = token === undefined ? getToken() : token;
    if (bearer) finalHeaders.Authorization = `Bearer ${bearer}`;
    let payload = body;
    if (json !== undefined) {
      payload = JSON.stringify(json);
      finalHeaders["Content-Type"] = "application/json";
    }
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeout);
    let response;
    try {
      response = await doFetch(base + path, { method, headers: finalHeaders, body: payload, signal: controller.signal });
    } catch (error) {
      throw new NetworkError(controller.signal.aborted ? "timed out" : String(error?.message || error), {
        timeout: controller.signal.aborted,
      });
    } finally {
      clearTimeout(timer);
    }
    let text;
    try {
      text = await response.text();
    } catch (error) {
      throw new NetworkError(`connection dropped while reading: ${error?.message || error}`);
    }
    let data = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = text;
      }
    }
    if (!response.ok) {
      throw new ApiError(response.status, data && typeof data === "object" ? data : { detail: String(data || "") });
    }
    return { status: response.status, data };
  }

  const verb = (method) => async (path, options) => (await request(method, path, options)).data;
  return { request, get: verb("GET"), post: verb("POST"), put: verb("PUT"), patch: verb("PATCH"), del: verb("DELETE") };
}

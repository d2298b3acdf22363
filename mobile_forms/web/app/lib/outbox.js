// The outbox: sends submitted reports (their attachments first, then the report) until the server has them.
// Pure logic over injected storage and API, so node's test runner can drive it through failures.
//
// Rules: a report keeps its own id across retries (the server answers a repeat with the stored report,
// never a duplicate); it stays on the phone until a 2xx says the server stored it; failures that may
// pass (no network, timeout, 408/429/5xx) retry with capped exponential backoff; a 401 pauses the
// outbox until its shopper logs in again; any other 4xx is not retried: the report goes back to draft
// with the server's problems on its questions.

import { ApiError, NetworkError, problemsByQuestion } from "../../shared/api.js";

export const BASE_DELAY_MS = 2_000;
export const MAX_DELAY_MS = 5 * 60_000;

/** Delay before retry number `attempt` (1, 2, …): 2 s doubling, capped at 5 min, ±20 % jitter so phones
 * that lost the network together do not all come back in the same second. */
export function backoffMs(attempt, random = Math.random) {
  const raw = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** Math.max(0, attempt - 1));
  return Math.min(MAX_DELAY_MS, Math.round(raw * (0.8 + 0.4 * random())));
}

/** What to do after a failed send: "retry", "login" or "invalid". */
export function outcome(error) {
  if (error instanceof NetworkError) return "retry";
  if (error instanceof ApiError) {
    if (error.status === 401) return "login";
    if (error.status === 408 || error.status === 425 || error.status === 429 || error.status >= 500) return "retry";
    return "invalid";
  }
  return "retry"; // an unexpected failure (e.g. storage busy): try again later rather than drop anything
}

/** Every attachment hash an answer set refers to, in question order, without repeats. */
export function attachmentsOf(answers) {
  const found = [];
  for (const value of Object.values(answers || {})) {
    if (value && typeof value === "object" && typeof value.attachment === "string" && !found.includes(value.attachment)) {
      found.push(value.attachment);
    }
  }
  return found;
}

/** The body of POST /reports for a stored report: the same bytes every time it is retried. */
export function reportPayload(report) {
  const body = {
    id: report.id, task_id: report.task_id, started_at: report.started_at, ended_at: report.ended_at,
    answers: report.answers,
  };
  if (report.replaces_revision) body.replaces_revision = report.replaces_revision;
  return body;
}

export class Outbox {
  /**
   * store: { reportsIn(states), putReport(report), getBlob(sha256) }
   * api: { uploadAttachment(blobRecord), submitReport(payload) }
   * shopperId(): who is logged in (only their reports are sent: a shared phone never sends one shopper's
   * report under another's account).
   */
  constructor({ store, api, shopperId, now = () => Date.now(), schedule = (fn, ms) => setTimeout(fn, ms),
                cancel = (handle) => clearTimeout(handle), onChange = () => {}, random = Math.random }) {
    Object.assign(this, { store, api, shopperId, now, schedule, cancel, onChange, random });
    this.needsLogin = false;
    this.running = null;
    this.timer = null;
  }

  async waiting() {
    const who = this.shopperId();
    if (!who) return [];
    return (await this.store.reportsIn(["waiting"])).filter((r) => r.shopper_id === who)
      .sort((a, b) => (a.queued_at < b.queued_at ? -1 : 1));
  }

  /** Put a report in the outbox (state "waiting") and try to send it now. */
  async submit(report) {
    await this.store.putReport({ ...report, state: "waiting", queued_at: new Date(this.now()).toISOString(),
                                 attempts: 0, next_attempt_at: 0, last_error: null, problems: {} });
    this.onChange();
    return this.sync({ force: true });
  }

  /** Send every waiting report that is due (all of them with `force`); one run at a time. */
  sync({ force = false } = {}) {
    if (this.running) {
      if (force) this.forceAgain = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.forceAgain = false;
          await this.#pass(force);
          force = this.forceAgain;
        } while (force);
      } finally {
        this.running = null;
        await this.#scheduleNext();
      }
    })();
    return this.running;
  }

  /** After a new login: sending may resume. */
  loggedIn() {
    this.needsLogin = false;
    return this.sync({ force: true });
  }

  async #pass(force) {
    if (this.needsLogin) return;
    for (const report of await this.waiting()) {
      if (!force && report.next_attempt_at > this.now()) continue;
      const result = await this.#send(report);
      this.onChange();
      if (result === "login") return;
    }
  }

  async #send(report) {
    try {
      for (const sha of attachmentsOf(report.answers)) {
        const blob = await this.store.getBlob(sha);
        if (!blob) throw new ApiError(422, { code: "attachment.missing_on_phone", detail: `attachment ${sha} is not on this phone` });
        await this.api.uploadAttachment(blob);
      }
      const saved = await this.api.submitReport(reportPayload(report));
      await this.store.putReport({
        ...report, state: "sent", sent_at: new Date(this.now()).toISOString(), attempts: 0, last_error: null,
        problems: {}, server_revision: saved?.revision ?? null, server_status: saved?.status ?? null,
      });
      return "sent";
    } catch (error) {
      const kind = outcome(error);
      if (kind === "login") {
        this.needsLogin = true;
        await this.store.putReport({ ...report, last_error: "auth" });
        return "login";
      }
      if (kind === "invalid") {
        const problems = problemsByQuestion(error.fields);
        if (!Object.keys(problems).length) problems._report = [error.message];
        await this.store.putReport({ ...report, state: "draft", problems, last_error: error.code });
        return "invalid";
      }
      const attempts = (report.attempts || 0) + 1;
      await this.store.putReport({
        ...report, attempts, next_attempt_at: this.now() + backoffMs(attempts, this.random),
        last_error: error instanceof NetworkError ? (error.timeout ? "timeout" : "network") : `http.${error.status ?? "?"}`,
      });
      return "retry";
    }
  }

  async #scheduleNext() {
    if (this.timer) this.cancel(this.timer);
    this.timer = null;
    if (this.needsLogin) return;
    const due = (await this.waiting()).map((r) => r.next_attempt_at || 0);
    if (!due.length) return;
    const wait = Math.max(0, Math.min(...due) - this.now());
    this.timer = this.schedule(() => { this.timer = null; this.sync(); }, wait);
  }
}

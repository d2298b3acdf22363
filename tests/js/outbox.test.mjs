// The outbox never loses or duplicates a report: driven here through failures with a fake server.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ApiError, NetworkError } from "../../mobile_forms/web/shared/api.js";
import {
  MAX_DELAY_MS, Outbox, attachmentsOf, backoffMs, outcome, reportPayload,
} from "../../mobile_forms/web/app/lib/outbox.js";

function memoryStore() {
  const reports = new Map();
  const blobs = new Map();
  return {
    reports, blobs,
    async reportsIn(states) { return [...reports.values()].filter((r) => states.includes(r.state)).map((r) => ({ ...r })); },
    async putReport(r) { reports.set(r.id, structuredClone(r)); },
    async getBlob(sha) { return blobs.get(sha); },
  };
}

/** A server that stores reports by id (a repeat is not a duplicate) and fails as scripted. */
function fakeServer(script = []) {
  const stored = new Map();
  const uploads = [];
  let calls = 0;
  const next = () => script[calls++];
  return {
    stored, uploads,
    get calls() { return calls; },
    async uploadAttachment(record) {
      const fault = next();
      if (fault) throw fault;
      uploads.push(record.sha256);
      return { sha256: record.sha256 };
    },
    async submitReport(payload) {
      const fault = next();
      if (fault === "store-then-drop") { // stored, but the answer never arrives
        stored.set(payload.id, payload);
        throw new NetworkError("connection dropped");
      }
      if (fault) throw fault;
      stored.set(payload.id, payload);
      return { id: payload.id, revision: 1, status: "submitted" };
    },
  };
}

function draft(id, shopper = "s1", answers = { q: true }) {
  return { id, shopper_id: shopper, task_id: `t-${id}`, started_at: "2026-01-01T10:00:00+01:00",
    ended_at: "2026-01-01T10:05:00+01:00", answers, state: "draft" };
}

function outboxWith(store, server, who = "s1") {
  let clock = 1_000_000;
  const timers = [];
  const box = new Outbox({
    store, api: server, shopperId: () => who, now: () => clock, random: () => 0.5,
    schedule: (fn, ms) => { timers.push({ fn, at: clock + ms }); return timers.length; },
    cancel: () => {},
  });
  return { box, timers, advanceTo: (at) => { clock = Math.max(clock, at); } };
}

test("backoff doubles from 2 s and is capped at 5 minutes", () => {
  const mid = () => 0.5;
  assert.equal(backoffMs(1, mid), 2000);
  assert.equal(backoffMs(2, mid), 4000);
  assert.equal(backoffMs(5, mid), 32000);
  assert.equal(backoffMs(20, mid), MAX_DELAY_MS);
  assert.ok(backoffMs(20, () => 1) <= MAX_DELAY_MS);
  assert.ok(backoffMs(1, () => 0) >= 1600 && backoffMs(1, () => 0.999) <= 2400);
});

test("which failures are retried, which need a login, which go back to the form", () => {
  assert.equal(outcome(new NetworkError("x")), "retry");
  assert.equal(outcome(new NetworkError("x", { timeout: true })), "retry");
  for (const status of [500, 502, 503, 504, 429, 408]) assert.equal(outcome(new ApiError(status)), "retry");
  assert.equal(outcome(new ApiError(401)), "login");
  for (const status of [400, 403, 404, 409, 413, 422]) assert.equal(outcome(new ApiError(status)), "invalid");
});

test("the payload is the report's own id and content, the same on every try", () => {
  const r = { ...draft("a"), replaces_revision: 2, state: "waiting", attempts: 3 };
  assert.deepEqual(reportPayload(r), { id: "a", task_id: "t-a", started_at: r.started_at, ended_at: r.ended_at,
    answers: r.answers, replaces_revision: 2 });
  assert.deepEqual(attachmentsOf({ p: { attachment: "aa" }, f: { attachment: "bb" }, again: { attachment: "aa" }, x: 1 }),
    ["aa", "bb"]);
});

test("5xx, dropped connections and timeouts are retried until stored: exactly once, nothing lost", async () => {
  const store = memoryStore();
  const server = fakeServer([new ApiError(503), new NetworkError("reset"), new NetworkError("slow", { timeout: true }), "store-then-drop"]);
  const { box, timers, advanceTo } = outboxWith(store, server);
  await box.submit(draft("r1"));
  assert.equal(store.reports.get("r1").state, "waiting");
  assert.equal(store.reports.get("r1").attempts, 1);
  for (let i = 0; i < 10 && store.reports.get("r1").state !== "sent"; i += 1) {
    const due = timers.at(-1);
    advanceTo(due.at);
    await box.sync();
  }
  assert.equal(store.reports.get("r1").state, "sent");
  assert.equal(server.stored.size, 1);
  assert.ok(server.calls >= 5);
});

test("attachments go first; a report whose upload fails is not sent yet", async () => {
  const store = memoryStore();
  store.blobs.set("ab".repeat(32), { sha256: "ab".repeat(32), blob: "bytes", media_type: "image/jpeg" });
  const server = fakeServer([new ApiError(500)]);
  const { box } = outboxWith(store, server);
  await box.submit(draft("r1", "s1", { photo: { attachment: "ab".repeat(32) } }));
  assert.equal(server.stored.size, 0);
  await box.sync({ force: true });
  assert.deepEqual(server.uploads, ["ab".repeat(32)]);
  assert.equal(server.stored.size, 1);
  assert.equal(store.reports.get("r1").state, "sent");
});

test("a 422 returns the report to draft with the problems on its questions, and it is not retried", async () => {
  const store = memoryStore();
  const invalid = new ApiError(422, { code: "report.invalid", errors: [{ field: "answers.greeted", reason: "answer.required: x" }] });
  const server = fakeServer([invalid]);
  const { box, timers } = outboxWith(store, server);
  await box.submit(draft("r1"));
  const r = store.reports.get("r1");
  assert.equal(r.state, "draft");
  assert.deepEqual(r.problems, { greeted: ["answer.required: x"] });
  assert.equal(timers.length, 0);
  assert.equal(server.stored.size, 0);
});

test("a 401 pauses the outbox until its shopper logs in again, then it sends", async () => {
  const store = memoryStore();
  const server = fakeServer([new ApiError(401)]);
  const { box } = outboxWith(store, server);
  await box.submit(draft("r1"));
  await box.submit(draft("r2"));
  assert.equal(box.needsLogin, true);
  assert.equal(server.stored.size, 0);
  assert.equal(store.reports.get("r1").state, "waiting");
  await box.loggedIn();
  assert.equal(server.stored.size, 2);
  assert.deepEqual([...store.reports.values()].map((r) => r.state), ["sent", "sent"]);
});

test("another shopper's waiting report on a shared phone is never sent under this login", async () => {
  const store = memoryStore();
  await store.putReport({ ...draft("theirs", "s2"), state: "waiting", next_attempt_at: 0 });
  const server = fakeServer();
  const { box } = outboxWith(store, server, "s1");
  await box.submit(draft("mine", "s1"));
  assert.deepEqual([...server.stored.keys()], ["mine"]);
  assert.equal(store.reports.get("theirs").state, "waiting");
});

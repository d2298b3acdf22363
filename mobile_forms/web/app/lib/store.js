// What the phone keeps (IndexedDB): reports (drafts and the outbox), attachment bytes, cached API answers.
// Nothing here is deleted because a send succeeded: a sent report stays (state "sent") as a receipt, so
// after a year of use most reports are receipts: what reads only drafts and the outbox goes through the
// reports' index by state (reportsIn) and never reads them.

const DB_NAME = "fieldscore";
// index.html's inline script opens this version too (tests/js/app_logic.test.mjs checks they agree).
// Version 2 added the reports' index by state (to a phone's existing store: nothing is lost in the upgrade).
export const DB_VERSION = 2;

function promised(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/** The connection index.html's inline script opened while the modules loaded, if it is this database. */
async function prefetchedDb(name, started) {
  const pending = name === DB_NAME ? started?.db : null;
  if (!pending) return null;
  delete started.db;
  try {
    const db = await pending;
    if (db.version === DB_VERSION && ["reports", "blobs", "kv"].every((s) => db.objectStoreNames.contains(s))) return db;
    db.close();
  } catch {
    // No database yet (the inline script does not create it) or it could not open: opened here as usual.
  }
  return null;
}

export async function openStore(name = DB_NAME, started = globalThis.fieldscorePrefetched) {
  const ready = await prefetchedDb(name, started);
  if (ready) return new Store(ready);
  const open = indexedDB.open(name, DB_VERSION);
  open.onupgradeneeded = () => {
    const db = open.result;
    if (!db.objectStoreNames.contains("reports")) {
      const reports = db.createObjectStore("reports", { keyPath: "id" });
      reports.createIndex("by_shopper", "shopper_id");
      reports.createIndex("by_task", "task_id");
    }
    // Version 2: built here from the reports already stored (the versionchange transaction indexes them).
    const reports = open.transaction.objectStore("reports");
    if (!reports.indexNames.contains("by_state")) reports.createIndex("by_state", "state");
    if (!db.objectStoreNames.contains("blobs")) db.createObjectStore("blobs", { keyPath: "sha256" });
    if (!db.objectStoreNames.contains("kv")) db.createObjectStore("kv");
  };
  const db = await promised(open);
  return new Store(db);
}

export class Store {
  constructor(db) {
    this.db = db;
  }

  async #run(storeName, mode, fn) {
    const tx = this.db.transaction(storeName, mode);
    const result = fn(tx.objectStore(storeName));
    const value = result instanceof IDBRequest ? await promised(result) : result;
    // Resolve only once the transaction is durable (the write is on disk, not just queued).
    await new Promise((resolve, reject) => {
      tx.oncomplete = resolve;
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error || new Error("transaction aborted"));
    });
    return value;
  }

  getReport(id) {
    return this.#run("reports", "readonly", (s) => s.get(id));
  }

  putReport(report) {
    return this.#run("reports", "readwrite", (s) => s.put({ ...report, updated_at: new Date().toISOString() }));
  }

  deleteReport(id) {
    return this.#run("reports", "readwrite", (s) => s.delete(id));
  }

  async reportsOf(shopperId) {
    return this.#run("reports", "readonly", (s) => s.index("by_shopper").getAll(shopperId));
  }

  /** Every shopper's reports in one of `states` (e.g. ["draft", "waiting"]), read through the index by state:
   * the receipts (state "sent") are not read unless asked for. In `states` order, then by id. */
  reportsIn(states) {
    return this.#run("reports", "readonly", (s) => {
      const byState = s.index("by_state");
      return Promise.all(states.map((state) => promised(byState.getAll(state)))).then((found) => found.flat());
    });
  }

  allReports() {
    return this.#run("reports", "readonly", (s) => s.getAll());
  }

  async reportForTask(shopperId, taskId) {
    const all = await this.#run("reports", "readonly", (s) => s.index("by_task").getAll(taskId));
    return all.filter((r) => r.shopper_id === shopperId).sort((a, b) => (a.created_at < b.created_at ? 1 : -1))[0];
  }

  putBlob(sha256, blob, mediaType, shopperId) {
    return this.#run("blobs", "readwrite", (s) => s.put({ sha256, blob, media_type: mediaType, shopper_id: shopperId }));
  }

  getBlob(sha256) {
    return this.#run("blobs", "readonly", (s) => s.get(sha256));
  }

  get(key) {
    return this.#run("kv", "readonly", (s) => s.get(key));
  }

  set(key, value) {
    return this.#run("kv", "readwrite", (s) => s.put(value, key));
  }
}

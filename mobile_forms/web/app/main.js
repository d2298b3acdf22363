// The shoppers' phone app: log in, job board, my tasks, form filling, outbox. One page, hash routes.

import { ApiError, NetworkError, createApi } from "../shared/api.js";
import { appendInBatches, h, mount, uid } from "../shared/dom.js";
import { I18n, loadCatalogues, pickLanguage } from "../shared/i18n.js";
import { Outbox } from "./lib/outbox.js";
import { takeStored, withPrefetched } from "./lib/prefetch.js";
import { openStore } from "./lib/store.js";
import { phonesZone, windowTimes } from "./lib/time.js";

export const LANGUAGES = ["en", "de", "nl", "cs", "el", "ja"];
const SESSION_KEY = "fieldscore.session";
const LANG_KEY = "fieldscore.lang";

const main = document.getElementById("main");
const nav = document.getElementById("nav");
const statusBar = document.getElementById("status");

export const app = {
  session: JSON.parse(localStorage.getItem(SESSION_KEY) || "null"),
  i18n: null,
  store: null,
  api: null,
  outbox: null,
  persisted: null,
};
const t = (key, params) => app.i18n.t(key, params);

function saveSession(session) {
  app.session = session;
  if (session) localStorage.setItem(SESSION_KEY, JSON.stringify(session));
  else localStorage.removeItem(SESSION_KEY);
}

async function setLanguage(lang) {
  const wanted = lang === "en" ? ["en"] : ["en", lang];
  const catalogues = await loadCatalogues("/app/i18n", wanted, withPrefetched((...a) => fetch(...a)));
  app.i18n = new I18n(catalogues, lang);
  document.documentElement.lang = lang;
  localStorage.setItem(LANG_KEY, lang);
}

// ---- cached reads: the last answer of each list is kept so the app works offline -------------------

async function cachedGet(path, cacheKey, known) {
  try {
    const data = await app.api.get(path);
    // Kept for offline use without making the screen wait for the write (on a slow phone it is not free).
    app.store.set(cacheKey, { at: new Date().toISOString(), data }).catch(() => {});
    return { data, fresh: true };
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) throw error;
    const cached = known ?? (await app.store.get(cacheKey)); // `known`: what the caller read of it just now
    if (cached) return { data: cached.data, fresh: false, at: cached.at, error };
    throw error;
  }
}

export async function formFor(task) {
  const key = `form:${task.form_version_id}`;
  const cached = await app.store.get(key);
  if (cached) return cached;
  const version = await app.api.get(`/tasks/${task.id}/form`);
  await app.store.set(key, version);
  return version;
}

function userKey(name) {
  return `${name}:${app.session.user.id}`;
}

// ---- chrome: navigation, status line, what is only on this phone ----------------------------------

const ROUTES = [["#/tasks", "nav.tasks"], ["#/board", "nav.board"], ["#/outbox", "nav.outbox"], ["#/settings", "nav.settings"]];

function renderNav(current) {
  nav.hidden = !app.session;
  mount(nav, ROUTES.map(([href, key]) =>
    h("a", { href, "aria-current": current === href ? "page" : null }, t(key))));
  nav.setAttribute("aria-label", t("nav.label"));
}

export async function onlyOnPhone() {
  if (!app.store) return [];
  return app.store.reportsIn(["draft", "waiting"]); // not the receipts (state "sent"): most of the store
}

export async function refreshStatus() {
  const mine = app.session ? (await onlyOnPhone()).filter((r) => r.shopper_id === app.session.user.id) : [];
  const waiting = mine.filter((r) => r.state === "waiting").length;
  const parts = [];
  if (!navigator.onLine) parts.push(h("span", { class: "badge" }, t("status.offline")));
  parts.push(h("span", { "data-testid": "on-phone" }, t("status.on_phone", { count: mine.length })));
  if (waiting) parts.push(" · ", h("span", {}, t("status.waiting", { count: waiting })));
  mount(statusBar, parts);
}

function notice(kind, ...children) {
  return h("div", { class: `notice ${kind}`, role: kind === "bad" ? "alert" : "status" }, ...children);
}

function problemText(error) {
  if (error instanceof NetworkError) return t("error.network");
  if (error instanceof ApiError) return error.message || t("error.server", { status: error.status });
  return String(error?.message || error);
}

// ---- screens --------------------------------------------------------------------------------------

function languagePicker() {
  const id = uid("lang");
  return h("div", { class: "field" },
    h("label", { for: id }, t("settings.language")),
    h("select", {
      id, onchange: async (e) => { await setLanguage(e.target.value); await route(); },
    }, LANGUAGES.map((lang) => h("option", { value: lang, selected: lang === app.i18n.lang }, t(`lang.${lang}`)))));
}

async function loginScreen({ reason } = {}) {
  document.title = `${t("login.title")} · Fieldscore`;
  const emailId = uid("email");
  const passwordId = uid("password");
  const message = h("div", { "aria-live": "polite" });
  const previous = app.session?.user?.email || JSON.parse(localStorage.getItem("fieldscore.last_email") || "null");
  const form = h("form", {
    class: "stack", novalidate: true,
    onsubmit: async (event) => {
      event.preventDefault();
      const email = form.elements.email.value.trim();
      const password = form.elements.password.value;
      mount(message);
      try {
        const token = await app.api.post("/auth/login", { json: { email, password }, token: null });
        const user = token.user;
        if (user.role !== "shopper") {
          mount(message, notice("bad", t("login.not_shopper")));
          return;
        }
        localStorage.setItem("fieldscore.last_email", JSON.stringify(email));
        saveSession({ token: token.access_token, user });
        // pushState, not a hash assignment: that would route a second time (hashchange), fetching the list twice.
        if (location.hash !== "#/tasks") history.pushState(null, "", "#/tasks");
        await route();
        // Reports that waited for this login go now (a 401 again would bring the login back).
        app.outbox.loggedIn();
      } catch (error) {
        const text = error instanceof ApiError && error.status === 401 ? t("login.failed") : problemText(error);
        mount(message, notice("bad", text));
      }
    },
  },
  h("div", { class: "field" }, h("label", { for: emailId }, t("login.email")),
    h("input", { id: emailId, name: "email", type: "email", autocomplete: "username", required: true, value: previous || "" })),
  h("div", { class: "field" }, h("label", { for: passwordId }, t("login.password")),
    h("input", { id: passwordId, name: "password", type: "password", autocomplete: "current-password", required: true })),
  h("button", { type: "submit" }, t("login.submit")),
  message);
  const waiting = (await onlyOnPhone()).filter((r) => r.state === "waiting").length;
  mount(main,
    h("h2", {}, t("login.title")),
    reason === "expired" ? notice("warn", t("login.expired", { count: waiting })) : null,
    form,
    languagePicker());
}

function channelText(task) {
  return t(`channel.${task.channel}`);
}

function taskCard(task, { claim } = {}) {
  const times = windowTimes(task, app.i18n.lang);
  const heading = uid("task");
  return h("article", { class: "card", "aria-labelledby": heading, "data-task": task.id },
    h("h3", { id: heading }, claim ? task.location.name : h("a", { href: `#/task/${task.id}` }, task.location.name)),
    // elementtiming: the browser records when the first card's text is painted (PerformanceElementTiming), which
    // is how the phone-app benchmark tells when the list is on screen without adding work to the page.
    h("p", { class: "meta", elementtiming: "task" }, `${channelText(task)} · ${task.location.brand_name}`,
      task.status !== "open" ? [" · ", h("span", { class: `badge ${stateOfTask(task)}` }, t(`task_status.${task.status}`))] : null),
    task.distance_km != null ? h("p", { class: "meta" }, t("board.distance", { km: task.distance_km.toFixed(1) })) : null,
    h("p", { class: "meta" }, t("task.window_local", { window: times.local, zone: times.zone })),
    times.phone ? h("p", { class: "meta" }, t("task.window_phone", { window: times.phone })) : null,
    claim ? h("button", { type: "button", onclick: () => claim(task) }, t("board.claim")) : null);
}

/**
 * Task cards (and any element among `items`, drawn as it is) in a container: the first screenful at once, the
 * rest just after (appendInBatches), so a long list is usable as soon as its top is drawn. A card is at least
 * ~80 px tall: innerHeight / 80 cards fill any screen.
 */
function cardList(items, card) {
  const list = h("div", { class: "cards" });
  appendInBatches(list, items, (item) => (item instanceof Node ? item : card(item)),
    { first: Math.ceil(window.innerHeight / 80) });
  return list;
}

function stateOfTask(task) {
  return { submitted: "sent", returned: "returned", approved: "approved" }[task.status] || "";
}

function staleNote(result) {
  if (result.fresh) return null;
  if (result.pending && navigator.onLine) return h("p", { class: "meta" }, t("list.updating"));
  return notice("warn", t("list.cached", { at: new Date(result.at).toLocaleString(app.i18n.lang) }));
}

async function tasksScreen() {
  document.title = `${t("tasks.title")} · Fieldscore`;
  const key = userKey("tasks");
  // On a start, index.html's inline script has read it already (or is reading it).
  const cached = await (takeStored(key)?.catch(() => app.store.get(key)) ?? app.store.get(key));
  let note = null;
  if (cached) {
    // What the phone has is shown at once; the network's answer replaces it when (if) it comes.
    note = renderTasks({ data: cached.data, fresh: false, at: cached.at, pending: true });
  } else mount(main, h("h2", {}, t("tasks.title")), h("p", { class: "loading" }, t("loading")));
  const shown = location.hash;
  const result = await cachedGet("/tasks?limit=200", key, cached);
  if (location.hash !== shown) return;
  // No answer (offline): the list shown stays, only its note changes (drawing 200 cards again is not free).
  if (cached && result.data === cached.data && main.contains(note)) note.replaceWith(staleNote(result));
  else renderTasks(result);
}

function renderTasks(result) {
  const tasks = result.data.items.filter((task) => !["expired", "cancelled", "rejected"].includes(task.status));
  const returned = tasks.filter((task) => task.status === "returned");
  const rest = tasks.filter((task) => task.status !== "returned");
  const note = staleNote(result);
  mount(main,
    h("h2", {}, t("tasks.title")),
    note,
    h("div", { class: "row" }, h("button", { type: "button", class: "secondary", onclick: () => route() }, t("list.refresh"))),
    cardList([
      ...(returned.length ? [h("h3", {}, t("tasks.returned")), ...returned] : []),
      ...(rest.length ? rest : [h("p", {}, t("tasks.empty"))]),
    ], (task) => taskCard(task)));
  // Forms of my tasks are fetched now, so each one can be filled in offline later.
  if (result.fresh) {
    const versions = new Map(tasks.map((task) => [task.form_version_id, task]));
    for (const task of versions.values()) formFor(task).catch(() => {});
  }
  return note;
}

async function boardScreen() {
  document.title = `${t("board.title")} · Fieldscore`;
  mount(main, h("h2", {}, t("board.title")), h("p", { class: "loading" }, t("loading")));
  const result = await cachedGet("/job-board?limit=100", userKey("board"));
  const message = h("div", { "aria-live": "polite" });
  const claim = async (task) => {
    try {
      await app.api.post(`/job-board/${task.id}/claim`);
      location.hash = `#/task/${task.id}`;
    } catch (error) {
      mount(message, notice("bad", problemText(error)));
    }
  };
  mount(main,
    h("h2", {}, t("board.title")),
    staleNote(result),
    h("p", { class: "meta" }, t("board.nearest_first")),
    message,
    h("div", { class: "row" }, h("button", { type: "button", class: "secondary", onclick: () => route() }, t("list.refresh"))),
    result.data.items.length ? cardList(result.data.items, (task) => taskCard(task, { claim })) : h("p", {}, t("board.empty")));
}

export async function findTask(taskId) {
  try {
    return await app.api.get(`/tasks/${taskId}`);
  } catch (error) {
    // The server's own refusal stands (401 included); no answer or a failing server: the phone's copy.
    if (error instanceof ApiError && error.status < 500) throw error;
    const cached = await app.store.get(userKey("tasks"));
    const task = cached?.data.items.find((item) => item.id === taskId);
    if (!task) throw error;
    return task;
  }
}

function mapsLink(location) {
  if (location.lat != null && location.lon != null) {
    return `https://www.openstreetmap.org/?mlat=${location.lat}&mlon=${location.lon}#map=17/${location.lat}/${location.lon}`;
  }
  return `https://www.openstreetmap.org/search?query=${encodeURIComponent(location.address)}`;
}

async function taskScreen(taskId) {
  mount(main, h("p", { class: "loading" }, t("loading")));
  const task = await findTask(taskId);
  const times = windowTimes(task, app.i18n.lang);
  const loc = task.location;
  document.title = `${loc.name} · Fieldscore`;
  const message = h("div", { "aria-live": "polite" });
  let form = null;
  try {
    form = await formFor(task);
  } catch (error) {
    mount(message, notice("warn", problemText(error)));
  }
  const local = await app.store.reportForTask(app.session.user.id, task.id);
  // The form model is not needed for the task list, so it is not loaded before it (a slow start).
  // (Not loadable, which only a phone offline before its service worker is installed meets: no instructions.)
  const formLib = form ? await import("./lib/form.js").catch(() => null) : null;
  const instructions = formLib ? instructionsOf(form.definition, formLib.labelOf) : [];
  const actions = [];
  if (task.status === "assigned") {
    actions.push(h("button", {
      type: "button", onclick: async () => {
        try {
          await app.api.post(`/tasks/${task.id}/accept`);
          if (location.hash === `#/task/${task.id}`) await route(); // unless the shopper moved on meanwhile
        } catch (error) {
          mount(message, notice("bad", problemText(error)));
        }
      },
    }, t("task.accept")));
  }
  if (local && local.state !== "sent") {
    actions.push(h("a", { class: "button", href: `#/report/${local.id}` },
      local.state === "waiting" ? t("task.open_waiting") : t("task.continue")));
  } else if (["assigned", "accepted"].includes(task.status) && form) {
    actions.push(h("a", { class: "button", href: `#/task/${task.id}/new` }, t("task.start")));
  } else if (task.status === "returned") {
    actions.push(h("a", { class: "button", href: `#/task/${task.id}/fix` }, t("task.fix")));
  }
  mount(main,
    h("h2", {}, loc.name),
    h("p", { class: "meta" }, `${channelText(task)} · ${loc.brand_name} · `,
      h("span", { class: `badge ${stateOfTask(task)}` }, t(`task_status.${task.status}`))),
    message,
    h("dl", { class: "stack" },
      h("dt", {}, t("task.window")),
      h("dd", {}, t("task.window_local", { window: times.local, zone: times.zone }),
        times.phone ? [h("br"), t("task.window_phone", { window: times.phone })] : null),
      loc.address ? [h("dt", {}, t("task.address")),
        h("dd", {}, loc.address, " ", h("a", { href: mapsLink(loc), target: "_blank", rel: "noopener" }, t("task.map")))] : null,
      loc.phone ? [h("dt", {}, t("task.phone")), h("dd", {}, h("a", { href: `tel:${loc.phone.replace(/[^+\d]/g, "")}` }, loc.phone))] : null,
      loc.email ? [h("dt", {}, t("task.email")), h("dd", {}, h("a", { href: `mailto:${loc.email}` }, loc.email))] : null,
      instructions.length ? [h("dt", {}, t("task.instructions")), h("dd", {}, instructions.map((text) => h("p", {}, text)))] : null),
    h("div", { class: "row" }, actions));
}

function instructionsOf(definition, labelOf) {
  const notes = [];
  const walk = (items) => {
    for (const item of items) {
      if (item.type === "section") walk(item.items || []);
      else if (item.type === "note" && !item.show_if) notes.push(labelOf(item.label, app.i18n.lang, definition.default_language));
    }
  };
  walk(definition.sections);
  return notes.slice(0, 3);
}

async function settingsScreen() {
  document.title = `${t("nav.settings")} · Fieldscore`;
  const unsent = (await onlyOnPhone()).filter((r) => r.shopper_id === app.session.user.id);
  const message = h("div", { "aria-live": "polite" });
  mount(main,
    h("h2", {}, t("nav.settings")),
    h("p", {}, t("settings.logged_in_as", { name: app.session.user.name, email: app.session.user.email })),
    languagePicker(),
    h("p", { class: "meta" }, app.persisted ? t("settings.persisted") : t("settings.not_persisted")),
    message,
    h("button", {
      type: "button", class: "secondary",
      onclick: async () => {
        if (unsent.length && !confirm(t("logout.confirm", { count: unsent.length }))) return;
        try {
          await app.api.post("/auth/logout");
        } catch {
          // Offline or already expired: the token is forgotten here either way.
        }
        saveSession(null);
        location.hash = "#/login";
        await route();
      },
    }, t("logout.button")),
    unsent.length ? h("p", { class: "meta" }, t("logout.unsent_kept", { count: unsent.length })) : null);
}

// ---- routing --------------------------------------------------------------------------------------

export async function route() {
  const hash = location.hash || "#/tasks";
  refreshStatus(); // the count of reports on the phone is drawn beside the screen, not before it
  if (!app.session) {
    renderNav(null);
    return loginScreen();
  }
  const top = ROUTES.find(([href]) => hash.startsWith(href))?.[0] ?? null;
  renderNav(top);
  try {
    let match;
    if (hash.startsWith("#/login")) return loginScreen({ reason: app.outbox.needsLogin ? "expired" : undefined });
    if (hash.startsWith("#/board")) return await boardScreen();
    if (hash.startsWith("#/settings")) return await settingsScreen();
    if (hash.startsWith("#/outbox")) return await (await import("./outbox-view.js")).outboxScreen(main);
    if ((match = hash.match(/^#\/task\/([\w-]+)\/(new|fix)$/))) {
      return await (await import("./form-view.js")).startReport(main, match[1], match[2]);
    }
    if ((match = hash.match(/^#\/task\/([\w-]+)$/))) return await taskScreen(match[1]);
    if ((match = hash.match(/^#\/report\/([\w-]+)$/))) return await (await import("./form-view.js")).reportScreen(main, match[1]);
    return await tasksScreen();
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return sessionExpired();
    mount(main, notice("bad", problemText(error)));
  }
  return undefined;
}

async function sessionExpired() {
  app.outbox.needsLogin = true;
  return loginScreen({ reason: "expired" });
}

/** Install the service worker; an install that failed (a file did not arrive) is tried again later. */
function registerServiceWorker(delayMs = 15000) {
  const again = () => setTimeout(() => registerServiceWorker(Math.min(delayMs * 2, 300000)), delayMs);
  navigator.serviceWorker.register("/app/sw.js", { scope: "/app/" }).then((registration) => {
    const installing = registration.installing;
    installing?.addEventListener("statechange", () => {
      if (installing.state === "redundant" && !navigator.serviceWorker.controller) again();
    });
  }).catch(again);
}

async function start() {
  // The texts and the phone's storage load side by side (each may wait on the network or the disk).
  const loading = Promise.all([
    setLanguage(localStorage.getItem(LANG_KEY) || pickLanguage(navigator.languages, LANGUAGES)),
    openStore(),
  ]);
  phonesZone(); // meanwhile (see lib/time.js)
  const [, store] = await loading;
  app.store = store;
  app.api = createApi({ getToken: () => app.session?.token, fetchImpl: withPrefetched((...a) => fetch(...a)) });
  app.outbox = new Outbox({
    store: app.store,
    shopperId: () => app.session?.user?.id ?? null,
    api: {
      uploadAttachment: (record) => app.api.post("/attachments", {
        body: record.blob, headers: { "Content-Type": record.media_type || "application/octet-stream" },
      }),
      submitReport: (payload) => app.api.post("/reports", { json: payload }),
    },
    onChange: () => {
      refreshStatus();
      window.dispatchEvent(new CustomEvent("outbox-change"));
      if (app.outbox.needsLogin && !location.hash.startsWith("#/login")) location.hash = "#/login";
    },
  });
  // The network came back: send at once, no reload needed.
  window.addEventListener("online", () => { refreshStatus(); app.outbox.sync({ force: true }); });
  window.addEventListener("offline", () => refreshStatus());
  window.addEventListener("hashchange", () => route());
  // Pull to refresh: on a list at the top of the page, dragging down by 70 px or more loads it again.
  let pullFrom = null;
  main.addEventListener("touchstart", (e) => {
    pullFrom = window.scrollY <= 0 && e.touches.length === 1 ? e.touches[0].clientY : null;
  }, { passive: true });
  main.addEventListener("touchend", (e) => {
    const list = /^(#\/tasks|#\/board|#\/outbox|#?)$/.test(location.hash);
    if (pullFrom !== null && list && e.changedTouches[0].clientY - pullFrom >= 70) route();
    pullFrom = null;
  }, { passive: true });
  await route();
  document.body.dataset.ready = "true";
  // After the first screen is up: none of this may delay it.
  if ("serviceWorker" in navigator) registerServiceWorker();
  if (navigator.storage?.persist) {
    app.persisted = await navigator.storage.persisted();
    if (!app.persisted) app.persisted = await navigator.storage.persist().catch(() => false);
  }
  app.outbox.sync({ force: true });
}

start();

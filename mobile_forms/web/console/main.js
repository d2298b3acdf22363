// The coordinator's console and the manager's dashboard: log in, navigation by role, hash routes.
// Every page reads and writes through the JSON API with the user's token: the API decides what a role
// may see, the console only leaves out what the role cannot use.

import { ApiError, createApi } from "../shared/api.js";
import { h, mount, uid } from "../shared/dom.js";
import { I18n, loadCatalogues, pickLanguage } from "../shared/i18n.js";
import { ctx, errorBox, field, forget, hashFor, parseHash, t } from "./lib/core.js";

export const LANGUAGES = ["en", "de"];
const SESSION_KEY = "fieldscore.console.session";
const LANG_KEY = "fieldscore.console.lang";
const STAFF = ["admin", "coordinator"];
const DESK = ["admin", "coordinator", "manager"];

// path pattern → page module, the roles it is for, the navigation label (pages without one are reached by links)
export const ROUTES = [
  { pattern: /^\/review$/, module: "./pages/review.js", roles: STAFF, nav: "nav.review" },
  { pattern: /^\/reports\/([0-9a-f-]{36})$/, module: "./pages/report.js", roles: DESK },
  { pattern: /^\/campaigns$/, module: "./pages/campaigns.js", roles: STAFF, nav: "nav.campaigns" },
  { pattern: /^\/campaigns\/([0-9a-f-]{36})$/, module: "./pages/campaign.js", roles: STAFF },
  { pattern: /^\/campaigns\/([0-9a-f-]{36})\/waves\/([0-9a-f-]{36})$/, module: "./pages/wave.js", roles: STAFF },
  { pattern: /^\/forms$/, module: "./pages/forms.js", roles: STAFF, nav: "nav.forms" },
  { pattern: /^\/forms\/([0-9a-f-]{36})$/, module: "./pages/form.js", roles: STAFF },
  { pattern: /^\/shoppers$/, module: "./pages/shoppers.js", roles: STAFF, nav: "nav.shoppers" },
  { pattern: /^\/shoppers\/([0-9a-f-]{36})$/, module: "./pages/shopper.js", roles: STAFF },
  { pattern: /^\/setup$/, module: "./pages/setup.js", roles: STAFF, nav: "nav.setup" },
  { pattern: /^\/users$/, module: "./pages/users.js", roles: ["admin"], nav: "nav.users" },
  { pattern: /^\/dashboard$/, module: "./pages/dashboard.js", roles: DESK, nav: "nav.dashboard" },
  { pattern: /^\/dashboard\/locations\/([0-9a-f-]{36})$/, module: "./pages/location-reports.js", roles: DESK },
];

const main = document.getElementById("main");
const nav = document.getElementById("nav");
const who = document.getElementById("who");

function homeFor(role) {
  return role === "manager" ? "/dashboard" : "/review";
}

function saveSession(session) {
  ctx.session = session;
  if (session) localStorage.setItem(SESSION_KEY, JSON.stringify(session));
  else localStorage.removeItem(SESSION_KEY);
}

async function setLanguage(lang) {
  const catalogues = await loadCatalogues("/console/i18n", lang === "en" ? ["en"] : ["en", lang]);
  ctx.i18n = new I18n(catalogues, lang);
  document.documentElement.lang = lang;
  localStorage.setItem(LANG_KEY, lang);
}

function renderChrome(current) {
  const role = ctx.session?.user?.role;
  nav.hidden = !ctx.session;
  nav.setAttribute("aria-label", t("nav.label"));
  mount(nav, ROUTES.filter((r) => r.nav && role && r.roles.includes(role)).map((r) => {
    const path = r.pattern.source.replace(/^\^\\?/, "").replace(/\$$/, "").replace(/\\\//g, "/");
    const href = `#${path.startsWith("/") ? path : `/${path}`}`;
    return h("a", { href, "aria-current": current === href.slice(1) ? "page" : null }, t(r.nav));
  }));
  const langId = uid("lang");
  mount(who,
    h("label", { for: langId }, t("language")),
    h("select", { id: langId, onchange: async (event) => { await setLanguage(event.target.value); route(); } },
      LANGUAGES.map((lang) => h("option", { value: lang, selected: lang === ctx.i18n.lang }, t(`language.${lang}`)))),
    ctx.session ? [
      h("span", { "data-user": ctx.session.user.email }, `${ctx.session.user.name} · ${t(`role.${ctx.session.user.role}`)}`),
      h("button", { type: "button", onclick: logout }, t("logout")),
    ] : null);
}

async function logout() {
  try { await ctx.api.post("/auth/logout"); } catch { /* the token is dropped here either way */ }
  saveSession(null);
  forget("");
  window.location.hash = "#/login";
}

// Tests (and anyone curious) can tell that a render has finished: the count goes up after each.
function rendered() {
  // A standard User Timing mark: the benchmark reads when the first page was shown and usable.
  performance.mark("fieldscore:rendered");
  document.body.dataset.renders = String(Number(document.body.dataset.renders || 0) + 1);
  document.body.dataset.ready = "true";
}

function renderLogin(message) {
  renderChrome("/login");
  document.title = `${t("login.title")} · Fieldscore`;
  const email = h("input", { type: "email", name: "email", autocomplete: "username", required: true });
  const password = h("input", { type: "password", name: "password", autocomplete: "current-password", required: true });
  const problems = h("div");
  const submit = h("button", { type: "submit" }, t("login.submit"));
  const form = h("form", { class: "card", style: "max-width: 380px", onsubmit: async (event) => {
    event.preventDefault();
    submit.disabled = true;
    mount(problems);
    try {
      const token = await ctx.api.post("/auth/login", { json: { email: email.value, password: password.value }, token: null });
      if (!DESK.includes(token.user.role)) {
        // A shopper's token is never kept here: the console is not theirs (the API refuses them anyway).
        try { await ctx.api.post("/auth/logout", { token: token.access_token }); } catch { /* best effort */ }
        mount(problems, h("div", { class: "alert", role: "alert" }, t("login.not_for_role")));
        return;
      }
      saveSession({ token: token.access_token, user: token.user });
      const wanted = parseHash(window.location.hash).path;
      window.location.hash = wanted && wanted !== "/login" && wanted !== "/" ? window.location.hash : `#${homeFor(token.user.role)}`;
      route();
    } catch (error) {
      mount(problems, error instanceof ApiError && error.status === 401
        ? h("div", { class: "alert", role: "alert" }, t("login.wrong")) : errorBox(error));
    } finally {
      submit.disabled = false;
    }
  } },
  h("h1", { id: "page-title" }, t("login.title")),
  message ? h("p", { class: "muted" }, message) : null,
  h("p", {}, field(t("login.email"), email)),
  h("p", {}, field(t("login.password"), password)),
  problems, submit);
  mount(main, form);
  rendered();
}

let rendering = 0;
export async function route() {
  const current = parseHash(window.location.hash);
  ctx.route = current;
  const turn = ++rendering;
  document.body.dataset.ready = "false";
  if (!ctx.session) return renderLogin();
  const role = ctx.session.user.role;
  if (current.path === "/" || current.path === "/login") {
    window.location.replace(hashFor(homeFor(role)));
    return undefined;
  }
  renderChrome(current.path);
  const match = ROUTES.map((r) => [r, current.path.match(r.pattern)]).find(([, m]) => m);
  if (!match) {
    mount(main, h("h1", { id: "page-title" }, t("page.not_found")));
    rendered();
    return undefined;
  }
  const [spec, groups] = match;
  if (!spec.roles.includes(role)) {
    // Shown for clarity only: the API refuses this role these pages' data whatever the console does.
    mount(main, h("h1", { id: "page-title" }, t("page.forbidden")),
      h("p", { role: "alert", class: "alert" }, t("page.forbidden_detail")),
      h("p", {}, h("a", { href: `#${homeFor(role)}` }, t("page.home"))));
    rendered();
    return undefined;
  }
  mount(main, h("p", { class: "loading", role: "status" }, t("loading")));
  try {
    const page = await import(spec.module);
    if (turn !== rendering) return undefined;
    const content = await page.render({ params: groups.slice(1), query: current.query });
    if (turn !== rendering) return undefined;
    const flash = ctx.flash;
    ctx.flash = null;
    mount(main, flash ? h("div", { class: "notice", role: "status", "data-flash": "" }, flash) : null, content);
    const title = main.querySelector("h1")?.textContent || "Fieldscore";
    document.title = `${title} · Fieldscore`;
  } catch (error) {
    if (turn !== rendering) return undefined;
    if (error instanceof ApiError && error.status === 401) {
      saveSession(null);
      return renderLogin(t("login.expired"));
    }
    mount(main, h("h1", { id: "page-title" }, error instanceof ApiError && error.status === 404
      ? t("page.not_found") : t("page.failed")), errorBox(error));
  }
  rendered();
  return undefined;
}

async function start() {
  ctx.session = JSON.parse(localStorage.getItem(SESSION_KEY) || "null");
  ctx.api = createApi({ getToken: () => ctx.session?.token });
  const lang = localStorage.getItem(LANG_KEY) || pickLanguage(navigator.languages, LANGUAGES);
  await setLanguage(lang);
  window.addEventListener("hashchange", route);
  await route();
}

start();

// App texts by language: JSON catalogues per language, `t(key, params)`, the phone's language by default.

/** The best of `available` for the user's `preferred` languages (BCP 47); "de-AT" is served by "de". */
export function pickLanguage(preferred, available, fallback = "en") {
  const have = new Set(available);
  for (const tag of preferred || []) {
    const lower = String(tag).toLowerCase();
    if (have.has(lower)) return lower;
    const base = lower.split("-")[0];
    if (have.has(base)) return base;
  }
  return have.has(fallback) ? fallback : available[0];
}

/** "{n} reports" with {n: 3} → "3 reports"; unknown placeholders stay as they are. */
export function format(template, params = {}) {
  return template.replace(/\{(\w+)\}/g, (whole, name) =>
    Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : whole);
}

export class I18n {
  /** catalogues: {lang: {key: text}}; the fallback language's catalogue fills any gap. */
  constructor(catalogues, lang, fallback = "en") {
    this.catalogues = catalogues;
    this.fallback = fallback;
    this.lang = lang;
  }

  get languages() {
    return Object.keys(this.catalogues);
  }

  has(key) {
    return key in (this.catalogues[this.lang] || {}) || key in (this.catalogues[this.fallback] || {});
  }

  /** A count picks "key.one" / "key.other" (CLDR plural rules of the language) when they exist. */
  t(key, params = {}) {
    let lookup = key;
    if (typeof params.count === "number") {
      const category = new Intl.PluralRules(this.lang).select(params.count);
      if (this.has(`${key}.${category}`)) lookup = `${key}.${category}`;
      else if (this.has(`${key}.other`)) lookup = `${key}.other`;
    }
    const text = this.catalogues[this.lang]?.[lookup] ?? this.catalogues[this.fallback]?.[lookup];
    return text === undefined ? key : format(text, params);
  }
}

/** Load the catalogues of `languages` from `${base}/${lang}.json`. */
export async function loadCatalogues(base, languages, fetchImpl = (...a) => globalThis.fetch(...a)) {
  const entries = await Promise.all(languages.map(async (lang) => {
    const response = await fetchImpl(`${base}/${lang}.json`);
    if (!response.ok) throw new Error(`catalogue ${lang}: HTTP ${response.status}`);
    return [lang, await response.json()];
  }));
  return Object.fromEntries(entries);
}

// Task windows as a shopper needs them: in the location's own time zone and in the phone's.

/** "Tue 3 Dec, 09:00" in `timeZone` (an IANA name) and `lang`. */
const formats = new Map();

export function formatInstant(iso, timeZone, lang) {
  // A formatter is costly to make (tens of them per task list on a slow phone): one per zone and language.
  const key = `${lang}|${timeZone || ""}`;
  let format = formats.get(key);
  if (!format) {
    const options = { weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" };
    if (timeZone) options.timeZone = timeZone;
    format = new Intl.DateTimeFormat(lang, options);
    formats.set(key, format);
  }
  return format.format(new Date(iso));
}

// The phone's own zone, read once: making a formatter to ask costs as much as formatting (per task card).
// The first use of Intl on a page is slow (its data loads: 100-150 ms on a phone 4× slower than a laptop), so
// index.html's inline script reads the zone while the modules load (`started.zone`), and main.js calls this
// while it waits for the phone's storage, before anything is drawn.
let phoneZoneOnce = null;
export const phonesZone = (started = globalThis.fieldscorePrefetched) =>
  (phoneZoneOnce ??= started?.zone || Intl.DateTimeFormat().resolvedOptions().timeZone);

/** The window both ways; `phone` is null when the phone is in the location's zone (same wall clock). */
export function windowTimes(task, lang, phoneZone = phonesZone()) {
  const zone = task.location?.timezone || "UTC";
  const local = `${formatInstant(task.window_start, zone, lang)} – ${formatInstant(task.window_end, zone, lang)}`;
  const phone = `${formatInstant(task.window_start, phoneZone, lang)} – ${formatInstant(task.window_end, phoneZone, lang)}`;
  return { zone, local, phone: phone === local ? null : phone, phoneZone };
}

/** An ISO 8601 string with the phone's UTC offset (the server wants an offset; local wall time reads better). */
export function isoWithOffset(date = new Date()) {
  const pad = (n, w = 2) => String(Math.trunc(Math.abs(n))).padStart(w, "0");
  const offset = -date.getTimezoneOffset();
  const sign = offset >= 0 ? "+" : "-";
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:` +
    `${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}` +
    `${sign}${pad(offset / 60)}:${pad(offset % 60)}`;
}

/** 75 → "1:15"; 3725 → "1:02:05". */
export function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return hh ? `${hh}:${String(mm).padStart(2, "0")}:${ss}` : `${mm}:${ss}`;
}

// Tap-timing: a call's moments (dialled, menu left, answered, hold on/off, transferred, ended) become
// timestamps, and the times derive from them exactly as the server derives them (backend/forms/timers.py).

import { isoWithOffset } from "./time.js";

export const CALL_TAPS = ["dialled", "menu_left", "answered", "hold_on", "hold_off", "transferred", "ended"];
const TERMINAL = new Set(["ended", "gave_up"]);

const ms = (iso) => new Date(iso).getTime();
const has = (events, name) => events.some((e) => e.event === name);

export function isFinished(events) {
  return events.length > 0 && TERMINAL.has(events.at(-1).event);
}

function onHold(events) {
  let hold = false;
  for (const { event } of events) {
    if (event === "hold_on") hold = true;
    else if (event === "hold_off") hold = false;
  }
  return hold;
}

/** The taps that make sense now (the others are disabled, so a well-formed sequence is all one can make). */
export function allowedTaps(events) {
  if (!events.length) return new Set(["dialled"]);
  if (isFinished(events)) return new Set();
  const answered = has(events, "answered");
  const allowed = new Set(["ended"]);
  if (!answered) {
    allowed.add("answered");
    if (!has(events, "menu_left")) allowed.add("menu_left");
  } else {
    allowed.add("transferred");
    allowed.add(onHold(events) ? "hold_off" : "hold_on");
  }
  return allowed;
}

/** events + one tap at `at` (a Date); refuses a tap that would make the sequence ill-formed. */
export function tap(events, name, at = new Date()) {
  if (!allowedTaps(events).has(name)) throw new Error(`${name} is not possible now`);
  const last = events.at(-1);
  // Taps never go back in time, even if the phone's clock is adjusted mid-call.
  const when = last && ms(last.at) > at.getTime() ? new Date(ms(last.at)) : at;
  return [...events, { event: name, at: isoWithOffset(when) }];
}

/** A tap made by mistake: the last one goes. */
export function undo(events) {
  return events.slice(0, -1);
}

/** When the clock for time-to-answer starts: the ring (dialled) or leaving the menu, as the form says. */
export function clockOrigin(events, clockStart = "ring") {
  if (!events.length) return null;
  const menu = events.find((e) => e.event === "menu_left");
  return ms(clockStart === "menu_left" && menu ? menu.at : events[0].at);
}

/**
 * If nobody has answered by the give-up time, the call ends there as not answered (censored): the
 * gave_up tap, stamped exactly at origin + give_up_s, or null while it is not due.
 */
export function giveUpTap(events, { giveUpS = 300, clockStart = "ring" } = {}, now = Date.now()) {
  if (!events.length || isFinished(events) || has(events, "answered")) return null;
  const due = clockOrigin(events, clockStart) + giveUpS * 1000;
  if (now < due) return null;
  const last = ms(events.at(-1).at);
  return [...events, { event: "gave_up", at: isoWithOffset(new Date(Math.max(due, last))) }];
}

/** The times of a finished call, as the server computes them; null while the call is not finished. */
export function derive(events, { giveUpS = 300, clockStart = "ring" } = {}) {
  if (!isFinished(events) || events[0].event !== "dialled") return null;
  const start = ms(events[0].at);
  const first = {};
  for (const e of events) if (!(e.event in first)) first[e.event] = ms(e.at);
  let holdMs = 0;
  let holdStart = null;
  for (const e of events) {
    if (e.event === "hold_on") holdStart = ms(e.at);
    else if (holdStart !== null && (e.event === "hold_off" || e.event === "ended")) {
      holdMs += ms(e.at) - holdStart;
      holdStart = null;
    }
  }
  const s = (x) => x / 1000;
  const menuS = "menu_left" in first ? s(first.menu_left - start) : null;
  const ring = "answered" in first ? s(first.answered - start) : null;
  const fromMenu = "answered" in first && "menu_left" in first ? s(first.answered - first.menu_left) : null;
  const primary = clockStart === "menu_left" && "menu_left" in first ? fromMenu : ring;
  const censored = primary === null || primary > giveUpS;
  const censor = (x) => (x === null || x > giveUpS ? giveUpS : x);
  const end = ms(events.at(-1).at);
  return {
    answered: !censored,
    censored,
    time_to_answer_s: censor(primary),
    time_to_answer_ring_s: censor(ring),
    time_to_answer_menu_s: "menu_left" in first ? censor(fromMenu) : null,
    menu_s: menuS,
    hold_s: s(holdMs),
    transfers: events.filter((e) => e.event === "transferred").length,
    call_s: s(end - start),
    talk_s: "answered" in first ? s(end - first.answered) : null,
  };
}

/** Seconds between two taps of an in-store wait (entered → greeted, queue → served), whole seconds. */
export function waitSeconds(startIso, endIso) {
  return Math.max(0, Math.round((ms(endIso) - ms(startIso)) / 1000));
}

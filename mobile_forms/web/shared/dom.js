// Tiny DOM helpers: build elements declaratively, replace a container's content.

/**
 * h("button", {class: "big", onclick: fn, "aria-label": "…"}, "text", child) → HTMLElement.
 * Attributes: on* → event listeners; `class`, `for`, aria-*, data-* → attributes; other keys → properties
 * (value, checked, disabled…). null/false children are skipped, arrays are flattened.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") el.addEventListener(name.slice(2), value);
    else if (name === "class" || name === "for" || name === "role" || name === "style" || name.includes("-")
             || name === "href" || name === "type" || name === "name" || name === "id" || name === "inputmode"
             || name === "autocomplete" || name === "lang" || name === "min" || name === "max" || name === "step"
             || name === "accept" || name === "capture" || name === "tabindex" || name === "hidden"
             || name === "elementtiming") {
      el.setAttribute(name, value === true ? "" : String(value));
    } else el[name] = value;
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : String(child));
  }
}

/** Replace everything inside `el` with `children`. */
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let idCounter = 0;
/** A document-unique id for label/aria wiring. */
export function uid(prefix = "id") {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}

/** The browser's next turn: what it has to draw, and the taps waiting, go first. */
export const nextTurn = () => new Promise((resolve) => setTimeout(resolve, 0));

/**
 * Append `build(item)` for each of `items` to `container`: the first `first` at once (a screenful, what is
 * seen and tapped first), the rest in batches of `batch`, each in a later turn of the browser, which draws
 * and answers taps in between. A long list (200 task cards take most of a second on a slow phone) is thus
 * usable as soon as its top is drawn, and whole a moment later; meanwhile the container is aria-busy, so a
 * screen reader waits for all of it. Stops when the container has left the document (another screen or a
 * newer list replaced it). Resolves to the number of items appended.
 */
export async function appendInBatches(container, items, build, { first = 10, batch = 10, later = nextTurn } = {}) {
  let done = Math.min(Math.max(first, 1), items.length);
  container.append(...items.slice(0, done).map(build));
  if (done === items.length) return done;
  container.setAttribute("aria-busy", "true");
  while (done < items.length) {
    await later();
    if (!container.isConnected) return done;
    const end = Math.min(done + batch, items.length);
    container.append(...items.slice(done, end).map(build));
    done = end;
  }
  container.removeAttribute("aria-busy");
  return done;
}

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
             || name === "accept" || name === "capture" || name === "tabindex" || name === "hidden") {
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

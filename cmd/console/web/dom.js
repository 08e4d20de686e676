// Small helpers to build the page from elements rather than HTML strings: text set through
// text nodes is never parsed as HTML, so a span's tag value cannot inject markup.

// h("a", {href: "/x", class: "y", onclick: fn}, "text", child, [more]) builds an element.
// Attributes named on* become event listeners; null, undefined and false are skipped.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value);
    } else if (key === "dataset") {
      Object.assign(el.dataset, value);
    } else {
      el.setAttribute(key, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

// svg builds an SVG element: SVG needs its own namespace, or the browser ignores it.
export function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value !== null && value !== undefined) el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

// errorBox is how every view shows a failure: the API's own sentence, in the page, so a
// learner sees "Jaeger cannot be reached" instead of an empty screen.
export function errorBox(err, what) {
  const message = err && err.message ? err.message : String(err);
  return h("div", { class: "error-box", role: "alert" },
    h("strong", {}, what ? `${what}: ` : "Something went wrong: "), message);
}

// fmtDuration turns Jaeger's microseconds into the units make trace prints (µs, ms, s).
export function fmtDuration(us) {
  if (us < 1000) return `${Math.round(us)}µs`;
  if (us < 1e6) return `${trim(us / 1000)}ms`;
  return `${trim(us / 1e6)}s`;
}

function trim(n) {
  return n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2);
}

// fmtTime shows a span's start (microseconds since the epoch) as local wall-clock time.
export function fmtTime(us) {
  const d = new Date(us / 1000);
  return d.toLocaleTimeString([], { hour12: false }) + "." + String(d.getMilliseconds()).padStart(3, "0");
}

// activate makes a non-button element behave like one for the keyboard: Enter and Space.
export function activate(el, fn) {
  el.addEventListener("click", fn);
  el.addEventListener("keydown", (ev) => {
    if (ev.target !== el) return; // a key in a nested input or link is its own
    if (ev.key === "Enter" || ev.key === " ") {
      ev.preventDefault();
      fn(ev);
    }
  });
}

// The waterfall: one row per span, in tree order, with its bar on the trace's time axis.
// A FOLLOWS_FROM span (the hop across RabbitMQ) gets a dashed connector and a label, so the
// place where the request stops waiting and the message goes on alone is plain to see.

import { h, fmtDuration, activate } from "./dom.js";
import { flatten, criticalPath } from "./trace.js";

// renderWaterfall returns the element for one trace. scale is the duration (µs) that the
// full width stands for: the trace's own by default, a shared one when two traces are
// compared, so that the longer one is drawn longer.
export function renderWaterfall(trace, { scale = trace.duration, showCritical = true } = {}) {
  const span = Math.max(scale, 1);
  const critical = criticalPath(trace);
  const pct = (us) => `${((us / span) * 100).toFixed(3)}%`;

  const wrap = h("div", { class: "waterfall" + (showCritical ? " show-critical" : "") });
  wrap.append(axis(span));
  const list = h("div", { class: "wf-rows" });
  for (const { span: s, depth } of flatten(trace)) {
    const follows = s.refType === "FOLLOWS_FROM" && s.parent;
    const row = h("div", {
      class: ["wf-row", follows ? "follows" : "", s.error ? "error" : "", critical.has(s.id) ? "critical" : ""].join(" ").trim(),
      role: "button", // a toggle for the details below it: Enter or Space, as a button
      tabindex: "0",
      "aria-expanded": "false",
      dataset: { spanId: s.id, service: s.service, operation: s.operation },
      "aria-label": `${s.service} ${s.operation}, ${fmtDuration(s.duration)}${s.error ? ", error" : ""}${follows ? `, follows from ${s.parent.operation}` : ""}`,
    },
    h("div", { class: "wf-label", style: `padding-left: calc(0.6rem + ${depth * 1.1}rem)` },
      follows ? h("span", { class: "wf-connector", "aria-hidden": "true" }) : null,
      h("span", { class: "svc", style: `--svc: ${serviceColor(s.service)}` }, s.service),
      " ",
      h("span", { class: "op", title: s.operation }, s.operation),
      s.error ? h("span", { class: "badge badge-error" }, "error") : null,
      // On a line of its own, so a long queue name cannot push it out of sight.
      follows ? h("div", { class: "wf-sub" }, h("span", { class: "badge badge-follows" }, `FOLLOWS_FROM ${s.parent.operation}`),
        s.kind ? ` ${s.kind}` : "") : null,
    ),
    h("div", { class: "wf-track" },
      // The wait between the span it follows and its start (a message in the queue): dashed.
      follows && s.start > s.parent.end ? h("div", {
        class: "wf-gap",
        style: `left: ${pct(s.parent.end - trace.start)}; width: ${pct(s.start - s.parent.end)}`,
        title: `${fmtDuration(s.start - s.parent.end)} between the end of ${s.parent.operation} and the start of ${s.operation}`,
      }) : null,
      h("div", {
        class: "wf-bar",
        style: `left: ${pct(s.start - trace.start)}; width: max(2px, ${pct(s.duration)}); --svc: ${serviceColor(s.service)}`,
      }),
      // The figures go after the bar's start, or before its end when it starts far right.
      h("span", { class: "wf-time", style: (s.start - trace.start) / span > 0.7
        ? `right: ${pct(span - (s.end - trace.start))}` : `left: ${pct(s.start - trace.start)}` },
        `+${fmtDuration(s.start - trace.start)} · ${fmtDuration(s.duration)}`),
    ));
    const details = h("div", { class: "wf-details", hidden: true });
    activate(row, () => {
      const open = row.getAttribute("aria-expanded") === "true";
      row.setAttribute("aria-expanded", String(!open));
      if (!open && !details.firstChild) details.append(spanDetails(s, trace));
      details.hidden = open;
    });
    list.append(row, details);
  }
  wrap.append(list);
  return wrap;
}

// axis draws five ticks over the shared time axis.
function axis(span) {
  const ticks = h("div", { class: "wf-axis", "aria-hidden": "true" }, h("div", { class: "wf-label" }, "service · operation"));
  const track = h("div", { class: "wf-track" });
  for (let i = 0; i <= 4; i++) {
    track.append(h("span", { class: "tick", style: `left: ${i * 25}%` }, fmtDuration((span * i) / 4)));
  }
  ticks.append(track);
  return ticks;
}

// spanDetails shows everything Jaeger stored of a span: its tags, logs, references and the
// process (service) it came from.
function spanDetails(s, trace) {
  const kv = (pairs) => h("table", { class: "kv" },
    pairs.map((t) => h("tr", {}, h("th", {}, t.key), h("td", {}, String(t.value)))));
  const refs = s.references.map((r) => {
    const other = trace.byId.get(r.spanID);
    return h("li", {}, h("code", {}, r.refType), " ",
      other ? `${other.service}: ${other.operation}` : `span ${r.spanID} (not in this trace)`);
  });
  const logs = s.logs.map((l) => h("li", {},
    h("span", { class: "muted" }, `+${fmtDuration(l.timestamp - trace.start)} `),
    l.fields.map((f) => `${f.key}=${f.value}`).join("  ")));
  return h("div", { class: "details-grid" },
    h("section", {}, h("h4", {}, "Span"), kv([
      { key: "span id", value: s.id },
      { key: "start", value: `+${fmtDuration(s.start - trace.start)}` },
      { key: "duration", value: fmtDuration(s.duration) },
    ])),
    h("section", {}, h("h4", {}, "Tags"), s.tags.length ? kv(s.tags) : h("p", { class: "muted" }, "none")),
    h("section", {}, h("h4", {}, "References"), refs.length ? h("ul", {}, refs) : h("p", { class: "muted" }, "none: the root span")),
    h("section", {}, h("h4", {}, "Logs"), logs.length ? h("ul", {}, logs) : h("p", { class: "muted" }, "none")),
    h("section", {}, h("h4", {}, `Process: ${s.process.serviceName}`), kv(s.process.tags || [])),
    s.warnings.length ? h("section", {}, h("h4", {}, "Warnings"), h("ul", {}, s.warnings.map((w) => h("li", {}, w)))) : null,
  );
}

// serviceColor gives each service a hue of its own, the same on every page.
const known = { edge: 210, accountservice: 150, quoteservice: 35, imageservice: 280, vipservice: 330 };
export function serviceColor(name) {
  let hue = known[name];
  if (hue === undefined) {
    hue = 0;
    for (const c of name) hue = (hue * 31 + c.charCodeAt(0)) % 360;
  }
  return `hsl(${hue} 60% 45%)`;
}

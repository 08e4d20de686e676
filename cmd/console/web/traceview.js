// The trace page (/trace/<id>, the deep link that X-Trace-Id and make trace lead to) and the
// comparison of two traces (/compare/<a>/<b>: "before" and "after" a fix, side by side).

import { h, errorBox, fmtDuration, fmtTime } from "./dom.js";
import * as api from "./api.js";
import { buildTrace } from "./trace.js";
import { renderWaterfall, serviceColor } from "./waterfall.js";

export async function traceView(main, [id]) {
  main.append(h("p", { class: "muted" }, `Loading trace ${id}…`));
  let trace;
  try {
    trace = buildTrace(await api.trace(id));
  } catch (err) {
    main.replaceChildren(h("h1", {}, "Trace"), errorBox(err, `Trace ${id} could not be shown`),
      h("p", {}, h("a", { href: "/", "data-link": true }, "Back to the trace list")));
    return;
  }
  draw(main, trace);
  // A deep link opened right after the request may come before the consumer's spans (they
  // reach Jaeger a moment later): for half a minute after the trace, look again, and redraw
  // when it has grown.
  const timer = setInterval(async () => {
    if (Date.now() * 1000 - trace.end > 30e6) return clearInterval(timer);
    try {
      const fresh = buildTrace(await api.trace(id));
      if (fresh.spans.length !== trace.spans.length) {
        trace = fresh;
        draw(main, trace);
      }
    } catch {
      // Keep what is shown; the first load already reported any error.
    }
  }, 3000);
  return () => clearInterval(timer);
}

function draw(main, trace) {
  const critical = h("input", { type: "checkbox", id: "show-critical", checked: true });
  const chart = renderWaterfall(trace);
  critical.addEventListener("change", () => chart.classList.toggle("show-critical", critical.checked));
  main.replaceChildren(
    h("h1", {}, trace.title),
    header(trace),
    h("div", { class: "legend" },
      h("span", { class: "lg lg-child" }, "CHILD_OF: waited for by its parent"),
      h("span", { class: "lg lg-follows" }, "FOLLOWS_FROM: caused, not waited for (the queue)"),
      h("span", { class: "lg lg-error" }, "error"),
      h("label", { for: "show-critical", class: "lg lg-critical" }, critical, " critical path: what the root waited for"),
    ),
    h("p", { class: "muted" }, "Click a span, or press Enter on it, for its tags, logs, references and process."),
    chart,
  );
}

function header(t) {
  return h("dl", { class: "trace-facts" },
    fact("trace", h("span", { class: "mono", id: "trace-id" }, t.id)),
    fact("started", fmtTime(t.start)),
    fact("duration", fmtDuration(t.duration)),
    fact("spans", h("span", { id: "span-count" }, t.spans.length)),
    fact("services", t.services.map((s) => h("span", { class: "chip", style: `--svc: ${serviceColor(s)}` }, s))),
    fact("errors", t.errors ? h("span", { class: "badge badge-error" }, t.errors) : "0"),
  );
}

const fact = (k, v) => h("div", {}, h("dt", {}, k), h("dd", {}, v));

export async function compareView(main, [a, b]) {
  main.append(h("h1", {}, "Two traces side by side"), h("p", { class: "muted" }, "Loading…"));
  let traces;
  try {
    traces = (await Promise.all([api.trace(a), api.trace(b)])).map(buildTrace);
  } catch (err) {
    main.replaceChildren(h("h1", {}, "Two traces side by side"), errorBox(err, "The comparison could not be shown"));
    return;
  }
  // One scale for both: the longer trace fills the width, so "after the fix" looks shorter.
  const scale = Math.max(...traces.map((t) => t.duration));
  main.replaceChildren(
    h("h1", {}, "Two traces side by side"),
    h("p", { class: "muted" }, `Both are drawn on one time axis of ${fmtDuration(scale)}: the shorter one ends early.`),
    h("div", { class: "compare" }, traces.map((t, i) => h("section", {},
      h("h2", {}, `${i === 0 ? "A" : "B"}: `, h("a", { href: `/trace/${t.id}`, "data-link": true }, t.title)),
      header(t),
      renderWaterfall(t, { scale })))),
    h("h2", {}, "What differs"),
    differences(traces[0], traces[1]),
  );
}

// differences counts each service's operations in both traces and their total time, so a
// staircase removed (the same spans, less time) or an N+1 fixed (fewer spans) stands out.
function differences(a, b) {
  const tally = (t) => {
    const m = new Map();
    for (const s of t.spans) {
      const k = `${s.service}: ${s.operation}`;
      const v = m.get(k) || { n: 0, us: 0 };
      v.n++;
      v.us += s.duration;
      m.set(k, v);
    }
    return m;
  };
  const ta = tally(a);
  const tb = tally(b);
  const keys = [...new Set([...ta.keys(), ...tb.keys()])].sort();
  const none = { n: 0, us: 0 };
  return h("table", { class: "diff" },
    h("thead", {}, h("tr", {}, h("th", {}, "span"), h("th", { class: "num" }, "A: count"), h("th", { class: "num" }, "B: count"),
      h("th", { class: "num" }, "A: time"), h("th", { class: "num" }, "B: time"))),
    h("tbody", {}, keys.map((k) => {
      const x = ta.get(k) || none;
      const y = tb.get(k) || none;
      return h("tr", { class: x.n !== y.n ? "changed" : "" }, h("td", {}, k),
        h("td", { class: "num" }, x.n), h("td", { class: "num" }, y.n),
        h("td", { class: "num" }, x.n ? fmtDuration(x.us) : "–"), h("td", { class: "num" }, y.n ? fmtDuration(y.us) : "–"));
    })),
    h("tfoot", {}, h("tr", {}, h("th", {}, "whole trace"), h("td", { class: "num" }, a.spans.length), h("td", { class: "num" }, b.spans.length),
      h("td", { class: "num" }, fmtDuration(a.duration)), h("td", { class: "num" }, fmtDuration(b.duration)))));
}

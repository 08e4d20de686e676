// The trace search and list: the start page. The form's fields are Jaeger's own search
// (service, operation, minimum duration, tags, time window); the list refreshes every few
// seconds, so a learner who sends a request sees its trace arrive without reloading.

import { h, errorBox, fmtDuration, fmtTime, activate } from "./dom.js";
import * as api from "./api.js";
import { summary } from "./trace.js";
import { navigate } from "./router.js";
import { serviceColor } from "./waterfall.js";
import { sendBox } from "./send.js";

const POLL_MS = 3000;
const lookbacks = [["5m", 5 * 60], ["15m", 15 * 60], ["1h", 3600], ["6h", 6 * 3600], ["24h", 24 * 3600]];

export async function searchView(main, _params, query) {
  const form = h("form", { class: "search", role: "search", "aria-label": "Find traces" });
  const service = h("select", { name: "service", id: "f-service" });
  const operation = h("select", { name: "operation", id: "f-operation" }, h("option", { value: "" }, "all operations"));
  const minDuration = h("input", { name: "minDuration", id: "f-min", placeholder: "e.g. 10ms", size: 8, value: query.get("minDuration") || "" });
  const tags = h("input", { name: "tags", id: "f-tags", placeholder: "error=true fault=slow-quote", size: 24, value: query.get("tags") || "" });
  const lookback = h("select", { name: "lookback", id: "f-lookback" },
    lookbacks.map(([label]) => h("option", { value: label, selected: (query.get("lookback") || "1h") === label }, `last ${label}`)));
  const limit = h("select", { name: "limit", id: "f-limit" },
    [20, 50, 100].map((n) => h("option", { value: n, selected: String(n) === (query.get("limit") || "20") }, `${n} traces`)));
  const sort = h("select", { name: "sort", id: "f-sort" },
    h("option", { value: "recent" }, "most recent first"),
    h("option", { value: "slowest", selected: query.get("sort") === "slowest" }, "slowest first"));
  const live = h("input", { type: "checkbox", id: "f-live", checked: query.get("live") !== "off" });
  const field = (label, input) => h("label", { for: input.id }, h("span", {}, label), input);
  form.append(
    field("Service", service), field("Operation", operation), field("Min duration", minDuration),
    field("Tags", tags), field("Time window", lookback), field("Show", limit), field("Order", sort),
    h("button", { type: "submit" }, "Find traces"),
    h("label", { class: "inline", for: "f-live" }, live, " live (every 3 s)"),
  );

  const status = h("p", { class: "muted", role: "status", "aria-live": "polite" });
  const problem = h("div");
  const compareBtn = h("button", { type: "button", disabled: true, id: "compare" }, "Compare 2 selected");
  const tbody = h("tbody");
  const table = h("table", { class: "traces", id: "trace-list" },
    h("thead", {}, h("tr", {},
      h("th", { scope: "col" }, h("span", { class: "sr-only" }, "compare")),
      h("th", { scope: "col" }, "trace"), h("th", { scope: "col" }, "started"),
      h("th", { scope: "col", class: "num" }, "duration"), h("th", { scope: "col", class: "num" }, "spans"),
      h("th", { scope: "col" }, "services"), h("th", { scope: "col", class: "num" }, "errors"))),
    tbody);
  main.append(h("h1", {}, "Traces"), sendBox({ fault: query.get("fault") || "" }), form, problem, h("div", { class: "list-bar" }, status, compareBtn), table);

  // Services come from Jaeger; a Jaeger that is down shows its error here and the list stays.
  // A fresh Jaeger knows no service until the first request: the poll asks again until one
  // appears, so a learner who opened the console first still sees their trace come in.
  async function loadServices() {
    try {
      const names = (await api.services()).sort();
      if (!names.length) {
        problem.replaceChildren(errorBox(new Error("Jaeger has no traces yet: send a request (curl -k https://localhost:8765/api/accounts/10000); it shows here within seconds"), "No services"));
        return;
      }
      problem.replaceChildren();
      const want = query.get("service") || (names.includes("edge") ? "edge" : names[0]);
      service.replaceChildren(...names.map((n) => h("option", { value: n, selected: n === want }, n)));
      await loadOperations(service.value, query.get("operation"));
    } catch (err) {
      problem.replaceChildren(errorBox(err, "Jaeger's services could not be read"));
    }
  }

  async function loadOperations(svc, want) {
    operation.replaceChildren(h("option", { value: "" }, "all operations"));
    if (!svc) return;
    try {
      const ops = await api.operations(svc);
      const names = ops.map((o) => (typeof o === "string" ? o : o.name)).sort();
      operation.append(...names.map((n) => h("option", { value: n, selected: n === want }, n)));
    } catch (err) {
      problem.replaceChildren(errorBox(err, `The operations of ${svc} could not be read`));
    }
  }
  service.addEventListener("change", () => loadOperations(service.value));

  // rows keeps one <tr> per trace id, so a refresh updates rows in place instead of
  // redrawing the table: no flicker, and the keyboard focus stays where it was.
  const rows = new Map();
  const selected = new Set();
  let latest = [];
  let inFlight = false;

  function queryParams() {
    const seconds = lookbacks.find(([l]) => l === lookback.value)[1];
    const now = Date.now() * 1000;
    const q = { service: service.value, limit: limit.value, lookback: lookback.value, start: now - seconds * 1e6, end: now };
    if (operation.value) q.operation = operation.value;
    if (minDuration.value.trim()) q.minDuration = minDuration.value.trim();
    const t = parseTags(tags.value);
    if (Object.keys(t).length) q.tags = JSON.stringify(t);
    return q;
  }

  async function refresh() {
    if (!service.value || inFlight) return;
    inFlight = true;
    try {
      const found = (await api.traces(queryParams())).map(summary);
      problem.replaceChildren();
      latest = found;
      draw();
      status.textContent = `${found.length} trace${found.length === 1 ? "" : "s"} of ${service.value}` +
        (live.checked ? ` · updated ${new Date().toLocaleTimeString([], { hour12: false })}` : "");
    } catch (err) {
      problem.replaceChildren(errorBox(err, "The traces could not be read"));
    } finally {
      inFlight = false;
    }
  }

  function draw() {
    const list = [...latest].sort(sort.value === "slowest" ? (a, b) => b.duration - a.duration : (a, b) => b.start - a.start);
    const keep = new Set(list.map((t) => t.id));
    for (const [id, tr] of rows) if (!keep.has(id)) { tr.remove(); rows.delete(id); }
    const firstDraw = rows.size === 0;
    list.forEach((t, i) => {
      let tr = rows.get(t.id);
      if (!tr) {
        tr = traceRow(t);
        if (!firstDraw) tr.classList.add("new"); // fades in: "this one just arrived"
        rows.set(t.id, tr);
      } else if (tr.dataset.spans !== String(t.spans) || tr.dataset.duration !== String(t.duration)) {
        // A trace grows while its consumer spans arrive: update the figures, keep the row.
        const fresh = traceRow(t);
        fresh.querySelector("input").checked = selected.has(t.id);
        tr.replaceWith(fresh);
        rows.set(t.id, fresh);
        tr = fresh;
      }
      if (tbody.children[i] !== tr) tbody.insertBefore(tr, tbody.children[i] || null);
    });
    if (!list.length) {
      tbody.replaceChildren(h("tr", { class: "empty" }, h("td", { colspan: 7 }, "No traces match. Widen the time window, or send a request.")));
      rows.clear();
    } else {
      const empty = tbody.querySelector(".empty");
      if (empty) empty.remove();
    }
  }

  function traceRow(t) {
    const check = h("input", { type: "checkbox", "aria-label": `select trace ${t.id} to compare`, checked: selected.has(t.id) });
    check.addEventListener("click", (ev) => ev.stopPropagation());
    check.addEventListener("keydown", (ev) => ev.stopPropagation());
    check.addEventListener("change", () => {
      if (check.checked) selected.add(t.id); else selected.delete(t.id);
      compareBtn.disabled = selected.size !== 2;
      compareBtn.textContent = selected.size === 2 ? "Compare the 2 selected" : `Compare 2 selected (${selected.size} now)`;
    });
    const tr = h("tr", {
      class: "trace-row" + (t.errors ? " has-error" : ""), tabindex: "0",
      dataset: { traceId: t.id, spans: t.spans, duration: t.duration },
      "aria-label": `trace ${t.title}, ${fmtDuration(t.duration)}, ${t.spans} spans`,
    },
    h("td", {}, check),
    h("td", {}, h("a", { href: `/trace/${t.id}`, "data-link": true, tabindex: "-1" }, t.title), h("div", { class: "muted mono" }, t.id)),
    h("td", {}, fmtTime(t.start)),
    h("td", { class: "num" }, fmtDuration(t.duration)),
    h("td", { class: "num spans" }, t.spans),
    h("td", {}, t.services.map((s) => h("span", { class: "chip", style: `--svc: ${serviceColor(s)}` }, s))),
    h("td", { class: "num" }, t.errors ? h("span", { class: "badge badge-error" }, `${t.errors} error${t.errors > 1 ? "s" : ""}`) : "0"));
    activate(tr, (ev) => {
      if (ev.target.closest("a")) return; // the link navigates by itself
      navigate(`/trace/${t.id}`);
    });
    return tr;
  }

  compareBtn.addEventListener("click", () => {
    const [a, b] = [...selected];
    navigate(`/compare/${a}/${b}`);
  });
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    // The search goes into the address, so it can be bookmarked or shared with the room.
    const q = new URLSearchParams({ service: service.value, lookback: lookback.value, limit: limit.value, sort: sort.value });
    if (operation.value) q.set("operation", operation.value);
    if (minDuration.value.trim()) q.set("minDuration", minDuration.value.trim());
    if (tags.value.trim()) q.set("tags", tags.value.trim());
    if (!live.checked) q.set("live", "off");
    history.replaceState(null, "", "/?" + q);
    for (const tr of rows.values()) tr.remove();
    rows.clear();
    refresh();
  });
  sort.addEventListener("change", draw);

  await loadServices();
  await refresh();
  const timer = setInterval(async () => {
    if (document.hidden) return;
    if (!service.value) {
      await loadServices();
      if (service.value) refresh();
    } else if (live.checked) {
      refresh();
    }
  }, POLL_MS);
  return () => clearInterval(timer);
}

// parseTags reads "error=true http.status_code=500" (or key:value) into Jaeger's tags object.
export function parseTags(text) {
  const out = {};
  for (const part of text.trim().split(/\s+/).filter(Boolean)) {
    const m = part.match(/^([^=:]+)[=:](.*)$/);
    if (m) out[m[1]] = m[2];
  }
  return out;
}

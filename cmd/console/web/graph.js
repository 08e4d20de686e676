// The dependency graph: who calls whom, from Jaeger's /api/dependencies (computed from the
// traces it holds), drawn as SVG in layers by call depth: the edge on the left, the
// services it reaches to the right. It refreshes, so a service made with make new-service
// appears once it is called.

import { h, svg, errorBox } from "./dom.js";
import * as api from "./api.js";
import { serviceColor } from "./waterfall.js";

const POLL_MS = 10000;
const LOOKBACK_MS = 24 * 3600 * 1000;

export async function graphView(main) {
  const status = h("p", { class: "muted", role: "status" });
  const area = h("div", { class: "graph", id: "graph" });
  main.append(h("h1", {}, "Dependency graph"),
    h("p", {}, "Each arrow is a call from one service to another in the last 24 hours, with how many Jaeger saw."), status, area);
  let drawn = "";

  async function refresh() {
    let deps;
    let names = [];
    try {
      deps = await api.dependencies(LOOKBACK_MS);
      names = await api.services().catch(() => []);
    } catch (err) {
      area.replaceChildren(errorBox(err, "The dependencies could not be read"));
      drawn = "";
      return;
    }
    const key = JSON.stringify([deps, names]);
    status.textContent = `${new Set([...names, ...deps.flatMap((d) => [d.parent, d.child])]).size} services, ${deps.length} links · updated ${new Date().toLocaleTimeString([], { hour12: false })}`;
    if (key === drawn) return; // unchanged: keep the drawing (and the reader's place)
    drawn = key;
    area.replaceChildren(deps.length || names.length ? draw(deps, names) : h("p", {}, "No calls yet: send a request and wait a moment."));
  }

  await refresh();
  const timer = setInterval(() => { if (!document.hidden) refresh(); }, POLL_MS);
  return () => clearInterval(timer);
}

// layers gives each service its depth: the longest chain of calls that leads to it. A
// service nobody calls is at depth 0. Cycles (a service calling back) are cut by a bound.
export function layers(deps, names) {
  const nodes = new Set(names);
  for (const d of deps) nodes.add(d.parent).add(d.child);
  const depth = new Map([...nodes].map((n) => [n, 0]));
  for (let round = 0; round < nodes.size; round++) {
    let changed = false;
    for (const d of deps) {
      if (d.parent === d.child) continue;
      const want = depth.get(d.parent) + 1;
      if (want > depth.get(d.child)) { depth.set(d.child, want); changed = true; }
    }
    if (!changed) break;
  }
  return depth;
}

function draw(all, names) {
  // Jaeger counts a span's child in the same service as a call to itself: that is not a
  // dependency, so those links are left out.
  const deps = all.filter((d) => d.parent !== d.child);
  const depth = layers(deps, names);
  const columns = [];
  for (const [name, d] of [...depth].sort((a, b) => a[0].localeCompare(b[0]))) (columns[d] ||= []).push(name);
  const W = 190, H = 46, GX = 110, GY = 40, PAD = 20;
  const pos = new Map();
  const tallest = Math.max(...columns.map((c) => (c ? c.length : 0)));
  columns.forEach((col, x) => (col || []).forEach((name, y) => {
    const offset = ((tallest - col.length) * (H + GY)) / 2; // centre short columns
    pos.set(name, { x: PAD + x * (W + GX), y: PAD + offset + y * (H + GY) });
  }));
  const width = PAD * 2 + columns.length * (W + GX) - GX;
  const height = PAD * 2 + tallest * (H + GY) - GY;
  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, width: "100%", role: "img",
    "aria-label": `dependency graph: ${deps.map((d) => `${d.parent} calls ${d.child} (${d.callCount})`).join(", ")}` },
  svg("defs", {}, svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 8, markerHeight: 8, orient: "auto-start-reverse" },
    svg("path", { d: "M0,0 L10,5 L0,10 z", class: "arrowhead" }))));
  for (const d of deps) {
    const a = pos.get(d.parent);
    const b = pos.get(d.child);
    const x1 = a.x + W, y1 = a.y + H / 2, x2 = b.x, y2 = b.y + H / 2;
    const mx = (x1 + x2) / 2;
    const back = x2 <= x1; // a call to the same or an earlier layer: curve around
    const path = back
      ? `M${a.x + W / 2},${a.y + H} C${a.x + W / 2},${a.y + H + 60} ${b.x + W / 2},${b.y + H + 60} ${b.x + W / 2},${b.y + H}`
      : `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`;
    root.append(svg("g", { class: "edge", "data-parent": d.parent, "data-child": d.child },
      svg("path", { d: path, "marker-end": "url(#arrow)" }),
      svg("text", { x: back ? (a.x + b.x + W) / 2 : mx, y: back ? Math.max(a.y, b.y) + H + 50 : (y1 + y2) / 2 - 6, "text-anchor": "middle" }, String(d.callCount))));
  }
  for (const [name, p] of pos) {
    root.append(svg("g", { class: "node", "data-service": name },
      svg("rect", { x: p.x, y: p.y, width: W, height: H, rx: 8, style: `stroke: ${serviceColor(name)}` }),
      svg("text", { x: p.x + W / 2, y: p.y + H / 2 + 6, "text-anchor": "middle" }, name)));
  }
  return root;
}

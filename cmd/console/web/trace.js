// The trace model: Jaeger's JSON (a flat list of spans with references) turned into the tree
// the waterfall draws, plus the figures the list shows. No DOM here, so it reads like the
// definition of a trace.

// A span's parent is the span its first CHILD_OF reference names; a span with only a
// FOLLOWS_FROM reference (the AMQP producer and consumer) hangs under the span it follows,
// marked as such. A reference to a span that is not in the trace (not arrived yet, or lost)
// makes the span a root of its own, so nothing is hidden.
export function buildTrace(raw) {
  const processes = raw.processes || {};
  const spans = (raw.spans || []).map((s) => {
    const ref = (s.references || []).find((r) => r.refType === "CHILD_OF") ||
      (s.references || []).find((r) => r.refType === "FOLLOWS_FROM") || null;
    const process = processes[s.processID] || { serviceName: "?", tags: [] };
    return {
      id: s.spanID,
      operation: s.operationName,
      service: process.serviceName,
      process,
      start: s.startTime,
      duration: s.duration,
      end: s.startTime + s.duration,
      tags: s.tags || [],
      logs: s.logs || [],
      references: s.references || [],
      warnings: s.warnings || [],
      ref,
      refType: ref ? ref.refType : null,
      parent: null,
      children: [],
      error: isError(s.tags || []),
      kind: tagValue(s.tags || [], "span.kind"),
    };
  });
  const byId = new Map(spans.map((s) => [s.id, s]));
  const roots = [];
  for (const s of spans) {
    const parent = s.ref ? byId.get(s.ref.spanID) : null;
    if (parent && parent !== s) {
      s.parent = parent;
      parent.children.push(s);
    } else {
      roots.push(s);
    }
  }
  const byStart = (a, b) => a.start - b.start;
  roots.sort(byStart);
  for (const s of spans) s.children.sort(byStart);

  const start = Math.min(...spans.map((s) => s.start));
  const end = Math.max(...spans.map((s) => s.end));
  const services = [];
  for (const s of [...spans].sort(byStart)) if (!services.includes(s.service)) services.push(s.service);
  const root = roots[0] || null;
  return {
    id: raw.traceID,
    spans,
    byId,
    roots,
    root,
    start,
    end,
    duration: spans.length ? end - start : 0,
    services,
    errors: spans.filter((s) => s.error).length,
    title: root ? `${root.service}: ${root.operation}` : "(no spans)",
  };
}

// A span is an error when it says so with the tag error=true (OpenTracing's convention).
function isError(tags) {
  const v = tagValue(tags, "error");
  return v === true || v === "true";
}

export function tagValue(tags, key) {
  const t = tags.find((t) => t.key === key);
  return t ? t.value : undefined;
}

// flatten lists the spans depth first, as the waterfall shows them, each with its depth.
export function flatten(trace) {
  const rows = [];
  const walk = (span, depth) => {
    rows.push({ span, depth });
    for (const c of span.children) walk(c, depth + 1);
  };
  for (const r of trace.roots) walk(r, 0);
  return rows;
}

// criticalPath answers "what did the root wait for?": start at the end of the root and walk
// back in time. At each moment, the span that the parent was waiting for is the child that
// finished last before that moment; follow it down, then continue from where it started.
// Children that start only after the moment (the relay's publish, which FOLLOWS_FROM the
// outbox write and runs on its own time) are never on the path: the root did not wait
// for them. Returns the set of span ids on the path.
export function criticalPath(trace) {
  const path = new Set();
  if (!trace.root) return path;
  const walk = (span, until) => {
    path.add(span.id);
    let t = Math.min(until, span.end);
    for (;;) {
      let next = null;
      let nextEnd = -Infinity;
      for (const c of span.children) {
        if (c.start >= t || path.has(c.id)) continue;
        const end = Math.min(c.end, t);
        if (end > nextEnd) {
          next = c;
          nextEnd = end;
        }
      }
      if (!next) return;
      walk(next, nextEnd);
      t = next.start;
    }
  };
  walk(trace.root, trace.root.end);
  return path;
}

// summary is what the trace list shows of a trace.
export function summary(raw) {
  const t = buildTrace(raw);
  return {
    id: t.id,
    title: t.title,
    start: t.start,
    duration: t.duration,
    spans: t.spans.length,
    services: t.services,
    errors: t.errors,
  };
}

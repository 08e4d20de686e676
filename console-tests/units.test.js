// The page's pure modules, without a browser: the trace model (tree, FOLLOWS_FROM, critical
// path) on a VIP trace as Jaeger stored it, and the Markdown renderer's escaping.
//
//   node --test units.test.js

import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { buildTrace, flatten, criticalPath } from "../cmd/console/web/trace.js";
import { renderMarkdown, inline } from "../cmd/console/web/markdown.js";

// internal/jaegerapi's recorded VIP trace: eleven spans, from before the outbox (the publish
// was a CHILD_OF then; the consumer FOLLOWS_FROM it).
const raw = JSON.parse(fs.readFileSync(new URL("../internal/jaegerapi/testdata/vip-trace.json", import.meta.url))).data[0];

test("buildTrace: one root, every span in the tree, the consumer under the publish as FOLLOWS_FROM", () => {
  const t = buildTrace(raw);
  assert.equal(t.spans.length, 11);
  assert.equal(t.roots.length, 1);
  assert.equal(t.title, "edge: GET /api/accounts/{id...}");
  assert.equal(flatten(t).length, 11);
  const consume = t.spans.find((s) => s.operation === "consume vipQueue");
  assert.equal(consume.refType, "FOLLOWS_FROM");
  assert.equal(consume.parent.operation, "publish vipQueue");
  assert.equal(t.services[0], "edge", "services in order of their first span");
  assert.deepEqual([...t.services].sort(), ["accountservice", "edge", "imageservice", "quoteservice", "vipservice"]);
  assert.equal(t.errors, 0);
});

test("criticalPath: from the root down through what finished last; never a span that started after", () => {
  const t = buildTrace(raw);
  const path = criticalPath(t);
  const names = t.spans.filter((s) => path.has(s.id)).map((s) => s.operation);
  assert.ok(names.includes("GET /api/accounts/{id...}"), names.join(", "));
  assert.ok(names.includes("GET accountservice"), names.join(", "));
  for (const s of t.spans) {
    if (!path.has(s.id) || !s.parent) continue;
    assert.ok(path.has(s.parent.id), `${s.operation} is on the path without its parent`);
    assert.ok(s.start < s.parent.end, `${s.operation} started after its parent ended`);
  }
});

test("a span whose parent is missing becomes a root, not lost", () => {
  const copy = structuredClone(raw);
  copy.spans = copy.spans.filter((s) => s.operationName !== "GET accountservice");
  const t = buildTrace(copy);
  assert.equal(flatten(t).length, 10);
  assert.equal(t.roots.length, 2);
});

test("renderMarkdown escapes every piece of HTML, links only to safe places", () => {
  const html = renderMarkdown("# A <b>title</b>\n\n<script>alert(1)</script> [x](javascript:alert) [y](https://example.org/?a=1&b=2) `<i>`\n");
  assert.doesNotMatch(html, /<script|<b>|<i>|javascript:/);
  assert.match(html, /&lt;script&gt;/);
  assert.match(html, /<a href="https:\/\/example.org\/\?a=1&amp;b=2" rel="noopener">y<\/a>/);
  assert.match(html, /<code>&lt;i&gt;<\/code>/);
});

test("renderMarkdown: a code block inside a numbered step stays in the step", () => {
  const html = renderMarkdown("1. Send it:\n\n   ```sh\n   curl -k x\n   ```\n\n   Then read it.\n2. Next\n");
  assert.match(html, /^<ol><li><p>Send it:<\/p>\n<pre><code class="lang-sh">curl -k x<\/code><\/pre>\n<p>Then read it.<\/p><\/li><li>Next<\/li><\/ol>$/);
});

test("inline: bold, emphasis and code", () => {
  assert.equal(inline("**a** *b* `c*d*`"), "<strong>a</strong> <em>b</em> <code>c*d*</code>");
});

// The workshop console in a real browser: Debian's Chromium, headless, driven by
// playwright-core (its own browser download cannot work here). console_test.go starts the
// landscape with the console and runs this file with CONSOLE_URL and EDGE_URL set; with a
// landscape already running, `node --test` runs it alone:
//
//   CONSOLE_URL=http://127.0.0.1:8088 EDGE_URL=https://localhost:8765 npm test
//
// Every wait is on a condition with a generous limit (CI may share the two cores), never a
// fixed sleep standing in for an assertion.

import { test, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import https from "node:https";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";

const consoleURL = process.env.CONSOLE_URL || "http://127.0.0.1:8088";
const edgeURL = process.env.EDGE_URL || "https://localhost:8765";
const shots = process.env.SCREENSHOT_DIR || ""; // docs/ when the screenshots are to be kept
const instructor = process.env.CONSOLE_INSTRUCTOR === "true";
const WAIT = 60_000;

// The VIP read's tree, as e2e/traces_test.go asserts it: the edge's two spans, four of
// accountservice's read, two of quoteservice and imageservice each... twelve in all, two of
// them FOLLOWS_FROM (the relay's publish follows the outbox write, the consumer the publish).
const VIP_SPANS = 12;
const VIP_FOLLOWS = 2;

let context;
let page;

before(async () => {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "tracelab-chromium-"));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
    viewport: { width: 1400, height: 900 },
  });
  page = context.pages()[0] || (await context.newPage());
  page.setDefaultTimeout(WAIT);
  // A JavaScript error in the console is a failure, even when the page still looks right.
  page.on("pageerror", (err) => { pageErrors.push(err.message); });
});

// A failed test says what the page showed, not only which element never came.
afterEach(async (t) => {
  if (t.passed === false || process.env.CONSOLE_TESTS_VERBOSE) {
    const text = page ? await page.locator("main").innerText().catch(() => "") : "";
    console.error(`--- ${page && page.url()} showed ---\n${text.slice(0, 2000)}`);
  }
});

after(async () => {
  if (context) await context.close();
});

const pageErrors = [];

// vipRequest reads VIP account 10000 through the edge, as a learner's curl -k does, and
// returns the answer's X-Trace-Id.
function vipRequest(headers = {}) {
  return new Promise((resolve, reject) => {
    const req = https.get(`${edgeURL}/api/accounts/10000`, { rejectUnauthorized: false, headers }, (res) => {
      res.resume();
      const id = res.headers["x-trace-id"];
      if (res.statusCode !== 200 || !id) reject(new Error(`GET /api/accounts/10000 = ${res.statusCode}, X-Trace-Id ${id}`));
      else resolve(id);
    });
    req.on("error", reject);
  });
}

// waitForTrace waits until Jaeger, asked through the console's own API, holds all n spans
// of a trace: spans reach Jaeger in batches, the consumer's a little after the request's.
async function waitForTrace(id, n) {
  let last = "nothing yet";
  for (const deadline = Date.now() + WAIT; Date.now() < deadline; await new Promise((r) => setTimeout(r, 500))) {
    const r = await fetch(`${consoleURL}/api/jaeger/traces/${id}`);
    const body = await r.json();
    if (r.ok && body.data[0].spans.length === n) return;
    last = r.ok ? `${body.data[0].spans.length} spans` : body.error;
  }
  throw new Error(`trace ${id} did not reach ${n} spans in Jaeger within ${WAIT / 1000}s: ${last}`);
}

let vipTrace; // the trace id of the VIP read, once the list has shown it whole

test("the trace list shows a new VIP request's trace while we watch, with its twelve spans", async () => {
  await page.goto(consoleURL + "/");
  await page.getByRole("heading", { name: "Traces" }).waitFor();
  // The page is loaded before the request is sent (in a fresh Jaeger, before any service is
  // known): the trace must arrive by the poll.
  vipTrace = await vipRequest();
  const row = page.locator(`tr.trace-row[data-trace-id="${vipTrace}"]`);
  await row.waitFor();
  // The consumer's spans arrive a little later than the request's: the row's count grows.
  await page.waitForFunction(([id, n]) => {
    const tr = document.querySelector(`tr.trace-row[data-trace-id="${id}"]`);
    return tr && tr.querySelector(".spans").textContent === String(n);
  }, [vipTrace, VIP_SPANS], { timeout: WAIT });
  const services = await row.locator(".chip").allTextContents();
  assert.deepEqual([...services].sort(), ["accountservice", "edge", "imageservice", "quoteservice", "vipservice"]);
  assert.equal(await row.locator("td.num").last().textContent(), "0", "errors of a good VIP read");
});

test("Enter on the row opens the trace: a waterfall of twelve spans, the AMQP hop marked FOLLOWS_FROM", async () => {
  assert.ok(vipTrace, "the list test found no trace");
  await page.locator(`tr.trace-row[data-trace-id="${vipTrace}"]`).focus();
  await page.keyboard.press("Enter");
  await page.waitForURL(`**/trace/${vipTrace}`);
  await page.locator(".wf-row").first().waitFor();
  assert.equal(await page.locator(".wf-row").count(), VIP_SPANS);
  assert.equal(await page.locator("#span-count").textContent(), String(VIP_SPANS));
  const follows = page.locator(".wf-row.follows");
  assert.equal(await follows.count(), VIP_FOLLOWS);
  // vipservice's consumer span (its queue is the suite's own, console-tests-vip).
  const consume = page.locator('.wf-row.follows[data-service="vipservice"]');
  assert.match(await consume.getAttribute("data-operation"), /^consume /);
  assert.match(await consume.locator(".badge-follows").textContent(), /^FOLLOWS_FROM publish /);
  const publish = page.locator('.wf-row.follows[data-service="accountservice"]');
  assert.match(await publish.locator(".badge-follows").textContent(), /^FOLLOWS_FROM outbox write$/);
  assert.equal(await consume.locator(".wf-connector").count(), 1, "the dashed connector");
  // CHILD_OF rows have neither.
  assert.equal(await page.locator(".wf-row:not(.follows) .badge-follows, .wf-row:not(.follows) .wf-connector").count(), 0);
  // The critical path starts at the root and never includes the consumer (not waited for).
  assert.ok(await page.locator(".wf-row").first().evaluate((el) => el.classList.contains("critical")), "root on the critical path");
  assert.equal(await consume.evaluate((el) => el.classList.contains("critical")), false, "the consumer is not on the critical path");

  // Details by keyboard: Enter on the consumer row shows its references and process.
  await consume.focus();
  await page.keyboard.press("Enter");
  const details = page.locator(".wf-details:not([hidden])");
  await details.waitFor();
  assert.match(await details.textContent(), /FOLLOWS_FROM/);
  assert.match(await details.textContent(), /Process: vipservice/);
  assert.match(await details.textContent(), /span\.kind\s*consumer/);
  if (shots) {
    await page.keyboard.press("Enter"); // closed again, for a picture of the whole tree
    await page.evaluate(() => document.activeElement.blur()); // and no focus ring in it
    await page.screenshot({ path: path.join(shots, "console-waterfall.png"), fullPage: true });
  }
});

test("a deep link opens the trace, and a bad id or an unknown trace shows a message, not a blank page", async () => {
  await page.goto(`${consoleURL}/trace/${vipTrace}`);
  await page.locator(".wf-row").first().waitFor();
  assert.equal(await page.locator(".wf-row").count(), VIP_SPANS);

  await page.goto(`${consoleURL}/trace/not-a-trace-id`);
  const box = page.locator(".error-box");
  await box.waitFor();
  assert.match(await box.textContent(), /not-a-trace-id/);

  await page.goto(`${consoleURL}/trace/0123456789abcdef0123456789abcdef`);
  await box.waitFor();
  assert.match(await box.textContent(), /0123456789abcdef0123456789abcdef/);
});

test("the page sends a request itself, with a fault in its baggage, and links to its trace", async () => {
  await page.goto(consoleURL + "/?fault=slow-quote%3D120ms");
  assert.equal(await page.locator("#send-fault").inputValue(), "slow-quote=120ms", "the fault panel's link fills the fault in");
  await page.locator("#send").click();
  const link = page.locator("#send-trace");
  await link.waitFor({ timeout: WAIT });
  assert.match(await page.locator("#send-result").textContent(), /^200 in /);
  const id = await link.textContent();
  await waitForTrace(id, VIP_SPANS);
  await link.click();
  await page.waitForURL(`**/trace/${id}`);
  await page.locator(".wf-row").first().waitFor();
  assert.equal(await page.locator(".wf-row").count(), VIP_SPANS);
  // The fault reached quoteservice: its span carries the tag, as with the panel's curl.
  await page.locator('.wf-row[data-service="quoteservice"][data-operation="GET /api/quote"]').focus();
  await page.keyboard.press("Enter");
  const details = page.locator(".wf-details:not([hidden])");
  await details.waitFor();
  assert.match(await details.textContent(), /fault\s*slow-quote/);

  await page.goto(consoleURL + "/");
  await page.locator("#send-path").fill("/faults");
  await page.locator("#send").click();
  await page.locator("#send-result .error-box").waitFor();
  assert.match(await page.locator("#send-result").textContent(), /under \/api\//);
});

test("Jaeger down: every page says so in a sentence, never a blank screen", async () => {
  const down = process.env.DOWN_CONSOLE_URL;
  assert.ok(down, "DOWN_CONSOLE_URL: browser_test.go starts a console whose Jaeger is down");
  for (const [path, what] of [["/", /Jaeger's services could not be read/], [`/trace/${"ab".repeat(8)}`, /could not be shown/], ["/graph", /dependencies could not be read/]]) {
    await page.goto(down + path);
    const box = page.locator(".error-box").first();
    await box.waitFor({ timeout: WAIT });
    const text = await box.textContent();
    assert.match(text, what, `${path}: ${text}`);
    assert.match(text, /cannot be reached.*is Jaeger running/, `${path}: ${text}`);
  }
});

test("two traces side by side", async () => {
  const second = await vipRequest();
  await waitForTrace(second, VIP_SPANS);
  await page.goto(`${consoleURL}/compare/${vipTrace}/${second}`);
  await page.locator(".compare section").nth(1).locator(".wf-row").first().waitFor();
  assert.equal(await page.locator(".compare section").count(), 2);
  assert.equal(await page.locator(".compare section").first().locator(".wf-row").count(), VIP_SPANS);
  await page.locator("table.diff").waitFor();
});

test("the dependency graph shows the landscape's calls, the queue's included", async () => {
  await page.goto(consoleURL + "/graph");
  for (const svc of ["edge", "accountservice", "quoteservice", "imageservice", "vipservice"]) {
    await page.locator(`#graph g.node[data-service="${svc}"]`).waitFor();
  }
  await page.locator('#graph g.edge[data-parent="edge"][data-child="accountservice"]').waitFor();
  await page.locator('#graph g.edge[data-parent="accountservice"][data-child="quoteservice"]').waitFor();
});

test("a lab: rendered from its README, set up, a wrong answer ✗, the right one ✓", async () => {
  await page.goto(consoleURL + "/labs");
  await page.getByRole("link", { name: /Lab 1: Read a trace/ }).click();
  await page.waitForURL("**/labs/1");
  await page.locator("#lab-text h1").waitFor();
  assert.match(await page.locator("#lab-text h1").textContent(), /Lab 1/);
  assert.ok(await page.locator("#lab-text pre code").count() > 0, "the README's code blocks");

  await page.locator("#setup").click();
  await page.locator("#setup-output.pass, #setup-output.fail").waitFor();
  assert.match(await page.locator("#setup-output").textContent(), /^✓/, await page.locator("#setup-output").textContent());

  // The check reads the newest VIP trace since the setup: send one, and wait until Jaeger
  // has all of it (the console's own API says so), so the right answer is right.
  await waitForTrace(await vipRequest(), VIP_SPANS);

  await page.locator("#answer").fill("11 1");
  await page.locator("#check").click();
  await page.locator("#check-output.fail").waitFor({ timeout: 120_000 });
  assert.match(await page.locator("#check-output").textContent(), /^✗/);

  await page.locator("#answer").fill(`${VIP_SPANS} ${VIP_FOLLOWS}`);
  await page.locator("#check").click();
  await page.locator("#check-output.pass").waitFor({ timeout: 120_000 });
  assert.match(await page.locator("#check-output").textContent(), /^✓/);
  if (shots) await page.screenshot({ path: path.join(shots, "console-lab.png") });
});

test("the fault panel: a copyable command per fault; the instructor switches one on and off", async () => {
  await page.goto(consoleURL + "/faults");
  const card = page.locator('[data-fault="slow-quote"]');
  await card.waitFor();
  assert.match(await card.locator("#curl-slow-quote").textContent(), /-H 'uberctx-fault: slow-quote' https:\/\/.*\/api\/accounts\//);
  assert.match(await card.locator("#loadgen-slow-quote").textContent(), /-baggage fault=slow-quote/);
  if (!instructor) {
    assert.equal(await page.locator("#on-slow-quote").count(), 0, "no switches for a learner");
    return;
  }
  await page.locator("#param-slow-quote").fill("200ms");
  await page.locator("#on-slow-quote").click();
  await card.locator(".badge-on").waitFor();
  assert.match(await page.locator("#active-faults").textContent(), /slow-quote=200ms/);
  await page.locator("#off-slow-quote").click();
  await card.locator(".badge-on").waitFor({ state: "detached" });
  assert.doesNotMatch(await page.locator("#active-faults").textContent(), /slow-quote/);
});

test("projector mode scales the type, and stays on after a reload", async () => {
  await page.goto(consoleURL + "/");
  const size = () => page.evaluate(() => parseFloat(getComputedStyle(document.documentElement).fontSize));
  const before = await size();
  await page.locator("#projector").click();
  assert.ok((await size()) > before * 1.2, "larger type");
  await page.reload();
  await page.locator("#projector[aria-pressed=true]").waitFor();
  await page.locator("#projector").click(); // off again, for the next run
  assert.equal(await size(), before);
});

test("no JavaScript error on any page", () => {
  assert.deepEqual(pageErrors, []);
});

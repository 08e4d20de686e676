// The workshop: the list of labs, and one lab's README rendered beside its two actions,
// "set up" and "check" (the same code as make setup LAB=n and make check LAB=n ANSWER=...).

import { h, errorBox } from "./dom.js";
import * as api from "./api.js";
import { renderMarkdown, inline } from "./markdown.js";

export async function labsView(main) {
  main.append(h("h1", {}, "Workshop"));
  let labs;
  try {
    labs = await api.labs();
  } catch (err) {
    main.append(errorBox(err, "The labs could not be read"));
    return;
  }
  main.append(
    h("p", {}, "Eleven labs on reading, finding and fixing with traces. Labs 1 and 2 come first; the others stand alone."),
    h("ol", { class: "lab-list" }, labs.map((l) => h("li", { value: l.number },
      h("a", { href: `/labs/${l.number}`, "data-link": true }, h("strong", {}, `Lab ${l.number}: ${l.title}`)),
      l.summary ? summaryOf(l.summary) : null))),
  );
}

// A summary is a line of the README: its `code` is rendered as in the lab (inline escapes
// all text first, so this innerHTML holds no markup of the README's own).
function summaryOf(text) {
  const p = h("p", { class: "muted" });
  p.innerHTML = inline(text, () => null);
  return p;
}

// A lab's README links to its neighbours as ../02-find-the-slowdown: those become console
// pages. Links to files of the repository cannot open in the browser, so they stay text.
function labLink(href) {
  const m = href.match(/^(?:\.\.\/|labs\/)?(\d{2})-[\w-]+\/?(?:README\.md)?$/);
  if (m) return `/labs/${Number(m[1])}`;
  if (/^(https?:|#)/.test(href)) return href;
  return null;
}

export async function labView(main, [n]) {
  let lab;
  try {
    lab = await api.lab(n);
  } catch (err) {
    main.append(h("h1", {}, `Lab ${n}`), errorBox(err, `Lab ${n} could not be read`),
      h("p", {}, h("a", { href: "/labs", "data-link": true }, "All labs")));
    return;
  }
  const article = h("article", { class: "markdown", id: "lab-text" });
  article.innerHTML = renderMarkdown(lab.markdown, labLink); // safe: renderMarkdown escapes all text
  // Internal links move without a reload, like the rest of the console.
  for (const a of article.querySelectorAll('a[href^="/labs"]')) a.setAttribute("data-link", "");

  const setupOut = h("pre", { class: "output", id: "setup-output", hidden: true, "aria-live": "polite" });
  const setupBtn = h("button", { type: "button", id: "setup" }, `Set up lab ${lab.number}`);
  setupBtn.addEventListener("click", async () => {
    await run(setupBtn, setupOut, () => api.setupLab(lab.number), (r) => r.ok, ["set up", "setup failed"]);
  });

  const answer = h("input", { id: "answer", name: "answer", size: 28, autocomplete: "off", placeholder: "your answer" });
  const checkOut = h("pre", { class: "output", id: "check-output", hidden: true, "aria-live": "polite" });
  const checkBtn = h("button", { type: "submit", id: "check" }, "Check");
  const form = h("form", { class: "check" },
    h("label", { for: "answer" }, "Answer"), answer, checkBtn);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    await run(checkBtn, checkOut, () => api.checkLab(lab.number, answer.value), (r) => r.passed, ["passed", "not yet"]);
  });

  const prev = lab.number > 1 ? h("a", { href: `/labs/${lab.number - 1}`, "data-link": true }, `← lab ${lab.number - 1}`) : null;
  const next = h("a", { href: `/labs/${lab.number + 1}`, "data-link": true }, `lab ${lab.number + 1} →`);
  main.append(h("div", { class: "lab" },
    article,
    h("aside", { class: "lab-actions", "aria-label": "Lab actions" },
      h("h2", {}, "Do it here"),
      h("p", { class: "muted" }, "The same as make setup and make check in a terminal."),
      setupBtn, setupOut,
      form, checkOut,
      h("p", { class: "muted" }, "The check reads the traces in Jaeger made since your setup: send your requests first."),
      h("nav", { class: "lab-nav", "aria-label": "Other labs" }, prev, " ", h("a", { href: "/labs", "data-link": true }, "all labs"), " ", next),
    )));
}

// run presses a button: it disables it while the server works (a check can take seconds,
// it sends requests of its own), then shows the output with a ✓ or ✗ at its head.
async function run(button, out, call, passed, [yes, no]) {
  button.disabled = true;
  const label = button.textContent;
  button.textContent = "Working…";
  out.hidden = false;
  out.className = "output";
  out.textContent = "";
  try {
    const result = await call();
    const ok = passed(result);
    out.classList.add(ok ? "pass" : "fail");
    out.textContent = `${ok ? "✓" : "✗"} ${ok ? yes : no}\n\n${result.output || ""}`;
  } catch (err) {
    out.classList.add("fail");
    out.textContent = `✗ ${err.message}`;
  } finally {
    button.disabled = false;
    button.textContent = label;
  }
}

// The fault panel: the catalogue of planted faults, what is on in each service now, and how
// to use each. A learner gets a command that puts the fault in their own request's baggage
// (only their trace sees it); the instructor (CONSOLE_INSTRUCTOR=true) gets switches that turn
// a fault on for everyone, as make fault SET=... does.

import { h, errorBox } from "./dom.js";
import * as api from "./api.js";

const POLL_MS = 5000;

export async function faultsView(main) {
  main.append(h("h1", {}, "Faults"));
  const body = h("div", { id: "faults" });
  main.append(body);
  let config = { edge: "https://localhost:8765", instructor: false };
  try {
    config = { ...config, ...(await api.config()) };
  } catch (err) {
    body.append(errorBox(err, "The console's settings could not be read"));
  }

  async function draw() {
    let data;
    try {
      data = await api.faults();
    } catch (err) {
      body.replaceChildren(errorBox(err, "The faults could not be read"));
      return;
    }
    const instructor = data.instructor ?? config.instructor;
    const active = data.active || {};
    const focused = document.activeElement && document.activeElement.id;
    body.replaceChildren(
      h("p", {}, "Every span a fault touches carries the tag ", h("code", {}, "fault=<name>"), ". ",
        instructor
          ? "You are the instructor: the switches below turn a fault on or off for every request."
          : "Put a fault in your own request's baggage with the commands below: nobody else sees it. (Switching for everyone is the instructor's: CONSOLE_INSTRUCTOR=true.)"),
      activeList(active),
      ...Object.entries(data.errors || {}).map(([svc, why]) => errorBox(new Error(why), `${svc} did not say which faults it has on`)),
      instructor ? h("p", {}, h("button", { type: "button", id: "clear-all", onclick: () => change(() => api.clearFault("all")) }, "Clear all faults")) : null,
      h("div", { class: "fault-grid" }, (data.catalogue || []).map((f) => card(f, active, instructor, config.edge))),
    );
    if (focused) document.getElementById(focused)?.focus(); // redrawing must not lose the keyboard's place
  }

  async function change(call) {
    try {
      await call();
    } catch (err) {
      body.prepend(errorBox(err, "The fault was not switched"));
      return;
    }
    await draw();
  }

  function card(f, active, instructor, edge) {
    const services = [].concat(f.services || f.service || []);
    const onIn = Object.entries(active).filter(([, list]) => (list || []).some((spec) => spec.split("=")[0] === f.name)).map(([svc]) => svc);
    const account = services.includes("vipservice") || f.name === "vip-errors" ? 10000 : 10001;
    // A fault without a parameter gets no field: there is nothing to give it.
    const param = f.param ? h("input", { id: `param-${f.name}`, size: 8, placeholder: f.default || "default", "aria-label": `parameter for ${f.name}` }) : h("span");
    const spec = () => (param.value && param.value.trim() ? `${f.name}=${param.value.trim()}` : f.name);
    return h("section", { class: "fault" + (onIn.length ? " on" : ""), dataset: { fault: f.name } },
      h("h2", {}, h("code", {}, f.name), onIn.length ? h("span", { class: "badge badge-on" }, `on in ${onIn.join(", ")}`) : null),
      h("p", { class: "muted" }, services.join(", ")),
      h("p", {}, f.description || ""),
      f.param ? h("p", {}, h("strong", {}, "parameter: "), f.param, f.default ? ` (default ${f.default})` : "") : null,
      copyable(`curl -k -i -H 'uberctx-fault: ${f.name}' ${edge}/api/accounts/${account}`, `curl-${f.name}`),
      copyable(`bin/loadgen -d 30s -baggage fault=${f.name}`, `loadgen-${f.name}`),
      h("p", {}, h("a", { href: `/?fault=${encodeURIComponent(f.name)}`, id: `try-${f.name}` }, "Send one from the console"), " (the start page, with the fault filled in)"),
      instructor ? h("div", { class: "switch" },
        param,
        h("button", { type: "button", id: `on-${f.name}`, onclick: () => change(() => api.setFault(spec())) }, "On for everyone"),
        h("button", { type: "button", id: `off-${f.name}`, onclick: () => change(() => api.clearFault(f.name)) }, "Off")) : null,
    );
  }

  await draw();
  const timer = setInterval(() => { if (!document.hidden && !document.activeElement?.matches("input")) draw(); }, POLL_MS);
  return () => clearInterval(timer);
}

function activeList(active) {
  const entries = Object.entries(active).filter(([, list]) => list && list.length);
  if (!entries.length) return h("p", { id: "active-faults" }, h("strong", {}, "Active for everyone: "), "none.");
  return h("div", { id: "active-faults" }, h("strong", {}, "Active for everyone:"),
    h("ul", {}, entries.map(([svc, list]) => h("li", {}, h("strong", {}, svc), ": ", list.join(", ")))));
}

// copyable shows a command with a button that copies it. The clipboard API only works on
// localhost or https; elsewhere the text is selected so that Ctrl-C copies it.
function copyable(text, id) {
  const code = h("code", { id }, text);
  const button = h("button", { type: "button", class: "copy", "aria-label": `copy: ${text}` }, "Copy");
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(text);
      button.textContent = "Copied";
    } catch {
      const range = document.createRange();
      range.selectNodeContents(code);
      getSelection().removeAllRanges();
      getSelection().addRange(range);
      button.textContent = "Press Ctrl-C";
    }
    setTimeout(() => { button.textContent = "Copy"; }, 2000);
  });
  return h("div", { class: "command" }, code, button);
}

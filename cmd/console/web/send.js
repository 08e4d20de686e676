// The "send a request" box of the start page: the console sends one GET through the edge
// (POST /api/send) and shows the answer's status and a link to the trace it made, so a
// learner without a terminal can make a trace and open it. A fault typed here travels in
// the request's baggage, as the fault panel's curl command sends it.

import { h, errorBox } from "./dom.js";
import * as api from "./api.js";

export function sendBox(defaults = {}) {
  const path = h("input", { id: "send-path", size: 28, value: defaults.path || "/api/accounts/10000", "aria-label": "path on the edge" });
  const fault = h("input", { id: "send-fault", size: 18, value: defaults.fault || "", placeholder: "fault (optional)", "aria-label": "fault in the baggage" });
  const button = h("button", { type: "submit", id: "send" }, "Send");
  const result = h("div", { id: "send-result", role: "status", "aria-live": "polite" });
  const form = h("form", { class: "send", "aria-label": "Send a request through the edge" },
    h("strong", {}, "Send a request: "), h("code", {}, "GET"), path, fault, button, result);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    button.disabled = true;
    result.replaceChildren(h("span", { class: "muted" }, "sending…"));
    try {
      const answer = await api.send(path.value.trim(), fault.value.trim());
      result.replaceChildren(
        h("span", { class: answer.status < 400 ? "ok" : "bad" }, `${answer.status}`),
        ` in ${answer.durationMs.toFixed(1)} ms`,
        answer.traceId
          ? h("span", {}, " · trace ", h("a", { href: `/trace/${answer.traceId}`, id: "send-trace" }, answer.traceId),
            h("span", { class: "muted" }, " (its spans arrive within a second or two)"))
          : h("span", { class: "muted" }, " · no X-Trace-Id: the request was not sampled"));
    } catch (err) {
      result.replaceChildren(errorBox(err, "The request was not sent"));
    } finally {
      button.disabled = false;
    }
  });
  return form;
}

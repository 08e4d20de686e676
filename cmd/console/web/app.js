// The console's entry point: it lists the pages (all routes in one place, as the Go side
// does) and wires the header. Each view is a function (main, params, query) that fills
// main and may return a function that stops what it started (a poll, a timer).

import { route, start } from "./router.js";
import { searchView } from "./search.js";
import { traceView, compareView } from "./traceview.js";
import { graphView } from "./graph.js";
import { labsView, labView } from "./labs.js";
import { faultsView } from "./faults.js";

route(/^\/$/, searchView);
route(/^\/trace\/([^/]+)$/, traceView);
route(/^\/compare\/([^/]+)\/([^/]+)$/, compareView);
route(/^\/graph$/, graphView);
route(/^\/labs$/, labsView);
route(/^\/labs\/([^/]+)$/, labView);
route(/^\/faults$/, faultsView);

// Projector mode scales every size (they are all in rem) and thickens the bars; the choice
// is kept in the browser, so a reload in front of the room keeps it.
const projector = document.getElementById("projector");
function setProjector(on) {
  document.documentElement.classList.toggle("projector", on);
  projector.setAttribute("aria-pressed", String(on));
  localStorage.setItem("tracelab.projector", on ? "on" : "off");
}
projector.addEventListener("click", () => setProjector(!document.documentElement.classList.contains("projector")));
setProjector(localStorage.getItem("tracelab.projector") === "on");

// A mistake in a view must not leave a blank page: show it at the top instead.
const banner = document.getElementById("banner");
function showBanner(message) {
  banner.textContent = `The console hit a problem: ${message}. Reload the page to try again.`;
  banner.hidden = false;
}
window.addEventListener("error", (ev) => showBanner(ev.message));
window.addEventListener("unhandledrejection", (ev) => showBanner(ev.reason && ev.reason.message ? ev.reason.message : String(ev.reason)));

start();

// The router: every page of the console is index.html (the Go server serves it for each
// path), and this module picks the view from location.pathname. Links with data-link move
// without a reload; the back button works because each move is a history entry.

const routes = [];
let cleanup = null; // the current view's "stop polling" function

// route registers a view for a path pattern; the pattern's groups become the view's params.
export function route(pattern, view) {
  routes.push({ pattern, view });
}

export function navigate(path) {
  if (path !== location.pathname + location.search) history.pushState(null, "", path);
  render();
}

export async function render() {
  if (cleanup) cleanup();
  cleanup = null;
  const main = document.getElementById("main");
  const path = location.pathname.replace(/\/+$/, "") || "/";
  for (const { pattern, view } of routes) {
    const m = path.match(pattern);
    if (!m) continue;
    main.replaceChildren();
    markNav(path);
    const stop = await view(main, m.slice(1).map(decodeURIComponent), new URLSearchParams(location.search));
    cleanup = typeof stop === "function" ? stop : null;
    return;
  }
  main.replaceChildren();
  const p = document.createElement("p");
  p.className = "error-box";
  p.setAttribute("role", "alert");
  p.textContent = `There is no page ${path} in the console. Try Traces, Graph, Workshop or Faults above.`;
  main.append(p);
}

function markNav(path) {
  const section = path.startsWith("/graph") ? "graph" : path.startsWith("/labs") ? "labs"
    : path.startsWith("/faults") ? "faults" : "traces";
  for (const a of document.querySelectorAll("[data-nav]")) {
    if (a.dataset.nav === section) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
}

// start listens for link clicks and the back button, then draws the first page.
export function start() {
  document.addEventListener("click", (ev) => {
    const a = ev.target.closest("a[data-link]");
    if (!a || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.button !== 0) return;
    ev.preventDefault();
    navigate(a.getAttribute("href"));
  });
  window.addEventListener("popstate", render);
  render();
}

// The console's JSON API, one function per route (see cmd/console). Every failure becomes
// an Error whose message is a sentence a learner can read: the server's {"error": ...}
// when it sent one, or what went wrong on the way.

export class APIError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

async function request(path, options = {}) {
  let resp;
  try {
    resp = await fetch(path, { headers: { Accept: "application/json" }, ...options });
  } catch (err) {
    throw new APIError(`the console did not answer ${path} (${err.message}): is it still running?`, 0);
  }
  const text = await resp.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    // Not JSON: a proxy's HTML page, say. Handled below.
  }
  if (!resp.ok) {
    const message = body && body.error ? body.error : `${path} answered ${resp.status} ${resp.statusText}`;
    throw new APIError(message, resp.status);
  }
  if (body === null) throw new APIError(`${path} answered with something that is not JSON`, resp.status);
  return body;
}

// Jaeger's own answers come wrapped as {"data": ..., "errors": ...}: unwrap them here, so
// the views see plain lists and traces.
async function jaeger(path) {
  const body = await request("/api/jaeger" + path);
  if (body.errors && body.errors.length) {
    throw new APIError(body.errors.map((e) => e.msg || JSON.stringify(e)).join("; "), 502);
  }
  return body.data || [];
}

export const services = () => jaeger("/services");
export const operations = (service) => jaeger(`/services/${encodeURIComponent(service)}/operations`);
export const traces = (query) => jaeger("/traces?" + new URLSearchParams(query));
export async function trace(id) {
  const data = await jaeger(`/traces/${encodeURIComponent(id)}`);
  if (!data.length) throw new APIError(`no trace ${id} in Jaeger`, 404);
  return data[0];
}
export const dependencies = (lookbackMs) => jaeger(`/dependencies?lookback=${lookbackMs}`);

export const config = () => request("/api/config");
export const labs = () => request("/api/labs");
export const lab = (n) => request(`/api/labs/${n}`);
export const setupLab = (n) => request(`/api/labs/${n}/setup`, { method: "POST" });
export const checkLab = (n, answer) => request(`/api/labs/${n}/check`, {
  method: "POST",
  headers: { "Content-Type": "application/json", Accept: "application/json" },
  body: JSON.stringify({ answer }),
});
export const send = (path, fault) => request("/api/send", {
  method: "POST",
  headers: { "Content-Type": "application/json", Accept: "application/json" },
  body: JSON.stringify({ path, fault }),
});
export const faults = () => request("/api/faults");
export const setFault = (spec) => request(`/api/faults?set=${encodeURIComponent(spec)}`, { method: "PUT" });
export const clearFault = (name) => request(`/api/faults?clear=${encodeURIComponent(name)}`, { method: "PUT" });

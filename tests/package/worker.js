// A dedicated module worker (no window, no localStorage) that imports the installed package by
// path, with no init(), and runs a refresh cycle and a refused refresh against the demo server.
import { AuthFetch } from "./node_modules/seamless-fetch/index.js";

const out = { warnings: [] };
const warn = console.warn;
console.warn = (...args) => out.warnings.push(args.join(" "));
try {
  const logouts = [], navigations = [];
  const api = new AuthFetch({ refreshUrl: "/auth/refresh", onLogout: (i) => logouts.push(i.reason), navigate: (u) => navigations.push(u) });
  const post = (path, body) => fetch(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body || {}) });
  const { token, refreshToken } = await (await post("/auth/login", { username: "demo", password: "demo" })).json();
  api.setTokens({ accessToken: token, refreshToken });
  await post("/demo/expire");
  const res = await api.fetch("/api/me");
  out.cycle = { status: res.status, user: (await res.json()).user, stats: api.stats() };
  await post("/auth/revoke");
  await post("/demo/expire");
  try {
    await api.fetch("/api/me");
    out.refused = "resolved";
  } catch (e) {
    out.refused = e.code;
  }
  out.logouts = logouts;
  out.navigations = navigations;
} catch (e) {
  out.fatal = String(e && e.stack || e);
}
console.warn = warn;
postMessage(out);

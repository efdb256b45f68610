// The soak test (not in the default run: scripts/soak.sh). Two real tabs fire mixed requests (GET,
// and POST with JSON and form bodies) for SOAK_SECONDS (default 60) against the demo server with
// access tokens that live 1-2 s and a refresh endpoint that fails at random (--chaos: 500, 429
// with Retry-After, dropped connections, answers 1-3 s late). What must hold: every request
// settles within its bound, every POST body that came back was the one sent, no refresh token is
// spent twice, nobody is logged out, no unhandled rejection, wasm memory flat. Prints its figures.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { launch, login, startServer } from "../e2e/helpers.mjs";

const SECONDS = Number(process.env.SOAK_SECONDS || 60);
const CHAOS = process.env.SOAK_CHAOS || "0.3";
const BOUND_MS = 30_000; // refreshTimeoutMs (10 s) + a cross-tab lock wait + a back-off window
let server, browser;

before(async () => {
  server = await startServer(["--access-ttl", "2", "--latency", "20", "--chaos", CHAOS]);
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

/** Runs in a tab: `workers` loops of requests for `ms`; resolves to what happened. */
const soak = (page, { ms, workers, bound }) => page.evaluate(async ({ ms, workers, bound }) => {
  const { api } = await import("/session.js");
  const { default: init } = await import("/pkg/index.js");
  const memory = (await init()).memory;
  const unhandled = [];
  window.addEventListener("unhandledrejection", (e) => unhandled.push(String(e.reason)));
  const out = { requests: 0, ok: 0, posts: 0, bodiesIntact: 0, bodiesChanged: 0, failures: {}, reasons: {}, statuses: {}, unsettled: 0, maxMs: 0 };
  const memoryStart = memory.buffer.byteLength;
  const end = performance.now() + ms;
  const one = async (n) => {
    const post = n % 3 !== 0;
    const payload = "soak " + n + " " + "x".repeat(n % 200) + " é";
    const body = n % 2 ? JSON.stringify({ payload }) : new URLSearchParams({ payload });
    const sent = typeof body === "string" ? body : body.toString();
    const init = post ? { method: "POST", body, headers: typeof body === "string" ? { "content-type": "application/json" } : {} } : {};
    const started = performance.now();
    let timer;
    const bounded = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error("unsettled")), bound); });
    try {
      const res = await Promise.race([api.fetch(post ? "/api/echo" : "/api/items?id=" + (n % 1000), init), bounded]);
      out.statuses[res.status] = (out.statuses[res.status] || 0) + 1;
      if (res.ok) out.ok++;
      if (post && res.ok) {
        out.posts++;
        if ((await res.json()).received === sent) out.bodiesIntact++;
        else out.bodiesChanged++;
      }
    } catch (e) {
      if (e.message === "unsettled") out.unsettled++;
      const key = e.code || e.name;
      out.failures[key] = (out.failures[key] || 0) + 1;
      const why = key + ": " + String(e.message).slice(0, 90);
      out.reasons[why] = (out.reasons[why] || 0) + 1;
    } finally {
      clearTimeout(timer);
      out.maxMs = Math.max(out.maxMs, performance.now() - started);
    }
  };
  let n = 0;
  await Promise.all(Array.from({ length: workers }, async () => {
    while (performance.now() < end) {
      out.requests++;
      await one(n++);
      await new Promise((r) => setTimeout(r, Math.random() * 40));
    }
  }));
  out.memory = [memoryStart, memory.buffer.byteLength];
  out.unhandled = unhandled;
  out.url = location.pathname;
  return out;
}, { ms, workers, bound });

test(`soak: two tabs, ${SECONDS} s, tokens living 1-2 s, refresh chaos ${CHAOS}`, { timeout: (SECONDS + 120) * 1000 }, async () => {
  const context = await browser.newContext();
  const tabs = [await context.newPage(), await context.newPage()];
  const pageErrors = [];
  for (const t of tabs) t.on("pageerror", (e) => pageErrors.push(String(e)));
  await login(tabs[0], server.url);
  await tabs[1].goto(server.url);
  await tabs[1].waitForSelector("body[data-ready=true]");
  await server.post("/demo/reset");
  const results = await Promise.all(tabs.map((t) => soak(t, { ms: SECONDS * 1000, workers: 4, bound: BOUND_MS })));
  const log = await server.log();
  const sum = (k) => results.reduce((n, r) => n + r[k], 0);
  const failures = {}, reasons = {};
  for (const r of results) for (const [k, v] of Object.entries(r.failures)) failures[k] = (failures[k] || 0) + v;
  for (const r of results) for (const [k, v] of Object.entries(r.reasons)) reasons[k] = (reasons[k] || 0) + v;
  const figures = {
    requests: sum("requests"), ok: sum("ok"), posts: sum("posts"), bodiesIntact: sum("bodiesIntact"),
    failures, reasons, statuses: results.map((r) => r.statuses), maxMs: Math.round(Math.max(...results.map((r) => r.maxMs))),
    refreshCalls: log.refreshCalls, refreshes: log.refreshes, injected: log.chaos, reuse: log.reuse, refused: log.refused,
    memory: results.map((r) => r.memory), lost: sum("unsettled"),
  };
  console.log("soak figures: " + JSON.stringify(figures));
  assert.equal(figures.lost, 0, "every request settled within " + BOUND_MS + " ms");
  assert.equal(sum("bodiesChanged"), 0, "every POST body came back as sent");
  assert.equal(log.reuse, 0, "no refresh token spent twice");
  assert.equal(log.refused, 0, "no refresh refused");
  assert.deepEqual(Object.keys(failures).filter((k) => k !== "REFRESH_FAILED"), [], "no failure but a transient REFRESH_FAILED");
  for (const r of results) {
    assert.equal(r.url, "/", "nobody was logged out");
    assert.deepEqual(r.unhandled, [], "no unhandled rejection");
    assert.ok(r.memory[1] <= r.memory[0] + 65536, "wasm memory flat: " + r.memory);
  }
  assert.deepEqual(pageErrors, []);
  assert.ok(figures.ok > figures.requests / 2, "most requests succeeded");
  assert.ok(Object.values(log.chaos).reduce((a, b) => a + b, 0) > 0, "failures were injected");
  await context.close();
});

// The package in real Chromium, with real fetch, localStorage, storage events and Web Locks,
// against the demo auth server on 127.0.0.1 (rotating refresh tokens, reuse revokes the family),
// through each of its browser entries: the default one (`pkg`: index.js, the core inside) and
// `seamless-fetch/manual` (`manual`: seamless_fetch.js, `init()` loading seamless_fetch_bg.wasm
// beside it). Every check runs through the public API only.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { demoWorld, startServer } from "./helpers.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
if (!existsSync(resolve(root, "pkg/index.js"))) throw new Error("the package is missing: run scripts/build.sh");
// A blank page on the server's origin to load an entry into.
const blank = resolve(root, "target/e2e-blank");
mkdirSync(blank, { recursive: true });
writeFileSync(resolve(blank, "index.html"), '<!doctype html><meta charset="utf-8"><title>seamless-fetch</title>\n');
const world = demoWorld(["--access-ttl", "600", "--latency", "150", "--serve", "/blank/=" + blank]);

/** Loads one entry into a blank page of `context`: `window.AuthFetch`. */
async function open(context, build) {
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(world.server.url + "blank/index.html");
  await page.evaluate(async (build) => {
    if (build === "manual") {
      const manual = await import("/pkg/seamless_fetch.js");
      await manual.default();
      window.AuthFetch = manual.AuthFetch;
    } else {
      window.AuthFetch = (await import("/pkg/index.js")).AuthFetch;
    }
    window.login = async () => {
      const r = await fetch("/auth/login", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username: "demo", password: "demo" }) });
      const t = await r.json();
      return { accessToken: t.token, refreshToken: t.refreshToken };
    };
    window.navigated = [];
    window.logouts = [];
    window.make = (extra = {}) => new window.AuthFetch({ refreshUrl: "/auth/refresh", navigate: (u) => window.navigated.push(u), onLogout: (i) => window.logouts.push(i.reason), ...extra });
  }, build);
  page.errors = errors;
  return page;
}

/** A fresh browser context with one page of `build`, and the server's log reset. */
async function fresh(build) {
  const context = await world.browser.newContext();
  const page = await open(context, build);
  await world.server.post("/demo/reset");
  return { server: world.server, context, page };
}

const builds = ["manual", "pkg"];

for (const build of builds) {
  test(`${build}: a request carries the token; an expired one refreshes once for a storm, each request keeps its own body`, async () => {
    const { server, context, page } = await fresh(build);
    const result = await page.evaluate(async () => {
      const api = window.make();
      api.setTokens(await window.login());
      const first = await api.fetch("/api/me");
      await fetch("/demo/expire", { method: "POST" });
      const answers = await Promise.all(Array.from({ length: 40 }, (_, i) =>
        api.fetch("/api/echo", { method: "POST", headers: { "content-type": "text/plain" }, body: "body " + i }).then((r) => r.json().then((j) => [r.status, j.received]))));
      return { first: first.status, answers, stored: localStorage.getItem("token") !== null };
    });
    assert.equal(result.first, 200);
    assert.deepEqual(result.answers, Array.from({ length: 40 }, (_, i) => [200, "body " + i]));
    const log = await server.log();
    assert.equal(log.refreshes, 1, "one refresh for the storm");
    assert.equal(log.reuse, 0);
    assert.deepEqual(page.errors, []);
    await context.close();
  });

  test(`${build}: getAccessToken, refresh() and stats() through the same session`, async () => {
    const { server, context, page } = await fresh(build);
    const result = await page.evaluate(async () => {
      const api = window.make();
      const tokens = await window.login();
      api.setTokens(tokens);
      const same = (await api.getAccessToken()) === tokens.accessToken;
      const [a, b] = await Promise.all([api.refresh(), api.refresh()]);
      const after = await api.getAccessToken();
      const bad = await api.getAccessToken({ minValidityMs: -1 }).then(() => null, (e) => e.code);
      return { same, settled: [a, b], renewed: after !== tokens.accessToken && after === localStorage.getItem("token"), bad, stats: api.stats() };
    });
    assert.deepEqual(result, { same: true, settled: [undefined, undefined], renewed: true, bad: "INVALID_OPTIONS", stats: { refreshes: 1, retried: 0, queued: 0 } });
    assert.equal((await server.log()).refreshes, 1, "two refresh() calls at once: one refresh");
    await context.close();
  });

  // Another server on another port is another origin, without CORS: a request with the token
  // (a header that needs a preflight) would never reach it; one without arrives, is answered 401
  // (counted), and its answer is unreadable, so fetch rejects. No refresh either way. (The demo
  // page's CSP allows no other origin: bypassed here, for this test only.)
  test(`${build}: the token never goes to another origin`, async () => {
    const { browser } = world;
    const context = await browser.newContext({ bypassCSP: true });
    const page = await open(context, build);
    await world.server.post("/demo/reset");
    const server = await startServer(["--latency", "0"]);
    const other = server.url;
    const outcome = await page.evaluate(async (other) => {
      const api = window.make();
      api.setTokens(await window.login());
      return api.fetch(other + "api/me").then((r) => r.status, (e) => e.name);
    }, other);
    assert.equal(outcome, "TypeError");
    const log = await server.log();
    assert.equal(log.expired, 1, "it arrived, without a token");
    assert.equal(log.refreshes, 0);
    assert.equal((await world.server.log()).refreshes, 0);
    await server.stop();
    await context.close();
  });

  test(`${build}: a refused refresh rejects with SESSION_EXPIRED, removes the pair it spent, logs out and goes to the login page`, async () => {
    const { server, context, page } = await fresh(build);
    const result = await page.evaluate(async () => {
      const api = window.make({ loginReturnParam: "next" });
      const tokens = await window.login();
      api.setTokens({ accessToken: tokens.accessToken, refreshToken: "unknown-refresh-token" });
      await fetch("/demo/expire", { method: "POST" });
      const errors = await Promise.all([1, 2, 3].map(() => api.fetch("/api/me").then(() => null, (e) => [e.name, e.code, String(e.message).includes(tokens.accessToken)])));
      return { errors, access: localStorage.getItem("token"), navigated: window.navigated, logouts: window.logouts };
    });
    assert.deepEqual(result.errors, [1, 2, 3].map(() => ["AuthError", "SESSION_EXPIRED", false]));
    assert.equal(result.access, null, "the refused pair is removed");
    assert.deepEqual(result.logouts, ["SESSION_EXPIRED"]);
    assert.deepEqual(result.navigated, ["/login?next=%2Fblank%2Findex.html"]);
    assert.equal((await server.log()).refreshCalls, 1);
    await context.close();
  });

  // Issue 28 item 2: the refusal removes only the pair it spent. The waiting request then goes out
  // with tab B's tokens.
  test(`${build}: a refused refresh does not erase the login another tab made meanwhile`, async () => {
    const { server, browser } = world;
    const context = await browser.newContext();
    const [a, b] = [await open(context, build), await open(context, build)];
    await server.post("/demo/reset");
    // Tab A spends a dead refresh token (the server takes 150 ms to refuse it); tab B logs in
    // while that call is out.
    const pending = a.evaluate(async () => {
      const api = window.make();
      const tokens = await window.login();
      api.setTokens({ accessToken: tokens.accessToken, refreshToken: "dead-refresh-token" });
      await fetch("/demo/expire", { method: "POST" });
      const answer = api.fetch("/api/me").then((r) => r.status, (e) => e.code);
      while (!api.isRefreshing) await new Promise((r) => setTimeout(r, 2));
      window.started = true;
      const outcome = await answer;
      return { outcome, access: localStorage.getItem("token") };
    });
    await a.waitForFunction(() => window.started === true);
    const fresh = await b.evaluate(async () => {
      const api = window.make();
      const tokens = await window.login();
      api.setTokens(tokens);
      return tokens.accessToken;
    });
    const seen = await pending;
    assert.equal(seen.access, fresh, "tab B's login is still stored");
    assert.equal(seen.outcome, 200, "tab A's request went out again with tab B's token");
    const log = await server.log();
    assert.equal(log.refused, 1, "the dead token was refused");
    assert.equal(log.reuse, 0);
    const status = await b.evaluate(async () => (await window.make().fetch("/api/me")).status);
    assert.equal(status, 200);
    await context.close();
  });

  // A callback that logs in again from inside the library's own steps: what the library then
  // removes must still be only the pair it spent (its write compares storage first).
  test(`${build}: a login made by a callback amid a refusal is kept`, async () => {
    const { server, context, page } = await fresh(build);
    const result = await page.evaluate(async () => {
      const fresh = await window.login();
      let api = null;
      const seen = [];
      api = window.make({ onRefreshError: (e) => { seen.push(e.code); api.setTokens(fresh); }, onLogout: (i) => seen.push(i.reason) });
      const stale = await window.login();
      api.setTokens({ accessToken: stale.accessToken, refreshToken: "dead-refresh-token" });
      await fetch("/demo/expire", { method: "POST" });
      const outcome = await api.fetch("/api/me").then((r) => r.status, (e) => e.code);
      return { seen, kept: localStorage.getItem("token") === fresh.accessToken && localStorage.getItem("refreshToken") === fresh.refreshToken, outcome };
    });
    assert.equal(result.kept, true, "the login made in onRefreshError is still stored");
    // The request that waited for the refused refresh gets the refusal, whatever the callback
    // did after it (the package before the core handed it its 401: CHANGELOG, Changed).
    assert.equal(result.outcome, "SESSION_EXPIRED", "what the request that waited for the refused refresh gets");
    assert.equal(result.seen[0], "SESSION_EXPIRED");
    await context.close();
  });

  test(`${build}: two tabs, one expiry: one refresh between them, every request answered`, async () => {
    const { server, browser } = world;
    const context = await browser.newContext();
    const [a, b] = [await open(context, build), await open(context, build)];
    await server.post("/demo/reset");
    await a.evaluate(async () => window.make().setTokens(await window.login()));
    await server.post("/demo/expire");
    const burst = (p) => p.evaluate(async () => {
      const api = window.make();
      return Promise.all(Array.from({ length: 10 }, () => api.fetch("/api/me").then((r) => r.status, (e) => e.code)));
    });
    const [sa, sb] = await Promise.all([burst(a), burst(b)]);
    assert.deepEqual([...sa, ...sb], Array(20).fill(200));
    const log = await server.log();
    assert.equal(log.refreshes, 1);
    assert.equal(log.reuse, 0);
    await context.close();
  });

  test(`${build}: options and tokens are checked where they are given, with errors that say what to fix`, async () => {
    const { browser } = world;
    const context = await browser.newContext();
    const page = await open(context, build);
    const result = await page.evaluate(() => {
      const caught = (f) => { try { f(); return null; } catch (e) { return [e.name, e.code, e.message]; } };
      return {
        options: caught(() => new window.AuthFetch({ refreshUrl: "/r", CrossTab: true })),
        tokens: caught(() => window.make().setTokens({ accessToken: "a b", refreshToken: "r" })),
        safe: [window.AuthFetch.safeReturnPath("//evil.example", "/"), window.AuthFetch.safeReturnPath("/orders?id=1", "/")],
      };
    });
    assert.deepEqual(result.options, ["AuthError", "INVALID_OPTIONS", "AuthFetch options: unknown option \"CrossTab\" (did you mean \"crossTab\"?)"]);
    assert.equal(result.tokens[1], "INVALID_TOKEN");
    assert.match(result.tokens[2], /setTokens needs \{ accessToken, refreshToken \}/);
    assert.deepEqual(result.safe, ["/", "/orders?id=1"]);
    await context.close();
  });
}

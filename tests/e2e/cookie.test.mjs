// Cookie sessions and the live feed, end to end: the demo server keeps the refresh token in an
// HttpOnly, SameSite=Strict cookie scoped to the refresh route, rotates it with reuse detection
// and checks a CSRF double-submit header; two real tabs share it through the cross-tab lock.
import { test } from "node:test";
import assert from "node:assert/strict";
import { demoWorld, expiryRounds, login, startServer, watchConsole } from "./helpers.mjs";

const ROUNDS = Number(process.env.COOKIE_ROUNDS || 15);
const world = demoWorld(["--access-ttl", "600", "--latency", "30"]);

test(`cookie session, two tabs, ${ROUNDS} expiries: one refresh each time, no refresh token anywhere JS can read`, async () => {
  const { server, browser } = world;
  const context = await browser.newContext();
  const tabs = [await context.newPage(), await context.newPage()];
  const consoleLines = [];
  for (const t of tabs) watchConsole(t, consoleLines);
  await expiryRounds(server, tabs, "?mode=cookie&ahead=0", ROUNDS);
  const log = await server.log();
  assert.equal(log.csrf, 0, "every refresh carried the CSRF header");
  assert.deepEqual([...new Set(log.refreshBodies)], ["token"], "refresh bodies held the access token only, never a refresh token");
  for (const t of tabs) {
    const seen = await t.evaluate(() => ({ keys: Object.keys(localStorage).sort(), cookie: document.cookie, session: Object.keys(sessionStorage) }));
    assert.deepEqual(seen.keys, ["token", "token:pair"], "Web Storage holds the access token (and its fingerprint) only");
    assert.deepEqual(seen.session, []);
    assert.doesNotMatch(seen.cookie, /(^|; )rt=/, "the refresh cookie is HttpOnly");
    assert.match(seen.cookie, /(^|; )csrf=/, "the CSRF cookie is readable");
    assert.doesNotMatch(t.url(), /login/);
  }
  const cookies = await context.cookies();
  const rt = cookies.find((c) => c.name === "rt");
  assert.deepEqual([rt.httpOnly, rt.sameSite, rt.path], [true, "Strict", "/auth/refresh"]);
  assert.ok(!consoleLines.some((l) => l.includes(rt.value)), "the refresh cookie never reached the console");
  console.log(`cookie session: ${ROUNDS} rounds, ${log.refreshes} refreshes, 0 reuse, 0 CSRF failures`);
  await context.close();
});

test("cookie session in memory: a reload starts from the cookie alone; a revoked cookie ends at /login", async () => {
  const { server, browser } = world;
  const context = await browser.newContext();
  const page = await context.newPage();
  await login(page, server.url, "?mode=cookie");
  // The page's AuthFetch keeps its token in localStorage; a memory-storage instance on a fresh
  // page has none, as after a reload, and must start from the cookie.
  const first = await page.evaluate(async () => {
    const { AuthFetch } = await import("/pkg/index.js");
    const csrf = () => ({ "x-csrf-token": /(?:^|; )csrf=([^;]*)/.exec(document.cookie)[1] });
    const api = new AuthFetch({ refreshUrl: "/auth/refresh", refreshTokenIn: "cookie", storage: "memory", accessTokenKey: "mem", refreshHeaders: csrf, loginUrl: null });
    const res = await api.fetch("/api/me");
    const token = await api.getAccessToken();
    return { status: res.status, hasToken: typeof token === "string", stats: api.stats() };
  });
  assert.deepEqual(first, { status: 200, hasToken: true, stats: { refreshes: 1, retried: 1, queued: 0 } });
  await server.post("/auth/revoke");
  await server.post("/demo/expire");
  await page.click("#burst");
  await page.waitForURL(/\/login\?next=%2F%3Fmode%3Dcookie/);
  await context.close();
});

test("the live feed reconnects with a fresh token each time the server closes it for expiry", async () => {
  const { browser } = world;
  const short = await startServer(["--access-ttl", "2", "--latency", "20"]);
  const context = await browser.newContext();
  const page = await context.newPage();
  try {
    for (const mode of ["", "?mode=cookie"]) {
      await short.post("/demo/reset");
      await login(page, short.url, mode);
      await page.waitForFunction(() => Number(document.getElementById("feed").dataset.connections) >= 4, null, { timeout: 20000 });
      const feed = await page.evaluate(() => ({ ...document.getElementById("feed").dataset }));
      const log = await short.log();
      assert.ok(Number(feed.ticks) >= 12, mode + ": ticks kept coming: " + feed.ticks);
      assert.ok(log.live.expiredCloses >= 3, mode + ": closed for expiry " + log.live.expiredCloses + " times");
      assert.equal(log.live.refused, 0, mode + ": never reconnected with an expired token");
      assert.equal(log.reuse, 0);
      const notes = await page.textContent("#log");
      assert.match(notes, /onTokens: refresh/, mode + ": onTokens shows in the log");
      await page.click("#logout");
      await page.waitForURL(/\/login/);
    }
  } finally {
    await context.close();
    await short.stop();
  }
});

// The demo app end to end: real server, real JWTs, real Chromium, the library as a browser loads it.
import { after, before, beforeEach, test } from "node:test";
import assert from "node:assert/strict";
import { resolve } from "node:path";
import { burstSummary, launch, login, resultsDir, startServer, watchConsole } from "./helpers.mjs";

let server, browser, context, page, consoleLines;

before(async () => {
  // 150 ms of latency: all 20 requests of a burst leave before the first 401 comes back, even on a busy machine.
  server = await startServer(["--access-ttl", "60", "--latency", "150"]);
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});
beforeEach(async () => {
  await context?.close();
  context = await browser.newContext();
  page = await context.newPage();
  consoleLines = [];
  watchConsole(page, consoleLines);
});

/** Makes every access token issued so far stop working, then clears the server's counters. */
async function expireAndReset() {
  await server.post("/demo/expire");
  await server.post("/demo/reset");
}

test("without a session the dashboard sends you to /login", async () => {
  await page.goto(server.url);
  await page.waitForURL(/\/login\?next=%2F/);
});

test("20 requests after expiry: exactly one refresh, 20 successes, replayed on 401", async () => {
  await login(page, server.url, "?ahead=0");
  await expireAndReset();
  await page.click("#burst");
  assert.match(await burstSummary(page), /^20\/20 succeeded · 1 refresh call · 20 retried/);
  const log = await server.log();
  assert.equal(log.refreshes, 1, "one refresh reached the server");
  assert.equal(log.reuse, 0);
  assert.equal(log.expired, 20, "each request was first refused");
  assert.equal(log.api, 40, "and then replayed once");
  await page.waitForTimeout(100);
  const shot = resolve(resultsDir, "dashboard-after-burst.png");
  await page.screenshot({ path: shot, fullPage: true });
  console.log("screenshot: " + shot);
});

test("refresh ahead of expiry: the burst waits for one refresh and nothing is refused", async () => {
  // Tokens of 4 s: the refresh-ahead window is capped at 2 s, so after 2.5 s the next burst refreshes first.
  const short = await startServer(["--access-ttl", "4", "--latency", "60"]);
  try {
    await login(page, short.url);
    await page.waitForTimeout(2500);
    await short.post("/demo/reset");
    await page.click("#burst");
    assert.match(await burstSummary(page), /^20\/20 succeeded · 1 refresh call · 0 retried/);
    const log = await short.log();
    assert.deepEqual([log.refreshes, log.expired, log.api], [1, 0, 20]);
  } finally {
    await short.stop();
  }
});

test("a POST body arrives intact on the retry", async () => {
  await login(page, server.url, "?ahead=0");
  await expireAndReset();
  await page.click("#post");
  await page.waitForSelector("#log li:has-text('POST body')");
  const log = await server.log();
  assert.equal(log.refreshes, 1);
  assert.equal(log.expired, 1, "the first attempt was refused");
  assert.equal(log.echoes.length, 1, "the echo handler ran once, on the retry");
  const body = JSON.parse(log.echoes[0].body);
  assert.equal(body.message, "hello from the demo");
  assert.equal(log.echoes[0].contentType, "application/json");
  assert.match(await page.textContent("#log"), /POST body arrived intact/);
});

test("two tabs fire at once: still one refresh, and nobody is logged out", async () => {
  await login(page, server.url, "?ahead=0");
  const second = await context.newPage();
  await second.goto(server.url + "?ahead=0");
  await second.waitForSelector("body[data-ready=true]");
  await expireAndReset();
  await Promise.all([page.click("#burst"), second.click("#burst")]);
  for (const p of [page, second]) assert.match(await burstSummary(p), /^20\/20 succeeded/);
  const log = await server.log();
  assert.equal(log.refreshes, 1, "one refresh for both tabs");
  assert.equal(log.reuse, 0, "no refresh token spent twice");
  for (const p of [page, second]) assert.doesNotMatch(p.url(), /login/);
});

test("revoked on the server: the next request lands on /login with no token left", async () => {
  await login(page, server.url, "?ahead=0");
  await page.click("#revoke");
  await page.click("#burst");
  await page.waitForURL(/\/login\?next=/);
  const stored = await page.evaluate(() => [localStorage.getItem("token"), localStorage.getItem("refreshToken")]);
  assert.deepEqual(stored, [null, null]);
});

test("the classic 200 {\"code\":409} backend works the same", async () => {
  await login(page, server.url, "?ahead=0&mode=409");
  assert.equal(await page.isChecked("#mode409"), true);
  await expireAndReset();
  await page.click("#burst");
  assert.match(await burstSummary(page), /^20\/20 succeeded · 1 refresh call · 20 retried/);
  const log = await server.log();
  assert.deepEqual([log.refreshes, log.expired], [1, 20]);
});

test("log out clears the tokens and goes to /login", async () => {
  await login(page, server.url);
  await page.click("#logout");
  await page.waitForURL(/\/login/);
  assert.deepEqual(await page.evaluate(() => localStorage.getItem("token")), null);
});

test("no token ever appears on the console", async () => {
  await login(page, server.url, "?ahead=0");
  const token = await page.evaluate(() => localStorage.getItem("token"));
  await expireAndReset();
  await page.click("#burst");
  await burstSummary(page);
  const refresh = await page.evaluate(() => localStorage.getItem("refreshToken"));
  for (const line of consoleLines) {
    assert.ok(!line.includes(token) && !line.includes(refresh), "console line leaks a token: " + line);
  }
});

test("bad input to the demo server gets a clear 4xx JSON error, and the server stays up", async () => {
  const call = (path, init) => fetch(server.url + path.slice(1), init).then(async (r) => [r.status, await r.json()]);
  const cases = [
    ["/auth/login", { method: "POST", body: "{not json" }, 400],
    ["/auth/login", { method: "POST", body: "[1,2]" }, 400],
    ["/auth/login", { method: "POST", body: JSON.stringify({ username: 5, password: [] }) }, 400],
    ["/auth/login", { method: "POST", body: JSON.stringify({ username: "demo", password: "wrong" }) }, 401],
    ["/auth/refresh", { method: "POST", body: JSON.stringify({ refreshToken: 42 }) }, 400],
    ["/auth/refresh", { method: "POST", body: "x".repeat(70 * 1024) }, 413],
    ["/api/items?id=../../etc", { headers: { authorization: "Bearer nope" } }, 401],
    ["/api/me", { method: "DELETE" }, 405],
    ["/no/such/endpoint", { method: "POST" }, 404],
    ["/..%2f..%2fetc/passwd", {}, 404],
  ];
  for (const [path, init, status] of cases) {
    const [got, body] = await call(path, init);
    assert.equal(got, status, path);
    assert.equal(typeof body.error, "string", path + " says what went wrong");
    assert.equal(typeof body.message, "string", path);
  }
  assert.equal((await call("/demo/log", {}))[0], 200, "still serving");
});

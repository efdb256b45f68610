// Shared by the end-to-end tests: the real demo server on 127.0.0.1 (a random free port) and
// Debian's Chromium driven by playwright-core.
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import { after, before } from "node:test";
import { chromium } from "playwright-core";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const resultsDir = resolve(root, "test-results");
mkdirSync(resultsDir, { recursive: true });

/** Starts www/server.mjs with `args`; resolves to { url, log(), post(path), stop() }. */
export function startServer(args = []) {
  const child = spawn(process.execPath, [resolve(root, "www/server.mjs"), "--port", "0", ...args], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolveStart, reject) => {
    let out = "";
    child.on("exit", (code) => reject(new Error("demo server exited with " + code + ": " + out)));
    child.stdout.on("data", (d) => {
      out += d;
      const m = /http:\/\/127\.0\.0\.1:(\d+)\//.exec(out);
      if (!m) return;
      const url = m[0];
      const call = async (method, path) => (await fetch(url + path.slice(1), { method })).json();
      resolveStart({
        url,
        log: () => call("GET", "/demo/log"),
        post: (path) => call("POST", path),
        stop: () => new Promise((r) => { child.removeAllListeners("exit"); child.on("exit", r); child.kill("SIGTERM"); }),
      });
    });
  });
}

/**
 * For a test file: the demo server started with `args` and a browser, both ready before its tests
 * and closed after them. Read `world.server` and `world.browser` inside the tests.
 */
export function demoWorld(args) {
  const world = {};
  before(async () => {
    world.server = await startServer(args);
    world.browser = await launch();
  });
  after(async () => {
    await world.browser?.close();
    await world.server?.stop();
  });
  return world;
}

/** Headless Chromium from Debian, flags as this machine needs them (root, no network). */
export function launch({ extraArgs = [] } = {}) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", ...extraArgs],
  });
}

/**
 * Opens `url` in a new page of `browser` and waits for the page's `window.results`; fails on any
 * page error or a `results.fatal`. Resolves to the results.
 */
export async function pageResults(browser, url) {
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(url);
  await page.waitForFunction(() => window.results, null, { timeout: 20000 });
  const results = await page.evaluate(() => window.results);
  assert.deepEqual(errors, []);
  assert.equal(results.fatal, undefined, results.fatal);
  return results;
}

/** Records console messages and page errors, for the checks that no token ever shows up there. */
export function watchConsole(page, into) {
  page.on("console", (m) => into.push(m.text()));
  page.on("pageerror", (e) => into.push(String(e)));
}

/** Signs in through the login form and waits for the dashboard. */
export async function login(page, base, query = "") {
  await page.goto(base + "login?next=" + encodeURIComponent("/" + query));
  await page.waitForSelector("body[data-ready=true]");
  await page.fill("input[name=username]", "demo");
  await page.fill("input[name=password]", "demo");
  await page.click("button[type=submit]");
  // The login page is marked ready too: wait for the dashboard itself.
  await page.waitForURL((url) => url.pathname === "/");
  await page.waitForSelector("body[data-ready=true]");
}

/** Waits for the dashboard's summary line of the current burst and returns it. */
export async function burstSummary(page) {
  await page.waitForFunction(() => /succeeded/.test(document.getElementById("summary").textContent), null, { timeout: 15000 });
  return page.textContent("#summary");
}

/**
 * Signs in on the first of two demo tabs (pages of one context) and opens the dashboard with
 * `query` on the second; then, `rounds` times, expires every token and fires ten requests from
 * each tab at once. Each round, all 20 must succeed with exactly one refresh reaching the server
 * and no refresh token (or cookie) spent twice.
 */
export async function expiryRounds(server, tabs, query, rounds) {
  await login(tabs[0], server.url, query);
  await tabs[1].goto(server.url + query);
  await tabs[1].waitForSelector("body[data-ready=true]");
  await server.post("/demo/reset");
  for (let round = 1; round <= rounds; round++) {
    await server.post("/demo/expire");
    const results = await Promise.all(tabs.map((t) => fire(t, round)));
    const log = await server.log();
    assert.deepEqual(results, [Array(10).fill(200), Array(10).fill(200)], `round ${round}: all 20 succeed`);
    assert.equal(log.reuse, 0, `round ${round}: nothing spent twice`);
    assert.equal(log.refreshes, round, `round ${round}: exactly one refresh reached the server`);
  }
}

/** Ten requests at once from a demo tab, through its AuthFetch; resolves to their statuses. */
const fire = (page, round) => page.evaluate(async (round) => {
  const { api } = await import("/session.js");
  const all = Array.from({ length: 10 }, (_, i) => api.fetch(`/api/items?id=${round * 100 + i}`).then((r) => r.status, (e) => e.code || e.name));
  return Promise.all(all);
}, round);

const freePort = () => new Promise((done) => { const s = createServer().listen(0, "127.0.0.1", () => { const { port } = s.address(); s.close(() => done(port)); }); });
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * A W3C WebDriver session (a few JSON calls over HTTP) for the engines Playwright cannot bring
 * here: `"webkit"` (WebKitGTK's MiniBrowser through WebKitWebDriver, under Xvfb) or `"firefox"`
 * (Debian's Firefox ESR through geckodriver, headless). Resolves to `{ wd(method, path, body)`
 * for the session's own paths, `run(fn, ...args)` (an async function's source, run in the current
 * tab, its result returned), `close() }`.
 */
export async function webDriver(engine) {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const [command, args, capabilities] = engine === "webkit"
    ? ["xvfb-run", ["-a", "WebKitWebDriver", `--port=${port}`], {
      "webkitgtk:browserOptions": { binary: execFileSync("sh", ["-c", "dpkg -L libwebkit2gtk-4.1-0 | grep '/MiniBrowser$' | head -1"], { encoding: "utf8" }).trim(), args: ["--automation"] },
    }]
    : ["geckodriver", [`--port=${port}`], { browserName: "firefox", "moz:firefoxOptions": { binary: "/usr/bin/firefox-esr", args: ["-headless"] } }];
  const driver = spawn(command, args, { stdio: "ignore", detached: true });
  /** One WebDriver command; throws with the driver's message when it answers with an error. */
  const call = async (method, path, body) => {
    const res = await fetch(base + path, { method, headers: { "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
    const { value } = await res.json();
    if (!res.ok) throw new Error(`WebDriver ${method} ${path}: ${value && value.message}`);
    return value;
  };
  const stop = () => { try { process.kill(-driver.pid, "SIGTERM"); } catch { /* gone */ } };
  try {
    for (let i = 0; ; i++) {
      try { if ((await call("GET", "/status")).ready) break; } catch { /* not listening yet */ }
      if (i > 100) throw new Error(command + " did not start");
      await sleep(100);
    }
    const { sessionId } = await call("POST", "/session", { capabilities: { alwaysMatch: capabilities } });
    const wd = (method, path, body) => call(method, `/session/${sessionId}${path}`, body);
    await wd("POST", "/timeouts", { script: 60000 });
    return {
      wd,
      run: (fn, ...args) => wd("POST", "/execute/async", { script: `const done = arguments[arguments.length - 1]; (${fn}).apply(null, Array.from(arguments).slice(0, -1)).then(done, (e) => done({ error: String(e && e.stack || e) }));`, args }),
      close: async () => {
        await wd("DELETE", "").catch(() => {});
        stop();
      },
    };
  } catch (e) {
    stop();
    throw e;
  }
}

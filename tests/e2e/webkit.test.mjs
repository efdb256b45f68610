// The demo burst and the two-tab rounds in WebKit (WebKitGTK's MiniBrowser, the engine of
// Safari), against the real demo server. Playwright cannot bring its own WebKit here, so this
// speaks the W3C WebDriver protocol (a few JSON calls over HTTP) to WebKitWebDriver, started under
// Xvfb by the test itself.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { sleep, startServer, webDriver } from "./helpers.mjs";

const ROUNDS = Number(process.env.TAB_ROUNDS || 30);
let server, browser, wd, run;

async function waitFor(fn, what, ms = 15000) {
  const start = Date.now();
  for (;;) {
    // A page that navigates away while the check runs ends the script unanswered; WebKit says so
    // ("Callback was not called before the unload event"): the page is not there yet, so ask again.
    if (await run(fn).catch((e) => { if (/before the unload event/.test(e.message)) return false; throw e; })) return;
    if (Date.now() - start > ms) {
      const url = await wd("GET", "/url").catch((e) => String(e));
      const state = await run(async () => document.body && document.body.outerHTML.slice(0, 300)).catch((e) => String(e));
      throw new Error(`timed out waiting for ${what} (at ${url}: ${JSON.stringify(state)})`);
    }
    await sleep(50);
  }
}

before(async () => {
  // Latency long enough that both tabs' requests leave before the first refresh answers.
  server = await startServer(["--access-ttl", "600", "--latency", "150"]);
  browser = await webDriver("webkit");
  ({ wd, run } = browser);
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

/** Signs in through the login form and waits for the dashboard. */
async function login(query) {
  await wd("POST", "/url", { url: server.url + "login?next=" + encodeURIComponent("/" + query) });
  // The page left behind is marked ready too: wait for the login page itself.
  await waitFor(async () => location.pathname === "/login" && document.body && document.body.dataset.ready === "true", "the login form");
  await run(async () => {
    document.querySelector("input[name=username]").value = "demo";
    document.querySelector("input[name=password]").value = "demo";
    document.querySelector("button[type=submit]").click();
  });
  // The login page is marked ready too: wait for the dashboard itself.
  await waitFor(async () => location.pathname === "/" && document.body && document.body.dataset.ready === "true", "the dashboard");
}

test("WebKit: 20 requests after expiry, exactly one refresh, 20 successes, replayed on 401", async () => {
  await login("?ahead=0");
  await server.post("/demo/expire");
  await server.post("/demo/reset");
  await run(async () => document.getElementById("burst").click());
  await waitFor(async () => /succeeded/.test(document.getElementById("summary").textContent), "the burst summary");
  const summary = await run(async () => document.getElementById("summary").textContent);
  assert.match(summary, /^20\/20 succeeded · 1 refresh call · 20 retried/);
  const log = await server.log();
  assert.equal(log.refreshes, 1, "one refresh reached the server");
  assert.equal(log.reuse, 0);
  assert.equal(log.api, 40, "each request refused once, then replayed once");
});

test(`WebKit: two tabs, ${ROUNDS} expiries in a row, one refresh each time, every request succeeds`, async () => {
  await login("?ahead=0");
  const first = await wd("GET", "/window");
  const { handle: second } = await wd("POST", "/window/new", { type: "tab" });
  await wd("POST", "/window", { handle: second });
  await wd("POST", "/url", { url: server.url + "?ahead=0" });
  await waitFor(async () => document.body && document.body.dataset.ready === "true", "the second tab's dashboard");
  await server.post("/demo/reset");
  // WebDriver drives one tab at a time: each tab starts its ten requests and returns at once,
  // then the results are collected from both.
  const start = (round) => run(async (round) => {
    const { api } = await import("/session.js");
    window.roundResults = Promise.all(Array.from({ length: 10 }, (_, i) => api.fetch(`/api/items?id=${round * 100 + i}`).then((r) => r.status, (e) => e.code || e.name)));
    return true;
  }, round);
  const collect = () => run(async () => window.roundResults);
  for (let round = 1; round <= ROUNDS; round++) {
    await server.post("/demo/expire");
    await wd("POST", "/window", { handle: first });
    await start(round);
    await wd("POST", "/window", { handle: second });
    await start(round);
    const fromSecond = await collect();
    await wd("POST", "/window", { handle: first });
    const fromFirst = await collect();
    const log = await server.log();
    assert.deepEqual([fromFirst, fromSecond], [Array(10).fill(200), Array(10).fill(200)], `round ${round}: all 20 succeed`);
    assert.equal(log.reuse, 0, `round ${round}: no refresh token spent twice`);
    assert.equal(log.refreshes, round, `round ${round}: exactly one refresh reached the server`);
  }
  console.log(`WebKit, two tabs: ${ROUNDS} rounds, ${(await server.log()).refreshes} refreshes, 0 reuse`);
});

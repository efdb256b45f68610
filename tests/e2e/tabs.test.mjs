// Two real tabs of one browser, one rotating-refresh-token server that revokes the whole session
// when a refresh token is spent twice: the cross-tab lock must make exactly one refresh per expiry.
// Repeated many times in a row, because the race it guards against (Chromium shows one tab's
// storage writes to another late) only bites now and then.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { launch, login, startServer } from "./helpers.mjs";

const ROUNDS = Number(process.env.TAB_ROUNDS || 30);
let server, browser;

before(async () => {
  server = await startServer(["--access-ttl", "600", "--latency", "30"]);
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

/** Ten requests at once from a tab, through its AuthFetch; resolves to their statuses. */
const fire = (page, round) => page.evaluate(async (round) => {
  const { api } = await import("/session.js");
  const all = Array.from({ length: 10 }, (_, i) => api.fetch(`/api/items?id=${round * 100 + i}`).then((r) => r.status, (e) => e.code || e.name));
  return Promise.all(all);
}, round);

test(`two tabs, ${ROUNDS} expiries in a row: one refresh each time, every request succeeds, nobody logged out`, async () => {
  const context = await browser.newContext();
  const tabs = [await context.newPage(), await context.newPage()];
  await login(tabs[0], server.url, "?ahead=0");
  await tabs[1].goto(server.url + "?ahead=0");
  await tabs[1].waitForSelector("body[data-ready=true]");
  await server.post("/demo/reset");
  for (let round = 1; round <= ROUNDS; round++) {
    await server.post("/demo/expire");
    const results = await Promise.all(tabs.map((t) => fire(t, round)));
    const log = await server.log();
    assert.deepEqual(results, [Array(10).fill(200), Array(10).fill(200)], `round ${round}: all 20 succeed`);
    assert.equal(log.reuse, 0, `round ${round}: no refresh token spent twice`);
    assert.equal(log.refreshes, round, `round ${round}: exactly one refresh reached the server`);
  }
  for (const t of tabs) assert.doesNotMatch(t.url(), /login/);
  console.log(`${ROUNDS} rounds, ${(await server.log()).refreshes} refreshes, 0 reuse`);
  await context.close();
});

test("a logout in one tab is seen by the other", async () => {
  const context = await browser.newContext();
  const [a, b] = [await context.newPage(), await context.newPage()];
  await login(a, server.url);
  await b.goto(server.url);
  await b.waitForSelector("body[data-ready=true]");
  await a.click("#logout");
  await b.waitForURL(/\/login/);
  assert.deepEqual(await b.evaluate(() => localStorage.getItem("token")), null);
  await context.close();
});

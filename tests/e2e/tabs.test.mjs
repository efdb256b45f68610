// Two real tabs of one browser, one rotating-refresh-token server that revokes the whole session
// when a refresh token is spent twice: the cross-tab lock must make exactly one refresh per expiry.
// Repeated many times in a row, because the race it guards against (Chromium shows one tab's
// storage writes to another late) only bites now and then.
import { test } from "node:test";
import assert from "node:assert/strict";
import { demoWorld, expiryRounds, login } from "./helpers.mjs";

const ROUNDS = Number(process.env.TAB_ROUNDS || 30);
const world = demoWorld(["--access-ttl", "600", "--latency", "30"]);

test(`two tabs, ${ROUNDS} expiries in a row: one refresh each time, every request succeeds, nobody logged out`, async () => {
  const { server, browser } = world;
  const context = await browser.newContext();
  const tabs = [await context.newPage(), await context.newPage()];
  await expiryRounds(server, tabs, "?ahead=0", ROUNDS);
  for (const t of tabs) assert.doesNotMatch(t.url(), /login/);
  console.log(`${ROUNDS} rounds, ${(await server.log()).refreshes} refreshes, 0 reuse`);
  await context.close();
});

test("a logout in one tab is seen by the other", async () => {
  const { server, browser } = world;
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

// A consumer app bundled by Vite (tests/consumer) imports the built package and hands api.fetch to
// ky, ofetch, openapi-fetch and axios's fetch adapter; each call meets an expired token. And a
// refresh function that sends its request with ky.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { resolve } from "node:path";
import { launch, pageResults, startServer } from "./helpers.mjs";

const root = resolve(import.meta.dirname, "../..");
let server, browser;

before(async () => {
  execFileSync(process.execPath, [resolve(root, "node_modules/vite/bin/vite.js"), "build", "--config", resolve(root, "tests/consumer/vite.config.js")], { cwd: root, stdio: "inherit" });
  server = await startServer(["--access-ttl", "600", "--latency", "20", "--serve", "/consumer/=" + resolve(root, "target/consumer")]);
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

test("api.fetch serves ky, ofetch, openapi-fetch and axios (fetch adapter), refreshing in the middle; the control header passes through each", async () => {
  const results = await pageResults(browser, server.url + "consumer/");
  for (const name of ["ky", "ofetch", "openapi-fetch", "axios fetch adapter"]) {
    // noToken 401 with a valid token: the token was left out. noRefresh 401 with no refresh: the
    // expired answer came back as it was.
    assert.deepEqual(results[name], { user: "demo", refreshes: 1, noToken: 401, noRefresh: 401, refreshedByNoRefresh: 0 }, name);
  }
});

test("a refresh function sends its request with ky through the fetch it is given: once, through the transport, without waiting behind itself", async () => {
  const results = await pageResults(browser, server.url + "consumer/");
  assert.deepEqual(results["ky in the refresh function"], { user: "demo", refreshes: 1, throughTransport: 1, within: true });
});

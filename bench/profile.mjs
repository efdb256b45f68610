// Where one request's time goes: runs the in-memory happy path (the benchmark's row 1a) for
// seamless-fetch and for raw fetch under Chromium's CPU profiler, and prints self time per request
// by function, grouped (wasm, the package's JS glue, the browser's own functions, the fake server,
// garbage collection). Run after ./scripts/build.sh: node bench/profile.mjs [requests, default 20000]
import { launch } from "../tests/e2e/helpers.mjs";
import { benchServer, bundlePeers } from "./serve.mjs";

const N = Number(process.argv[2] || 20000);
await bundlePeers(["raw", "seamless"]);
const server = await benchServer();
const browser = await launch();

/** Self time (µs per request) by function for `peer`, and the wall time per request. */
async function profile(peer) {
  const page = await browser.newPage();
  await page.goto(server.url + "bench/");
  await page.waitForFunction(() => window.benchReady);
  await page.evaluate((peer) => window.bench.happyMemory(peer, 2000), peer); // warm up
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Profiler.enable");
  await cdp.send("Profiler.setSamplingInterval", { interval: 25 });
  await cdp.send("Profiler.start");
  const us = await page.evaluate(([peer, n]) => window.bench.happyMemory(peer, n), [peer, N]);
  const { profile } = await cdp.send("Profiler.stop");
  await page.close();
  // Self time of each node: its samples times the interval between them.
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i + 1] ?? 0;
    const node = byId.get(profile.samples[i]);
    const f = node.callFrame;
    const where = f.url.endsWith(".wasm") || f.url.includes("wasm://") ? "wasm" : f.url.includes("/peers/") ? "glue/peer" : f.url.includes("bench.js") ? "fake server/page" : f.url ? "other JS" : "browser";
    const key = where + "  " + (f.functionName || "(anonymous)");
    self.set(key, (self.get(key) || 0) + dt);
  }
  const perRequest = (t) => t / (N + 200); // µs per request (the warm-up loop of 200 is profiled too)
  const rows = [...self].map(([k, t]) => [k, perRequest(t)]).filter(([k]) => !k.endsWith("(idle)")).sort((a, b) => b[1] - a[1]);
  const groups = {};
  for (const [k, t] of rows) { const g = k.split("  ")[0]; groups[g] = (groups[g] || 0) + t; }
  return { us, rows, groups };
}

try {
  for (const peer of ["raw", "seamless"]) {
    const { us, rows, groups } = await profile(peer);
    console.log(`\n${peer}: ${us.toFixed(1)} µs per request (wall), self time per request by group:`);
    for (const [g, t] of Object.entries(groups).sort((a, b) => b[1] - a[1])) console.log(`  ${t.toFixed(2).padStart(7)} µs  ${g}`);
    console.log("  top functions:");
    for (const [k, t] of rows.slice(0, Number(process.env.TOP || 22))) console.log(`  ${t.toFixed(2).padStart(7)} µs  ${k}`);
  }
} finally {
  await browser.close();
  await server.stop();
}

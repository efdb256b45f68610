// How much JS heap a storm allocates (row 2: 1,000 requests that all find the token expired, a
// refresh that takes 50 ms), and in which functions, for this library and the two yardsticks of
// bench/storm.mjs: V8's sampling heap profiler from the end of the warm-up to the last answer,
// counting the objects garbage-collected meanwhile too. What a request in flight holds is copied
// again by every garbage collection while it waits. Run after ./scripts/build.sh:
//   node bench/alloc.mjs [fresh pages per peer, default 3]
import { launch } from "../tests/e2e/helpers.mjs";
import { benchServer, bundlePeers } from "./serve.mjs";

const R = Number(process.argv[2] || 3);
const PEERS = ["seamless", "minimal", "minimal-locked"];
await bundlePeers(PEERS, { minify: false }); // names kept, for the breakdown
const server = await benchServer();
const browser = await launch();
const totals = Object.fromEntries(PEERS.map((p) => [p, { bytes: 0, by: {} }]));
try {
  for (let r = 0; r < R; r++) {
    for (const peer of PEERS) {
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(server.url + "bench/");
      await page.waitForFunction(() => window.benchReady);
      const cdp = await context.newCDPSession(page);
      await cdp.send("HeapProfiler.enable");
      const storm = page.evaluate((p) => window.bench.storm(p, 1000, 50, true), peer);
      await page.waitForFunction(() => window.benchGo);
      await cdp.send("HeapProfiler.startSampling", { samplingInterval: 64, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
      await page.evaluate(() => window.benchGo());
      const result = await storm;
      const { profile } = await cdp.send("HeapProfiler.stopSampling");
      if (result.refreshCalls !== 1 || result.lost !== 0) throw new Error(`${peer}: ${result.refreshCalls} refreshes, ${result.lost} lost`);
      const t = totals[peer];
      const walk = (node) => {
        const f = node.callFrame;
        const where = f.url.includes("/peers/") ? "" : f.url ? " (page)" : " (browser)";
        const key = (f.functionName || "(anonymous)") + where;
        t.by[key] = (t.by[key] || 0) + node.selfSize;
        t.bytes += node.selfSize;
        node.children.forEach(walk);
      };
      walk(profile.head);
      await context.close();
    }
  }
} finally {
  await browser.close();
  await server.stop();
}
const kb = (b) => (b / R / 1024).toFixed(0).padStart(6) + " KB";
console.log(`JS heap allocated per storm, from the end of the warm-up to the last answer (means of ${R} fresh pages each):`);
for (const peer of PEERS) {
  const t = totals[peer];
  console.log(`${peer.padEnd(16)}${kb(t.bytes)}`);
  for (const [fn, b] of Object.entries(t.by).sort((a, b) => b[1] - a[1]).slice(0, 8)) console.log(`  ${kb(b)}  ${fn}`);
}

// Where start-up (row 5: import → ready) spends the page's main thread, beyond the phases the
// benchmark marks: a Chromium trace of each fresh start, summed by what V8 did. Run after
// ./scripts/build.sh:   node bench/startup.mjs [fresh pages per peer, default 9]
//
// It answers "what would shrink the construction?": V8 compiles a wasm function, and a JS function,
// on its first call, so the first construction pays for compiling everything it runs; and
// "what is the wasm's compile phase?": the streaming compile's main-thread share and instantiation.
import { launch } from "../tests/e2e/helpers.mjs";
import { benchServer, bundlePeers, freshStart, median } from "./serve.mjs";

const R = Number(process.argv[2] || 9);
const PEERS = ["seamless", "axios"];
await bundlePeers(PEERS);
const server = await benchServer();
const browser = await launch();

/** What is counted, by trace event name; each is a span on the page's main thread. */
const KINDS = {
  "wasm.CompileLazy": "wasm functions compiled on their first call",
  "V8.CompileCode": "JS functions compiled on their first call",
  "v8.wasm.compileConsume": "wasm streaming compile, main-thread share",
  "wasm.SyncInstantiate": "wasm instantiation",
  "v8.evaluateModule": "JS module evaluation",
};

/** One traced fresh start of `peer`: `{ phase: { kind: [ms, count] } }` plus the phase lengths. */
async function traced(peer) {
  const { extra: events } = await freshStart(browser, server, peer, async (context, page) => {
    const cdp = await context.newCDPSession(page);
    const events = [];
    cdp.on("Tracing.dataCollected", (e) => events.push(...e.value));
    const complete = new Promise((done) => cdp.once("Tracing.tracingComplete", done));
    await cdp.send("Tracing.start", { traceConfig: { includedCategories: ["disabled-by-default-v8.compile", "v8", "v8.wasm", "blink.user_timing", "devtools.timeline", "disabled-by-default-devtools.timeline"] }, transferMode: "ReportEvents" });
    return async () => {
      await cdp.send("Tracing.end");
      await complete;
      return events;
    };
  });
  const main = new Set(events.filter((e) => e.name === "thread_name" && e.args.name === "CrRendererMain").map((e) => e.pid + ":" + e.tid));
  const mark = (name) => events.find((e) => e.name === name && e.cat.includes("blink.user_timing") && main.has(e.pid + ":" + e.tid))?.ts;
  const [t0, imported, ready] = ["import-start", "imported", "ready"].map(mark);
  const phases = { import: [t0, imported], construct: [imported, ready] };
  const out = { length: {} };
  for (const [phase, [from, to]] of Object.entries(phases)) {
    out.length[phase] = (to - from) / 1000;
    out[phase] = {};
    for (const e of events) {
      if (e.ph !== "X" || !(e.name in KINDS) || !main.has(e.pid + ":" + e.tid) || e.ts < from || e.ts >= to) continue;
      const got = (out[phase][e.name] ??= [0, 0]);
      got[0] += (e.dur || 0) / 1000;
      got[1] += 1;
    }
  }
  return out;
}

const runs = Object.fromEntries(PEERS.map((p) => [p, []]));
try {
  for (let r = 0; r < R; r++) for (const p of PEERS) runs[p].push(await traced(p));
} finally {
  await browser.close();
  await server.stop();
}

console.log(`medians of ${R} traced fresh starts each (tracing slows a start down; compare the parts, not the totals with row 5)`);
for (const p of PEERS) {
  console.log(`${p}:`);
  for (const phase of ["import", "construct"]) {
    console.log(`  ${phase} ${median(runs[p].map((x) => x.length[phase])).toFixed(1)} ms, of which:`);
    for (const [name, what] of Object.entries(KINDS)) {
      const ms = runs[p].map((x) => x[phase][name]?.[0] ?? 0);
      const n = runs[p].map((x) => x[phase][name]?.[1] ?? 0);
      if (median(n) > 0) console.log(`    ${what.padEnd(44)} ${median(ms).toFixed(1).padStart(5)} ms  (${median(n)} spans)`);
    }
  }
}

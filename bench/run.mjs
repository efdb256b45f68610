// The benchmark: seamless-fetch against raw fetch, axios + axios-auth-refresh and ky with a
// hand-written refresh hook, in one headless Chromium, on the same work. Prints a table, writes
// bench/results/results.json and chart.svg, and refreshes the table in docs/performance.md.
// Run it with ./scripts/bench.sh (which builds the release package first).
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { gzipSync, brotliCompressSync, constants } from "node:zlib";
import { resolve } from "node:path";
import { launch } from "../tests/e2e/helpers.mjs";
import { benchServer, bundlePeers, dist, freshStart, inFreshPage, median } from "./serve.mjs";

const here = import.meta.dirname;
const root = resolve(here, "..");
const results = resolve(here, "results");
const N = Number(process.env.BENCH_N || 10000);
const TIMED = ["raw", "seamless", "axios", "ky"];
const SIZED = ["seamless", "axios", "ky", "classic"];
const NAMES = { raw: "raw fetch", seamless: "seamless-fetch", axios: "axios + axios-auth-refresh", ky: "ky + refresh hook", classic: "classic axios interceptor" };

const log = (...a) => console.error("[bench]", ...a);

await bundlePeers([...new Set([...TIMED, ...SIZED])]);
mkdirSync(results, { recursive: true });

const sizeOf = (files) => {
  const bufs = files.map((f) => readFileSync(f));
  return {
    min: bufs.reduce((n, b) => n + b.length, 0),
    gzip: bufs.reduce((n, b) => n + gzipSync(b, { level: 9 }).length, 0),
    brotli: bufs.reduce((n, b) => n + brotliCompressSync(b, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length, 0),
  };
};
// The package's wasm is inside its bundle; its own size (as the .wasm file) is reported beside it.
const measuredSizes = Object.fromEntries(SIZED.map((p) => [p, sizeOf([resolve(dist, "peers", p + ".js")])]));
measuredSizes.seamlessWasm = sizeOf([resolve(root, "pkg/seamless_fetch_bg.wasm")]);

// ---- run (or, with --report-only, re-render the report from the last results.json) ----------------
const reportOnly = process.argv.includes("--report-only");
const out = reportOnly ? JSON.parse(readFileSync(resolve(results, "results.json"), "utf8")) : await measure();

async function measure() {
const server = await benchServer();
const browser = await launch({ extraArgs: ["--js-flags=--expose-gc", "--enable-precise-memory-info"] });
const browserVersion = browser.version();
const out = { date: new Date().toISOString().slice(0, 10), browser: "Chromium " + browserVersion, n: N, sizes: measuredSizes, happyMemory: {}, happyLoopback: {}, storm: {}, memory: {}, init: {} };

const inPage = (fn, ...args) => inFreshPage(browser, server, fn, ...args);

try {
  for (const [row, runs, args] of [["happyMemory", 5, [N]], ["happyLoopback", 3, [N]]]) {
    const samples = Object.fromEntries(TIMED.map((p) => [p, []]));
    for (let r = 0; r < runs; r++) for (const p of TIMED) {
      samples[p].push(await inPage(row, p, ...args));
      log(row, p, "run", r + 1, samples[p].at(-1).toFixed(1), "µs");
    }
    for (const p of TIMED) out[row][p] = { us: median(samples[p]), samples: samples[p] };
  }
  // The storm's budget is 50 ms + 2 × the plain batch: both are measured in the same rounds, the
  // plain batch first, then every peer's storm, each in a fresh page, so that a slow spell of the
  // machine falls on the budget and on the storms alike.
  const plain = [];
  const storms = Object.fromEntries(TIMED.map((p) => [p, []]));
  for (let r = 0; r < 9; r++) {
    plain.push(await inPage("plainConcurrent", 1000));
    for (const p of TIMED) storms[p].push(await inPage("storm", p, 1000, 50));
    log("storm round", r + 1, "plain", plain.at(-1).toFixed(1), TIMED.map((p) => p + " " + storms[p].at(-1).ms.toFixed(0)).join(" "));
  }
  out.plain1000Ms = median(plain);
  for (const p of TIMED) {
    const runs = storms[p];
    out.storm[p] = { refreshCalls: Math.max(...runs.map((x) => x.refreshCalls)), lost: Math.max(...runs.map((x) => x.lost)), ms: median(runs.map((x) => x.ms)), samples: runs.map((x) => Math.round(x.ms)) };
    log("storm", p, JSON.stringify(out.storm[p]));
  }
  out.plainSamples = plain.map((x) => Math.round(x * 10) / 10);
  for (const p of ["seamless", "axios", "ky"]) {
    out.memory[p] = await inPage("memoryCycles", p, N);
    log("memory", p, JSON.stringify(out.memory[p]));
  }
  // Start-up is noisy: 11 fresh pages per peer, interleaved so that a slow spell of the machine
  // falls on every peer alike; medians of the total and of each part.
  const samples = Object.fromEntries(TIMED.map((p) => [p, []]));
  for (let r = 0; r < 11; r++) {
    for (const p of TIMED) samples[p].push((await freshStart(browser, server, p)).report);
  }
  out.initParts = {};
  for (const p of TIMED) {
    out.init[p] = median(samples[p].map((x) => x.ms));
    out.initParts[p] = Object.fromEntries(Object.keys(samples[p][0].parts).map((k) => [k, samples[p][0].parts[k] === null ? null : median(samples[p].map((x) => x.parts[k]))]));
  }
} finally {
  await browser.close();
  await server.stop();
}
return out;
}

// ---- report ---------------------------------------------------------------------------------------
const { sizes } = out;
const kb = (b) => (b / 1024).toFixed(1) + " KB";
const ratio = (row, p) => (out[row][p].us / out[row].raw.us).toFixed(2) + "×";
const mem = (m) => `${(m.at100.heap / 1e6).toFixed(1)} → ${(m.atN.heap / 1e6).toFixed(1)} MB` + (m.at100.wasm ? `; wasm ${m.at100.wasm / 1024} → ${m.atN.wasm / 1024} KB` : "");
const n = out.n;
const rows = TIMED.map((p) => [
  NAMES[p],
  `${out.happyMemory[p].us.toFixed(1)} µs (${ratio("happyMemory", p)})`,
  `${out.happyLoopback[p].us.toFixed(0)} µs (${ratio("happyLoopback", p)})`,
  p === "raw" ? `no refresh: ${out.storm.raw.lost} answered 401` : `${out.storm[p].refreshCalls} refresh, ${out.storm[p].lost} lost, last at ${out.storm[p].ms.toFixed(0)} ms`,
  out.memory[p] ? mem(out.memory[p]) : "n/a",
  p === "raw" ? "0" : `${kb(sizes[p].gzip)} (br ${kb(sizes[p].brotli)})`,
  `${out.init[p].toFixed(1)} ms`,
]);
rows.push([NAMES.classic, "", "", "", "", `${kb(sizes.classic.gzip)} (br ${kb(sizes.classic.brotli)})`, ""]);
const header = ["", `1a. happy path, in-memory (${n} sequential)`, `1b. happy path, loopback HTTP (${n} sequential)`, "2. storm: 1,000 expired at once, refresh takes 50 ms", `3. JS heap after 100 → ${n} refresh cycles`, "4. size, minified + gzip", "5. import → ready"];
const md = [header, header.map(() => "---"), ...rows].map((r) => "| " + r.join(" | ") + " |").join("\n");

const s = out.storm.seamless, budget = 50 + 2 * out.plain1000Ms;
const memFlat = out.memory.seamless.atN.wasm === out.memory.seamless.at100.wasm;
const targets = [
  [`1a: below axios + axios-auth-refresh`, out.happyMemory.seamless.us < out.happyMemory.axios.us],
  [`1a: at most 1.10× raw fetch (${ratio("happyMemory", "seamless")})`, out.happyMemory.seamless.us <= 1.1 * out.happyMemory.raw.us],
  [`1b: at most 1.05× raw fetch (${ratio("happyLoopback", "seamless")})`, out.happyLoopback.seamless.us <= 1.05 * out.happyLoopback.raw.us],
  // Issue 29 replaced issue 12's budget (50 ms + 2 × the plain batch) with "within 5 % of
  // bench/peers/minimal-locked.js in the same pages", which bench/storm.mjs measures; this row
  // checks the count and prints the old budget for reference only.
  [`2: exactly 1 refresh, 0 lost (last at ${s.ms.toFixed(0)} ms; issue 12's old budget, 50 ms + 2 × ${out.plain1000Ms.toFixed(1)} ms = ${budget.toFixed(0)} ms, for reference; the time target is \`bench/storm.mjs\`'s)`, s.refreshCalls === 1 && s.lost === 0],
  [`3: wasm memory flat after ${n} refresh cycles`, memFlat],
  [`4: ${kb(sizes.seamless.gzip)} gzipped, at most 20 KB and below axios + axios-auth-refresh (${kb(sizes.axios.gzip)})`, sizes.seamless.gzip <= 20 * 1024 && sizes.seamless.gzip < sizes.axios.gzip],
  [`4, stretch: at most 16 KB`, sizes.seamless.gzip <= 16 * 1024],
  [`5: import → ready no slower than axios + axios-auth-refresh (${out.init.seamless.toFixed(1)} against ${out.init.axios.toFixed(1)} ms)`, out.init.seamless <= out.init.axios],
  [`5, stretch: within 1.5× of ky (${(out.init.seamless / out.init.ky).toFixed(2)}×)`, out.init.seamless <= 1.5 * out.init.ky],
];
const part = (v) => (v === null ? "–" : v.toFixed(1) + " ms");
const partsText = TIMED.map((p) => {
  const x = out.initParts[p];
  return `- ${NAMES[p]}: fetch JS ${part(x.fetchJs)}, evaluate JS ${part(x.evaluateJs)}, fetch wasm ${part(x.fetchWasm)}, compile + instantiate wasm ${part(x.compileWasm)}, construct ${part(x.construct)} (each a median of its own)`;
}).join("\n");
out.targets = targets.map(([what, met]) => ({ what, met }));
const targetText = targets.map(([what, met]) => `- ${met ? "met" : "**not met**"}: ${what}`).join("\n");

writeFileSync(resolve(results, "results.json"), JSON.stringify(out, null, 2) + "\n");
writeFileSync(resolve(results, "chart.svg"), chart(out));
const section = `<!-- bench:start -->\nMeasured ${out.date} in headless ${out.browser} on a 2-core machine of the kind CI runs on, medians; ratios are to raw fetch in the same run.\n\n${md}\n\nWhere start-up goes (medians of 11 fresh pages each, interleaved; \`performance.mark\` and Resource Timing):\n${partsText}\n\nTargets:\n${targetText}\n\n![benchmark chart](../bench/results/chart.svg)\n<!-- bench:end -->`;
const page = resolve(root, "docs/performance.md");
const doc = readFileSync(page, "utf8");
if (!doc.includes("<!-- bench:start -->")) throw new Error("docs/performance.md has no bench:start/bench:end markers to write the table between");
writeFileSync(page, doc.replace(/<!-- bench:start -->[\s\S]*<!-- bench:end -->/, section));
console.log(md + "\n\n" + partsText + "\n\n" + targetText);
console.log(`\nwrote bench/results/results.json, bench/results/chart.svg and the table in docs/performance.md (${out.browser}, ${out.date})`);

/** Four small bar charts side by side, one per comparable figure. */
function chart(o) {
  const panels = [
    ["in-memory, µs / request", TIMED.map((p) => [NAMES[p], o.happyMemory[p].us])],
    ["loopback HTTP, µs / request", TIMED.map((p) => [NAMES[p], o.happyLoopback[p].us])],
    ["size, KB min + gzip", SIZED.map((p) => [NAMES[p], o.sizes[p].gzip / 1024])],
    ["import → ready, ms", TIMED.map((p) => [NAMES[p], o.init[p]])],
  ];
  const W = 350, H = 150, pad = 8, label = 180;
  const colors = { "seamless-fetch": "#4f46e5" };
  const parts = panels.map(([title, bars], i) => {
    const x0 = (i % 2) * (W + 20), y0 = Math.floor(i / 2) * (H + 30);
    const max = Math.max(...bars.map((b) => b[1])) || 1;
    const bh = (H - 30) / bars.length - 6;
    const rects = bars.map(([name, v], j) => {
      const y = y0 + 26 + j * (bh + 6), w = ((W - label - 50) * v) / max;
      return `<text x="${x0 + label - 6}" y="${y + bh / 2 + 4}" text-anchor="end">${name}</text><rect x="${x0 + label}" y="${y}" width="${w.toFixed(1)}" height="${bh.toFixed(1)}" rx="3" fill="${colors[name] || "#94a3b8"}"/><text x="${(x0 + label + w + 4).toFixed(1)}" y="${y + bh / 2 + 4}">${v < 10 ? v.toFixed(1) : v.toFixed(0)}</text>`;
    }).join("");
    return `<text x="${x0 + pad}" y="${y0 + 16}" font-weight="600">${title}</text>${rects}`;
  }).join("");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${2 * W + 20}" height="${2 * (H + 30) + 20}" font-family="system-ui, sans-serif" font-size="11" fill="#1d2233"><rect width="100%" height="100%" fill="#fff"/>${parts}<text x="8" y="${2 * (H + 30) + 12}" fill="#6b7185">${o.browser}, ${o.date}; medians</text></svg>\n`;
}

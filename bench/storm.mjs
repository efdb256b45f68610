// Where a storm's time goes: row 2 of the benchmark (1,000 requests that all find the token
// expired, a refresh that takes 50 ms) in phases, for this library and for two minimal hand-written
// wrappers (bench/peers/minimal.js: one shared refresh promise, one replay, no lock; and
// bench/peers/minimal-locked.js: the same with the refresh under a cross-tab Web Lock, the least
// any wrapper that takes the lock can take), in fresh pages, interleaved, with the plain batch the
// row's budget is made of. Run after ./scripts/build.sh:
//   node bench/storm.mjs [pages per peer, default 9] [--warm N]
// `--warm N`: N sequential requests with a good token before each page's warm-up storm (and
// before the plain batch's warm-up), for every peer alike: the storm with the JIT's work on the
// request path done (row 2 measures it after the 200-request warm-up storm only). `--dpop`: this
// library with `dpop: true` too ("seamless-fetch/dpop", bench/peers/seamless-dpop.js; issue 32).
import { launch } from "../tests/e2e/helpers.mjs";
import { benchServer, bundlePeers, inFreshPage, median } from "./serve.mjs";

const args = process.argv.slice(2);
const dpopAt = args.indexOf("--dpop");
if (dpopAt >= 0) args.splice(dpopAt, 1);
const at = args.indexOf("--warm");
const WARM = at >= 0 ? Number(args.splice(at, 2)[1]) : 0;
const R = Number(args[0] || 9);
if (!Number.isInteger(WARM) || WARM < 0 || !Number.isInteger(R) || R < 1) throw new Error("usage: node bench/storm.mjs [pages per peer] [--warm N]");
const PEERS = ["seamless", "minimal", "minimal-locked", ...(dpopAt >= 0 ? ["seamless-dpop"] : [])];
await bundlePeers(["raw", ...PEERS]);
const server = await benchServer();
const browser = await launch();

const inPage = (fn, ...args) => inFreshPage(browser, server, fn, ...args);

const runs = Object.fromEntries(PEERS.map((p) => [p, []]));
const plain = [];
try {
  for (let r = 0; r < R; r++) {
    plain.push(await inPage("plainConcurrent", 1000, WARM));
    for (const p of PEERS) runs[p].push(await inPage("stormPhases", p, 1000, 50, WARM));
  }
} finally {
  await browser.close();
  await server.stop();
}

const PHASES = [
  ["sent", "every first attempt sent"],
  ["last401", "last first attempt at the server"],
  ["judged", "every first answer judged (next task)"],
  ["lockAsked", "cross-tab lock asked for"],
  ["lockGranted", "lock granted"],
  ["refreshAsked", "refresh sent"],
  ["refreshAnswered", "refresh answered (50 ms later)"],
  ["first200", "first replay answered"],
  ["last200", "last replay sent and answered"],
  ["end", "last answer in the caller's hands"],
];
const plainMs = median(plain);
console.log(`plain batch (1,000 concurrent raw fetches): ${plainMs.toFixed(1)} ms; row 2's budget: 50 + 2 × ${plainMs.toFixed(1)} = ${(50 + 2 * plainMs).toFixed(1)} ms`);
console.log(`medians of ${R} fresh pages each${WARM ? `, ${WARM} requests before the warm-up` : ""}, ms from the start of the storm (the fake server answers a request at once):`);
console.log("  " + "".padEnd(40) + PEERS.map((p) => p.padStart(15)).join(""));
for (const [k, what] of PHASES) {
  const cells = PEERS.map((p) => { const xs = runs[p].map((x) => x.at[k]).filter((x) => x !== undefined); return (xs.length ? median(xs).toFixed(1) : "–").padStart(15); });
  console.log("  " + what.padEnd(40) + cells.join(""));
}
// The row's verdict turns on the plain batch, measured in pages of its own: how often each peer
// met the budget of its own round, where the plain batch ran just before its storm.
const met = PEERS.map((p) => `${runs[p].filter((x, r) => x.at.end <= 50 + 2 * plain[r]).length}/${R}`.padStart(15));
console.log("  " + "within its own round's budget".padEnd(40) + met.join(""));
for (const p of PEERS) {
  const bad = runs[p].filter((x) => x.refreshCalls !== 1 || x.lost !== 0).length;
  if (bad) console.log(`  ${p}: ${bad} of ${R} storms did not end with exactly 1 refresh and 0 lost`);
}

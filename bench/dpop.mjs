// DPoP (RFC 9449, issue 32) beside bearer: this library with `dpop: true` ("seamless-fetch/dpop",
// bench/peers/seamless-dpop.js) and without (bench/peers/seamless.js), on row 1a's and 1b's
// happy path and row 2's storm (bench/run.mjs), in fresh pages, interleaved; then the signing
// itself in a page (WebCrypto's ECDSA P-256 sign and SHA-256 digest, sequential and concurrent,
// and `api.dpopProof`), and whether one request waits on another's signature (n requests at once:
// when they reached the server and were answered, against n proofs made one after the other).
// Figures only, no targets. Run after ./scripts/build.sh (scripts/bench.sh runs it after run.mjs):
//   node bench/dpop.mjs
// BENCH_N: row 1a's requests (default 10000); DPOP_LOOPBACK_N: row 1b's (default 2000: a
// loopback request takes milliseconds here); DPOP_ROUNDS: fresh pages per peer for 1a (1b and
// the storm: the same count, at least 3; default 5).
import { mkdirSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { launch } from "../tests/e2e/helpers.mjs";
import { benchServer, bundlePeers, inFreshPage, median } from "./serve.mjs";

const N = Number(process.env.BENCH_N || 10000);
const LOOP_N = Number(process.env.DPOP_LOOPBACK_N || 2000);
const ROUNDS = Number(process.env.DPOP_ROUNDS || 5);
const SIGN_N = 1000;
const WAIT_N = 100;
const PEERS = ["seamless", "seamless-dpop"];
const NAMES = { seamless: "seamless-fetch, bearer", "seamless-dpop": "seamless-fetch, dpop: true" };
const log = (...a) => console.error("[dpop]", ...a);

await bundlePeers(["raw", ...PEERS]);
const server = await benchServer();
const browser = await launch();
const inPage = (fn, ...args) => inFreshPage(browser, server, fn, ...args);
const out = { date: new Date().toISOString(), browser: "Chromium " + browser.version(), n: N, loopbackN: LOOP_N, rounds: ROUNDS, happyMemory: {}, happyLoopback: {}, storm: {}, checks: [] };
const problems = [];
// Every request with a DPoP header and a jti of its own; where the page decoded them (not the
// loopback server's count), every one an ES256 dpop+jwt with a public P-256 jwk, and `ath` on
// each resource request, none on the refresh call.
const checkProofs = (what, c, expected, ath = expected) => {
  out.checks.push({ what, ...c });
  if (c.withProof !== expected || c.distinctJti !== expected) problems.push(`${what}: ${expected} requests expected, ${c.withProof} with a DPoP header, ${c.distinctJti} distinct jti (${c.requests ?? "?"} seen)`);
  if (c.es256 !== undefined && (c.es256 !== expected || c.withAth !== ath)) problems.push(`${what}: ${c.es256} of ${expected} ES256 dpop+jwt with a public P-256 jwk, ${c.withAth} with ath (${ath} expected)`);
};

try {
  const memory = Object.fromEntries(PEERS.map((p) => [p, []]));
  const loop = Object.fromEntries(PEERS.map((p) => [p, []]));
  const storms = Object.fromEntries(PEERS.map((p) => [p, []]));
  for (let r = 0; r < ROUNDS; r++) {
    for (const p of PEERS) {
      const x = await inPage("dpopHappyMemory", p, N);
      memory[p].push(x.us);
      if (x.proofs) checkProofs(`1a page ${r + 1}`, x.proofs, N + 200);
      log("1a", p, "run", r + 1, x.us.toFixed(1), "µs");
    }
  }
  for (let r = 0; r < Math.max(3, ROUNDS); r++) {
    for (const p of PEERS) {
      server.resetDpop();
      const x = await inPage("dpopHappyLoopback", p, LOOP_N);
      loop[p].push(x.us);
      if (p === "seamless-dpop") checkProofs(`1b page ${r + 1} (server side)`, server.dpop(), LOOP_N + 200);
      log("1b", p, "run", r + 1, x.us.toFixed(0), "µs");
    }
  }
  for (let r = 0; r < Math.max(3, ROUNDS); r++) {
    for (const p of PEERS) {
      const x = await inPage("dpopStorm", p, 1000, 50);
      storms[p].push(x);
      if (x.proofs) {
        // every first attempt (1,000, expired token) and every replay (1,000): a proof each
        checkProofs(`storm page ${r + 1}`, x.proofs, 2000);
        checkProofs(`storm page ${r + 1}, refresh call`, x.refreshProofs, 1, 0);
      }
      if (x.refreshCalls !== 1 || x.lost !== 0) problems.push(`storm page ${r + 1}, ${p}: ${x.refreshCalls} refreshes, ${x.lost} lost`);
      log("storm", p, "run", r + 1, x.ms.toFixed(0), "ms", x.refreshCalls, "refresh", x.lost, "lost");
    }
  }
  const spread = (xs, d = 1) => `${Math.min(...xs).toFixed(d)}–${Math.max(...xs).toFixed(d)}`;
  for (const p of PEERS) {
    out.happyMemory[p] = { us: median(memory[p]), samples: memory[p] };
    out.happyLoopback[p] = { us: median(loop[p]), samples: loop[p] };
    const ms = storms[p].map((x) => x.ms);
    out.storm[p] = { ms: median(ms), samples: ms, refreshCalls: Math.max(...storms[p].map((x) => x.refreshCalls)), lost: Math.max(...storms[p].map((x) => x.lost)) };
  }
  out.signing = [];
  for (let r = 0; r < 3; r++) out.signing.push(await inPage("dpopSigning", SIGN_N));
  out.noWait = [];
  out.noWaitBearer = [];
  out.chains = [];
  for (let r = 0; r < 3; r++) {
    const x = await inPage("dpopNoWait", WAIT_N);
    checkProofs(`${WAIT_N} at once, page ${r + 1}`, x.proofs, WAIT_N);
    out.noWait.push(x);
    out.noWaitBearer.push(await inPage("dpopNoWait", WAIT_N, "seamless"));
    out.chains.push(await inPage("dpopChains", WAIT_N));
  }

  // ---- report ----
  const b = "seamless", d = "seamless-dpop";
  const rows = PEERS.map((p) => [
    NAMES[p],
    `${out.happyMemory[p].us.toFixed(1)} µs (${spread(memory[p])})`,
    `${out.happyLoopback[p].us.toFixed(0)} µs (${spread(loop[p], 0)})`,
    `${out.storm[p].refreshCalls} refresh, ${out.storm[p].lost} lost, last at ${out.storm[p].ms.toFixed(0)} ms (${spread(out.storm[p].samples, 0)})`,
  ]);
  rows.push([
    "DPoP's extra (medians' difference)",
    `+${(out.happyMemory[d].us - out.happyMemory[b].us).toFixed(1)} µs per request`,
    `${out.happyLoopback[d].us - out.happyLoopback[b].us >= 0 ? "+" : ""}${(out.happyLoopback[d].us - out.happyLoopback[b].us).toFixed(0)} µs per request`,
    `+${(out.storm[d].ms - out.storm[b].ms).toFixed(0)} ms (2,000 proofs)`,
  ]);
  const header = ["", `1a. happy path, in-memory (${N} sequential)`, `1b. happy path, loopback HTTP (${LOOP_N} sequential)`, "2. storm: 1,000 expired at once, refresh takes 50 ms"];
  const md = [header, header.map(() => "---"), ...rows].map((r) => "| " + r.join(" | ") + " |").join("\n");
  const med = (k) => median(out.signing.map((x) => x[k]));
  const sp = (k) => spread(out.signing.map((x) => x[k]));
  const signText = [
    `WebCrypto in the page, µs per operation (medians of 3 fresh pages, their spread; ${SIGN_N} each):`,
    `- crypto.subtle.sign, ECDSA P-256: ${med("signSeq").toFixed(1)} sequential (${sp("signSeq")}), ${med("signPar").toFixed(1)} with ${SIGN_N} at once (${sp("signPar")})`,
    `- the call to crypto.subtle.sign itself (until it returns its promise): ${med("signInCall").toFixed(1)} (${sp("signInCall")})`,
    `- crypto.subtle.digest, SHA-256 of a token (ath): ${med("digestSeq").toFixed(1)} sequential (${sp("digestSeq")}), ${med("digestPar").toFixed(1)} at once (${sp("digestPar")}), the call itself ${med("digestInCall").toFixed(1)}`,
    `- api.dpopProof (key, ath, claims, signature): ${med("proofSeq").toFixed(1)} sequential (${sp("proofSeq")}), ${med("proofPar").toFixed(1)} at once (${sp("proofPar")})`,
  ].join("\n");
  const w = (k) => median(out.noWait.map((x) => x[k]));
  const ws = (k) => spread(out.noWait.map((x) => x[k]));
  const waitText = [
    `${WAIT_N} requests at once with dpop: true (after 200 sequential; medians of 3 fresh pages, their spread), ms from the start:`,
    `- the ${WAIT_N} calls to api.fetch returned at ${w("asked").toFixed(1)} (${ws("asked")}); the page's next task ran at ${w("firstTask").toFixed(1)} (${ws("firstTask")})`,
    `- crypto.subtle.sign calls (wrapped): the first began at ${w("firstSignBegan").toFixed(1)}, the last returned at ${w("lastSignReturned").toFixed(1)} (${ws("lastSignReturned")}); ${w("signsBeforeFirstSend")} of ${w("signCalls")} had returned before the first request reached the server; the page's thread spent ${w("inSignCalls").toFixed(1)} ms inside them (${ws("inSignCalls")})`,
    `- first request at the server ${w("firstSent").toFixed(1)} (${ws("firstSent")}), last ${w("lastSent").toFixed(1)} (${ws("lastSent")})`,
    `- first answer in the caller's hands ${w("firstAnswer").toFixed(1)} (${ws("firstAnswer")}), last ${w("lastAnswer").toFixed(1)} (${ws("lastAnswer")})`,
    `- ${WAIT_N} proofs one after the other (api.dpopProof, same page): ${w("sequentialProofs").toFixed(1)} (${ws("sequentialProofs")})`,
    `- the 1st, 10th, 50th, ${WAIT_N}th arrival at the server: ${[0, 1, 2, 3].map((i) => median(out.noWait.map((x) => x.arrivalAt[i])).toFixed(1)).join(", ")}`,
    `- bearer, the same ${WAIT_N} at once: first at the server ${median(out.noWaitBearer.map((x) => x.firstSent)).toFixed(1)}, last ${median(out.noWaitBearer.map((x) => x.lastSent)).toFixed(1)}; first answer ${median(out.noWaitBearer.map((x) => x.firstAnswer)).toFixed(1)}, last ${median(out.noWaitBearer.map((x) => x.lastAnswer)).toFixed(1)}`,
    `- not the library, ${WAIT_N} chains of a bare crypto.subtle.sign then a send: started together, first send ${median(out.chains.map((x) => x.together.first)).toFixed(1)}, last ${median(out.chains.map((x) => x.together.last)).toFixed(1)}; each chain in a task of its own, first ${median(out.chains.map((x) => x.tasks.first)).toFixed(1)}, last ${median(out.chains.map((x) => x.tasks.last)).toFixed(1)}`,
  ].join("\n");
  const checkText = problems.length ? "Proof checks FAILED:\n" + problems.map((x) => "- " + x).join("\n")
    : `Proof checks: every request of every DPoP page carried a DPoP header (in the pages: an ES256 dpop+jwt with a public P-256 jwk, ath on every resource request, none on the refresh call), all jti distinct (${out.checks.reduce((n, c) => n + c.withProof, 0)} proofs in ${out.checks.length} counts).`;
  out.problems = problems;
  mkdirSync(resolve(import.meta.dirname, "results"), { recursive: true });
  writeFileSync(resolve(import.meta.dirname, "results", "dpop.json"), JSON.stringify(out, null, 2) + "\n");
  console.log(`DPoP beside bearer, ${out.browser}, ${out.date}; medians of fresh pages, interleaved, (min–max):\n\n${md}\n\n${signText}\n\n${waitText}\n\n${checkText}\n\nwrote bench/results/dpop.json`);
} finally {
  await browser.close();
  await server.stop();
}

// The in-browser half of the benchmark: every peer does the same work on the same transports, in
// one page of one Chromium. bench/run.mjs calls these functions and aggregates medians.

const JSON_HEADERS = { "content-type": "application/json" };
const OK_BODY = '{"ok":true}';

/**
 * An auth server that lives in memory and answers at once (or after `refreshDelay` ms for the
 * refresh): the wrappers' own cost, with no network in the way. It rotates tokens like a real one.
 * With `timeline`, `s.at` records when (performance.now()) it answered the first and last "expired"
 * and good answers and when the refresh came and went (bench/storm.mjs). With `dpop`, it wants
 * `Authorization: DPoP <token>`, answers the refresh with `token_type: "DPoP"` and keeps every
 * `DPoP` header it got (`s.proofs`, `s.refreshProofs`; checked after the timing, bench/dpop.mjs),
 * with its arrival time (`s.arrivals`, performance.now()).
 */
function memoryServer({ refreshDelay = 0, timeline = false, dpop = false, arrivals = false } = {}) {
  const s = { access: "a1", refresh: "r1", gen: 1, refreshCalls: 0, at: {}, proofs: [], refreshProofs: [], arrivals: [] };
  const scheme = dpop ? "DPoP " : "Bearer ";
  const mark = timeline ? (first, last) => { const t = performance.now(); if (first) s.at[first] ??= t; if (last) s.at[last] = t; } : () => {};
  s.expire = () => { s.gen++; s.access = "a" + s.gen + "x"; }; // the stored token no longer matches
  s.fetch = async (input, init) => {
    const url = typeof input === "string" ? input : input.url;
    if (url.endsWith("/auth/refresh")) {
      s.refreshCalls++;
      mark("refreshAsked");
      if (dpop) s.refreshProofs.push(input.headers ? input.headers.get("dpop") : init.headers.DPoP);
      const body = JSON.parse(init && init.body !== undefined ? init.body : await input.text());
      if (refreshDelay) await new Promise((r) => setTimeout(r, refreshDelay));
      mark("refreshAnswered");
      if (body.refreshToken !== s.refresh) return new Response('{"error":"invalid_grant"}', { status: 401, headers: JSON_HEADERS });
      s.gen++;
      s.access = "a" + s.gen;
      s.refresh = "r" + s.gen;
      return new Response(JSON.stringify(dpop ? { token: s.access, refreshToken: s.refresh, token_type: "DPoP" } : { token: s.access, refreshToken: s.refresh }), { status: 200, headers: JSON_HEADERS });
    }
    const headers = init && init.headers !== undefined ? init.headers : input.headers;
    const auth = headers instanceof Headers ? headers.get("authorization") : headers.Authorization || headers.authorization;
    if (dpop) s.proofs.push(headers instanceof Headers ? headers.get("dpop") : headers.DPoP);
    if (dpop || arrivals) s.arrivals.push(performance.now());
    if (auth !== scheme + s.access) {
      mark("first401", "last401");
      return new Response('{"error":"expired"}', { status: 401, headers: JSON_HEADERS });
    }
    mark("first200", "last200");
    return new Response(OK_BODY, { status: 200, headers: JSON_HEADERS });
  };
  localStorage.clear();
  localStorage.setItem("token", s.access);
  localStorage.setItem("refreshToken", s.refresh);
  return s;
}

const load = (peer) => import(`./peers/${peer}.js`);
const gc = () => { if (globalThis.gc) globalThis.gc(); };
const heap = () => (performance.memory ? performance.memory.usedJSHeapSize : 0);

async function timeSequential(client, url, n) {
  for (let i = 0; i < 200; i++) await client.get(url); // warm up JITs and caches
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await client.get(url);
  return ((performance.now() - t0) * 1000) / n; // µs per request
}

async function loginForReal() {
  const res = await fetch("/auth/login", { method: "POST", headers: JSON_HEADERS, body: JSON.stringify({ username: "demo", password: "demo" }) });
  const { token, refreshToken } = await res.json();
  localStorage.clear();
  localStorage.setItem("token", token);
  localStorage.setItem("refreshToken", refreshToken);
}

/**
 * What the `DPoP` headers a server got say: how many requests had one, how many distinct `jti`s,
 * how many carried `ath` (the token's hash), the methods and URLs they were for. Run after the
 * timing, so that decoding them is not timed.
 */
function checkProofs(proofs) {
  const jtis = new Set();
  let withProof = 0, withAth = 0, es256 = 0;
  const htm = new Set(), htu = new Set();
  const decode = (part) => JSON.parse(atob(part.replace(/-/g, "+").replace(/_/g, "/")));
  for (const p of proofs) {
    if (typeof p !== "string" || p.split(".").length !== 3) continue;
    withProof++;
    const [h, c] = p.split(".");
    const header = decode(h), claims = decode(c);
    if (header.typ === "dpop+jwt" && header.alg === "ES256" && header.jwk && header.jwk.crv === "P-256" && !("d" in header.jwk)) es256++;
    jtis.add(claims.jti);
    if (claims.ath) withAth++;
    htm.add(claims.htm);
    htu.add(claims.htu);
  }
  return { requests: proofs.length, withProof, distinctJti: jtis.size, withAth, es256, htm: [...htm], htu: [...htu] };
}

window.bench = {
  /**
   * DPoP beside bearer (bench/dpop.mjs): row 1a for `peer` ("seamless" or "seamless-dpop"), with
   * the proofs the server got checked after the timing (warm-up included).
   */
  async dpopHappyMemory(peer, n) {
    const dpop = peer === "seamless-dpop";
    const server = memoryServer({ dpop });
    const client = await (await load(peer)).create({ fetch: server.fetch });
    const us = await timeSequential(client, location.origin + "/api/me", n);
    return { us, proofs: dpop ? checkProofs(server.proofs) : null };
  },

  /** Row 1b for `peer`, against the loopback server (which checks the proofs: bench/serve.mjs). */
  async dpopHappyLoopback(peer, n) {
    await loginForReal();
    const client = await (await load(peer)).create({ fetch: (i, o) => fetch(i, o) });
    return { us: await timeSequential(client, "/api/me", n) };
  },

  /**
   * Row 2 for `peer`: n concurrent requests that find the token expired, one refresh answering
   * after `delay` ms, after a warm-up storm of 200; the measured storm's proofs checked after it.
   */
  async dpopStorm(peer, n, delay) {
    const dpop = peer === "seamless-dpop";
    const server = memoryServer({ refreshDelay: delay, dpop });
    const client = await (await load(peer)).create({ fetch: server.fetch });
    const storm = (k) => Promise.allSettled(Array.from({ length: k }, () => client.get(location.origin + "/api/me")));
    server.expire();
    await storm(200);
    server.refreshCalls = 0;
    server.proofs = [];
    server.refreshProofs = [];
    server.expire();
    const t0 = performance.now();
    const results = await storm(n);
    const ms = performance.now() - t0;
    const ok = results.filter((r) => r.status === "fulfilled" && r.value && r.value.ok).length;
    return { refreshCalls: server.refreshCalls, lost: n - ok, ms, proofs: dpop ? checkProofs(server.proofs) : null, refreshProofs: dpop ? checkProofs(server.refreshProofs) : null };
  },

  /**
   * Not the library: n chains of "sign, then send" (a bare `crypto.subtle.sign` and a send that
   * only notes the time) started at once, two ways: all in one go (`Promise.all` of async
   * functions, as n `api.fetch` calls run) and each chain in a task of its own (a MessageChannel
   * message per chain). ms from the start until the first and the last send.
   */
  async dpopChains(n) {
    const { privateKey } = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]);
    const input = new TextEncoder().encode("e".repeat(440));
    const chain = async (sent) => { await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, privateKey, input); sent.push(performance.now()); };
    const run = async (each) => {
      const sent = [];
      const t0 = performance.now();
      await each(() => chain(sent));
      return { first: Math.min(...sent) - t0, last: Math.max(...sent) - t0 };
    };
    await run((c) => Promise.all(Array.from({ length: 50 }, c))); // warm-up
    const together = await run((c) => Promise.all(Array.from({ length: n }, c)));
    const tasks = await run((c) => Promise.all(Array.from({ length: n }, () => new Promise((done) => {
      const ch = new MessageChannel();
      ch.port1.onmessage = () => { ch.port1.close(); c().then(done); };
      ch.port2.postMessage(0);
    }))));
    return { together, tasks };
  },

  /**
   * The signing itself, µs per operation: n sequential and n concurrent `crypto.subtle.sign`
   * (ECDSA P-256, SHA-256, a non-extractable key, a proof-sized input), the same for
   * `crypto.subtle.digest` (SHA-256 of a token: the proof's `ath`), and n sequential and n
   * concurrent `api.dpopProof` (the library's whole proof: key, `ath`, claims, signature). 50 of
   * each first, untimed.
   */
  async dpopSigning(n) {
    const enc = new TextEncoder();
    const { privateKey } = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]);
    const input = enc.encode("e".repeat(180) + "." + "c".repeat(260)); // a proof's signing input is about this long
    const token = enc.encode("a".repeat(40));
    const alg = { name: "ECDSA", hash: "SHA-256" };
    const seq = async (op, k) => { const t0 = performance.now(); for (let i = 0; i < k; i++) await op(); return ((performance.now() - t0) * 1000) / k; };
    const par = async (op, k) => { const t0 = performance.now(); await Promise.all(Array.from({ length: k }, op)); return ((performance.now() - t0) * 1000) / k; };
    const sign = () => crypto.subtle.sign(alg, privateKey, input);
    const digest = () => crypto.subtle.digest("SHA-256", token);
    await seq(sign, 50);
    await seq(digest, 50);
    // The call itself, before its promise is awaited: whether the work is done on the page's
    // thread (the call takes as long as the operation) or handed to another one.
    const inCall = (op, k) => { let t = 0; for (let i = 0; i < k; i++) { const t0 = performance.now(); op(); t += performance.now() - t0; } return (t * 1000) / k; };
    const out = { signSeq: await seq(sign, n), signPar: await par(sign, n), signInCall: inCall(sign, n), digestSeq: await seq(digest, n), digestPar: await par(digest, n), digestInCall: inCall(digest, n) };
    await new Promise((r) => setTimeout(r, 0));
    const server = memoryServer({ dpop: true });
    const client = await (await load("seamless-dpop")).create({ fetch: server.fetch });
    const proof = () => client.api.dpopProof({ method: "GET", url: location.origin + "/api/me" });
    await seq(proof, 50);
    out.proofSeq = await seq(proof, n);
    out.proofPar = await par(proof, n);
    const one = await proof();
    out.proofAth = checkProofs([one]).withAth === 1;
    return out;
  },

  /**
   * Whether one request waits on another's signature: after 200 sequential requests (warm-up), n
   * requests at once with a valid token. ms from the start: when the server got the first and
   * the last of them, and when the first and the last answer were in the caller's hands; beside
   * them, n sequential proofs (`api.dpopProof`) timed in the same page right after, which is what
   * the first request would wait if proofs were made one after the other before any went out.
   * `sent` is each request's arrival at the server, in the order they were asked for.
   */
  async dpopNoWait(n, peer = "seamless-dpop") {
    const dpop = peer === "seamless-dpop";
    const server = memoryServer({ dpop, arrivals: true });
    const client = await (await load(peer)).create({ fetch: server.fetch });
    for (let i = 0; i < 200; i++) await client.get(location.origin + "/api/me");
    server.proofs = [];
    server.arrivals = [];
    // When each crypto.subtle.sign call began and returned, page-wide, for this batch only.
    const signs = [];
    const realSign = SubtleCrypto.prototype.sign;
    crypto.subtle.sign = function (...args) {
      const began = performance.now();
      const p = realSign.apply(this, args);
      signs.push([began, performance.now()]);
      return p;
    };
    const answered = new Array(n);
    let firstTask;
    const t0 = performance.now();
    const all = Promise.all(Array.from({ length: n }, (_, i) => client.get(location.origin + "/api/me").then(() => { answered[i] = performance.now() - t0; })));
    const asked = performance.now() - t0;
    setTimeout(() => { firstTask = performance.now() - t0; }, 0);
    await all;
    delete crypto.subtle.sign;
    await new Promise((r) => setTimeout(r, 0));
    const arrivals = server.arrivals.map((t) => t - t0);
    const proofs = checkProofs(server.proofs);
    const t1 = performance.now();
    if (dpop) for (let i = 0; i < n; i++) await client.api.dpopProof({ method: "GET", url: location.origin + "/api/me" });
    const sequentialProofs = dpop ? performance.now() - t1 : null;
    return {
      firstSent: Math.min(...arrivals), lastSent: Math.max(...arrivals),
      firstAnswer: Math.min(...answered), lastAnswer: Math.max(...answered),
      sequentialProofs, proofs,
      asked, // the n calls to api.fetch returned (the requests asked for)
      signCalls: signs.length,
      firstSignBegan: signs.length ? signs[0][0] - t0 : null,
      lastSignReturned: signs.length ? signs.at(-1)[1] - t0 : null,
      signsBeforeFirstSend: signs.filter(([, r]) => r - t0 <= Math.min(...arrivals)).length,
      inSignCalls: signs.reduce((ms, [b, r]) => ms + r - b, 0), // ms the page's thread spent inside them
      firstTask, // the page's thread ran its next task (a timer set right after the calls)
      // when the 1st, 10th, 50th and last of them reached the server (its proof done)
      arrivalAt: [0, 9, 49, n - 1].map((k) => arrivals[k]),
    };
  },


  /** µs per request, sequential, valid token, in-memory transport. */
  async happyMemory(peer, n) {
    const server = memoryServer();
    const client = await (await load(peer)).create({ fetch: server.fetch });
    return timeSequential(client, location.origin + "/api/me", n);
  },

  /** µs per request, sequential, valid token, against the loopback HTTP server. */
  async happyLoopback(peer, n) {
    await loginForReal();
    const client = await (await load(peer)).create({ fetch: (i, o) => fetch(i, o) });
    return timeSequential(client, "/api/me", n);
  },

  /**
   * ms for n concurrent plain requests on the in-memory transport: the storm's yardstick. `warm`
   * sequential requests go first (bench/storm.mjs's `--warm`), as in `stormPhases`.
   */
  async plainConcurrent(n, warm = 0) {
    const server = memoryServer();
    const client = await (await load("raw")).create({ fetch: server.fetch });
    for (let i = 0; i < warm; i++) await client.get("/api/me");
    await Promise.all(Array.from({ length: 200 }, () => client.get("/api/me"))); // the same warm-up
    const t0 = performance.now();
    await Promise.all(Array.from({ length: n }, () => client.get("/api/me")));
    return performance.now() - t0;
  },

  /**
   * n concurrent requests that all find the token expired; the refresh answers after `delay` ms.
   * With `gated`, the storm waits after its warm-up until the harness calls `window.benchGo()`
   * (bench/alloc.mjs starts the heap profiler there).
   */
  async storm(peer, n, delay, gated = false) {
    const server = memoryServer({ refreshDelay: delay });
    const client = await (await load(peer)).create({ fetch: server.fetch });
    const storm = (k) => Promise.allSettled(Array.from({ length: k }, () => client.get(location.origin + "/api/me")));
    server.expire();
    await storm(200); // warm-up: the same storm, smaller, so that JIT compilation is not what is measured
    server.refreshCalls = 0;
    server.expire();
    if (gated) await new Promise((go) => { window.benchGo = go; });
    const t0 = performance.now();
    const results = await storm(n);
    const ms = performance.now() - t0;
    const ok = results.filter((r) => r.status === "fulfilled" && r.value && r.value.ok).length;
    return { refreshCalls: server.refreshCalls, lost: n - ok, ms };
  },

  /**
   * The storm of row 2, in phases (ms from its start, bench/storm.mjs): until every request was
   * sent (`sent`; the fake server answers each at once), until all their answers were judged
   * (`judged`: the first task after the dispatch runs; a microtask queued at the dispatch ran
   * before most answers were judged, each of which is several promise hops away), when the
   * cross-tab lock was asked for and granted, when the refresh came and went, the first and last
   * replay, and the last answer. With `warm`, that many sequential requests with a good token go
   * before the warm-up storm, so that the JIT has compiled the peer's request path by then.
   */
  async stormPhases(peer, n, delay, warm = 0) {
    const server = memoryServer({ refreshDelay: delay, timeline: true, dpop: peer === "seamless-dpop" });
    const client = await (await load(peer)).create({ fetch: server.fetch });
    const storm = (k) => Promise.allSettled(Array.from({ length: k }, () => client.get(location.origin + "/api/me")));
    for (let i = 0; i < warm; i++) await client.get(location.origin + "/api/me");
    server.expire();
    await storm(200); // the same warm-up as row 2
    const locks = navigator.locks;
    if (locks) {
      locks.request = function (...args) {
        server.at.lockAsked ??= performance.now();
        const held = args.pop();
        return LockManager.prototype.request.call(this, ...args, (lock) => { server.at.lockGranted ??= performance.now(); return held(lock); });
      };
    }
    server.refreshCalls = 0;
    server.at = {};
    server.expire();
    const t0 = performance.now();
    const done = storm(n);
    const at = { sent: performance.now() };
    setTimeout(() => { at.judged = performance.now(); }, 0);
    const results = await done;
    at.end = performance.now();
    if (locks) delete locks.request;
    for (const [k, t] of Object.entries({ ...server.at, ...at })) at[k] = t - t0;
    const ok = results.filter((r) => r.status === "fulfilled" && r.value && r.value.ok).length;
    return { at, refreshCalls: server.refreshCalls, lost: n - ok };
  },

  /** JS heap (after gc) and wasm memory after 100 and after `n` refresh cycles. */
  async memoryCycles(peer, n) {
    const server = memoryServer();
    const client = await (await load(peer)).create({ fetch: server.fetch });
    const cycle = async () => { server.expire(); await client.get(location.origin + "/api/me"); };
    for (let i = 0; i < 100; i++) await cycle();
    gc();
    const at100 = { heap: heap(), wasm: client.wasmBytes ? client.wasmBytes() : null };
    for (let i = 100; i < n; i++) await cycle();
    gc();
    const atN = { heap: heap(), wasm: client.wasmBytes ? client.wasmBytes() : null };
    return { at100, atN, refreshCalls: server.refreshCalls };
  },
};

// ?init=peer: time from import to a ready client, in a fresh page, and where it goes, in order:
// fetching the peer's JS, evaluating it until it asks for the wasm (for peers without one, until
// the import resolves), fetching the wasm, compiling and instantiating it (what is left of the
// import after the wasm arrived), and constructing the client. The parts add up to the total.
const initPeer = new URLSearchParams(location.search).get("init");
if (initPeer) {
  const at = (name) => performance.mark(name).startTime;
  const t0 = at("import-start");
  const mod = await load(initPeer);
  const imported = at("imported");
  await mod.create({ fetch: (i, o) => fetch(i, o) });
  const ready = at("ready");
  const resources = performance.getEntriesByType("resource");
  const js = resources.find((r) => r.name.includes("/peers/" + initPeer + ".js"));
  const wasm = resources.find((r) => r.name.endsWith(".wasm"));
  const jsEnd = js ? js.responseEnd : t0;
  window.initParts = {
    fetchJs: jsEnd - t0,
    evaluateJs: (wasm ? wasm.startTime : imported) - jsEnd,
    fetchWasm: wasm ? wasm.responseEnd - wasm.startTime : null,
    compileWasm: wasm ? imported - wasm.responseEnd : null,
    construct: ready - imported,
  };
  window.initMs = ready - t0;
  // Reported on the console: the harness must not evaluate anything in the page while it starts
  // (Playwright's injected script, compiled on first use, took 17 ms of the main thread mid-start).
  console.log("bench:init " + JSON.stringify({ ms: window.initMs, parts: window.initParts }));
}
window.benchReady = true;

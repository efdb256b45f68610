// The in-browser half of the benchmark: every peer does the same work on the same transports, in
// one page of one Chromium. bench/run.mjs calls these functions and aggregates medians.

const JSON_HEADERS = { "content-type": "application/json" };
const OK_BODY = '{"ok":true}';

/**
 * An auth server that lives in memory and answers at once (or after `refreshDelay` ms for the
 * refresh): the wrappers' own cost, with no network in the way. It rotates tokens like a real one.
 * With `timeline`, `s.at` records when (performance.now()) it answered the first and last "expired"
 * and good answers and when the refresh came and went (bench/storm.mjs).
 */
function memoryServer({ refreshDelay = 0, timeline = false } = {}) {
  const s = { access: "a1", refresh: "r1", gen: 1, refreshCalls: 0, at: {} };
  const mark = timeline ? (first, last) => { const t = performance.now(); if (first) s.at[first] ??= t; if (last) s.at[last] = t; } : () => {};
  s.expire = () => { s.gen++; s.access = "a" + s.gen + "x"; }; // the stored token no longer matches
  s.fetch = async (input, init) => {
    const url = typeof input === "string" ? input : input.url;
    if (url.endsWith("/auth/refresh")) {
      s.refreshCalls++;
      mark("refreshAsked");
      const body = JSON.parse(init && init.body !== undefined ? init.body : await input.text());
      if (refreshDelay) await new Promise((r) => setTimeout(r, refreshDelay));
      mark("refreshAnswered");
      if (body.refreshToken !== s.refresh) return new Response('{"error":"invalid_grant"}', { status: 401, headers: JSON_HEADERS });
      s.gen++;
      s.access = "a" + s.gen;
      s.refresh = "r" + s.gen;
      return new Response(JSON.stringify({ token: s.access, refreshToken: s.refresh }), { status: 200, headers: JSON_HEADERS });
    }
    const headers = init && init.headers !== undefined ? init.headers : input.headers;
    const auth = headers instanceof Headers ? headers.get("authorization") : headers.Authorization || headers.authorization;
    if (auth !== "Bearer " + s.access) {
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

window.bench = {
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
    const server = memoryServer({ refreshDelay: delay, timeline: true });
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

// Scenarios of the hardening issue: token safety, faults, bad input, and no leaks.
import { FakeServer, deferred, json, tick, until } from "./fake_server.js";
import { assert, captureConsole, eq, rejectsWith, runScenario, setup, writeAsAnotherTab } from "./harness.js";

export const run = (name, make, tools) => runScenario(scenarios, name, make, tools);

/** All the text an error carries: name, message, code, stack, cause, own properties. */
function errorText(e) {
  if (!e || typeof e !== "object") return String(e);
  return [e.name, e.message, e.code, e.stack, e.cause && (e.cause.stack || String(e.cause)), JSON.stringify(e)].join("\n");
}

/** Replaces Storage.prototype[method] with one that throws `error` until the returned undo is called. */
function breakStorage(method, error) {
  const original = Storage.prototype[method];
  Storage.prototype[method] = function () { throw error; };
  return () => { Storage.prototype[method] = original; };
}

const failures = {
  "network error": { answer: () => Promise.reject(new TypeError("Failed to fetch")), code: "REFRESH_FAILED", says: "network error" },
  "500": { answer: () => json(500, { error: "boom" }), code: "REFRESH_FAILED", says: "500" },
  "503": { answer: () => json(503, "Service Unavailable"), code: "REFRESH_FAILED", says: "503" },
  "400 invalid_request": { answer: () => json(400, { error: "invalid_request" }), code: "REFRESH_FAILED", says: "invalid_request" },
  "400 invalid_client": { answer: () => json(400, { error: "invalid_client" }), code: "REFRESH_FAILED", says: "invalid_client" },
  "400 unsupported_grant_type": { answer: () => json(400, { error: "unsupported_grant_type" }), code: "REFRESH_FAILED", says: "unsupported_grant_type" },
  "200 HTML": { answer: () => new Response("<html>proxy error</html>", { status: 200, headers: { "content-type": "text/html" } }), code: "REFRESH_FAILED", says: "without a JSON body" },
  "200 JSON without token": { answer: () => json(200, { ok: true }), code: "REFRESH_FAILED", says: "no access token" },
  "200 malformed access token": { answer: () => json(200, { token: "bad token\r\nX-Evil: 1", refreshToken: "r9" }), code: "REFRESH_FAILED", says: "malformed access token" },
  "200 malformed refresh token": { answer: () => json(200, { token: "a9", refreshToken: "bad\u0000token" }), code: "REFRESH_FAILED", says: "malformed refresh token" },
  "401": { answer: () => json(401, { error: "invalid_grant" }), code: "SESSION_EXPIRED", says: "401" },
  "400 invalid_grant": { answer: () => json(400, { error: "invalid_grant" }), code: "SESSION_EXPIRED", says: "invalid_grant" },
  "400 without OAuth error": { answer: () => json(400, { message: "refresh token expired" }), code: "SESSION_EXPIRED", says: "400" },
};

/**
 * Whether the garbage collector takes the object `ref` points to, and runs the finalizers
 * registered for it, within `ms`: collections forced with `gc()` where the engine exposes it
 * (Chromium, `--js-flags=--expose-gc` in webdriver.json), else brought on by allocating.
 */
async function collect(ref, ms) {
  let finalized = false;
  const registry = new FinalizationRegistry(() => { finalized = true; });
  registry.register(ref.deref(), 0);
  const junk = [];
  for (const start = Date.now(); !finalized && Date.now() - start < ms;) {
    await tick(1); // a fresh task: nothing on the stack holds the object
    if (typeof globalThis.gc === "function") globalThis.gc();
    else for (let i = 0; i < 20; i++) junk[i] = new Array(100_000).fill(i);
  }
  return finalized;
}

/**
 * Lets the garbage collector take the AuthFetch object `ref` points to, and waits until it has.
 * Where an engine collects nothing within 3 s of allocating (WebKit may clear a WeakRef late), the
 * object is dropped all the same, unchecked. Resolves to which it was.
 */
async function letGo(ref) {
  let api = ref.deref(); // held while the engine is tried on an object of no importance
  if (!(await collect(new WeakRef({}), 3000))) return "dropped";
  api = null;
  assert(await collect(ref, 5000), "the AuthFetch object was collected");
  for (let i = 0; i < 5; i++) await tick(5); // a finalizer runs in a task of its own
  return "gc";
}

export const scenarios = {
  async tokens_go_only_to_allowed_origins(make) {
    const { api, server } = setup(make, { allowedOrigins: ["https://api.example.com"] });
    const allowed = "https://api.example.com/v1/me";
    const lookalikes = [
      "https://api.example.com.evil.com/v1/me", "https://api.example.com@evil.com/v1/me", "http://api.example.com/v1/me",
      "https://api.example.com:8443/v1/me", "https://evil.com/v1/me", "https://API.EXAMPLE.COM.evil.com/",
    ];
    eq((await api.fetch(allowed)).status, 200);
    server.expire();
    for (const url of lookalikes) {
      const res = await api.fetch(url).catch((e) => e); // URLs with credentials are refused by new Request()
      assert(res instanceof Response ? res.status === 401 : res instanceof TypeError, url + " passes through untouched");
    }
    for (const call of server.calls.slice(1)) eq(call.auth, null, call.url + " got no token");
    eq(server.refreshCalls, 0, "no refresh on other origins' 401");
    eq((await api.fetch(allowed)).status, 200, "the allowed origin refreshes");
    eq(server.refreshCalls, 1);
  },

  async the_refresh_token_goes_to_the_refresh_url_only(make) {
    const { api, server } = setup(make, { allowedOrigins: ["https://api.example.com"] });
    server.prefix = "SECRET";
    server.expire();
    await Promise.all(["/api/x", "https://api.example.com/y", "https://other.example/z"].map((u) => api.fetch(u, { method: "POST", body: "{}" })));
    server.expire();
    await api.fetch("/api/again");
    eq(server.refreshCalls, 2);
    for (const call of server.calls) {
      const text = call.url + " " + [...call.headers].join(" ") + " " + call.body;
      const refreshTokens = ["r1", "SECRETr2"];
      if (call.path === "/auth/refresh") {
        assert(refreshTokens.some((t) => call.body.includes(t)), "the refresh call carries the refresh token");
        eq(call.auth, null, "and no Authorization header");
      } else {
        for (const t of refreshTokens) assert(!text.includes(t), call.url + " must not carry the refresh token");
      }
    }
  },

  async invalid_tokens_are_refused_before_any_request(make) {
    for (const bad of ["a1\r\nX-Evil: 1", "tök", "a 1", "\"a1\"", "a1\u0000"]) {
      const { api, server } = setup(make);
      localStorage.setItem("token", bad);
      const e = await rejectsWith(api.fetch("/api/x"), "INVALID_TOKEN");
      assert(!errorText(e).includes(bad), "the error does not repeat the token");
      eq(server.calls.length, 0, JSON.stringify(bad) + ": nothing sent");
      let thrown = null;
      try { api.setTokens({ accessToken: bad, refreshToken: "r1" }); } catch (err) { thrown = err; }
      eq(thrown && thrown.code, "INVALID_TOKEN", "setTokens refuses " + JSON.stringify(bad));
    }
  },

  async no_token_in_errors_logs_or_callbacks(make) {
    const captured = captureConsole();
    const seen = [];
    try {
      const secrets = ["SECRETaccess1", "SECRETrefresh1"];
      const server = new FakeServer({ access: secrets[0], refresh: secrets[1] });
      server.prefix = "SECRET";
      localStorage.setItem("token", secrets[0]);
      localStorage.setItem("refreshToken", secrets[1]);
      const hooks = {
        onRefresh: (...a) => seen.push(a), onRefreshError: (...a) => seen.push(a), onLogout: (...a) => seen.push(a), navigate: (...a) => seen.push(a),
      };
      const api = make({ refreshUrl: "/auth/refresh", fetch: server.fetch, refreshTimeoutMs: 50, ...hooks });
      eq((await api.fetch("/api/ok")).status, 200);
      server.expire();
      await api.fetch("/api/refreshes"); // success: onRefresh
      const errors = [];
      for (const answer of [() => Promise.reject(new TypeError("Failed to fetch")), () => json(503, {}), () => new Promise(() => {}), () => json(200, { token: "bad token" }), () => json(401, {})]) {
        server.refreshAnswer = answer;
        server.expire();
        errors.push(await api.fetch("/api/fails").catch((e) => e));
        // New tokens end the back-off the failure started, so the next answer is really asked for.
        api.setTokens({ accessToken: secrets[0], refreshToken: secrets[1] });
      }
      localStorage.setItem("token", "SECRET bad");
      errors.push(await api.fetch("/api/invalid").catch((e) => e));
      try { api.setTokens({ accessToken: "SECRET\n", refreshToken: "SECRETx" }); } catch (e) { errors.push(e); }
      const undo = breakStorage("setItem", new DOMException("full", "QuotaExceededError"));
      try { make({ refreshUrl: "/auth/refresh", fetch: server.fetch, accessTokenKey: "k2" }).setTokens({ accessToken: "SECRETm", refreshToken: "SECRETn" }); } finally { undo(); }
      eq(errors.map((e) => e.code), ["REFRESH_FAILED", "REFRESH_FAILED", "REFRESH_FAILED", "REFRESH_FAILED", "SESSION_EXPIRED", "INVALID_TOKEN", "INVALID_TOKEN"]);
      const texts = [...errors.map(errorText), ...captured.lines, ...seen.map((a) => JSON.stringify(a) + String(a))];
      assert(captured.lines.some((l) => l.includes("memory")), "the storage warning was logged");
      for (const t of texts) assert(!t.includes("SECRET"), "leaked a token: " + t);
    } finally {
      captured.restore();
    }
  },

  async safe_return_paths(make) {
    const { api } = setup(make);
    const AuthFetch = api.constructor;
    for (const good of ["/", "/dashboard?tab=2#x", "/a/b", "/search?q=a%20b", "/a%2Fb"]) eq(AuthFetch.safeReturnPath(good, "/home"), good, good);
    // A router that decodes the path before navigating turns these into another host (the URL
    // parser drops tabs and line breaks: "/\t/evil.com" is "//evil.com"; some routers decode twice).
    eq(new URL("/\t/evil.com", location.href).host, "evil.com", "a decoded tab");
    const decoded = ["/%09/evil.com", "/%0A/evil.com", "/%0D/evil.com", "/%0d%0a/evil.com", "/%2509/evil.com", "/%252F/evil.com", "/%255C/evil.com", "/x?%00"];
    // Dot segments: the URL parser resolves "/..//evil.com" to the path "//evil.com", which a
    // router navigating to that path string takes for another host.
    eq(new URL("/..//evil.com", location.href).pathname, "//evil.com", "a resolved dot segment");
    decoded.push("/..//evil.com", "/a/../..//evil.com", "/%2E%2E//evil.com", "/a%3F/../..//evil.com");
    for (const bad of ["//evil.com", "/\\evil.com", "https://evil.com", "javascript:alert(1)", "%2F%2Fevil.com", "/%2F%2Fevil.com", "\u0000/x", " /x", "\t//evil.com", null, undefined, 42, "", ...decoded]) {
      eq(AuthFetch.safeReturnPath(bad, "/home"), "/home", JSON.stringify(bad));
    }
  },

  async the_login_redirect_carries_the_current_path(make) {
    const navigations = [];
    const { api, server } = setup(make, { loginReturnParam: "next", navigate: (u) => navigations.push(u) });
    server.expire();
    server.refreshAnswer = () => json(401, {});
    await rejectsWith(api.fetch("/api/x"), "SESSION_EXPIRED");
    const here = location.pathname + location.search + location.hash;
    eq(navigations, ["/login?next=" + encodeURIComponent(here).replace(/%20/g, "+")]);
  },

  async refresh_failures_are_told_apart(make) {
    for (const [name, f] of Object.entries(failures)) {
      const navigations = [], logouts = [];
      const { api, server } = setup(make, { navigate: (u) => navigations.push(u), onLogout: (i) => logouts.push(i.reason) });
      server.expire();
      server.refreshAnswer = f.answer;
      const results = await Promise.allSettled([api.fetch("/api/a"), api.fetch("/api/b")]);
      for (const r of results) {
        eq(r.status, "rejected", name);
        eq(r.reason.code, f.code, name);
        assert(r.reason.message.includes(f.says), name + ": message '" + r.reason.message + "' should say " + f.says);
      }
      eq(server.refreshCalls, 1, name + ": one refresh");
      const final = f.code === "SESSION_EXPIRED";
      eq([localStorage.getItem("token"), localStorage.getItem("refreshToken")], final ? [null, null] : ["a1", "r1"], name + ": tokens " + (final ? "cleared" : "kept, nothing malformed stored"));
      eq(navigations, final ? ["/login"] : [], name + ": redirect");
      eq(logouts, final ? ["SESSION_EXPIRED"] : [], name + ": onLogout");
      eq(api.stats().queued, 0, name);
    }
  },

  async a_timeout_is_prompt(make) {
    const { api, server } = setup(make, { refreshTimeoutMs: 150 });
    server.expire();
    let signal = null;
    server.refreshAnswer = (call) => { signal = call.signal; return new Promise(() => {}); };
    const started = Date.now();
    const e = await rejectsWith(api.fetch("/api/x"), "REFRESH_FAILED");
    const took = Date.now() - started;
    assert(e.message.includes("refreshTimeoutMs"), e.message);
    assert(took < 2000, "rejected after " + took + " ms");
    assert(signal && signal.aborted, "the refresh request was aborted");
    eq(localStorage.getItem("refreshToken"), "r1");
  },

  async requests_in_flight_during_a_failure_share_it(make) {
    const { api, server } = setup(make);
    const releaseSlow = server.holdPath("/api/slow");
    const slow = api.fetch("/api/slow");
    await until(() => server.callsTo("/api/slow").length === 1, "slow request sent");
    server.expire();
    server.refreshAnswer = () => json(503, {});
    await rejectsWith(api.fetch("/api/fast"), "REFRESH_FAILED");
    releaseSlow();
    await rejectsWith(slow, "REFRESH_FAILED");
    eq(server.refreshCalls, 1, "the late 401 did not start a second refresh");
    server.refreshAnswer = null;
    eq((await api.fetch("/api/later")).status, 200, "a request started after the failure tries again");
    eq(server.refreshCalls, 2);
  },

  async aborting_a_queued_request_rejects_it_at_once(make) {
    const { api, server } = setup(make);
    server.expire();
    const release = server.holdRefresh();
    const starter = new AbortController(), waiter = new AbortController();
    const first = api.fetch("/api/first", { signal: starter.signal });
    await until(() => api.isRefreshing, "refresh started");
    const queued = api.fetch("/api/queued", { signal: waiter.signal });
    const other = api.fetch("/api/other");
    await until(() => api.stats().queued === 3, "three waiting");
    waiter.abort();
    await rejectsWith(queued, "AbortError");
    eq(api.stats().queued, 2, "taken out of the queue at once");
    starter.abort();
    await rejectsWith(first, "AbortError");
    assert(api.isRefreshing, "aborting the request that started it does not cancel the refresh");
    release();
    eq((await other).status, 200);
    eq(server.refreshCalls, 1);
    eq(server.callsTo("/api/queued").length, 0, "the aborted request was never sent");
    eq(api.stats().queued, 0);
    await rejectsWith(api.fetch("/api/x", { signal: AbortSignal.abort() }), "AbortError");
  },

  async expired_answers_that_come_during_a_refresh_wait_for_it(make) {
    // Requests sent before the refresh began whose "expired" answers come while it runs: the
    // driver holds them for it (without a call into wasm) and replays them itself. They count as
    // queued, an abort takes one out at once, and the replays count as retried.
    for (const crossTab of [true, false]) {
      const { api, server } = setup(make, { crossTab });
      eq((await api.fetch("/api/late")).status, 200, "a URL sent before");
      server.expire();
      const release = server.holdRefresh();
      const answers = server.holdPath("/api/late");
      const aborter = new AbortController();
      const late = [api.fetch("/api/late"), api.fetch("/api/late", { signal: aborter.signal }), api.fetch("/api/late"), api.fetch("/api/late")];
      const first = api.fetch("/api/first");
      await until(() => api.isRefreshing, "the refresh to start");
      answers();
      await until(() => api.stats().queued === 5, "the first request and the four late answers waiting");
      aborter.abort();
      await rejectsWith(late[1], "AbortError");
      eq(api.stats().queued, 4, "taken out at once, crossTab " + crossTab);
      release();
      const done = await Promise.all([first, late[0], late[2], late[3]]);
      eq(done.map((r) => r.status), [200, 200, 200, 200]);
      eq(server.callsTo("/api/late").map((c) => c.auth), ["Bearer a1", "Bearer a1", "Bearer a1", "Bearer a1", "Bearer a1", "Bearer a2", "Bearer a2", "Bearer a2"], "each replayed once with the new token, the aborted one not");
      eq(server.refreshCalls, 1);
      eq(api.stats(), { refreshes: 1, retried: 4, queued: 0 });
    }
    // A refresh that fails fails them, as it fails the requests in its queue.
    const { api, server } = setup(make);
    server.expire();
    const release = server.holdRefresh();
    server.refreshAnswer = () => json(401, { error: "invalid_grant" });
    const answers = server.holdPath("/api/late");
    const late = [api.fetch("/api/late"), api.fetch("/api/late")];
    const first = api.fetch("/api/first");
    await until(() => api.isRefreshing, "the refresh to start");
    answers();
    await until(() => api.stats().queued === 3, "three waiting");
    release();
    for (const p of [first, ...late]) await rejectsWith(p, "SESSION_EXPIRED");
    eq(server.callsTo("/api/late").length, 2, "not replayed");
  },

  async logout_during_a_refresh_is_final(make) {
    for (const end of ["logout", "clearTokens"]) {
      const { api, server } = setup(make);
      server.expire();
      const release = server.holdRefresh();
      const pending = api.fetch("/api/x");
      await until(() => server.refreshCalls === 1, "the refresh call reached the server");
      api[end]();
      await rejectsWith(pending, "NO_REFRESH_TOKEN");
      release();
      await until(() => server.generation === 2, "the late refresh answer arrived");
      await new Promise((r) => setTimeout(r, 20));
      eq([localStorage.getItem("token"), localStorage.getItem("refreshToken")], [null, null], end + ": the late answer did not bring the session back");
    }
    const { api, server } = setup(make);
    server.expire();
    const release = server.holdRefresh();
    const pending = api.fetch("/api/x");
    await until(() => server.refreshCalls === 1, "the refresh call reached the server");
    api.setTokens({ accessToken: "fresh", refreshToken: "freshR" });
    server.valid.add("fresh");
    release();
    eq((await pending).status, 200, "the waiting request goes on with the new login");
    await new Promise((r) => setTimeout(r, 20));
    eq(localStorage.getItem("token"), "fresh", "a newer login beats the late refresh answer");
  },

  async forbidden_is_not_expired(make) {
    const { api, server } = setup(make);
    const inner = server.fetch;
    server.fetch = async (input, init) => (new Request(input, init).url.endsWith("/api/admin") ? json(403, { error: "insufficient_scope" }) : inner(input, init));
    eq((await api.fetch("/api/admin")).status, 403);
    eq(server.refreshCalls, 0);
  },

  async storage_that_throws_falls_back_to_memory(make) {
    const captured = captureConsole();
    try {
      for (const [method, error] of [["setItem", new DOMException("quota", "QuotaExceededError")], ["getItem", new DOMException("denied", "SecurityError")]]) {
        localStorage.clear();
        const undo = breakStorage(method, error);
        try {
          const server = new FakeServer();
          const api = make({ refreshUrl: "/auth/refresh", fetch: server.fetch, accessTokenKey: "t-" + method, refreshTokenKey: "r-" + method });
          api.setTokens({ accessToken: "a1", refreshToken: "r1" });
          server.expire();
          eq((await api.fetch("/api/x")).status, 200, method + ": works from memory");
          eq(server.callsTo("/api/x").map((c) => c.auth), ["Bearer a1", "Bearer a2"], method);
          api.setTokens({ accessToken: "a3", refreshToken: "r3" });
        } finally {
          undo();
        }
      }
      eq(captured.lines.filter((l) => l.startsWith("warn:") && l.includes("memory")).length, 2, "one warning per store");
    } finally {
      captured.restore();
    }
  },

  async junk_in_storage_reads_as_no_session(make) {
    for (const [token, refresh] of [["", "r1"], ["undefined", "undefined"], ["null", "null"], ["a1", null], [null, "r1"], ["a1", ""]]) {
      const { api, server } = setup(make, {}, { tokens: false });
      if (token !== null) localStorage.setItem("token", token);
      if (refresh !== null) localStorage.setItem("refreshToken", refresh);
      const res = await api.fetch("/api/x");
      eq(res.status, 401, JSON.stringify([token, refresh]) + ": sent without a token");
      eq(server.calls[0].auth, null);
      eq(server.refreshCalls, 0);
    }
  },

  async storage_cleared_from_outside_ends_at_the_login_page(make) {
    const navigations = [];
    const { api, server } = setup(make, { navigate: (u) => navigations.push(u) });
    eq((await api.fetch("/api/x")).status, 200);
    localStorage.clear();
    server.expire();
    await rejectsWith(api.fetch("/api/y"), "NO_REFRESH_TOKEN");
    // The session has ended: the next request goes out without a token, and its 401 is the app's.
    const after = await api.fetch("/api/z");
    eq(after.status, 401, "answered, not rejected");
    eq(server.callsTo("/api/z").map((c) => c.auth), [null]);
    eq(server.refreshCalls, 0);
    eq(navigations, ["/login"], "one redirect");
  },

  async a_thousand_requests_wait_for_one_slow_refresh(make) {
    for (const outcome of ["success", "failure"]) {
      const { api, server } = setup(make);
      server.expire();
      const release = server.holdRefresh();
      if (outcome === "failure") server.refreshAnswer = () => json(503, {});
      const all = Array.from({ length: 1000 }, (_, i) => api.fetch("/api/n" + i));
      await until(() => api.stats().queued === 1000, "1,000 waiting", 10000);
      const started = performance.now();
      release();
      const results = await Promise.allSettled(all);
      const took = performance.now() - started;
      console.log(`1,000 queued requests, refresh ${outcome}: all settled ${took.toFixed(0)} ms after the refresh answered`);
      if (outcome === "success") eq(results.filter((r) => r.status === "fulfilled" && r.value.status === 200).length, 1000);
      else eq(results.filter((r) => r.status === "rejected" && r.reason.code === "REFRESH_FAILED").length, 1000);
      eq(server.refreshCalls, 1);
      eq(api.stats().queued, 0, "the queue drained");
      assert(!api.isRefreshing, "flag lowered");
    }
  },

  async expired_statuses_outlast_a_growth_of_the_wasm_memory(make, tools) {
    // The driver keeps its own copy of `expiredStatuses`: what Rust hands it is a view of the wasm
    // memory, emptied when the memory grows (a long URL or a storm of requests grows it), and the
    // happy path would then take every "expired" answer for the caller's.
    const { api, server } = setup(make);
    const before = tools.memory.buffer;
    tools.memory.grow(1);
    eq(before.byteLength, 0, "views of the memory before the growth are emptied");
    server.expire();
    eq((await api.fetch("/api/x")).status, 200, "the 401 still means expired: refreshed and replayed");
    eq(server.refreshCalls, 1);
  },

  async ten_thousand_refresh_cycles_leave_memory_flat(make, tools) {
    const { api, server } = setup(make);
    const bytes = () => tools.memory.buffer.byteLength;
    const cycle = async () => { server.expire(); const r = await api.fetch("/api/x"); eq(r.status, 200); server.calls.length = 0; };
    for (let i = 0; i < 100; i++) await cycle();
    const after100 = bytes();
    const heap100 = performance.memory ? performance.memory.usedJSHeapSize : 0;
    for (let i = 100; i < 10000; i++) await cycle();
    const after10k = bytes();
    eq(server.refreshCalls, 10000);
    eq(api.stats(), { refreshes: 10000, retried: 10000, queued: 0 });
    const heap10k = performance.memory ? performance.memory.usedJSHeapSize : 0;
    console.log(`wasm memory after 100 refresh cycles: ${after100} B; after 10,000: ${after10k} B; JS heap ${(heap100 / 1e6).toFixed(1)} MB -> ${(heap10k / 1e6).toFixed(1)} MB (not collected)`);
    eq(after10k, after100, "wasm memory after 10,000 cycles vs after 100");
  },

  async kept_requests_are_let_go_however_they_end(make, tools) {
    // With body codes set, every request is kept in wasm between its steps (src/inflight.rs). A
    // transport that rejects, throws or answers something that is not a Response must let it go:
    // nothing may stay behind in wasm memory.
    let mode = "server";
    const server = new FakeServer();
    const transport = (input, init) => {
      if (mode === "reject") return Promise.reject(new TypeError("Failed to fetch"));
      if (mode === "throw") throw new TypeError("refused");
      if (mode === "junk") return Promise.resolve({ status: 200 });
      return server.fetch(input, init);
    };
    const { api } = setup(make, { expiredBodyCodes: ["TOKEN_EXPIRED"], fetch: transport }, { server });
    const round = async () => {
      for (mode of ["reject", "throw", "junk"]) {
        const failed = await api.fetch("/api/x").then(() => null, (e) => e);
        assert(failed !== null, mode + ": the request failed");
      }
      mode = "server";
      eq((await api.fetch("/api/x")).status, 200);
      server.calls.length = 0;
    };
    for (let i = 0; i < 100; i++) await round();
    const after100 = tools.memory.buffer.byteLength;
    for (let i = 100; i < 5000; i++) await round();
    eq(tools.memory.buffer.byteLength, after100, "wasm memory after 5,000 rounds vs after 100");
  },

  async an_init_getter_that_fetches_again_is_served(make) {
    // The caller's init is read while its request starts; a getter there may start another
    // request through the same fetch (a proxy, a framework's lazy headers). Both are served.
    const { api, server } = setup(make);
    for (const field of ["headers", "signal", "body"]) {
      let inner = null;
      const init = {
        method: "POST",
        get [field]() {
          if (!inner) inner = api.fetch("/api/inner-" + field, { headers: { "x-inner": "1" } });
          return { headers: { "x-outer": "1" }, signal: new AbortController().signal, body: "outer" }[field];
        },
      };
      eq((await api.fetch("/api/outer-" + field, init)).status, 200, field);
      eq((await inner).status, 200, field);
    }
    // Each request with its own headers and body, whichever read of init started the other.
    const seen = server.calls.map((c) => [c.path, c.auth, c.headers.get("x-outer") ?? c.headers.get("x-inner"), c.body]).sort();
    eq(seen, ["body", "headers", "signal"].flatMap((f) => [
      ["/api/inner-" + f, "Bearer a1", "1", null],
      ["/api/outer-" + f, "Bearer a1", f === "headers" ? "1" : null, f === "body" ? "outer" : ""],
    ]).sort());
  },

  async hostile_values_from_js_are_refused_and_never_trap(make) {
    // Lone surrogates (invalid UTF-16) reach Rust as U+FFFD; huge, deeply nested and out-of-range
    // values must come back as errors. A trap (a Rust panic in the shipped build) would break every
    // later call of the page: the last request proves the instance still works.
    const { api, server } = setup(make);
    const codeOf = (f) => { try { f(); return "ok"; } catch (e) { return e.name === "AuthError" ? e.code : e.name + ": " + e.message; } };
    eq(codeOf(() => api.setTokens({ accessToken: "a\uD800", refreshToken: "r1" })), "INVALID_TOKEN");
    eq(codeOf(() => api.setTokens({ accessToken: "a".repeat(1 << 20), refreshToken: "r1" })), "INVALID_TOKEN");
    eq(codeOf(() => make({ refreshUrl: "/r", ["\uDC00key"]: 1 })), "INVALID_OPTIONS");
    eq(codeOf(() => make({ refreshUrl: "/r", refreshTimeoutMs: 1e300 })), "INVALID_OPTIONS");
    eq(codeOf(() => make({ refreshUrl: "/r", expiredStatuses: [401.5, -0] })), "INVALID_OPTIONS");
    eq(codeOf(() => make({ refreshUrl: "/r", expiredStatuses: new Array(100_000).fill(401) })), "INVALID_OPTIONS");
    let deep = {};
    for (let i = 0; i < 2000; i++) deep = { tokenPaths: deep };
    eq(codeOf(() => make({ refreshUrl: "/r", tokenPaths: deep })), "INVALID_OPTIONS");
    eq(api.constructor.safeReturnPath("/\uD800/x", "/home").startsWith("/"), true);
    eq(await api.fetch("/api/x", "not an init").then(() => "sent", (e) => e.name), "TypeError", "what fetch refuses is refused");
    localStorage.setItem("token", "\uDC00abc");
    await rejectsWith(api.fetch("/api/x"), "INVALID_TOKEN");
    await rejectsWith(api.getAccessToken({ minValidityMs: Number.MAX_VALUE }), "INVALID_OPTIONS");
    for (const answer of [
      () => new Response('{"token":"\\uD800"}', { headers: { "content-type": "application/json" } }),
      () => new Response("[".repeat(200_000), { headers: { "content-type": "application/json" } }),
      () => new Response(JSON.parse("[".repeat(5000) + "]".repeat(5000)).length ? "{}" : "{}"),
      () => json(200, { token: { toString: null } }),
      () => json(503, {}, { "retry-after": "9".repeat(400) }),
      () => json(429, {}, { "retry-after": "Sun, 06 Nov 99999 08:49:37 GMT" }),
    ]) {
      api.setTokens({ accessToken: "a1", refreshToken: "r1" });
      server.expire();
      server.refreshAnswer = answer;
      await rejectsWith(api.fetch("/api/y"), "REFRESH_FAILED");
    }
    server.refreshAnswer = null;
    server.skewMs = 0;
    api.setTokens({ accessToken: "a1", refreshToken: "r1" });
    server.valid.add("a1");
    eq((await api.fetch("/api/still-works")).status, 200, "the instance is alive");
  },

  async an_instance_made_while_its_session_waits_out_a_back_off_gets_its_answers(make) {
    // The last instance leaves while its session's flight waits out a back-off: the session is
    // still the core's, and the next instance on the same keys joins it (one session here too).
    for (const storage of ["memory", "local"]) {
      const server = new FakeServer();
      server.refreshAnswer = () => json(500, {});
      const options = { refreshUrl: "/auth/refresh", fetch: server.fetch, navigate: () => {}, storage, crossTab: false };
      localStorage.clear();
      const first = make(options);
      first.setTokens({ accessToken: "a1", refreshToken: "r1" });
      server.expire();
      await rejectsWith(first.fetch("/api/1"), "REFRESH_FAILED");
      const aborted = new AbortController();
      const waiting = first.fetch("/api/2", { signal: aborted.signal });
      await until(() => first.isRefreshing, storage + ": a flight waits out the back-off");
      aborted.abort();
      await rejectsWith(waiting, "AbortError");
      first.dispose();
      server.refreshAnswer = null;
      const next = make(options);
      const res = await Promise.race([next.fetch("/api/3"), tick(8000).then(() => "unsettled")]);
      assert(res instanceof Response, storage + ": the new instance's request settled, got " + res);
      eq(res.status, 200, storage);
    }
  },

  async an_instance_serialised_shows_no_token(make) {
    // Error reporters and loggers serialise what they are given: an instance holds no token there.
    const { api } = setup(make);
    eq((await api.fetch("/api/x")).status, 200);
    const text = JSON.stringify(api);
    assert(!text.includes("a1") && !text.includes("r1"), "JSON.stringify(api): " + text);
  },

  async a_collected_auth_fetch_leaves_its_bound_fetch_whole(make) {
    // ky.create({ fetch: new AuthFetch(o).fetch }): the app keeps the bound fetch only.
    const server = new FakeServer();
    localStorage.setItem("gc-t", "a1");
    localStorage.setItem("gc-r", "r1");
    const heard = [];
    const logouts = [];
    const options = { refreshUrl: "/auth/refresh", fetch: server.fetch, navigate: () => {}, accessTokenKey: "gc-t", refreshTokenKey: "gc-r" };
    const hooks = { onTokens: (c) => heard.push(c.reason), onLogout: (i) => logouts.push(i.reason) };
    // In a function of its own, so that nothing of this one holds the object.
    const { f, ref } = ((api) => ({ f: api.fetch, ref: new WeakRef(api) }))(make.untracked({ ...options, ...hooks }));
    eq((await f("/api/x")).status, 200);
    const how = await letGo(ref);
    server.expire();
    eq((await f("/api/x")).status, 200, how + ": the bound fetch refreshes");
    eq([server.refreshCalls, heard], [1, ["refresh"]], how + ": onTokens still hears");
    // An instance made now with the same keys joins its session: one refresh for both.
    const other = make(options);
    server.expire();
    const release = server.holdRefresh();
    const first = f("/api/y");
    await until(() => other.isRefreshing, how + ": the new instance to share the running refresh");
    const second = other.fetch("/api/z");
    release();
    eq([(await first).status, (await second).status, server.refreshCalls], [200, 200, 2], how);
    // A logout in another tab is heard by the collected object's instance first (its watcher came
    // first); the other instance has no onLogout.
    writeAsAnotherTab({ "gc-t": null, "gc-r": null });
    eq([logouts, heard], [["LOGOUT"], ["refresh", "refresh", "clear"]], how + ": a logout in another tab ends it here");
  },

  async an_instance_made_while_a_disposed_one_refreshes_joins_that_refresh(make) {
    // A component unmounts (dispose) while its refresh spends r1, and the next one mounts with
    // the same options: it must join that refresh, not spend r1 a second time. No lock here
    // (crossTab off), so only the shared session keeps the two apart.
    const options = { refreshUrl: "/auth/refresh", crossTab: false, navigate: () => {} };
    const { api, server } = setup(make, options);
    server.expire();
    const release = server.holdRefresh();
    const first = api.fetch("/api/x");
    await until(() => server.refreshCalls === 1, "the refresh call reached the server");
    api.dispose();
    const next = make({ ...options, fetch: server.fetch });
    const second = next.fetch("/api/y");
    await tick(20);
    release();
    eq([(await first).status, (await second).status], [200, 200]);
    eq(server.refreshCalls, 1, "one refresh for both instances");
  },

  async dispose_ends_an_instance_and_its_bound_fetch(make) {
    const ends = { "dispose()": (api) => api.dispose(), "free()": (api) => api.free() };
    // wasm-bindgen wires Symbol.dispose (`using`) to free() where the engine has the symbol.
    if (typeof Symbol.dispose === "symbol") ends["[Symbol.dispose]()"] = (api) => api[Symbol.dispose]();
    for (const [name, end] of Object.entries(ends)) {
      const heard = [];
      const logouts = [];
      const { api, server } = setup(make, { onTokens: (c) => heard.push(c.reason), onLogout: (i) => logouts.push(i.reason) });
      const f = api.fetch;
      eq((await f("/api/x")).status, 200, name); // the driver may now send /api/x without wasm
      const release = server.holdPath("/api/slow");
      const slow = f("/api/slow");
      await until(() => server.callsTo("/api/slow").length === 1, "the slow request to leave");
      end(api);
      release();
      eq((await slow).status, 200, name + ": a request made before goes on to its answer");
      const sent = server.calls.length;
      for (const path of ["/api/x", "/api/y"]) {
        const e = await f(path).then(() => null, (err) => err);
        assert(e instanceof Error && e.message.includes("disposed"), name + ": " + path + " is refused, got " + e);
      }
      eq(server.calls.length, sent, name + ": nothing sent after");
      let thrown = null;
      try { api.setTokens({ accessToken: "a1", refreshToken: "r1" }); } catch (e) { thrown = e; }
      assert(thrown instanceof Error, name + ": the object is gone");
      const other = make({ refreshUrl: "/auth/refresh", fetch: server.fetch, navigate: () => {} });
      other.setTokens({ accessToken: "a7", refreshToken: "r7" });
      writeAsAnotherTab({ token: null, refreshToken: null });
      eq([heard, logouts], [[], []], name + ": the instance hears nothing after");
    }
  },

  async a_refresh_function_sends_its_request_through_the_fetch_it_is_given(make) {
    // ky and openapi-fetch send a Request, whose signal is a new one that follows the given one:
    // api.fetch cannot know it after an await, the given fetch needs not.
    const server = new FakeServer({ refreshPath: "/graphql" });
    let api;
    const request = (refreshToken, signal) => new Request(new URL("/graphql", location.href), {
      method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ refreshToken }), signal });
    const given = [];
    const variants = {
      "the given fetch, after an await": async ({ refreshToken, signal, fetch }) => { given.push(fetch); await tick(5); return fetch(request(refreshToken, signal)); },
      "api.fetch, in the synchronous part": ({ refreshToken, signal }) => api.fetch(request(refreshToken, signal)),
    };
    for (const [name, refresh] of Object.entries(variants)) {
      ({ api } = setup(make, { refreshUrl: undefined, refresh, refreshTimeoutMs: 2000 }, { server, tokens: false }));
      localStorage.setItem("token", server.prefix + "a" + server.generation);
      localStorage.setItem("refreshToken", server.refreshToken);
      server.expire();
      const started = Date.now();
      const all = await Promise.all(["/api/x", "/api/y", "/api/z"].map((p) => api.fetch(p, { method: "POST", body: p })));
      eq(all.map((r) => r.status), [200, 200, 200], name);
      assert(Date.now() - started < 1500, name + ": answered without waiting out refreshTimeoutMs");
      eq(server.callsTo("/graphql").at(-1).auth, null, name + ": the refresh request goes without the access token");
      eq(localStorage.getItem("token"), "a" + server.generation, name);
    }
    eq(server.refreshCalls, 2);
    assert(typeof given[0] === "function" && given[0] !== api.fetch, "the transport, not api.fetch");
    // The global fetch as the transport, called as a method of another object (as ky calls it):
    // bound, so no "Illegal invocation". A request to this page, which the test server serves.
    localStorage.setItem("token", "a1");
    localStorage.setItem("refreshToken", "r1");
    let probe = null;
    const plain = make({ navigate: () => {}, refresh: async ({ fetch }) => {
      await tick(5);
      probe = (await ({ fetch }).fetch(location.href, { method: "HEAD" })).status;
      return { accessToken: "a2", refreshToken: "r2" };
    } });
    await plain.refresh();
    eq([probe, localStorage.getItem("token")], [200, "a2"], "the global fetch, bound");
  },

  async the_refresh_functions_own_request_takes_no_lease(make) {
    // setTokens during a refresh by function lets app requests go out again (through the driver's
    // lease after the first); the function's own request, known by its signal, goes as it is.
    const server = new FakeServer();
    const gate = deferred();
    let started = false;
    let ownStatus = null;
    let api;
    ({ api } = setup(make, { refreshUrl: undefined, refreshTimeoutMs: 3000, refresh: async ({ signal }) => {
      started = true;
      await gate.promise;
      ownStatus = (await api.fetch("/api/data", { signal })).status; // a URL the app calls too
      server.valid.add("a3");
      return { accessToken: "a3", refreshToken: "r3" };
    } }, { server }));
    server.expire();
    const first = api.fetch("/api/data");
    await until(() => started, "the refresh function to run");
    server.valid.add("a9");
    api.setTokens({ accessToken: "a9", refreshToken: "r9" });
    eq((await first).status, 200, "the waiting request goes with the tokens set");
    eq((await api.fetch("/api/data")).status, 200, "the app's request to the same URL");
    const before = server.callsTo("/api/data").length;
    gate.resolve();
    await until(() => ownStatus !== null, "the function's own request");
    eq(server.callsTo("/api/data").slice(before).map((c) => c.auth), [null], "the function's request goes without a token, as Rust sends it");
    eq(ownStatus, 401, "its answer is the function's, as it is");
    eq([(await api.fetch("/api/data")).status, server.refreshCalls], [200, 0]);
  },
};

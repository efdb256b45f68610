// Scenarios of the any-backend issue: a refresh function of the app's own, cookie sessions,
// refreshHeaders, getAccessToken, onTokens, isExpired and per-request control.
import { FakeServer, deferred, json, tick, until } from "./fake_server.js";
import { assert, eq, jwt, rejectsWith, runScenario, secs, setup, writeAsAnotherTab } from "./harness.js";

export const run = (name, make, tools) => runScenario(scenarios, name, make, tools);

/** setup() with a `refresh` function instead of `refreshUrl`. */
const withFunction = (make, refresh, options = {}, world = {}) => setup(make, { refreshUrl: undefined, refresh, ...options }, world);

/** The tokens a refresh function hands back, accepted by `server` from now on. */
function issue(server, accessToken, extra = {}) {
  server.valid.add(accessToken);
  return { accessToken, ...extra };
}

/** A cookie session: only the access token in storage, the refresh token in the server's "jar". */
function cookieSetup(make, options = {}, { token = true } = {}) {
  const server = new FakeServer();
  server.cookie = true;
  const ctx = setup(make, { refreshTokenIn: "cookie", ...options }, { tokens: false, server });
  if (token) ctx.api.setTokens({ accessToken: "a1" });
  return ctx;
}

export const scenarios = {
  async a_refresh_function_runs_once_for_every_waiting_request(make) {
    const seen = [];
    const gate = deferred();
    let server;
    ({ server } = { server: new FakeServer() });
    const { api } = withFunction(make, async (args) => {
      seen.push(args);
      await gate.promise;
      return issue(server, "a2", { refreshToken: "r2", expiresIn: 60 });
    }, {}, { server });
    server.expire();
    const all = [...Array(10)].map((_, i) => api.fetch("/api/get" + i));
    all.push(api.fetch("/api/post", { method: "POST", body: "kept" }));
    await until(() => seen.length === 1 && api.stats().queued >= 1, "the refresh to start");
    gate.resolve();
    eq((await Promise.all(all)).map((r) => r.status), Array(11).fill(200));
    eq(seen.length, 1, "one call of the refresh function");
    eq([seen[0].refreshToken, seen[0].accessToken, seen[0].signal instanceof AbortSignal], ["r1", "a1", true]);
    eq(server.callsTo("/api/post").map((c) => [c.auth, c.body]), [["Bearer a1", "kept"], ["Bearer a2", "kept"]]);
    eq([localStorage.getItem("token"), localStorage.getItem("refreshToken")], ["a2", "r2"]);
    eq(server.refreshCalls, 0, "the endpoint is not used");
  },

  async a_refresh_function_without_a_refresh_token_keeps_the_old_one(make) {
    const server = new FakeServer();
    const { api } = withFunction(make, async () => issue(server, "a2"), {}, { server });
    server.expire();
    eq((await api.fetch("/api/x")).status, 200);
    eq([localStorage.getItem("token"), localStorage.getItem("refreshToken")], ["a2", "r1"]);
  },

  async a_refresh_function_may_return_a_response_made_through_api_fetch(make) {
    // The function calls api.fetch: once at once (the synchronous part of its call), once after
    // an await with the signal it was given. Neither may queue behind the refresh it is.
    const server = new FakeServer({ refreshPath: "/graphql" });
    let api;
    const body = (t) => ({ method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ refreshToken: t }) });
    const variants = {
      sync: ({ refreshToken }) => api.fetch("/graphql", body(refreshToken)),
      afterAwait: async ({ refreshToken, signal }) => { await tick(5); return api.fetch("/graphql", { ...body(refreshToken), signal }); },
    };
    for (const [name, refresh] of Object.entries(variants)) {
      ({ api } = withFunction(make, refresh, { refreshTimeoutMs: 2000 }, { server, tokens: false }));
      localStorage.setItem("token", server.prefix + "a" + server.generation);
      localStorage.setItem("refreshToken", server.refreshToken);
      server.expire();
      const started = Date.now();
      const res = await api.fetch("/api/x");
      eq(res.status, 200, name);
      assert(Date.now() - started < 1500, name + ": answered without waiting out refreshTimeoutMs");
      const call = server.callsTo("/graphql").at(-1);
      eq(call.auth, null, name + ": the refresh request is the app's, sent as it is");
      eq(localStorage.getItem("token"), "a" + server.generation, name);
    }
    eq(server.refreshCalls, 2);
  },

  async a_refresh_function_response_is_judged_as_an_endpoint_answer(make) {
    const navigations = [];
    const server = new FakeServer({ refreshPath: "/graphql" });
    const { api } = withFunction(make, () => server.fetch("/graphql", { method: "POST", body: JSON.stringify({ refreshToken: "wrong" }) }), { navigate: (u) => navigations.push(u) }, { server });
    server.expire();
    await rejectsWith(api.fetch("/api/x"), "SESSION_EXPIRED");
    eq(localStorage.getItem("token"), null, "refused: the session ended");
    eq(navigations, ["/login"]);
  },

  async refresh_function_failures_are_classified(make) {
    const cases = {
      refused: [() => Promise.reject(Object.assign(new Error("refused by the SDK"), { code: "SESSION_EXPIRED" })), "SESSION_EXPIRED"],
      rejects: [() => Promise.reject(new TypeError("Failed to fetch")), "REFRESH_FAILED", "the refresh function threw"],
      throws: [() => { throw new Error("sync"); }, "REFRESH_FAILED", "the refresh function threw"],
      nothing: [async () => undefined, "REFRESH_FAILED", "must return a Response or { accessToken"],
      string: [async () => "a2", "REFRESH_FAILED", "must return a Response or { accessToken"],
      malformed: [async () => ({ accessToken: "bad token" }), "REFRESH_FAILED", "malformed access token"],
      badRefreshToken: [async () => ({ accessToken: "a2", refreshToken: 5 }), "REFRESH_FAILED", "malformed refresh token"],
    };
    for (const [name, [refresh, code, says]] of Object.entries(cases)) {
      const logouts = [];
      const { api, server } = withFunction(make, refresh, { onLogout: (i) => logouts.push(i.reason) });
      server.expire();
      const e = await rejectsWith(api.fetch("/api/x"), code);
      if (says) assert(e.message.includes(says), name + ": " + e.message);
      if (code === "SESSION_EXPIRED") {
        eq([localStorage.getItem("token"), logouts], [null, ["SESSION_EXPIRED"]], name);
      } else {
        eq([localStorage.getItem("token"), localStorage.getItem("refreshToken"), logouts], ["a1", "r1", []], name + ": tokens kept");
      }
      if (name === "rejects") assert(e.cause instanceof TypeError, "the function's error is the cause");
    }
  },

  async a_transport_answering_the_endpoint_with_no_response_is_a_failure(make) {
    // Only a refresh function may hand back tokens itself; a fetch that does is broken.
    const { server } = setup(make);
    const inner = server.fetch;
    const broken = make({ refreshUrl: "/auth/refresh", navigate: () => {}, fetch: (input, init) =>
      String(input.url || input).endsWith("/auth/refresh") ? Promise.resolve({ token: "a2", refreshToken: "r2" }) : inner(input, init) });
    server.expire();
    const e = await rejectsWith(broken.fetch("/api/x"), "REFRESH_FAILED");
    assert(e.message.includes("not a Response"), e.message);
    eq([localStorage.getItem("token"), localStorage.getItem("refreshToken")], ["a1", "r1"], "nothing stored");
  },

  async a_refresh_function_that_hangs_is_aborted_at_refresh_timeout(make) {
    let signal;
    const { api, server } = withFunction(make, (args) => { signal = args.signal; return new Promise(() => {}); }, { refreshTimeoutMs: 150 });
    server.expire();
    const e = await rejectsWith(api.fetch("/api/x"), "REFRESH_FAILED");
    assert(e.message.includes("refreshTimeoutMs"), e.message);
    assert(signal.aborted, "the signal aborted");
    eq(localStorage.getItem("refreshToken"), "r1");
  },

  async a_refresh_function_answer_after_logout_is_dropped(make) {
    const gate = deferred();
    const server = new FakeServer();
    const { api } = withFunction(make, async () => { await gate.promise; return issue(server, "a2", { refreshToken: "r2" }); }, {}, { server });
    server.expire();
    const pending = api.fetch("/api/x");
    await until(() => api.isRefreshing, "the refresh to start");
    api.clearTokens();
    gate.resolve();
    await rejectsWith(pending, "NO_REFRESH_TOKEN");
    await tick(20);
    eq([localStorage.getItem("token"), localStorage.getItem("refreshToken")], [null, null], "the late answer did not log back in");
  },

  async cookie_sessions_never_hold_a_refresh_token(make) {
    const { api, server } = cookieSetup(make);
    eq([localStorage.getItem("token"), localStorage.getItem("refreshToken")], ["a1", null], "setTokens({ accessToken }) is enough");
    const thrown = (() => { try { api.setTokens({ accessToken: "a9", refreshToken: "r9" }); } catch (e) { return e; } })();
    eq(thrown && thrown.code, "INVALID_TOKEN", "a refresh token is refused in a cookie session");
    assert(thrown.message.includes("HttpOnly cookie"), thrown.message);
    server.expire();
    eq((await Promise.all([api.fetch("/api/a"), api.fetch("/api/b")])).map((r) => r.status), [200, 200]);
    eq(server.refreshCalls, 1);
    const call = server.callsTo("/auth/refresh")[0];
    eq([call.credentials, call.body], ["include", JSON.stringify({ token: "a1" })], "credentials sent, no refresh token in the body");
    eq([localStorage.getItem("token"), localStorage.getItem("refreshToken")], ["a2", null], "a refresh token in the answer is not kept");
  },

  async a_cookie_session_starts_from_nothing_after_a_reload(make) {
    for (const start of ["request", "refresh()"]) {
      const { api, server } = cookieSetup(make, { storage: "memory" }, { token: false });
      if (start === "refresh()") {
        await api.refresh();
        eq(server.refreshCalls, 1, start);
        eq(server.callsTo("/auth/refresh")[0].body, "{}", start + ": nothing to send but the cookie");
      }
      eq((await api.fetch("/api/x")).status, 200, start);
      eq(server.callsTo("/api/x").map((c) => c.auth), start === "request" ? [null, "Bearer a2"] : ["Bearer a2"], start);
      eq(server.refreshCalls, 1, start);
      eq(localStorage.length, 0, start + ": memory storage");
    }
  },

  async junk_in_storage_does_not_block_a_cookie_refresh_from_nothing(make) {
    // What a stale app left under the key (`"undefined"`, `""`) is no session: the token the cookie
    // brings is stored over it, as over an empty key.
    for (const junk of ["undefined", "null", ""]) {
      const { api, server } = cookieSetup(make, {}, { token: false });
      localStorage.setItem("token", junk);
      await api.refresh();
      eq(localStorage.getItem("token"), "a2", JSON.stringify(junk) + ": the new token replaces it");
      eq((await api.fetch("/api/x")).status, 200, JSON.stringify(junk));
      eq(server.refreshCalls, 1, JSON.stringify(junk));
    }
  },

  async a_refused_cookie_ends_the_session_once(make) {
    // A session this page held (memory storage: started from the cookie) or saw in another tab's
    // storage ends once when the cookie is refused; after that there is no session to end.
    for (const storage of ["memory", "local"]) {
      const logouts = [], navigations = [];
      const { api, server } = cookieSetup(make, { storage, onLogout: (i) => logouts.push(i.reason), navigate: (u) => navigations.push(u) }, { token: false });
      if (storage === "memory") await api.refresh();
      else writeAsAnotherTab({ token: "a1" });
      server.expire();
      server.refreshAnswer = () => json(401, { error: "invalid_grant" });
      const all = [api.fetch("/api/a"), api.fetch("/api/b"), api.fetch("/api/c")];
      for (const p of all) await rejectsWith(p, "SESSION_EXPIRED");
      eq([server.refreshCalls, logouts, navigations], [storage === "memory" ? 2 : 1, ["SESSION_EXPIRED"], ["/login"]], storage);
      eq((await api.fetch("/api/d")).status, 401, storage + ": ended, the next 401 is the caller's");
      eq([logouts.length, navigations.length], [1, 1], storage + ": once");
    }
  },

  async a_refused_cookie_without_a_session_is_no_session(make) {
    // An anonymous visitor on a login form: no token here, none seen. A refused cookie means "no
    // session", not "session ended": each 401 reaches its caller, nobody is logged out or sent
    // anywhere, and refresh() says NO_SESSION.
    const logouts = [], navigations = [], errors = [];
    const { api, server } = cookieSetup(make, {
      storage: "memory", onLogout: (i) => logouts.push(i.reason), navigate: (u) => navigations.push(u), onRefreshError: (e) => errors.push(e.code),
    }, { token: false });
    server.refreshAnswer = () => json(401, { error: "invalid_grant" });
    for (const attempt of [1, 2]) {
      const res = await api.fetch("/api/login", { method: "POST", body: "wrong password" });
      eq([res.status, (await res.json()).error], [401, "expired"], "attempt " + attempt + ": the caller's own 401, body intact");
    }
    eq(server.callsTo("/api/login").map((c) => [c.auth, c.body]), [[null, "wrong password"], [null, "wrong password"]], "sent once each, not replayed");
    // During the refresh: the answer that started it, a request that waited for it (sent once,
    // after it, as without one), and a 401 that came while it ran (parked by the driver).
    const releaseC = server.holdPath("/api/c");
    const c = api.fetch("/api/c");
    await until(() => server.callsTo("/api/c").length === 1, "c to be sent");
    const releaseRefresh = server.holdRefresh();
    const a = api.fetch("/api/a");
    await until(() => api.isRefreshing, "the refresh to start");
    const b = api.fetch("/api/b", { method: "PUT", body: "kept" });
    releaseC();
    await until(() => api.stats().queued === 3, "a, b and c to wait for the refresh");
    releaseRefresh();
    eq((await Promise.all([a, b, c])).map((r) => r.status), [401, 401, 401]);
    eq([server.callsTo("/api/a").length, server.callsTo("/api/b").map((c) => [c.auth, c.body]), server.callsTo("/api/c").length], [1, [[null, "kept"]], 1]);
    await rejectsWith(api.refresh(), "NO_SESSION");
    eq(await api.getAccessToken(), null, "getAccessToken: no session");
    eq([server.refreshCalls, logouts, navigations, errors], [5, [], [], []], "no logout, no navigation, no refresh error");
    // The cookie starts working (the user signed in through a form that set it): the next 401
    // refreshes through it and is replayed.
    server.refreshAnswer = null;
    eq((await api.fetch("/api/me")).status, 200);
    eq(server.callsTo("/api/me").map((c) => c.auth), [null, "Bearer a2"]);
  },

  async a_failing_cookie_refresh_without_a_session_returns_the_401(make) {
    // The same anonymous visitor, with a refresh endpoint that fails instead of refusing (a 403
    // for a missing CSRF header, a 503): the caller's own 401 still stands (the second attempt
    // waits out the back-off first), and each failure is heard as such.
    for (const status of [403, 503]) {
      const logouts = [], errors = [];
      const { api, server } = cookieSetup(make, { storage: "memory", onLogout: (i) => logouts.push(i.reason), onRefreshError: (e) => errors.push(e.code) }, { token: false });
      server.refreshAnswer = () => json(status, { error: "nope" });
      for (const attempt of [1, 2]) {
        const res = await api.fetch("/api/login", { method: "POST", body: "wrong password" });
        eq(res.status, 401, status + ", attempt " + attempt + ": the caller's own 401");
      }
      eq([server.refreshCalls, logouts, errors], [2, [], ["REFRESH_FAILED", "REFRESH_FAILED"]], status + ": one attempt each, nobody logged out");
    }
  },

  async cookie_sessions_take_the_lock_even_with_memory_storage(make) {
    // Two tabs with memory storage cannot see each other's tokens but share the rotating cookie:
    // the lock must still be held while one of them spends it.
    const { api, server } = cookieSetup(make, { storage: "memory" });
    server.expire();
    const release = server.holdRefresh();
    const pending = api.fetch("/api/x");
    await until(() => server.refreshCalls === 1, "the refresh to be sent");
    const { held } = await navigator.locks.query();
    assert(held.some((l) => l.name.startsWith("seamless-fetch:token:")), "the refresh lock is held: " + JSON.stringify(held));
    release();
    eq((await pending).status, 200);
  },

  async refresh_headers_go_with_every_refresh(make) {
    let n = 0;
    for (const [refreshHeaders, expected] of [
      [{ "X-CSRF-Token": "c1" }, ["c1", "c1"]],
      [() => ({ "X-CSRF-Token": "c" + ++n }), ["c1", "c2"]],
    ]) {
      for (const refreshFormat of ["json", "oauth2"]) {
        const server = new FakeServer();
        server.refreshAnswer = () => { server.valid.add("a" + ++server.generation); return json(200, { token: "a" + server.generation, access_token: "a" + server.generation }); };
        const { api } = setup(make, { refreshHeaders, refreshFormat }, { server });
        n = 0;
        for (const round of [1, 2]) {
          server.expire();
          eq((await api.fetch("/api/x" + round)).status, 200, refreshFormat + " round " + round);
        }
        const sent = server.callsTo("/auth/refresh").map((c) => c.headers.get("x-csrf-token"));
        eq(sent, expected, refreshFormat + (typeof refreshHeaders === "function" ? " (function)" : " (object)"));
        eq(server.callsTo("/auth/refresh")[0].contentType, refreshFormat === "json" ? "application/json" : "application/x-www-form-urlencoded");
      }
    }
    const server = new FakeServer();
    const { api } = setup(make, { refreshHeaders: () => ({ "bad header": "x" }) }, { server });
    server.expire();
    const e = await rejectsWith(api.fetch("/api/x"), "REFRESH_FAILED");
    assert(e.message.includes("refreshHeaders"), e.message);
    eq([server.refreshCalls, localStorage.getItem("refreshToken")], [0, "r1"]);
  },

  async get_access_token_refreshes_only_when_it_must(make) {
    const server = new FakeServer();
    let issued = 0;
    const gate = { promise: Promise.resolve() };
    const { api } = withFunction(make, async () => {
      await gate.promise;
      issued++;
      return issue(server, jwt({ iat: secs(Date.now()), exp: secs(Date.now()) + 60, n: issued }), { refreshToken: "r" + (issued + 1) });
    }, {}, { server, tokens: false });
    eq(await api.getAccessToken(), null, "no session");
    const first = jwt({ iat: secs(Date.now()) - 10, exp: secs(Date.now()) + 50 });
    api.setTokens({ accessToken: first, refreshToken: "r1" });
    eq(await api.getAccessToken(), first, "valid: no refresh");
    eq(await api.getAccessToken({ minValidityMs: 30_000 }), first, "valid for 30 s more");
    eq(issued, 0);
    const hold = deferred();
    gate.promise = hold.promise;
    const asked = [api.getAccessToken({ minValidityMs: 55_000 }), api.getAccessToken({ minValidityMs: 55_000 }), api.fetch("/api/x")];
    await until(() => api.isRefreshing, "the refresh to start");
    hold.resolve();
    const [t1, t2, res] = await Promise.all(asked);
    eq([issued, t1 === t2, t1 !== first, res.status], [1, true, true, 200], "one refresh for all of them");
    eq(t1, localStorage.getItem("token"));
    await rejectsWith(api.getAccessToken({ minValidityMs: -1 }), "INVALID_OPTIONS");
    api.clearTokens();
    eq(await api.getAccessToken(), null, "logged out");
  },

  async get_access_token_after_a_refusal_is_null(make) {
    const { api, server } = setup(make, { loginUrl: null }, { tokens: false });
    api.setTokens({ accessToken: jwt({ exp: secs(Date.now()) - 5 }), refreshToken: "wrong" });
    eq(await api.getAccessToken(), null);
    eq(server.refreshCalls, 1);
    const transient = setup(make, {}, { tokens: false });
    transient.api.setTokens({ accessToken: jwt({ exp: secs(Date.now()) - 5 }), refreshToken: "r1" });
    transient.server.refreshAnswer = () => json(503, {});
    await rejectsWith(transient.api.getAccessToken(), "REFRESH_FAILED");
  },

  async on_tokens_tells_every_instance_once_and_never_the_token(make) {
    const server = new FakeServer();
    const heard = { a: [], b: [] };
    const refresh = async () => issue(server, "a" + ++server.generation, { refreshToken: "r" + server.generation, expiresIn: 60 });
    const { api } = withFunction(make, refresh, { onTokens: (e) => heard.a.push(e) }, { server });
    const other = make({ refresh, fetch: server.fetch, navigate: () => {}, onTokens: (e) => heard.b.push(e) });
    server.expire();
    await Promise.all([api.fetch("/api/1"), other.fetch("/api/2")]);
    eq(heard.a.map((e) => e.reason), ["refresh"]);
    eq(heard.b.map((e) => e.reason), ["refresh"], "the other instance hears the same change once");
    assert(Math.abs(heard.a[0].expiresAt - (Date.now() + 60_000)) < 2000, "expiresAt from expiresIn: " + heard.a[0].expiresAt);
    api.setTokens({ accessToken: "a9", refreshToken: "r9" });
    writeAsAnotherTab({ token: "a10", refreshToken: "r10" });
    writeAsAnotherTab({ token: "a10" }); // the same token again: no change to announce
    other.clearTokens();
    eq(heard.a.map((e) => [e.reason, e.expiresAt]), [["refresh", heard.a[0].expiresAt], ["set", null], ["tab", null], ["clear", null]]);
    eq(heard.b.map((e) => e.reason), ["refresh", "set", "tab", "clear"]);
    for (const e of heard.a) eq(Object.keys(e).sort(), ["expiresAt", "reason"], "nothing but reason and expiresAt");
    other.free();
    api.setTokens({ accessToken: "a11", refreshToken: "r11" });
    eq([heard.a.length, heard.b.length], [5, 4], "a freed instance hears no more");
  },

  async is_expired_adds_the_apps_own_test_on_a_clone(make) {
    const server = new FakeServer();
    const inner = server.fetch;
    // wretch #110: the server says so in a header, with a 200.
    server.fetch = async (input, init) => {
      const res = await inner(input, init);
      if (res.status !== 401) return res;
      return new Response(JSON.stringify({ data: null }), { status: 200, headers: { "content-type": "application/json", "token-expired": "true" } });
    };
    const peeked = [];
    const { api } = setup(make, {
      isExpired: async (res) => { peeked.push((await res.text()).length > 0); return res.headers.get("token-expired") === "true"; },
    }, { server });
    const plain = await api.fetch("/api/plain");
    eq([(await plain.json()).path, peeked], ["/api/plain", [true]], "isExpired read a clone; the caller's body is whole");
    server.expire();
    const res = await api.fetch("/api/x");
    eq([res.status, (await res.json()).path, server.refreshCalls], [200, "/api/x", 1], "replayed with the new token");
    eq(server.callsTo("/api/x").map((c) => c.auth), ["Bearer a1", "Bearer a2"]);
    eq(peeked, [true, true], "a replay's answer goes to the caller unjudged");
    const throwing = setup(make, { isExpired: () => { throw new Error("bug in the app"); } });
    const errors = [];
    const original = console.error;
    console.error = (...a) => errors.push(a.join(" "));
    try {
      eq((await throwing.api.fetch("/api/y")).status, 200, "a throwing isExpired counts as no");
    } finally {
      console.error = original;
    }
    assert(errors.some((e) => e.includes("isExpired")), "and is reported");
  },

  async headers_are_read_as_fetch_reads_them_whatever_their_form(make) {
    // Plain objects are copied as plain objects (names without case, values as Headers trims
    // them); a Headers or a list of pairs as a Headers. Either way the caller's own object is
    // left as it was, its own Authorization is sent untouched, and the control header is obeyed.
    const { api, server } = setup(make);
    server.expire();
    const forms = {
      object: (h) => h,
      "null-prototype-object": (h) => Object.assign(Object.create(null), h),
      Headers: (h) => new Headers(h),
      pairs: (h) => Object.entries(h),
    };
    const shown = (h) => JSON.stringify(h instanceof Headers ? [...h] : Array.isArray(h) ? h : Object.entries(h));
    for (const [form, shaped] of Object.entries(forms)) {
      const own = shaped({ AUTHORIZATION: "Basic b3du", "x-custom": "1" });
      eq((await api.fetch("/api/own/" + form, { headers: own })).status, 401, form + ": its own token's 401 is the caller's");
      const sent = server.callsTo("/api/own/" + form);
      eq([sent.length, sent[0].auth, sent[0].headers.get("x-custom")], [1, "Basic b3du", "1"], form + ": sent as given, once");
      const control = shaped({ "X-Seamless-FETCH": " no-token\t", "x-custom": "2" });
      const before = shown(control);
      eq((await api.fetch("/api/control/" + form, { headers: control })).status, 401, form);
      const plain = server.callsTo("/api/control/" + form)[0];
      eq([plain.auth, plain.headers.get("x-seamless-fetch"), plain.headers.get("x-custom")], [null, null, "2"], form + ": no-token obeyed, header not sent");
      eq(shown(control), before, form + ": the caller's headers untouched");
    }
    eq(server.refreshCalls, 0);
    const untouched = { "x-seamless-fetch": "no-refresh", "x-custom": "3" };
    await api.fetch("/api/kept", { headers: untouched });
    eq(JSON.stringify(untouched), JSON.stringify({ "x-seamless-fetch": "no-refresh", "x-custom": "3" }), "the caller's object is not changed");
    eq(server.callsTo("/api/kept")[0].auth, "Bearer a1", "the token goes on the copy");
  },

  async per_request_control_through_a_header(make) {
    const { api, server } = setup(make);
    server.expire();
    const anonymous = await api.fetch("/api/public", { headers: { "X-Seamless-Fetch": "no-token" } });
    eq(anonymous.status, 401, "returned as it is");
    const sent = server.callsTo("/api/public")[0];
    eq([sent.auth, sent.headers.get("x-seamless-fetch"), server.refreshCalls], [null, null, 0], "no token, header removed, no refresh");
    // As ky and openapi-fetch pass it: a Request.
    const noRefresh = await api.fetch(new Request(location.origin + "/api/poll", { method: "POST", body: "b", headers: { "x-seamless-fetch": "no-refresh" } }));
    eq(noRefresh.status, 401);
    const poll = server.callsTo("/api/poll");
    eq([poll.length, poll[0].auth, poll[0].headers.get("x-seamless-fetch"), server.refreshCalls], [1, "Bearer a1", null, 0], "token, no refresh, no replay");
    await rejectsWith(api.fetch("/api/x", { headers: { "x-seamless-fetch": "skip" } }), "INVALID_OPTIONS");
    eq(server.callsTo("/api/x").length, 0, "a mistyped control is not sent");
    eq((await api.fetch("/api/normal")).status, 200, "others still refresh");
    eq(server.refreshCalls, 1);
  },
  async refresh_answers_name_the_tokens_in_the_common_ways(make) {
    // Each answer, with no tokenPaths (and with an explicit one where given): the stored pair, or
    // the refusal. "x"/"wrong" mark names that must lose to the one before them.
    const cases = [
      [{ accessToken: "a2", refreshToken: "r2", expiresIn: 60 }, {}, ["a2", "r2", 60]],
      [{ token: "a2", refreshToken: "r2" }, {}, ["a2", "r2", null]],
      [{ access_token: "a2", refresh_token: "r2", expires_in: 60, token_type: "Bearer" }, {}, ["a2", "r2", 60]],
      [{ access_token: "a2", refresh_token: "r2", expires_in: 60 }, { refreshFormat: "oauth2" }, ["a2", "r2", 60]],
      [{ accessToken: "a2", token: "x", access_token: "x", refreshToken: "r2", refresh_token: "x", expiresIn: 60, expires_in: 1 }, {}, ["a2", "r2", 60]],
      [{ token: "a2", access_token: "x" }, {}, ["a2", "r1", null]],
      [{ data: { jwt: "a2" }, accessToken: "wrong", refresh_token: "r2" }, { tokenPaths: { accessToken: "data.jwt" } }, ["a2", "r2", null]],
      [{ accessToken: "a2", refreshToken: "wrong", rt: "r2" }, { tokenPaths: { refreshToken: "rt" } }, ["a2", "r2", null]],
    ];
    for (const [answer, options, [access, refresh, expiresIn]] of cases) {
      const what = JSON.stringify([answer, options]);
      const server = new FakeServer();
      server.refreshAnswer = () => { server.valid.add("a2"); return json(200, answer); };
      const heard = [];
      const { api } = setup(make, { ...options, onTokens: (e) => heard.push(e.expiresAt) }, { server });
      server.expire();
      eq((await api.fetch("/api/x")).status, 200, what);
      eq([localStorage.getItem("token"), localStorage.getItem("refreshToken")], [access, refresh], what);
      assert(expiresIn === null ? heard[0] === null : Math.abs(heard[0] - (Date.now() + expiresIn * 1000)) < 5000, what + ": expiresAt " + heard[0]);
    }
    // Not there: the error says which names were looked for and what the answer had, never a
    // value; an explicit path is the only one read.
    const keys = Object.fromEntries([...Array(12)].map((_, i) => ["k" + i, "SECRETv" + i]));
    for (const [answer, options, says] of [
      [{ jwt: "SECRETa", refresh_token: "SECRETr" }, {}, "(looked for accessToken, token, access_token; it has jwt, refresh_token)"],
      [{ accessToken: "SECRETa" }, { tokenPaths: { accessToken: "data.jwt" } }, "(looked for data.jwt; it has accessToken)"],
      [{ ["long" + "x".repeat(100)]: 1, ...keys }, {}, "it has long" + "x".repeat(28) + ", k0, k1, k2, k3, k4, k5, k6 and 5 more)"],
      [{}, {}, "it has no fields)"],
      [{ "\u00e9\u0007x\u202e": 1 }, {}, "it has ??x?)"],
    ]) {
      const server = new FakeServer();
      server.refreshAnswer = () => json(200, answer);
      const { api } = setup(make, options, { server });
      const e = await rejectsWith(api.refresh(), "REFRESH_FAILED");
      assert(e.message.startsWith("the refresh answer has no access token (looked for ") && e.message.includes(says), e.message);
      assert(!e.message.includes("SECRET") && !e.message.includes("x".repeat(29)), "no value, keys cut short: " + e.message);
      eq([localStorage.getItem("token"), localStorage.getItem("refreshToken")], ["a1", "r1"], "the session is kept");
    }
  },
};

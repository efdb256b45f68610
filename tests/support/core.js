// Scenarios of the foundation issue: single flight, queueing, replay, no loop, refusal.
// Each takes `make(options)` (which builds a real AuthFetch) and throws on a failed check.
import { FakeServer, canReadBlobForms, json, tick, until } from "./fake_server.js";
import { assert, captureConsole, eq, rejectsWith, runScenario, setup, writeAsAnotherTab } from "./harness.js";

export const run = (name, make, tools) => runScenario(scenarios, name, make, tools);

export const scenarios = {
  async attaches_token_to_same_origin_only(make) {
    const { api, server } = setup(make);
    await api.fetch("/api/relative");
    await api.fetch(new URL("/api/url-object", location.href));
    await api.fetch(new Request("/api/request-object"));
    await api.fetch(location.origin + "/api/absolute");
    await api.fetch("https://other.example/api");
    await api.fetch("http://" + location.host.replace(/:\d+$/, "") + ":1/api");
    const auth = server.calls.map((c) => [c.url.startsWith(location.origin) ? c.path : c.url, c.auth]);
    eq(auth, [
      ["/api/relative", "Bearer a1"], ["/api/url-object", "Bearer a1"], ["/api/request-object", "Bearer a1"],
      ["/api/absolute", "Bearer a1"], ["https://other.example/api", null],
      ["http://" + location.hostname + ":1/api", null],
    ]);
  },

  async a_base_element_pointing_elsewhere_gets_no_token(make) {
    // fetch resolves a relative URL against the document's base URL, not the page's location.
    const { api, server } = setup(make);
    await api.fetch("/api/before");
    eq(server.calls[0].auth, "Bearer a1");
    const base = document.createElement("base");
    base.href = "https://other.example/app/";
    document.head.append(base);
    try {
      await api.fetch("/api/x");
      await api.fetch("/api/x"); // the second time from what was resolved before
      await api.fetch("relative");
    } finally {
      base.remove();
    }
    await api.fetch("/api/x");
    eq(server.calls.slice(1).map((c) => [c.url, c.auth]), [
      ["https://other.example/api/x", null], ["https://other.example/api/x", null], ["https://other.example/app/relative", null],
      [location.origin + "/api/x", "Bearer a1"],
    ]);
  },

  async a_replay_goes_where_the_first_attempt_went(make) {
    // The replay is made anew from the absolute URL the first attempt went to: a base URL that
    // changed meanwhile (a <base> element, a router) does not move it.
    const { api, server } = setup(make);
    server.expire();
    const path = new URL("replayed-here", document.baseURI).pathname;
    const release = server.holdPath(path);
    const pending = api.fetch("replayed-here");
    await until(() => server.callsTo(path).length === 1, "the first attempt");
    const base = document.createElement("base");
    base.href = location.origin + "/elsewhere/";
    document.head.append(base);
    try {
      release();
      eq((await pending).status, 200);
    } finally {
      base.remove();
    }
    eq(server.calls.filter((c) => c.path !== "/auth/refresh").map((c) => c.path), [path, path]);
  },

  async a_refresh_token_replaced_alone_is_the_one_spent(make) {
    // Storage reads reuse the pair read last only while both stored strings are unchanged.
    const { api, server } = setup(make);
    eq((await api.fetch("/api/a")).status, 200);
    localStorage.setItem("refreshToken", "r2");
    server.refreshToken = "r2";
    server.expire();
    eq((await api.fetch("/api/b")).status, 200);
    eq(server.refreshCalls, 1);
    eq(JSON.parse(server.callsTo("/auth/refresh")[0].body).refreshToken, "r2");
  },

  async other_origin_401_is_not_refreshed(make) {
    const { api, server } = setup(make);
    server.expire();
    const res = await api.fetch("https://other.example/api");
    eq(res.status, 401);
    eq(server.refreshCalls, 0);
  },

  async the_bound_fetch_outlives_its_auth_fetch(make) {
    // Own keys: the function keeps its session alive past this scenario, until it is collected.
    const { server } = setup(make, {}, { tokens: false });
    localStorage.setItem("outlive-t", "a1");
    localStorage.setItem("outlive-r", "r1");
    // e.g. ky.create({ fetch: new AuthFetch(o).fetch }): nothing keeps the object, only its fetch.
    const f = make.untracked({ refreshUrl: "/auth/refresh", fetch: (i, n) => server.fetch(i, n), navigate: () => {}, accessTokenKey: "outlive-t", refreshTokenKey: "outlive-r" }).fetch;
    // The object may be collected now (hardening.js, a_collected_auth_fetch_leaves_its_bound_fetch_whole,
    // waits for that); what the bound fetch needs, the fetch holds. (`dispose()` ends the bound
    // fetch too: hardening.js, dispose_ends_an_instance_and_its_bound_fetch.)
    server.expire();
    eq((await f("/api/x")).status, 200, "still works, refresh included");
    eq(server.refreshCalls, 1);
  },

  async fetch_is_bound_and_returns_real_responses(make) {
    const { api } = setup(make);
    const f = api.fetch;
    assert(f === api.fetch, "the same function every time");
    const res = await f("/api/me");
    assert(res instanceof Response, "a real Response");
    eq((await res.json()).path, "/api/me");
    const notFound = await f.call(undefined, "/api/404", { method: "DELETE" });
    eq(notFound.status, 200, "non-2xx and 2xx both resolve; this fake answers 200");
  },

  async concurrent_expired_requests_share_one_refresh(make) {
    // crossTab off too: the Web Lock alone would also serialise refreshes, so this proves the
    // in-tab single flight on its own.
    for (const crossTab of [true, false]) await oneRefreshForMany(make, crossTab);
  },

  async requests_started_during_a_refresh_wait_and_use_the_new_token(make) {
    const { api, server } = setup(make, { crossTab: false });
    server.expire();
    const release = server.holdRefresh();
    const first = api.fetch("/api/first");
    await until(() => api.isRefreshing, "the refresh to start");
    const later = ["/api/w1", "/api/w2", "/api/w3"].map((p) => api.fetch(p));
    await until(() => api.stats().queued === 4, "4 waiting");
    eq(later.length, 3);
    eq(server.calls.filter((c) => c.path.startsWith("/api/w")).length, 0, "nothing sent while refreshing");
    release();
    const all = await Promise.all([first, ...later]);
    eq(all.map((r) => r.status), [200, 200, 200, 200]);
    for (const p of ["/api/w1", "/api/w2", "/api/w3"]) eq(server.callsTo(p).map((c) => c.auth), ["Bearer a2"], p);
    eq(api.stats().queued, 0);
    assert(!api.isRefreshing, "flag lowered");
  },

  async answers_parked_during_a_refresh_keep_their_bodies_and_abort_at_once(make) {
    // Requests sent by the shortcut, answered "expired" while the refresh runs: the shell parks
    // those answers (the core's PARK) and reports them in one batch before its next event. The
    // caller's abort still ends a parked one at once, and each replay is its request again, body
    // and method included.
    const { api, server } = setup(make);
    eq((await api.fetch("/api/warm")).status, 200);
    server.expire();
    const releaseHeld = server.holdPath("/api/held");
    const bytes = new Uint8Array([1, 2, 3]);
    const post = api.fetch("/api/held", { method: "POST", body: "payload", headers: { "content-type": "text/plain" } });
    const put = api.fetch("/api/held", { method: "PUT", body: bytes });
    const controller = new AbortController();
    const aborted = api.fetch("/api/held", { signal: controller.signal });
    await until(() => server.callsTo("/api/held").length === 3, "the three first attempts");
    const releaseRefresh = server.holdRefresh();
    const trigger = api.fetch("/api/now");
    await until(() => server.refreshCalls === 1, "the refresh");
    releaseHeld();
    await tick(20); // the three 401s arrive and are parked
    controller.abort();
    await rejectsWith(aborted, "AbortError");
    eq(server.callsTo("/api/held").length, 3, "nothing replayed before the refresh answered");
    releaseRefresh();
    eq((await Promise.all([post, put, trigger])).map((r) => r.status), [200, 200, 200]);
    const held = server.callsTo("/api/held").map((c) => [c.method, c.auth, c.body]);
    eq(held.slice(3), [["POST", "Bearer a2", "payload"], ["PUT", "Bearer a2", "\u0001\u0002\u0003"]], "replays, with their bodies");
    eq(server.refreshCalls, 1);
    eq(api.stats(), { refreshes: 1, retried: 3, queued: 0 });
  },

  async a_replay_is_the_callers_and_ends_as_its_transport_ends_it(make) {
    // A replay is the last attempt: the core lets it go as it sends it (SEND_LAST), and the
    // shell hands its answer or error to the caller itself. A replay aborted once it is out ends
    // as its transport ends it (here one that honours the signal: its AbortError), one whose
    // instance was disposed meanwhile still has its answer, and stats() count what the core did.
    const server = new FakeServer();
    const transport = (input, init) => new Promise((resolve, reject) => {
      init?.signal?.addEventListener("abort", () => reject(init.signal.reason), { once: true });
      server.fetch(input, init).then(resolve, reject);
    });
    const { api } = setup(make, { fetch: transport }, { server });
    eq((await api.fetch("/api/warm")).status, 200);
    server.expire();
    const releaseRefresh = server.holdRefresh();
    const controller = new AbortController();
    const aborted = api.fetch("/api/a", { signal: controller.signal });
    const kept = api.fetch("/api/b");
    const plain = api.fetch("/api/c");
    await until(() => server.refreshCalls === 1, "the refresh");
    await until(() => server.callsTo("/api/c").length === 1, "the first attempts");
    const releaseA = server.holdPath("/api/a");
    const releaseB = server.holdPath("/api/b");
    releaseRefresh();
    await until(() => server.callsTo("/api/a").length === 2 && server.callsTo("/api/b").length === 2, "the replays, held");
    eq((await plain).status, 200);
    eq(api.stats(), { refreshes: 1, retried: 3, queued: 0 });
    controller.abort();
    await rejectsWith(aborted, "AbortError");
    api.dispose();
    releaseA();
    releaseB();
    const answer = await kept;
    eq([answer.status, (await answer.json()).path], [200, "/api/b"]);
    eq(server.callsTo("/api/b").map((c) => c.auth), ["Bearer a1", "Bearer a2"]);
    eq(server.refreshCalls, 1);
  },

  async a_url_sent_before_follows_every_change_of_the_session(make) {
    // The driver sends a request to a URL Rust just sent on the happy path by itself, with the
    // token Rust chose, until something Rust's plan reads changes. Each leg repeats one URL.
    // A refresh begins: the next request to the same URL waits for it like any other.
    {
      const { api, server } = setup(make, { crossTab: false });
      for (let i = 0; i < 2; i++) eq((await api.fetch("/api/same")).status, 200);
      server.expire();
      const release = server.holdRefresh();
      const first = api.fetch("/api/first");
      await until(() => api.isRefreshing, "the refresh to start");
      const later = api.fetch("/api/same");
      await until(() => api.stats().queued === 2, "2 waiting");
      eq(server.callsTo("/api/same").length, 2, "nothing sent while refreshing");
      release();
      eq((await Promise.all([first, later])).map((r) => r.status), [200, 200]);
      eq(server.callsTo("/api/same").map((c) => c.auth), ["Bearer a1", "Bearer a1", "Bearer a2"]);
    }
    // Requests to that URL that Rust would treat otherwise still are: the caller's own token
    // header, the control header, an aborted signal; and a stored pair missing its refresh token
    // is no session.
    {
      const { api, server } = setup(make);
      for (let i = 0; i < 2; i++) eq((await api.fetch("/api/same")).status, 200);
      eq((await api.fetch("/api/same", { headers: { Authorization: "Bearer mine" } })).status, 401);
      eq((await api.fetch("/api/same", { headers: { "x-seamless-fetch": "no-token" } })).status, 401);
      const aborted = new AbortController();
      aborted.abort();
      await rejectsWith(api.fetch("/api/same", { signal: aborted.signal }), "AbortError");
      server.expire();
      eq((await api.fetch("/api/same", { headers: { "x-seamless-fetch": "no-refresh" } })).status, 401, "no-refresh: the 401 is the caller's");
      eq(server.refreshCalls, 0);
      server.valid.add("a1");
      localStorage.removeItem("refreshToken");
      await rejectsWith(api.fetch("/api/same"), "NO_REFRESH_TOKEN");
      eq(server.callsTo("/api/same").map((c) => c.auth), ["Bearer a1", "Bearer a1", "Bearer mine", null, "Bearer a1", null]);
    }
    // Another tab stores new tokens: the next request carries them.
    {
      const { api, server } = setup(make);
      for (let i = 0; i < 2; i++) eq((await api.fetch("/api/same")).status, 200);
      server.valid.add("a9");
      writeAsAnotherTab({ token: "a9", refreshToken: "r9" });
      eq((await api.fetch("/api/same")).status, 200);
      eq(server.callsTo("/api/same").map((c) => c.auth), ["Bearer a1", "Bearer a1", "Bearer a9"]);
    }
    // Tokens in memory, set and cleared: nothing in Web Storage tells, the session does.
    {
      const server = new FakeServer();
      const { api } = setup(make, { storage: "memory" }, { tokens: false, server });
      api.setTokens({ accessToken: "a1", refreshToken: "r1" });
      for (let i = 0; i < 2; i++) eq((await api.fetch("/api/mem")).status, 200);
      server.valid.add("b1");
      api.setTokens({ accessToken: "b1", refreshToken: "r1" });
      eq((await api.fetch("/api/mem")).status, 200);
      api.clearTokens();
      eq((await api.fetch("/api/mem")).status, 401, "no token, never logged in: the 401 is the app's");
      eq(server.callsTo("/api/mem").map((c) => c.auth), ["Bearer a1", "Bearer a1", "Bearer b1", null]);
    }
  },

  async a_late_401_after_the_refresh_is_retried_without_a_second_refresh(make) {
    const { api, server } = setup(make);
    const releaseSlow = server.holdPath("/api/slow");
    const slow = api.fetch("/api/slow");
    await until(() => server.callsTo("/api/slow").length === 1, "slow request sent");
    server.expire();
    eq((await api.fetch("/api/fast")).status, 200);
    eq(server.refreshCalls, 1);
    releaseSlow();
    eq((await slow).status, 200);
    eq(server.refreshCalls, 1, "no second refresh");
    eq(server.callsTo("/api/slow").map((c) => c.auth), ["Bearer a1", "Bearer a2"]);
  },

  async each_attempt_goes_out_with_headers_of_its_own(make) {
    // A transport may keep what it is given (a log, a retry layer, a test double): a replay must
    // not rewrite the headers an earlier attempt of the same request went out with. Both paths:
    // a request made anew after its first answer, and one kept between attempts (`isExpired`).
    for (const [path, options] of [["made anew", {}], ["kept", { isExpired: (r) => r.status === 401 }]]) {
      const server = new FakeServer();
      const given = [];
      const { api } = setup(make, options, { server });
      const own = server.fetch;
      server.fetch = (input, init) => { if (init && init.headers) given.push(init.headers); return own(input, init); };
      server.expire();
      eq((await api.fetch("/api/me", { headers: { "x-custom": "kept" } })).status, 200);
      eq(given.map((h) => new Headers(h).get("authorization")), ["Bearer a1", "Bearer a2"], path + ": as each attempt went out");
      eq(given.map((h) => new Headers(h).get("x-custom")), ["kept", "kept"], path);
    }
  },

  async an_invalid_request_throws_before_an_aborted_signal(make) {
    // fetch builds its Request before it looks at the signal: with an already-aborted signal and
    // an init it cannot build a Request from, it throws that TypeError, not the AbortError (WPT
    // abort/general.any.js). api.fetch must too: on a URL's first request and on one sent before
    // (the driver's lease), with and without tokens, whatever form the headers take.
    const invalid = {
      "mode navigate": { mode: "navigate" },
      "forbidden method": { method: "CONNECT" },
      "invalid method": { method: "bad method" },
      "no-cors PUT": { mode: "no-cors", method: "PUT" },
      "only-if-cached, cors": { cache: "only-if-cached" },
      "bad referrer": { referrer: "http://[" },
      "bad referrerPolicy": { referrerPolicy: "nope" },
      "bad mode": { mode: "nope" },
      "bad credentials": { credentials: "nope" },
      "bad cache": { cache: "nope" },
      "bad redirect": { redirect: "nope" },
      "window not null": { window: {} },
      "GET with a body": { body: "x" },
    };
    const headerForms = [undefined, { "X-Custom": "1" }, [["X-Custom", "1"]], new Headers({ "X-Custom": "1" })];
    const nameOf = (p) => p.then(() => "resolved", (e) => e.name);
    for (const tokens of [true, false]) {
      const { api, server } = setup(make, {}, { tokens });
      const url = location.origin + "/api/invalid";
      for (const sentBefore of [false, true]) {
        if (sentBefore) eq((await api.fetch(url)).status, tokens ? 200 : 401, "a request to the URL first");
        const before = server.calls.length;
        const got = [];
        for (const [name, init] of Object.entries(invalid)) {
          for (const headers of headerForms) {
            const full = { ...init, headers, signal: AbortSignal.abort() };
            got.push([name, await nameOf(fetch(url, full)), await nameOf(api.fetch(url, full))]);
          }
        }
        const what = (tokens ? "tokens" : "no tokens") + (sentBefore ? ", URL sent before" : ", first request");
        eq(got.filter(([, native, ours]) => native !== ours), [], what + ": [init, native fetch, api.fetch] that differ");
        // Chromium ignores `window` (no TypeError from fetch either); every other init is refused.
        eq(got.filter(([name, native]) => native !== "TypeError" && name !== "window not null"), [], what + ": native fetch refuses each");
        // A valid init with the aborted signal still rejects with the abort, and nothing was sent.
        eq(await nameOf(api.fetch(url, { method: "PUT", headers: [["X-Custom", "1"]], signal: AbortSignal.abort() })), "AbortError", what + ": a valid init");
        eq(server.calls.length, before, what + ": nothing sent");
      }
    }
  },

  async header_names_reach_the_transport_as_given(make) {
    // fetch sends header names over HTTP/1.1 as the caller spelt them; a `Headers` would lower
    // them. The transport must get them as given (a plain object, or pairs for a list of pairs or
    // a Headers, whose iterator already lowers them for fetch too), and the token's header as
    // `authHeader` spells it, on the first attempt, the replay, and the next request to the URL.
    // (tests/e2e/header-case.test.mjs compares what reaches a real server with fetch's.)
    const server = new FakeServer();
    const given = [];
    const { api } = setup(make, { authHeader: "AuthoriZation" }, { server });
    const own = server.fetch;
    const names = (h) => (Array.isArray(h) ? h.map((p) => p[0]) : h instanceof Headers ? ["<a Headers>"] : Object.keys(h));
    server.fetch = (input, init) => { if (init) given.push(names(init.headers)); return own(input, init); };
    const forms = {
      pairs: () => [["X-Pair-Case", "1"], ["x-PAIR-case", "2"], ["X-Seamless-Fetch", "no-refresh"]],
      Headers: () => new Headers([["X-Hdr-Case", "1"]]),
      object: () => ({ "X-Plain-Case": "1" }),
    };
    const expected = {
      pairs: ["X-Pair-Case", "x-PAIR-case", "AuthoriZation"],
      Headers: ["x-hdr-case", "AuthoriZation"],
      object: ["X-Plain-Case", "AuthoriZation"],
    };
    for (const [form, headers] of Object.entries(forms)) {
      given.length = 0;
      server.expire();
      const noRefresh = form === "pairs"; // its control header: the 401 is the caller's
      eq((await api.fetch("/api/case-" + form, { headers: headers() })).status, noRefresh ? 401 : 200, form);
      if (noRefresh) eq((await api.fetch("/api/case-" + form, { headers: headers().slice(0, 2) })).status, 200, form);
      eq((await api.fetch("/api/case-" + form, { headers: headers() })).status, 200, form + " again");
      const attempts = noRefresh ? 4 : 3; // (401 only), 401 + replay, then the URL sent before
      eq(given, Array(attempts).fill(expected[form]), form + ": names as each attempt went out");
    }
  },

  async bodies_replay_intact(make) {
    const { api, server } = setup(make);
    server.expire();
    const form = new FormData();
    form.append("name", "Ada");
    form.append("file", new Blob(["file bytes"], { type: "text/plain" }), "a.txt");
    const cases = {
      "/api/json": { method: "POST", headers: { "content-type": "application/json", "x-custom": "kept" }, body: JSON.stringify({ a: 1, s: "é" }) },
      "/api/blob": { method: "PUT", body: new Blob(["blob body"], { type: "application/octet-stream" }) },
      "/api/form": { method: "POST", body: form },
      "/api/params": { method: "POST", body: new URLSearchParams({ q: "a b", n: "1" }) },
      "/api/buffer": { method: "PATCH", body: new TextEncoder().encode("bytes").buffer },
    };
    await Promise.all(Object.entries(cases).map(([p, init]) => api.fetch(p, init)));
    server.expire();
    const req = new Request(location.origin + "/api/request", { method: "POST", body: "from a Request", headers: { "x-custom": "req" } });
    await api.fetch(req);
    for (const p of [...Object.keys(cases), "/api/request"]) {
      const [a, b] = server.callsTo(p);
      assert(a && b, p + " sent twice");
      eq(b.method, a.method, p + " method");
      // A FormData body is encoded afresh for each send, with a boundary of its own (named in
      // its Content-Type): the same parts, told apart only by that random string.
      const plain = (c) => (c.contentType || "").startsWith("multipart/form-data")
        ? [c.body.split(c.contentType.split("boundary=")[1]).join("<boundary>"), "multipart/form-data"]
        : [c.body, c.contentType];
      eq(plain(b), plain(a), p + " body and content-type");
      eq(b.headers.get("x-custom"), a.headers.get("x-custom"), p + " headers");
      assert(a.body && a.body.length > 0, p + " had a body");
      eq([a.auth, b.auth], p === "/api/request" ? ["Bearer a2", "Bearer a3"] : ["Bearer a1", "Bearer a2"], p + " tokens");
    }
    const formCalls = server.callsTo("/api/form");
    if (canReadBlobForms) {
      assert(formCalls[1].body.includes("file bytes"), "multipart file replayed");
    } else {
      // WebKit: the bytes cannot be read here (see canReadBlobForms); both attempts went out as
      // multipart, which is what this engine lets a page check.
      eq(formCalls.map((c) => c.body), ["<unreadable>", "<unreadable>"], "WebKit: unreadable in JavaScript, sent twice");
      assert(/^multipart\/form-data; boundary=/.test(formCalls[1].contentType), "multipart replayed: " + formCalls[1].contentType);
    }
    const strings = new FormData();
    strings.append("name", "Ada");
    strings.append("note", "é and more");
    server.expire();
    await api.fetch("/api/form-strings", { method: "POST", body: strings });
    const [s1, s2] = server.callsTo("/api/form-strings");
    const unbounded = (c) => c.body.split(c.contentType.split("boundary=")[1]).join("<boundary>");
    assert(s1.body.includes("é and more") && unbounded(s2) === unbounded(s1), "a FormData of strings replays byte for byte (but its boundary) in every engine");
  },

  async a_retry_that_fails_again_is_returned_not_looped(make) {
    const { api, server } = setup(make);
    server.expire();
    server.valid.add = () => {}; // the server accepts no token at all, even fresh ones
    const res = await api.fetch("/api/never");
    eq(res.status, 401, "the second 401 goes back to the caller");
    eq(server.refreshCalls, 1);
    eq(server.callsTo("/api/never").length, 2);
  },

  async a_login_made_in_onrefresh_is_what_the_queue_replays_with(make) {
    // onRefresh sets other tokens through the API (a nested call mid-drain): the replay carries them.
    let api = null;
    const server = new FakeServer();
    ({ api } = setup(make, { onRefresh: () => { server.valid.add("a9"); api.setTokens({ accessToken: "a9", refreshToken: "r9" }); } }, { server }));
    server.expire();
    eq((await api.fetch("/api/x")).status, 200);
    eq(server.callsTo("/api/x").map((c) => c.auth), ["Bearer a1", "Bearer a9"], "replayed with the callback's login");
    eq(localStorage.getItem("token"), "a9");
  },

  async a_replay_after_the_tokens_vanished_carries_no_token(make) {
    // onRefresh runs before the queue is released: the tokens disappear just before the replay.
    const { api, server } = setup(make, { onRefresh: () => localStorage.clear() });
    server.expire();
    const res = await api.fetch("/api/x");
    eq(res.status, 401, "replayed without a token, and that answer goes back");
    eq(server.callsTo("/api/x").map((c) => c.auth), ["Bearer a1", null]);
  },

  async the_refresh_endpoint_is_never_intercepted(make) {
    const { api, server } = setup(make);
    server.refreshAnswer = () => json(401, { error: "nope" });
    const res = await api.fetch("/auth/refresh?x=1", { method: "POST", body: "{}" });
    eq(res.status, 401);
    eq(server.refreshCalls, 1, "only the caller's own call");
    eq(server.calls[0].auth, null, "no access token on it");
    eq(localStorage.getItem("token"), "a1", "session untouched");
  },

  async a_refused_refresh_ends_the_session_once(make) {
    const logouts = [], navigations = [], errors = [];
    const { api, server } = setup(make, {
      onLogout: (i) => logouts.push(i), navigate: (u) => navigations.push(u), onRefreshError: (e) => errors.push(e.code),
    });
    server.expire();
    server.refreshAnswer = () => json(401, { error: "revoked" });
    const results = await Promise.allSettled(["/a", "/b", "/c", "/d", "/e"].map((p) => api.fetch("/api" + p)));
    for (const r of results) {
      eq(r.status, "rejected");
      eq(r.reason.name, "AuthError");
      eq(r.reason.code, "SESSION_EXPIRED");
      assert(r.reason instanceof Error, "an Error");
    }
    eq(server.refreshCalls, 1);
    eq(localStorage.getItem("token"), null);
    eq(localStorage.getItem("refreshToken"), null);
    eq(logouts, [{ reason: "SESSION_EXPIRED" }]);
    eq(navigations, ["/login"]);
    eq(errors, ["SESSION_EXPIRED"]);
    eq(api.stats().queued, 0);
    assert(!api.isRefreshing, "flag lowered");
  },

  async a_400_without_oauth_error_is_a_refusal(make) {
    const { api, server } = setup(make, { loginUrl: null });
    server.expire();
    server.refreshAnswer = () => json(400, { message: "bad refresh token" });
    await rejectsWith(api.fetch("/api/x"), "SESSION_EXPIRED");
    eq(localStorage.getItem("refreshToken"), null);
  },

  async no_redirect_when_already_on_the_login_page(make) {
    const navigations = [];
    const { api, server } = setup(make, { loginUrl: location.pathname + "?again=1", navigate: (u) => navigations.push(u) });
    server.expire();
    server.refreshAnswer = () => json(401, {});
    await rejectsWith(api.fetch("/api/x"), "SESSION_EXPIRED");
    eq(navigations, []);
  },

  async rotation_replaces_the_refresh_token_before_the_queue_is_released(make) {
    const { api, server } = setup(make);
    server.expire();
    const seen = [];
    const inner = server.fetch;
    server.fetch = (input, init) => {
      const r = new Request(input, init);
      if (r.headers.get("authorization") === "Bearer a2") seen.push(localStorage.getItem("refreshToken"));
      return inner(r);
    };
    await Promise.all([api.fetch("/api/1"), api.fetch("/api/2")]);
    eq(seen, ["r2", "r2"], "stored before any retry went out");
  },

  async without_rotation_the_old_refresh_token_stays(make) {
    const { api, server } = setup(make);
    server.rotate = false;
    server.expire();
    eq((await api.fetch("/api/x")).status, 200);
    eq(localStorage.getItem("token"), "a2");
    eq(localStorage.getItem("refreshToken"), "r1");
  },

  async refresh_joins_and_counts(make) {
    const refreshed = [];
    const { api, server } = setup(make, { onRefresh: (i) => refreshed.push(typeof i.durationMs) });
    const release = server.holdRefresh();
    const a = api.refresh();
    const b = api.refresh();
    await until(() => server.refreshCalls === 1, "refresh sent");
    assert(api.isRefreshing, "isRefreshing while in flight");
    release();
    await Promise.all([a, b]);
    eq(server.refreshCalls, 1, "the second refresh() joined the first");
    eq(refreshed, ["number"]);
    eq(api.stats(), { refreshes: 1, retried: 0, queued: 0 });
    // Both callers of a refresh that fails hear its error.
    server.refreshAnswer = () => json(503, { error: "busy" });
    const failing = [api.refresh(), api.refresh()];
    for (const f of failing) await rejectsWith(f, "REFRESH_FAILED");
    eq(server.refreshCalls, 2);
  },

  async no_refresh_token_means_no_refresh(make) {
    const { api, server } = setup(make, { loginUrl: null }, { tokens: false });
    server.expire();
    const anonymous = await api.fetch("/api/public");
    eq(anonymous.status, 401, "never logged in: the 401 is the app's");
    eq(anonymous.headers.get("authorization"), null);
    eq(server.calls[0].auth, null);
    await rejectsWith(api.refresh(), "NO_REFRESH_TOKEN");
    eq(server.refreshCalls, 0);
  },

  async expired_body_codes_trigger_the_refresh(make) {
    const { api, server } = setup(make, { expiredBodyCodes: [409] });
    server.expire();
    server.expiredAsBody = true;
    const res = await api.fetch("/api/classic");
    eq(res.status, 200);
    eq((await res.json()).ok, true, "the caller reads the retried body whole");
    eq(server.refreshCalls, 1);
    const plain = await api.fetch("/api/ok");
    eq((await plain.json()).ok, true, "bodies of fine answers are still readable");
    server.expire();
    const inner = server.fetch;
    server.fetch = async (input, init) => {
      const res = await inner(input, init);
      return res.status === 200 && (await res.clone().json()).code === 409 ? json(200, await res.json(), { "content-type": "application/problem+json" }) : res;
    };
    eq((await api.fetch("/api/problem")).status, 200);
    eq(server.refreshCalls, 2, "an application/*+json document is peeked into too");
  },

  async streams_and_large_answers_reach_the_caller_untouched(make) {
    const { api, server } = setup(make, { expiredBodyCodes: [409] });
    const inner = server.fetch;
    const encoder = new TextEncoder();
    server.fetch = async (input, init) => {
      const path = new URL(new Request(input, init).url).pathname;
      if (path === "/api/stream") {
        // One line, then the stream stays open, as a live feed does.
        const body = new ReadableStream({ start(c) { c.enqueue(encoder.encode('{"code":409}\n')); } });
        return new Response(body, { headers: { "content-type": "application/x-ndjson" } });
      }
      if (path === "/api/big") {
        const text = JSON.stringify({ code: 409, pad: "x".repeat(70 * 1024) });
        return new Response(text, { headers: { "content-type": "application/json", "content-length": String(text.length) } });
      }
      if (path === "/api/big-undeclared") {
        const text = JSON.stringify({ code: 409, pad: "x".repeat(70 * 1024) });
        const body = new ReadableStream({ start(c) { for (let i = 0; i < text.length; i += 8192) c.enqueue(encoder.encode(text.slice(i, i + 8192))); c.close(); } });
        return new Response(body, { headers: { "content-type": "application/json" } });
      }
      return inner(input, init);
    };
    const res = await Promise.race([api.fetch("/api/stream"), new Promise((r) => setTimeout(() => r("still held"), 2000))]);
    assert(res instanceof Response, "the streaming answer reached the caller while the stream is open, got " + res);
    const first = await res.body.getReader().read();
    eq(new TextDecoder().decode(first.value), '{"code":409}\n', "the caller reads the stream from its start");
    for (const path of ["/api/big", "/api/big-undeclared"]) {
      const big = await api.fetch(path);
      eq((await big.text()).length, 70 * 1024 + 21, path + ": the caller gets the whole body");
    }
    eq(server.refreshCalls, 0, "none of them was taken for an expired answer");
  },

  async a_slow_json_body_is_peeked_for_a_second_at_most(make) {
    // With expiredBodyCodes a JSON answer is read (a clone) for the code before it is handed over;
    // one whose body flows slowly (a JSON stream, a long poll) goes to the caller after a second.
    const { api, server } = setup(make, { expiredBodyCodes: [409] });
    const inner = server.fetch;
    const encoder = new TextEncoder();
    const slow = (first, rest, ms) => new Response(new ReadableStream({
      start(c) { c.enqueue(encoder.encode(first)); if (ms !== null) setTimeout(() => { c.enqueue(encoder.encode(rest)); c.close(); }, ms); else finish = () => { c.enqueue(encoder.encode(rest)); c.close(); }; },
    }), { headers: { "content-type": "application/json" } });
    let finish = null;
    server.fetch = async (input, init) => {
      const url = String(input.url || input); // a refresh Request's body is not to be taken here
      if (url.endsWith("/api/slow")) return slow('{"items":[', "1]}", null);
      if (url.endsWith("/api/late") && new Request(input, init).headers.get("authorization") === "Bearer a1") return slow('{"co', 'de":409}', 200);
      return inner(input, init);
    };
    const started = Date.now();
    const res = await Promise.race([api.fetch("/api/slow"), tick(3000).then(() => "still held after 3 s")]);
    assert(res instanceof Response, "handed over while its body flows, got " + res);
    const held = Date.now() - started;
    assert(held >= 900 && held < 2500, "held back about a second: " + held + " ms");
    finish();
    eq(await res.json(), { items: [1] }, "the caller reads the whole body");
    eq(server.refreshCalls, 0);
    server.expire();
    const late = await api.fetch("/api/late");
    eq([late.status, (await late.json()).path, server.refreshCalls], [200, "/api/late", 1], "a code that comes within the second still counts");
  },

  async init_is_read_as_fetch_reads_it(make) {
    // fetch reads init as a WebIDL dictionary: inherited members and getters count (a Request as
    // init, Object.create(defaults), a class instance, non-enumerable members), each read once,
    // in the order of their names, before anything is sent. Every request here is answered 401,
    // refreshed and replayed: both attempts go out as window.fetch would send them.
    const reads = [], atSend = [];
    const { api, server } = setup(make);
    const inner = server.fetch;
    server.fetch = (input, init) => { if (String(input).endsWith("/counted")) atSend.push(reads.length); return inner(input, init); };
    const counted = new Proxy({ method: "POST", body: "counted", headers: { "x-kind": "counted" } }, {
      get(target, key, receiver) { reads.push(key); return Reflect.get(target, key, receiver); },
    });
    const cases = {
      request: [() => new Request(location.origin + "/elsewhere", { method: "DELETE", headers: { "x-kind": "request" } }), "DELETE", ""],
      inherited: [() => Object.create({ method: "PUT", body: "inherited", headers: { "x-kind": "inherited" } }), "PUT", "inherited"],
      class: [() => new (class { get method() { return "PATCH"; } get body() { return "class"; } get headers() { return { "x-kind": "class" }; } })(), "PATCH", "class"],
      hidden: [() => Object.defineProperties({}, { method: { value: "PUT" }, body: { value: "hidden" }, headers: { value: { "x-kind": "hidden" } } }), "PUT", "hidden"],
      counted: [() => counted, "POST", "counted"],
    };
    for (const [name, [init, method, body]] of Object.entries(cases)) {
      server.expire();
      eq((await api.fetch("/api/init/" + name, init())).status, 200, name);
      const sent = server.callsTo("/api/init/" + name);
      eq(sent.map((c) => [c.method, c.body, c.headers.get("x-kind")]), [[method, body, name], [method, body, name]], name + ": both attempts");
      eq(sent.map((c) => c.auth !== null), [true, true], name + ": with a token");
    }
    eq(reads, [...new Set(reads)], "each member of the counted init read once");
    eq(reads, [...reads].sort(), "in the order of their names");
    assert(["body", "headers", "method", "signal"].every((k) => reads.includes(k)), "the members fetch reads: " + reads);
    eq(atSend, [reads.length, reads.length], "all read before its first attempt went out");
  },

  async init_symbols_reach_a_custom_transport(make) {
    // A custom transport may read members the app put on init under a symbol (as it may read
    // string-keyed ones): each attempt hands them on, as Object.assign did.
    const tag = Symbol("tag"), hidden = Symbol("hidden");
    const seen = [];
    const server = new FakeServer();
    const transport = (input, init) => {
      if (String(input.url || input).endsWith("/api/symbols")) seen.push([init && init[tag], init && init[hidden], init && init.extra]);
      return server.fetch(input, init);
    };
    const { api } = setup(make, { fetch: transport }, { server });
    const init = { method: "POST", body: "x", [tag]: "tagged", extra: "kept" };
    Object.defineProperty(init, hidden, { value: "not enumerable", enumerable: false });
    server.expire();
    eq((await api.fetch("/api/symbols", init)).status, 200, "refreshed and replayed");
    eq(server.callsTo("/api/symbols").length, 2);
    eq(seen, [["tagged", undefined, "kept"], ["tagged", undefined, "kept"]], "both attempts carry the symbol member");
  },

  async dpop_needs_its_own_entry(make) {
    // The default entry's core is built without DPoP (its bytes are the DPoP entry's alone): it
    // refuses the option and names the entry to import, rather than send bearer tokens.
    let error = null;
    try {
      make({ refreshUrl: "/auth/refresh", dpop: true });
    } catch (e) {
      error = e;
    }
    eq([error && error.name, error && error.code], ["AuthError", "INVALID_OPTIONS"]);
    assert(error.message.includes('"seamless-fetch/dpop"'), error.message);
    eq(localStorage.length, 0, "nothing stored");
  },

  async one_stored_pair_is_refreshed_through_one_endpoint(make) {
    // Instances with the same storage and keys share one session, so one refresh: they must agree
    // on where it goes. In Web Storage another endpoint on the same keys is refused; in memory it
    // is another session, with tokens of its own.
    const { api, server } = setup(make);
    const refused = (options) => { try { make({ fetch: server.fetch, ...options }); return null; } catch (e) { return e; } };
    for (const options of [{ refreshUrl: "/other/refresh" }, { refresh: async () => ({ accessToken: "x" }) }, { refreshUrl: "/auth/refresh?v=2" }]) {
      const e = refused(options);
      eq(e && e.code, "INVALID_OPTIONS", JSON.stringify(options));
      assert(e.message.includes("accessTokenKey"), e.message);
    }
    eq(refused({ refreshUrl: location.origin + "/auth/refresh" }), null, "the same endpoint, written another way, shares");
    eq(refused({ refreshUrl: "/other/refresh", accessTokenKey: "t2", refreshTokenKey: "r2" }), null, "other keys");
    eq(refused({ refreshUrl: "/other/refresh", storage: "session" }), null, "other storage");
    server.expire();
    eq((await api.fetch("/api/x")).status, 200, "the first instance works on");
    eq(server.refreshCalls, 1);
    const servers = [new FakeServer(), new FakeServer({ refreshPath: "/other/refresh" })];
    const apis = [["/auth/refresh", servers[0]], ["/other/refresh", servers[1]]].map(([refreshUrl, s]) => {
      const a = make({ refreshUrl, storage: "memory", fetch: s.fetch, navigate: () => {} });
      a.setTokens({ accessToken: "a1", refreshToken: "r1" });
      s.expire();
      return a;
    });
    eq((await Promise.all(apis.map((a, i) => a.fetch("/api/mem" + i)))).map((r) => r.status), [200, 200], "memory: each its own session");
    eq(servers.map((s) => s.refreshCalls), [1, 1], "each refreshed through its own endpoint");
    api.free();
    make.freeAll();
    eq(refused({ refreshUrl: "/other/refresh" }), null, "once the others are freed, the keys are free");
  },

  async configurable_header_scheme_paths_and_fields(make) {
    const server = new FakeServer();
    server.authHeader = "x-token";
    server.scheme = "";
    server.refreshAnswer = (call) => {
      const sent = JSON.parse(call.body);
      eq(sent, { rt: "r1", at: "a1" });
      server.valid.add("n2");
      return json(200, { data: { access: "n2", refresh: "m2" } });
    };
    localStorage.setItem("acc", "a1");
    localStorage.setItem("ref", "r1");
    const api = make({
      refreshUrl: "/auth/refresh", fetch: server.fetch, accessTokenKey: "acc", refreshTokenKey: "ref",
      authHeader: "X-Token", authScheme: "", refreshFields: { refreshToken: "rt", accessToken: "at" },
      tokenPaths: { accessToken: "data.access", refreshToken: "data.refresh" },
    });
    eq((await api.fetch("/api/x")).status, 200);
    eq(server.calls[0].auth, "a1", "bare token in X-Token");
    eq(server.calls[0].headers.get("authorization"), null);
    await api.refresh();
    eq(server.refreshCalls, 1);
    eq([localStorage.getItem("acc"), localStorage.getItem("ref")], ["n2", "m2"]);
  },

  async oauth2_refresh_format(make) {
    const server = new FakeServer();
    server.refreshAnswer = (call) => {
      eq(call.contentType, "application/x-www-form-urlencoded");
      eq(call.body, "grant_type=refresh_token&refresh_token=r1&client_id=spa&scope=read+write");
      server.valid.add("o2");
      return json(200, { access_token: "o2", token_type: "Bearer", expires_in: 300, refresh_token: "p2" });
    };
    localStorage.setItem("token", "a1");
    localStorage.setItem("refreshToken", "r1");
    const api = make({ refreshUrl: "/auth/refresh", fetch: server.fetch, refreshFormat: "oauth2", clientId: "spa", scope: "read write" });
    server.expire();
    eq((await api.fetch("/api/x")).status, 200);
    eq([localStorage.getItem("token"), localStorage.getItem("refreshToken")], ["o2", "p2"]);
  },

  async storage_choices(make) {
    for (const storage of ["session", "memory"]) {
      localStorage.clear();
      sessionStorage.clear();
      const server = new FakeServer();
      const api = make({ refreshUrl: "/auth/refresh", fetch: server.fetch, storage });
      api.setTokens({ accessToken: "a1", refreshToken: "r1" });
      eq(localStorage.getItem("token"), null, storage + ": not in localStorage");
      eq(sessionStorage.getItem("token"), storage === "session" ? "a1" : null, storage);
      server.expire();
      eq((await api.fetch("/api/x")).status, 200, storage);
      eq(server.callsTo("/api/x").map((c) => c.auth), ["Bearer a1", "Bearer a2"], storage);
      sessionStorage.clear();
    }
  },

  async options_are_validated_naming_the_key(make) {
    const cases = [
      [{}, "give exactly one of refreshUrl"],
      [{ refreshUrl: "/r", refresh: async () => ({}) }, "give exactly one of refreshUrl"],
      [{ refreshUrl: "/r", refreshURL: "/r" }, "unknown option \"refreshURL\" (did you mean \"refreshUrl\"?)"],
      [{ refreshUrl: "/r", expiredStatuses: "401" }, "expiredStatuses must be an array"],
      [{ refreshUrl: "/r", fetch: "nope" }, "fetch must be a function"],
      [{ refreshUrl: "/r", storage: "cookies" }, "storage must be"],
      [{ refreshUrl: 5 }, "refreshUrl must be a string"],
      [{ refreshUrl: "/r", fetch: Symbol("fetch") }, "fetch must be a function"],
      [{ refreshUrl: "/r", onLogout: 1n }, "onLogout must be a function"],
      [{ refreshUrl: "/r", refreshTimeoutMs: 10n }, "refreshTimeoutMs must be"],
    ];
    for (const [options, text] of cases) {
      let thrown = null;
      try { make(options); } catch (e) { thrown = e; }
      assert(thrown, "options with keys " + Object.keys(options) + " should throw (expected: " + text + ")");
      eq(thrown.name, "AuthError");
      eq(thrown.code, "INVALID_OPTIONS");
      assert(thrown.message.includes(text), thrown.message + " should say " + text);
    }
    let thrown = null;
    try { make("/auth/refresh"); } catch (e) { thrown = e; }
    assert(thrown && thrown.message.includes("must be an object"), "a bare string is refused");
  },

  async set_tokens_validates_and_clear_tokens_removes(make) {
    const { api } = setup(make, {}, { tokens: false });
    for (const bad of [{}, { accessToken: "a b", refreshToken: "r" }, { accessToken: "a", refreshToken: 5 }, { accessToken: "a\nX: y", refreshToken: "r" }]) {
      let thrown = null;
      try { api.setTokens(bad); } catch (e) { thrown = e; }
      eq(thrown && thrown.code, "INVALID_TOKEN", JSON.stringify(bad));
    }
    eq(localStorage.getItem("token"), null, "nothing stored");
    api.setTokens({ accessToken: "a1", refreshToken: "r1" });
    eq([localStorage.getItem("token"), localStorage.getItem("refreshToken")], ["a1", "r1"], "plain strings");
    api.clearTokens();
    eq([localStorage.getItem("token"), localStorage.getItem("refreshToken")], [null, null]);
  },

  async logout_clears_and_redirects(make) {
    const navigations = [], logouts = [];
    const { api } = setup(make, { navigate: (u) => navigations.push(u), onLogout: (i) => logouts.push(i.reason) });
    api.logout();
    eq(localStorage.getItem("token"), null);
    eq(navigations, ["/login"]);
    eq(logouts, ["LOGOUT"]);
  },
  async a_401_from_an_origin_without_the_token_is_explained_once(make) {
    // Origins of this run only: the page remembers those it told about.
    // Letters only: a random suffix with digits could hold "a1", the token the check looks for.
    const run = Array.from({ length: 6 }, () => "bcdfghjkmnpqrstvwxz"[Math.floor(Math.random() * 19)]).join("");
    const api1 = "https://api-" + run + ".example.com", api2 = "https://other-" + run + ".example.com:8443";
    const own = "https://own-" + run + ".example.com", control = "https://control-" + run + ".example.com";
    const allowed = "https://allowed-" + run + ".example.com";
    const captured = captureConsole();
    try {
      const { api, server } = setup(make, { allowedOrigins: [allowed], expiredStatuses: [401, 419] });
      const warned = () => captured.lines.filter((l) => l.includes("seamless-fetch"));
      const told = (status, origin) => "warn: seamless-fetch: a " + status + " from " + origin + " was passed through: that origin is not in allowedOrigins";
      eq((await api.fetch(api1 + "/v1/me?key=SECRETq#frag")).status, 401);
      eq(warned(), [told(401, api1)], "said once, the origin only");
      eq((await api.fetch(api1 + "/v1/other")).status, 401);
      eq((await make({ refreshUrl: "/auth/refresh", fetch: server.fetch, navigate: () => {} }).fetch(api1 + "/v1/again")).status, 401);
      eq(warned().length, 1, "once per origin for the page, whichever instance");
      // Not withheld for its origin, or not "expired": nothing to say.
      eq((await api.fetch(own + "/x", { headers: { Authorization: "Bearer mine" } })).status, 401);
      eq((await api.fetch(control + "/x", { headers: { "x-seamless-fetch": "no-token" } })).status, 401);
      server.valid.add(null);
      eq((await api.fetch(api2 + "/ok")).status, 200);
      server.valid.delete(null);
      server.expire();
      eq((await api.fetch(allowed + "/x")).status, 200, "allowed: refreshed");
      server.expire();
      eq((await api.fetch("/api/x")).status, 200, "the page's origin: refreshed");
      eq(warned().length, 1, "nothing said for requests the origin did not decide, nor for a 200");
      eq(server.refreshCalls, 2);
      // A Request, another expired status, another origin.
      server.fetch = ((inner) => (input, init) => inner(input, init).then((r) => (r.status === 401 ? new Response("", { status: 419 }) : r)))(server.fetch);
      const other = setup(make, { expiredStatuses: [401, 419] }, { server }).api;
      eq((await other.fetch(new Request(api2 + "/v1/x?token=SECRETq", { method: "POST", body: "b" }))).status, 419);
      eq(warned(), [told(401, api1), told(419, api2)]);
      assert(!captured.lines.some((l) => l.includes("SECRET") || l.includes("a1") || l.includes("/v1")), "no token, path or query: " + captured.lines);
    } finally {
      captured.restore();
    }
  },
};

/** N concurrent requests finding the token expired: one refresh, each replayed once. */
async function oneRefreshForMany(make, crossTab) {
  const { api, server } = setup(make, { crossTab });
  server.expire();
  const paths = Array.from({ length: 10 }, (_, i) => "/api/item/" + i);
  const responses = await Promise.all(paths.map((p) => api.fetch(p)));
  eq(server.refreshCalls, 1, "one refresh, crossTab " + crossTab);
  eq(responses.map((r) => r.status), paths.map(() => 200));
  for (const p of paths) {
    eq(server.callsTo(p).map((c) => c.auth), ["Bearer a1", "Bearer a2"], p + " sent once, retried once");
  }
  eq(api.stats().retried, 10);
  eq(api.stats().refreshes, 1);
  eq(localStorage.getItem("token"), "a2");
  eq(localStorage.getItem("refreshToken"), "r2");
}

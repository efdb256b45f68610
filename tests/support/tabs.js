// Scenarios of the many-tabs issue: the cross-tab Web Lock, storage events, shared instances, and
// refresh ahead of expiry on the server's clock. "Another tab" is played by this page holding the
// same Web Lock and writing storage, as a second tab would; the real two-tab run is in tests/e2e.
import { FakeServer, json, tick, until } from "./fake_server.js";
import { assert, eq, jwt, rejectsWith, runScenario, secs, setup, writeAsAnotherTab } from "./harness.js";

export const run = (name, make, tools) => runScenario(scenarios, name, make, tools);

const lockName = () => "seamless-fetch:token:" + new URL("/auth/refresh", location.href).href;

/** Holds the refresh lock as another tab mid-refresh would; resolves to its release function. */
function holdLock() {
  return new Promise((held) => navigator.locks.request(lockName(), () => new Promise((release) => held(release))));
}

/** The cross-tab lock budget per holder for `refreshTimeoutMs` (settle 1 s + refresh + 1 s). */
const budget = (refreshTimeoutMs) => 1000 + refreshTimeoutMs + 1000;

/** The pair fingerprint `storage.rs` writes under `<accessTokenKey>:pair` (FNV-1a, 64 bits, hex). */
function fingerprint(access, refresh) {
  let h = 0xcbf29ce484222325n;
  for (const b of new TextEncoder().encode(access + "\0" + refresh)) h = ((h ^ BigInt(b)) * 0x100000001b3n) & 0xffffffffffffffffn;
  return h.toString(16).padStart(16, "0");
}

/** setup() with the server accepting `token` as the stored access token. */
function withAccess(make, token, options = {}, skewMs = 0) {
  const server = new FakeServer({ access: token });
  server.skewMs = skewMs;
  const ctx = setup(make, options, { tokens: false, server });
  localStorage.setItem("token", token);
  localStorage.setItem("refreshToken", "r1");
  return ctx;
}

export const scenarios = {
  async adopts_tokens_another_tab_refreshed_while_it_held_the_lock(make) {
    const { api, server } = setup(make);
    server.expire();
    const release = await holdLock();
    const pending = api.fetch("/api/x");
    await until(() => api.isRefreshing, "waiting for the lock");
    server.valid.add("a2");
    localStorage.setItem("token", "a2");
    localStorage.setItem("refreshToken", "r2");
    release();
    eq((await pending).status, 200);
    eq(server.refreshCalls, 0, "adopted, no refresh call");
    eq(server.callsTo("/api/x").map((c) => c.auth), ["Bearer a1", "Bearer a2"]);
  },

  async waits_for_tokens_that_show_late_after_a_contended_lock(make) {
    const { api, server } = setup(make);
    server.expire();
    const release = await holdLock();
    const pending = api.fetch("/api/x");
    await until(() => api.isRefreshing, "waiting for the lock");
    release(); // the other tab is done, but its write is not visible here yet
    await new Promise((r) => setTimeout(r, 300));
    server.valid.add("a2");
    const written = performance.now();
    writeAsAnotherTab({ refreshToken: "r2", token: "a2" });
    eq((await pending).status, 200);
    const waited = performance.now() - written;
    eq(server.refreshCalls, 0, "did not spend r1 a second time");
    // The storage event ends the wait; without it the tab would sit out the rest of its 1 s.
    assert(waited < 400, "woken by the storage event, not by the 1 s timeout: " + waited.toFixed(0) + " ms");
  },

  async a_frozen_lock_holder_does_not_hang_the_tab(make) {
    const { api, server } = setup(make, { refreshTimeoutMs: 200 });
    server.expire();
    const release = await holdLock();
    try {
      eq((await api.fetch("/api/x")).status, 200, "went on alone after the lock wait timed out");
      eq(server.refreshCalls, 1);
    } finally {
      release();
    }
  },

  async a_wait_past_the_lock_budget_still_adopts_the_holders_tokens(make) {
    const { api, server } = setup(make, { refreshTimeoutMs: 100 });
    server.expire();
    const release = await holdLock(); // a holder that never lets go
    try {
      const pending = api.fetch("/api/x");
      await tick(budget(100) + 400); // past the budget, within the 1 s settle that follows it
      server.valid.add("a2");
      writeAsAnotherTab({ refreshToken: "r2", token: "a2" });
      eq((await pending).status, 200);
      eq(server.refreshCalls, 0, "a timed-out wait is contended: the holder's tokens are adopted");
    } finally {
      release();
    }
  },

  async the_lock_wait_is_budgeted_per_holder(make) {
    const { api, server } = setup(make, { refreshTimeoutMs: 100 });
    server.expire();
    const releaseFirst = await holdLock();
    // A second tab queues for the lock behind the first; when its turn comes it refreshes.
    const second = navigator.locks.request(lockName(), async () => {
      await tick(100);
      server.valid.add("a2");
      localStorage.setItem("refreshToken", "r2");
      localStorage.setItem("token", "a2");
    });
    try {
      const pending = api.fetch("/api/x");
      // Two holders ahead: past one budget and the settle after it, within two budgets.
      await tick(budget(100) + 1400);
      eq(server.refreshCalls, 0, "still waiting for the lock");
      releaseFirst();
      await second;
      eq((await pending).status, 200);
      eq(server.refreshCalls, 0, "waited for both holders and adopted the second one's tokens");
    } finally {
      releaseFirst();
      await second;
    }
  },


  async a_logout_in_another_tab_stands_against_a_refresh_in_flight(make) {
    for (const crossTab of [true, false]) {
      const logouts = [];
      const { api, server } = setup(make, { crossTab, onLogout: (i) => logouts.push(i.reason) });
      server.expire();
      const release = server.holdRefresh();
      const pending = api.fetch("/api/x");
      await until(() => server.refreshCalls === 1, "the refresh call reached the server");
      // Another tab logs out while this tab's refresh call is on the wire. With crossTab off
      // this tab hears no event, and finds out only by reading storage.
      if (crossTab) {
        writeAsAnotherTab({ token: null, refreshToken: null, "token:pair": null });
        // Heard at once: the waiting request is released now, not when the answer comes.
        await rejectsWith(pending, "NO_REFRESH_TOKEN");
        release();
      } else {
        localStorage.clear();
        release();
        await rejectsWith(pending, "NO_REFRESH_TOKEN");
      }
      await until(() => server.generation === 2, "the refresh answer arrived");
      await tick(20);
      eq([localStorage.getItem("token"), localStorage.getItem("refreshToken")], [null, null], "crossTab " + crossTab + ": still logged out");
      eq(logouts.length, 1, "crossTab " + crossTab + ": one onLogout");
    }
    // A new login in another tab while the refresh is on the wire wins as well.
    const { api, server } = setup(make);
    server.expire();
    const release = server.holdRefresh();
    const pending = api.fetch("/api/x");
    await until(() => server.refreshCalls === 1, "the refresh call reached the server");
    server.valid.add("b1");
    writeAsAnotherTab({ token: "b1", refreshToken: "s1", "token:pair": null });
    release();
    eq((await pending).status, 200);
    eq(server.callsTo("/api/x").map((c) => c.auth), ["Bearer a1", "Bearer b1"], "replayed with the other tab's login");
    eq([localStorage.getItem("token"), localStorage.getItem("refreshToken")], ["b1", "s1"], "the refresh answer did not overwrite it");
  },

  async only_local_storage_coordinates_tabs(make) {
    for (const storage of ["session", "memory"]) {
      const { api, server } = setup(make, { storage }, { tokens: false });
      api.setTokens({ accessToken: "a1", refreshToken: "r1" });
      server.expire();
      const release = server.holdRefresh();
      const pending = api.fetch("/api/x");
      await until(() => server.refreshCalls === 1, "the refresh call reached the server");
      const { held, pending: queued } = await navigator.locks.query();
      eq(held.concat(queued).filter((l) => l.name === lockName()).length, 0, storage + ": no cross-tab lock");
      release();
      eq((await pending).status, 200, storage);
    }
  },

  async a_transient_failure_ahead_of_expiry_lets_every_waiting_request_go(make) {
    const now = Date.now();
    const token = jwt({ iat: secs(now) - 50, exp: secs(now) + 10 });
    const { api, server } = withAccess(make, token);
    eq((await api.fetch("/api/clock")).status, 200, "learns the server clock");
    server.refreshAnswer = () => json(503, {});
    const release = server.holdRefresh();
    const all = [1, 2, 3, 4, 5].map((i) => api.fetch("/api/" + i));
    await until(() => server.refreshCalls === 1, "the refresh ahead started");
    release();
    const results = await Promise.allSettled(all);
    eq(results.map((r) => r.status === "fulfilled" ? r.value.status : r.reason.code), [200, 200, 200, 200, 200], "all sent with the still-valid token");
    eq(server.refreshCalls, 1);
    for (let i = 1; i <= 5; i++) eq(server.callsTo("/api/" + i).map((c) => c.auth), ["Bearer " + token], "/api/" + i);
  },

  async the_lock_is_held_until_the_new_tokens_are_stored(make) {
    // Another tab that gets the lock next must find the tokens this refresh brought, never the
    // pair it is still spending (which it would then spend again).
    const { api, server } = setup(make);
    server.expire();
    const release = server.holdRefresh();
    const pending = api.fetch("/api/x");
    await until(() => server.refreshCalls === 1, "the refresh call reached the server");
    const seenByTheNextHolder = navigator.locks.request(lockName(), () => localStorage.getItem("token"));
    await new Promise((r) => setTimeout(r, 50));
    release();
    eq((await pending).status, 200);
    eq(await seenByTheNextHolder, "a2", "the next holder found the new token");
  },

  async a_half_written_pair_is_waited_for_not_spent(make) {
    // Another tab is midway through storing a new pair: its refresh token and the pair's
    // fingerprint are here, its access token is not yet. Spending that refresh token would take
    // the other tab's session from under it; the pair is waited for and adopted.
    const { api, server } = setup(make);
    server.expire();
    writeAsAnotherTab({ refreshToken: "r2", "token:pair": fingerprint("a2", "r2") });
    const pending = api.fetch("/api/x");
    await until(() => api.isRefreshing, "the refresh started");
    await new Promise((r) => setTimeout(r, 100));
    server.valid.add("a2");
    writeAsAnotherTab({ token: "a2" });
    eq((await pending).status, 200);
    eq(server.refreshCalls, 0, "the half-written pair was not spent");
    eq(server.callsTo("/api/x").map((c) => c.auth), ["Bearer a1", "Bearer a2"]);
  },

  async a_refresh_another_tab_just_made_is_waited_for(make) {
    // The other tab has refreshed and released the lock, but its storage write has not reached
    // this tab yet. Its "fresh" hold says what storage cannot yet: wait for the write, do not
    // spend the refresh token again.
    const { api, server } = setup(make);
    server.expire();
    let endFresh;
    await new Promise((held) => navigator.locks.request(lockName() + ":fresh", () => new Promise((end) => { endFresh = end; held(); })));
    const pending = api.fetch("/api/x");
    await until(() => api.isRefreshing, "the refresh started");
    await new Promise((r) => setTimeout(r, 300));
    server.valid.add("a2");
    server.refreshToken = "r2"; // what the other tab's refresh rotated it to
    writeAsAnotherTab({ refreshToken: "r2", token: "a2" });
    eq((await pending).status, 200);
    endFresh();
    eq(server.refreshCalls, 0, "did not spend r1 a second time");
    // And this tab, having refreshed, says so to the others.
    server.expire();
    eq((await api.fetch("/api/y")).status, 200);
    eq(server.refreshCalls, 1);
    const { held } = await navigator.locks.query();
    assert(held.some((l) => l.name === lockName() + ":fresh"), "the fresh hold is taken after a refresh");
  },

  async back_to_back_refreshes_do_not_wait_on_their_own_lock(make) {
    // WebKit processes a lock release asynchronously: a refresh right after this tab's previous
    // one used to find the lock "held", take itself for another tab, and sit out the settle wait
    // (500-1000 ms each). The flight's own duration shows whether it waited.
    const durations = [];
    const { api, server } = setup(make, { onRefresh: (i) => durations.push(i.durationMs) });
    for (let i = 0; i < 10; i++) {
      server.expire();
      eq((await api.fetch("/api/x")).status, 200);
    }
    eq(server.refreshCalls, 10);
    assert(durations.every((d) => d < 300), "no refresh waited on its own lock: " + durations.map(Math.round).join(", ") + " ms");
  },

  async a_transient_failure_after_the_server_refused_the_token_holds_the_queue_back(make) {
    // The token's exp says it has 10 s left, but the server has refused it (revoked early, or a
    // clock is off): requests queued behind that refresh must not be sent with it again.
    const now = Date.now();
    const token = jwt({ iat: secs(now) - 50, exp: secs(now) + 10 });
    const { api, server } = withAccess(make, token, { refreshAheadMs: 0 });
    eq((await api.fetch("/api/clock")).status, 200, "learns the server clock");
    server.expire();
    server.refreshAnswer = () => json(503, {});
    const release = server.holdRefresh();
    const first = api.fetch("/api/first");
    await until(() => server.refreshCalls === 1, "the refresh after the 401");
    const queued = [1, 2, 3, 4].map((i) => api.fetch("/api/q" + i));
    await until(() => api.stats().queued === 5, "all five waiting");
    release();
    const results = await Promise.allSettled([first, ...queued]);
    eq(results.map((r) => r.status === "fulfilled" ? r.value.status : r.reason.code), Array(5).fill("REFRESH_FAILED"));
    eq(server.refreshCalls, 1, "no second refresh");
    for (let i = 1; i <= 4; i++) eq(server.callsTo("/api/q" + i).length, 0, "/api/q" + i + " not sent with the refused token");
  },

  async the_lock_is_asked_for_at_the_first_expired_answer(make) {
    // In a storm every request has gone out before the first "expired" answer is judged, and all
    // the answers wait to be judged in one run of microtasks. The refresh asks for the cross-tab
    // lock while judging the first of them: asked for later, the lock waited for every one of
    // them (about 20 ms in a storm of a thousand) before its answer could even be on its way.
    const { api, server } = setup(make);
    server.expire();
    const locks = navigator.locks;
    const asked = [];
    locks.request = function (name, ...rest) { asked.push(name); return LockManager.prototype.request.call(this, name, ...rest); };
    try {
      const answers = Array.from({ length: 20 }, (_, i) => api.fetch("/api/" + i));
      // Every attempt's answer is settled already: this runs after all 20 are judged.
      const askedByThen = await new Promise((r) => queueMicrotask(() => r(asked.slice())));
      eq(askedByThen, [lockName()], "the lock asked for while the answers were judged");
      eq((await Promise.all(answers)).map((r) => r.status), Array(20).fill(200));
      eq(server.refreshCalls, 1);
    } finally {
      delete locks.request;
    }
  },

  async without_web_locks_it_still_refreshes_once(make) {
    const original = Object.getOwnPropertyDescriptor(Navigator.prototype, "locks");
    Object.defineProperty(Navigator.prototype, "locks", { configurable: true, get: () => undefined });
    try {
      eq(navigator.locks, undefined);
      const { api, server } = setup(make);
      server.expire();
      const all = await Promise.all([1, 2, 3, 4, 5].map((i) => api.fetch("/api/" + i)));
      eq(all.map((r) => r.status), [200, 200, 200, 200, 200]);
      eq(server.refreshCalls, 1);
    } finally {
      Object.defineProperty(Navigator.prototype, "locks", original);
    }
  },

  async cross_tab_off_takes_no_lock(make) {
    const { api, server } = setup(make, { crossTab: false });
    server.expire();
    const release = await holdLock();
    try {
      eq((await api.fetch("/api/x")).status, 200, "refreshed while another tab holds the lock");
      eq(server.refreshCalls, 1);
    } finally {
      release();
    }
  },

  async tokens_from_another_tab_are_used_by_the_next_request(make) {
    const { api, server } = setup(make);
    await api.fetch("/api/1");
    server.valid.add("a9");
    localStorage.setItem("token", "a9");
    localStorage.setItem("refreshToken", "r9");
    await api.fetch("/api/2");
    eq(server.calls.map((c) => c.auth), ["Bearer a1", "Bearer a9"]);
  },

  async logout_in_another_tab_ends_this_one(make) {
    for (const crossTab of [true, false]) {
      const logouts = [], navigations = [];
      const { api, server } = setup(make, { crossTab, onLogout: (i) => logouts.push(i.reason), navigate: (u) => navigations.push(u) });
      eq((await api.fetch("/api/1")).status, 200);
      writeAsAnotherTab({ token: null, refreshToken: null });
      eq(logouts, crossTab ? ["LOGOUT"] : [], "onLogout, crossTab " + crossTab);
      eq(navigations, crossTab ? ["/login"] : [], "redirect, crossTab " + crossTab);
      if (crossTab) {
        eq((await api.fetch("/api/2")).status, 401, "the session had ended: the 401 is the app's");
      } else {
        // Nothing told this tab; the next refused request finds the tokens gone and ends it.
        await rejectsWith(api.fetch("/api/2"), "NO_REFRESH_TOKEN");
        eq(logouts, ["NO_REFRESH_TOKEN"], "onLogout once the loss is seen");
      }
      eq(server.callsTo("/api/2").map((c) => c.auth), [null], "the old token is no longer sent");
    }
  },

  async two_instances_share_one_refresh(make) {
    const { api, server } = setup(make, { crossTab: false });
    const other = make({ refreshUrl: "/auth/refresh", fetch: server.fetch, crossTab: false, navigate: () => {} });
    server.expire();
    const all = await Promise.all([api, other, api, other, api, other].map((a, i) => a.fetch("/api/" + i)));
    eq(all.map((r) => r.status), [200, 200, 200, 200, 200, 200]);
    eq(server.refreshCalls, 1);
  },

  async a_callback_that_uses_another_instance_does_not_take_the_rest_of_the_callbacks(make) {
    // Two instances on one session: the one whose refresh was refused gets onRefreshError, then
    // onLogout and navigate, even when its onRefreshError calls the other instance in between.
    const heard = [];
    const { api: first, server } = setup(make, { crossTab: false, onLogout: () => heard.push("first onLogout"), navigate: () => heard.push("first navigate") });
    const second = make({
      refreshUrl: "/auth/refresh", fetch: server.fetch, crossTab: false,
      onRefreshError: () => { heard.push("second onRefreshError"); first.getAccessToken().catch(() => {}); },
      onLogout: () => heard.push("second onLogout"), navigate: () => heard.push("second navigate"),
    });
    server.expire();
    server.refreshAnswer = () => json(401, { error: "invalid_grant" });
    await rejectsWith(second.fetch("/api/x"), "SESSION_EXPIRED");
    eq(heard, ["second onRefreshError", "second onLogout", "second navigate"]);
  },

  async refreshes_ahead_of_a_jwt_expiry(make) {
    const now = Date.now();
    const { api, server } = withAccess(make, jwt({ sub: "u", iat: secs(now) - 50, exp: secs(now) + 10 }));
    eq((await api.fetch("/api/first")).status, 200, "no clock estimate yet: sent as is");
    eq(server.refreshCalls, 0);
    eq((await api.fetch("/api/second")).status, 200);
    eq(server.refreshCalls, 1, "10 s left of 60: refreshed before sending");
    eq(server.callsTo("/api/second").map((c) => c.auth), ["Bearer a2"], "sent once, with the new token");
  },

  async short_lived_tokens_are_not_refreshed_before_every_request(make) {
    const now = Date.now();
    const { api, server } = withAccess(make, jwt({ iat: secs(now), exp: secs(now) + 6 }));
    for (let i = 0; i < 5; i++) await api.fetch("/api/" + i);
    eq(server.refreshCalls, 0, "the window is capped at half of a 6 s lifetime");
  },

  async expires_in_from_the_refresh_answer_counts(make) {
    const { api, server } = setup(make);
    server.skewMs = 0;
    server.refreshAnswer = () => { server.valid.add("e" + server.refreshCalls); return json(200, { token: "e" + server.refreshCalls, expiresIn: 2 }); };
    await api.fetch("/api/clock");
    await api.refresh();
    await api.fetch("/api/soon");
    eq(server.refreshCalls, 1, "fresh for 2 s: not yet");
    // Half of expiresIn, plus the 0.5 s the server-clock estimate may be off (it errs late).
    await new Promise((r) => setTimeout(r, 1800));
    await api.fetch("/api/later");
    eq(server.refreshCalls, 2, "past half of expiresIn: refreshed first");
    eq(server.callsTo("/api/later").map((c) => c.auth), ["Bearer e2"]);
  },

  async the_server_clock_decides_not_the_local_one(make) {
    const hours = 2 * 3600 * 1000;
    // The local clock is 2 h ahead of the server: the token looks long expired locally.
    let now = Date.now() - hours;
    let { api, server } = withAccess(make, jwt({ iat: secs(now) - 10, exp: secs(now) + 60 }), {}, -hours);
    for (let i = 0; i < 5; i++) eq((await api.fetch("/api/" + i)).status, 200);
    eq(server.refreshCalls, 0, "clock 2 h fast: no refresh on every request");
    // The local clock is 2 h behind: the token looks valid for hours locally, but has 10 s left.
    now = Date.now() + hours;
    ({ api, server } = withAccess(make, jwt({ iat: secs(now) - 50, exp: secs(now) + 10 }), {}, hours));
    for (let i = 0; i < 3; i++) eq((await api.fetch("/api/" + i)).status, 200);
    eq(server.refreshCalls, 1, "clock 2 h slow: still refreshed ahead of the real expiry");
  },

  async a_changed_server_clock_is_followed(make) {
    // The Date header is parsed again only when its text changed; a change still counts.
    const now = Date.now();
    const { api, server } = withAccess(make, jwt({ iat: secs(now), exp: secs(now) + 600 }), { refreshAheadMs: 60_000 });
    for (let i = 0; i < 3; i++) eq((await api.fetch("/api/" + i)).status, 200);
    eq(server.refreshCalls, 0, "ten minutes left on the server's clock");
    server.skewMs = 570_000; // the server's clock moved on 9.5 min: 30 s left
    eq((await api.fetch("/api/tells")).status, 200);
    eq((await api.fetch("/api/after")).status, 200);
    eq(server.refreshCalls, 1, "refreshed ahead by the server's new clock");
  },

  async a_url_sent_again_and_again_is_refreshed_ahead_in_time(make) {
    // The driver sends requests to a URL Rust sent before by itself (see core's
    // a_url_sent_before_follows_every_change_of_the_session), but never past the time Rust gave it:
    // when refreshing ahead falls due, or when the server's clock moves.
    let now = Date.now();
    let { api, server } = withAccess(make, jwt({ iat: secs(now), exp: secs(now) + 600 }), { refreshAheadMs: 60_000 });
    for (let i = 0; i < 3; i++) eq((await api.fetch("/api/same")).status, 200);
    eq(server.refreshCalls, 0, "ten minutes left on the server's clock");
    server.skewMs = 570_000; // the server's clock moved on 9.5 min: 30 s left
    eq((await api.fetch("/api/same")).status, 200);
    eq((await api.fetch("/api/same")).status, 200);
    eq(server.refreshCalls, 1, "refreshed ahead by the server's new clock");
    // A token of 4 s: refreshing ahead falls due 2.5 s in (half its life, plus the clock's error).
    now = Date.now();
    ({ api, server } = withAccess(make, jwt({ iat: secs(now), exp: secs(now) + 4 }), { refreshAheadMs: 60_000 }));
    for (let i = 0; i < 3; i++) eq((await api.fetch("/api/same")).status, 200);
    await tick(3_400);
    eq((await api.fetch("/api/same")).status, 200);
    eq(server.refreshCalls, 1, "refreshed ahead when it fell due, with nothing else changed");
  },

  async a_replay_s_answer_is_the_caller_s_and_tells_the_server_clock(make) {
    // Nothing is kept for a replay (its answer is the caller's whatever it says), but its `Date`
    // still tells the clock of the server that issued the token: without a known clock nothing is
    // ever refreshed ahead. The new token lives 8 s, so its floor (no refresh ahead before it,
    // counted on this page's clock from its arrival) is 4 s.
    const now = Date.now();
    const fresh = jwt({ iat: secs(now), exp: secs(now) + 8 });
    let { api, server } = withAccess(make, "a1", { refreshAheadMs: 60_000 });
    server.expire();
    server.refreshAnswer = () => {
      server.valid.add(fresh);
      server.skewMs = 570_000; // from the replay on, the server's clock is 9.5 min on
      return json(200, { token: fresh });
    };
    eq((await api.fetch("/api/replayed")).status, 200);
    eq(server.callsTo("/api/replayed").length, 2, "answered 401, then replayed");
    await tick(4_300);
    eq((await api.fetch("/api/after")).status, 200);
    eq(server.refreshCalls, 2, "refreshed ahead by the clock the replay's answer told, once its floor was over");
    // Each 401 with a `Date` of its own, so the replay's goes back through Rust too.
    ({ api, server } = setup(make));
    const own = server.fetch;
    let n = 0;
    server.fetch = async (input, init) => {
      const res = await own(input, init);
      return res.status === 401 ? json(401, { error: "expired" }, { date: new Date(now + 1000 * ++n).toUTCString() }) : res;
    };
    server.expire();
    server.valid.add = () => {}; // the server accepts no token at all, even fresh ones
    eq((await api.fetch("/api/never")).status, 401, "the replay's 401 goes back to the caller");
    eq(server.refreshCalls, 1);
    eq(server.callsTo("/api/never").length, 2);
  },

  async only_the_token_s_origins_tell_the_server_clock(make) {
    // A `Date` header from an origin the token does not go to says nothing about the clock of the
    // server that issued the token.
    const now = Date.now();
    const token = jwt({ iat: secs(now), exp: secs(now) + 600 });
    const server = new FakeServer({ access: token });
    server.skewMs = 0;
    const own = server.fetch;
    server.fetch = (input, init) => (String(input instanceof Request ? input.url : input).startsWith("https://elsewhere.example/")
      ? Promise.resolve(json(200, { ok: true }, { date: new Date(now + 570_000).toUTCString() }))
      : own(input, init));
    const { api } = setup(make, { refreshAheadMs: 60_000 }, { tokens: false, server });
    localStorage.setItem("token", token);
    localStorage.setItem("refreshToken", "r1");
    eq((await api.fetch("/api/first")).status, 200);
    eq((await api.fetch("https://elsewhere.example/x")).status, 200);
    eq((await api.fetch("/api/then")).status, 200);
    eq(server.refreshCalls, 0, "ten minutes left on the token's server's clock, whatever another origin's says");
  },

  async odd_jwts_mean_expiry_unknown(make) {
    const now = secs(Date.now());
    const odd = [jwt({ exp: "soon" }), jwt({ exp: 1e300 }), jwt({ exp: -1 }), jwt("bm90IGpzb24"), jwt({ iat: now, exp: now - 5 }).replace(".c2ln", ""), "opaque-token"];
    for (const token of odd) {
      const { api, server } = withAccess(make, token);
      for (let i = 0; i < 3; i++) await api.fetch("/api/" + i);
      eq(server.refreshCalls, 0, token + ": no refresh ahead");
    }
  },

  async three_second_jwts_with_whole_second_claims_refresh_once_per_expiry(make) {
    // As DRF + SimpleJWT issue them: whole-second iat/exp, a 3 s life, a Date header on every
    // answer, no refresh-token rotation; the server refuses a token once its exp has passed.
    const server = new FakeServer();
    const date = () => ({ date: new Date().toUTCString() });
    const expOf = (auth) => {
      try { return JSON.parse(atob(auth.slice(7).split(".")[1].replace(/-/g, "+").replace(/_/g, "/"))).exp * 1000; } catch { return 0; }
    };
    const issue = () => { const iat = secs(Date.now()); return jwt({ iat, exp: iat + 3, n: server.refreshCalls }); };
    server.fetch = async (input, init) => {
      const req = new Request(input, init);
      if (new URL(req.url).pathname === "/auth/refresh") {
        server.refreshCalls++;
        // Issued late in its second, so its whole-second iat makes it look ~0.9 s older.
        while (Date.now() % 1000 < 850) await tick(5);
        server.issuedAt = Date.now();
        return json(200, { token: issue() }, date());
      }
      const ok = expOf(req.headers.get("authorization") || "") > Date.now();
      return ok ? json(200, { ok: true }, date()) : json(401, { error: "expired" }, date());
    };
    const { api } = setup(make, {}, { tokens: false, server });
    api.setTokens({ accessToken: issue(), refreshToken: "r1" });
    const burst = () => Promise.all([
      ...Array.from({ length: 20 }, (_, i) => api.fetch("/api/get/" + i)),
      ...Array.from({ length: 5 }, (_, i) => api.fetch("/api/post/" + i, { method: "POST", body: "b" + i })),
    ]);
    for (let round = 1; round <= 6; round++) {
      while (Date.now() < expOf("Bearer " + localStorage.getItem("token")) + 50) await tick(5);
      const before = server.refreshCalls;
      eq((await burst()).map((r) => r.status), Array(25).fill(200), "round " + round);
      for (const at of [300, 700]) {
        while (Date.now() < server.issuedAt + at) await tick(5);
        eq((await burst()).map((r) => r.status), Array(25).fill(200), "round " + round + ", " + at + " ms after the refresh");
      }
      // Just after the second boundary two seconds past iat: the token has lived ~1.1 of its
      // ~2.1 s, and a Date header read now puts the clock estimate ~0.5 s ahead (the issue's
      // worst case). Judged from iat (window 1.5 s), it would be refreshed again here.
      const iat = expOf("Bearer " + localStorage.getItem("token")) - 3000;
      while (Date.now() < iat + 2020) await tick(2);
      eq((await api.fetch("/api/clock")).status, 200);
      eq((await burst()).map((r) => r.status), Array(25).fill(200), "round " + round + ", just after the second boundary");
      eq(server.refreshCalls - before, 1, "round " + round + ": one refresh for the expiry");
    }
  },

  async refresh_ahead_zero_turns_it_off(make) {
    const now = Date.now();
    const { api, server } = withAccess(make, jwt({ iat: secs(now) - 50, exp: secs(now) + 5 }), { refreshAheadMs: 0 });
    for (let i = 0; i < 3; i++) await api.fetch("/api/" + i);
    eq(server.refreshCalls, 0);
  },

  async a_login_half_written_by_another_tab_is_not_erased(make) {
    // Issue 28, item 1. Both tabs have no session; the user logs in in the other tab, which
    // writes the access token first. This tab hears that event before the refresh token is
    // written: a pair being written, not a logout, and not this tab's to remove. Before it, this
    // tab had no session, had heard its session end, or still holds the session the other tab
    // ended (it hears that logout and the new login's first write as one change, late).
    for (const before of ["none", "ended", "unheard"]) {
      const logouts = [];
      const { api, server } = setup(make, { onLogout: (i) => logouts.push(i.reason) }, { tokens: before !== "none" });
      if (before === "unheard") {
        eq((await api.fetch("/api/0")).status, 200);
        localStorage.removeItem("refreshToken");
        localStorage.removeItem("token:pair");
      }
      if (before === "ended") {
        // This tab knew a session that ended (another tab logged out) before the new login.
        eq((await api.fetch("/api/0")).status, 200);
        writeAsAnotherTab({ token: null, "token:pair": null, refreshToken: null });
        eq(logouts, ["LOGOUT"], "the earlier logout was heard");
        logouts.length = 0;
      }
      server.valid.add("a2");
      writeAsAnotherTab({ token: "a2" });
      eq(localStorage.getItem("token"), "a2", before + ": the half-written login is still there");
      writeAsAnotherTab({ refreshToken: "r2", "token:pair": fingerprint("a2", "r2") });
      eq([localStorage.getItem("token"), localStorage.getItem("refreshToken")], ["a2", "r2"], before + ": the login stands");
      eq(logouts, [], before + ": nobody was logged out");
      const res = await api.fetch("/api/x");
      eq(res.status, 200, before + ": the next request is served with the new login");
      eq(server.callsTo("/api/x").map((c) => c.auth), ["Bearer a2"]);
    }
  },

  async a_login_half_written_under_the_lock_is_waited_for(make) {
    // While this tab waits for the refresh lock, the other tab logs out and in again; when this
    // tab gets the lock, only the new access token is written. That is a login to wait for and
    // adopt, not a logout.
    const logouts = [];
    const { api, server } = setup(make, { onLogout: (i) => logouts.push(i.reason) });
    server.expire();
    const release = await holdLock();
    const pending = api.fetch("/api/x");
    await until(() => api.isRefreshing, "waiting for the lock");
    localStorage.removeItem("refreshToken");
    localStorage.removeItem("token:pair");
    server.valid.add("a2");
    writeAsAnotherTab({ token: "a2" });
    release();
    await tick(100);
    const written = performance.now();
    writeAsAnotherTab({ refreshToken: "r2", "token:pair": fingerprint("a2", "r2") });
    eq((await pending).status, 200, "replayed with the new login");
    const waited = performance.now() - written;
    eq(server.callsTo("/api/x").map((c) => c.auth), ["Bearer a1", "Bearer a2"]);
    eq([server.refreshCalls, logouts], [0, []], "no refresh, nobody logged out");
    assert(waited < 500, "woken by the refresh token's event, not by the 1 s settle: " + waited.toFixed(0) + " ms");
  },

  async a_login_heard_from_another_tab_ends_with_its_logout(make) {
    // This tab never sent a request: it knows the session only from the other tab's login.
    const logouts = [];
    setup(make, { onLogout: (i) => logouts.push(i.reason) }, { tokens: false });
    writeAsAnotherTab({ token: "a2", refreshToken: "r2", "token:pair": fingerprint("a2", "r2") });
    writeAsAnotherTab({ token: null, "token:pair": null, refreshToken: null });
    eq(logouts, ["LOGOUT"], "the other tab's logout ends the session here too");
  },

  async a_refused_refresh_does_not_erase_a_login_made_meanwhile(make) {
    // Issue 28, item 2. This tab spends r1; meanwhile the user logs in again in another tab,
    // which revokes r1; the server then refuses it. The new login stands, and this tab adopts it
    // and replays its queue with it, with or without hearing the other tab.
    for (const crossTab of [true, false]) {
      const logouts = [], navigations = [];
      const { api, server } = setup(make, { crossTab, onLogout: (i) => logouts.push(i.reason), navigate: (u) => navigations.push(u) });
      server.expire();
      const release = server.holdRefresh();
      const pending = [api.fetch("/api/x"), api.fetch("/api/y", { method: "POST", body: "kept" })];
      await until(() => server.refreshCalls === 1, "the refresh call reached the server");
      server.valid.add("a9");
      server.refreshToken = "r9"; // the new login's: r1 is refused from now on
      writeAsAnotherTab({ token: "a9", refreshToken: "r9", "token:pair": fingerprint("a9", "r9") });
      release();
      const [x, y] = await Promise.all(pending);
      eq([x.status, y.status], [200, 200], "crossTab " + crossTab + ": replayed with the new login");
      eq((await y.json()).body, "kept", "the POST body replayed intact");
      eq(server.callsTo("/api/x").map((c) => c.auth), ["Bearer a1", "Bearer a9"]);
      eq([localStorage.getItem("token"), localStorage.getItem("refreshToken")], ["a9", "r9"], "crossTab " + crossTab + ": the login stands");
      eq([logouts, navigations], [[], []], "crossTab " + crossTab + ": nobody was logged out");
    }
  },

  async a_pair_from_two_writes_is_refused_not_spent(make) {
    // A refresh token put back beside another write's access token (a write that threw, undone
    // from a lagging view of storage): the fingerprint matches neither pair, and one half is the
    // pair this tab knew. Spending it could reuse a rotated token, so after the settle wait
    // nothing is sent and nobody is logged out.
    const logouts = [];
    const { api, server } = setup(make, { onLogout: (i) => logouts.push(i.reason) });
    eq((await api.fetch("/api/first")).status, 200, "this tab knows the whole pair a1/r1");
    writeAsAnotherTab({ "token:pair": fingerprint("a1", "r1"), refreshToken: "r9" });
    server.expire();
    const started = performance.now();
    const error = await rejectsWith(api.fetch("/api/x"), "INVALID_TOKEN");
    assert(performance.now() - started >= 900, "refused after the settle wait, not before");
    assert(/two different writes/.test(error.message) && !/a1|r9/.test(error.message), "says why, without a token: " + error.message);
    eq([server.refreshCalls, logouts], [0, []], "nothing spent, nobody logged out");
    eq([localStorage.getItem("token"), localStorage.getItem("refreshToken")], ["a1", "r9"], "nothing removed");
  },

  async setting_the_pair_being_spent_keeps_the_rotated_one(make) {
    // Issue 28, item 3. An app that sets again the tokens it read (on a route change) while a
    // refresh spends them: nothing changes, and the refresh's rotated pair is kept.
    const { api, server } = setup(make);
    server.expire();
    const release = server.holdRefresh();
    const pending = api.fetch("/api/x");
    await until(() => server.refreshCalls === 1, "the refresh call reached the server");
    api.setTokens({ accessToken: "a1", refreshToken: "r1" });
    eq(api.isRefreshing, true, "the refresh goes on");
    release();
    eq((await pending).status, 200);
    eq([localStorage.getItem("token"), localStorage.getItem("refreshToken")], ["a2", "r2"], "the rotated pair is stored");
    server.expire();
    eq((await api.fetch("/api/z")).status, 200, "the next refresh spends r2, not the spent r1");
    eq(server.refreshCalls, 2);
    eq(localStorage.getItem("refreshToken"), "r3");
  },

  async a_transient_failure_adopts_a_pair_another_tab_stored(make) {
    // After the server refused this tab's access token, its refresh fails transiently while
    // another tab stores a new pair: the replays go out with that pair instead of failing.
    const { api, server } = setup(make, { crossTab: false });
    server.expire();
    server.refreshAnswer = () => json(503, { error: "unavailable" });
    const release = server.holdRefresh();
    const pending = api.fetch("/api/x");
    await until(() => server.refreshCalls === 1, "the refresh call reached the server");
    server.valid.add("a7");
    writeAsAnotherTab({ token: "a7", refreshToken: "r7", "token:pair": fingerprint("a7", "r7") });
    release();
    eq((await pending).status, 200, "replayed with the other tab's pair");
    eq(server.callsTo("/api/x").map((c) => c.auth), ["Bearer a1", "Bearer a7"]);
    // The back-off stays: the server did fail, and the next call in any tab waits its window (the
    // simulation's seeds 391024 and 19167 found a call following a failure at once without it).
    assert(localStorage.getItem("token:backoff") !== null, "the back-off is kept");
  },
};

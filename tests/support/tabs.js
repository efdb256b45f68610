// Scenarios of the many-tabs issue: the cross-tab Web Lock, storage events, shared instances, and
// refresh ahead of expiry on the server's clock. "Another tab" is played by this page holding the
// same Web Lock and writing storage, as a second tab would; the real two-tab run is in tests/e2e.
import { FakeServer, json, until } from "./fake_server.js";
import { eq, runScenario, setup } from "./harness.js";

export const run = (name, make, tools) => runScenario(scenarios, name, make, tools);

const lockName = () => "seamless-fetch:token:" + new URL("/auth/refresh", location.href).href;

/** Holds the refresh lock as another tab mid-refresh would; resolves to its release function. */
function holdLock() {
  return new Promise((held) => navigator.locks.request(lockName(), () => new Promise((release) => held(release))));
}

const b64url = (o) => btoa(JSON.stringify(o)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
/** An unsigned JWT whose claims are given in seconds relative to `nowMs`. */
const jwt = (claims) => b64url({ alg: "HS256", typ: "JWT" }) + "." + (typeof claims === "string" ? claims : b64url(claims)) + ".c2ln";
const secs = (ms) => Math.floor(ms / 1000);

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
    localStorage.setItem("token", "a2");
    localStorage.setItem("refreshToken", "r2");
    eq((await pending).status, 200);
    eq(server.refreshCalls, 0, "did not spend r1 a second time");
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
      localStorage.removeItem("token");
      localStorage.removeItem("refreshToken");
      // Another tab's removal reaches this one as a storage event (a page gets none for its own writes).
      window.dispatchEvent(new StorageEvent("storage", { key: "token", oldValue: "a1", newValue: null, storageArea: localStorage }));
      eq(logouts, crossTab ? ["LOGOUT"] : [], "onLogout, crossTab " + crossTab);
      eq(navigations, crossTab ? ["/login"] : [], "redirect, crossTab " + crossTab);
      await api.fetch("/api/2");
      eq(server.callsTo("/api/2")[0].auth, null, "the old token is no longer sent");
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
    await new Promise((r) => setTimeout(r, 1200));
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

  async odd_jwts_mean_expiry_unknown(make) {
    const now = secs(Date.now());
    const odd = [jwt({ exp: "soon" }), jwt({ exp: 1e300 }), jwt({ exp: -1 }), jwt("bm90IGpzb24"), jwt({ iat: now, exp: now - 5 }).replace(".c2ln", ""), "opaque-token"];
    for (const token of odd) {
      const { api, server } = withAccess(make, token);
      for (let i = 0; i < 3; i++) await api.fetch("/api/" + i);
      eq(server.refreshCalls, 0, token + ": no refresh ahead");
    }
  },

  async refresh_ahead_zero_turns_it_off(make) {
    const now = Date.now();
    const { api, server } = withAccess(make, jwt({ iat: secs(now) - 50, exp: secs(now) + 5 }), { refreshAheadMs: 0 });
    for (let i = 0; i < 3; i++) await api.fetch("/api/" + i);
    eq(server.refreshCalls, 0);
  },
};

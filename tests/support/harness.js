// Assertions and set-up shared by the browser scenarios. A scenario throws on the first failed
// check; the Rust test that ran it then fails with that message.
import { FakeServer } from "./fake_server.js";

export function assert(cond, what) {
  if (!cond) throw new Error("check failed: " + what);
}

export function eq(actual, expected, what = "value") {
  const a = JSON.stringify(actual), e = JSON.stringify(expected);
  if (a !== e) throw new Error(what + ": expected " + e + ", got " + a);
}

/** Awaits `promise` and checks it rejects with an AuthError of `code`; returns the error. */
export async function rejectsWith(promise, code) {
  let error = null;
  try { await promise; } catch (e) { error = e; }
  assert(error !== null, "expected a rejection with " + code);
  eq(error.name, code === "AbortError" ? "AbortError" : "AuthError", "error name");
  if (code !== "AbortError") eq(error.code, code, "error code");
  return error;
}

/** Every console line while it is installed (still printed too). */
export function captureConsole() {
  const lines = [];
  const original = {};
  for (const k of ["log", "info", "warn", "error", "debug"]) {
    original[k] = console[k];
    console[k] = (...args) => {
      lines.push(k + ": " + args.map((a) => (a instanceof Error ? a.stack + " " + a.message : String(a))).join(" "));
      original[k].apply(console, args);
    };
  }
  return { lines, restore: () => Object.assign(console, original) };
}

const b64url = (o) => btoa(JSON.stringify(o)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
/** An unsigned JWT whose claims are given in seconds relative to `nowMs`. */
export const jwt = (claims) => b64url({ alg: "HS256", typ: "JWT" }) + "." + (typeof claims === "string" ? claims : b64url(claims)) + ".c2ln";
export const secs = (ms) => Math.floor(ms / 1000);

/**
 * What another tab's write looks like here: the write, then the `storage` event it causes (a page
 * gets none for its own writes).
 */
export function writeAsAnotherTab(pairs) {
  for (const [key, value] of Object.entries(pairs)) {
    const oldValue = localStorage.getItem(key);
    if (value === null) localStorage.removeItem(key);
    else localStorage.setItem(key, value);
    window.dispatchEvent(new StorageEvent("storage", { key, oldValue, newValue: value, storageArea: localStorage }));
  }
}

/**
 * A fresh world: the scenario's earlier AuthFetch objects freed (so a leg of a looping scenario
 * cannot pass by sharing a live session with the leg before), fresh storage, a fake server and an
 * AuthFetch on it. Tokens a1/r1 are stored unless `tokens: false`. `navigate` is a no-op unless
 * given: a real redirect would unload the test page.
 */
export function setup(make, options = {}, { tokens = true, server = new FakeServer() } = {}) {
  make.freeAll();
  localStorage.clear();
  sessionStorage.clear();
  if (tokens) {
    localStorage.setItem("token", "a1");
    localStorage.setItem("refreshToken", "r1");
  }
  const api = make({ refreshUrl: "/auth/refresh", fetch: (input, init) => server.fetch(input, init), navigate: () => {}, ...options });
  return { api, server };
}

/** Runs one scenario by name and frees every AuthFetch it made, pass or fail. */
export async function runScenario(scenarios, name, make, tools) {
  const scenario = scenarios[name];
  if (!scenario) throw new Error("no scenario named " + name);
  const unhandled = [];
  const onUnhandled = (e) => unhandled.push(e.reason);
  window.addEventListener("unhandledrejection", onUnhandled);
  const made = [];
  const tracked = (options) => { const api = make(options); made.push(api); return api; };
  // dispose() again does nothing: a scenario may have disposed one already.
  tracked.freeAll = () => { for (const api of made.splice(0)) api.dispose(); };
  // For a scenario that lets the garbage collector take an AuthFetch: nothing here holds it.
  tracked.untracked = make;
  try {
    await scenario(tracked, tools);
    await new Promise((r) => setTimeout(r, 0));
    eq(unhandled.map(String), [], "unhandled promise rejections");
  } catch (e) {
    // Firefox's stack does not repeat the message; give both.
    const text = (x) => (x && x.message !== undefined ? x.name + ": " + x.message + "\n" + x.stack : String(x));
    throw new Error(text(e) + (e && e.cause ? "\ncaused by: " + text(e.cause) : ""));
  } finally {
    window.removeEventListener("unhandledrejection", onUnhandled);
    tracked.freeAll();
    localStorage.clear();
    sessionStorage.clear();
  }
}

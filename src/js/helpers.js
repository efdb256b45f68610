// The few operations the Rust core needs that take a callback: promises, timers, event listeners
// and the Web Locks API. Keeping them here means the wasm side never creates a Rust closure per
// request, so nothing leaks and nothing must be `forget`-ed. Every listener and timer added here
// is removed here.

/** `new Request(input, init)`: one normalised, cloneable copy of whatever fetch() was given. */
export function toRequest(input, init) {
  return new Request(input, init);
}

/**
 * The bound `fetch` of one `AuthFetch`, over the synchronous steps of a request in Rust (`Step` in
 * client.rs). Each step answers with the response itself (done), `[input, init, token, seen,
 * headers, signal, until, slot]` (send `transport(input, init)`, then hand the answer to
 * `judge(step, callerInit, slot, response, status, dated, date)`), or `[promise, slot]` (wait for a
 * refresh, a body or `isExpired`, then `resume(slot, value)`). `slot` is where Rust keeps the
 * request between steps (-1: nothing kept, the happy path; -2: not the library's request, its
 * answer is the caller's; -4: the same, for its origin only, see `passedThrough`; -3: the last
 * attempt, a replay or a `no-refresh` request, nothing kept and its answer the caller's, but its
 * `Date` still tells the server's clock); when a wait or the transport rejects, `fail(slot)` lets
 * it go (and out of the refresh queue) and the rejection is the caller's. No Rust future: a future
 * costs a promise, callbacks and a task per await, and a storm pays that twice per request.
 *
 * What is cheap to learn in JS is learnt here and handed over as arguments, because every call from
 * wasm into JS costs a crossing: the plain parts of the request and its control header
 * (`plainParts`), whether the answer is a `Response`, its status, and its `Date` header with
 * whether its text changed since this instance's last managed answer (the Rust side parses it only
 * then). A happy-path request costs three calls from Rust into JS (the stored tokens, the send
 * step, the URL as a Rust string; the control header is read only when there is one); it cost 24
 * before. Its answer does not go back into Rust at all when its status is none of `expired` (the
 * `expiredStatuses`) and its `Date` is unchanged: nothing is kept for it and there is nothing to
 * learn; nor does the answer to a request that is not the library's (slots -2, -4), nor, with its
 * `Date` unchanged, a last attempt's (slot -3).
 *
 * Nor does the next request to a URL that Rust just sent on the happy path (slot -1 with a token)
 * go into wasm at all, while nothing Rust's `plan` reads has changed: the driver keeps that send
 * step's token, header value, `seen` and `until` as a lease, and sends a request like it itself
 * (same plain parts, no control header, no token header of the caller's, a signal not aborted)
 * while the session's `mirror` (`Session::mirror`) still has the count `g` it had, the stored
 * tokens are the strings they were, and the clock is before `until` (when refreshing ahead falls
 * due). Its answer is judged as any happy-path answer. Rust decided every input of that step: which
 * URL may carry the token (the same for every request to it from this instance, as long as no
 * refresh runs, and a refresh raises `g`) and which token, for how long.
 *
 * Nor does an "expired" answer to a happy-path request that comes while a refresh runs (the
 * session's `mirror.w`, its wake promise): Rust would only queue the request for that refresh and
 * replay it. The driver parks it on the wake promise itself (counted in `mirror.p` as queued, out
 * at once when the caller aborts) and, when the refresh brought tokens (`mirror.o`), replays it:
 * with the lease when it holds (counted in `own.n`, for `stats().retried`), else through
 * `begin` (4 in its marks: a replay, its answer the caller's, its step a lease to take); when not,
 * `judge` hands the answer to Rust, which fails the request as the refresh failed. In a storm that
 * is no call into wasm for most requests where there were two, and the thousand answers are no
 * longer judged in wasm in the run of microtasks that the cross-tab lock's grant, a task, waits
 * behind (`bench/storm.mjs`).
 */
export function driver(begin, judge, resume, fail, transport, authHeader, expiredStatuses, mirror, own) {
  // A copy: `expiredStatuses` is a view of wasm memory, gone when the memory grows.
  const expired = Array.from(expiredStatuses);
  let lastDate = null;
  let lease = null;
  const leased = new Set(); // URLs Rust sent on the happy path, with a token
  const authLower = authHeader.toLowerCase();
  const parts = { url: "", headers: null, signal: undefined, control: null, hasAuth: false }; // see `plainParts`
  const leaseHolds = () => lease !== null && holds(lease, mirror);
  // The lease's send step for `url` at `slot`, on `headers` (a copy the request may change).
  const fromLease = (url, init, headers, slot) => sendStep(url, init, headers, authHeader, lease.value, lease.token, lease.seen, lease.until, slot);
  // An "expired" answer to happy-path send step `step` while a refresh runs, which Rust would
  // queue for the refresh and then replay (`Client::judge_first`): parked on the refresh's wake
  // promise instead (see `driver`); `init` is the caller's.
  const park = (step, response, init) => {
    const signal = isSignal(step[5]) ? step[5] : undefined;
    const woken = signal === undefined ? mirror.w : abortable(mirror.w, signal);
    mirror.p = (mirror.p | 0) + 1;
    return woken.then(() => {
      mirror.p--;
      if (mirror.o !== true) return run(judge(step, init, -1, response, response.status, false, null), init);
      if (signal !== undefined && signal.aborted) throw signal.reason; // as fetch would
      const url = step[0];
      if (leaseHolds()) {
        own.n++;
        return run(fromLease(url, init, copyHeaders(step[4], null), -3), init);
      }
      const again = begin(url, init, url, step[4], null, 4, signal);
      if (isSend(again, -3)) lease = granted(again, authHeader, mirror);
      return run(again, init);
    }, unpark);
  };
  const unpark = (e) => { mirror.p--; throw e; };
  // Carries out `step` (see `driver`) of the request the caller made with `init`. One closure per
  // step, and none per request: a storm keeps a thousand requests in flight, and what each one
  // holds is copied again by every garbage collection meanwhile.
  const run = (step, init) => {
    if (!Array.isArray(step)) return step;
    const slot = step[step.length - 1];
    const failed = slot >= 0 ? (e) => { fail(slot); throw e; } : rethrow;
    if (step.length === 2) return step[0].then((value) => run(resume(slot, value), init), failed);
    let sent;
    try { sent = transport(step[0], step[1]); } catch (e) { sent = Promise.reject(e); }
    return Promise.resolve(sent).then((response) => answered(step, init, slot, response), failed);
  };
  const answered = (step, init, slot, response) => {
    if (!isResponse(response)) return run(judge(step, init, slot, undefined, 0, false, null), init);
    // -2, -4: not the library's (the happy path pays one comparison, as before).
    if (slot < -1 && slot !== -3) return slot === -4 && expired.includes(response.status) ? passedThrough(step[0], response) : response;
    const date = response.headers.get("date");
    const dated = date !== lastDate;
    lastDate = date;
    if (!dated && (slot === -3 || (slot === -1 && !expired.includes(response.status)))) return response;
    if (!dated && slot === -1 && mirror.w != null) return park(step, response, init);
    return run(judge(step, init, slot, response, response.status, dated, date), init);
  };
  const bound = function fetch(input, init) {
    // Once the instance is disposed (`own.off`) its requests in flight go on, and new ones fail.
    if (own.off) return Promise.reject(new Error("seamless-fetch: this AuthFetch was disposed"));
    try {
      if (init !== null && (typeof init === "object" || typeof init === "function")) init = requestInit(init);
      if (!plainParts(input, init, authLower, parts)) return Promise.resolve(run(begin(input, init, null, null, null, 0, null), init));
      const { url, headers, signal, control, hasAuth } = parts;
      parts.headers = parts.signal = undefined; // nothing of this request kept past it
      const aborted = signal !== undefined && signal.aborted;
      // As fetch: a Request it cannot build throws its TypeError before the abort.
      if (aborted) new Request(url, init);
      const plain = control === null && !hasAuth && !aborted;
      if (plain && leased.has(url) && leaseHolds()) return Promise.resolve(run(fromLease(url, init, headers, -1), init));
      const step = begin(url, init, url, headers, control, (hasAuth ? 1 : 0) | (control !== null ? 2 : 0), signal);
      if (plain && isSend(step, -1)) {
        lease = granted(step, authHeader, mirror);
        if (leased.size >= 256) leased.clear();
        leased.add(url);
      }
      return Promise.resolve(run(step, init));
    } catch (e) {
      return Promise.reject(e);
    }
  };
  ownFetches.add(bound);
  return bound;
}

/** Every `api.fetch` handed out: `lateFetch` must not send through one of them. */
const ownFetches = new WeakSet();

/**
 * The lease of a happy-path send step (see `driver`): its token, header value, `seen` and `until`,
 * the mirror's count and the stored tokens as they are now, in the same turn Rust read them. Null
 * (no lease: Rust decides every request) when storage throws, as `holds` reads it.
 */
function granted(step, authHeader, mirror) {
  const headers = step[4];
  let stored = null;
  try {
    if (mirror.s !== null) stored = [mirror.s.getItem(mirror.a), mirror.r === null ? null : mirror.s.getItem(mirror.r)];
  } catch {
    return null; // storage that throws: Rust's read falls back to memory, and says so
  }
  return { token: step[2], seen: step[3], until: step[6], value: Array.isArray(headers) ? headers.find((p) => p[0] === authHeader)[1] : headers[authHeader], g: mirror.g, stored };
}

/** Whether `lease` still holds: nothing `plan` reads has changed (see `driver`). */
function holds(lease, mirror) {
  if (lease.g !== mirror.g || !(Date.now() < lease.until)) return false;
  if (lease.stored === null) return true;
  try {
    return mirror.s.getItem(mirror.a) === lease.stored[0] && (mirror.r === null || mirror.s.getItem(mirror.r) === lease.stored[1]);
  } catch {
    return false; // storage that throws: Rust's read falls back to memory, and says so
  }
}

/**
 * An "expired" answer (by status) from an origin the token is withheld from: says why no refresh
 * was tried, once per origin (32 at most) for the page; the origin only (a query may hold a secret).
 */
function passedThrough(input, response) {
  let origin;
  try { origin = new URL(input instanceof Request ? input.url : absolute(input)).origin; } catch { return response; }
  if (!told.has(origin) && told.size < 32) {
    told.add(origin);
    console.warn("seamless-fetch: a " + response.status + " from " + origin + " was passed through: that origin is not in allowedOrigins");
  }
  return response;
}
const told = new Set();

const rethrow = (e) => { throw e; };
const isResponse = (x) => typeof Response === "function" && x instanceof Response;
const isSignal = (x) => typeof AbortSignal === "function" && x instanceof AbortSignal;
/** Whether `step` sends with a token and goes on at `slot`: one to take a lease from. */
const isSend = (step, slot) => Array.isArray(step) && step.length === 8 && step[7] === slot && step[2] !== null;

/**
 * `init` read once as `fetch` reads it (a WebIDL dictionary: inherited and getter members count,
 * read by name order), then its other own enumerable properties (an app's transport may read
 * them): a plain object that every later read and copy sees the same, running no caller code.
 */
function requestInit(init) {
  const dict = {};
  for (let i = 0; i < INIT_MEMBERS.length; i++) {
    const value = init[INIT_MEMBERS[i]];
    if (value !== undefined) dict[INIT_MEMBERS[i]] = value;
  }
  for (const key in init) {
    if (!MEMBERS.has(key) && hasOwn.call(init, key)) dict[key] = init[key];
  }
  // `for…in` skips symbol keys, which `Object.assign` copied before (a transport may read them).
  const symbols = Object.getOwnPropertySymbols(init);
  for (let i = 0; i < symbols.length; i++) {
    if (isEnumerable.call(init, symbols[i])) dict[symbols[i]] = init[symbols[i]];
  }
  return dict;
}
/** `RequestInit`'s members (Fetch standard), in the order a dictionary's are read. */
const INIT_MEMBERS = "body cache credentials duplex headers integrity keepalive method mode priority redirect referrer referrerPolicy signal window".split(" ");
const MEMBERS = new Set(INIT_MEMBERS);
const hasOwn = Object.prototype.hasOwnProperty;
const isEnumerable = Object.prototype.propertyIsEnumerable;

/**
 * Whether `fetch(input, init)` can be sent again as it is, without building a Request: a string or
 * URL input, and a body that is absent or reusable (not a stream). False also for anything `fetch`
 * would refuse (the Request path then throws its error). `init` is `requestInit`'s. When true,
 * `parts` holds `url` (the absolute URL, where the request then goes: the very URL whose origin
 * decided about the token), `signal` (the caller's `AbortSignal`, or undefined) and what
 * `ownHeaders` found (`auth`: the token's header name in lower case), also set as `init.headers`.
 * The parts go in the driver's one scratch object, read at once, rather than in an array per
 * request: in a storm of a thousand requests every allocation is paid again in garbage collection.
 */
function plainParts(input, init, auth, parts) {
  if ((typeof input !== "string" && !(input instanceof URL)) || (init != null && typeof init !== "object")) return false;
  try {
    // Everything that may run the caller's code (getters, `toString`), which may call this fetch
    // again, is read before `parts` is written.
    const body = init == null ? undefined : init.body;
    if (body != null && !(typeof body === "string" || body instanceof URLSearchParams || body instanceof ArrayBuffer || ArrayBuffer.isView(body)
      || (typeof Blob !== "undefined" && body instanceof Blob) || (typeof FormData !== "undefined" && body instanceof FormData))) return false;
    const headers = init == null ? undefined : init.headers;
    const signal = init == null ? undefined : init.signal;
    const url = absolute(input);
    ownHeaders(headers, auth, parts);
    if (init != null) init.headers = parts.headers;
    parts.signal = isSignal(signal) ? signal : undefined;
    parts.url = url;
    return true;
  } catch {
    return false;
  }
}

/**
 * Sets `parts.headers`, a copy of the caller's headers `h` that the library may change,
 * `parts.control`, the value of the `x-seamless-fetch` request header (or null), taken off the
 * copy so that it is never sent, and `parts.hasAuth`, whether the caller set the token's header
 * `auth` (lower case) itself; all three written last, after every read of `h`. Names keep their
 * case on the wire, as with fetch (a `Headers` would lower them): a record is copied as a plain
 * object, an iterable (pairs, a `Headers`) as `[name, value]` pairs, read as fetch reads it.
 * Throws where fetch would (the Request path then throws fetch's error).
 */
function ownHeaders(h, auth, parts) {
  let control = null;
  let hasAuth = false;
  let headers;
  if (h != null && typeof h !== "object" && typeof h !== "function") throw new TypeError("bad headers");
  if (h != null && !isPlainObject(h) && typeof h[Symbol.iterator] === "function") {
    headers = [];
    for (const pair of h) {
      if (pair === null || typeof pair !== "object" || typeof pair[Symbol.iterator] !== "function") throw new TypeError("bad headers");
      const p = Array.from(pair, (x) => `${x}`);
      if (p.length !== 2) throw new TypeError("bad headers");
      const lower = p[0].toLowerCase();
      if (lower === CONTROL) control = joinControl(control, p[1]);
      else {
        if (lower === auth) hasAuth = true;
        headers.push(p);
      }
    }
  } else {
    headers = {};
    if (h != null) {
      for (const name of Object.keys(h)) {
        const lower = name.toLowerCase();
        if (lower === CONTROL) {
          control = joinControl(control, h[name]);
          continue;
        }
        if (lower === auth) hasAuth = true;
        headers[name] = h[name];
      }
    }
  }
  parts.headers = headers;
  parts.control = control;
  parts.hasAuth = hasAuth;
}
/** `control` with `value` added, as `Headers` reads them: trimmed, joined. */
const joinControl = (control, value) => {
  value = String(value).replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, "");
  return control === null ? value : control + ", " + value;
};
const CONTROL = "x-seamless-fetch";

function isPlainObject(x) {
  if (typeof x !== "object") return false;
  const proto = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
}

/**
 * The value of the `x-seamless-fetch` request header (or null), removed from `headers` (a
 * `Headers`) so that it is never sent. Its name lives here, as a JS string, so no request pays for
 * passing it from Rust.
 */
export function takeControl(headers) {
  const value = headers.get(CONTROL);
  if (value !== null) headers.delete(CONTROL);
  return value;
}

/**
 * A copy of `h` (a plain object or a list of pairs, see `ownHeaders`) for another attempt of a
 * request, without header `without` unless it is null.
 */
export function copyHeaders(h, without) {
  if (Array.isArray(h)) return h.filter((p) => p[0] !== without); // the token's header is spelt as the library set it
  const copy = Object.assign({}, h);
  if (without !== null) delete copy[without];
  return copy;
}

/**
 * Whether the two tokens in `storage` are still `lastA` and `lastR` (the strings read last; `r`
 * null: only the first key is read): one call into JS for what every request reads. When they
 * are not, `takeRead()` gives what was read. Throws what `getItem` throws.
 */
export function readTokens(storage, a, r, lastA, lastR) {
  const access = storage.getItem(a);
  const refresh = r === null ? null : storage.getItem(r);
  if (access === lastA && refresh === lastR) return true;
  read = [access, refresh];
  return false;
}
let read = null;

/** `[access, refresh]` as the last `readTokens` that answered false found them. */
export function takeRead() {
  const got = read;
  read = null;
  return got;
}

/**
 * The send step `[input, init, token, seen, headers, signal, until, slot]` (see `driver`), with
 * header `name` set to `value` unless it is null: on `headers` (a copy of the caller's, see
 * `ownHeaders`, sent in `init` when it holds them, a first attempt, else in a copy of `init`), or,
 * when `headers` is null, on the headers of `input`, a `Request` sent as it is. `headers` and the
 * caller's `signal` are there for Rust to take the request over after an "expired" answer
 * (`Outgoing::taken_over`) without reading the `init` it was sent with.
 */
export function sendStep(input, init, headers, name, value, token, seen, until, slot) {
  if (value !== null) {
    if (headers === null) input.headers.set(name, value);
    else if (Array.isArray(headers)) {
      const at = headers.findIndex((p) => p[0] === name);
      headers[at < 0 ? headers.length : at] = [name, value];
    }
    else headers[name] = value;
  }
  const sent = headers === null ? undefined : init == null ? { headers } : init.headers === headers ? init : Object.assign({}, init, { headers });
  return [input, sent, token, seen, headers, init == null ? undefined : init.signal, until, slot];
}

/** A refresh answer's keys for an error, never a value: 8 at most, cut to 32 printable characters. */
export function fieldNames(body) {
  const keys = Object.keys(body);
  const shown = keys.slice(0, 8).map((k) => k.slice(0, 32).replace(/[^ -~]/g, "?")).join(", ");
  return keys.length > 8 ? shown + " and " + (keys.length - 8) + " more" : shown || "no fields";
}

/** The wait step `[promise, slot]` (see `driver`). */
export function waitStep(promise, slot) {
  return [promise, slot];
}

/**
 * `input` resolved as `fetch` resolves it: against the document's base URL (which a `<base>`
 * element may point elsewhere), or the worker's location. Answers are kept per base and input:
 * apps call the same paths again and again, and parsing a URL was a tenth of a request's cost.
 */
function absolute(input) {
  // The same absolute URL as the last call's (a storm, a poll): nothing to look up.
  if (input === lastInput) return lastHref;
  // An absolute URL does not depend on the base, and reading `document.baseURI` is not free.
  const base = typeof input === "string" && ABSOLUTE.test(input) ? ""
    : globalThis.document ? globalThis.document.baseURI : globalThis.location && globalThis.location.href;
  const key = typeof input === "string" ? base + " " + input : null;
  let href = key && resolved.get(key);
  if (!href) {
    href = new URL(input, base || undefined).href;
    if (key) {
      if (resolved.size >= 256) resolved.clear();
      resolved.set(key, href);
    }
  }
  if (key && base === "") { lastInput = input; lastHref = href; }
  return href;
}
const resolved = new Map();
let lastInput = null;
let lastHref = null;
const ABSOLUTE = /^[a-z][a-z\d+\-.]*:/i;

/** A promise with its resolvers: the one promise every request waiting for a refresh waits on. */
export function deferred() {
  const d = {};
  d.promise = new Promise((resolve, reject) => { d.resolve = resolve; d.reject = reject; });
  return d;
}

/**
 * `fn(value)` once `promise` settles, `fn(null)` if it rejects: how a refresh flight, `refresh()`
 * and `getAccessToken()` go on in Rust after a wait. Settles like `fn`'s result.
 */
export function after(promise, fn) {
  return promise.then(fn, () => fn(null));
}

/** Settles like `promise`, or rejects with the signal's reason as soon as the caller aborts. */
export function abortable(promise, signal) {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/**
 * Runs `start(signal)` within `ms`, aborting the signal at the deadline. `done` never rejects: it
 * resolves to `[status, text, retryAfter]` when `start` gave a Response, `[0, value]` when it gave anything
 * else, and `[-1, error]` when it threw, rejected or ran out of time.
 */
function within(ms, start) {
  const controller = new AbortController();
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => {
      const reason = new DOMException("timed out", "TimeoutError");
      controller.abort(reason);
      reject(reason);
    }, ms);
  });
  let run;
  try { run = Promise.resolve(start(controller.signal)); } catch (e) { run = Promise.reject(e); }
  run = run.then((r) => (r && typeof r.text === "function" && typeof r.status === "number"
    ? r.text().then((text) => [r.status, text, (r.headers && typeof r.headers.get === "function" && r.headers.get("retry-after")) || null])
    : [0, r]));
  run.catch(() => {}); // losing the race to the deadline must not leave an unhandled rejection
  const done = Promise.race([run, deadline]).then((x) => x, (e) => [-1, e]).finally(() => clearTimeout(timer));
  return { signal: controller.signal, done };
}

/** `[status, text]` of `fetch(request)` within `ms` (see `within`). Used for the refresh call only. */
export function fetchText(fetch, request, ms) {
  return within(ms, (signal) => fetch(new Request(request, { signal }))).done;
}

/**
 * Calls the app's refresh function within `ms`: `{ signal, done }` (see `within`). Its `fetch` is
 * the transport, bound (ky calls it as a method of its options, where the global `fetch` throws
 * "Illegal invocation"): a request sent through it never waits behind this refresh, whatever its
 * signal (a `Request` gets a signal of its own that follows the given one, which `api.fetch`
 * cannot tell from an app request's), and never carries the access token. Nothing keeps it after
 * the call but the app.
 */
export function runRefresh(fn, transport, refreshToken, accessToken, ms) {
  const fetch = (input, init) => transport(input, init);
  return within(ms, (signal) => fn({ refreshToken: refreshToken ?? null, accessToken: accessToken ?? null, signal, fetch }));
}

/**
 * The refresh endpoint's request: `refreshHeaders` (an object, or a function called now) on top of
 * the content type; with a cookie session, sent with credentials. Throws what `Headers` throws.
 */
export function refreshRequest(url, contentType, body, extra, include) {
  const headers = new Headers({ "content-type": contentType, accept: "application/json" });
  const more = typeof extra === "function" ? extra() : extra;
  if (more) new Headers(more).forEach((v, k) => headers.set(k, v));
  return new Request(url, { method: "POST", headers, body, credentials: include ? "include" : "same-origin" });
}

/** Whether the app's `isExpired(response)` says so, given a clone; what it throws counts as no. */
export function askExpired(fn, response) {
  return Promise.resolve()
    .then(() => fn(response.clone()))
    .then((v) => v === true, (e) => { console.error("seamless-fetch: isExpired threw", e); return false; });
}

/**
 * The text of a clone of `response`, or null when it cannot be read, is longer than `limit` bytes
 * (a declared length over it is not read at all) or has not ended within `ms` (a slow body holds
 * the answer back no longer). Then the clone is cancelled; the caller's copy is untouched.
 */
export function peekText(response, limit, ms) {
  const declared = response.headers.get("content-length");
  if (declared !== null && !(Number(declared) <= limit)) return Promise.resolve(null);
  const body = response.clone().body;
  if (!body) return Promise.resolve("");
  const reader = body.getReader();
  const chunks = [];
  let size = 0;
  let timer;
  const stop = () => { reader.cancel().catch(() => {}); return null; };
  const late = new Promise((resolve) => { timer = setTimeout(() => { resolve(null); stop(); }, ms); });
  const next = () => reader.read().then(({ done, value }) => {
    if (done) {
      const all = new Uint8Array(size);
      let at = 0;
      for (const c of chunks) { all.set(c, at); at += c.length; }
      return new Response(all).text(); // not TextDecoder, which Jest's jsdom lacks
    }
    size += value.length;
    if (size > limit) return stop();
    chunks.push(value);
    return next();
  });
  return Promise.race([next().catch(() => null), late]).finally(() => clearTimeout(timer));
}

/** Resolves after `ms`. */
export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const events = typeof globalThis.addEventListener === "function" ? globalThis : null;
let lastOnline = 0;
if (events) events.addEventListener("online", () => { lastOnline = Date.now(); });

/**
 * The transport of an instance made where there is no global fetch yet (Jest's jsdom; a test that
 * installs its fetch mock after importing the app): the global one at each call, so that making
 * the instance never fails for it.
 */
export function lateFetch() {
  return (input, init) => {
    const f = globalThis.fetch;
    if (typeof f !== "function") return Promise.reject(new TypeError("seamless-fetch: there is no global fetch; pass one as the fetch option"));
    // An app that replaced the global fetch with an `api.fetch` would send each request to itself.
    if (ownFetches.has(f)) return Promise.reject(new TypeError("seamless-fetch: the global fetch is an AuthFetch's own; pass the platform's fetch as the fetch option"));
    return f(input, init);
  };
}

/** Whether the browser says it is offline (never true where `navigator.onLine` is unknown). */
export function offline() {
  return globalThis.navigator !== undefined && globalThis.navigator.onLine === false;
}

/** When the browser last came back online (epoch ms; 0: not since this module loaded). */
export function onlineAt() {
  return lastOnline;
}

/** Resolves after `ms`, or as soon as the browser comes back online. */
export function pause(ms) {
  return new Promise((resolve) => {
    const done = () => { clearTimeout(timer); if (events) events.removeEventListener("online", done); resolve(); };
    const timer = setTimeout(done, ms);
    if (events) events.addEventListener("online", done);
  });
}

/**
 * Takes the exclusive Web Lock `name`. Resolves to `{ release, contended }`, or to null when there
 * are no Web Locks (insecure context, old browser): the caller then goes on without. The wait is
 * budgeted at `ms` for each tab that holds or waits for the lock ahead of this one; past that the
 * holder is taken for frozen or closed, and this resolves to `{ release: null, contended: true }`,
 * so the caller still looks for the tokens that holder may have written before it refreshes.
 */
export function acquireLock(name, ms) {
  const locks = webLocks();
  if (!locks) return Promise.resolve(null);
  // This page's own last hold must be gone first: WebKit processes a release asynchronously, and
  // an `ifAvailable` request made right after it would take this page for another tab. With none
  // pending the lock is asked for now, not after the microtasks already queued (in a storm, a
  // thousand answers waiting to be judged).
  const ask = () => new Promise((resolve) => {
    const held = (request) => {
      const forget = () => { if (releasing.get(name) === gone) releasing.delete(name); };
      const gone = request.then(forget, forget);
      releasing.set(name, gone);
    };
    const first = locks.request(name, { ifAvailable: true }, (lock) => {
      // Free now, but another tab may have refreshed just before and released it: its storage
      // write can reach this tab late, its "fresh" hold (see `markFresh`) cannot.
      if (lock) return new Promise((release) => freshElsewhere(locks, name).then((contended) => resolve({ release, contended })));
      const ahead = typeof locks.query === "function"
        ? locks.query().then((s) => s.held.concat(s.pending).filter((l) => l.name === name).length, () => 1)
        : Promise.resolve(1);
      ahead.then((n) => {
        const controller = new AbortController();
        const timer = setTimeout(() => controller.abort(), ms * Math.max(1, n));
        const waited = locks.request(name, { signal: controller.signal }, () => {
          clearTimeout(timer);
          held(waited);
          return new Promise((release) => resolve({ release, contended: true }));
        });
        waited.catch(() => { clearTimeout(timer); resolve({ release: null, contended: true }); });
      });
      return undefined;
    });
    held(first);
    first.catch(() => resolve(null));
  });
  const pending = releasing.get(name);
  return pending ? pending.then(ask) : ask();
}

/** The Web Locks API, or null where there is none (insecure context, old browser). */
function webLocks() {
  const locks = globalThis.navigator && globalThis.navigator.locks;
  return locks && typeof locks.request === "function" ? locks : null;
}

/** Lock name -> settles once this page's latest hold of that lock has been released. */
const releasing = new Map();

/** Names whose "fresh" lock this page holds now (see `markFresh`). */
const fresh = new Set();

/**
 * Called by the tab that has just stored refreshed tokens, before it releases the refresh lock:
 * holds `<name>:fresh` for `ms` (the time other tabs give a late storage write). A tab that then
 * finds the refresh lock free still learns that tokens were refreshed a moment ago.
 */
export function markFresh(name, ms) {
  const locks = webLocks();
  if (!locks || fresh.has(name)) return;
  fresh.add(name);
  locks.request(name + ":fresh", { ifAvailable: true }, (lock) => lock && new Promise((done) => setTimeout(done, ms)))
    .catch(() => {})
    .finally(() => fresh.delete(name));
}

/** Whether another tab holds `<name>:fresh`: it stored refreshed tokens within its settle time. */
function freshElsewhere(locks, name) {
  if (fresh.has(name)) return Promise.resolve(false);
  return locks.request(name + ":fresh", { ifAvailable: true }, (lock) => lock === null).catch(() => false);
}

/** Resolves on the next `storage` event for `key` or `other` (or a clear) from another tab, or after `ms`. */
export function storageChange(key, other, ms) {
  if (typeof window === "undefined") return sleep(ms);
  return new Promise((resolve) => {
    const done = () => { clearTimeout(timer); window.removeEventListener("storage", onEvent); resolve(); };
    const onEvent = (e) => { if (e.key === key || e.key === other || e.key === null) done(); };
    const timer = setTimeout(done, ms);
    window.addEventListener("storage", onEvent);
  });
}

/**
 * Calls `fn()` on `storage` events for `key` or `other` from other tabs (or a clear); returns the
 * unsubscribe function.
 */
export function watchStorage(key, other, fn) {
  if (typeof window === "undefined") return () => {};
  const onEvent = (e) => { if (e.key === key || e.key === other || e.key === null) fn(); };
  window.addEventListener("storage", onEvent);
  return () => window.removeEventListener("storage", onEvent);
}

/** Calls a user callback; its exception is reported, never allowed to break the library. */
export function callHook(fn, arg) {
  if (typeof fn !== "function") return;
  try { fn(arg); } catch (e) { console.error("seamless-fetch: a callback threw", e); }
}

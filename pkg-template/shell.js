// The shell of issue 29: it carries out what the core (Rust, src/machine, behind src/boundary)
// decides, and reports what happened. It decides nothing itself: which request carries which
// token, when to refresh, what an answer means, what to store, when to give up and where the user
// goes are all the core's. What is here is I/O: fetch, Web Storage and its events, Web Locks,
// timers, promises, callbacks and navigation.
//
// Calls into the core take numbers; their strings go first into the core's inbox (`put`), each
// as its UTF-8 length (4 bytes, little-endian; 0xffffffff for null) and bytes. A command is read
// with `next(session)` and the accessors `id()`, `code()`, `number()`, `flag()`, `text(i)`.

// The numbers of the protocol, as src/boundary/wire.rs defines them (a Rust test checks this
// object against that file).
const PROTOCOL = {
  Op: { PASS: 1, SEND: 2, ASK: 3, RESOLVE: 4, REJECT: 5, LOCK: 6, UNLOCK: 7, REFRESH: 8, CANCEL_REFRESH: 9, STORE: 10, STORE_BACKOFF: 11, TIMER: 12, NOTIFY: 13, INVALID: 14, GIVE: 15, SHORTCUT: 16, RESUME: 17, MEMORY: 18, CANCEL_TIMER: 19, PARK: 20, SEND_LAST: 21, PROOF: 22, DROP_KEY: 23 },
  Value: { UNDEFINED: 0, NULL: 1, FALSE: 2, TRUE: 3, NUMBER: 4, STRING: 5, FUNCTION: 6, OTHER: 7, LIST: 8, MAP: 9, KEY: 10, END: 11 },
  Control: { NONE: 0, NO_TOKEN: 1, NO_REFRESH: 2, INVALID: 3 },
  Flag: { HAS_AUTH: 1, OWN_REFRESH: 2 },
  TimerKind: { GATE: 1, SETTLE: 2, TIMEOUT: 3 },
  WhyKind: { AUTH: 1, ABORTED: 2, TRANSPORT: 3 },
  ExpectKind: { ANY: 1, PAIR: 2, NOTHING: 3 },
  NoticeKind: { REFRESHED: 1, REFRESH_ERROR: 2, LOGOUT: 3, TOKENS: 4, NAVIGATE: 5, WARN: 6 },
  JudgeKind: { BODY: 1, APP: 2, ERROR: 3 },
  Setup: { COOKIE: 1, CROSS_TAB: 2, DPOP: 4 },
  Call: { RESPONSE: 1, RETURNED: 2, THREW: 3, NOT_A_RESPONSE: 4, BAD_HEADERS: 5 },
  ProvenKind: { SEND: 1, REFRESH: 2, CALLER: 3 },
  RemoveKind: { KEEP: 1, USED: 2, ANY: 3 },
};
const { Op, Value, Control, Flag, WhyKind, ExpectKind, NoticeKind, JudgeKind, Setup, Call, ProvenKind, RemoveKind } = PROTOCOL;

const CONTROL_HEADER = "x-seamless-fetch";
/** A body judged for `expiredBodyCodes` is read up to this size and for this long. */
const PEEK_LIMIT = 64 * 1024;
const PEEK_MS = 2_000;

let core = null;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Hands the shell the core's wasm exports (the entry does, once the module is instantiated). */
export function useCore(exports) {
  core = exports;
}

/**
 * DPoP's key and signing (pkg-template/dpop.js), which the "seamless-fetch/dpop" entry hands over.
 * `DPOP` is no variable: scripts/bundle-entry.mjs defines it, true in that entry's bundle and false
 * in the others, which then carry none of the code it guards (their core has no DPoP).
 */
let dpop = null;
export function useDpop(io) {
  dpop = io;
}

/** Writes `strings` into the core's inbox for the next call. */
function put(...strings) {
  let size = 0;
  for (const s of strings) size += 4 + (s == null ? 0 : s.length * 3);
  let at = core.inbox(size);
  const bytes = new Uint8Array(core.memory.buffer);
  const view = new DataView(core.memory.buffer);
  for (const s of strings) {
    if (s == null) {
      view.setUint32(at, 0xffffffff, true);
      at += 4;
      continue;
    }
    const { written } = encoder.encodeInto(s, bytes.subarray(at + 4));
    view.setUint32(at, written, true);
    at += 4 + written;
  }
}

/** String `i` of the command being read, or null. */
function text(i) {
  const len = core.text_len(i);
  return len < 0 ? null : decoder.decode(new Uint8Array(core.memory.buffer, core.text_ptr(i), len));
}

/** Walks a JS value into the core, node by node; the core says how deep it goes. */
function walk(v) {
  if (typeof v === "string") {
    put(v);
    core.value(Value.STRING, 0);
  } else if (typeof v === "number") core.value(Value.NUMBER, v);
  else if (typeof v === "boolean") core.value(v ? Value.TRUE : Value.FALSE, 0);
  else if (v === undefined) core.value(Value.UNDEFINED, 0);
  else if (v === null) core.value(Value.NULL, 0);
  else if (typeof v === "function") core.value(Value.FUNCTION, 0);
  else if (typeof v !== "object") core.value(Value.OTHER, 0);
  else if (Array.isArray(v)) {
    if (core.value(Value.LIST, 0)) for (const item of v) walk(item);
    core.value(Value.END, 0);
  } else {
    if (core.value(Value.MAP, 0)) {
      for (const key of Object.keys(v)) {
        put(key);
        core.value(Value.KEY, 0);
        walk(v[key]);
      }
    }
    core.value(Value.END, 0);
  }
}

/**
 * The error the core described in the command being read (`texts` 0 and 1), with `cause` when
 * the core says it is what the refresh call threw.
 */
function authError(cause) {
  const flags = core.flag();
  const e = new Error(text(1), flags & 2 ? { cause } : undefined);
  e.name = "AuthError";
  e.code = text(0);
  const retry = core.number();
  if (retry === retry) e.retryAfterMs = retry;
  if (flags & 1) e.offline = true;
  return e;
}

/** Calls an app callback; what it throws is reported, never allowed to break the session. */
function call(fn, arg) {
  if (typeof fn !== "function") return;
  try {
    fn(arg);
  } catch (e) {
    console.error("seamless-fetch: a callback threw", e);
  }
}

/** The Web Locks API, or null (insecure context, old browser). */
function webLocks() {
  const locks = globalThis.navigator && globalThis.navigator.locks;
  return locks && typeof locks.request === "function" ? locks : null;
}

/** Lock name -> settles once this page's latest hold of that lock is released. */
const releasing = new Map();
/** Lock names whose `:fresh` mark this page holds: its own mark is no other tab's refresh. */
const freshMarks = new Set();

/** Notes that `request` (a Web Locks request of `name`) is this page's latest hold. */
function holding(name, request) {
  const forget = () => {
    if (releasing.get(name) === gone) releasing.delete(name);
  };
  const gone = request.then(forget, forget);
  releasing.set(name, gone);
}

/** Every bound `fetch` handed out: the global fetch must not be one of them. */
const ownFetches = new WeakSet();

/** The session of the instances on one core handle, and what it holds for the core's ids. */
class Session {
  constructor(handle, setup) {
    this.handle = handle;
    [this.kind, this.accessKey, this.refreshKey, , this.lockName] = setup.texts; // texts[3]: the token header, each instance's
    this.cookie = (setup.flag & Setup.COOKIE) !== 0;
    this.crossTab = (setup.flag & Setup.CROSS_TAB) !== 0;
    this.dpop = DPOP && (setup.flag & Setup.DPOP) !== 0;
    this.key = null; // the DPoP key, as a promise (dpop.js)
    this.proofs = DPOP ? new Map() : null; // request id or "refresh <flight>" -> the core's PROOF for its next send
    this.members = []; // WeakRefs to its instances' Members, first made first
    this.current = null; // the instance whose call or request the core is hearing about
    this.flight = -1; // the flight the core's last lock, refresh or gate was about
    this.flyer = null; // the instance that flight is for: its fetch, refresh function and callbacks
    this.memory = new Map();
    this.requests = new Map(); // id -> { request, signal, resolve, reject, response, error }
    this.timers = new Map(); // "kind:flight" -> timeout
    this.locks = new Map(); // flight -> release
    this.calls = new Map(); // flight -> AbortController of the refresh call
    this.ownCall = 0; // > 0 while the app's refresh function runs
    this.callSignal = null; // the signal the running refresh function was given
    this.unwatch = null;
    this.offline = false; // what the core was last told of navigator.onLine
    this.shortcuts = new Map(); // origin -> the core's SHORTCUT for it
    this.parks = new Map(); // rules -> the core's PARK for them, with the ids parked under it
    this.parked = false; // some are, not reported yet
    this.lastDate = null; // the last answer's Date the core was told
    this.depth = 0; // how many run()s are draining now (a callback may call the API mid-drain)
    this.resumeDue = false; // a RESUME waits for the outermost drain's end
  }

  /**
   * The storage the tokens live in (memory: this session's map), looked up once (a global lookup
   * on every read cost 1 µs a request). None here (Node, a worker) fails as storage that throws.
   */
  store() {
    if (this.kind === "memory") return null;
    if (this.web) return this.web;
    const store = this.kind === "session" ? globalThis.sessionStorage : globalThis.localStorage;
    if (store == null) throw new Error("no Web Storage here");
    return (this.web = store);
  }

  /** What `key` holds; storage that throws is reported, then `key` read where the core keeps it. */
  get(key) {
    try {
      return this.read(key);
    } catch {
      this.failed();
      return this.read(key);
    }
  }

  read(key) {
    const store = this.store();
    return store ? store.getItem(key) : this.memory.get(key) ?? null;
  }

  /** Reports storage that threw, and carries the core's answer at once, before any command waiting. */
  failed() {
    this.flush();
    for (let n = core.storage_failed(this.handle, Date.now()); n > 0; n--) this.carry(core.next(this.handle));
  }

  set(key, value) {
    const store = this.store();
    if (value === null) store ? store.removeItem(key) : this.memory.delete(key);
    else store ? store.setItem(key, value) : this.memory.set(key, value);
  }

  /**
   * Writes `first`, then the stored keys, into the inbox for the event about to be reported; first
   * tells the core when `navigator.onLine` changed since the last event (a page may go offline
   * without an event).
   */
  put(...first) {
    this.flush();
    const offline = globalThis.navigator !== undefined && globalThis.navigator.onLine === false;
    if (offline !== this.offline) {
      this.offline = offline;
      if (offline) core.offline(this.handle, Date.now());
      else {
        put(...this.stored());
        core.online(this.handle, Date.now());
      }
    }
    this.snapshot = this.stored();
    put(...first, ...this.snapshot);
  }

  /** The keys as they are now: access, refresh, pair stamp, back-off. */
  stored() {
    return [this.get(this.accessKey), this.get(this.refreshKey), this.get(this.accessKey + ":pair"), this.get(this.accessKey + ":backoff")];
  }

  /** Adds an instance's member, known weakly (see `Member`). */
  join(member) {
    member.ref = typeof WeakRef === "function" ? new WeakRef(member) : { deref: () => member };
    this.members.push(member.ref);
    collected?.register(member, { session: this, ref: member.ref }, member.ref);
    this.current = member;
  }

  /** An instance leaves (disposed, or collected): the core hears it; no one left, no listening. */
  leave(ref) {
    collected?.unregister(ref);
    this.enter(this.current);
    this.members.splice(this.members.indexOf(ref), 1);
    if (this.current === ref.deref()) this.current = null;
    core.close(this.handle, Date.now());
    this.run();
    if (this.members.length === 0) {
      if (this.unwatch) this.unwatch();
      this.unwatch = null;
    }
  }

  /**
   * `member` is about to report an event to the core. The answers parked come first (see
   * `flush`); from inside a callback (a drain under way), so do the commands still waiting, for
   * the instance they were meant for.
   */
  enter(member) {
    this.flush();
    if (this.depth > 0) this.run();
    this.current = member;
  }

  /** The first instance made that is still on the session (a storage event's callbacks are its). */
  first() {
    for (const ref of this.members) {
      const m = ref.deref();
      if (m) return m;
    }
    return null;
  }

  /** Carries out the core's commands until it has none. */
  run() {
    const h = this.handle;
    let invalid = null;
    this.depth++;
    try {
      for (;;) {
        for (let op; (op = core.next(h)) !== 0; ) {
          // One command's failure (a storage that throws, say) must not strand the ones after it.
          try {
            invalid = this.carry(op) || invalid;
          } catch (e) {
            console.error("seamless-fetch: a step failed", e);
          }
        }
        // `RESUME` is reported once every callback has returned, and what they did through the
        // API (a nested drain) has been carried out: the queue reads the keys as they left them.
        if (this.depth > 1 || !this.resumeDue) break;
        this.resumeDue = false;
        this.put();
        core.resume(h, Date.now());
      }
    } finally {
      this.depth--;
    }
    if (this.depth === 0) {
      // Held no longer than needed, so that an instance dropped by the app can be collected.
      this.current = null;
      if (this.flyer && core.refreshing(h) === 0) this.flyer = null;
      // A session the core has let go (no instance, request or flight left) is forgotten here too.
      if (this.members.length === 0 && core.alive(h) === 0) sessions.delete(h);
    }
    if (invalid) throw invalid;
  }

  /** Carries out command `op`, read now; returns the error of an `INVALID`, to throw. */
  carry(op) {
    const id = core.id();
    if ((op === Op.LOCK || op === Op.REFRESH || op === Op.TIMER) && id !== this.flight) {
      this.flight = id;
      this.flyer = this.current || this.first() || this.flyer;
    }
    switch (op) {
      case Op.PASS: this.pass(id, core.code() === 1); break;
      case Op.SEND: this.send(id, text(0), false); break;
      case Op.SEND_LAST: this.send(id, text(0), true); break;
      case Op.ASK: this.ask(id, core.code()); break;
      case Op.RESOLVE: this.settle(id, true, this.requests.get(id)?.response); break;
      case Op.REJECT: this.reject(id); break;
      case Op.LOCK: this.lock(id, core.number()); break;
      case Op.UNLOCK: this.unlock(id, core.number()); break;
      case Op.REFRESH: this.refresh(id, text(0), text(1), text(2), text(3)); break;
      case Op.CANCEL_REFRESH: this.cancel(id); break;
      case Op.STORE: this.write(core.code(), text(0), text(1), text(2), text(3), text(4)); break;
      case Op.STORE_BACKOFF: try { this.set(this.accessKey + ":backoff", text(0)); } catch { this.failed(); } break;
      case Op.MEMORY: this.kind = "memory"; break;
      case Op.TIMER: this.timer(core.code(), id, core.number()); break;
      case Op.CANCEL_TIMER: {
        const key = core.code() + ":" + id;
        clearTimeout(this.timers.get(key));
        this.timers.delete(key);
        break;
      }
      case Op.NOTIFY: this.notify(core.code()); break;
      case Op.GIVE: this.settle(id, true, text(0)); break;
      case Op.SHORTCUT:
        // Valid while storage holds the very strings the core decided on (this event's), for
        // the requests of instances with the request rules it was decided under.
        this.shortcuts.set(core.code() + " " + text(0), { rules: core.code(), except: text(1), value: text(2), token: text(3), refresh: this.snapshot[1], stamp: this.snapshot[2], seen: core.out_seen(), generation: core.out_generation(), until: core.number() });
        break;
      case Op.PARK:
        this.parks.set(core.code(), { statuses: text(0).split(",").map(Number).filter(Boolean), seen: core.out_seen(), generation: core.out_generation(), ids: [] });
        break;
      case Op.RESUME: this.resumeDue = true; break;
      case Op.PROOF: if (DPOP) proven(this, id, core.code(), text(0), text(1)); break;
      case Op.DROP_KEY: if (DPOP) dpop.drop(this, core.code() === RemoveKind.KEEP ? null : core.code() === RemoveKind.USED); break;
      case Op.INVALID: return authError();
    }
    return null;
  }

  /**
   * A request sent by the core's SHORTCUT for its origin, when the request is one it covers (a
   * string or URL input with a body it can send again: `parts`; no control header, no token
   * header of the caller's) and the shortcut still holds (the core's generation, the stored token,
   * the time): its answer, or null to go the usual way. An answer the core must see (not
   * `quiet`, or a new `Date`) is reported, and the request is the core's from there.
   */
  viaShortcut(owner, input, init, parts) {
    if (this.shortcuts.size === 0 || parts.control !== null || parts.hasAuth) return null;
    const cut = this.shortcuts.get(owner.rules + " " + parts.origin);
    if (cut === undefined || cut.except === parts.path || Date.now() >= cut.until || core.generation(this.handle) !== cut.generation) return null;
    if (this.get(this.accessKey) !== cut.token || this.get(this.refreshKey) !== cut.refresh || this.get(this.accessKey + ":pair") !== cut.stamp) return null;
    let sent;
    try {
      sent = owner.transport(parts.href, withHeader(init, parts.headers, owner.authHeader, cut.value));
    } catch (e) {
      return Promise.reject(e);
    }
    return Promise.resolve(sent).then((response) => {
      if (!(response instanceof Response)) throw new TypeError("seamless-fetch: the fetch option must resolve to a Response");
      const date = response.headers.get("date");
      const park = date === this.lastDate ? this.parks.get(cut.rules) : undefined;
      if (park !== undefined && park.statuses.includes(response.status) && core.generation(this.handle) === park.generation) {
        return new Promise((resolve, reject) => {
          const id = this.track(owner, { input: parts.href, init, headers: parts.headers }, parts.signal, resolve, reject);
          this.requests.get(id).response = response;
          park.ids.push(id);
          this.parked = true;
        });
      }
      if (date === this.lastDate && core.quiet(this.handle, cut.rules, response.status) === 1) return response;
      return new Promise((resolve, reject) => {
        const id = this.track(owner, { input: parts.href, init, headers: parts.headers }, parts.signal, resolve, reject);
        this.requests.get(id).response = response;
        this.lastDate = date;
        this.current = owner;
        this.put(cut.token, date);
        if (core.shortcut_answer(this.handle, Date.now(), id, cut.rules, cut.seen, response.status) === 0) return this.settle(id, true, response);
        this.run();
      });
    });
  }

  /**
   * Reports the answers parked under each PARK (one event per rules), before any other event of
   * the session: the core decided about them as of then (they join the running flight's queue).
   */
  flush() {
    if (!this.parked) return;
    this.parked = false;
    const current = this.current;
    for (const [rules, park] of this.parks) {
      if (park.ids.length === 0) continue;
      const ids = park.ids.join(",");
      park.ids = [];
      this.snapshot = this.stored();
      put(ids, ...this.snapshot);
      core.parked(this.handle, Date.now(), rules, park.seen);
    }
    this.run();
    this.current = current;
  }

  /**
   * Keeps a request for the core's commands about `id` (`sent`: `{ input, init, headers }` sent
   * as they are with fresh headers each time, or `{ request }`, a Request cloned for each
   * attempt), and reports the caller's abort.
   */
  track(owner, sent, signal, resolve, reject) {
    const id = ++lastId;
    const r = { owner, ...sent, signal, resolve, reject, response: null, error: null, onAbort: null };
    if (signal) {
      r.onAbort = () => {
        this.enter(owner);
        core.abort(this.handle, Date.now(), id);
        this.run();
      };
      signal.addEventListener("abort", r.onAbort, { once: true });
    }
    this.requests.set(id, r);
    return id;
  }

  begin(id, url, control, flags, method) {
    this.put(url, DPOP && this.dpop ? method : null);
    core.begin(this.handle, Date.now(), id, this.current.rules, control, flags);
    this.run();
  }

  /**
   * Sends the request as it came (less the control header): its answer is the caller's. `watch`:
   * its status is reported first (`passed`), for the core to explain an "expired" one.
   */
  pass(id, watch) {
    const r = this.take(id);
    if (!r) return;
    let sent;
    try {
      sent = r.request ? r.owner.transport(r.request) : r.owner.transport(r.input, withHeader(r.init, r.headers, null, null));
    } catch (e) {
      sent = Promise.reject(e);
    }
    Promise.resolve(sent).then((response) => {
      if (watch && response instanceof Response) {
        this.flush();
        put(r.request ? r.request.url : r.input);
        core.passed(this.handle, Date.now(), r.owner.rules, response.status);
        this.run();
      }
      r.resolve(response);
    }, r.reject);
  }

  /**
   * An attempt of `id`, with the token's header value (null: none) on a copy of its request.
   * `last`: the core let `id` go, its answer or error is the caller's; a `Date` the core has not
   * heard is reported first.
   */
  send(id, value, last) {
    const r = this.requests.get(id);
    if (!r) return;
    const go = (proof) => {
      if (!r.request) return r.owner.transport(r.input, withHeader(r.init, r.headers, r.owner.authHeader, value, proof));
      const attempt = r.request.clone();
      if (value !== null) attempt.headers.set(r.owner.authHeader, value);
      if (DPOP && proof) attempt.headers.set("DPoP", proof);
      return r.owner.transport(attempt);
    };
    const proof = DPOP ? this.proofs.get(id) : undefined;
    if (DPOP) this.proofs.delete(id);
    // A replay goes out from a microtask, as it did when it waited on a promise: the code that
    // woke it (a setTokens, a callback) has finished first. A proof is signed first.
    let sent;
    try {
      // (A request the core settled while its proof waited for the key is not sent: KEY_CREATED.)
      sent = DPOP && proof ? signed(this, proof).then((p) => (this.requests.get(id) === r ? go(p) : undefined)) : r.response ? Promise.resolve().then(go) : go();
    } catch (e) {
      sent = Promise.reject(e);
    }
    Promise.resolve(sent).then(
      (response) => {
        if (response === undefined && this.requests.get(id) !== r) return;
        if (!(response instanceof Response)) throw new TypeError("seamless-fetch: the fetch option must resolve to a Response");
        r.response = response;
        // The core hears a Date only when its text changed (once a second at most): each one
        // may move its estimate of the server's clock, and with it the shortcut's generation.
        const date = response.headers.get("date");
        const changed = date !== this.lastDate;
        this.lastDate = date;
        if (!last || changed) {
          this.current = r.owner;
          if (DPOP && this.dpop) {
            put(response.headers.get("dpop-nonce"), response.status === 401 ? response.headers.get("www-authenticate") : null);
            core.dpop_headers(this.handle, Date.now(), id);
          }
          this.put(changed ? date : null, response.headers.get("content-type"));
          core.answer(this.handle, Date.now(), id, response.status);
          this.run();
        }
        if (last) this.settle(id, true, response);
      },
    ).catch((e) => {
      if (last) return this.settle(id, false, e);
      r.error = e;
      this.enter(r.owner);
      core.failed(this.handle, Date.now(), id);
      this.run();
    });
  }

  /** Judges an answer the status did not, as `how` says: the app's `isExpired`, or the body's code. */
  ask(id, how) {
    const r = this.requests.get(id);
    if (!r) return;
    const isExpired = r.owner.options.isExpired;
    if (how === JudgeKind.APP) {
      Promise.resolve()
        .then(() => isExpired(r.response.clone()))
        .then((v) => v === true, (e) => { console.error("seamless-fetch: isExpired threw", e); return false; })
        .then((expired) => {
          this.current = r.owner;
          this.put();
          core.verdict(this.handle, Date.now(), id, expired ? 1 : 0);
          this.run();
        });
      return;
    }
    // The body's JSON: for `expiredBodyCodes` (BODY), or a DPoP refusal's `error` (ERROR).
    peekJson(r.response).then((body) => {
      this.enter(r.owner);
      walk(body);
      if (DPOP && how === JudgeKind.ERROR) core.refusal(this.handle, Date.now(), id);
      else {
        this.put();
        core.body(this.handle, Date.now(), id, r.owner.rules);
      }
      this.run();
    });
  }

  take(id) {
    const r = this.requests.get(id);
    this.requests.delete(id);
    if (r && r.onAbort) r.signal.removeEventListener("abort", r.onAbort);
    return r;
  }

  settle(id, ok, value) {
    const r = this.take(id);
    if (r) (ok ? r.resolve : r.reject)(value);
  }

  reject(id) {
    const why = core.code();
    const r = this.requests.get(id);
    if (!r) return;
    const error = why === WhyKind.AUTH ? authError(this.callError) : why === WhyKind.ABORTED ? r.signal.reason : r.error;
    this.settle(id, false, error);
  }

  /**
   * Takes the cross-tab lock and reports whether another tab held it, or its `:fresh` mark (it
   * refreshed a moment ago, and its write may reach this tab late): the core then settles first.
   * Each holder ahead may keep this page waiting `budgetMs`; past that, `held` is false.
   */
  lock(flight, budgetMs) {
    const locks = webLocks();
    const granted = (contended, held, release) => {
      if (release) this.locks.set(flight, release);
      this.current = this.flyer;
      this.put();
      core.granted(this.handle, Date.now(), flight, contended ? 1 : 0, held ? 1 : 0);
      this.run();
    };
    if (!locks) return void Promise.resolve().then(() => granted(false, true, null));
    const name = this.lockName;
    // This page's own last hold must be gone first: WebKit processes a release asynchronously,
    // and an `ifAvailable` request made right after it would take this page for another tab.
    const ask = () => {
      const first = locks.request(name, { ifAvailable: true }, (lock) => {
        if (lock) {
          const mark = freshMarks.has(name) ? Promise.resolve(false) : locks.request(name + ":fresh", { ifAvailable: true }, (m) => m === null).catch(() => false);
          return new Promise((release) => mark.then((contended) => granted(contended, true, release)));
        }
        const ahead = typeof locks.query === "function"
          ? locks.query().then((q) => q.held.concat(q.pending).filter((l) => l.name === name).length, () => 1)
          : Promise.resolve(1);
        ahead.then((n) => {
          const controller = new AbortController();
          const timer = setTimeout(() => controller.abort(), budgetMs * Math.max(1, n));
          const waited = locks.request(name, { signal: controller.signal }, () => {
            clearTimeout(timer);
            holding(name, waited);
            return new Promise((release) => granted(true, true, release));
          });
          waited.catch(() => {
            clearTimeout(timer);
            granted(true, false, null);
          });
        });
        return undefined;
      });
      holding(name, first);
      first.catch(() => granted(false, true, null));
    };
    const pending = releasing.get(name);
    if (pending) pending.then(ask);
    else ask();
  }

  /** Releases the lock, holding `<name>:fresh` for `markMs` first (0: none). */
  unlock(flight, markMs) {
    const release = this.locks.get(flight);
    this.locks.delete(flight);
    const locks = webLocks();
    const name = this.lockName;
    if (locks && markMs > 0 && !freshMarks.has(name)) {
      freshMarks.add(name);
      locks.request(name + ":fresh", { ifAvailable: true }, (mark) => mark && new Promise((done) => setTimeout(done, markMs)))
        .catch(() => {})
        .finally(() => freshMarks.delete(name));
    }
    if (release) release();
  }

  /**
   * The refresh call: the endpoint with the core's body and content type (then `refreshHeaders`,
   * and credentials in a cookie session), or the app's function with the tokens. Reports how it
   * ended; a call the core cancelled (its timeout) is aborted and its end is not reported.
   */
  refresh(flight, refreshToken, accessToken, contentType, body) {
    const controller = new AbortController();
    this.calls.set(flight, controller);
    const flyer = this.flyer;
    const o = flyer.options;
    const ended = (how, status, value, retryAfter, error, nonce = null) => {
      if (this.calls.get(flight) !== controller) return;
      this.calls.delete(flight);
      if (this.callSignal === controller.signal) this.callSignal = null;
      this.enter(flyer);
      this.callError = error;
      walk(value);
      this.put(retryAfter, error && error.name, error && typeof error.code === "string" ? error.code : null, nonce);
      core.refreshed(this.handle, Date.now(), flight, how, status, Math.random());
      this.run();
    };
    const threw = (how) => (e) => ended(how, 0, undefined, null, e);
    let call;
    if (typeof o.refresh === "function") {
      this.ownCall++;
      try {
        const fetch = (input, init) => flyer.transport(input, init);
        this.callSignal = controller.signal;
        call = Promise.resolve(o.refresh({ refreshToken, accessToken, signal: controller.signal, fetch }));
      } catch (e) {
        call = Promise.reject(e);
      } finally {
        this.ownCall--;
      }
    } else {
      let request;
      try {
        const headers = new Headers({ "content-type": contentType, accept: "application/json" });
        const extra = typeof o.refreshHeaders === "function" ? o.refreshHeaders() : o.refreshHeaders;
        if (extra) new Headers(extra).forEach((v, k) => headers.set(k, v));
        request = new Request(this.refreshUrl, { method: "POST", headers, body, credentials: this.cookie ? "include" : "same-origin", signal: controller.signal });
      } catch (e) {
        return void Promise.resolve().then(() => threw(Call.BAD_HEADERS)(e));
      }
      const proof = DPOP ? this.proofs.get("refresh " + flight) : undefined;
      if (DPOP) this.proofs.delete("refresh " + flight);
      try {
        call = DPOP && proof
          ? signed(this, proof).then((p) => {
            // Cancelled while its proof was made (its timeout, a lost key): never sent.
            if (this.calls.get(flight) !== controller) return null;
            request.headers.set("DPoP", p);
            return flyer.transport(request);
          })
          : Promise.resolve(flyer.transport(request));
      } catch (e) {
        call = Promise.reject(e);
      }
    }
    call.then((answer) => {
      if (answer instanceof Response) {
        const retryAfter = answer.headers.get("retry-after");
        return answer.text().then((t) => {
          const json = parseJson(t);
          ended(Call.RESPONSE, answer.status, json !== null && typeof json === "object" && !Array.isArray(json) ? json : undefined, retryAfter, null, DPOP ? answer.headers.get("dpop-nonce") : null);
        });
      }
      if (typeof o.refresh !== "function") return ended(Call.NOT_A_RESPONSE, 0, undefined, null, null);
      ended(Call.RETURNED, 0, answer, null, null);
    }).catch(threw(Call.THREW));
  }

  /** Aborts the refresh call of `flight` (its timeout ran out): its end is not reported. */
  cancel(flight) {
    const controller = this.calls.get(flight);
    this.calls.delete(flight);
    if (controller === undefined) return;
    if (this.callSignal === controller.signal) this.callSignal = null;
    controller.abort();
  }

  /**
   * Writes the pair (null: removes it) if storage holds what the core expects; else nothing. When
   * storage throws, what each key held is put back (best effort) before the core hears of it.
   */
  write(expect, access, refresh, stamp, expectAccess, expectRefresh) {
    if (expect !== ExpectKind.ANY) {
      const [a, r] = this.stored();
      let same;
      if (expect === ExpectKind.NOTHING) {
        put(a, r);
        same = core.no_pair(this.handle) === 1; // what "no pair" means is the core's
      } else same = a === expectAccess && (this.cookie || r === expectRefresh);
      if (!same) return;
    }
    // In the protocol's order (`Store`): a pair's fingerprint first, a removal's last.
    const pair = [[this.accessKey, access], [this.cookie ? null : this.refreshKey, refresh]];
    const fingerprint = [this.accessKey + ":pair", stamp];
    const writes = access === null ? [...pair, fingerprint] : [fingerprint, ...pair];
    const before = [];
    try {
      for (const [key, value] of writes) {
        if (key === null) continue;
        before.push([key, this.read(key)]);
        this.set(key, value);
      }
    } catch {
      // Last written, first put back: the keys go back through states of the old pair's.
      for (const [key, old] of before.reverse()) try { this.set(key, old); } catch {}
      this.failed();
    }
  }

  timer(kind, flight, at) {
    const key = kind + ":" + flight;
    clearTimeout(this.timers.get(key));
    this.timers.set(key, setTimeout(() => {
      this.timers.delete(key);
      this.current = this.flyer;
      this.put();
      core.timer(this.handle, Date.now(), kind, flight, Math.random());
      this.run();
    }, Math.max(0, at - Date.now())));
  }

  notify(kind) {
    // A flight's callbacks are its starter's; the others, the instance whose call the core heard,
    // else the first on the session (a storage event). None left: nobody to tell.
    const who = kind === NoticeKind.REFRESHED || kind === NoticeKind.REFRESH_ERROR ? this.flyer : this.current || this.first();
    const hooks = who ? who.options : {};
    switch (kind) {
      case NoticeKind.REFRESHED: return call(hooks.onRefresh, { durationMs: core.number() });
      case NoticeKind.REFRESH_ERROR: return call(hooks.onRefreshError, authError(this.callError));
      case NoticeKind.LOGOUT: return call(hooks.onLogout, { reason: text(0) });
      case NoticeKind.TOKENS: {
        const reason = text(0);
        const at = core.number();
        for (const ref of this.members) {
          const m = ref.deref();
          if (m && m.onTokens) call(m.onTokens, { reason, expiresAt: at === at ? at : null });
        }
        return;
      }
      case NoticeKind.WARN: return console.warn(text(0));
      case NoticeKind.NAVIGATE: {
        const login = text(0);
        if (login === null) return;
        const page = typeof window === "undefined" ? null : window.location;
        put(page && page.pathname, page && page.search + page.hash, page && new URL(login, page.href).pathname);
        core.login_target(this.handle);
        const target = text(0);
        if (target === null) return;
        if (typeof hooks.navigate === "function") call(hooks.navigate, target);
        else if (page) page.assign(target);
      }
    }
  }

  /** Reports other tabs' writes to the keys (or a clear), and the browser going on and offline. */
  watch() {
    if (typeof window === "undefined" || typeof window.addEventListener !== "function") return;
    const keys = [this.accessKey, this.refreshKey, this.accessKey + ":pair"];
    const heard = (e) => {
      if (e.key !== null && !keys.includes(e.key)) return;
      this.put();
      core.storage(this.handle, Date.now());
      this.run();
    };
    const online = () => {
      this.flush();
      this.offline = false;
      put(...this.stored());
      core.online(this.handle, Date.now());
      this.run();
    };
    const offline = () => {
      this.flush();
      this.offline = true;
      core.offline(this.handle, Date.now());
    };
    if (this.crossTab) window.addEventListener("storage", heard);
    window.addEventListener("online", online);
    window.addEventListener("offline", offline);
    this.unwatch = () => {
      window.removeEventListener("storage", heard);
      window.removeEventListener("online", online);
      window.removeEventListener("offline", offline);
    };
  }
}

/** The global fetch at each call (a test may install it after the instance is made). */
function globalFetch() {
  const f = globalThis.fetch;
  if (typeof f !== "function") throw new TypeError("seamless-fetch: there is no global fetch; pass one as the fetch option");
  if (ownFetches.has(f)) throw new TypeError("seamless-fetch: the global fetch is an AuthFetch's own; pass the platform's fetch as the fetch option");
  return f;
}

function parseJson(t) {
  try {
    return JSON.parse(t);
  } catch {
    return undefined;
  }
}

/** The JSON of a clone of `response`, or undefined when it is not JSON, too long or too slow. */
function peekJson(response) {
  const declared = response.headers.get("content-length");
  if (declared !== null && !(Number(declared) <= PEEK_LIMIT)) return Promise.resolve(undefined);
  let timer;
  const late = new Promise((done) => { timer = setTimeout(done, PEEK_MS); });
  const read = response.clone().text().then((t) => (t.length <= PEEK_LIMIT ? parseJson(t) : undefined), () => undefined);
  return Promise.race([read, late]).finally(() => clearTimeout(timer));
}

/**
 * `init` read once as `fetch` reads it (a WebIDL dictionary: inherited and getter members count,
 * read in name order), then its other own enumerable properties and symbols (an app's transport
 * may read them): a plain object every later read and copy sees the same, running no caller code.
 */
function requestInit(init) {
  const dict = {};
  for (const k of INIT_MEMBERS) {
    const value = init[k];
    if (value !== undefined) dict[k] = value;
  }
  for (const k in init) if (!INIT_SET.has(k) && Object.prototype.hasOwnProperty.call(init, k)) dict[k] = init[k];
  for (const k of Object.getOwnPropertySymbols(init)) if (Object.prototype.propertyIsEnumerable.call(init, k)) dict[k] = init[k];
  return dict;
}
/** `RequestInit`'s members (Fetch standard), in the order a dictionary's are read. */
const INIT_MEMBERS = "body cache credentials duplex headers integrity keepalive method mode priority redirect referrer referrerPolicy signal window".split(" ");
const INIT_SET = new Set(INIT_MEMBERS);

/**
 * What a request sent as `fetch(input, init)` itself (no Request built) needs: a string or URL
 * input and a body that can be sent again (not a stream); null otherwise, and for anything fetch
 * would refuse (the Request path then throws fetch's error). `href`, `origin` and `path` (before
 * `?` and `#`) of the absolute URL; `headers`, a copy of the caller's without the control header,
 * names as given (a `Headers` would lower them); `control` (or null); `hasAuth`, whether the caller
 * set the token's header `auth` (lower case); `signal`.
 */
function plainParts(input, init, auth) {
  if ((typeof input !== "string" && !(input instanceof URL)) || (init != null && typeof init !== "object")) return null;
  try {
    const body = init == null ? undefined : init.body;
    if (body != null && !(typeof body === "string" || body instanceof URLSearchParams || body instanceof ArrayBuffer || ArrayBuffer.isView(body)
      || (typeof Blob !== "undefined" && body instanceof Blob) || (typeof FormData !== "undefined" && body instanceof FormData))) return null;
    const signal = init == null || !(init.signal instanceof AbortSignal) ? undefined : init.signal;
    const url = absolute(input);
    if (!/^https?:/.test(url.href)) return null;
    const own = ownHeaders(init == null ? undefined : init.headers, auth);
    return { ...url, ...own, signal };
  } catch {
    return null;
  }
}

/** The caller's headers copied: a record as a plain object, an iterable as `[name, value]` pairs. */
function ownHeaders(h, auth) {
  let control = null;
  let hasAuth = false;
  let headers;
  if (h != null && typeof h !== "object" && typeof h !== "function") throw new TypeError("bad headers");
  const take = (name, value, keep) => {
    const lower = name.toLowerCase();
    if (lower === CONTROL_HEADER) {
      value = String(value).replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, "");
      control = control === null ? value : control + ", " + value;
    } else {
      if (lower === auth) hasAuth = true;
      keep();
    }
  };
  if (h != null && !isPlainObject(h) && typeof h[Symbol.iterator] === "function") {
    headers = [];
    for (const pair of h) {
      if (pair === null || typeof pair !== "object" || typeof pair[Symbol.iterator] !== "function") throw new TypeError("bad headers");
      const p = Array.from(pair, (x) => `${x}`);
      if (p.length !== 2) throw new TypeError("bad headers");
      take(p[0], p[1], () => headers.push(p));
    }
  } else {
    headers = {};
    if (h != null) for (const name of Object.keys(h)) take(name, h[name], () => { headers[name] = h[name]; });
  }
  return { headers, control, hasAuth };
}

function isPlainObject(x) {
  if (typeof x !== "object") return false;
  const proto = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
}

/**
 * `init` with a fresh copy of `headers` (as `ownHeaders` made it), plus `name: value` unless null,
 * and a DPoP `proof` when given.
 */
function withHeader(init, headers, name, value, proof) {
  const copy = Array.isArray(headers) ? headers.slice() : { ...headers };
  const add = (n, v) => (Array.isArray(copy) ? copy.push([n, v]) : (copy[n] = v));
  if (name !== null && value !== null) add(name, value);
  if (DPOP && proof) add("DPoP", proof);
  return { ...init, headers: copy };
}

/** `method` as fetch sends it (the DPoP proof's `htm`): the six standard ones upper-cased. */
function fetchMethod(method) {
  const m = method === undefined ? "GET" : String(method);
  return /^(delete|get|head|options|post|put)$/i.test(m) ? m.toUpperCase() : m;
}

/** An input made absolute against the document's base URL (a `<base>` counts): href, origin, path. */
function absolute(input) {
  const text = String(input);
  const base = /^[a-z][a-z\d+\-.]*:/i.test(text) ? undefined
    : globalThis.document ? globalThis.document.baseURI : globalThis.location && globalThis.location.href;
  const key = (base || "") + " " + text;
  let url = resolved.get(key);
  if (url === undefined) {
    const u = new URL(text, base);
    url = { href: u.href, origin: u.origin, path: u.href.split(/[?#]/)[0] };
    if (resolved.size >= 256) resolved.clear();
    resolved.set(key, url);
  }
  return url;
}
const resolved = new Map();

/** Keeps the core's PROOF for the send it is for, or signs it for a `dpopProof` call. */
function proven(session, id, of, claims, ath) {
  const proof = { claims, ath };
  if (of === ProvenKind.SEND) session.proofs.set(id, proof);
  else if (of === ProvenKind.REFRESH) session.proofs.set("refresh " + id, proof);
  else signed(session, proof).then((p) => session.settle(id, true, p), (e) => session.settle(id, false, e));
}

/** A DPoP proof of the core's PROOF, signed with the session's key (dpop.js keeps it in `key`). */
function signed(session, proof) {
  return dpop.sign(session, proof, () => {
    // The key had to be made: tokens stored now were bound to one that is gone (`KEY_CREATED`).
    session.enter(session.current || session.first());
    session.put();
    core.key_created(session.handle, Date.now());
    session.run();
  });
}

/** Tells a session an instance was collected without `dispose()`. */
const collected = typeof FinalizationRegistry === "function" ? new FinalizationRegistry(({ session, ref }) => session.leave(ref)) : null;

/** The core's handle -> its session here. */
const sessions = new Map();
let lastId = 0;

/**
 * One instance's part of its session: its options, transport and request rules. Its `AuthFetch`
 * and its bound `fetch` hold it, and nothing else for long: the session knows it by a WeakRef, so
 * once neither is reachable it is collected, and `left` tells the core it is gone, as `dispose()`
 * would. (An app keeps only the bound fetch as often as the object: `ky.create({ fetch })`.)
 */
class Member {
  constructor(options, session) {
    this.options = options;
    this.session = session;
    // Its own request rules: the core's index of them, and the token's header.
    this.rules = core.number();
    this.authHeader = text(3);
    this.transport = typeof options.fetch === "function" ? options.fetch : (input, init) => globalFetch()(input, init);
    this.onTokens = typeof options.onTokens === "function" ? options.onTokens : null;
    this.disposed = false;
  }

  request(input, init) {
    const session = this.session;
    if (this.disposed) return Promise.reject(new Error("seamless-fetch: this AuthFetch was disposed"));
    let sent, parts, control, hasAuth, signal, url, method;
    try {
      if (init !== null && (typeof init === "object" || typeof init === "function")) init = requestInit(init);
      parts = plainParts(input, init, this.authHeader.toLowerCase());
      if (parts !== null) {
        ({ control, hasAuth, signal, href: url } = parts);
        // The proof's `htm`: read with DPoP only (no work on every other request).
        if (DPOP && session.dpop) method = fetchMethod(init == null ? undefined : init.method);
        // As fetch: a request it cannot build throws its TypeError before an aborted signal.
        if (signal !== undefined && signal.aborted) new Request(url, init);
        // Sent to the URL as resolved now: its origin decided about the token, and a replay goes
        // there too, whatever the page's base URL is by then.
        sent = { input: url, init, headers: parts.headers };
      } else {
        const request = new Request(input, init);
        control = request.headers.get(CONTROL_HEADER);
        if (control !== null) request.headers.delete(CONTROL_HEADER);
        hasAuth = request.headers.has(this.authHeader);
        signal = request.signal;
        url = request.url;
        method = request.method;
        sent = { request };
      }
    } catch (e) {
      return Promise.reject(e);
    }
    if (signal !== undefined && signal.aborted) return Promise.reject(signal.reason);
    // The refresh function's own request: made while it runs, or with the signal it was given.
    const own = session.ownCall > 0 || (session.callSignal != null && (signal === session.callSignal || (init != null && init.signal === session.callSignal)));
    if (parts !== null && !own) {
      const fast = session.viaShortcut(this, input, init, parts);
      if (fast !== null) return fast;
    }
    const controlKind = control === null ? Control.NONE : control === "no-token" ? Control.NO_TOKEN : control === "no-refresh" ? Control.NO_REFRESH : Control.INVALID;
    const flags = (hasAuth ? Flag.HAS_AUTH : 0) | (own ? Flag.OWN_REFRESH : 0);
    return new Promise((resolve, reject) => {
      session.enter(this);
      session.begin(session.track(this, sent, signal, resolve, reject), url, controlKind, flags, method);
    });
  }

  /** A call answered by the core (`GIVE`, `RESOLVE`, `PROOF` or `REJECT`), as a promise; `first`: its strings. */
  call(report, first = []) {
    if (this.disposed) return Promise.reject(new Error("seamless-fetch: this AuthFetch was disposed"));
    const session = this.session;
    const id = ++lastId;
    return new Promise((resolve, reject) => {
      session.requests.set(id, { resolve, reject, signal: null });
      session.enter(this);
      session.put(...first);
      report(session.handle, id);
      session.run();
    });
  }

  /** Reports a synchronous call (`report(handle)`) of an instance not disposed. */
  act(report) {
    if (this.disposed) throw new Error("seamless-fetch: this AuthFetch was disposed");
    const session = this.session;
    session.enter(this);
    report(session.handle);
    session.run();
  }
}

export class AuthFetch {
  /** Private: the instance's state holds the tokens, which `JSON.stringify(api)` must never show. */
  #member;

  constructor(options) {
    if (!core) throw new Error("seamless-fetch: the core is not loaded: with seamless-fetch/manual, `await init()` (or `initSync(module)`) before the first new AuthFetch");
    walk(options);
    const page = typeof location === "undefined" ? null : location;
    const url = options && typeof options.refreshUrl === "string" ? options.refreshUrl : null;
    let resolved = null;
    try {
      resolved = url === null ? null : new URL(url, page ? page.href : undefined).href;
    } catch {}
    put(page && page.origin, resolved);
    const handle = core.create();
    if (handle === 0) throw authError();
    let session = core.code() === 1 ? sessions.get(handle) : undefined;
    if (!session) {
      const setup = { texts: [0, 1, 2, 3, 4].map(text), flag: core.flag() };
      session = new Session(handle, setup);
      session.refreshUrl = resolved;
      sessions.set(handle, session);
    }
    if (DPOP && session.dpop && !(globalThis.crypto && crypto.subtle)) {
      if (core.alive(handle) === 0) sessions.delete(handle);
      const e = new Error("AuthFetch options: dpop: true needs WebCrypto (crypto.subtle), which browsers give secure contexts only (https, or localhost)");
      e.name = "AuthError";
      e.code = "INVALID_OPTIONS";
      throw e;
    }
    const member = new Member(options, session);
    // Listening again when the session's instances were all disposed while its refresh ran.
    if (session.unwatch === null) session.watch();
    session.join(member);
    session.put();
    core.open(handle, Date.now());
    session.run();
    this.#member = member;
  }

  /**
   * `fetch(input, init)` with the session handled, bound: made on first read (most instances are
   * made once and read once), then kept on the instance, or on its member when it is frozen.
   */
  get fetch() {
    const member = this.#member;
    let bound = member.fetch;
    if (!bound) {
      bound = member.fetch = function fetch(input, init) {
        return member.request(input, init);
      };
      ownFetches.add(bound);
    }
    if (Object.isExtensible(this)) Object.defineProperty(this, "fetch", { value: bound, enumerable: true, configurable: true });
    return bound;
  }

  getAccessToken(options) {
    const min = options == null || options.minValidityMs === undefined ? 0 : typeof options.minValidityMs === "number" ? options.minValidityMs : NaN;
    return this.#member.call((h, id) => core.token(h, Date.now(), id, min));
  }

  refresh() {
    return this.#member.call((h, id) => core.force_refresh(h, Date.now(), id));
  }

  /** A DPoP proof for the app's own request (a WebSocket, an SDK): `{ method, url }`. */
  dpopProof(request) {
    let method, url;
    try {
      if (request == null || request.url == null) throw new TypeError("seamless-fetch: dpopProof needs { method, url }");
      method = fetchMethod(request.method);
      url = absolute(request.url).href;
    } catch (e) {
      return Promise.reject(e);
    }
    // The default entry's core has no DPoP: its options refuse `dpop: true` already.
    if (!DPOP) return Promise.reject(Object.assign(new Error("dpopProof() needs seamless-fetch/dpop and the option dpop: true"), { name: "AuthError", code: "INVALID_OPTIONS" }));
    return this.#member.call((h, id) => core.prove(h, Date.now(), id), [method, url]);
  }

  stats() {
    this.#member.session.flush(); // the answers parked are queued: `queued` counts them
    const h = this.#member.session.handle;
    return { refreshes: core.refreshes(h), retried: core.retried(h), queued: core.queued(h) };
  }

  setTokens(tokens) {
    this.#member.act((h) => {
      walk(tokens);
      this.#member.session.put();
      core.set_tokens(h, Date.now());
    });
  }

  clearTokens() {
    this.#member.act((h) => core.clear_tokens(h, Date.now()));
  }

  logout() {
    this.#member.act((h) => core.logout(h, Date.now()));
  }

  get isRefreshing() {
    return core.refreshing(this.#member.session.handle) === 1;
  }

  dispose() {
    const member = this.#member;
    if (member.disposed) return;
    member.disposed = true;
    member.session.leave(member.ref);
  }

  /** `dispose()`, by the name earlier versions gave it; `using` calls it too. */
  free() {
    this.dispose();
  }


  static safeReturnPath(value, fallback) {
    put(typeof value === "string" ? value : null, String(fallback));
    core.safe_path();
    return text(0);
  }
}
// `using api = new AuthFetch(…)` disposes it; engines without `Symbol.dispose` have no `using`.
if (typeof Symbol.dispose === "symbol") AuthFetch.prototype[Symbol.dispose] = AuthFetch.prototype.dispose;

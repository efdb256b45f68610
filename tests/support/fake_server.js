// A fake auth backend behind an injected `fetch`, for the browser unit tests. It is the server side
// of every race the tests stage: it counts refresh calls, records what each request carried, and
// can hold refresh answers or API answers back until the test releases them.

export function json(status, body, headers = {}) {
  return new Response(typeof body === "string" ? body : JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

export function deferred() {
  let resolve;
  const promise = new Promise((r) => { resolve = r; });
  return { promise, resolve };
}

export const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

/**
 * Whether this engine lets JavaScript read a FormData body that holds a Blob. WebKitGTK cannot
 * (InvalidStateError "Unable to read form data blob", even for `new Response(form).text()`),
 * though its fetch sends such a body, cloned or not; the fake server, being JavaScript, then
 * cannot see those bytes.
 */
export const canReadBlobForms = await (() => {
  const form = new FormData();
  form.append("file", new Blob(["x"]), "x.txt");
  return new Response(form).text().then(() => true, () => false);
})();

/** Resolves once `cond()` holds, polling; fails the test after `ms`. */
export async function until(cond, what, ms = 3000) {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > ms) throw new Error("timed out waiting for " + what);
    await tick(2);
  }
}

export class FakeServer {
  constructor({ refreshPath = "/auth/refresh", access = "a1", refresh = "r1" } = {}) {
    this.refreshPath = refreshPath;
    this.valid = new Set([access]);
    this.refreshToken = refresh;
    this.generation = 1;
    this.calls = [];
    this.arrivals = 0;
    this.refreshCalls = 0;
    this.refreshGate = null;      // a deferred that holds refresh answers back
    this.refreshAnswer = null;    // (call) => Response | Promise<Response>, replaces the default
    this.apiGates = new Map();    // path -> deferred that holds that path's answers back
    this.expiredAsBody = false;   // answer expired tokens with 200 {"code":409}
    this.rotate = true;
    this.prefix = "";             // prepended to rotated tokens, to make them easy to search for
    this.skewMs = null;           // when set, API answers carry a Date header this far from the local clock
    this.authHeader = "authorization"; // where the server reads the token, and with which scheme
    this.scheme = "Bearer ";
    this.cookie = false;          // the refresh token is an HttpOnly cookie: this.refreshToken plays the browser's jar
    this.fetch = this.fetch.bind(this);
  }

  /** The access token the server accepts now is no longer accepted. */
  expire() { this.valid.clear(); }

  holdRefresh() { this.refreshGate = deferred(); return () => { const g = this.refreshGate; this.refreshGate = null; g.resolve(); }; }

  holdPath(path) { const g = deferred(); this.apiGates.set(path, g); return () => { this.apiGates.delete(path); g.resolve(); }; }

  callsTo(path) { return this.calls.filter((c) => c.path === path); }

  async fetch(input, init) {
    const req = new Request(input, init);
    const url = new URL(req.url);
    // Calls are recorded, and held ones released, in the order they came, however long each body
    // takes to read (a string and bytes do not read alike in every engine).
    const arrival = ++this.arrivals;
    const gate = url.pathname === this.refreshPath ? undefined : this.apiGates.get(url.pathname);
    const released = gate && (gate.last = (gate.last || gate.promise).then(() => {}));
    const call = {
      url: req.url, path: url.pathname, method: req.method,
      auth: req.headers.get(this.authHeader), headers: req.headers, credentials: req.credentials,
      contentType: req.headers.get("content-type"),
      // null for no body; "<unreadable>" where the engine cannot read it (see canReadBlobForms).
      body: req.method === "GET" || req.method === "HEAD" ? null : await req.text().catch(() => "<unreadable>"),
      signal: req.signal,
      arrival,
    };
    const at = this.calls.findIndex((c) => c.arrival > arrival);
    if (at < 0) this.calls.push(call);
    else this.calls.splice(at, 0, call);
    if (url.pathname === this.refreshPath) {
      this.refreshCalls++;
      if (this.refreshGate) await this.refreshGate.promise;
      if (this.refreshAnswer) return this.refreshAnswer(call);
      const sent = JSON.parse(call.body);
      // A cookie reaches the server only on a credentialed request; a refresh token in the body
      // of a cookie session would be a leak.
      const spent = this.cookie ? (call.credentials === "include" && !("refreshToken" in sent) ? this.refreshToken : null) : sent.refreshToken;
      if (spent === null || spent !== this.refreshToken) return json(401, { error: "invalid_grant" });
      this.generation++;
      const access = this.prefix + "a" + this.generation;
      this.valid.add(access);
      if (this.rotate) this.refreshToken = this.prefix + "r" + this.generation;
      return json(200, this.rotate ? { token: access, refreshToken: this.refreshToken } : { token: access });
    }
    call.tokenAtSend = call.auth;
    if (released) await released;
    const token = call.auth && call.auth.startsWith(this.scheme) ? call.auth.slice(this.scheme.length) : null;
    if (!this.valid.has(token)) {
      return this.expiredAsBody ? json(200, { code: 409, message: "token expired" }) : json(401, { error: "expired" });
    }
    const date = this.skewMs === null ? {} : { date: new Date(Date.now() + this.skewMs).toUTCString() };
    return json(200, { ok: true, path: url.pathname, method: req.method, body: call.body }, date);
  }
}

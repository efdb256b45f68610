// Scenarios of the DPoP issue (RFC 9449, `dpop: true`): every request and refresh is checked by the
// verifying fake server of dpop_server.js, which records every rule broken; each scenario ends with
// that list empty. The API is on another origin than the page (and the token endpoint), so the
// per-origin nonces are exercised. IndexedDB (where the key lives) is wiped before and after each.
import { deferred, json, tick, until } from "./fake_server.js";
import { assert, captureConsole, eq, rejectsWith, runScenario } from "./harness.js";
import { DpopServer, athOf, challenge, decodeJws, htuOf, makeKey, random, signJws, thumbprint } from "./dpop_server.js";

const API = "https://api.example.test";
const DB = "seamless-fetch";
const STORE = "dpop-keys";

/** Every server of the running scenario: no console line may hold a token any of them issued. */
const servers = [];
const newServer = () => { const s = new DpopServer({ apiOrigin: API }); servers.push(s); return s; };

export const run = async (name, make, tools) => {
  servers.length = 0;
  await wipeKeys();
  let failure = null;
  const console_ = captureConsole();
  try {
    await runScenario(scenarios, name, make, tools);
  } catch (e) {
    failure = e;
  } finally {
    console_.restore();
  }
  const tokens = servers.flatMap((s) => s.issued);
  const leaks = console_.lines.filter((l) => tokens.some((t) => l.includes(t)));
  if (leaks.length) failure ??= new Error("a token in a console line: " + leaks[0]);
  // After the instances are freed: the library must have closed its connection by now.
  await wipeKeys().catch((e) => { failure ??= e; });
  if (failure) throw failure;
};

/** Deletes the library's database; fails if a connection kept it blocked. */
export function wipeKeys() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.deleteDatabase(DB);
    const timer = setTimeout(() => reject(new Error("deleteDatabase(\"" + DB + "\") blocked for 5 s: a connection was left open")), 5000);
    req.onsuccess = () => { clearTimeout(timer); resolve(); };
    req.onerror = () => { clearTimeout(timer); reject(req.error); };
  });
}

const done = (req) => new Promise((resolve, reject) => { req.onsuccess = () => resolve(req.result); req.onerror = () => reject(req.error); });

/** The key records as [{key, value, jkt}], without creating the database when there is none. */
async function keyRecords() {
  const db = await new Promise((resolve) => {
    const req = indexedDB.open(DB);
    // No database yet: abort, so none is made (a version-1 database without the library's store
    // would keep the library's own upgrade from running).
    req.onupgradeneeded = () => req.transaction.abort();
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => resolve(null);
  });
  if (!db) return [];
  try {
    if (!db.objectStoreNames.contains(STORE)) return [];
    const store = db.transaction(STORE).objectStore(STORE);
    const [keys, values] = await Promise.all([done(store.getAllKeys()), done(store.getAll())]);
    const out = [];
    for (let i = 0; i < keys.length; i++) {
      const v = values[i];
      const jkt = v && v.publicKey instanceof CryptoKey ? await thumbprint(await crypto.subtle.exportKey("jwk", v.publicKey)) : null;
      out.push({ key: keys[i], value: v, jkt });
    }
    return out;
  } finally {
    db.close();
  }
}

/** The AuthFetch options of these scenarios, on `server`. */
const options = (server, extra = {}) => ({
  refreshUrl: "/auth/refresh", refreshFormat: "oauth2", dpop: true, allowedOrigins: [API],
  fetch: server.fetch, navigate: () => {}, ...extra,
});

/** A fresh world without tokens: an AuthFetch in DPoP mode on a verifying server. */
function world(make, extra = {}, server = newServer()) {
  make.freeAll();
  localStorage.clear();
  sessionStorage.clear();
  return { api: make(options(server, extra)), server };
}

/** The app's login: the code exchange POSTed through api.fetch to the token endpoint, then setTokens. */
async function login(api, code = "good") {
  const res = await api.fetch("/auth/refresh", {
    method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" },
    body: "grant_type=authorization_code&code=" + code,
  });
  eq(res.status, 200, "code exchange status");
  const body = await res.json();
  api.setTokens({ accessToken: body.access_token, refreshToken: body.refresh_token });
  return body;
}

/** The jwk thumbprints the proofs of `calls` carried (null for a call without a proof). */
const jkts = (calls) => Promise.all(calls.map((c) => (c.proof ? thumbprint(c.proof.header.jwk) : null)));
const noViolations = (server) => eq(server.violations, [], "violations the server saw");
const gone = async () => (await keyRecords()).length === 0;

/** Polls an async condition. */
async function eventually(cond, what, ms = 3000) {
  const start = Date.now();
  while (!(await cond())) {
    if (Date.now() - start > ms) throw new Error("timed out waiting for " + what);
    await tick(20);
  }
}

/**
 * Another tab: a same-origin iframe with its own copy of the package (its own sessions), sharing
 * this page's storage, Web Locks and IndexedDB, as a second tab does.
 */
async function otherTab() {
  const frame = document.createElement("iframe");
  frame.src = location.pathname + "?other-tab";
  const loaded = new Promise((resolve) => { frame.onload = resolve; });
  document.documentElement.append(frame);
  await loaded;
  const w = frame.contentWindow;
  const script = w.document.createElement("script");
  script.type = "module";
  script.src = "/support/other_tab.js";
  await new Promise((resolve, reject) => {
    script.onload = resolve;
    script.onerror = () => reject(new Error("/support/other_tab.js did not load in the iframe"));
    w.document.head.append(script);
  });
  const pkg = await w.seamlessFetchReady;
  const made = [];
  return {
    make: (o) => {
      // That tab's fetch answers with that tab's Responses, as its own fetch would.
      const fetch = async (input, init) => {
        const r = await o.fetch(input, init);
        const body = r.status === 204 || r.status === 304 ? null : await r.arrayBuffer();
        return new w.Response(body, { status: r.status, statusText: r.statusText, headers: [...r.headers] });
      };
      const api = new pkg.AuthFetch({ ...o, fetch });
      made.push(api);
      return api;
    },
    close: () => { for (const api of made) api.dispose(); frame.remove(); },
  };
}

export const scenarios = {
  async verifier_refuses_each_broken_proof() {
    // The server's own test, by proofs made here: a good one passes, each broken one is refused
    // with its reason. No library involved.
    // RFC 9449's own examples (§4.1 and §6.1 jwk and jkt, §7.1 token and ath): the hashes are right.
    const rfcJwk = { kty: "EC", x: "l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs", y: "9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA", crv: "P-256" };
    eq(await thumbprint(rfcJwk), "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I", "RFC 7638 thumbprint");
    eq(await athOf("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"), "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo", "ath");
    const server = new DpopServer({ apiOrigin: API });
    const key = await makeKey(), other = await makeKey();
    const jkt = await thumbprint(key.jwk);
    const { access, refresh } = server.issue(jkt);
    const url = API + "/api/self?q=1#frag";
    const header = { typ: "dpop+jwt", alg: "ES256", jwk: key.jwk };
    const now = () => Math.floor(Date.now() / 1000);
    const claims = async (extra = {}) => ({ jti: random(), htm: "GET", htu: API + "/api/self", iat: now(), ath: await athOf(access), ...extra });
    const proof = async (extra = {}, h = header, signer = key) => signJws(signer, h, await claims(extra));
    const send = (dpop, { token = access, method = "GET", to = url, scheme = "DPoP " } = {}) => {
      const headers = new Headers({ authorization: scheme + token });
      for (const p of [].concat(dpop)) headers.append("dpop", p);
      return server.fetch(to, { method, headers });
    };
    const accepted = async (what, res) => {
      eq(res.status, 200, what + ": status");
      eq(server.violations, [], what + ": violations");
    };
    /** Refused with `error` and exactly one violation naming `reason`. */
    const refused = async (what, res, reason, { error = "invalid_dpop_proof", status = 401, count = 1 } = {}) => {
      eq(res.status, status, what + ": status");
      const said = status === 401 ? res.headers.get("www-authenticate") : (await res.json()).error;
      assert(said && said.includes(error), what + ": expected " + error + ", got " + said);
      assert(server.violations.length === count && (reason instanceof RegExp ? reason.test(server.violations[count - 1]) : server.violations[count - 1].includes(reason)), what + ": expected " + count + " violation(s), the last naming \"" + reason + "\", got " + JSON.stringify(server.violations));
      server.violations.length = 0;
    };

    const good = await proof();
    await accepted("a good proof", await send(good));
    await refused("the same proof again", await send(good), "used before");
    await refused("two DPoP headers", await send([await proof(), await proof()]), "more than one");
    await refused("not a compact JWS", await send("abc.def"), "compact JWS");
    await refused("no DPoP header", await send([]), "no DPoP header");
    const part = (o) => btoa(typeof o === "string" ? o : JSON.stringify(o)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
    const [gh, gc, gs] = (await proof()).split(".");
    await refused("not base64url", await send([gh, gc.slice(0, -1) + "+", gs].join(".")), "not base64url");
    await refused("claims not JSON", await send([gh, part("{jti"), gs].join(".")), "not JSON");
    await refused("claims not an object", await send([gh, part("1"), gs].join(".")), "not objects");
    await refused("a short signature", await send([gh, gc, gs.slice(0, -4)].join(".")), "64 bytes");
    await refused("no jwk", await send(await proof({}, { typ: "dpop+jwt", alg: "ES256" })), "no jwk");
    await refused("a short x", await send(await proof({}, { ...header, jwk: { ...key.jwk, x: key.jwk.x.slice(0, -4) } })), "32 bytes");
    const offCurve = { ...key.jwk, x: part(String.fromCharCode(...Array(32).fill(7))) };
    await refused("a point off the curve", await send(await proof({}, { ...header, jwk: offCurve })), /does not import|signature does not verify/); // WebKit imports such a point
    await refused("a short jti", await send(await proof({ jti: "1" })), "jti too short");
    await refused("typ JWT", await send(await proof({}, { ...header, typ: "JWT" })), "typ");
    await refused("alg ES384", await send(await proof({}, { ...header, alg: "ES384" })), "alg");
    await refused("alg none", await send(await proof({}, { ...header, alg: "none" })), "alg");
    await refused("jwk with d", await send(await proof({}, { ...header, jwk: { ...key.jwk, d: key.d } })), "private key");
    await refused("jwk with an extra member", await send(await proof({}, { ...header, jwk: { ...key.jwk, ext: true } })), "jwk members");
    await refused("jwk of another curve", await send(await proof({}, { ...header, jwk: { ...key.jwk, crv: "P-384" } })), "P-256");
    await refused("signed by another key than the jwk", await send(await proof({}, header, other)), "signature");
    const flipped = good.slice(0, -3) + (good.slice(-3, -2) === "A" ? "B" : "A") + good.slice(-2);
    await refused("a changed signature", await send(flipped), "signature");
    const [h0, , s0] = (await proof()).split(".");
    const otherClaims = btoa(JSON.stringify({ ...(await claims()), htu: API + "/api/elsewhere" })).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
    await refused("claims swapped under a signature", await send([h0, otherClaims, s0].join(".")), "signature");
    await refused("no jti", await send(await proof({ jti: undefined })), "jti");
    await refused("htm POST on a GET", await send(await proof({ htm: "POST" })), "htm");
    await refused("htm lower case", await send(await proof({ htm: "get" })), "htm");
    await refused("htu with the query", await send(await proof({ htu: API + "/api/self?q=1" })), "htu");
    await refused("htu of another path", await send(await proof({ htu: API + "/api/other" })), "htu");
    await refused("htu of another origin", await send(await proof({ htu: location.origin + "/api/self" })), "htu");
    await refused("stale iat", await send(await proof({ iat: now() - 600 })), "iat");
    await refused("iat ahead", await send(await proof({ iat: now() + 600 })), "iat");
    await refused("iat as a string", await send(await proof({ iat: String(now()) })), "iat");
    await refused("no ath", await send(await proof({ ath: undefined })), "ath");
    await refused("ath of another token", await send(await proof({ ath: await athOf(refresh) })), "ath");
    await refused("ath of the token unhashed", await send(await proof({ ath: access })), "ath", { count: 2 });
    await refused("Bearer instead of DPoP", await send(await proof(), { scheme: "Bearer " }), "not DPoP", { error: "invalid_token" });
    // RFC 9449 §7: a valid proof by a key that is not the token's (cnf.jkt).
    const otherHeader = { ...header, jwk: other.jwk };
    await refused("proof key not the token's", await send(await proof({}, otherHeader, other)), "bound to", { error: "invalid_token" });
    eq((await send(await proof({ ath: await athOf("at-unknown") }), { token: "at-unknown" })).headers.get("www-authenticate").includes("invalid_token"), true, "an unknown token: invalid_token");
    // Nothing of the session to an origin that is neither the API nor the page's.
    await server.fetch("https://other.example.test/x", { headers: { authorization: "DPoP " + access } });
    await server.fetch("https://other.example.test/y", { headers: { dpop: await proof() } });
    eq(server.violations.map((v) => v.split(": ")[1]), ["Authorization sent to an origin not allowed", "DPoP proof sent to an origin not allowed"], "to other origins");
    server.violations.length = 0;

    // Nonces, per origin: missing and stale ones are challenged (a protocol step, not a violation);
    // another origin's nonce is a violation as well.
    server.requireNonce.add(API);
    let res = await send(await proof());
    eq([res.status, res.headers.get("www-authenticate").includes('error="use_dpop_nonce"')], [401, true], "no nonce: challenged");
    const apiNonce = res.headers.get("dpop-nonce");
    assert(apiNonce && apiNonce === server.nonces.get(API), "the challenge gives the nonce");
    noViolations(server);
    res = await send(await proof({ nonce: "n-made-up" }));
    eq([res.status, res.headers.get("dpop-nonce")], [401, apiNonce], "a wrong nonce: challenged");
    const tokenNonce = server.nonceFor(location.origin);
    res = await send(await proof({ nonce: tokenNonce }));
    eq(res.status, 401, "the token endpoint's nonce at the API: challenged");
    assert(server.violations.length === 1 && server.violations[0].includes("nonce of"), "and a violation: " + JSON.stringify(server.violations));
    server.violations.length = 0;
    await accepted("the API's nonce", await send(await proof({ nonce: apiNonce })));
    server.rotateOn200.add(API);
    res = await send(await proof({ nonce: apiNonce }));
    const next = res.headers.get("dpop-nonce");
    assert(res.status === 200 && next && next !== apiNonce, "a 200 hands out a new nonce");
    eq((await send(await proof({ nonce: apiNonce }))).status, 401, "the old one is stale then");
    await accepted("the new one", await send(await proof({ nonce: next })));
    server.rotateOn200.delete(API);
    const cur = server.nonces.get(API);

    // The token endpoint: a proof without ath, no Authorization; refresh tokens rotate, a reused one
    // revokes its family; a refresh token is bound to its key.
    const tokenUrl = location.origin + "/auth/refresh";
    const post = async (body, claimsExtra = {}, signer = key, extraHeaders = {}) => {
      const c = { jti: random(), htm: "POST", htu: tokenUrl, iat: now(), ...claimsExtra };
      const dpop = await signJws(signer, { ...header, jwk: signer.jwk }, c);
      return server.fetch(tokenUrl, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", dpop, ...extraHeaders }, body });
    };
    const grant = (r) => "grant_type=refresh_token&refresh_token=" + r;
    server.requireNonce.add(location.origin);
    res = await post(grant(refresh));
    eq([res.status, (await res.json()).error], [400, "use_dpop_nonce"], "no nonce at the token endpoint: challenged");
    eq(res.headers.get("dpop-nonce"), tokenNonce, "with the token endpoint's nonce");
    noViolations(server);
    await refused("ath on the token endpoint", await post(grant(refresh), { nonce: tokenNonce, ath: await athOf(access) }), "ath on a request", { status: 400 });
    await refused("the API's nonce at the token endpoint", await post(grant(refresh), { nonce: cur }), "nonce of", { status: 400, error: "use_dpop_nonce" });
    res = await post(grant(refresh), { nonce: tokenNonce });
    const pair = await res.json();
    eq([res.status, pair.token_type, typeof pair.access_token, typeof pair.refresh_token, pair.expires_in > 0], [200, "DPoP", "string", "string", true], "a refresh");
    eq(server.access.get(pair.access_token).jkt, jkt, "the new access token is bound to the proof key");
    noViolations(server);
    await accepted("the new token", await send(await proof({ nonce: cur, ath: await athOf(pair.access_token) }), { token: pair.access_token }));
    res = await post(grant(pair.refresh_token), { nonce: tokenNonce }, key, { authorization: "DPoP " + pair.access_token });
    assert(res.status === 200 && server.violations.length === 1 && server.violations[0].includes("Authorization header"), "Authorization on the token endpoint: " + JSON.stringify(server.violations));
    server.violations.length = 0;
    // That refresh went through: pair.refresh_token is spent now. Spending it again revokes the family.
    await refused("a spent refresh token again", await post(grant(pair.refresh_token), { nonce: tokenNonce }), "used again", { status: 400, error: "invalid_grant" });
    eq((await send(await proof({ nonce: cur, ath: await athOf(pair.access_token) }), { token: pair.access_token })).status, 401, "the family is revoked");
    const fresh = server.issue(jkt);
    await refused("a refresh proof by another key", await post(grant(fresh.refresh), { nonce: tokenNonce }, other), "another key", { status: 400, error: "invalid_grant" });
    // The login exchange is a token endpoint call too.
    res = await post("grant_type=authorization_code&code=good", { nonce: tokenNonce });
    eq([res.status, server.access.get((await res.json()).access_token).jkt], [200, jkt], "a code exchange gives a token bound to the proof key");
    noViolations(server);
    // A proof that holds a token string is a violation even when valid otherwise.
    await send(await proof({ nonce: cur, note: access }));
    assert(server.violations.some((v) => v.includes("contains a token")), "a token inside a proof is seen: " + JSON.stringify(server.violations));
  },

  async login_through_api_fetch_then_requests_carry_dpop(make) {
    const { api, server } = world(make);
    const tokens = await login(api);
    const [exchange] = server.calls;
    eq([exchange.path, exchange.auth, exchange.status], ["/auth/refresh", null, 200], "the code exchange");
    assert(exchange.proof !== null, "the code exchange carries a proof");
    eq([exchange.proof.claims.htm, exchange.proof.claims.htu, "ath" in exchange.proof.claims], ["POST", location.origin + "/auth/refresh", false], "its claims");
    eq([localStorage.getItem("token"), localStorage.getItem("refreshToken")], [tokens.access_token, tokens.refresh_token], "stored");
    eq((await api.fetch(API + "/api/me?x=1#top")).status, 200, "GET on the API");
    const posted = await api.fetch(API + "/api/items", { method: "POST", body: "{\"n\":1}", headers: { "content-type": "application/json" } });
    eq([posted.status, (await posted.json()).body], [200, "{\"n\":1}"], "POST on the API");
    eq((await api.fetch("/api/local")).status, 200, "the page's own origin");
    // htm is the method as sent: fetch upper-cases post, not patch; a Request input too.
    eq((await api.fetch(API + "/api/lower", { method: "post", body: "l" })).status, 200, "method post");
    eq((await api.fetch(API + "/api/patch", { method: "patch", body: "p" })).status, 200, "method patch");
    eq((await api.fetch(new Request(API + "/api/req?q=1", { method: "PUT", body: "r" }))).status, 200, "a Request");
    eq(["/api/lower", "/api/patch", "/api/req"].map((p) => { const [c] = server.callsTo(p); return [c.method, c.proof.claims.htm, c.body]; }),
      [["POST", "POST", "l"], ["patch", "patch", "p"], ["PUT", "PUT", "r"]], "method, htm and body");
    eq((await api.fetch("https://other.example.test/x")).status, 200, "an origin not allowed");
    const ath = await athOf(tokens.access_token);
    for (const path of ["/api/me", "/api/items", "/api/local", "/api/lower", "/api/patch", "/api/req"]) {
      const [c] = server.callsTo(path);
      eq(c.auth, "DPoP " + tokens.access_token, path + ": Authorization");
      eq([c.proof.claims.ath, c.proof.claims.htm, c.proof.claims.htu], [ath, c.method, htuOf(c.url)], path + ": ath, htm, htu");
      eq(Object.keys(c.proof.header).sort(), ["alg", "jwk", "typ"], path + ": header members");
    }
    const other = server.callsTo("/x")[0];
    eq([other.auth, other.dpop], [null, null], "nothing of the session to an origin not allowed");
    // One key for all; the proof never holds a token (the server checks every proof for it too).
    const withProof = server.calls.filter((c) => c.proof);
    eq(new Set(await jkts(withProof)).size, 1, "one key");
    for (const c of withProof) {
      const text = JSON.stringify(decodeJws(c.dpop));
      assert(!text.includes(tokens.access_token) && !text.includes(tokens.refresh_token), c.url + ": a token inside the proof");
    }
    eq(new Set(withProof.map((c) => c.proof.claims.jti)).size, withProof.length, "a new jti each");
    // The key: one record under the access token's storage key, a non-extractable private key.
    const records = await keyRecords();
    eq(records.map((r) => r.key), ["token"], "the key record");
    eq(records[0].jkt, (await jkts([exchange]))[0], "the record's public key is the proofs' key");
    const { id, privateKey } = records[0].value;
    eq([typeof id, privateKey instanceof CryptoKey, privateKey.extractable, privateKey.algorithm.name, privateKey.algorithm.namedCurve], ["string", true, false, "ECDSA", "P-256"], "the record");
    eq(await api.getAccessToken(), tokens.access_token, "getAccessToken");
    // The refresh URL with a query is still the refresh URL: a proof without ath, never the token.
    const relogin = await api.fetch("/auth/refresh?via=app", {
      method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "grant_type=authorization_code&code=good",
    });
    eq(relogin.status, 200, "a code exchange while logged in");
    const last = server.calls[server.calls.length - 1];
    eq([last.auth, "ath" in last.proof.claims, last.proof.claims.htu], [null, false, location.origin + "/auth/refresh"], "its Authorization, ath and htu");
    noViolations(server);
  },

  async storm_after_expiry(make) {
    const { api, server } = world(make);
    await login(api);
    eq((await api.fetch(API + "/api/warm")).status, 200);
    server.expire();
    const release = server.holdRefresh();
    const all = [];
    for (let i = 0; i < 20; i++) {
      all.push(i % 3 === 0
        ? api.fetch(API + "/api/p" + i, { method: "POST", body: "body-" + i })
        : api.fetch(API + "/api/g" + i + "?i=" + i));
    }
    await until(() => server.refreshCalls === 1, "the refresh call");
    await tick(50); // the rest of the storm reaches the server with the expired token meanwhile
    release();
    const results = await Promise.all(all);
    eq(results.map((r) => r.status), Array(20).fill(200), "statuses");
    const bodies = await Promise.all(results.map((r) => r.json()));
    for (let i = 0; i < 20; i++) if (i % 3 === 0) eq(bodies[i].body, "body-" + i, "/api/p" + i + " answered with its body");
    eq(server.refreshCallList().length, 1, "one refresh call");
    eq(api.stats().refreshes, 1, "stats().refreshes");
    const fresh = localStorage.getItem("token");
    const ath = await athOf(fresh);
    for (let i = 0; i < 20; i++) {
      const calls = server.callsTo((i % 3 === 0 ? "/api/p" : "/api/g") + i);
      assert(calls.length >= 1 && calls.length <= 2, "/api/" + i + ": sent once or twice, got " + calls.length);
      const last = calls[calls.length - 1];
      eq([last.status, last.auth, last.proof && last.proof.claims.ath], [200, "DPoP " + fresh, ath], "/api/" + i + ": the replay");
      for (const c of calls) if (i % 3 === 0) eq(c.body, "body-" + i, "/api/p" + i + ": body of each attempt");
    }
    const proofs = server.calls.filter((c) => c.proof);
    eq(new Set(proofs.map((c) => c.proof.claims.jti)).size, proofs.length, "a new jti for every attempt");
    eq(new Set(await jkts(proofs)).size, 1, "one key");
    noViolations(server);
  },

  async nonce_challenges_are_answered_once_at_once_and_are_not_expiry(make) {
    const { api, server } = world(make);
    server.requireNonce.add(location.origin);
    server.requireNonce.add(API);
    const at = (calls) => calls.map((c) => [c.status, c.proof && c.proof.claims.nonce || null]);
    // The token endpoint challenges the code exchange: answered once, at once.
    await login(api);
    const tokenNonce = server.nonces.get(location.origin);
    eq(at(server.callsTo("/auth/refresh")), [[400, null], [200, tokenNonce]], "code exchange: challenge, then the nonce");
    const [c1, c2] = server.callsTo("/auth/refresh");
    assert(c2.at - c1.at < 1000, "retried at once: " + (c2.at - c1.at).toFixed(0) + " ms");
    // The API challenges on its own nonce (not the token endpoint's).
    eq((await api.fetch(API + "/api/a")).status, 200);
    const apiNonce = server.nonces.get(API);
    assert(apiNonce !== tokenNonce, "two origins, two nonces");
    eq(at(server.callsTo("/api/a")), [[401, null], [200, apiNonce]], "API: challenge, then its nonce");
    const [a1, a2] = server.callsTo("/api/a");
    assert(a2.at - a1.at < 1000, "retried at once: " + (a2.at - a1.at).toFixed(0) + " ms");
    eq([api.stats().refreshes, server.refreshCallList().length], [0, 0], "a nonce challenge is no expiry");
    eq((await api.fetch(API + "/api/b")).status, 200);
    eq(at(server.callsTo("/api/b")), [[200, apiNonce]], "the next request has the nonce already");
    // A real expiry while the token endpoint's nonce went stale: one refresh, its call retried once.
    server.newNonce(location.origin);
    server.expire();
    eq((await api.fetch(API + "/api/c")).status, 200);
    eq(at(server.refreshCallList()), [[400, tokenNonce], [200, server.nonces.get(location.origin)]], "the refresh: challenge, then the new nonce");
    eq(api.stats().refreshes, 1, "one refresh");
    // The API's nonce goes stale: challenged, retried, no refresh.
    server.newNonce(API);
    eq((await api.fetch(API + "/api/d")).status, 200);
    eq(at(server.callsTo("/api/d")), [[401, apiNonce], [200, server.nonces.get(API)]], "stale API nonce: challenge, then the new one");
    eq([api.stats().refreshes, server.refreshCallList().length], [1, 2], "still one refresh");
    // The replay after a refresh meets a challenge (the API's nonce changed meanwhile): answered,
    // not taken for the replay being refused again (the loop guard).
    server.expire();
    server.onRequest = (call) => { if (call.body && call.body.includes("grant_type=refresh_token")) server.newNonce(API); };
    eq((await api.fetch(API + "/api/g")).status, 200, "a challenged replay");
    server.onRequest = null;
    eq(server.callsTo("/api/g").map((c) => [c.status, c.error]), [[401, null], [401, "stale nonce"], [200, null]], "expired, refresh, challenged replay, retry");
    eq([api.stats().refreshes, server.refreshCallList().length], [2, 3], "one more refresh");
    // A server that challenges every proof: retried once only, and never taken for expiry.
    server.onRequest = (call) => { if (call.origin === API) server.newNonce(API); };
    const settled = api.fetch(API + "/api/e").then((r) => r.status, (e) => e.code || String(e));
    // Bounded: a client that loops on challenges is stopped by the server giving in after 3 s.
    const outcome = await Promise.race([settled, tick(3000).then(() => "still going after 3 s")]);
    const seen = { sent: server.callsTo("/api/e").length, refreshCalls: server.refreshCallList().length - 3, refreshes: api.stats().refreshes - 2 };
    server.onRequest = null;
    await settled;
    eq(seen, { sent: 2, refreshCalls: 0, refreshes: 0 }, "a server that challenges every proof: one retry, no refresh (outcome " + outcome + ")");
    noViolations(server);
    // Still a working session afterwards.
    eq((await api.fetch(API + "/api/f")).status, 200, "after the repeated challenge");
    noViolations(server);
  },

  async nonce_rotation_through_a_200(make) {
    const { api, server } = world(make);
    for (const o of [location.origin, API]) {
      server.requireNonce.add(o);
      server.rotateOn200.add(o);
    }
    await login(api);
    eq(server.callsTo("/auth/refresh").map((c) => c.status), [400, 200], "the code exchange: one challenge");
    for (let i = 0; i < 5; i++) eq((await api.fetch(API + "/api/r" + i)).status, 200, "/api/r" + i);
    const apiCalls = server.calls.filter((c) => c.origin === API);
    eq(apiCalls.map((c) => c.status), [401, 200, 200, 200, 200, 200], "only the first API request is challenged");
    // Each 200's nonce went into the next proof.
    for (let i = 2; i < apiCalls.length; i++) {
      const given = apiCalls[i - 1];
      assert(given.proof.claims.nonce !== apiCalls[i].proof.claims.nonce, "a new nonce each time");
    }
    eq(apiCalls[apiCalls.length - 1].proof.claims.nonce !== server.nonces.get(API), true, "the last 200 rotated it again");
    // The nonce from the code exchange's 200 is the refresh's: no challenge there either.
    server.expire();
    eq((await api.fetch(API + "/api/after")).status, 200);
    eq(server.refreshCallList().map((c) => c.status), [200], "the refresh: no challenge");
    eq(server.callsTo("/api/after").map((c) => c.status), [401, 200], "expired, then replayed");
    noViolations(server);
  },

  async iat_follows_the_server_clock(make) {
    // The server's clock is 5 minutes ahead and says so in Date headers; it challenges for a nonce
    // before it looks at iat (RFC 9449 §4.3 order), so a client learns its clock from the challenge.
    const { api, server } = world(make);
    server.skewMs = 5 * 60_000;
    server.sendDate = true;
    server.requireNonce.add(location.origin);
    server.requireNonce.add(API);
    await login(api);
    eq((await api.fetch(API + "/api/x")).status, 200);
    server.expire();
    eq((await api.fetch(API + "/api/y", { method: "POST", body: "y" })).status, 200, "a refresh and a replay");
    const proofs = server.calls.filter((c) => c.proof && c.status !== 400 && !(c.status === 401 && c.error));
    for (const c of proofs) {
      const off = c.proof.claims.iat - server.now() / 1000;
      assert(Math.abs(off) <= 60, c.method + " " + c.url + ": iat " + Math.round(off) + " s from the server's clock");
    }
    noViolations(server);
  },

  async instances_and_tabs_share_one_key(make) {
    // Two instances on one session: one key.
    const { api, server } = world(make);
    const second = make(options(server));
    await login(api);
    eq((await second.fetch(API + "/api/second")).status, 200, "the second instance");
    eq((await api.fetch(API + "/api/first")).status, 200, "the first");
    eq(new Set(await jkts(server.calls)).size, 1, "one key");
    make.freeAll();
    await wipeKeys();

    // Two sessions on one access key name in localStorage (other refresh keys) starting without a
    // key at once, then two tabs (an iframe with its own copy of the package) likewise: one key
    // each time. (With sessionStorage each tab's session has a record of its own:
    // session_storage_sessions_do_not_drop_each_others_key.)
    for (const leg of ["two sessions", "two tabs"]) {
      make.freeAll();
      localStorage.clear();
      sessionStorage.clear();
      await wipeKeys();
      const server = newServer();
      const tab = leg === "two tabs" ? await otherTab() : null;
      try {
        const a = make(options(server));
        const b = tab ? tab.make(options(server)) : make(options(server, { refreshTokenKey: "refreshToken2" }));
        eq(await keyRecords(), [], leg + ": no key yet");
        await Promise.all([login(a), login(b)]);
        const records = await keyRecords();
        eq(records.map((r) => r.key), ["token"], leg + ": one record");
        eq([...new Set(await jkts(server.calls))], [records[0].jkt], leg + ": both exchanges signed by the recorded key");
        eq((await a.fetch(API + "/api/a")).status, 200, leg + ": a");
        eq((await b.fetch(API + "/api/b")).status, 200, leg + ": b");
        eq([...new Set(await jkts(server.calls))], [records[0].jkt], leg + ": every proof by that key");
        noViolations(server);
      } finally {
        tab?.close();
      }
    }
  },

  async each_request_leaves_once_its_own_proof_is_made(make) {
    // Requests begun together: the first is handed to the transport before the last proof is
    // signed, and they leave in order (WebCrypto may sign on the page's thread, inside the call,
    // as Chromium does: proofs begun together would all be computed before the first could leave;
    // where it signs off the thread, as Firefox does, the next signature may start before this
    // request is sent, which delays nothing). An order, not a timing.
    const server = newServer();
    const events = [];
    const { api } = world(make, { fetch: (input, init) => { events.push("send " + new URL(input).pathname); return server.fetch(input, init); } }, server);
    await login(api);
    const sign = crypto.subtle.sign;
    crypto.subtle.sign = function (...args) { events.push("sign"); return sign.apply(this, args); };
    try {
      events.length = 0;
      const paths = ["/api/1", "/api/2", "/api/3", "/api/4", "/api/5"];
      const answers = await Promise.all(paths.map((p) => api.fetch(API + p)));
      eq(answers.map((r) => r.status), [200, 200, 200, 200, 200]);
      eq(events.filter((e) => e === "sign").length, 5, "one proof each");
      eq(events.filter((e) => e !== "sign"), paths.map((p) => "send " + p), "sent in order");
      // Where the signature is computed inside the call (Chromium), the first request must leave
      // before the last proof is signed. Where it is computed off the page's thread (Firefox,
      // WebKit), the calls return at once and no request waits on another's signature whatever
      // the order of calls and sends, which is then timing, not a rule: not checked there.
      if (/Chrome\//.test(navigator.userAgent)) assert(events.indexOf("send /api/1") < events.lastIndexOf("sign"), "the first request left before the last proof was signed: " + events.join(", "));
    } finally {
      crypto.subtle.sign = sign;
    }
    noViolations(server);
  },

  async reload_keeps_the_key(make) {
    const { api, server } = world(make);
    await login(api);
    eq((await api.fetch(API + "/api/before")).status, 200);
    const [before] = await jkts(server.callsTo("/api/before"));
    make.freeAll(); // every instance gone: the session is forgotten, as on a reload
    const again = make(options(server));
    eq((await again.fetch(API + "/api/after")).status, 200, "the stored token with the stored key");
    eq(await jkts(server.callsTo("/api/after")), [before], "the same key");
    eq((await keyRecords()).map((r) => r.jkt), [before], "one record, that key");
    // Another storage key name is another key.
    const otherName = make(options(server, { accessTokenKey: "token2", refreshTokenKey: "refresh2" }));
    await login(otherName);
    const [third] = await jkts(server.calls.slice(-1));
    assert(third !== before, "accessTokenKey token2 has a key of its own");
    eq((await keyRecords()).map((r) => r.key).sort(), ["token", "token2"], "a record per storage key name");
    noViolations(server);
  },

  async logout_and_clear_tokens_drop_the_key(make) {
    for (const how of ["logout", "clearTokens", "a refused refresh"]) {
      const logouts = [];
      const { api, server } = world(make, { onLogout: (i) => logouts.push(i.reason) });
      await wipeKeys();
      await login(api);
      eq((await api.fetch(API + "/api/x")).status, 200);
      const [first] = await jkts(server.callsTo("/api/x"));
      eq((await keyRecords()).map((r) => r.jkt), [first], how + ": the key is stored");
      if (how === "a refused refresh") {
        server.expire();
        server.refreshAnswer = () => json(400, { error: "invalid_grant" });
        await rejectsWith(api.fetch(API + "/api/z"), "SESSION_EXPIRED");
        server.refreshAnswer = null;
      } else {
        api[how]();
      }
      await eventually(gone, how + ": the key record deleted");
      eq([localStorage.getItem("token"), localStorage.getItem("refreshToken")], [null, null], how + ": tokens removed");
      if (how !== "clearTokens") eq(logouts, [how === "logout" ? "LOGOUT" : "SESSION_EXPIRED"], how + ": onLogout");
      await login(api);
      const [second] = await jkts(server.calls.slice(-1));
      assert(second !== first, how + ": the next login has a new key");
      eq((await api.fetch(API + "/api/y")).status, 200, how + ": and works");
      eq(await jkts(server.callsTo("/api/y")), [second], how + ": with that key");
      eq((await keyRecords()).map((r) => r.jkt), [second], how + ": which is stored");
      noViolations(server);
    }
  },

  async a_refused_refresh_leaves_a_key_it_did_not_use(make) {
    // Another tab replaced the record meanwhile (its own login after the data was cleared): a
    // session that ends here by a refusal must not delete that tab's key. (`logout()` and
    // `clearTokens()` are the app's decision and remove whatever tokens and key are there:
    // logout_and_clear_tokens_drop_the_key.)
    for (const how of ["a refused refresh"]) {
      const { api, server } = world(make);
      await wipeKeys();
      await login(api);
      eq((await api.fetch(API + "/api/x")).status, 200);
      const [mine] = await jkts(server.callsTo("/api/x"));
      const theirs = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]);
      const db = await done(indexedDB.open(DB, 1));
      try {
        const tx = db.transaction(STORE, "readwrite");
        tx.objectStore(STORE).put({ id: "another-tab", privateKey: theirs.privateKey, publicKey: theirs.publicKey }, "token");
        await new Promise((resolve, reject) => { tx.oncomplete = resolve; tx.onerror = tx.onabort = () => reject(tx.error); });
      } finally {
        db.close();
      }
      const theirJkt = await thumbprint(await crypto.subtle.exportKey("jwk", theirs.publicKey));
      assert(theirJkt !== mine, "two keys");
      if (how === "a refused refresh") {
        server.expire();
        server.refreshAnswer = () => json(400, { error: "invalid_grant" });
        await rejectsWith(api.fetch(API + "/api/z"), "SESSION_EXPIRED");
      } else {
        api[how]();
      }
      await tick(300); // a deletion would be done by now
      eq((await keyRecords()).map((r) => [r.value.id, r.jkt]), [["another-tab", theirJkt]], how + ": the other tab's record is kept");
      noViolations(server);
    }
  },

  async a_replay_refused_again_is_the_callers_401(make) {
    // The core keeps every DPoP request to read its answer's nonce: a replay's 401, and a
    // no-refresh request's, must still be the caller's, without a second refresh (no loop).
    const { api, server } = world(make);
    await login(api);
    server.apiAnswer = (call) => (call.path === "/api/stuck" ? new Response("no", { status: 401, headers: { "www-authenticate": 'DPoP error="invalid_token"' } }) : null);
    eq((await api.fetch(API + "/api/stuck")).status, 401, "the replay's answer");
    eq(server.callsTo("/api/stuck").length, 2, "the first attempt and one replay");
    eq([server.refreshCallList().length, api.stats().refreshes], [1, 1], "one refresh");
    eq((await api.fetch(API + "/api/stuck", { headers: { "x-seamless-fetch": "no-refresh" } })).status, 401, "no-refresh: its own 401");
    eq([server.callsTo("/api/stuck").length, server.refreshCallList().length], [3, 1], "sent once, no refresh");
    server.apiAnswer = null;
    eq((await api.fetch(API + "/api/fine")).status, 200, "the session goes on");
    noViolations(server);
  },

  async a_refresh_answer_of_token_type_bearer_is_refused(make) {
    const heard = [];
    const { api, server } = world(make, { onRefreshError: (e) => heard.push(e) });
    const old = await login(api);
    server.tokenType = "Bearer";
    server.expire();
    const error = await rejectsWith(api.fetch(API + "/api/x"), "DPOP_REFUSED");
    assert(/token_type/.test(error.message), "the message names token_type: " + error.message);
    eq(heard.map((e) => e.code), ["DPOP_REFUSED"], "onRefreshError");
    eq(server.refreshCallList().length, 1, "one refresh call");
    const [access, refresh] = server.issued.slice(-2);
    const stored = [localStorage.getItem("token"), localStorage.getItem("refreshToken")];
    assert(!stored.includes(access) && !stored.includes(refresh), "the Bearer answer's tokens are not stored");
    eq(server.calls.filter((c) => c.auth === "DPoP " + access).length, 0, "nor used");
    for (const t of [old.access_token, old.refresh_token, access, refresh]) {
      assert(!error.message.includes(t) && !heard[0].message.includes(t), "no token in the message");
    }
    // Lower or mixed case DPoP is fine (RFC 6749 §5.1: case-insensitive).
    make.freeAll();
    const { api: api2, server: server2 } = world(make);
    await wipeKeys();
    await login(api2);
    server2.tokenType = "dpop";
    server2.expire();
    eq((await api2.fetch(API + "/api/y")).status, 200, "token_type dpop is DPoP");
    noViolations(server);
    noViolations(server2);
  },

  async failing_indexeddb_keeps_the_key_in_memory(make) {
    const console_ = captureConsole();
    indexedDB.open = () => { throw new DOMException("IndexedDB denied for this test", "SecurityError"); };
    let records;
    try {
      const { api, server } = world(make);
      await login(api);
      eq((await api.fetch(API + "/api/1")).status, 200);
      server.expire();
      eq((await api.fetch(API + "/api/2")).status, 200, "a refresh with the memory key");
      eq((await api.fetch(API + "/api/3", { method: "POST", body: "x" })).status, 200);
      eq(new Set(await jkts(server.calls)).size, 1, "one key all along");
      eq(server.refreshCallList().length, 1, "one refresh");
      noViolations(server);
      const warned = console_.lines.filter((l) => l.startsWith("warn:") && l.includes("IndexedDB"));
      eq(warned.length, 1, "one console.warn about IndexedDB (lines: " + JSON.stringify(console_.lines) + ")");
    } finally {
      console_.restore();
      delete indexedDB.open;
      records = await keyRecords();
    }
    eq(records, [], "nothing stored");
  },

  async a_lost_key_ends_the_session_once(make) {
    const { api, server } = world(make);
    const tokens = await login(api);
    eq((await api.fetch(API + "/api/x")).status, 200);
    make.freeAll();
    await wipeKeys(); // site data cleared but the tokens kept
    eq(localStorage.getItem("token"), tokens.access_token, "tokens still stored");
    const logouts = [], navigations = [];
    const sent = server.calls.length;
    const next = make(options(server, { onLogout: (i) => logouts.push(i.reason), navigate: (u) => navigations.push(u) }));
    const errors = await Promise.all([
      rejectsWith(next.fetch(API + "/api/a"), "DPOP_KEY_LOST"),
      rejectsWith(next.fetch(API + "/api/b", { method: "POST", body: "b" }), "DPOP_KEY_LOST"),
    ]);
    eq(logouts, ["DPOP_KEY_LOST"], "onLogout once");
    eq(navigations, ["/login"], "to the login page once");
    eq([localStorage.getItem("token"), localStorage.getItem("refreshToken")], [null, null], "tokens removed");
    eq(server.calls.slice(sent).map((c) => c.method + " " + c.url), [], "nothing sent: no refresh, no request without its key");
    for (const e of errors) for (const t of [tokens.access_token, tokens.refresh_token]) assert(!e.message.includes(t), "no token in the message");
    noViolations(server);
  },

  async invalid_dpop_proof_is_refused_without_retry(make) {
    const { api, server } = world(make);
    await login(api);
    server.apiAnswer = (call) => (call.path === "/api/bad" ? challenge("invalid_dpop_proof", "proof refused by the test resource") : null);
    const error = await rejectsWith(api.fetch(API + "/api/bad"), "DPOP_REFUSED");
    assert(error.message.includes("proof refused by the test resource"), "the server's description: " + error.message);
    eq(server.callsTo("/api/bad").length, 1, "no retry");
    eq([server.refreshCallList().length, api.stats().refreshes], [0, 0], "no refresh");
    eq((await api.fetch(API + "/api/good")).status, 200, "the session goes on");
    // The token endpoint's form of it, on a refresh.
    server.expire();
    server.refreshAnswer = () => json(400, { error: "invalid_dpop_proof", error_description: "refresh proof refused by the test" });
    const refreshError = await rejectsWith(api.fetch(API + "/api/later"), "DPOP_REFUSED");
    assert(refreshError.message.includes("refresh proof refused by the test"), "the server's description: " + refreshError.message);
    eq(server.refreshCallList().length, 1, "no retry of the refresh");
    eq(server.callsTo("/api/later").length, 1, "nor of the request");
    // And to the app's own call to the token endpoint (a code exchange through api.fetch).
    make.freeAll();
    const { api: fresh } = world(make, {}, server);
    server.exchangeAnswer = () => json(400, { error: "invalid_dpop_proof", error_description: "exchange proof refused by the test" });
    const exchangeError = await rejectsWith(login(fresh), "DPOP_REFUSED");
    assert(exchangeError.message.includes("exchange proof refused by the test"), "the server's description: " + exchangeError.message);
    eq(server.calls.filter((c) => c.grant === "authorization_code").length, 2, "the exchange not retried (one before, one now)");
    noViolations(server);
  },

  async dpop_needs_webcrypto(make) {
    const server = newServer();
    // crypto.subtle is what secure contexts have; shadowed here as an insecure page lacks it.
    Object.defineProperty(crypto, "subtle", { value: undefined, configurable: true });
    let error = null;
    try {
      make(options(server));
    } catch (e) {
      error = e;
    } finally {
      delete crypto.subtle;
    }
    assert(crypto.subtle && typeof crypto.subtle.sign === "function", "crypto.subtle restored");
    assert(error !== null, "the constructor throws without crypto.subtle");
    eq([error.name, error.code], ["AuthError", "INVALID_OPTIONS"], "the error");
    assert(/crypto\.subtle|WebCrypto/.test(error.message), "it names WebCrypto: " + error.message);
    // And with it, the same options make an instance.
    const { api } = world(make, {}, server);
    await login(api);
    eq((await api.fetch(API + "/api/x")).status, 200);
    noViolations(server);
  },

  async dpop_proof_for_the_app(make) {
    const { api, server } = world(make);
    server.requireNonce.add(API);
    const before = decodeJws(await api.dpopProof({ method: "GET", url: API + "/ws" }));
    eq([before.claims.htm, before.claims.htu, "ath" in before.claims], ["GET", API + "/ws", false], "no session: no ath");
    const { access_token: access } = await login(api);
    eq((await api.fetch(API + "/api/first")).status, 200, "learns the API's nonce");
    const proof = await api.dpopProof({ method: "POST", url: API + "/api/manual?x=1#frag" });
    const { header, claims } = decodeJws(proof);
    eq([claims.htm, claims.htu, claims.ath, claims.nonce], ["POST", API + "/api/manual", await athOf(access), server.nonces.get(API)], "claims");
    eq(await thumbprint(header.jwk), (await jkts(server.callsTo("/api/first")))[0], "the session's key");
    // The app sends it with its own transport.
    const res = await server.fetch(API + "/api/manual?x=1", { method: "POST", headers: { authorization: "DPoP " + access, dpop: proof }, body: "{}" });
    eq(res.status, 200, "the resource server accepts it");
    const again = await api.dpopProof({ method: "POST", url: API + "/api/manual" });
    assert(decodeJws(again).claims.jti !== claims.jti, "a new jti each call");
    noViolations(server);
  },

  async clear_then_login_at_once_keeps_the_new_key(make) {
    // clearTokens() then a new login in the same tick (switching account, a password grant):
    // the record of the key the new tokens are bound to must survive.
    const { api, server } = world(make);
    await login(api);
    eq((await api.fetch(API + "/api/x")).status, 200);
    const [oldKey] = await jkts(server.callsTo("/api/x"));
    api.clearTokens();
    await login(api);
    const [exchangeKey] = await jkts(server.calls.slice(-1));
    await tick(300);
    const records = await keyRecords();
    eq([exchangeKey === oldKey, records.map((r) => r.jkt)], [false, [exchangeKey]], "a new key for the new login, and its record kept");
  },

  async a_reload_after_clear_then_login_at_once_keeps_the_session(make) {
    const { api, server } = world(make);
    await login(api);
    eq((await api.fetch(API + "/api/x")).status, 200);
    api.clearTokens();
    await login(api);
    await tick(300);
    make.freeAll(); // a reload
    const again = make(options(server));
    eq((await again.fetch(API + "/api/after")).status, 200, "the reloaded page uses its tokens");
  },

  async session_storage_sessions_do_not_drop_each_others_key(make) {
    // Two independent sessions on one accessTokenKey name (a tab with storage "session" and
    // another session): one's logout must not make the other's tokens unusable after a reload.
    const { api: a, server } = world(make, { storage: "session" });
    const b = make(options(server));
    await login(a);
    await login(b);
    eq((await b.fetch(API + "/api/b")).status, 200);
    a.clearTokens();
    await tick(300);
    eq((await keyRecords()).length, 1, "b's key record still there");
  },

  async a_lost_key_under_a_forced_refresh_sends_no_refresh(make) {
    // The key is gone and the first thing the reloaded page does is a refresh (refresh(), or a
    // token due ahead): the call waiting for the key must not go out.
    const { api, server } = world(make);
    await login(api);
    eq((await api.fetch(API + "/api/x")).status, 200);
    make.freeAll();
    await wipeKeys();
    const before = server.refreshCallList().length;
    const next = make(options(server));
    const outcome = await next.refresh().then(() => "ok", (e) => e.code);
    await tick(300);
    eq([outcome, server.refreshCallList().length - before], ["DPOP_KEY_LOST", 0], "refresh() outcome, refresh calls sent");
  },
};

// A fake DPoP (RFC 9449) authorization server and resource server behind an injected `fetch`, for
// the browser tests of `dpop: true`. It verifies every proof with WebCrypto and checks every rule
// of RFC 9449 §4.3 and §7 (plus the library's contract, tests/../DPOP-CONTRACT.md), answers as a
// real server would (nonce challenges, invalid_dpop_proof, invalid_token), and records every
// request and every rule the client broke in `violations`: a scenario asserts it is empty.
//
// The token endpoint (`tokenPath`, on the page's origin by default) takes the oauth2 form body:
// grant_type=authorization_code&code=good (the app's login, through api.fetch) or
// grant_type=refresh_token&refresh_token=... (the library's refresh). Everything else is a
// resource: `Authorization: DPoP <token>` and a proof with `ath`. Nonces are per origin.
import { deferred, json } from "./fake_server.js";

const enc = new TextEncoder();
const dec = new TextDecoder();

export function b64url(bytes) {
  let s = "";
  for (const b of new Uint8Array(bytes)) s += String.fromCharCode(b);
  return btoa(s).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
}

/** Strict base64url (no padding, no other alphabet): null when `s` is not that. */
export function unb64url(s) {
  if (typeof s !== "string" || !/^[A-Za-z0-9_-]*$/.test(s) || s.length % 4 === 1) return null;
  const bin = atob(s.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (s.length % 4)) % 4));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

export const sha256 = async (text) => b64url(await crypto.subtle.digest("SHA-256", enc.encode(text)));

/** RFC 7638 thumbprint of an EC key: the required members in lexicographic order, no whitespace. */
export const thumbprint = (jwk) => sha256(`{"crv":${JSON.stringify(jwk.crv)},"kty":${JSON.stringify(jwk.kty)},"x":${JSON.stringify(jwk.x)},"y":${JSON.stringify(jwk.y)}}`);

/** `ath`: base64url SHA-256 of the access token (RFC 9449 §4.2). */
export const athOf = (token) => sha256(token);

/** A P-256 key pair of the test's own (extractable, to show a jwk with `d` too). */
export async function makeKey() {
  const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]);
  const { kty, crv, x, y, d } = await crypto.subtle.exportKey("jwk", pair.privateKey);
  return { ...pair, jwk: { kty, crv, x, y }, d };
}

/** A compact JWS of any header and claims, signed ES256 by `key` (the test's proof builder). */
export async function signJws(key, header, claims) {
  const input = b64url(enc.encode(JSON.stringify(header))) + "." + b64url(enc.encode(JSON.stringify(claims)));
  const sig = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, key.privateKey, enc.encode(input));
  return input + "." + b64url(sig);
}

/** Header and claims of a compact JWS, unverified (for scenarios that look into a proof). */
export function decodeJws(jws) {
  const [h, c] = String(jws).split(".");
  return { header: JSON.parse(dec.decode(unb64url(h))), claims: JSON.parse(dec.decode(unb64url(c))) };
}

/** A resource server's DPoP error answer (RFC 9449 §7.1, RFC 6750 §3). */
export const challenge = (error, description, extra = {}) => json(401, { error }, {
  "www-authenticate": `DPoP error="${error}", error_description="${description}", algs="ES256"`, ...extra,
});

export const random = () => b64url(crypto.getRandomValues(new Uint8Array(18)));

/** The URL without query and fragment, as `htu` must be (RFC 9449 §4.2). */
export const htuOf = (url) => { const u = new URL(url, location.href); return u.origin + u.pathname; };

/** Thrown inside the checks: a refused proof, its reason, and whether it is only a nonce matter. */
class Refusal extends Error {
  constructor(message, nonce = false) { super(message); this.nonce = nonce; }
}

export class DpopServer {
  constructor({ apiOrigin = "https://api.example.test", tokenPath = "/auth/refresh", tokenOrigin = location.origin } = {}) {
    this.apiOrigin = apiOrigin;
    this.tokenUrl = tokenOrigin + tokenPath;
    this.calls = [];            // every request: {url, origin, path, method, auth, dpop, proof, body, status, error}
    this.violations = [];       // every rule the client broke, as text
    this.jtis = new Set();      // every jti seen (RFC 9449 §11.1: replay detection)
    this.nonces = new Map();    // origin -> the nonce it requires now
    this.nonceOrigin = new Map(); // nonce -> the origin that issued it
    this.requireNonce = new Set(); // origins that require a nonce
    this.rotateOn200 = new Set();  // origins that hand out a new nonce on every 200
    this.access = new Map();    // access token -> {jkt, family, expired}
    this.refresh = new Map();   // refresh token -> {jkt, family, used}
    this.revoked = new Set();   // revoked families (a refresh token reused)
    this.iatWindowS = 60;
    this.skewMs = 0;            // the server's clock minus the page's
    this.sendDate = false;      // every answer carries a Date header (on the server's clock)
    this.tokenType = "DPoP";    // token_type of refresh answers
    this.expiresIn = 3600;
    this.refreshCalls = 0;      // grant_type=refresh_token calls, nonce challenges included
    this.refreshGate = null;
    this.refreshAnswer = null;  // (call) => Response: replaces the token endpoint's refresh answer
    this.apiAnswer = null;      // (call) => Response | null: replaces a resource answer (null: go on)
    this.exchangeAnswer = null; // (call) => Response: replaces the code exchange's answer
    this.issued = [];           // every token string issued, to look for them where they must not be
    this.onRequest = null;      // (call) => void, before the answer
    this.fetch = this.fetch.bind(this);
  }

  now() { return Date.now() + this.skewMs; }

  /** Every access token issued so far is refused from now on as expired. */
  expire() { for (const t of this.access.values()) t.expired = true; }

  holdRefresh() { this.refreshGate = deferred(); return () => { const g = this.refreshGate; this.refreshGate = null; g?.resolve(); }; }

  callsTo(path) { return this.calls.filter((c) => c.path === path); }

  /** Refresh calls (not the login exchange) that reached the token endpoint. */
  refreshCallList() { return this.calls.filter((c) => c.url.split("?")[0] === this.tokenUrl && c.grant === "refresh_token"); }

  /** The origin's nonce (made now if it has none), which it then requires when `requireNonce` has it. */
  nonceFor(origin) {
    if (!this.nonces.has(origin)) this.newNonce(origin);
    return this.nonces.get(origin);
  }

  newNonce(origin) {
    const n = "n-" + random();
    this.nonces.set(origin, n);
    this.nonceOrigin.set(n, origin);
    return n;
  }

  /** A token pair bound to `jkt`, of a new family or `family`. */
  issue(jkt, family = random()) {
    const access = "at-" + random(), refresh = "rt-" + random();
    this.access.set(access, { jkt, family, expired: false });
    this.refresh.set(refresh, { jkt, family, used: false });
    this.issued.push(access, refresh);
    return { access, refresh };
  }

  violation(call, text) {
    const v = `${call.method} ${call.url}: ${text}`;
    this.violations.push(v);
    call.violations.push(text);
  }

  /**
   * RFC 9449 §4.3 on the request's DPoP header: throws a Refusal, else returns {header, claims, jkt}.
   * `ath`: the access token the proof must be bound to, or null where the proof must have none.
   */
  async verify(req, call, ath) {
    const value = req.headers.get("dpop");
    if (value === null) throw new Refusal("no DPoP header");
    // Headers joins repeated fields with ", "; a compact JWS has no comma.
    if (value.includes(",")) throw new Refusal("more than one DPoP header");
    const parts = value.split(".");
    if (parts.length !== 3) throw new Refusal("not a compact JWS");
    const [h, c, s] = parts.map(unb64url);
    if (!h || !c || !s) throw new Refusal("a JWS part is not base64url");
    let header, claims;
    try {
      header = JSON.parse(dec.decode(h));
      claims = JSON.parse(dec.decode(c));
    } catch {
      throw new Refusal("header or claims are not JSON");
    }
    if (!header || typeof header !== "object" || !claims || typeof claims !== "object") throw new Refusal("header or claims are not objects");
    call.proof = { header, claims };
    if (header.typ !== "dpop+jwt") throw new Refusal("typ is " + JSON.stringify(header.typ) + ", not dpop+jwt");
    if (header.alg !== "ES256") throw new Refusal("alg is " + JSON.stringify(header.alg) + ", not ES256");
    const jwk = header.jwk;
    if (!jwk || typeof jwk !== "object") throw new Refusal("no jwk");
    if ("d" in jwk) throw new Refusal("the jwk holds the private key (d)");
    const members = Object.keys(jwk).sort().join(",");
    if (members !== "crv,kty,x,y") throw new Refusal("jwk members are " + members + ", not crv, kty, x, y");
    if (jwk.kty !== "EC" || jwk.crv !== "P-256") throw new Refusal("jwk is not an EC P-256 key");
    if (unb64url(jwk.x)?.length !== 32 || unb64url(jwk.y)?.length !== 32) throw new Refusal("jwk x or y is not 32 bytes of base64url");
    if (s.length !== 64) throw new Refusal("the signature is not 64 bytes (r || s)");
    let key;
    try {
      key = await crypto.subtle.importKey("jwk", { kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y }, { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]);
    } catch (e) {
      throw new Refusal("jwk does not import: " + e.message);
    }
    const valid = await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key, s, enc.encode(parts[0] + "." + parts[1]));
    if (!valid) throw new Refusal("the signature does not verify with the jwk");
    for (const [name, type] of [["jti", "string"], ["htm", "string"], ["htu", "string"], ["iat", "number"]]) {
      if (typeof claims[name] !== type) throw new Refusal("claim " + name + " missing or not a " + type);
    }
    if (claims.jti.length < 8) throw new Refusal("jti too short to be random");
    if (claims.htm !== req.method) throw new Refusal("htm " + claims.htm + " is not the method " + req.method);
    const want = htuOf(req.url);
    if (claims.htu !== want) throw new Refusal("htu " + claims.htu + " is not " + want);
    if (this.jtis.has(claims.jti)) throw new Refusal("jti " + claims.jti + " was used before");
    this.jtis.add(claims.jti);
    // The proof is tied to a token by its hash; the token itself never goes in it.
    for (const t of this.issued) if (dec.decode(h).includes(t) || dec.decode(c).includes(t)) this.violation(call, "the proof contains a token");
    // The nonce before iat, as RFC 9449 §4.3 orders them: a challenge (with the server's Date)
    // is how a client with a skewed clock learns the server's.
    const origin = new URL(req.url).origin;
    if ("nonce" in claims) {
      const from = this.nonceOrigin.get(claims.nonce);
      if (from !== undefined && from !== origin) this.violation(call, "nonce of " + from + " sent to " + origin);
    }
    if (this.requireNonce.has(origin) && claims.nonce !== this.nonceFor(origin)) {
      throw new Refusal(claims.nonce === undefined ? "no nonce" : "stale nonce", true);
    }
    const now = this.now() / 1000;
    if (Math.abs(claims.iat - now) > this.iatWindowS) throw new Refusal("iat " + claims.iat + " is " + Math.round(claims.iat - now) + " s from the server's clock");
    if (ath === null) {
      if ("ath" in claims) throw new Refusal("ath on a request that carries no access token");
    } else if (claims.ath !== await athOf(ath)) {
      throw new Refusal("ath " + claims.ath + " is not the hash of the access token");
    }
    return { header, claims, jkt: await thumbprint(jwk) };
  }

  async fetch(input, init) {
    const req = new Request(input, init);
    const url = new URL(req.url);
    const call = {
      url: req.url, origin: url.origin, path: url.pathname, method: req.method,
      auth: req.headers.get("authorization"), dpop: req.headers.get("dpop"), proof: null,
      body: req.method === "GET" || req.method === "HEAD" ? null : await req.text().catch(() => "<unreadable>"),
      headers: req.headers, at: performance.now(), violations: [], status: 0, error: null,
    };
    this.calls.push(call);
    if (this.onRequest) this.onRequest(call);
    const res = await this.answer(req, call);
    call.status = res.status;
    if (this.sendDate) res.headers.set("date", new Date(this.now()).toUTCString());
    return res;
  }

  async answer(req, call) {
    if (call.url.split(/[?#]/)[0] === this.tokenUrl) return this.tokenEndpoint(req, call);
    if (call.origin !== this.apiOrigin && call.origin !== location.origin) {
      // An origin the token is withheld from: nothing of the session goes there.
      if (call.auth !== null) this.violation(call, "Authorization sent to an origin not allowed");
      if (call.dpop !== null) this.violation(call, "DPoP proof sent to an origin not allowed");
      return json(200, { ok: true, path: call.path });
    }
    return this.resource(req, call);
  }

  async tokenEndpoint(req, call) {
    const form = new URLSearchParams(call.body || "");
    call.grant = form.get("grant_type");
    if (call.grant === "refresh_token") {
      this.refreshCalls++;
      if (this.refreshGate) await this.refreshGate.promise;
    }
    if (call.auth !== null) this.violation(call, "Authorization header on the token endpoint");
    let proof;
    try {
      proof = await this.verify(req, call, null);
    } catch (e) {
      if (!(e instanceof Refusal)) throw e;
      call.error = e.message;
      if (e.nonce) return json(400, { error: "use_dpop_nonce", error_description: "Authorization server requires nonce in DPoP proof" }, { "dpop-nonce": this.nonceFor(call.origin) });
      this.violation(call, "refused proof: " + e.message);
      return json(400, { error: "invalid_dpop_proof", error_description: e.message });
    }
    const headers = this.rotateOn200.has(call.origin) ? { "dpop-nonce": this.newNonce(call.origin) } : this.nonces.has(call.origin) ? { "dpop-nonce": this.nonceFor(call.origin) } : {};
    if (call.grant === "authorization_code") {
      if (this.exchangeAnswer) return this.exchangeAnswer(call);
      if (form.get("code") !== "good") return json(400, { error: "invalid_grant" });
      const { access, refresh } = this.issue(proof.jkt);
      return json(200, { access_token: access, refresh_token: refresh, token_type: "DPoP", expires_in: this.expiresIn }, headers);
    }
    if (call.grant !== "refresh_token") return json(400, { error: "unsupported_grant_type" });
    if (this.refreshAnswer) return this.refreshAnswer(call);
    const spent = form.get("refresh_token");
    const known = this.refresh.get(spent);
    if (!known || this.revoked.has(known.family)) return json(400, { error: "invalid_grant", error_description: "unknown refresh token" });
    if (known.used) {
      // RFC 9700 §4.14.2: a rotated refresh token used again revokes its family.
      this.violation(call, "a rotated refresh token was used again");
      this.revoked.add(known.family);
      return json(400, { error: "invalid_grant", error_description: "refresh token reused" });
    }
    // RFC 9449 §5: a public client's refresh token is bound to its DPoP key.
    if (known.jkt !== proof.jkt) {
      this.violation(call, "refresh proof signed by another key than the refresh token's");
      return json(400, { error: "invalid_grant", error_description: "refresh token bound to another key" });
    }
    known.used = true;
    const { access, refresh } = this.issue(proof.jkt, known.family);
    return json(200, { access_token: access, refresh_token: refresh, token_type: this.tokenType, expires_in: this.expiresIn }, headers);
  }

  async resource(req, call) {
    const origin = call.origin;
    if (call.auth === null && call.dpop === null) return challenge("invalid_token", "no token");
    const m = /^DPoP (\S+)$/.exec(call.auth || "");
    if (!m) {
      this.violation(call, "Authorization is " + JSON.stringify(call.auth && call.auth.split(" ")[0]) + ", not DPoP <token>");
      return challenge("invalid_token", "not a DPoP token");
    }
    const token = m[1];
    let proof;
    try {
      proof = await this.verify(req, call, token);
    } catch (e) {
      if (!(e instanceof Refusal)) throw e;
      call.error = e.message;
      if (e.nonce) return challenge("use_dpop_nonce", "Resource server requires nonce in DPoP proof", { "dpop-nonce": this.nonceFor(origin) });
      this.violation(call, "refused proof: " + e.message);
      return challenge("invalid_dpop_proof", e.message);
    }
    const known = this.access.get(token);
    if (!known || known.expired || this.revoked.has(known.family)) return challenge("invalid_token", "expired or unknown token");
    // RFC 9449 §7: the token's cnf.jkt must be the proof key's thumbprint.
    if (known.jkt !== proof.jkt) {
      call.error = "key binding";
      this.violation(call, "proof key is not the one the token is bound to");
      return challenge("invalid_token", "Invalid DPoP key binding");
    }
    if (this.apiAnswer) {
      const r = await this.apiAnswer(call);
      if (r) return r;
    }
    const headers = {};
    if (this.rotateOn200.has(origin)) headers["dpop-nonce"] = this.newNonce(origin);
    return json(200, { ok: true, path: call.path, method: call.method, body: call.body }, headers);
  }
}

// The DPoP end-to-end world (issue 32), three origins on 127.0.0.1:
// - the authorization server: the real oidc-provider (DPoP with nonces required, rotating
//   refresh tokens whose reuse revokes the grant, a public PKCE client), plus a blank page and
//   /pkg/ on the same origin, so the token endpoint is the page's same-origin refreshUrl;
// - a resource server on its own origin that checks every DPoP request itself (proof, nonce it
//   issued, ath, token binding) and records each request and each violation;
// - an origin the page does not allow, which must never see the token or a proof.
// Prints one line `DPOP-SERVER {json}` with the URLs once all listen. Control, from node only, on
// the resource origin: GET /control/log; POST /control/reset (the log), rotate (drops every
// nonce issued), expire (every access token issued so far counts as expired), revoke (every
// grant), refuse-next (the next good proof is answered invalid_dpop_proof), ttl?s=N (the access
// token TTL from now on). Options: --access-ttl N (seconds, default 600); --break NAME, a
// deliberate fault to see the checks fail: "no-nonce" (never asks for a nonce) or "ath" (expects
// a wrong ath).
import { createHash, randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import { dirname, extname, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { calculateJwkThumbprint, EmbeddedJWK, jwtVerify } from "jose";
import Provider from "oidc-provider";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const arg = (name, fallback) => { const i = process.argv.indexOf(name); return i === -1 ? fallback : process.argv[i + 1]; };
const state = { accessTtl: Number(arg("--access-ttl", "600")) };
const broken = arg("--break", "");
const CLIENT_ID = "seamless-spa";

const listen = (server) => new Promise((done) => server.listen(0, "127.0.0.1", () => done(server.address().port)));
const authHttp = createServer();
const rsHttp = createServer();
const issuer = `http://127.0.0.1:${await listen(authHttp)}`;
const rsOrigin = `http://127.0.0.1:${await listen(rsHttp)}`;
// A third origin, not in the page's allowedOrigins: whatever reaches it must carry neither the
// token nor a proof.
const otherHttp = createServer();
const otherOrigin = `http://127.0.0.1:${await listen(otherHttp)}`;
const redirectUri = issuer + "/callback";

// What both servers saw. Tokens never enter it: a token shows up as the first 10 characters of
// its SHA-256 (enough to tell tokens apart).
let log;
const reset = () => { log = { token: [], requests: [], other: [], violations: [], preflights: 0 }; };
reset();
const fingerprint = (token) => createHash("sha256").update(token).digest("hex").slice(0, 10);
const b64sha256 = (value) => createHash("sha256").update(value).digest("base64url");

// ---------------------------------------------------------------- authorization server

const provider = new Provider(issuer, {
  clients: [{
    client_id: CLIENT_ID,
    token_endpoint_auth_method: "none",
    dpop_bound_access_tokens: true,
    grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"],
    redirect_uris: [redirectUri],
  }],
  features: {
    devInteractions: { enabled: false },
    dPoP: { enabled: true, nonceSecret: randomBytes(32), requireNonce: () => true },
  },
  // PKCE is required for a public client by default; said here so a change of default shows.
  pkce: { required: () => true },
  // The default keeps a sender-constrained (DPoP-bound) refresh token; this test wants every
  // refresh to rotate, so that a refresh token spent twice is caught (the grant is revoked).
  rotateRefreshToken: () => true,
  // The default issues one only with offline_access (which needs prompt=consent).
  issueRefreshToken: (ctx, client) => client.grantTypeAllowed("refresh_token"),
  ttl: { AccessToken: () => state.accessTtl, RefreshToken: () => 3600, Session: () => 3600, Grant: () => 3600, Interaction: () => 600, AuthorizationCode: () => 60, IdToken: () => 600 },
  findAccount: (ctx, accountId) => ({ accountId, claims: () => ({ sub: accountId }) }),
  cookies: { keys: [randomBytes(32).toString("hex")] },
});
provider.on("server_error", (ctx, e) => console.error("oidc-provider server_error", e));
// POST /control/expire: every access token issued so far counts as expired at the resource
// server (as if its TTL ran out), without waiting.
const issuedTokens = new Set();
const expiredTokens = new Set();
// The provider keeps why it refused a grant out of its answer: kept for the log.
provider.on("grant.error", (ctx, err) => { ctx.state.detail = err.error_detail; });
// POST /control/revoke: every grant is revoked (its tokens with it), as after a refresh token
// reuse or an admin's revocation.
const grants = new Set();
provider.on("grant.saved", (grant) => grants.add(grant.jti));
for (const e of ["access_token.saved", "access_token.issued"]) provider.on(e, (at) => issuedTokens.add(at.jti));

// Every token endpoint call, after the provider answered: what the library sent and what it got.
provider.use(async (ctx, next) => {
  await next();
  if (ctx.path !== "/token") return;
  const proof = ctx.get("dpop");
  const claims = proof ? decodePayload(proof) : null;
  const body = typeof ctx.body === "object" && ctx.body !== null ? ctx.body : {};
  const entry = {
    grant: ctx.oidc?.params?.grant_type ?? null,
    status: ctx.status,
    error: body.error ?? null,
    description: body.error_description ?? null,
    detail: ctx.state.detail ?? null,
    tokenType: body.token_type ?? null,
    proof: !!proof,
    nonce: !!claims?.nonce,
    ath: claims ? "ath" in claims : false,
    authorization: ctx.get("authorization") !== "",
  };
  log.token.push(entry);
  const where = `token endpoint (${entry.grant})`;
  if (!entry.proof) violation(where, "no DPoP proof");
  if (entry.ath) violation(where, "the proof carries ath");
  if (entry.authorization) violation(where, "an Authorization header was sent");
  if (entry.error === "invalid_dpop_proof") violation(where, "invalid_dpop_proof: " + entry.description);
  if (entry.detail === "failed jkt verification") violation(where, "the refresh proof's key is not the key the refresh token is bound to");
  if (entry.detail === "refresh token already used") violation(where, "a rotated refresh token was spent again (the grant is now revoked)");
});

function decodePayload(jwt) {
  try { return JSON.parse(Buffer.from(jwt.split(".")[1], "base64url").toString()); } catch { return null; }
}

function violation(where, what) {
  log.violations.push(`${where}: ${what}`);
}

const types = { ".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm", ".json": "application/json", ".map": "application/json", ".ts": "text/plain" };
const blankPage = '<!doctype html><meta charset="utf-8"><title>seamless-fetch dpop</title>\n';
const providerCallback = provider.callback();

authHttp.on("request", async (req, res) => {
  const url = new URL(req.url, issuer);
  try {
    if (url.pathname === "/" || url.pathname === "/callback") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
      return res.end(blankPage);
    }
    if (url.pathname.startsWith("/pkg/")) {
      const file = resolve(root, "." + decodeURIComponent(url.pathname));
      if (!file.startsWith(resolve(root, "pkg") + sep)) { res.writeHead(404); return res.end(); }
      const data = await readFile(file).catch(() => null);
      if (!data) { res.writeHead(404); return res.end(); }
      res.writeHead(200, { "content-type": types[extname(file)] || "application/octet-stream", "cache-control": "no-store" });
      return res.end(data);
    }
    if (url.pathname.startsWith("/interaction/")) return await autoInteraction(req, res);
    return providerCallback(req, res);
  } catch (e) {
    console.error("auth server:", e);
    res.writeHead(500);
    res.end();
  }
});

// The user "alice" signs in and consents at once: no UI, the browser just follows redirects.
async function autoInteraction(req, res) {
  const details = await provider.interactionDetails(req, res);
  const { prompt, params, session } = details;
  if (prompt.name === "login") {
    return provider.interactionFinished(req, res, { login: { accountId: "alice" } }, { mergeWithLastSubmission: false });
  }
  const grant = details.grantId ? await provider.Grant.find(details.grantId) : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(" "));
  if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(prompt.details.missingResourceScopes || {})) grant.addResourceScope(indicator, scopes.join(" "));
  const grantId = await grant.save();
  return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
}

// ---------------------------------------------------------------- resource server

// Its own nonces: a new one every ROTATE_EVERY answered requests (sent on that answer); the
// current and the previous one are accepted, older ones are stale (challenged again), and one
// it never issued is a violation.
const ROTATE_EVERY = 7;
const nonces = { current: null, previous: null, issued: new Set(), served: 0 };
function rotate(dropAll = false) {
  nonces.previous = dropAll ? null : nonces.current;
  nonces.current = randomBytes(16).toString("base64url");
  nonces.issued.add(nonces.current);
}
rotate();
const seenJti = new Set();
const IAT_WINDOW = 30;

const cors = {
  "access-control-allow-origin": issuer,
  "access-control-expose-headers": "DPoP-Nonce, WWW-Authenticate",
  vary: "Origin",
};

rsHttp.on("request", async (req, res) => {
  const url = new URL(req.url, rsOrigin);
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const body = Buffer.concat(chunks).toString();
  try {
    if (url.pathname.startsWith("/control/")) return control(url, res);
    if (req.method === "OPTIONS") {
      log.preflights++;
      res.writeHead(204, { ...cors, "access-control-allow-methods": "GET, POST, PUT, PATCH, DELETE", "access-control-allow-headers": "Authorization, DPoP, Content-Type", "access-control-max-age": "0" });
      return res.end();
    }
    if (!url.pathname.startsWith("/api/")) { res.writeHead(404, cors); return res.end(); }
    await resource(req, res, url, body);
  } catch (e) {
    console.error("resource server:", e);
    res.writeHead(500, cors);
    res.end();
  }
});

async function resource(req, res, url, body) {
  const where = `${req.method} ${url.pathname}${url.search}`;
  const entry = { method: req.method, path: url.pathname + url.search, status: 0, outcome: "", token: null, jkt: null, nonce: "none" };
  log.requests.push(entry);
  const problems = [];
  const answer = (status, outcome, headers = {}, json = undefined) => {
    entry.status = status;
    entry.outcome = outcome;
    for (const p of problems) violation(where, p);
    res.writeHead(status, { ...cors, "content-type": "application/json", ...headers });
    res.end(json === undefined ? JSON.stringify({ outcome }) : JSON.stringify(json));
  };
  const challenge = (error, description) => answer(401, error, {
    "www-authenticate": `DPoP error="${error}", error_description="${description}", algs="ES256"`,
    "dpop-nonce": nonces.current,
  });

  const auth = req.headers.authorization;
  const proof = req.headers.dpop;
  const m = /^DPoP ([A-Za-z0-9\-._~+/]+=*)$/.exec(auth || "");
  if (!m) {
    problems.push(auth ? `Authorization is not "DPoP <token>" (scheme ${JSON.stringify(auth.split(" ")[0])})` : "no Authorization header");
    return challenge("invalid_token", "DPoP token required");
  }
  const token = m[1];
  entry.token = fingerprint(token);
  if (typeof proof !== "string" || proof.includes(",")) {
    problems.push(proof ? "more than one DPoP header" : "no DPoP header");
    return challenge("invalid_dpop_proof", "one DPoP proof required");
  }

  let payload, protectedHeader;
  try {
    ({ payload, protectedHeader } = await jwtVerify(proof, EmbeddedJWK, { typ: "dpop+jwt", algorithms: ["ES256"] }));
  } catch (e) {
    problems.push("proof does not verify: " + e.code);
    return challenge("invalid_dpop_proof", "bad proof");
  }
  const jwk = protectedHeader.jwk;
  if (jwk.kty !== "EC" || jwk.crv !== "P-256" || "d" in jwk) problems.push("proof jwk is not a public P-256 key");
  if (typeof payload.jti !== "string" || payload.jti.length < 8) problems.push("jti missing or short");
  else if (seenJti.has(payload.jti)) problems.push("jti used before (a proof replayed)");
  else seenJti.add(payload.jti);
  if (payload.htm !== req.method) problems.push(`htm ${JSON.stringify(payload.htm)} for a ${req.method}`);
  const htu = rsOrigin + url.pathname;
  if (payload.htu !== htu) problems.push(`htu ${JSON.stringify(payload.htu)}, expected ${JSON.stringify(htu)}`);
  const now = Math.floor(Date.now() / 1000);
  if (typeof payload.iat !== "number" || Math.abs(now - payload.iat) > IAT_WINDOW) problems.push(`iat ${payload.iat} is ${now - payload.iat} s from now`);
  const ath = broken === "ath" ? b64sha256(token + "x") : b64sha256(token);
  if (payload.ath !== ath) problems.push(payload.ath === undefined ? "no ath" : "ath is not the token's hash");
  if (problems.length) return challenge("invalid_dpop_proof", "proof checks failed");
  if (state.refuseNext) {
    state.refuseNext = false;
    return challenge("invalid_dpop_proof", "refused on request by the test");
  }

  // The nonce: this server's own.
  if (broken !== "no-nonce") {
    if (payload.nonce === undefined) { entry.nonce = "none"; return challenge("use_dpop_nonce", "nonce required"); }
    if (payload.nonce === nonces.current) entry.nonce = "current";
    else if (payload.nonce === nonces.previous) entry.nonce = "previous";
    else if (nonces.issued.has(payload.nonce)) { entry.nonce = "stale"; return challenge("use_dpop_nonce", "stale nonce"); }
    else {
      entry.nonce = "foreign";
      problems.push("a nonce this server never issued");
      return challenge("use_dpop_nonce", "unknown nonce");
    }
  }

  // The token, read in-process from the provider; its key binding.
  const at = await provider.AccessToken.find(token, { ignoreExpiration: true });
  if (!at) return challenge("invalid_token", "unknown or revoked token");
  if (at.isExpired || expiredTokens.has(at.jti)) return challenge("invalid_token", "token expired");
  entry.jkt = at.jkt ?? null;
  const thumbprint = await calculateJwkThumbprint(jwk);
  if (!at.jkt) problems.push("the access token is not DPoP-bound");
  else if (at.jkt !== thumbprint) problems.push("the proof's key is not the key the token is bound to");
  if (problems.length) return challenge("invalid_token", "token binding failed");

  const headers = {};
  if (++nonces.served % ROTATE_EVERY === 0) rotate();
  if (payload.nonce !== nonces.current) headers["dpop-nonce"] = nonces.current;
  answer(200, "ok", headers, { ok: true, method: req.method, path: url.pathname + url.search, sub: at.accountId, received: req.method === "GET" ? null : body });
}

async function revokeAll(res) {
  for (const id of grants) await Promise.all([provider.AccessToken.revokeByGrantId(id), provider.RefreshToken.revokeByGrantId(id), provider.Grant.adapter.destroy(id)]);
  grants.clear();
  res.writeHead(200, { "content-type": "application/json" });
  res.end("{}");
}

otherHttp.on("request", (req, res) => {
  const asked = (req.headers["access-control-request-headers"] || "").toLowerCase().split(/\s*,\s*/);
  const seen = { method: req.method, path: req.url, authorization: "authorization" in req.headers || asked.includes("authorization"), dpop: "dpop" in req.headers || asked.includes("dpop") };
  log.other.push(seen);
  if (seen.authorization || seen.dpop) violation(`${req.method} ${otherOrigin}${req.url}`, "the token or a proof went to an origin not allowed");
  res.writeHead(200, { "access-control-allow-origin": issuer, "content-type": "application/json" });
  res.end(JSON.stringify({ ok: true }));
});

function control(url, res) {
  let out = { ok: true };
  if (url.pathname === "/control/log") out = log;
  else if (url.pathname === "/control/reset") reset();
  else if (url.pathname === "/control/rotate") rotate(true);
  else if (url.pathname === "/control/expire") for (const jti of issuedTokens) expiredTokens.add(jti);
  else if (url.pathname === "/control/revoke") return revokeAll(res);
  else if (url.pathname === "/control/refuse-next") state.refuseNext = true;
  else if (url.pathname === "/control/ttl") state.accessTtl = Number(url.searchParams.get("s"));
  else { res.writeHead(404); return res.end(); }
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify(out));
}

console.log("DPOP-SERVER " + JSON.stringify({ issuer, tokenEndpoint: issuer + provider.pathFor("token"), authorizationEndpoint: issuer + provider.pathFor("authorization"), redirectUri, resource: rsOrigin, other: otherOrigin, clientId: CLIENT_ID }));

// DPoP (RFC 9449, issue 32) end to end: the package in real Chromium against the real
// oidc-provider (nonces required, rotating refresh tokens, reuse revokes the grant) and a resource
// server on another origin that checks every proof itself (tests/e2e/dpop-server.mjs). Every
// scenario ends with the servers' violation lists empty. DPOP_BREAK=ath (or no-nonce) starts the
// resource server with a deliberate fault, to see the checks fail.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { calculateJwkThumbprint, decodeProtectedHeader } from "jose";
import { launch, sleep } from "./helpers.mjs";

const here = dirname(fileURLToPath(import.meta.url));
if (!existsSync(resolve(here, "../../pkg/dpop.js"))) throw new Error("the package is missing: run scripts/build.sh");

/** Starts dpop-server.mjs; resolves to its URLs plus control calls and stop(). */
function startDpopServer(args = []) {
  const child = spawn(process.execPath, [resolve(here, "dpop-server.mjs"), ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let err = "";
  child.stderr.on("data", (d) => { err += d; });
  return new Promise((ready, reject) => {
    let out = "";
    child.on("exit", (code) => reject(new Error("dpop server exited with " + code + ": " + err)));
    child.stdout.on("data", (d) => {
      out += d;
      const m = /DPOP-SERVER (\{.*\})\n/.exec(out);
      if (!m) return;
      const urls = JSON.parse(m[1]);
      const control = async (path, method = "POST") => (await fetch(urls.resource + "/control/" + path, { method })).json();
      ready({
        ...urls,
        log: () => control("log", "GET"),
        reset: () => control("reset"),
        rotate: () => control("rotate"),
        ttl: (s) => control("ttl?s=" + s),
        expire: () => control("expire"),
        revoke: () => control("revoke"),
        refuseNext: () => control("refuse-next"),
        stderr: () => err,
        stop: () => new Promise((r) => { child.removeAllListeners("exit"); child.on("exit", r); child.kill("SIGTERM"); }),
      });
    });
  });
}

const world = {};
before(async () => {
  world.server = await startDpopServer(process.env.DPOP_BREAK ? ["--break", process.env.DPOP_BREAK] : []);
  world.browser = await launch();
});
after(async () => {
  await world.browser?.close();
  await world.server?.stop();
});

/** A page of `context` on the provider's origin with `window.make()` (a DPoP AuthFetch). */
async function open(context, path = "/") {
  const page = await context.newPage();
  page.seen = [];
  page.on("console", (m) => page.seen.push(m.text()));
  page.on("pageerror", (e) => page.seen.push("pageerror: " + e));
  await page.goto(world.server.issuer + path);
  await setUp(page);
  return page;
}

/** Loads the package into the page's current document and defines `window.make`. */
async function setUp(page) {
  const { tokenEndpoint, clientId, resource } = world.server;
  await page.evaluate(async ({ tokenEndpoint, clientId, resource }) => {
    const { AuthFetch } = await import("/pkg/dpop.js");
    window.logouts = [];
    window.navigated = [];
    window.make = (extra = {}) => new AuthFetch({
      refreshUrl: tokenEndpoint, refreshFormat: "oauth2", clientId, allowedOrigins: [resource], dpop: true,
      navigate: (u) => window.navigated.push(u), onLogout: (i) => window.logouts.push(i.reason), ...extra,
    });
    window.api = window.make();
  }, { tokenEndpoint, clientId, resource });
}

/**
 * Logs alice in on `page` by PKCE: the browser follows the authorization redirects (the server
 * signs in and consents at once), then the page exchanges the code through `api.fetch` to the
 * token endpoint and stores the tokens with `api.setTokens`. Resolves to what the exchange answered
 * (never the tokens).
 */
async function login(page) {
  const { authorizationEndpoint, clientId, redirectUri, tokenEndpoint } = world.server;
  const verifier = randomBytes(32).toString("base64url");
  const state = randomBytes(8).toString("hex");
  const query = new URLSearchParams({
    client_id: clientId, response_type: "code", redirect_uri: redirectUri, scope: "openid", state,
    code_challenge: createHash("sha256").update(verifier).digest("base64url"), code_challenge_method: "S256",
  });
  await page.goto(authorizationEndpoint + "?" + query);
  const back = new URL(page.url());
  assert.equal(back.origin + back.pathname, redirectUri, "the authorization ends at the redirect_uri");
  assert.equal(back.searchParams.get("state"), state);
  const code = back.searchParams.get("code");
  assert.ok(code, "an authorization code: " + back.searchParams.get("error"));
  await setUp(page);
  return page.evaluate(async ({ tokenEndpoint, form }) => {
    const r = await window.api.fetch(tokenEndpoint, { method: "POST", body: new URLSearchParams(form) });
    const t = await r.json();
    if (r.ok) window.api.setTokens({ accessToken: t.access_token, refreshToken: t.refresh_token });
    return { status: r.status, tokenType: t.token_type, refreshToken: typeof t.refresh_token === "string", error: t.error ?? null };
  }, { tokenEndpoint, form: { grant_type: "authorization_code", code, redirect_uri: redirectUri, client_id: clientId, code_verifier: verifier } });
}

/** `n` requests at once from the page to the resource server; even ones POST a body. */
const storm = (page, n, tag) => page.evaluate(async ({ resource, n, tag }) => Promise.all(Array.from({ length: n }, (_, i) => {
  const req = i % 2
    ? window.api.fetch(`${resource}/api/items?id=${tag}-${i}#frag`)
    : window.api.fetch(`${resource}/api/echo?i=${i}`, { method: "POST", headers: { "content-type": "text/plain" }, body: `${tag} body ${i}` });
  return req.then(async (r) => [r.status, (await r.json()).received ?? null], (e) => [e.code || e.name, null]);
})), { resource: world.server.resource, n, tag });

const expectedStorm = (n, tag) => Array.from({ length: n }, (_, i) => [200, i % 2 ? null : `${tag} body ${i}`]);

/** One GET to the resource server from the page: its status. */
const get = (page, path = "/api/me") => page.evaluate(async (url) => window.api.fetch(url).then((r) => r.status, (e) => e.code || e.name), world.server.resource + path);

const stats = (page) => page.evaluate(() => window.api.stats());

/** The servers' log, after checking that neither saw a violation. */
async function clean(what) {
  const log = await world.server.log();
  assert.deepEqual(log.violations, [], what + ": no violation at either server");
  return log;
}

const refreshCalls = (log) => log.token.filter((t) => t.grant === "refresh_token" && t.error !== "use_dpop_nonce");

/** A fresh server state and browser context, a page logged in that has made one resource request. */
async function signedIn() {
  await world.server.reset();
  const context = await world.browser.newContext();
  const page = await open(context);
  assert.equal((await login(page)).status, 200);
  assert.equal(await get(page), 200);
  return { context, page };
}

/** Logs in with an access token that lives 3 s (later ones live 600 s) and waits it out. */
async function loginExpiring(page) {
  await world.server.ttl(3);
  const exchange = await login(page);
  await world.server.ttl(600);
  assert.equal(exchange.status, 200);
  await sleep(4000);
}

/**
 * How many records the library's IndexedDB store holds (0 when there is no database: the probe
 * aborts the creation it would otherwise cause, which would leave the library a store-less one).
 */
const keyRecords = (page) => page.evaluate(() => new Promise((done, fail) => {
  const open = indexedDB.open("seamless-fetch");
  open.onupgradeneeded = () => open.transaction.abort();
  open.onerror = () => done(0);
  open.onsuccess = () => {
    const db = open.result;
    if (!db.objectStoreNames.contains("dpop-keys")) { db.close(); return done(0); }
    const count = db.transaction("dpop-keys").objectStore("dpop-keys").count();
    count.onsuccess = () => { db.close(); done(count.result); };
    count.onerror = () => { db.close(); fail(count.error); };
  };
}));

/** No token (access or refresh, as stored) in any console line or page error of `pages`. */
async function noTokenShown(pages) {
  const stored = await pages[0].evaluate(() => [localStorage.getItem("token"), localStorage.getItem("refreshToken")].filter(Boolean));
  assert.ok(stored.length > 0);
  for (const p of pages) for (const line of p.seen) for (const t of stored) assert.ok(!line.includes(t), "a token in the console: " + line.slice(0, 80));
}

test("login by PKCE through api.fetch to the token endpoint, then a resource request: nonce challenges answered, zero violations", async () => {
  await world.server.reset();
  const context = await world.browser.newContext();
  const page = await open(context);
  const exchange = await login(page);
  assert.deepEqual(exchange, { status: 200, tokenType: "DPoP", refreshToken: true, error: null });
  // The provider asks for its nonce first; the library retries once, at once, with it.
  let log = await clean("code exchange");
  assert.deepEqual(log.token.map((t) => [t.grant, t.status, t.error, t.nonce]), [
    ["authorization_code", 400, "use_dpop_nonce", false],
    ["authorization_code", 200, null, true],
  ]);
  assert.equal(await get(page), 200);
  log = await clean("first resource request");
  // The resource server's own nonce: challenged once (the page had none for that origin), then accepted.
  assert.deepEqual(log.requests.map((r) => [r.status, r.outcome, r.nonce]), [[401, "use_dpop_nonce", "none"], [200, "ok", "current"]]);
  assert.ok(log.requests[1].jkt, "the token is DPoP-bound");
  assert.equal((await stats(page)).refreshes, 0, "a nonce challenge is not an expired token");
  // An origin not allowed gets the request untouched: no token, no proof.
  const other = await page.evaluate((url) => window.api.fetch(url).then((r) => r.status, (e) => e.code || e.name), world.server.other + "/plain");
  assert.equal(other, 200);
  log = await clean("a request to an origin not allowed");
  assert.deepEqual(log.other, [{ method: "GET", path: "/plain", authorization: false, dpop: false }]);
  await noTokenShown([page]);
  await context.close();
});

test("the resource server's nonces: one taken from a 200 answer is used next; a stale one is challenged and retried without a refresh", async () => {
  const { context, page } = await signedIn();
  await clean("login");
  await world.server.reset();
  // 20 in a row: the server rotates every 7 and sends the new nonce on that 200.
  for (let i = 0; i < 20; i++) assert.equal(await get(page, `/api/seq?i=${i}`), 200);
  let log = await clean("sequence");
  assert.deepEqual(log.requests.filter((r) => r.status !== 200), [], "no challenge: each rotated nonce was taken from a 200");
  // Every nonce it held is dropped at once: one challenge, one retry, no refresh.
  await world.server.reset();
  await world.server.rotate();
  assert.equal(await get(page), 200);
  log = await clean("stale nonce");
  assert.deepEqual(log.requests.map((r) => [r.status, r.outcome, r.nonce]), [[401, "use_dpop_nonce", "stale"], [200, "ok", "current"]]);
  assert.equal(refreshCalls(log).length, 0);
  assert.equal((await stats(page)).refreshes, 0);
  await context.close();
});

test("a resource refusing the proof (invalid_dpop_proof): DPOP_REFUSED with the server's description, no retry, no refresh", async () => {
  const { context, page } = await signedIn();
  await world.server.reset();
  await world.server.refuseNext();
  const outcome = await page.evaluate(async (url) => window.api.fetch(url).then((r) => ({ status: r.status }), (e) => ({ name: e.name, code: e.code, message: String(e.message), token: String(e.message).includes(localStorage.getItem("token")) })), world.server.resource + "/api/me");
  assert.equal(outcome.code, "DPOP_REFUSED", JSON.stringify(outcome));
  assert.match(outcome.message, /refused on request by the test/);
  assert.equal(outcome.token, false);
  const log = await clean("invalid_dpop_proof");
  assert.deepEqual(log.requests.map((r) => [r.status, r.outcome]), [[401, "invalid_dpop_proof"]], "no retry");
  assert.deepEqual(log.token, [], "no refresh");
  assert.equal(await get(page), 200, "the session goes on");
  await context.close();
});

test("a storm after expiry: 20 requests at once (half POST with bodies), one refresh at the provider, all succeed, bodies intact", async () => {
  const context = await world.browser.newContext();
  const page = await open(context);
  await world.server.reset();
  await loginExpiring(page);
  const answers = await storm(page, 20, "storm");
  assert.deepEqual(answers, expectedStorm(20, "storm"));
  const log = await clean("storm");
  const refreshes = refreshCalls(log);
  assert.deepEqual(refreshes.map((t) => [t.status, t.error, t.tokenType]), [[200, null, "DPoP"]], "exactly one refresh reached the provider");
  assert.equal((await stats(page)).refreshes, 1);
  const expired = log.requests.filter((r) => r.outcome === "invalid_token");
  assert.ok(expired.length >= 1, "the storm met the expired token");
  const keys = new Set(log.requests.filter((r) => r.status === 200).map((r) => r.jkt));
  assert.equal(keys.size, 1, "every success proved the one key");
  await noTokenShown([page]);
  await context.close();
});

test("two tabs: one key made once for both, one session; an expiry under both tabs' storms costs one refresh", async () => {
  await world.server.reset();
  const context = await world.browser.newContext();
  const [a, b] = [await open(context), await open(context)];
  // No key yet: both tabs ask for a proof at once and must end up with one key.
  const url = world.server.resource + "/api/x";
  const proofs = await Promise.all([a, b].map((p) => p.evaluate((url) => window.api.dpopProof({ method: "GET", url }), url)));
  const [ta, tb] = await Promise.all(proofs.map((p) => calculateJwkThumbprint(decodeProtectedHeader(p).jwk)));
  assert.equal(ta, tb, "one key for both tabs");
  await world.server.reset();
  assert.equal((await login(a)).status, 200);
  await b.evaluate(() => { window.api = window.make(); });
  assert.deepEqual([await get(a), await get(b)], [200, 200]);
  let log = await clean("both tabs");
  assert.deepEqual([...new Set(log.requests.filter((r) => r.status === 200).map((r) => r.jkt))], [ta], "both tabs prove the one key the token is bound to");
  assert.equal(new Set(log.requests.map((r) => r.token)).size, 1, "one session");
  assert.equal(await keyRecords(b), 1, "one key record in IndexedDB");
  await world.server.expire();
  await world.server.reset();
  const [sa, sb] = await Promise.all([storm(a, 10, "a"), storm(b, 10, "b")]);
  assert.deepEqual([sa, sb], [expectedStorm(10, "a"), expectedStorm(10, "b")]);
  log = await clean("two-tab storm");
  assert.deepEqual(refreshCalls(log).map((t) => t.status), [200], "one refresh between the two tabs");
  assert.deepEqual([...new Set(log.requests.filter((r) => r.status === 200).map((r) => r.jkt))], [ta]);
  await noTokenShown([a, b]);
  await context.close();
});

test("a reload keeps the session and the key: a new AuthFetch after reload works without a new login or refresh", async () => {
  const { context, page } = await signedIn();
  const before = await clean("before the reload");
  const jkt = before.requests.at(-1).jkt;
  await world.server.reset();
  await page.reload();
  await setUp(page);
  assert.deepEqual([await get(page), await get(page, "/api/again")], [200, 200]);
  const log = await clean("after the reload");
  assert.deepEqual(log.token, [], "no login, no refresh");
  assert.deepEqual([...new Set(log.requests.filter((r) => r.status === 200).map((r) => r.jkt))], [jkt], "the same key after the reload");
  assert.deepEqual(await page.evaluate(() => window.logouts), []);
  // The reloaded page's first refresh (it may hold no provider nonce yet: a challenge, answered).
  await world.server.expire();
  await world.server.reset();
  assert.equal(await get(page), 200);
  const renewed = await clean("a refresh after the reload");
  assert.deepEqual(refreshCalls(renewed).map((t) => t.status), [200], "one refresh");
  assert.ok(renewed.token.length <= 2, "at most one nonce challenge before it");
  assert.deepEqual([...new Set(renewed.requests.filter((r) => r.status === 200).map((r) => r.jkt))], [jkt], "the refreshed token is bound to the same key");
  await context.close();
});

test("a revoked grant: the refresh is refused, SESSION_EXPIRED, the tokens and the key record are removed", async () => {
  const { context, page } = await signedIn();
  assert.equal(await keyRecords(page), 1);
  await world.server.revoke();
  await world.server.reset();
  const outcome = await page.evaluate(async (url) => {
    const errors = await Promise.all([1, 2, 3].map(() => window.api.fetch(url).then((r) => r.status, (e) => [e.name, e.code])));
    return { errors, token: localStorage.getItem("token"), refreshToken: localStorage.getItem("refreshToken"), logouts: window.logouts, navigated: window.navigated.length };
  }, world.server.resource + "/api/me");
  assert.deepEqual(outcome, { errors: [1, 2, 3].map(() => ["AuthError", "SESSION_EXPIRED"]), token: null, refreshToken: null, logouts: ["SESSION_EXPIRED"], navigated: 1 });
  const log = await clean("revoked grant");
  assert.deepEqual(refreshCalls(log).map((t) => [t.status, t.error]), [[400, "invalid_grant"]], "one refresh call, refused");
  assert.equal(await keyRecords(page), 0, "the session's key record is deleted");
  await context.close();
});

test("the key lost (IndexedDB cleared, tokens kept): DPOP_KEY_LOST once, logged out, no refresh spent, nothing sent", async () => {
  const { context, page } = await signedIn();
  await page.evaluate(() => new Promise((done, fail) => {
    const del = indexedDB.deleteDatabase("seamless-fetch");
    del.onsuccess = done;
    del.onerror = () => fail(del.error);
    del.onblocked = () => fail(new Error("deleteDatabase blocked: a connection was left open"));
  }));
  await page.reload();
  await setUp(page);
  await world.server.reset();
  const outcome = await page.evaluate(async (url) => {
    const errors = await Promise.all([1, 2].map(() => window.api.fetch(url).then((r) => r.status, (e) => [e.name, e.code])));
    return { errors, token: localStorage.getItem("token"), logouts: window.logouts, navigated: window.navigated.length, refreshes: window.api.stats().refreshes };
  }, world.server.resource + "/api/me");
  assert.deepEqual(outcome, { errors: [["AuthError", "DPOP_KEY_LOST"], ["AuthError", "DPOP_KEY_LOST"]], token: null, logouts: ["DPOP_KEY_LOST"], navigated: 1, refreshes: 0 });
  const log = await clean("key lost");
  assert.deepEqual(log.token, [], "no refresh call");
  assert.deepEqual(log.requests, [], "no request reached the resource server");
  await context.close();
});

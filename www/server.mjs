// The demo backend: a small but honest auth server on 127.0.0.1. Access tokens are real HS256 JWTs
// (signed by `jose`) that live a few seconds; refresh tokens are opaque, single-use and rotated on
// every refresh, and reusing one revokes its whole family, as real auth servers do (RFC 9700
// §4.14.2). It also serves the demo page and the built package from ../pkg.
//
// Two ways to hold the refresh token: in the JSON answer (the app stores it), or, for a login with
// `"mode": "cookie"`, in an HttpOnly cookie the page's JavaScript never sees (the "backend for
// frontend" pattern): `SameSite=Strict`, `Path` limited to the refresh route, `Secure` over https,
// and a CSRF double-submit check (the readable `csrf` cookie must come back as `x-csrf-token`).
// The live feed (WebSocket at /live) takes the access token in its first message and closes the
// connection with code 4001 when that token expires.
//
//   node www/server.mjs [--port 8080] [--access-ttl 8] [--latency 150] [--chaos 0] [--serve /prefix/=dir]
//   (or PORT, ACCESS_TTL, LATENCY, CHAOS in the environment; --port 0 picks a free port)
//
// --chaos P (0 to 1) disrupts that share of refresh calls, each time one of: a 500, a 429 with
// `Retry-After: 1`, a dropped connection, or an answer 1-3 s late. Disruptions happen before the
// refresh token is spent, so a client that retries is not taken for a thief (scripts/soak.sh).

import { createServer } from "node:http";
import { readFile, stat } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { extname, join, normalize, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { SignJWT, jwtVerify } from "jose";
import { WebSocketServer } from "ws";

const here = dirname(fileURLToPath(import.meta.url));
const arg = (name, env, fallback) => {
  const i = process.argv.indexOf("--" + name);
  const raw = i > 0 ? process.argv[i + 1] : process.env[env];
  const n = raw === undefined ? fallback : Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a number, got ${raw}`);
  return n;
};
const config = {
  port: arg("port", "PORT", 8080),
  accessTtl: arg("access-ttl", "ACCESS_TTL", 8),
  latency: arg("latency", "LATENCY", 150),
  chaos: arg("chaos", "CHAOS", 0),
};
const USER = { username: "demo", password: "demo" };
const MAX_BODY = 64 * 1024;
const secret = randomBytes(32);

// Server state. Refresh tokens: id -> { family, user, used }. Families: id -> { revoked }.
const refreshTokens = new Map();
const families = new Map();
let expiredBefore = 0; // access tokens issued at or before this instant (ms) are refused: POST /demo/expire
const freshLog = () => ({ logins: 0, refreshes: 0, refused: 0, reuse: 0, revoked: 0, api: 0, expired: 0, echoes: [], csrf: 0, refreshBodies: [], refreshCalls: 0, live: { connections: 0, expiredCloses: 0, refused: 0 }, chaos: { 500: 0, 429: 0, drop: 0, slow: 0 } });
const log = freshLog();

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const newId = () => randomBytes(24).toString("base64url");

async function issue(user, family) {
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({ fam: family, iatMs: Date.now() })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(user).setIssuedAt(now).setExpirationTime(now + config.accessTtl).setJti(newId())
    .sign(secret);
  const refreshToken = newId();
  refreshTokens.set(refreshToken, { family, user, used: false });
  return { token, refreshToken, expiresIn: config.accessTtl };
}

/** The verified claims of the request's bearer token, or null (missing, bad, expired, revoked). */
async function authenticate(req) {
  const m = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(req.headers.authorization || "");
  return m ? verify(m[1]) : null;
}

/** The claims of a valid access token, or null. */
async function verify(token) {
  try {
    const { payload } = await jwtVerify(token, secret, { algorithms: ["HS256"] });
    if (payload.iatMs <= expiredBefore) return null;
    return families.get(payload.fam)?.revoked ? null : payload;
  } catch {
    return null;
  }
}

const secure = (req) => (req.headers["x-forwarded-proto"] || (req.socket.encrypted ? "https" : "http")) === "https";
/** The HttpOnly refresh cookie, sent back only to the refresh route. */
const refreshCookie = (req, value, maxAge = 30 * 24 * 3600) =>
  `rt=${value}; HttpOnly; SameSite=Strict; Path=/auth/refresh; Max-Age=${maxAge}` + (secure(req) ? "; Secure" : "");
/** The CSRF double-submit cookie: readable by the page, which repeats it in x-csrf-token. */
const csrfCookie = (req) => `csrf=${newId()}; SameSite=Strict; Path=/` + (secure(req) ? "; Secure" : "");

function readCookies(req) {
  const out = {};
  for (const part of (req.headers.cookie || "").split(";")) {
    const at = part.indexOf("=");
    if (at > 0) out[part.slice(0, at).trim()] = part.slice(at + 1).trim();
  }
  return out;
}

function send(res, status, body, headers = {}) {
  const text = body === undefined ? "" : JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store", ...headers });
  res.end(text);
}
const fail = (res, status, error, message, headers) => send(res, status, { error, message }, headers);

async function readJson(req) {
  const text = await readText(req);
  if (!text) return {};
  try {
    const v = JSON.parse(text);
    if (v === null || typeof v !== "object" || Array.isArray(v)) throw new Error();
    return v;
  } catch {
    throw Object.assign(new Error("the body must be a JSON object"), { status: 400 });
  }
}

async function readText(req) {
  const chunks = [];
  let size = 0;
  for await (const c of req) {
    size += c.length;
    if (size > MAX_BODY) throw Object.assign(new Error("body too large"), { status: 413 });
    chunks.push(c);
  }
  return Buffer.concat(chunks).toString("utf8");
}

const routes = {
  "POST /auth/login": async (req, res) => {
    const { username, password, mode } = await readJson(req);
    if (typeof username !== "string" || typeof password !== "string") return fail(res, 400, "invalid_request", "username and password must be strings");
    if (username !== USER.username || password !== USER.password) return fail(res, 401, "invalid_credentials", "wrong username or password");
    const family = newId();
    families.set(family, { revoked: false });
    log.logins++;
    const tokens = await issue(username, family);
    if (mode !== "cookie") return send(res, 200, tokens);
    send(res, 200, { token: tokens.token, expiresIn: tokens.expiresIn }, { "set-cookie": [refreshCookie(req, tokens.refreshToken), csrfCookie(req)] });
  },

  "POST /auth/refresh": async (req, res) => {
    const body = await readJson(req);
    log.refreshBodies.push(Object.keys(body).sort().join(","));
    log.refreshCalls++;
    await sleep(config.latency);
    if (Math.random() < config.chaos) {
      const kind = ["500", "429", "drop", "slow"][Math.floor(Math.random() * 4)];
      log.chaos[kind]++;
      if (kind === "500") return fail(res, 500, "server_error", "injected failure");
      if (kind === "429") return fail(res, 429, "rate_limited", "injected rate limit", { "retry-after": "1" });
      if (kind === "drop") return req.socket.destroy();
      await sleep(1000 + Math.random() * 2000);
    }
    const cookies = readCookies(req);
    const fromCookie = body.refreshToken === undefined && cookies.rt !== undefined;
    if (fromCookie && (!cookies.csrf || req.headers["x-csrf-token"] !== cookies.csrf)) {
      log.csrf++;
      return fail(res, 403, "csrf", "the x-csrf-token header must repeat the csrf cookie");
    }
    const refreshToken = fromCookie ? cookies.rt : body.refreshToken;
    const refused = (message) => {
      log.refused++;
      // A refused cookie is of no further use to anyone: remove it.
      fail(res, 401, "invalid_grant", message, fromCookie ? { "set-cookie": refreshCookie(req, "", 0) } : {});
    };
    if (typeof refreshToken !== "string" || !refreshToken) return fail(res, 400, "invalid_request", "refreshToken must be a non-empty string");
    const entry = refreshTokens.get(refreshToken);
    if (!entry || families.get(entry.family)?.revoked) return refused("unknown or revoked refresh token");
    if (entry.used) {
      // Reuse: someone spent this token before. Treat it as theft and end the whole family.
      families.get(entry.family).revoked = true;
      log.reuse++;
      return refused("refresh token reuse detected; the session was revoked");
    }
    entry.used = true;
    log.refreshes++;
    const tokens = await issue(entry.user, entry.family);
    if (!fromCookie) return send(res, 200, tokens);
    send(res, 200, { token: tokens.token, expiresIn: tokens.expiresIn }, { "set-cookie": refreshCookie(req, tokens.refreshToken) });
  },

  // Ends the session of the refresh token in the body, or of the bearer token (cookie sessions:
  // the page has no refresh token to name, and the cookie is not sent outside the refresh route).
  "POST /auth/logout": async (req, res) => {
    const { refreshToken } = await readJson(req);
    const entry = typeof refreshToken === "string" && refreshTokens.get(refreshToken);
    if (entry) families.get(entry.family).revoked = true;
    const claims = await authenticate(req);
    if (claims) families.get(claims.fam).revoked = true;
    send(res, 200, { ok: true }, { "set-cookie": refreshCookie(req, "", 0) });
  },

  // Demo control: end every session on the server, as an admin or a password change would.
  "POST /auth/revoke": async (req, res) => {
    for (const f of families.values()) f.revoked = true;
    log.revoked++;
    send(res, 200, { ok: true });
  },

  "GET /api/me": api(async (claims) => ({ user: claims.sub, expiresAt: claims.exp * 1000 })),
  "GET /api/items": api(async (claims, req) => {
    const id = new URL(req.url, "http://x").searchParams.get("id") || "0";
    if (!/^\d{1,6}$/.test(id)) throw Object.assign(new Error("id must be a number"), { status: 400 });
    return { id: Number(id), name: "Item " + id };
  }),
  "POST /api/echo": api(async (claims, req) => {
    const body = await readText(req);
    log.echoes.push({ body, contentType: req.headers["content-type"] || null });
    return { received: body, contentType: req.headers["content-type"] || null };
  }),

  // Demo control for tests: every access token issued so far stops working now, as if expired.
  "POST /demo/expire": async (req, res) => {
    expiredBefore = Date.now();
    send(res, 200, { ok: true });
  },
  "GET /demo/log": async (req, res) => send(res, 200, { ...log, accessTtl: config.accessTtl }),
  "POST /demo/reset": async (req, res) => {
    Object.assign(log, freshLog());
    send(res, 200, { ok: true });
  },
};

/** A protected endpoint: latency, then 401 (or the classic `200 {"code":409}`) without a valid token. */
function api(handler) {
  return async (req, res) => {
    await sleep(config.latency);
    const claims = await authenticate(req);
    log.api++;
    if (!claims) {
      log.expired++;
      if (req.headers["x-expired-style"] === "409") return send(res, 200, { code: 409, message: "token expired" });
      return fail(res, 401, "invalid_token", "the access token is missing, expired or revoked");
    }
    send(res, 200, await handler(claims, req));
  };
}

const TYPES = { ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css", ".wasm": "application/wasm", ".json": "application/json", ".png": "image/png", ".svg": "image/svg+xml", ".ts": "text/plain" };
const PAGES = { "/": "index.html", "/login": "login.html" };
const ROOTS = { "/pkg/": resolve(here, "../pkg"), "/": here };
// --serve /prefix/=dir mounts another folder (the tests' Vite-built consumer app, the benchmark page).
for (let i = 2; i < process.argv.length; i++) {
  const m = process.argv[i] === "--serve" && /^(\/[\w-]+\/)=(.+)$/.exec(process.argv[i + 1] || "");
  if (m) ROOTS[m[1]] = resolve(m[2]);
}

async function serveStatic(req, res, path) {
  let file;
  if (PAGES[path]) file = join(here, PAGES[path]);
  else {
    const prefix = Object.keys(ROOTS).find((p) => p !== "/" && path.startsWith(p)) || "/";
    const root = ROOTS[prefix];
    const rel = decodeURIComponent(path.slice(prefix.length));
    file = normalize(join(root, rel === "" || rel.endsWith("/") ? rel + "index.html" : rel));
    if (!file.startsWith(root + "/") || file.endsWith(".mjs") && prefix === "/") return fail(res, 404, "not_found", "no such file");
  }
  try {
    if (!(await stat(file)).isFile()) throw new Error();
    const body = await readFile(file);
    res.writeHead(200, {
      "content-type": TYPES[extname(file)] || "application/octet-stream",
      "cache-control": "no-store",
      // What the package needs from a page's CSP: wasm compilation, and nothing else unusual.
      "content-security-policy": "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data:",
    });
    res.end(body);
  } catch {
    fail(res, 404, "not_found", path.startsWith("/pkg/") ? "the package is not built: run ./scripts/demo.sh" : "no such file");
  }
}

const server = createServer(async (req, res) => {
  let path;
  try {
    path = new URL(req.url, "http://localhost").pathname;
  } catch {
    return fail(res, 400, "invalid_request", "bad URL");
  }
  const route = routes[req.method + " " + path];
  try {
    if (route) return await route(req, res);
    if (Object.keys(routes).some((k) => k.endsWith(" " + path))) return fail(res, 405, "method_not_allowed", "method not allowed");
    if (req.method === "GET" || req.method === "HEAD") return await serveStatic(req, res, path);
    fail(res, 404, "not_found", "no such endpoint");
  } catch (e) {
    if (!res.headersSent) fail(res, e.status || 500, e.status ? "invalid_request" : "server_error", e.status ? e.message : "internal error");
    if (!e.status) console.error(e);
  }
});

// The live feed: the first message carries the access token; a tick every 250 ms; the connection
// is closed with 4001 when the token expires (or 4001 at once for a token that is not valid).
const live = new WebSocketServer({ server, path: "/live", maxPayload: 4096 });
live.on("connection", (socket) => {
  let ticker = null, expiry = null;
  const stop = () => { clearInterval(ticker); clearTimeout(expiry); };
  socket.on("close", stop);
  socket.once("message", async (data) => {
    let token = null;
    try { token = JSON.parse(String(data)).token; } catch {}
    const claims = typeof token === "string" ? await verify(token) : null;
    if (!claims) {
      log.live.refused++;
      return socket.close(4001, "token expired or invalid");
    }
    log.live.connections++;
    let n = 0;
    ticker = setInterval(() => socket.send(JSON.stringify({ n: ++n, at: Date.now() })), 250);
    expiry = setTimeout(() => { log.live.expiredCloses++; socket.close(4001, "token expired"); }, Math.max(0, claims.exp * 1000 - Date.now()));
  });
});

server.listen(config.port, "127.0.0.1", () => {
  const { port } = server.address();
  console.log(`seamless-fetch demo: http://127.0.0.1:${port}/  (user demo / password demo, access tokens live ${config.accessTtl}s)`);
});
// Open live-feed sockets would keep server.close() waiting: end them first.
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => {
  for (const socket of live.clients) socket.terminate();
  server.close(() => process.exit(0));
});

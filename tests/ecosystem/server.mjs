// The matrix's test server, on 127.0.0.1 (a free port): the refresh cycle's API, and the row's app
// on the same origin, either its built files (static) or its own dev server (proxied), so that a
// browser row needs no allowedOrigins.
//   GET  /api/me        200 {user} with "Authorization: Bearer <current access token>", else 401
//   POST /auth/refresh  {"refreshToken": <current>} -> rotates both tokens, answers
//                       {"accessToken", "refreshToken"}; any other body -> 401 invalid_grant
//   GET  /__count       what the server saw since the last reset: {unauthorized, refreshes, ok, refused}
// At reset the server holds no valid access token (so "a0", what every row sets, is expired) and
// the refresh token "r0".
import { createServer, request as httpRequest } from "node:http";
import { createReadStream, statSync } from "node:fs";
import { extname, join, normalize, resolve } from "node:path";

const types = { ".html": "text/html", ".js": "text/javascript", ".mjs": "text/javascript", ".cjs": "text/javascript", ".css": "text/css", ".json": "application/json", ".wasm": "application/wasm", ".map": "application/json", ".svg": "image/svg+xml", ".ico": "image/x-icon", ".txt": "text/plain" };

export function startServer() {
  const state = { access: null, refresh: "r0", n: 0, counts: null, root: null, upstream: null };
  const reset = () => { state.access = null; state.refresh = "r0"; state.n = 0; state.counts = { unauthorized: 0, refreshes: 0, ok: 0, refused: 0 }; };
  reset();
  const json = (res, status, body) => { res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store", "access-control-allow-origin": "*" }); res.end(JSON.stringify(body)); };

  const server = createServer(async (req, res) => {
    const path = new URL(req.url, "http://x").pathname;
    if (req.method === "OPTIONS" && (path.startsWith("/api/") || path.startsWith("/auth/"))) {
      res.writeHead(204, { "access-control-allow-origin": "*", "access-control-allow-headers": "authorization, content-type", "access-control-allow-methods": "GET, POST" });
      return res.end();
    }
    if (path === "/api/me") {
      if (state.access && req.headers.authorization === "Bearer " + state.access) { state.counts.ok++; return json(res, 200, { user: "demo" }); }
      state.counts.unauthorized++;
      return json(res, 401, { error: "expired" });
    }
    if (path === "/auth/refresh" && req.method === "POST") {
      let body = "";
      for await (const chunk of req) body += chunk;
      let sent;
      try { sent = JSON.parse(body).refreshToken; } catch { sent = undefined; }
      if (sent !== state.refresh) { state.counts.refused++; return json(res, 401, { error: "invalid_grant" }); }
      state.n++;
      state.access = "a" + state.n;
      state.refresh = "r" + state.n;
      state.counts.refreshes++;
      return json(res, 200, { accessToken: state.access, refreshToken: state.refresh });
    }
    if (path === "/__count") return json(res, 200, state.counts);
    if (state.upstream) return proxy(req, res, state.upstream);
    if (state.root) return serveFile(res, state.root, path);
    res.writeHead(404).end();
  });
  // Upgrades (HMR sockets) go to the dev server too.
  server.on("upgrade", (req, socket, head) => {
    if (!state.upstream) return socket.destroy();
    const up = new URL(state.upstream);
    const preq = httpRequest({ host: up.hostname, port: up.port, path: req.url, method: req.method, headers: req.headers });
    preq.on("upgrade", (pres, psocket, phead) => {
      socket.write("HTTP/1.1 101 Switching Protocols\r\n" + Object.entries(pres.headers).map(([k, v]) => k + ": " + v).join("\r\n") + "\r\n\r\n");
      if (phead.length) socket.write(phead);
      if (head.length) psocket.write(head);
      psocket.pipe(socket).pipe(psocket);
      psocket.on("error", () => socket.destroy());
      socket.on("error", () => psocket.destroy());
    });
    preq.on("error", () => socket.destroy());
    preq.end();
  });

  return new Promise((ok) => server.listen(0, "127.0.0.1", () => {
    const base = `http://127.0.0.1:${server.address().port}`;
    ok({
      base,
      /** Forget the last row: tokens back to the start, counts to zero, what to serve. */
      reset({ root = null, upstream = null } = {}) { reset(); state.root = root && resolve(root); state.upstream = upstream; },
      counts: () => ({ ...state.counts }),
      close: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }),
    });
  }));
}

function serveFile(res, root, path) {
  let file = normalize(join(root, decodeURIComponent(path)));
  if (!file.startsWith(root)) return res.writeHead(403).end();
  try {
    if (statSync(file).isDirectory()) file = join(file, "index.html");
    statSync(file);
  } catch {
    return res.writeHead(404, { "content-type": "text/plain" }).end("not found");
  }
  res.writeHead(200, { "content-type": types[extname(file)] || "application/octet-stream", "cache-control": "no-store" });
  createReadStream(file).pipe(res);
}

function proxy(req, res, upstream) {
  const up = new URL(upstream);
  const preq = httpRequest({ host: up.hostname, port: up.port, path: req.url, method: req.method, headers: { ...req.headers, host: up.host } }, (pres) => {
    res.writeHead(pres.statusCode, pres.headers);
    pres.pipe(res);
  });
  preq.on("error", (e) => { if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" }); res.end("proxy: " + e.message); });
  req.pipe(preq);
}

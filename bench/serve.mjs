// What the benchmark, the profile and the storm phases share: the peers bundled as an app would
// ship them (ESM, minified) into bench/dist/, the loopback server that serves that page and
// answers the API, and running one of the page's functions in a fresh page.
import { build } from "esbuild";
import { copyFileSync, mkdirSync, readFileSync, readdirSync } from "node:fs";
import { createServer } from "node:http";
import { extname, resolve } from "node:path";

const here = import.meta.dirname;
const root = resolve(here, "..");
export const dist = resolve(here, "dist");

/**
 * Bundles `peers` (names in bench/peers/; the package's wasm is inside its entry) and copies the page. `minify`
 * false keeps the functions' names, for a profile to show (it changes no allocation).
 */
export async function bundlePeers(peers, { minify = true } = {}) {
  mkdirSync(resolve(dist, "peers"), { recursive: true });
  await build({
    entryPoints: peers.map((p) => resolve(here, "peers", p + ".js")),
    outdir: resolve(dist, "peers"),
    bundle: true, minify, format: "esm", target: "es2022", logLevel: "warning",
    alias: { "seamless-fetch": resolve(root, "pkg/index.js"), "seamless-fetch/dpop": resolve(root, "pkg/dpop.js") },
    logOverride: { "duplicate-object-key": "silent" }, // wasm-bindgen's glue repeats one import key
  });
  for (const f of readdirSync(resolve(here, "page"))) copyFileSync(resolve(here, "page", f), resolve(dist, f));
}

/**
 * The loopback server of row 1b: answers at once, so that what is measured is the client. (The
 * demo server verifies a JWT on every request, which would drown the difference in noise.)
 */
export function benchServer() {
  const types = { ".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm" };
  const json = (res, status, body) => { res.writeHead(status, { "content-type": "application/json" }); res.end(JSON.stringify(body)); };
  // `Authorization: DPoP bench-a` is accepted too (bench/dpop.mjs): the proofs are not verified,
  // only counted (requests with a `DPoP` header, distinct `jti`s) in `dpop`, which `resetDpop` empties.
  const dpop = { requests: 0, withProof: 0, jtis: new Set() };
  const http = createServer((req, res) => {
    const path = new URL(req.url, "http://x").pathname;
    if (path === "/auth/login") return json(res, 200, { token: "bench-a", refreshToken: "bench-r" });
    if (path === "/api/me" && req.headers.authorization === "DPoP bench-a") {
      dpop.requests++;
      const proof = req.headers.dpop;
      const claims = typeof proof === "string" ? proof.split(".")[1] : undefined;
      if (claims) {
        dpop.withProof++;
        try { dpop.jtis.add(JSON.parse(Buffer.from(claims, "base64url").toString()).jti); } catch {}
      }
      return json(res, 200, { ok: true });
    }
    if (path === "/api/me") return req.headers.authorization === "Bearer bench-a" ? json(res, 200, { ok: true }) : json(res, 401, { error: "expired" });
    const file = resolve(dist, (path.replace(/^\/bench\//, "") || "index.html").replace(/\.\./g, ""));
    try {
      const body = readFileSync(file);
      res.writeHead(200, { "content-type": types[extname(file)] || "application/octet-stream" });
      res.end(body);
    } catch {
      json(res, 404, { error: "not_found" });
    }
  });
  return new Promise((ready) => http.listen(0, "127.0.0.1", () => ready({
    url: `http://127.0.0.1:${http.address().port}/`,
    dpop: () => ({ requests: dpop.requests, withProof: dpop.withProof, distinctJti: dpop.jtis.size }),
    resetDpop: () => { dpop.requests = 0; dpop.withProof = 0; dpop.jtis.clear(); },
    stop: () => new Promise((done) => { http.closeAllConnections(); http.close(done); }),
  })));
}

/** The median of `xs` (the mean of the middle two for an even count). */
export const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };

/**
 * Starts `peer` in a fresh page (`bench/?init=peer`, see bench.js) and returns what the page
 * reported. Nothing is evaluated in the page until it has said it is ready: Playwright's injected
 * script (compiled on its first use in a page) took ~17 ms of the main thread when it ran
 * mid-start, and fell on whichever peer took longest to start. `around(context, page)`, if given,
 * runs before the start and returns a function that runs after it, before the context closes;
 * its result comes back beside the report (`bench/startup.mjs` traces the start with it).
 */
export async function freshStart(browser, server, peer, around) {
  const context = await browser.newContext();
  const page = await context.newPage();
  try {
    const after = around ? await around(context, page) : null;
    const said = page.waitForEvent("console", { predicate: (m) => m.text().startsWith("bench:init "), timeout: 60_000 });
    await page.goto(server.url + "bench/?init=" + peer);
    const report = JSON.parse((await said).text().slice("bench:init ".length));
    return { report, extra: after ? await after() : undefined };
  } finally {
    await context.close();
  }
}

/** `window.bench[fn](...args)` in a fresh context (nothing cached, nothing compiled) of `browser`. */
export async function inFreshPage(browser, server, fn, ...args) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(server.url + "bench/");
  await page.waitForFunction(() => window.benchReady);
  try {
    return await page.evaluate(([fn, args]) => window.bench[fn](...args), [fn, args]);
  } finally {
    await context.close();
  }
}

// How many times a request calls from wasm into JS, by import: on the happy path (token ready,
// in-memory transport) and in a storm (1,000 requests that all find the token expired). Every
// such call crosses V8's wasm-to-JS boundary and wasm-bindgen's glue; fewer is cheaper, most of
// all in a cold page. Run after ./scripts/build.sh: node bench/crossings.mjs
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { launch } from "../tests/e2e/helpers.mjs";
import { benchServer, bundlePeers } from "./serve.mjs";

await bundlePeers(["seamless"]);
const server = await benchServer();
const browser = await launch();
const glue = readFileSync(resolve(import.meta.dirname, "../pkg/seamless_fetch.js"), "utf8");

/** What import `key` does: its glue's first statement (the import names are shortened). */
function describe(key) {
  const at = glue.indexOf("\n        " + key + ": function");
  if (at < 0) return key; // a helper of js/helpers.js, passed through under its own name
  const body = glue.slice(at, at + 600).split("\n").slice(2).map((l) => l.trim());
  const what = body.find((l) => l.startsWith("const ret =") || l.startsWith("result =")) || body.find((l) => l && !l.startsWith("//")) || "";
  return key + ": " + what.replace(/^(const ret =|result =) /, "").slice(0, 90);
}

try {
  const page = await browser.newPage();
  // Every import, counted: the imports object is copied (namespace objects are read-only) and
  // each function wrapped before the module is instantiated.
  await page.addInitScript(() => {
    window.crossings = {};
    const instantiate = WebAssembly.instantiateStreaming;
    WebAssembly.instantiateStreaming = (source, imports) => {
      for (const m of Object.keys(imports)) {
        const copy = Object.assign({}, imports[m]);
        for (const [k, f] of Object.entries(copy)) {
          if (typeof f === "function") copy[k] = function (...args) { window.crossings[k] = (window.crossings[k] || 0) + 1; return f.apply(this, args); };
        }
        imports[m] = copy;
      }
      return instantiate(source, imports);
    };
  });
  await page.goto(server.url + "bench/");
  await page.waitForFunction(() => window.benchReady);
  const counts = await page.evaluate(async () => {
    const n = 1000;
    const snap = () => ({ ...window.crossings });
    const per = (a, b) => Object.fromEntries(Object.keys(b).map((k) => [k, (b[k] - (a[k] || 0)) / n]).filter(([, v]) => v >= 0.01));
    let access = "a1";
    const json = (status, body) => new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
    const transport = async (input, init) => {
      const url = typeof input === "string" ? input : input.url;
      if (url.endsWith("/auth/refresh")) { await new Promise((r) => setTimeout(r, 50)); return json(200, { token: "a2", refreshToken: "r2" }); }
      return new Headers(init.headers).get("authorization") === "Bearer " + access ? json(200, { ok: true }) : json(401, { error: "expired" });
    };
    localStorage.setItem("token", "a1");
    localStorage.setItem("refreshToken", "r1");
    const client = await (await import("./peers/seamless.js")).create({ fetch: transport });
    const url = location.origin + "/api/me";
    for (let i = 0; i < 200; i++) await client.get(url);
    let before = snap();
    for (let i = 0; i < n; i++) await client.get(url);
    const happy = per(before, snap());
    access = "a2";
    before = snap();
    await Promise.all(Array.from({ length: n }, () => client.get(url)));
    return { happy, storm: per(before, snap()) };
  });
  for (const [row, c] of Object.entries(counts)) {
    const total = Object.values(c).reduce((a, b) => a + b, 0);
    console.log(`\n${row}: ${total.toFixed(1)} calls from wasm into JS per request`);
    for (const [k, v] of Object.entries(c).sort((a, b) => b[1] - a[1])) console.log(`  ${v.toFixed(2).padStart(6)}  ${describe(k)}`);
  }
} finally {
  await browser.close();
  await server.stop();
}

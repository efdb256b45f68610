// How many times a request calls from JS into the core's wasm, by export: on the happy path
// (token ready, in-memory transport) and in a storm (1,000 requests that all find the token
// expired). The core imports nothing (issue 29), so every crossing is the shell calling an export;
// fewer is cheaper, most of all in a cold page. Run after ./scripts/build.sh: node bench/crossings.mjs
import { launch } from "../tests/e2e/helpers.mjs";
import { benchServer, bundlePeers } from "./serve.mjs";

await bundlePeers(["seamless"]);
const server = await benchServer();
const browser = await launch();

try {
  const page = await browser.newPage();
  // Every export, counted: the entry instantiates the embedded module with `new
  // WebAssembly.Instance` (or `WebAssembly.instantiate` in `init()`); its exports object is
  // read-only, so the shell is handed a copy whose functions count their calls.
  await page.addInitScript(() => {
    window.crossings = {};
    const counted = (exports) => {
      const copy = {};
      for (const [k, v] of Object.entries(exports)) {
        copy[k] = typeof v === "function" ? function (...args) { window.crossings[k] = (window.crossings[k] || 0) + 1; return v.apply(this, args); } : v;
      }
      return copy;
    };
    const Instance = WebAssembly.Instance;
    WebAssembly.Instance = function (module, imports) { return { exports: counted(new Instance(module, imports).exports) }; };
    const instantiate = WebAssembly.instantiate;
    WebAssembly.instantiate = async (source, imports) => {
      const got = await instantiate(source, imports);
      return got instanceof Instance ? { exports: counted(got.exports) } : { module: got.module, instance: { exports: counted(got.instance.exports) } };
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
    console.log(`\n${row}: ${total.toFixed(1)} calls from JS into wasm per request`);
    for (const [k, v] of Object.entries(c).sort((a, b) => b[1] - a[1])) console.log(`  ${v.toFixed(2).padStart(6)}  ${k}`);
  }
} finally {
  await browser.close();
  await server.stop();
}

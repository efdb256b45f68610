// The shell build (issue 29 stage 2, scripts/build-shell.sh) against the shipped package and raw
// fetch, in one headless Chromium: µs per sequential request on an in-memory transport (row 1a of
// bench/run.mjs), and ms from a fresh page's import to a first instance. Medians of interleaved
// runs. Prints figures; asserts nothing. Usage: node bench/shell.mjs [runs]
import { launch, startServer } from "../tests/e2e/helpers.mjs";
import { resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");
const RUNS = Number(process.argv[2] || 5);
const N = 10000;
const server = await startServer(["--serve", "/shell/=" + resolve(root, "target/shell-pkg")]);
const browser = await launch();
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function inPage(fn, build, n) {
  const page = await browser.newPage();
  await page.goto(server.url + "shell/index.html");
  const r = await page.evaluate(fn, [build, n]);
  await page.close();
  return r;
}

// Sequential requests, valid token, in-memory transport.
const perRequest = async ([build, n]) => {
  const jwt = (exp) => btoa(JSON.stringify({ alg: "HS256" })) + "." + btoa(JSON.stringify({ exp, iat: Math.floor(Date.now() / 1000) })).replace(/=+$/, "") + ".c2ln";
  localStorage.setItem("token", jwt(Math.floor(Date.now() / 1000) + 3600));
  localStorage.setItem("refreshToken", "r1");
  const memory = () => Promise.resolve(new Response('{"user":"demo"}', { headers: { "content-type": "application/json", date: new Date().toUTCString() } }));
  let get;
  if (build === "raw") get = (u) => memory(u, { headers: { Authorization: "Bearer " + localStorage.getItem("token") } });
  else {
    let AuthFetch;
    if (build === "shell") {
      const shell = await import("/shell/shell.js");
      shell.useCore((await WebAssembly.instantiateStreaming(fetch("/shell/core.wasm"))).instance.exports);
      AuthFetch = shell.AuthFetch;
    } else AuthFetch = (await import("/pkg/index.js")).AuthFetch;
    const api = new AuthFetch({ refreshUrl: "/auth/refresh", loginUrl: null, fetch: memory });
    get = (u) => api.fetch(u);
  }
  for (let i = 0; i < 500; i++) await (await get("/api/me")).json();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await (await get("/api/me")).json();
  return ((performance.now() - t0) * 1000) / n;
};

// Import (and for the shell, compile + instantiate) to a first instance.
const startup = async ([build]) => {
  const t0 = performance.now();
  let AuthFetch;
  if (build === "shell") {
    const shell = await import("/shell/shell.js?" + Math.random());
    shell.useCore((await WebAssembly.instantiateStreaming(fetch("/shell/core.wasm?" + Math.random()))).instance.exports);
    AuthFetch = shell.AuthFetch;
  } else AuthFetch = (await import("/pkg/index.js?" + Math.random())).AuthFetch;
  new AuthFetch({ refreshUrl: "/auth/refresh", loginUrl: null });
  return performance.now() - t0;
};

const rows = { perRequest: { raw: [], shell: [], pkg: [] }, startup: { shell: [], pkg: [] } };
for (let r = 0; r < RUNS; r++) {
  for (const b of ["raw", "shell", "pkg"]) rows.perRequest[b].push(await inPage(perRequest, b, N));
  for (const b of ["shell", "pkg"]) rows.startup[b].push(await inPage(startup, b));
}
const m = (xs) => median(xs).toFixed(2);
console.log(`per request (1a, in-memory, µs, median of ${RUNS}): raw ${m(rows.perRequest.raw)}, shell ${m(rows.perRequest.shell)} (${(median(rows.perRequest.shell) / median(rows.perRequest.raw)).toFixed(2)}×), package ${m(rows.perRequest.pkg)} (${(median(rows.perRequest.pkg) / median(rows.perRequest.raw)).toFixed(2)}×)`);
console.log(`import → first instance (ms, median of ${RUNS}): shell ${m(rows.startup.shell)}, package ${m(rows.startup.pkg)}`);
await browser.close();
await server.stop();

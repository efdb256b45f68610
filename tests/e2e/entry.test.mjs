// The default entry (pkg/index.js) as a browser and Node load it: the wasm is inside the file, so
// a page makes no request for a .wasm; nothing is awaited on import; and where the module cannot
// compile (a CSP without 'wasm-unsafe-eval', a file read in the wrong charset) the error says what
// to fix.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { launch, sleep, webDriver } from "./helpers.mjs";

const root = resolve(import.meta.dirname, "../..");
const entry = readFileSync(resolve(root, "pkg/index.js"));
let server, base, browser;

// Serves the entry and a page that imports it, under the Content-Security-Policy `?csp=` names.
const page = `<!doctype html><meta charset="utf-8"><script type="module">
const at = performance.now();
const { AuthFetch, default: init } = await import("/index.js");
const importMs = performance.now() - at;
const out = { importMs };
try {
  const api = new AuthFetch({ refreshUrl: "/auth/refresh", storage: "memory" });
  out.constructed = typeof api.fetch;
  out.exports = Object.keys(await init()).includes("memory");
} catch (e) { out.error = e.message; }
out.requests = performance.getEntriesByType("resource").map((r) => new URL(r.name).pathname);
window.results = out;
</script>`;

before(async () => {
  server = createServer((req, res) => {
    const url = new URL(req.url, "http://x");
    const csp = url.searchParams.get("csp");
    if (url.pathname === "/index.js") {
      res.writeHead(200, { "content-type": "text/javascript; charset=utf-8" });
      return res.end(entry);
    }
    res.writeHead(200, { "content-type": "text/html; charset=utf-8", ...(csp ? { "content-security-policy": csp } : {}) });
    res.end(page);
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${server.address().port}/`;
  browser = await launch();
});
after(async () => {
  await browser?.close();
  server?.close();
});

async function results(query) {
  const p = await browser.newPage();
  await p.goto(base + query);
  await p.waitForFunction(() => window.results, null, { timeout: 20000 });
  const out = await p.evaluate(() => window.results);
  await p.close();
  return out;
}

test("Chromium: the page loads one script and no .wasm; the API is ready after import", async () => {
  const out = await results("");
  assert.equal(out.error, undefined);
  assert.equal(out.constructed, "function");
  assert.equal(out.exports, true, "init() resolves to the module's exports");
  assert.deepEqual(out.requests.filter((path) => path !== "/favicon.ico"), ["/index.js"]);
});

test("Chromium: a CSP without 'wasm-unsafe-eval' gets an error that names it", async () => {
  const refused = await results("?csp=" + encodeURIComponent("script-src 'self' 'unsafe-inline'"));
  assert.match(refused.error, /Content-Security-Policy needs 'wasm-unsafe-eval'/);
  const allowed = await results("?csp=" + encodeURIComponent("script-src 'self' 'unsafe-inline' 'wasm-unsafe-eval'"));
  assert.equal(allowed.error, undefined);
});

for (const engine of ["firefox", "webkit"]) {
  test(`${engine === "firefox" ? "Firefox" : "WebKit"} (WebDriver): the page loads one script and no .wasm; a CSP without 'wasm-unsafe-eval' gets an error that names it`, async () => {
    const browser = await webDriver(engine);
    const load = async (query) => {
      await browser.wd("POST", "/url", { url: base + query });
      for (let i = 0; i < 400; i++) {
        const out = await browser.run(async () => window.results || null);
        if (out) return out;
        await sleep(50);
      }
      throw new Error("the page gave no results");
    };
    try {
      const out = await load("");
      assert.equal(out.error, undefined);
      assert.equal(out.constructed, "function");
      assert.equal(out.exports, true);
      assert.deepEqual(out.requests.filter((path) => path !== "/favicon.ico"), ["/index.js"]);
      const refused = await load("?csp=" + encodeURIComponent("script-src 'self' 'unsafe-inline'"));
      assert.match(refused.error, /Content-Security-Policy needs 'wasm-unsafe-eval'/);
    } finally {
      await browser.close();
    }
  });
}

test("Node: an entry whose embedded bytes were re-encoded says so instead of a CompileError", async () => {
  // What a windows-1252 reading of the UTF-8 file does to the characters U+0080-U+009F: "\u0080"
  // becomes "€", and so on.
  const text = entry.toString("utf8");
  const at = text.search(/[\u0080-\u009f]/);
  assert.ok(at > 0, "the entry embeds a character U+0080-U+009F");
  const dir = mkdtempSync(join(tmpdir(), "seamless-fetch-entry-"));
  writeFileSync(join(dir, "index.js"), text.slice(0, at) + "\u20ac" + text.slice(at + 1));
  const { AuthFetch } = await import(pathToFileURL(join(dir, "index.js")).href);
  assert.throws(() => new AuthFetch({ refreshUrl: "https://api.example/auth/refresh" }), /embedded WebAssembly was altered: serve the bundle as UTF-8/);
});

test("Node: where synchronous compiles and instantiations are refused (Chromium before 114), the error says to await init(), which works", async () => {
  const { AuthFetch, default: init } = await import(pathToFileURL(resolve(root, "pkg/index.js")).href + "?sync-refused");
  const { Module, Instance } = WebAssembly;
  // As Chromium refused them: the constructors throw, the classes stay what instanceof checks.
  const refuse = (real, what) => new Proxy(real, {
    construct() {
      throw new RangeError("WebAssembly." + what + " is disallowed on the main thread, if the buffer size is larger than 4KB. Use WebAssembly." + what.toLowerCase() + "().");
    },
  });
  WebAssembly.Module = refuse(Module, "Compile");
  WebAssembly.Instance = refuse(Instance, "Instance");
  try {
    assert.throws(() => new AuthFetch({ refreshUrl: "https://api.example/auth/refresh" }), /compiles WebAssembly only asynchronously here: `await init\(\)`/);
    const exports = await init();
    assert.equal(typeof exports.memory.buffer.byteLength, "number");
    assert.equal(typeof new AuthFetch({ refreshUrl: "https://api.example/auth/refresh" }).fetch, "function");
  } finally {
    WebAssembly.Module = Module;
    WebAssembly.Instance = Instance;
  }
});

test("Node, CommonJS, no TextDecoder or TextEncoder (as Jest's jsdom): loads, round-trips text, runs a refresh cycle", () => {
  const script = `
    void [Request, Response]; // Node's own fetch loads now, while its codecs are still there
    delete globalThis.TextDecoder;
    delete globalThis.TextEncoder;
    const { AuthFetch } = require(${JSON.stringify(resolve(root, "pkg/index.cjs"))});
    let valid = "a0", refreshes = 0;
    const fetch = async (input, init) => {
      const req = new Request(input, init);
      if (req.url.endsWith("/auth/refresh")) return Response.json({ accessToken: "a" + ++refreshes, refreshToken: "r" + refreshes });
      return req.headers.get("authorization") === "Bearer " + valid ? Response.json({ path: new URL(req.url).pathname }) : new Response(null, { status: 401 });
    };
    const api = new AuthFetch({ refreshUrl: "https://api.example/auth/refresh", storage: "memory", fetch, loginUrl: null });
    api.setTokens({ accessToken: "a0", refreshToken: "r0" });
    valid = "a1";
    api.fetch("https://api.example/caf\\u00e9/\\u20ac/\\u{1F600}").then(async (res) => {
      console.log(JSON.stringify({ status: res.status, path: (await res.json()).path, refreshes, back: AuthFetch.safeReturnPath("//evil.example", "/n\\u00e9\\u20ac\\u{1F600}") }));
    });`;
  const out = JSON.parse(execFileSync(process.execPath, ["-e", script], { encoding: "utf8" }).trim());
  assert.deepEqual(out, { status: 200, path: "/caf%C3%A9/%E2%82%AC/%F0%9F%98%80", refreshes: 1, back: "/n\u00e9\u20ac\u{1F600}" });
});

test("Node: an instance made where there is no global fetch yet uses the one installed later (a test's mock)", async () => {
  const { AuthFetch } = await import(pathToFileURL(resolve(root, "pkg/index.js")).href + "?late-fetch");
  const real = globalThis.fetch;
  delete globalThis.fetch;
  try {
    const api = new AuthFetch({ refreshUrl: "https://api.example/auth/refresh", storage: "memory", loginUrl: null });
    api.setTokens({ accessToken: "a0", refreshToken: "r0" });
    await assert.rejects(api.fetch("https://api.example/me"), /there is no global fetch; pass one as the fetch option/);
    const seen = [];
    globalThis.fetch = async (input, init) => {
      seen.push(new Headers(init?.headers).get("authorization"));
      return Response.json({ ok: true });
    };
    assert.equal((await api.fetch("https://api.example/me")).status, 200);
    assert.deepEqual(seen, ["Bearer a0"]);
    // The global fetch replaced by an api.fetch: refused, not a request sent to itself forever.
    globalThis.fetch = api.fetch;
    await assert.rejects(api.fetch("https://api.example/me"), /the global fetch is an AuthFetch's own; pass the platform's fetch as the fetch option/);
  } finally {
    globalThis.fetch = real;
  }
});

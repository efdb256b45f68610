// The package as a user installs it: `npm pack` of pkg/, installed into a fresh project, imported
// with no init() (a) in plain Node, as an ES module and with require(), and (b) in a dedicated Web Worker in Chromium, each running an
// expired-token -> refresh -> replay cycle and a refused refresh against the real demo server.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { launch, pageResults, startServer } from "./helpers.mjs";

const root = resolve(import.meta.dirname, "../..");
let project, server, browser;

before(async () => {
  project = mkdtempSync(join(tmpdir(), "seamless-fetch-consumer-"));
  const [{ filename }] = JSON.parse(execFileSync("npm", ["pack", "--json", "--pack-destination", project], { cwd: resolve(root, "pkg"), encoding: "utf8" }));
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "fresh-consumer", private: true, type: "module" }));
  execFileSync("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", join(project, filename)], { cwd: project, stdio: "inherit" });
  for (const f of readdirSync(resolve(root, "tests/package"))) copyFileSync(resolve(root, "tests/package", f), join(project, f));
  server = await startServer(["--access-ttl", "600", "--latency", "0", "--serve", "/installed/=" + project]);
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

test("plain Node: import, no init(), a refresh cycle, a refusal, flat memory on the shipped build", () => {
  const out = JSON.parse(execFileSync(process.execPath, [join(project, "node-cycle.mjs"), server.url], { cwd: project, encoding: "utf8" }).trim().split("\n").pop());
  assert.equal(out.relative.length, 3);
  for (const refused of out.relative) assert.match(refused, /^INVALID_OPTIONS: .*refreshUrl must be an absolute URL/, "fetch, refresh and getAccessToken of a pageless instance");
  assert.equal(out.warnings.length, 1, "one warning for storage: \"local\" without Web Storage");
  assert.match(out.warnings[0], /tokens are kept in memory/);
  assert.deepEqual(out.cycle, { status: 200, user: "demo", stats: { refreshes: 1, retried: 1, queued: 0 } });
  assert.equal(out.echo, "kept");
  assert.equal(out.fetchKept, true, "api.fetch kept on the instance after its first read");
  assert.equal(out.frozenFetch, true, "a frozen instance's fetch can still be read");
  assert.equal(out.refused, "SESSION_EXPIRED");
  assert.deepEqual(out.logouts, ["SESSION_EXPIRED"]);
  assert.deepEqual(out.navigations, ["/login"], "navigate is called without a window");
  assert.deepEqual(out.disposal, ["ok", "ok", "ok", "ok"], "dispose(), dispose() again, free() and Symbol.dispose after it");
  assert.match(out.disposedFetch, /disposed/, "the bound fetch rejects after dispose()");
  console.log(`shipped build, 10,000 refresh cycles in Node: wasm memory ${out.memory.after100} B after 100, ${out.memory.after10k} B after 10,000`);
  assert.equal(out.memory.refreshes, 10000);
  assert.equal(out.memory.after10k, out.memory.after100, "wasm memory after 10,000 cycles vs after 100");
});

test("plain Node, CommonJS: require() resolves the .cjs entry, which runs a refresh cycle", () => {
  const out = JSON.parse(execFileSync(process.execPath, [join(project, "node-cycle.cjs"), server.url], { cwd: project, encoding: "utf8" }).trim().split("\n").pop());
  assert.equal(out.file, "index.cjs");
  assert.equal(out.name, "AuthFetch");
  assert.deepEqual(out.cycle, { status: 200, user: "demo", stats: { refreshes: 1, retried: 1, queued: 0 } });
});

test("seamless-fetch/dpop resolves for import and require; the default entry refuses dpop: true, naming it", () => {
  const run = (type, code) => JSON.parse(execFileSync(process.execPath, ["--input-type=" + type, "-e", code], { cwd: project, encoding: "utf8" }).trim().split("\n").pop());
  const made = 'const a = new AuthFetch({ refreshUrl: "https://auth.example/token", dpop: true }); const p = a.dpopProof({ method: "GET", url: "https://api.example/x" });';
  const esm = run("module", 'import { AuthFetch } from "seamless-fetch/dpop"; ' + made + ' const proof = await p; console.log(JSON.stringify({ name: AuthFetch.name, parts: proof.split(".").length, header: JSON.parse(Buffer.from(proof.split(".")[0], "base64url")).typ }));');
  assert.deepEqual(esm, { name: "AuthFetch", parts: 3, header: "dpop+jwt" }, "a proof made in Node (WebCrypto; the key in memory: no IndexedDB)");
  const cjs = run("commonjs", 'const { AuthFetch } = require("seamless-fetch/dpop"); ' + made + ' p.then((proof) => console.log(JSON.stringify({ file: require.resolve("seamless-fetch/dpop").split("/").pop(), parts: proof.split(".").length })));');
  assert.deepEqual(cjs, { file: "dpop.cjs", parts: 3 });
  const plain = run("module", 'import { AuthFetch } from "seamless-fetch"; try { new AuthFetch({ refreshUrl: "https://auth.example/token", dpop: true }); console.log("{}"); } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }');
  assert.equal(plain.code, "INVALID_OPTIONS");
  assert.match(plain.message, /seamless-fetch\/dpop/);
});

test("an app that bundles the default entry carries none of the shell's DPoP code; one that bundles seamless-fetch/dpop does", async () => {
  const { build } = await import(resolve(root, "node_modules/esbuild/lib/main.js"));
  const bundled = async (entry) => {
    writeFileSync(join(project, "app.mjs"), `import { AuthFetch } from "${entry}"; globalThis.api = new AuthFetch({ refreshUrl: "/auth/refresh" });`);
    const out = await build({ entryPoints: [join(project, "app.mjs")], absWorkingDir: project, bundle: true, minify: true, format: "esm", write: false, logLevel: "error" });
    return out.outputFiles[0].text;
  };
  // Code only the DPoP paths have: reading the nonce header, the WebCrypto check's message, the
  // calls that report a lost key (from signing) and a refused proof. Calls, with their "(": the
  // DPoP core's export names are inside its embedded wasm too.
  const dpopOnly = ["dpop-nonce", "needs WebCrypto", "key_created(", "refusal("];
  const plain = await bundled("seamless-fetch");
  assert.deepEqual(dpopOnly.filter((s) => plain.includes(s)), [], "the default entry's bundle");
  const dpop = await bundled("seamless-fetch/dpop");
  assert.deepEqual(dpopOnly.filter((s) => dpop.includes(s)), dpopOnly, "the DPoP entry's bundle");
});

test("dedicated Web Worker in Chromium: import by path, no init(), a refresh cycle, a refusal", async () => {
  browser = await launch();
  const out = await pageResults(browser, server.url + "installed/worker.html");
  assert.deepEqual(out.cycle, { status: 200, user: "demo", stats: { refreshes: 1, retried: 1, queued: 0 } });
  assert.equal(out.warnings.length, 1, "one warning: no Web Storage in a worker");
  assert.equal(out.refused, "SESSION_EXPIRED");
  assert.deepEqual(out.logouts, ["SESSION_EXPIRED"]);
  assert.deepEqual(out.navigations, ["/login"], "navigate is called without a window");
});

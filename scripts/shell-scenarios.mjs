// How far the shell build (scripts/build-shell.sh) is from the package's browser suite: runs every
// scenario of tests/support/{core,tabs,hardening,backends,resilience}.js against it in headless
// Chromium, each in a fresh page, through the public API (`make` builds a shell AuthFetch), and
// prints what passes and what fails with the first line of why: how far issue 29's migration is.
// With --gate FILE it is a ratchet: every scenario FILE lists (one `module.name` a line, those
// that passed before) must pass, or it exits 1; one that passes and is not listed is named, to add.
// Usage: node scripts/shell-scenarios.mjs [--gate FILE] [filter]
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { launch, startServer } from "../tests/e2e/helpers.mjs";

const root = resolve(import.meta.dirname, "..");
const args = process.argv.slice(2);
const gateAt = args.indexOf("--gate");
const gate = gateAt >= 0 ? readFileSync(args.splice(gateAt, 2)[1], "utf8").split("\n").map((l) => l.trim()).filter(Boolean) : null;
const filter = args[0] || "";
const MODULES = ["core", "tabs", "hardening", "backends", "resilience"];
const names = (m) => {
  const text = readFileSync(resolve(root, "tests/support", m + ".js"), "utf8");
  return text.slice(text.indexOf("export const scenarios = {")).split("\n").map((l) => /^  async (\w+)\(/.exec(l)?.[1]).filter(Boolean);
};
const server = await startServer(["--serve", "/support/=" + resolve(root, "tests/support"), "--serve", "/shell/=" + resolve(root, "target/shell-pkg")]);
const browser = await launch();
const results = [];
for (const m of MODULES) {
  for (const name of names(m)) {
    if (filter && !(m + "." + name).includes(filter)) continue;
    const context = await browser.newContext({ bypassCSP: true });
    const page = await context.newPage();
    await page.goto(server.url + "shell/index.html");
    const outcome = await Promise.race([
      page.evaluate(async ([m, name]) => {
        const shell = await import("/shell/shell.js");
        const { instance } = await WebAssembly.instantiateStreaming(fetch("/shell/core.wasm"));
        shell.useCore(instance.exports);
        const make = (options) => {
          const api = new shell.AuthFetch(options);
          api.__wbg_ptr = 1; // the harness frees what has this
          return api;
        };
        const mod = await import("/support/" + m + ".js");
        try {
          await mod.run(name, make, { memory: instance.exports.memory, exports: instance.exports });
          return "pass";
        } catch (e) {
          return "fail: " + String(e && e.message || e).split("\n")[0].slice(0, 200);
        }
      }, [m, name]).catch((e) => "fail: " + String(e.message).split("\n")[0].slice(0, 200)),
      new Promise((r) => setTimeout(() => r("fail: timed out after 60 s"), 60_000)),
    ]);
    results.push({ module: m, name, outcome });
    console.log((outcome === "pass" ? "pass " : "FAIL ") + m + "." + name + (outcome === "pass" ? "" : "  " + outcome.slice(6)));
    await context.close();
  }
}
const passed = results.filter((r) => r.outcome === "pass").length;
console.log(`\n${passed} of ${results.length} scenarios pass against the shell build`);
mkdirSync(resolve(root, "test-results"), { recursive: true });
writeFileSync(resolve(root, "test-results/shell-scenarios.json"), JSON.stringify(results, null, 2));
await browser.close();
await server.stop();
if (gate) {
  const passing = new Set(results.filter((r) => r.outcome === "pass").map((r) => r.module + "." + r.name));
  const lost = gate.filter((n) => !passing.has(n));
  const gained = [...passing].filter((n) => !gate.includes(n));
  if (gained.length) console.log("passing now, not yet in the list (add them):\n  " + gained.join("\n  "));
  if (lost.length) {
    console.log("listed as passing, failing now:\n  " + lost.join("\n  "));
    process.exit(1);
  }
}

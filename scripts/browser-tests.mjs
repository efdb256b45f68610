// The browser tests: every scenario of tests/support/{core,tabs,hardening,backends,resilience,dpop}.js
// against the package as it ships (pkg/index.js, or pkg/dpop.js for dpop.js's, built by
// scripts/build.sh), each on a fresh page, through the public API, with real localStorage, fetch
// and Web Locks, in Chromium, Firefox and WebKit. Prints each outcome with the first line of why;
// exits 1 if any scenario fails.
//
// Engines (--engine, default all): `chromium` is Debian's Chromium through playwright-core, a
// fresh browser context per scenario; `firefox` (Firefox ESR through geckodriver, headless) and
// `webkit` (WebKitGTK's MiniBrowser through WebKitWebDriver, under an Xvfb that
// tests/e2e/helpers.mjs `webDriver` starts itself with `xvfb-run -a`: the caller needs no display)
// are driven over W3C WebDriver, one session per engine and, per scenario, a new tab (the previous
// one closed, so its locks, timers and listeners are gone), a top-level navigation to a blank
// page and an empty localStorage and sessionStorage; `execute/async` adds a module script
// (target/browser-tests/run.js, written here) that runs the scenario in the page's own realm.
// Engines run one after the other; every scenario has 60 s. No scenario is engine-specific: the
// scenarios allow for what engines do differently. Results go to test-results/browser-tests.json.
// Usage: node scripts/browser-tests.mjs [--engine chromium|firefox|webkit|all] [filter]
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { launch, startServer, webDriver } from "../tests/e2e/helpers.mjs";

const root = resolve(import.meta.dirname, "..");
const args = process.argv.slice(2);
const option = (flag) => {
  const at = args.indexOf(flag);
  return at >= 0 ? args.splice(at, 2)[1] : undefined;
};
const ENGINES = ["chromium", "firefox", "webkit"];
const engineArg = option("--engine") || "all";
const engines = engineArg === "all" ? ENGINES : engineArg.split(",");
for (const e of engines) if (!ENGINES.includes(e)) throw new Error(`--engine ${engineArg}: expected chromium, firefox, webkit or all`);
const filter = args[0] || "";
const TIMEOUT = 60_000;
const MODULES = ["core", "tabs", "hardening", "backends", "resilience", "dpop"];
const names = (m) => {
  const text = readFileSync(resolve(root, "tests/support", m + ".js"), "utf8");
  return text.slice(text.indexOf("export const scenarios = {")).split("\n").map((l) => /^  async (\w+)\(/.exec(l)?.[1]).filter(Boolean);
};
const todo = MODULES.flatMap((m) => names(m).map((name) => ({ module: m, name }))).filter(({ module, name }) => !filter || (module + "." + name).includes(filter));
if (todo.length === 0) throw new Error("no scenario found" + (filter ? " whose module.name contains " + JSON.stringify(filter) : ": the scenario files changed shape"));

/** Runs in the page: loads the package and the scenario's module, runs it; "pass" or "fail: why". */
async function inPage(m, name) {
  localStorage.clear(); // what a fresh Chromium context starts with; the WebDriver engines keep storage per origin
  sessionStorage.clear();
  const pkg = await import(m === "dpop" ? "/pkg/dpop.js" : "/pkg/index.js"); // DPoP is in its own entry
  const exports = await pkg.default(); // the core's exports: scenarios read its memory
  const make = (options) => new pkg.AuthFetch(options);
  const mod = await import("/support/" + m + ".js");
  try {
    await mod.run(name, make, { memory: exports.memory, exports });
    return "pass";
  } catch (e) {
    return "fail: " + String(e && e.message || e).split("\n")[0].slice(0, 200);
  }
}

const failure = (e) => "fail: " + String(e && e.message || e).split("\n")[0].slice(0, 200);
const call = (m, name) => `(${inPage})(${JSON.stringify(m)}, ${JSON.stringify(name)})`;

/** Chromium through playwright-core: a fresh context (storage, locks, page) per scenario. */
async function chromiumRunner(server) {
  const browser = await launch();
  let context = null;
  return {
    async run(m, name) {
      context = await browser.newContext({ bypassCSP: true });
      const page = await context.newPage();
      await page.goto(server.url + "runner/index.html");
      return page.evaluate(call(m, name));
    },
    async end() {
      await context?.close().catch(() => {});
      context = null;
    },
    close: () => browser.close(),
  };
}

/**
 * Firefox or WebKit over W3C WebDriver: per scenario a new tab (the previous one closed: its
 * page, locks, timers and listeners gone), a top-level navigation to the blank page, the scenario
 * in execute/async. After a timeout the driver is still busy with the script: that session is
 * ended and a new one started.
 */
async function webDriverRunner(engine, server) {
  let session = null;
  const open = async () => {
    session = await webDriver(engine);
    // A little longer than the per-scenario timeout: this script's timeout is the one that says
    // why, and a driver still busy with a timed-out script is free soon after, to end the session.
    await session.wd("POST", "/timeouts", { script: TIMEOUT + 2_000, pageLoad: 30_000 });
  };
  await open();
  let n = 0;
  return {
    async run(m, name) {
      const { wd, run } = session;
      const { handle } = await wd("POST", "/window/new", { type: "tab" });
      await wd("DELETE", "/window");
      await wd("POST", "/window", { handle });
      await wd("POST", "/url", { url: server.url + "runner/index.html?" + ++n });
      // Firefox runs a WebDriver script in a sandbox of its own, another realm than the page's, and
      // modules it imports would live there too (a TypeError from the page's Request would not be
      // instanceof theirs): the scenario is run by a module script of the page itself.
      const outcome = await run(async (m, name) => {
        const page = window.wrappedJSObject || window;
        if (!page.runScenario) {
          const script = document.createElement("script");
          script.type = "module";
          script.src = "/runner/run.js";
          await new Promise((resolve, reject) => {
            script.onload = resolve;
            script.onerror = () => reject(new Error("/runner/run.js did not load"));
            document.head.append(script);
          });
        }
        return page.runScenario(m, name);
      }, m, name);
      return typeof outcome === "string" ? outcome : failure(outcome && outcome.error || JSON.stringify(outcome));
    },
    async end(timedOut) {
      if (!timedOut) return;
      await session.close();
      await open();
    },
    close: () => session.close(),
  };
}

// The module the WebDriver engines load into the page to run a scenario (see webDriverRunner).
// A blank page on the test server's origin to run each scenario in, and that module.
const runnerDir = resolve(root, "target/browser-tests");
mkdirSync(runnerDir, { recursive: true });
writeFileSync(resolve(runnerDir, "index.html"), '<!doctype html><meta charset="utf-8"><title>seamless-fetch browser tests</title>\n');
writeFileSync(resolve(runnerDir, "run.js"), `window.runScenario = ${inPage};\n`);
const server = await startServer(["--serve", "/support/=" + resolve(root, "tests/support"), "--serve", "/runner/=" + runnerDir]);
const results = [];
const timings = {};
try {
  for (const engine of engines) {
    const start = Date.now();
    let runner;
    try {
      runner = engine === "chromium" ? await chromiumRunner(server) : await webDriverRunner(engine, server);
    } catch (e) {
      // Every scenario of an engine that did not start fails, and the other engines still run.
      const outcome = failure(new Error(engine + " did not start: " + (e && e.message)));
      console.log(engine + " FAIL  " + outcome.slice(6));
      for (const { module: m, name } of todo) results.push({ engine, module: m, name, outcome, ms: 0 });
      timings[engine] = (Date.now() - start) / 1000;
      continue;
    }
    try {
      for (const { module: m, name } of todo) {
        let timer;
        const began = Date.now();
        const timedOut = `fail: timed out after ${TIMEOUT / 1000} s`;
        const outcome = await Promise.race([
          runner.run(m, name).catch(failure),
          new Promise((r) => { timer = setTimeout(() => r(timedOut), TIMEOUT); }),
        ]);
        clearTimeout(timer);
        await runner.end(outcome === timedOut);
        results.push({ engine, module: m, name, outcome, ms: Date.now() - began });
        console.log(engine + " " + (outcome === "pass" ? "pass " : "FAIL ") + m + "." + name + (outcome === "pass" ? "" : "  " + outcome.slice(6)));
      }
    } finally {
      await runner.close().catch(() => {});
    }
    timings[engine] = (Date.now() - start) / 1000;
  }
} finally {
  await server.stop();
}
console.log("");
for (const engine of engines) {
  const mine = results.filter((r) => r.engine === engine);
  console.log(`${engine}: ${mine.filter((r) => r.outcome === "pass").length} of ${mine.length} scenarios pass (${timings[engine].toFixed(0)} s)`);
}
mkdirSync(resolve(root, "test-results"), { recursive: true });
writeFileSync(resolve(root, "test-results/browser-tests.json"), JSON.stringify(results, null, 2));
const failed = results.filter((r) => r.outcome !== "pass");
if (failed.length) {
  console.log(`${failed.length} failed:\n  ` + failed.map((r) => `${r.engine} ${r.module}.${r.name}`).join("\n  "));
  process.exit(1);
}

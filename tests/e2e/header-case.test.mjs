// Header names on the wire (issue 31): fetch sends them over HTTP/1.1 as the caller spelt them
// (a list of pairs, a plain object) or as a `Headers` gives them (lower case), and api.fetch must
// send the same, with the token's header spelt as `authHeader` says, on the first attempt, on the
// next request to the URL (the driver's lease) and on the replay after a 401. A fake server in JS
// sees headers only through `Headers`, lower-cased: this one is a real HTTP server recording
// Node's `req.rawHeaders`, and the page compares api.fetch with fetch in the same page. Chromium
// through Playwright; WebKit (WebKitGTK's MiniBrowser under Xvfb) when it is installed: the page
// posts its findings back, so no driver is needed.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import { dirname, extname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { launch } from "./helpers.mjs";

const pkg = resolve(dirname(fileURLToPath(import.meta.url)), "../../pkg");
const AUTH = "X-Api-TOKEN"; // an unusual spelling, to see that it is kept
const TYPES = { ".js": "text/javascript", ".wasm": "application/wasm" };

// Runs in the page: per form of headers, what fetch sent and what api.fetch sent on each attempt.
const PAGE = `<!doctype html><meta charset="utf-8"><script type="module">
const { AuthFetch } = await import("/pkg/index.js");
const forms = {
  pairs: () => [["X-Pair-Case", "1"], ["x-PAIR-case", "2"], ["Content-TYPE", "text/plain"]],
  Headers: () => new Headers([["X-Hdr-Case", "1"], ["X-Other", "2"]]),
  object: () => ({ "X-Plain-Case": "1", "Content-TYPE": "text/plain" }),
};
const log = async (id) => (await fetch("/log?id=" + id)).json();
const api = new AuthFetch({ refreshUrl: "/auth/refresh", authHeader: "${AUTH}", navigate: () => {} });
const out = {};
try {
  for (const [form, headers] of Object.entries(forms)) {
    await fetch("/echo/native-" + form, { method: "POST", body: "x", headers: headers() });
    api.setTokens({ accessToken: "good", refreshToken: "r1" });
    for (let i = 0; i < 2; i++) await api.fetch("/echo/api-" + form, { method: "POST", body: "x", headers: headers() });
    api.setTokens({ accessToken: "old", refreshToken: "r1" }); // refused once: refresh, replay
    const replayed = await api.fetch("/echo/replay-" + form, { method: "POST", body: "x", headers: headers() });
    out[form] = { native: await log("native-" + form), api: await log("api-" + form), replay: await log("replay-" + form), status: replayed.status };
  }
} catch (e) {
  out.fatal = String(e && e.stack || e);
}
await fetch("/done", { method: "POST", body: JSON.stringify(out) });
window.results = out;
</script>`;

let server, base, done;
const seen = new Map(); // id -> [[name, value], ...] of each request, in wire order
before(async () => {
  server = createServer(async (req, res) => {
    const url = new URL(req.url, "http://x");
    if (url.pathname.startsWith("/echo/")) {
      const id = url.pathname.slice(6);
      const pairs = [];
      for (let i = 0; i < req.rawHeaders.length; i += 2) pairs.push([req.rawHeaders[i], req.rawHeaders[i + 1]]);
      if (!seen.has(id)) seen.set(id, []);
      seen.get(id).push(pairs);
      req.resume();
      res.statusCode = (req.headers[AUTH.toLowerCase()] || "").endsWith(" old") ? 401 : 200;
      return res.end("{}");
    }
    if (url.pathname === "/auth/refresh") {
      req.resume();
      res.setHeader("content-type", "application/json");
      return res.end(JSON.stringify({ token: "new", refreshToken: "r2" }));
    }
    if (url.pathname === "/log") return res.end(JSON.stringify(seen.get(url.searchParams.get("id")) || []));
    if (url.pathname === "/done") {
      let body = "";
      req.on("data", (d) => (body += d));
      return req.on("end", () => { res.end(); done(JSON.parse(body)); });
    }
    if (url.pathname.startsWith("/pkg/")) {
      try {
        const file = await readFile(resolve(pkg, url.pathname.slice(5)));
        res.setHeader("content-type", TYPES[extname(url.pathname)] || "application/octet-stream");
        return res.end(file);
      } catch {
        res.statusCode = 404;
        return res.end("not built: SKIP_SETUP=1 bash scripts/build.sh");
      }
    }
    res.setHeader("content-type", "text/html");
    res.end(PAGE);
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${server.address().port}/`;
});
after(() => new Promise((r) => server.close(r)));

/** The page's findings, once it has posted them. */
function results(ms = 30000) {
  seen.clear();
  return new Promise((resolveDone, reject) => {
    const timer = setTimeout(() => reject(new Error("the page did not post its results")), ms);
    done = (r) => { clearTimeout(timer); resolveDone(r); };
  });
}

/**
 * The headers the test set, as sent: those of fetch, and api.fetch's on every attempt without
 * its token header, which must be spelt as `authHeader`.
 */
function check(found) {
  assert.equal(found.fatal, undefined, found.fatal);
  // By name: the order of different names carries no meaning, and Chromium's own order for a
  // Headers is neither the given one nor its iterator's.
  const byName = (a, b) => (a[0].toLowerCase() < b[0].toLowerCase() ? -1 : 1);
  const ours = (pairs) => pairs.filter(([n]) => /^x-|^content-type$/i.test(n)).sort(byName);
  for (const [form, { native, api, replay, status }] of Object.entries(found)) {
    assert.equal(native.length, 1, form);
    assert.equal(status, 200, form + ": replayed");
    const expected = ours(native[0]);
    const attempts = [...api, ...replay];
    assert.equal(attempts.length, 4, form + ": first, lease, refused, replay");
    for (const [i, pairs] of attempts.entries()) {
      const what = `${form}, attempt ${i + 1}`;
      assert.deepEqual(ours(pairs).filter(([n]) => n.toLowerCase() !== AUTH.toLowerCase()), expected, what + ": as fetch sent them");
      assert.deepEqual(pairs.filter(([n]) => n.toLowerCase() === AUTH.toLowerCase()).map(([n]) => n), [AUTH], what + ": the token header");
    }
  }
  return Object.fromEntries(Object.entries(found).map(([form, { native }]) => [form, ours(native[0]).map(([n]) => n).join(" ")]));
}

test("Chromium: api.fetch sends header names as fetch does, on every attempt", async () => {
  const browser = await launch();
  try {
    const page = await browser.newPage();
    const posted = results();
    await page.goto(base);
    console.log("native names:", JSON.stringify(check(await posted)));
  } finally {
    await browser.close();
  }
});

const minibrowser = (() => {
  try {
    return execFileSync("dpkg", ["-L", "libwebkit2gtk-4.1-0"], { encoding: "utf8" }).split("\n").find((l) => l.endsWith("/MiniBrowser"));
  } catch {
    return undefined;
  }
})();

test("WebKit: api.fetch sends header names as fetch does, on every attempt", { skip: !minibrowser && "no MiniBrowser" }, async () => {
  const posted = results(60000);
  const child = spawn("xvfb-run", ["-a", minibrowser, base], { stdio: "ignore", detached: true });
  try {
    console.log("native names:", JSON.stringify(check(await posted)));
  } finally {
    try { process.kill(-child.pid, "SIGTERM"); } catch { /* gone */ }
  }
});

// Runs in plain Node, in a fresh project that installed the packed tarball: no init(), no window.
// Prints one JSON line of what it saw. Usage: node node-cycle.mjs <demo server URL>
import init, { AuthFetch } from "seamless-fetch";

const base = process.argv[2];
const out = {};
const post = (path, body) => fetch(base + path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body || {}) });

// A relative refreshUrl with no page (a client module's top level during server-side rendering):
// the instance is made, and every use of it is refused, saying why.
const pageless = new AuthFetch({ refreshUrl: "/auth/refresh", storage: "memory" });
pageless.setTokens({ accessToken: "a", refreshToken: "r" });
const refusal = (p) => p.then(() => "resolved", (e) => e.code + ": " + e.message);
out.relative = await Promise.all([refusal(pageless.fetch(base + "api/me")), refusal(pageless.refresh()), refusal(pageless.getAccessToken())]);

// storage "local" where there is no Web Storage: memory, with one warning.
const warnings = [];
const warn = console.warn;
console.warn = (...args) => warnings.push(args.join(" "));
const logouts = [], navigations = [];
const api = new AuthFetch({ refreshUrl: base + "auth/refresh", storage: "local", onLogout: (i) => logouts.push(i.reason), navigate: (u) => navigations.push(u) });
console.warn = warn;
out.warnings = warnings;

// `api.fetch` is a getter into wasm: its first read keeps the function on the instance, so that
// `api.fetch(url)` on every request is a property read (scripts/minify-names.mjs).
const ownFetch = () => Object.getOwnPropertyDescriptor(api, "fetch");
const unread = ownFetch();
const first = api.fetch;
out.fetchKept = unread === undefined && ownFetch()?.value === first && api.fetch === first;
// An instance frozen before its first read (a state library's store) still gives its fetch.
const frozen = Object.freeze(new AuthFetch({ refreshUrl: base + "auth/refresh", storage: "memory" }));
out.frozenFetch = typeof frozen.fetch === "function" && frozen.fetch === frozen.fetch;

const { token, refreshToken } = await (await post("auth/login", { username: "demo", password: "demo" })).json();
api.setTokens({ accessToken: token, refreshToken });
await post("demo/expire");
const res = await api.fetch(base + "api/me");
out.cycle = { status: res.status, user: (await res.json()).user, stats: api.stats() };
const posted = await api.fetch(base + "api/echo", { method: "POST", body: "kept" });
out.echo = (await posted.json()).received;

await post("auth/revoke");
await post("demo/expire");
try {
  await api.fetch(base + "api/me");
  out.refused = "resolved";
} catch (e) {
  out.refused = e.code;
}
out.logouts = logouts;
out.navigations = navigations;

// Disposal is idempotent (a `using` block and an explicit call, a cleanup that runs twice); the
// bound fetch still rejects after it. Node 20 has `Symbol.dispose`, not `using` without flags.
const disposed = new AuthFetch({ refreshUrl: base + "auth/refresh", storage: "memory" });
const disposedFetch = disposed.fetch;
out.disposal = [];
for (const end of [() => disposed.dispose(), () => disposed.dispose(), () => disposed.free(), () => disposed[Symbol.dispose]()]) {
  try {
    end();
    out.disposal.push("ok");
  } catch (e) {
    out.disposal.push(String(e));
  }
}
out.disposedFetch = await disposedFetch(base + "api/me").then(() => "resolved", (e) => e.message);

// The build that ships, with its own allocator: 10,000 refresh cycles leave wasm memory flat.
const wasm = await init(); // already initialised on import: returns the same instance
const valid = new Set(["m0"]);
let n = 0;
const fake = async (input, init) => {
  const req = new Request(input, init);
  if (req.url.endsWith("/auth/refresh")) {
    valid.clear();
    valid.add("m" + ++n);
    return Response.json({ token: "m" + n, refreshToken: "q" + n });
  }
  return valid.has((req.headers.get("authorization") || "").slice(7)) ? Response.json({ ok: true }) : Response.json({}, { status: 401 });
};
const mem = new AuthFetch({ refreshUrl: "https://api.example/auth/refresh", storage: "memory", fetch: fake });
mem.setTokens({ accessToken: "m0", refreshToken: "q0" });
const cycle = async () => {
  valid.clear();
  const r = await mem.fetch("https://api.example/api/x");
  if (r.status !== 200) throw new Error("cycle answered " + r.status);
};
for (let i = 0; i < 100; i++) await cycle();
const after100 = wasm.memory.buffer.byteLength;
for (let i = 100; i < 10000; i++) await cycle();
out.memory = { after100, after10k: wasm.memory.buffer.byteLength, refreshes: mem.stats().refreshes };
console.log(JSON.stringify(out));

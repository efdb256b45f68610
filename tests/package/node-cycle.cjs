// Runs in plain Node as CommonJS (`require`, as default Jest and older tools load packages), in a
// fresh project that installed the packed tarball. Prints one JSON line of what it saw.
// Usage: node node-cycle.cjs <demo server URL>
const { AuthFetch } = require("seamless-fetch");

const base = process.argv[2];
const post = (path, body) => fetch(base + path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body || {}) });

(async () => {
  const out = { file: require.resolve("seamless-fetch").split(/[\\/]/).pop() };
  // The first construction, in the task that required the module, compiles it synchronously.
  const api = new AuthFetch({ refreshUrl: base + "auth/refresh", storage: "memory", loginUrl: null });
  const { token, refreshToken } = await (await post("auth/login", { username: "demo", password: "demo" })).json();
  api.setTokens({ accessToken: token, refreshToken });
  await post("demo/expire");
  const res = await api.fetch(base + "api/me");
  out.cycle = { status: res.status, user: (await res.json()).user, stats: api.stats() };
  out.name = api.constructor.name;
  console.log(JSON.stringify(out));
})();

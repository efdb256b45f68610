// Runs in the browser: api.fetch handed to ky, ofetch, openapi-fetch and axios's fetch adapter,
// each with a refresh in the middle (the server expires every access token first), then the
// per-request control header through each: `no-token` with a valid token (the answer is 401 only
// if the token was left out), `no-refresh` with an expired one (401 back, and no refresh). And a
// refresh function that sends its request with ky. Results go to window.results for the
// end-to-end test to read.
import { AuthFetch } from "seamless-fetch"; // ready on import: no init()
import ky from "ky";
import { createFetch } from "ofetch";
import createClient from "openapi-fetch";
import axios from "axios";

const control = (path) => fetch(path, { method: "POST" }).then((r) => r.json());
const serverLog = () => fetch("/demo/log").then((r) => r.json());

async function login(api) {
  const res = await fetch("/auth/login", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username: "demo", password: "demo" }) });
  const { token, refreshToken } = await res.json();
  api.setTokens({ accessToken: token, refreshToken });
}

const noToken = { "x-seamless-fetch": "no-token" };
const noRefresh = { "x-seamless-fetch": "no-refresh" };

/** Each library's own way to send one GET /api/me with `headers` and get the status back. */
const statusOf = {
  ky: (api, headers) => ky.get("/api/me", { fetch: api.fetch, headers, throwHttpErrors: false, retry: 0 }).then((r) => r.status),
  ofetch: (api, headers) => createFetch({ fetch: api.fetch }).raw("/api/me", { headers, ignoreResponseError: true, retry: 0 }).then((r) => r.status),
  "openapi-fetch": (api, headers) => createClient({ baseUrl: location.origin, fetch: api.fetch }).GET("/api/me", { headers }).then((r) => r.response.status),
  "axios fetch adapter": (api, headers) => axios.create({ adapter: "fetch", env: { fetch: api.fetch } }).get("/api/me", { headers, validateStatus: () => true }).then((r) => r.status),
};

const clients = {
  ky: async (api) => (await ky.get("/api/me", { fetch: api.fetch }).json()).user,
  ofetch: async (api) => (await createFetch({ fetch: api.fetch })("/api/me")).user,
  "openapi-fetch": async (api) => {
    const { data, error } = await createClient({ baseUrl: location.origin, fetch: api.fetch }).GET("/api/me");
    if (error) throw new Error("openapi-fetch error " + JSON.stringify(error));
    return data.user;
  },
  "axios fetch adapter": async (api) => {
    const client = axios.create({ adapter: "fetch", env: { fetch: api.fetch } });
    const posted = await client.post("/api/echo", { kept: "body" });
    if (JSON.parse(posted.data.received).kept !== "body") throw new Error("axios POST body lost");
    return (await client.get("/api/me")).data.user;
  },
};

/**
 * A refresh function that sends its request with ky, through the `fetch` it is given (the
 * transport: here the `fetch` option, which counts what it sends). ky hands that fetch a Request,
 * whose signal follows the given one, and calls it as a method of its options; after an await,
 * as most functions do. Its own keys, so that it shares no session with the other instance.
 */
async function refreshThroughKy() {
  const sent = [];
  const transport = (input, init) => { sent.push(typeof input === "string" ? input : input.url); return fetch(input, init); };
  const api = new AuthFetch({
    refresh: async ({ refreshToken, signal, fetch }) => {
      await new Promise((r) => setTimeout(r, 10));
      const t = await ky.create({ fetch }).post("/auth/refresh", { json: { refreshToken }, signal, retry: 0 }).json();
      return { accessToken: t.token, refreshToken: t.refreshToken, expiresIn: t.expiresIn };
    },
    fetch: transport, loginUrl: null, refreshAheadMs: 0, accessTokenKey: "ky-token", refreshTokenKey: "ky-refresh",
  });
  await login(api);
  await control("/demo/expire");
  const before = (await serverLog()).refreshes;
  const started = Date.now();
  const user = (await ky.get("/api/me", { fetch: api.fetch }).json()).user;
  const refreshes = (await serverLog()).refreshes - before;
  const throughTransport = sent.filter((url) => new URL(url, location.href).pathname === "/auth/refresh").length;
  return { user, refreshes, throughTransport, within: Date.now() - started < 5000 };
}

async function main() {
  const api = new AuthFetch({ refreshUrl: "/auth/refresh", loginUrl: null, refreshAheadMs: 0 });
  await login(api);
  const results = {};
  try {
    results["ky in the refresh function"] = await refreshThroughKy();
  } catch (e) {
    results["ky in the refresh function"] = { error: String(e && (e.stack || e)) };
  }
  for (const [name, call] of Object.entries(clients)) {
    await control("/demo/expire");
    const before = (await serverLog()).refreshes;
    try {
      const user = await call(api);
      const refreshes = (await serverLog()).refreshes - before;
      const noTokenStatus = await statusOf[name](api, noToken);
      await control("/demo/expire");
      const noRefreshStatus = await statusOf[name](api, noRefresh);
      const after = (await serverLog()).refreshes;
      results[name] = { user, refreshes, noToken: noTokenStatus, noRefresh: noRefreshStatus, refreshedByNoRefresh: after - before - refreshes };
    } catch (e) {
      results[name] = { error: String(e && (e.stack || e)) };
    }
  }
  window.results = results;
  document.getElementById("out").textContent = JSON.stringify(results, null, 2);
}

main().catch((e) => { window.results = { fatal: String(e && (e.stack || e)) }; });

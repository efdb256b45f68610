// Runs in the browser: api.fetch handed to ky, ofetch, openapi-fetch and axios's fetch adapter,
// each with a refresh in the middle (the server expires every access token first), then the
// per-request control header through each: `no-token` with a valid token (the answer is 401 only
// if the token was left out), `no-refresh` with an expired one (401 back, and no refresh). Results
// go to window.results for the end-to-end test to read.
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

async function main() {
  const api = new AuthFetch({ refreshUrl: "/auth/refresh", loginUrl: null, refreshAheadMs: 0 });
  await login(api);
  const results = {};
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

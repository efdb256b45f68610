// Runs in the browser: api.fetch handed to ky, ofetch, openapi-fetch and axios's fetch adapter,
// each with a refresh in the middle (the server expires every access token first). Results go to
// window.results for the end-to-end test to read.
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
      results[name] = { user, refreshes: (await serverLog()).refreshes - before };
    } catch (e) {
      results[name] = { error: String(e && (e.stack || e)) };
    }
  }
  window.results = results;
  document.getElementById("out").textContent = JSON.stringify(results, null, 2);
}

main().catch((e) => { window.results = { fatal: String(e && (e.stack || e)) }; });

import { AuthFetch } from "seamless-fetch";

const auth = new AuthFetch({ refreshUrl: "/auth/refresh", storage: "memory", loginUrl: null });
auth.setTokens({ accessToken: "a0", refreshToken: "r0" });
auth.fetch("/api/me").then(
  async (res) => postMessage({ status: res.status, body: await res.json() }),
  (e) => postMessage({ error: (e && e.code ? e.code + ": " : "") + (e && e.message ? e.message : String(e)) }),
);

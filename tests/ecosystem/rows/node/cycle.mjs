import { AuthFetch } from "seamless-fetch";

const base = process.argv[2];
const auth = new AuthFetch({ refreshUrl: base + "/auth/refresh", storage: "memory", loginUrl: null, allowedOrigins: [base] });
auth.setTokens({ accessToken: "a0", refreshToken: "r0" });
auth.fetch(base + "/api/me").then(
  async (res) => console.log(JSON.stringify({ status: res.status, body: await res.json() })),
  (e) => console.log(JSON.stringify({ error: (e && e.code ? e.code + ": " : "") + (e && e.message ? e.message : String(e)) })),
);

// @vitest-environment jsdom
import { expect, test } from "vitest";
import { AuthFetch } from "seamless-fetch";

test("an expired token is refreshed once and the request replayed", async () => {
  const base = process.env.ECO_API;
  const auth = new AuthFetch({ refreshUrl: base + "/auth/refresh", storage: "memory", loginUrl: null, allowedOrigins: [base] });
  auth.setTokens({ accessToken: "a0", refreshToken: "r0" });
  const res = await auth.fetch(base + "/api/me");
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({ user: "demo" });
});

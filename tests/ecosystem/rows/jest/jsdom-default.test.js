/**
 * @jest-environment jsdom
 */
// Jest's own jsdom environment has no Fetch API (no fetch, Request, Response) and no TextDecoder,
// so no request can be made here without adding them; a component test still imports code that
// imports the package. It must load, construct and take tokens.
const { AuthFetch } = require("seamless-fetch");

test("loads, constructs and takes tokens in jest-environment-jsdom", () => {
  const auth = new AuthFetch({ refreshUrl: "/auth/refresh", storage: "memory", loginUrl: null });
  auth.setTokens({ accessToken: "a0", refreshToken: "r0" });
  expect(typeof auth.fetch).toBe("function");
  auth.dispose();
});

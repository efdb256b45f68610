// A service worker that calls the API with the package; the page asks it over a MessageChannel.
import { AuthFetch } from "./vendor/seamless-fetch.mjs";

const auth = new AuthFetch({ refreshUrl: "/auth/refresh", storage: "memory", loginUrl: null });

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("message", (event) => {
  const port = event.ports[0];
  auth.setTokens({ accessToken: "a0", refreshToken: "r0" });
  event.waitUntil(auth.fetch("/api/me").then(
    async (res) => port.postMessage({ status: res.status, body: await res.json() }),
    (e) => port.postMessage({ error: (e && e.code ? e.code + ": " : "") + (e && e.message ? e.message : String(e)) }),
  ));
});

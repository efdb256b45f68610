// The demo's one AuthFetch, with a transport that reports every request the library sends, so the
// page can draw what the library did. Nothing here is needed in a real app except the options.
import { AuthFetch } from "/pkg/index.js";

/** Listeners for what happens on the wire: {type: "send"|"answer"|"refresh"|"refreshed"|"logout", ...}. */
export const wire = new EventTarget();
const emit = (detail) => wire.dispatchEvent(new CustomEvent("wire", { detail }));

async function reportingFetch(input, init) {
  const req = new Request(input, init);
  const path = new URL(req.url).pathname;
  const id = req.headers.get("x-demo-req");
  const refresh = path === "/auth/refresh";
  emit({ type: "send", id, path, refresh, withToken: req.headers.has("authorization"), at: performance.now() });
  let res;
  try {
    res = await fetch(req);
  } catch (e) {
    emit({ type: "answer", id, path, refresh, status: 0, expired: false, at: performance.now() });
    throw e;
  }
  let expired = res.status === 401;
  if (!refresh && res.ok && (res.headers.get("content-type") || "").includes("json")) {
    expired = (await res.clone().json().catch(() => ({}))).code === 409;
  }
  emit({ type: "answer", id, path, refresh, status: res.status, expired, at: performance.now() });
  return res;
}

// ?ahead=0 turns refresh-ahead off, to watch the reactive path (401, one refresh, replay).
const params = new URLSearchParams(location.search);
const ahead = params.get("ahead");

/**
 * ?mode=cookie: the refresh token lives in an HttpOnly cookie the page never sees (also read from
 * the login page's `next`, so that the login starts the kind of session the dashboard expects).
 */
export const cookieMode = params.get("mode") === "cookie" || new URLSearchParams((params.get("next") || "").split("?")[1] || "").get("mode") === "cookie";

/** The CSRF double-submit value: the server's readable `csrf` cookie, repeated as a header. */
const csrf = () => ({ "x-csrf-token": (/(?:^|; )csrf=([^;]*)/.exec(document.cookie) || [])[1] || "" });

/** Listeners for token changes (onTokens): {reason, expiresAt}. No token is ever in them. */
export const tokens = new EventTarget();

export const api = new AuthFetch({
  refreshUrl: "/auth/refresh",
  ...(cookieMode ? { refreshTokenIn: "cookie", refreshHeaders: csrf } : {}),
  onTokens: (change) => tokens.dispatchEvent(new CustomEvent("change", { detail: change })),
  loginUrl: "/login",
  loginReturnParam: "next",
  expiredBodyCodes: [409],
  refreshAheadMs: ahead === null ? undefined : Number(ahead),
  fetch: reportingFetch,
  onRefresh: ({ durationMs }) => emit({ type: "refreshed", ok: true, durationMs, at: performance.now() }),
  onRefreshError: (e) => emit({ type: "refreshed", ok: false, code: e.code, message: e.message, at: performance.now() }),
  onLogout: ({ reason }) => emit({ type: "logout", reason, at: performance.now() }),
});

export { AuthFetch };

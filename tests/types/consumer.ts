// Type-checked by `tsc -p tests/types` in the test command: the package's types describe the
// options and errors precisely enough to catch mistakes (the @ts-expect-error lines must fail).
import { AuthFetch, type AuthError, type AuthErrorCode, type AuthFetchOptions } from "seamless-fetch";
import init, { initSync } from "seamless-fetch/manual";

// The manual entry: for apps that load the .wasm themselves (CDN, strict CSP, edge runtimes).
await init({ module_or_path: "/assets/seamless_fetch_bg.wasm" });
initSync({ module: new WebAssembly.Module(new Uint8Array()) });

const options: AuthFetchOptions = {
  refreshUrl: "/auth/refresh",
  loginUrl: null,
  storage: "session",
  expiredBodyCodes: [409, "TOKEN_EXPIRED"],
  tokenPaths: { accessToken: "data.token" },
  onLogout: ({ reason }) => console.log(reason),
  onRefreshError: (e: AuthError) => console.log(e.code),
};
const api = new AuthFetch(options);
api.setTokens({ accessToken: "a", refreshToken: "r" });

const res: Response = await api.fetch("/api/me", { method: "GET" });
const viaUrl: Promise<Response> = api.fetch(new URL("https://example.com"));
const passed: typeof fetch = api.fetch;
const { refreshes, retried, queued }: { refreshes: number; retried: number; queued: number } = api.stats();
const busy: boolean = api.isRefreshing;
const back: string = AuthFetch.safeReturnPath("/x", "/");
await api.refresh();

function handle(e: unknown): AuthErrorCode | undefined {
  return e instanceof Error && e.name === "AuthError" ? (e as AuthError).code : undefined;
}
const code: AuthErrorCode = "SESSION_EXPIRED";

// @ts-expect-error refreshUrl is required
new AuthFetch({ loginUrl: "/login" });
// @ts-expect-error storage takes "local" | "session" | "memory"
new AuthFetch({ refreshUrl: "/r", storage: "cookie" });
// @ts-expect-error expiredStatuses holds numbers
new AuthFetch({ refreshUrl: "/r", expiredStatuses: ["401"] });
// @ts-expect-error unknown codes are not AuthErrorCodes
const wrong: AuthErrorCode = "EXPIRED";
// @ts-expect-error setTokens needs both tokens
api.setTokens({ accessToken: "a" });

void [res, viaUrl, passed, refreshes, retried, queued, busy, back, handle, code, wrong];

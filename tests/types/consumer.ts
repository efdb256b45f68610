// Type-checked by `tsc -p tests/types` in the test command: the package's types describe the
// options and errors precisely enough to catch mistakes (the @ts-expect-error lines must fail).
import ready, { AuthFetch, type AuthError, type AuthErrorCode, type AuthFetchOptions, type RefreshFunction, type SeamlessFetchControl, type TokenChange } from "seamless-fetch";
import init, { initSync } from "seamless-fetch/manual";
import { AuthFetch as BoundFetch } from "seamless-fetch/dpop";

// The manual entry: for apps that load the .wasm themselves (CDN, strict CSP, edge runtimes).
await init({ module_or_path: "/assets/seamless_fetch_bg.wasm" });
initSync({ module: new WebAssembly.Module(new Uint8Array()) });

// The default entry's init() is never needed; it resolves to the module's exports.
const wasmBytes: number = (await ready()).memory.buffer.byteLength;
const sameBytes: number = (await import("seamless-fetch")).initSync().memory.buffer.byteLength;
// @ts-expect-error the default entry's init takes no module: it is inside the package
ready({ module_or_path: "/x.wasm" });

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
// @ts-expect-error setTokens needs an access token
api.setTokens({ refreshToken: "r" });

// Any backend: a refresh function, cookie sessions, refresh headers, token events, per-request control.
const viaFunction: RefreshFunction = async ({ refreshToken, signal, fetch }) =>
  fetch(new Request("/graphql", { method: "POST", body: JSON.stringify({ refreshToken }), signal }));
const sdk = new AuthFetch({ refresh: async () => ({ accessToken: "a", expiresIn: 60 }), onTokens: ({ reason, expiresAt }: TokenChange) => console.log(reason, expiresAt) });
const cookie = new AuthFetch({ refreshUrl: "/auth/refresh", refreshTokenIn: "cookie", storage: "memory", refreshHeaders: () => ({ "x-csrf-token": "t" }) });
cookie.setTokens({ accessToken: "a" });
new AuthFetch({ refresh: viaFunction, isExpired: (r) => r.headers.get("token-expired") === "true" });
const token: string | null = await sdk.getAccessToken({ minValidityMs: 5000 });
const token2: string | null = await sdk.getAccessToken();
const control: SeamlessFetchControl = "no-refresh";
await api.fetch("/api/poll", { headers: { "x-seamless-fetch": control } });
// @ts-expect-error exactly one of refreshUrl and refresh
new AuthFetch({ refreshUrl: "/r", refresh: viaFunction });
// @ts-expect-error refreshFormat applies to refreshUrl only
new AuthFetch({ refresh: viaFunction, refreshFormat: "oauth2" });
// @ts-expect-error refreshTokenIn takes "storage" | "cookie"
new AuthFetch({ refreshUrl: "/r", refreshTokenIn: "header" });
// @ts-expect-error getAccessToken may give null
const sure: string = await sdk.getAccessToken();
// @ts-expect-error onTokens hears reasons, not tokens
new AuthFetch({ refreshUrl: "/r", onTokens: (t: string) => t });

// DPoP, from its own entry: proofs for the app's own requests; dpop applies to refreshUrl only.
const bound = new BoundFetch({ refreshUrl: "https://auth.example/token", refreshFormat: "oauth2", clientId: "spa", dpop: true });
const proof: string = await bound.dpopProof({ method: "GET", url: "wss://api.example/socket" });
// @ts-expect-error dpop needs refreshUrl
new BoundFetch({ refresh: viaFunction, dpop: true });
// @ts-expect-error the default entry has no DPoP
new AuthFetch({ refreshUrl: "/r", dpop: true });

// Ending an instance: dispose(), or `using` (Symbol.dispose).
sdk.dispose();
{
  using scoped = new AuthFetch({ refreshUrl: "/r" });
  await scoped.fetch("/api/once");
}

void [res, viaUrl, passed, refreshes, retried, queued, busy, back, handle, code, wrong, token, token2, sure];

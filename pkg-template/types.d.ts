// The package's public types, one file for both entries (scripts/bundle-entry.mjs adds each
// entry's init functions): the contract README "Versioning" names, kept by hand beside
// pkg-template/shell.js, and checked by `tsc -p tests/types` and the release check.

/** What `error.code` says on an `AuthError`. */
export type AuthErrorCode = "SESSION_EXPIRED" | "REFRESH_FAILED" | "NO_REFRESH_TOKEN" | "NO_SESSION" | "INVALID_TOKEN" | "INVALID_OPTIONS" | "DPOP_KEY_LOST" | "DPOP_REFUSED";
/** The error `AuthFetch` rejects or throws with; a caller's abort stays a DOMException `AbortError`. */
export interface AuthError extends Error { name: "AuthError"; code: AuthErrorCode }
/** Tokens as `setTokens` takes them: both, or with `refreshTokenIn: "cookie"` the access token only. */
export interface AuthTokens { accessToken: string; refreshToken?: string }
/** Counts since construction. */
export interface AuthFetchStats { refreshes: number; retried: number; queued: number }
/** What a `refresh` function is given. `refreshToken` is null in a cookie session; `accessToken` when there is none yet. `fetch`: the transport (the `fetch` option or the global), to send the refresh request with: it never waits behind this refresh and never adds the access token. */
export interface RefreshArgs { refreshToken: string | null; accessToken: string | null; signal: AbortSignal; fetch: typeof fetch }
/** What a `refresh` function may return instead of a `Response`. `expiresIn` is in seconds. */
export interface RefreshedTokens { accessToken: string; refreshToken?: string; expiresIn?: number }
/** Resolves to the endpoint's `Response` (judged as a `refreshUrl` answer) or the new tokens; rejects with `{ code: "SESSION_EXPIRED" }` to end the session. */
export type RefreshFunction = (args: RefreshArgs) => Promise<Response | RefreshedTokens> | Response | RefreshedTokens;
/** What `onTokens` hears. `expiresAt`: the new token's expiry, epoch ms on the server's clock, when known. Never a token. */
export interface TokenChange { reason: "refresh" | "set" | "clear" | "tab"; expiresAt: number | null }
/** Values of the `x-seamless-fetch` request header: send without the token, or with it but without refresh and replay. */
export type SeamlessFetchControl = "no-token" | "no-refresh";
/** Headers for the refresh request, or a function called for each refresh that returns them. */
export type RefreshHeaders = Record<string, string> | (() => Record<string, string>);
/** Options every `AuthFetch` takes. */
export interface AuthFetchBaseOptions {
    refreshTokenIn?: "storage" | "cookie";
    loginUrl?: string | null;
    loginReturnParam?: string | null;
    storage?: "local" | "session" | "memory";
    accessTokenKey?: string;
    refreshTokenKey?: string;
    authHeader?: string;
    authScheme?: string;
    expiredStatuses?: number[];
    expiredBodyCodes?: Array<number | string>;
    expiredBodyField?: string;
    isExpired?: (response: Response) => boolean | Promise<boolean>;
    /** Dotted paths of the tokens in a refresh answer. Each one not given: the first present of `accessToken`, `token`, `access_token` (`refreshToken`, `refresh_token`; `expiresIn`, `expires_in`). */
    tokenPaths?: { accessToken?: string; refreshToken?: string; expiresIn?: string };
    refreshTimeoutMs?: number;
    allowedOrigins?: string[];
    crossTab?: boolean;
    refreshAheadMs?: number;
    fetch?: typeof fetch;
    onRefresh?: (info: { durationMs: number }) => void;
    onRefreshError?: (error: AuthError) => void;
    onLogout?: (info: { reason: AuthErrorCode | "LOGOUT" }) => void;
    onTokens?: (change: TokenChange) => void;
    navigate?: (url: string) => void;
}
/** Refresh through an endpoint. */
export interface AuthFetchEndpointOptions extends AuthFetchBaseOptions {
    refreshUrl: string;
    refresh?: never;
    refreshFormat?: "json" | "oauth2";
    refreshFields?: { refreshToken?: string; accessToken?: string };
    refreshHeaders?: RefreshHeaders;
    clientId?: string | null;
    scope?: string | null;
    /**
     * Sender-constrained tokens (RFC 9449): every request with the token, every refresh call and
     * the app's own requests to `refreshUrl` carry a DPoP proof signed by a non-extractable P-256
     * key kept in IndexedDB; the token goes as `Authorization: DPoP <token>`. Needs a secure context.
     */
    dpop?: boolean;
}
/** Refresh through a function of the app's own. */
export interface AuthFetchFunctionOptions extends AuthFetchBaseOptions {
    refresh: RefreshFunction;
    refreshUrl?: never;
    refreshFormat?: never;
    refreshFields?: never;
    refreshHeaders?: never;
    clientId?: never;
    scope?: never;
    dpop?: never;
}
/** Options of `new AuthFetch(options)`: exactly one of `refreshUrl` and `refresh` is required. */
export type AuthFetchOptions = AuthFetchEndpointOptions | AuthFetchFunctionOptions;



/**
 * A `fetch` that keeps the session alive: attaches the access token, refreshes it once when it
 * expires (in this tab and across tabs), replays the requests that waited, and sends the user to
 * the login page when the session is over.
 */
export class AuthFetch {
    [Symbol.dispose](): void;
    /**
     * Removes both tokens. A refresh still in flight cannot bring them back.
     */
    clearTokens(): void;
    /**
     * Ends this instance now (`free()` and `Symbol.dispose`, so `using`, do the same): it leaves
     * its session (its `onTokens` and the storage events it heard stop; the session's state is
     * not handed to later instances once none is left on it), its bound `fetch` rejects every
     * later request, and this object can no longer be used. Requests already made go on to their
     * answers. Until then the instance lives while this object or its bound `fetch` is reachable.
     */
    dispose(): void;
    /**
     * `dispose()`, in place of wasm-bindgen's own `free()`, which `Symbol.dispose` calls. The
     * garbage collector frees this object without it: then the bound `fetch` may still be in use.
     */
    free(): void;
    /**
     * The access token to hand a WebSocket, an `EventSource` or another SDK: refreshed first
     * (joining any refresh in flight, here or in another tab) when it has expired or would
     * expire within `minValidityMs` on the server's clock. `null` when there is no session.
     */
    getAccessToken(options?: { minValidityMs?: number } | null): Promise<string | null>;
    /**
     * With `dpop: true`: a DPoP proof for a request the app sends itself (a WebSocket, an SDK),
     * bound to the current access token (`ath`) with the nonce `url`'s origin gave last.
     */
    dpopProof(request: { method?: string; url: string | URL }): Promise<string>;
    /**
     * Clears the tokens, fires `onLogout` and goes to `loginUrl`.
     */
    logout(): void;
    /**
     * Validates `options` (throwing an `AuthError` `INVALID_OPTIONS` that names the key) and
     * opens the token storage.
     */
    constructor(options: AuthFetchOptions);
    /**
     * Forces one refresh now, joining one already in flight. Rejects with the refresh's
     * `AuthError`.
     */
    refresh(): Promise<void>;
    /**
     * For login pages: `value` when it is a path on this origin, else `fallback`. Refuses
     * `//evil.com`, `/\evil.com`, absolute URLs, `javascript:` and encoded or control-character
     * tricks, so a `?next=` parameter cannot become an open redirect.
     */
    static safeReturnPath(value: any, fallback: string): string;
    /**
     * Stores the tokens after login. Throws `INVALID_TOKEN` for anything that is not a valid
     * RFC 6750 token (nothing is stored then). In a cookie session only `accessToken` is taken.
     */
    setTokens(tokens: AuthTokens): void;
    /**
     * `{refreshes, retried, queued}`: counts since construction; `queued` is the number of requests
     * waiting for the running refresh now (of every instance sharing this session).
     */
    stats(): AuthFetchStats;
    /**
     * `fetch(input, init)` with the session handled; bound, so it can be passed around as the
     * `fetch` of ky, ofetch, openapi-fetch or axios's fetch adapter.
     */
    readonly fetch: typeof fetch;
    /**
     * Whether a refresh is running now.
     */
    readonly isRefreshing: boolean;
}

declare global {
    interface SymbolConstructor {
        readonly dispose: unique symbol;
    }
}

//! The JS-facing `AuthFetch` class: converts JS values, delegates to [`Client`], converts errors.
//! Nothing here decides policy.

use alloc::rc::Rc;
use alloc::string::String;
use core::cell::{Cell, RefCell};

use js_sys::{Array, Function, Object, Promise};
use wasm_bindgen::prelude::*;
use web_sys::{AbortSignal, Response};

use crate::client::{Client, Hooks, Sent, Soon, Stats, Step, Then};
use crate::errors::{AuthError, Code, Error};
use crate::inflight::Slab;
use crate::js;
use crate::options::{Options, Source, Value};
use crate::outgoing::{Args, Outgoing};
use crate::policy::{is_b64token, safe_return_path};
use crate::refresher::Refresher;
use crate::session::Session;
use crate::storage::Pair;
use crate::tabs::Watcher;
use crate::transport;

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
/** What `error.code` says on an `AuthError`. */
export type AuthErrorCode = "SESSION_EXPIRED" | "REFRESH_FAILED" | "NO_REFRESH_TOKEN" | "NO_SESSION" | "INVALID_TOKEN" | "INVALID_OPTIONS";
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
}
/** Options of `new AuthFetch(options)`: exactly one of `refreshUrl` and `refresh` is required. */
export type AuthFetchOptions = AuthFetchEndpointOptions | AuthFetchFunctionOptions;
"#;

#[wasm_bindgen]
extern "C" {
    /// The options object.
    #[wasm_bindgen(typescript_type = "AuthFetchOptions")]
    pub type AuthFetchOptions;
    /// `setTokens`' argument.
    #[wasm_bindgen(typescript_type = "AuthTokens")]
    pub type AuthTokens;
    /// `stats()`' result.
    #[wasm_bindgen(typescript_type = "AuthFetchStats")]
    pub type AuthFetchStats;
    /// A function with `fetch`'s signature.
    #[wasm_bindgen(typescript_type = "typeof fetch")]
    pub type FetchFn;
    /// `getAccessToken`'s argument.
    #[wasm_bindgen(typescript_type = "{ minValidityMs?: number }")]
    pub type GetAccessTokenOptions;
}

/// A `fetch` that keeps the session alive: attaches the access token, refreshes it once when it
/// expires (in this tab and across tabs), replays the requests that waited, and sends the user to
/// the login page when the session is over.
#[wasm_bindgen]
pub struct AuthFetch {
    client: Rc<Client>,
    /// The bound `fetch`. The JS function owns the closures that hold the client (freed when it is
    /// garbage-collected), so `new AuthFetch(o).fetch` handed to another library keeps the whole
    /// instance alive after the `AuthFetch` object itself is collected; `dispose()` ends it.
    bound: Function,
    /// This instance's state in the JS driver: `n`, the requests the driver replayed itself (see
    /// `Session::mirror`), for `stats().retried`; `off`, set by `dispose()`: no new request.
    own: Object,
}

#[wasm_bindgen]
impl AuthFetch {
    /// Validates `options` (throwing an `AuthError` `INVALID_OPTIONS` that names the key) and
    /// opens the token storage.
    #[wasm_bindgen(constructor)]
    pub fn new(options: AuthFetchOptions) -> Result<AuthFetch, JsValue> {
        let options: JsValue = options.into();
        let entries = match to_value(&options, 0) {
            Value::Map(entries) => entries,
            _ => return Err(invalid("the options must be an object, e.g. { refreshUrl: \"/auth/refresh\" }")),
        };
        let mut opts = Options::parse(&entries).map_err(|f| AuthError::from(f).into_js())?;
        let global = js_sys::global();
        let hook = |k: &str| js::get(&options, k);
        let fetch = match hook("fetch").dyn_into::<Function>() {
            Ok(f) => f,
            Err(_) => js::get(&global, "fetch").dyn_into::<Function>().unwrap_or_else(|_| js::late_fetch()),
        };
        let location = js::get(&global, "location");
        let base = js::get(&location, "href").as_string();
        // Without a page (Node), the refresh endpoint's origin plays the page's part: it is the
        // API the tokens were issued for. Other origins still need `allowedOrigins`.
        let mut page_origin = js::get(&location, "origin").as_string();
        // A relative refreshUrl with no page to resolve it against (SSR, which runs a client
        // module's top level on the server) is refused when the instance is used, not here: the
        // same module works in the browser, where there is a page.
        let mut pageless = false;
        let refresher = match core::mem::replace(&mut opts.source, Source::Function) {
            Source::Endpoint { url, format } => {
                let resolved = match &base {
                    Some(b) => Some(web_sys::Url::new_with_base(&url, b).map_err(|_| invalid("refreshUrl is not a valid URL"))?),
                    None => web_sys::Url::new(&url).ok(),
                };
                let url = match resolved {
                    Some(resolved) => {
                        page_origin.get_or_insert_with(|| resolved.origin());
                        resolved.href()
                    }
                    None => {
                        pageless = true;
                        url
                    }
                };
                Refresher::Endpoint { url, format, headers: hook("refreshHeaders") }
            }
            Source::Function => Refresher::Function(hook("refresh").unchecked_into()),
        };
        let page_origin = page_origin.unwrap_or_else(|| "null".into());
        let endpoint = refresher.url().unwrap_or("");
        let lock_name = ["seamless-fetch:", &opts.access_key, ":", endpoint].concat();
        let Some(session) = Session::shared(opts.storage, &opts.access_key, &opts.refresh_key, opts.cookie, endpoint) else {
            return Err(invalid("another AuthFetch refreshes the same stored tokens elsewhere (refreshUrl, refresh); use one, or give each its own accessTokenKey and refreshTokenKey"));
        };
        session.users.set(session.users.get() + 1);
        let on_tokens = hook("onTokens").dyn_into::<Function>().ok();
        if let Some(listener) = &on_tokens {
            session.listeners.borrow_mut().push(listener.clone());
        }
        let _ = session.tokens();
        let client = Rc::new(Client {
            hooks: Hooks {
                fetch,
                on_refresh: hook("onRefresh"),
                on_refresh_error: hook("onRefreshError"),
                on_logout: hook("onLogout"),
                navigate: hook("navigate"),
                is_expired: hook("isExpired").dyn_into().ok(),
            },
            session,
            refresher,
            page_origin,
            pageless,
            lock_name,
            stats: Cell::new(Stats::default()),
            auth_header: JsValue::from_str(&opts.auth_header),
            header: RefCell::new(None),
            calls: RefCell::new(Slab::default()),
            member: RefCell::new(None),
            opts,
        });
        let watcher = client.opts.cross_tab.then(|| {
            let c = Rc::downgrade(&client);
            Watcher::new(&client.opts.access_key, &client.opts.refresh_key, move || {
                // A logout in another tab is a logout here, as if `clearTokens()` ran, except that
                // the keys are not this tab's to remove (`forget`). An access token without the
                // rest is a login still being written, not a logout. A pair heard of here is a
                // session this page knows, to end with its logout.
                if let Some(c) = c.upgrade() {
                    match c.session.tokens() {
                        Ok(None) if !c.session.store.access_written() && c.session.forget() => c.logout_effects("LOGOUT"),
                        Ok(Some(_)) => c.session.announce("tab"),
                        _ => {}
                    }
                }
            })
        });
        *client.member.borrow_mut() = Some((on_tokens, watcher));
        // The steps of a request, for the JS driver (see `Step`). Each is `Fn`, not `FnMut`: an
        // `init` getter that calls `api.fetch` again re-enters `begin`.
        let c = client.clone();
        // `marks`: bit 0, the caller set the token's header; bit 1, `control` holds the control
        // header (read only then: reading an absent one cost a call into JS per request); bit 2,
        // a replay of an answer the driver parked (see `Client::start`).
        let begin = Closure::<dyn Fn(JsValue, JsValue, JsValue, JsValue, JsValue, u8, Option<AbortSignal>) -> Result<JsValue, JsValue>>::new(
            move |input: JsValue, init: JsValue, url: JsValue, headers: JsValue, control: JsValue, marks_bits: u8, signal: Option<AbortSignal>| {
                // Decided now, while the app's refresh function may still be on the stack.
                let own_refresh = c.session.is_own_refresh(&init);
                let control = if marks_bits & 2 != 0 { control.as_string() } else { None };
                let (out, marks) = Outgoing::from_parts(input, init, url.as_string(), headers, signal, control, marks_bits & 1 != 0, &c.auth_header)?;
                c.start(out, marks, own_refresh, marks_bits & 4 != 0).and_then(|s| step(&c, s)).map_err(Error::into_js)
            },
        );
        let c = client.clone();
        let judge = Closure::<dyn Fn(Array, JsValue, f64, Option<Response>, u16, bool, JsValue) -> Result<JsValue, JsValue>>::new(
            move |sent: Array, init: JsValue, slot: f64, response: Option<Response>, status: u16, dated: bool, date: JsValue| {
                let Some(response) = response else {
                    if slot >= 0.0 {
                        c.fail(slot as u32);
                    }
                    return Err(Error::from(transport::not_a_response()).into_js());
                };
                // Only answers from where the token goes tell its server's clock: the driver hands
                // over no other (nor one it found settled by its status, with the `Date` unchanged).
                if let Some(date) = dated.then(|| date.as_string()).flatten() {
                    c.note_clock(&date);
                }
                // A last attempt's answer (-3) comes only for its `Date`: it is the caller's.
                let next = if slot >= 0.0 {
                    c.judge(slot as u32, response, status)
                } else if slot == -3.0 || c.settled(status) {
                    Ok(Step::Done(response))
                } else {
                    let out = Outgoing::taken_over(&sent, init);
                    let sent = Sent { token: sent.get(2).as_string(), seen: sent.get(3).as_f64().unwrap_or(0.0) as u64 };
                    c.judge_first(out, sent, response)
                };
                next.and_then(|s| step(&c, s)).map_err(Error::into_js)
            },
        );
        let c = client.clone();
        let resume = Closure::<dyn Fn(f64, JsValue) -> Result<JsValue, JsValue>>::new(move |slot: f64, value: JsValue| {
            c.resume(slot as u32, value).and_then(|s| step(&c, s)).map_err(Error::into_js)
        });
        let c = client.clone();
        let fail = Closure::<dyn Fn(f64)>::new(move |slot: f64| c.fail(slot as u32));
        let own = Object::new();
        js::set(&own, "n", &0.into());
        let bound = js::driver(&begin.into_js_value(), &judge.into_js_value(), &resume.into_js_value(), &fail.into_js_value(), &client.hooks.fetch, &client.auth_header, &client.opts.expired_statuses, &client.session.mirror, &own);
        Ok(AuthFetch { client, bound, own })
    }

    /// `fetch(input, init)` with the session handled; bound, so it can be passed around as the
    /// `fetch` of ky, ofetch, openapi-fetch or axios's fetch adapter.
    #[wasm_bindgen(getter)]
    pub fn fetch(&self) -> FetchFn {
        self.bound.clone().unchecked_into()
    }

    /// Stores the tokens after login. Throws `INVALID_TOKEN` for anything that is not a valid
    /// RFC 6750 token (nothing is stored then). In a cookie session only `accessToken` is taken.
    #[wasm_bindgen(js_name = setTokens)]
    pub fn set_tokens(&self, tokens: AuthTokens) -> Result<(), JsValue> {
        let tokens: JsValue = tokens.into();
        let read = |key: &str| js::get(&tokens, key).as_string().filter(|t| is_b64token(t));
        let cookie = self.client.opts.cookie;
        let pair = match (read("accessToken"), read("refreshToken")) {
            (Some(access), None) if cookie && !js::get(&tokens, "refreshToken").is_truthy() => Pair { access, refresh: None },
            (Some(access), Some(refresh)) if !cookie => Pair { access, refresh: Some(refresh) },
            _ => return Err(bad_tokens(cookie)),
        };
        let session = &self.client.session;
        // The pair already stored (an app that sets again what it read) is no new login: a refresh
        // spending it goes on, and the rotated pair it brings is kept. It still ends the back-off,
        // as documented.
        if session.tokens().ok().flatten().as_ref() == Some(&pair) {
            session.clear_backoff();
            return Ok(());
        }
        let released = session.coord.borrow_mut().reset(Ok(()));
        session.store.write(&pair);
        session.changed();
        session.clear_backoff();
        let _ = session.tokens();
        session.wake(released, true);
        session.announce("set");
        Ok(())
    }

    /// The access token to hand a WebSocket, an `EventSource` or another SDK: refreshed first
    /// (joining any refresh in flight, here or in another tab) when it has expired or would
    /// expire within `minValidityMs` on the server's clock. `null` when there is no session.
    #[wasm_bindgen(js_name = getAccessToken, unchecked_return_type = "Promise<string | null>")]
    pub fn get_access_token(&self, options: Option<GetAccessTokenOptions>) -> Promise {
        let min = options.map_or(JsValue::UNDEFINED, |o| js::get(&o, "minValidityMs"));
        let min = match min.as_f64() {
            None if min.is_undefined() => 0.0,
            Some(ms) if ms >= 0.0 && ms <= 2_147_483_647.0 => ms,
            _ => return Promise::reject(&AuthError::new(Code::InvalidOptions, &["getAccessToken: minValidityMs must be a number of milliseconds, 0 or more"]).into_js()),
        };
        if let Err(e) = self.client.usable() {
            return Promise::reject(&e.into_js());
        }
        let token = |t: Option<String>| t.map_or(JsValue::NULL, JsValue::from);
        match self.client.access_token(min) {
            Ok(Soon::Now(t)) => Promise::resolve(&token(t)),
            Ok(Soon::After(woken, seen)) => {
                let client = self.client.clone();
                after(&woken, move || client.access_token_after(seen).map(token).map_err(Error::into_js))
            }
            Err(e) => Promise::reject(&e.into_js()),
        }
    }

    /// Removes both tokens. A refresh still in flight cannot bring them back.
    #[wasm_bindgen(js_name = clearTokens)]
    pub fn clear_tokens(&self) {
        self.client.session.clear();
    }

    /// Clears the tokens, fires `onLogout` and goes to `loginUrl`.
    pub fn logout(&self) {
        self.clear_tokens();
        self.client.logout_effects("LOGOUT");
    }

    /// Forces one refresh now, joining one already in flight. Rejects with the refresh's
    /// `AuthError`.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn refresh(&self) -> Promise {
        let client = &self.client;
        if let Err(e) = client.usable() {
            return Promise::reject(&e.into_js());
        }
        let stored = match client.session.tokens() {
            Ok(Some(stored)) => Some(stored.access),
            // A cookie session is refreshed from the cookie alone: how a page starts one. Refused
            // where this page has seen no session, it rejects with `NO_SESSION` and ends nothing.
            Ok(None) if client.opts.cookie => None,
            Ok(None) => return Promise::reject(&AuthError::new(Code::NoRefreshToken, &["refresh() needs stored tokens; call setTokens after login"]).into_js()),
            Err(e) => return Promise::reject(&e.into_js()),
        };
        let (woken, seen) = client.refresh_from(stored.as_deref());
        let client = client.clone();
        after(&woken, move || client.outcome_since(seen).map(|()| JsValue::UNDEFINED).map_err(AuthError::into_js))
    }

    /// Ends this instance now (`free()` and `Symbol.dispose`, so `using`, do the same): it leaves
    /// its session (its `onTokens` and the storage events it heard stop; the session's state is
    /// not handed to later instances once none is left on it), its bound `fetch` rejects every
    /// later request, and this object can no longer be used. Requests already made go on to their
    /// answers. Until then the instance lives while this object or its bound `fetch` is reachable.
    pub fn dispose(self) {
        self.client.leave();
        js::set(&self.own, "off", &JsValue::TRUE);
    }

    /// `dispose()`, in place of wasm-bindgen's own `free()`, which `Symbol.dispose` calls. The
    /// garbage collector frees this object without it: then the bound `fetch` may still be in use.
    #[wasm_bindgen(js_name = free)]
    pub fn free(self) {
        self.dispose();
    }

    /// Whether a refresh is running now.
    #[wasm_bindgen(getter, js_name = isRefreshing)]
    pub fn is_refreshing(&self) -> bool {
        self.client.session.coord.borrow().is_refreshing()
    }

    /// `{refreshes, retried, queued}`: counts since construction; `queued` is the number of requests
    /// waiting for the running refresh now (of every instance sharing this session).
    pub fn stats(&self) -> AuthFetchStats {
        let s = self.client.stats.get();
        let out = Object::new();
        js::set(&out, "refreshes", &s.refreshes.into());
        let replayed = js::get(&self.own, "n").as_f64().unwrap_or(0.0) as u32;
        js::set(&out, "retried", &s.retried.wrapping_add(replayed).into());
        let session = &self.client.session;
        let queued = session.coord.borrow().queued().wrapping_add(session.parked());
        js::set(&out, "queued", &(queued as u32).into());
        out.unchecked_into()
    }

    /// For login pages: `value` when it is a path on this origin, else `fallback`. Refuses
    /// `//evil.com`, `/\evil.com`, absolute URLs, `javascript:` and encoded or control-character
    /// tricks, so a `?next=` parameter cannot become an open redirect.
    #[wasm_bindgen(js_name = safeReturnPath)]
    pub fn safe_return_path(value: JsValue, fallback: String) -> String {
        match value.as_string() {
            Some(v) => safe_return_path(&v, &fallback).into(),
            None => fallback,
        }
    }
}

/// A [`Step`] as the JS driver reads it: the answer itself, `[input, init, token, seen, headers,
/// signal, until, slot]` to send (`slot` -1 for [`Then::Settle`], -3 for [`Then::Return`], -2 for
/// a request the library does not manage, -4 for one it does not manage only for its origin), or
/// `[promise, slot]` to wait for. One call into JS at most.
fn step(c: &Client, step: Step) -> Result<JsValue, Error> {
    let send = |(input, init, headers): Args, value: &JsValue, token: &JsValue, seen: f64, until: f64, slot: f64| {
        js::send_step(&input, &init, &headers, &c.auth_header, value, token, seen, until, slot).map_err(Error::Js)
    };
    match step {
        Step::Done(response) => Ok(response.into()),
        Step::AsIs(out, withheld) => send(out.as_is(), &JsValue::NULL, &JsValue::NULL, -1.0, 0.0, if withheld { -4.0 } else { -2.0 }),
        Step::Send { args, value, token, seen, then, until } => {
            let slot = match then {
                Then::Settle => -1.0,
                Then::Judge(slot) => slot.into(),
                Then::Return => -3.0,
            };
            send(args, &value, &token, seen as f64, until, slot)
        }
        Step::Wait(promise, slot) => Ok(js::wait_step(&promise, slot.into())),
    }
}

/// A promise of `then()`, called once `woken` resolves (a refresh ended).
fn after(woken: &Promise, then: impl FnOnce() -> Result<JsValue, JsValue> + 'static) -> Promise {
    js::after(woken, &Closure::once_into_js(move |_: JsValue| then()))
}

fn invalid(what: &str) -> JsValue {
    AuthError::new(Code::InvalidOptions, &["AuthFetch options: ", what]).into_js()
}

fn bad_tokens(cookie: bool) -> JsValue {
    let needs = if cookie {
        "setTokens needs { accessToken } only: with refreshTokenIn \"cookie\" the refresh token stays in its HttpOnly cookie"
    } else {
        "setTokens needs { accessToken, refreshToken }, both valid RFC 6750 tokens (no spaces, line breaks or non-ASCII)"
    };
    AuthError::new(Code::InvalidToken, &[needs, "; nothing was stored"]).into_js()
}

/// How deep and how wide an options value is read. Options nest two levels; anything past these
/// bounds is `Value::Other` (an error naming the key), never a recursion that could exhaust the
/// wasm stack, which traps and leaves the instance's stack pointer behind.
const MAX_DEPTH: u32 = 4;
const MAX_ENTRIES: u32 = 256;

/// The plain-Rust image of a JS value that option parsing works on.
fn to_value(v: &JsValue, depth: u32) -> Value {
    if v.is_object() && !v.is_function() && depth >= MAX_DEPTH {
        return Value::Other;
    }
    if v.is_undefined() {
        Value::Undefined
    } else if v.is_null() {
        Value::Null
    } else if let Some(b) = v.as_bool() {
        Value::Bool(b)
    } else if let Some(n) = v.as_f64() {
        Value::Num(n)
    } else if let Some(s) = v.as_string() {
        Value::Str(s)
    } else if v.is_function() {
        Value::Func
    } else if Array::is_array(v) {
        let list: &Array = v.unchecked_ref();
        if list.length() > MAX_ENTRIES {
            return Value::Other;
        }
        Value::List(list.iter().map(|x| to_value(&x, depth + 1)).collect())
    } else if v.is_object() {
        let entries = Object::entries(v.unchecked_ref());
        if entries.length() > MAX_ENTRIES {
            return Value::Other;
        }
        Value::Map(
            entries
                .iter()
                .map(|e| {
                    let e = Array::from(&e);
                    (e.get(0).as_string().unwrap_or_default(), to_value(&e.get(1), depth + 1))
                })
                .collect(),
        )
    } else {
        Value::Other // symbols, bigints
    }
}

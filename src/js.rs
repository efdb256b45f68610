//! Bindings to `js/helpers.js`, the small JS module for everything that needs a callback.

use alloc::string::String;

use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;
use web_sys::{Request, Response};

#[wasm_bindgen(module = "/src/js/helpers.js")]
extern "C" {
    /// `new Request(input, init)`; throws what the constructor throws.
    #[wasm_bindgen(js_name = toRequest, catch)]
    pub fn to_request(input: &JsValue, init: &JsValue) -> Result<Request, JsValue>;

    /// The bound `fetch` over the steps `begin`, `judge`, `resume` and `fail` (see `driver` in
    /// helpers.js); `own`, the instance's state in it (see `AuthFetch::own`).
    pub fn driver(begin: &JsValue, judge: &JsValue, resume: &JsValue, fail: &JsValue, transport: &Function, auth_header: &JsValue, expired: &[u16], mirror: &js_sys::Object, own: &js_sys::Object) -> Function;
    /// The `x-seamless-fetch` header's value (or null), removed from `headers`.
    #[wasm_bindgen(js_name = takeControl)]
    pub fn take_control(headers: &web_sys::Headers) -> Option<String>;
    /// A copy of the headers of a plain request for another attempt, without header `without`
    /// unless it is null (see `copyHeaders` in helpers.js).
    #[wasm_bindgen(js_name = copyHeaders, catch)]
    pub fn copy_headers(headers: &JsValue, without: &JsValue) -> Result<JsValue, JsValue>;
    /// Whether the tokens stored under the two keys (`refresh_key` null: not read) are still
    /// `last_access` and `last_refresh`; when not, [`take_read`] has them.
    #[wasm_bindgen(js_name = readTokens, catch)]
    pub fn read_tokens(storage: &web_sys::Storage, access_key: &JsValue, refresh_key: &JsValue, last_access: &JsValue, last_refresh: &JsValue) -> Result<bool, JsValue>;
    /// `[access, refresh]` as the last [`read_tokens`] that answered false read them.
    #[wasm_bindgen(js_name = takeRead)]
    pub fn take_read() -> js_sys::Array;
    /// The driver's send step, with header `name` set to `value` unless it is null (see
    /// `sendStep` in helpers.js).
    #[wasm_bindgen(js_name = sendStep, catch)]
    pub fn send_step(input: &JsValue, init: &JsValue, headers: &JsValue, name: &JsValue, value: &JsValue, token: &JsValue, seen: f64, until: f64, slot: f64) -> Result<JsValue, JsValue>;
    /// The top-level keys of a refresh answer, for an error (see `fieldNames` in helpers.js).
    #[wasm_bindgen(js_name = fieldNames)]
    pub fn field_names(body: &JsValue) -> String;
    /// The driver's wait step.
    #[wasm_bindgen(js_name = waitStep)]
    pub fn wait_step(promise: &Promise, slot: f64) -> JsValue;

    /// A promise with its resolvers.
    pub type Deferred;
    /// A new pending promise.
    pub fn deferred() -> Deferred;
    /// The promise.
    #[wasm_bindgen(method, getter)]
    pub fn promise(this: &Deferred) -> Promise;
    /// Its `resolve`.
    #[wasm_bindgen(method, getter)]
    pub fn resolve(this: &Deferred) -> Function;

    /// `f(value)` once `promise` settles (`f(null)` if it rejects); a promise of what `f` returns.
    pub fn after(promise: &Promise, f: &JsValue) -> Promise;
    /// `promise`, or a rejection with the signal's reason when it aborts first.
    pub fn abortable(promise: &Promise, signal: &web_sys::AbortSignal) -> Promise;
    /// `[status, text]` of `fetch(request)` within `ms`, or `[-1, error]`.
    #[wasm_bindgen(js_name = fetchText)]
    pub fn fetch_text(fetch: &Function, request: &Request, ms: f64) -> Promise;
    /// Calls the app's refresh function within `ms`, handing it `transport` to send its request
    /// with: `{signal, done}`, `done` as `fetch_text`'s but `[0, value]` for a value that is not a
    /// Response.
    #[wasm_bindgen(js_name = runRefresh)]
    pub fn run_refresh(f: &Function, transport: &Function, refresh_token: Option<&str>, access_token: Option<&str>, ms: f64) -> JsValue;
    /// The refresh endpoint's `Request`, with `refreshHeaders` and, for a cookie session, credentials.
    #[wasm_bindgen(js_name = refreshRequest, catch)]
    pub fn refresh_request(url: &str, content_type: &str, body: &str, headers: &JsValue, include: bool) -> Result<Request, JsValue>;
    /// Whether the app's `isExpired` says `true` of a clone of `response`.
    #[wasm_bindgen(js_name = askExpired)]
    pub fn ask_expired(f: &Function, response: &Response) -> Promise;
    /// The body text of a clone of `response`, or null when it is longer than `limit` bytes
    /// (declared or read), has not ended within `ms`, or cannot be read.
    #[wasm_bindgen(js_name = peekText)]
    pub fn peek_text(response: &Response, limit: f64, ms: f64) -> Promise;
    /// The exclusive Web Lock `name` as `{release, contended}`, or null.
    #[wasm_bindgen(js_name = acquireLock)]
    pub fn acquire_lock(name: &str, ms: f64) -> Promise;
    /// Tells other tabs, for `ms`, that this one has just stored refreshed tokens.
    #[wasm_bindgen(js_name = markFresh)]
    pub fn mark_fresh(name: &str, ms: f64);
    /// The next `storage` event for `key`, or `ms`.
    #[wasm_bindgen(js_name = storageChange)]
    pub fn storage_change(key: &str, other: &str, ms: f64) -> Promise;
    /// Subscribes `f` to `storage` events for `key`; returns the unsubscribe function.
    #[wasm_bindgen(js_name = watchStorage)]
    pub fn watch_storage(key: &str, other: &str, f: &Function) -> Function;
    /// The transport when there is no global `fetch` as an instance is made: the global one at
    /// each call.
    #[wasm_bindgen(js_name = lateFetch)]
    pub fn late_fetch() -> Function;
    /// Whether `navigator.onLine` is `false`.
    pub fn offline() -> bool;
    /// When the `online` event last fired (epoch ms, 0 if never).
    #[wasm_bindgen(js_name = onlineAt)]
    pub fn online_at() -> f64;
    /// Resolves after `ms`, or on the `online` event.
    pub fn pause(ms: f64) -> Promise;
    /// Calls a user callback, reporting (not propagating) what it throws.
    #[wasm_bindgen(js_name = callHook)]
    pub fn call_hook(f: &JsValue, arg: &JsValue);
}

// The same browser methods as web-sys binds, but taking names and values that are already JS
// strings: a `&str` argument is copied out of wasm memory and decoded on every call, and these are
// called on every request with the same few names. Reach them with `unchecked_ref` on web-sys's
// `Headers`. (Stored tokens are read by `readTokens` in helpers.js, for the same reason.)
#[wasm_bindgen]
extern "C" {
    /// A `Headers`, seen through the methods below.
    #[wasm_bindgen(js_name = Headers)]
    pub type JsHeaders;
    /// `headers.has(name)`.
    #[wasm_bindgen(method, catch)]
    pub fn has(this: &JsHeaders, name: &JsValue) -> Result<bool, JsValue>;
    /// `headers.delete(name)`.
    #[wasm_bindgen(method, catch)]
    pub fn delete(this: &JsHeaders, name: &JsValue) -> Result<(), JsValue>;
    /// `performance.now()`: for how long something waited. The wall clock (`Date.now`) can jump
    /// back an hour (the user or NTP setting the clock), which stretched a 1 s wait into an hour.
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    pub fn monotonic_ms() -> f64;
}

/// Reads a property, `undefined` when absent, when the getter throws, or when `target` is not an
/// object. That last case is checked first rather than caught: each exception caught through
/// wasm-bindgen's glue left about 11 bytes of wasm memory behind (1,310,720 -> 1,769,472 B over
/// 40,000 requests whose `init` was `undefined`, in `tests/support/hardening.js`).
pub fn get(target: &JsValue, key: &str) -> JsValue {
    if !target.is_object() && !target.is_function() {
        return JsValue::UNDEFINED;
    }
    js_sys::Reflect::get(target, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

/// Sets a property on a fresh object; for results and callback arguments.
pub fn set(target: &js_sys::Object, key: &str, value: &JsValue) {
    let _ = js_sys::Reflect::set(target, &JsValue::from_str(key), value);
}

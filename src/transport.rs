//! Talking to the network through the configured `fetch`: sending a request, reading what the
//! policy needs from a response, and the refresh call itself. Errors from the transport pass
//! through untouched except on the refresh call, where they become `REFRESH_FAILED`.

use js_sys::{Array, Function, Object, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Request, Response};

use crate::errors::{AuthError, Code, Error};
use crate::js;
use crate::options::Options;
use crate::policy::is_json_document;
use crate::refresh::{self, Answer, Field};

/// Calls `fetch(request)` and waits for the response head.
pub async fn send(fetch: &Function, request: &Request) -> Result<Response, Error> {
    let pending = fetch.call1(&JsValue::UNDEFINED, request)?;
    let response = JsFuture::from(Promise::resolve(&pending)).await?;
    response.dyn_into::<Response>().map_err(|_| {
        AuthError::new(Code::InvalidOptions, &["the fetch option returned something that is not a Response"]).into()
    })
}

/// The most of an answer's body read to look for an "expired" code: such answers are a few bytes,
/// and a large document must not be buffered (or held back from the caller) for it.
const PEEK_LIMIT: f64 = 64.0 * 1024.0;

/// Whether a response says "access token expired": one of `expiredStatuses`, or a small JSON
/// document whose `expiredBodyField` is one of `expiredBodyCodes` (the classic
/// `200 {"code":409}`). The body is read from a clone, so the caller still gets it whole; any
/// other answer goes to the caller at once.
pub async fn is_expired(opts: &Options, response: &Response) -> bool {
    if opts.is_expired_status(response.status()) {
        return true;
    }
    if opts.expired_body_codes.is_empty() {
        return false;
    }
    let content_type = response.headers().get("content-type").ok().flatten().unwrap_or_default();
    if !is_json_document(&content_type) {
        return false;
    }
    let text = JsFuture::from(js::peek_text(response, PEEK_LIMIT)).await.unwrap_or(JsValue::NULL);
    let Some(field) = text.as_string().and_then(|t| js_sys::JSON::parse(&t).ok()).map(|body| field_at(&body, &opts.expired_body_field)) else {
        return false;
    };
    opts.expired_body_codes.iter().any(|c| c.matches(&field))
}

/// The value at a dotted path of a parsed JSON body.
fn field_at(body: &JsValue, path: &str) -> Field {
    let mut v = body.clone();
    for segment in path.split('.') {
        if !v.is_object() {
            return Field::Missing;
        }
        v = js::get(&v, segment);
    }
    if let Some(s) = v.as_string() {
        Field::Str(s)
    } else if let Some(n) = v.as_f64() {
        Field::Num(n)
    } else if v.is_undefined() || v.is_null() {
        Field::Missing
    } else {
        Field::Other
    }
}

/// Calls the refresh endpoint with `refresh_token` (and the current access token, in JSON
/// format) and returns the new tokens. Never intercepted, never retried: its failure is final for
/// this round and classified by [`refresh::classify`].
pub async fn call_refresh(opts: &Options, fetch: &Function, url: &str, refresh_token: &str, access: &str) -> Result<refresh::Fresh, AuthError> {
    let (content_type, body) = refresh::request_body(&opts.format, refresh_token, access);
    let headers = Object::new();
    js::set(&headers, "Content-Type", &content_type.into());
    js::set(&headers, "Accept", &"application/json".into());
    let init = Object::new();
    js::set(&init, "method", &"POST".into());
    js::set(&init, "headers", &headers);
    js::set(&init, "body", &body.into());
    let failed = |why: &str| AuthError::new(Code::RefreshFailed, &["the refresh request failed: ", why]);
    let request = js::to_request(&url.into(), &init).map_err(|_| failed("refreshUrl is not a valid URL"))?;
    let got = JsFuture::from(js::fetch_text(fetch, &request, opts.refresh_timeout_ms)).await.map_err(|e| {
        if js::get(&e, "name").as_string().as_deref() == Some("TimeoutError") {
            failed("no answer within refreshTimeoutMs")
        } else {
            failed("network error").caused_by(e)
        }
    })?;
    let got = Array::from(&got);
    let status = got.get(0).as_f64().unwrap_or(0.0) as u16;
    let body = got.get(1).as_string().and_then(|t| js_sys::JSON::parse(&t).ok()).filter(|b| b.is_object() && !Array::is_array(b));
    let answer = match &body {
        Some(b) => Answer {
            status,
            json: true,
            access: field_at(b, &opts.token_paths.access),
            refresh: field_at(b, &opts.token_paths.refresh),
            expires_in: field_at(b, &opts.token_paths.expires_in),
            oauth_error: field_at(b, "error"),
        },
        None => Answer { status, json: false, access: Field::Missing, refresh: Field::Missing, expires_in: Field::Missing, oauth_error: Field::Missing },
    };
    refresh::classify(&answer)
}

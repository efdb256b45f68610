//! Talking to the network through the configured `fetch`: sending a request and reading what the
//! policy needs from a response. Errors from the transport pass through untouched.

use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::Response;

use crate::errors::{AuthError, Code, Error};
use crate::js;
use crate::options::Options;
use crate::policy::is_json_document;
use crate::refresh::Field;

/// Calls `fetch(input, init)` and waits for the response head.
pub async fn send(fetch: &Function, (input, init): (JsValue, JsValue)) -> Result<Response, Error> {
    let pending = fetch.call2(&JsValue::UNDEFINED, &input, &init)?;
    as_response(JsFuture::from(Promise::resolve(&pending)).await?)
}

/// What the transport answered, if it is a `Response`.
pub fn as_response(answer: JsValue) -> Result<Response, Error> {
    answer
        .dyn_into::<Response>()
        .map_err(|_| AuthError::new(Code::InvalidOptions, &["the fetch option returned something that is not a Response"]).into())
}

/// The most of an answer's body read to look for an "expired" code: such answers are a few bytes,
/// and a large document must not be buffered (or held back from the caller) for it.
const PEEK_LIMIT: f64 = 64.0 * 1024.0;

/// Whether a response says "access token expired": one of `expiredStatuses`, a small JSON
/// document whose `expiredBodyField` is one of `expiredBodyCodes` (the classic
/// `200 {"code":409}`), or the app's own `isExpired(response)`. Bodies are read from clones, so
/// the caller still gets the answer whole.
pub async fn is_expired(opts: &Options, response: &Response, ask: Option<&Function>) -> bool {
    if opts.is_expired_status(response.status()) || has_expired_code(opts, response).await {
        return true;
    }
    match ask {
        Some(ask) => JsFuture::from(js::ask_expired(ask, response)).await.is_ok_and(|v| v.is_truthy()),
        None => false,
    }
}

/// Only a small JSON document is read: any other answer goes to the caller at once.
async fn has_expired_code(opts: &Options, response: &Response) -> bool {
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
pub fn field_at(body: &JsValue, path: &str) -> Field {
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


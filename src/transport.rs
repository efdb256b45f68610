//! Reading what the policy needs from the configured `fetch`'s answers (the JS driver sends the
//! requests; errors from the transport pass through it untouched).

use js_sys::Promise;
use wasm_bindgen::prelude::*;
use web_sys::Response;

use crate::errors::{AuthError, Code};
use crate::js;
use crate::options::Options;
use crate::policy::is_json_document;
use crate::refresh::Field;

/// The error for a transport that answered something other than a `Response` (the driver looks).
pub fn not_a_response() -> AuthError {
    AuthError::new(Code::InvalidOptions, &["the fetch option returned something that is not a Response"])
}

/// The most of an answer's body read to look for an "expired" code: such answers are a few bytes,
/// and a large document must not be buffered (or held back from the caller) for it.
const PEEK_LIMIT: f64 = 64.0 * 1024.0;

/// The longest an answer is held back while its body is read for an "expired" code: such an
/// answer comes whole at once, and a slow JSON body (a stream of JSON, a long poll) must reach the
/// caller while it still flows.
const PEEK_MS: f64 = 1_000.0;

/// When an answer's body must be read to judge it (`expiredBodyCodes` are set and it is a JSON
/// document): a promise of the text of a clone, the caller's copy untouched. Only a small JSON
/// document that ends within [`PEEK_MS`] is read: any other answer goes to the caller at once, or
/// after that time.
pub fn peek_body(opts: &Options, response: &Response) -> Option<Promise> {
    if opts.expired_body_codes.is_empty() {
        return None;
    }
    let content_type = response.headers().get("content-type").ok().flatten().unwrap_or_default();
    is_json_document(&content_type).then(|| js::peek_text(response, PEEK_LIMIT, PEEK_MS))
}

/// Whether the body `text` (from [`peek_body`]; null when unreadable or too long) is a JSON
/// document whose `expiredBodyField` is one of `expiredBodyCodes` (the classic `200 {"code":409}`).
pub fn has_expired_code(opts: &Options, text: &JsValue) -> bool {
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


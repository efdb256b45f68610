//! A request as the caller gave it, ready to be sent once or twice (the replay after a refresh).
//!
//! Building a `Request` is the most expensive thing a request through the library used to do
//! (about 10 µs of Chromium's time per call, `bench/profile.mjs`). Most calls do not need one: a
//! string or `URL` input with a body that is absent or can be sent again as it is (a string,
//! `URLSearchParams`, `Blob`, `ArrayBuffer`, a typed array, `FormData`) goes out as
//! `fetch(input, init)` with a copy of its headers. A `Request` input, or a stream body that can
//! be read only once, keeps the `Request` path: cloned for each attempt. Either way the request
//! goes to the absolute URL whose origin decided whether it carries the token.

use alloc::borrow::Cow;
use alloc::string::String;

use js_sys::Array;
use wasm_bindgen::prelude::*;
use web_sys::{AbortSignal, Headers, Request};

use crate::js;

/// What to send.
pub enum Outgoing {
    /// A `Request`: cloned (or, without a body, reused) for each attempt.
    Request(Request),
    /// `fetch(url, init)`, with `headers` (a copy of `init.headers`) in place of the caller's.
    Parts {
        /// The absolute URL the caller's input resolves to, as a JS string: what is sent, and
        /// whose origin decides about the token.
        input: JsValue,
        /// The caller's `init` (or `undefined`).
        init: JsValue,
        /// `input`, read into Rust.
        url: String,
        /// A copy of `init.headers`, which the library may change.
        headers: Headers,
        /// `init.signal`.
        signal: JsValue,
    },
}

impl Outgoing {
    /// Reads `fetch`'s arguments; throws what `fetch` would throw for arguments it refuses.
    pub fn new(input: &JsValue, init: &JsValue) -> Result<Outgoing, JsValue> {
        let parts = js::plain_parts(input, init);
        if parts.is_null() {
            return js::to_request(input, init).map(Outgoing::Request);
        }
        let parts: Array = parts.unchecked_into();
        let href = parts.get(0);
        Ok(Outgoing::Parts {
            url: href.as_string().unwrap_or_default(),
            input: href,
            init: init.clone(),
            headers: parts.get(1).unchecked_into(),
            signal: parts.get(2),
        })
    }

    /// The absolute URL.
    pub fn url(&self) -> Cow<'_, str> {
        match self {
            Outgoing::Request(r) => Cow::Owned(r.url()),
            Outgoing::Parts { url, .. } => Cow::Borrowed(url),
        }
    }

    /// The headers the library reads and changes.
    pub fn headers(&self) -> Headers {
        match self {
            Outgoing::Request(r) => r.headers(),
            Outgoing::Parts { headers, .. } => headers.clone(),
        }
    }

    /// The caller's abort signal, if any.
    pub fn signal(&self) -> Option<AbortSignal> {
        match self {
            Outgoing::Request(r) => Some(r.signal()),
            Outgoing::Parts { signal, .. } => signal.clone().dyn_into().ok(),
        }
    }

    /// `fetch`'s arguments for sending it once, untouched but for header changes already made.
    pub fn as_is(&self) -> (JsValue, JsValue) {
        match self {
            Outgoing::Request(request) => (request.into(), JsValue::UNDEFINED),
            Outgoing::Parts { input, init, headers, .. } => (input.clone(), js::with_headers(init, headers)),
        }
    }

    /// `fetch`'s arguments for one attempt, with header `name` set to `value`, or removed when
    /// `None` (a replay after the tokens were removed must not carry the old one). `first`: the
    /// first attempt, which may hand over the caller's own objects. Name and value are JS strings
    /// already: they are the same on every request.
    pub fn attempt(&self, name: &JsValue, value: Option<&JsValue>, first: bool) -> Result<(JsValue, JsValue), JsValue> {
        let (args, headers) = match self {
            Outgoing::Request(request) => {
                // A request without a body can be sent again as it is; one with a body is cloned
                // for each attempt so that the replay still has it.
                let bodyless = matches!(request.method().as_str(), "GET" | "HEAD");
                let attempt = if bodyless { Clone::clone(request) } else { request.clone()? };
                let headers = attempt.headers();
                ((attempt.into(), JsValue::UNDEFINED), headers)
            }
            Outgoing::Parts { input, init, headers, .. } => {
                // The transport may keep the first attempt's headers; a replay gets its own.
                let headers = if first { headers.clone() } else { Headers::new_with_headers(headers)? };
                ((input.clone(), js::with_headers(init, &headers)), headers)
            }
        };
        let headers: &js::JsHeaders = headers.unchecked_ref();
        match value {
            Some(v) => headers.set(name, v)?,
            None if !first => headers.delete(name)?,
            None => {}
        }
        Ok(args)
    }
}

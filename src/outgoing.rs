//! A request as the caller gave it, ready to be sent once or twice (the replay after a refresh).
//!
//! Building a `Request` is the most expensive thing a request through the library used to do
//! (about 10 µs of Chromium's time per call, `bench/profile.mjs`). Most calls do not need one: a
//! string or `URL` input with a body that is absent or can be sent again as it is (a string,
//! `URLSearchParams`, `Blob`, `ArrayBuffer`, a typed array, `FormData`) goes out as
//! `fetch(input, init)` with a copy of its headers. A `Request` input, or a stream body that can
//! be read only once, keeps the `Request` path: cloned for each attempt. Either way the request
//! goes to the absolute URL whose origin decided whether it carries the token.

use alloc::string::String;

use js_sys::Array;
use wasm_bindgen::prelude::*;
use web_sys::{AbortSignal, Request};

use crate::js;

/// The driver's send step's `(input, init, headers)`: `fetch(input, init)` with the token's
/// header set on `headers` (null: on those of the `Request` in `input`).
pub type Args = (JsValue, JsValue, JsValue);

/// What to send.
pub enum Outgoing {
    /// A `Request`: cloned (or, without a body, reused) for each attempt.
    Request(Request),
    /// `fetch(url, init)`, with `headers` (a copy of `init.headers`) in place of the caller's. The
    /// driver reads these in JS (`plainParts` in helpers.js) and hands them over as arguments.
    Parts {
        /// The absolute URL the caller's input resolves to, as a JS string: what is sent, and
        /// whose origin decided about the token.
        input: JsValue,
        /// The caller's `init` as `fetch` reads it (`requestInit` in helpers.js: a plain object of
        /// own data properties, read once), or `undefined`.
        init: JsValue,
        /// A copy of `init.headers` (a plain object, or a list of pairs when they came as an
        /// iterable: names keep their case), which the library may change.
        headers: JsValue,
        /// `init.signal`, when it is an `AbortSignal`.
        signal: Option<AbortSignal>,
    },
}

/// What decides, once, whether the library manages a request (see `Client::open`); nothing
/// after that reads it, so it is not kept with the request.
pub struct Marks {
    /// The absolute URL.
    pub url: String,
    /// The `x-seamless-fetch` header's value, already taken off the headers that are sent.
    pub control: Option<String>,
    /// Whether the caller set the token's header itself.
    pub has_auth: bool,
}

impl Outgoing {
    /// A happy-path request taken over after an "expired" answer, from its send step `sent`
    /// (see `sendStep` in helpers.js): the absolute URL it went to, the headers it went with
    /// (which the next attempt copies) and the caller's signal; `init` is the caller's. It had no
    /// control header and no token header of the caller's, or it would not have taken the happy
    /// path; its URL was judged then.
    pub fn taken_over(sent: &Array, init: JsValue) -> Outgoing {
        let signal = sent.get(5).dyn_into().ok();
        Outgoing::Parts { input: sent.get(0), init, headers: sent.get(4), signal }
    }

    /// The request the driver read with `plainParts` (helpers.js), and its [`Marks`]: `input` is
    /// the absolute URL as a JS string and `url` the same in Rust, `control` and `has_auth` what
    /// `plainParts` found in the headers. Without `url`, `plainParts` found that it needs a
    /// `Request`, made here from `input` and `init` and read here (its control header taken off,
    /// `auth_header` looked for). Throws what `fetch` would throw for arguments it refuses.
    pub fn from_parts(input: JsValue, init: JsValue, url: Option<String>, headers: JsValue, signal: Option<AbortSignal>, control: Option<String>, has_auth: bool, auth_header: &JsValue) -> Result<(Outgoing, Marks), JsValue> {
        match url {
            Some(url) => Ok((Outgoing::Parts { input, init, headers, signal }, Marks { url, control, has_auth })),
            None => js::to_request(&input, &init).map(|r| {
                let headers = r.headers();
                let control = js::take_control(&headers);
                let has_auth = headers.unchecked_ref::<js::JsHeaders>().has(auth_header).unwrap_or(true);
                let url = r.url();
                (Outgoing::Request(r), Marks { url, control, has_auth })
            }),
        }
    }

    /// The caller's abort signal, if any.
    pub fn signal(&self) -> Option<AbortSignal> {
        match self {
            Outgoing::Request(r) => Some(r.signal()),
            Outgoing::Parts { signal, .. } => signal.clone(),
        }
    }

    /// The send step's [`Args`] for sending it once, untouched but for header changes already made.
    pub fn as_is(&self) -> Args {
        match self {
            Outgoing::Request(request) => (request.into(), JsValue::UNDEFINED, JsValue::NULL),
            Outgoing::Parts { input, init, headers, .. } => (input.clone(), init.clone(), headers.clone()),
        }
    }

    /// The send step's [`Args`] for one attempt; the token's header `name` is set by the step.
    /// `pristine`: these headers were never handed to a transport, so they may go as they are.
    /// `keep_header`: false for an attempt without a token, whose header `name` is removed from
    /// headers that went out before (they must not carry the old one).
    pub fn attempt(&self, name: &JsValue, keep_header: bool, pristine: bool) -> Result<Args, JsValue> {
        let remove = !keep_header && !pristine;
        match self {
            Outgoing::Request(request) => {
                // A request without a body can be sent again as it is; one with a body is cloned
                // for each attempt so that the replay still has it.
                let bodyless = matches!(request.method().as_str(), "GET" | "HEAD");
                let attempt = if bodyless { Clone::clone(request) } else { request.clone()? };
                if remove {
                    attempt.headers().unchecked_ref::<js::JsHeaders>().delete(name)?;
                }
                Ok((attempt.into(), JsValue::UNDEFINED, JsValue::NULL))
            }
            Outgoing::Parts { input, init, headers, .. } => {
                // The transport may keep the first attempt's headers; a replay gets its own.
                let none = JsValue::NULL;
                let headers = if pristine { headers.clone() } else { js::copy_headers(headers, if remove { name } else { &none })? };
                Ok((input.clone(), init.clone(), headers))
            }
        }
    }
}

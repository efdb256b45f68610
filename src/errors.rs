//! The one error type. Every failure the library reports carries a [`Code`] that callers can
//! switch on; the conversion to a JS `AuthError` happens in exactly one place ([`Error::into_js`]),
//! so no other module decides what an error looks like to JS.
//!
//! Messages are built from static text and non-secret details (a status, an option key, an OAuth
//! error code). No constructor here takes a token, which is what keeps tokens out of errors.

use alloc::string::String;
use wasm_bindgen::JsValue;

pub use crate::code::{decimal, Code, Failure};

/// A failure of the library itself, with a message that says what to fix.
#[derive(Clone, Debug, PartialEq)]
pub struct AuthError {
    /// What kind of failure.
    pub code: Code,
    /// Human text; never contains a token.
    pub message: String,
    /// The underlying JS exception (a transport's `TypeError`), exposed as `error.cause`.
    pub cause: Option<JsValue>,
    /// For a refresh that failed or was not attempted: how long until the next attempt may go
    /// out (back-off, `Retry-After`), exposed as `error.retryAfterMs`.
    pub retry_after_ms: Option<f64>,
    /// The refresh was not attempted because the browser is offline (`error.offline`).
    pub offline: bool,
}

impl AuthError {
    /// Builds an error from message parts, joined without `format!` to keep formatting
    /// machinery out of the shipped wasm.
    pub fn new(code: Code, parts: &[&str]) -> Self {
        Failure::new(code, parts).into()
    }

    /// The same error with `cause` attached.
    pub fn caused_by(mut self, cause: JsValue) -> Self {
        self.cause = Some(cause);
        self
    }

    /// Whether the failure ends the session: [`Code::ends_session`].
    pub fn ends_session(&self) -> bool {
        self.code.ends_session()
    }
}

impl From<Failure> for AuthError {
    fn from(f: Failure) -> Self {
        AuthError { code: f.code, message: f.message, cause: None, retry_after_ms: f.retry_after_ms, offline: f.offline }
    }
}

/// What a request can fail with: the library's own error, or a JS value passed through untouched
/// (a caller's `AbortError`, the transport's `TypeError` on a network failure).
#[derive(Debug)]
pub enum Error {
    /// The library's own failure.
    Auth(AuthError),
    /// A JS exception that belongs to the caller or the transport.
    Js(JsValue),
}

impl From<AuthError> for Error {
    fn from(e: AuthError) -> Self {
        Error::Auth(e)
    }
}

impl From<JsValue> for Error {
    fn from(e: JsValue) -> Self {
        Error::Js(e)
    }
}

impl Error {
    /// The JS value a promise rejects with or a method throws.
    pub fn into_js(self) -> JsValue {
        match self {
            Error::Js(v) => v,
            Error::Auth(e) => e.into_js(),
        }
    }
}

impl AuthError {
    /// An `Error` whose `name` is `"AuthError"` and whose `code` is [`Code::as_str`].
    pub fn into_js(self) -> JsValue {
        let err = js_sys::Error::new(&self.message);
        err.set_name("AuthError");
        if let Some(cause) = &self.cause {
            err.set_cause(cause);
        }
        let set = |k: &str, v: JsValue| js_sys::Reflect::set(&err, &JsValue::from_str(k), &v);
        let _ = set("code", JsValue::from_str(self.code.as_str()));
        if let Some(ms) = self.retry_after_ms {
            let _ = set("retryAfterMs", JsValue::from_f64(ceil_ms(ms)));
        }
        if self.offline {
            let _ = set("offline", JsValue::TRUE);
        }
        err.into()
    }
}

/// Whole milliseconds, rounded up (`f64::ceil` needs std).
fn ceil_ms(ms: f64) -> f64 {
    let whole = ms as i64 as f64; // saturating; a wait is at most a minute
    if whole < ms { whole + 1.0 } else { whole }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_writes_numbers() {
        assert_eq!(decimal(0), "0");
        assert_eq!(decimal(503), "503");
        assert_eq!(decimal(u64::MAX), "18446744073709551615");
    }

    #[test]
    fn messages_join_parts() {
        let e = AuthError::new(Code::RefreshFailed, &["the refresh endpoint answered ", "503"]);
        assert_eq!(e.message, "the refresh endpoint answered 503");
        assert_eq!(e.code.as_str(), "REFRESH_FAILED");
        assert!(!e.ends_session());
        assert!(AuthError::new(Code::SessionExpired, &[]).ends_session());
        assert!(!AuthError::new(Code::NoSession, &[]).ends_session(), "there was nothing to end");
        assert_eq!(Code::NoSession.as_str(), "NO_SESSION");
    }
}

//! The error codes and failures of the rules, without any JS: the plain modules and the sans-IO
//! core (`machine`) report failures as [`Failure`]; the boundary hands its code and message to the shell, whose `authError` makes the JS `AuthError`.
//!
//! Messages are built from static text and non-secret details (a status, an option key, an OAuth
//! error code). No constructor here takes a token, which is what keeps tokens out of errors.

use alloc::string::String;

/// Machine-readable reason, exposed to JS as `error.code`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Code {
    /// The refresh endpoint refused the refresh token: the session is over.
    SessionExpired,
    /// The refresh could not be completed (network, 5xx, timeout, malformed answer); tokens kept.
    RefreshFailed,
    /// A refresh was needed but there is no refresh token to spend.
    NoRefreshToken,
    /// A cookie session's refresh from nothing was refused where this page had seen no session
    /// (an anonymous visitor): nothing ended, so nobody is logged out or sent to the login page.
    NoSession,
    /// A token is not a valid RFC 6750 `b64token` and will not be sent or stored.
    InvalidToken,
    /// The options object passed to `new AuthFetch` is wrong.
    InvalidOptions,
    /// `dpop: true`: the key the tokens are bound to is gone (IndexedDB cleared while they
    /// remained): they can never be used again, so the session ends.
    DpopKeyLost,
    /// `dpop: true`: a server refused our proof (`invalid_dpop_proof`), or a refresh answer's
    /// tokens are not DPoP-bound; nothing is retried in a loop.
    DpopRefused,
}

impl Code {
    /// The string JS sees; part of the public contract.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::SessionExpired => "SESSION_EXPIRED",
            Code::RefreshFailed => "REFRESH_FAILED",
            Code::NoRefreshToken => "NO_REFRESH_TOKEN",
            Code::NoSession => "NO_SESSION",
            Code::InvalidToken => "INVALID_TOKEN",
            Code::InvalidOptions => "INVALID_OPTIONS",
            Code::DpopKeyLost => "DPOP_KEY_LOST",
            Code::DpopRefused => "DPOP_REFUSED",
        }
    }

    /// Whether a failure with this code ends the session (tokens cleared, redirect to the login
    /// page): the one place that says so, for [`Failure`] and the JS-facing `AuthError` alike.
    pub fn ends_session(self) -> bool {
        matches!(self, Code::SessionExpired | Code::NoRefreshToken | Code::DpopKeyLost)
    }
}

/// A failure as the rules decide it: what the caller's `AuthError` will say, less its JS `cause`.
#[derive(Clone, Debug, PartialEq)]
pub struct Failure {
    /// What kind of failure.
    pub code: Code,
    /// Human text; never contains a token.
    pub message: String,
    /// How long until the next refresh attempt may go out (`error.retryAfterMs`).
    pub retry_after_ms: Option<f64>,
    /// The refresh was not attempted because the browser is offline (`error.offline`).
    pub offline: bool,
    /// What the refresh call threw is its `cause` (the shell holds it: no JS value comes here).
    pub caused: bool,
}

impl Failure {
    /// A failure from message parts, joined without `format!` (no formatting machinery in wasm).
    pub fn new(code: Code, parts: &[&str]) -> Self {
        Failure { code, message: parts.concat(), retry_after_ms: None, offline: false, caused: false }
    }

    /// Whether the failure ends the session: [`Code::ends_session`].
    pub fn ends_session(&self) -> bool {
        self.code.ends_session()
    }
}

/// Decimal text of a number, without `format!`/`Display`: those pull the formatting machinery
/// (several KB) into the shipped wasm.
pub fn decimal(mut n: u64) -> String {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    ascii(&buf[i..])
}

/// ASCII bytes as a `String`, without collecting `char`s (which brings UTF-8 encoding code).
pub(crate) fn ascii(bytes: &[u8]) -> String {
    core::str::from_utf8(bytes).unwrap_or_default().into()
}

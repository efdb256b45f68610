//! The one seam where a refresh is obtained. Each strategy turns "the tokens to spend" into new
//! tokens or a classified failure; everything around it (single flight, the cross-tab lock, the
//! epoch rule, writing only over the spent pair) is the same for all of them and lives in
//! `client.rs`.

use alloc::string::String;
use js_sys::{Array, Function, Promise};
use wasm_bindgen::prelude::*;

use crate::backoff::retry_after_ms;
use crate::errors::{AuthError, Code};
use crate::js;
use crate::options::Options;
use crate::refresh::{self, Answer, Field, Format, ACCESS_NAMES, EXPIRES_NAMES, REFRESH_NAMES};
use crate::session::Session;
use crate::storage::Pair;
use crate::transport::field_at;

/// How this instance refreshes.
pub enum Refresher {
    /// `POST` to the refresh endpoint.
    Endpoint {
        /// `refreshUrl`, resolved against the page.
        url: String,
        /// Body encoding.
        format: Format,
        /// `refreshHeaders`: an object, or a function called for each refresh.
        headers: JsValue,
    },
    /// The app's `refresh({ refreshToken, accessToken, signal, fetch })`.
    Function(Function),
}

fn failed(why: &str) -> AuthError {
    AuthError::new(Code::RefreshFailed, &["the refresh failed: ", why])
}

impl Refresher {
    /// The endpoint, which is never intercepted; `None` for a function.
    pub fn url(&self) -> Option<&str> {
        match self {
            Refresher::Endpoint { url, .. } => Some(url),
            Refresher::Function(_) => None,
        }
    }

    /// Spends `spent` (absent in a cookie session without an access token): calls the endpoint or
    /// the app's function and returns the promise of its answer, for [`Refresher::finish`]. Never
    /// retried here: a failure is final for this round and classified by [`refresh::classify`],
    /// whichever strategy produced the answer.
    pub fn start(&self, opts: &Options, fetch: &Function, session: &Session, spent: Option<&Pair>) -> Result<Promise, AuthError> {
        let access = spent.map(|p| p.access.as_str());
        let refresh_token = spent.and_then(|p| p.refresh.as_deref());
        match self {
            Refresher::Endpoint { url, format, headers } => {
                let (content_type, body) = refresh::request_body(format, refresh_token, access);
                let request = js::refresh_request(url, content_type, &body, headers, opts.cookie)
                    .map_err(|e| failed("refreshHeaders gave something that is not a set of headers").caused_by(e))?;
                Ok(js::fetch_text(fetch, &request, opts.refresh_timeout_ms))
            }
            Refresher::Function(f) => {
                session.calling_refresh.set(true);
                let run = js::run_refresh(f, fetch, refresh_token, access, opts.refresh_timeout_ms);
                session.calling_refresh.set(false);
                *session.own_refresh.borrow_mut() = Some(js::get(&run, "signal"));
                Ok(js::get(&run, "done").unchecked_into())
            }
        }
    }

    /// The new tokens from what [`Refresher::start`]'s promise gave (`got`), or the classified
    /// failure.
    pub fn finish(&self, opts: &Options, session: &Session, got: &JsValue) -> Result<refresh::Fresh, AuthError> {
        *session.own_refresh.borrow_mut() = None;
        let got = Array::from(got);
        // [status, body text, Retry-After] for a Response; [0, value] for what a function
        // returned; [-1, error].
        let (status, value) = (got.get(0).as_f64().unwrap_or(-1.0), got.get(1));
        let retry_after = got.get(2).as_string().filter(|_| status == 429.0 || status == 503.0).and_then(|v| retry_after_ms(&v, session.server_now()));
        if status < 0.0 {
            return Err(match (js::get(&value, "name").as_string().as_deref(), js::get(&value, "code").as_string().as_deref()) {
                (Some("TimeoutError"), _) => failed("no answer within refreshTimeoutMs"),
                (_, Some("SESSION_EXPIRED")) => AuthError::new(Code::SessionExpired, &["the refresh function refused the session (SESSION_EXPIRED)"]),
                _ if self.url().is_some() => failed("network error").caused_by(value),
                _ => failed("the refresh function threw").caused_by(value),
            });
        }
        if status == 0.0 && self.url().is_some() {
            return Err(failed("the fetch option returned something that is not a Response"));
        }
        let (answer, paths) = if status == 0.0 {
            // Tokens the function returned, under their documented names.
            if field_at(&value, "accessToken") == Field::Missing {
                return Err(failed("the refresh function must return a Response or { accessToken, refreshToken?, expiresIn? }"));
            }
            (value, ["accessToken", "refreshToken", "expiresIn"])
        } else {
            let body = value.as_string().and_then(|t| js_sys::JSON::parse(&t).ok()).filter(|b| b.is_object() && !Array::is_array(b));
            let p = &opts.token_paths;
            (body.unwrap_or(JsValue::NULL), [p.access.as_str(), p.refresh.as_str(), p.expires_in.as_str()])
        };
        let at = |p: &str| field_at(&answer, p);
        let access = refresh::token_at(paths[0], &ACCESS_NAMES, &at);
        let json = answer.is_object();
        // What the answer holds instead, only for the error.
        let fields = if json && access == Field::Missing { js::field_names(&answer) } else { String::new() };
        let fresh = refresh::classify(&Answer {
            status: if status == 0.0 { 200 } else { status as u16 },
            json,
            access,
            refresh: refresh::token_at(paths[1], &REFRESH_NAMES, &at),
            expires_in: refresh::token_at(paths[2], &EXPIRES_NAMES, &at),
            oauth_error: at("error"),
            access_path: paths[0],
            fields,
        })
        .map_err(|e| AuthError { retry_after_ms: retry_after, ..e.into() })?;
        // In a cookie session a refresh token in the answer is not ours to keep.
        Ok(if opts.cookie { refresh::Fresh { refresh: None, ..fresh } } else { fresh })
    }
}

//! The refresh call as plain data: what body to send for each `refreshFormat`, and what the
//! endpoint's answer means. The split between "the session is over" and "try again later" lives
//! here because getting it wrong either logs users out on a flaky network or keeps a dead session
//! limping along.

use alloc::string::String;
use crate::code::{decimal, Code, Failure};
use crate::policy::{form_encode, is_b64token, json_string};

/// Where the tokens sit in a successful refresh answer: the dotted JSON paths `tokenPaths` gives,
/// each the only one read; `""` where it gives none: the common names ([`token_at`]).
#[derive(Clone, Debug, PartialEq)]
pub struct TokenPaths {
    /// Path of the new access token (required in the answer).
    pub access: String,
    /// Path of the rotated refresh token (optional in the answer).
    pub refresh: String,
    /// Path of the lifetime in seconds (optional in the answer).
    pub expires_in: String,
}

/// The names backends give the access token: `accessToken` first, as `setTokens` and a refresh
/// function name it; `access_token` is OAuth 2's (RFC 6749 §5.1), so `refreshFormat: "oauth2"`
/// needs no rule of its own.
pub const ACCESS_NAMES: [&str; 3] = ["accessToken", "token", "access_token"];
/// Likewise for the refresh token.
pub const REFRESH_NAMES: [&str; 2] = ["refreshToken", "refresh_token"];
/// Likewise for the lifetime.
pub const EXPIRES_NAMES: [&str; 2] = ["expiresIn", "expires_in"];

/// The value at `path`, read by `at`; for `""`, at the first of `names` that holds one (`null`
/// counts as none).
pub fn token_at(path: &str, names: &[&str], at: impl Fn(&str) -> Field) -> Field {
    if !path.is_empty() {
        return at(path);
    }
    for n in names {
        let f = at(n);
        if !matches!(f, Field::Missing) {
            return f;
        }
    }
    Field::Missing
}

/// How the refresh request is encoded.
#[derive(Clone, Debug, PartialEq)]
pub enum Format {
    /// `POST` a JSON object with the refresh token (and the current access token).
    Json {
        /// Body field holding the refresh token.
        refresh_field: String,
        /// Body field holding the current access token.
        access_field: String,
    },
    /// RFC 6749 §6: `grant_type=refresh_token&refresh_token=…`.
    OAuth2 {
        /// `client_id` for public clients.
        client_id: Option<String>,
        /// `scope` to request.
        scope: Option<String>,
    },
}

/// The refresh request body and its content type. A token that is absent (a refresh token kept in
/// an `HttpOnly` cookie, a cookie session without an access token yet) is left out, not sent empty.
pub fn request_body(format: &Format, refresh: Option<&str>, access: Option<&str>) -> (&'static str, String) {
    let mut body = String::with_capacity(refresh.map_or(0, str::len) + access.map_or(0, str::len) + 64);
    match format {
        Format::Json { refresh_field, access_field } => {
            for &(field, value) in [(refresh_field, refresh), (access_field, access)].iter() {
                if let Some(v) = value {
                    body.push(if body.is_empty() { '{' } else { ',' });
                    json_string(field, &mut body);
                    body.push(':');
                    json_string(v, &mut body);
                }
            }
            if body.is_empty() {
                body.push('{');
            }
            body.push('}');
            ("application/json", body)
        }
        Format::OAuth2 { client_id, scope } => {
            body.push_str("grant_type=refresh_token");
            for &(name, value) in [("&refresh_token=", refresh), ("&client_id=", client_id.as_deref()), ("&scope=", scope.as_deref())].iter() {
                if let Some(v) = value {
                    body.push_str(name);
                    form_encode(v, &mut body);
                }
            }
            ("application/x-www-form-urlencoded", body)
        }
    }
}

/// One value found (or not) at a path of the answer.
#[derive(Clone, Debug, PartialEq)]
pub enum Field {
    /// Nothing there (or `null`).
    Missing,
    /// A string.
    Str(String),
    /// A number.
    Num(f64),
    /// Anything else: an object, an array, a boolean.
    Other,
}

/// New tokens from a successful refresh.
#[derive(Clone, Debug, PartialEq)]
pub struct Fresh {
    /// The new access token.
    pub access: String,
    /// The rotated refresh token, when the server rotated it.
    pub refresh: Option<String>,
    /// Lifetime in seconds, when the server said.
    pub expires_in: Option<f64>,
}

/// Decides what a refresh answer means, from its status, whether its body was a JSON object, and
/// its fields as the boundary read them: access token, refresh token, `expiresIn`, OAuth 2 `error`.
/// `access_path` is where the access token was looked for (see [`TokenPaths`]) and `fields` the
/// answer's field names (bounded, never a value), both for the error when there is none. `Err` with
/// [`Code::SessionExpired`] is final (the endpoint refused the refresh token);
/// [`Code::RefreshFailed`] is transient or a misconfiguration that logging the user out cannot fix.
/// A malformed token is never returned as fresh, so it is never stored.
pub fn classify(status: u16, json: bool, [access, refresh, expires_in, oauth_error]: [&Field; 4], access_path: &str, fields: &str) -> Result<Fresh, Failure> {
    let failed = |parts: &[&str]| Failure::new(Code::RefreshFailed, parts);
    let code = decimal(status as u64);
    match status {
        200..=299 => {
            if !json {
                return Err(failed(&["the refresh endpoint answered ", &code, " without a JSON body"]));
            }
            let access = match access {
                Field::Str(s) if is_b64token(s) => s.clone(),
                Field::Missing => {
                    let mut looked = String::from(access_path);
                    for n in ACCESS_NAMES.iter().filter(|_| access_path.is_empty()) {
                        looked.push_str(if looked.is_empty() { "" } else { ", " });
                        looked.push_str(n);
                    }
                    let parts = ["the refresh answer has no access token (looked for ", &looked, "; it has ", fields, "); set tokenPaths.accessToken"];
                    return Err(failed(&parts));
                }
                _ => return Err(failed(&["the refresh answer holds a malformed access token; it was not stored"])),
            };
            let refresh = match refresh {
                Field::Missing => None,
                Field::Str(s) if is_b64token(s) => Some(s.clone()),
                _ => return Err(failed(&["the refresh answer holds a malformed refresh token; it was not stored"])),
            };
            let expires_in = match *expires_in {
                Field::Num(n) if n.is_finite() && n > 0.0 => Some(n),
                _ => None,
            };
            Ok(Fresh { access, refresh, expires_in })
        }
        401 => Err(Failure::new(Code::SessionExpired, &["the refresh endpoint refused the refresh token (401)"])),
        400 => match oauth_error {
            Field::Str(e) if e == "invalid_grant" => {
                Err(Failure::new(Code::SessionExpired, &["the refresh endpoint refused the refresh token (400 invalid_grant)"]))
            }
            Field::Str(e) => Err(failed(&[
                "the refresh endpoint answered 400 ",
                describe_oauth_error(e),
                ": the refresh request is misconfigured (check refreshFormat, clientId, scope); the session was kept",
            ])),
            _ => Err(Failure::new(Code::SessionExpired, &["the refresh endpoint refused the refresh token (400)"])),
        },
        _ => Err(failed(&["the refresh endpoint answered ", &code])),
    }
}

/// The server's error code, when it looks like one; server text is otherwise kept out of messages.
fn describe_oauth_error(e: &str) -> &str {
    if !e.is_empty() && e.len() <= 40 && e.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
        e
    } else {
        "with an unrecognised error code"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A refresh answer as the tests write it.
    struct Answer<'a> {
        status: u16,
        json: bool,
        access: Field,
        refresh: Field,
        expires_in: Field,
        oauth_error: Field,
        access_path: &'a str,
        fields: String,
    }

    fn classify(a: &Answer) -> Result<Fresh, Failure> {
        super::classify(a.status, a.json, [&a.access, &a.refresh, &a.expires_in, &a.oauth_error], a.access_path, &a.fields)
    }

    fn answer(status: u16) -> Answer<'static> {
        Answer { status, json: true, access: Field::Missing, refresh: Field::Missing, expires_in: Field::Missing, oauth_error: Field::Missing, access_path: "", fields: String::new() }
    }

    #[test]
    fn a_path_given_or_the_first_name_present() {
        let pick = |path: &str, present: &[(&str, Field)]| token_at(path, &ACCESS_NAMES, |p| present.iter().find(|(k, _)| *k == p).map_or(Field::Missing, |(_, f)| f.clone()));
        let s = |v: &str| Field::Str(v.into());
        assert_eq!(pick("", &[("access_token", s("o")), ("token", s("t"))]), s("t"));
        assert_eq!(pick("", &[("token", Field::Num(1.0)), ("accessToken", s("a"))]), s("a"));
        assert_eq!(pick("", &[("token", Field::Other), ("access_token", s("o"))]), Field::Other, "present, if malformed");
        assert_eq!(pick("", &[("refreshToken", s("r"))]), Field::Missing);
        assert_eq!(pick("data.jwt", &[("accessToken", s("a")), ("data.jwt", s("j"))]), s("j"));
        assert_eq!(pick("jwt", &[("accessToken", s("a"))]), Field::Missing, "a path given is the only one read");
    }

    #[test]
    fn a_missing_access_token_says_where_it_was_looked_for() {
        let mut a = answer(200);
        a.fields = "jwt, refresh_token".into();
        let e = classify(&a).unwrap_err();
        assert_eq!(e.code, Code::RefreshFailed);
        assert_eq!(e.message, "the refresh answer has no access token (looked for accessToken, token, access_token; it has jwt, refresh_token); set tokenPaths.accessToken");
        a.access_path = "data.jwt";
        assert!(classify(&a).unwrap_err().message.contains("(looked for data.jwt; it has jwt"));
    }

    #[test]
    fn bodies() {
        let json = Format::Json { refresh_field: "refreshToken".into(), access_field: "token".into() };
        assert_eq!(request_body(&json, Some("r1"), Some("a1")), ("application/json", r#"{"refreshToken":"r1","token":"a1"}"#.into()));
        let oauth = Format::OAuth2 { client_id: Some("spa app".into()), scope: None };
        assert_eq!(
            request_body(&oauth, Some("r+/1="), Some("a")),
            ("application/x-www-form-urlencoded", "grant_type=refresh_token&refresh_token=r%2B%2F1%3D&client_id=spa+app".into())
        );
    }

    #[test]
    fn cookie_sessions_send_no_refresh_token() {
        let json = Format::Json { refresh_field: "refreshToken".into(), access_field: "token".into() };
        assert_eq!(request_body(&json, None, Some("a1")).1, r#"{"token":"a1"}"#);
        assert_eq!(request_body(&json, None, None).1, "{}");
        let oauth = Format::OAuth2 { client_id: Some("spa".into()), scope: Some("api".into()) };
        assert_eq!(request_body(&oauth, None, Some("a1")).1, "grant_type=refresh_token&client_id=spa&scope=api");
    }

    #[test]
    fn success_needs_a_valid_access_token() {
        let mut a = answer(200);
        a.access = Field::Str("new".into());
        a.expires_in = Field::Num(60.0);
        assert_eq!(classify(&a), Ok(Fresh { access: "new".into(), refresh: None, expires_in: Some(60.0) }));
        a.refresh = Field::Str("r2".into());
        assert_eq!(classify(&a).unwrap().refresh.as_deref(), Some("r2"));
        for bad in [Field::Missing, Field::Str("bad token".into()), Field::Num(1.0)] {
            a.access = bad;
            assert_eq!(classify(&a).unwrap_err().code, Code::RefreshFailed);
        }
        a.access = Field::Str("ok".into());
        a.refresh = Field::Str("new\nline".into());
        assert_eq!(classify(&a).unwrap_err().code, Code::RefreshFailed);
        let mut html = answer(200);
        html.json = false;
        assert_eq!(classify(&html).unwrap_err().code, Code::RefreshFailed);
    }

    #[test]
    fn refusals_end_the_session_and_faults_do_not() {
        assert_eq!(classify(&answer(401)).unwrap_err().code, Code::SessionExpired);
        assert_eq!(classify(&answer(400)).unwrap_err().code, Code::SessionExpired, "custom backend 400");
        let mut a = answer(400);
        a.oauth_error = Field::Str("invalid_grant".into());
        assert_eq!(classify(&a).unwrap_err().code, Code::SessionExpired);
        for e in ["invalid_request", "invalid_client", "unsupported_grant_type"] {
            a.oauth_error = Field::Str(e.into());
            let err = classify(&a).unwrap_err();
            assert_eq!(err.code, Code::RefreshFailed);
            assert!(err.message.contains(e));
        }
        a.oauth_error = Field::Str("<script>secret".into());
        assert!(!classify(&a).unwrap_err().message.contains("secret"));
        for s in [500, 502, 503, 404, 429] {
            let e = classify(&answer(s)).unwrap_err();
            assert_eq!(e.code, Code::RefreshFailed);
            assert!(e.message.ends_with(&decimal(s as u64)));
        }
    }
}

//! DPoP (RFC 9449) as plain rules: what a proof claims, which nonces are kept, and what a
//! server's `WWW-Authenticate` challenge says. Signing and the key are the shell's (WebCrypto,
//! IndexedDB); everything a proof says is decided here, so the shell only adds the random `jti`,
//! the token's hash (`ath`) and the signature.

use alloc::string::String;

use crate::code::decimal;
use crate::policy::json_string;

/// A nonce longer than this is not kept (RFC 9449 sets no bound; a header that large is junk).
pub const MAX_NONCE: usize = 1024;

/// The proof's claims but `jti` and `ath`, as a JSON object: `htm`, `htu` (the URL without query
/// and fragment), `iat` (seconds on the server's clock as estimated) and the origin's `nonce`.
pub fn claims(method: &str, url: &str, server_ms: f64, nonce: Option<&str>) -> String {
    let mut out = String::with_capacity(url.len() + 64);
    out.push_str("{\"htm\":");
    json_string(method, &mut out);
    out.push_str(",\"htu\":");
    json_string(htu(url), &mut out);
    out.push_str(",\"iat\":");
    // A clock before 1970 or beyond 2^53 ms is no clock: 0 (the server refuses the proof).
    let secs = server_ms / 1000.0;
    out.push_str(&decimal(if secs.is_finite() && secs >= 0.0 && secs < 9.0e15 { secs as u64 } else { 0 }));
    if let Some(n) = nonce {
        out.push_str(",\"nonce\":");
        json_string(n, &mut out);
    }
    out.push('}');
    out
}

/// `url` without its query and fragment (RFC 9449 §4.2, `htu`).
pub fn htu(url: &str) -> &str {
    let end = url.bytes().position(|b| b == b'?' || b == b'#').unwrap_or(url.len());
    url.get(..end).unwrap_or(url)
}

/// Whether a `DPoP-Nonce` header value is a nonce (RFC 9449 §8.1: `1*NQCHAR`, printable ASCII
/// without `"` and `\`), bounded by [`MAX_NONCE`].
pub fn is_nonce(v: &str) -> bool {
    !v.is_empty() && v.len() <= MAX_NONCE && v.bytes().all(|b| matches!(b, 0x21 | 0x23..=0x5b | 0x5d..=0x7e))
}

/// What a `DPoP` challenge in `WWW-Authenticate` says (RFC 9449 §7.1, §8).
#[derive(Clone, Debug, PartialEq)]
pub enum Challenge {
    /// `error="use_dpop_nonce"`: try again at once with the nonce the answer gave.
    UseNonce,
    /// `error="invalid_dpop_proof"`: the proof is wrong (a bug of ours); its `error_description`
    /// as the server wrote it (server text: see [`printable`] before it is shown).
    BadProof(String),
}

/// What a token endpoint's `400` with the OAuth `error` (and `error_description`) says about DPoP
/// (RFC 9449 §8, §5): the one reading of it, for the refresh call and the app's own requests.
pub fn token_error(status: u16, error: Option<&str>, description: Option<&str>) -> Option<Challenge> {
    match (status, error) {
        (400, Some("use_dpop_nonce")) => Some(Challenge::UseNonce),
        (400, Some("invalid_dpop_proof")) => Some(Challenge::BadProof(description.unwrap_or_default().into())),
        _ => None,
    }
}

/// The `DPoP` challenge of a `WWW-Authenticate` value, when it says one of [`Challenge`]'s
/// errors. The value may hold several challenges (`Bearer realm="a", DPoP error="…"`): each
/// auth-param belongs to the scheme before it (RFC 9110 §11.6.1). Never panics on any input.
pub fn challenge(header: &str) -> Option<Challenge> {
    let b = header.as_bytes();
    let mut i = 0;
    let mut dpop = false;
    let (mut error, mut description) = (None, None);
    while i < b.len() {
        while i < b.len() && matches!(b[i], b' ' | b'\t' | b',') {
            i += 1;
        }
        let name = token(b, &mut i);
        if name.is_empty() {
            i += 1; // not a token (a stray byte): skipped
            continue;
        }
        let mut j = i;
        while j < b.len() && matches!(b[j], b' ' | b'\t') {
            j += 1;
        }
        if b.get(j) != Some(&b'=') {
            dpop = name.eq_ignore_ascii_case(b"DPoP"); // a new challenge's scheme
            continue;
        }
        i = j + 1;
        while i < b.len() && matches!(b[i], b' ' | b'\t') {
            i += 1;
        }
        let value = if b.get(i) == Some(&b'"') { quoted(b, &mut i) } else { token(b, &mut i).to_vec() };
        if dpop && name.eq_ignore_ascii_case(b"error") {
            error = Some(value);
        } else if dpop && name.eq_ignore_ascii_case(b"error_description") {
            description = Some(value);
        }
    }
    match error.as_deref() {
        Some(b"use_dpop_nonce") => Some(Challenge::UseNonce),
        Some(b"invalid_dpop_proof") => Some(Challenge::BadProof(String::from_utf8(description.unwrap_or_default()).unwrap_or_default())),
        _ => None,
    }
}

/// The `tchar`s at `i` (RFC 9110 §5.6.2), `i` moved past them.
fn token<'a>(b: &'a [u8], i: &mut usize) -> &'a [u8] {
    let start = *i;
    while *i < b.len() && (b[*i].is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b[*i])) {
        *i += 1;
    }
    &b[start..*i]
}

/// The quoted-string at `i` (which is its `"`), unescaped; `i` moved past its closing quote.
fn quoted(b: &[u8], i: &mut usize) -> alloc::vec::Vec<u8> {
    let mut out = alloc::vec::Vec::new();
    *i += 1;
    while *i < b.len() {
        match b[*i] {
            b'"' => {
                *i += 1;
                break;
            }
            b'\\' if *i + 1 < b.len() => {
                out.push(b[*i + 1]);
                *i += 2;
            }
            c => {
                out.push(c);
                *i += 1;
            }
        }
    }
    out
}

/// Server text fit for an error message: printable ASCII, at most 200 bytes.
pub fn printable(text: &[u8]) -> String {
    let bytes: alloc::vec::Vec<u8> = text.iter().take(200).map(|&c| if (b' '..=b'~').contains(&c) { c } else { b'?' }).collect();
    crate::code::ascii(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_say_what_the_request_is() {
        assert_eq!(claims("GET", "https://api.test/x?q=1#f", 1_700_000_000_999.0, None), r#"{"htm":"GET","htu":"https://api.test/x","iat":1700000000}"#);
        assert_eq!(claims("POST", "https://a.test/t", 1_000.0, Some("n-1")), r#"{"htm":"POST","htu":"https://a.test/t","iat":1,"nonce":"n-1"}"#);
        assert_eq!(claims("GET", "https://a.test/\"", f64::NAN, None), r#"{"htm":"GET","htu":"https://a.test/\"","iat":0}"#);
    }

    #[test]
    fn nonces_are_nqchars() {
        assert!(is_nonce("eyJ7S_zG.eyJH0-Z.HX4w-7v"));
        for bad in ["", "a b", "a\"b", "a\\b", "é", &"n".repeat(MAX_NONCE + 1)] {
            assert!(!is_nonce(bad), "{bad:?}");
        }
    }

    #[test]
    fn challenges_are_read_per_scheme() {
        assert_eq!(challenge(r#"DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof""#), Some(Challenge::UseNonce));
        assert_eq!(challenge(r#"Bearer realm="x", DPoP algs="ES256", error="invalid_dpop_proof", error_description="bad \"htu\"""#), Some(Challenge::BadProof("bad \"htu\"".into())));
        assert_eq!(challenge("dpop error=use_dpop_nonce"), Some(Challenge::UseNonce));
        // Another scheme's error is not DPoP's; an expired token is no challenge of these.
        assert_eq!(challenge(r#"Bearer error="use_dpop_nonce", DPoP algs="ES256""#), None);
        assert_eq!(challenge(r#"DPoP error="invalid_token""#), None);
        assert_eq!(challenge(r#"DPoP error="invalid_dpop_proof", error_description="a
b""#), Some(Challenge::BadProof("a\nb".into())));
        assert_eq!(token_error(400, Some("use_dpop_nonce"), None), Some(Challenge::UseNonce));
        assert_eq!(token_error(400, Some("invalid_dpop_proof"), Some("why")), Some(Challenge::BadProof("why".into())));
        assert_eq!(token_error(400, Some("invalid_grant"), None), None);
        assert_eq!(token_error(401, Some("use_dpop_nonce"), None), None);
        for junk in ["", "=", "DPoP =", "DPoP error=\"", "DPoP error=\"\\", ",,,", "DPoP error", "\u{0}\u{ff}"] {
            let _ = challenge(junk);
        }
    }
}

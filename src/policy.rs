//! Plain-Rust decisions about untrusted strings: which origin may receive a token, what counts as
//! a token at all, where a login page may send the user back to, and how values are encoded into
//! the refresh request. No JS here, so `cargo test` checks all of it natively.

use alloc::string::String;
use alloc::vec::Vec;

/// Longest token accepted. Real JWTs stay far below; anything longer is garbage or an attack on
/// header size limits.
const MAX_TOKEN_LEN: usize = 16 * 1024;

/// Whether `token` may be sent in an `Authorization` header: RFC 6750 §2.1 `b64token`
/// (`1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`). This refuses CR/LF (header
/// injection), NUL, spaces and non-ASCII before any request leaves.
pub fn is_b64token(token: &str) -> bool {
    let bytes = token.as_bytes();
    if bytes.is_empty() || bytes.len() > MAX_TOKEN_LEN {
        return false;
    }
    let body_len = bytes.iter().rposition(|&b| b != b'=').map_or(0, |i| i + 1);
    body_len > 0
        && bytes[..body_len]
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/'))
}

/// Normalises an origin given in options (`"https://API.example.com:443/"` becomes
/// `"https://api.example.com"`), the same form the browser's `URL.origin` produces, so a plain
/// string comparison is then exact. Anything that is not just scheme, host and port is refused:
/// a path, query, user info or wildcard in an allowlist is almost always a mistake.
pub fn normalize_origin(input: &str) -> Option<String> {
    // On bytes, not `char`s: what is kept is checked to be ASCII. A byte search rather than
    // `split_once("://")`: substring search code costs ~2 KB of wasm.
    let b = input.as_bytes();
    let at = b.windows(3).position(|w| w == b"://")?;
    let (scheme, default_port): (&str, &[u8]) = match &b[..at] {
        s if s.eq_ignore_ascii_case(b"https") => ("https://", b"443"),
        s if s.eq_ignore_ascii_case(b"http") => ("http://", b"80"),
        _ => return None,
    };
    let rest = &b[at + 3..];
    let authority = rest.strip_suffix(b"/").unwrap_or(rest);
    // The host ends after its `]` (an IPv6 literal), or at the first `:`; a port follows a `:`.
    let host_len = match authority.first() {
        Some(b'[') => authority.iter().position(|&c| c == b']')? + 1,
        _ => authority.iter().position(|&c| c == b':').unwrap_or(authority.len()),
    };
    let (host, port) = match authority.split_at(host_len) {
        (host, []) => (host, None),
        (host, [b':', port @ ..]) => (host, Some(port)),
        _ => return None,
    };
    let host_ok = !host.is_empty() && host.iter().all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'[' | b']' | b':'));
    let port_ok = port.map_or(true, |p| !p.is_empty() && p.len() <= 5 && p.iter().all(u8::is_ascii_digit));
    if !host_ok || !port_ok {
        return None;
    }
    let mut out = String::from(scheme);
    let ascii = |part: &[u8], out: &mut String| part.iter().for_each(|&c| out.push(c.to_ascii_lowercase() as char));
    ascii(host, &mut out);
    if let Some(p) = port.map(|p| &p[p.iter().position(|&c| c != b'0').unwrap_or(p.len())..]).filter(|p| *p != default_port) {
        out.push(':');
        ascii(if p.is_empty() { b"0" } else { p }, &mut out);
    }
    Some(out)
}

/// The origin of an absolute URL as the browser's URL parser serialises it (`Request.url` always
/// is: lower-case host, no default port, a path): everything before the path. `None` for anything
/// but http(s), and for URLs with credentials, which no allowlist entry can match.
pub fn origin_of(url: &str) -> Option<&str> {
    let authority = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"))?;
    let host_len = authority.bytes().position(|b| matches!(b, b'/' | b'?' | b'#')).unwrap_or(authority.len());
    if authority.as_bytes()[..host_len].contains(&b'@') {
        return None;
    }
    url.get(..url.len() - authority.len() + host_len)
}

/// Whether a request to `origin` may carry the access token: same origin as the page, or listed
/// exactly.
pub fn origin_allowed(origin: &str, page_origin: &str, allowed: &[String]) -> bool {
    origin != "null" && (origin == page_origin || allowed.iter().any(|a| a == origin))
}

/// `value` when it is a path on this origin that is safe to navigate to after login, else
/// `fallback`. Refuses what browsers would treat as another host (`//evil`, `/\evil`), schemes
/// (`javascript:`), control characters, whitespace and backslashes. A router may decode the path
/// before it navigates, and `/%2F/evil`, `/%09/evil` (the URL parser drops tabs and line breaks)
/// or `/%255C/evil` then lead to another host: so the path, decoded as often as it decodes, must
/// hold no control character, must not go on from its first slash with a slash, a backslash or a
/// space, and must hold no `.` or `..` segment (`/..//evil` resolves to `//evil`).
pub fn safe_return_path<'a>(value: &'a str, fallback: &'a str) -> &'a str {
    let b = value.as_bytes();
    let ok = b.len() <= 2048 && b.first() == Some(&b'/') && !b.iter().any(|&c| c <= b' ' || c == 0x7f || c == b'\\') && {
        let d = fully_decoded(b);
        // The path ends at the first `?` or `#` as written: an encoded one (`%3F`) is part of it.
        let path = fully_decoded(b.split(|&c| c == b'?' || c == b'#').next().unwrap_or_default());
        !d.iter().any(|&c| c < b' ' || c == 0x7f)
            && !matches!(d.get(1), Some(b'/' | b'\\' | b' '))
            && !path.split(|&c| c == b'/' || c == b'\\').any(|seg| seg == b"." || seg == b"..")
    };
    if ok {
        value
    } else {
        fallback
    }
}

/// `b` percent-decoded until nothing is left to decode: a router that decodes twice reads
/// `%252F` as `/`. Each round shortens it, so this ends.
fn fully_decoded(b: &[u8]) -> Vec<u8> {
    let mut d = b.to_vec();
    loop {
        let (mut read, mut write) = (0, 0);
        while read < d.len() {
            let hex = |at: usize| d.get(at).and_then(|&c| (c as char).to_digit(16));
            let mut c = d[read];
            if let (b'%', Some(hi), Some(lo)) = (c, hex(read + 1), hex(read + 2)) {
                c = (hi * 16 + lo) as u8;
                read += 2;
            }
            d[write] = c;
            (read, write) = (read + 1, write + 1);
        }
        if write == d.len() {
            return d;
        }
        d.truncate(write);
    }
}

/// `application/x-www-form-urlencoded` encoding of one value (WHATWG URL standard), for the
/// OAuth 2 refresh body and the login return parameter.
pub fn form_encode(value: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in value.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => out.push(b as char),
            b' ' => out.push('+'),
            _ => {
                out.push('%');
                out.push(HEX[(b >> 4) as usize] as char);
                out.push(HEX[(b & 15) as usize] as char);
            }
        }
    }
}

/// A JSON string literal for `value`, quotes included.
pub fn json_string(value: &str, out: &mut String) {
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                out.push_str("\\u00");
                out.push(char::from_digit((c as u32) >> 4, 16).unwrap_or('0'));
                out.push(char::from_digit((c as u32) & 15, 16).unwrap_or('0'));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// `login_url` with `param=<return path>` added to its query (before any fragment).
pub fn with_return_param(login_url: &str, param: &str, path: &str) -> String {
    let (base, fragment) = match login_url.find('#') {
        Some(i) => login_url.split_at(i),
        None => (login_url, ""),
    };
    let mut out = String::from(base);
    out.push(if base.contains('?') { '&' } else { '?' });
    form_encode(param, &mut out);
    out.push('=');
    form_encode(path, &mut out);
    out.push_str(fragment);
    out
}

/// Whether a dotted JSON path (`"data.token"`) is well formed: no empty segment.
pub fn is_json_path(path: &str) -> bool {
    !path.is_empty() && path.split('.').all(|s| !s.is_empty())
}

/// RFC 9110 `token`: what a header name may be made of.
pub fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Whether a `Content-Type` names one JSON document (`application/json`, `application/*+json`),
/// the only kind of answer worth peeking into for an "expired" code. Streams that merely carry
/// JSON (`application/x-ndjson`, `text/event-stream`, `application/json-seq`) must reach the
/// caller untouched, as they arrive.
pub fn is_json_document(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim().as_bytes();
    let Some(subtype) = essence.get(12..).filter(|_| essence[..12].eq_ignore_ascii_case(b"application/")) else {
        return false;
    };
    subtype.eq_ignore_ascii_case(b"json") || (subtype.len() > 5 && subtype[subtype.len() - 5..].eq_ignore_ascii_case(b"+json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_json_documents_are_peeked_into() {
        for yes in ["application/json", "Application/JSON; charset=utf-8", " application/problem+json", "application/vnd.api+json;v=1"] {
            assert!(is_json_document(yes), "{yes}");
        }
        for no in ["application/x-ndjson", "text/event-stream", "application/json-seq", "text/json", "application/+json", "application/jsonx", "", "application/", "json", "\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}"] {
            assert!(!is_json_document(no), "{no}");
        }
    }

    #[test]
    fn b64token_accepts_jwts_and_padding() {
        assert!(is_b64token("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig-_~+/"));
        assert!(is_b64token("abc=="));
    }

    #[test]
    fn b64token_refuses_injection_and_garbage() {
        for bad in ["", "a b", "a\r\nX-Evil: 1", "a\0b", "tök", "==", "a=b", "a\tb", "\"a\""] {
            assert!(!is_b64token(bad), "{bad:?}");
        }
        assert!(!is_b64token(&"a".repeat(MAX_TOKEN_LEN + 1)));
    }

    #[test]
    fn origins_normalise_like_the_browser() {
        assert_eq!(normalize_origin("https://API.Example.com:443/").as_deref(), Some("https://api.example.com"));
        assert_eq!(normalize_origin("http://localhost:8080").as_deref(), Some("http://localhost:8080"));
        assert_eq!(normalize_origin("HTTP://h:80").as_deref(), Some("http://h"));
        assert_eq!(normalize_origin("http://[::1]:3000").as_deref(), Some("http://[::1]:3000"));
        assert_eq!(normalize_origin("http://[::1]").as_deref(), Some("http://[::1]"));
        for bad in ["api.example.com", "ftp://x", "https://", "https://a/b", "https://u@a", "https://a?x", "https://*.a", "https://a:x", "https://a:123456"] {
            assert_eq!(normalize_origin(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn only_exact_origins_get_the_token() {
        let allowed = vec![normalize_origin("https://api.example.com").unwrap()];
        let page = "https://app.example.com";
        assert!(origin_allowed("https://app.example.com", page, &allowed));
        assert!(origin_allowed("https://api.example.com", page, &allowed));
        // What the browser's URL parser makes of lookalikes:
        for other in [
            "https://api.example.com.evil.com",
            "https://evil.com", // https://api.example.com@evil.com
            "http://api.example.com",
            "https://api.example.com:8443",
            "null",
        ] {
            assert!(!origin_allowed(other, page, &allowed), "{other}");
        }
    }

    #[test]
    fn origins_of_normalised_urls() {
        assert_eq!(origin_of("https://api.example.com/v1?x#y"), Some("https://api.example.com"));
        assert_eq!(origin_of("http://127.0.0.1:8080/"), Some("http://127.0.0.1:8080"));
        assert_eq!(origin_of("https://api.example.com.evil.com/"), Some("https://api.example.com.evil.com"));
        assert_eq!(origin_of("https://api.example.com@evil.com/"), None);
        assert_eq!(origin_of("http://[::1]:3000/x"), Some("http://[::1]:3000"));
        for other in ["data:text/plain,x", "blob:https://a/b", "ftp://a/", "javascript:x"] {
            assert_eq!(origin_of(other), None, "{other}");
        }
    }

    #[test]
    fn return_paths_stay_on_this_origin() {
        for good in ["/", "/dashboard", "/a/b?x=1#y", "/a%2Fb", "/search?q=a%20b", "/100%25", "/%41/b", "/a%2", "/%zz", "/a..b", "/.well-known/x", "/a/.b", "/x?p=../y"] {
            assert_eq!(safe_return_path(good, "/home"), good);
        }
        for bad in [
            "//evil.com", "/\\evil.com", "https://evil.com", "javascript:alert(1)", "%2F%2Fevil.com",
            "/%2F%2Fevil.com", "/%5Cevil.com", "\t/x", " /x", "\u{0}/x", "/x\ny", "", "dashboard", "/a\\b",
            // What a decoding router turns into another host, or a path with control characters.
            "/%09/evil.com", "/%0A/evil.com", "/%0d/evil.com", "/%2509/evil.com", "/%252F/evil.com",
            "/%25252f/evil.com", "/%255c/evil.com", "/%20/evil.com", "/%2f", "/a?next=%0D%0ALocation:x", "/x%00", "/x%7F",
            // Dot segments, which the URL parser resolves: `/..//evil.com` is `//evil.com`.
            "/..//evil.com", "/a/../..//evil.com", "/.//evil.com", "/%2E%2E//evil.com", "/..%2F/evil.com", "/..%5C/evil.com", "/a/..",
            // An encoded `?` or `#` does not end the path: the dot segments after it still count.
            "/a%3F/../..//evil.com", "/a%23/../..//evil.com", "/a%253F/../..//evil.com",
        ] {
            assert_eq!(safe_return_path(bad, "/home"), "/home", "{bad:?}");
        }
    }

    #[test]
    fn encodings() {
        let mut s = String::new();
        form_encode("a b&c=d/é", &mut s);
        assert_eq!(s, "a+b%26c%3Dd%2F%C3%A9");
        let mut j = String::new();
        json_string("q\"\\\n", &mut j);
        assert_eq!(j, "\"q\\\"\\\\\\u000a\"");
        assert_eq!(with_return_param("/login", "next", "/a?b=1"), "/login?next=%2Fa%3Fb%3D1");
        assert_eq!(with_return_param("/login?x=1#f", "r", "/"), "/login?x=1&r=%2F#f");
    }

    #[test]
    fn names_and_paths() {
        assert!(is_json_path("data.token") && is_json_path("token"));
        assert!(!is_json_path("") && !is_json_path("a..b") && !is_json_path(".a"));
        assert!(is_header_name("Authorization") && is_header_name("X-Auth-Token"));
        assert!(!is_header_name("Bad Header") && !is_header_name("") && !is_header_name("a:b"));
    }
}

//! Property tests: every plain-Rust function that reads something from outside (stored values,
//! tokens, JWT payloads, `Date` and `Retry-After` headers, refresh answers, paths, URLs, return
//! paths, options) is run over arbitrary and adversarial input, asserting that it does not panic
//! (in the shipped build a panic traps the instance and can leave the session's `RefCell`s
//! borrowed for good) and that it gives the documented answer.
//!
//! `PROPTEST_CASES` sets the cases per property (default here: 2,000); docs/security.md gives the count
//! of the last full run. Native only: the browser builds run the same functions.
#![cfg(not(target_arch = "wasm32"))]

use proptest::prelude::*;
use seamless_fetch::backoff::{delay_ms, retry_after_ms, Backoff, CAP_MS};
use seamless_fetch::code::decimal;
use seamless_fetch::dpop::{challenge, claims, htu, is_nonce, Challenge};
use seamless_fetch::expiry::{claim_ms, clock_offset, jwt_payload, parse_http_date, refresh_due_at, Lifetime, FLOOR_MS};
use seamless_fetch::options::{Options, Value};
use seamless_fetch::policy::*;
use seamless_fetch::refresh::{classify, request_body, Field, Format};

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(2_000);
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

/// Strings as they come from outside: anything, text shaped like what each parser expects (so
/// that the edges of almost-valid input are reached, not only noise), and the odd huge one.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => any::<String>(),
        2 => "[ -~]{0,80}",
        1 => "[0-9]{1,25}",
        1 => "[0-9]{1,17},[0-9]{1,17},[0-9]{1,17}",
        1 => "[/\\\\%2FfC5c.a-z]{0,8}[ -~]{0,20}",
        1 => "[A-Za-z0-9_-]{0,40}\\.[A-Za-z0-9_=+/-]{0,80}\\.[A-Za-z0-9_-]{0,10}",
        1 => "(Mon|Sun|Xyz), [0-9]{1,3} (Jan|Nov|Feb|Foo) [0-9]{1,6} [0-9]{1,3}:[0-9]{1,3}:[0-9]{1,3} (GMT|UTC)",
        1 => "(https?|ftp|javascript)://[a-zA-Z0-9.\\[\\]:@-]{0,30}(/[ -~]{0,10})?",
        1 => ".{0,3}".prop_map(|s| s.repeat(40_000)),
        1 => Just(String::new()),
    ]
}

/// Paths whose start percent-decodes, once or more, to what a router may turn into another host
/// (slashes, backslashes, dot segments, tabs, line breaks, other control characters), or to
/// something harmless.
fn encoded_path() -> impl Strategy<Value = String> {
    "/(%(25){0,2}(2[eEfF3]|3[fF]|5[cC]|[01][0-9a-fA-F]|7[fF]|20|41)|/|\\\\|a|\\.|\\.\\.){1,6}[ -~]{0,12}"
}

/// The path of `p` (before its first `?` or `#` as written, decoded after) as the URL parser
/// resolves its `.` and `..` segments (RFC 3986 §5.2.4, with `\\` as a separator, as for http URLs).
fn without_dot_segments(p: &[u8]) -> Vec<u8> {
    let mut path = p.split(|&c| c == b'?' || c == b'#').next().unwrap_or_default().to_vec();
    while let Some(next) = decode_once(&path) {
        path = next;
    }
    let mut out: Vec<&[u8]> = Vec::new();
    let segments: Vec<&[u8]> = path.split(|&c| c == b'/' || c == b'\\').skip(1).collect();
    for (i, seg) in segments.iter().enumerate() {
        match *seg {
            b"." => {}
            b".." => {
                out.pop();
            }
            seg => out.push(seg),
        }
        if i + 1 == segments.len() && (*seg == b"." || *seg == b"..") {
            out.push(b"");
        }
    }
    let mut r = Vec::new();
    for seg in out {
        r.push(b'/');
        r.extend_from_slice(seg);
    }
    r
}

/// One round of percent-decoding, `None` when nothing decodes: the test's own decoder.
fn decode_once(b: &[u8]) -> Option<Vec<u8>> {
    let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let (mut out, mut i, mut changed) = (Vec::new(), 0, false);
    while i < b.len() {
        if let (b'%', Some(hi), Some(lo)) = (b[i], b.get(i + 1).copied().and_then(hex), b.get(i + 2).copied().and_then(hex)) {
            out.push(hi << 4 | lo);
            i += 3;
            changed = true;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    changed.then_some(out)
}

/// Numbers as JS hands them over: anything an f64 holds, and the edges.
fn number() -> impl Strategy<Value = f64> {
    prop_oneof![
        3 => any::<f64>(),
        1 => prop_oneof![Just(f64::NAN), Just(f64::INFINITY), Just(f64::NEG_INFINITY), Just(f64::MAX), Just(f64::MIN), Just(-0.0), Just(1e300)],
        2 => -1e13..1e13f64,
    ]
}

fn field() -> impl Strategy<Value = Field> {
    prop_oneof![Just(Field::Missing), text().prop_map(Field::Str), number().prop_map(Field::Num), Just(Field::Other)]
}

/// Option values nested a few levels, with the keys the parser knows and some it does not.
fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Undefined),
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number().prop_map(Value::Num),
        text().prop_map(Value::Str),
        Just(Value::Func),
        Just(Value::Other),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::List),
            prop::collection::vec((key(), inner), 0..8).prop_map(Value::Map),
        ]
    })
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(vec![
            "refreshUrl", "refresh", "refreshTokenIn", "refreshHeaders", "loginUrl", "loginReturnParam", "storage",
            "accessTokenKey", "refreshTokenKey", "authHeader", "authScheme", "expiredStatuses", "expiredBodyCodes",
            "expiredBodyField", "isExpired", "refreshFormat", "refreshFields", "tokenPaths", "clientId", "scope",
            "refreshTimeoutMs", "allowedOrigins", "crossTab", "refreshAheadMs", "fetch", "onTokens", "accessToken",
            "refreshToken", "expiresIn",
        ])
        .prop_map(String::from),
        1 => text(),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn tokens_and_headers(s in text()) {
        if is_b64token(&s) {
            prop_assert!(!s.is_empty() && s.len() <= 16 * 1024 && s.is_ascii() && !s.contains(' '));
        }
        let _ = is_header_name(&s);
        let _ = is_json_path(&s);
        let _ = is_json_document(&s);
    }

    #[test]
    fn origins_and_urls(s in text(), page in text(), allowed in prop::collection::vec(text(), 0..4)) {
        if let Some(o) = normalize_origin(&s) {
            prop_assert!(o.contains("://"), "{o}");
            prop_assert_eq!(normalize_origin(&o), Some(o.clone()), "normalising is idempotent");
        }
        let origin = origin_of(&s);
        let _ = origin_allowed(origin.unwrap_or("null"), &page, &allowed);
    }

    #[test]
    fn return_paths_never_leave_the_origin(v in prop_oneof![3 => text(), 1 => encoded_path()], param in text(), login in text()) {
        let out = safe_return_path(&v, "/home");
        prop_assert!(out == "/home" || out == v);
        if out == v {
            prop_assert!(v.starts_with('/') && !v.starts_with("//") && !v.starts_with("/\\"), "{v:?}");
            // Nor once a router has decoded it, however often, and dropped what the URL parser drops.
            let mut d = v.clone().into_bytes();
            while let Some(next) = decode_once(&d) {
                d = next;
            }
            prop_assert!(!d.iter().any(|&c| c < 0x20 || c == 0x7f), "an encoded control character: {v:?}");
            let d: Vec<u8> = d.into_iter().filter(|c| !b"\t\n\r ".contains(c)).collect();
            prop_assert!(d.starts_with(b"/") && !d.starts_with(b"//") && !d.starts_with(b"/\\"), "decodes to another host: {v:?}");
            let resolved = without_dot_segments(v.as_bytes());
            prop_assert!(!resolved.starts_with(b"//") && !resolved.starts_with(b"/\\"), "resolves to another host: {v:?}");
        }
        let _ = with_return_param(&login, &param, out);
    }

    #[test]
    fn encoders_escape_everything(s in text()) {
        let mut form = String::new();
        form_encode(&s, &mut form);
        prop_assert!(form.bytes().all(|b| b.is_ascii_alphanumeric() || b"%+-._~*".contains(&b)), "{form}");
        let mut json = String::new();
        json_string(&s, &mut json);
        prop_assert!(json.starts_with('"') && json.ends_with('"') && json.len() >= 2);
        prop_assert!(!json.chars().any(|c| (c as u32) < 0x20), "no raw control characters");
    }

    #[test]
    fn dpop_challenges_nonces_and_claims(s in prop_oneof![3 => text(), 1 => "(DPoP|Bearer|dpop)[ ,]{0,3}(error|algs|error_description)[ ]?=[ ]?\"?(use_dpop_nonce|invalid_dpop_proof|[ -~]{0,12})\"?[ ,]{0,3}"], url in text(), n in number()) {
        match challenge(&s) {
            Some(Challenge::BadProof(d)) => prop_assert!(d.len() <= 200 && d.bytes().all(|b| (b' '..=b'~').contains(&b)), "{d:?}"),
            Some(Challenge::UseNonce) => prop_assert!(s.to_ascii_lowercase().contains("dpop") && s.contains("use_dpop_nonce")),
            None => {}
        }
        if is_nonce(&s) {
            prop_assert!(!s.is_empty() && !s.contains('"') && !s.contains('\\') && s.bytes().all(|b| (0x21..=0x7e).contains(&b)));
        }
        let c = claims(&s, &url, n, is_nonce(&s).then_some(s.as_str()));
        prop_assert!(c.starts_with(r#"{"htm":"#) && c.ends_with("}") && !c.chars().any(|ch| (ch as u32) < 0x20), "claims {}", c);
        prop_assert!(!htu(&url).contains(['?', '#']) && url.starts_with(htu(&url)));
    }

    #[test]
    fn jwt_payloads_and_claims(s in text(), n in number()) {
        let _ = jwt_payload(&s);
        if let Some(ms) = claim_ms(n) {
            prop_assert!(ms.is_finite() && ms > 0.0);
        }
    }

    #[test]
    fn dates_and_clock_offsets(s in text(), now in number()) {
        if let Some(ms) = parse_http_date(&s) {
            prop_assert!(ms.is_finite());
        }
        if let Some(offset) = clock_offset(&s, now) {
            prop_assert!(offset.is_finite());
        }
    }

    #[test]
    fn lifetimes(iat in proptest::option::of(number()), exp in number(), now in number(), replaced in any::<bool>(), ahead in number()) {
        let life = Lifetime::observed(iat, exp, now, replaced);
        let due = refresh_due_at(&life, ahead);
        if replaced && ahead > 0.0 && [exp, now].iter().chain(iat.iter()).all(|v| v.is_finite()) {
            // A token received here is never refreshed ahead within its floor.
            let floor = FLOOR_MS.min(iat.filter(|i| *i <= exp).map_or(f64::INFINITY, |i| (exp - i) / 2.0));
            prop_assert!(due.is_some_and(|d| d >= now + floor), "{due:?} {life:?}");
        }
    }

    #[test]
    fn back_off_state_from_storage_and_headers(s in text(), now in number(), failures in any::<u32>(), random in number(), retry in proptest::option::of(number())) {
        if let Some(b) = Backoff::decode(&s) {
            prop_assert!(b.failures > 0 && b.until_ms >= b.since_ms && b.until_ms - b.since_ms <= CAP_MS);
            prop_assert_eq!(Backoff::decode(&b.encode()), Some(b));
            if now.is_finite() && now.abs() < 1e15 {
                // Whatever the stored dates, the window ends within the cap from now.
                prop_assert_eq!(b.at(now).wait_ms(now + CAP_MS, 0.0), 0.0, "{:?}", b);
            }
        }
        if let Some(ms) = retry_after_ms(&s, now) {
            prop_assert!((0.0..=CAP_MS).contains(&ms), "{ms}");
        }
        let d = delay_ms(failures, random);
        prop_assert!((FIRST_HALF..=CAP_MS).contains(&d), "{d}");
        let next = Backoff { failures, since_ms: 0.0, until_ms: 0.0 }.after_failure(now, retry, random);
        let wait = next.wait_ms(now, 0.0);
        prop_assert!(wait.is_nan() || (0.0..=CAP_MS).contains(&wait));
    }

    #[test]
    fn refresh_answers(status in prop_oneof![200u16..300, any::<u16>(), Just(400u16), Just(401u16)], json in any::<bool>(), access in field(), refresh in field(), expires in field(), error in field(), path in text(), fields in text()) {
        if let Ok(fresh) = classify(status, json, [&access, &refresh, &expires, &error], &path, &fields) {
            prop_assert!((200..300).contains(&status) && json && is_b64token(&fresh.access));
            prop_assert!(fresh.refresh.as_deref().map_or(true, is_b64token));
            prop_assert!(fresh.expires_in.map_or(true, |e| e.is_finite() && e > 0.0));
        }
    }

    #[test]
    fn refresh_bodies(refresh in proptest::option::of(text()), access in proptest::option::of(text()), field in text()) {
        let json = Format::Json { refresh_field: field.clone(), access_field: field };
        let oauth = Format::OAuth2 { client_id: refresh.clone(), scope: access.clone() };
        for format in [json, oauth] {
            let _ = request_body(&format, refresh.as_deref(), access.as_deref());
        }
    }

    #[test]
    fn options(entries in prop::collection::vec((key(), value()), 0..12)) {
        if let Ok(o) = Options::parse(&entries) {
            prop_assert!(o.refresh_timeout_ms.is_finite() && o.refresh_timeout_ms > 0.0);
            prop_assert!(o.refresh_ahead_ms.is_finite() && o.refresh_ahead_ms >= 0.0);
            prop_assert!(is_header_name(&o.auth_header));
            prop_assert!(o.access_key != o.refresh_key);
        }
    }

    #[test]
    fn options_with_a_valid_base(extra in prop::collection::vec((key(), value()), 0..6)) {
        let mut entries = vec![("refreshUrl".to_string(), Value::Str("/auth/refresh".into()))];
        entries.extend(extra);
        let _ = Options::parse(&entries);
    }

    #[test]
    fn numbers_as_text(n in any::<u64>()) {
        prop_assert_eq!(decimal(n), n.to_string());
    }
}

/// The shortest wait `delay_ms` gives: half of the first.
const FIRST_HALF: f64 = seamless_fetch::backoff::FIRST_MS / 2.0;

mod core_events {
    //! The sans-IO core (`machine`) over arbitrary events: every input is untrusted (stored
    //! strings, headers, refresh answers, ids, times), and no sequence of events may panic.
    use super::*;
    use seamless_fetch::machine::{Config, Control, Event, Machine, Reply, Rules, Stored, Timer};

    fn stored() -> impl Strategy<Value = Stored> {
        (prop::option::of(text()), prop::option::of(text()), prop::option::of(text()), prop::option::of(text()))
            .prop_map(|(access, refresh, stamp, backoff)| Stored { access, refresh, stamp, backoff })
    }

    fn field() -> impl Strategy<Value = Field> {
        prop_oneof![Just(Field::Missing), text().prop_map(Field::Str), any::<f64>().prop_map(Field::Num), Just(Field::Other)]
    }

    fn number() -> impl Strategy<Value = f64> {
        prop_oneof![any::<f64>(), (0u64..4_000_000_000_000).prop_map(|n| n as f64)]
    }

    fn event() -> impl Strategy<Value = Event> {
        let id = 0u32..6;
        prop_oneof![
            (number(), id.clone(), text(), 0u8..4, any::<bool>(), stored()).prop_map(|(now, id, url, c, has_auth, stored)| {
                let control = [Control::None, Control::NoToken, Control::NoRefresh, Control::Invalid][c as usize];
                Event::Begin { now, id, rules: id % 2, url, method: None, control, has_auth, own_refresh: false, stored }
            }),
            (number(), id.clone(), any::<u16>(), any::<bool>(), prop::option::of(text()), stored()).prop_map(|(now, id, status, json, date, stored)| Event::Answer { now, id, status, json, date, stored }),
            (number(), 0u32..3, text(), any::<u16>()).prop_map(|(now, rules, url, status)| Event::Passed { now, rules, url, status }),
            (number(), id.clone(), any::<bool>(), stored()).prop_map(|(now, id, expired, stored)| Event::Verdict { now, id, expired, stored }),
            (number(), id.clone()).prop_map(|(now, id)| Event::Failed { now, id }),
            (number(), id.clone()).prop_map(|(now, id)| Event::Abort { now, id }),
            (number(), 0u32..3, any::<bool>(), any::<bool>(), stored()).prop_map(|(now, flight, contended, held, stored)| Event::Granted { now, flight, contended, held, stored }),
            (number(), 0u32..3, any::<u16>(), any::<bool>(), field(), field(), field(), field(), prop::option::of(text()), any::<f64>(), stored()).prop_map(
                |(now, flight, status, json, access, refresh, expires_in, oauth_error, retry_after, jitter, stored)| Event::Refreshed {
                    now, flight, reply: Reply { status, json, access, refresh, expires_in, oauth_error, retry_after, nonce: None, token_type: Field::Missing, failure: None, access_path: String::new(), fields: String::new() }, jitter, stored,
                }
            ),
            (number(), 0u32..3, 0u8..3, any::<f64>(), stored()).prop_map(|(now, f, k, jitter, stored)| {
                let timer = [Timer::Gate(f), Timer::Settle(f), Timer::Timeout(f)][k as usize];
                Event::Timer { now, timer, jitter, stored }
            }),
            (number(), stored()).prop_map(|(now, stored)| Event::Storage { now, stored }),
            (number(), stored()).prop_map(|(now, stored)| Event::Online { now, stored }),
            number().prop_map(|now| Event::Offline { now }),
            (number(), text(), prop::option::of(text()), stored()).prop_map(|(now, access, refresh, stored)| Event::SetTokens { now, access, refresh, stored }),
            (number(), id.clone(), number(), stored()).prop_map(|(now, id, min_validity_ms, stored)| Event::Token { now, id, min_validity_ms, stored }),
            (number(), id.clone(), stored()).prop_map(|(now, id, stored)| Event::ForceRefresh { now, id, stored }),
            number().prop_map(|now| Event::ClearTokens { now }),
            number().prop_map(|now| Event::Logout { now }),
            (number(), stored()).prop_map(|(now, stored)| Event::Open { now, stored }),
            number().prop_map(|now| Event::Close { now }),
            (number(), id.clone(), text(), text(), stored()).prop_map(|(now, id, method, url, stored)| Event::Begin { now, id, rules: 0, url, method: Some(method), control: Control::None, has_auth: false, own_refresh: false, stored }),
            (number(), id.clone(), prop::option::of(text()), prop::option::of(text())).prop_map(|(now, id, nonce, challenge)| Event::DpopHeaders { now, id, nonce, challenge }),
            (number(), id.clone(), prop::option::of(text()), prop::option::of(text())).prop_map(|(now, id, error, description)| Event::Refusal { now, id, error, description }),
            (number(), stored()).prop_map(|(now, stored)| Event::KeyCreated { now, stored }),
            (number(), id.clone(), text(), text(), stored()).prop_map(|(now, id, method, url, stored)| Event::Prove { now, id, method, url, stored }),
            (number(), 0u32..3, any::<u16>(), field(), field(), prop::option::of(text()), stored()).prop_map(
                |(now, flight, status, oauth_error, token_type, nonce, stored)| Event::Refreshed {
                    now, flight, reply: Reply { status, json: true, access: Field::Str("a9".into()), refresh: Field::Missing, expires_in: Field::Missing, oauth_error, retry_after: None, nonce, token_type, failure: None, access_path: String::new(), fields: String::new() }, jitter: 0.5, stored,
                }
            ),
        ]
    }

    proptest! {
        // A quarter of the cases: each is a whole sequence (the simulation adds millions of
        // well-formed ones).
        #![proptest_config(ProptestConfig { cases: (config().cases / 4).max(1), ..config() })]

        #[test]
        fn no_sequence_of_events_panics(events in prop::collection::vec(event(), 1..40), cross_tab in any::<bool>(), cookie in any::<bool>(), judge in any::<bool>(), oauth2 in any::<bool>(), dpop in any::<bool>()) {
            let refresh_format = if oauth2 {
                Format::OAuth2 { client_id: Some("spa".into()), scope: None }
            } else {
                Format::Json { refresh_field: "refreshToken".into(), access_field: "token".into() }
            };
            let mut m = Machine::new(Config {
                page_origin: "https://app.test".into(),
                rules: Rules { allowed_origins: vec!["https://api.test".into()], expired_statuses: vec![401], body_codes: judge, app_judges: judge },
                refresh_url: Some("https://app.test/auth/refresh".into()),
                refresh_format,
                pageless: false,
                refresh_ahead_ms: 30_000.0,
                refresh_timeout_ms: 10_000.0,
                cross_tab,
                lock: cross_tab || cookie,
                cookie,
                on_refresh: judge,
                dpop,
            });
            for e in events {
                m.handle(e);
                while m.poll().is_some() {}
            }
        }
    }
}

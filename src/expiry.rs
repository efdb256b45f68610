//! When is the access token about to expire, judged on the server's clock? Tokens carry their
//! expiry in server time (a JWT `exp`, or `expiresIn` counted from the server's answer), and a
//! user's clock can be hours off, so every comparison goes through an offset estimated from the
//! `Date` header of the responses to managed requests. The server's 401 stays authoritative: this module only
//! lets a request wait for a refresh it would otherwise trigger one round trip later.

use alloc::string::String;
use alloc::vec::Vec;

/// Lifetime facts of one access token, in server-clock milliseconds since the epoch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Lifetime {
    /// When its life began as far as this page can tell: when it arrived, for a token that
    /// replaced another here (a refresh, another tab's write, `setTokens`); else JWT `iat` or,
    /// failing that, when it was first seen.
    pub issued_ms: f64,
    /// When the server stops accepting it.
    pub expires_ms: f64,
    /// No refresh ahead before this (see [`FLOOR_MS`]); 0 for a token found here, not received.
    pub floor_ms: f64,
}

/// How long a token received here is used before it is refreshed ahead, at least: 5 s, or a
/// quarter of the life it was issued with (`exp - iat`, or `expiresIn`) when that is longer.
/// When the `Date` of the API runs ahead of the issuer's clock by more than a token's life, each
/// new token looks expired on arrival, and without a floor every request would wait for a
/// refresh first. A token issued to live less than twice this waits half its life instead, so
/// that it is still refreshed ahead of its expiry. A real "expired" answer still refreshes at
/// once.
pub const FLOOR_MS: f64 = 5_000.0;

/// How far the server-clock estimate can be off: a `Date` header is truncated to the second and
/// [`clock_offset`] takes the middle of that second. Refresh-ahead errs late by this much: the
/// server's 401 stays authoritative, so erring late costs one round trip at most, while erring
/// early spends a refresh token that was not needed.
pub const CLOCK_ERROR_MS: f64 = 500.0;

impl Lifetime {
    /// The lifetime of a token seen at server time `now_ms` with claims `iat` and `exp` (ms).
    /// A token that replaced another one here has just been issued, whatever its `iat` says:
    /// whole-second claims can make a 3 s token issued late in its second look 0.9 s older. It is
    /// not refreshed ahead before its floor ([`FLOOR_MS`]).
    pub fn observed(iat_ms: Option<f64>, expires_ms: f64, now_ms: f64, replaced: bool) -> Lifetime {
        let iat_ms = iat_ms.filter(|i| *i <= expires_ms);
        let issued_ms = match iat_ms {
            Some(iat) if !replaced => iat,
            Some(iat) => iat.max(now_ms.min(expires_ms)),
            None => now_ms.min(expires_ms),
        };
        let floor_ms = match iat_ms {
            _ if !replaced => 0.0,
            Some(iat) => now_ms + ((expires_ms - iat) / 4.0).max(FLOOR_MS.min((expires_ms - iat) / 2.0)),
            None => now_ms + FLOOR_MS,
        };
        Lifetime { issued_ms, expires_ms, floor_ms }
    }
}

/// The server time from which a request should wait for a refresh first, `None` when refreshing
/// ahead is off (`ahead_ms` 0). The window is `ahead_ms`, capped at half the token's lifetime so
/// that a token living 3 s is not refreshed before every request, and it begins
/// [`CLOCK_ERROR_MS`] late, and never before the token's floor. A time rather than a yes or no,
/// so that the JS driver can send requests itself until then (see `Session::mirror`).
pub fn refresh_due_at(life: &Lifetime, ahead_ms: f64) -> Option<f64> {
    if ahead_ms <= 0.0 {
        return None;
    }
    let window = ahead_ms.min((life.expires_ms - life.issued_ms).max(0.0) / 2.0);
    Some((life.expires_ms - window + CLOCK_ERROR_MS).max(life.floor_ms))
}

/// A JWT `exp`/`iat` claim in seconds, as milliseconds, when it is a sane date (after 2001, before
/// the year 5000); anything else means "unknown" rather than "expired" or "never".
pub fn claim_ms(seconds: f64) -> Option<f64> {
    (seconds.is_finite() && (1e9..1e11).contains(&seconds)).then_some(seconds * 1000.0)
}

/// The decoded payload (middle part) of a compact JWT, or `None` when it is not one.
pub fn jwt_payload(token: &str) -> Option<String> {
    let mut parts = token.split('.');
    let (_, payload, _) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || payload.len() > 8192 {
        return None;
    }
    String::from_utf8(base64url_decode(payload)?).ok()
}

fn base64url_decode(input: &str) -> Option<Vec<u8>> {
    let input = input.trim_end_matches('=');
    let mut out = Vec::with_capacity(input.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for b in input.bytes() {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// Milliseconds since the epoch of an HTTP `Date` header (RFC 9110 IMF-fixdate,
/// `Sun, 06 Nov 1994 08:49:37 GMT`). Obsolete formats are not worth their code: servers send this.
pub fn parse_http_date(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    if b.len() != 29 || &b[3..5] != b", " || &b[25..] != b" GMT" {
        return None;
    }
    let num = |r: core::ops::Range<usize>| -> Option<i64> {
        b[r].iter().try_fold(0i64, |n, &c| c.is_ascii_digit().then(|| n * 10 + (c - b'0') as i64))
    };
    let day = num(5..7)?;
    const MONTHS: [&[u8]; 12] = [b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec"];
    let month = MONTHS.iter().position(|m| *m == &b[8..11])? as i64 + 1;
    let year = num(12..16)?;
    let (h, m, sec) = (num(17..19)?, num(20..22)?, num(23..25)?);
    if b[7] != b' ' || b[11] != b' ' || b[16] != b' ' || b[19] != b':' || b[22] != b':' || !(1..=31).contains(&day) || h > 23 || m > 59 || sec > 60 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(((days * 86400 + h * 3600 + m * 60 + sec) * 1000) as f64)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// Server time minus local time, from a `Date` header read at local time `local_ms`. The header
/// is truncated to the second, so the server's clock was somewhere in the following second: take
/// the middle.
pub fn clock_offset(date_header: &str, local_ms: f64) -> Option<f64> {
    parse_http_date(date_header).map(|server| server + 500.0 - local_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    const E: f64 = CLOCK_ERROR_MS;

    fn should_refresh_ahead(now_ms: f64, life: &Lifetime, ahead_ms: f64) -> bool {
        refresh_due_at(life, ahead_ms).is_some_and(|due| now_ms >= due)
    }

    #[test]
    fn window_is_capped_at_half_the_lifetime() {
        let long = Lifetime { issued_ms: 0.0, expires_ms: 3_600_000.0, floor_ms: 0.0 };
        assert!(!should_refresh_ahead(3_500_000.0, &long, 30_000.0));
        assert!(should_refresh_ahead(3_570_000.0 + E, &long, 30_000.0));
        assert!(!should_refresh_ahead(3_570_000.0 + E, &long, 0.0), "0 turns it off");
        let short = Lifetime { issued_ms: 0.0, expires_ms: 3_000.0, floor_ms: 0.0 };
        assert!(!should_refresh_ahead(1_000.0, &short, 30_000.0), "a 3 s token is not refreshed at once");
        assert!(should_refresh_ahead(1_500.0 + E, &short, 30_000.0));
        assert!(should_refresh_ahead(10_000.0, &short, 30_000.0), "expired counts");
    }

    #[test]
    fn the_clock_error_errs_late() {
        let life = Lifetime { issued_ms: 0.0, expires_ms: 60_000.0, floor_ms: 0.0 };
        assert!(!should_refresh_ahead(30_000.0 + E - 1.0, &life, 30_000.0), "within the estimate's error of the window: not yet");
        assert!(should_refresh_ahead(30_000.0 + E, &life, 30_000.0));
    }

    /// The DRF + SimpleJWT case: a 3 s token issued at 10.9 s carries `iat = 10, exp = 13`.
    #[test]
    fn whole_second_claims_of_a_token_received_late_in_its_second() {
        let (iat, exp) = (10_000.0, 13_000.0);
        for estimate_error in [-E, 0.0, E] {
            let received = 10_950.0 + estimate_error; // as this page's server-clock estimate has it
            let life = Lifetime::observed(Some(iat), exp, received, true);
            assert_eq!(life.issued_ms, received, "life counts from its arrival");
            // The replays leave right after the refresh answer, and a while later.
            for sent in [received, received + 300.0, received + 500.0] {
                assert!(!should_refresh_ahead(sent, &life, 30_000.0), "error {estimate_error}, sent {sent}: too early");
            }
            // Never before half of the 2.05 s it has really left, as seen here.
            let half = 10_950.0 + (exp - 10_950.0) / 2.0;
            assert!(!should_refresh_ahead(half + estimate_error, &life, 30_000.0), "error {estimate_error}: half its life");
            assert!(should_refresh_ahead(exp + estimate_error, &life, 30_000.0), "error {estimate_error}: at expiry");
        }
        // Judged by its claims (the old rule), the same replays would refresh a second time.
        let by_claims = Lifetime { issued_ms: iat, expires_ms: exp, floor_ms: 0.0 };
        assert!(should_refresh_ahead(10_950.0 + E + 1_100.0, &by_claims, 30_000.0));
        assert!(!should_refresh_ahead(10_950.0 + E + 1_100.0, &Lifetime::observed(Some(iat), exp, 10_950.0 + E, true), 30_000.0));
    }

    #[test]
    fn a_token_found_at_start_keeps_its_claimed_age() {
        let life = Lifetime::observed(Some(0.0), 60_000.0, 50_000.0, false);
        assert_eq!(life.issued_ms, 0.0, "10 s left of 60: due, as before");
        assert!(should_refresh_ahead(50_000.0, &life, 30_000.0));
        assert_eq!(Lifetime::observed(None, 60_000.0, 50_000.0, false).issued_ms, 50_000.0, "no iat: first seen");
        assert_eq!(Lifetime::observed(Some(70_000.0), 60_000.0, 50_000.0, false).issued_ms, 50_000.0, "iat after exp is ignored");
        assert_eq!(Lifetime::observed(Some(0.0), 60_000.0, 90_000.0, true).issued_ms, 60_000.0, "never issued after it expired");
    }

    /// The API's `Date` runs 2 min ahead of the issuer, whose tokens live 60 s: each new token
    /// looks expired on arrival.
    #[test]
    fn a_token_received_is_not_refreshed_ahead_before_its_floor() {
        let skew = 120_000.0;
        // A quarter of the life it was issued with (more than 5 s here); 5 s when that is unknown.
        for (iat, floor) in [(Some(0.0), 15_000.0), (None, FLOOR_MS)] {
            let received = skew; // on the clock the API's Date tells
            let life = Lifetime::observed(iat, 60_000.0, received, true);
            assert!(!should_refresh_ahead(received, &life, 30_000.0), "{iat:?}: not at once");
            assert!(!should_refresh_ahead(received + floor - 1.0, &life, 30_000.0), "{iat:?}: nor within the floor");
            assert!(should_refresh_ahead(received + floor, &life, 30_000.0), "{iat:?}: then once");
            // Found at start rather than received: nothing to wait for, it is due.
            assert!(should_refresh_ahead(received, &Lifetime::observed(iat, 60_000.0, received, false), 30_000.0));
        }
        let life = Lifetime::observed(Some(0.0), 600_000.0, 0.0, true);
        assert_eq!(refresh_due_at(&life, 60_000.0), Some(540_000.0 + E), "the window decides when it is later");
        // A token issued for less than twice the floor waits half its life, as before: still
        // refreshed ahead of its expiry.
        for (iat, exp) in [(0.0, 2_000.0), (0.0, 4_000.0), (0.0, 9_000.0)] {
            let life = Lifetime::observed(Some(iat), exp, 0.0, true);
            assert_eq!(life.floor_ms, exp / 2.0, "{exp}");
            assert_eq!(refresh_due_at(&life, 30_000.0), Some(exp / 2.0 + E), "{exp}");
        }
        let odd = Lifetime::observed(Some(f64::NAN), f64::NAN, f64::NAN, true);
        assert!(refresh_due_at(&odd, 30_000.0).is_some(), "no panic on nonsense");
    }

    #[test]
    fn claims_must_be_sane() {
        assert_eq!(claim_ms(1_700_000_000.0), Some(1_700_000_000_000.0));
        for bad in [f64::NAN, f64::INFINITY, 1e300, -5.0, 0.0, 12.0] {
            assert_eq!(claim_ms(bad), None, "{bad}");
        }
    }

    #[test]
    fn jwt_payloads_decode() {
        // {"sub":"1","exp":1700000000}
        let t = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIiwiZXhwIjoxNzAwMDAwMDAwfQ.c2ln";
        assert_eq!(jwt_payload(t).as_deref(), Some(r#"{"sub":"1","exp":1700000000}"#));
        assert_eq!(jwt_payload("opaque-token"), None);
        assert_eq!(jwt_payload("a.b.c.d"), None);
        assert_eq!(jwt_payload("a.!!!.c"), None);
    }

    #[test]
    fn http_dates_parse() {
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), Some(784_111_777_000.0));
        assert_eq!(parse_http_date("Thu, 26 Nov 2026 18:09:51 GMT"), Some(1_795_716_591_000.0));
        for bad in ["", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun, 06 Foo 1994 08:49:37 GMT", "Sun, 06 Nov 1994 25:49:37 GMT"] {
            assert_eq!(parse_http_date(bad), None, "{bad}");
        }
        assert_eq!(clock_offset("Sun, 06 Nov 1994 08:49:37 GMT", 784_111_777_000.0), Some(500.0));
    }
}

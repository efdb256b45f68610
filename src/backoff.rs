//! When the next refresh attempt may go out after transient failures. Without this, a busy page
//! turns an auth-server outage into a stream of refresh calls from every tab (one per request that
//! finds the token expired), which is how an overloaded server stays overloaded.
//!
//! The rule: after the n-th transient failure in a row the next attempt waits `FIRST_MS · 2^(n-1)`,
//! capped at `CAP_MS`, with "equal jitter" (a random point in the upper half, so tabs that failed
//! together do not retry together). A `Retry-After` on a 429 or 503 replaces that wait, capped the
//! same. A success, `setTokens`, or the browser coming back online ends the back-off.
//!
//! The state is shared with other tabs through storage as `failures,since,until` (local epoch ms:
//! tabs of one browser share a clock), so it is read back as untrusted text.

use alloc::string::String;

use crate::code::decimal;
use crate::expiry::parse_http_date;

/// The wait after the first failure.
pub const FIRST_MS: f64 = 1_000.0;
/// The longest wait, whatever the failures or the server's `Retry-After` say.
pub const CAP_MS: f64 = 60_000.0;

/// Transient failures in a row and the window they impose.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Backoff {
    /// Failures since the last success (0: no back-off).
    pub failures: u32,
    /// When the last failure happened (local epoch ms).
    pub since_ms: f64,
    /// No attempt before this (local epoch ms).
    pub until_ms: f64,
}

impl Backoff {
    /// How long the next attempt must still wait: 0 when there is no back-off, it ran out, or the
    /// browser came back online (at `online_at_ms`) after the last failure. An online event dated
    /// after now was seen before the clock was set back: when it came is unknown, so it ends nothing.
    pub fn wait_ms(&self, now_ms: f64, online_at_ms: f64) -> f64 {
        if self.failures == 0 || (online_at_ms > self.since_ms && online_at_ms <= now_ms) {
            return 0.0;
        }
        (self.until_ms - now_ms).clamp(0.0, CAP_MS)
    }

    /// The state after one more transient failure at `now_ms`; `retry_after_ms` is the server's
    /// own wait, when it gave one; `random` is in [0, 1).
    pub fn after_failure(&self, now_ms: f64, retry_after_ms: Option<f64>, random: f64) -> Backoff {
        let failures = self.failures.saturating_add(1);
        let wait = match retry_after_ms {
            Some(ms) if !ms.is_nan() => ms.clamp(0.0, CAP_MS),
            _ => delay_ms(failures, random),
        };
        Backoff { failures, since_ms: now_ms, until_ms: now_ms + wait }
    }

    /// The state as it stands at `now_ms`: a failure dated later than now (the clock was set back
    /// since, or another tab stored such a value) is taken to have happened now, with a window of
    /// the same length (at most the cap). Without this a window dated an hour ahead would refuse
    /// every attempt for an hour, and `online` (compared with `since`) would not end it.
    pub fn at(self, now_ms: f64) -> Backoff {
        let since_ms = self.since_ms.min(now_ms);
        Backoff { since_ms, until_ms: since_ms + (self.until_ms - self.since_ms).clamp(0.0, CAP_MS), ..self }
    }

    /// The later of two states (this page's and the one another tab stored).
    pub fn max(self, other: Backoff) -> Backoff {
        if other.until_ms > self.until_ms || (other.until_ms == self.until_ms && other.failures > self.failures) {
            other
        } else {
            self
        }
    }

    /// `failures,since,until`, whole milliseconds.
    pub fn encode(&self) -> String {
        [&decimal(self.failures as u64), ",", &decimal(self.since_ms as u64), ",", &decimal(self.until_ms as u64)].concat()
    }

    /// Reads what [`Backoff::encode`] wrote; `None` for anything else. A window longer than the cap
    /// (a clock change, a hand-edited value) is cut to it.
    pub fn decode(s: &str) -> Option<Backoff> {
        let mut parts = s.split(',');
        let mut next = || -> Option<u64> {
            let p = parts.next()?;
            if p.is_empty() || p.len() > 15 {
                return None;
            }
            digits(p)
        };
        let (failures, since, until) = (next()?, next()? as f64, next()? as f64);
        if parts.next().is_some() || failures == 0 || failures > u32::MAX as u64 || until < since {
            return None;
        }
        Some(Backoff { failures: failures as u32, since_ms: since, until_ms: until.min(since + CAP_MS) })
    }
}

/// The number `s` writes in decimal digits, nothing else (`None` otherwise: a sign, a space, no
/// digit); at most 19 digits, so it cannot overflow. `str::parse` would bring its general parser.
fn digits(s: &str) -> Option<u64> {
    let all = !s.is_empty() && s.len() <= 19 && s.bytes().all(|b| b.is_ascii_digit());
    all.then(|| s.bytes().fold(0, |n, b| n * 10 + (b - b'0') as u64))
}

/// The wait after `failures` failures in a row, before any `Retry-After`: see the module docs.
pub fn delay_ms(failures: u32, random: f64) -> f64 {
    let doublings = failures.saturating_sub(1).min(16);
    let base = (FIRST_MS * (1u32 << doublings) as f64).min(CAP_MS);
    let random = if (0.0..=1.0).contains(&random) { random } else { 0.5 };
    base / 2.0 + base / 2.0 * random
}

/// A `Retry-After` value (RFC 9110 §10.2.3: delay-seconds, or an HTTP-date judged against
/// `server_now_ms`, the server's clock) as a wait in ms, at most [`CAP_MS`]. `None` when it is
/// neither.
pub fn retry_after_ms(value: &str, server_now_ms: f64) -> Option<f64> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Long runs of digits are huge waits: anything past the cap is the cap.
        let seconds = if value.len() > 9 { CAP_MS } else { digits(value)? as f64 };
        return Some((seconds * 1000.0).min(CAP_MS));
    }
    let at = parse_http_date(value)?;
    Some((at - server_now_ms).clamp(0.0, CAP_MS))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_with_jitter_up_to_the_cap() {
        for (failures, base) in [(1, 1_000.0), (2, 2_000.0), (3, 4_000.0), (4, 8_000.0), (5, 16_000.0), (7, 60_000.0), (u32::MAX, 60_000.0)] {
            assert_eq!(delay_ms(failures, 0.0), base / 2.0, "{failures}");
            assert_eq!(delay_ms(failures, 1.0), base, "{failures}");
            assert!(delay_ms(failures, 0.5) > base / 2.0 && delay_ms(failures, 0.5) < base);
        }
        assert_eq!(delay_ms(1, f64::NAN).is_nan(), false, "a bad random number cannot poison the wait");
    }

    #[test]
    fn a_failure_opens_a_window_that_success_or_coming_online_closes() {
        let none = Backoff::default();
        assert_eq!(none.wait_ms(5.0, 0.0), 0.0);
        let one = none.after_failure(10_000.0, None, 0.0);
        assert_eq!((one.failures, one.wait_ms(10_000.0, 0.0)), (1, 500.0));
        assert_eq!(one.wait_ms(10_400.0, 0.0), 100.0);
        assert_eq!(one.wait_ms(11_000.0, 0.0), 0.0);
        assert_eq!(one.wait_ms(10_002.0, 10_001.0), 0.0, "online after the failure");
        assert_eq!(one.wait_ms(10_000.0, 9_000.0), 500.0, "online before it counts for nothing");
        let two = one.after_failure(11_000.0, None, 1.0);
        assert_eq!((two.failures, two.until_ms), (2, 13_000.0));
        let told = two.after_failure(20_000.0, Some(2_000.0), 0.7);
        assert_eq!((told.failures, told.until_ms), (3, 22_000.0), "Retry-After replaces the doubling");
        assert_eq!(two.after_failure(0.0, Some(1e12), 0.0).until_ms, CAP_MS, "and is capped");
    }

    #[test]
    fn a_window_dated_in_the_future_starts_now() {
        let hour = 3_600_000.0;
        // One failure with a 1 s window, then the clock set back an hour.
        let one = Backoff::default().after_failure(hour, None, 1.0);
        let now = one.at(100.0);
        assert_eq!((now.failures, now.since_ms, now.until_ms), (1, 100.0, 1_100.0), "the same window, from now");
        assert_eq!(now.wait_ms(100.0, 0.0), 1_000.0);
        assert_eq!(now.wait_ms(1_100.0, 0.0), 0.0, "over after its length, not an hour later");
        assert_eq!(now.wait_ms(110.0, 50.0), 990.0, "an online event before it was seen counts for nothing");
        assert_eq!(now.wait_ms(110.0, 105.0), 0.0, "online after it was seen ends it");
        assert_eq!(one.wait_ms(110.0, 105.0), CAP_MS, "(unlike the window as stored)");
        assert_eq!(now.wait_ms(110.0, 200.0), 990.0, "an online event dated after now came before the clock change");
        // A stored value: a window as long as the cap, an hour ahead; or a longer one.
        for stored in ["1,3600000,3660000", "9,3600000,3600000", "1,999999999999999,999999999999999"] {
            let b = Backoff::decode(stored).unwrap().at(0.0);
            assert!(b.since_ms == 0.0 && b.until_ms <= CAP_MS && b.wait_ms(0.0, 0.0) <= CAP_MS, "{stored}");
            assert_eq!(b.wait_ms(CAP_MS, 0.0), 0.0, "{stored}: at most the cap from now");
        }
        let unbounded = Backoff { failures: 1, since_ms: 5.0, until_ms: 1e12 };
        assert_eq!(unbounded.at(0.0).until_ms, CAP_MS, "whatever the values say");
        assert_eq!(unbounded.at(10.0).until_ms, 5.0 + CAP_MS);
        let past = Backoff { failures: 2, since_ms: 100.0, until_ms: 900.0 };
        assert_eq!(past.at(500.0), past, "a window dated in the past is left as it is");
        assert_eq!(Backoff::default().at(0.0).wait_ms(0.0, 0.0), 0.0);
    }

    #[test]
    fn tabs_share_the_later_window() {
        let a = Backoff { failures: 2, since_ms: 1.0, until_ms: 5.0 };
        let b = Backoff { failures: 3, since_ms: 2.0, until_ms: 9.0 };
        assert_eq!(a.max(b), b);
        assert_eq!(b.max(a), b);
        assert_eq!(Backoff::decode(&b.encode()), Some(b));
    }

    #[test]
    fn stored_text_is_untrusted() {
        assert_eq!(Backoff::decode("3,1000,4000"), Some(Backoff { failures: 3, since_ms: 1000.0, until_ms: 4000.0 }));
        assert_eq!(Backoff::decode("1,0,99999999").unwrap().until_ms, CAP_MS, "a window past the cap is cut");
        for bad in ["", "1,2", "1,2,3,4", "0,1,2", "a,1,2", "-1,1,2", "1,5,4", "1, 2,3", "99999999999,1,2", "1,1e3,2", "1,,2", "1,2,9999999999999999999"] {
            assert_eq!(Backoff::decode(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn retry_after_takes_seconds_or_a_date_on_the_servers_clock() {
        assert_eq!(retry_after_ms("2", 0.0), Some(2_000.0));
        assert_eq!(retry_after_ms(" 0 ", 0.0), Some(0.0));
        assert_eq!(retry_after_ms("3600", 0.0), Some(CAP_MS));
        assert_eq!(retry_after_ms("99999999999999999999", 0.0), Some(CAP_MS));
        let date = parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(retry_after_ms("Sun, 06 Nov 1994 08:49:37 GMT", date - 3_000.0), Some(3_000.0));
        assert_eq!(retry_after_ms("Sun, 06 Nov 1994 08:49:37 GMT", date + 3_000.0), Some(0.0), "a date past is now");
        for bad in ["", "-1", "1.5", "soon", "2 s"] {
            assert_eq!(retry_after_ms(bad, 0.0), None, "{bad:?}");
        }
    }
}

//! Time: the server's clock (from `Date`), what is known of the current token's life, when a
//! refresh ahead falls due, and the back-off window. The rules are `expiry` and `backoff`'s; this
//! keeps their state.

use alloc::string::String;

use crate::backoff::Backoff;
use crate::expiry::{claim_ms, clock_offset, jwt_payload, refresh_due_at, Lifetime};

/// The time state of one session.
#[derive(Default)]
pub struct Clock {
    /// Server time minus local time; `None` until a managed answer's `Date` is seen.
    pub offset: Option<f64>,
    /// The access token last judged, what is known of its life, and the clock offset it was
    /// judged with (its floor is a time on this page's clock, whatever the estimate learns later).
    life: Option<(String, Option<Lifetime>, f64)>,
    /// This page's back-off.
    pub backoff: Backoff,
    /// When the browser last came online (local ms); 0: never seen.
    pub online_at: f64,
    /// `navigator.onLine` is false.
    pub offline: bool,
    /// How many times `offset` changed: part of [`crate::machine::Machine::generation`].
    pub changes: u64,
}

impl Clock {
    /// Notes a `Date` header read at `now`.
    pub fn date(&mut self, date: &str, now: f64) {
        if let Some(offset) = clock_offset(date, now) {
            if self.offset != Some(offset) {
                self.changes += 1;
            }
            self.offset = Some(offset);
        }
    }

    /// Server time at local `now`, by the latest estimate.
    pub fn server(&self, now: f64) -> f64 {
        now + self.offset.unwrap_or(0.0)
    }

    /// A token this page just received by a refresh: `expires_in` (seconds) beats its claims,
    /// and its life counts from now, with its floor.
    pub fn received(&mut self, access: &str, expires_in_s: Option<f64>, now: f64, no_floor: bool) {
        let server = self.server(now);
        let life = match expires_in_s {
            Some(s) => Some(Lifetime::observed(Some(server), server + s * 1000.0, server, true)),
            None => jwt_life(access, server, true),
        };
        let offset = self.offset.unwrap_or(0.0);
        self.life = Some((access.into(), life.map(|l| if no_floor { Lifetime { floor_ms: 0.0, ..l } } else { l }), offset));
    }

    /// What is known of `access`'s life, computed once per token; one that replaced another seen
    /// here counts its life from now (see [`Lifetime::observed`]).
    pub fn life(&mut self, access: &str, now: f64) -> Option<Lifetime> {
        let replaced = match &self.life {
            Some((t, life, _)) if t == access => return *life,
            other => other.is_some(),
        };
        let life = jwt_life(access, self.server(now), replaced);
        self.life = Some((access.into(), life, self.offset.unwrap_or(0.0)));
        life
    }

    /// Local time from which a request should wait for a refresh of `access` first: never with
    /// refreshing ahead off, or before the server's clock and the token's life are known.
    pub fn due(&mut self, access: &str, ahead_ms: f64, now: f64) -> f64 {
        let Some(offset) = self.offset.filter(|_| ahead_ms > 0.0) else {
            return f64::INFINITY;
        };
        let Some(life) = self.life(access, now) else {
            return f64::INFINITY;
        };
        match refresh_due_at(&Lifetime { floor_ms: 0.0, ..life }, ahead_ms) {
            Some(due) => (due - offset).max(self.floor(&life)),
            None => f64::INFINITY,
        }
    }

    /// Whether `access` expires within `within_ms` on the server's clock, its floor passed
    /// (`getAccessToken`'s `minValidityMs`); an unknown life never does.
    pub fn expiring(&mut self, access: &str, within_ms: f64, now: f64) -> bool {
        let Some(life) = self.life(access, now) else { return false };
        now >= self.floor(&life) && self.server(now) + within_ms >= life.expires_ms
    }

    /// The local time before which the token last judged (`life`) is not refreshed ahead. It
    /// counts on this page's clock from the token's arrival: a server clock learned after it
    /// arrived (an API `Date` far ahead of the issuer) must not move it (found by the simulation).
    fn floor(&self, life: &Lifetime) -> f64 {
        life.floor_ms - self.life.as_ref().map_or(0.0, |l| l.2)
    }

    /// Whether `access` is known not to have expired yet on the server's clock.
    pub fn still_valid(&mut self, access: &str, now: f64) -> bool {
        self.offset.is_some() && self.life(access, now).is_some_and(|l| self.server(now) < l.expires_ms)
    }

    /// How long the next attempt must wait, by this page's back-off and the shared one (both as
    /// they stand now: [`Backoff::at`], unless `stale`, issue 28 item 8's mutant).
    pub fn wait(&mut self, shared: (Backoff, Backoff), now: f64, stale: bool) -> f64 {
        let merged = if stale { self.backoff.max(shared.0) } else { self.backoff.at(now).max(shared.1) };
        self.backoff = merged;
        merged.wait_ms(now, self.online_at)
    }
}

/// `iat` and `exp` of a JWT (`None` for opaque tokens), read as numbers from the payload's JSON.
fn jwt_life(token: &str, server_now: f64, replaced: bool) -> Option<Lifetime> {
    let payload = jwt_payload(token)?;
    let exp = number(&payload, "\"exp\"").and_then(claim_ms)?;
    Some(Lifetime::observed(number(&payload, "\"iat\"").and_then(claim_ms), exp, server_now, replaced))
}

/// The non-negative number after `"name":` in a JSON object's text; a full JSON parser is not
/// worth its code for two claims (an odd payload reads as "unknown", never as a panic).
fn number(json: &str, quoted: &str) -> Option<f64> {
    // A byte search rather than `str::find`: substring search code costs ~2 KB of wasm.
    let at = json.as_bytes().windows(quoted.len()).position(|w| w == quoted.as_bytes())? + quoted.len();
    let rest = json.get(at..)?.trim_start().strip_prefix(':')?.trim_start();
    // Whole seconds, digit by digit: `str::parse::<f64>` costs ~10 KB of wasm. A fraction is
    // dropped (the estimate errs by 0.5 s anyway); at most 15 digits, so the value stays exact.
    let digits = rest.bytes().take_while(u8::is_ascii_digit).take(15);
    let (n, count) = digits.fold((0.0, 0), |(n, c), d| (n * 10.0 + (d - b'0') as f64, c + 1));
    (count > 0).then_some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_are_read_from_the_payload() {
        assert_eq!(number(r#"{"iat": 1700000000,"exp":1700000060}"#, "\"exp\""), Some(1_700_000_060.0));
        assert_eq!(number(r#"{"exp":"x"}"#, "\"exp\""), None);
        assert_eq!(number(r#"{"exp":12.7}"#, "\"exp\""), Some(12.0));
        assert_eq!(number(r#"{"exp""#, "\"exp\""), None);
        assert_eq!(number("", "\"exp\""), None);
    }
}

//! The storage and tab rules: what a snapshot of the keys means, whether it is settled, and the
//! back-off shared with other tabs. A tab removes from shared storage only what it knows it owns.

use alloc::string::String;

use crate::backoff::Backoff;
use crate::code::{Code, Failure};
use crate::pair::{fingerprint_of, present, Pair};
use crate::policy::is_b64token;

use super::protocol::Stored;

/// Said once per store whose Web Storage throws (see `Machine::unavailable`).
pub const STORAGE_WARNING: &str = "seamless-fetch: Web Storage is unavailable or full; tokens are kept in memory for this page only";

/// A pair as a snapshot holds it, borrowed from it (in a cookie session, the access token alone).
#[derive(Clone, Copy, PartialEq)]
pub struct Held<'a> {
    /// The access token.
    pub access: &'a str,
    /// The refresh token (`None` in a cookie session).
    pub refresh: Option<&'a str>,
}

impl Held<'_> {
    /// A copy to keep.
    pub fn owned(self) -> Pair {
        Pair { access: self.access.into(), refresh: self.refresh.map(String::from) }
    }
}

/// Whether the snapshot's pair `held` is `pair` (both `None`: no pair either).
pub fn same(held: Option<Held>, pair: Option<&Pair>) -> bool {
    match (held, pair) {
        (Some(h), Some(p)) => h.access == p.access && h.refresh == p.refresh.as_deref(),
        (h, p) => h.is_none() && p.is_none(),
    }
}

/// What a snapshot holds.
pub enum Read<'a> {
    /// A pair (in a cookie session, the access token alone).
    Pair(Held<'a>),
    /// No session: nothing, or half a pair.
    Empty,
    /// Something that is not a token: never sent, never spent.
    Invalid,
}

impl Read<'_> {
    /// The access token, when there is a pair.
    pub fn access(&self) -> Option<&str> {
        match self {
            Read::Pair(p) => Some(p.access),
            _ => None,
        }
    }
}

/// Reads a snapshot as the package always read storage: `""`, `"undefined"`, `"null"` or one token
/// without the other is no session.
pub fn read(s: &Stored, cookie: bool) -> Read<'_> {
    let refresh = if cookie { None } else { s.refresh.as_deref().filter(|r| present(r)) };
    match s.access.as_deref().filter(|a| present(a)) {
        Some(access) if cookie || refresh.is_some() => {
            if !is_b64token(access) || !refresh.map_or(true, is_b64token) {
                return Read::Invalid;
            }
            Read::Pair(Held { access, refresh })
        }
        _ => Read::Empty,
    }
}

/// The snapshot holds something that is not a token; `Failure::from` says so. (A marker rather
/// than the `Failure` itself, which callers would otherwise copy at each step.)
pub struct Garbage;

impl From<Garbage> for Failure {
    fn from(_: Garbage) -> Failure {
        Failure::new(Code::InvalidToken, &[
            "the stored tokens are not valid RFC 6750 tokens (line breaks, spaces, quotes or non-ASCII); nothing was sent. Store tokens with setTokens",
        ])
    }
}

/// Whether `p`, which its fingerprint does not match, visibly mixes two writes: one half is the
/// last whole pair's this tab knew (`last`) and the other is not. Spending it could spend a
/// refresh token already rotated (reuse revokes the family) or send a server a mismatched pair.
/// (Found by the long simulation: a tab whose write threw put back keys from its lagging view.)
/// Both halves new is an app's own write over an old fingerprint, spent as it always was.
pub fn mixed_with(p: Held, last: Option<&Pair>) -> bool {
    last.is_some_and(|l| (p.access == l.access) != (p.refresh == l.refresh.as_deref()))
}

/// The failure of a flight that found a pair [`mixed_with`] the last one after the settle wait.
pub fn mixed() -> Failure {
    Failure::new(Code::InvalidToken, &[
        "the stored access and refresh tokens come from two different writes (their fingerprint under `<accessTokenKey>:pair` matches neither); nothing was sent. Store tokens with setTokens, which writes the fingerprint",
    ])
}

/// The snapshot as a pair, `None` for no session; an error for stored garbage.
pub fn pair(s: &Stored, cookie: bool) -> Result<Option<Held<'_>>, Garbage> {
    match read(s, cookie) {
        Read::Pair(p) => Ok(Some(p)),
        Read::Empty => Ok(None),
        Read::Invalid => Err(Garbage),
    }
}

/// Whether the fingerprint says `p` was written in one write (no fingerprint: an app's own write).
pub fn consistent(s: &Stored, p: Held) -> bool {
    s.stamp.as_deref().map_or(true, |stamp| stamp == fingerprint_of(p.access, p.refresh))
}

/// The snapshot right after this tab wrote `pair`, its back-off ended.
pub fn written(pair: &Pair) -> Stored {
    Stored { access: Some(pair.access.clone()), refresh: pair.refresh.clone(), stamp: Some(fingerprint_of(&pair.access, pair.refresh.as_deref())), backoff: None }
}

/// Whether the access key holds something while there is no pair: a login still being written by
/// another tab, not a logout.
pub fn access_written(s: &Stored) -> bool {
    s.access.as_deref().is_some_and(present)
}

/// Whether another tab may be midway through a write that this tab would otherwise misread:
/// half a pair, a pair whose halves come from two writes, or (after a contended lock) the very
/// pair this flight was about to spend, which the previous holder has probably replaced already.
pub fn unsettled(s: &Stored, cookie: bool, contended: bool, sent_access: Option<&str>) -> bool {
    match read(s, cookie) {
        Read::Pair(p) => (contended && Some(p.access) == sent_access) || !consistent(s, p),
        Read::Empty => access_written(s),
        Read::Invalid => false,
    }
}

/// The back-off another tab stored, as it stands at `now` (see [`Backoff::at`]).
pub fn shared_backoff(s: &Stored, now: f64) -> (Backoff, Backoff) {
    let stored = s.backoff.as_deref().and_then(Backoff::decode).unwrap_or_default();
    (stored, stored.at(now))
}

//! `getAccessToken` and `refresh()`: calls that send nothing, but may need a refresh first. They
//! live among the requests (one id space, one queue), so that the flight wakes them, a reset
//! releases them and `stats().queued` counts them as it does requests; what they answer once
//! woken is theirs.

use alloc::string::String;

use crate::code::{Code, Failure};

use super::protocol::{Command, Stored, Why};
use super::requests::Kind;
use super::Machine;

/// The largest `minValidityMs` (a JS timer's).
const MAX_VALIDITY_MS: f64 = 2_147_483_647.0;

impl Machine {
    /// `getAccessToken({minValidityMs})`: the stored token now, unless a refresh runs (then after
    /// it) or is due: the token was answered "expired", or expires within `min_ms` on the server's
    /// clock (never within its floor: an API clock ahead of the issuer must not make every call
    /// refresh); in a cookie session with no token here, always (the cookie may be live).
    pub(super) fn token(&mut self, now: f64, id: u32, min_ms: f64, s: &Stored) {
        if !(0.0..=MAX_VALIDITY_MS).contains(&min_ms) {
            return self.reject(id, Failure::new(Code::InvalidOptions, &["getAccessToken: minValidityMs must be a number of milliseconds, 0 or more"]));
        }
        if self.refused_pageless(id) {
            return;
        }
        if self.flight.is_some() {
            return self.wait_for_flight(id, Kind::Token, None, now, s); // joins it
        }
        let stored = match self.stored_access(s) {
            Ok(a) => a,
            Err(e) => return self.reject(id, e.into()),
        };
        let due = match stored {
            None => self.cfg.cookie,
            Some(a) => self.refused.as_deref() == Some(a) || self.clock.expiring(a, min_ms, now),
        };
        let stored = stored.map(String::from);
        if !due {
            return self.push(Command::Give { id, token: stored });
        }
        self.wait_for_flight(id, Kind::Token, stored, now, s);
    }

    /// `refresh()`: a refresh now replacing the stored access token (joining a running one); in a
    /// cookie session with nothing stored, from the cookie alone (how a page starts one).
    pub(super) fn force_refresh(&mut self, now: f64, id: u32, s: &Stored) {
        if self.refused_pageless(id) {
            return;
        }
        let stored = match self.tokens(s) {
            Ok(Some(p)) => Some(p.access.into()),
            Ok(None) if self.cfg.cookie => None,
            Ok(None) => {
                return self.reject(id, Failure::new(Code::NoRefreshToken, &["refresh() needs stored tokens; call setTokens after login"]));
            }
            Err(e) => return self.reject(id, e.into()),
        };
        self.wait_for_flight(id, Kind::Refresh, stored, now, s);
    }

    /// Enters the call `id` and queues it for the running flight, or for one begun now replacing
    /// `sent_access`. An id in use is ignored.
    fn wait_for_flight(&mut self, id: u32, kind: Kind, sent_access: Option<String>, now: f64, s: &Stored) {
        if self.requests.enter(id, kind, 0, false) {
            self.refresh_for(now, id, sent_access, None, false, s);
        }
    }

    /// `getAccessToken` once the refresh it waited for has ended (noted `seen`): no session left
    /// (it ended, or a cookie refused where there was none) gives `null`; after a transient
    /// failure a stored token that still serves is given, else the failure is the caller's.
    pub(super) fn token_after(&mut self, now: f64, id: u32, seen: u64, s: &Stored) {
        let stored = match self.stored_access(s) {
            Ok(a) => a,
            Err(e) => return self.settle(id, Err(Why::Auth(e.into()))),
        };
        let token = match self.outcome_since(seen) {
            Some(Err(e)) if e.ends_session() || e.code == Code::NoSession => None,
            Some(Err(e)) if !stored.is_some_and(|a| self.still_good(a, now)) => return self.settle(id, Err(Why::Auth(e))),
            _ => stored.map(String::from),
        };
        self.finish(id, Command::Give { id, token });
    }

    /// `refresh()` once the refresh it waited for has ended: it resolves, or rejects with the
    /// flight's failure (or the reset's: tokens cleared meanwhile).
    pub(super) fn refresh_after(&mut self, id: u32, seen: u64) {
        match self.outcome_since(seen) {
            Some(Err(e)) => self.settle(id, Err(Why::Auth(e))),
            _ => self.settle(id, Ok(())),
        }
    }
}

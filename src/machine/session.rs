//! The session rules: tokens set and cleared here, what another tab's write means here, the end
//! of a session, and `onTokens`. A logout stays a logout: a clear (here or heard from another tab)
//! moves to a new epoch, so a flight begun before it writes nothing; and a tab removes from shared
//! storage only what it owns.

use alloc::string::String;

use crate::code::{Code, Failure};
use crate::pair::Pair;
use crate::policy::is_b64token;

use super::protocol::{Command, Expect, Notice, Remove, Stored};
use super::stored::{self, access_written, same, written, Garbage, Held, STORAGE_WARNING};
use super::{mutant, Machine};

impl Machine {
    /// The stored pair; seeing one marks the session known, and its life is noted from then
    /// (so that a pair another tab's refresh brings later counts as received: its floor holds).
    pub(super) fn tokens<'s>(&mut self, s: &'s Stored) -> Result<Option<Held<'s>>, Garbage> {
        let pair = stored::pair(s, self.cfg.cookie)?;
        if let Some(p) = pair {
            self.known = true;
            self.clock.life(p.access, self.now);
        }
        if self.announced.is_none() {
            self.announced = Some(pair.map(|p| p.access.into()));
        }
        Ok(pair)
    }

    /// The stored access token, as [`Machine::tokens`] reads the snapshot.
    pub(super) fn stored_access<'s>(&mut self, s: &'s Stored) -> Result<Option<&'s str>, Garbage> {
        Ok(self.tokens(s)?.map(|p| p.access))
    }

    /// Calls `onTokens` once per change of the stored access token, however this page heard of it.
    pub(super) fn announce(&mut self, access: Option<&str>, reason: &'static str) {
        if self.announced.as_ref().is_some_and(|a| a.as_deref() == access) {
            return;
        }
        self.announced = Some(access.map(String::from));
        let now = self.now;
        let expires_at = access.and_then(|a| self.clock.life(a, now)).map(|l| l.expires_ms);
        self.notify(Notice::Tokens { reason, expires_at });
    }

    /// `setTokens`. The pair already stored is no new login (issue 28 item 3): a flight spending it
    /// goes on, and keeps the rotated pair it brings; it still ends the back-off.
    pub(super) fn set_tokens(&mut self, now: f64, access: String, refresh: Option<String>, s: &Stored) {
        let cookie = self.cfg.cookie;
        let valid = is_b64token(&access) && refresh.as_deref().map_or(cookie, |r| !cookie && is_b64token(r));
        if !valid {
            let needs = if cookie {
                "setTokens needs { accessToken } only: with refreshTokenIn \"cookie\" the refresh token stays in its HttpOnly cookie"
            } else {
                "setTokens needs { accessToken, refreshToken }, both valid RFC 6750 tokens (no spaces, line breaks or non-ASCII)"
            };
            self.push(Command::Invalid(Failure::new(Code::InvalidToken, &[needs, "; nothing was stored"])));
            return;
        }
        let pair = Pair { access, refresh };
        self.end_backoff(s);
        if matches!(self.tokens(s), Ok(Some(h)) if same(Some(h), Some(&pair))) && !mutant!(self, SamePairResets) {
            return;
        }
        self.push(Command::Store { pair: Some(pair.clone()), expect: Expect::Any });
        self.known = true;
        self.clock.life(&pair.access, now);
        let after = written(&pair);
        self.announce(Some(&pair.access), "set");
        self.reset(now, Ok(()), &after);
    }

    /// `clearTokens()` (and `logout()`): removes the tokens, then [`Machine::forget`]s them.
    pub(super) fn clear_tokens(&mut self, now: f64) {
        self.push(Command::Store { pair: None, expect: Expect::Any });
        self.drop_key(Remove::Any);
        self.forget(now);
    }

    /// The tokens are gone: a running flight becomes stale (its answer must not log the user back
    /// in) and its waiters fail with "cleared". Removes nothing. Returns whether a session this
    /// page knew ended now (then the caller fires `onLogout`).
    fn forget(&mut self, now: f64) -> bool {
        let cleared = Failure::new(Code::NoRefreshToken, &["the tokens were cleared while the request waited"]);
        self.reset(now, Err(cleared), &Stored::default());
        self.announce(None, "clear");
        core::mem::replace(&mut self.known, false)
    }

    /// Another tab changed the keys. A logout there is a logout here, except that the keys are not
    /// this tab's to remove; half a pair is a login still being written (issue 28 item 1); a pair
    /// heard of is a session this page knows. Then a flight waiting for that write goes on.
    pub(super) fn heard(&mut self, now: f64, s: &Stored) {
        match self.tokens(s) {
            Ok(None) if mutant!(self, HalfPairErased) => {
                self.push(Command::Store { pair: None, expect: Expect::Any });
                if self.forget(now) {
                    self.notify(Notice::LoggedOut);
                }
            }
            Ok(None) if !access_written(s) && !mutant!(self, LogoutRevival) => {
                self.drop_key(Remove::Keep); // the tab that ended the session removes it
                if self.forget(now) {
                    self.notify(Notice::LoggedOut);
                    self.notify(Notice::Navigate);
                }
            }
            Ok(Some(p)) => self.announce(Some(p.access), "tab"),
            _ => {}
        }
        self.settle_again(now, s);
    }

    /// Ends the session here: the first to end it fires `onLogout` and navigates. Removes nothing.
    pub(super) fn end_session(&mut self, why: Code) {
        self.announce(None, "clear");
        // The key goes with the session, except the one just made for a lost one: it is no
        // session's yet, and a login under way may be signing with it (simulation, seed 811611).
        if why != Code::DpopKeyLost {
            self.drop_key(Remove::Used);
        }
        if core::mem::replace(&mut self.known, false) {
            self.notify(Notice::Logout(why));
            self.notify(Notice::Navigate);
        }
    }

    /// Web Storage threw (quota, `SecurityError`, disabled storage): the session goes on in this
    /// page's memory rather than ending for want of its tokens, with the pair it knew last (read
    /// last, or written since: a write that threw was put back, so other tabs go on with what they
    /// read; nothing there is removed). Said once; storage is not asked again.
    pub(super) fn unavailable(&mut self) {
        if core::mem::replace(&mut self.memory, true) {
            return;
        }
        let pair = self.held.clone();
        // Ahead of the commands still waiting (the rest of the `Store`'s event): they find the
        // keys in memory.
        let at = self.read;
        self.out.insert(at, Some(Command::Store { pair, expect: Expect::Any }));
        self.out.insert(at, Some(Command::Memory));
        self.out.insert(at, Some(Command::Notify(Notice::Warn(STORAGE_WARNING))));
    }
}

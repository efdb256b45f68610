//! The single flight: one refresh at a time per session, the queue of requests that wait for it,
//! and its stages. In order: the back-off gate (this tab's or another's failures, or being
//! offline); the cross-tab lock; under it, a re-read of storage, a settle wait while another tab
//! may be midway through a write (half a pair, a pair from two writes, or the very pair this tab
//! was about to spend after a contended lock), adopting a pair another tab stored, else spending
//! the refresh token (with the body `refresh::request_body` makes for the endpoint); then storing
//! the answer over the pair spent, and only over it. This is
//! auth0-spa-js's `_getTokenSilently` pattern: lock, re-read, use what another tab got, else spend.

use alloc::string::String;
use alloc::vec::Vec;

use crate::backoff::retry_after_ms;
use crate::dpop::Challenge;
use crate::code::{Code, Failure};
use crate::pair::Pair;
use crate::refresh::{classify, request_body, Field};

use super::protocol::{Command, Expect, Notice, Reply, Stored, Timer, Via};
use super::proofs::reply_error;
use super::stored::{mixed, same, shared_backoff, unsettled, written, Held};
use super::{mutant, Machine, Outcome, SETTLE_MS};

/// A settle step this long after its window ended comes from a page that was frozen or throttled
/// (the settle timer would have ended the wait on time): the other tab's write may still wait in
/// its queue, and the wait goes on this long from then.
const LATE_MS: f64 = 250.0;

/// A running refresh.
pub(super) struct Flight {
    id: u32,
    /// The access token it replaces (`None`: a cookie session without one).
    sent_access: Option<String>,
    started: f64,
    /// The gate holds it at most until then.
    deadline: f64,
    stage: Stage,
    /// It holds the cross-tab lock.
    held: bool,
    /// Its refresh call went out.
    called: bool,
    /// Its call was made again for a DPoP nonce challenge (once).
    nonce_retried: bool,
    /// The requests waiting for it, woken when it lands.
    pub queue: Vec<u32>,
}

impl Flight {
    /// Its number.
    #[cfg(test)]
    pub(super) fn id(&self) -> u32 {
        self.id
    }
}

enum Stage {
    Gate,
    Locking,
    Settling { since: f64, contended: bool },
    Calling { spent: Option<Pair> },
}

/// What a refresh call got: the new access token, the rotated refresh token, `expiresIn` (s).
type Got = Result<(String, Option<String>, Option<f64>), Failure>;

/// A flight that a reset took away while it waited for the lock or for its answer: it still holds
/// (or will be granted) the lock, released when that comes. Releasing it earlier would let another
/// tab spend, from a storage view not yet updated, the token this call is spending.
pub(super) struct Orphan {
    id: u32,
    held: bool,
}

fn failed(why: &str) -> Failure {
    Failure::new(Code::RefreshFailed, &["the refresh failed: ", why])
}

fn held_back(wait_ms: f64, offline: bool) -> Failure {
    let why = if offline { "the browser is offline" } else { "the refresh endpoint failed just before; the next attempt waits (see retryAfterMs)" };
    let mut e = Failure::new(Code::RefreshFailed, &["the refresh was not attempted: ", why]);
    e.retry_after_ms = (wait_ms > 0.0).then_some(wait_ms);
    e.offline = offline;
    e
}

fn logged_out_elsewhere() -> Failure {
    Failure::new(Code::NoRefreshToken, &["the tokens were removed before the refresh could spend them (logged out, possibly in another tab)"])
}

impl Machine {
    /// Begins a flight replacing `sent_access` unless one runs (false then); [`Machine::kick`]
    /// takes its first step once the caller is in its queue (a flight that lands at once then has
    /// a queue to tell).
    pub(super) fn begin_flight(&mut self, now: f64, sent_access: Option<String>) -> bool {
        if self.flight.is_some() {
            return false;
        }
        let id = self.next_flight;
        self.next_flight = id.wrapping_add(1);
        let deadline = now + self.cfg.refresh_timeout_ms;
        self.flight = Some(Flight { id, sent_access, started: now, deadline, stage: Stage::Gate, held: false, called: false, nonce_retried: false, queue: Vec::new() });
        true
    }

    /// Takes a flight's gate step: its first, or again (a gate timer, `online`).
    pub(super) fn kick(&mut self, now: f64, s: &Stored) {
        if matches!(self.flight, Some(Flight { stage: Stage::Gate, .. })) {
            self.gate(now, s);
        }
    }

    /// A settle step again (another tab's write, or the settle timer).
    pub(super) fn settle_again(&mut self, now: f64, s: &Stored) {
        if matches!(self.flight, Some(Flight { stage: Stage::Settling { .. }, .. })) {
            self.settle_step(now, s);
        }
    }

    /// The back-off or being offline holds the flight if that ends within `refreshTimeoutMs`, and
    /// otherwise fails it at once. Tokens another tab (or `setTokens`) brought need no attempt.
    fn gate(&mut self, now: f64, s: &Stored) {
        let stored = match self.stored_access(s) {
            Ok(a) => a,
            Err(e) => return self.land(now, Err(e.into()), false, s),
        };
        let Some(f) = self.flight.as_mut() else { return };
        // A clock set back since the flight began moves its deadline back as far: the hold lasts
        // `refreshTimeoutMs` of real time, not that plus the jump (found by the simulation).
        if now < f.started {
            (f.deadline, f.started) = (f.deadline - (f.started - now), now);
        }
        let (id, deadline) = (f.id, f.deadline);
        if stored == f.sent_access.as_deref() {
            let wait = self.backoff_wait(now, s);
            let offline = self.clock.offline;
            if wait > 0.0 || offline {
                let left = deadline - now;
                if left <= 0.0 || wait > left {
                    return self.land(now, Err(held_back(wait, offline)), false, s);
                }
                return self.push(Command::Timer { at: now + if offline { left } else { wait }, timer: Timer::Gate(id) });
            }
        }
        let budget_ms = SETTLE_MS + self.cfg.refresh_timeout_ms + 1_000.0;
        let Some(f) = self.flight.as_mut() else { return };
        if self.cfg.lock {
            f.stage = Stage::Locking;
            self.push(Command::Lock { flight: id, budget_ms });
        } else {
            f.stage = Stage::Settling { since: now, contended: false };
            self.settle_step(now, s);
        }
    }

    /// The lock (or a wait for it that ran out, which counts as contended).
    pub(super) fn granted(&mut self, now: f64, flight: u32, contended: bool, held: bool, s: &Stored) {
        if let Some(at) = self.orphans.iter().position(|o| o.id == flight) {
            self.orphans.swap_remove(at);
            if held {
                self.push(Command::Unlock { flight, mark_ms: 0.0 });
            }
            return;
        }
        match self.flight.as_mut() {
            Some(f) if f.id == flight && matches!(f.stage, Stage::Locking) => {
                f.held = held;
                f.stage = Stage::Settling { since: now, contended: contended || !held };
                self.settle_step(now, s);
            }
            _ if held => self.push(Command::Unlock { flight, mark_ms: 0.0 }),
            _ => {}
        }
    }

    /// Under the lock: settle, adopt, or spend.
    fn settle_step(&mut self, now: f64, s: &Stored) {
        let stored = match self.tokens(s) {
            Ok(p) => p,
            Err(e) => return self.land(now, Err(e.into()), true, s),
        };
        let Some(f) = self.flight.as_mut() else { return };
        let Stage::Settling { since, contended } = &mut f.stage else { return };
        // A clock set back during the wait restarts it rather than stretch it by the jump (the
        // shipped code waits the jump out; found by the simulation). A step well past the window
        // means the page slept through it: a tab frozen for 2 s thawed, heard the first key of
        // the other tab's write, and spent the refresh token that tab had just spent (simulation,
        // seed 997125).
        *since = since.min(now);
        if now - *since > SETTLE_MS + LATE_MS {
            *since = now - SETTLE_MS + LATE_MS;
        }
        let (since, contended) = (*since, *contended);
        let (id, sent) = (f.id, f.sent_access.clone());
        if self.cfg.cross_tab && unsettled(s, self.cfg.cookie, contended, sent.as_deref()) && now - since < SETTLE_MS {
            return self.push(Command::Timer { at: since + SETTLE_MS, timer: Timer::Settle(id) });
        }
        match &stored {
            // Removed meanwhile: a logout. Only a cookie session refreshes from nothing.
            None if sent.is_some() || !self.cfg.cookie => return self.land(now, Err(logged_out_elsewhere()), true, s),
            Some(p) if Some(p.access) != sent.as_deref() => {
                self.announce(Some(p.access), "tab");
                return self.land(now, Ok(()), true, s);
            }
            Some(p) if self.visibly_mixed(s, *p) => return self.land(now, Err(mixed()), true, s),
            _ => {}
        }
        // Another tab may have failed while this one waited for the lock: one attempt per window.
        let wait = self.backoff_wait(now, s);
        if wait > 0.0 {
            return self.land(now, Err(held_back(wait, false)), true, s);
        }
        let (refresh, access) = match stored {
            Some(p) => (p.refresh, Some(p.access)),
            None => (None, None),
        };
        let via = self.via(refresh, access);
        if let Some(f) = self.flight.as_mut() {
            f.stage = Stage::Calling { spent: stored.map(Held::owned) };
            f.called = true;
        }
        self.prove_refresh(id);
        self.push(Command::Refresh { flight: id, via });
        self.push(Command::Timer { at: now + self.cfg.refresh_timeout_ms, timer: Timer::Timeout(id) });
    }

    /// Cancels the running flight's refresh call, if it is out (DPoP: its proof waits for a key
    /// that is not the one the tokens were bound to); its timeout then releases the lock.
    #[cfg(feature = "dpop")]
    pub(super) fn cancel_call(&mut self) {
        if let Some(Flight { id, stage: Stage::Calling { .. }, .. }) = self.flight {
            self.push(Command::CancelRefresh { flight: id });
        }
    }

    /// Cancels the refresh calls of the flights a reset took away (their timeouts release the lock).
    #[cfg(feature = "dpop")]
    pub(super) fn cancel_orphans(&mut self) {
        for i in 0..self.orphans.len() {
            let flight = self.orphans[i].id;
            self.push(Command::CancelRefresh { flight });
        }
    }

    /// A call that answered needs its timeout no more: cancelled, so that a page refreshing often
    /// does not keep one timer per refresh scheduled for `refreshTimeoutMs`.
    fn answered(&mut self, flight: u32, reply: Option<&Reply>) {
        if reply.is_some() {
            self.push(Command::CancelTimer { timer: Timer::Timeout(flight) });
        }
    }

    /// A flight's timer fired.
    pub(super) fn timer(&mut self, now: f64, timer: Timer, jitter: f64, s: &Stored) {
        let current = |m: &Machine, id: u32| m.flight.as_ref().is_some_and(|f| f.id == id);
        match timer {
            Timer::Gate(id) if current(self, id) => self.kick(now, s),
            Timer::Settle(id) if current(self, id) => self.settle_again(now, s),
            Timer::Timeout(id) if current(self, id) || self.orphans.iter().any(|o| o.id == id) => {
                let calling = current(self, id) && matches!(self.flight, Some(Flight { stage: Stage::Calling { .. }, .. }));
                if calling || !current(self, id) {
                    self.push(Command::CancelRefresh { flight: id });
                    self.refreshed(now, id, None, jitter, s);
                }
            }
            _ => {}
        }
    }

    /// The refresh call answered (`None`: its timeout ran out). Stores what it brought over the
    /// pair it spent, and only over it: a pair stored since then (a login elsewhere, which revokes
    /// the old refresh token) is newer than whatever this answer says, a refusal included, and is
    /// adopted (issue 28 item 2); no pair at all is a logout, which stays (issue 16).
    pub(super) fn refreshed(&mut self, now: f64, flight: u32, reply: Option<&Reply>, jitter: f64, s: &Stored) {
        if let Some(at) = self.orphans.iter().position(|o| o.id == flight) {
            let orphan = self.orphans.swap_remove(at);
            self.answered(flight, reply);
            // Logged out or new tokens set meanwhile: this answer is stale, and writes nothing
            // (but paces the next call).
            let answer = self.outcome_of(now, reply);
            self.pace(now, &answer, jitter, s);
            if orphan.held {
                self.push(Command::Unlock { flight, mark_ms: SETTLE_MS });
            }
            return;
        }
        if self.dpop() && self.nonce_challenged(flight, reply, s) {
            return;
        }
        let spent = match self.flight.as_mut() {
            Some(Flight { id, stage: stage @ Stage::Calling { .. }, .. }) if *id == flight => match core::mem::replace(stage, Stage::Gate) {
                Stage::Calling { spent } => spent,
                _ => return,
            },
            _ => return,
        };
        self.answered(flight, reply);
        let answer = self.outcome_of(now, reply);
        let refused = matches!(&answer, Err(e) if e.ends_session());
        if refused && mutant!(self, RefusalErases) {
            self.end_backoff(s);
            self.push(Command::Store { pair: None, expect: Expect::Any });
            return self.land(now, answer.map(|_| ()), true, &Stored::default());
        }
        let stored = match self.tokens(s) {
            Ok(p) => p,
            Err(e) => {
                self.pace(now, &answer, jitter, s);
                return self.land(now, Err(e.into()), true, s);
            }
        };
        // (Issue 16's mutant takes storage emptied by a logout for the pair spent.)
        if !same(stored, spent.as_ref()) && !(stored.is_none() && mutant!(self, LogoutRevival)) {
            self.pace(now, &answer, jitter, s);
            let Some(p) = stored else {
                return self.land(now, Err(logged_out_elsewhere()), true, s);
            };
            self.announce(Some(p.access), "tab");
            return self.land(now, Ok(()), true, s);
        }
        match answer {
            Ok((access, refresh, expires_in)) => {
                let refresh = refresh.or_else(|| spent.as_ref().and_then(|p| p.refresh.clone()));
                let pair = Pair { access, refresh };
                let expect = if mutant!(self, LogoutRevival) { Expect::Any } else { Expect::Pair(spent) };
                self.push(Command::Store { pair: Some(pair.clone()), expect });
                self.end_backoff(s);
                self.clock.received(&pair.access, expires_in, now, mutant!(self, NoFloor));
                self.announce(Some(&pair.access), "refresh");
                let after = written(&pair);
                self.land(now, Ok(()), true, &after);
            }
            Err(e) if e.ends_session() => {
                self.end_backoff(s);
                if spent.is_some() {
                    self.push(Command::Store { pair: None, expect: Expect::Pair(spent) }); // still the refused pair: checked above
                }
                self.land(now, Err(e), true, &Stored::default());
            }
            Err(e) => {
                // Recorded before the lock is released, so the next tab to take it sees it.
                let wait = self.note_failure(now, e.retry_after_ms, jitter, s);
                self.land(now, Err(Failure { retry_after_ms: Some(wait), ..e }), true, s);
            }
        }
    }

    /// What the call's answer means (`None`: none came in time); one that brought tokens counts
    /// for `stats().refreshes`, whether this flight still stores it or not (as shipped).
    fn outcome_of(&mut self, now: f64, reply: Option<&Reply>) -> Got {
        let answer = match reply {
            None => Err(failed("no answer within refreshTimeoutMs")),
            Some(Reply { failure: Some(f), .. }) => Err(f.clone()),
            Some(r) if r.status == 0 => Err(failed("network error")),
            Some(r) => self.classify(now, r),
        };
        if answer.is_ok() {
            self.counts.refreshes = self.counts.refreshes.wrapping_add(1);
        }
        answer
    }

    /// A transient failure tells of the server whatever the flight does with its answer (stale,
    /// or storage changed meanwhile): the next call, in any tab, waits its window. Without this a
    /// new session's first refresh could follow it at once (found by the simulation's long run,
    /// seed 391024), and so could a `refresh()` another tab forced right after its login, the
    /// failed call having adopted that login (seed 19167).
    fn pace(&mut self, now: f64, answer: &Got, jitter: f64, s: &Stored) {
        if let Err(e) = answer {
            if !e.ends_session() {
                self.note_failure(now, e.retry_after_ms, jitter, s);
            }
        }
    }

    /// A DPoP nonce challenge to flight `flight`'s call (`400 use_dpop_nonce`), its nonce kept:
    /// the call is made again at once with it, once per flight (true then), while storage still
    /// holds the pair it spends (else the answer lands as any other: a logout or another tab's
    /// pair meanwhile). Every answer's `DPoP-Nonce` is kept.
    fn nonce_challenged(&mut self, flight: u32, reply: Option<&Reply>, s: &Stored) -> bool {
        let Some(r) = reply else { return false };
        if let Some(url) = self.cfg.refresh_url.clone() {
            self.hear_nonce(&url, r.nonce.as_deref());
        }
        if reply_error(r) != Some(Challenge::UseNonce) {
            return false;
        }
        let stored = self.tokens(s).ok().flatten();
        let spent = match &mut self.flight {
            Some(Flight { id, stage: Stage::Calling { spent }, nonce_retried: retried @ false, .. }) if *id == flight && same(stored, spent.as_ref()) => {
                *retried = true;
                spent.clone()
            }
            _ => return false,
        };
        let via = self.via(spent.as_ref().and_then(|p| p.refresh.as_deref()), spent.as_ref().map(|p| p.access.as_str()));
        self.prove_refresh(flight);
        self.push(Command::Refresh { flight, via });
        true
    }

    /// How the refresh call spends `refresh` (and sends `access`).
    fn via(&self, refresh: Option<&str>, access: Option<&str>) -> Via {
        match self.cfg.refresh_url {
            Some(_) => {
                let (content_type, body) = request_body(&self.cfg.refresh_format, refresh, access);
                Via::Endpoint { content_type, body }
            }
            None => Via::Function { refresh: refresh.map(String::from), access: access.map(String::from) },
        }
    }

    /// What the answer means (`refresh::classify`), with its `Retry-After` on a 429 or 503.
    fn classify(&self, now: f64, r: &Reply) -> Got {
        if let Some(e) = self.dpop_refused(r) {
            return Err(e);
        }
        // In a cookie session a refresh token in the answer is not ours to keep.
        let refresh = if self.cfg.cookie { &Field::Missing } else { &r.refresh };
        let retry = r.retry_after.as_deref().filter(|_| matches!(r.status, 429 | 503)).and_then(|v| retry_after_ms(v, self.clock.server(now)));
        match classify(r.status, r.json, [&r.access, refresh, &r.expires_in, &r.oauth_error], &r.access_path, &r.fields) {
            Ok(f) => Ok((f.access, f.refresh, f.expires_in)),
            Err(e) => Err(Failure { retry_after_ms: retry, ..e }),
        }
    }

    /// Lands the flight: the lock is released (with the `:fresh` mark after new tokens), the
    /// callbacks hear it, and every waiter wakes with the outcome. `attempted`: it got past the
    /// gate (held back by it, nothing happened the app has not heard of already).
    fn land(&mut self, now: f64, outcome: Outcome, attempted: bool, s: &Stored) {
        let Some(f) = self.flight.take() else { return };
        // A cookie refused where this page held no token and saw no session: nothing to end.
        let outcome = match outcome {
            Err(e) if e.code == Code::SessionExpired && f.sent_access.is_none() && !self.known => {
                Err(Failure::new(Code::NoSession, &["no session: the refresh endpoint refused the cookie"]))
            }
            o => o,
        };
        // After a call, success or transient failure, the `:fresh` mark makes the next tab to
        // take the lock settle until this tab's write (tokens, or the back-off) reaches it: lock
        // state reaches every tab at once, storage does not. With the mark after successes only
        // (as shipped), a tab whose view lacked the back-off yet called the endpoint again within
        // the window (found by the simulation).
        if f.held {
            self.push(Command::Unlock { flight: f.id, mark_ms: if f.called { SETTLE_MS } else { 0.0 } });
        }
        self.completed += 1;
        self.last = Some(outcome.clone());
        match &outcome {
            Ok(()) if attempted => self.notify(Notice::Refreshed { duration_ms: now - f.started }),
            Err(e) if attempted && e.code != Code::NoSession => {
                self.notify(Notice::RefreshError(e.clone()));
                if e.ends_session() {
                    self.end_session(e.code);
                }
            }
            _ => {}
        }
        // After `onRefresh`, which may change the tokens (clear them, log in), the queue wakes
        // with storage as it is then: the shell reports it (`Resume`) once the callback is done.
        if self.cfg.on_refresh && matches!(outcome, Ok(()) if attempted) && !f.queue.is_empty() {
            self.resuming.extend_from_slice(&f.queue);
            return self.push(Command::Resume);
        }
        for &id in f.queue.iter() {
            self.wake(now, id, s);
        }
    }

    /// `Resume`: the queue of the flight that landed last wakes, reading `s`.
    pub(super) fn resume(&mut self, now: f64, s: &Stored) {
        for id in core::mem::take(&mut self.resuming) {
            self.wake(now, id, s);
        }
    }

    /// A new epoch (tokens set or cleared): a running flight becomes stale and its waiters wake
    /// with `outcome`, reading `s`; requests already sent take it too.
    pub(super) fn reset(&mut self, now: f64, outcome: Outcome, s: &Stored) {
        self.completed += 1;
        self.last = Some(outcome);
        let Some(f) = self.flight.take() else { return };
        match f.stage {
            Stage::Locking | Stage::Calling { .. } => self.orphans.push(Orphan { id: f.id, held: f.held }),
            _ if f.held => self.push(Command::Unlock { flight: f.id, mark_ms: 0.0 }),
            _ => {}
        }
        if mutant!(self, ResetDropsQueue) {
            return;
        }
        for &id in f.queue.iter() {
            self.wake(now, id, s);
        }
    }

    /// How long the next attempt must still wait: this page's back-off or the shared one. A
    /// shared one dated in the future is stored again as it stands (issue 28 item 8).
    pub(super) fn backoff_wait(&mut self, now: f64, s: &Stored) -> f64 {
        let stale = mutant!(self, FutureBackoff);
        let shared = shared_backoff(s, now);
        if shared.0 != shared.1 && !stale {
            self.push(Command::StoreBackoff { value: Some(shared.1.encode()) });
        }
        self.clock.wait(shared, now, stale)
    }

    /// Records a transient failure for this page and other tabs; the wait it imposes.
    fn note_failure(&mut self, now: f64, retry_after_ms: Option<f64>, jitter: f64, s: &Stored) -> f64 {
        self.backoff_wait(now, s);
        let b = self.clock.backoff.after_failure(now, retry_after_ms, jitter);
        self.clock.backoff = b;
        self.push(Command::StoreBackoff { value: Some(b.encode()) });
        b.until_ms - now
    }

    /// Ends the back-off (new tokens, a success, the session's end).
    pub(super) fn end_backoff(&mut self, s: &Stored) {
        if core::mem::take(&mut self.clock.backoff).failures > 0 || s.backoff.is_some() {
            self.push(Command::StoreBackoff { value: None });
        }
    }
}

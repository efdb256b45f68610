//! One request: is it the library's to manage (a token goes only to the page's origin and
//! `allowedOrigins`), send it with the token now or wait for the running refresh, judge its
//! answer ("expired" by status, or by the shell's verdict on a body code / `isExpired`), and after
//! an "expired" answer: replay at once, wait for a refresh (the running one or one begun now) and
//! replay once, or hand the answer back. A replay's answer is the caller's whatever it says.
//! `getAccessToken` and `refresh()` calls (`calls`) live among the requests, by id, and wait in
//! the same queue.

use alloc::string::String;
use alloc::vec::Vec;

use crate::code::{Code, Failure};
use crate::policy::{origin_allowed, origin_of};

use super::protocol::{Command, Control, Judge, Notice, Stored, Why};
use super::stored::Garbage;
use super::{mutant, Machine};

/// The requests between two events, by id, in a sorted vector: a `BTreeMap` cost ~8 % of the
/// core's wasm for what a binary search does as well at the sizes a page has.
#[derive(Default)]
pub(super) struct Requests(Vec<(u32, Request)>);

impl Requests {
    fn at(&self, id: u32) -> Result<usize, usize> {
        self.0.binary_search_by_key(&id, |(k, _)| *k)
    }
    pub(super) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    #[cfg(feature = "dpop")]
    pub(super) fn ids(&self) -> Vec<u32> {
        self.0.iter().map(|(id, _)| *id).collect()
    }
    /// Adds `id` as a request or call of `kind`, unless one has that id already (false then).
    pub(super) fn enter(&mut self, id: u32, kind: Kind, rules: u32, no_refresh: bool) -> bool {
        let Err(i) = self.at(id) else { return false };
        self.0.insert(i, (id, Request { kind, rules, no_refresh, sent_before: false, phase: Phase::Idle, target: None }));
        true
    }
    pub(super) fn get(&self, id: &u32) -> Option<&Request> {
        self.at(*id).ok().map(|i| &self.0[i].1)
    }
    pub(super) fn get_mut(&mut self, id: &u32) -> Option<&mut Request> {
        self.at(*id).ok().map(|i| &mut self.0[i].1)
    }
    fn remove(&mut self, id: &u32) -> Option<Request> {
        self.at(*id).ok().map(|i| self.0.remove(i).1)
    }
}

/// What a caller waits for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// A request: its answer.
    Fetch,
    /// `getAccessToken`: a token, or `null`.
    Token,
    /// `refresh()`: the flight's outcome.
    Refresh,
}

/// A request (or a call) between two events.
pub(super) struct Request {
    pub(super) kind: Kind,
    /// Its instance's request rules (`Machine::add_rules`).
    pub(super) rules: u32,
    no_refresh: bool,
    /// An attempt went out already: the next is the last.
    sent_before: bool,
    pub(super) phase: Phase,
    /// What its DPoP proofs say (`dpop: true` only).
    pub(super) target: Option<alloc::boxed::Box<super::proofs::Target>>,
}

pub(super) enum Phase {
    /// Its attempt went out with `token` when `seen` flights had finished.
    Sent { token: Option<String>, seen: u64 },
    /// Between two phases, or answered (a last attempt is not held: `go` lets it go).
    Idle,
    /// The shell judges its answer (`Ask` with `how`).
    Asking { token: Option<String>, seen: u64, how: Judge },
    /// In the running flight's queue. `stored`: the token that may still serve after a transient
    /// failure (none after an "expired" answer); `answered`: the shell holds an "expired" answer,
    /// which is the caller's if the refresh finds no session.
    Waiting { seen: u64, stored: Option<String>, answered: bool },
}

/// What to do before sending.
enum Plan {
    Send(Option<String>, u64),
    Wait(Option<String>),
    Ahead(String),
}

/// Whether `url` is the refresh endpoint, query and fragment aside.
fn is_endpoint(url: &str, endpoint: &str) -> bool {
    let strip = |u: &str| u.bytes().position(|b| b == b'?' || b == b'#').unwrap_or(u.len());
    let (a, b) = (strip(url), strip(endpoint));
    url.get(..a).is_some_and(|u| endpoint.get(..b) == Some(u))
}

impl Machine {
    /// A request begins. `own`: it carries its own token header, or comes from the app's refresh
    /// function (it is the refresh, and must not wait behind it). `method`: with `dpop: true`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn begin(&mut self, now: f64, id: u32, rules: u32, url: &str, method: Option<String>, control: Control, own: bool, s: &Stored) {
        if self.refused_pageless(id) {
            return;
        }
        let no_refresh = match control {
            Control::None => false,
            Control::NoRefresh => true,
            Control::NoToken => return self.push(Command::Pass { id, watch: false }),
            Control::Invalid => {
                return self.reject(id, Failure::new(Code::InvalidOptions, &["the x-seamless-fetch request header takes \"no-token\" or \"no-refresh\""]));
            }
        };
        let endpoint = self.cfg.refresh_url.as_deref().is_some_and(|e| is_endpoint(url, e));
        let allowed = origin_allowed(origin_of(url).unwrap_or("null"), &self.cfg.page_origin, &self.rules(rules).allowed_origins);
        let allowed = allowed || mutant!(self, AnyOrigin);
        // With DPoP the app's own requests to the refresh endpoint (its code exchange) carry a
        // proof, never the token.
        let proven = endpoint && self.dpop() && !own;
        if (own || endpoint || !allowed) && !proven || !self.requests.enter(id, Kind::Fetch, rules, no_refresh || proven) {
            return self.push(Command::Pass { id, watch: !own && !endpoint && !allowed });
        }
        if self.dpop() {
            self.aim(id, method, url, proven);
        }
        if proven {
            return self.send(id, None, self.completed);
        }
        self.go(now, id, !no_refresh, s);
        if !self.dpop() {
            self.shortcut(now, id, url);
        }
    }

    /// After a plain request went out with a token and nothing running: the same decision for the
    /// next plain requests to its origin, with what it rests on (see `Command::Shortcut`). Not
    /// where answers are judged beyond their status (each needs the core then).
    fn shortcut(&mut self, now: f64, id: u32, url: &str) {
        let Some(r) = self.requests.get(&id) else { return };
        let Phase::Sent { token: Some(token), seen } = &r.phase else { return };
        if r.no_refresh || self.flight.is_some() || self.rules(r.rules).judges() {
            return;
        }
        let (token, seen, rules) = (token.clone(), *seen, r.rules);
        let Some(origin) = origin_of(url).map(String::from) else { return };
        let except = self.cfg.refresh_url.as_deref().map(|e| String::from(e.split(['?', '#']).next().unwrap_or(e)));
        let until = self.clock.due(&token, self.cfg.refresh_ahead_ms, now);
        let generation = self.generation();
        self.push(Command::Shortcut { rules, origin, except, token, seen, generation, until });
    }

    /// The answer to a watched `Pass`: an "expired" status from an origin the token is withheld
    /// from is explained (why no refresh was tried), by its origin alone (a query may hold a secret).
    pub(super) fn passed(&mut self, rules: u32, url: &str, status: u16) {
        if let (true, Some(origin)) = (self.rules(rules).expired_statuses.contains(&status), origin_of(url)) {
            self.notify(Notice::PassedThrough { status, origin: origin.into() });
        }
    }

    /// The answer to a request sent by a `Shortcut`: from here it is any request's.
    pub(super) fn shortcut_answer(&mut self, now: f64, id: u32, rules: u32, token: String, seen: u64, status: u16, date: Option<&str>, s: &Stored) {
        if self.adopt(id, rules, Phase::Sent { token: Some(token), seen }) {
            // A JSON body is never read there: its rules judge by status alone.
            self.answer(now, id, status, false, date, s);
        }
    }

    /// Takes over request `id` of `rules`, which the shell sent by a `Shortcut` (its first
    /// attempt), in `phase`; false when the id is in use.
    fn adopt(&mut self, id: u32, rules: u32, phase: Phase) -> bool {
        let entered = self.requests.enter(id, Kind::Fetch, rules, false);
        if let (true, Some(r)) = (entered, self.requests.get_mut(&id)) {
            r.sent_before = true;
            r.phase = phase;
        }
        entered
    }

    /// While a flight runs, the core queues every answer with an expired status for it, whatever
    /// token its request carried (`recover`): after the first such answer of `id`'s rules, that
    /// decision is handed out (`Command::Park`) for the answers to the requests the shell sent by
    /// a `Shortcut` of those rules, once per rules and generation. Not where answers are judged
    /// beyond their status (such rules get no shortcut).
    fn park(&mut self, id: u32) {
        let Some(rules) = self.requests.get(&id).map(|r| r.rules) else { return };
        let generation = self.generation();
        // (Nothing is sent by a shortcut with DPoP: nothing to park.)
        if self.flight.is_none() || rules >= 32 || self.rules(rules).judges() || self.dpop() {
            return;
        }
        if self.parks.0 != generation {
            self.parks = (generation, 0);
        }
        if self.parks.1 & 1 << rules != 0 {
            return;
        }
        self.parks.1 |= 1 << rules;
        self.push(Command::Park { rules, seen: self.completed, generation });
    }

    /// The answers the shell parked under a `Park` of `rules` (`seen` as that gave it). It reports
    /// them before any other event, so the flight the park was for still runs, and each is queued
    /// for it as its `ShortcutAnswer` would have been (the token it carried matters only when no
    /// flight runs). Should that flight have landed, `seen` makes `recover` take its outcome.
    pub(super) fn parked(&mut self, now: f64, rules: u32, seen: u64, ids: &[u32], s: &Stored) {
        for &id in ids {
            if self.adopt(id, rules, Phase::Idle) {
                self.recover(now, id, None, seen, s);
            }
        }
    }

    /// Plans and sends (or queues) the next attempt of `id`.
    fn go(&mut self, now: f64, id: u32, ahead: bool, s: &Stored) {
        match self.plan(now, ahead, s) {
            Err(e) => self.settle(id, Err(Why::Auth(e.into()))),
            Ok(Plan::Send(token, seen)) => {
                let dpop = self.dpop();
                let Some(r) = self.requests.get_mut(&id) else { return };
                // (With DPoP every answer may carry a nonce or a challenge: none is let go.)
                let final_attempt = r.sent_before || r.no_refresh;
                let (rules, last) = (r.rules, final_attempt && !dpop);
                if last {
                    // Its answer is the caller's whatever it says: the core lets it go now (no
                    // queue holds it), and the shell reports only a `Date` the core has not heard.
                    self.requests.remove(&id);
                } else {
                    r.phase = Phase::Sent { token: token.clone(), seen };
                    r.sent_before = true;
                    if let (true, Some(t)) = (dpop, r.target.as_mut()) {
                        t.nonce_retried = false; // once per attempt
                        t.last = final_attempt;
                    }
                    self.prove_send(id, token.as_deref());
                }
                self.push(Command::Send { id, rules, token, last });
            }
            Ok(Plan::Wait(stored)) => self.queue(now, id, stored, false, s),
            Ok(Plan::Ahead(access)) => self.refresh_for(now, id, Some(access.clone()), Some(access), false, s),
        }
    }

    /// A replay of `id` after its "expired" answer (counted for `stats().retried`).
    fn replay(&mut self, now: f64, id: u32, s: &Stored) {
        self.counts.retried = self.counts.retried.wrapping_add(1);
        self.go(now, id, false, s);
    }

    fn plan(&mut self, now: f64, ahead: bool, s: &Stored) -> Result<Plan, Garbage> {
        let seen = self.completed;
        let stored = self.stored_access(s)?.map(String::from);
        if self.flight.is_some() {
            return Ok(Plan::Wait(stored)); // even without a token: a cookie refresh brings one
        }
        Ok(match stored {
            Some(access) if ahead && self.due(now, &access, s) => Plan::Ahead(access),
            token => Plan::Send(token, seen),
        })
    }

    /// Whether `access` is due for a refresh ahead of its expiry; never while backing off (the
    /// token is still good meanwhile).
    fn due(&mut self, now: f64, access: &str, s: &Stored) -> bool {
        now >= self.clock.due(access, self.cfg.refresh_ahead_ms, now) && self.backoff_wait(now, s) <= 0.0
    }

    /// The answer to the last attempt of `id`; `json`: it is one JSON document (its body may hold
    /// an "expired" code; a stream never does, and must reach the caller at once).
    /// The `Date` counts first: the answer to a last attempt (`Send` with `last`, the request let
    /// go) comes only for it.
    pub(super) fn answer(&mut self, now: f64, id: u32, status: u16, json: bool, date: Option<&str>, s: &Stored) {
        if let Some(date) = date {
            self.clock.date(date, now);
            #[cfg(test)]
            {
                self.heard_date = Some(date.into());
            }
        }
        let Some(r) = self.requests.get_mut(&id) else { return };
        let rules = r.rules;
        let (token, seen) = match core::mem::replace(&mut r.phase, Phase::Idle) {
            Phase::Sent { token, seen } => (token, seen),
            _ => return self.settle(id, Ok(())),
        };
        if self.dpop() && self.dpop_answer(id, status, &token, seen, s) {
            return;
        }
        let r = self.rules(rules);
        if r.expired_statuses.contains(&status) {
            self.recover(now, id, token, seen, s);
        } else if r.body_codes && json {
            self.ask(id, token, seen, Judge::Body);
        } else if r.app_judges {
            self.ask(id, token, seen, Judge::App);
        } else {
            self.settle(id, Ok(()));
        }
    }

    /// Sends an attempt of `id` with `token` (`seen` flights finished), its proof first.
    pub(super) fn send(&mut self, id: u32, token: Option<String>, seen: u64) {
        let Some(r) = self.requests.get_mut(&id) else { return };
        let rules = r.rules;
        r.phase = Phase::Sent { token: token.clone(), seen };
        self.prove_send(id, token.as_deref());
        self.push(Command::Send { id, rules, token, last: false });
    }

    /// Has the shell judge the answer of `id` (sent with `token` when `seen` flights had finished).
    pub(super) fn ask(&mut self, id: u32, token: Option<String>, seen: u64, how: Judge) {
        if let Some(r) = self.requests.get_mut(&id) {
            r.phase = Phase::Asking { token, seen, how };
        }
        self.push(Command::Ask { id, how });
    }

    /// The shell's verdict on an answer it was asked to judge.
    pub(super) fn verdict(&mut self, now: f64, id: u32, expired: bool, s: &Stored) {
        let Some(r) = self.requests.get_mut(&id) else { return };
        let rules = r.rules;
        match core::mem::replace(&mut r.phase, Phase::Idle) {
            Phase::Asking { token, seen, .. } if expired => self.recover(now, id, token, seen, s),
            // The body said nothing: the app's `isExpired` judges last, as it always has.
            Phase::Asking { token, seen, how: Judge::Body } if self.rules(rules).app_judges => self.ask(id, token, seen, Judge::App),
            _ => self.settle(id, Ok(())),
        }
    }

    /// The caller aborted: a request waiting for a refresh leaves its queue (an attempt on the
    /// wire ends with `Failed` instead).
    pub(super) fn abort(&mut self, id: u32) {
        if self.requests.get(&id).is_some_and(|r| matches!(r.phase, Phase::Waiting { .. })) {
            self.settle(id, Err(Why::Aborted));
        }
    }

    /// Settles `id` once: its last answer (`Ok`) or an error.
    pub(super) fn settle(&mut self, id: u32, how: Result<(), Why>) {
        self.finish(id, match how {
            Ok(()) => Command::Resolve { id },
            Err(why) => Command::Reject { id, why },
        });
    }

    /// Refuses every call of a pageless instance (true then, `id` rejected): its tokens would have
    /// no origin to go to, and its refresh no URL.
    pub(super) fn refused_pageless(&mut self, id: u32) -> bool {
        if self.cfg.pageless {
            self.reject(id, Failure::new(Code::InvalidOptions, &["AuthFetch options: refreshUrl must be an absolute URL such as \"https://api.example.com/auth/refresh\" here: there is no page (Node, SSR) to resolve a relative one against"]));
        }
        self.cfg.pageless
    }

    /// Rejects `id` at once, before the core holds it (a request or call refused as it begins).
    pub(super) fn reject(&mut self, id: u32, e: Failure) {
        self.push(Command::Reject { id, why: Why::Auth(e) });
    }

    /// Settles `id` once with `command` (its `Resolve`, `Give` or `Reject`); it leaves every queue.
    pub(super) fn finish(&mut self, id: u32, command: Command) {
        if self.requests.remove(&id).is_none() {
            return;
        }
        if let Some(f) = self.flight.as_mut() {
            f.queue.retain(|q| *q != id);
        }
        self.push(command);
    }

    /// After an "expired" answer to the attempt sent with `token` when `seen` flights had
    /// finished: replay, wait for a refresh, or hand the answer back.
    fn recover(&mut self, now: f64, id: u32, token: Option<String>, seen: u64, s: &Stored) {
        if self.flight.is_some() {
            self.queue(now, id, None, true, s);
            return self.park(id);
        }
        match self.outcome_since(seen) {
            Some(Err(e)) if e.code == Code::NoSession => return self.settle(id, Ok(())),
            Some(Err(e)) => return self.settle(id, Err(Why::Auth(e))),
            Some(Ok(())) => return self.replay(now, id, s),
            None => {}
        }
        let stored = match self.stored_access(s) {
            Ok(a) => a,
            Err(e) => return self.settle(id, Err(Why::Auth(e.into()))),
        };
        match (stored, token) {
            // A cookie session can be live with no token here: the cookie is what is spent.
            (None, None) if self.cfg.cookie => self.refresh_for(now, id, None, None, true, s),
            // Never logged in: the 401 is the app's (a login form, a public page).
            (None, None) if !self.known => self.settle(id, Ok(())),
            (None, _) => {
                let e = Failure::new(Code::NoRefreshToken, &["the access token was refused and there is no refresh token (logged out elsewhere, or storage was cleared)"]);
                self.end_session(e.code);
                self.settle(id, Err(Why::Auth(e)));
            }
            // Tokens changed since this request left (another tab, setTokens): replay.
            (Some(stored), Some(old)) if stored != old => self.replay(now, id, s),
            (Some(_), None) => self.replay(now, id, s),
            (Some(_), Some(old)) => {
                self.refused = Some(old.clone());
                self.refresh_for(now, id, Some(old), None, true, s);
                self.park(id);
            }
        }
    }

    /// Begins a flight replacing `sent_access` unless one runs, and queues `id` for it (with
    /// `stored` and `answered`, as [`Machine::queue`]); a flight begun now then takes its first
    /// step (one joined is where it was).
    pub(super) fn refresh_for(&mut self, now: f64, id: u32, sent_access: Option<String>, stored: Option<String>, answered: bool, s: &Stored) {
        let began = self.begin_flight(now, sent_access);
        self.queue(now, id, stored, answered, s);
        if began {
            self.kick(now, s);
        }
    }

    /// Queues `id` for the running flight; with none running (it landed at once), goes on now.
    fn queue(&mut self, now: f64, id: u32, stored: Option<String>, answered: bool, s: &Stored) {
        let seen = self.completed;
        match self.flight.as_mut() {
            Some(f) => {
                f.queue.push(id);
                if let Some(r) = self.requests.get_mut(&id) {
                    r.phase = Phase::Waiting { seen, stored, answered };
                }
            }
            None => self.woken(now, id, seen, stored, answered, s),
        }
    }

    /// Wakes the request (or call) `id`, queued with `stored` and `answered`, once the flight it
    /// waited for has landed (or been reset).
    pub(super) fn wake(&mut self, now: f64, id: u32, s: &Stored) {
        let Some((kind, phase)) = self.requests.get_mut(&id).map(|r| (r.kind, core::mem::replace(&mut r.phase, Phase::Idle))) else {
            return;
        };
        let Phase::Waiting { seen, stored, answered } = phase else { return };
        match kind {
            Kind::Fetch => self.woken(now, id, seen, stored, answered, s),
            Kind::Token => self.token_after(now, id, seen, s),
            Kind::Refresh => self.refresh_after(id, seen),
        }
    }

    /// Whether `access`, stored, still serves after a transient failure: it has not expired on
    /// the server's clock, and the server has not answered "expired" to it.
    pub(super) fn still_good(&mut self, access: &str, now: f64) -> bool {
        self.refused.as_deref() != Some(access) && self.clock.still_valid(access, now)
    }

    /// One rule for the request that began a refresh and those queued behind it: after a transient
    /// failure a token that has not expired yet (and was not refused) is still good, so it is
    /// sent; a refusal, or any failure after an "expired" answer, is the caller's error. No
    /// session at all (`NO_SESSION`) is no error: the answer it had is the caller's.
    fn woken(&mut self, now: f64, id: u32, seen: u64, stored: Option<String>, answered: bool, s: &Stored) {
        if let Some(Err(e)) = self.outcome_since(seen) {
            let anonymous = self.cfg.cookie && !e.ends_session() && !self.known && matches!(self.tokens(s), Ok(None));
            if e.code == Code::NoSession || anonymous {
                if answered {
                    return self.settle(id, Ok(()));
                }
                if let Some(r) = self.requests.get_mut(&id) {
                    r.no_refresh = true; // a second try would be refused too
                }
                return self.go(now, id, false, s);
            }
            if e.ends_session() || !stored.is_some_and(|a| self.still_good(&a, now)) {
                return self.settle(id, Err(Why::Auth(e)));
            }
        }
        if answered {
            return self.replay(now, id, s);
        }
        self.go(now, id, false, s);
    }
}

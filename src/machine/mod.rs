//! The sans-IO core: every decision of a session, as a deterministic state machine. Events in
//! ([`Event`], each with `now`), commands out ([`Command`], drained with [`Machine::poll`]), in the
//! manner of quinn-proto: no clock, no randomness, no JS. The shipped build runs it behind the wasm
//! boundary (`src/boundary/`) and the JS shell (`pkg-template/shell.js`); it is tested natively,
//! by unit tests and by the simulation of many tabs in `sim`.
//!
//! One module per concern: [`protocol`] (the events and commands, with their table),
//! `requests` (one request: attach, judge, recover, replay once), `calls` (`getAccessToken` and
//! `refresh()`: calls that wait for the flight and send nothing), `flight` (the single flight,
//! its queue, the cross-tab lock, settle, spend with its body, store), [`stored`] (what a
//! snapshot of storage means, the shared back-off), `session` (tokens set and cleared, logouts heard from other tabs,
//! `onTokens`), `clock` (server clock, token lifetimes, refresh ahead, back-off state). The rules
//! themselves are those of `policy`, `expiry`, `refresh` and `backoff`.

use alloc::string::String;
use alloc::vec::Vec;

use crate::code::Failure;
use crate::pair::Pair;
use crate::refresh::Format;

mod calls;
mod clock;
mod flight;
mod proofs;
pub mod protocol;
mod requests;
mod session;
pub mod stored;

#[cfg(test)]
mod sim;
#[cfg(test)]
mod tests;

pub use protocol::{Command, Control, Event, Expect, Judge, Notice, Proven, Remove, Reply, Stored, Timer, Via, Why};

/// How long a tab whose lock wait was contended waits for the previous holder's tokens to show in
/// its storage before refreshing itself (Chromium delivers other tabs' writes late).
pub const SETTLE_MS: f64 = 1_000.0;

/// The options the core decides with (validated by `options.rs`; URLs and origins normalised).
#[derive(Clone)]
pub struct Config {
    /// The page's origin (`"null"` without one).
    pub page_origin: String,
    /// The first instance's request rules (`Machine::add_rules` adds the others').
    pub rules: Rules,
    /// `refreshUrl`, resolved; never intercepted. `None`: the app's refresh function.
    pub refresh_url: Option<String>,
    /// The endpoint's body: `refreshFormat`, `refreshFields`, `clientId`, `scope` (unused with
    /// the app's function).
    pub refresh_format: Format,
    /// `refreshUrl` is relative and there is no page to resolve it against (SSR): every call is
    /// refused (`INVALID_OPTIONS`, `Machine::refused_pageless`), so the module that made it still
    /// loads (SSR) and works in the browser.
    pub pageless: bool,
    /// `refreshAheadMs`.
    pub refresh_ahead_ms: f64,
    /// `refreshTimeoutMs`.
    pub refresh_timeout_ms: f64,
    /// Tabs share the tokens (`crossTab` with `storage: "local"`): the lock, settle, storage events.
    pub cross_tab: bool,
    /// Take the cross-tab lock around a refresh: where tabs share the tokens, and where they share
    /// a rotating refresh cookie (a cookie session over `sessionStorage` or memory).
    pub lock: bool,
    /// `refreshTokenIn: "cookie"`.
    pub cookie: bool,
    /// An instance has `onRefresh`, which may change the tokens before the queue replays: the
    /// queue then waits for `Resume` (see `Command::Resume`). Set by `Machine::hear_on_refresh`
    /// when a later instance brings one.
    pub on_refresh: bool,
    /// `dpop: true`: requests with the token, the refresh call and the app's own requests to
    /// `refreshUrl` carry a proof (`proofs`); no shortcut, no last send (every answer may carry a
    /// nonce or a challenge the core must read).
    pub dpop: bool,
}

/// How one instance's requests are judged. The instances of a session share its tokens, its
/// refresh and its queue, but each keeps its own rules (as the package's instances always have):
/// another instance's `allowedOrigins` must never send a token where this one would not.
#[derive(Clone, PartialEq, Default)]
pub struct Rules {
    /// `allowedOrigins`, normalised.
    pub allowed_origins: Vec<String>,
    /// `expiredStatuses`.
    pub expired_statuses: Vec<u16>,
    /// `expiredBodyCodes` is set: the body of a JSON document is read for a code (`Ask`).
    pub body_codes: bool,
    /// `isExpired` is set: the app judges what the rest did not call "expired" (`Ask`).
    pub app_judges: bool,
}

impl Rules {
    /// Whether some answer is judged beyond its status.
    fn judges(&self) -> bool {
        self.body_codes || self.app_judges
    }
}

/// At most this many sets of request rules per session: an app that makes instances with ever
/// new rules is refused (`INVALID_OPTIONS`) instead of growing the session without end.
pub const MAX_RULES: usize = 16;

/// What the last flight (or reset) gave its waiters.
type Outcome = Result<(), Failure>;

/// `stats()`. Counted per session, not per instance: two instances sharing a session (same storage
/// and keys) both report the whole (the package before the core reported each one's part; with one
/// instance per session, the usual case, the counts agree). A session replaced by a new one counts
/// from zero.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub struct Stats {
    /// Refresh calls that brought tokens (a successful answer, stale or not).
    pub refreshes: u32,
    /// Requests replayed after an "expired" answer (with new tokens, or tokens changed meanwhile).
    pub retried: u32,
    /// Requests and calls waiting for the running refresh now.
    pub queued: u32,
}

/// The defects of issues 16 and 28 that the simulation must catch, re-introduced one at a time
/// (tests only: none exists in any other build).
#[cfg(test)]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mutant {
    /// Issue 16 item 1: a logout heard from another tab does not reset the running flight, and
    /// the flight writes its answer without comparing storage with the pair it spent.
    LogoutRevival,
    /// Issue 28 item 1: half a pair heard from another tab reads as a logout, and its keys are removed.
    HalfPairErased,
    /// Issue 28 item 2: a refused refresh removes whatever storage holds.
    RefusalErases,
    /// Issue 28 item 3: `setTokens` with the stored pair is a new login (resets the flight).
    SamePairResets,
    /// Issue 28 item 8: a back-off window dated in the future is taken as stored.
    FutureBackoff,
    /// Issue 28 item 11: a token received is refreshed ahead with no floor.
    NoFloor,
    /// Not a past defect: the token goes to every origin (proves the origin invariant can fail).
    AnyOrigin,
    /// Not a past defect: a reset forgets its waiters (proves the settle invariant can fail).
    ResetDropsQueue,
    /// Not a past defect: storage that throws keeps in memory the pair read last, not the one
    /// written since (proves the simulation's storage that fills up checks the memory rule).
    MemoryOfReads,
    /// Not a past defect: a DPoP key made while tokens are stored (the key they were bound to is
    /// gone) does not end the session (proves the simulation's key-lost invariant can fail).
    KeyLostKept,
    /// Not a past defect: a resource's nonce challenge (`401 use_dpop_nonce`) is judged as an
    /// expired token (proves the simulation's nonce invariant can fail).
    NonceExpires,
}

/// Whether mutant `$m` is on; `false`, and no code, outside tests.
macro_rules! mutant {
    ($machine:expr, $m:ident) => {{
        #[cfg(test)]
        let on = $machine.mutant == Some(crate::machine::Mutant::$m);
        #[cfg(not(test))]
        let on = false;
        on
    }};
}
pub(crate) use mutant;

/// The state of one session (the instances of one page on the same storage and keys).
pub struct Machine {
    cfg: Config,
    /// The request rules of the session's instances, by the index `Begin` names (0: `cfg.rules`).
    rules: Vec<Rules>,
    /// The commands not polled yet, from `read` on (a `VecDeque` costs more code): emptied
    /// whenever the shell has polled them all, which it does after each event.
    out: Vec<Option<Command>>,
    read: usize,
    requests: requests::Requests,
    flight: Option<flight::Flight>,
    orphans: Vec<flight::Orphan>,
    /// The queue of a flight that landed, until the shell's `Resume` (see `Command::Resume`).
    resuming: Vec<u32>,
    next_flight: u32,
    /// Flights and resets finished; a request notes it when sent, so that a late "expired"
    /// answer takes the outcome that came meanwhile instead of a second refresh.
    completed: u64,
    last: Option<Outcome>,
    clock: clock::Clock,
    /// The access token the server last answered "expired" to.
    refused: Option<String>,
    /// The generation the `Park`s handed out last hold for, and the rules (bit by index) they cover.
    parks: (u64, u32),
    /// This page has seen a session that has not ended: its end is a logout, not "never logged in".
    known: bool,
    /// The access token `onTokens` last announced (`None` inside: none; outer `None`: not read yet).
    announced: Option<Option<String>>,
    instances: u32,
    /// `stats()`' counts (`queued` is the queue's length).
    counts: Stats,
    /// Web Storage threw once: the keys are in the shell's memory from then on.
    memory: bool,
    /// `dpop: true`: the nonce each origin gave last (`proofs::MAX_NONCES` origins at most).
    nonces: Vec<(String, String)>,
    /// The pair storage holds as this page last knew it: the last snapshot an event carried, or
    /// the pair of a `Store` polled since (the shell reports a write that throws while it carries
    /// it). `Memory` keeps it.
    held: Option<Pair>,
    /// The `now` of the event being handled.
    now: f64,
    /// The mutant on, in the simulation's runs.
    #[cfg(test)]
    pub mutant: Option<Mutant>,
    /// The last `Date` heard (the simulation checks that no answer reaches its caller without
    /// the core, with a `Date` the core has not heard).
    #[cfg(test)]
    pub heard_date: Option<String>,
}

impl Machine {
    /// A session with no instance yet (an `Open` event adds one).
    pub fn new(cfg: Config) -> Machine {
        Machine {
            rules: alloc::vec![cfg.rules.clone()],
            cfg,
            out: Vec::new(),
            read: 0,
            requests: requests::Requests::default(),
            flight: None,
            orphans: Vec::new(),
            resuming: Vec::new(),
            next_flight: 0,
            completed: 0,
            last: None,
            clock: clock::Clock::default(),
            refused: None,
            parks: (0, 0),
            known: false,
            announced: None,
            instances: 0,
            counts: Stats::default(),
            memory: false,
            held: None,
            nonces: Vec::new(),
            now: 0.0,
            #[cfg(test)]
            mutant: None,
            #[cfg(test)]
            heard_date: None,
        }
    }

    /// The next command for the shell, in order.
    pub fn poll(&mut self) -> Option<Command> {
        let c = self.out.get_mut(self.read).and_then(Option::take);
        if let (Some(Command::Store { pair, .. }), false) = (&c, mutant!(self, MemoryOfReads)) {
            self.held = pair.clone();
        }
        if c.is_some() {
            self.read += 1;
        } else {
            self.out.clear();
            self.read = 0;
        }
        c
    }

    /// Whether anything still needs this session: an instance on it, a request or a refresh.
    pub fn alive(&self) -> bool {
        self.instances > 0 || !self.requests.is_empty() || self.flight.is_some() || !self.orphans.is_empty()
    }

    /// Whether an instance is on it (new instances join only such a session, or one refreshing).
    pub fn joinable(&self) -> bool {
        self.instances > 0 || self.flight.is_some()
    }

    /// Changes whenever a `Shortcut` or a `Park` may no longer hold: a flight begins or ends, tokens
    /// are set or cleared (a reset ends a flight or counts as one), the server clock's estimate moves.
    pub fn generation(&self) -> u64 {
        (self.next_flight as u64).wrapping_add(self.completed).wrapping_add(self.clock.changes)
    }

    /// The index `rules` will go by, for an instance that joins the session with rules of its own
    /// (the shell's instances with equal rules share one index: the boundary compares them);
    /// `None` when the session has [`MAX_RULES`] already.
    pub fn add_rules(&mut self, rules: Rules) -> Option<u32> {
        if self.rules.len() >= MAX_RULES {
            return None;
        }
        self.rules.push(rules);
        Some(self.rules.len() as u32 - 1)
    }

    /// `dpop: true`, in a build with DPoP (without it, every DPoP path is dead code, left out).
    fn dpop(&self) -> bool {
        cfg!(feature = "dpop") && self.cfg.dpop
    }

    /// Rules `i` (an index the shell reports: untrusted; an unknown one reads as the first).
    fn rules(&self, i: u32) -> &Rules {
        self.rules.get(i as usize).unwrap_or(&self.rules[0])
    }

    /// An instance with `onRefresh` joined (see `Config::on_refresh`).
    pub fn hear_on_refresh(&mut self) {
        self.cfg.on_refresh = true;
    }

    /// Whether a refresh is running (`isRefreshing`).
    pub fn is_refreshing(&self) -> bool {
        self.flight.is_some()
    }

    /// `stats()`: see [`Stats`].
    pub fn stats(&self) -> Stats {
        let queued = self.flight.as_ref().map_or(0, |f| f.queue.len());
        Stats { queued: u32::try_from(queued).unwrap_or(u32::MAX), ..self.counts }
    }

    /// Flights and resets finished (tests only: the simulation tells a stale attempt).
    #[cfg(test)]
    pub fn completed(&self) -> u64 {
        self.completed
    }

    /// The running flight's number (tests only: the simulation tells which flight a call joined).
    #[cfg(test)]
    pub fn flight(&self) -> Option<u32> {
        self.flight.as_ref().map(flight::Flight::id)
    }

    /// Whether `p` mixes two writes as [`stored::mixed_with`] tells. Only across tabs: alone, a
    /// tab's storage changes by its own writes and the app's.
    fn visibly_mixed(&self, s: &Stored, p: stored::Held) -> bool {
        self.cfg.cross_tab && !stored::consistent(s, p) && stored::mixed_with(p, s.stamp.as_deref(), self.held.as_ref())
    }

    /// Takes one event; its commands wait in [`Machine::poll`].
    pub fn handle(&mut self, event: Event) {
        self.now = event.now();
        if let Some(s) = event.stored() {
            let pair = stored::pair(s, self.cfg.cookie).ok().flatten();
            // A visible mix of two writes is never one to keep: the last whole pair stays what
            // storage that fails leaves in memory. (Asked only of a pair that changed: the
            // fingerprint is a hash of both tokens, and most events read the pair held.)
            if !stored::same(pair, self.held.as_ref()) && !pair.is_some_and(|p| self.visibly_mixed(s, p)) {
                self.held = pair.map(stored::Held::owned);
            }
        }
        match event {
            Event::Begin { now, id, rules, url, method, control, has_auth, own_refresh, stored } => self.begin(now, id, rules, &url, method, control, has_auth || own_refresh, &stored),
            Event::Answer { now, id, status, json, date, stored } => self.answer(now, id, status, json, date.as_deref(), &stored),
            Event::Passed { rules, url, status, .. } => self.passed(rules, &url, status),
            Event::Verdict { now, id, expired, stored } => self.verdict(now, id, expired, &stored),
            Event::Failed { id, .. } => self.settle(id, Err(Why::Transport)),
            Event::Abort { id, .. } => self.abort(id),
            Event::Granted { now, flight, contended, held, stored } => self.granted(now, flight, contended, held, &stored),
            Event::Refreshed { now, flight, reply, jitter, stored } => self.refreshed(now, flight, Some(&reply), jitter, &stored),
            Event::Timer { now, timer, jitter, stored } => self.timer(now, timer, jitter, &stored),
            Event::Storage { now, stored } => self.heard(now, &stored),
            Event::Online { now, stored } => {
                self.clock.online_at = now;
                self.clock.offline = false;
                self.kick(now, &stored);
            }
            Event::Offline { .. } => self.clock.offline = true,
            Event::ShortcutAnswer { now, id, rules, token, seen, status, date, stored } => self.shortcut_answer(now, id, rules, token, seen, status, date.as_deref(), &stored),
            Event::Parked { now, rules, seen, ids, stored } => self.parked(now, rules, seen, &ids, &stored),
            Event::Token { now, id, min_validity_ms, stored } => self.token(now, id, min_validity_ms, &stored),
            Event::ForceRefresh { now, id, stored } => self.force_refresh(now, id, &stored),
            Event::SetTokens { now, access, refresh, stored } => self.set_tokens(now, access, refresh, &stored),
            Event::ClearTokens { now } => self.clear_tokens(now),
            Event::Logout { now } => {
                self.clear_tokens(now);
                self.notify(Notice::LoggedOut);
                self.notify(Notice::Navigate);
            }
            Event::Open { stored, .. } => {
                self.instances = self.instances.saturating_add(1);
                let _ = self.tokens(&stored);
            }
            Event::Close { .. } => self.instances = self.instances.saturating_sub(1),
            Event::Resume { now, stored } => self.resume(now, &stored),
            Event::StorageFailed { .. } => self.unavailable(),
            #[cfg(feature = "dpop")]
            Event::DpopHeaders { id, nonce, challenge, .. } => self.dpop_headers(id, nonce.as_deref(), challenge.as_deref()),
            #[cfg(feature = "dpop")]
            Event::Refusal { id, error, description, .. } => self.refusal(id, error.as_deref(), description.as_deref()),
            #[cfg(feature = "dpop")]
            Event::KeyCreated { now, stored } => self.key_created(now, &stored),
            #[cfg(feature = "dpop")]
            Event::Prove { id, method, url, stored, .. } => self.prove(id, &method, &url, &stored),
        }
    }

    /// How many commands wait for [`Machine::poll`].
    pub fn waiting(&self) -> usize {
        self.out.len() - self.read
    }

    fn push(&mut self, c: Command) {
        self.out.push(Some(c));
    }

    fn notify(&mut self, n: Notice) {
        self.push(Command::Notify(n));
    }

    /// The outcome of the newest flight or reset, if one finished after the caller noted `seen`.
    fn outcome_since(&self, seen: u64) -> Option<Outcome> {
        if self.completed > seen {
            self.last.clone()
        } else {
            None
        }
    }
}

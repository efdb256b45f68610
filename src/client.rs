//! What one `AuthFetch` does with a request: attach the token where allowed, wait while a refresh
//! runs, refresh once when the token has expired, and replay the request with the new token.
//!
//! Each request carries a [`Sent`] record (the token it went out with and how many refreshes had
//! finished), which is what lets a late 401 be answered without a second refresh. No `RefCell`
//! borrow lives across a call into JS.
//!
//! Nothing here is a Rust future: a future costs a promise, callbacks and a task per await (paid
//! twice by every request of a storm), and the executor and its generic instances were a tenth of
//! the shipped wasm. A request is a short sequence of synchronous [`Step`]s driven by `driver` in
//! `js/helpers.js`; a refresh flight is a sequence of `Stage`s, each handing the flight on to the
//! callback of the promise it waits for (`fly_after`).
//!
//! The story in order: [`Client::start`] (`open` decides whether the request is the library's to
//! manage, then `plan`: send now, wait for a refresh, or refresh ahead); [`Client::judge`] looks at
//! an answer ("expired"? by status, by body code through [`Phase::Peeking`], by the app's
//! `isExpired` through [`Phase::Asking`]); `recover` decides after an "expired" answer (replay at
//! once, wait for a refresh, start one, or hand the answer back); [`Client::resume`] goes on when
//! what a step waited for has settled. The happy path keeps nothing between its two steps; every
//! other request waits in [`Client::calls`]. The flight: `new_flight` begins it, `enqueue` starts
//! it once its first waiter is queued, `fly_step` runs its stages (the back-off gate, the cross-tab
//! lock, the settle wait, the refresher's call), `store_fresh` keeps what the answer brought, and
//! `fly` lands it: the outcome to every waiter at once.

use alloc::rc::Rc;
use alloc::string::String;
use core::cell::{Cell, RefCell};

use js_sys::{Function, Object, Promise};
use wasm_bindgen::prelude::*;
use web_sys::{AbortSignal, Response};

use crate::coordinator::Outcome;
use crate::errors::{AuthError, Code, Error};
use crate::expiry::{clock_offset, refresh_due_at};
use crate::inflight::Slab;
use crate::js;
use crate::options::Options;
use crate::outgoing::{Args, Marks, Outgoing};
use crate::policy::{origin_allowed, origin_of, safe_return_path, with_return_param};
use crate::refresher::Refresher;
use crate::session::{Session, Waker};
use crate::storage::Pair;
use crate::tabs::{Lock, Watcher};
use crate::transport;

/// How long a tab whose lock wait was contended waits for the previous holder's tokens to show in
/// its storage before refreshing itself (Chromium delivers other tabs' writes late).
const CROSS_TAB_SETTLE_MS: f64 = 1_000.0;

/// The JS functions from the options.
pub struct Hooks {
    /// The transport.
    pub fetch: Function,
    /// `onRefresh({durationMs})`.
    pub on_refresh: JsValue,
    /// `onRefreshError(authError)`.
    pub on_refresh_error: JsValue,
    /// `onLogout({reason})`.
    pub on_logout: JsValue,
    /// `navigate(url)`, default `location.assign`.
    pub navigate: JsValue,
    /// `isExpired(response)`, if given (checked once here, not on every response).
    pub is_expired: Option<Function>,
}

/// Counts since construction, as `stats()` reports them (its `queued` comes from the coordinator).
#[derive(Clone, Copy, Default)]
pub struct Stats {
    /// Refresh calls this instance made to the endpoint.
    pub refreshes: u32,
    /// Requests replayed after a refresh.
    pub retried: u32,
}

/// One `AuthFetch`: its options and hooks, over a possibly shared [`Session`].
pub struct Client {
    /// Validated options.
    pub opts: Options,
    /// JS callbacks and transport.
    pub hooks: Hooks,
    /// Shared state.
    pub session: Rc<Session>,
    /// How tokens are refreshed.
    pub refresher: Refresher,
    /// The page's origin (`"null"` when it has none).
    pub page_origin: String,
    /// `refreshUrl` is relative and there is no page to resolve it against: see [`Client::usable`].
    pub pageless: bool,
    /// Name of the cross-tab lock.
    pub lock_name: String,
    /// Counters.
    pub stats: Cell<Stats>,
    /// `opts.auth_header` as a JS string.
    pub auth_header: JsValue,
    /// The last token sent and its header value, as JS strings (see [`Client::header`]).
    pub header: RefCell<Option<(String, JsValue, JsValue)>>,
    /// Requests between steps, by the index the JS driver holds.
    pub calls: RefCell<Slab<(Call, Phase)>>,
    /// While this instance is on its session: its `onTokens` (among the session's listeners) and
    /// its storage watcher. Held here, not by the `AuthFetch` object, so that a bound `fetch`
    /// handed to another library keeps the instance whole after that object is collected (the
    /// bound `fetch` holds the client). See [`Client::leave`].
    pub member: RefCell<Option<(Option<Function>, Option<Watcher>)>>,
}

/// What a request was sent with.
pub struct Sent {
    /// The access token it carried.
    pub token: Option<String>,
    /// How many refreshes had finished when it left.
    pub seen: u64,
}

/// A request the library manages.
pub struct Call {
    out: Outgoing,
    no_refresh: bool,
    abort: Option<AbortSignal>,
    /// An attempt went out already: the next is the last, and its answer the caller's whatever it
    /// says. Until then `out`'s headers have not been handed to a transport, so the first attempt
    /// may send them as they are; a replay gets a copy (the transport may keep them).
    sent_before: bool,
}

/// What a kept [`Call`] waits for.
pub enum Phase {
    /// The answer to the attempt that went out with [`Sent`].
    Sent(Sent),
    /// The running refresh.
    Waiting {
        /// The entry in the refresh queue, taken out if the caller aborts.
        id: Option<u32>,
        /// How many refreshes had finished when it queued.
        seen: u64,
        /// The token that may still serve if the refresh fails transiently; none after an
        /// "expired" answer.
        stored: Option<String>,
        /// The "expired" answer it follows: the request is replayed, or, when the refresh finds
        /// no session (`NO_SESSION`), this answer is the caller's.
        answer: Option<Response>,
    },
    /// The text of a clone of the answer, to look for an "expired" body code.
    Peeking(Sent, Response),
    /// The app's `isExpired` verdict on the answer.
    Asking(Sent, Response),
}

/// What the JS driver does next with a request.
pub enum Step {
    /// Not the library's to manage (another origin, the refresh endpoint, its own `Authorization`,
    /// `no-token`, the app's refresh function): sent as it is, the answer is the caller's. `true`:
    /// only for its origin (not the page's, not in `allowedOrigins`), so the driver says why an
    /// "expired" answer to it was not refreshed.
    AsIs(Outgoing, bool),
    /// Send `fetch(input, init)` with the token's header set to `value`, then hand the answer on
    /// as [`Then`] says.
    Send {
        /// The attempt's arguments (see [`Outgoing::attempt`]).
        args: Args,
        /// The token's header value, as a JS string, or null: no token.
        value: JsValue,
        /// The token sent, as a JS string, or null.
        token: JsValue,
        /// How many refreshes had finished.
        seen: u64,
        /// What becomes of the answer.
        then: Then,
        /// On the happy path and for a last attempt, until when (local clock) `plan` goes on
        /// sending this token as it is, as long as nothing in [`Session::mirror`] changes: the
        /// driver sends the next requests to the same URL, and the replays of the answers it
        /// parked for a refresh, itself until then. 0 for a kept request.
        until: f64,
    },
    /// Wait for the promise, then [`Client::resume`] `slot` with its value.
    Wait(Promise, u32),
    /// The caller's answer.
    Done(Response),
}

/// What becomes of the answer to a [`Step::Send`].
pub enum Then {
    /// The happy path, which keeps nothing: [`Client::settled`] by its status, or
    /// [`Client::judge_first`] with the step's `token` and `seen`.
    Settle,
    /// [`Client::judge`] the request kept at this slot.
    Judge(u32),
    /// The caller's whatever it says (a replay, or a `no-refresh` request): nothing is kept for it,
    /// so a storm's replays cost one step each, not two.
    Return,
}

/// Whether a request was taken on.
enum Opened {
    /// No: see [`Step::AsIs`].
    AsIs(Outgoing, bool),
    /// Yes.
    Managed(Call),
}

/// A value now, or once the refresh it waits for has ended (the promise its end resolves, and
/// `seen` for [`Client::outcome_since`]).
pub enum Soon<T> {
    /// Ready.
    Now(T),
    /// After the refresh.
    After(Promise, u64),
}

/// A refresh flight between its steps: held by the callback of the promise it waits for.
struct Flight {
    epoch: u64,
    sent_access: Option<String>,
    started: f64,
    stage: Stage,
}

/// Where a flight is.
enum Stage {
    /// Held by the back-off or by being offline, at most until `deadline`.
    Gate { deadline: f64 },
    /// Waiting for the cross-tab lock.
    Locking,
    /// Holding the lock (an empty one without Web Locks or `crossTab`): waiting, since `since`,
    /// for the tokens the previous holder may have written to show here.
    Settling { lock: Lock, since: f64 },
    /// The refresher was called to spend `spent`; the lock is held until the answer is stored.
    Calling { _lock: Lock, spent: Option<Pair> },
}

/// What [`Client::plan`] found: send now with this token, wait for the running refresh, or refresh
/// ahead of expiry. The last two carry the access token stored meanwhile.
enum Plan {
    Send(Sent),
    Wait(Option<String>),
    Ahead(String),
}

impl Client {
    fn count(&self, f: impl FnOnce(&mut Stats)) {
        let mut s = self.stats.get();
        f(&mut s);
        self.stats.set(s);
    }

    /// Takes this instance off its session, once: its storage watcher and `onTokens` stop, and the
    /// session is no longer handed to new instances when no other is on it. By `dispose()`, or
    /// when the instance is gone (its object and its bound `fetch` both collected).
    pub fn leave(&self) {
        let Some((on_tokens, watcher)) = self.member.borrow_mut().take() else {
            return;
        };
        drop(watcher); // unsubscribes: a call into JS, with no borrow held
        let session = &self.session;
        session.users.set(session.users.get().saturating_sub(1));
        if let Some(mine) = on_tokens {
            let mut listeners = session.listeners.borrow_mut();
            if let Some(at) = listeners.iter().position(|l| *l == mine) {
                listeners.remove(at);
            }
        }
    }

    /// Decides by the request's [`Marks`] (its URL, control header and own token header) whether
    /// the library manages it (see [`Step::AsIs`]). The header `x-seamless-fetch` sets how one
    /// request is handled, for callers that cannot pass anything else through (ky, ofetch,
    /// openapi-fetch and axios rebuild `init`, but keep headers): `no-token` sends it untouched,
    /// `no-refresh` sends it with the token but returns an "expired" answer as it is; it is never
    /// sent. `own_refresh`: the request comes from the app's `refresh` function, so it is the
    /// refresh and goes straight out.
    fn open(&self, out: Outgoing, marks: Marks, own_refresh: bool) -> Result<Opened, Error> {
        let Marks { url, control, has_auth } = marks;
        let no_refresh = match control.as_deref() {
            None => false,
            Some("no-refresh") => true,
            Some("no-token") => return Ok(Opened::AsIs(out, false)),
            _ => return Err(AuthError::new(Code::InvalidOptions, &["the x-seamless-fetch request header takes \"no-token\" or \"no-refresh\""]).into()),
        };
        if own_refresh || has_auth || self.refresher.url().is_some_and(|r| strip_query(&url) == strip_query(r)) {
            return Ok(Opened::AsIs(out, false));
        }
        if !origin_allowed(origin_of(&url).unwrap_or("null"), &self.page_origin, &self.opts.allowed_origins) {
            return Ok(Opened::AsIs(out, true));
        }
        let abort = out.signal();
        Ok(Opened::Managed(Call { out, no_refresh, abort, sent_before: false }))
    }

    /// A request's first step. The happy path (the token is ready, and the status alone says
    /// whether the answer is "expired": no body codes, no `isExpired`) keeps nothing: its answer
    /// goes to [`Client::settled`], and only an "expired" one on to [`Client::judge_first`].
    ///
    /// `replay`: the driver replays a request whose "expired" answer it parked for a refresh that
    /// brought tokens (see `Session::mirror`), as [`Client::woken`] would: its answer is the
    /// caller's.
    pub fn start(self: &Rc<Self>, out: Outgoing, marks: Marks, own_refresh: bool, replay: bool) -> Result<Step, Error> {
        self.usable()?;
        let mut call = match self.open(out, marks, own_refresh)? {
            Opened::AsIs(out, withheld) => return Ok(Step::AsIs(out, withheld)),
            Opened::Managed(call) => call,
        };
        if replay {
            call.sent_before = true;
            self.count(|s| s.retried += 1);
        }
        match self.plan(!call.no_refresh)? {
            Plan::Send(sent) if self.by_status() && !call.no_refresh && !call.sent_before && matches!(call.out, Outgoing::Parts { .. }) => {
                let (args, value, token) = self.attempt(&call, &sent)?;
                let until = self.until(&sent);
                Ok(Step::Send { args, value, token, seen: sent.seen, then: Then::Settle, until })
            }
            plan => self.proceed(call, plan),
        }
    }

    /// Refuses every use of an instance whose relative `refreshUrl` had no page to resolve it
    /// against (made at a module's top level during server-side rendering): its tokens would have
    /// no origin to go to, and its refresh no URL.
    pub fn usable(&self) -> Result<(), AuthError> {
        if self.pageless {
            return Err(AuthError::new(Code::InvalidOptions, &["AuthFetch options: refreshUrl must be an absolute URL such as \"https://api.example.com/auth/refresh\" here: there is no page (Node, SSR) to resolve a relative one against"]));
        }
        Ok(())
    }

    /// Whether the first answer of a happy-path request is the caller's as it is: its `status`
    /// does not mean "expired" (such a request has nothing else to ask). Otherwise
    /// [`Client::judge_first`].
    pub fn settled(&self, status: u16) -> bool {
        !self.opts.is_expired_status(status)
    }

    /// An "expired" answer to a happy-path request (`out`: [`Outgoing::taken_over`]): the
    /// request, which [`Client::open`] found managed and without a control header, is kept now to
    /// recover and replay. (While a refresh runs, the driver holds such an answer itself, unless
    /// its `Date` changed: see `driver` in helpers.js.)
    pub fn judge_first(self: &Rc<Self>, out: Outgoing, sent: Sent, response: Response) -> Result<Step, Error> {
        let abort = out.signal();
        self.recover(Call { out, no_refresh: false, abort, sent_before: true }, sent, response)
    }

    /// Whether the status alone says if an answer means "expired" (no body codes, no `isExpired`).
    /// Out of line: inlined into `start` it cost 126 B of gzipped wasm.
    #[inline(never)]
    fn by_status(&self) -> bool {
        self.opts.expired_body_codes.is_empty() && self.hooks.is_expired.is_none()
    }

    /// The answer to a kept request's first attempt (a later one, or one that may not refresh, is
    /// not kept: [`Then::Return`]): the caller's, unless it says "expired".
    pub fn judge(self: &Rc<Self>, slot: u32, response: Response, status: u16) -> Result<Step, Error> {
        let (call, phase) = self.take(slot)?;
        let Phase::Sent(sent) = phase else {
            return Err(lost());
        };
        if self.opts.is_expired_status(status) {
            return self.recover(call, sent, response);
        }
        match transport::peek_body(&self.opts, &response) {
            Some(text) => Ok(self.keep(call, Phase::Peeking(sent, response), text)),
            None => self.ask_app(call, sent, response),
        }
    }

    /// The app's `isExpired`, when it has one, judges the answer last.
    fn ask_app(&self, call: Call, sent: Sent, response: Response) -> Result<Step, Error> {
        match &self.hooks.is_expired {
            Some(ask) => {
                let verdict = js::ask_expired(ask, &response);
                Ok(self.keep(call, Phase::Asking(sent, response), verdict))
            }
            None => Ok(Step::Done(response)),
        }
    }

    /// Goes on with a kept request once what it waited for has settled with `value`.
    pub fn resume(self: &Rc<Self>, slot: u32, value: JsValue) -> Result<Step, Error> {
        let (call, phase) = self.take(slot)?;
        match phase {
            Phase::Waiting { seen, stored, answer, .. } => self.woken(call, seen, stored, answer),
            Phase::Peeking(sent, response) if transport::has_expired_code(&self.opts, &value) => self.recover(call, sent, response),
            Phase::Peeking(sent, response) => self.ask_app(call, sent, response),
            Phase::Asking(sent, response) if value.is_truthy() => self.recover(call, sent, response),
            Phase::Asking(_, response) => Ok(Step::Done(response)),
            Phase::Sent(_) => Err(lost()),
        }
    }

    /// Forgets a kept request whose wait or attempt was rejected (the caller aborted, the transport
    /// failed): it leaves the refresh queue too.
    pub fn fail(&self, slot: u32) {
        let kept = self.calls.borrow_mut().take(slot);
        if let Some((_, Phase::Waiting { id: Some(id), .. })) = kept {
            self.session.coord.borrow_mut().remove(id);
        }
    }

    fn take(&self, slot: u32) -> Result<(Call, Phase), Error> {
        self.calls.borrow_mut().take(slot).ok_or_else(lost)
    }

    /// Keeps `call` until `promise` settles.
    fn keep(&self, call: Call, phase: Phase, promise: Promise) -> Step {
        Step::Wait(promise, self.calls.borrow_mut().insert((call, phase)))
    }

    /// The arguments of one attempt with `sent`'s token (see [`Step::Send`]): `args`, the header
    /// value and the token. Refused once the caller aborted, as fetch itself does, and so that a
    /// transport which ignores signals cannot send it (a request `fetch` could not build throws
    /// its TypeError first, in the driver).
    fn attempt(&self, call: &Call, sent: &Sent) -> Result<(Args, JsValue, JsValue), Error> {
        if let Some(abort) = call.abort.as_ref().filter(|a| a.aborted()) {
            return Err(Error::Js(abort.reason()));
        }
        let (token, value) = match &sent.token {
            Some(t) => self.header(t),
            None => (JsValue::NULL, JsValue::NULL),
        };
        Ok((call.out.attempt(&self.auth_header, sent.token.is_some(), !call.sent_before)?, value, token))
    }

    /// `token` and its header value as JS strings, made once per token: every request sends the
    /// same ones until the next refresh.
    fn header(&self, token: &str) -> (JsValue, JsValue) {
        if let Some((t, js, value)) = &*self.header.borrow() {
            if t == token {
                return (js.clone(), value.clone());
            }
        }
        let made = (JsValue::from_str(token), JsValue::from_str(&self.opts.header_value(token)));
        *self.header.borrow_mut() = Some((token.into(), made.0.clone(), made.1.clone()));
        made
    }

    /// What to do before sending: a token to send, a refresh to wait for, or one due ahead of
    /// expiry (when `ahead`).
    fn plan(&self, ahead: bool) -> Result<Plan, Error> {
        let seen = self.session.coord.borrow().completed();
        let stored = self.session.tokens()?.map(|s| s.access);
        if self.session.coord.borrow().is_refreshing() {
            // Even without a token: a cookie session's first refresh brings one.
            return Ok(Plan::Wait(stored));
        }
        Ok(match stored {
            Some(access) if ahead && self.due_for_refresh(&access) => Plan::Ahead(access),
            token => Plan::Send(Sent { token, seen }),
        })
    }

    /// Sends the next attempt, or queues the request for the running refresh (or one started now,
    /// ahead of expiry).
    fn proceed(self: &Rc<Self>, mut call: Call, plan: Plan) -> Result<Step, Error> {
        match plan {
            Plan::Send(sent) => {
                let (args, value, token) = self.attempt(&call, &sent)?;
                let seen = sent.seen;
                let (then, until) = if call.sent_before || call.no_refresh {
                    (Then::Return, self.until(&sent))
                } else {
                    call.sent_before = true;
                    (Then::Judge(self.calls.borrow_mut().insert((call, Phase::Sent(sent)))), 0.0)
                };
                Ok(Step::Send { args, value, token, seen, then, until })
            }
            Plan::Wait(stored) => self.queue(call, stored, None, None),
            Plan::Ahead(access) => {
                let flight = self.new_flight(Some(&access));
                self.queue(call, Some(access), None, flight)
            }
        }
    }

    /// After a wait for a refresh: one rule for the request that started the refresh and those
    /// that queued behind it. After a transient failure a token that has not expired yet is still
    /// good, so it is sent (no second refresh ahead). A refused refresh token, an expired access
    /// token, or any failure after an "expired" answer (which has no `stored` token) is the
    /// caller's error. No session at all (`NO_SESSION`) is no error: the request gets the
    /// `answer` it had, or goes out once as it would have without a refresh.
    fn woken(self: &Rc<Self>, mut call: Call, seen: u64, stored: Option<String>, answer: Option<Response>) -> Result<Step, Error> {
        if let Err(e) = self.outcome_since(seen) {
            // A cookie refresh that failed (or was held back) where there is no session here to
            // keep (an anonymous visitor): as for a refusal, the request's own answer stands.
            let anonymous = self.opts.cookie && !e.ends_session() && !self.session.known() && self.session.tokens()?.is_none();
            if e.code == Code::NoSession || anonymous {
                if let Some(answer) = answer {
                    return Ok(Step::Done(answer));
                }
                call.no_refresh = true; // its answer is the caller's: a second try would be refused too
                return self.again(call, true);
            }
            if e.ends_session() || !stored.is_some_and(|a| self.still_valid(&a)) {
                return Err(e.into());
            }
        }
        self.again(call, answer.is_none())
    }

    /// Plans and sends the next attempt; `waited`: no refresh ahead (one was just waited for).
    fn again(self: &Rc<Self>, call: Call, waited: bool) -> Result<Step, Error> {
        if !waited {
            self.count(|s| s.retried += 1);
        }
        let plan = self.plan(!call.no_refresh && !waited)?;
        self.proceed(call, plan)
    }

    /// Queues the request for the running refresh (`flight`, when this request starts it: see
    /// [`Client::enqueue`]); `stored` and `answer` as in [`Phase::Waiting`]. The wait ends early,
    /// rejected, when the caller aborts (then [`Client::fail`]).
    fn queue(self: &Rc<Self>, call: Call, stored: Option<String>, answer: Option<Response>, flight: Option<Flight>) -> Result<Step, Error> {
        let (woken, id, seen) = self.enqueue(flight);
        if id.is_none() {
            return self.woken(call, seen, stored, answer); // nothing runs: go on at once
        }
        let woken = match &call.abort {
            Some(signal) => js::abortable(&woken, signal),
            None => woken,
        };
        Ok(self.keep(call, Phase::Waiting { id, seen, stored, answer }, woken))
    }

    /// After an "expired" answer to the attempt that went out with `sent`: replay at once, wait
    /// for a refresh (the running one, or one started now) and replay, or hand `response` back.
    fn recover(self: &Rc<Self>, call: Call, sent: Sent, response: Response) -> Result<Step, Error> {
        if self.session.coord.borrow().is_refreshing() {
            return self.queue(call, None, Some(response), None);
        }
        let since = self.session.coord.borrow().outcome_since(sent.seen);
        match since {
            Some(Err(e)) if e.code == Code::NoSession => return Ok(Step::Done(response)),
            Some(outcome) => {
                outcome?;
                return self.again(call, false);
            }
            None => {}
        }
        match (self.session.tokens()?, sent.token) {
            // A cookie session can be live with no token on this page (memory storage after a
            // reload): the cookie is what the refresh spends. Refused, it ends a session only
            // where this page saw one (see `Client::fly`): else the answer is the caller's.
            (None, None) if self.opts.cookie => {
                let flight = self.new_flight(None);
                self.queue(call, None, Some(response), flight)
            }
            // Never logged in: the 401 belongs to the app (a login form, a public page).
            (None, None) if !self.session.known() => Ok(Step::Done(response)),
            (None, _) => {
                let e = AuthError::new(Code::NoRefreshToken, &["the access token was refused and there is no refresh token (logged out elsewhere, or storage was cleared)"]);
                self.end_session(&e);
                Err(e.into())
            }
            // Tokens changed since this request left (another tab, setTokens): just replay.
            (Some(now), Some(old)) if now.access != old => self.again(call, false),
            (Some(_), None) => self.again(call, false),
            (Some(_), Some(old)) => {
                *self.session.refused.borrow_mut() = Some(old.clone());
                let flight = self.new_flight(Some(&old));
                self.queue(call, None, Some(response), flight)
            }
        }
    }

    /// Whether the token expires within the refresh-ahead window. Never before the server's clock
    /// is known: a local clock hours off must not trigger a refresh on every request.
    /// Nor while the refresh endpoint is backing off: the token is still good meanwhile.
    fn due_for_refresh(&self, access: &str) -> bool {
        js_sys::Date::now() >= self.refresh_due(access) && self.session.backoff_wait() <= 0.0
    }

    /// A send step's `until` for `sent` (see [`Step::Send`]): the driver may send its token as it
    /// is until refreshing ahead falls due; 0 (never) when it carries no token, or while the app's
    /// refresh function runs: whether a request is that function's own is `open`'s decision (by
    /// its signal), which a lease cannot carry, so every request meets it then.
    fn until(&self, sent: &Sent) -> f64 {
        if self.session.own_refresh.borrow().is_some() {
            return 0.0;
        }
        sent.token.as_deref().map_or(0.0, |t| self.refresh_due(t))
    }

    /// The local time from which a request should wait for a refresh of `access` first (see
    /// [`refresh_due_at`]): never with refreshing ahead off, or before the server's clock or the
    /// token's lifetime is known.
    fn refresh_due(&self, access: &str) -> f64 {
        if let (true, Some(offset)) = (self.opts.refresh_ahead_ms > 0.0, self.session.clock_offset.get()) {
            if let Some(due) = self.session.lifetime(access).and_then(|life| refresh_due_at(&life, self.opts.refresh_ahead_ms)) {
                return due - offset;
            }
        }
        f64::INFINITY
    }

    /// Whether `access` is known, on the server's clock, not to have expired yet, and the server
    /// has not refused it already.
    fn still_valid(&self, access: &str) -> bool {
        self.session.refused.borrow().as_deref() != Some(access)
            && self.session.clock_offset.get().is_some()
            && self.session.lifetime(access).is_some_and(|life| self.session.server_now() < life.expires_ms)
    }

    /// The `Date` header of an answer from an origin that judges the token: the server's clock (a
    /// cross-origin `Date` is readable only where the server exposes it, and in Node, which has
    /// no page). The driver hands it over only when its text changed: once a second at most.
    pub fn note_clock(&self, date: &str) {
        if let Some(offset) = clock_offset(date, js_sys::Date::now()) {
            self.session.clock_offset.set(Some(offset));
            self.session.changed();
        }
    }

    /// Starts a refresh replacing `sent_access` (`None`: a cookie session without a token here)
    /// unless one runs, and joins its queue: the promise its end resolves, and `seen` for
    /// [`Client::outcome_since`].
    pub fn refresh_from(self: &Rc<Self>, sent_access: Option<&str>) -> (Promise, u64) {
        let flight = self.new_flight(sent_access);
        let (woken, _, seen) = self.enqueue(flight);
        (woken, seen)
    }

    /// What the refresh that ended after `seen` refreshes had finished gave (`Ok` if none did).
    pub fn outcome_since(&self, seen: u64) -> Outcome {
        self.session.coord.borrow().outcome_since(seen).unwrap_or(Ok(()))
    }

    /// `getAccessToken`: the token a socket or another SDK should use now, refreshed first (joining
    /// a refresh in flight) when it has expired or expires within `min_validity_ms` on the
    /// server's clock: then after the refresh, with [`Client::access_token_after`]. `None` when
    /// there is no session.
    pub fn access_token(self: &Rc<Self>, min_validity_ms: f64) -> Result<Soon<Option<String>>, Error> {
        let refreshing = self.session.coord.borrow().is_refreshing();
        let mut flight = None;
        if !refreshing {
            let stored = self.session.tokens()?;
            let due = match &stored {
                // A cookie session may be live without a token here; a refusal then means "none".
                None => self.opts.cookie,
                Some(s) => {
                    // Never within a token's floor (see `expiry::FLOOR_MS`): an API clock ahead of
                    // the issuer must not make every call refresh.
                    let now = self.session.server_now();
                    self.session.refused.borrow().as_deref() == Some(s.access.as_str())
                        || self.session.lifetime(&s.access).is_some_and(|life| now >= life.floor_ms && now + min_validity_ms >= life.expires_ms)
                }
            };
            if !due {
                return Ok(Soon::Now(stored.map(|s| s.access)));
            }
            flight = self.new_flight(stored.as_ref().map(|s| s.access.as_str()));
        }
        let (woken, _, seen) = self.enqueue(flight);
        Ok(Soon::After(woken, seen))
    }

    /// `getAccessToken` once the refresh it waited for has ended.
    pub fn access_token_after(&self, seen: u64) -> Result<Option<String>, Error> {
        let outcome = self.outcome_since(seen);
        let stored = self.session.tokens()?;
        match outcome {
            Err(e) if e.ends_session() || e.code == Code::NoSession => Ok(None),
            // As for requests: after a transient failure a token that has not expired is still good.
            Err(e) if !stored.as_ref().is_some_and(|s| self.still_valid(&s.access)) => Err(e.into()),
            _ => Ok(stored.map(|s| s.access)),
        }
    }

    /// Joins the queue of the running refresh: the promise its end resolves (resolved already when
    /// none runs), the queue entry and how many refreshes had finished. `flight`, when the caller
    /// has just begun one ([`Client::new_flight`]), takes its first step now that the caller is in
    /// its queue: the cross-tab lock is asked for at once, not after every answer already waiting
    /// to be judged (in a storm, a thousand of them), and a flight that lands at once (held back by
    /// the back-off) has a queue to tell.
    fn enqueue(self: &Rc<Self>, flight: Option<Flight>) -> (Promise, Option<u32>, u64) {
        let (joined, seen) = {
            let mut coord = self.session.coord.borrow_mut();
            (coord.enqueue().map(|(id, waker)| (waker.promise.clone(), id)), coord.completed())
        };
        if let Some(flight) = flight {
            self.clone().fly(flight, JsValue::UNDEFINED);
        }
        match joined {
            Some((woken, id)) => (woken, Some(id), seen),
            None => (Promise::resolve(&JsValue::UNDEFINED), None, seen),
        }
    }

    /// Begins a refresh flight replacing `sent_access` unless one runs, for [`Client::enqueue`] to
    /// start. The flight runs detached from any request, so that aborting the request that started
    /// it does not cancel it for the others.
    fn new_flight(&self, sent_access: Option<&str>) -> Option<Flight> {
        if self.session.coord.borrow().is_refreshing() {
            return None;
        }
        let waker = Waker::pending(); // calls into JS: made before the coordinator is borrowed
        let wake = waker.promise.clone();
        let epoch = self.session.coord.borrow_mut().begin(waker)?;
        self.session.began(&wake);
        let started = js::monotonic_ms();
        let stage = Stage::Gate { deadline: started + self.opts.refresh_timeout_ms };
        Some(Flight { epoch, sent_access: sent_access.map(String::from), started, stage })
    }

    /// Hands the flight on to `promise`'s callback: a step when it settles (with null if it
    /// rejected; none of the flight's promises does).
    fn fly_after(self: Rc<Self>, promise: &Promise, flight: Flight) {
        let _ = js::after(promise, &Closure::once_into_js(move |value: JsValue| self.fly(flight, value)));
    }

    /// Runs the flight's steps until one waits, or it lands.
    fn fly(self: Rc<Self>, mut flight: Flight, value: JsValue) {
        let landed = match self.fly_step(&mut flight, value) {
            Ok(Some(wait)) => return self.fly_after(&wait, flight),
            Ok(None) => Ok(()),
            Err(e) => Err(e),
        };
        // Held back by the back-off or being offline: nothing was attempted.
        let attempted = !matches!(flight.stage, Stage::Gate { .. });
        // A cookie refused where this page held no token and saw no session since the last one
        // ended (an anonymous visitor, a login form): there is no session to end, and nothing
        // in storage that this tab knows it owns.
        let landed = match landed {
            Err(e) if e.code == Code::SessionExpired && flight.sent_access.is_none() && !self.session.known() => Err(no_session()),
            landed => landed,
        };
        let (epoch, started) = (flight.epoch, flight.started);
        drop(flight); // releases the cross-tab lock before the queue
        let finished = self.session.coord.borrow_mut().finish(epoch, landed);
        let Some((waker, outcome)) = finished else {
            return; // tokens were set or cleared meanwhile: this answer is stale
        };
        match &outcome {
            Ok(()) => {
                let info = Object::new();
                js::set(&info, "durationMs", &(js::monotonic_ms() - started).into());
                js::call_hook(&self.hooks.on_refresh, &info);
            }
            // Held back: nothing happened that the app has not heard of already. No session: the
            // caller has its answer (or `refresh()` its `NO_SESSION`), and nothing failed.
            Err(e) if !attempted || e.code == Code::NoSession => {}
            Err(e) => {
                js::call_hook(&self.hooks.on_refresh_error, &e.clone().into_js());
                if e.ends_session() {
                    self.end_session(e);
                }
            }
        }
        self.session.wake(waker, outcome.is_ok());
    }

    /// One step of the flight, given what the last one waited for (`value`): a promise to wait
    /// for next, or how it landed (`Ok(None)`: new tokens are stored).
    ///
    /// In order: the back-off after failures (this tab's or another's) or being offline holds the
    /// flight if that ends within `refreshTimeoutMs`, and otherwise fails it at once with
    /// `REFRESH_FAILED`, `retryAfterMs` and `offline` saying why (coming back online ends the
    /// wait). Then, under the cross-tab lock: adopt tokens another tab already refreshed, or spend
    /// the refresh token (or cookie) and store the answer before the lock (and then the queue) is
    /// released.
    fn fly_step(&self, flight: &mut Flight, value: JsValue) -> Result<Option<Promise>, AuthError> {
        let sent_access = flight.sent_access.as_deref();
        loop {
            // Only durations are measured here: on the monotonic clock (the issue-29 simulation
            // found an hour-long wait after the wall clock was set back).
            let now = js::monotonic_ms();
            match &mut flight.stage {
                Stage::Gate { deadline } => {
                    // Tokens another tab (or setTokens) brought need no attempt: they are adopted.
                    if self.session.tokens()?.map(|s| s.access).as_deref() == sent_access {
                        let wait = self.session.backoff_wait();
                        let offline = js::offline();
                        if wait > 0.0 || offline {
                            let left = *deadline - now;
                            if left <= 0.0 || wait > left {
                                return Err(held_back(wait, offline));
                            }
                            return Ok(Some(js::pause(if offline { left } else { wait })));
                        }
                    }
                    if self.opts.lock {
                        flight.stage = Stage::Locking;
                        return Ok(Some(js::acquire_lock(&self.lock_name, self.lock_budget_ms())));
                    }
                    flight.stage = Stage::Settling { lock: Lock::from_js(&JsValue::NULL), since: now };
                }
                Stage::Locking => flight.stage = Stage::Settling { lock: Lock::from_js(&value), since: now },
                Stage::Settling { lock, since } => {
                    let stored = self.session.tokens()?;
                    if self.opts.cross_tab {
                        // The previous holder (or a login in another tab) may have written new
                        // tokens that this tab cannot see yet, or only half of them; wait for them
                        // rather than spend a refresh token twice or take half a pair for a logout.
                        let unsettled = match &stored {
                            Some(s) => (lock.contended && Some(s.access.as_str()) == sent_access) || !self.session.store.is_consistent(s),
                            None => self.session.store.access_written(),
                        };
                        let waited = now - *since;
                        if unsettled && waited < CROSS_TAB_SETTLE_MS {
                            return Ok(Some(js::storage_change(&self.opts.access_key, &self.opts.refresh_key, CROSS_TAB_SETTLE_MS - waited)));
                        }
                    }
                    match &stored {
                        // Removed meanwhile: a logout. Only a cookie session refreshes from nothing,
                        // and only when it had nothing to begin with.
                        None if sent_access.is_some() || !self.opts.cookie => return Err(logged_out_elsewhere()),
                        Some(s) if Some(s.access.as_str()) != sent_access => {
                            self.session.announce("tab");
                            return Ok(None); // another tab (or setTokens) already replaced the token
                        }
                        _ => {}
                    }
                    // Another tab may have failed while this one waited for the lock: one attempt
                    // per window.
                    let wait = self.session.backoff_wait();
                    if wait > 0.0 {
                        return Err(held_back(wait, false));
                    }
                    let answer = self.refresher.start(&self.opts, &self.hooks.fetch, &self.session, stored.as_ref())?;
                    let lock = core::mem::replace(lock, Lock::from_js(&JsValue::NULL));
                    flight.stage = Stage::Calling { _lock: lock, spent: stored };
                    return Ok(Some(answer));
                }
                Stage::Calling { spent, .. } => return self.store_fresh(flight.epoch, spent.take(), &value).map(|()| None),
            }
        }
    }

    /// Stores what the refresher's answer `got` brought for `spent`, or says why not.
    fn store_fresh(&self, epoch: u64, spent: Option<Pair>, got: &JsValue) -> Outcome {
        let answer = self.refresher.finish(&self.opts, &self.session, got);
        if answer.is_ok() {
            self.count(|s| s.refreshes += 1);
        }
        if self.session.coord.borrow().epoch() != epoch {
            // Logged out or new tokens set meanwhile: this answer is not brought back. A failure
            // still paces the next call, which the new session would otherwise send to a failing
            // endpoint at once (found by the issue-29 simulation).
            if let Err(e) = &answer {
                if !e.ends_session() {
                    self.failed_call(e.retry_after_ms);
                }
            }
            return Ok(());
        }
        // Storage is shared with other tabs (and the app) that this tab may not hear from. A pair
        // stored since `spent` was read is newer than whatever this answer says, a refusal or a
        // failure included (a login elsewhere revokes the old refresh token): it is adopted. This
        // tab writes or removes only the pair it spent, so a logout or a login elsewhere stands.
        match self.session.tokens()? {
            now if now == spent => {}
            Some(_) => {
                self.session.announce("tab");
                return Ok(());
            }
            None => return Err(logged_out_elsewhere()),
        }
        let fresh = match answer {
            Ok(fresh) => fresh,
            Err(e) if e.ends_session() => {
                self.session.clear_backoff();
                self.session.store.clear(); // still the refused pair: checked just above
                return Err(e);
            }
            Err(e) => {
                let wait = self.failed_call(e.retry_after_ms);
                return Err(AuthError { retry_after_ms: Some(wait), ..e });
            }
        };
        let pair = Pair { refresh: fresh.refresh.or_else(|| spent.and_then(|s| s.refresh)), access: fresh.access };
        self.session.store.write(&pair);
        if self.opts.lock {
            // Before the lock is released: a tab that takes it next while this write has not
            // reached it yet must still wait for the write instead of refreshing again.
            js::mark_fresh(&self.lock_name, CROSS_TAB_SETTLE_MS);
        }
        self.session.clear_backoff();
        self.session.set_lifetime(&pair.access, fresh.expires_in);
        self.session.announce("refresh");
        Ok(())
    }

    /// Records a call that failed for now; returns the wait before the next. Recorded before the
    /// lock is released, and the lock's `:fresh` mark held as after a success: a tab that takes
    /// the lock before the record reaches its storage waits for it instead of calling at once (a
    /// gap the issue-29 simulation found: the mark followed successes only).
    fn failed_call(&self, retry_after_ms: Option<f64>) -> f64 {
        let wait = self.session.note_failure(retry_after_ms);
        if self.opts.lock {
            js::mark_fresh(&self.lock_name, CROSS_TAB_SETTLE_MS);
        }
        wait
    }

    /// How long to wait for each tab that holds or waits for the refresh lock ahead of this one:
    /// a holder may settle and then refresh. Past that the holder is taken for frozen or closed.
    fn lock_budget_ms(&self) -> f64 {
        CROSS_TAB_SETTLE_MS + self.opts.refresh_timeout_ms + 1_000.0
    }

    /// Ends the session here: the first caller for it fires `onLogout` and redirects. Removes
    /// nothing from storage: what is there now is not the pair that ended (a refused pair was
    /// removed when its refusal came, see `store_fresh`), and may be another tab's new login.
    pub fn end_session(&self, reason: &AuthError) {
        self.session.announce("clear");
        if self.session.end() {
            self.logout_effects(reason.code.as_str());
        }
    }

    /// `onLogout({reason})`, then the redirect to `loginUrl` unless the page is already there.
    /// Without a window (a worker) there is no page to compare or return to, but a `navigate`
    /// hook still hears where the user should go.
    pub fn logout_effects(&self, reason: &str) {
        let info = Object::new();
        js::set(&info, "reason", &reason.into());
        js::call_hook(&self.hooks.on_logout, &info);
        let Some(login) = &self.opts.login_url else {
            return;
        };
        let location = web_sys::window().map(|w| w.location());
        let target = match &location {
            None => login.clone(),
            Some(location) => {
                let (Ok(here), Ok(href)) = (location.pathname(), location.href()) else {
                    return;
                };
                if web_sys::Url::new_with_base(login, &href).is_ok_and(|u| u.pathname() == here) {
                    return;
                }
                match &self.opts.login_return_param {
                    Some(param) => {
                        let (search, hash) = (location.search().unwrap_or_default(), location.hash().unwrap_or_default());
                        let current = [here.as_str(), &search, &hash].concat();
                        with_return_param(login, param, safe_return_path(&current, "/"))
                    }
                    None => login.clone(),
                }
            }
        };
        if self.hooks.navigate.is_function() {
            js::call_hook(&self.hooks.navigate, &target.into());
        } else if let Some(location) = location {
            let _ = location.assign(&target);
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.leave();
    }
}

fn held_back(wait_ms: f64, offline: bool) -> AuthError {
    let why = if offline { "the browser is offline" } else { "the refresh endpoint failed just before; the next attempt waits (see retryAfterMs)" };
    let mut e = AuthError::new(Code::RefreshFailed, &["the refresh was not attempted: ", why]);
    e.retry_after_ms = (wait_ms > 0.0).then_some(wait_ms);
    e.offline = offline;
    e
}

/// A step for a request the driver no longer holds: cannot happen while `helpers.js` calls each
/// kept request back once; an error rather than a trap if it ever does.
fn lost() -> Error {
    Error::Js(js_sys::Error::new("seamless-fetch: a step for a request that is no longer kept").into())
}

fn no_session() -> AuthError {
    AuthError::new(Code::NoSession, &["no session: the refresh endpoint refused the cookie"])
}

fn logged_out_elsewhere() -> AuthError {
    AuthError::new(Code::NoRefreshToken, &["the tokens were removed before the refresh could spend them (logged out, possibly in another tab)"])
}

/// A URL without its query and fragment, to recognise the refresh endpoint.
fn strip_query(url: &str) -> &str {
    url.get(..url.bytes().position(|b| b == b'?' || b == b'#').unwrap_or(url.len())).unwrap_or(url)
}

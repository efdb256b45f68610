//! What one `AuthFetch` does with a request: attach the token where allowed, wait while a refresh
//! runs, refresh once when the token has expired, and replay the request with the new token.
//!
//! Each request carries a [`Sent`] record (the token it went out with and how many refreshes had
//! finished), which is what lets a late 401 be answered without a second refresh. Futures hold an
//! `Rc<Client>`, never a borrow of the exported object, and no `RefCell` borrow lives across an
//! `.await` or a call into JS.
//!
//! The story in order: [`Client::open`] decides whether the request is the library's to manage;
//! [`Client::start`] sends it at once when the token is ready (the JS driver in `helpers.js` sends
//! it, and [`Client::settled`] passes a plain answer straight back: the happy path needs no Rust
//! future); anything else, and an answer that may say "expired", continues in [`Client::run`]:
//! wait or refresh, send, `recover`, replay once.

use alloc::rc::Rc;
use alloc::string::String;
use core::cell::{Cell, RefCell};

use js_sys::{Function, Object};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{spawn_local, JsFuture};
use web_sys::{AbortSignal, Response};

use crate::coordinator::Outcome;
use crate::errors::{AuthError, Code, Error};
use crate::expiry::{clock_offset, should_refresh_ahead};
use crate::js;
use crate::options::Options;
use crate::outgoing::Outgoing;
use crate::policy::{origin_allowed, origin_of, safe_return_path, with_return_param};
use crate::refresher::Refresher;
use crate::session::{wake, Session};
use crate::storage::Pair;
use crate::tabs::{self, Lock};
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
    /// Name of the cross-tab lock.
    pub lock_name: String,
    /// Counters.
    pub stats: Cell<Stats>,
    /// `opts.auth_header` as a JS string.
    pub auth_header: JsValue,
    /// The last token sent and its header value, as JS strings (see [`Client::header`]).
    pub header: RefCell<Option<(String, JsValue, JsValue)>>,
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
    signal: JsValue,
}

/// One attempt: `fetch`'s arguments, and what it went out with (`token` as a JS string, or null).
pub struct Attempt {
    /// `fetch(input, init)`'s arguments.
    pub args: (JsValue, JsValue),
    /// What was sent.
    pub sent: Sent,
    /// `sent.token` as a JS string (or null), for the caller to hand back with the answer.
    pub token: JsValue,
}

/// How a request starts.
pub enum Start {
    /// Not the library's to manage (another origin, the refresh endpoint, its own `Authorization`,
    /// `no-token`, the app's refresh function): sent as it is, the answer is the caller's.
    AsIs(Outgoing),
    /// The token is ready: send this attempt now and give its answer to [`Client::settled`].
    Now(Attempt),
    /// A refresh to wait for or to run first, a `Request` input or `no-refresh`: [`Client::run`].
    Later(Call),
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

    /// Reads the request's control header and decides whether the library manages it (see
    /// [`Start::AsIs`]). The header `x-seamless-fetch` sets how one request is handled, for callers
    /// that cannot pass anything else through (ky, ofetch, openapi-fetch and axios rebuild `init`,
    /// but keep headers): `no-token` sends it untouched, `no-refresh` sends it with the token but
    /// returns an "expired" answer as it is; it is never sent. `own_refresh`: the request comes
    /// from the app's `refresh` function, so it is the refresh and goes straight out.
    pub fn open(&self, out: Outgoing, own_refresh: bool) -> Result<Start, Error> {
        let headers = out.headers();
        let control = js::take_control(&headers);
        let no_refresh = match control.as_string().as_deref() {
            None if control.is_null() => false,
            Some("no-refresh") => true,
            Some("no-token") => return Ok(Start::AsIs(out)),
            _ => return Err(AuthError::new(Code::InvalidOptions, &["the x-seamless-fetch request header takes \"no-token\" or \"no-refresh\""]).into()),
        };
        let managed = {
            let url = out.url();
            let origin = origin_of(&url).unwrap_or("null");
            !own_refresh
                && origin_allowed(origin, &self.page_origin, &self.opts.allowed_origins)
                && self.refresher.url().map_or(true, |r| strip_query(&url) != strip_query(r))
                && !headers.unchecked_ref::<js::JsHeaders>().has(&self.auth_header).unwrap_or(true)
        };
        if !managed {
            return Ok(Start::AsIs(out));
        }
        let abort = out.signal();
        let signal = abort.clone().map_or(JsValue::UNDEFINED, JsValue::from);
        Ok(Start::Later(Call { out, no_refresh, abort, signal }))
    }

    /// [`Client::open`], then, when nothing needs waiting for, the first attempt: the happy path,
    /// which needs no future. Only where the status alone says whether the answer is "expired":
    /// with body codes or `isExpired` to ask, every answer would go on to [`Client::run`] anyway,
    /// and starting there reads the request once instead of twice.
    pub fn start(&self, out: Outgoing, own_refresh: bool) -> Result<Start, Error> {
        let call = match self.open(out, own_refresh)? {
            Start::Later(call) if self.by_status() && !call.no_refresh && matches!(call.out, Outgoing::Parts { .. }) => call,
            other => return Ok(other),
        };
        match self.plan(true)? {
            Plan::Send(sent) => Ok(Start::Now(self.attempt(&call, sent, true)?)),
            _ => Ok(Start::Later(call)),
        }
    }

    /// Whether the first answer of a [`Start::Now`] request is the caller's as it is: its status
    /// does not mean "expired" (a `Start::Now` request has nothing else to ask). Otherwise
    /// [`Client::run`] judges it.
    pub fn settled(&self, response: &Response) -> bool {
        self.note_clock(response);
        !self.opts.is_expired_status(response.status())
    }

    /// Whether the status alone says if an answer means "expired" (no body codes, no `isExpired`).
    /// Out of line: inlined into `start` it cost 126 B of gzipped wasm.
    #[inline(never)]
    fn by_status(&self) -> bool {
        self.opts.expired_body_codes.is_empty() && self.hooks.is_expired.is_none()
    }

    /// The rest of a managed request's story: wait for or run a refresh, send, and when the answer
    /// says "expired", recover and replay once. `answered`: the first attempt's answer, when it
    /// was sent by [`Start::Now`].
    pub async fn run(self: Rc<Self>, call: Call, mut answered: Option<(Sent, Response)>) -> Result<Response, Error> {
        let mut attempts = u8::from(answered.is_some());
        loop {
            let (sent, response) = match answered.take() {
                Some(answer) => answer,
                None => {
                    let sent = self.prepare(&call.signal, !call.no_refresh).await?;
                    let attempt = self.attempt(&call, sent, attempts == 0)?;
                    attempts += 1;
                    let response = transport::send(&self.hooks.fetch, attempt.args).await?;
                    self.note_clock(&response);
                    (attempt.sent, response)
                }
            };
            if attempts > 1 || call.no_refresh || !transport::is_expired(&self.opts, &response, self.hooks.is_expired.as_ref()).await || !self.recover(sent, &call.signal).await? {
                return Ok(response);
            }
            self.count(|s| s.retried += 1);
        }
    }

    /// `fetch`'s arguments for one attempt with `sent`'s token. Refused once the caller aborted,
    /// as fetch itself does, and so that a transport which ignores signals cannot send it.
    fn attempt(&self, call: &Call, sent: Sent, first: bool) -> Result<Attempt, Error> {
        if let Some(abort) = call.abort.as_ref().filter(|a| a.aborted()) {
            return Err(Error::Js(abort.reason()));
        }
        let (token, value) = match &sent.token {
            Some(t) => self.header(t),
            None => (JsValue::NULL, JsValue::NULL),
        };
        let value = (!value.is_null()).then_some(&value);
        let args = call.out.attempt(&self.auth_header, value, first)?;
        Ok(Attempt { args, sent, token })
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

    /// Waits out a running refresh, refreshes ahead of expiry if due (and `ahead`), and picks the
    /// token.
    async fn prepare(self: &Rc<Self>, signal: &JsValue, ahead: bool) -> Result<Sent, Error> {
        let mut waited = false;
        loop {
            let (outcome, stored) = match self.plan(ahead && !waited)? {
                Plan::Send(sent) => return Ok(sent),
                Plan::Wait(stored) => (self.wait(signal).await?, stored),
                Plan::Ahead(access) => (self.refresh_from(Some(&access), signal).await?, Some(access)),
            };
            waited = true;
            // One rule for the request that started a refresh and those that queued behind it:
            // after a transient failure, a token that has not expired yet is still good, so send
            // it. A refused refresh token, or an expired access token, is not.
            if let Err(e) = outcome {
                if e.ends_session() || !stored.is_some_and(|a| self.still_valid(&a)) {
                    return Err(e.into());
                }
            }
        }
    }

    /// After an "expired" answer: returns whether to replay the request with the current token.
    async fn recover(self: &Rc<Self>, sent: Sent, signal: &JsValue) -> Result<bool, Error> {
        if self.session.coord.borrow().is_refreshing() {
            self.wait(signal).await?.map_err(Error::Auth)?;
            return Ok(true);
        }
        let since = self.session.coord.borrow().outcome_since(sent.seen);
        if let Some(outcome) = since {
            outcome.map_err(Error::Auth)?;
            return Ok(true);
        }
        match (self.session.tokens()?, sent.token) {
            // A cookie session can be live with no token on this page (memory storage after a
            // reload): the cookie is what the refresh spends.
            (None, None) if self.opts.cookie => {
                self.session.expect();
                self.refresh_from(None, signal).await?.map_err(Error::Auth)?;
                Ok(true)
            }
            // Never logged in: the 401 belongs to the app (a login form, a public page).
            (None, None) if !self.session.known() => Ok(false),
            (None, _) => {
                let e = AuthError::new(Code::NoRefreshToken, &["the access token was refused and there is no refresh token (logged out elsewhere, or storage was cleared)"]);
                self.end_session(&e);
                Err(e.into())
            }
            // Tokens changed since this request left (another tab, setTokens): just replay.
            (Some(now), Some(old)) if now.access != old => Ok(true),
            (Some(_), None) => Ok(true),
            (Some(_), Some(old)) => {
                *self.session.refused.borrow_mut() = Some(old.clone());
                self.refresh_from(Some(&old), signal).await?.map_err(Error::Auth)?;
                Ok(true)
            }
        }
    }

    /// Whether the token expires within the refresh-ahead window. Never before the server's clock
    /// is known: a local clock hours off must not trigger a refresh on every request.
    /// Nor while the refresh endpoint is backing off: the token is still good meanwhile.
    fn due_for_refresh(&self, access: &str) -> bool {
        self.opts.refresh_ahead_ms > 0.0
            && self.session.clock_offset.get().is_some()
            && self
                .session
                .lifetime(access)
                .is_some_and(|life| should_refresh_ahead(self.session.server_now(), &life, self.opts.refresh_ahead_ms))
            && self.session.backoff_wait() <= 0.0
    }

    /// Whether `access` is known, on the server's clock, not to have expired yet, and the server
    /// has not refused it already.
    fn still_valid(&self, access: &str) -> bool {
        self.session.refused.borrow().as_deref() != Some(access)
            && self.session.clock_offset.get().is_some()
            && self.session.lifetime(access).is_some_and(|life| self.session.server_now() < life.expires_ms)
    }

    /// The origins that judge the token tell the server's clock (a cross-origin `Date` is readable
    /// only where the server exposes it, and in Node, which has no page). Parsed only when its
    /// text changed: it changes once a second at most.
    fn note_clock(&self, response: &Response) {
        let date = js::server_date(response);
        if date.is_null() || *self.session.date.borrow() == date {
            return;
        }
        if let Some(offset) = date.as_string().and_then(|d| clock_offset(&d, js_sys::Date::now())) {
            self.session.clock_offset.set(Some(offset));
        }
        *self.session.date.borrow_mut() = date;
    }

    /// Starts a refresh replacing `sent_access` (`None`: a cookie session without a token here)
    /// unless one runs, then waits for it.
    pub async fn refresh_from(self: &Rc<Self>, sent_access: Option<&str>, signal: &JsValue) -> Result<Outcome, Error> {
        let epoch = self.session.coord.borrow_mut().begin();
        if let Some(epoch) = epoch {
            spawn_local(self.clone().fly(epoch, sent_access.map(String::from)));
        }
        self.wait(signal).await
    }

    /// `getAccessToken`: the token a socket or another SDK should use now, refreshed first (joining
    /// a refresh in flight) when it has expired or expires within `min_validity_ms` on the
    /// server's clock. `None` when there is no session.
    pub async fn access_token(self: &Rc<Self>, min_validity_ms: f64) -> Result<Option<String>, Error> {
        let none = JsValue::UNDEFINED;
        let refreshing = self.session.coord.borrow().is_refreshing();
        let outcome = if refreshing {
            self.wait(&none).await?
        } else {
            let stored = self.session.tokens()?;
            let due = match &stored {
                // A cookie session may be live without a token here; a refusal then means "none".
                None => self.opts.cookie,
                Some(s) => {
                    self.session.refused.borrow().as_deref() == Some(s.access.as_str())
                        || self.session.lifetime(&s.access).is_some_and(|life| self.session.server_now() + min_validity_ms >= life.expires_ms)
                }
            };
            if !due {
                return Ok(stored.map(|s| s.access));
            }
            self.refresh_from(stored.as_ref().map(|s| s.access.as_str()), &none).await?
        };
        let stored = self.session.tokens()?;
        match outcome {
            Err(e) if e.ends_session() => Ok(None),
            // As for requests: after a transient failure a token that has not expired is still good.
            Err(e) if !stored.as_ref().is_some_and(|s| self.still_valid(&s.access)) => Err(e.into()),
            _ => Ok(stored.map(|s| s.access)),
        }
    }

    /// Waits in the queue for the running refresh and returns its outcome. `Err` only when the
    /// caller's signal aborts, which also takes the request out of the queue.
    async fn wait(&self, signal: &JsValue) -> Result<Outcome, Error> {
        let deferred = js::deferred();
        let resolve = deferred.resolve(); // a call into JS: made before the coordinator is borrowed
        let (id, seen) = {
            let mut coord = self.session.coord.borrow_mut();
            (coord.enqueue(resolve), coord.completed())
        };
        let Some(id) = id else {
            return Ok(Ok(()));
        };
        let woken = JsFuture::from(js::abortable(&deferred.promise(), signal)).await;
        if let Err(reason) = woken {
            self.session.coord.borrow_mut().remove(id);
            return Err(Error::Js(reason));
        }
        let outcome = self.session.coord.borrow().outcome_since(seen);
        Ok(outcome.unwrap_or(Ok(())))
    }

    /// One refresh flight, run detached from any request so that aborting the request that
    /// started it does not cancel it for the others.
    async fn fly(self: Rc<Self>, epoch: u64, sent_access: Option<String>) {
        let started = js_sys::Date::now();
        let gate = self.next_attempt(sent_access.as_deref()).await;
        let attempted = gate.is_ok();
        let outcome = match gate {
            Ok(()) => self.refresh_once(epoch, sent_access.as_deref()).await,
            Err(e) => Err(e),
        };
        let finished = self.session.coord.borrow_mut().finish(epoch, outcome);
        let Some((waiters, outcome)) = finished else {
            return; // tokens were set or cleared meanwhile: this answer is stale
        };
        match &outcome {
            Ok(()) => {
                let info = Object::new();
                js::set(&info, "durationMs", &(js_sys::Date::now() - started).into());
                js::call_hook(&self.hooks.on_refresh, &info);
            }
            // Held back by the back-off: nothing happened that the app has not heard of already.
            Err(_) if !attempted => {}
            Err(e) => {
                js::call_hook(&self.hooks.on_refresh_error, &e.clone().into_js());
                if e.ends_session() {
                    self.end_session(e);
                }
            }
        }
        wake(waiters);
    }

    /// Holds the flight while the back-off after failures (this tab's or another's) or being
    /// offline forbids an attempt, if that ends within `refreshTimeoutMs`; otherwise fails it at
    /// once with `REFRESH_FAILED`, `retryAfterMs` and `offline` saying why. Coming back online
    /// ends the wait at once.
    async fn next_attempt(&self, sent_access: Option<&str>) -> Outcome {
        let deadline = js_sys::Date::now() + self.opts.refresh_timeout_ms;
        loop {
            // Tokens another tab (or setTokens) brought need no attempt: refresh_once adopts them.
            if self.session.tokens()?.map(|s| s.access).as_deref() != sent_access {
                return Ok(());
            }
            let wait = self.session.backoff_wait();
            let offline = js::offline();
            if wait <= 0.0 && !offline {
                return Ok(());
            }
            let left = deadline - js_sys::Date::now();
            if left <= 0.0 || wait > left {
                return Err(held_back(wait, offline));
            }
            let _ = JsFuture::from(js::pause(if offline { left } else { wait })).await;
        }
    }

    /// Under the cross-tab lock: adopt tokens another tab already refreshed, or spend the refresh
    /// token (or cookie) and store the answer before the lock (and then the queue) is released.
    async fn refresh_once(&self, epoch: u64, sent_access: Option<&str>) -> Outcome {
        let lock = if self.opts.lock { Some(Lock::acquire(&self.lock_name, self.lock_budget_ms()).await) } else { None };
        let contended = lock.as_ref().is_some_and(|l| l.contended);
        let mut stored = self.session.tokens()?;
        if self.opts.cross_tab {
            // The previous holder may have written new tokens that this tab cannot see yet, or
            // only half of them; wait for them rather than spend a refresh token twice.
            let started = js_sys::Date::now();
            while let Some(s) = &stored {
                let stale = contended && Some(s.access.as_str()) == sent_access;
                let settled = !stale && self.session.store.is_consistent(s);
                if settled || js_sys::Date::now() - started >= CROSS_TAB_SETTLE_MS {
                    break;
                }
                tabs::storage_change(self.session.store.access_key(), CROSS_TAB_SETTLE_MS - (js_sys::Date::now() - started)).await;
                stored = self.session.tokens()?;
            }
        }
        match &stored {
            // Removed meanwhile: a logout. Only a cookie session refreshes from nothing, and only
            // when it had nothing to begin with.
            None if sent_access.is_some() || !self.opts.cookie => return Err(logged_out_elsewhere()),
            Some(s) if Some(s.access.as_str()) != sent_access => {
                self.session.announce("tab");
                return Ok(()); // another tab (or setTokens) already replaced the token
            }
            _ => {}
        }
        // Another tab may have failed while this one waited for the lock: one attempt per window.
        let wait = self.session.backoff_wait();
        if wait > 0.0 {
            return Err(held_back(wait, false));
        }
        let called = self.refresher.call(&self.opts, &self.hooks.fetch, &self.session, stored.as_ref()).await;
        let fresh = match called {
            Ok(fresh) => {
                self.count(|s| s.refreshes += 1);
                fresh
            }
            Err(e) if e.ends_session() => {
                self.session.clear_backoff();
                return Err(e);
            }
            Err(e) => {
                // Recorded before the lock is released, so the next tab to take it sees it.
                let wait = self.session.note_failure(e.retry_after_ms);
                return Err(AuthError { retry_after_ms: Some(wait), ..e });
            }
        };
        if self.session.coord.borrow().epoch() != epoch {
            return Ok(()); // logged out or new tokens set meanwhile: do not bring this answer back
        }
        // Storage is shared with other tabs (and the app) that this tab may not hear from: write
        // only over the pair that was spent, so that a logout or a new login elsewhere stands.
        match self.session.tokens()? {
            now if now == stored => {}
            Some(_) => return Ok(()),
            None => return Err(logged_out_elsewhere()),
        }
        let pair = Pair { refresh: fresh.refresh.or_else(|| stored.and_then(|s| s.refresh)), access: fresh.access };
        self.session.store.write(&pair);
        self.session.clear_backoff();
        self.session.set_lifetime(&pair.access, fresh.expires_in);
        self.session.announce("refresh");
        drop(lock);
        Ok(())
    }

    /// How long to wait for each tab that holds or waits for the refresh lock ahead of this one:
    /// a holder may settle and then refresh. Past that the holder is taken for frozen or closed.
    fn lock_budget_ms(&self) -> f64 {
        CROSS_TAB_SETTLE_MS + self.opts.refresh_timeout_ms + 1_000.0
    }

    /// Clears the tokens; the first caller for this session also fires `onLogout` and redirects.
    pub fn end_session(&self, reason: &AuthError) {
        self.session.store.clear();
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

fn held_back(wait_ms: f64, offline: bool) -> AuthError {
    let why = if offline { "the browser is offline" } else { "the refresh endpoint failed just before; the next attempt waits (see retryAfterMs)" };
    let mut e = AuthError::new(Code::RefreshFailed, &["the refresh was not attempted: ", why]);
    e.retry_after_ms = (wait_ms > 0.0).then_some(wait_ms);
    e.offline = offline;
    e
}

fn logged_out_elsewhere() -> AuthError {
    AuthError::new(Code::NoRefreshToken, &["the tokens were removed before the refresh could spend them (logged out, possibly in another tab)"])
}

/// A URL without its query and fragment, to recognise the refresh endpoint.
fn strip_query(url: &str) -> &str {
    url.get(..url.bytes().position(|b| b == b'?' || b == b'#').unwrap_or(url.len())).unwrap_or(url)
}

//! The state shared by every `AuthFetch` of one page that uses the same storage and keys: the
//! token store, the refresh coordinator, the server-clock estimate and what is known of the
//! current token's lifetime. Sharing it is what makes two instances share one refresh.

use alloc::rc::{Rc, Weak};
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::{Cell, RefCell};

use js_sys::{Function, Object, Promise};
use wasm_bindgen::JsValue;

use crate::backoff::Backoff;
use crate::coordinator::Coordinator;
use crate::errors::{AuthError, Code};
use crate::expiry::{claim_ms, jwt_payload, Lifetime};
use crate::options::StorageKind;
use crate::storage::{Pair, TokenStore};

/// What wakes the requests that wait for one refresh: a promise they all wait on and its
/// `resolve`; each then reads the outcome from the coordinator.
pub struct Waker {
    /// Resolved when the refresh ends.
    pub promise: Promise,
    resolve: Function,
}

impl Waker {
    /// A pending promise and its `resolve`.
    pub fn pending() -> Waker {
        let d = crate::js::deferred();
        Waker { promise: d.promise(), resolve: d.resolve() }
    }
}

/// Shared per-page session state.
pub struct Session {
    /// Where the tokens live.
    pub store: TokenStore,
    /// Refresh flag, queue and history.
    pub coord: RefCell<Coordinator<Waker>>,
    /// Server clock minus local clock, in ms; `None` until a managed response's `Date` header is seen.
    pub clock_offset: Cell<Option<f64>>,
    /// The access token last judged, what is known of its life, and the clock offset it was
    /// judged with (see [`Session::lifetime`]).
    lifetime: RefCell<Option<(String, Option<Lifetime>, f64)>>,
    known: Cell<bool>,
    /// The access token the server last answered "expired" to: whatever its `exp` says, it is
    /// not worth sending again.
    pub refused: RefCell<Option<String>>,
    /// Instances on this session: an instance is on it until `dispose()`, or until its object and
    /// its bound `fetch` are both collected (see `Client::leave`). A session with none is not
    /// handed to new instances, even while a request of a disposed one still runs on it.
    pub users: Cell<u32>,
    /// The `onTokens` listeners of every instance on this session: a change is announced once,
    /// to all of them, whichever instance (or tab) made it.
    pub listeners: RefCell<Vec<Function>>,
    /// The access token last announced, so that one change is announced once however many ways
    /// this page hears of it (a refresh here, then the storage event of the same write).
    announced: RefCell<Option<String>>,
    /// While the app's `refresh` function runs: the `signal` it was given, and whether the call is
    /// still in its synchronous part. Requests it makes through `api.fetch` go straight out: they
    /// are the refresh, and must not queue behind it.
    pub own_refresh: RefCell<Option<JsValue>>,
    /// See `own_refresh`.
    pub calling_refresh: Cell<bool>,
    /// Transient refresh failures in a row, and when the next attempt may go out.
    backoff: Cell<Backoff>,
    /// What the JS driver checks before it sends a request itself, as `plan` would (see
    /// `Step::Send`'s `until`): `g`, a count that [`Session::changed`] raises whenever what `plan`
    /// answers may change, and `s`, `a`, `r`: the Web Storage the tokens are read from (null:
    /// memory) and their keys, whose values the driver compares with those it saw the token with.
    /// A request that finds all as it was goes out without a call into wasm. And `w`, the running
    /// refresh's wake promise (absent or null when none runs): the driver parks an "expired"
    /// answer to a happy-path request on it, as `recover` would queue the request, and replays it
    /// itself when the refresh brought tokens (`o`, set when it ends); `p` counts them, for
    /// `stats().queued`.
    pub mirror: Object,
}

/// Live sessions by storage kind and keys (see [`Session::shared`]), with the refresh endpoint
/// of each, so instances with the same keys share one.
struct Registry(RefCell<Vec<(String, String, Weak<Session>)>>);

// SAFETY: the crate targets wasm32-unknown-unknown without the `atomics` feature, where everything
// runs on the page's one thread (native builds exist only for `cargo test` of the plain-Rust
// modules, which never reach the registry).
unsafe impl Sync for Registry {}

#[cfg(all(target_arch = "wasm32", target_feature = "atomics"))]
compile_error!("seamless-fetch is single-threaded; build without the atomics target feature");

static SESSIONS: Registry = Registry(RefCell::new(Vec::new()));

impl Session {
    /// The session for these keys and refresh endpoint (`endpoint`: the refresh URL, empty for a
    /// refresh function), shared with any live instance that uses the same ones: one stored pair,
    /// one coordinator, or two refreshes would spend one refresh token. Tokens in memory are this
    /// session's alone, so another endpoint makes another session; tokens in Web Storage are
    /// under their keys whatever the endpoint, so another endpoint on the same keys is refused
    /// (`None`): they cannot be refreshed in two places. (Across tabs the lock name, which holds
    /// the endpoint, keeps them apart.)
    pub fn shared(kind: StorageKind, access_key: &str, refresh_key: &str, cookie: bool, endpoint: &str) -> Option<Rc<Session>> {
        let (letter, own) = match kind {
            StorageKind::Local => ("l", ""),
            StorageKind::Session => ("s", ""),
            StorageKind::Memory => ("m", endpoint),
        };
        let id = [letter, if cookie { "c" } else { "" }, "\0", access_key, "\0", refresh_key, "\0", own].concat();
        let existing = {
            let mut all = SESSIONS.0.borrow_mut();
            // A session whose instances were all disposed is kept while its refresh runs: a new
            // instance joins that refresh rather than spend the same refresh token again.
            all.retain(|(_, _, w)| w.upgrade().is_some_and(|s| s.users.get() > 0 || s.coord.try_borrow().map_or(true, |c| c.is_refreshing())));
            all.iter().find(|(k, _, _)| *k == id).and_then(|(_, e, w)| Some((e == endpoint, w.upgrade()?)))
        };
        if let Some((same, s)) = existing {
            return same.then_some(s);
        }
        // Opening the store calls into JS: no registry borrow is held meanwhile.
        let store = TokenStore::new(kind, access_key, refresh_key, cookie);
        let announced = store.read().ok().flatten().map(|p| p.access);
        let mirror = Object::new();
        let (web, access, refresh) = store.source();
        for (k, v) in [("g", &JsValue::from(0)), ("s", &web), ("a", &access), ("r", &refresh)] {
            crate::js::set(&mirror, k, v);
        }
        let s = Rc::new(Session {
            store,
            coord: RefCell::new(Coordinator::default()),
            clock_offset: Cell::new(None),
            lifetime: RefCell::new(None),
            known: Cell::new(false),
            refused: RefCell::new(None),
            users: Cell::new(0),
            listeners: RefCell::new(Vec::new()),
            announced: RefCell::new(announced),
            own_refresh: RefCell::new(None),
            calling_refresh: Cell::new(false),
            backoff: Cell::new(Backoff::default()),
            mirror,
        });
        SESSIONS.0.borrow_mut().push((id, endpoint.into(), Rc::downgrade(&s)));
        Some(s)
    }

    /// The stored tokens; seeing a pair marks the session as known, so that its later
    /// disappearance reads as "session ended" rather than "never logged in".
    pub fn tokens(&self) -> Result<Option<Pair>, AuthError> {
        let stored = self.store.read()?;
        if stored.is_some() {
            self.known.set(true);
        }
        Ok(stored)
    }

    /// Whether this page has seen a session that has not ended yet.
    pub fn known(&self) -> bool {
        self.known.get()
    }

    /// Marks the session ended; true only for the first caller, who fires `onLogout` and redirects.
    pub fn end(&self) -> bool {
        self.known.replace(false)
    }

    /// `clearTokens()` here: removes the tokens, then [`Session::forget`]s them.
    pub fn clear(&self) -> bool {
        self.store.clear();
        self.forget()
    }

    /// The tokens are gone (`clearTokens()` here, or another tab removed them): makes a running
    /// refresh stale (its answer must not log the user back in) and fails its waiters with
    /// "cleared". Removes nothing: after another tab's logout the keys are that tab's, and may
    /// already hold the next login. Returns [`Session::end`]'s answer.
    pub fn forget(&self) -> bool {
        let cleared = AuthError::new(Code::NoRefreshToken, &["the tokens were cleared while the request waited"]);
        let released = self.coord.borrow_mut().reset(Err(cleared));
        self.changed();
        let first = self.end();
        self.wake(released, false);
        self.announce("clear");
        first
    }

    /// Tells the JS driver that what `plan` answers may have changed: a refresh begins, tokens are
    /// set or cleared, the server's clock moved (see `mirror`). Not needed when a refresh ends (it
    /// began, and while one runs Rust hands the driver nothing to send by itself), nor when a
    /// session ends for want of tokens (storage that holds none no longer matches the driver's).
    pub fn changed(&self) {
        let g = crate::js::get(&self.mirror, "g").as_f64().unwrap_or(0.0);
        crate::js::set(&self.mirror, "g", &(g + 1.0).into());
    }

    /// A refresh began; `wake` wakes its waiters (see `mirror`).
    pub fn began(&self, wake: &Promise) {
        crate::js::set(&self.mirror, "w", wake);
        self.changed();
    }

    /// Wakes the waiters of a refresh that ended, if any waited, telling the driver whether new
    /// tokens are there (its parked answers replay only then; see `mirror`). Called with no
    /// `RefCell` borrow held, since resolving calls into JS.
    pub fn wake(&self, waker: Option<Waker>, renewed: bool) {
        if let Some(w) = waker {
            crate::js::set(&self.mirror, "w", &JsValue::NULL);
            crate::js::set(&self.mirror, "o", &renewed.into());
            let _ = w.resolve.call0(&JsValue::UNDEFINED);
        }
    }

    /// The "expired" answers the driver has parked for the running refresh (see `mirror`): they
    /// wait for it as the requests in its queue do.
    pub fn parked(&self) -> usize {
        crate::js::get(&self.mirror, "p").as_f64().unwrap_or(0.0) as usize
    }

    /// Calls every `onTokens` listener with `{reason, expiresAt}` if the stored access token is not
    /// the one announced last. Listeners get no token: one that needs it calls `getAccessToken()`.
    pub fn announce(&self, reason: &str) {
        let access = self.store.read().ok().flatten().map(|p| p.access);
        if *self.announced.borrow() == access {
            return;
        }
        let expires_at = access.as_deref().and_then(|a| self.lifetime(a)).map_or(JsValue::NULL, |l| l.expires_ms.into());
        *self.announced.borrow_mut() = access;
        let listeners = self.listeners.borrow().clone();
        for listener in listeners {
            let info = Object::new();
            crate::js::set(&info, "reason", &reason.into());
            crate::js::set(&info, "expiresAt", &expires_at);
            crate::js::call_hook(&listener, &info);
        }
    }

    /// How long the next refresh attempt must still wait: this page's back-off or the one another
    /// tab stored, whichever ends later.
    pub fn backoff_wait(&self) -> f64 {
        let backoff = self.merged_backoff();
        self.backoff.set(backoff);
        backoff.wait_ms(js_sys::Date::now(), crate::js::online_at())
    }

    /// This page's back-off and the one another tab stored, whichever ends later, as they stand
    /// now (see [`Backoff::at`]). A stored one dated in the future is stored again as it stands, or
    /// every read of it would start its window again; this page's own is not written back (the
    /// stored one may have been cleared by a success elsewhere).
    fn merged_backoff(&self) -> Backoff {
        let now = js_sys::Date::now();
        let stored = self.store.read_backoff().as_deref().and_then(Backoff::decode).unwrap_or_default();
        let shared = stored.at(now);
        if shared != stored {
            self.store.write_backoff(Some(&shared.encode()));
        }
        self.backoff.get().at(now).max(shared)
    }

    /// Records a transient refresh failure (with the server's `Retry-After`, if any) for this page
    /// and other tabs; returns the wait it imposes.
    pub fn note_failure(&self, retry_after_ms: Option<f64>) -> f64 {
        let now = js_sys::Date::now();
        let backoff = self.merged_backoff().after_failure(now, retry_after_ms, js_sys::Math::random());
        self.backoff.set(backoff);
        self.store.write_backoff(Some(&backoff.encode()));
        backoff.until_ms - now
    }

    /// Ends the back-off: a refresh succeeded, new tokens were set, or the session ended.
    pub fn clear_backoff(&self) {
        if self.backoff.replace(Backoff::default()).failures > 0 || self.store.read_backoff().is_some() {
            self.store.write_backoff(None);
        }
    }

    /// Whether a request given `init` comes from the app's `refresh` function (see `own_refresh`).
    pub fn is_own_refresh(&self, init: &JsValue) -> bool {
        self.calling_refresh.get() || self.own_refresh.borrow().as_ref().is_some_and(|signal| *signal == crate::js::get(init, "signal"))
    }

    /// Server time now, by the latest estimate (local time until there is one).
    pub fn server_now(&self) -> f64 {
        js_sys::Date::now() + self.clock_offset.get().unwrap_or(0.0)
    }

    /// Records the lifetime of a token this page just received by a refresh: the answer's
    /// `expiresIn`, which beats any JWT claim, or else the JWT's, counted from now.
    pub fn set_lifetime(&self, access: &str, expires_in_s: Option<f64>) {
        let now = self.server_now();
        let life = match expires_in_s {
            Some(s) => Some(Lifetime::observed(Some(now), now + s * 1000.0, now, true)),
            None => jwt_lifetime(access, now, true),
        };
        *self.lifetime.borrow_mut() = Some((access.into(), life, self.clock_offset.get().unwrap_or(0.0)));
    }

    /// What is known of `access`'s lifetime; computed once per token. A token that replaced
    /// another one seen here counts its life from now (see [`Lifetime::observed`]). Its floor is a
    /// time on this page's clock, counted from its arrival: a server clock learned later (an API
    /// `Date` far ahead of the issuer) moves it along, so that the token is not refreshed ahead at
    /// once (found by the issue-29 simulation).
    pub fn lifetime(&self, access: &str) -> Option<Lifetime> {
        let offset = self.clock_offset.get().unwrap_or(0.0);
        let replaced = match &*self.lifetime.borrow() {
            Some((t, life, judged)) if t == access => return life.map(|l| Lifetime { floor_ms: l.floor_ms + offset - judged, ..l }),
            other => other.is_some(),
        };
        let life = jwt_lifetime(access, self.server_now(), replaced);
        *self.lifetime.borrow_mut() = Some((access.into(), life, offset));
        life
    }
}

/// `exp` and `iat` of a JWT; `None` for opaque or odd tokens.
fn jwt_lifetime(token: &str, now: f64, replaced: bool) -> Option<Lifetime> {
    let payload = js_sys::JSON::parse(&jwt_payload(token)?).ok()?;
    let claim = |k| crate::js::get(&payload, k).as_f64().and_then(claim_ms);
    Some(Lifetime::observed(claim("iat"), claim("exp")?, now, replaced))
}

//! The protocol between the core and its shell, defined once, here.
//!
//! The shell calls [`crate::machine::Machine::handle`] with an [`Event`] whenever something happens,
//! then drains [`crate::machine::Machine::poll`] and carries out each [`Command`] in order, in the
//! same task (so storage cannot change between the core's decision and the shell's write). Every
//! event carries `now`, the local clock in ms; the core has no clock and no randomness of its own.
//! Storage reads are I/O: an event whose handling may read the tokens carries [`Stored`], the
//! shell's synchronous read of the keys at that moment.
//!
//! Requests, `getAccessToken` and `refresh()` calls share one id space: the shell allocates the
//! ids, never two alike among those pending (an id in use is ignored).
//!
//! | event | carries | the core answers with |
//! |---|---|---|
//! | `Begin` | request id, its instance's rules, URL, control header, own token header?, from the app's refresh function? | `Pass`, `Send`, or nothing yet (queued for a refresh); `Reject` |
//! | `Answer` | id, status, a JSON document?, `Date` | `Resolve`, `Ask`, `Send` (replay), or nothing yet (queued); `Reject`; of a `Send` with `last`: nothing (its `Date` is heard) |
//! | `Passed` | rules, URL and status of a watched `Pass` | a `PassedThrough` notice when the status says "expired" |
//! | `Verdict` | id, expired? (body code or `isExpired`) | as `Answer` |
//! | `Failed` | id (the transport threw, or the caller aborted an attempt) | `Reject(Transport)` |
//! | `Abort` | id (the caller aborted while it waited) | `Reject(Aborted)` |
//! | `Granted` | flight, contended?, held? (the lock, or a wait that ran out) | `Timer` (settle), `Refresh`, or the flight lands |
//! | `Refreshed` | flight, the answer's fields, jitter | `Store`, `StoreBackoff`, `Unlock`, callbacks; the queue's `Send`/`Reject` |
//! | `Timer` | which timer, jitter | gate, settle or timeout step of a flight |
//! | `Storage` | (another tab changed the keys) | a settle step, adopt, or end the session here (never a removal) |
//! | `Online` / `Offline` | | the back-off ends; a held flight goes on |
//! | `ShortcutAnswer` | id, the rules, token and `seen` of the `Shortcut` it went out by, status, `Date` | as `Answer` (the request is the core's from here) |
//! | `Parked` | the rules and `seen` of a `Park`, the ids of the answers parked under it | each as an expired `ShortcutAnswer` would be: queued for the running flight |
//! | `Token` | call id, `minValidityMs` (`getAccessToken`) | `Give`, or nothing yet (queued for a refresh, begun now if due); `Reject` |
//! | `ForceRefresh` | call id (`refresh()`) | nothing yet (queued for the running refresh, or one begun now); `Reject` |
//! | `SetTokens` / `ClearTokens` / `Logout` | the pair | `Store`, wakes the queue, callbacks; `Invalid` |
//! | `Open` / `Close` | an instance joins or leaves the session | nothing |
//! | `Resume` | (the commands before the core's `Resume` are carried out) | the landed flight's queue: `Send`, `Resolve`, `Give`, `Reject` |
//! | `StorageFailed` | (Web Storage threw: a read, or a write, whose keys the shell put back) | the first time: a warning, `Memory` and the `Store` of the pair kept, ahead of any command still waiting |
//! | `DpopHeaders` | id, the answer's `DPoP-Nonce` and (of a 401) `WWW-Authenticate`, just before its `Answer` (`dpop: true` only) | nothing: the origin's nonce is kept, the challenge read by the `Answer` |
//! | `Refusal` | id, the `error` and `error_description` of a 400 from the refresh endpoint to the app's own request (`Ask` with `Judge::Error`) | `Proof` and `Send` (a nonce challenge, once), `Resolve`, or `Reject(DPOP_REFUSED)` |
//! | `KeyCreated` | (the shell made the DPoP key: none was stored) | with tokens stored, bound to a key now gone: the session ends (`DPOP_KEY_LOST`) |
//! | `Prove` | call id, method, URL (`dpopProof`) | `Proof` for the caller; `Reject` |
//!
//! | command | the shell |
//! |---|---|
//! | `Pass { id, watch }` | sends the request as it is; its answer or error is the caller's; with `watch`, reports its status as `Passed` |
//! | `Send { id, rules, token, last }` | sends attempt of `id`, with `token` under the header of `rules`' instance (none: without), a replay made from the same input and body; reports `Answer` or `Failed`. With `last` the core has let `id` go: the answer or the error is the caller's, whatever it says, and only an answer whose `Date` differs from the last one reported is reported (as `Answer`, before the caller has it) |
//! | `Ask { id, how }` | `Judge::Body`: reads a clone of the body (64 KB, 2 s at most) for `expiredBodyCodes`; `Judge::App`: calls `isExpired`; reports `Verdict` |
//! | `Resolve { id }` / `Reject { id, why }` | settles the caller's promise with the last answer (`refresh()`: with `undefined`) / the error |
//! | `Shortcut { rules, origin, except, token, seen, generation, until }` | may send a later plain request of an instance with `rules` (no control header, no token header of its own, a body it can send again) to `origin`, other than `except` (the refresh endpoint, query aside), with `token` without asking, while `generation()` is `generation`, the stored access token is `token`, and local time is before `until`; reports its answer as `ShortcutAnswer` when its status is not `quiet` or its `Date` differs from the last one reported, else hands it to the caller |
//! | `Park { rules, seen, generation }` | may hold back (park) the answer to a request it sent by a `Shortcut` of `rules` while `generation()` is `generation`, when its status is one of `rules`' expired statuses (which the command lists) and its `Date` is the last one reported: the core would queue it for the running flight whatever token it carried; reports the ids parked as one `Parked` (per rules) before any other event of the session, the caller's abort included |
//! | `Give { id, token }` | resolves `getAccessToken`'s promise with `token` (none: `null`) |
//! | `Lock { flight, budget_ms }` | asks for the cross-tab Web Lock (each holder ahead waited at most `budget_ms`); reports `Granted` |
//! | `Unlock { flight, mark_ms }` | asks for the `:fresh` mark for `mark_ms` (0: none), then releases the lock: no tab sees the lock free before the mark is asked for |
//! | `Refresh { flight, via }` | `Via::Endpoint { content_type, body }`: POSTs `body` to `refreshUrl` with its content type, `accept: application/json`, then `refreshHeaders` (the object, or the function's result, called for each refresh; they may replace either) and `credentials` (`include` in a cookie session); `Via::Function { refresh, access }`: calls the app's function with these tokens. Reports `Refreshed` |
//! | `CancelRefresh { flight }` | aborts that call (its timeout ran out); a late answer is ignored anyway |
//! | `Store { pair, expect }` | writes the pair (`None`: removes the keys) if storage holds `expect` now, a pair's fingerprint first and its refresh token last, a removal's access token first and fingerprint last (so no other tab can read a whole pair that a write which throws half-way leaves behind); when storage throws, puts back what each key held, the last written first (best effort), then reports `StorageFailed` |
//! | `Memory` | keeps the keys in this page's memory from now on (empty until a `Store`); Web Storage is not touched again |
//! | `StoreBackoff { value }` | writes (or removes) `<key>:backoff`; reports `StorageFailed` when storage throws |
//! | `CancelTimer { timer }` | clears that timer, if it is still scheduled |
//! | `Timer { at, timer }` | reports `Timer` after `at - now` ms, `now` being the event's (a JS timer: a clock change does not move it; a later one with the same id replaces it) |
//! | `Notify(..)` | calls `onRefresh`, `onRefreshError`, `onLogout`, `onTokens`, navigates to the login page, or warns on the console (`Warn`'s text, or an origin passed through) |
//! | `Invalid(failure)` | the synchronous call (`setTokens`) throws this error |
//! | `Resume` | reports `Resume` at once, reading the keys after the callbacks before it ran |
//! | `Proof { id, claims, ath, of }` | `dpop: true`: signs a DPoP proof of `claims` (the JSON object the core decided: `htm`, `htu`, `iat`, `nonce`) with the session's key, adding a random `jti` and, with `ath`, the base64url SHA-256 of that token; `Proven::Send`: the next `Send` of request `id` carries it as `DPoP`; `Proven::Refresh`: the `Refresh` of flight `id` does; `Proven::Caller`: `dpopProof` call `id` resolves with it. The key is loaded from IndexedDB (made there if none is: `KeyCreated`; kept in memory where IndexedDB fails) |
//! | `DropKey(remove)` | forgets the session's DPoP key; `Remove::Used` deletes its IndexedDB record if it is the one this page used, `Remove::Any` whatever it is |
//!
//! `Park` hands out one decision of `recover`: while a flight runs, an answer with an "expired"
//! status is queued for it, whatever token its request carried (the replay, or the error, is
//! decided when the flight lands), so a storm's answers need not each cross into the core before
//! the lock's grant can run. What the shell parks is narrowed so that nothing the core reads is
//! lost: only answers to requests it sent by a `Shortcut` (first attempts of rules that judge by
//! status alone, never a replay), only with a `Date` the core was told already (it hears no
//! unchanged `Date` anyway; a new one goes as a `ShortcutAnswer`, which may move the clock and
//! with it the generation). The shell keeps each parked request as it keeps any (input, init and
//! body for the replay). `Parked` comes before any other event of the session, the caller's
//! `Abort` of a parked request and a `Storage` event from another tab included, so the core
//! hears the answers while the flight still runs, in their place in the order of events.
//!
//! `Send` with `last` hands out the decision of `answer` for an attempt after which there is
//! none (a replay, a `no-refresh` request, the one send after `NO_SESSION`): its answer is the
//! caller's whatever its status, and the core reads nothing else of it but its `Date` (the server
//! clock). So the core lets the request go as it sends it (it was in no queue: `stats()` and
//! `alive()` no longer count it, a reset cannot reach it, and the caller's abort, which the core
//! would ignore, ends the attempt as the transport's error), and the shell settles the caller
//! itself, telling the core first only a `Date` it has not heard. A storm's replays' answers then
//! never cross into the core.

use alloc::string::String;
use alloc::vec::Vec;

use crate::code::{Code, Failure};
use crate::pair::Pair;
use crate::refresh::Field;

/// The keys as the shell read them, synchronously, when the event happened: raw strings, untrusted.
#[derive(Clone, Default, PartialEq, Debug)]
pub struct Stored {
    /// The access token's key.
    pub access: Option<String>,
    /// The refresh token's key (ignored in a cookie session).
    pub refresh: Option<String>,
    /// `<key>:pair`, the fingerprint of the pair written last.
    pub stamp: Option<String>,
    /// `<key>:backoff`, the shared back-off.
    pub backoff: Option<String>,
}

/// The request's `x-seamless-fetch` header.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Control {
    /// None given.
    None,
    /// `no-token`: sent untouched.
    NoToken,
    /// `no-refresh`: sent with the token, an "expired" answer is the caller's.
    NoRefresh,
    /// Anything else: `INVALID_OPTIONS`.
    Invalid,
}

/// What the refresh call answered, as the shell read it (field reading and JSON parsing are the
/// shell's; what they mean is the core's, through [`crate::refresh::classify`]).
#[derive(Clone, PartialEq, Debug)]
pub struct Reply {
    /// HTTP status; 0 for a network error (no answer).
    pub status: u16,
    /// Whether the body was a JSON object.
    pub json: bool,
    /// The access token's field.
    pub access: Field,
    /// The refresh token's field.
    pub refresh: Field,
    /// `expiresIn`'s field.
    pub expires_in: Field,
    /// The OAuth 2 `error` field.
    pub oauth_error: Field,
    /// The `Retry-After` header, when there was one.
    pub retry_after: Option<String>,
    /// The `DPoP-Nonce` header (`dpop: true`).
    pub nonce: Option<String>,
    /// The `token_type` field.
    pub token_type: Field,
    /// The OAuth 2 `error_description` field, when it is a string (server text: shown only for
    /// a refused DPoP proof, made printable).
    pub description: Option<String>,
    /// The call gave no answer to read (it threw, timed out, or gave what is not an answer): the
    /// outcome is this failure, as the shell's report of how it ended decides it.
    pub failure: Option<Failure>,
    /// Where the access token was looked for (`tokenPaths.accessToken`; empty: the common names),
    /// and the answer's field names (bounded), for the error when it is not there.
    pub access_path: String,
    #[allow(missing_docs)]
    pub fields: String,
}

/// A timer of a flight (by the flight's number).
#[allow(missing_docs)]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Timer {
    /// The back-off or being offline holds the flight until then.
    Gate(u32),
    /// The settle wait for another tab's write ends.
    Settle(u32),
    /// The refresh call's `refreshTimeoutMs` ran out.
    Timeout(u32),
}

/// Something that happened. `now` is the local clock (ms since the epoch); the fields are those of
/// the module's table.
#[allow(missing_docs)]
#[derive(Clone, Debug)]
pub enum Event {
    /// A request begins, under the request rules `rules` (its instance's: `Machine::add_rules`).
    /// `url` is absolute, as the URL parser serialises it.
    /// `method` as fetch normalises it, given with `dpop: true` only.
    Begin { now: f64, id: u32, rules: u32, url: String, method: Option<String>, control: Control, has_auth: bool, own_refresh: bool, stored: Stored },
    /// The answer to the last `Send` of `id` arrived; `date` is its `Date` header, `json` whether
    /// its `Content-Type` names one JSON document (`policy::is_json_document`).
    Answer { now: f64, id: u32, status: u16, json: bool, date: Option<String>, stored: Stored },
    /// The answer to a `Pass` with `watch` (a request to an origin the token is withheld from).
    Passed { now: f64, rules: u32, url: String, status: u16 },
    /// The answer asked about with `Ask` means "expired", or not.
    Verdict { now: f64, id: u32, expired: bool, stored: Stored },
    /// The attempt of `id` threw (network error, the caller's abort).
    Failed { now: f64, id: u32 },
    /// The caller aborted `id` while it waited for a refresh.
    Abort { now: f64, id: u32 },
    /// The cross-tab lock for `flight`: `held` false when the wait ran out (then it counts as
    /// contended); `contended` when another tab held it or its `:fresh` mark when asked.
    Granted { now: f64, flight: u32, contended: bool, held: bool, stored: Stored },
    /// The refresh call of `flight` answered; `jitter` in [0, 1) for the back-off.
    Refreshed { now: f64, flight: u32, reply: Reply, jitter: f64, stored: Stored },
    /// A timer fired; `jitter` in [0, 1) for the back-off.
    Timer { now: f64, timer: Timer, jitter: f64, stored: Stored },
    /// Another tab changed the keys.
    Storage { now: f64, stored: Stored },
    /// The browser came back online.
    Online { now: f64, stored: Stored },
    /// The browser went offline.
    Offline { now: f64 },
    /// `getAccessToken({minValidityMs})`: `min_validity_ms` 0 when absent, NaN for anything that
    /// is not a number, `null` included (the core refuses it, as one outside 0..=2147483647).
    Token { now: f64, id: u32, min_validity_ms: f64, stored: Stored },
    /// The answer to a request the shell sent by a `Shortcut` (`token`, `seen` as that gave them).
    ShortcutAnswer { now: f64, id: u32, rules: u32, token: String, seen: u64, status: u16, date: Option<String>, stored: Stored },
    /// The answers the shell parked under the `Park` of `rules` (`seen` as that gave it): the
    /// requests' ids, each sent by a `Shortcut` of `rules` and answered with one of its `statuses`.
    Parked { now: f64, rules: u32, seen: u64, ids: Vec<u32>, stored: Stored },
    /// `refresh()`.
    ForceRefresh { now: f64, id: u32, stored: Stored },
    /// `setTokens`; `refresh` is `None` in a cookie session.
    SetTokens { now: f64, access: String, refresh: Option<String>, stored: Stored },
    /// `clearTokens()`.
    ClearTokens { now: f64 },
    /// `logout()`.
    Logout { now: f64 },
    /// An instance joins the session; the tokens it finds are "found at start" (no floor), and a
    /// pair heard later counts as received.
    Open { now: f64, stored: Stored },
    /// `dpop: true`: the `DPoP-Nonce` and (of a 401) `WWW-Authenticate` headers of the answer to
    /// `id`, reported just before its `Answer`.
    #[cfg(feature = "dpop")]
    DpopHeaders { now: f64, id: u32, nonce: Option<String>, challenge: Option<String> },
    /// The `error` and `error_description` of a 400 answer the core asked about (`Judge::Error`).
    #[cfg(feature = "dpop")]
    Refusal { now: f64, id: u32, error: Option<String>, description: Option<String> },
    /// The shell made the DPoP key: none was stored.
    #[cfg(feature = "dpop")]
    KeyCreated { now: f64, stored: Stored },
    /// `dpopProof({method, url})`; `url` absolute.
    #[cfg(feature = "dpop")]
    Prove { now: f64, id: u32, method: String, url: String, stored: Stored },
    /// An instance leaves it (`dispose`, or collected).
    Close { now: f64 },
    /// The shell carried out `Resume`'s commands before it (`onRefresh` among them).
    Resume { now: f64, stored: Stored },
    /// Web Storage threw (quota, `SecurityError`, disabled): a read, or a write (what each key
    /// held was put back).
    StorageFailed { now: f64 },
}

impl Event {
    /// The snapshot of the keys it carries, if any.
    pub fn stored(&self) -> Option<&Stored> {
        match self {
            Event::Begin { stored, .. } | Event::Answer { stored, .. } | Event::Verdict { stored, .. } | Event::Granted { stored, .. } | Event::Refreshed { stored, .. } => Some(stored),
            Event::Timer { stored, .. } | Event::Storage { stored, .. } | Event::Online { stored, .. } | Event::Token { stored, .. } | Event::ShortcutAnswer { stored, .. } => Some(stored),
            Event::Parked { stored, .. } => Some(stored),
            #[cfg(feature = "dpop")]
            Event::KeyCreated { stored, .. } | Event::Prove { stored, .. } => Some(stored),
            Event::ForceRefresh { stored, .. } | Event::SetTokens { stored, .. } | Event::Open { stored, .. } | Event::Resume { stored, .. } => Some(stored),
            // Listed, not `_`: a new event must say whether it carries a snapshot (one that did
            // not was missed once: `Resume`).
            Event::Passed { .. } | Event::Failed { .. } | Event::Abort { .. } | Event::Offline { .. } | Event::ClearTokens { .. } => None,
            Event::Logout { .. } | Event::Close { .. } | Event::StorageFailed { .. } => None,
            #[cfg(feature = "dpop")]
            Event::DpopHeaders { .. } | Event::Refusal { .. } => None,
        }
    }

    /// When it happened (local clock).
    pub fn now(&self) -> f64 {
        match self {
            Event::Begin { now, .. } | Event::Answer { now, .. } | Event::Passed { now, .. } | Event::Verdict { now, .. } | Event::Failed { now, .. } | Event::Abort { now, .. } => *now,
            Event::Granted { now, .. } | Event::Refreshed { now, .. } | Event::Timer { now, .. } | Event::Storage { now, .. } | Event::Online { now, .. } | Event::Open { now, .. } => *now,
            Event::Token { now, .. } | Event::ForceRefresh { now, .. } | Event::ShortcutAnswer { now, .. } | Event::Parked { now, .. } => *now,
            Event::Offline { now } | Event::SetTokens { now, .. } | Event::ClearTokens { now } | Event::Logout { now } | Event::Close { now } => *now,
            Event::Resume { now, .. } | Event::StorageFailed { now } => *now,
            #[cfg(feature = "dpop")]
            Event::DpopHeaders { now, .. } | Event::Refusal { now, .. } | Event::KeyCreated { now, .. } | Event::Prove { now, .. } => *now,
        }
    }
}

/// Who judges an answer whose status is not "expired".
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Judge {
    /// The body's `expiredBodyField`, read from a clone (`expiredBodyCodes`).
    Body,
    /// The app's `isExpired`.
    App,
    /// A JSON body's `error` and `error_description` (`Refusal`): a 400 from the refresh endpoint
    /// to the app's own request, with `dpop: true`.
    Error,
}

/// Whose `Proof` it is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Proven {
    /// The next `Send` of the request.
    Send,
    /// The flight's `Refresh`.
    Refresh,
    /// A `dpopProof` call.
    Caller,
}

/// Which DPoP key record `DropKey` removes from IndexedDB.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Remove {
    /// None: this page only forgets the key (another tab ended the session, and removes it).
    Keep,
    /// The one this page used, if it is still there (a session that ended here).
    Used,
    /// Whatever is there (`clearTokens()`, `logout()`: the app's decision).
    Any,
}

/// Why a request is rejected.
#[derive(Clone, PartialEq)]
pub enum Why {
    /// The library's own failure.
    Auth(Failure),
    /// The caller's abort: the shell rejects with the signal's reason.
    Aborted,
    /// The transport's error, as it came.
    Transport,
}

/// What the storage write expects to find.
#[derive(Clone, PartialEq)]
pub enum Expect {
    /// Write whatever is there (`setTokens`, `clearTokens`: the app's own decision).
    Any,
    /// Write only over this pair (`None`: no pair): a tab writes or removes only what it owns.
    Pair(Option<Pair>),
}

/// A callback or the redirect.
#[derive(Clone, PartialEq, Debug)]
pub enum Notice {
    /// `onRefresh({durationMs})`.
    #[allow(missing_docs)]
    Refreshed { duration_ms: f64 },
    /// `onRefreshError(error)` with this code.
    RefreshError(Failure),
    /// `onLogout({reason})`.
    Logout(Code),
    /// `onLogout({reason: "LOGOUT"})`, `logout()` here or in another tab.
    LoggedOut,
    /// `onTokens({reason, expiresAt})`: "refresh", "tab", "set", "clear"; the new token's expiry (server clock), when known.
    #[allow(missing_docs)]
    Tokens { reason: &'static str, expires_at: Option<f64> },
    /// Go to `loginUrl` (the shell adds the return path with `policy::safe_return_path`).
    Navigate,
    /// An "expired" `status` from `origin`, passed through because the token is withheld from it:
    /// said on the console (the boundary says it once per origin for the page).
    #[allow(missing_docs)]
    PassedThrough { status: u16, origin: String },
    /// `console.warn` this.
    Warn(&'static str),
}

/// How the refresh call is made.
#[allow(missing_docs)]
#[derive(Clone, PartialEq, Debug)]
pub enum Via {
    /// `POST` to `refreshUrl`: the body as `refreshFormat`, `refreshFields`, `clientId` and `scope`
    /// make it (`refresh::request_body`); the shell adds only the headers and `credentials`.
    Endpoint { content_type: &'static str, body: String },
    /// The app's `refresh({refreshToken, accessToken, signal, fetch})`.
    Function { refresh: Option<String>, access: Option<String> },
}

/// Something for the shell to do; the fields are those of the module's table.
#[allow(missing_docs)]
#[derive(Clone, PartialEq)]
pub enum Command {
    /// Send as it is; not the library's. `watch`: report its answer (`Passed`), an origin the
    /// token is withheld from, whose "expired" answer is explained.
    Pass { id: u32, watch: bool },
    /// Send an attempt of `id` with `token` (none: without), under the scheme of `rules`. A
    /// decision handed out with it: `last`, the core let `id` go, its answer or error is the
    /// caller's (a `Date` not reported yet is reported first; see the module's table).
    Send { id: u32, rules: u32, token: Option<String>, last: bool },
    /// Judge the answer by its body code or by `isExpired` (`how`), then `Verdict`.
    Ask { id: u32, how: Judge },
    /// The last answer is the caller's (`refresh()`: it resolves).
    Resolve { id: u32 },
    /// `getAccessToken` resolves with `token` (`None`: `null`).
    Give { id: u32, token: Option<String> },
    /// A decision handed out with its validity: plain requests to `origin` (but `except`) go out
    /// with `token` while nothing it rests on changed (see the module's table).
    Shortcut { rules: u32, origin: String, except: Option<String>, token: String, seen: u64, generation: u64, until: f64 },
    /// A decision handed out with its validity: while the flight runs (`generation`), an answer
    /// with one of the `expired_statuses` of `rules` to a request sent by a `Shortcut` of `rules`
    /// waits for it in the shell, and reaches the core in one `Parked` before the next event (see
    /// the module's table; the boundary writes the statuses out).
    Park { rules: u32, seen: u64, generation: u64 },
    /// The caller's promise rejects.
    Reject { id: u32, why: Why },
    /// Ask for the cross-tab lock.
    Lock { flight: u32, budget_ms: f64 },
    /// Release the lock, then hold the `:fresh` mark for `mark_ms`.
    Unlock { flight: u32, mark_ms: f64 },
    /// Make the refresh call.
    Refresh { flight: u32, via: Via },
    /// Abort the refresh call of `flight`.
    CancelRefresh { flight: u32 },
    /// Write `pair` (`None`: remove the tokens) if storage holds what `expect` says.
    Store { pair: Option<Pair>, expect: Expect },
    /// Keep the keys in memory from now on.
    Memory,
    /// Write (`None`: remove) the shared back-off.
    StoreBackoff { value: Option<String> },
    /// Report `timer` at local time `at`.
    Timer { at: f64, timer: Timer },
    /// Forget `timer` (a late one would be ignored anyway).
    CancelTimer { timer: Timer },
    /// A callback or the redirect.
    Notify(Notice),
    /// The synchronous call throws this code.
    Invalid(Failure),
    /// Report `Resume` now, with the keys as they are after the commands before this one (a
    /// callback may have changed them): the landed flight's queue waits for it.
    Resume,
    /// Sign a DPoP proof of `claims` (with `ath` of that token) for `of` (see the module's table).
    #[cfg(feature = "dpop")]
    Proof { id: u32, claims: String, ath: Option<String>, of: Proven },
    /// Forget the DPoP key, removing its record as `Remove` says.
    #[cfg(feature = "dpop")]
    DropKey(Remove),
}

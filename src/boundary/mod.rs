//! The wasm boundary of the shell build (issue 29, stage 2): numbers and strings in, numbers and
//! strings out, and no JS object held in Rust. The shell (`pkg-template/shell.js`) writes the
//! strings of each call into the inbox ([`Boundary::inbox`]) as length-prefixed UTF-8, walks JS
//! values (the options, a JSON body) into [`Boundary::value`], and reads each command with
//! [`Boundary::next`] and the accessors of [`Out`]. The numbers are named in [`wire`].
//!
//! What is the boundary's and not the core's: turning the options into the core's [`Config`],
//! reading a JSON answer's fields where the options say (the values that mean something are then
//! the core's), and formatting what the core decided (the header value, the login URL).

use alloc::string::String;
use alloc::vec::Vec;

use crate::code::{Code, Failure};
use crate::machine::{Command, Config, Control, Event, Expect, Judge, Machine, Notice, Reply, Rules, Stats, Stored, Timer, Via, Why};
#[cfg(feature = "dpop")]
use crate::machine::{Proven, Remove};
use crate::options::{Options, Source, StorageKind, Value};
use crate::pair::{fingerprint, present};
use crate::policy::{safe_return_path, with_return_param};
use crate::policy;
use crate::refresh::{token_at, Field, Format, ACCESS_NAMES, EXPIRES_NAMES, REFRESH_NAMES};

pub mod wire;
#[cfg(all(target_arch = "wasm32", not(feature = "std")))]
mod exports;

use wire::{ExpectKind, JudgeKind, NoticeKind, Op, TimerKind, WhyKind};
#[cfg(feature = "dpop")]
use wire::{ProvenKind, RemoveKind};

/// How deep the shell may walk a value: deeper nodes are not asked for (a cyclic object ends).
const MAX_DEPTH: usize = 8;
/// How many nodes one walk may have: a huge JSON body is read no further.
const MAX_NODES: usize = 4096;

/// The command being read: its numbers and up to five strings.
#[derive(Default)]
pub struct Out {
    /// [`Op`] as a number; 0: none.
    pub op: u32,
    /// The request id or the flight.
    pub id: u32,
    /// The command's sub-kind (timer, why, expect, notice) as a number.
    pub code: u32,
    /// A time or a duration (ms): `at`, `budget_ms`, `mark_ms`, `duration_ms`, `retry_after_ms`
    /// (NaN: none).
    pub number: f64,
    /// Booleans: of an error, bit 0 `offline`, bit 1 "what the refresh call threw is its cause".
    pub flag: u32,
    /// `SHORTCUT`'s and `PARK`'s `seen` and `generation`.
    pub seen: f64,
    #[allow(missing_docs)]
    pub generation: f64,
    /// The strings, by position as `wire`'s table says for each op.
    pub texts: [Option<String>; 5],
}

impl Out {
    /// An error's code, message, `retryAfterMs` and `offline`, as `REJECT`, `NOTIFY` and
    /// `INVALID` carry them.
    fn failure(&mut self, e: &Failure) {
        self.texts[0] = Some(e.code.as_str().into());
        self.texts[1] = Some(e.message.clone());
        self.number = e.retry_after_ms.unwrap_or(f64::NAN);
        self.flag = e.offline as u32 | (e.caused as u32) << 1;
    }
}

/// One session (the instances of one page over the same keys) and how its options read.
struct Session {
    machine: Machine,
    /// The request rules of its instances, by the machine's index (`Machine::add_rules`): the
    /// options of the first instance with each, and whether it gave `isExpired`. The first are the
    /// session's own options (`Session::opts`).
    rules: Vec<(Options, bool)>,
    /// Storage kind, keys and, for memory, the endpoint: who shares this session.
    identity: String,
    endpoint: String,
}

/// Which event a `heard` call is.
pub enum Heard {
    /// Another tab changed the keys.
    Storage,
    /// The browser came back online.
    Online,
    /// An instance joins the session.
    Open,
    /// The shell carried out the commands before `RESUME`.
    Resume,
}

/// At most this many origins are explained on the console (`Notice::PassedThrough`).
const MAX_TOLD: usize = 32;

/// Everything behind the exports.
#[derive(Default)]
pub struct Boundary {
    sessions: Vec<Option<Session>>,
    inbox: Vec<u8>,
    read: usize,
    /// The value being walked: a stack of open lists and maps, the finished root, the pending key.
    stack: Vec<(Option<String>, Value)>,
    key: Option<String>,
    root: Option<Value>,
    nodes: usize,
    /// The origins whose "expired" answers the console was told were passed through (the page's).
    told: Vec<String>,
    /// The commands of the last event of each session, and the one being read.
    pub out: Out,
}

impl Boundary {
    /// Room for `len` bytes of strings; the shell writes them at the returned pointer.
    pub fn inbox(&mut self, len: usize) -> *mut u8 {
        self.inbox.clear();
        self.inbox.resize(len, 0);
        self.read = 0;
        self.inbox.as_mut_ptr()
    }

    /// The inbox as a test writes it: each string with its length before it.
    #[cfg(test)]
    pub fn put(&mut self, strings: &[Option<&str>]) {
        let mut bytes = Vec::new();
        for s in strings {
            match s {
                Some(s) => {
                    bytes.extend_from_slice(&(s.len() as u32).to_le_bytes());
                    bytes.extend_from_slice(s.as_bytes());
                }
                None => bytes.extend_from_slice(&u32::MAX.to_le_bytes()),
            }
        }
        let p = self.inbox(bytes.len());
        unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), p, bytes.len()) };
    }

    /// The next string of the inbox (`None`: null, the inbox ran out, or bytes that are not UTF-8,
    /// which `encodeInto` never writes).
    fn take(&mut self) -> Option<String> {
        let b = &self.inbox[self.read.min(self.inbox.len())..];
        let len = u32::from_le_bytes(b.get(..4)?.try_into().ok()?);
        self.read += 4;
        if len == u32::MAX {
            return None;
        }
        let bytes = self.inbox.get(self.read..self.read + len as usize)?;
        self.read += len as usize;
        // `encodeInto` writes only UTF-8; anything else is no string.
        String::from_utf8(bytes.to_vec()).ok()
    }

    fn stored(&mut self) -> Stored {
        Stored { access: self.take(), refresh: self.take(), stamp: self.take(), backoff: self.take() }
    }

    /// One node of a walked value; `true` when the shell should walk the children of a list or
    /// map it just opened.
    pub fn value(&mut self, kind: u32, number: f64) -> bool {
        // A node with nothing open begins a new walk: the bound counts each walk's nodes alone.
        if self.stack.is_empty() {
            self.root = None;
            self.nodes = 0;
        }
        self.nodes += 1;
        let v = match wire::Value::from_wire(kind) {
            Some(wire::Value::Key) => {
                self.key = self.take();
                return false;
            }
            Some(wire::Value::End) => match self.stack.pop() {
                Some((key, v)) => return self.place(key, v),
                None => return false,
            },
            Some(wire::Value::List) | Some(wire::Value::Map) => {
                let deep = self.stack.len() >= MAX_DEPTH || self.nodes > MAX_NODES;
                let open = if kind == wire::Value::List as u32 { Value::List(Vec::new()) } else { Value::Map(Vec::new()) };
                let key = self.key.take();
                self.stack.push((key, if deep { Value::Other } else { open }));
                return !deep;
            }
            Some(wire::Value::Undefined) => Value::Undefined,
            Some(wire::Value::Null) => Value::Null,
            Some(wire::Value::False) => Value::Bool(false),
            Some(wire::Value::True) => Value::Bool(true),
            Some(wire::Value::Number) => Value::Num(number),
            Some(wire::Value::Text) => match self.take() {
                Some(s) => Value::Str(s),
                None => Value::Other,
            },
            Some(wire::Value::Function) => Value::Func,
            Some(wire::Value::Other) | None => Value::Other,
        };
        let key = self.key.take();
        self.place(key, v)
    }

    fn place(&mut self, key: Option<String>, v: Value) -> bool {
        match self.stack.last_mut() {
            Some((_, Value::List(items))) => items.push(v),
            Some((_, Value::Map(entries))) => entries.push((key.unwrap_or_default(), v)),
            Some(_) => {}
            None => self.root = Some(v),
        }
        false
    }

    /// The value walked last (the root), taken.
    fn walked(&mut self) -> Value {
        self.stack.clear();
        self.root.take().unwrap_or(Value::Undefined)
    }

    fn session(&mut self, s: u32) -> Option<&mut Session> {
        self.sessions.get_mut((s as usize).wrapping_sub(1))?.as_mut()
    }

    /// A session for the options just walked (inbox: the page's origin, null without a page; the
    /// refresh URL resolved against the page, null when it does not resolve), joining a live one
    /// on the same keys; its handle, or 0 with `INVALID` to read.
    pub fn create(&mut self) -> u32 {
        let page = self.take();
        let resolved = self.take();
        let entries = match self.walked() {
            Value::Map(entries) => entries,
            _ => return self.refuse(Failure::new(Code::InvalidOptions, &["the options must be an object, e.g. { refreshUrl: \"/auth/refresh\" }"])),
        };
        let opts = match Options::parse(&entries) {
            Ok(o) => o,
            Err(e) => return self.refuse(e),
        };
        // A relative refreshUrl with no page to resolve it against (SSR, which runs a client
        // module's top level on the server) makes an instance every call of which is refused: the
        // same module works in the browser. Without a page (Node), the endpoint's origin plays
        // the page's part.
        let pageless = page.is_none() && resolved.is_none() && matches!(opts.source, Source::Endpoint { .. });
        let endpoint = match (&opts.source, resolved) {
            (Source::Endpoint { .. }, Some(url)) => url,
            (Source::Endpoint { .. }, None) if page.is_some() => {
                return self.refuse(Failure::new(Code::InvalidOptions, &["AuthFetch options: refreshUrl is not a valid URL"]))
            }
            (Source::Endpoint { url, .. }, None) => url.clone(),
            (Source::Function, _) => String::new(),
        };
        let is_func = |key: &str| entries.iter().any(|(k, v)| k == key && matches!(v, Value::Func));
        let (is_expired, on_refresh) = (is_func("isExpired"), is_func("onRefresh"));
        let page_origin = page.or_else(|| policy::origin_of(&endpoint).map(String::from)).unwrap_or_else(|| "null".into());
        let kind = match opts.storage {
            StorageKind::Local => "l",
            StorageKind::Session => "s",
            StorageKind::Memory => "m",
        };
        let own = if opts.storage == StorageKind::Memory { endpoint.as_str() } else { "" };
        let identity = [kind, if opts.cookie { "c" } else { "" }, "\0", &opts.access_key, "\0", &opts.refresh_key, "\0", own].concat();
        for (i, slot) in self.sessions.iter_mut().enumerate() {
            let Some(s) = slot else { continue };
            if !s.machine.alive() {
                *slot = None;
            } else if s.identity == identity && s.machine.joinable() {
                if s.opts().dpop != opts.dpop {
                    return self.refuse(Failure::new(Code::InvalidOptions, &["AuthFetch options: another AuthFetch on the same stored tokens has another dpop; the tokens are bound to a key, or not: give each its own accessTokenKey and refreshTokenKey"]));
                }
                if s.endpoint != endpoint {
                    return self.refuse(Failure::new(Code::InvalidOptions, &["AuthFetch options: another AuthFetch refreshes the same stored tokens elsewhere (refreshUrl, refresh); use one, or give each its own accessTokenKey and refreshTokenKey"]));
                }
                if on_refresh {
                    s.machine.hear_on_refresh();
                }
                // Each instance's requests are judged by its own request rules (allowedOrigins
                // above all); the rest, a refresh's options among them, are the session's.
                let same = |(a, e): &(Options, bool)| {
                    a.allowed_origins == opts.allowed_origins
                        && a.auth_header == opts.auth_header
                        && a.auth_scheme == opts.auth_scheme
                        && a.expired_statuses == opts.expired_statuses
                        && a.expired_body_codes == opts.expired_body_codes
                        && a.expired_body_field == opts.expired_body_field
                        && *e == is_expired
                };
                let rules = match s.rules.iter().position(same) {
                    Some(r) => r as u32,
                    None => match s.machine.add_rules(rules_of(&opts, is_expired)) {
                        Some(r) => {
                            s.rules.push((opts, is_expired));
                            r
                        }
                        None => return self.refuse(Failure::new(Code::InvalidOptions, &["AuthFetch options: too many AuthFetch instances on the same stored tokens with request options of their own (allowedOrigins, authHeader, authScheme, expiredStatuses, expiredBodyCodes, expiredBodyField, isExpired); share one set, or give each its own accessTokenKey and refreshTokenKey"])),
                    },
                };
                return self.created(i as u32 + 1, true, rules);
            }
        }
        let cfg = Config {
            page_origin,
            rules: rules_of(&opts, is_expired),
            refresh_url: (!endpoint.is_empty()).then(|| endpoint.clone()),
            refresh_ahead_ms: opts.refresh_ahead_ms,
            refresh_timeout_ms: opts.refresh_timeout_ms,
            cross_tab: opts.cross_tab,
            lock: opts.lock,
            cookie: opts.cookie,
            on_refresh,
            dpop: opts.dpop,
            refresh_format: match &opts.source {
                Source::Endpoint { format, .. } => format.clone(),
                Source::Function => Format::Json { refresh_field: String::new(), access_field: String::new() },
            },
            pageless,
        };
        let session = Session { machine: Machine::new(cfg), rules: alloc::vec![(opts, is_expired)], identity, endpoint };
        // Handles are never reused: a shell's late report on a session that ended (an answer to
        // a request sent by a shortcut) must find no session, never another one.
        self.sessions.push(Some(session));
        self.created(self.sessions.len() as u32, false, 0)
    }

    /// What the shell needs to carry out session `s`'s commands, in [`Boundary::out`]: strings
    /// storage kind, access key, refresh key, token header, lock name; `flag` [`wire::Setup`] bits;
    /// `code` 1 when it joined a live session (the shell has its state), 0 for a new one.
    /// The handle of session `s` for an instance with request rules `rules`; `code` says whether
    /// it joined a live session, `number` is `rules`, `texts` the session's set-up (the token
    /// header this instance's).
    fn created(&mut self, s: u32, joined: bool, rules: u32) -> u32 {
        self.out = Out::default();
        let Some(session) = self.session(s) else { return 0 };
        let o = session.opts();
        let header = &rules_at(&session.rules, rules).auth_header;
        let storage = match o.storage {
            StorageKind::Local => "local",
            StorageKind::Session => "session",
            StorageKind::Memory => "memory",
        };
        let lock = ["seamless-fetch:", &o.access_key, ":", &session.endpoint].concat();
        let texts = [Some(storage.into()), Some(o.access_key.clone()), Some(o.refresh_key.clone()), Some(header.clone()), Some(lock)];
        let flag = if o.cookie { wire::Setup::Cookie as u32 } else { 0 } | if o.cross_tab { wire::Setup::CrossTab as u32 } else { 0 } | if o.dpop { wire::Setup::Dpop as u32 } else { 0 };
        self.out.texts = texts;
        self.out.flag = flag;
        self.out.code = joined as u32;
        self.out.number = rules as f64;
        s
    }

    fn refuse(&mut self, e: Failure) -> u32 {
        self.out = Out::default();
        self.out.op = Op::Invalid as u32;
        self.failure(&e);
        0
    }

    fn failure(&mut self, e: &Failure) {
        self.out.failure(e);
    }

    /// Hands `event` to session `s`, taking the strings it needs from the inbox in the order the
    /// exports document.
    pub fn event(&mut self, s: u32, event: impl FnOnce(&mut Boundary) -> Option<Event>) {
        if self.session(s).is_none() {
            return;
        }
        if let Some(e) = event(self) {
            if let Some(session) = self.session(s) {
                session.machine.handle(e);
            }
        }
    }

    /// `begin` of a request of an instance with `rules`: inbox holds the URL, the method (null
    /// without DPoP), then the stored keys.
    pub fn begin(&mut self, s: u32, now: f64, id: u32, rules: u32, control: u32, flags: u32) {
        self.event(s, |b| {
            let url = b.take().unwrap_or_default();
            let method = b.take();
            let control = match wire::Control::from_wire(control) {
                Some(wire::Control::None) => Control::None,
                Some(wire::Control::NoToken) => Control::NoToken,
                Some(wire::Control::NoRefresh) => Control::NoRefresh,
                _ => Control::Invalid,
            };
            let has_auth = flags & wire::Flag::HasAuth as u32 != 0;
            let own_refresh = flags & wire::Flag::OwnRefresh as u32 != 0;
            Some(Event::Begin { now, id, rules, url, method, control, has_auth, own_refresh, stored: b.stored() })
        });
    }

    /// `answer`: inbox holds the `Date` and `Content-Type` headers, then the stored keys.
    pub fn answer(&mut self, s: u32, now: f64, id: u32, status: u32) {
        self.event(s, |b| {
            let date = b.take();
            let json = b.take().is_some_and(|t| policy::is_json_document(&t));
            Some(Event::Answer { now, id, status: status.min(999) as u16, json, date, stored: b.stored() })
        });
    }

    /// `passed`: the status of a watched `PASS` of an instance with `rules`; inbox: its URL.
    pub fn passed(&mut self, s: u32, now: f64, rules: u32, status: u32) {
        self.event(s, |b| Some(Event::Passed { now, rules, url: b.take().unwrap_or_default(), status: status.min(999) as u16 }));
    }

    /// `dpop_headers` of the answer to `id`: inbox holds its `DPoP-Nonce` and `WWW-Authenticate`.
    #[cfg(feature = "dpop")]
    pub fn dpop_headers(&mut self, s: u32, now: f64, id: u32) {
        self.event(s, |b| Some(Event::DpopHeaders { now, id, nonce: b.take(), challenge: b.take() }));
    }

    /// `refusal`: the body of a 400 asked about with `ERROR`, walked just before.
    #[cfg(feature = "dpop")]
    pub fn refusal(&mut self, s: u32, now: f64, id: u32) {
        let body = self.walked();
        let text = |f: Field| match f {
            Field::Str(s) => Some(s),
            _ => None,
        };
        let (error, description) = (text(field_at(&body, "error")), text(field_at(&body, "error_description")));
        self.event(s, |_| Some(Event::Refusal { now, id, error, description }));
    }

    /// `key_created`: inbox holds the stored keys.
    #[cfg(feature = "dpop")]
    pub fn key_created(&mut self, s: u32, now: f64) {
        self.event(s, |b| Some(Event::KeyCreated { now, stored: b.stored() }));
    }

    /// `dpopProof`: inbox holds the method, the absolute URL, then the stored keys.
    #[cfg(feature = "dpop")]
    pub fn prove(&mut self, s: u32, now: f64, id: u32) {
        self.event(s, |b| {
            let (method, url) = (b.take().unwrap_or_default(), b.take().unwrap_or_default());
            Some(Event::Prove { now, id, method, url, stored: b.stored() })
        });
    }

    /// `verdict` of `isExpired`: inbox holds the stored keys.
    pub fn verdict(&mut self, s: u32, now: f64, id: u32, expired: bool) {
        self.event(s, |b| Some(Event::Verdict { now, id, expired, stored: b.stored() }));
    }

    /// `verdict` of `expiredBodyCodes`: the body was walked just before (`UNDEFINED` when it is not
    /// JSON); inbox holds the stored keys.
    pub fn body(&mut self, s: u32, now: f64, id: u32, rules: u32) {
        let body = self.walked();
        let Some(session) = self.session(s) else { return };
        let o = rules_at(&session.rules, rules);
        let field = field_at(&body, &o.expired_body_field);
        let expired = o.expired_body_codes.iter().any(|c| c.matches(&field));
        self.verdict(s, now, id, expired);
    }

    /// `refreshed`: how the call ended ([`wire::Call`]). For `RESPONSE` the body's JSON was walked
    /// just before (`UNDEFINED` when it is not a JSON object), for `RETURNED` what the app's
    /// function returned. Inbox: `Retry-After`, the thrown error's `name` and `code` (`THREW`,
    /// `BAD_HEADERS`), then the stored keys. The failures and their messages are those the package
    /// has always given.
    pub fn refreshed(&mut self, s: u32, now: f64, flight: u32, how: u32, status: u32, jitter: f64) {
        let body = self.walked();
        let retry_after = self.take();
        let code = {
            let _name = self.take();
            self.take()
        };
        let nonce = self.take();
        let Some(session) = self.session(s) else { return };
        let endpoint = matches!(session.opts().source, Source::Endpoint { .. });
        let failed = |why: &str| Some(Failure { caused: true, ..Failure::new(Code::RefreshFailed, &["the refresh failed: ", why]) });
        let returned = how == wire::Call::Returned as u32;
        let p = &session.opts().token_paths;
        let paths = if returned { ["accessToken", "refreshToken", "expiresIn"] } else { [p.access.as_str(), p.refresh.as_str(), p.expires_in.as_str()] };
        let at = |p: &str| field_at(&body, p);
        let json = matches!(body, Value::Map(_));
        let access = token_at(paths[0], &ACCESS_NAMES, at);
        let failure = match wire::Call::from_wire(how) {
            Some(wire::Call::Threw) if code.as_deref() == Some("SESSION_EXPIRED") => {
                Some(Failure::new(Code::SessionExpired, &["the refresh function refused the session (SESSION_EXPIRED)"]))
            }
            Some(wire::Call::Threw) | None => failed(if endpoint { "network error" } else { "the refresh function threw" }),
            Some(wire::Call::NotAResponse) => failed("the fetch option returned something that is not a Response").map(|f| Failure { caused: false, ..f }),
            Some(wire::Call::BadHeaders) => failed("refreshHeaders gave something that is not a set of headers"),
            Some(wire::Call::Returned) if access == Field::Missing => {
                failed("the refresh function must return a Response or { accessToken, refreshToken?, expiresIn? }").map(|f| Failure { caused: false, ..f })
            }
            Some(wire::Call::Returned | wire::Call::Response) => None,
        };
        let fields = match &body {
            Value::Map(entries) if access == Field::Missing => field_names(entries),
            _ => String::new(),
        };
        let reply = Reply {
            status: if returned { 200 } else { status.min(999) as u16 },
            json,
            refresh: token_at(paths[1], &REFRESH_NAMES, at),
            expires_in: token_at(paths[2], &EXPIRES_NAMES, at),
            oauth_error: at("error"),
            token_type: at("token_type"),
            description: match at("error_description") {
                Field::Str(s) => Some(s),
                _ => None,
            },
            nonce,
            access,
            retry_after,
            failure,
            access_path: paths[0].into(),
            fields,
        };
        self.event(s, |b| Some(Event::Refreshed { now, flight, reply, jitter, stored: b.stored() }));
    }

    /// `granted`: the lock (or its wait ran out: `held` false); inbox holds the stored keys.
    pub fn granted(&mut self, s: u32, now: f64, flight: u32, contended: bool, held: bool) {
        self.event(s, |b| Some(Event::Granted { now, flight, contended, held, stored: b.stored() }));
    }

    /// `timer` of `kind` for `flight` fired; inbox holds the stored keys.
    pub fn timer(&mut self, s: u32, now: f64, kind: u32, flight: u32, jitter: f64) {
        self.event(s, |b| {
            let timer = match TimerKind::from_wire(kind)? {
                TimerKind::Gate => Timer::Gate(flight),
                TimerKind::Settle => Timer::Settle(flight),
                TimerKind::Timeout => Timer::Timeout(flight),
            };
            Some(Event::Timer { now, timer, jitter, stored: b.stored() })
        });
    }

    /// `setTokens`: its argument was walked just before; inbox holds the stored keys. What is not
    /// a string is no token (the core then refuses it); in a cookie session a truthy
    /// `refreshToken` is refused too.
    pub fn set_tokens(&mut self, s: u32, now: f64) {
        let tokens = self.walked();
        let Value::Map(entries) = tokens else {
            return self.event(s, |b| Some(Event::SetTokens { now, access: String::new(), refresh: None, stored: b.stored() }));
        };
        let get = |k: &str| entries.iter().rev().find(|(key, _)| key == k).map(|(_, v)| v);
        let access = match get("accessToken") {
            Some(Value::Str(a)) => a.clone(),
            _ => String::new(),
        };
        let refresh = match get("refreshToken") {
            Some(Value::Str(r)) if !r.is_empty() => Some(r.clone()),
            None | Some(Value::Undefined | Value::Null | Value::Bool(false) | Value::Str(_)) => None,
            Some(Value::Num(n)) if *n == 0.0 || n.is_nan() => None,
            // Truthy and not a string: refused as no token.
            Some(_) => Some(String::new()),
        };
        self.event(s, |b| Some(Event::SetTokens { now, access, refresh, stored: b.stored() }));
    }

    /// The answer to a request sent by a `SHORTCUT`; inbox: the token it carried, `Date`, stored
    /// keys. `false`: the session has ended (the answer is then the caller's as it is).
    pub fn shortcut_answer(&mut self, s: u32, now: f64, id: u32, rules: u32, seen: f64, status: u32) -> bool {
        if self.session(s).is_none() {
            return false;
        }
        self.event(s, |b| {
            let token = b.take().unwrap_or_default();
            let date = b.take();
            Some(Event::ShortcutAnswer { now, id, rules, token, seen: seen as u64, status: status.min(999) as u16, date, stored: b.stored() })
        });
        true
    }

    /// The answers parked under a `PARK` of `rules` (`seen` as it gave it); inbox: their ids, as
    /// decimal numbers separated by commas, then the stored keys.
    pub fn parked(&mut self, s: u32, now: f64, rules: u32, seen: f64) {
        self.event(s, |b| {
            let ids = numbers(&b.take().unwrap_or_default());
            Some(Event::Parked { now, rules, seen: seen as u64, ids, stored: b.stored() })
        });
    }

    /// Whether an answer with `status` to a `SHORTCUT` request of `rules` is the caller's without the core
    /// (its `Date` aside): not an "expired" status.
    pub fn quiet(&mut self, s: u32, rules: u32, status: u32) -> bool {
        self.session(s).is_some_and(|x| !rules_at(&x.rules, rules).expired_statuses.iter().any(|e| *e as u32 == status))
    }

    /// Session `s`'s [`Machine::generation`] (a `SHORTCUT` holds while it is unchanged).
    pub fn generation(&mut self, s: u32) -> f64 {
        self.session(s).map_or(f64::NAN, |x| x.machine.generation() as f64)
    }

    /// `getAccessToken` (`min_validity_ms`: NaN for what is not a number); inbox: stored keys.
    pub fn token(&mut self, s: u32, now: f64, id: u32, min_validity_ms: f64) {
        self.event(s, |b| Some(Event::Token { now, id, min_validity_ms, stored: b.stored() }));
    }

    /// `refresh()`; inbox: stored keys.
    pub fn force_refresh(&mut self, s: u32, now: f64, id: u32) {
        self.event(s, |b| Some(Event::ForceRefresh { now, id, stored: b.stored() }));
    }

    /// `stats()` of session `s` (zeros for none).
    pub fn stats(&mut self, s: u32) -> Stats {
        self.session(s).map(|x| x.machine.stats()).unwrap_or_default()
    }

    /// Events that carry the stored keys alone (inbox), by their export's name.
    pub fn heard(&mut self, s: u32, now: f64, what: Heard) {
        self.event(s, |b| {
            let stored = b.stored();
            Some(match what {
                Heard::Storage => Event::Storage { now, stored },
                Heard::Online => Event::Online { now, stored },
                Heard::Open => Event::Open { now, stored },
                Heard::Resume => Event::Resume { now, stored },
            })
        });
    }

    /// Web Storage threw (a read, or a write whose keys the shell put back). How many commands the
    /// core put first, for the shell to carry at once.
    pub fn storage_failed(&mut self, s: u32, now: f64) -> u32 {
        let Some(x) = self.session(s) else { return 0 };
        let before = x.machine.waiting();
        x.machine.handle(Event::StorageFailed { now });
        (x.machine.waiting() - before) as u32
    }

    /// Events that carry no string.
    pub fn plain(&mut self, s: u32, event: Event) {
        self.event(s, |_| Some(event));
    }

    /// Whether session `s` still needs its shell: an instance, a request or a flight (an ended one
    /// is forgotten there, and a new instance gets a new session).
    pub fn alive(&mut self, s: u32) -> bool {
        self.session(s).is_some_and(|x| x.machine.alive())
    }

    /// Whether session `s` is refreshing (`isRefreshing`).
    pub fn refreshing(&mut self, s: u32) -> bool {
        self.session(s).is_some_and(|x| x.machine.is_refreshing())
    }

    /// Drains session `s`'s next command into [`Boundary::out`]; its op, 0 when none is left.
    pub fn next(&mut self, s: u32) -> u32 {
        self.out = Out::default();
        let Some(Some(session)) = self.sessions.get_mut((s as usize).wrapping_sub(1)) else { return 0 };
        let Some(c) = session.machine.poll() else { return 0 };
        let opts = session.opts();
        let out = &mut self.out;
        let (op, id) = match c {
            Command::Pass { id, watch } => {
                out.code = watch as u32;
                (Op::Pass, id)
            }
            Command::Send { id, rules, token, last } => {
                out.texts[0] = token.map(|t| rules_at(&session.rules, rules).header_value(&t));
                (if last { Op::SendLast } else { Op::Send }, id)
            }
            Command::Ask { id, how } => {
                out.code = match how {
                    Judge::Body => JudgeKind::Body,
                    Judge::App => JudgeKind::App,
                    Judge::Error => JudgeKind::Error,
                } as u32;
                (Op::Ask, id)
            }
            Command::Resolve { id } => (Op::Resolve, id),
            Command::Reject { id, why } => {
                out.code = match &why {
                    Why::Auth(_) => WhyKind::Auth,
                    Why::Aborted => WhyKind::Aborted,
                    Why::Transport => WhyKind::Transport,
                } as u32;
                if let Why::Auth(e) = why {
                    out.failure(&e);
                }
                (Op::Reject, id)
            }
            Command::Lock { flight, budget_ms } => {
                out.number = budget_ms;
                (Op::Lock, flight)
            }
            Command::Unlock { flight, mark_ms } => {
                out.number = mark_ms;
                (Op::Unlock, flight)
            }
            Command::Refresh { flight, via } => {
                match via {
                    Via::Endpoint { content_type, body } => {
                        out.texts[2] = Some(content_type.into());
                        out.texts[3] = Some(body);
                    }
                    Via::Function { refresh, access } => {
                        out.texts[0] = refresh;
                        out.texts[1] = access;
                    }
                }
                (Op::Refresh, flight)
            }
            Command::Shortcut { rules, origin, except, token, seen, generation, until } => {
                out.texts = [Some(origin), except, Some(rules_at(&session.rules, rules).header_value(&token)), Some(token), None];
                out.code = rules;
                out.seen = seen as f64;
                out.generation = generation as f64;
                out.number = until;
                (Op::Shortcut, 0)
            }
            Command::Park { rules, seen, generation } => {
                // The statuses are the rules' `expiredStatuses`, as `quiet` reads them.
                let mut list = String::new();
                for (i, status) in rules_at(&session.rules, rules).expired_statuses.iter().enumerate() {
                    if i > 0 {
                        list.push(',');
                    }
                    list.push_str(&crate::code::decimal(*status as u64));
                }
                out.texts[0] = Some(list);
                out.code = rules;
                out.seen = seen as f64;
                out.generation = generation as f64;
                (Op::Park, 0)
            }
            Command::Give { id, token } => {
                out.texts[0] = token;
                (Op::Give, id)
            }
            Command::CancelRefresh { flight } => (Op::CancelRefresh, flight),
            Command::Store { pair, expect } => {
                out.code = match &expect {
                    Expect::Any => ExpectKind::Any,
                    Expect::Pair(Some(_)) => ExpectKind::Pair,
                    Expect::Pair(None) => ExpectKind::Nothing,
                } as u32;
                if let Expect::Pair(Some(p)) = expect {
                    out.texts[3] = Some(p.access);
                    out.texts[4] = p.refresh;
                }
                if let Some(p) = pair {
                    out.texts[2] = Some(fingerprint(&p));
                    out.texts[0] = Some(p.access);
                    out.texts[1] = p.refresh;
                }
                (Op::Store, 0)
            }
            Command::Memory => (Op::Memory, 0),
            Command::StoreBackoff { value } => {
                out.texts[0] = value;
                (Op::StoreBackoff, 0)
            }
            Command::Timer { at, timer } => {
                out.number = at;
                let (kind, flight) = timer_wire(timer);
                out.code = kind as u32;
                (Op::Timer, flight)
            }
            Command::CancelTimer { timer } => {
                let (kind, flight) = timer_wire(timer);
                out.code = kind as u32;
                (Op::CancelTimer, flight)
            }
            Command::Notify(n) => {
                out.code = match n {
                    Notice::Refreshed { duration_ms } => {
                        out.number = duration_ms;
                        NoticeKind::Refreshed
                    }
                    Notice::RefreshError(e) => {
                        out.failure(&e);
                        NoticeKind::RefreshError
                    }
                    Notice::Logout(code) => {
                        out.texts[0] = Some(code.as_str().into());
                        NoticeKind::Logout
                    }
                    Notice::LoggedOut => {
                        out.texts[0] = Some("LOGOUT".into());
                        NoticeKind::Logout
                    }
                    Notice::Tokens { reason, expires_at } => {
                        out.texts[0] = Some(reason.into());
                        out.number = expires_at.unwrap_or(f64::NAN);
                        NoticeKind::Tokens
                    }
                    Notice::Navigate => {
                        out.texts[0] = opts.login_url.clone();
                        NoticeKind::Navigate
                    }
                    Notice::Warn(text) => {
                        out.texts[0] = Some(text.into());
                        NoticeKind::Warn
                    }
                    // Once per origin for the page, whichever session heard it.
                    Notice::PassedThrough { status, origin } => {
                        if self.told.contains(&origin) || self.told.len() >= MAX_TOLD {
                            return self.next(s);
                        }
                        let line = ["seamless-fetch: a ", &crate::code::decimal(status as u64), " from ", &origin, " was passed through: that origin is not in allowedOrigins"].concat();
                        self.told.push(origin);
                        out.texts[0] = Some(line);
                        NoticeKind::Warn
                    }
                } as u32;
                (Op::Notify, 0)
            }
            Command::Resume => (Op::Resume, 0),
            #[cfg(feature = "dpop")]
            Command::Proof { id, claims, ath, of } => {
                out.texts[0] = Some(claims);
                out.texts[1] = ath;
                out.code = match of {
                    Proven::Send => ProvenKind::Send,
                    Proven::Refresh => ProvenKind::Refresh,
                    Proven::Caller => ProvenKind::Caller,
                } as u32;
                (Op::Proof, id)
            }
            #[cfg(feature = "dpop")]
            Command::DropKey(remove) => {
                out.code = match remove {
                    Remove::Keep => RemoveKind::Keep,
                    Remove::Used => RemoveKind::Used,
                    Remove::Any => RemoveKind::Any,
                } as u32;
                (Op::DropKey, 0)
            }
            Command::Invalid(e) => {
                out.failure(&e);
                (Op::Invalid, 0)
            }
        };
        self.out.op = op as u32;
        self.out.id = id;
        self.out.op
    }

    /// Where `NAVIGATE` goes, in `texts[0]` (none: stay). Inbox: the page's path (null: no page,
    /// a worker), its query and fragment, and `loginUrl`'s path resolved against the page. A page
    /// already on the login page stays; the return path is only ever a path of this origin.
    pub fn login_target(&mut self, s: u32) {
        let here = self.take();
        let rest = self.take().unwrap_or_default();
        let login_path = self.take();
        self.out = Out::default();
        let Some(session) = self.session(s) else { return };
        let opts = session.opts();
        let Some(login) = &opts.login_url else { return };
        let target = match (&here, &opts.login_return_param) {
            (Some(here), _) if login_path.as_ref() == Some(here) => return,
            (Some(here), Some(param)) => with_return_param(login, param, safe_return_path(&[here.as_str(), &rest].concat(), "/")),
            _ => login.clone(),
        };
        self.out.texts[0] = Some(target);
    }

    /// Whether the keys read now (inbox: access, refresh) hold no pair, as the core reads a
    /// snapshot: the compare-and-set of a `STORE` that expects `NOTHING` asks this, so that junk
    /// (`""`, `"undefined"`, `"null"`, half a pair) counts as no pair there as it does in the core.
    pub fn no_pair(&mut self, s: u32) -> bool {
        let (access, refresh) = (self.take(), self.take());
        let cookie = self.session(s).is_some_and(|x| x.opts().cookie);
        !(access.as_deref().is_some_and(present) && (cookie || refresh.as_deref().is_some_and(present)))
    }

    /// `AuthFetch.safeReturnPath` (inbox: the value, the fallback), in `texts[0]`.
    pub fn safe_return_path(&mut self) {
        let value = self.take();
        let fallback = self.take().unwrap_or_default();
        self.out = Out::default();
        self.out.texts[0] = Some(safe_return_path(value.as_deref().unwrap_or(""), &fallback).into());
    }
}

/// An answer's field names for an error: at most 8, each cut to 32 characters and printable ASCII
/// (never a value).
fn field_names(entries: &[(String, Value)]) -> String {
    let mut out = String::new();
    for (k, _) in entries.iter().take(8) {
        if !out.is_empty() {
            out.push_str(", ");
        }
        out.extend(k.chars().take(32).map(|c| if (' '..='~').contains(&c) { c } else { '?' }));
    }
    if entries.len() > 8 {
        out.push_str(" and ");
        out.push_str(&crate::code::decimal(entries.len() as u64 - 8));
        out.push_str(" more");
    }
    if out.is_empty() {
        out.push_str("no fields");
    }
    out
}

/// The value at a dotted path of a walked JSON value, as the refresh rules read it.
fn field_at(v: &Value, path: &str) -> Field {
    let mut at = v;
    for part in path.split('.') {
        let Value::Map(entries) = at else { return Field::Missing };
        match entries.iter().find(|(k, _)| k == part) {
            Some((_, v)) => at = v,
            None => return Field::Missing,
        }
    }
    match at {
        Value::Str(s) => Field::Str(s.clone()),
        Value::Num(n) => Field::Num(*n),
        Value::Null | Value::Undefined => Field::Missing,
        _ => Field::Other,
    }
}

#[cfg(test)]
mod tests;

/// The numbers of a list the shell wrote as decimal numbers separated by commas (a byte that is
/// neither is read as a digit: the shell writes none).
fn numbers(list: &str) -> Vec<u32> {
    let mut out = Vec::new();
    let mut n: Option<u32> = None;
    for b in list.bytes().chain([b',']) {
        match (b, n) {
            (b',', Some(v)) => out.push(v),
            (b',', None) => {}
            (d, v) => {
                n = Some(v.unwrap_or(0).wrapping_mul(10).wrapping_add(d.wrapping_sub(b'0') as u32));
                continue;
            }
        }
        n = None;
    }
    out
}

/// A timer as the protocol names it: its kind and its flight.
fn timer_wire(timer: Timer) -> (TimerKind, u32) {
    match timer {
        Timer::Gate(f) => (TimerKind::Gate, f),
        Timer::Settle(f) => (TimerKind::Settle, f),
        Timer::Timeout(f) => (TimerKind::Timeout, f),
    }
}

/// The machine's request rules of an instance with `opts` (and `isExpired` when `is_expired`).
fn rules_of(opts: &Options, is_expired: bool) -> Rules {
    Rules {
        allowed_origins: opts.allowed_origins.clone(),
        expired_statuses: opts.expired_statuses.clone(),
        body_codes: !opts.expired_body_codes.is_empty(),
        app_judges: is_expired,
    }
}

/// The options of request rules `i` (an index the shell reports: untrusted; an unknown one reads
/// as the session's first instance's).
fn rules_at(rules: &[(Options, bool)], i: u32) -> &Options {
    &rules.get(i as usize).unwrap_or(&rules[0]).0
}

impl Session {
    /// The session's options: its first instance's.
    fn opts(&self) -> &Options {
        &self.rules[0].0
    }
}

//! DPoP in the core (`dpop: true`, RFC 9449): which attempt carries a proof and what it claims,
//! the nonce of each origin, a nonce challenge retried once per attempt (never an expired token,
//! never the replay), a refused proof, and the key's life: dropped with the session, and a key
//! made while tokens remain means the key they were bound to is gone. The proof's content is
//! decided here (`dpop::claims`); the shell signs it.
//!
//! Without the `dpop` feature (the default entry) the events and commands of DPoP are compiled
//! out, and what only they use here is left unused: ~0.2 KB gzip less wasm for every app.
#![cfg_attr(not(feature = "dpop"), allow(dead_code, unused_imports))]

use alloc::boxed::Box;
use alloc::string::String;

use crate::code::{Code, Failure};
use crate::dpop::{challenge, claims, is_nonce, printable, token_error, Challenge};
use crate::refresh::Field;
use crate::policy::origin_of;

#[cfg(feature = "dpop")]
use super::protocol::{Command, Proven};
use super::protocol::{Expect, Judge, Remove, Reply, Stored, Why};
use super::requests::Phase;
use super::Machine;

/// At most this many origins' nonces are kept (the oldest is forgotten).
const MAX_NONCES: usize = 16;

/// What a request's proofs say, and where its nonce retry stands.
pub(super) struct Target {
    method: String,
    url: String,
    /// The app's own request to the refresh endpoint: a proof, never the token.
    endpoint: bool,
    /// This attempt was sent again for a nonce challenge already.
    pub(super) nonce_retried: bool,
    /// This attempt is the last (a replay, a `no-refresh` request): its answer is the caller's
    /// whatever it says, as a `Send` with `last` would have it, but the core still reads it.
    pub(super) last: bool,
    /// The challenge of the answer being judged (`DpopHeaders`, just before it).
    challenge: Option<Challenge>,
}

/// What a refresh answer's `error` says about DPoP (`dpop::token_error`).
pub(super) fn reply_error(r: &Reply) -> Option<Challenge> {
    let error = match &r.oauth_error {
        Field::Str(e) => Some(e.as_str()),
        _ => None,
    };
    token_error(r.status, error, r.description.as_deref())
}

fn refused(parts: &[&str]) -> Failure {
    Failure::new(Code::DpopRefused, parts)
}

impl Machine {
    /// Notes what the proofs of request `id` say (`method` as fetch normalised it).
    pub(super) fn aim(&mut self, id: u32, method: Option<String>, url: &str, endpoint: bool) {
        if let Some(r) = self.requests.get_mut(&id) {
            let method = method.unwrap_or_else(|| "GET".into());
            r.target = Some(Box::new(Target { method, url: url.into(), endpoint, nonce_retried: false, last: false, challenge: None }));
        }
    }

    /// The claims of a proof for `method` and `url` now, with the nonce its origin gave last.
    fn claims_for(&self, method: &str, url: &str) -> String {
        let nonce = origin_of(url).and_then(|o| self.nonces.iter().find(|(k, _)| k == o)).map(|(_, n)| n.as_str());
        claims(method, url, self.clock.server(self.now), nonce)
    }

    /// Keeps `nonce` (a `DPoP-Nonce` header, untrusted) as the nonce of `url`'s origin. Past
    /// [`MAX_NONCES`] origins all are forgotten (a server asks again: `use_dpop_nonce`).
    pub(super) fn hear_nonce(&mut self, url: &str, nonce: Option<&str>) {
        let (Some(origin), Some(nonce)) = (origin_of(url), nonce.filter(|n| is_nonce(n))) else { return };
        match self.nonces.iter_mut().find(|(k, _)| k == origin) {
            Some((_, n)) => *n = nonce.into(),
            None => {
                if self.nonces.len() >= MAX_NONCES {
                    self.nonces.clear();
                }
                self.nonces.push((origin.into(), nonce.into()));
            }
        }
    }

    /// The proof of the `Send` of `id` about to go with `token`: one with the token (bound to it
    /// by `ath`), or one of the app's own request to the refresh endpoint.
    #[cfg_attr(not(feature = "dpop"), allow(unused_variables))]
    pub(super) fn prove_send(&mut self, id: u32, token: Option<&str>) {
        #[cfg(feature = "dpop")]
        if self.dpop() {
            let Some(t) = self.requests.get(&id).and_then(|r| r.target.as_deref()) else { return };
            if token.is_some() || t.endpoint {
                let claims = self.claims_for(&t.method, &t.url);
                self.push(Command::Proof { id, claims, ath: token.map(String::from), of: Proven::Send });
            }
        }
    }

    /// The proof of flight `flight`'s call to the refresh endpoint.
    #[cfg_attr(not(feature = "dpop"), allow(unused_variables))]
    pub(super) fn prove_refresh(&mut self, flight: u32) {
        #[cfg(feature = "dpop")]
        if let (true, Some(url)) = (self.dpop(), self.cfg.refresh_url.as_deref()) {
            let claims = self.claims_for("POST", url);
            self.push(Command::Proof { id: flight, claims, ath: None, of: Proven::Refresh });
        }
    }

    /// `dpopProof({method, url})`: a proof for the app's own request, with `ath` of the stored
    /// access token when there is one.
    #[cfg(feature = "dpop")]
    pub(super) fn prove(&mut self, id: u32, method: &str, url: &str, s: &Stored) {
        if !self.dpop() {
            return self.reject(id, Failure::new(Code::InvalidOptions, &["dpopProof() needs the option dpop: true"]));
        }
        let ath = self.stored_access(s).ok().flatten().map(String::from);
        let claims = self.claims_for(method, url);
        self.push(Command::Proof { id, claims, ath, of: Proven::Caller });
    }

    /// The DPoP headers of the answer to `id`, just before its `Answer`.
    #[cfg(feature = "dpop")]
    pub(super) fn dpop_headers(&mut self, id: u32, nonce: Option<&str>, header: Option<&str>) {
        if !self.dpop() {
            return;
        }
        let Some(t) = self.requests.get_mut(&id).and_then(|r| r.target.as_mut()) else { return };
        t.challenge = header.and_then(challenge);
        let url = t.url.clone();
        self.hear_nonce(&url, nonce);
    }

    /// The DPoP part of judging the answer to `id` (sent with `token`, `seen`): true when it is
    /// decided here. A 401 nonce challenge is sent again at once with the new nonce (once per
    /// attempt: not the replay, not an expired token); a refused proof is the caller's error; a
    /// last attempt's answer is the caller's; a 400 from the refresh endpoint to the app's own
    /// request is read for its `error`.
    pub(super) fn dpop_answer(&mut self, id: u32, status: u16, token: &Option<String>, seen: u64, s: &Stored) -> bool {
        let nonce_expires = super::mutant!(self, NonceExpires);
        // A flight or a reset finished since the attempt left, or storage holds another token now
        // (a logout, new tokens): its token is no longer the one to send again; the answer goes
        // the usual way (simulation, seeds 220 and 473266).
        let current = self.completed <= seen && self.stored_access(s).ok().flatten() == token.as_deref();
        let Some(r) = self.requests.get_mut(&id) else { return true };
        let Some(t) = r.target.as_mut() else { return false };
        let challenge = t.challenge.take();
        if t.endpoint {
            if status == 400 {
                self.ask(id, None, seen, Judge::Error);
            } else {
                self.settle(id, Ok(()));
            }
            return true;
        }
        match challenge {
            Some(Challenge::UseNonce) if nonce_expires || !current => return false,
            Some(Challenge::UseNonce) if status == 401 && !t.nonce_retried => {
                t.nonce_retried = true;
                self.send(id, token.clone(), seen);
            }
            // Challenged again: the server's answer is the caller's (it is no expired token).
            Some(Challenge::UseNonce) if status == 401 => self.settle(id, Ok(())),
            Some(Challenge::BadProof(why)) if status == 401 => self.settle(id, Err(Why::Auth(self.proof_refused("the server", &why, token.as_deref())))),
            _ if t.last => self.settle(id, Ok(())),
            _ => return false,
        }
        true
    }

    /// The `error` of a 400 the refresh endpoint gave the app's own request (`Judge::Error`).
    #[cfg(feature = "dpop")]
    pub(super) fn refusal(&mut self, id: u32, error: Option<&str>, description: Option<&str>) {
        if !self.dpop() {
            return;
        }
        let Some(r) = self.requests.get_mut(&id) else { return };
        let Phase::Asking { seen, how: Judge::Error, .. } = r.phase else { return };
        r.phase = Phase::Idle;
        let retried = r.target.as_ref().is_some_and(|t| t.nonce_retried);
        match token_error(400, error, description) {
            Some(Challenge::UseNonce) if !retried => {
                if let Some(t) = r.target.as_mut() {
                    t.nonce_retried = true;
                }
                self.send(id, None, seen);
            }
            Some(Challenge::BadProof(why)) => self.settle(id, Err(Why::Auth(self.proof_refused("the refresh endpoint", &why, None)))),
            _ => self.settle(id, Ok(())),
        }
    }

    /// `who` refused a proof, saying `why`: server text, shown printable and cut short, and left
    /// out whole when it holds a token this page sent (`sent`) or holds (checked before it is cut,
    /// so that no part of one shows).
    fn proof_refused(&self, who: &str, why: &str, sent: Option<&str>) -> Failure {
        let held = self.held.as_ref();
        let tokens = [sent, held.map(|p| p.access.as_str()), held.and_then(|p| p.refresh.as_deref())];
        let quotes = |t: &str| !t.is_empty() && why.as_bytes().windows(t.len()).any(|w| w == t.as_bytes());
        let why = if why.is_empty() || tokens.into_iter().flatten().any(quotes) { "no description".into() } else { printable(why.as_bytes()) };
        refused(&[who, " refused the DPoP proof (invalid_dpop_proof: ", &why, ")"])
    }

    /// What a refresh answer means with DPoP beyond `refresh::classify`: a refused proof, or
    /// tokens that are not DPoP-bound (never stored, never sent as bearer).
    pub(super) fn dpop_refused(&self, r: &Reply) -> Option<Failure> {
        if !self.dpop() {
            return None;
        }
        if let Some(Challenge::BadProof(why)) = reply_error(r) {
            return Some(self.proof_refused("the refresh endpoint", &why, None));
        }
        match (r.status, &r.token_type) {
            (200..=299, Field::Str(t)) if t.eq_ignore_ascii_case("DPoP") => None,
            (200..=299, _) => Some(refused(&["the refresh answer's token_type is not DPoP: the server did not bind the tokens to this browser's key; they were not stored (dpop: true)"])),
            _ => None,
        }
    }

    /// The shell made the DPoP key, none being stored. Tokens stored now were bound to a key that
    /// is gone (browser data cleared): no proof can ever use them, so the session ends here,
    /// without spending the refresh token on a refusal.
    ///
    /// No proof was signed in this page before (signing waits for the key): the attempts sent
    /// with a token still wait for it in the shell, and are rejected instead (the shell sends no
    /// attempt it no longer holds); a refresh call waiting for it is cancelled.
    #[cfg(feature = "dpop")]
    pub(super) fn key_created(&mut self, now: f64, s: &Stored) {
        if !self.dpop() || super::mutant!(self, KeyLostKept) {
            return;
        }
        // A call a reset took away that waited for this key would spend, with a key its refresh
        // token is not bound to, a session that is gone: cancelled (simulation, seed 450).
        self.cancel_orphans();
        let Ok(Some(pair)) = self.tokens(s) else { return };
        let pair = pair.owned();
        self.push(Command::Store { pair: None, expect: Expect::Pair(Some(pair)) });
        let e = Failure::new(Code::DpopKeyLost, &["the DPoP key the tokens were bound to is gone (browser data cleared?): they cannot be used; log in again"]);
        for id in self.requests.ids() {
            if matches!(self.requests.get(&id), Some(r) if matches!(r.phase, Phase::Sent { token: Some(_), .. })) {
                self.settle(id, Err(Why::Auth(e.clone())));
            }
        }
        self.cancel_call();
        self.end_session(e.code);
        self.reset(now, Err(e), &Stored::default());
    }

    /// The session's key goes with it (`Remove` says which record; see `Command::DropKey`).
    #[cfg_attr(not(feature = "dpop"), allow(unused_variables))]
    pub(super) fn drop_key(&mut self, remove: Remove) {
        #[cfg(feature = "dpop")]
        if self.dpop() {
            self.push(Command::DropKey(remove));
        }
    }
}

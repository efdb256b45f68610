//! Where the two tokens live. Values are plain strings under the configured keys, so an app that
//! already reads `localStorage.getItem("token")` keeps working. Web Storage is read on every use:
//! that is how writes by other tabs, or by the app itself, are seen without any cache to go stale.
//!
//! Everything read back is untrusted: `""`, `"undefined"`, `"null"` or one token without the other
//! read as "no session"; a value that is there but is not a valid token is an `INVALID_TOKEN`
//! error, so it is never sent. Storage that throws (quota, disabled storage, private mode) falls
//! back to memory with one warning.
//!
//! A third key, `<accessTokenKey>:pair`, holds a short fingerprint of the pair written last. Other
//! tabs see our writes one key at a time (Chromium shows them late and in pieces); a fingerprint
//! that does not match tells them they are looking at half of a write, so they never spend an old
//! refresh token that belongs with an older access token.

use alloc::string::String;
use core::cell::{Cell, RefCell};

use wasm_bindgen::JsValue;

use crate::errors::{AuthError, Code};
use crate::js;
use crate::options::StorageKind;
use crate::policy::is_b64token;

pub use crate::pair::Pair;
use crate::pair::{fingerprint, present};

/// The token store of one set of keys.
pub struct TokenStore {
    web: RefCell<Option<web_sys::Storage>>,
    memory: RefCell<Option<Pair>>,
    warned: Cell<bool>,
    cookie: bool,
    access_key: String,
    refresh_key: String,
    stamp_key: String,
    backoff_key: String,
    /// The two keys as JS strings, and the last pair read with the JS values it was read from:
    /// every request reads storage, and most find what the one before found.
    keys: (JsValue, JsValue),
    last: Cell<Option<(JsValue, JsValue, Pair)>>,
}

impl TokenStore {
    /// Opens the chosen storage; unavailable Web Storage means memory (with a warning). With
    /// `cookie`, only the access token is kept: the refresh token is in a cookie JS cannot read.
    pub fn new(kind: StorageKind, access_key: &str, refresh_key: &str, cookie: bool) -> TokenStore {
        let store = TokenStore {
            web: RefCell::new(None),
            memory: RefCell::new(None),
            warned: Cell::new(false),
            cookie,
            access_key: access_key.into(),
            refresh_key: refresh_key.into(),
            stamp_key: [access_key, ":pair"].concat(),
            backoff_key: [access_key, ":backoff"].concat(),
            keys: (JsValue::from_str(access_key), JsValue::from_str(refresh_key)),
            last: Cell::new(None),
        };
        if kind != StorageKind::Memory {
            let window = web_sys::window();
            let web = window.and_then(|w| match kind {
                StorageKind::Session => w.session_storage().ok().flatten(),
                _ => w.local_storage().ok().flatten(),
            });
            match web {
                Some(s) => *store.web.borrow_mut() = Some(s),
                None => store.fall_back(),
            }
        }
        store
    }

    /// Where the JS driver reads what this store reads (see `Session::mirror`): the Web Storage
    /// (null: memory) and the keys of the access and refresh token (null: a cookie session reads
    /// no refresh token).
    pub fn source(&self) -> (JsValue, JsValue, JsValue) {
        let web = self.web.borrow().clone().map_or(JsValue::NULL, JsValue::from);
        (web, self.keys.0.clone(), if self.cookie { JsValue::NULL } else { self.keys.1.clone() })
    }

    /// The tokens, if storage holds a pair; an error if it holds something that is not a token.
    /// One call into JS reads both and says whether they are the strings read last.
    pub fn read(&self) -> Result<Option<Pair>, AuthError> {
        let web = self.web.borrow().clone();
        let Some(web) = web else {
            return Ok(self.memory.borrow().clone());
        };
        // Taken out while JS runs (no borrow across the call), put back when still current.
        let last = self.last.take();
        let none = JsValue::UNDEFINED; // never what getItem returns
        let (last_access, last_refresh) = last.as_ref().map_or((&none, &none), |(a, r, _)| (a, r));
        let no_key = JsValue::NULL;
        let refresh_key = if self.cookie { &no_key } else { &self.keys.1 };
        let Ok(same) = js::read_tokens(&web, &self.keys.0, refresh_key, last_access, last_refresh) else {
            // Storage that throws now (quota, a privacy setting changed): the session goes on in
            // memory with the tokens read last, rather than ending for want of them.
            self.fall_back();
            let pair = last.map(|(_, _, pair)| pair);
            *self.memory.borrow_mut() = pair.clone();
            return Ok(pair);
        };
        if let (true, Some((_, _, pair))) = (same, &last) {
            let pair = pair.clone();
            self.last.set(last);
            return Ok(Some(pair));
        }
        let got = js::take_read();
        let (access_js, refresh_js) = (got.get(0), got.get(1));
        let (access, refresh) = (access_js.as_string(), refresh_js.as_string());
        match access {
            Some(access) if present(&access) && (self.cookie || refresh.as_deref().is_some_and(present)) => {
                if !is_b64token(&access) || !refresh.as_deref().map_or(true, is_b64token) {
                    return Err(AuthError::new(Code::InvalidToken, &[
                        "the stored tokens are not valid RFC 6750 tokens (line breaks, spaces, quotes or non-ASCII); nothing was sent. Store tokens with setTokens",
                    ]));
                }
                let pair = Pair { access, refresh };
                self.last.set(Some((access_js, refresh_js, pair.clone())));
                Ok(Some(pair))
            }
            _ => Ok(None),
        }
    }

    /// False when the stored fingerprint says `pair` came from two different writes (another tab
    /// is midway through writing a new pair). Read only before spending a refresh token.
    pub fn is_consistent(&self, pair: &Pair) -> bool {
        let web = self.web.borrow().clone();
        let stamp = web.and_then(|web| web.get_item(&self.stamp_key).ok().flatten());
        stamp.map_or(true, |s| s == fingerprint(pair))
    }

    /// Stores a pair; the fingerprint goes last so a reader never sees it match a half-written pair.
    /// When storage refuses any of it (quota), what it held is put back, best effort (other tabs
    /// read it: a new access token beside the old, spent refresh token would have them spend that),
    /// and the pair is kept in memory for this page. Nothing is removed that was there: a failed
    /// write here is no reason to log the other tabs out. They go on with it until they refresh; a
    /// server that rotates refresh tokens may then refuse theirs, which ends their session as any
    /// refusal does.
    pub fn write(&self, pair: &Pair) {
        let web = self.web.borrow().clone();
        if let Some(web) = web {
            let stamp = fingerprint(pair);
            let writes = [(&self.access_key, Some(&pair.access)), (&self.refresh_key, pair.refresh.as_ref()), (&self.stamp_key, Some(&stamp))];
            // Each key is read before it is written (writes are rare: a refresh, setTokens), to be
            // put back if a later write fails.
            let mut before: [Option<Option<String>>; 3] = Default::default();
            let ok = writes.iter().zip(&mut before).all(|((key, value), old)| {
                value.map_or(true, |v| web.get_item(key).map(|o| *old = Some(o)).is_ok() && web.set_item(key, v).is_ok())
            });
            if ok {
                return;
            }
            for ((key, _), old) in writes.iter().zip(before) {
                // Setting a value a key holds already, or removing an absent key, changes nothing.
                if let Some(old) = old {
                    put(&web, key, old.as_deref());
                }
            }
            self.fall_back();
        }
        *self.memory.borrow_mut() = Some(pair.clone());
    }

    /// The refresh back-off other tabs stored (see `backoff.rs`); untrusted text.
    pub fn read_backoff(&self) -> Option<String> {
        let web = self.web.borrow().clone();
        web.and_then(|web| web.get_item(&self.backoff_key).ok().flatten())
    }

    /// Shares this page's back-off with other tabs (`None` removes it). Best effort: a tab that
    /// cannot see it only backs off on its own.
    pub fn write_backoff(&self, value: Option<&str>) {
        let web = self.web.borrow().clone();
        if let Some(web) = web {
            put(&web, &self.backoff_key, value);
        }
    }

    /// Whether the access token's key holds anything. Where [`TokenStore::read`] finds no pair,
    /// this tells a pair being written (another tab wrote the access token and not yet the rest)
    /// from a pair removed: the first is not a logout. Always false for memory.
    pub fn access_written(&self) -> bool {
        let web = self.web.borrow().clone();
        web.and_then(|web| web.get_item(&self.access_key).ok().flatten()).is_some_and(|a| present(&a))
    }

    /// Removes both tokens (and the fingerprint; in a cookie session the refresh key is not ours).
    pub fn clear(&self) {
        let web = self.web.borrow().clone();
        if let Some(web) = web {
            for key in [&self.access_key, &self.stamp_key] {
                let _ = web.remove_item(key);
            }
            if !self.cookie {
                let _ = web.remove_item(&self.refresh_key);
            }
        }
        *self.memory.borrow_mut() = None;
    }

    fn fall_back(&self) {
        *self.web.borrow_mut() = None;
        if !self.warned.replace(true) {
            web_sys::console::warn_1(&crate::machine::stored::STORAGE_WARNING.into());
        }
    }
}

/// Sets `key` to `value`, or removes it for `None`; best effort.
fn put(web: &web_sys::Storage, key: &str, value: Option<&str>) {
    let _ = match value {
        Some(v) => web.set_item(key, v),
        None => web.remove_item(key),
    };
}

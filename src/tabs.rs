//! Coordination with other tabs: the Web Lock that makes one refresh per browser, and the
//! `storage` events that tell this tab what another tab did.

use js_sys::Function;
use wasm_bindgen::prelude::*;

use crate::js;

/// A held (or not obtained) cross-tab refresh lock. Released on drop, so no path can forget it.
pub struct Lock {
    release: Option<Function>,
    /// Another tab held the lock when we asked: it was probably refreshing, and its new tokens may
    /// not be visible to us yet.
    pub contended: bool,
}

impl Lock {
    /// The lock as `js::acquire_lock` (which waits at most its `ms` for each holder ahead)
    /// resolved: without Web Locks (null) an empty, uncontended lock, and the caller goes on alone
    /// (in-tab single flight still holds); after the wait, an empty contended one.
    pub fn from_js(got: &JsValue) -> Lock {
        if got.is_null() || got.is_undefined() {
            return Lock { release: None, contended: false };
        }
        Lock { release: js::get(got, "release").dyn_into().ok(), contended: js::get(got, "contended").is_truthy() }
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        if let Some(release) = self.release.take() {
            let _ = release.call0(&JsValue::UNDEFINED);
        }
    }
}

/// A `storage` listener that lives as long as this value.
pub struct Watcher {
    unsubscribe: Function,
    _callback: Closure<dyn FnMut()>,
}

impl Watcher {
    /// Calls `on_change` whenever another tab changes `key` or `other` (or clears storage): a
    /// pair is written one key at a time, in either order.
    pub fn new(key: &str, other: &str, on_change: impl FnMut() + 'static) -> Watcher {
        let callback = Closure::<dyn FnMut()>::new(on_change);
        let unsubscribe = js::watch_storage(key, other, callback.as_ref().unchecked_ref());
        Watcher { unsubscribe, _callback: callback }
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        let _ = self.unsubscribe.call0(&JsValue::UNDEFINED);
    }
}

//! seamless-fetch: a `fetch` wrapper, compiled to WebAssembly, that refreshes short-lived access
//! tokens seamlessly: one refresh call however many requests find the token expired, every request
//! queued meanwhile and replayed with the new token, one refresh per browser across tabs, and the
//! user sent to the login page only when the refresh itself is refused.
//!
//! Layout, one concern per module:
//! * [`api`]: the `#[wasm_bindgen]` class; converts JS values and delegates.
//! * [`client`]: what happens to one request; [`inflight`]: requests between their steps;
//!   [`coordinator`]: the refresh flag and queue;
//!   [`session`]: the state instances of one page share; [`tabs`]: Web Locks and storage events.
//! * [`refresher`]: the one seam where a refresh is obtained (the endpoint, or the app's function).
//! * [`options`], [`policy`], [`expiry`], [`refresh`], [`backoff`]: plain-Rust rules, tested natively.
//! * [`storage`], [`outgoing`], [`transport`], [`js`]: the browser underneath; [`errors`]: the one error type.

#![cfg_attr(not(test), no_std)]
#![warn(missing_docs)]

extern crate alloc;

#[cfg(not(feature = "shell"))]
pub mod api;
pub mod backoff;
pub mod boundary;
#[cfg(not(feature = "shell"))]
pub mod client;
pub mod code;
#[cfg(not(feature = "shell"))]
pub mod coordinator;
#[cfg(not(feature = "shell"))]
pub mod errors;
pub mod expiry;
#[cfg(all(target_arch = "wasm32", not(feature = "std"), feature = "shell"))]
mod heap;
#[cfg(not(feature = "shell"))]
pub mod inflight;
#[cfg(not(feature = "shell"))]
pub mod js;
pub mod machine;
pub mod options;
pub mod pair;
#[cfg(not(feature = "shell"))]
pub mod outgoing;
pub mod policy;
pub mod refresh;
#[cfg(not(feature = "shell"))]
pub mod refresher;
#[cfg(not(feature = "shell"))]
pub mod session;
#[cfg(not(feature = "shell"))]
pub mod storage;
#[cfg(not(feature = "shell"))]
pub mod tabs;
#[cfg(not(feature = "shell"))]
pub mod transport;

#[cfg(not(feature = "shell"))]
pub use api::AuthFetch;

/// The shipped build's runtime: a small allocator, without std's panic machinery. A panic here can
/// only be a bug; it traps (a `RuntimeError: unreachable` in JS) instead of formatting a message.
#[cfg(all(target_arch = "wasm32", not(feature = "std")))]
mod runtime {
    // Single-threaded, which rlsf's global allocator needs on wasm32 (see `session.rs`: the atomics
    // target feature is refused).
    #[cfg(not(feature = "shell"))]
    #[global_allocator]
    static ALLOC: rlsf::SmallGlobalTlsf = rlsf::SmallGlobalTlsf::new();

    #[cfg(feature = "shell")]
    #[global_allocator]
    static ALLOC: crate::heap::Heap = crate::heap::Heap::new();

    #[panic_handler]
    fn panic(_: &core::panic::PanicInfo) -> ! {
        core::arch::wasm32::unreachable()
    }
}

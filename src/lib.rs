//! seamless-fetch: a `fetch` wrapper that refreshes short-lived access tokens seamlessly: one
//! refresh call however many requests find the token expired, every request queued meanwhile and
//! replayed with the new token, one refresh per browser across tabs, and the user sent to the
//! login page only when the refresh itself is refused.
//!
//! This crate is the part that decides (docs/architecture.md): a sans-IO core that takes events
//! and returns commands, with no clock, no randomness and no I/O of its own, carried out by one
//! JS module (`pkg-template/shell.js`). One concern per module:
//! * [`machine`]: the core (tokens, single flight, the queue, replays, the tabs, logout), and its
//!   deterministic simulation of many tabs (tests only).
//! * [`boundary`]: the wasm boundary of numbers and strings the shell speaks; its codes in
//!   `boundary::wire`, checked against the shell by a test.
//! * [`options`], [`policy`], [`expiry`], [`refresh`], [`backoff`], [`pair`], [`dpop`]: plain-Rust rules the
//!   core applies; [`code`]: the one error type with its codes.

#![cfg_attr(not(any(test, feature = "std")), no_std)]
#![warn(missing_docs)]

extern crate alloc;

// The allocator and the exports' state are unsynchronised: everything runs on the page's one thread.
#[cfg(all(target_arch = "wasm32", target_feature = "atomics"))]
compile_error!("seamless-fetch is single-threaded; build without the atomics target feature");

pub mod backoff;
pub mod boundary;
pub mod code;
pub mod dpop;
pub mod expiry;
#[cfg(all(target_arch = "wasm32", not(feature = "std")))]
mod heap;
pub mod machine;
pub mod options;
pub mod pair;
pub mod policy;
pub mod refresh;

/// The shipped build's runtime: a small allocator, without std's panic machinery. A panic here can
/// only be a bug; it traps (a `RuntimeError: unreachable` in JS) instead of formatting a message.
#[cfg(all(target_arch = "wasm32", not(feature = "std")))]
mod runtime {
    #[global_allocator]
    static ALLOC: crate::heap::Heap = crate::heap::Heap::new();

    #[panic_handler]
    fn panic(_: &core::panic::PanicInfo) -> ! {
        core::arch::wasm32::unreachable()
    }
}

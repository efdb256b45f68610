//! The wasm exports of the shell build: each is one call of [`Boundary`], with numbers only; the
//! strings travel through the inbox. `s` is a session's handle from `create`, `now` the shell's
//! `Date.now()`. The order of each call's inbox strings is in its doc line.

use core::cell::UnsafeCell;

use super::{Boundary, Heard};
use crate::machine::Event;

struct One(UnsafeCell<Option<Boundary>>);
// wasm32 without atomics has one thread (the crate refuses the atomics feature).
unsafe impl Sync for One {}
static ONE: One = One(UnsafeCell::new(None));

fn b() -> &'static mut Boundary {
    // Single-threaded, and no export calls another: one borrow at a time.
    unsafe { (*ONE.0.get()).get_or_insert_with(Boundary::default) }
}

/// Room for `len` bytes of length-prefixed strings; where to write them.
#[no_mangle]
pub extern "C" fn inbox(len: usize) -> *mut u8 {
    b().inbox(len)
}

/// One node of a walked value (a `STRING` or `KEY` node: inbox, the text); 1: walk its children.
#[no_mangle]
pub extern "C" fn value(kind: u32, number: f64) -> u32 {
    b().value(kind, number) as u32
}

/// A session for the options just walked (inbox: page origin, resolved refresh URL); 0: refused.
#[no_mangle]
pub extern "C" fn create() -> u32 {
    b().create()
}

/// A request of an instance with `rules` begins (inbox: URL, method or null, stored keys).
#[no_mangle]
pub extern "C" fn begin(s: u32, now: f64, id: u32, rules: u32, control: u32, flags: u32) {
    b().begin(s, now, id, rules, control, flags)
}

/// The answer to a watched `PASS` of an instance with `rules` came (inbox: its URL).
#[no_mangle]
pub extern "C" fn passed(s: u32, now: f64, rules: u32, status: u32) {
    b().passed(s, now, rules, status)
}

/// Its answer came (inbox: `Date`, `Content-Type`, stored keys).
#[no_mangle]
pub extern "C" fn answer(s: u32, now: f64, id: u32, status: u32) {
    b().answer(s, now, id, status)
}

/// `dpop: true`: the answer's `DPoP-Nonce` and `WWW-Authenticate` (inbox), before its `answer`.
#[cfg(feature = "dpop")]
#[no_mangle]
pub extern "C" fn dpop_headers(s: u32, now: f64, id: u32) {
    b().dpop_headers(s, now, id)
}

/// The body of a 400 asked about with `ERROR`, walked just before.
#[cfg(feature = "dpop")]
#[no_mangle]
pub extern "C" fn refusal(s: u32, now: f64, id: u32) {
    b().refusal(s, now, id)
}

/// The DPoP key was made, none being stored (inbox: stored keys).
#[cfg(feature = "dpop")]
#[no_mangle]
pub extern "C" fn key_created(s: u32, now: f64) {
    b().key_created(s, now)
}

/// `dpopProof` (inbox: method, absolute URL, stored keys).
#[cfg(feature = "dpop")]
#[no_mangle]
pub extern "C" fn prove(s: u32, now: f64, id: u32) {
    b().prove(s, now, id)
}

/// `isExpired` said (inbox: stored keys).
#[no_mangle]
pub extern "C" fn verdict(s: u32, now: f64, id: u32, expired: u32) {
    b().verdict(s, now, id, expired != 0)
}

/// The body, walked just before, for the `expiredBodyCodes` of `rules` (inbox: stored keys).
#[no_mangle]
pub extern "C" fn body(s: u32, now: f64, id: u32, rules: u32) {
    b().body(s, now, id, rules)
}

/// The attempt threw.
#[no_mangle]
pub extern "C" fn failed(s: u32, now: f64, id: u32) {
    b().plain(s, Event::Failed { now, id })
}

/// The caller aborted while it waited.
#[no_mangle]
pub extern "C" fn abort(s: u32, now: f64, id: u32) {
    b().plain(s, Event::Abort { now, id })
}

/// The lock (inbox: stored keys).
#[no_mangle]
pub extern "C" fn granted(s: u32, now: f64, flight: u32, contended: u32, held: u32) {
    b().granted(s, now, flight, contended != 0, held != 0)
}

/// The refresh call ended `how`, its answer walked just before (inbox: `Retry-After`, the thrown
/// error's name and code, `DPoP-Nonce`, stored keys).
#[no_mangle]
pub extern "C" fn refreshed(s: u32, now: f64, flight: u32, how: u32, status: u32, jitter: f64) {
    b().refreshed(s, now, flight, how, status, jitter)
}

/// A timer fired (inbox: stored keys).
#[no_mangle]
pub extern "C" fn timer(s: u32, now: f64, kind: u32, flight: u32, jitter: f64) {
    b().timer(s, now, kind, flight, jitter)
}

/// Another tab changed the keys (inbox: stored keys).
#[no_mangle]
pub extern "C" fn storage(s: u32, now: f64) {
    b().heard(s, now, Heard::Storage)
}

/// Back online (inbox: stored keys).
#[no_mangle]
pub extern "C" fn online(s: u32, now: f64) {
    b().heard(s, now, Heard::Online)
}

/// Gone offline.
#[no_mangle]
pub extern "C" fn offline(s: u32, now: f64) {
    b().plain(s, Event::Offline { now })
}

/// `setTokens`, its argument walked just before (inbox: stored keys).
#[no_mangle]
pub extern "C" fn set_tokens(s: u32, now: f64) {
    b().set_tokens(s, now)
}

/// `clearTokens()`.
#[no_mangle]
pub extern "C" fn clear_tokens(s: u32, now: f64) {
    b().plain(s, Event::ClearTokens { now })
}

/// `logout()`.
#[no_mangle]
pub extern "C" fn logout(s: u32, now: f64) {
    b().plain(s, Event::Logout { now })
}

/// An instance joins (inbox: stored keys).
#[no_mangle]
pub extern "C" fn open(s: u32, now: f64) {
    b().heard(s, now, Heard::Open)
}

/// `RESUME` carried out (inbox: stored keys).
#[no_mangle]
pub extern "C" fn resume(s: u32, now: f64) {
    b().heard(s, now, Heard::Resume)
}

/// An instance leaves.
#[no_mangle]
pub extern "C" fn close(s: u32, now: f64) {
    b().plain(s, Event::Close { now })
}

/// `getAccessToken` (`min`: NaN for what is not a number; inbox: stored keys).
#[no_mangle]
pub extern "C" fn token(s: u32, now: f64, id: u32, min: f64) {
    b().token(s, now, id, min)
}

/// `refresh()` (inbox: stored keys).
#[no_mangle]
pub extern "C" fn force_refresh(s: u32, now: f64, id: u32) {
    b().force_refresh(s, now, id)
}

/// Web Storage threw (a read, or a write whose keys were put back); how many commands to carry at
/// once, before any still waiting.
#[no_mangle]
pub extern "C" fn storage_failed(s: u32, now: f64) -> u32 {
    b().storage_failed(s, now)
}

/// `stats().refreshes`.
#[no_mangle]
pub extern "C" fn refreshes(s: u32) -> u32 {
    b().stats(s).refreshes
}

/// `stats().retried`.
#[no_mangle]
pub extern "C" fn retried(s: u32) -> u32 {
    b().stats(s).retried
}

/// `stats().queued`.
#[no_mangle]
pub extern "C" fn queued(s: u32) -> u32 {
    b().stats(s).queued
}

/// The answer to a request sent by a shortcut (inbox: its token, `Date`, stored keys); 0: the
/// session has ended, the answer is the caller's.
#[no_mangle]
pub extern "C" fn shortcut_answer(s: u32, now: f64, id: u32, rules: u32, seen: f64, status: u32) -> u32 {
    b().shortcut_answer(s, now, id, rules, seen, status) as u32
}

/// The answers parked under a `PARK` of `rules` (inbox: their ids, comma-separated, then the
/// stored keys).
#[no_mangle]
pub extern "C" fn parked(s: u32, now: f64, rules: u32, seen: f64) {
    b().parked(s, now, rules, seen)
}

/// 1: an answer with `status` to a shortcut's request of `rules` is the caller's (if its `Date` is
/// unchanged).
#[no_mangle]
pub extern "C" fn quiet(s: u32, rules: u32, status: u32) -> u32 {
    b().quiet(s, rules, status) as u32
}

/// The session's generation now: a shortcut holds while it is the one the shortcut gave.
#[no_mangle]
pub extern "C" fn generation(s: u32) -> f64 {
    b().generation(s)
}

/// `SHORTCUT`'s and `PARK`'s `seen`.
#[no_mangle]
pub extern "C" fn out_seen() -> f64 {
    b().out.seen
}

/// `SHORTCUT`'s and `PARK`'s `generation`.
#[no_mangle]
pub extern "C" fn out_generation() -> f64 {
    b().out.generation
}

/// Whether a refresh runs.
#[no_mangle]
pub extern "C" fn refreshing(s: u32) -> u32 {
    b().refreshing(s) as u32
}

/// 1: the session still needs its shell (an instance, a request or a flight).
#[no_mangle]
pub extern "C" fn alive(s: u32) -> u32 {
    b().alive(s) as u32
}

/// The next command's op (0: none); its fields through the accessors below.
#[no_mangle]
pub extern "C" fn next(s: u32) -> u32 {
    b().next(s)
}

/// The command's request id or flight.
#[no_mangle]
pub extern "C" fn id() -> u32 {
    b().out.id
}

/// The command's sub-kind.
#[no_mangle]
pub extern "C" fn code() -> u32 {
    b().out.code
}

/// The command's time or duration (NaN: none).
#[no_mangle]
pub extern "C" fn number() -> f64 {
    b().out.number
}

/// The command's boolean.
#[no_mangle]
pub extern "C" fn flag() -> u32 {
    b().out.flag
}

/// Where string `i` of the command is (read its length with `text_len`).
#[no_mangle]
pub extern "C" fn text_ptr(i: usize) -> *const u8 {
    b().out.texts.get(i).and_then(|t| t.as_deref()).map_or(core::ptr::null(), str::as_ptr)
}

/// String `i`'s length in bytes; -1: none.
#[no_mangle]
pub extern "C" fn text_len(i: usize) -> i32 {
    b().out.texts.get(i).and_then(|t| t.as_deref()).map_or(-1, |t| t.len() as i32)
}

/// Where the login page is (inbox: the page's path), in string 0.
#[no_mangle]
pub extern "C" fn login_target(s: u32) {
    b().login_target(s)
}

/// 1: the keys read now (inbox: access, refresh) hold no pair (a `STORE` expecting `NOTHING`).
#[no_mangle]
pub extern "C" fn no_pair(s: u32) -> u32 {
    b().no_pair(s) as u32
}

/// `safeReturnPath` (inbox: value, fallback), in string 0.
#[no_mangle]
pub extern "C" fn safe_path() {
    b().safe_return_path()
}

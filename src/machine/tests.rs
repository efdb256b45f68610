//! Unit tests of the core, one rule each; the simulation (`sim`) checks them all together.

use alloc::string::String;
use alloc::vec::Vec;

use super::*;
use crate::code::Code;
use crate::pair::{fingerprint, Pair};
use crate::refresh::Field;

fn cfg(cross_tab: bool, cookie: bool) -> Config {
    Config {
        page_origin: "https://app.test".into(),
        allowed_origins: alloc::vec!["https://api.test".into()],
        refresh_url: Some("https://app.test/auth/refresh".into()),
        expired_statuses: alloc::vec![401],
        judge_answers: false,
        refresh_ahead_ms: 30_000.0,
        refresh_timeout_ms: 10_000.0,
        cross_tab,
        cookie,
    }
}

fn stored(access: &str, refresh: &str) -> Stored {
    let p = Pair { access: access.into(), refresh: Some(refresh.into()) };
    Stored { access: Some(access.into()), refresh: Some(refresh.into()), stamp: Some(fingerprint(&p)), backoff: None }
}

fn drain(m: &mut Machine) -> Vec<Command> {
    core::iter::from_fn(|| m.poll()).collect()
}

fn begin(id: u32, url: &str, s: &Stored) -> Event {
    Event::Begin { now: 0.0, id, url: url.into(), control: Control::None, has_auth: false, own_refresh: false, stored: s.clone() }
}

fn ok_reply(access: &str, refresh: &str) -> Reply {
    Reply { status: 200, json: true, access: Field::Str(access.into()), refresh: Field::Str(refresh.into()), expires_in: Field::Missing, oauth_error: Field::Missing, retry_after: None }
}

fn sends(cmds: &[Command]) -> Vec<(u32, Option<String>)> {
    cmds.iter().filter_map(|c| match c { Command::Send { id, token } => Some((*id, token.clone())), _ => None }).collect()
}

#[test]
fn tokens_go_only_to_allowed_origins() {
    let mut m = Machine::new(cfg(false, false));
    let s = stored("a1", "r1");
    for (id, url) in [(1, "https://evil.test/x"), (2, "https://app.test.evil.test/"), (3, "https://app.test/auth/refresh?x=1"), (4, "data:x")] {
        m.handle(begin(id, url, &s));
        assert!(drain(&mut m) == [Command::Pass { id }], "{url}");
    }
    m.handle(begin(5, "https://api.test/v1", &s));
    assert_eq!(sends(&drain(&mut m)), [(5, Some("a1".into()))]);
}

#[test]
fn one_refresh_for_many_expired_answers_then_one_replay_each() {
    let mut m = Machine::new(cfg(false, false));
    let s = stored("a1", "r1");
    for id in 0..3 {
        m.handle(begin(id, "https://app.test/x", &s));
    }
    drain(&mut m);
    for id in 0..3 {
        m.handle(Event::Answer { now: 1.0, id, status: 401, date: None, stored: s.clone() });
    }
    let cmds = drain(&mut m);
    let refreshes = cmds.iter().filter(|c| matches!(c, Command::Refresh { .. })).count();
    assert_eq!(refreshes, 1);
    m.handle(Event::Refreshed { now: 2.0, flight: 0, reply: ok_reply("a2", "r2"), jitter: 0.5, stored: s.clone() });
    let cmds = drain(&mut m);
    assert!(cmds.contains(&Command::Store { pair: Some(Pair { access: "a2".into(), refresh: Some("r2".into()) }), expect: Expect::Pair(Some(Pair { access: "a1".into(), refresh: Some("r1".into()) })) }));
    assert_eq!(sends(&cmds), [(0, Some("a2".into())), (1, Some("a2".into())), (2, Some("a2".into()))]);
    for id in 0..3 {
        m.handle(Event::Answer { now: 3.0, id, status: 401, date: None, stored: stored("a2", "r2") });
        assert!(drain(&mut m) == [Command::Resolve { id }], "a replay's answer is the caller's");
    }
}

#[test]
fn under_a_contended_lock_a_pair_another_tab_stored_is_adopted() {
    let mut m = Machine::new(cfg(true, false));
    let s = stored("a1", "r1");
    m.handle(begin(0, "https://app.test/x", &s));
    drain(&mut m);
    m.handle(Event::Answer { now: 1.0, id: 0, status: 401, date: None, stored: s.clone() });
    assert!(drain(&mut m).contains(&Command::Lock { flight: 0, budget_ms: 12_000.0 }));
    m.handle(Event::Granted { now: 2.0, flight: 0, contended: true, held: true, stored: s.clone() });
    assert!(drain(&mut m) == [Command::Timer { at: 1_002.0, timer: Timer::Settle(0) }], "waits for the holder's write");
    let half = Stored { access: Some("a2".into()), ..s.clone() };
    m.handle(Event::Storage { now: 3.0, stored: half });
    assert!(drain(&mut m).iter().all(|c| !matches!(c, Command::Refresh { .. } | Command::Store { .. })), "half a pair: still settling");
    m.handle(Event::Storage { now: 4.0, stored: stored("a2", "r2") });
    let cmds = drain(&mut m);
    assert!(!cmds.iter().any(|c| matches!(c, Command::Refresh { .. } | Command::Store { .. })));
    assert_eq!(sends(&cmds), [(0, Some("a2".into()))]);
}

#[test]
fn setting_the_pair_being_spent_keeps_the_rotated_one() {
    let mut m = Machine::new(cfg(false, false));
    let s = stored("a1", "r1");
    m.handle(begin(0, "https://app.test/x", &s));
    m.handle(Event::Answer { now: 1.0, id: 0, status: 401, date: None, stored: s.clone() });
    drain(&mut m);
    m.handle(Event::SetTokens { now: 2.0, access: "a1".into(), refresh: Some("r1".into()), stored: s.clone() });
    assert!(drain(&mut m).is_empty());
    m.handle(Event::Refreshed { now: 3.0, flight: 0, reply: ok_reply("a2", "r2"), jitter: 0.5, stored: s.clone() });
    assert!(drain(&mut m).iter().any(|c| matches!(c, Command::Store { pair: Some(p), .. } if p.access == "a2")));
}

#[test]
fn a_logout_heard_makes_a_running_refresh_stale() {
    let mut m = Machine::new(cfg(true, false));
    let s = stored("a1", "r1");
    m.handle(Event::Open { now: 0.0, stored: Stored::default() });
    m.handle(begin(0, "https://app.test/x", &s));
    m.handle(Event::Answer { now: 1.0, id: 0, status: 401, date: None, stored: s.clone() });
    m.handle(Event::Granted { now: 2.0, flight: 0, contended: false, held: true, stored: s.clone() });
    drain(&mut m);
    m.handle(Event::Storage { now: 3.0, stored: Stored::default() });
    let cmds = drain(&mut m);
    assert!(cmds.contains(&Command::Notify(Notice::LoggedOut)) && !cmds.iter().any(|c| matches!(c, Command::Store { .. })), "removes nothing");
    assert!(cmds.iter().any(|c| matches!(c, Command::Reject { id: 0, why: Why::Auth(e) } if e.code == Code::NoRefreshToken)));
    m.handle(Event::Refreshed { now: 4.0, flight: 0, reply: ok_reply("a2", "r2"), jitter: 0.5, stored: Stored::default() });
    let cmds = drain(&mut m);
    assert!(cmds == [Command::Unlock { flight: 0, mark_ms: SETTLE_MS }], "the late answer writes nothing");
}

#[test]
fn half_a_pair_heard_is_a_login_being_written() {
    let mut m = Machine::new(cfg(true, false));
    m.handle(Event::Open { now: 0.0, stored: Stored::default() });
    m.handle(Event::Storage { now: 1.0, stored: Stored { access: Some("a9".into()), ..Stored::default() } });
    assert!(drain(&mut m).is_empty());
}

#[test]
fn a_refused_refresh_adopts_a_login_made_meanwhile() {
    let mut m = Machine::new(cfg(false, false));
    let s = stored("a1", "r1");
    m.handle(begin(0, "https://app.test/x", &s));
    m.handle(Event::Answer { now: 1.0, id: 0, status: 401, date: None, stored: s.clone() });
    drain(&mut m);
    let refused = Reply { status: 401, ..ok_reply("", "") };
    m.handle(Event::Refreshed { now: 2.0, flight: 0, reply: refused, jitter: 0.5, stored: stored("b1", "q1") });
    let cmds = drain(&mut m);
    assert!(!cmds.iter().any(|c| matches!(c, Command::Store { .. } | Command::Notify(Notice::Logout(_)))));
    assert_eq!(sends(&cmds), [(0, Some("b1".into()))]);
}

#[test]
fn a_cookie_refused_where_no_session_was_seen_is_no_session() {
    let mut m = Machine::new(cfg(false, true));
    m.handle(begin(0, "https://app.test/login", &Stored::default()));
    assert_eq!(sends(&drain(&mut m)), [(0, None)]);
    m.handle(Event::Answer { now: 1.0, id: 0, status: 401, date: None, stored: Stored::default() });
    drain(&mut m);
    let refused = Reply { status: 401, ..ok_reply("", "") };
    m.handle(Event::Refreshed { now: 2.0, flight: 0, reply: refused, jitter: 0.5, stored: Stored::default() });
    let cmds: Vec<_> = drain(&mut m).into_iter().filter(|c| !matches!(c, Command::Timer { .. })).collect();
    assert!(cmds == [Command::Resolve { id: 0 }], "the caller gets its own 401, no onLogout, no navigation");
}

#[test]
fn a_transient_failure_backs_off_and_honours_retry_after() {
    let mut m = Machine::new(cfg(false, false));
    let s = stored("a1", "r1");
    m.handle(begin(0, "https://app.test/x", &s));
    m.handle(Event::Answer { now: 1_000.0, id: 0, status: 401, date: None, stored: s.clone() });
    drain(&mut m);
    let busy = Reply { status: 429, retry_after: Some("7".into()), ..ok_reply("", "") };
    m.handle(Event::Refreshed { now: 2_000.0, flight: 0, reply: busy, jitter: 0.5, stored: s.clone() });
    let cmds = drain(&mut m);
    assert!(cmds.contains(&Command::StoreBackoff { value: Some("1,2000,9000".into()) }));
    assert!(cmds.iter().any(|c| matches!(c, Command::Reject { why: Why::Auth(e), .. } if e.retry_after_ms == Some(7_000.0))));
}

#[test]
fn untrusted_events_never_panic() {
    let mut m = Machine::new(cfg(true, false));
    let junk = Stored { access: Some("a\r\nb".into()), refresh: Some("".into()), stamp: Some("zz".into()), backoff: Some("9,99999999999999,1".into()) };
    let events = [
        Event::Answer { now: f64::NAN, id: 7, status: 0, date: Some("garbage".into()), stored: junk.clone() },
        Event::Verdict { now: -1.0, id: u32::MAX, expired: true, stored: junk.clone() },
        Event::Granted { now: 0.0, flight: 99, contended: true, held: true, stored: junk.clone() },
        Event::Refreshed { now: 0.0, flight: 99, reply: ok_reply("x", "y"), jitter: f64::NAN, stored: junk.clone() },
        Event::Timer { now: f64::INFINITY, timer: Timer::Timeout(3), jitter: 2.0, stored: junk.clone() },
        Event::SetTokens { now: 0.0, access: "bad token".into(), refresh: None, stored: junk.clone() },
        begin(1, "https://app.test/x", &junk),
        Event::Abort { now: 0.0, id: 1 },
        Event::Storage { now: 0.0, stored: junk },
    ];
    for e in events {
        m.handle(e);
        drain(&mut m);
    }
}

/// The core is built without JS: no file of `machine` (nor of a module it uses) names
/// wasm-bindgen, js-sys or web-sys, or uses a module of the crate that does.
#[test]
fn the_core_uses_no_js() {
    const PLAIN: [&str; 8] = ["machine", "code", "pair", "policy", "expiry", "refresh", "backoff", "alloc"];
    let root = env!("CARGO_MANIFEST_DIR");
    let mut files: Vec<String> = std::fs::read_dir(alloc::format!("{root}/src/machine")).unwrap().map(|e| e.unwrap().path().display().to_string()).filter(|p| p.ends_with(".rs") && !p.ends_with("tests.rs")).collect();
    files.extend(["code", "pair", "policy", "expiry", "refresh", "backoff"].map(|m| alloc::format!("{root}/src/{m}.rs")));
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for js in [concat!("wasm", "_bindgen"), concat!("js", "_sys"), concat!("web", "_sys")] {
            assert!(!text.contains(js), "{file} names {js}");
        }
        for used in text.split("crate::").skip(1) {
            let module: String = used.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            assert!(PLAIN.contains(&module.as_str()), "{file} uses crate::{module}");
        }
    }
}

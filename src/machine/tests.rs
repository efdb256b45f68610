//! Unit tests of the core, one rule each; the simulation (`sim`) checks them all together.

use alloc::string::String;
use alloc::vec::Vec;

use super::*;
use crate::code::Code;
use crate::pair::{fingerprint, Pair};
use crate::refresh::{Field, Format};

fn cfg(cross_tab: bool, cookie: bool) -> Config {
    Config {
        page_origin: "https://app.test".into(),
        rules: Rules { allowed_origins: alloc::vec!["https://api.test".into()], expired_statuses: alloc::vec![401], body_codes: false, app_judges: false },
        refresh_url: Some("https://app.test/auth/refresh".into()),
        refresh_format: Format::Json { refresh_field: "refreshToken".into(), access_field: "token".into() },
        pageless: false,
        refresh_ahead_ms: 30_000.0,
        refresh_timeout_ms: 10_000.0,
        cross_tab,
        lock: cross_tab,
        cookie,
        on_refresh: false,
        dpop: false,
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
    Event::Begin { now: 0.0, id, rules: 0, url: url.into(), method: None, control: Control::None, has_auth: false, own_refresh: false, stored: s.clone() }
}

fn ok_reply(access: &str, refresh: &str) -> Reply {
    Reply { status: 200, json: true, access: Field::Str(access.into()), refresh: Field::Str(refresh.into()), expires_in: Field::Missing, oauth_error: Field::Missing, token_type: Field::Missing, nonce: None, description: None, retry_after: None, failure: None, access_path: String::new(), fields: String::new() }
}

fn token(now: f64, id: u32, min_validity_ms: f64, s: &Stored) -> Event {
    Event::Token { now, id, min_validity_ms, stored: s.clone() }
}

/// A new pair that lives 60 s from `now` (its floor: 15 s).
fn lives_60s(access: &str, refresh: &str) -> Reply {
    Reply { expires_in: Field::Num(60.0), ..ok_reply(access, refresh) }
}

fn gives(cmds: &[Command]) -> Vec<(u32, Option<String>)> {
    cmds.iter().filter_map(|c| match c { Command::Give { id, token } => Some((*id, token.clone())), _ => None }).collect()
}

fn refreshes(cmds: &[Command]) -> Vec<Via> {
    cmds.iter().filter_map(|c| match c { Command::Refresh { via, .. } => Some(via.clone()), _ => None }).collect()
}

fn rejected(cmds: &[Command]) -> Vec<(u32, Code)> {
    cmds.iter().filter_map(|c| match c { Command::Reject { id, why: Why::Auth(e) } => Some((*id, e.code)), _ => None }).collect()
}

/// A machine whose request 0, sent with a1, was answered 401 at `now` 1,000 (with `date`):
/// flight 0 is spending a1/r1.
fn calling(date: Option<&str>) -> Machine {
    calling_under(cfg(false, false), date)
}

/// [`calling`], under `config`.
fn calling_under(config: Config, date: Option<&str>) -> Machine {
    let mut m = Machine::new(config);
    let s = stored("a1", "r1");
    m.handle(begin(0, "https://app.test/x", &s));
    m.handle(Event::Answer { now: 1_000.0, id: 0, status: 401, json: false, date: date.map(String::from), stored: s });
    drain(&mut m);
    m
}

/// A machine holding a2/r2, which a refresh at `now` 2,000 brought (60 s of life), with the
/// server's clock known (the same as this page's, give or take 0.5 s).
fn refreshed_once() -> Machine {
    let mut m = calling(Some("Thu, 01 Jan 1970 00:00:01 GMT"));
    m.handle(Event::Refreshed { now: 2_000.0, flight: 0, reply: lives_60s("a2", "r2"), jitter: 0.5, stored: stored("a1", "r1") });
    drain(&mut m);
    m
}

fn sends(cmds: &[Command]) -> Vec<(u32, Option<String>)> {
    cmds.iter().filter_map(|c| match c { Command::Send { id, token, .. } => Some((*id, token.clone())), _ => None }).collect()
}

#[test]
fn tokens_go_only_to_allowed_origins() {
    let mut m = Machine::new(cfg(false, false));
    let s = stored("a1", "r1");
    for (id, url) in [(1, "https://evil.test/x"), (2, "https://app.test.evil.test/"), (3, "https://app.test/auth/refresh?x=1"), (4, "data:x")] {
        m.handle(begin(id, url, &s));
        assert!(drain(&mut m) == [Command::Pass { id, watch: id != 3 }], "{url}");
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
        m.handle(Event::Answer { now: 1.0, id, status: 401, json: false, date: None, stored: s.clone() });
    }
    m.handle(token(1.0, 3, 0.0, &s));
    assert_eq!(refreshes(&drain(&mut m)).len(), 1);
    assert_eq!(m.stats(), Stats { refreshes: 0, retried: 0, queued: 4 }, "getAccessToken waits too");
    m.handle(Event::Refreshed { now: 2.0, flight: 0, reply: ok_reply("a2", "r2"), jitter: 0.5, stored: s.clone() });
    let cmds = drain(&mut m);
    assert!(cmds.contains(&Command::Store { pair: Some(Pair { access: "a2".into(), refresh: Some("r2".into()) }), expect: Expect::Pair(Some(Pair { access: "a1".into(), refresh: Some("r1".into()) })) }));
    assert_eq!(sends(&cmds), [(0, Some("a2".into())), (1, Some("a2".into())), (2, Some("a2".into()))]);
    assert_eq!(gives(&cmds), [(3, Some("a2".into()))]);
    assert_eq!(m.stats(), Stats { refreshes: 1, retried: 3, queued: 0 });
    assert!(lasts(&cmds) == [0, 1, 2], "a replay's answer is the caller's: the shell hands it over");
}

fn lasts(cmds: &[Command]) -> Vec<u32> {
    cmds.iter().filter_map(|c| match c { Command::Send { id, last: true, .. } => Some(*id), _ => None }).collect()
}

#[test]
fn a_last_attempt_is_let_go_as_it_is_sent_and_only_its_date_is_heard() {
    let mut m = Machine::new(cfg(false, false));
    let s = stored("a1", "r1");
    m.handle(begin(1, "https://app.test/x", &s));
    assert!(lasts(&drain(&mut m)).is_empty(), "a first attempt's answer is the core's");
    m.handle(Event::Answer { now: 1.0, id: 1, status: 401, json: false, date: None, stored: s.clone() });
    drain(&mut m);
    m.handle(Event::Refreshed { now: 2.0, flight: 0, reply: ok_reply("a2", "r2"), jitter: 0.5, stored: s.clone() });
    assert_eq!(lasts(&drain(&mut m)), [1], "the replay");
    assert_eq!(m.stats(), Stats { refreshes: 1, retried: 1, queued: 0 });
    assert!(!m.alive(), "nothing holds the session: the core let the replay go");
    // The shell reports a new `Date` before it hands the answer over: the clock hears it, and
    // nothing is settled twice.
    let generation = m.generation();
    m.handle(Event::Answer { now: 3.0, id: 1, status: 401, json: false, date: Some("Sun, 06 Dec 2026 04:00:00 GMT".into()), stored: stored("a2", "r2") });
    assert!(drain(&mut m).is_empty());
    assert_ne!(m.generation(), generation, "the server's clock moved");
    // `no-refresh`: the first attempt is the last.
    m.handle(Event::Begin { now: 4.0, id: 2, rules: 0, url: "https://app.test/x".into(), method: None, control: Control::NoRefresh, has_auth: false, own_refresh: false, stored: stored("a2", "r2") });
    assert_eq!(lasts(&drain(&mut m)), [2]);
    m.handle(Event::Failed { now: 4.0, id: 2 });
    assert!(drain(&mut m).is_empty(), "its error is the caller's, from the shell");
}

#[test]
fn under_a_contended_lock_a_pair_another_tab_stored_is_adopted() {
    let mut m = Machine::new(cfg(true, false));
    let s = stored("a1", "r1");
    m.handle(begin(0, "https://app.test/x", &s));
    drain(&mut m);
    m.handle(Event::Answer { now: 1.0, id: 0, status: 401, json: false, date: None, stored: s.clone() });
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
fn a_pair_from_two_writes_is_never_spent_even_after_the_settle_wait() {
    // The long simulation's seed 19638: a tab whose write threw put a refresh token back from its
    // lagging view beside another write's access token; the fingerprint matches neither.
    let mut m = Machine::new(cfg(true, false));
    let s = stored("a1", "r1");
    let mixed = Stored { refresh: Some("r9".into()), stamp: stored("a8", "r8").stamp, ..s.clone() };
    m.handle(begin(0, "https://app.test/x", &s));
    drain(&mut m);
    m.handle(Event::Answer { now: 1.0, id: 0, status: 401, json: false, date: None, stored: mixed.clone() });
    drain(&mut m);
    m.handle(Event::Granted { now: 2.0, flight: 0, contended: false, held: true, stored: mixed.clone() });
    assert!(drain(&mut m) == [Command::Timer { at: 1_002.0, timer: Timer::Settle(0) }], "waits for a write to finish");
    m.handle(Event::Timer { now: 1_002.0, timer: Timer::Settle(0), jitter: 0.5, stored: mixed });
    let cmds = drain(&mut m);
    assert!(refreshes(&cmds).is_empty() && !cmds.iter().any(|c| matches!(c, Command::Store { .. } | Command::Notify(Notice::Logout(_)))), "nothing spent, written or ended");
    assert_eq!(rejected(&cmds), [(0, Code::InvalidToken)]);
}

#[test]
fn a_mix_is_one_half_of_the_last_whole_pair_beside_one_that_is_not_under_another_fingerprint() {
    let last = pair("a1", "r1");
    let held = |access, refresh| stored::Held { access, refresh };
    let (other, own) = (Some("0123456789abcdef"), fingerprint(&last));
    let mixed = |access, refresh, stamp| stored::mixed_with(held(access, Some(refresh)), stamp, Some(&last));
    assert!(mixed("a1", "r9", other), "the last access token beside another refresh token (seed 19638)");
    assert!(mixed("a9", "r1", other), "a new access token beside the spent refresh token (seed 675970)");
    assert!(!mixed("a1", "r9", Some(&own)) && !mixed("a9", "r1", Some(&own)), "one key the app wrote alone");
    assert!(!mixed("a1", "r1", other), "the last pair itself");
    assert!(!mixed("a9", "r9", other), "both new: an app's own write");
    assert!(!stored::mixed_with(held("a1", Some("r9")), other, None), "no whole pair known to tell by");
    let cookie = Pair { access: "a1".into(), refresh: None };
    assert!(!stored::mixed_with(held("a9", None), other, Some(&cookie)), "a cookie session's one key");
}

#[test]
fn an_app_s_own_pair_written_over_an_old_fingerprint_is_spent_after_the_settle_wait() {
    // No whole pair known here to tell a mix by: an app that wrote the keys itself, leaving the
    // fingerprint of a pair this package wrote before.
    let mut m = Machine::new(cfg(true, false));
    let app = Stored { stamp: stored("a0", "r0").stamp, ..stored("a1", "r1") };
    m.handle(begin(0, "https://app.test/x", &app));
    drain(&mut m);
    m.handle(Event::Answer { now: 1.0, id: 0, status: 401, json: false, date: None, stored: app.clone() });
    drain(&mut m);
    m.handle(Event::Granted { now: 2.0, flight: 0, contended: false, held: true, stored: app.clone() });
    drain(&mut m);
    m.handle(Event::Timer { now: 1_002.0, timer: Timer::Settle(0), jitter: 0.5, stored: app });
    let refreshes = refreshes(&drain(&mut m));
    assert!(matches!(&refreshes[..], [Via::Endpoint { body, .. }] if body.contains("r1")), "spends the app's pair");
}

#[test]
fn setting_the_pair_being_spent_keeps_the_rotated_one() {
    let mut m = Machine::new(cfg(false, false));
    let s = stored("a1", "r1");
    m.handle(begin(0, "https://app.test/x", &s));
    m.handle(Event::Answer { now: 1.0, id: 0, status: 401, json: false, date: None, stored: s.clone() });
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
    m.handle(Event::Answer { now: 1.0, id: 0, status: 401, json: false, date: None, stored: s.clone() });
    m.handle(Event::Granted { now: 2.0, flight: 0, contended: false, held: true, stored: s.clone() });
    drain(&mut m);
    m.handle(Event::Storage { now: 3.0, stored: Stored::default() });
    let cmds = drain(&mut m);
    assert!(cmds.contains(&Command::Notify(Notice::LoggedOut)) && !cmds.iter().any(|c| matches!(c, Command::Store { .. })), "removes nothing");
    assert!(cmds.iter().any(|c| matches!(c, Command::Reject { id: 0, why: Why::Auth(e) } if e.code == Code::NoRefreshToken)));
    m.handle(Event::Refreshed { now: 4.0, flight: 0, reply: ok_reply("a2", "r2"), jitter: 0.5, stored: Stored::default() });
    let cmds = drain(&mut m);
    assert!(cmds == [Command::CancelTimer { timer: Timer::Timeout(0) }, Command::Unlock { flight: 0, mark_ms: SETTLE_MS }], "the late answer writes nothing; its timeout is cancelled");
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
    m.handle(Event::Answer { now: 1.0, id: 0, status: 401, json: false, date: None, stored: s.clone() });
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
    m.handle(Event::Answer { now: 1.0, id: 0, status: 401, json: false, date: None, stored: Stored::default() });
    drain(&mut m);
    let refused = Reply { status: 401, ..ok_reply("", "") };
    m.handle(Event::Refreshed { now: 2.0, flight: 0, reply: refused, jitter: 0.5, stored: Stored::default() });
    let cmds: Vec<_> = drain(&mut m).into_iter().filter(|c| !matches!(c, Command::Timer { .. } | Command::CancelTimer { .. })).collect();
    assert!(cmds == [Command::Resolve { id: 0 }], "the caller gets its own 401, no onLogout, no navigation");
}

#[test]
fn a_transient_failure_backs_off_and_honours_retry_after() {
    // Also when a login stored meanwhile is adopted: the failure still paces the next call (found
    // by the simulation, seed 19167: another tab's refresh() followed it at once).
    for (then, login) in [(stored("a1", "r1"), false), (stored("b1", "q1"), true)] {
        let mut m = calling(None);
        let busy = Reply { status: 429, retry_after: Some("7".into()), ..ok_reply("", "") };
        m.handle(Event::Refreshed { now: 2_000.0, flight: 0, reply: busy, jitter: 0.5, stored: then });
        let cmds = drain(&mut m);
        assert!(cmds.contains(&Command::StoreBackoff { value: Some("1,2000,9000".into()) }), "{login}");
        if login {
            assert_eq!(sends(&cmds), [(0, Some("b1".into()))], "the login is adopted all the same");
        } else {
            assert!(cmds.iter().any(|c| matches!(c, Command::Reject { why: Why::Auth(e), .. } if e.retry_after_ms == Some(7_000.0))));
        }
    }
}

#[test]
fn untrusted_events_never_panic() {
    let mut m = Machine::new(cfg(true, false));
    let junk = Stored { access: Some("a\r\nb".into()), refresh: Some("".into()), stamp: Some("zz".into()), backoff: Some("9,99999999999999,1".into()) };
    let events = [
        Event::Answer { now: f64::NAN, id: 7, status: 0, json: false, date: Some("garbage".into()), stored: junk.clone() },
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

/// The core stands on the plain rules alone: no file of `machine` uses the boundary, the options'
/// parsing or anything else of the crate beyond them.
#[test]
fn the_core_uses_only_the_plain_rules() {
    const PLAIN: [&str; 9] = ["machine", "code", "pair", "policy", "expiry", "refresh", "backoff", "dpop", "alloc"];
    let root = env!("CARGO_MANIFEST_DIR");
    let mut files: Vec<String> = std::fs::read_dir(alloc::format!("{root}/src/machine")).unwrap().map(|e| e.unwrap().path().display().to_string()).filter(|p| p.ends_with(".rs") && !p.ends_with("tests.rs")).collect();
    files.extend(["code", "pair", "policy", "expiry", "refresh", "backoff", "dpop"].map(|m| alloc::format!("{root}/src/{m}.rs")));
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for used in text.split("crate::").skip(1) {
            let module: String = used.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            assert!(PLAIN.contains(&module.as_str()), "{file} uses crate::{module}");
        }
    }
}

#[test]
fn get_access_token_gives_the_stored_token_unless_it_expires_within_min_validity() {
    let mut m = Machine::new(cfg(false, false));
    m.handle(token(0.0, 1, 3_600_000.0, &stored("a1", "r1")));
    assert_eq!(gives(&drain(&mut m)), [(1, Some("a1".into()))], "a life unknown is never due");
    m.handle(token(0.0, 2, 0.0, &Stored::default()));
    assert_eq!(gives(&drain(&mut m)), [(2, None)], "no session: null");

    let mut m = refreshed_once();
    let s = stored("a2", "r2");
    m.handle(token(10_000.0, 3, 59_000.0, &s));
    assert_eq!(gives(&drain(&mut m)), [(3, Some("a2".into()))], "within its floor (17 s)");
    m.handle(token(20_000.0, 4, 30_000.0, &s));
    assert_eq!(gives(&drain(&mut m)), [(4, Some("a2".into()))], "valid for 42 s more");
    m.handle(token(20_000.0, 5, 45_000.0, &s));
    let cmds = drain(&mut m);
    assert!(gives(&cmds).is_empty() && refreshes(&cmds).len() == 1, "expires within 45 s: refreshed first");
    m.handle(token(20_001.0, 6, 0.0, &s));
    assert!(drain(&mut m).is_empty(), "joins the running refresh");
    assert_eq!(m.stats().queued, 2);
    m.handle(Event::Refreshed { now: 20_100.0, flight: 1, reply: ok_reply("a3", "r3"), jitter: 0.5, stored: s });
    assert_eq!(gives(&drain(&mut m)), [(5, Some("a3".into())), (6, Some("a3".into()))]);
}

#[test]
fn get_access_token_after_a_failed_refresh() {
    let mut m = refreshed_once();
    let s = stored("a2", "r2");
    let server_error = Reply { status: 500, ..ok_reply("", "") };
    m.handle(token(20_000.0, 1, 200_000.0, &s));
    m.handle(Event::Refreshed { now: 20_100.0, flight: 1, reply: server_error.clone(), jitter: 0.5, stored: s.clone() });
    assert_eq!(gives(&drain(&mut m)), [(1, Some("a2".into()))], "a transient failure: the token still serves");
    m.handle(token(70_000.0, 2, 0.0, &s));
    m.handle(Event::Refreshed { now: 70_100.0, flight: 2, reply: server_error, jitter: 0.5, stored: s.clone() });
    assert_eq!(rejected(&drain(&mut m)), [(2, Code::RefreshFailed)], "expired meanwhile: the failure is the caller's");
    m.handle(token(80_000.0, 3, 0.0, &s));
    let refused = Reply { status: 401, ..ok_reply("", "") };
    m.handle(Event::Refreshed { now: 80_100.0, flight: 3, reply: refused, jitter: 0.5, stored: s });
    assert_eq!(gives(&drain(&mut m)), [(3, None)], "the session ended: null");
}

#[test]
fn get_access_token_refuses_a_bad_min_validity() {
    let mut m = Machine::new(cfg(false, false));
    let s = stored("a1", "r1");
    for (id, ms) in [(1, f64::NAN), (2, -1.0), (3, 2_147_483_648.0), (4, f64::INFINITY)] {
        m.handle(token(0.0, id, ms, &s));
        let cmds = drain(&mut m);
        assert!(matches!(&cmds[..], [Command::Reject { why: Why::Auth(e), .. }] if e.code == Code::InvalidOptions && e.message == "getAccessToken: minValidityMs must be a number of milliseconds, 0 or more"), "{ms}");
    }
    m.handle(token(0.0, 5, 2_147_483_647.0, &s));
    assert_eq!(gives(&drain(&mut m)), [(5, Some("a1".into()))]);
}

#[test]
fn refresh_spends_the_stored_pair_and_settles_with_the_flight() {
    let mut m = Machine::new(cfg(false, false));
    m.handle(Event::ForceRefresh { now: 0.0, id: 1, stored: Stored::default() });
    let cmds = drain(&mut m);
    assert!(matches!(&cmds[..], [Command::Reject { id: 1, why: Why::Auth(e) }] if e.code == Code::NoRefreshToken && e.message == "refresh() needs stored tokens; call setTokens after login"));
    let s = stored("a1", "r1");
    m.handle(Event::ForceRefresh { now: 0.0, id: 2, stored: s.clone() });
    m.handle(Event::ForceRefresh { now: 1.0, id: 3, stored: s.clone() });
    m.handle(token(1.0, 4, 0.0, &s));
    let body = r#"{"refreshToken":"r1","token":"a1"}"#;
    assert_eq!(refreshes(&drain(&mut m)), [Via::Endpoint { content_type: "application/json", body: body.into() }], "one call; the others join it");
    m.handle(Event::Refreshed { now: 2.0, flight: 0, reply: ok_reply("a2", "r2"), jitter: 0.5, stored: s });
    let cmds = drain(&mut m);
    assert!(cmds.contains(&Command::Resolve { id: 2 }) && cmds.contains(&Command::Resolve { id: 3 }));
    assert_eq!(gives(&cmds), [(4, Some("a2".into()))]);
    let s = stored("a2", "r2");
    m.handle(Event::ForceRefresh { now: 3.0, id: 5, stored: s.clone() });
    let refused = Reply { status: 401, ..ok_reply("", "") };
    m.handle(Event::Refreshed { now: 4.0, flight: 1, reply: refused, jitter: 0.5, stored: s });
    assert_eq!(rejected(&drain(&mut m)), [(5, Code::SessionExpired)]);
}

#[test]
fn a_cookie_session_refreshes_from_the_cookie_alone() {
    let mut m = Machine::new(cfg(false, true));
    m.handle(Event::ForceRefresh { now: 0.0, id: 1, stored: Stored::default() });
    m.handle(token(0.0, 2, 0.0, &Stored::default()));
    assert_eq!(refreshes(&drain(&mut m)), [Via::Endpoint { content_type: "application/json", body: "{}".into() }]);
    m.handle(Event::Refreshed { now: 1.0, flight: 0, reply: ok_reply("c1", "ignored"), jitter: 0.5, stored: Stored::default() });
    let cmds = drain(&mut m);
    assert!(cmds.contains(&Command::Resolve { id: 1 }) && cmds.contains(&Command::Store { pair: Some(Pair { access: "c1".into(), refresh: None }), expect: Expect::Pair(None) }));
    assert_eq!(gives(&cmds), [(2, Some("c1".into()))]);
    let only_access = Stored { access: Some("c1".into()), ..Stored::default() };
    m.handle(Event::ForceRefresh { now: 2.0, id: 3, stored: only_access });
    assert_eq!(refreshes(&drain(&mut m)), [Via::Endpoint { content_type: "application/json", body: r#"{"token":"c1"}"#.into() }]);
}

#[test]
fn an_anonymous_cookie_refused_is_no_session() {
    let mut m = Machine::new(cfg(false, true));
    m.handle(Event::ForceRefresh { now: 0.0, id: 1, stored: Stored::default() });
    m.handle(token(0.0, 2, 0.0, &Stored::default()));
    drain(&mut m);
    let refused = Reply { status: 401, ..ok_reply("", "") };
    m.handle(Event::Refreshed { now: 1.0, flight: 0, reply: refused, jitter: 0.5, stored: Stored::default() });
    let cmds = drain(&mut m);
    assert_eq!(rejected(&cmds), [(1, Code::NoSession)]);
    assert_eq!(gives(&cmds), [(2, None)]);
    assert!(!cmds.iter().any(|c| matches!(c, Command::Notify(Notice::Logout(_) | Notice::Navigate))));
}

#[test]
fn the_refresh_body_follows_the_options() {
    let call = |cfg: Config| {
        let mut m = Machine::new(cfg);
        m.handle(Event::ForceRefresh { now: 0.0, id: 1, stored: stored("a+1", "r/1") });
        refreshes(&drain(&mut m))
    };
    let fields = Format::Json { refresh_field: "rt".into(), access_field: "at".into() };
    assert_eq!(call(Config { refresh_format: fields, ..cfg(false, false) }), [Via::Endpoint { content_type: "application/json", body: r#"{"rt":"r/1","at":"a+1"}"#.into() }]);
    let oauth = Format::OAuth2 { client_id: Some("spa app".into()), scope: Some("api".into()) };
    let form = "grant_type=refresh_token&refresh_token=r%2F1&client_id=spa+app&scope=api";
    assert_eq!(call(Config { refresh_format: oauth, ..cfg(false, false) }), [Via::Endpoint { content_type: "application/x-www-form-urlencoded", body: form.into() }]);
    assert_eq!(call(Config { refresh_url: None, ..cfg(false, false) }), [Via::Function { refresh: Some("r/1".into()), access: Some("a+1".into()) }]);
}

#[test]
fn a_pageless_instance_refuses_every_call() {
    let mut m = Machine::new(Config { pageless: true, ..cfg(false, false) });
    let s = stored("a1", "r1");
    m.handle(begin(1, "https://app.test/x", &s));
    m.handle(token(0.0, 2, 0.0, &s));
    m.handle(Event::ForceRefresh { now: 0.0, id: 3, stored: s });
    assert_eq!(rejected(&drain(&mut m)), [(1, Code::InvalidOptions), (2, Code::InvalidOptions), (3, Code::InvalidOptions)]);
}

#[test]
fn only_a_json_document_is_read_for_a_code_and_the_app_judges_last() {
    let judged = |body_codes: bool, app_judges: bool, json: bool| {
        let mut m = Machine::new(Config { rules: Rules { body_codes, app_judges, ..cfg(false, false).rules }, ..cfg(false, false) });
        let s = stored("a1", "r1");
        m.handle(begin(1, "https://app.test/x", &s));
        drain(&mut m);
        m.handle(Event::Answer { now: 1.0, id: 1, status: 200, json, date: None, stored: s.clone() });
        let mut asked = Vec::new();
        loop {
            match drain(&mut m).as_slice() {
                [Command::Ask { id: 1, how }] => {
                    asked.push(*how);
                    m.handle(Event::Verdict { now: 2.0, id: 1, expired: false, stored: s.clone() });
                }
                [Command::Resolve { id: 1 }] => return asked,
                _ => panic!("neither asked nor resolved"),
            }
        }
    };
    assert_eq!(judged(true, false, true), [Judge::Body]);
    assert_eq!(judged(true, false, false), [], "a stream (not one JSON document) reaches the caller at once");
    assert_eq!(judged(true, true, true), [Judge::Body, Judge::App], "the body first, then isExpired");
    assert_eq!(judged(true, true, false), [Judge::App]);
    assert_eq!(judged(false, false, true), []);
}

#[test]
fn each_instance_s_requests_go_by_its_own_rules() {
    let mut m = Machine::new(cfg(false, false));
    let r = m.add_rules(Rules { allowed_origins: alloc::vec!["https://other.test".into()], ..cfg(false, false).rules }).unwrap();
    let s = stored("a1", "r1");
    let begin_with = |id, rules, url: &str| Event::Begin { now: 0.0, id, rules, url: url.into(), method: None, control: Control::None, has_auth: false, own_refresh: false, stored: s.clone() };
    m.handle(begin_with(1, r, "https://api.test/x"));
    assert!(drain(&mut m) == [Command::Pass { id: 1, watch: true }], "api.test is not in the second instance's allowedOrigins");
    m.handle(begin_with(2, r, "https://other.test/x"));
    assert_eq!(sends(&drain(&mut m)), [(2, Some("a1".into()))]);
    m.handle(begin_with(3, 0, "https://other.test/x"));
    assert!(drain(&mut m) == [Command::Pass { id: 3, watch: true }], "nor other.test in the first's");
    m.handle(begin_with(4, 99, "https://api.test/x"));
    assert_eq!(sends(&drain(&mut m)), [(4, Some("a1".into()))], "an unknown index reads as the first instance's rules");
}

fn parks(cmds: &[Command]) -> Vec<(u32, u64, u64)> {
    cmds.iter().filter_map(|c| match c { Command::Park { rules, seen, generation } => Some((*rules, *seen, *generation)), _ => None }).collect()
}

#[test]
fn answers_parked_while_a_flight_runs_join_its_queue_and_replay_once() {
    let mut m = Machine::new(cfg(false, false));
    let s = stored("a1", "r1");
    m.handle(begin(0, "https://app.test/x", &s));
    assert!(drain(&mut m).iter().any(|c| matches!(c, Command::Shortcut { seen: 0, .. })), "requests 1 and 2 go out by this shortcut");
    m.handle(Event::Answer { now: 1.0, id: 0, status: 401, json: false, date: None, stored: s.clone() });
    let generation = m.generation();
    assert_eq!(parks(&drain(&mut m)), [(0, 0, generation)], "the decision, with what it holds for, once the flight runs");
    // Another expired answer while the flight runs: the park is out already.
    m.handle(Event::ShortcutAnswer { now: 1.5, id: 3, rules: 0, token: "a0".into(), seen: 0, status: 401, date: None, stored: s.clone() });
    assert!(drain(&mut m).is_empty(), "queued, with no second park (its older token does not matter while the flight runs)");
    m.handle(Event::Parked { now: 2.0, rules: 0, seen: 0, ids: alloc::vec![1, 2], stored: s.clone() });
    assert!(drain(&mut m).is_empty(), "queued for the flight");
    assert_eq!(m.stats().queued, 4);
    m.handle(Event::Refreshed { now: 3.0, flight: 0, reply: ok_reply("a2", "r2"), jitter: 0.5, stored: s.clone() });
    let a2 = || Some(String::from("a2"));
    assert_eq!(sends(&drain(&mut m)), [(0, a2()), (3, a2()), (1, a2()), (2, a2())], "in the order the core heard of them");
    assert_ne!(m.generation(), generation, "the park no longer holds");
    assert!(!m.alive(), "a replay's answer is the caller's, never parked: the shell hands it over");
    // Answers reported after the flight landed (no shell does: it reports them before any other
    // event) take its outcome by the park's `seen`: one replay, no second refresh.
    m.handle(Event::Parked { now: 5.0, rules: 0, seen: 0, ids: alloc::vec![4], stored: stored("a2", "r2") });
    assert_eq!(sends(&drain(&mut m)), [(4, a2())]);
}

#[test]
fn no_park_where_answers_are_judged_beyond_their_status() {
    let judged = Rules { app_judges: true, ..cfg(false, false).rules };
    let mut m = Machine::new(Config { rules: judged, ..cfg(false, false) });
    let s = stored("a1", "r1");
    m.handle(begin(0, "https://app.test/x", &s));
    drain(&mut m);
    m.handle(Event::Answer { now: 1.0, id: 0, status: 401, json: false, date: None, stored: s.clone() });
    let cmds = drain(&mut m);
    assert!(!refreshes(&cmds).is_empty() && parks(&cmds).is_empty());
}

#[test]
fn the_queue_replays_with_the_tokens_onrefresh_left() {
    // onRefresh runs between the flight's landing and the replays: it may clear the tokens.
    let mut m = Machine::new(Config { on_refresh: true, ..cfg(false, false) });
    let s = stored("a1", "r1");
    m.handle(begin(1, "https://app.test/x", &s));
    drain(&mut m);
    m.handle(Event::Answer { now: 1.0, id: 1, status: 401, json: false, date: None, stored: s.clone() });
    let flight = drain(&mut m).iter().find_map(|c| match c { Command::Refresh { flight, .. } => Some(*flight), _ => None }).expect("a refresh");
    let reply = ok_reply("a2", "r2");
    m.handle(Event::Refreshed { now: 2.0, flight, reply, jitter: 0.0, stored: s.clone() });
    let landed = drain(&mut m);
    assert!(sends(&landed).is_empty(), "no replay before the callbacks ran");
    assert!(matches!(landed.last(), Some(Command::Resume)), "the shell is asked to resume after onRefresh");
    m.handle(Event::Resume { now: 3.0, stored: Stored::default() });
    assert_eq!(sends(&drain(&mut m)), [(1, None)], "replayed with what storage holds then: nothing");
}

fn pair(access: &str, refresh: &str) -> Pair {
    Pair { access: access.into(), refresh: Some(refresh.into()) }
}

/// What the core answers when storage throws the first time: said, memory, the pair kept.
fn to_memory(kept: Option<Pair>) -> [Command; 3] {
    [Command::Notify(Notice::Warn(stored::STORAGE_WARNING)), Command::Memory, Command::Store { pair: kept, expect: Expect::Any }]
}

#[test]
fn storage_that_throws_keeps_the_pair_read_last_in_memory_and_says_so_once() {
    let mut m = Machine::new(cfg(true, false));
    let s = stored("a1", "r1");
    m.handle(Event::Open { now: 0.0, stored: s.clone() });
    m.handle(Event::Online { now: 0.5, stored: stored("b1", "q1") });
    drain(&mut m);
    m.handle(Event::StorageFailed { now: 1.0 });
    assert!(drain(&mut m) == to_memory(Some(pair("b1", "q1"))), "the session goes on, in memory, with the tokens read last");
    // Storage that throws again (a late read, a write) is no news: said once per store.
    m.handle(Event::StorageFailed { now: 2.0 });
    assert!(drain(&mut m).is_empty());
    // From memory, the session is the one it was: the token goes out.
    m.handle(begin(0, "https://app.test/x", &stored("b1", "q1")));
    assert_eq!(sends(&drain(&mut m)), [(0, Some("b1".into()))]);
}

#[test]
fn storage_that_throws_keeps_the_last_whole_pair_not_one_from_two_writes() {
    // The long simulation's seed 223031: a refresh token put back beside the last pair's access
    // token was read last; memory then spent a pair no server ever issued. Both halves new is the
    // app's own login, written by itself over the old fingerprint: that one is kept.
    let r9 = Stored { refresh: Some("r9".into()), stamp: stored("a8", "r8").stamp, ..stored("a1", "r1") };
    let app = Stored { access: Some("b1".into()), refresh: Some("q1".into()), ..stored("a1", "r1") };
    for (read, kept) in [(r9, pair("a1", "r1")), (app, pair("b1", "q1"))] {
        let mut m = Machine::new(cfg(true, false));
        m.handle(Event::Open { now: 0.0, stored: stored("a1", "r1") });
        m.handle(Event::Online { now: 0.5, stored: read });
        drain(&mut m);
        m.handle(Event::StorageFailed { now: 1.0 });
        assert!(drain(&mut m) == to_memory(Some(kept)));
    }
}

#[test]
fn storage_that_throws_before_any_read_is_an_empty_memory_not_a_logout() {
    let mut m = Machine::new(cfg(false, false));
    m.handle(Event::StorageFailed { now: 0.0 });
    assert!(drain(&mut m) == to_memory(None));
    let junk = Stored { access: Some("a 1".into()), refresh: Some("r1".into()), ..Stored::default() };
    let mut m = Machine::new(cfg(false, false));
    m.handle(Event::Open { now: 0.0, stored: junk });
    m.handle(Event::StorageFailed { now: 0.0 });
    assert!(drain(&mut m) == to_memory(None), "what is not a token is not kept");
}

#[test]
fn a_write_that_throws_keeps_the_pair_it_was_writing_ahead_of_the_commands_waiting() {
    // The refreshed pair's write throws (quota): storage was put back to a1/r1, which other tabs go
    // on with; this page keeps a2/r2, in memory, before anything after the write is carried.
    let mut m = calling(None);
    m.handle(Event::Refreshed { now: 2_000.0, flight: 0, reply: ok_reply("a2", "r2"), jitter: 0.5, stored: stored("a1", "r1") });
    let mut carried = Vec::new();
    while let Some(c) = m.poll() {
        let store = matches!(c, Command::Store { pair: Some(_), .. });
        carried.push(c);
        if store {
            m.handle(Event::StorageFailed { now: 2_000.0 });
            let answer: Vec<Command> = (0..3).filter_map(|_| m.poll()).collect();
            assert!(answer == to_memory(Some(pair("a2", "r2"))), "first, and the new pair");
        }
    }
    assert!(carried.iter().any(|c| matches!(c, Command::Store { pair: Some(p), expect: Expect::Pair(Some(old)) } if p.access == "a2" && old.access == "a1")));
    assert_eq!(sends(&carried), [(0, Some("a2".into()))], "the replay is still carried, after the memory");
    assert!(!carried.iter().any(|c| matches!(c, Command::Store { pair: None, .. } | Command::Notify(Notice::Logout(_)))), "nothing is removed");
}

#[test]
fn storage_that_throws_after_a_write_keeps_the_pair_written_not_the_one_read_before() {
    // The refreshed pair was stored; a later read throws (say, by a shortcut's check) before any
    // event brought a new snapshot: a1/r1, read last, is spent.
    let mut m = calling(None);
    m.handle(Event::Refreshed { now: 2_000.0, flight: 0, reply: ok_reply("a2", "r2"), jitter: 0.5, stored: stored("a1", "r1") });
    drain(&mut m);
    m.handle(Event::Failed { now: 2_100.0, id: 0 });
    drain(&mut m);
    m.handle(Event::StorageFailed { now: 2_200.0 });
    assert!(drain(&mut m) == to_memory(Some(pair("a2", "r2"))));
}

#[test]
fn a_login_made_by_onrefresh_is_the_pair_kept_when_storage_then_fails() {
    let mut m = calling_under(Config { on_refresh: true, ..cfg(false, false) }, None);
    m.handle(Event::Refreshed { now: 2_000.0, flight: 0, reply: ok_reply("a2", "r2"), jitter: 0.0, stored: stored("a1", "r1") });
    drain(&mut m);
    // onRefresh logged in again; the Resume's snapshot says so.
    m.handle(Event::Resume { now: 3_000.0, stored: stored("b1", "q1") });
    drain(&mut m);
    m.handle(Event::StorageFailed { now: 4_000.0 });
    assert!(drain(&mut m) == to_memory(Some(pair("b1", "q1"))), "the pair storage held last, not the one the refresh wrote");
}

/// DPoP (`dpop: true`): the session of [`cfg`] with proofs.
fn dpop() -> Machine {
    Machine::new(Config { dpop: true, ..cfg(false, false) })
}

fn proofs(cmds: &[Command]) -> Vec<(u32, String, Option<String>, Proven)> {
    cmds.iter().filter_map(|c| match c { Command::Proof { id, claims, ath, of } => Some((*id, claims.clone(), ath.clone(), *of)), _ => None }).collect()
}

fn dpop_begin(id: u32, method: &str, url: &str, s: &Stored) -> Event {
    Event::Begin { now: 0.0, id, rules: 0, url: url.into(), method: Some(method.into()), control: Control::None, has_auth: false, own_refresh: false, stored: s.clone() }
}

fn answered(m: &mut Machine, id: u32, status: u16, nonce: Option<&str>, challenge: Option<&str>, s: &Stored) -> Vec<Command> {
    m.handle(Event::DpopHeaders { now: 1.0, id, nonce: nonce.map(String::from), challenge: challenge.map(String::from) });
    m.handle(Event::Answer { now: 1.0, id, status, json: false, date: None, stored: s.clone() });
    drain(m)
}

#[test]
fn dpop_a_request_with_the_token_carries_a_proof_of_what_it_is() {
    let mut m = dpop();
    let s = stored("a1", "r1");
    m.handle(dpop_begin(1, "POST", "https://api.test/v1?q=1#f", &s));
    let cmds = drain(&mut m);
    assert_eq!(proofs(&cmds), [(1, r#"{"htm":"POST","htu":"https://api.test/v1","iat":0}"#.into(), Some("a1".into()), Proven::Send)]);
    assert!(matches!(&cmds[..], [Command::Proof { .. }, Command::Send { id: 1, last: false, .. }]), "the proof, then the send; no shortcut");
    // No token stored: no proof (nothing is bound); another origin: untouched.
    m.handle(dpop_begin(2, "GET", "https://api.test/v1", &Stored::default()));
    m.handle(dpop_begin(3, "GET", "https://evil.test/v1", &s));
    let cmds = drain(&mut m);
    assert!(proofs(&cmds).is_empty() && cmds.contains(&Command::Pass { id: 3, watch: true }));
}

#[test]
fn dpop_a_nonce_challenge_is_sent_again_once_and_is_no_expiry() {
    let mut m = dpop();
    let s = stored("a1", "r1");
    m.handle(dpop_begin(1, "GET", "https://api.test/v1", &s));
    drain(&mut m);
    let cmds = answered(&mut m, 1, 401, Some("n-1"), Some(r#"DPoP error="use_dpop_nonce""#), &s);
    assert_eq!(proofs(&cmds)[0].1, r#"{"htm":"GET","htu":"https://api.test/v1","iat":0,"nonce":"n-1"}"#);
    assert_eq!(sends(&cmds), [(1, Some("a1".into()))], "the same token again, at once");
    assert!(!m.is_refreshing() && m.stats().retried == 0, "no refresh, no replay counted");
    // Challenged again: that 401 is the caller's; still no refresh (a server that challenges
    // every proof must not make a loop of refreshes).
    let cmds = answered(&mut m, 1, 401, Some("n-2"), Some(r#"DPoP error="use_dpop_nonce""#), &s);
    assert!(cmds == [Command::Resolve { id: 1 }] && !m.is_refreshing());
    // The next attempt (a new request) may be challenged once again.
    m.handle(dpop_begin(2, "GET", "https://api.test/v1", &s));
    drain(&mut m);
    assert_eq!(sends(&answered(&mut m, 2, 401, Some("n-3"), Some(r#"DPoP error="use_dpop_nonce""#), &s)), [(2, Some("a1".into()))]);
}

#[test]
fn dpop_nonces_are_kept_per_origin_from_any_answer() {
    let mut m = dpop();
    let s = stored("a1", "r1");
    m.handle(dpop_begin(1, "GET", "https://api.test/v1", &s));
    drain(&mut m);
    let cmds = answered(&mut m, 1, 200, Some("fresh"), None, &s);
    assert!(cmds.contains(&Command::Resolve { id: 1 }));
    m.handle(dpop_begin(2, "GET", "https://api.test/v2", &s));
    m.handle(dpop_begin(3, "GET", "https://app.test/v2", &s));
    m.handle(dpop_begin(4, "GET", "https://api.test/v3", &s));
    let cmds = drain(&mut m);
    let claims: Vec<String> = proofs(&cmds).into_iter().map(|p| p.1).collect();
    assert!(claims[0].ends_with(r#","nonce":"fresh"}"#) && !claims[1].contains("nonce"), "{claims:?}");
    // A junk nonce is not kept: the last good one stays.
    m.handle(dpop_begin(5, "GET", "https://api.test/v1", &s));
    drain(&mut m);
    answered(&mut m, 5, 200, Some("bad nonce"), None, &s);
    m.handle(dpop_begin(6, "GET", "https://api.test/v1", &s));
    assert!(proofs(&drain(&mut m))[0].1.ends_with(r#","nonce":"fresh"}"#));
}

#[test]
fn dpop_a_refused_proof_is_the_callers_error_with_the_servers_words() {
    let mut m = dpop();
    let s = stored("a1", "r1");
    for (id, description, said) in [(1, "htu mismatch", "htu mismatch"), (2, "a1 is bad", "no description")] {
        m.handle(dpop_begin(id, "GET", "https://api.test/v1", &s));
        drain(&mut m);
        let header = ["DPoP error=\"invalid_dpop_proof\", error_description=\"", description, "\""].concat();
        let cmds = answered(&mut m, id, 401, None, Some(&header), &s);
        let [Command::Reject { why: Why::Auth(e), .. }] = &cmds[..] else { panic!("one rejection") };
        assert_eq!(e.code, Code::DpopRefused);
        assert!(e.message.contains(said) && !e.message.contains("a1 "), "{}", e.message);
    }
    assert!(!m.is_refreshing());
}

#[test]
fn dpop_the_apps_own_request_to_the_refresh_endpoint_carries_a_proof_and_no_token() {
    let mut m = dpop();
    let s = stored("a1", "r1");
    m.handle(dpop_begin(1, "POST", "https://app.test/auth/refresh", &s));
    let cmds = drain(&mut m);
    assert_eq!(proofs(&cmds), [(1, r#"{"htm":"POST","htu":"https://app.test/auth/refresh","iat":0}"#.into(), None, Proven::Send)]);
    assert_eq!(sends(&cmds), [(1, None)]);
    // Its 400 is read: a nonce challenge goes again once, with the nonce.
    let cmds = answered(&mut m, 1, 400, Some("n-1"), None, &s);
    assert!(cmds == [Command::Ask { id: 1, how: Judge::Error }]);
    m.handle(Event::Refusal { now: 1.0, id: 1, error: Some("use_dpop_nonce".into()), description: None });
    let cmds = drain(&mut m);
    assert!(proofs(&cmds)[0].1.contains(r#""nonce":"n-1""#) && sends(&cmds) == [(1, None)]);
    answered(&mut m, 1, 400, None, None, &s);
    m.handle(Event::Refusal { now: 1.0, id: 1, error: Some("use_dpop_nonce".into()), description: None });
    assert!(drain(&mut m) == [Command::Resolve { id: 1 }], "once: the second 400 is the app's");
    // Any other answer is the app's at once.
    m.handle(dpop_begin(2, "POST", "https://app.test/auth/refresh", &s));
    drain(&mut m);
    assert!(answered(&mut m, 2, 200, None, None, &s) == [Command::Resolve { id: 2 }]);
}

#[test]
fn dpop_the_refresh_call_carries_a_proof_and_answers_a_nonce_challenge_once() {
    let mut m = Machine::new(Config { dpop: true, ..cfg(false, false) });
    let s = stored("a1", "r1");
    m.handle(dpop_begin(0, "GET", "https://app.test/x", &s));
    drain(&mut m);
    let cmds = answered(&mut m, 0, 401, None, Some(r#"DPoP error="invalid_token""#), &s);
    assert_eq!(proofs(&cmds), [(0, r#"{"htm":"POST","htu":"https://app.test/auth/refresh","iat":0}"#.into(), None, Proven::Refresh)]);
    let challenge = Reply { status: 400, json: true, oauth_error: Field::Str("use_dpop_nonce".into()), nonce: Some("n-7".into()), ..ok_reply("", "") };
    m.handle(Event::Refreshed { now: 2.0, flight: 0, reply: challenge.clone(), jitter: 0.5, stored: s.clone() });
    let cmds = drain(&mut m);
    assert!(proofs(&cmds)[0].1.contains(r#""nonce":"n-7""#) && refreshes(&cmds).len() == 1, "again at once, with the nonce");
    assert!(m.is_refreshing() && m.stats().refreshes == 0);
    m.handle(Event::Refreshed { now: 3.0, flight: 0, reply: challenge, jitter: 0.5, stored: s.clone() });
    let cmds = drain(&mut m);
    assert!(refreshes(&cmds).is_empty() && rejected(&cmds) == [(0, Code::RefreshFailed)], "once");
}

#[test]
fn dpop_a_refresh_answer_whose_tokens_are_not_bound_is_refused_and_not_stored() {
    let mut m = calling_under(Config { dpop: true, ..cfg(false, false) }, None);
    let reply = Reply { status: 400, oauth_error: Field::Str("invalid_dpop_proof".into()), description: Some("bad htm\n".into()), ..ok_reply("", "") };
    m.handle(Event::Refreshed { now: 2.0, flight: 0, reply, jitter: 0.5, stored: stored("a1", "r1") });
    let cmds = drain(&mut m);
    assert!(matches!(&cmds.iter().find(|c| matches!(c, Command::Reject { .. })), Some(Command::Reject { why: Why::Auth(e), .. }) if e.code == Code::DpopRefused && e.message.contains("bad htm?")));
    for (token_type, stored_pair) in [("Bearer", false), ("dpop", true)] {
        let mut m = calling_under(Config { dpop: true, ..cfg(false, false) }, None);
        let reply = Reply { token_type: Field::Str(token_type.into()), ..ok_reply("a2", "r2") };
        m.handle(Event::Refreshed { now: 2.0, flight: 0, reply, jitter: 0.5, stored: stored("a1", "r1") });
        let cmds = drain(&mut m);
        assert_eq!(cmds.iter().any(|c| matches!(c, Command::Store { pair: Some(_), .. })), stored_pair, "{token_type}");
        if !stored_pair {
            assert_eq!(rejected(&cmds), [(0, Code::DpopRefused)]);
            assert_eq!(m.stats().refreshes, 0);
        }
    }
}

#[test]
fn dpop_a_key_made_while_tokens_remain_ends_the_session_without_a_refresh() {
    let mut m = dpop();
    let s = stored("a1", "r1");
    m.handle(Event::Open { now: 0.0, stored: s.clone() });
    // Two requests whose proofs wait for the key; the app's code exchange (no token) too.
    m.handle(dpop_begin(1, "GET", "https://api.test/v1", &s));
    m.handle(dpop_begin(2, "POST", "https://api.test/v2", &s));
    m.handle(dpop_begin(3, "POST", "https://app.test/auth/refresh", &s));
    drain(&mut m);
    m.handle(Event::KeyCreated { now: 1.0, stored: s.clone() });
    let cmds = drain(&mut m);
    assert_eq!(rejected(&cmds), [(1, Code::DpopKeyLost), (2, Code::DpopKeyLost)], "not sent: their token is bound to the lost key");
    let a1 = Pair { access: "a1".into(), refresh: Some("r1".into()) };
    assert!(cmds.contains(&Command::Store { pair: None, expect: Expect::Pair(Some(a1)) }), "only the pair bound to the lost key");
    assert!(cmds.contains(&Command::Notify(Notice::Logout(Code::DpopKeyLost))) && cmds.contains(&Command::Notify(Notice::Navigate)));
    assert!(refreshes(&cmds).is_empty() && !m.is_refreshing());
    assert!(!cmds.iter().any(|c| matches!(c, Command::DropKey(_))), "the new key stays: a login may be signing with it");
    // A key made with no tokens (a first login) ends nothing.
    let mut m = dpop();
    m.handle(Event::KeyCreated { now: 1.0, stored: Stored::default() });
    assert!(drain(&mut m).is_empty());
}

#[test]
fn dpop_the_key_goes_with_the_session() {
    let mut m = dpop();
    let s = stored("a1", "r1");
    m.handle(Event::Open { now: 0.0, stored: s.clone() });
    m.handle(Event::ClearTokens { now: 1.0 });
    assert!(drain(&mut m).contains(&Command::DropKey(Remove::Any)), "clearTokens: whatever record");
    let mut m = dpop();
    m.handle(Event::Open { now: 0.0, stored: s.clone() });
    m.handle(Event::Storage { now: 1.0, stored: Stored::default() });
    assert!(drain(&mut m).contains(&Command::DropKey(Remove::Keep)), "another tab's logout: that tab removes it");
    let mut m = calling_under(Config { dpop: true, ..cfg(false, false) }, None);
    m.handle(Event::Refreshed { now: 2.0, flight: 0, reply: Reply { status: 401, ..ok_reply("", "") }, jitter: 0.5, stored: s });
    assert!(drain(&mut m).contains(&Command::DropKey(Remove::Used)), "a refused refresh: the record it used");
    // Without DPoP, no key.
    let mut m = Machine::new(cfg(false, false));
    m.handle(Event::ClearTokens { now: 1.0 });
    assert!(!drain(&mut m).iter().any(|c| matches!(c, Command::DropKey(_))));
}

#[test]
fn dpop_proof_for_the_apps_own_request() {
    let mut m = dpop();
    m.handle(Event::Prove { now: 5_000.0, id: 9, method: "GET".into(), url: "wss://api.test/socket?t=1".into(), stored: stored("a1", "r1") });
    assert_eq!(proofs(&drain(&mut m)), [(9, r#"{"htm":"GET","htu":"wss://api.test/socket","iat":5}"#.into(), Some("a1".into()), Proven::Caller)]);
    let mut m = Machine::new(cfg(false, false));
    m.handle(Event::Prove { now: 0.0, id: 9, method: "GET".into(), url: "https://api.test/".into(), stored: Stored::default() });
    assert_eq!(rejected(&drain(&mut m)), [(9, Code::InvalidOptions)]);
}

#[test]
fn dpop_a_last_attempts_answer_is_the_callers() {
    // Kept by the core (its answer may carry a nonce), a replay's or a `no-refresh` request's 401
    // is still the caller's: no second refresh, no loop.
    let mut m = calling_under(Config { dpop: true, ..cfg(false, false) }, None);
    m.handle(Event::Refreshed { now: 2.0, flight: 0, reply: Reply { token_type: Field::Str("DPoP".into()), ..ok_reply("a2", "r2") }, jitter: 0.5, stored: stored("a1", "r1") });
    let cmds = drain(&mut m);
    assert_eq!(sends(&cmds), [(0, Some("a2".into()))], "the replay");
    assert!(cmds.iter().any(|c| matches!(c, Command::Send { id: 0, last: false, .. })), "kept: its answer is read");
    let cmds = answered(&mut m, 0, 401, Some("n-1"), None, &stored("a2", "r2"));
    assert!(cmds == [Command::Resolve { id: 0 }] && !m.is_refreshing(), "the replay's 401 is the caller's");
    let s = stored("a2", "r2");
    m.handle(Event::Begin { now: 3.0, id: 5, rules: 0, url: "https://api.test/x".into(), method: Some("GET".into()), control: Control::NoRefresh, has_auth: false, own_refresh: false, stored: s.clone() });
    drain(&mut m);
    assert!(answered(&mut m, 5, 401, None, None, &s) == [Command::Resolve { id: 5 }] && !m.is_refreshing(), "no-refresh");
    // The nonce it brought is kept all the same.
    m.handle(dpop_begin(6, "GET", "https://app.test/y", &s));
    assert!(proofs(&drain(&mut m))[0].1.contains(r#""nonce":"n-1""#));
}

fn failure_messages(cmds: &[Command]) -> Vec<String> {
    cmds.iter().filter_map(|c| match c {
        Command::Reject { why: Why::Auth(e), .. } => Some(e.message.clone()),
        Command::Notify(Notice::RefreshError(e)) => Some(e.message.clone()),
        _ => None,
    }).collect()
}

#[test]
fn dpop_a_refresh_endpoints_description_never_quotes_a_token() {
    let (access, refresh) = ("access-token-AAAAAAAAAAAA", "refresh-token-RRRRRRRRRRRR");
    let mut m = dpop();
    let s = stored(access, refresh);
    m.handle(dpop_begin(0, "GET", "https://app.test/x", &s));
    drain(&mut m);
    answered(&mut m, 0, 401, None, None, &s);
    let reply = Reply { status: 400, oauth_error: Field::Str("invalid_dpop_proof".into()), description: Some(alloc::format!("proof does not match refresh token {refresh}")), ..ok_reply("", "") };
    m.handle(Event::Refreshed { now: 2.0, flight: 0, reply, jitter: 0.5, stored: s.clone() });
    let cmds = drain(&mut m);
    let msgs = failure_messages(&cmds);
    assert!(!msgs.is_empty());
    for text in msgs {
        assert!(!text.contains(refresh) && !text.contains(access), "a token in {text}");
    }
}

#[test]
fn dpop_a_resource_description_never_quotes_part_of_a_token() {
    let token = "tok-0123456789abcdefghijklmnopqrstuvwxyz";
    let mut m = dpop();
    let s = stored(token, "r1");
    m.handle(dpop_begin(1, "GET", "https://api.test/v1", &s));
    drain(&mut m);
    let header = alloc::format!("DPoP error=\"invalid_dpop_proof\", error_description=\"{}{token}\"", "x".repeat(180));
    let cmds = answered(&mut m, 1, 401, None, Some(&header), &s);
    let text = failure_messages(&cmds).join("|");
    assert!(!text.contains(&token[..16]), "part of the token in {text}");
}

#[test]
fn dpop_no_nonce_retry_of_a_refresh_after_a_logout_elsewhere() {
    let mut m = calling_under(Config { dpop: true, ..cfg(false, false) }, None);
    let challenge = Reply { status: 400, json: true, oauth_error: Field::Str("use_dpop_nonce".into()), nonce: Some("n-7".into()), ..ok_reply("", "") };
    // Storage emptied meanwhile (a logout in another tab).
    m.handle(Event::Refreshed { now: 2.0, flight: 0, reply: challenge, jitter: 0.5, stored: Stored::default() });
    let cmds = drain(&mut m);
    assert!(refreshes(&cmds).is_empty(), "the refresh token spent again after a logout: {:?}", refreshes(&cmds));
}

#[test]
fn dpop_no_park() {
    let mut m = dpop();
    let s = stored("a1", "r1");
    m.handle(dpop_begin(0, "GET", "https://app.test/x", &s));
    drain(&mut m);
    let cmds = answered(&mut m, 0, 401, None, None, &s);
    assert!(!cmds.iter().any(|c| matches!(c, Command::Park { .. })), "a Park under DPoP");
}

#[test]
fn dpop_no_nonce_retry_of_a_request_after_a_logout() {
    // Simulation, seed 220: the attempt's token is no longer the one to send once a reset (here
    // `logout()`) finished since it left; the answer goes the usual way (the reset's outcome).
    let mut m = dpop();
    let s = stored("a1", "r1");
    m.handle(dpop_begin(1, "GET", "https://api.test/v1", &s));
    drain(&mut m);
    m.handle(Event::Logout { now: 1.0 });
    drain(&mut m);
    let cmds = answered(&mut m, 1, 401, Some("n-1"), Some(r#"DPoP error="use_dpop_nonce""#), &Stored::default());
    assert!(sends(&cmds).is_empty(), "not sent again with a1 after the logout");
    assert_eq!(rejected(&cmds), [(1, Code::NoRefreshToken)]);
}

#[test]
fn dpop_no_nonce_retry_of_a_request_whose_token_is_no_longer_stored() {
    // Simulation, seed 473266: another tab's logout not heard yet, but the snapshot the answer
    // carries holds no tokens: a1 is not sent again.
    let mut m = dpop();
    let s = stored("a1", "r1");
    m.handle(Event::Open { now: 0.0, stored: s.clone() });
    m.handle(dpop_begin(1, "GET", "https://api.test/v1", &s));
    drain(&mut m);
    let cmds = answered(&mut m, 1, 401, Some("n-1"), Some(r#"DPoP error="use_dpop_nonce""#), &Stored::default());
    assert!(sends(&cmds).is_empty(), "not sent again with a1 once storage holds none");
    let cmds2 = answered(&mut m, 1, 401, None, None, &Stored::default());
    assert!(cmds2.is_empty(), "settled once");
    assert_eq!(rejected(&cmds), [(1, Code::NoRefreshToken)]);
}

#[test]
fn dpop_a_key_made_cancels_the_calls_a_reset_took_away() {
    // Simulation, seed 450: a refresh call whose proof waited for the key, its flight taken away by
    // a logout meanwhile, must not spend with a key its refresh token is not bound to.
    let mut m = calling_under(Config { dpop: true, ..cfg(false, false) }, None);
    m.handle(Event::Logout { now: 1.5 });
    drain(&mut m);
    m.handle(Event::KeyCreated { now: 2.0, stored: Stored::default() });
    assert!(drain(&mut m).contains(&Command::CancelRefresh { flight: 0 }));
}

#[test]
fn a_settle_step_long_after_its_window_waits_on() {
    // Simulation, seed 997125: a tab whose lock was contended waits for the other tab's write; it
    // is frozen past the window, and thaws hearing the first key of that write (the fingerprint is
    // written first). It must wait on, not spend the refresh token the other tab just spent.
    let mut m = calling_under(cfg(true, false), None);
    let s = stored("a1", "r1");
    m.handle(Event::Granted { now: 1_010.0, flight: 0, contended: true, held: true, stored: s.clone() });
    assert!(drain(&mut m).iter().any(|c| matches!(c, Command::Timer { timer: Timer::Settle(0), .. })));
    let a2 = Pair { access: "a2".into(), refresh: Some("r2".into()) };
    let first_key = Stored { stamp: Some(fingerprint(&a2)), ..s.clone() };
    m.handle(Event::Storage { now: 3_000.0, stored: first_key });
    let cmds = drain(&mut m);
    assert!(refreshes(&cmds).is_empty(), "spent after sleeping through the window");
    assert!(cmds.iter().any(|c| matches!(c, Command::Timer { at, timer: Timer::Settle(0) } if *at == 3_250.0)), "waits 250 ms more");
    // The rest of the write arrives: adopted, nothing spent.
    m.handle(Event::Storage { now: 3_020.0, stored: stored("a2", "r2") });
    let cmds = drain(&mut m);
    assert!(refreshes(&cmds).is_empty() && sends(&cmds) == [(0, Some("a2".into()))]);
}

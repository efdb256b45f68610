//! The boundary driven as the shell drives it: values walked, strings through the inbox, commands
//! read back as numbers and strings.

use super::wire::{ExpectKind, NoticeKind, Op, Value as V, WhyKind};
use super::*;

const APP: &str = "https://app.example";

fn walk_str(b: &mut Boundary, s: &str) {
    b.put(&[Some(s)]);
    b.value(V::Text as u32, 0.0);
}

fn key(b: &mut Boundary, k: &str) {
    b.put(&[Some(k)]);
    b.value(V::Key as u32, 0.0);
}

/// `{ refreshUrl, <extra string options> }` walked (`allowedOrigins` as a list of its one
/// string), then `create`.
fn session(b: &mut Boundary, extra: &[(&str, &str)]) -> u32 {
    assert!(b.value(V::Map as u32, 0.0));
    key(b, "refreshUrl");
    walk_str(b, "/auth/refresh");
    for (k, v) in extra {
        key(b, k);
        let list = *k == "allowedOrigins";
        if list {
            b.value(V::List as u32, 0.0);
        }
        walk_str(b, v);
        if list {
            b.value(V::End as u32, 0.0);
        }
    }
    b.value(V::End as u32, 0.0);
    b.put(&[Some(APP), Some("https://app.example/auth/refresh")]);
    b.create()
}

fn drain(b: &mut Boundary, s: u32) -> Vec<(u32, u32, Vec<Option<String>>)> {
    let mut out = Vec::new();
    while b.next(s) != 0 {
        out.push((b.out.op, b.out.id, b.out.texts.to_vec()));
    }
    out
}

/// Request 1 with a1/r1 stored, answered 401, the lock granted: the `REFRESH` command.
fn to_refresh(b: &mut Boundary, s: u32) -> (u32, u32, Vec<Option<String>>) {
    b.put(&[Some("https://app.example/api"), None, Some("a1"), Some("r1"), None, None]);
    b.begin(s, 0.0, 1, 0, 0, 0);
    drain(b, s);
    b.put(&[None, None, Some("a1"), Some("r1"), None, None]);
    b.answer(s, 0.0, 1, 401);
    let lock = drain(b, s).into_iter().find(|c| c.0 == Op::Lock as u32).expect("the lock is asked for");
    b.put(&[Some("a1"), Some("r1"), None, None]);
    b.granted(s, 0.0, lock.1, false, true);
    drain(b, s).into_iter().find(|c| c.0 == Op::Refresh as u32).expect("a refresh call")
}

#[test]
fn options_are_checked_by_the_rules_and_their_error_read_back() {
    let mut b = Boundary::default();
    b.value(V::Map as u32, 0.0);
    key(&mut b, "refreshUrl");
    b.value(V::Number as u32, 3.0);
    b.value(V::End as u32, 0.0);
    b.put(&[Some(APP), None]);
    assert_eq!(b.create(), 0);
    assert_eq!(b.out.op, Op::Invalid as u32);
    assert_eq!(b.out.texts[0].as_deref(), Some("INVALID_OPTIONS"));
    assert_eq!(b.out.texts[1].as_deref(), Some("AuthFetch options: refreshUrl must be a string"));
}

#[test]
fn a_session_hands_the_shell_its_keys_and_instances_share_it() {
    let mut b = Boundary::default();
    let s = session(&mut b, &[("accessTokenKey", "at")]);
    assert_eq!(s, 1);
    let texts: Vec<_> = b.out.texts.iter().map(|t| t.as_deref()).collect();
    assert_eq!(texts, [Some("local"), Some("at"), Some("refreshToken"), Some("Authorization"), Some("seamless-fetch:at:https://app.example/auth/refresh")]);
    assert_eq!(b.out.code, 0);
    b.put(&[None, None, None, None]);
    b.heard(s, 0.0, Heard::Open);
    assert_eq!(session(&mut b, &[("accessTokenKey", "at")]), 1, "an instance on the same keys joins");
    assert_eq!(b.out.code, 1);
    assert_eq!(session(&mut b, &[]), 2, "other keys, another session");
}

#[test]
fn a_request_goes_out_with_the_header_value_the_options_give() {
    let mut b = Boundary::default();
    let s = session(&mut b, &[("authScheme", "Token")]);
    b.put(&[Some("https://app.example/api"), None, Some("a1"), Some("r1"), None, None]);
    b.begin(s, 1_000.0, 7, 0, 0, 0);
    let cmds = drain(&mut b, s);
    assert_eq!(cmds[0], (Op::Send as u32, 7, vec![Some("Token a1".into()), None, None, None, None]));
    // And the same decision for the next plain requests to that origin, but the refresh endpoint.
    let texts = |v: &[&str]| v.iter().map(|t| Some(String::from(*t))).chain([None]).collect::<Vec<_>>();
    assert_eq!(cmds[1], (Op::Shortcut as u32, 0, texts(&["https://app.example", "https://app.example/auth/refresh", "Token a1", "a1"])));
    assert_eq!(cmds.len(), 2);
    // To another origin: passed as it is, without the token.
    b.put(&[Some("https://evil.example/x"), None, Some("a1"), Some("r1"), None, None]);
    b.begin(s, 1_000.0, 8, 0, 0, 0);
    assert_eq!(drain(&mut b, s)[0].0, Op::Pass as u32);
}

#[test]
fn an_expired_answer_refreshes_with_the_cores_body_and_stores_over_what_it_spent() {
    let mut b = Boundary::default();
    let s = session(&mut b, &[]);
    let keys = [Some("https://app.example/api"), None, Some("a1"), Some("r1"), None, None];
    b.put(&keys);
    b.begin(s, 1_000.0, 1, 0, 0, 0);
    drain(&mut b, s);
    b.put(&[None, None, Some("a1"), Some("r1"), None, None]);
    b.answer(s, 1_010.0, 1, 401);
    let cmds = drain(&mut b, s);
    let lock = cmds.iter().find(|c| c.0 == Op::Lock as u32).expect("the lock is asked for");
    b.put(&[Some("a1"), Some("r1"), None, None]);
    b.granted(s, 1_020.0, lock.1, false, true);
    let cmds = drain(&mut b, s);
    let refresh = cmds.iter().find(|c| c.0 == Op::Refresh as u32).expect("a refresh call");
    assert_eq!(refresh.2[2].as_deref(), Some("application/json"));
    assert_eq!(refresh.2[3].as_deref(), Some("{\"refreshToken\":\"r1\",\"token\":\"a1\"}"));
    // The answer, walked: { accessToken: "a2", refreshToken: "r2" }.
    b.value(V::Map as u32, 0.0);
    key(&mut b, "accessToken");
    walk_str(&mut b, "a2");
    key(&mut b, "refreshToken");
    walk_str(&mut b, "r2");
    b.value(V::End as u32, 0.0);
    b.put(&[None, None, None, None, Some("a1"), Some("r1"), None, None]);
    b.refreshed(s, 1_100.0, refresh.1, wire::Call::Response as u32, 200, 0.5);
    let (mut saw_store, mut saw_replay) = (false, false);
    while b.next(s) != 0 {
        if b.out.op == Op::Store as u32 {
            saw_store = true;
            assert_eq!(b.out.code, ExpectKind::Pair as u32);
            assert_eq!((b.out.texts[0].as_deref(), b.out.texts[1].as_deref()), (Some("a2"), Some("r2")));
            assert_eq!((b.out.texts[3].as_deref(), b.out.texts[4].as_deref()), (Some("a1"), Some("r1")), "only over the pair it spent");
            assert_eq!(b.out.texts[2].as_deref().map(str::len), Some(16), "the pair's stamp");
        }
        if b.out.op == Op::SendLast as u32 {
            saw_replay = true;
            assert_eq!(b.out.texts[0].as_deref(), Some("Bearer a2"), "the replay carries the new token");
        }
        assert_ne!(b.out.op, Op::Send as u32, "a replay is the last attempt");
    }
    assert!(saw_store && saw_replay);
}

#[test]
fn a_refused_refresh_rejects_with_the_code_and_message_the_rules_give() {
    let mut b = Boundary::default();
    let s = session(&mut b, &[("loginUrl", "/signin"), ("loginReturnParam", "next")]);
    let refresh = to_refresh(&mut b, s);
    b.value(V::Undefined as u32, 0.0);
    b.put(&[None, None, None, None, Some("a1"), Some("r1"), None, None]);
    b.refreshed(s, 0.0, refresh.1, wire::Call::Response as u32, 401, 0.5);
    let (mut rejected, mut navigate) = (false, false);
    while b.next(s) != 0 {
        if b.out.op == Op::Reject as u32 {
            rejected = true;
            assert_eq!(b.out.code, WhyKind::Auth as u32);
            assert_eq!(b.out.texts[0].as_deref(), Some("SESSION_EXPIRED"));
        }
        if b.out.op == Op::Notify as u32 && b.out.code == wire::NoticeKind::Navigate as u32 {
            navigate = true;
            assert_eq!(b.out.texts[0].as_deref(), Some("/signin"));
        }
    }
    assert!(rejected && navigate);
    b.put(&[Some("/orders"), Some("?id=4#top"), Some("/signin")]);
    b.login_target(s);
    assert_eq!(b.out.texts[0].as_deref(), Some("/signin?next=%2Forders%3Fid%3D4%23top"));
    b.put(&[Some("/signin"), Some(""), Some("/signin")]);
    b.login_target(s);
    assert_eq!(b.out.texts[0], None, "already on the login page: stay");
}

#[test]
fn a_walk_stops_where_the_core_says() {
    let mut b = Boundary::default();
    let mut depth = 0;
    while b.value(V::List as u32, 0.0) {
        depth += 1;
        assert!(depth <= MAX_DEPTH, "the walk never ends");
    }
    assert_eq!(depth, MAX_DEPTH);
    for _ in 0..=depth {
        b.value(V::End as u32, 0.0);
    }
    assert!(matches!(b.walked(), Value::List(_)));
}

#[test]
fn an_inbox_that_runs_out_reads_as_nothing() {
    let mut b = Boundary::default();
    let s = session(&mut b, &[]);
    b.put(&[Some("https://app.example/api"), None]);
    b.begin(s, 0.0, 1, 0, 0, 0);
    // No stored keys were written: no session, so no token is sent.
    let cmds = drain(&mut b, s);
    assert!(cmds.iter().all(|c| c.0 != Op::Send as u32 || c.2[0].is_none()), "{cmds:?}");
    let p = b.inbox(3);
    unsafe { core::ptr::copy_nonoverlapping([9u8, 0, 0].as_ptr(), p, 3) };
    assert_eq!(b.take(), None, "a length cut short is no string");
}

#[test]
fn how_a_refresh_function_failed_decides_the_code() {
    let mut b = Boundary::default();
    b.value(V::Map as u32, 0.0);
    key(&mut b, "refresh");
    b.value(V::Function as u32, 0.0);
    b.value(V::End as u32, 0.0);
    b.put(&[Some(APP), None]);
    let s = b.create();
    assert_ne!(s, 0, "{:?}", b.out.texts);
    let refresh = to_refresh(&mut b, s);
    assert_eq!((refresh.2[0].as_deref(), refresh.2[1].as_deref()), (Some("r1"), Some("a1")), "the function gets the tokens");
    b.value(V::Undefined as u32, 0.0);
    b.put(&[None, Some("Error"), Some("SESSION_EXPIRED"), None, Some("a1"), Some("r1"), None, None]);
    b.refreshed(s, 0.0, refresh.1, wire::Call::Threw as u32, 0, 0.5);
    let mut codes = Vec::new();
    while b.next(s) != 0 {
        if b.out.op == Op::Reject as u32 {
            codes.push((b.out.texts[0].clone(), b.out.texts[1].clone()));
        }
    }
    assert_eq!(codes, [(Some("SESSION_EXPIRED".into()), Some("the refresh function refused the session (SESSION_EXPIRED)".into()))]);
}

#[test]
fn the_walk_bound_counts_each_walk_alone() {
    // A long-lived page walks thousands of small values (every refresh answer, every setTokens):
    // the node bound is per walk, never reached by their sum.
    let mut b = Boundary::default();
    for _ in 0..3 * MAX_NODES {
        b.value(V::Map as u32, 0.0);
        key(&mut b, "accessToken");
        walk_str(&mut b, "a2");
        b.value(V::End as u32, 0.0);
        let Value::Map(entries) = b.walked() else { panic!("the walk was cut short") };
        assert_eq!(entries, [("accessToken".into(), Value::Str("a2".into()))]);
    }
}

#[test]
fn an_instance_with_other_request_rules_joins_with_its_own() {
    // One session (one refresh, one queue) for both, but each instance's requests are judged by
    // its own rules: the second one's allowedOrigins must not send the first one's token there,
    // and its scheme is its own.
    let mut b = Boundary::default();
    let s = session(&mut b, &[]);
    assert_eq!(b.out.number, 0.0, "the first instance's rules are the session's first");
    b.put(&[None, None, None, None]);
    b.heard(s, 0.0, Heard::Open);
    let other = [("authScheme", "Token"), ("allowedOrigins", "https://api.example")];
    assert_eq!(session(&mut b, &other), s, "joins the session");
    assert_eq!((b.out.code, b.out.number), (1, 1.0), "with rules of its own");
    assert_eq!(session(&mut b, &other), s);
    assert_eq!(b.out.number, 1.0, "equal rules share an index");
    for (rules, url, sent) in [(0, "https://api.example/x", None), (1, "https://api.example/x", Some("Token a1")), (0, "https://app.example/x", Some("Bearer a1"))] {
        b.put(&[Some(url), None, Some("a1"), Some("r1"), None, None]);
        b.begin(s, 0.0, 9, rules, 0, 0);
        let op = b.next(s);
        assert_eq!((op, b.out.texts[0].as_deref()), (if sent.is_some() { Op::Send } else { Op::Pass } as u32, sent), "rules {rules} to {url}");
        while b.next(s) != 0 {}
        b.put(&[None, None, Some("a1"), Some("r1"), None, None]);
        b.answer(s, 0.0, 9, 200);
        while b.next(s) != 0 {}
    }
    for n in 2..crate::machine::MAX_RULES {
        assert_eq!(session(&mut b, &[("authScheme", &["S", &crate::code::decimal(n as u64)].concat())]), s);
    }
    assert_eq!(session(&mut b, &[("authScheme", "One too many")]), 0, "the rule sets of a session are bounded");
    assert_eq!(b.out.texts[0].as_deref(), Some("INVALID_OPTIONS"));
}

#[test]
fn an_expired_answer_from_a_withheld_origin_is_explained_once_per_origin() {
    let mut b = Boundary::default();
    let s = session(&mut b, &[]);
    let mut warned = Vec::new();
    for (url, status) in [("https://evil.example/a?key=SECRET", 401), ("https://evil.example/b", 401), ("https://other.example/c", 200), ("https://other.example/d", 401)] {
        b.put(&[Some(url), None, Some("a1"), Some("r1"), None, None]);
        b.begin(s, 0.0, 1, 0, 0, 0);
        assert_eq!((b.next(s), b.out.code), (Op::Pass as u32, 1), "watched: {url}");
        b.put(&[Some(url)]);
        b.passed(s, 0.0, 0, status);
        while b.next(s) != 0 {
            if b.out.code == NoticeKind::Warn as u32 {
                warned.push(b.out.texts[0].clone().unwrap_or_default());
            }
        }
    }
    assert_eq!(warned, [
        "seamless-fetch: a 401 from https://evil.example was passed through: that origin is not in allowedOrigins",
        "seamless-fetch: a 401 from https://other.example was passed through: that origin is not in allowedOrigins",
    ]);
}

#[test]
fn a_handle_is_never_given_to_another_session() {
    let mut b = Boundary::default();
    let s = session(&mut b, &[]);
    b.put(&[None, None, None, None]);
    b.heard(s, 0.0, Heard::Open);
    b.plain(s, Event::Close { now: 0.0 });
    let t = session(&mut b, &[]);
    assert_ne!(t, s, "the ended session's handle is not reused");
    b.put(&[Some("a1"), Some("2024-01-01"), Some("a1"), Some("r1"), None, None]);
    assert!(!b.shortcut_answer(s, 0.0, 9, 0, 0.0, 401), "a late answer for the ended session finds none");
    assert_eq!(b.next(t), 0, "and nothing reaches the new one");
}

#[test]
fn storage_that_throws_is_answered_first_and_once() {
    let mut b = Boundary::default();
    let s = session(&mut b, &[]);
    b.put(&[Some("a1"), Some("r1"), None, None]);
    b.heard(s, 0.0, Heard::Open);
    drain(&mut b, s);
    // A read threw while a command still waited: the answer is counted and comes first.
    b.put(&[Some("a1"), Some("r1"), None, None]);
    b.set_tokens(s, 1.0); // nothing walked: refused, an INVALID waits
    assert_eq!(b.storage_failed(s, 2.0), 3);
    assert_eq!(b.next(s), Op::Notify as u32);
    assert_eq!((b.out.code, b.out.texts[0].as_deref()), (wire::NoticeKind::Warn as u32, Some(crate::machine::stored::STORAGE_WARNING)));
    assert_eq!(b.next(s), Op::Memory as u32);
    assert_eq!(b.next(s), Op::Store as u32);
    assert_eq!((b.out.code, b.out.texts[0].as_deref(), b.out.texts[1].as_deref()), (ExpectKind::Any as u32, Some("a1"), Some("r1")), "the pair read last");
    assert_eq!(b.next(s), Op::Invalid as u32, "then what waited");
    assert_eq!(b.storage_failed(s, 3.0), 0, "said once");
    assert_eq!(b.storage_failed(99, 3.0), 0, "no session");
}

#[test]
fn junk_in_storage_is_no_pair_for_the_compare_and_set_as_for_the_core() {
    let mut b = Boundary::default();
    let s = session(&mut b, &[]);
    for (access, refresh, none) in [(None, None, true), (Some(""), Some("r1"), true), (Some("undefined"), Some("undefined"), true), (Some("a1"), Some("null"), true), (Some("a1"), None, true), (Some("a1"), Some("r1"), false)] {
        b.put(&[access, refresh]);
        assert_eq!(b.no_pair(s), none, "{access:?} {refresh:?}");
    }
}

//! The numbers that cross the wasm boundary, named once, here. `pkg-template/shell.js` holds the
//! same names in its `PROTOCOL` object; `the_shell_speaks_this_protocol` (below) checks it against
//! [`TABLE`], so neither side is kept in step by hand.

/// Defines a group of wire numbers: a Rust enum and its rows of the table, from one list.
macro_rules! group {
    ($(#[$doc:meta])* $name:ident: $($variant:ident = $n:literal => $js:literal),* $(,)?) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Debug)]
        #[repr(u32)]
        #[allow(missing_docs)]
        pub enum $name { $($variant = $n),* }

        impl $name {
            /// The variant with wire number `n`.
            pub fn from_wire(n: u32) -> Option<$name> {
                match n { $($n => Some($name::$variant),)* _ => None }
            }
            /// The group's name and rows, as the shell spells them.
            pub const ROWS: (&'static str, &'static [(&'static str, u32)]) = (stringify!($name), &[$(($js, $n)),*]);
        }
    };
}

group! {
    /// What the shell is told to do next (`next()`); 0: nothing more for now.
    Op:
    Pass = 1 => "PASS",
    Send = 2 => "SEND",
    Ask = 3 => "ASK",
    Resolve = 4 => "RESOLVE",
    Reject = 5 => "REJECT",
    Lock = 6 => "LOCK",
    Unlock = 7 => "UNLOCK",
    Refresh = 8 => "REFRESH",
    CancelRefresh = 9 => "CANCEL_REFRESH",
    Store = 10 => "STORE",
    StoreBackoff = 11 => "STORE_BACKOFF",
    Timer = 12 => "TIMER",
    Notify = 13 => "NOTIFY",
    Invalid = 14 => "INVALID",
    Give = 15 => "GIVE",
    Shortcut = 16 => "SHORTCUT",
    Resume = 17 => "RESUME",
    Memory = 18 => "MEMORY",
    CancelTimer = 19 => "CANCEL_TIMER",
    Park = 20 => "PARK",
    SendLast = 21 => "SEND_LAST",
    Proof = 22 => "PROOF",
    DropKey = 23 => "DROP_KEY",
}

group! {
    /// One node of a JS value as the shell walks it (`value(kind, number)`): the options object,
    /// a refresh answer's JSON, an answer body's JSON.
    Value:
    Undefined = 0 => "UNDEFINED",
    Null = 1 => "NULL",
    False = 2 => "FALSE",
    True = 3 => "TRUE",
    Number = 4 => "NUMBER",
    Text = 5 => "STRING",
    Function = 6 => "FUNCTION",
    Other = 7 => "OTHER",
    List = 8 => "LIST",
    Map = 9 => "MAP",
    Key = 10 => "KEY",
    End = 11 => "END",
}

group! {
    /// The request's `x-seamless-fetch` header, as `begin` reports it.
    Control:
    None = 0 => "NONE",
    NoToken = 1 => "NO_TOKEN",
    NoRefresh = 2 => "NO_REFRESH",
    Invalid = 3 => "INVALID",
}

group! {
    /// Bits of `begin`'s `flags`.
    Flag:
    HasAuth = 1 => "HAS_AUTH",
    OwnRefresh = 2 => "OWN_REFRESH",
}

group! {
    /// Which timer of a flight (`TIMER`'s `code`, `timer`'s `kind`).
    TimerKind:
    Gate = 1 => "GATE",
    Settle = 2 => "SETTLE",
    Timeout = 3 => "TIMEOUT",
}

group! {
    /// Why a request is rejected (`REJECT`'s `code`).
    WhyKind:
    Auth = 1 => "AUTH",
    Aborted = 2 => "ABORTED",
    Transport = 3 => "TRANSPORT",
}

group! {
    /// What a `STORE` expects to find (`STORE`'s `code`).
    ExpectKind:
    Any = 1 => "ANY",
    Pair = 2 => "PAIR",
    Nothing = 3 => "NOTHING",
}

group! {
    /// Which callback (`NOTIFY`'s `code`).
    NoticeKind:
    Refreshed = 1 => "REFRESHED",
    RefreshError = 2 => "REFRESH_ERROR",
    Logout = 3 => "LOGOUT",
    Tokens = 4 => "TOKENS",
    Navigate = 5 => "NAVIGATE",
    Warn = 6 => "WARN",
}

group! {
    /// Who judges an answer (`ASK`'s `code`).
    JudgeKind:
    Body = 1 => "BODY",
    App = 2 => "APP",
    Error = 3 => "ERROR",
}

group! {
    /// Bits of `create`'s `flag`: how the shell sets the session up.
    Setup:
    Cookie = 1 => "COOKIE",
    CrossTab = 2 => "CROSS_TAB",
    Dpop = 4 => "DPOP",
}

group! {
    /// Whose proof a `PROOF` is (`PROOF`'s `code`).
    ProvenKind:
    Send = 1 => "SEND",
    Refresh = 2 => "REFRESH",
    Caller = 3 => "CALLER",
}

group! {
    /// Which key record a `DROP_KEY` removes (`DROP_KEY`'s `code`).
    RemoveKind:
    Keep = 1 => "KEEP",
    Used = 2 => "USED",
    Any = 3 => "ANY",
}

group! {
    /// How a refresh call ended (`refreshed`'s `how`).
    Call:
    Response = 1 => "RESPONSE",
    Returned = 2 => "RETURNED",
    Threw = 3 => "THREW",
    NotAResponse = 4 => "NOT_A_RESPONSE",
    BadHeaders = 5 => "BAD_HEADERS",
}

/// Every group, as `PROTOCOL` in the shell must spell it.
pub const TABLE: [(&str, &[(&str, u32)]); 13] = [
    Op::ROWS, Value::ROWS, Control::ROWS, Flag::ROWS, TimerKind::ROWS, WhyKind::ROWS, ExpectKind::ROWS, NoticeKind::ROWS, JudgeKind::ROWS, Setup::ROWS, Call::ROWS,
    ProvenKind::ROWS, RemoveKind::ROWS,
];

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::String;
    use alloc::vec::Vec;

    /// The `PROTOCOL` object of the shell, as `group { NAME: n, ... }` lines.
    fn shell_table(js: &str) -> Vec<(String, Vec<(String, u32)>)> {
        let start = js.find("const PROTOCOL = {").expect("shell.js has no `const PROTOCOL = {`");
        let body = &js[start..];
        let body = &body[..body.find("\n};").expect("PROTOCOL is not closed by a `};` line")];
        body.lines()
            .skip(1)
            .filter_map(|line| {
                let (group, rows) = line.trim().split_once(": {")?;
                let rows = rows.trim_end_matches(',').trim_end_matches('}').trim();
                let rows = rows
                    .split(',')
                    .map(|r| {
                        let (k, v) = r.split_once(':').expect("a row is NAME: number");
                        (k.trim().into(), v.trim().parse().expect("a row's value is a number"))
                    })
                    .collect();
                Some((group.trim().into(), rows))
            })
            .collect()
    }

    #[test]
    fn the_shell_speaks_this_protocol() {
        let js = include_str!("../../pkg-template/shell.js");
        let theirs = shell_table(js);
        let ours: Vec<(String, Vec<(String, u32)>)> =
            TABLE.iter().map(|(g, rows)| ((*g).into(), rows.iter().map(|(k, v)| ((*k).into(), *v)).collect())).collect();
        assert_eq!(theirs, ours, "pkg-template/shell.js's PROTOCOL differs from src/boundary/wire.rs");
    }

    #[test]
    fn a_mismatch_is_seen() {
        // The shell's own file with one number changed no longer matches.
        let js = include_str!("../../pkg-template/shell.js").replacen("SEND: 2,", "SEND: 3,", 1);
        let ours: Vec<(String, Vec<(String, u32)>)> =
            TABLE.iter().map(|(g, rows)| ((*g).into(), rows.iter().map(|(k, v)| ((*k).into(), *v)).collect())).collect();
        assert_ne!(shell_table(&js), ours);
    }

    #[test]
    fn numbers_are_unique_within_a_group() {
        for (g, rows) in TABLE {
            for (i, (_, n)) in rows.iter().enumerate() {
                assert!(rows[i + 1..].iter().all(|(_, m)| m != n), "{g}: {n} twice");
            }
        }
    }
}

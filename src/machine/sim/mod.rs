//! The deterministic simulation of issue 29: many random schedules of a browser's tabs, each
//! checked against the invariants as it runs (see `world`). Native, in `cargo test`:
//!
//! * `schedules`: the CI run, `SIM_SCHEDULES` (default 10,000) schedules from `SIM_FIRST` (0);
//! * `replay`: `SIM_SEED=<n> cargo test --lib machine::sim::replay -- --nocapture` runs one seed
//!   with its trace (`SIM_MUTANT=<name>` with a mutant on);
//! * `mutants_are_caught`: each mutant of `Mutant` must fail some schedule of the CI run's seeds.
//!
//! A failing seed is shrunk (actions dropped while it still fails) and printed with its trace and
//! the command that replays it.

use std::string::String;
use std::vec::Vec;
use std::{env, format, println};

use super::Mutant;

mod world;
use world::{Action, Schedule, World};

/// splitmix64: small, fast, and the same on every platform.
pub struct Rng(pub u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// In `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    /// In [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The schedule of seed `seed`: the world's parameters and the app's actions.
fn schedule(seed: u64) -> Schedule {
    let mut r = Rng(seed);
    let tabs = 1 + r.below(5) as usize;
    let life_s = 20 + r.below(70);
    let api_ahead_ms = if r.below(4) == 0 { (life_s + 10 + r.below(60)) * 1000 } else { r.below(2_000) };
    let faulty = r.below(3) > 0;
    let mut fail = [0u8; 5];
    if faulty {
        for f in &mut fail {
            *f = r.below(12) as u8;
        }
    }
    let judge = r.below(5) == 0;
    let span = 60_000 + r.below(180_000);
    let n = 6 + r.below(30);
    let mut actions: Vec<(u64, Action)> = Vec::new();
    let tab = |r: &mut Rng| r.below(tabs as u64) as usize;
    for _ in 0..n {
        let at = r.below(span);
        let a = match r.below(100) {
            0..=59 => {
                // Requests come in bursts.
                let (t, burst) = (tab(&mut r), 1 + r.below(4));
                for k in 1..burst {
                    let abort_after = (r.below(10) == 0).then(|| r.below(3_000) as u16);
                    let req = Action::Request { tab: t, post: r.below(2) == 0, target: r.below(10) as u8, control: r.below(20) as u8, abort_after };
                    actions.push((at + k * r.below(50), req));
                }
                Action::Request { tab: t, post: r.below(2) == 0, target: r.below(10) as u8, control: r.below(20) as u8, abort_after: None }
            }
            60..=64 => Action::Login { tab: tab(&mut r) },
            65..=69 => Action::Logout { tab: tab(&mut r) },
            70..=74 => Action::SetSame { tab: tab(&mut r) },
            75..=76 => Action::Clear { tab: tab(&mut r) },
            77..=79 => Action::Offline,
            80..=84 => Action::Online,
            85..=86 => Action::ClockBack,
            87..=90 => Action::Open { tab: tab(&mut r) },
            91..=94 => Action::Close { tab: tab(&mut r) },
            _ => Action::Freeze { tab: tab(&mut r), ms: r.below(2_000) as u16 },
        };
        actions.push((at, a));
    }
    // The app's own calls and the way the refresh is made, from a stream of their own (the
    // schedule above stays what it was before they existed).
    let mut r = Rng(seed ^ 0xca11);
    let via = r.below(4) as u8;
    for _ in 0..r.below(8) {
        let (at, tab) = (r.below(span), tab(&mut r));
        let a = if r.below(3) == 0 { Action::ForceRefresh { tab } } else { Action::Token { tab, min: r.below(world::MIN_VALIDITY_MS.len() as u64) as u8 } };
        actions.push((at, a));
    }
    // Now and then the origin's storage fills up (from a stream of its own, likewise).
    let mut r = Rng(seed ^ 0xf011);
    let full_at = (r.below(6) == 0).then(|| r.below(span));
    // A third of the schedules run with DPoP (issue 32), from a stream of their own likewise:
    // nonces the token endpoint (the page's origin) and the API require, and now and then the
    // browser's data cleared (the key store emptied, the tokens left).
    let mut r = Rng(seed ^ 0xd909);
    let dpop = r.below(3) == 0;
    let (mut nonce, mut via) = ([false; 2], via);
    if dpop {
        nonce = [r.below(2) == 0, r.below(2) == 0];
        if via == 3 {
            via = r.below(3) as u8; // the app's own function signs nothing of the library's
        }
        if r.below(2) == 0 {
            for _ in 0..1 + r.below(2) {
                actions.push((r.below(span), Action::ClearKeys));
            }
        }
    }
    actions.sort_by_key(|(t, _)| *t);
    Schedule { tabs, life_s, api_ahead_ms, fail, judge, via, full_at, dpop, nonce, actions }
}

/// Runs one schedule; `Err` with the violation.
fn run(seed: u64, sched: &Schedule, mutant: Option<Mutant>, trace: bool) -> (Result<(), String>, World) {
    let mut w = World::new(sched.clone(), seed, mutant);
    if trace {
        w.trace = Some(Vec::new());
    }
    (w.run(), w)
}

/// Drops actions one at a time while the schedule still fails.
fn shrink(seed: u64, mut sched: Schedule, mutant: Option<Mutant>) -> Schedule {
    let mut i = 0;
    while i < sched.actions.len() {
        let mut smaller = sched.clone();
        smaller.actions.remove(i);
        if run(seed, &smaller, mutant, false).0.is_err() {
            sched = smaller;
        } else {
            i += 1;
        }
    }
    sched
}

/// Prints a failing seed, shrunk, with its trace and how to replay it.
fn report(seed: u64, mutant: Option<Mutant>, why: &str) {
    let sched = shrink(seed, schedule(seed), mutant);
    let (result, w) = run(seed, &sched, mutant, true);
    println!("seed {seed} fails: {why}");
    println!("shrunk to {} actions: {}", sched.actions.len(), result.err().unwrap_or_default());
    for line in w.trace.unwrap_or_default() {
        println!("  {line}");
    }
    let m = mutant.map_or(String::new(), |m| format!("SIM_MUTANT={m:?} "));
    println!("replay (unshrunk): {m}SIM_SEED={seed} cargo test --lib machine::sim::replay -- --nocapture");
}

/// Every mutant: issue 16's and issue 28's defects, then five that exist only to show that the
/// origin, settle, memory, DPoP key-lost and nonce invariants can fail.
const MUTANTS: [Mutant; 11] = [
    Mutant::LogoutRevival,
    Mutant::HalfPairErased,
    Mutant::RefusalErases,
    Mutant::SamePairResets,
    Mutant::FutureBackoff,
    Mutant::NoFloor,
    Mutant::AnyOrigin,
    Mutant::ResetDropsQueue,
    Mutant::MemoryOfReads,
    Mutant::KeyLostKept,
    Mutant::NonceExpires,
];

fn env_u64(name: &str, default: u64) -> u64 {
    env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn mutant_named(name: &str) -> Option<Mutant> {
    MUTANTS
        .into_iter()
        .find(|m| format!("{m:?}") == name)
}

/// The first seed in `seeds` that fails with `mutant` on (and passes without it), and how many
/// schedules that took.
fn first_failure(seeds: core::ops::Range<u64>, mutant: Mutant) -> Option<(u64, String, u64)> {
    for (n, seed) in seeds.enumerate() {
        if let (Err(why), _) = run(seed, &schedule(seed), Some(mutant), false) {
            if run(seed, &schedule(seed), None, false).0.is_ok() {
                return Some((seed, why, n as u64 + 1));
            }
        }
    }
    None
}

#[test]
fn schedules() {
    let (first, count) = (env_u64("SIM_FIRST", 0), env_u64("SIM_SCHEDULES", 10_000));
    let started = std::time::Instant::now();
    let (mut steps, mut raced, mut shortcuts, mut in_memory, mut parked, mut handed_over) = (0u64, 0usize, 0u64, 0u64, 0u64, 0u64);
    let mut d = world::DpopCounts::default();
    for seed in first..first + count {
        let (result, w) = run(seed, &schedule(seed), None, false);
        steps += w.steps;
        shortcuts += w.shortcut_sends;
        parked += w.parked;
        handed_over += w.handed_over;
        in_memory += w.in_memory;
        raced += w.raced.len();
        d.add(&w.dpop);
        if let Err(why) = result {
            report(seed, None, &why);
            panic!("seed {seed}: {why}");
        }
    }
    let secs = started.elapsed().as_secs_f64();
    // The shortcut is a path of its own: the schedules must take it, or they check nothing of it.
    // (DPoP schedules have no shortcut, park or last send: those are counted over the others.)
    let plain = count - d.schedules;
    assert!(count < 100 || shortcuts > plain, "only {shortcuts} requests went by a shortcut in {plain} schedules without DPoP");
    assert!(count < 100 || in_memory > count / 20, "only {in_memory} cores went on in memory in {count} schedules");
    assert!(count < 100 || parked > plain / 100, "only {parked} answers were parked in {plain} schedules without DPoP");
    assert!(count < 100 || handed_over > plain / 10, "only {handed_over} answers to last attempts were handed over without the core in {plain} schedules without DPoP");
    assert!(count < 100 || d.key_lost > 0 && d.nonce_retries > 0 && d.refresh_nonce_retries > 0 && d.refusals > 0, "DPoP paths not taken in {count} schedules: {d:?}");
    println!("DPoP: {d:?}");
    println!("{count} schedules from seed {first}: {steps} steps, {shortcuts} requests sent by a shortcut, {parked} answers parked, {handed_over} answers to last attempts handed over without the core, {in_memory} cores on in memory (storage full), in {secs:.1} s ({:.0} schedules/s); {raced} logged-out families revived by a refresh answer that landed before the logout reached its tab (the storage propagation race)", count as f64 / secs);
}

#[test]
fn replay() {
    let Ok(seed) = env::var("SIM_SEED") else { return };
    let seed: u64 = seed.parse().expect("SIM_SEED is a number");
    let mutant = env::var("SIM_MUTANT").ok().and_then(|m| mutant_named(&m));
    let (result, w) = run(seed, &schedule(seed), mutant, true);
    for line in w.trace.unwrap_or_default() {
        println!("  {line}");
    }
    if let Err(why) = result {
        report(seed, mutant, &why);
        panic!("seed {seed}: {why}");
    }
}

#[test]
fn mutants_are_caught() {
    let count = env_u64("SIM_SCHEDULES", 10_000);
    for m in MUTANTS {
        let started = std::time::Instant::now();
        match first_failure(0..count, m) {
            Some((seed, why, n)) => println!("{m:?}: caught by seed {seed} after {n} schedules, {:.2} s: {why}", started.elapsed().as_secs_f64()),
            None => panic!("{m:?} survived {count} schedules"),
        }
    }
}

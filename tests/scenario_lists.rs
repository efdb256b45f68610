//! The browser test binaries (`tests/{core,tabs,hardening,backends,resilience}.rs`) name their scenarios by hand, and
//! the scenarios themselves live in `tests/support/*.js`. A scenario missing from the Rust list
//! would never run; a name missing from the JS object fails only in a browser. This native test
//! checks that the two agree.
#![cfg(not(target_arch = "wasm32"))]

use std::collections::BTreeSet;
use std::fs;

fn rust_names(file: &str) -> BTreeSet<String> {
    let text = fs::read_to_string(file).unwrap();
    let start = text.find("scenarios![").expect("a scenarios! list") + "scenarios![".len();
    let start = start + text[start..].find(';').expect("the module path, then ';'") + 1;
    let end = start + text[start..].find("];").expect("the list's end");
    text[start..end].split(',').map(str::trim).filter(|n| !n.is_empty()).map(String::from).collect()
}

fn js_names(file: &str) -> BTreeSet<String> {
    let text = fs::read_to_string(file).unwrap();
    let start = text.find("export const scenarios = {").expect("a scenarios object");
    text[start..]
        .lines()
        .filter_map(|l| l.strip_prefix("  async "))
        .filter_map(|l| l.split_once('(').map(|(name, _)| name.to_string()))
        .collect()
}

#[test]
fn rust_lists_and_js_scenarios_match() {
    for name in ["core", "tabs", "hardening", "backends", "resilience"] {
        let rust = rust_names(&format!("tests/{name}.rs"));
        let js = js_names(&format!("tests/support/{name}.js"));
        assert!(rust.len() > 5, "{name}: parsed only {} names", rust.len());
        let only_rust: Vec<_> = rust.difference(&js).collect();
        let only_js: Vec<_> = js.difference(&rust).collect();
        assert!(only_rust.is_empty() && only_js.is_empty(), "{name}: listed in Rust only {only_rust:?}; in JS only {only_js:?}");
    }
}

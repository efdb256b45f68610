//! Shared by the browser test binaries: each runs JS scenarios (in `tests/support/`) against real
//! `AuthFetch` objects made by [`make`], in headless Chromium, with real `localStorage`, `fetch`
//! types and Web Locks.

use js_sys::Function;
use seamless_fetch::AuthFetch;
use wasm_bindgen::prelude::*;

// The scenario modules import these two; binding them here makes wasm-bindgen copy them next to
// the scenarios, where those relative imports find them.
#[wasm_bindgen(module = "/tests/support/harness.js")]
extern "C" {
    #[wasm_bindgen(js_name = assert)]
    fn _harness_is_a_snippet_too(cond: bool, what: &str);
}
#[wasm_bindgen(module = "/tests/support/fake_server.js")]
extern "C" {
    #[wasm_bindgen(js_name = tick)]
    fn _fake_server_is_a_snippet_too(ms: f64) -> js_sys::Promise;
}

/// `options => new AuthFetch(options)`, as the scenarios receive it.
pub fn make() -> Function {
    Closure::<dyn FnMut(JsValue) -> Result<JsValue, JsValue>>::new(|options: JsValue| AuthFetch::new(options.unchecked_into()).map(JsValue::from))
        .into_js_value()
        .unchecked_into()
}

/// What scenarios may inspect besides the API: `{ memory, exports }`, this module's wasm memory
/// and exports (to free an `AuthFetch` as the garbage collector's finalizer does).
pub fn tools() -> JsValue {
    let tools = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&tools, &"memory".into(), &wasm_bindgen::memory());
    let _ = js_sys::Reflect::set(&tools, &"exports".into(), &wasm_bindgen::exports());
    tools.into()
}

/// The message of what a scenario threw.
pub fn describe(e: &JsValue) -> String {
    let get = |k: &str| js_sys::Reflect::get(e, &k.into()).ok().and_then(|s| s.as_string());
    match (get("message"), get("stack")) {
        (Some(message), Some(stack)) => format!("{message}\n{stack}"),
        (Some(message), None) => message,
        _ => e.as_string().unwrap_or_else(|| format!("{e:?}")),
    }
}

/// The browser binary for one scenario module: configures the browser run, binds the module's
/// `run`, and makes one `#[wasm_bindgen_test]` per scenario name, each calling it.
#[macro_export]
macro_rules! scenarios {
    ($module:literal; $($name:ident),* $(,)?) => {
        wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

        #[wasm_bindgen::prelude::wasm_bindgen(module = $module)]
        extern "C" {
            #[wasm_bindgen(js_name = run)]
            fn run_scenario(name: &str, make: &js_sys::Function, tools: &wasm_bindgen::JsValue) -> js_sys::Promise;
        }

        $(
            #[wasm_bindgen_test::wasm_bindgen_test]
            async fn $name() {
                let done = wasm_bindgen_futures::JsFuture::from(run_scenario(stringify!($name), &common::make(), &common::tools())).await;
                if let Err(e) = done {
                    panic!("{}", common::describe(&e));
                }
            }
        )*
    };
}

//! The options object, checked once at construction. Parsing works on [`Value`], a plain-Rust
//! image of the JS object, so every rule (unknown keys, wrong types, bad origins) is tested
//! natively; the boundary builds the image from the shell's walk of the object, functions marked as such.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use crate::code::{Code, Failure};
use crate::policy::{is_header_name, is_json_path, normalize_origin};
use crate::refresh::{Format, TokenPaths};

/// A JS value as far as option parsing cares.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `undefined`: treated as absent, as JS callers expect of `{loginUrl: undefined}`.
    Undefined,
    /// `null`.
    Null,
    /// A boolean.
    Bool(bool),
    /// A number.
    Num(f64),
    /// A string.
    Str(String),
    /// An array.
    List(Vec<Value>),
    /// A plain object's own enumerable entries.
    Map(Vec<(String, Value)>),
    /// A function (kept by the boundary, not here).
    Func,
    /// Anything else (a `Symbol`, a `BigInt`): valid for no option.
    Other,
}

/// Which Web Storage holds the tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StorageKind {
    /// `localStorage`: survives reloads, shared by tabs.
    Local,
    /// `sessionStorage`: one tab, gone when it closes.
    Session,
    /// Memory: gone on reload, invisible to other scripts' storage reads.
    Memory,
}

/// A value in a JSON body that means "access token expired".
#[derive(Clone, Debug, PartialEq)]
pub enum BodyCode {
    /// e.g. `409`.
    Num(f64),
    /// e.g. `"TOKEN_EXPIRED"`.
    Str(String),
}

/// Where a refresh comes from. Every strategy is called at one place, `Refresher::call`.
#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    /// `POST` to `refreshUrl` (as given; the boundary resolves it against the page).
    Endpoint {
        /// `refreshUrl`.
        url: String,
        /// Body encoding.
        format: Format,
    },
    /// The app's own `refresh` function (kept by the boundary).
    Function,
}

/// Validated options. Defaults are those of the README.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    /// How tokens are refreshed.
    pub source: Source,
    /// The refresh token lives in an `HttpOnly` cookie: the library never reads, stores or sends one.
    pub cookie: bool,
    /// Where the user goes when the session ends; `None` = stay.
    pub login_url: Option<String>,
    /// Query parameter that carries the current path to the login page.
    pub login_return_param: Option<String>,
    /// Token storage.
    pub storage: StorageKind,
    /// Storage key of the access token.
    pub access_key: String,
    /// Storage key of the refresh token.
    pub refresh_key: String,
    /// Header that carries the access token.
    pub auth_header: String,
    /// Scheme before the token (`""` = bare token).
    pub auth_scheme: String,
    /// Statuses that mean "access token expired".
    pub expired_statuses: Vec<u16>,
    /// JSON body values that mean "access token expired".
    pub expired_body_codes: Vec<BodyCode>,
    /// Dotted path of the body field compared with `expired_body_codes`.
    pub expired_body_field: String,
    /// Where the new tokens sit in the refresh answer.
    pub token_paths: TokenPaths,
    /// Bound on one refresh call.
    pub refresh_timeout_ms: f64,
    /// Other origins that receive the access token, normalised.
    pub allowed_origins: Vec<String>,
    /// Tabs share the tokens (`localStorage`): adopt what another tab refreshed, hear its logout.
    pub cross_tab: bool,
    /// Take the cross-tab lock around a refresh: where tabs share the tokens, and wherever they
    /// share a rotating refresh cookie, which two tabs must never spend at once.
    pub lock: bool,
    /// Refresh this long before expiry (0 = off).
    pub refresh_ahead_ms: f64,
    /// `dpop: true`: tokens bound to this browser's key, every token request with a proof (RFC 9449).
    pub dpop: bool,
}

/// Option keys whose value is a function; the boundary picks these up itself.
pub const FUNCTION_KEYS: [&str; 8] = ["fetch", "refresh", "isExpired", "onRefresh", "onRefreshError", "onLogout", "onTokens", "navigate"];

const KEYS: [&str; 23] = [
    "refreshUrl", "refreshTokenIn", "refreshHeaders", "loginUrl", "loginReturnParam", "storage", "accessTokenKey", "refreshTokenKey", "authHeader",
    "authScheme", "expiredStatuses", "expiredBodyCodes", "expiredBodyField", "refreshFormat", "refreshFields",
    "tokenPaths", "clientId", "scope", "refreshTimeoutMs", "allowedOrigins", "crossTab", "refreshAheadMs", "dpop",
];

/// Every key of the options object: [`KEYS`], then [`FUNCTION_KEYS`].
const KNOWN: [&str; 31] = {
    let mut all = [""; 31];
    let mut i = 0;
    while i < 31 {
        all[i] = if i < 23 { KEYS[i] } else { FUNCTION_KEYS[i - 23] };
        i += 1;
    }
    all
};

/// A refusal while parsing, boxed: one word to pass back through every `?`, where a `Failure`
/// would be copied whole at each (that copying was a quarter of the parser's wasm).
type Bad = Box<Failure>;

fn invalid(parts: &[&str]) -> Bad {
    let mut all = vec!["AuthFetch options: "];
    all.extend_from_slice(parts);
    Box::new(Failure::new(Code::InvalidOptions, &all))
}

/// `key` then what its value must be.
fn must(key: &str, what: &str) -> Bad {
    invalid(&[key, what])
}

/// At most `n` characters of `s` (for messages that quote what the caller gave).
fn first_chars(s: &str, n: usize) -> &str {
    let mut count = 0;
    for (i, b) in s.bytes().enumerate() {
        // Each character starts with a byte that is not a continuation byte (`10xxxxxx`).
        if (b as i8) >= -0x40 {
            if count == n {
                return s.get(..i).unwrap_or(s);
            }
            count += 1;
        }
    }
    s
}

/// Looks up option values by key while parsing, so each rule reads as one line. Values are
/// borrowed until every rule has passed: `Options` is built once, at the end.
struct Reader<'a>(&'a [(String, Value)]);

impl<'a> Reader<'a> {
    fn get(&self, key: &str) -> Option<&'a Value> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v).filter(|v| !matches!(v, Value::Undefined))
    }

    fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    fn string(&self, key: &str, default: &'a str) -> Result<&'a str, Bad> {
        match self.get(key) {
            None => Ok(default),
            Some(Value::Str(s)) => Ok(s),
            Some(_) => Err(must(key, " must be a string")),
        }
    }

    fn nonempty(&self, key: &str, default: &'a str) -> Result<&'a str, Bad> {
        let s = self.string(key, default)?;
        if s.is_empty() {
            return Err(must(key, " must not be empty"));
        }
        Ok(s)
    }

    /// The index in `choices` of the string given (`choices[0]` when none is); `err` otherwise.
    fn choice(&self, key: &str, choices: &[&'a str], err: &str) -> Result<usize, Bad> {
        let s = self.string(key, choices[0])?;
        choices.iter().position(|c| *c == s).ok_or_else(|| invalid(&[err]))
    }

    fn optional_string(&self, key: &str, default: Option<&'a str>) -> Result<Option<&'a str>, Bad> {
        match self.get(key) {
            None => Ok(default),
            Some(Value::Null) => Ok(None),
            Some(Value::Str(s)) if !s.is_empty() => Ok(Some(s)),
            Some(_) => Err(must(key, " must be a non-empty string or null")),
        }
    }

    fn millis(&self, key: &str, default: f64, zero_ok: bool) -> Result<f64, Bad> {
        match self.get(key) {
            None => Ok(default),
            Some(Value::Num(n)) if n.is_finite() && *n <= 2_147_483_647.0 && (*n > 0.0 || (zero_ok && *n == 0.0)) => Ok(*n),
            Some(_) => Err(must(key, if zero_ok { " must be a number of milliseconds, 0 or more" } else { " must be a number of milliseconds above 0" })),
        }
    }

    fn list(&self, key: &str) -> Result<&'a [Value], Bad> {
        match self.get(key) {
            None => Ok(&[]),
            Some(Value::List(items)) => Ok(items),
            Some(_) => Err(must(key, " must be an array")),
        }
    }

    fn object(&self, key: &str, allowed: &[&str]) -> Result<Reader<'a>, Bad> {
        match self.get(key) {
            None => Ok(Reader(&[])),
            Some(Value::Map(entries)) => {
                check_keys(key, entries, allowed)?;
                Ok(Reader(entries))
            }
            Some(_) => Err(must(key, " must be an object")),
        }
    }
}

/// Refuses a key not in `allowed`, naming it (with a hint for a wrong case).
fn check_keys(scope: &str, entries: &[(String, Value)], allowed: &[&str]) -> Result<(), Bad> {
    for (k, _) in entries {
        if !allowed.contains(&k.as_str()) {
            let mut parts = vec!["unknown option \"", scope, if scope.is_empty() { "" } else { "." }, first_chars(k, 64), "\""];
            if let Some(h) = allowed.iter().find(|a| a.eq_ignore_ascii_case(k)) {
                parts.extend_from_slice(&[" (did you mean \"", h, "\"?)"]);
            }
            return Err(invalid(&parts));
        }
    }
    Ok(())
}

/// A status of `expiredStatuses`, when it is one.
fn status(v: &Value) -> Option<u16> {
    match v {
        Value::Num(n) if (100.0..=599.0).contains(n) && *n == (*n as u16) as f64 => Some(*n as u16),
        _ => None,
    }
}

/// A value of `expiredBodyCodes`, when it is one.
fn body_code(v: &Value) -> Option<BodyCode> {
    match v {
        Value::Num(n) => Some(BodyCode::Num(*n)),
        Value::Str(s) => Some(BodyCode::Str(s.clone())),
        _ => None,
    }
}

/// An entry of `allowedOrigins`, normalised, when it is one.
fn origin(v: &Value) -> Option<String> {
    match v {
        Value::Str(s) => normalize_origin(s),
        _ => None,
    }
}

/// What `read` makes of each of `values` (all readable: checked before).
fn collect<T>(values: &[Value], read: fn(&Value) -> Option<T>) -> Vec<T> {
    let mut out = Vec::new();
    for v in values {
        out.extend(read(v));
    }
    out
}

impl Options {
    /// Parses and validates the options object's entries.
    pub fn parse(entries: &[(String, Value)]) -> Result<Options, Failure> {
        Options::read(entries).map_err(|e| *e)
    }

    fn read(entries: &[(String, Value)]) -> Result<Options, Bad> {
        check_keys("", entries, &KNOWN)?;
        let r = Reader(entries);
        for &key in FUNCTION_KEYS.iter() {
            if !matches!(r.get(key), None | Some(Value::Func)) {
                return Err(must(key, " must be a function"));
            }
        }
        let by_function = r.has("refresh");
        if by_function == r.has("refreshUrl") {
            return Err(invalid(&[
                "give exactly one of refreshUrl (the URL of your refresh endpoint, e.g. \"/auth/refresh\") and refresh (a function that returns a Response or { accessToken })",
            ]));
        }
        if by_function {
            for &key in ["refreshFormat", "refreshFields", "clientId", "scope", "refreshHeaders"].iter() {
                if r.has(key) {
                    return Err(must(key, " applies to refreshUrl only; a refresh function builds its own request"));
                }
            }
        }
        match r.get("refreshHeaders") {
            None | Some(Value::Func) => {}
            Some(Value::Map(entries)) if entries.iter().all(|(k, v)| is_header_name(k) && matches!(v, Value::Str(_))) => {}
            Some(_) => return Err(invalid(&["refreshHeaders must be an object of header names to strings, or a function returning one"])),
        }
        let cookie = r.choice("refreshTokenIn", &["storage", "cookie"], "refreshTokenIn must be \"storage\" or \"cookie\"")? == 1;
        let storage = [StorageKind::Local, StorageKind::Session, StorageKind::Memory]
            [r.choice("storage", &["local", "session", "memory"], "storage must be \"local\", \"session\" or \"memory\"")?];
        let access_key = r.nonempty("accessTokenKey", "token")?;
        let refresh_key = r.nonempty("refreshTokenKey", "refreshToken")?;
        if access_key == refresh_key {
            return Err(invalid(&["accessTokenKey and refreshTokenKey must differ"]));
        }
        let auth_header = r.nonempty("authHeader", "Authorization")?;
        if !is_header_name(auth_header) {
            return Err(invalid(&["authHeader must be a valid HTTP header name"]));
        }
        let auth_scheme = r.string("authScheme", "Bearer")?;
        if !auth_scheme.is_empty() && !is_header_name(auth_scheme) {
            return Err(invalid(&["authScheme must be a single word such as \"Bearer\", or \"\" for a bare token"]));
        }

        let statuses = match r.get("expiredStatuses") {
            None => &[Value::Num(401.0)][..],
            Some(_) => r.list("expiredStatuses")?,
        };
        if !statuses.iter().all(|v| status(v).is_some()) {
            return Err(invalid(&["expiredStatuses must hold HTTP status numbers (100-599)"]));
        }
        let codes = r.list("expiredBodyCodes")?;
        if !codes.iter().all(|v| matches!(v, Value::Num(_) | Value::Str(_))) {
            return Err(invalid(&["expiredBodyCodes must hold numbers or strings"]));
        }
        let expired_body_field = r.nonempty("expiredBodyField", "code")?;

        let oauth2 = r.choice("refreshFormat", &["json", "oauth2"], "refreshFormat must be \"json\" or \"oauth2\"")? == 1;
        // `clientId` and `scope`, or `refreshFields`' two names.
        let (one, two) = if oauth2 {
            if r.has("refreshFields") {
                return Err(invalid(&["refreshFields applies to refreshFormat \"json\" only"]));
            }
            (r.optional_string("clientId", None)?, r.optional_string("scope", None)?)
        } else {
            if r.has("clientId") || r.has("scope") {
                return Err(invalid(&["clientId and scope apply to refreshFormat \"oauth2\" only"]));
            }
            let fields = r.object("refreshFields", &["refreshToken", "accessToken"])?;
            (Some(fields.nonempty("refreshToken", "refreshToken")?), Some(fields.nonempty("accessToken", "token")?))
        };
        let paths = r.object("tokenPaths", &["accessToken", "refreshToken", "expiresIn"])?;
        // One rule whatever the format: a path not given is "", the common names.
        let path = |key| if paths.has(key) { paths.nonempty(key, "") } else { Ok("") };
        let (access, refresh, expires_in) = (path("accessToken")?, path("refreshToken")?, path("expiresIn")?);
        for p in [access, refresh, expires_in, expired_body_field].iter() {
            if !p.is_empty() && !is_json_path(p) {
                return Err(invalid(&["tokenPaths and expiredBodyField take dotted paths such as \"data.token\""]));
            }
        }

        let origins = r.list("allowedOrigins")?;
        for v in origins {
            match v {
                Value::Str(s) if normalize_origin(s).is_none() => {
                    return Err(invalid(&["allowedOrigins entry \"", first_chars(s, 100), "\" is not an origin like \"https://api.example.com\" (scheme, host and port only)"]));
                }
                Value::Str(_) => {}
                _ => return Err(invalid(&["allowedOrigins must hold strings"])),
            }
        }
        let cross_tab = match r.get("crossTab") {
            None => true,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(invalid(&["crossTab must be a boolean"])),
        };
        let dpop = match r.get("dpop") {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(invalid(&["dpop must be a boolean"])),
        };
        if dpop && !cfg!(feature = "dpop") {
            return Err(invalid(&["dpop: true needs the DPoP build: import { AuthFetch } from \"seamless-fetch/dpop\""]));
        }
        // A DPoP-bound token goes as `Authorization: DPoP <token>` with its proof (RFC 9449 §7.1),
        // and only the library's own refresh call can carry a proof.
        if dpop && (by_function || r.has("authScheme") || !auth_header.eq_ignore_ascii_case("Authorization")) {
            return Err(invalid(&["dpop: true needs refreshUrl (not a refresh function) and the Authorization header with its DPoP scheme (no authHeader or authScheme of your own)"]));
        }

        let url = if by_function { "" } else { r.nonempty("refreshUrl", "")? };
        if url.chars().any(char::is_control) {
            return Err(invalid(&["refreshUrl must not contain control characters"]));
        }
        let login_url = r.optional_string("loginUrl", Some("/login"))?;
        let login_return_param = r.optional_string("loginReturnParam", None)?;
        let refresh_timeout_ms = r.millis("refreshTimeoutMs", 10_000.0, false)?;
        let refresh_ahead_ms = r.millis("refreshAheadMs", 30_000.0, true)?;

        // Every rule passed: only now are the values copied.
        let own = |s: Option<&str>| s.map(String::from);
        let source = if by_function {
            Source::Function
        } else {
            let format = if oauth2 {
                Format::OAuth2 { client_id: own(one), scope: own(two) }
            } else {
                Format::Json { refresh_field: one.unwrap_or_default().into(), access_field: two.unwrap_or_default().into() }
            };
            Source::Endpoint { url: url.into(), format }
        };
        Ok(Options {
            source,
            cookie,
            login_url: own(login_url),
            login_return_param: own(login_return_param),
            storage,
            access_key: access_key.into(),
            refresh_key: refresh_key.into(),
            auth_header: auth_header.into(),
            auth_scheme: if dpop { "DPoP".into() } else { auth_scheme.into() },
            expired_statuses: collect(statuses, status),
            expired_body_codes: collect(codes, body_code),
            expired_body_field: expired_body_field.into(),
            token_paths: TokenPaths { access: access.into(), refresh: refresh.into(), expires_in: expires_in.into() },
            refresh_timeout_ms,
            allowed_origins: collect(origins, origin),
            // Tabs that cannot see each other's tokens have nothing to coordinate: with session or
            // memory storage, the lock would only make unrelated tabs queue and settle.
            cross_tab: cross_tab && storage == StorageKind::Local,
            lock: cross_tab && (storage == StorageKind::Local || cookie),
            refresh_ahead_ms,
            dpop,
        })
    }

    /// The `Authorization` header value for `token`.
    pub fn header_value(&self, token: &str) -> String {
        if self.auth_scheme.is_empty() {
            return token.into();
        }
        let mut v = String::with_capacity(self.auth_scheme.len() + 1 + token.len());
        v.push_str(&self.auth_scheme);
        v.push(' ');
        v.push_str(token);
        v
    }
}

impl BodyCode {
    /// Whether a body field's value equals this code.
    pub fn matches(&self, field: &crate::refresh::Field) -> bool {
        use crate::refresh::Field;
        match (self, field) {
            (BodyCode::Num(a), Field::Num(b)) => a == b,
            (BodyCode::Str(a), Field::Str(b)) => a == b,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Value {
        Value::Str(v.into())
    }
    fn parse(extra: Vec<(&str, Value)>) -> Result<Options, Failure> {
        let mut entries = vec![("refreshUrl".to_string(), s("/auth/refresh"))];
        entries.extend(extra.into_iter().map(|(k, v)| (k.to_string(), v)));
        Options::parse(&entries)
    }

    #[test]
    fn defaults_match_the_readme() {
        let o = parse(vec![]).unwrap();
        assert_eq!(o.login_url.as_deref(), Some("/login"));
        assert_eq!((o.access_key.as_str(), o.refresh_key.as_str()), ("token", "refreshToken"));
        assert_eq!((o.auth_header.as_str(), o.auth_scheme.as_str()), ("Authorization", "Bearer"));
        assert_eq!(o.expired_statuses, vec![401]);
        assert!(o.expired_body_codes.is_empty() && o.expired_body_field == "code");
        let json = Format::Json { refresh_field: "refreshToken".into(), access_field: "token".into() };
        assert_eq!(o.source, Source::Endpoint { url: "/auth/refresh".into(), format: json });
        assert!(!o.cookie && o.lock);
        assert_eq!(o.token_paths, TokenPaths { access: "".into(), refresh: "".into(), expires_in: "".into() }, "the common names");
        assert_eq!((o.refresh_timeout_ms, o.refresh_ahead_ms, o.cross_tab), (10_000.0, 30_000.0, true));
        assert_eq!(o.storage, StorageKind::Local);
        assert_eq!(o.header_value("t"), "Bearer t");
        assert_eq!(o.expired_statuses, [401]);
    }

    #[test]
    fn exactly_one_of_refresh_url_and_refresh() {
        let both = [("refreshUrl".to_string(), s("/r")), ("refresh".to_string(), Value::Func)];
        for entries in [&[][..], &both[..]] {
            let e = Options::parse(entries).unwrap_err();
            assert_eq!(e.code, Code::InvalidOptions);
            assert!(e.message.contains("exactly one of refreshUrl") && e.message.contains("and refresh ("), "{}", e.message);
        }
        let o = Options::parse(&both[1..]).unwrap();
        assert_eq!(o.source, Source::Function);
        assert_eq!(o.token_paths, parse(vec![]).unwrap().token_paths, "a Response from the function is read as a refreshUrl answer");
        for (key, v) in [("refreshFormat", s("oauth2")), ("refreshFields", Value::Map(vec![])), ("clientId", s("c")), ("scope", s("s")), ("refreshHeaders", Value::Func)] {
            let e = Options::parse(&[both[1].clone(), (key.to_string(), v)]).unwrap_err();
            assert!(e.message.contains(&[key, " applies to refreshUrl only"].concat()), "{}", e.message);
        }
        let e = Options::parse(&[("refresh".to_string(), s("/r"))]).unwrap_err();
        assert!(e.message.contains("refresh must be a function"), "{}", e.message);
    }

    #[test]
    fn cookie_sessions_and_refresh_headers() {
        assert!(parse(vec![("refreshTokenIn", s("cookie"))]).unwrap().cookie);
        assert!(!parse(vec![("refreshTokenIn", s("storage"))]).unwrap().cookie);
        assert!(parse(vec![("refreshTokenIn", s("header"))]).unwrap_err().message.contains("refreshTokenIn must be"));
        // Tabs that keep the access token to themselves still share the rotating cookie.
        let o = parse(vec![("refreshTokenIn", s("cookie")), ("storage", s("memory"))]).unwrap();
        assert!(o.lock && !o.cross_tab);
        assert!(!parse(vec![("refreshTokenIn", s("cookie")), ("crossTab", Value::Bool(false))]).unwrap().lock);
        assert!(!parse(vec![("storage", s("memory"))]).unwrap().lock);
        for ok in [Value::Func, Value::Map(vec![("X-CSRF-Token".into(), s("t"))])] {
            assert!(parse(vec![("refreshHeaders", ok)]).is_ok());
        }
        for bad in [s("x"), Value::Map(vec![("X-CSRF-Token".into(), Value::Num(1.0))]), Value::Map(vec![("bad header".into(), s("t"))])] {
            assert!(parse(vec![("refreshHeaders", bad)]).unwrap_err().message.contains("refreshHeaders must be"));
        }
        for key in ["isExpired", "onTokens"] {
            assert!(parse(vec![(key, Value::Func)]).is_ok());
            assert!(parse(vec![(key, Value::Bool(true))]).unwrap_err().message.contains(&[key, " must be a function"].concat()));
        }
    }

    #[test]
    fn unknown_keys_are_named_with_a_hint() {
        let e = parse(vec![("refreshURL", s("/x"))]).unwrap_err();
        assert!(e.message.contains("unknown option \"refreshURL\" (did you mean \"refreshUrl\"?)"), "{}", e.message);
        let e = parse(vec![("tokenPaths", Value::Map(vec![("acessToken".into(), s("a"))]))]).unwrap_err();
        assert!(e.message.contains("tokenPaths.acessToken"), "{}", e.message);
    }

    #[test]
    fn wrong_types_name_the_key() {
        for (key, v, text) in [
            ("loginUrl", Value::Num(1.0), "loginUrl must be"),
            ("storage", s("cookie"), "storage must be"),
            ("expiredStatuses", Value::List(vec![s("401")]), "expiredStatuses must hold"),
            ("refreshTimeoutMs", Value::Num(-1.0), "refreshTimeoutMs must be"),
            ("refreshTimeoutMs", Value::Num(f64::NAN), "refreshTimeoutMs must be"),
            ("fetch", s("fetch"), "fetch must be a function"),
            ("fetch", Value::Other, "fetch must be a function"),
            ("onLogout", Value::Other, "onLogout must be a function"),
            ("loginUrl", Value::Other, "loginUrl must be"),
            ("refreshTimeoutMs", Value::Other, "refreshTimeoutMs must be"),
            ("crossTab", s("yes"), "crossTab must be a boolean"),
            ("authHeader", s("Bad Header"), "authHeader must be"),
            ("allowedOrigins", Value::List(vec![s("https://a.com/path")]), "allowedOrigins entry \"https://a.com/path\""),
            ("refreshFormat", s("xml"), "refreshFormat must be"),
            ("tokenPaths", Value::Map(vec![("accessToken".into(), s("a..b"))]), "dotted paths"),
            ("accessTokenKey", s("refreshToken"), "must differ"),
        ] {
            let e = parse(vec![(key, v)]).unwrap_err();
            assert!(e.message.contains(text), "{key}: {}", e.message);
        }
    }

    #[test]
    fn cross_tab_only_where_tabs_share_the_tokens() {
        assert!(parse(vec![]).unwrap().cross_tab);
        for kind in ["session", "memory"] {
            assert!(!parse(vec![("storage", s(kind))]).unwrap().cross_tab, "{kind}");
            assert!(!parse(vec![("storage", s(kind)), ("crossTab", Value::Bool(true))]).unwrap().cross_tab, "{kind}");
        }
        assert!(!parse(vec![("crossTab", Value::Bool(false))]).unwrap().cross_tab);
    }

    #[test]
    fn undefined_is_absent_and_null_login_means_no_redirect() {
        let o = parse(vec![("loginUrl", Value::Null), ("storage", Value::Undefined), ("fetch", Value::Func)]).unwrap();
        assert_eq!(o.login_url, None);
        assert_eq!(o.storage, StorageKind::Local);
    }

    #[test]
    fn oauth2_defaults_and_exclusive_fields() {
        let o = parse(vec![("refreshFormat", s("oauth2")), ("clientId", s("spa"))]).unwrap();
        assert_eq!(o.source, Source::Endpoint { url: "/auth/refresh".into(), format: Format::OAuth2 { client_id: Some("spa".into()), scope: None } });
        assert_eq!(o.token_paths, parse(vec![]).unwrap().token_paths, "one rule for both formats");
        assert!(parse(vec![("refreshFormat", s("oauth2")), ("refreshFields", Value::Map(vec![]))]).is_err());
        assert!(parse(vec![("clientId", s("spa"))]).is_err());
    }

    #[test]
    fn a_token_path_given_is_the_only_one_read() {
        let o = parse(vec![("tokenPaths", Value::Map(vec![("accessToken".into(), s("data.jwt")), ("expiresIn".into(), Value::Undefined)]))]).unwrap();
        assert_eq!((o.token_paths.access.as_str(), o.token_paths.refresh.as_str(), o.token_paths.expires_in.as_str()), ("data.jwt", "", ""));
        let e = parse(vec![("tokenPaths", Value::Map(vec![("refreshToken".into(), s(""))]))]).unwrap_err();
        assert!(e.message.contains("refreshToken must not be empty"), "{}", e.message);
    }

    #[test]
    fn body_codes_and_origins() {
        let o = parse(vec![
            ("expiredBodyCodes", Value::List(vec![Value::Num(409.0), s("TOKEN_EXPIRED")])),
            ("allowedOrigins", Value::List(vec![s("https://API.example.com:443")])),
            ("authScheme", s("")),
        ])
        .unwrap();
        use crate::refresh::Field;
        assert!(o.expired_body_codes[0].matches(&Field::Num(409.0)));
        assert!(!o.expired_body_codes[0].matches(&Field::Str("409".into())));
        assert!(o.expired_body_codes[1].matches(&Field::Str("TOKEN_EXPIRED".into())));
        assert_eq!(o.allowed_origins, vec!["https://api.example.com".to_string()]);
        assert_eq!(o.header_value("t"), "t");
    }
}

//! Any backend: a refresh function, cookie sessions, refreshHeaders, getAccessToken, onTokens,
//! isExpired and per-request control, in a real browser against an injected fake server.
mod common;

// wasm_bindgen_test_configure!(run_in_browser) is in the scenarios! expansion.
scenarios![
    "/tests/support/backends.js";
    a_refresh_function_runs_once_for_every_waiting_request,
    a_refresh_function_without_a_refresh_token_keeps_the_old_one,
    a_refresh_function_may_return_a_response_made_through_api_fetch,
    a_refresh_function_response_is_judged_as_an_endpoint_answer,
    refresh_function_failures_are_classified,
    a_transport_answering_the_endpoint_with_no_response_is_a_failure,
    a_refresh_function_that_hangs_is_aborted_at_refresh_timeout,
    a_refresh_function_answer_after_logout_is_dropped,
    cookie_sessions_never_hold_a_refresh_token,
    a_cookie_session_starts_from_nothing_after_a_reload,
    a_refused_cookie_ends_the_session_once,
    a_refused_cookie_without_a_session_is_no_session,
    a_failing_cookie_refresh_without_a_session_returns_the_401,
    cookie_sessions_take_the_lock_even_with_memory_storage,
    refresh_headers_go_with_every_refresh,
    get_access_token_refreshes_only_when_it_must,
    get_access_token_after_a_refusal_is_null,
    on_tokens_tells_every_instance_once_and_never_the_token,
    is_expired_adds_the_apps_own_test_on_a_clone,
    per_request_control_through_a_header,
    headers_are_read_as_fetch_reads_them_whatever_their_form,
    refresh_answers_name_the_tokens_in_the_common_ways,
];

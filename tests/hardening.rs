//! The hardening issue: token safety, refresh faults, aborts, storage faults, and no leaks, in
//! headless Chromium against an injected fake server.
mod common;

// wasm_bindgen_test_configure!(run_in_browser) is in the scenarios! expansion.
scenarios![
    "/tests/support/hardening.js";
    tokens_go_only_to_allowed_origins,
    the_refresh_token_goes_to_the_refresh_url_only,
    invalid_tokens_are_refused_before_any_request,
    no_token_in_errors_logs_or_callbacks,
    safe_return_paths,
    the_login_redirect_carries_the_current_path,
    refresh_failures_are_told_apart,
    a_timeout_is_prompt,
    requests_in_flight_during_a_failure_share_it,
    aborting_a_queued_request_rejects_it_at_once,
    expired_answers_that_come_during_a_refresh_wait_for_it,
    logout_during_a_refresh_is_final,
    forbidden_is_not_expired,
    storage_that_throws_falls_back_to_memory,
    junk_in_storage_reads_as_no_session,
    storage_cleared_from_outside_ends_at_the_login_page,
    a_thousand_requests_wait_for_one_slow_refresh,
    expired_statuses_outlast_a_growth_of_the_wasm_memory,
    ten_thousand_refresh_cycles_leave_memory_flat,
    kept_requests_are_let_go_however_they_end,
    an_init_getter_that_fetches_again_is_served,
    hostile_values_from_js_are_refused_and_never_trap,
    a_collected_auth_fetch_leaves_its_bound_fetch_whole,
    an_instance_made_while_a_disposed_one_refreshes_joins_that_refresh,
    dispose_ends_an_instance_and_its_bound_fetch,
    a_refresh_function_sends_its_request_through_the_fetch_it_is_given,
    the_refresh_functions_own_request_takes_no_lease,
];

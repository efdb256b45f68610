//! Resilience when the auth server struggles: back-off, Retry-After, offline, tabs sharing the
//! back-off, and no retry of a refused refresh; in a real browser against an injected fake server.
mod common;

// wasm_bindgen_test_configure!(run_in_browser) is in the scenarios! expansion.
scenarios![
    "/tests/support/resilience.js";
    retry_after_holds_every_request_to_one_attempt,
    failures_in_a_row_are_spaced_as_documented,
    a_window_longer_than_refresh_timeout_fails_at_once,
    offline_means_no_attempt_and_online_ends_the_wait,
    tabs_share_one_attempt_per_window,
    an_offline_wait_ends_on_time_when_the_clock_is_set_back,
    a_failure_that_lands_after_new_tokens_still_paces_the_next_call,
    a_failed_call_holds_the_fresh_mark_as_a_success_does,
    a_refused_refresh_is_never_retried,
    a_back_off_dated_in_the_future_lasts_its_window_at_most,
    storage_that_starts_throwing_keeps_the_session_in_memory,
    a_full_storage_keeps_what_other_tabs_read,
    a_write_that_fails_halfway_leaves_storage_as_it_was,
    a_server_clock_learned_after_a_refresh_does_not_cut_the_new_tokens_floor,
    an_api_clock_ahead_of_the_issuer_does_not_refresh_before_every_request,
];

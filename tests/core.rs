//! The foundation's behaviours 1-8, in headless Chromium against an injected fake server.
mod common;

// wasm_bindgen_test_configure!(run_in_browser) is in the scenarios! expansion.
scenarios![
    "/tests/support/core.js";
    attaches_token_to_same_origin_only,
    a_base_element_pointing_elsewhere_gets_no_token,
    a_replay_goes_where_the_first_attempt_went,
    a_refresh_token_replaced_alone_is_the_one_spent,
    other_origin_401_is_not_refreshed,
    the_bound_fetch_outlives_its_auth_fetch,
    fetch_is_bound_and_returns_real_responses,
    concurrent_expired_requests_share_one_refresh,
    requests_started_during_a_refresh_wait_and_use_the_new_token,
    a_url_sent_before_follows_every_change_of_the_session,
    a_late_401_after_the_refresh_is_retried_without_a_second_refresh,
    bodies_replay_intact,
    each_attempt_goes_out_with_headers_of_its_own,
    a_retry_that_fails_again_is_returned_not_looped,
    a_replay_after_the_tokens_vanished_carries_no_token,
    the_refresh_endpoint_is_never_intercepted,
    a_refused_refresh_ends_the_session_once,
    a_400_without_oauth_error_is_a_refusal,
    no_redirect_when_already_on_the_login_page,
    rotation_replaces_the_refresh_token_before_the_queue_is_released,
    without_rotation_the_old_refresh_token_stays,
    refresh_joins_and_counts,
    no_refresh_token_means_no_refresh,
    expired_body_codes_trigger_the_refresh,
    streams_and_large_answers_reach_the_caller_untouched,
    init_is_read_as_fetch_reads_it,
    configurable_header_scheme_paths_and_fields,
    oauth2_refresh_format,
    storage_choices,
    options_are_validated_naming_the_key,
    set_tokens_validates_and_clear_tokens_removes,
    logout_clears_and_redirects,
];

//! The many-tabs issue: the cross-tab lock, storage events, shared instances, refresh ahead of
//! expiry on the server clock; headless Chromium, real Web Locks and localStorage.
mod common;

// wasm_bindgen_test_configure!(run_in_browser) is in the scenarios! expansion.
scenarios![
    "/tests/support/tabs.js";
    adopts_tokens_another_tab_refreshed_while_it_held_the_lock,
    waits_for_tokens_that_show_late_after_a_contended_lock,
    a_frozen_lock_holder_does_not_hang_the_tab,
    a_wait_past_the_lock_budget_still_adopts_the_holders_tokens,
    the_lock_wait_is_budgeted_per_holder,
    a_logout_in_another_tab_stands_against_a_refresh_in_flight,
    only_local_storage_coordinates_tabs,
    a_transient_failure_ahead_of_expiry_lets_every_waiting_request_go,
    the_lock_is_held_until_the_new_tokens_are_stored,
    a_half_written_pair_is_waited_for_not_spent,
    a_refresh_another_tab_just_made_is_waited_for,
    back_to_back_refreshes_do_not_wait_on_their_own_lock,
    a_transient_failure_after_the_server_refused_the_token_holds_the_queue_back,
    the_lock_is_asked_for_at_the_first_expired_answer,
    without_web_locks_it_still_refreshes_once,
    cross_tab_off_takes_no_lock,
    tokens_from_another_tab_are_used_by_the_next_request,
    logout_in_another_tab_ends_this_one,
    two_instances_share_one_refresh,
    refreshes_ahead_of_a_jwt_expiry,
    short_lived_tokens_are_not_refreshed_before_every_request,
    expires_in_from_the_refresh_answer_counts,
    the_server_clock_decides_not_the_local_one,
    a_changed_server_clock_is_followed,
    a_url_sent_again_and_again_is_refreshed_ahead_in_time,
    a_replay_s_answer_is_the_caller_s_and_tells_the_server_clock,
    only_the_token_s_origins_tell_the_server_clock,
    odd_jwts_mean_expiry_unknown,
    three_second_jwts_with_whole_second_claims_refresh_once_per_expiry,
    refresh_ahead_zero_turns_it_off,
    a_login_half_written_by_another_tab_is_not_erased,
    a_login_half_written_under_the_lock_is_waited_for,
    a_login_heard_from_another_tab_ends_with_its_logout,
    a_refused_refresh_does_not_erase_a_login_made_meanwhile,
    setting_the_pair_being_spent_keeps_the_rotated_one,
    a_transient_failure_adopts_a_pair_another_tab_stored,
];

//! The sync engine against the simulator: correctness, incrementality, safety.

use crate::okta_fixture::{connect, ready, start_sim, OktaFixture, ServiceApp};
use okta_sim::{FaultKind, FaultRule, NewUser, RateLimitConfig, ServiceAppPatch, UserPatch};
use server::model::RunStatus;
use server::sync::{SyncError, Trigger};
use std::time::Duration;

async fn sync(f: &OktaFixture) -> server::sync::RunOutcome {
    f.service
        .engine()
        .sync_and_wait(&f.directory_id, Trigger::Manual)
        .await
        .unwrap()
}

async fn rows_in(f: &OktaFixture, tables: &[&str]) -> i64 {
    let mut total = 0;
    for table in tables {
        total += crate::helpers::count(&f.store, &format!("SELECT COUNT(*) FROM {table}"), &[]).await;
    }
    total
}

async fn staging_rows(f: &OktaFixture) -> i64 {
    rows_in(
        f,
        &[
            "sync_staging_users",
            "sync_staging_groups",
            "sync_staging_memberships",
        ],
    )
    .await
}

/// Every live user's group count is what the simulator says (members of the
/// app's groups), and the two membership tables mirror each other.
async fn assert_group_counts_match_the_sim(f: &OktaFixture) {
    let sim = f.sim();
    let mut expected: std::collections::HashMap<String, i64> = std::collections::HashMap::new();
    for group_id in sim.app_group_ids(&sim.roster_app_id()).unwrap() {
        for user_id in sim.group_member_ids(&group_id).unwrap() {
            *expected.entry(user_id).or_default() += 1;
        }
    }
    let users = f
        .store
        .list_users(&f.directory_id, &server::store::UserFilter::default(), 100_000)
        .await
        .unwrap();
    assert!(!users.is_empty());
    for user in users {
        assert_eq!(
            user.groups,
            expected.get(&user.okta_id).copied().unwrap_or(0),
            "group count of {}",
            user.okta_id
        );
    }
    let unmirrored = crate::helpers::count(
        &f.store,
        "SELECT (SELECT COUNT(*) FROM directory_memberships m WHERE NOT EXISTS (
                    SELECT 1 FROM directory_user_groups g
                    WHERE g.dataset = m.dataset AND g.group_id = m.group_id AND g.user_id = m.user_id))
              + (SELECT COUNT(*) FROM directory_user_groups g WHERE NOT EXISTS (
                    SELECT 1 FROM directory_memberships m
                    WHERE g.dataset = m.dataset AND g.group_id = m.group_id AND g.user_id = m.user_id))",
        &[],
    )
    .await;
    assert_eq!(unmirrored, 0, "memberships by group and by user agree");
    let counted =
        crate::helpers::count(&f.store, "SELECT COUNT(*) FROM directory_user_group_counts", &[]).await;
    let present = crate::helpers::count(
        &f.store,
        "SELECT COUNT(*) FROM directory_users WHERE deleted_at IS NULL",
        &[],
    )
    .await;
    let mismatched = crate::helpers::count(
        &f.store,
        "SELECT COUNT(*) FROM directory_user_group_counts c
         LEFT JOIN directory_users u ON u.dataset = c.dataset AND u.okta_id = c.user_id
         WHERE u.okta_id IS NULL OR u.deleted_at IS NOT NULL",
        &[],
    )
    .await;
    assert_eq!(
        (counted, mismatched),
        (present, 0),
        "one group count per present user, none for others"
    );
}

fn new_user(first: &str) -> NewUser {
    NewUser {
        first_name: first.into(),
        last_name: "Tester".into(),
        ..NewUser::default()
    }
}

fn status_patch(status: &str) -> UserPatch {
    UserPatch {
        status: Some(status.into()),
        ..UserPatch::default()
    }
}

#[tokio::test]
async fn first_sync_imports_exactly_the_assigned_users_groups_and_memberships() {
    let f = ready(start_sim(1_200, 25, 3_000).await, ServiceApp::default()).await;
    let outcome = sync(&f).await;
    assert_eq!(outcome.status, RunStatus::Succeeded, "{outcome:?}");

    let expected = f.expected_user_ids();
    assert!(
        expected.len() > 1_000,
        "most users are assigned: {}",
        expected.len()
    );
    assert_eq!(
        f.stored_user_ids().await,
        expected,
        "exactly the assigned, present users"
    );

    let sim = f.sim();
    let app_groups = sim.app_group_ids(&sim.roster_app_id()).unwrap();
    let counts = f.store.directory_counts(&f.directory_id).await.unwrap();
    assert_eq!(counts.groups as usize, app_groups.len());
    let suspended_in_sim = expected
        .iter()
        .filter(|id| sim.user(id).unwrap()["status"] == "SUSPENDED")
        .count();
    assert_eq!(counts.suspended as usize, suspended_in_sim);

    for group_id in app_groups.iter().take(5) {
        let mut in_sim: Vec<String> = sim
            .group_member_ids(group_id)
            .unwrap()
            .into_iter()
            .filter(|id| expected.contains(id))
            .collect();
        in_sim.sort();
        assert_eq!(
            f.store.group_member_ids(&f.directory_id, group_id).await.unwrap(),
            in_sim,
            "{group_id}"
        );
    }

    let user = f
        .store
        .user(&f.directory_id, &expected[0])
        .await
        .unwrap()
        .unwrap();
    let profile: serde_json::Value = serde_json::from_str(&user.profile).unwrap();
    assert_eq!(profile["login"], user.login.as_str(), "traits keep the profile");

    let run = f.store.run(&outcome.run_id).await.unwrap().unwrap();
    assert_eq!(run.users_added as usize, expected.len());
    assert_eq!(run.users_removed, 0);
    assert!(run.pages >= 3 && run.api_calls > run.pages, "{run:?}");
    assert_eq!(staging_rows(&f).await, 0, "staging is emptied after apply");
    assert_group_counts_match_the_sim(&f).await;
}

#[tokio::test]
async fn an_unchanged_org_resyncs_with_only_the_app_user_and_group_pages() {
    let f = ready(start_sim(600, 30, 1_500).await, ServiceApp::default()).await;
    assert_eq!(sync(&f).await.status, RunStatus::Succeeded);
    f.sim().reset_stats();
    let outcome = sync(&f).await;
    let run = f.store.run(&outcome.run_id).await.unwrap().unwrap();
    assert_eq!(run.users_added + run.users_updated + run.users_removed, 0);
    assert_eq!(run.memberships_added + run.memberships_removed, 0);
    assert_eq!(
        run.groups_skipped, run.groups_fetched,
        "no group's members fetched again"
    );
    let stats = f.sim().stats();
    let member_calls: u64 = stats
        .paths
        .iter()
        .filter(|(p, _)| p.contains("/groups/") && p.ends_with("/users"))
        .map(|(_, n)| n)
        .sum();
    assert_eq!(member_calls, 0, "{:?}", stats.paths);
    // 600 users → 2 pages of 500; 30 groups → 1 page of 200; one token request (DPoP adds a nonce round).
    assert!(run.api_calls <= 6, "api calls: {}", run.api_calls);
}

#[tokio::test]
async fn user_and_membership_changes_are_applied() {
    let f = ready(start_sim(200, 8, 500).await, ServiceApp::default()).await;
    assert_eq!(sync(&f).await.status, RunStatus::Succeeded);
    let sim = f.sim();
    let app = sim.roster_app_id();
    let present = f.stored_user_ids().await;
    let (to_suspend, to_deactivate) = (present[3].clone(), present[4].clone());
    let group = sim.app_group_ids(&app).unwrap()[0].clone();
    let member_to_remove = sim
        .group_member_ids(&group)
        .unwrap()
        .into_iter()
        .find(|id| present.contains(id))
        .unwrap();

    let newcomer = sim.create_user(new_user("Newcomer")).unwrap();
    sim.assign_user_to_app(&app, &newcomer).unwrap();
    sim.add_group_member(&group, &newcomer).unwrap();
    sim.remove_group_member(&group, &member_to_remove).unwrap();
    sim.update_user(&to_suspend, status_patch("suspend")).unwrap();
    sim.update_user(&to_deactivate, status_patch("deactivate"))
        .unwrap();
    let mut renamed = serde_json::Map::new();
    renamed.insert("department".into(), "Renamed Dept".into());
    sim.update_user(
        &present[5],
        UserPatch {
            profile: Some(renamed),
            ..UserPatch::default()
        },
    )
    .unwrap();
    let last_sync = f
        .store
        .directory(&f.directory_id)
        .await
        .unwrap()
        .unwrap()
        .last_success_at
        .unwrap();
    let untouched = f.store.user(&f.directory_id, &present[6]).await.unwrap().unwrap();

    let outcome = sync(&f).await;
    assert_eq!(outcome.status, RunStatus::Succeeded, "{outcome:?}");
    let run = f.store.run(&outcome.run_id).await.unwrap().unwrap();
    assert_eq!(run.users_added, 1);
    assert_eq!(run.users_removed, 1);
    assert_group_counts_match_the_sim(&f).await;
    assert_eq!(
        f.store.user(&f.directory_id, &present[6]).await.unwrap().unwrap(),
        untouched,
        "an unchanged user is not rewritten"
    );
    assert_eq!(
        f.store
            .user(&f.directory_id, &to_deactivate)
            .await
            .unwrap()
            .unwrap()
            .last_seen_at,
        last_sync,
        "a removed user was last seen by the sync before"
    );
    assert!(run.users_updated >= 2, "suspended + renamed: {run:?}");
    assert!(
        run.groups_skipped < run.groups_fetched,
        "the changed group was fetched"
    );

    let stored = |id: String| {
        let store = f.store.clone();
        let dir = f.directory_id.clone();
        async move { store.user(&dir, &id).await.unwrap().unwrap() }
    };
    assert!(stored(newcomer.clone()).await.deleted_at.is_none());
    assert!(stored(to_suspend.clone()).await.suspended);
    assert!(
        stored(to_deactivate.clone()).await.deleted_at.is_some(),
        "deprovisioned users are soft-deleted"
    );
    let profile: serde_json::Value = serde_json::from_str(&stored(present[5].clone()).await.profile).unwrap();
    assert_eq!(profile["department"], "Renamed Dept");
    let members = f.store.group_member_ids(&f.directory_id, &group).await.unwrap();
    assert!(members.contains(&newcomer) && !members.contains(&member_to_remove));

    sim.unassign_user_from_app(&app, &newcomer).unwrap_or_else(|_| {
        sim.remove_group_member(&group, &newcomer).unwrap();
        sim.unassign_user_from_app(&app, &newcomer).unwrap();
    });
    sim.remove_group_member(&group, &newcomer).ok();
    // The deactivated user comes back: present again, with a group count.
    sim.update_user(&to_deactivate, status_patch("activate")).unwrap();
    assert_eq!(sync(&f).await.status, RunStatus::Succeeded);
    assert!(
        stored(newcomer).await.deleted_at.is_some(),
        "unassigned users are removed"
    );
    assert!(
        stored(to_deactivate).await.deleted_at.is_none(),
        "a reactivated user is back"
    );
    assert_group_counts_match_the_sim(&f).await;
}

#[tokio::test]
async fn the_breaker_holds_mass_removals_until_confirmed_or_discarded() {
    let f = ready(start_sim(100, 5, 200).await, ServiceApp::default()).await;
    assert_eq!(sync(&f).await.status, RunStatus::Succeeded);
    let before = f.stored_user_ids().await;
    let sim = f.sim();
    for id in before.iter().take(before.len() * 3 / 10) {
        sim.update_user(id, status_patch("deactivate")).unwrap();
    }

    let held = sync(&f).await;
    assert_eq!(held.status, RunStatus::NeedsConfirmation);
    assert_eq!(f.stored_user_ids().await, before, "nothing applied while held");
    let run = f.store.run(&held.run_id).await.unwrap().unwrap();
    assert_eq!(run.users_removed as usize, before.len() * 3 / 10);
    assert!(!run.diff_sample.unwrap_or_default().is_empty());

    f.service.engine().discard(&f.directory_id).await.unwrap();
    assert_eq!(f.stored_user_ids().await, before);
    assert_eq!(
        staging_rows(&f).await,
        0,
        "a discarded diff leaves no staging behind"
    );

    assert_eq!(sync(&f).await.status, RunStatus::NeedsConfirmation);
    f.service.engine().confirm(&f.directory_id).await.unwrap();
    assert_eq!(
        f.stored_user_ids().await.len(),
        before.len() - before.len() * 3 / 10
    );
    assert_group_counts_match_the_sim(&f).await;
    assert!(matches!(
        f.service.engine().confirm(&f.directory_id).await,
        Err(SyncError::NothingToConfirm)
    ));
}

#[tokio::test]
async fn transient_faults_are_retried_and_persistent_ones_change_nothing() {
    let f = ready(start_sim(300, 10, 600).await, ServiceApp::default()).await;
    assert_eq!(sync(&f).await.status, RunStatus::Succeeded);
    let sim = f.sim();
    let newcomer = sim.create_user(new_user("Retry")).unwrap();
    sim.assign_user_to_app(&sim.roster_app_id(), &newcomer).unwrap();
    sim.add_fault(FaultRule {
        path_prefix: "/api/v1/apps".into(),
        kind: FaultKind::Status500,
        count: 2,
        after: 0,
    });
    sim.add_fault(FaultRule {
        path_prefix: "/api/v1/apps".into(),
        kind: FaultKind::DropConnection,
        count: 1,
        after: 0,
    });
    sim.add_fault(FaultRule {
        path_prefix: "/api/v1/groups".into(),
        kind: FaultKind::Status503,
        count: 1,
        after: 1,
    });
    // The token endpoint goes through the same retrying path as the pages,
    // including an answer that breaks off mid-body.
    sim.add_fault(FaultRule {
        path_prefix: "/oauth2/v1/token".into(),
        kind: FaultKind::Status503,
        count: 1,
        after: 0,
    });
    sim.add_fault(FaultRule {
        path_prefix: "/oauth2/v1/token".into(),
        kind: FaultKind::DropConnection,
        count: 1,
        after: 0,
    });
    let outcome = sync(&f).await;
    assert_eq!(outcome.status, RunStatus::Succeeded, "{outcome:?}");
    let run = f.store.run(&outcome.run_id).await.unwrap().unwrap();
    assert!(run.retries >= 5, "{run:?}");
    assert!(f.stored_user_ids().await.contains(&newcomer));

    let before = f.stored_user_ids().await;
    sim.create_user(new_user("Never"))
        .map(|id| sim.assign_user_to_app(&sim.roster_app_id(), &id))
        .unwrap()
        .unwrap();
    // The app-users pages are fetched on every run, even an incremental one.
    sim.add_fault(FaultRule {
        path_prefix: "/api/v1/apps".into(),
        kind: FaultKind::Status500,
        count: 1_000,
        after: 0,
    });
    let failed = sync(&f).await;
    assert_eq!(failed.status, RunStatus::Failed);
    let error = failed.error.unwrap();
    assert_eq!(error.class, server::okta::ErrorClass::Transient);
    assert_eq!(f.stored_user_ids().await, before, "a failed run applied nothing");
    assert_eq!(staging_rows(&f).await, 0);
    let directory = f.store.directory(&f.directory_id).await.unwrap().unwrap();
    assert!(!directory.paused, "transient errors retry on the next schedule");
    assert!(directory.failing_since.is_some());
}

#[tokio::test]
async fn configuration_errors_pause_the_directory_with_a_hint() {
    let f = ready(start_sim(50, 3, 60).await, ServiceApp::default()).await;
    let client_id = f.sim().service_apps()[0].client_id.clone();
    f.sim()
        .update_service_app(
            &client_id,
            ServiceAppPatch {
                admin_role: Some(false),
                ..ServiceAppPatch::default()
            },
        )
        .unwrap();
    let outcome = sync(&f).await;
    assert_eq!(outcome.status, RunStatus::Failed);
    let error = outcome.error.unwrap();
    assert_eq!(error.class, server::okta::ErrorClass::Configuration);
    assert!(error.hint.contains("admin role"), "{}", error.hint);
    let run = f.store.run(&outcome.run_id).await.unwrap().unwrap();
    assert_eq!(run.error_code.as_deref(), Some("forbidden"));
    let directory = f.store.directory(&f.directory_id).await.unwrap().unwrap();
    assert!(directory.paused, "scheduled syncs stop until the admin fixes it");
    assert!(f
        .store
        .due_directories(time::OffsetDateTime::now_utc() + time::Duration::days(1))
        .await
        .unwrap()
        .is_empty());

    f.sim()
        .update_service_app(
            &client_id,
            ServiceAppPatch {
                admin_role: Some(true),
                ..ServiceAppPatch::default()
            },
        )
        .unwrap();
    assert!(f.service.verify(&f.directory_id, None).await.unwrap().ok());
    assert!(
        !f.store.directory(&f.directory_id).await.unwrap().unwrap().paused,
        "a good verify resumes"
    );
}

#[tokio::test]
async fn pacing_stays_within_the_share_without_a_single_429() {
    let f = ready(
        start_sim(1_500, 20, 2_000).await,
        ServiceApp {
            dpop: false,
            ..ServiceApp::default()
        },
    )
    .await;
    f.sim()
        .set_rate_limit(RateLimitConfig {
            per_minute_default: 12,
            window: Duration::from_secs(1),
        })
        .unwrap();
    f.sim().reset_stats();
    let outcome = sync(&f).await;
    assert_eq!(outcome.status, RunStatus::Succeeded, "{outcome:?}");
    let stats = f.sim().stats();
    let limited: u64 = stats.buckets.values().map(|b| b.rate_limited).sum();
    assert_eq!(limited, 0, "{:?}", stats.buckets);
    let run = f.store.run(&outcome.run_id).await.unwrap().unwrap();
    assert!(run.paced_waits > 0, "the pacer had to wait: {run:?}");
}

#[tokio::test]
async fn a_429_from_a_bucket_someone_else_drained_is_waited_out() {
    let f = ready(
        start_sim(300, 5, 300).await,
        ServiceApp {
            dpop: false,
            ..ServiceApp::default()
        },
    )
    .await;
    // A window long enough that the sync starts inside the drained one even
    // on a loaded machine (the suite runs tests in parallel).
    f.sim()
        .set_rate_limit(RateLimitConfig {
            per_minute_default: 6,
            window: Duration::from_secs(3),
        })
        .unwrap();
    // Windows are aligned to multiples of their length: start at a fresh one,
    // so what Roster's pacer learnt during set-up is from a window that has
    // ended, and the drain below is news to it.
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    tokio::time::sleep(Duration::from_millis(3_000 - now_ms % 3_000 + 50)).await;
    // Another integration drains the apps bucket right before the sync.
    let http = reqwest::Client::new();
    for _ in 0..8 {
        http.get(format!("{}/api/v1/apps", f.sim.base_url()))
            .send()
            .await
            .unwrap();
    }
    let outcome = sync(&f).await;
    assert_eq!(outcome.status, RunStatus::Succeeded, "{outcome:?}");
    let run = f.store.run(&outcome.run_id).await.unwrap().unwrap();
    assert!(run.rate_limited >= 1, "{run:?}");
}

#[tokio::test]
async fn an_expiring_token_is_refreshed_during_a_long_sync() {
    let f = ready(start_sim(400, 12, 800).await, ServiceApp::default()).await;
    f.sim().set_token_lifetime(Duration::from_secs(1));
    f.sim().add_fault(FaultRule {
        path_prefix: "/api/v1/groups".into(),
        kind: FaultKind::Slow { ms: 400 },
        count: 8,
        after: 0,
    });
    f.sim().reset_stats();
    let outcome = sync(&f).await;
    assert_eq!(outcome.status, RunStatus::Succeeded, "{outcome:?}");
    let token_requests = f
        .sim()
        .stats()
        .buckets
        .get("token")
        .map(|b| b.requests)
        .unwrap_or_default();
    assert!(
        token_requests >= 4,
        "several tokens (with DPoP nonce rounds): {token_requests}"
    );
}

#[tokio::test]
async fn sync_now_during_a_run_says_already_syncing_and_progress_is_visible() {
    let f = ready(start_sim(100, 4, 100).await, ServiceApp::default()).await;
    f.sim().add_fault(FaultRule {
        path_prefix: "/api/v1/apps".into(),
        kind: FaultKind::Slow { ms: 800 },
        count: 2,
        after: 0,
    });
    let engine = f.service.engine().clone();
    let run_id = engine.sync_now(&f.directory_id, Trigger::Manual).await.unwrap();
    assert!(matches!(
        engine.sync_now(&f.directory_id, Trigger::Manual).await,
        Err(SyncError::AlreadySyncing)
    ));
    tokio::time::sleep(Duration::from_millis(100)).await;
    let progress = engine
        .progress(&f.directory_id)
        .await
        .unwrap()
        .expect("progress while running");
    assert_eq!(progress.run_id, run_id);
    for _ in 0..100 {
        if engine.progress(&f.directory_id).await.unwrap().is_none() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        engine.progress(&f.directory_id).await.unwrap().is_none(),
        "the run ended"
    );
    assert_eq!(
        f.store.run(&run_id).await.unwrap().unwrap().status,
        RunStatus::Succeeded
    );
}

#[tokio::test]
async fn a_run_interrupted_by_a_restart_is_failed_and_applied_nothing() {
    let f = ready(start_sim(60, 3, 60).await, ServiceApp::default()).await;
    assert_eq!(sync(&f).await.status, RunStatus::Succeeded);
    let before = f.stored_user_ids().await;
    // What a crash mid-fetch leaves behind: a running run with partial staging.
    let run_id = f
        .store
        .start_run(&f.directory_id, Trigger::Schedule)
        .await
        .unwrap();
    let half = server::store::StagedUser {
        okta_id: "00uHalf".into(),
        login: "half@x".into(),
        email: None,
        first_name: None,
        last_name: None,
        display_name: "Half".into(),
        status: "ACTIVE".into(),
        suspended: false,
        profile_json: "{}".into(),
        okta_last_updated: None,
        content_hash: "h".into(),
    };
    f.store
        .stage_batch(
            &run_id,
            &server::store::StageBatch {
                users: vec![half],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(f.service.engine().recover().await.unwrap(), 1);
    let run = f.store.run(&run_id).await.unwrap().unwrap();
    assert_eq!(
        (run.status, run.error_code.as_deref()),
        (RunStatus::Failed, Some("interrupted"))
    );
    assert_eq!(f.stored_user_ids().await, before);
    assert_eq!(staging_rows(&f).await, 0);
}

async fn stored_membership_rows(f: &OktaFixture, group_id: &str) -> i64 {
    crate::helpers::count(
        &f.store,
        "SELECT COUNT(*) FROM directory_memberships WHERE group_id = $2
         AND dataset = (SELECT key FROM directory_datasets WHERE CAST(directory_id AS TEXT) = $1 AND live = true)",
        &[&f.directory_id, group_id],
    )
    .await
}

#[tokio::test]
async fn membership_changes_are_counted_and_an_unassigned_group_takes_its_members_along() {
    let f = ready(start_sim(300, 12, 900).await, ServiceApp::default()).await;
    assert_eq!(sync(&f).await.status, RunStatus::Succeeded);
    let sim = f.sim();
    let app = sim.roster_app_id();
    let present = f.stored_user_ids().await;
    let mut groups = sim.app_group_ids(&app).unwrap();
    groups.sort_by_key(|g| sim.group_member_ids(g).unwrap().len());
    let gone = groups[0].clone();
    let changed = groups.last().unwrap().clone();
    let members = sim.group_member_ids(&changed).unwrap();
    let leaving = members.iter().find(|id| present.contains(id)).unwrap().clone();
    let joining = present.iter().find(|id| !members.contains(id)).unwrap().clone();
    sim.remove_group_member(&changed, &leaving).unwrap();
    sim.add_group_member(&changed, &joining).unwrap();
    let gone_rows = stored_membership_rows(&f, &gone).await;
    sim.unassign_group_from_app(&app, &gone).unwrap();

    let outcome = sync(&f).await;
    assert_eq!(outcome.status, RunStatus::Succeeded, "{outcome:?}");
    let run = f.store.run(&outcome.run_id).await.unwrap().unwrap();
    assert_eq!(run.memberships_added, 1, "{run:?}");
    assert_eq!(run.memberships_removed, 1 + gone_rows, "{run:?}");
    assert_eq!(
        run.groups_skipped,
        run.groups_fetched - 1,
        "only the changed group's members were fetched"
    );
    assert_eq!(stored_membership_rows(&f, &gone).await, 0);
    let stored = f.store.group_member_ids(&f.directory_id, &changed).await.unwrap();
    assert!(stored.contains(&joining) && !stored.contains(&leaving));
    assert_eq!(staging_rows(&f).await, 0);
    assert_group_counts_match_the_sim(&f).await;

    let again = sync(&f).await;
    let run = f.store.run(&again.run_id).await.unwrap().unwrap();
    assert_eq!((run.memberships_added, run.memberships_removed), (0, 0));
}

#[tokio::test]
async fn an_applied_run_discards_a_diff_still_waiting_for_confirmation() {
    let f = ready(start_sim(100, 5, 200).await, ServiceApp::default()).await;
    assert_eq!(sync(&f).await.status, RunStatus::Succeeded);
    let sim = f.sim();
    let before = f.stored_user_ids().await;
    let held: Vec<String> = before.iter().take(before.len() * 3 / 10).cloned().collect();
    for id in &held {
        sim.update_user(id, status_patch("deactivate")).unwrap();
    }
    let pending = sync(&f).await;
    assert_eq!(pending.status, RunStatus::NeedsConfirmation);
    for id in &held {
        sim.update_user(id, status_patch("activate")).unwrap();
    }
    assert_eq!(
        sync(&f).await.status,
        RunStatus::Succeeded,
        "the org is back: nothing to hold"
    );
    let run = f.store.run(&pending.run_id).await.unwrap().unwrap();
    assert_eq!(
        run.status,
        RunStatus::Discarded,
        "its diff was against a state that is gone"
    );
    assert!(matches!(
        f.service.engine().confirm(&f.directory_id).await,
        Err(SyncError::NothingToConfirm)
    ));
    assert_eq!(staging_rows(&f).await, 0);
    assert_eq!(f.stored_user_ids().await, before);
}

#[tokio::test]
async fn a_preview_counts_what_the_first_sync_would_import_and_applies_nothing() {
    let (f, client_id) = connect(start_sim(300, 10, 800).await, ServiceApp::default()).await;
    assert!(
        matches!(
            f.service.preview(&f.directory_id).await,
            Err(e) if e.message == server::domain::directories::NOT_VERIFIED
        ),
        "only a verified draft is previewed"
    );
    let report = f
        .service
        .verify(&f.directory_id, Some(okta_sim::ROSTER_CLIENT_ID))
        .await
        .unwrap();
    assert!(report.ok(), "{:#?}", report.items);

    let outcome = f.service.preview(&f.directory_id).await.unwrap();
    assert_eq!(outcome.status, RunStatus::Previewed, "{outcome:?}");
    let run = f.store.run(&outcome.run_id).await.unwrap().unwrap();
    let sim = f.sim();
    let groups = sim.app_group_ids(&sim.roster_app_id()).unwrap();
    let memberships: usize = groups
        .iter()
        .map(|g| sim.group_member_ids(g).unwrap().len())
        .sum();
    assert_eq!(run.users_added as usize, f.expected_user_ids().len());
    assert_eq!(run.groups_added as usize, groups.len());
    assert_eq!(run.memberships_added as usize, memberships);
    assert!(run.diff_sample.unwrap().contains('@'), "a sample of logins");

    let counts = f.store.directory_counts(&f.directory_id).await.unwrap();
    assert_eq!((counts.users, counts.groups), (0, 0), "nothing imported");
    assert_eq!(staging_rows(&f).await, 0);
    let draft = f.store.directory(&f.directory_id).await.unwrap().unwrap();
    assert_eq!(draft.state, server::model::DirectoryState::Draft);
    assert!(draft.last_success_at.is_none());

    // A preview that fails reports why, and neither pauses nor flags the draft.
    sim.update_service_app(
        &client_id,
        ServiceAppPatch {
            scopes: Some(vec!["okta.apps.read".into(), "okta.groups.read".into()]),
            ..ServiceAppPatch::default()
        },
    )
    .unwrap();
    let failed = f.service.preview(&f.directory_id).await.unwrap();
    assert_eq!(failed.status, RunStatus::Failed);
    assert!(failed.error.unwrap().hint.contains("okta.users.read"));
    let draft = f.store.directory(&f.directory_id).await.unwrap().unwrap();
    assert!(!draft.paused && draft.failing_since.is_none(), "{draft:?}");
}

/// Rows in the synced-record tables, whichever dataset they belong to.
async fn record_rows(f: &OktaFixture) -> i64 {
    rows_in(
        f,
        &[
            "directory_users",
            "directory_groups",
            "directory_memberships",
            "directory_user_groups",
            "directory_user_group_counts",
            "directory_user_events",
            "directory_datasets",
        ],
    )
    .await
}

#[tokio::test]
async fn a_first_sync_is_written_in_place_but_seen_only_once_it_succeeds() {
    let f = ready(start_sim(400, 12, 900).await, ServiceApp::default()).await;
    let sim = f.sim();

    // Killed mid-way through the members: the records written so far go.
    sim.add_fault(FaultRule {
        path_prefix: "/api/v1/groups".into(),
        kind: FaultKind::Status500,
        count: 1_000,
        after: 5,
    });
    let failed = sync(&f).await;
    assert_eq!(failed.status, RunStatus::Failed, "{failed:?}");
    assert_eq!(record_rows(&f).await, 0, "a failed first sync leaves no records");
    assert!(f.stored_user_ids().await.is_empty());
    sim.clear_faults();

    // A crash while a first sync is writing: nothing is visible meanwhile,
    // and the restart drops what it wrote.
    let run_id = f.store.start_run(&f.directory_id, Trigger::First).await.unwrap();
    let dataset = f
        .store
        .begin_first_sync(&f.directory_id, &run_id, "2026-11-23T00:00:00Z")
        .await
        .unwrap()
        .expect("no live records yet, so the run builds a dataset");
    let half = server::store::StageBatch {
        users: vec![server::store::StagedUser {
            okta_id: "00uHalfWritten".into(),
            login: "half@example.com".into(),
            email: None,
            first_name: None,
            last_name: None,
            display_name: "Half".into(),
            status: "ACTIVE".into(),
            suspended: false,
            profile_json: "{}".into(),
            okta_last_updated: None,
            content_hash: "h".into(),
        }],
        groups: vec![server::store::StagedGroup {
            okta_id: "00gHalfWritten".into(),
            name: "Half".into(),
            description: None,
            kind: "OKTA_GROUP".into(),
            okta_last_updated: None,
            okta_last_membership_updated: None,
            content_hash: "g".into(),
        }],
        members: vec![server::store::StagedMembers {
            group_id: "00gHalfWritten".into(),
            added: vec!["00uHalfWritten".into()],
            removed: Vec::new(),
        }],
    };
    let mut writer = f.store.first_sync_writer(dataset).await.unwrap();
    writer.write(&half).await.unwrap();
    let users_in_dataset = || async { rows_in(&f, &["directory_users"]).await };
    assert!(record_rows(&f).await > 2, "groups and members written in place");
    if crate::helpers::on_postgres() {
        // PostgreSQL takes each batch's users at once (its indexes do not
        // suffer from many commits as SQLite's pages do).
        assert_eq!(users_in_dataset().await, 1, "users written with their batch");
    } else {
        assert_eq!(users_in_dataset().await, 0, "users wait until all are fetched");
    }
    assert_eq!(staging_rows(&f).await, 0, "in the writer's own temporary table");
    writer.move_users().await.unwrap();
    assert_eq!(users_in_dataset().await, 1);
    assert!(f.stored_user_ids().await.is_empty(), "but not live");
    assert_eq!(f.store.directory_counts(&f.directory_id).await.unwrap().users, 0);
    assert!(f
        .store
        .user(&f.directory_id, "00uHalfWritten")
        .await
        .unwrap()
        .is_none());
    drop(writer);
    assert_eq!(f.service.engine().recover().await.unwrap(), 1);
    assert_eq!(
        record_rows(&f).await,
        0,
        "the restart dropped the unfinished dataset"
    );

    // Then a first sync that succeeds shows everything at once, with the run
    // record a staged sync would have.
    let outcome = sync(&f).await;
    assert_eq!(outcome.status, RunStatus::Succeeded, "{outcome:?}");
    let expected = f.expected_user_ids();
    assert_eq!(f.stored_user_ids().await, expected);
    let run = f.store.run(&outcome.run_id).await.unwrap().unwrap();
    assert_eq!(run.users_added as usize, expected.len());
    assert_eq!(
        run.groups_added as usize,
        sim.app_group_ids(&sim.roster_app_id()).unwrap().len()
    );
    let sample: serde_json::Value = serde_json::from_str(run.diff_sample.as_deref().unwrap()).unwrap();
    let mut logins: Vec<String> = Vec::new();
    for id in &expected {
        logins.push(f.store.user(&f.directory_id, id).await.unwrap().unwrap().login);
    }
    logins.sort();
    logins.truncate(20);
    assert_eq!(sample["users_added"], serde_json::json!(logins));
    let history = f
        .store
        .user_events(&f.directory_id, &expected[0], 10)
        .await
        .unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(
        (history[0].event.as_str(), history[0].run_id.as_str()),
        ("added", outcome.run_id.as_str())
    );
    assert_group_counts_match_the_sim(&f).await;
    assert!(
        f.store
            .begin_first_sync(&f.directory_id, "later", "2026-11-23T00:00:00Z")
            .await
            .unwrap()
            .is_none(),
        "later runs stage and diff against the live records"
    );
}

#[tokio::test]
async fn a_due_sync_starts_once_however_many_schedulers_see_it() {
    let f = ready(start_sim(40, 3, 60).await, ServiceApp::default()).await;
    // Three replicas' engines on one database; activation made the directory due.
    let (store, master_key) = f.app.state.core.internals();
    let replica = || {
        server::sync::SyncEngine::new(
            store.clone(),
            master_key.clone(),
            server::sync::http_client().unwrap(),
            server::sync::EngineConfig {
                max_concurrent_runs: 2,
                retry: crate::okta_fixture::fast_retry(),
                extra_origins: vec![f.sim.base_url().to_owned()],
            },
        )
    };
    let engines = [f.service.engine().clone(), replica(), replica()];
    futures_util::future::join_all(engines.iter().map(|e| e.start_due())).await;
    futures_util::future::join_all(engines.iter().map(|e| e.start_due())).await;
    let runs = f.store.runs(&f.directory_id, 10).await.unwrap();
    assert_eq!(runs.len(), 1, "one scheduled run: {runs:?}");
    assert_eq!(runs[0].trigger, Trigger::Schedule);
    for _ in 0..200 {
        if f.store.run(&runs[0].id).await.unwrap().unwrap().status != RunStatus::Running {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        f.store.run(&runs[0].id).await.unwrap().unwrap().status,
        RunStatus::Succeeded
    );
    let next = f
        .store
        .directory(&f.directory_id)
        .await
        .unwrap()
        .unwrap()
        .next_sync_at
        .unwrap();
    assert!(
        server::store::parse_timestamp(&next).unwrap()
            > time::OffsetDateTime::now_utc() + time::Duration::minutes(60),
        "the next one is an interval away: {next}"
    );
}

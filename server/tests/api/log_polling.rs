//! System Log polling end to end against okta-sim: Verify reports a missing
//! `okta.logs.read` and polling then stays off; with the scope, a
//! deactivation arrives without a sync, the cursor survives a restart, a
//! gap starts a full sync, and a scheduled sync with a healthy cursor reads
//! only what changed yet ends where a full sync does.

use crate::okta_fixture::{ready, start_sim, OktaFixture, ServiceApp, ALL_SCOPES};
use okta_sim::{GroupPatch, NewUser, UserPatch};
use server::{
    domain::{log_polling::LogPollingInput, Actor, ErrorKind},
    model::{DirectoryId, LogPollState, RunMode, RunStatus, Trigger},
    sync::PollEnd,
};
use std::time::Duration;

fn with_logs_scope() -> ServiceApp {
    let mut scopes = ALL_SCOPES.to_vec();
    scopes.push("okta.logs.read");
    ServiceApp {
        scopes,
        ..ServiceApp::default()
    }
}

async fn synced(users: usize, groups: usize, memberships: usize, spec: ServiceApp) -> OktaFixture {
    let f = ready(start_sim(users, groups, memberships).await, spec).await;
    let run = f
        .app
        .state
        .core
        .directories
        .engine()
        .sync_and_wait(&f.directory_id, Trigger::Manual)
        .await
        .unwrap();
    assert_eq!(run.status, RunStatus::Succeeded);
    f
}

fn id(f: &OktaFixture) -> DirectoryId {
    DirectoryId::parse(&f.directory_id).unwrap()
}

fn polling(enabled: bool, interval: i64) -> LogPollingInput {
    LogPollingInput {
        enabled,
        interval_secs: Some(interval),
        reconcile_hours: None,
    }
}

fn status(op: &str) -> UserPatch {
    UserPatch {
        profile: None,
        status: Some(op.into()),
    }
}

async fn wait_until<F, Fut>(what: &str, seconds: u64, check: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + Duration::from_secs(seconds);
    while std::time::Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test]
async fn verify_reports_a_missing_logs_scope_and_polling_stays_off() {
    let f = synced(20, 2, 30, ServiceApp::default()).await;
    let core = &f.app.state.core;
    let report = core
        .directories
        .verify(&Actor::host(), &id(&f), None)
        .await
        .unwrap();
    assert!(report.ok, "the scope is optional: {:#?}", report.items);
    let logs = report
        .items
        .iter()
        .find(|i| i.key == "scope:okta.logs.read")
        .unwrap();
    assert_eq!(
        serde_json::to_value(logs.status).unwrap(),
        "optional",
        "{logs:#?}"
    );
    assert!(logs.detail.contains("stays off"), "{logs:#?}");
    assert!(logs.hint.as_deref().unwrap().contains("Okta API Scopes"));

    let refused = core
        .log_polling
        .set(&Actor::host(), &id(&f), &polling(true, 60))
        .await
        .unwrap_err();
    assert_eq!(refused.kind, ErrorKind::Invalid);
    assert!(refused.message.contains("okta.logs.read"), "{refused:?}");
    assert!(refused.hint.as_deref().unwrap().contains("Grant okta.logs.read"));
    let view = core.log_polling.get(&id(&f)).await.unwrap();
    assert!(!view.enabled, "nothing changed");
    assert_eq!(view.state, LogPollState::Off);

    // Out-of-range settings are refused before Okta is asked.
    let bad = core
        .log_polling
        .set(&Actor::host(), &id(&f), &polling(true, 5))
        .await
        .unwrap_err();
    assert!(bad.message.contains("between 10 and 3600"), "{bad:?}");
}

#[tokio::test]
async fn a_polled_deactivation_arrives_without_a_sync_and_the_cursor_survives_a_restart() {
    let mut f = synced(40, 3, 80, with_logs_scope()).await;
    let report = f
        .app
        .state
        .core
        .directories
        .verify(&Actor::host(), &id(&f), None)
        .await
        .unwrap();
    let logs = report
        .items
        .iter()
        .find(|i| i.key == "scope:okta.logs.read")
        .unwrap();
    assert_eq!(serde_json::to_value(logs.status).unwrap(), "pass", "{logs:#?}");

    let view = f
        .app
        .state
        .core
        .log_polling
        .set(&Actor::host(), &id(&f), &polling(true, 10))
        .await
        .unwrap();
    assert!(view.enabled);
    assert_eq!(view.state, LogPollState::Healthy);
    assert!(view.next_sync_incremental, "{view:#?}");
    let runs_before = f.store.runs(&f.directory_id, 100).await.unwrap().len();

    let sim = f.sim();
    let stored = f.stored_user_ids().await;
    let (first, second) = (stored[0].clone(), stored[1].clone());
    sim.update_user(&first, status("deactivate")).unwrap();
    wait_until("the poller to remove the first leaver", 30, || async {
        !f.stored_user_ids().await.contains(&first)
    })
    .await;
    assert!(crate::helpers::event_types_of(&f.store, &first)
        .await
        .contains(&"user.deprovisioned".to_owned()));
    let before_restart = f.app.state.core.log_polling.get(&id(&f)).await.unwrap();
    assert!(before_restart.polls >= 1);

    // Roster is down while the next one leaves.
    f.app.server.abort();
    sim.update_user(&second, status("deactivate")).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let origins = f.sim.base_url().to_owned();
    f.app.restart(&[("ROSTER_OKTA_EXTRA_ORIGINS", &origins)]).await;
    f.store = f.app.state.core.internals().0.clone();
    wait_until("the restarted poller to remove the second leaver", 30, || async {
        !f.stored_user_ids().await.contains(&second)
    })
    .await;
    let after = f.app.state.core.log_polling.get(&id(&f)).await.unwrap();
    assert_eq!(after.state, LogPollState::Healthy, "{after:#?}");
    assert!(after.polls > before_restart.polls, "the stored cursor went on");
    assert!(after.cursor_at >= before_restart.cursor_at);
    assert_eq!(
        f.store.runs(&f.directory_id, 100).await.unwrap().len(),
        runs_before,
        "no sync ran: polling found both"
    );
}

#[tokio::test]
async fn a_gap_in_the_log_starts_a_full_sync_that_re_anchors_the_cursor() {
    let f = synced(30, 2, 40, with_logs_scope()).await;
    let core = &f.app.state.core;
    core.log_polling
        .set(&Actor::host(), &id(&f), &polling(true, 3600))
        .await
        .unwrap();
    // Roster was off longer than Okta keeps the log.
    let long_ago = server::store::sortable(time::OffsetDateTime::now_utc() - time::Duration::days(100));
    if let Some(pool) = f.store.postgres_pool() {
        sqlx::query("UPDATE okta_log_polling SET cursor_at = $1::timestamptz, reread_from = $1::timestamptz, covered_since = $1::timestamptz")
            .bind(&long_ago)
            .execute(pool)
            .await
            .unwrap();
    } else {
        sqlx::query("UPDATE okta_log_polling SET cursor_at = $1, reread_from = $1, covered_since = $1")
            .bind(&long_ago)
            .execute(f.store.sqlite_pool().unwrap())
            .await
            .unwrap();
    }
    let view = core.log_polling.get(&id(&f)).await.unwrap();
    assert!(
        !view.next_sync_incremental,
        "a broken cursor cannot vouch for a sync"
    );

    let end = core.directories.engine().poll_log(&f.directory_id).await.unwrap();
    let PollEnd::Gap(reason) = end else {
        panic!("{end:?}")
    };
    assert!(reason.contains("90 days"), "{reason}");
    wait_until("the reconciling sync to succeed", 30, || async {
        f.store
            .runs(&f.directory_id, 10)
            .await
            .unwrap()
            .iter()
            .any(|r| r.trigger == Trigger::Reconcile && r.status == RunStatus::Succeeded)
    })
    .await;
    let run = f
        .store
        .runs(&f.directory_id, 10)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.trigger == Trigger::Reconcile)
        .unwrap();
    assert_eq!(run.mode, RunMode::Full);
    // The cursor is re-anchored right after the run's commit (and its
    // sessions revoked): wait for it, not just for the run.
    wait_until("the cursor to be re-anchored", 30, || async {
        f.store.log_polling(&f.directory_id).await.unwrap().unwrap().state == LogPollState::Healthy
    })
    .await;
    let row = f.store.log_polling(&f.directory_id).await.unwrap().unwrap();
    assert_eq!(row.state, LogPollState::Healthy, "{row:#?}");
    assert_eq!(row.gap_reason, None);
    let started = server::store::parse_timestamp(&run.started_at).unwrap();
    let anchor = server::store::parse_timestamp(row.reread_from.as_deref().unwrap()).unwrap();
    let off = (started - server::sync::OVERLAP - anchor).abs();
    assert!(
        off < time::Duration::milliseconds(1),
        "re-read from the sync's start: {anchor} vs {started}"
    );
    let view = core.log_polling.get(&id(&f)).await.unwrap();
    assert!(view.next_sync_incremental, "{view:#?} {row:#?}");
}

/// What Roster holds for a directory, minus bookkeeping times.
async fn snapshot(f: &OktaFixture) -> Vec<String> {
    let mut lines = Vec::new();
    for okta_id in f.stored_user_ids().await {
        let u = f.store.user(&f.directory_id, &okta_id).await.unwrap().unwrap();
        lines.push(format!(
            "user {} {} {:?} {:?} {:?} {} {} {} {}",
            u.okta_id,
            u.login,
            u.email,
            u.first_name,
            u.last_name,
            u.display_name,
            u.status,
            u.suspended,
            u.profile
        ));
    }
    let groups = f
        .store
        .groups_page(&f.directory_id, "", None, 10_000)
        .await
        .unwrap();
    for g in groups {
        let record = f.store.group(&f.directory_id, &g.okta_id).await.unwrap().unwrap();
        let mut members = f
            .store
            .group_member_ids(&f.directory_id, &g.okta_id)
            .await
            .unwrap();
        members.sort();
        lines.push(format!(
            "group {} {} {:?} {} {}",
            record.okta_id,
            record.name,
            record.description,
            record.kind,
            members.join(",")
        ));
    }
    lines.sort();
    lines
}

#[tokio::test]
async fn an_incremental_sync_reads_only_what_changed_and_ends_where_a_full_sync_does() {
    let f = synced(120, 8, 300, with_logs_scope()).await;
    let core = &f.app.state.core;
    let engine = core.directories.engine();
    // A long interval: the scheduled syncs below do the polling.
    core.log_polling
        .set(&Actor::host(), &id(&f), &polling(true, 3600))
        .await
        .unwrap();
    let first = engine
        .sync_and_wait(&f.directory_id, Trigger::Schedule)
        .await
        .unwrap();
    let run = f.store.run(&first.run_id).await.unwrap().unwrap();
    assert_eq!(
        (run.mode, run.status),
        (RunMode::Incremental, RunStatus::Succeeded)
    );

    // Random changes of every kind Roster follows.
    let sim = f.sim();
    let app = sim.roster_app_id();
    let seed: u64 = std::env::var("ROSTER_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| time::OffsetDateTime::now_utc().unix_timestamp() as u64);
    eprintln!("ROSTER_TEST_SEED={seed}");
    let mut rng = seed;
    let mut next = |n: usize| {
        rng = rng
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((rng >> 33) as usize) % n
    };
    let users = sim.app_user_ids(&app).unwrap();
    let groups = sim.app_group_ids(&app).unwrap();
    let all_groups = sim.group_ids();
    let mut changed = std::collections::BTreeSet::new();
    for round in 0..40 {
        let user = users[next(users.len())].clone();
        match next(7) {
            0 => {
                let _ = sim.update_user(&user, status("deactivate"));
            }
            1 => {
                let _ = sim.update_user(&user, status("suspend"));
            }
            2 => {
                let mut profile = serde_json::Map::new();
                profile.insert("title".into(), format!("Title {round}").into());
                sim.update_user(
                    &user,
                    UserPatch {
                        profile: Some(profile),
                        status: None,
                    },
                )
                .unwrap();
            }
            3 => {
                let _ = sim.add_group_member(&all_groups[next(all_groups.len())], &user);
            }
            4 => {
                let group = &groups[next(groups.len())];
                if let Some(member) = sim.group_member_ids(group).unwrap().first() {
                    let _ = sim.remove_group_member(group, member);
                }
            }
            5 => {
                let _ = sim.unassign_user_from_app(&app, &user);
            }
            _ => {
                let new = sim
                    .create_user(NewUser {
                        first_name: "New".into(),
                        last_name: format!("Hire{round}"),
                        login: None,
                        email: None,
                        display_name: None,
                        department: None,
                        title: None,
                        employee_number: None,
                        mobile_phone: None,
                        status: None,
                    })
                    .unwrap();
                sim.assign_user_to_app(&app, &new).unwrap();
                changed.insert(new);
            }
        }
        changed.insert(user);
    }
    sim.update_group(
        &groups[0],
        GroupPatch {
            name: Some("Renamed group".into()),
            description: None,
        },
    )
    .unwrap();
    let incremental = engine
        .sync_and_wait(&f.directory_id, Trigger::Schedule)
        .await
        .unwrap();
    let run = f.store.run(&incremental.run_id).await.unwrap().unwrap();
    assert_eq!(
        (run.mode, run.status),
        (RunMode::Incremental, RunStatus::Succeeded),
        "{run:#?}"
    );
    let after_incremental = snapshot(&f).await;
    // Each changed user costs one read; the log, a page and the empty one after it.
    eprintln!(
        "{} records changed, {} API calls",
        changed.len() + 1,
        run.api_calls
    );
    assert!(run.api_calls <= 2 * (changed.len() as i64 + 1) + 5, "{run:#?}");

    let full = engine
        .sync_and_wait(&f.directory_id, Trigger::Manual)
        .await
        .unwrap();
    let full_run = f.store.run(&full.run_id).await.unwrap().unwrap();
    assert_eq!(full_run.mode, RunMode::Full);
    let after_full = snapshot(&f).await;
    assert_eq!(after_incremental, after_full, "seed {seed}");
    assert_eq!(
        full_run.users_added
            + full_run.users_updated
            + full_run.users_removed
            + full_run.groups_updated
            + full_run.memberships_added
            + full_run.memberships_removed,
        0,
        "the full sync found nothing the incremental one missed: {full_run:#?}"
    );

    // Unchanged since: the next scheduled sync is a poll and nothing more.
    let quiet = engine
        .sync_and_wait(&f.directory_id, Trigger::Schedule)
        .await
        .unwrap();
    let quiet = f.store.run(&quiet.run_id).await.unwrap().unwrap();
    assert_eq!(quiet.mode, RunMode::Incremental);
    eprintln!("unchanged org: {} API calls", quiet.api_calls);
    assert!(quiet.api_calls <= 5, "{quiet:#?}");
}

#[tokio::test]
async fn polling_is_on_the_api_and_the_cli_and_changes_are_audited() {
    use crate::cli::roster;
    use crate::rest::token;
    use server::model::TokenScope;
    let f = synced(20, 2, 30, with_logs_scope()).await;
    let writer = token(&f.app, TokenScope::ReadWrite).await;
    let reader = token(&f.app, TokenScope::ReadOnly).await;
    let dir = f.directory_id.clone();

    let shown = roster(
        &f.app,
        Some(&reader),
        &["directories", "log-polling", &dir, "--json"],
    )
    .await;
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    let shown: serde_json::Value = serde_json::from_str(&shown.stdout).unwrap();
    assert_eq!(
        (shown["enabled"].as_bool(), shown["state"].as_str()),
        (Some(false), Some("off"))
    );

    let refused = roster(
        &f.app,
        Some(&reader),
        &["directories", "log-polling-set", &dir, "--on"],
    )
    .await;
    assert_ne!(refused.code, 0, "a read-only token changes nothing");
    let bad = roster(
        &f.app,
        Some(&writer),
        &["directories", "log-polling-set", &dir, "--on", "--interval", "5"],
    )
    .await;
    assert_ne!(bad.code, 0);
    assert!(bad.stderr.contains("between 10 and 3600"), "{}", bad.stderr);
    let neither = roster(&f.app, Some(&writer), &["directories", "log-polling-set", &dir]).await;
    assert_ne!(neither.code, 0, "--on or --off is required");

    let on = roster(
        &f.app,
        Some(&writer),
        &["directories", "log-polling-set", &dir, "--on", "--interval", "30"],
    )
    .await;
    assert_eq!(on.code, 0, "{}", on.stderr);
    assert!(on.stdout.contains("every 30 s"), "{}", on.stdout);
    assert!(on.stdout.contains("healthy"), "{}", on.stdout);

    let rest = f
        .app
        .client
        .get(f.app.url(&format!("/api/v1/directories/{dir}/log-polling")))
        .bearer_auth(&reader)
        .send()
        .await
        .unwrap();
    assert_eq!(rest.status(), 200);
    let rest: serde_json::Value = rest.json().await.unwrap();
    assert_eq!(rest["enabled"], true);
    assert_eq!(rest["interval_secs"], 30);
    assert_eq!(rest["scope"], "okta.logs.read");
    let off = f
        .app
        .client
        .put(f.app.url(&format!("/api/v1/directories/{dir}/log-polling")))
        .bearer_auth(&writer)
        .json(&serde_json::json!({ "enabled": false }))
        .send()
        .await
        .unwrap();
    assert_eq!(off.status(), 200);
    let off: serde_json::Value = off.json().await.unwrap();
    assert_eq!(
        (off["enabled"].as_bool(), off["state"].as_str()),
        (Some(false), Some("off"))
    );
    assert_eq!(off["interval_secs"], 30, "what the request left out stays");
    assert!(off["cursor_at"].is_string(), "turning off keeps the cursor");
    let unknown = f
        .app
        .client
        .put(f.app.url(&format!("/api/v1/directories/{dir}/log-polling")))
        .bearer_auth(&writer)
        .json(&serde_json::json!({ "enabled": true, "every": 30 }))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 422);

    let log = f.app.state.core.audit.list(&Default::default()).await.unwrap();
    assert_eq!(
        log.entries
            .iter()
            .filter(|e| e.action == "log_polling.changed")
            .count(),
        2,
        "on and off"
    );
}

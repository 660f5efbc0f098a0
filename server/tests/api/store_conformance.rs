//! The store conformance suite: every test here runs against both backends,
//! a SQLite file and a PostgreSQL database in a throwaway cluster, through
//! the same `Store` interface, and must see the same behaviour.

use crate::pg;
use server::{
    config::DatabaseUrl,
    model::{DirectoryState, KeyPurpose, KeyState, PauseReason, RunStatus, TokenScope, Trigger},
    store::{
        AuditFilter, EventFilter, MemberWrite, NewApiToken, NewAuditEntry, NewDirectory, RedeemOutcome,
        RunCounters, RunFailure, StageBatch, StagedGroup, StagedMembers, StagedUser, Store, UserFilter,
        UserSort, Written,
    },
};
use std::future::Future;
use tempfile::TempDir;

/// A migrated store of each kind, and what keeps it alive.
async fn sqlite_store() -> (Store, TempDir) {
    let dir = TempDir::new().unwrap();
    let store = Store::connect(&DatabaseUrl::Sqlite(dir.path().join("roster.db")))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    (store, dir)
}

async fn postgres_store() -> Store {
    let url = pg::fresh_database().await;
    let store = Store::connect(&DatabaseUrl::parse(&url).unwrap()).await.unwrap();
    store.migrate().await.unwrap();
    store
}

async fn on_both<F, Fut>(test: F)
where
    F: Fn(Store) -> Fut,
    Fut: Future<Output = ()>,
{
    let (sqlite, _dir) = sqlite_store().await;
    test(sqlite).await;
    test(postgres_store().await).await;
}

async fn new_directory(store: &Store, name: &str) -> String {
    let id = store
        .insert_directory(&NewDirectory {
            name,
            okta_origin: "https://acme.okta.com",
            client_id: "0oaclient",
            state: DirectoryState::Draft,
        })
        .await
        .unwrap();
    store.activate_directory(&id, name).await.unwrap();
    id
}

#[tokio::test]
async fn schema_is_current_after_migrating_twice() {
    on_both(|store| async move {
        store.migrate().await.unwrap();
        let status = store.schema_status().await.unwrap();
        assert!(status.is_current(), "{}: {status:?}", store.kind());
        assert!(status.applied > 0);
        store.ping().await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn instance_name_and_setup_link_make_one_admin() {
    on_both(|store| async move {
        assert_eq!(store.instance_name().await.unwrap(), "Roster");
        store.set_instance_name("Acme").await.unwrap();
        store.set_instance_name("Acme Corp").await.unwrap();
        assert_eq!(store.instance_name().await.unwrap(), "Acme Corp");

        store
            .insert_setup_token("h1", time::Duration::hours(1))
            .await
            .unwrap();
        store
            .insert_setup_token("h2", time::Duration::hours(1))
            .await
            .unwrap();
        store
            .insert_setup_token("old", time::Duration::seconds(-1))
            .await
            .unwrap();
        assert_eq!(
            store.redeem_setup_token("old", "x").await.unwrap(),
            RedeemOutcome::Invalid
        );
        let RedeemOutcome::Created(admin) = store.redeem_setup_token("h1", "First").await.unwrap() else {
            panic!("{}: the first link creates the admin", store.kind());
        };
        assert_eq!(
            store.redeem_setup_token("h1", "Again").await.unwrap(),
            RedeemOutcome::Invalid
        );
        // The other outstanding link was dropped with the first admin's creation.
        assert_eq!(
            store.redeem_setup_token("h2", "Second").await.unwrap(),
            RedeemOutcome::Invalid
        );
        assert_eq!(store.count_admins().await.unwrap(), 1);
        assert_eq!(store.admin(admin.id).await.unwrap(), Some(admin.clone()));
        store.touch_admin_sign_in(admin.id).await.unwrap();
        // A recovery link signs the first admin in.
        store
            .insert_setup_token("h3", time::Duration::hours(1))
            .await
            .unwrap();
        assert_eq!(
            store.redeem_setup_token("h3", "Other").await.unwrap(),
            RedeemOutcome::Recovered(admin)
        );
    })
    .await;
}

#[tokio::test]
async fn api_tokens_revoke_with_what_they_made() {
    on_both(|store| async move {
        let parent = uuid::Uuid::new_v4().to_string();
        let child = uuid::Uuid::new_v4().to_string();
        for (id, hash, made_with) in [(&parent, "hp", None), (&child, "hc", Some(parent.as_str()))] {
            store
                .insert_api_token(&NewApiToken {
                    id,
                    name: "ci",
                    scope: TokenScope::ReadWrite,
                    token_hash: hash,
                    prefix: "rst_",
                    created_by: "admin",
                    parent_id: made_with,
                })
                .await
                .unwrap();
        }
        let used = store.use_api_token("hc").await.unwrap().expect("a live token");
        assert_eq!(used.id, child);
        assert_eq!(used.scope, TokenScope::ReadWrite);
        let listed = store.api_token(&child).await.unwrap().unwrap();
        assert!(listed.last_used_at.is_some(), "{}: use is noted", store.kind());
        server::store::parse_timestamp(&listed.created_at).unwrap();
        assert_eq!(store.api_token("not-a-uuid").await.unwrap(), None);
        assert!(store.revoke_api_token(&parent).await.unwrap());
        assert!(!store.revoke_api_token(&parent).await.unwrap(), "already revoked");
        assert_eq!(
            store.use_api_token("hc").await.unwrap(),
            None,
            "made with a revoked token"
        );
        assert_eq!(store.api_tokens().await.unwrap().len(), 2);
    })
    .await;
}

#[tokio::test]
async fn audit_log_filters_pages_and_prunes() {
    on_both(|store| async move {
        let detail = serde_json::json!({"name": "Acme"});
        for (action, ok, actor) in [
            ("directory.created", true, "Ada"),
            ("directory_key.rotated", false, "Bob"),
            ("scim.enabled", true, "ada@example.com"),
        ] {
            store
                .append_audit(&NewAuditEntry {
                    actor_kind: "admin",
                    actor_id: Some("id-1"),
                    actor_name: actor,
                    action,
                    target: Some("dir"),
                    detail: &detail,
                    ok,
                    ip: Some("127.0.0.1"),
                })
                .await
                .unwrap();
        }
        let all = store
            .audit_entries(&AuditFilter {
                limit: 10,
                ..AuditFilter::default()
            })
            .await
            .unwrap();
        assert_eq!(all.len(), 3);
        assert_eq!(all[0].action, "scim.enabled", "newest first");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&all[0].detail).unwrap(),
            detail
        );
        let prefix = store
            .audit_entries(&AuditFilter {
                action: Some("directory.".into()),
                limit: 10,
                ..AuditFilter::default()
            })
            .await
            .unwrap();
        assert_eq!(
            prefix.len(),
            1,
            "{}: a prefix is literal (no `_` wildcard)",
            store.kind()
        );
        let actor = store
            .audit_entries(&AuditFilter {
                actor: Some("ADA".into()),
                limit: 10,
                ..AuditFilter::default()
            })
            .await
            .unwrap();
        assert_eq!(actor.len(), 2);
        let failed = store
            .audit_entries(&AuditFilter {
                failed_only: true,
                limit: 10,
                ..AuditFilter::default()
            })
            .await
            .unwrap();
        assert_eq!(failed.len(), 1);
        let page = store
            .audit_entries(&AuditFilter {
                before: Some(all[0].id),
                limit: 1,
                ..AuditFilter::default()
            })
            .await
            .unwrap();
        assert_eq!(page.len(), 2, "one more than the limit says a next page exists");
        assert_eq!(store.prune_audit(time::Duration::days(1)).await.unwrap(), 0);
        assert_eq!(store.prune_audit(time::Duration::seconds(-60)).await.unwrap(), 3);
    })
    .await;
}

#[tokio::test]
async fn directories_settings_pause_and_schedule() {
    on_both(|store| async move {
        let id = new_directory(&store, "Acme").await;
        assert_eq!(store.count_directories().await.unwrap(), 1);
        let d = store.directory(&id).await.unwrap().unwrap();
        assert_eq!(
            (d.state, d.paused, d.pull_enabled, d.scim_enabled),
            (DirectoryState::Active, false, true, false)
        );
        assert!(
            d.next_sync_at.is_some(),
            "{}: activation schedules the first sync",
            store.kind()
        );
        assert_eq!(store.directory("nope").await.unwrap(), None);

        store
            .update_connection(
                &id,
                "https://acme.okta.com",
                "0oaclient",
                Some(("0oaapp", "Roster")),
            )
            .await
            .unwrap();
        store.record_verification(&id, "fp1", true).await.unwrap();
        let d = store.directory(&id).await.unwrap().unwrap();
        assert_eq!(
            (d.verified_fingerprint.as_deref(), d.dpop_required),
            (Some("fp1"), Some(true))
        );
        // Same connection again keeps the verification; another app drops it.
        store
            .update_connection(
                &id,
                "https://acme.okta.com",
                "0oaclient",
                Some(("0oaapp", "Roster")),
            )
            .await
            .unwrap();
        assert!(store
            .directory(&id)
            .await
            .unwrap()
            .unwrap()
            .verified_fingerprint
            .is_some());
        store
            .update_connection(&id, "https://acme.okta.com", "0oaclient", Some(("0oaother", "X")))
            .await
            .unwrap();
        assert!(store
            .directory(&id)
            .await
            .unwrap()
            .unwrap()
            .verified_fingerprint
            .is_none());

        store
            .set_paused(&id, Some(&PauseReason::Error("invalid_client".into())))
            .await
            .unwrap();
        let d = store.directory(&id).await.unwrap().unwrap();
        assert_eq!(
            (d.paused, d.paused_reason),
            (true, Some(PauseReason::Error("invalid_client".into())))
        );
        store.record_verification(&id, "fp2", false).await.unwrap();
        assert!(
            !store.directory(&id).await.unwrap().unwrap().paused,
            "a verify ends an error pause"
        );
        store.set_paused(&id, Some(&PauseReason::Admin)).await.unwrap();
        store.record_verification(&id, "fp3", false).await.unwrap();
        assert!(
            store.directory(&id).await.unwrap().unwrap().paused,
            "never an admin's pause"
        );
        store.set_paused(&id, None).await.unwrap();

        store.set_sync_settings(&id, 3600, 0.25, 0.1).await.unwrap();
        let d = store.directory(&id).await.unwrap().unwrap();
        assert_eq!(
            (d.sync_interval_secs, d.rate_limit_share, d.breaker_threshold),
            (3600, 0.25, 0.1)
        );

        let now = time::OffsetDateTime::now_utc();
        store
            .schedule_next_sync(&id, now - time::Duration::minutes(1))
            .await
            .unwrap();
        assert_eq!(store.due_directories(now).await.unwrap(), vec![id.clone()]);
        assert!(store.take_due_directory(&id, now).await.unwrap());
        assert!(
            !store.take_due_directory(&id, now).await.unwrap(),
            "{}: taken once",
            store.kind()
        );
        assert!(store.due_directories(now).await.unwrap().is_empty());
        let next = server::store::parse_timestamp(
            &store.directory(&id).await.unwrap().unwrap().next_sync_at.unwrap(),
        )
        .unwrap();
        assert!(
            (next - now - time::Duration::hours(1)).abs() < time::Duration::seconds(2),
            "one interval on: {next}"
        );

        let push = store.insert_push_directory("Pushed").await.unwrap();
        store.set_scim_enabled(&push, false).await.unwrap();
        let p = store.directory(&push).await.unwrap().unwrap();
        assert_eq!((p.pull_enabled, p.scim_enabled), (false, false));
        assert_eq!(store.list_directories().await.unwrap().len(), 2);
        store.delete_directory(&push).await.unwrap();
        assert_eq!(store.directory(&push).await.unwrap(), None);
    })
    .await;
}

#[tokio::test]
async fn key_rotation_promotes_next_and_retires_active() {
    on_both(|store| async move {
        let id = new_directory(&store, "Keys").await;
        let jwk = r#"{"kty":"RSA","kid":"k1"}"#;
        store
            .insert_key(&id, "k1", KeyPurpose::Client, KeyState::Active, jwk, "sealed1")
            .await
            .unwrap();
        store
            .insert_key(&id, "d1", KeyPurpose::Dpop, KeyState::Active, jwk, "sealed2")
            .await
            .unwrap();
        assert!(!store.promote_next_key(&id).await.unwrap(), "no next key yet");
        store
            .insert_key(&id, "k2", KeyPurpose::Client, KeyState::Next, jwk, "sealed3")
            .await
            .unwrap();
        assert!(store.promote_next_key(&id).await.unwrap());
        let keys = store.live_keys(&id).await.unwrap();
        let state_of = |kid: &str| keys.iter().find(|k| k.kid == kid).map(|k| k.state);
        assert_eq!(state_of("k2"), Some(KeyState::Active));
        assert_eq!(
            state_of("k1"),
            None,
            "{}: retired keys are not live",
            store.kind()
        );
        assert_eq!(
            state_of("d1"),
            Some(KeyState::Active),
            "the DPoP key is untouched"
        );
        let stored: serde_json::Value = serde_json::from_str(&keys[0].public_jwk).unwrap();
        assert_eq!(stored["kty"], "RSA");
    })
    .await;
}

#[tokio::test]
async fn runs_record_progress_and_endings() {
    on_both(|store| async move {
        let id = new_directory(&store, "Runs").await;
        let run = store.start_run(&id, Trigger::Manual).await.unwrap();
        let counters = RunCounters {
            pages: 3,
            users_fetched: 700,
            ..RunCounters::default()
        };
        store.update_run_progress(&run, "users", &counters).await.unwrap();
        let row = store.run(&run).await.unwrap().unwrap();
        assert_eq!(
            (row.status, row.phase.as_str(), row.pages, row.users_fetched),
            (RunStatus::Running, "users", 3, 700)
        );
        store
            .end_run(&run, RunStatus::NeedsConfirmation, None)
            .await
            .unwrap();
        assert_eq!(
            store.pending_confirmation(&id).await.unwrap().map(|r| r.id),
            Some(run.clone())
        );
        let failed = store.start_run(&id, Trigger::Preview).await.unwrap();
        store
            .end_run(&failed, RunStatus::Failed, Some(&RunFailure::INTERRUPTED))
            .await
            .unwrap();
        let row = store.directory_run(&id, &failed).await.unwrap().unwrap();
        assert_eq!(row.error_code.as_deref(), Some("interrupted"));
        assert!(row.finished_at.is_some());
        assert_eq!(
            store
                .latest_finished_run(&id, Trigger::Preview)
                .await
                .unwrap()
                .map(|r| r.id),
            Some(failed)
        );
        assert_eq!(store.runs(&id, 10).await.unwrap().len(), 2);
        store.mark_directory_failing(&id).await.unwrap();
        assert!(store
            .directory(&id)
            .await
            .unwrap()
            .unwrap()
            .failing_since
            .is_some());
    })
    .await;
}

#[tokio::test]
async fn a_sync_lease_is_held_by_one_and_taken_over_when_it_expires() {
    on_both(|store| async move {
        let ttl = time::Duration::seconds(30);
        let (a, b) = (token(), token());
        let id2 = new_directory(&store, "Lease 2").await;
        assert!(store.claim_sync_lease(&id2, &a, "replica-a", ttl).await.unwrap());
        assert!(
            !store.claim_sync_lease(&id2, &b, "replica-b", ttl).await.unwrap(),
            "{}: held",
            store.kind()
        );
        let run = store.start_run(&id2, Trigger::Manual).await.unwrap();
        assert!(store.attach_lease_run(&id2, &a, &run).await.unwrap());
        assert_eq!(
            store.running_run(&id2).await.unwrap().map(|r| r.id),
            Some(run.clone())
        );
        assert!(store.renew_sync_lease(&id2, &a, ttl).await.unwrap());
        assert!(
            !store.renew_sync_lease(&id2, &b, ttl).await.unwrap(),
            "not b's lease"
        );
        assert!(
            store.abandoned_runs().await.unwrap().is_empty(),
            "its process is alive"
        );

        // The holder stops renewing (it died): once expired, b takes over
        // and the run is abandoned, failed by the sweep.
        assert!(store
            .renew_sync_lease(&id2, &a, time::Duration::milliseconds(-1))
            .await
            .unwrap());
        assert_eq!(store.running_run(&id2).await.unwrap(), None);
        assert!(
            !store.renew_sync_lease(&id2, &a, ttl).await.unwrap(),
            "{}: an expired lease is not revived (its run may be failed already)",
            store.kind()
        );
        assert_eq!(store.abandoned_runs().await.unwrap(), vec![run.clone()]);
        assert_eq!(store.fail_interrupted_runs().await.unwrap(), 1);
        assert_eq!(store.run(&run).await.unwrap().unwrap().status, RunStatus::Failed);
        assert!(store.claim_sync_lease(&id2, &b, "replica-b", ttl).await.unwrap());
        assert!(!store.renew_sync_lease(&id2, &a, ttl).await.unwrap(), "a lost it");
        store.release_sync_lease(&id2, &a).await.unwrap();
        assert!(
            !store.claim_sync_lease(&id2, &token(), "c", ttl).await.unwrap(),
            "a's release frees nothing of b's"
        );
        store.release_sync_lease(&id2, &b).await.unwrap();
        assert!(store.claim_sync_lease(&id2, &token(), "c", ttl).await.unwrap());
    })
    .await;
}

/// The member count each group shows in the groups list is its number of
/// present members (however a backend keeps it).
async fn assert_groups_list_counts_present_members(store: &Store, dir: &str) {
    let groups = store.groups_page(dir, "", None, 1000).await.unwrap();
    assert!(!groups.is_empty());
    for group in groups {
        assert_eq!(
            group.members,
            store.count_group_members(dir, &group.okta_id).await.unwrap(),
            "{}: members of {} in the groups list",
            store.kind(),
            group.okta_id
        );
    }
}

fn token() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[tokio::test]
async fn concurrent_claims_admit_exactly_one() {
    on_both(|store| async move {
        let id = new_directory(&store, "Race").await;
        let claims = (0..8).map(|i| {
            let store = store.clone();
            let id = id.clone();
            async move {
                store
                    .claim_sync_lease(&id, &token(), &format!("r{i}"), time::Duration::seconds(30))
                    .await
                    .unwrap()
            }
        });
        let won = futures_util::future::join_all(claims)
            .await
            .into_iter()
            .filter(|w| *w)
            .count();
        assert_eq!(won, 1, "{}", store.kind());
    })
    .await;
}

fn staged_user(id: &str, name: &str, status: &str) -> StagedUser {
    StagedUser {
        okta_id: id.into(),
        login: format!("{}@example.com", name.to_lowercase()),
        email: Some(format!("{}@example.com", name.to_lowercase())),
        first_name: Some(name.into()),
        last_name: Some("Test".into()),
        display_name: format!("{name} Test"),
        status: status.into(),
        suspended: status == "SUSPENDED",
        profile_json: format!(r#"{{"login":"{name}"}}"#),
        okta_last_updated: Some("2026-12-01T10:00:00Z".into()),
        content_hash: format!("{id}-{status}"),
    }
}

fn staged_group(id: &str, name: &str, hash: &str) -> StagedGroup {
    StagedGroup {
        okta_id: id.into(),
        name: name.into(),
        description: None,
        kind: "OKTA_GROUP".into(),
        okta_last_updated: Some("2026-12-01T10:00:00Z".into()),
        okta_last_membership_updated: Some("2026-12-01T10:00:00Z".into()),
        content_hash: hash.into(),
    }
}

fn members(group: &str, added: &[&str], removed: &[&str]) -> StagedMembers {
    StagedMembers {
        group_id: group.into(),
        added: added.iter().map(|s| s.to_string()).collect(),
        removed: removed.iter().map(|s| s.to_string()).collect(),
    }
}

/// Every event from `after` on, paged `page` at a time.
async fn read_events(store: &Store, after: i64, page: i64) -> Vec<server::store::EventRow> {
    let mut all = Vec::new();
    let mut cursor = after;
    loop {
        let rows = store
            .events_page(&EventFilter {
                after: cursor,
                limit: page,
                ..EventFilter::default()
            })
            .await
            .unwrap();
        let Some(last) = rows.last() else { return all };
        cursor = last.position;
        all.extend(rows);
    }
}

#[tokio::test]
async fn the_event_cursor_never_skips_under_concurrent_writers() {
    on_both(|store| async move {
        let kind = store.kind();
        let first_dir = new_directory(&store, "Stress first").await;
        let before = read_events(&store, 0, 1000)
            .await
            .last()
            .map_or(0, |e| e.position);
        let mut directories = Vec::new();
        for i in 0..6 {
            directories.push(new_directory(&store, &format!("Stress {i}")).await);
        }
        // Six writers pause and resume their directory as fast as they can,
        // and a first sync commits its block of 7 events and its run's,
        // while a reader follows the log with small pages.
        let toggles = 40;
        let total = 6 * (1 + 2 * toggles) + 8;
        let writers: Vec<_> = directories
            .iter()
            .cloned()
            .map(|dir| {
                let store = store.clone();
                tokio::spawn(async move {
                    for _ in 0..toggles {
                        store.set_paused(&dir, Some(&PauseReason::Admin)).await.unwrap();
                        store.set_paused(&dir, None).await.unwrap();
                    }
                })
            })
            .chain(std::iter::once({
                let store = store.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    small_first_sync(&store, &first_dir).await;
                })
            }))
            .collect();
        let reader = {
            let store = store.clone();
            tokio::spawn(async move {
                let mut seen = Vec::new();
                let mut cursor = before;
                let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
                while seen.len() < total && std::time::Instant::now() < deadline {
                    let rows = store
                        .events_page(&EventFilter {
                            after: cursor,
                            limit: 7,
                            ..EventFilter::default()
                        })
                        .await
                        .unwrap();
                    if let Some(last) = rows.last() {
                        cursor = last.position;
                    } else {
                        tokio::task::yield_now().await;
                    }
                    seen.extend(rows.into_iter().map(|r| r.position));
                }
                seen
            })
        };
        for w in writers {
            w.await.unwrap();
        }
        let seen = reader.await.unwrap();
        let committed: Vec<i64> = read_events(&store, before, 1000)
            .await
            .into_iter()
            .map(|e| e.position)
            .collect();
        assert_eq!(committed.len(), total, "{kind}: every change made its events");
        assert!(
            seen.windows(2).all(|w| w[0] < w[1]),
            "{kind}: positions only grow"
        );
        assert_eq!(
            seen, committed,
            "{kind}: the follower saw every event, once, in order"
        );

        // Per directory: created, then paused and resumed, alternating.
        let events = read_events(&store, before, 50).await;
        for dir in &directories {
            let types: Vec<&str> = events
                .iter()
                .filter(|e| &e.directory_id == dir)
                .map(|e| e.event_type.as_str())
                .collect();
            assert_eq!(types[0], "directory.created", "{kind}");
            for pair in types[1..].chunks(2) {
                assert_eq!(pair, ["directory.paused", "directory.resumed"], "{kind}");
            }
        }
        // Pausing a paused directory is no change, and no event.
        let dir = &directories[0];
        store.set_paused(dir, Some(&PauseReason::Admin)).await.unwrap();
        store.set_paused(dir, Some(&PauseReason::Admin)).await.unwrap();
        let tail = read_events(&store, *committed.last().unwrap(), 10).await;
        assert_eq!(tail.len(), 1, "{kind}");
        let data: serde_json::Value = serde_json::from_str(&tail[0].data).unwrap();
        assert_eq!(
            (data["paused"].clone(), data["name"].clone()),
            (serde_json::json!(true), serde_json::json!("Stress 0"))
        );

        // Retention: nothing younger than a day goes.
        assert_eq!(
            store.prune_events(time::Duration::days(1)).await.unwrap(),
            0,
            "{kind}"
        );
        assert!(
            store.prune_events(time::Duration::seconds(-1)).await.unwrap() > 0,
            "{kind}"
        );
        assert!(
            store.events_pruned_through().await.unwrap() >= *committed.last().unwrap(),
            "{kind}"
        );
    })
    .await;
}

/// The types and entities of the events after `after`, and the last position.
async fn events_since(store: &Store, after: i64) -> (Vec<(String, String)>, i64) {
    let events = read_events(store, after, 100).await;
    let last = events.last().map_or(after, |e| e.position);
    (
        events.into_iter().map(|e| (e.event_type, e.entity_id)).collect(),
        last,
    )
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(t, e)| (t.to_string(), e.to_string())).collect()
}

#[tokio::test]
async fn single_writes_make_their_events_in_the_order_to_apply_them() {
    on_both(|store| async move {
        let kind = store.kind();
        let dir = new_directory(&store, "Writes").await;
        let (_, mut at) = events_since(&store, 0).await;

        store
            .upsert_group(&dir, &staged_group("g1", "Eng", "h1"))
            .await
            .unwrap();
        store
            .upsert_user(&dir, &staged_user("u1", "Ada", "ACTIVE"), "scim")
            .await
            .unwrap();
        store
            .write_members(&dir, "g1", MemberWrite::Add(&["u1".to_string()]))
            .await
            .unwrap();
        let (got, last) = events_since(&store, at).await;
        assert_eq!(
            got,
            pairs(&[
                ("group.created", "g1"),
                ("user.created", "u1"),
                ("group.member_added", "g1:u1")
            ]),
            "{kind}"
        );
        let added = read_events(&store, at, 10).await;
        let data: serde_json::Value = serde_json::from_str(&added[2].data).unwrap();
        assert_eq!(
            data,
            serde_json::json!({"group_id": "g1", "user_id": "u1"}),
            "{kind}"
        );
        at = last;

        // Suspended, with a new e-mail: a lifecycle event and the names of
        // what else changed.
        let mut suspended = staged_user("u1", "Ada", "SUSPENDED");
        suspended.email = Some("ada@new.example.com".into());
        store.upsert_user(&dir, &suspended, "scim").await.unwrap();
        let events = read_events(&store, at, 10).await;
        assert_eq!(
            events.iter().map(|e| e.event_type.as_str()).collect::<Vec<_>>(),
            ["user.suspended", "user.updated"],
            "{kind}"
        );
        let updated: serde_json::Value = serde_json::from_str(&events[1].data).unwrap();
        assert_eq!(updated["changed"], serde_json::json!(["email"]), "{kind}");
        assert_eq!(updated["status"], "SUSPENDED", "{kind}");
        let version = events[1].version;
        at = events.last().unwrap().position;

        // Deprovisioned: the membership goes first, and the version grows.
        store.remove_user(&dir, "u1", "scim").await.unwrap();
        let events = read_events(&store, at, 10).await;
        assert_eq!(
            events
                .iter()
                .map(|e| (e.event_type.clone(), e.entity_id.clone()))
                .collect::<Vec<_>>(),
            pairs(&[("group.member_removed", "g1:u1"), ("user.deprovisioned", "u1")]),
            "{kind}"
        );
        assert!(events[1].version > version, "{kind}: a newer version");
        let gone: serde_json::Value = serde_json::from_str(&events[1].data).unwrap();
        assert_eq!(
            (gone["state"].as_str(), gone["login"].as_str()),
            (Some("removed"), Some("ada@example.com"))
        );
        at = events.last().unwrap().position;

        // Back: created again, with the membership kept while away.
        store
            .upsert_user(&dir, &staged_user("u1", "Ada", "ACTIVE"), "scim")
            .await
            .unwrap();
        let (got, last) = events_since(&store, at).await;
        assert_eq!(
            got,
            pairs(&[("user.created", "u1"), ("group.member_added", "g1:u1")]),
            "{kind}"
        );
        at = last;

        // An unchanged write is no event; a removed group's members go first.
        store
            .upsert_user(&dir, &staged_user("u1", "Ada", "ACTIVE"), "scim")
            .await
            .unwrap();
        store.remove_group(&dir, "g1").await.unwrap();
        let (got, _) = events_since(&store, at).await;
        assert_eq!(
            got,
            pairs(&[("group.member_removed", "g1:u1"), ("group.deleted", "g1")]),
            "{kind}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_first_sync_keeps_a_groups_last_listing_and_a_dropped_one_leaves_nothing() {
    on_both(|store| async move {
        let kind = store.kind();
        let dir = new_directory(&store, "Dropped").await;
        let run = store.start_run(&dir, Trigger::First).await.unwrap();
        let dataset = store
            .begin_first_sync(&dir, &run, &server::store::timestamp_now())
            .await
            .unwrap()
            .expect("no live dataset yet");
        let mut writer = store.first_sync_writer(dataset.clone()).await.unwrap();
        // Okta listed Ada and Engineering twice, and Engineering's members
        // again in a later batch: the later member list replaces the first.
        writer
            .write(&StageBatch {
                users: vec![
                    staged_user("u1", "Ada", "ACTIVE"),
                    staged_user("u2", "Bob", "ACTIVE"),
                    staged_user("u1", "Ada", "ACTIVE"),
                ],
                groups: vec![
                    staged_group("g1", "Engineering", "g1a"),
                    staged_group("g1", "Engineering", "g1a"),
                ],
                members: vec![members("g1", &["u1", "u2"], &[])],
            })
            .await
            .unwrap();
        writer
            .write(&StageBatch {
                users: vec![staged_user("u2", "Bob", "ACTIVE")],
                members: vec![members("g1", &["u2"], &[])],
                ..StageBatch::default()
            })
            .await
            .unwrap();
        writer.move_users().await.unwrap();
        let (diff, _) = store.first_sync_diff(dataset.key).await.unwrap();
        assert_eq!(
            (diff.users_added, diff.groups_added, diff.memberships_added),
            (2, 1, 1),
            "{kind}"
        );

        // The run is abandoned: its dataset goes, with every row in it, and a
        // late batch cannot write into it.
        store.drop_unfinished_dataset(&run).await.unwrap();
        let (diff, _) = store.first_sync_diff(dataset.key).await.unwrap();
        assert_eq!(
            (diff.users_added, diff.groups_added, diff.memberships_added),
            (0, 0, 0),
            "{kind}"
        );
        // (Refused on PostgreSQL; SQLite's single writer keeps it out of the
        // dataset just the same.)
        let _ = writer
            .write(&StageBatch {
                users: vec![staged_user("u3", "Cy", "ACTIVE")],
                groups: vec![staged_group("g2", "Sales", "g2a")],
                members: vec![members("g2", &["u3"], &[])],
            })
            .await;
        let _ = writer.move_users().await;
        let (diff, _) = store.first_sync_diff(dataset.key).await.unwrap();
        assert_eq!(
            (diff.users_added, diff.groups_added, diff.memberships_added),
            (0, 0, 0),
            "{kind}: a batch into a dropped dataset"
        );
    })
    .await;
}

/// A small first sync of `dir`, committed: three users, two groups, and
/// Engineering's members listed twice (the later listing replaces the
/// first, so positions of its first listing go unused).
async fn small_first_sync(store: &Store, dir: &str) {
    let lease = token();
    assert!(store
        .claim_sync_lease(dir, &lease, "me", time::Duration::seconds(60))
        .await
        .unwrap());
    let run = store.start_run(dir, Trigger::First).await.unwrap();
    assert!(store.attach_lease_run(dir, &lease, &run).await.unwrap());
    let dataset = store
        .begin_first_sync(dir, &run, &server::store::timestamp_now())
        .await
        .unwrap()
        .expect("no live dataset yet");
    let mut writer = store.first_sync_writer(dataset.clone()).await.unwrap();
    writer
        .write(&StageBatch {
            users: vec![
                staged_user("u2", "Bob", "ACTIVE"),
                staged_user("u1", "Ada", "ACTIVE"),
            ],
            groups: vec![
                staged_group("g2", "Sales", "g2a"),
                staged_group("g1", "Engineering", "g1a"),
            ],
            members: vec![members("g1", &["u1", "u2"], &[]), members("g2", &["u3"], &[])],
        })
        .await
        .unwrap();
    writer
        .write(&StageBatch {
            users: vec![staged_user("u3", "Cy", "SUSPENDED")],
            members: vec![members("g1", &["u3"], &[])],
            ..StageBatch::default()
        })
        .await
        .unwrap();
    writer.move_users().await.unwrap();
    store.commit_first_sync(dir, &dataset, &lease).await.unwrap();
    store.release_sync_lease(dir, &lease).await.unwrap();
}

#[tokio::test]
async fn a_first_sync_is_one_block_of_events_read_like_any_other() {
    on_both(|store| async move {
        let kind = store.kind();
        let dir = new_directory(&store, "First").await;
        let other = new_directory(&store, "Other").await;
        let (_, before) = events_since(&store, 0).await;
        store.set_paused(&other, Some(&PauseReason::Admin)).await.unwrap();
        small_first_sync(&store, &dir).await;
        store.set_paused(&other, None).await.unwrap();

        // Read two at a time, so pages start and end inside the block.
        let events = read_events(&store, before, 2).await;
        let got: Vec<(String, String)> = events
            .iter()
            .map(|e| (e.event_type.clone(), e.entity_id.clone()))
            .collect();
        assert_eq!(
            got[..8],
            pairs(&[
                ("directory.paused", &other),
                ("group.created", "g1"),
                ("group.created", "g2"),
                ("user.created", "u2"),
                ("user.created", "u1"),
                ("user.created", "u3"),
                ("group.member_added", "g2:u3"),
                ("group.member_added", "g1:u3"),
            ]),
            "{kind}"
        );
        let tail: Vec<&str> = got[8..].iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(tail, ["sync.succeeded", "directory.resumed"], "{kind}");
        assert!(events.windows(2).all(|w| w[0].position < w[1].position), "{kind}");
        let data = |i: usize| serde_json::from_str::<serde_json::Value>(&events[i].data).unwrap();
        assert_eq!(data(1)["name"], "Engineering", "{kind}");
        assert_eq!(
            (data(4)["login"].clone(), data(4)["state"].clone()),
            ("ada@example.com".into(), "present".into())
        );
        assert_eq!(data(5)["status"], "SUSPENDED", "{kind}");
        assert_eq!(
            (data(7)["group_id"].clone(), data(7)["user_id"].clone()),
            ("g1".into(), "u3".into())
        );
        assert!(events[1..8]
            .iter()
            .all(|e| e.directory_id == dir && e.occurred_at == events[1].occurred_at));
        let last = events.last().unwrap().position;
        assert_eq!(store.events_high_water().await.unwrap(), last, "{kind}");

        // Filters and the newest first reach into the block too.
        let users = store
            .events_page(&EventFilter {
                after: before,
                limit: 10,
                types: &["user.created".to_owned(), "directory.resumed".to_owned()],
                ..EventFilter::default()
            })
            .await
            .unwrap();
        let ids: Vec<&str> = users.iter().map(|e| e.entity_id.as_str()).collect();
        assert_eq!(ids, ["u2", "u1", "u3", other.as_str()], "{kind}");
        let only_other = store
            .events_page(&EventFilter {
                after: before,
                limit: 10,
                directory_ids: std::slice::from_ref(&other),
                ..EventFilter::default()
            })
            .await
            .unwrap();
        assert_eq!(only_other.len(), 2, "{kind}");
        let newest = store
            .events_page(&EventFilter {
                limit: 4,
                newest: true,
                ..EventFilter::default()
            })
            .await
            .unwrap();
        let newest: Vec<i64> = newest.iter().map(|e| e.position).collect();
        let mut expected: Vec<i64> = events[events.len() - 4..].iter().map(|e| e.position).collect();
        expected.reverse();
        assert_eq!(newest, expected, "{kind}");
        let through = store
            .events_page(&EventFilter {
                after: before,
                limit: 10,
                through: Some(events[2].position),
                ..EventFilter::default()
            })
            .await
            .unwrap();
        assert_eq!(through.len(), 3, "{kind}");

        // The data is the record as it is now, with its version.
        let mut renamed = staged_user("u1", "Ada", "ACTIVE");
        renamed.display_name = "Ada L.".into();
        renamed.content_hash = "u1-renamed".into();
        store.upsert_user(&dir, &renamed, "scim").await.unwrap();
        let again = read_events(&store, before, 100).await;
        let created: serde_json::Value = serde_json::from_str(&again[4].data).unwrap();
        assert_eq!(created["display_name"], "Ada L.", "{kind}");
        let updated = again.last().unwrap();
        assert_eq!(updated.event_type, "user.updated", "{kind}");
        assert_eq!(again[4].version, updated.version, "{kind}");

        // Retention takes the block whole.
        let pruned = store.prune_events(time::Duration::seconds(-1)).await.unwrap();
        assert!(pruned >= 11, "{kind}: {pruned}");
        assert!(
            store.events_pruned_through().await.unwrap() >= updated.position,
            "{kind}"
        );
        assert!(read_events(&store, 0, 100).await.is_empty(), "{kind}");
        // New events follow the block, never inside it.
        store.set_paused(&other, Some(&PauseReason::Admin)).await.unwrap();
        let next = read_events(&store, 0, 100).await;
        assert!(next[0].position > updated.position, "{kind}");
    })
    .await;
}

#[tokio::test]
async fn a_first_sync_then_a_staged_sync_apply_the_same_way() {
    on_both(|store| async move {
        let kind = store.kind();
        let dir = new_directory(&store, "Sync").await;
        let lease = token();
        assert!(store
            .claim_sync_lease(&dir, &lease, "me", time::Duration::seconds(60))
            .await
            .unwrap());

        // First sync: written in place into a dataset that goes live at commit.
        let first = store.start_run(&dir, Trigger::First).await.unwrap();
        let dataset = store
            .begin_first_sync(&dir, &first, &server::store::timestamp_now())
            .await
            .unwrap()
            .expect("no live dataset yet");
        let mut writer = store.first_sync_writer(dataset.clone()).await.unwrap();
        writer
            .write(&StageBatch {
                users: vec![
                    staged_user("u1", "Ada", "ACTIVE"),
                    staged_user("u2", "Bob", "ACTIVE"),
                ],
                groups: vec![
                    staged_group("g1", "Engineering", "g1a"),
                    staged_group("g2", "Sales", "g2a"),
                ],
                members: vec![members("g1", &["u1", "u2"], &[]), members("g2", &["u2"], &[])],
            })
            .await
            .unwrap();
        // Okta repeated a user across pages, and a third arrived.
        writer
            .write(&StageBatch {
                users: vec![
                    staged_user("u2", "Bob", "ACTIVE"),
                    staged_user("u3", "Cy", "SUSPENDED"),
                ],
                ..StageBatch::default()
            })
            .await
            .unwrap();
        writer.move_users().await.unwrap();
        drop(writer);
        let (diff, sample) = store.first_sync_diff(dataset.key).await.unwrap();
        assert_eq!(
            (diff.users_added, diff.groups_added, diff.memberships_added),
            (3, 2, 3),
            "{kind}"
        );
        assert_eq!(
            sample.users_added,
            vec!["ada@example.com", "bob@example.com", "cy@example.com"]
        );
        assert_eq!(
            store.directory_counts(&dir).await.unwrap().users,
            0,
            "{kind}: not live before the commit"
        );
        store.commit_first_sync(&dir, &dataset, &lease).await.unwrap();
        assert_groups_list_counts_present_members(&store, &dir).await;
        // A first sync's records are events, then the run's.
        let (events, _) = events_since(&store, 0).await;
        assert_eq!(
            events,
            pairs(&[
                ("directory.created", dir.as_str()),
                ("group.created", "g1"),
                ("group.created", "g2"),
                ("user.created", "u1"),
                ("user.created", "u2"),
                ("user.created", "u3"),
                ("group.member_added", "g1:u1"),
                ("group.member_added", "g1:u2"),
                ("group.member_added", "g2:u2"),
                ("sync.succeeded", first.as_str())
            ]),
            "{kind}"
        );
        let counts = store.directory_counts(&dir).await.unwrap();
        assert_eq!(
            (counts.users, counts.suspended, counts.groups),
            (3, 1, 2),
            "{kind}"
        );
        assert_eq!(
            store.run(&first).await.unwrap().unwrap().status,
            RunStatus::Succeeded
        );
        assert!(store
            .directory(&dir)
            .await
            .unwrap()
            .unwrap()
            .last_success_at
            .is_some());

        // Reads.
        let all = UserFilter::default();
        let rows = store.list_users(&dir, &all, 10).await.unwrap();
        let names: Vec<&str> = rows.iter().map(|r| r.display_name.as_str()).collect();
        assert_eq!(names, ["Ada Test", "Bob Test", "Cy Test"], "{kind}");
        assert_eq!(rows[1].groups, 2, "{kind}: Bob is in two groups");
        let by_groups = UserFilter {
            sort: UserSort::Groups,
            ..UserFilter::default()
        };
        let first_page = store.list_users(&dir, &by_groups, 1).await.unwrap();
        assert_eq!(first_page[0].okta_id, "u2");
        let after = UserFilter {
            sort: UserSort::Groups,
            after: Some((first_page[0].sort_key.as_str(), first_page[0].okta_id.as_str())),
            ..UserFilter::default()
        };
        let rest: Vec<String> = store
            .list_users(&dir, &after, 10)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.okta_id)
            .collect();
        assert_eq!(rest, ["u1", "u3"], "{kind}: keyset continues after the cursor");
        let search = UserFilter {
            search: "ADA",
            ..UserFilter::default()
        };
        assert_eq!(
            store.count_users(&dir, &search).await.unwrap(),
            1,
            "{kind}: search ignores case"
        );
        let in_sales = UserFilter {
            group: Some("g2"),
            ..UserFilter::default()
        };
        assert_eq!(store.count_users(&dir, &in_sales).await.unwrap(), 1);
        assert_eq!(store.group_member_ids(&dir, "g1").await.unwrap(), ["u1", "u2"]);
        let groups: Vec<String> = store
            .user_groups(&dir, "u2")
            .await
            .unwrap()
            .into_iter()
            .map(|g| g.name)
            .collect();
        assert_eq!(groups, ["Engineering", "Sales"]);
        assert_eq!(
            store.groups_page(&dir, "eng", None, 10).await.unwrap()[0].members,
            2
        );
        assert_eq!(store.count_groups(&dir, "").await.unwrap(), 2);
        assert_eq!(store.user_events(&dir, "u1", 10).await.unwrap()[0].event, "added");
        let ada = store.user(&dir, "u1").await.unwrap().unwrap();
        assert!(ada.via_pull && !ada.via_push);
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&ada.profile).unwrap()["login"],
            "Ada"
        );
        assert_eq!(
            store
                .absent_users(&dir, &["u1".into(), "zz".into()])
                .await
                .unwrap(),
            ["zz"]
        );
        let stamps = store.membership_stamps(&dir).await.unwrap();
        server::store::parse_timestamp(stamps["g1"].as_deref().unwrap()).unwrap();

        // A later sync stages and diffs: Bob suspended, Cy gone, Dee new, Sales
        // removed with its members, Dee joins Engineering and Ada leaves it.
        let second = store.start_run(&dir, Trigger::Manual).await.unwrap();
        assert_eq!(
            store
                .begin_first_sync(&dir, &second, &server::store::timestamp_now())
                .await
                .unwrap(),
            None
        );
        store
            .stage_batch(
                &second,
                &StageBatch {
                    users: vec![
                        staged_user("u1", "Ada", "ACTIVE"),
                        staged_user("u2", "Bob", "SUSPENDED"),
                        staged_user("u4", "Dee", "ACTIVE"),
                    ],
                    groups: vec![staged_group("g1", "Engineering", "g1b")],
                    members: vec![members("g1", &["u4"], &["u1"])],
                },
            )
            .await
            .unwrap();
        let diff = store.compute_diff(&second, &dir).await.unwrap();
        assert_eq!(
            (
                diff.users_added,
                diff.users_updated,
                diff.users_removed,
                diff.groups_updated,
                diff.groups_removed
            ),
            (1, 1, 1, 1, 1),
            "{kind}: {diff:?}"
        );
        assert_eq!(
            (diff.memberships_added, diff.memberships_removed),
            (1, 2),
            "{kind}: Sales' member leaves with it"
        );
        let sample = store.diff_sample(&second, &dir).await.unwrap();
        assert_eq!(sample.users_removed, ["cy@example.com"]);
        assert_eq!(sample.groups_removed, ["Sales"]);

        // Not applied without the lease, and nothing of it shows.
        let err = store.apply_run(&second, &dir, &token()).await.unwrap_err();
        assert!(
            matches!(err, server::store::StoreError::LeaseLost),
            "{kind}: {err}"
        );
        assert_eq!(store.directory_counts(&dir).await.unwrap().users, 3);

        let (_, before_apply) = events_since(&store, 0).await;
        let removed = store.apply_run(&second, &dir, &lease).await.unwrap();
        assert_groups_list_counts_present_members(&store, &dir).await;
        // The apply's events, in the order to apply them.
        let (applied, _) = events_since(&store, before_apply).await;
        assert_eq!(
            applied,
            pairs(&[
                ("group.member_removed", "g1:u1"),
                ("group.member_removed", "g2:u2"),
                ("user.deprovisioned", "u3"),
                ("group.deleted", "g2"),
                ("user.suspended", "u2"),
                ("user.created", "u4"),
                ("group.member_added", "g1:u4"),
                ("sync.succeeded", second.as_str()),
            ]),
            "{kind}"
        );
        assert_eq!(removed, ["u3"], "{kind}");
        let counts = store.directory_counts(&dir).await.unwrap();
        assert_eq!(
            (counts.users, counts.suspended, counts.groups),
            (3, 1, 1),
            "{kind}"
        );
        assert_eq!(store.group_member_ids(&dir, "g1").await.unwrap(), ["u2", "u4"]);
        assert!(store.user_groups(&dir, "u1").await.unwrap().is_empty());
        let cy = store.user(&dir, "u3").await.unwrap().unwrap();
        assert!(cy.deleted_at.is_some(), "{kind}: removed users stay in history");
        let bob_events: Vec<String> = store
            .user_events(&dir, "u2", 10)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.event)
            .collect();
        assert_eq!(bob_events, ["status", "added"], "{kind}");
        let bob = store
            .list_users(
                &dir,
                &UserFilter {
                    search: "bob",
                    ..UserFilter::default()
                },
                5,
            )
            .await
            .unwrap();
        assert_eq!(bob[0].groups, 1, "{kind}: Sales is gone from Bob's count");

        // Single writes (SCIM, the API) follow the same rules.
        assert_eq!(
            store
                .upsert_user(&dir, &staged_user("u5", "Eve", "ACTIVE"), "scim")
                .await
                .unwrap(),
            Written::Created
        );
        assert_eq!(
            store
                .upsert_user(&dir, &staged_user("u5", "Eve", "ACTIVE"), "scim")
                .await
                .unwrap(),
            Written::Unchanged
        );
        let change = store
            .write_members(
                &dir,
                "g1",
                MemberWrite::Replace(&["u4".to_string(), "u5".to_string()]),
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (change.added, change.removed),
            (vec!["u5".to_string()], vec!["u2".to_string()]),
            "{kind}"
        );
        assert_groups_list_counts_present_members(&store, &dir).await;
        assert_eq!(
            store
                .group(&dir, "g1")
                .await
                .unwrap()
                .unwrap()
                .okta_last_membership_updated,
            None
        );
        assert_eq!(
            store.remove_user(&dir, "u5", "scim").await.unwrap(),
            Written::Removed
        );
        assert_eq!(
            store.remove_user(&dir, "u5", "scim").await.unwrap(),
            Written::Missing
        );
        assert_groups_list_counts_present_members(&store, &dir).await;
        // Back: the membership kept while away counts again.
        store
            .upsert_user(&dir, &staged_user("u5", "Eve", "ACTIVE"), "scim")
            .await
            .unwrap();
        assert_groups_list_counts_present_members(&store, &dir).await;
        store.remove_user(&dir, "u5", "scim").await.unwrap();
        assert_eq!(
            store
                .upsert_group(&dir, &staged_group("g9", "New", "n1"))
                .await
                .unwrap(),
            Written::Created
        );
        assert_eq!(store.remove_group(&dir, "g9").await.unwrap(), Written::Removed);
        assert_eq!(
            store.count_group_members(&dir, "g1").await.unwrap(),
            1,
            "{kind}: only present members count"
        );
        let page = store.group_members(&dir, "g1", None, 10).await.unwrap();
        assert_eq!(page[0].okta_id, "u4");
        store.clear_staging(&second).await.unwrap();
    })
    .await;
}

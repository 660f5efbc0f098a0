//! Targeted refresh against the simulator: re-reading named users and groups
//! applies what Okta says now, emits the events of any other change, treats a
//! repeated trigger as a no-op, and keeps the full sync's breaker.

use crate::okta_fixture::{ready, start_sim, OktaFixture, ServiceApp};
use okta_sim::{GroupPatch, NewUser, UserPatch};
use server::store::EventFilter;
use server::sync::{RefreshEnd, RefreshOutcome, RefreshTargets, Trigger};

async fn synced(users: usize, groups: usize, memberships: usize) -> OktaFixture {
    let f = ready(start_sim(users, groups, memberships).await, ServiceApp::default()).await;
    let run = f
        .service
        .engine()
        .sync_and_wait(&f.directory_id, Trigger::Manual)
        .await
        .unwrap();
    assert_eq!(run.status, server::model::RunStatus::Succeeded);
    f
}

fn targets(users: &[&str], groups: &[&str]) -> RefreshTargets {
    RefreshTargets {
        users: users.iter().map(|s| s.to_string()).collect(),
        groups: groups.iter().map(|s| s.to_string()).collect(),
    }
}

async fn refresh(f: &OktaFixture, targets: &RefreshTargets) -> RefreshEnd {
    f.service
        .engine()
        .refresh(&f.directory_id, targets)
        .await
        .unwrap()
}

fn applied(end: RefreshEnd) -> RefreshOutcome {
    match end {
        RefreshEnd::Applied(outcome) => outcome,
        other => panic!("expected the refresh applied, got {other:?}"),
    }
}

/// (type, entity) of the events after `after`, and the newest position.
async fn events_after(f: &OktaFixture, after: i64) -> (Vec<(String, String)>, i64) {
    let rows = f
        .store
        .events_page(&EventFilter {
            after,
            limit: 1000,
            ..EventFilter::default()
        })
        .await
        .unwrap();
    let last = rows.last().map_or(after, |r| r.position);
    (
        rows.into_iter().map(|r| (r.event_type, r.entity_id)).collect(),
        last,
    )
}

async fn newest_event(f: &OktaFixture) -> i64 {
    f.store.events_high_water().await.unwrap()
}

fn status(op: &str) -> UserPatch {
    UserPatch {
        profile: None,
        status: Some(op.into()),
    }
}

#[tokio::test]
async fn a_refresh_applies_what_okta_says_now_and_a_repeat_changes_nothing() {
    let f = synced(60, 6, 150).await;
    let sim = f.sim();
    let app = sim.roster_app_id();
    let stored = f.stored_user_ids().await;
    // A deprovisioned user who is in a group, and another whose profile changes.
    let (group, leaver) = sim
        .app_group_ids(&app)
        .unwrap()
        .into_iter()
        .filter(|g| sim.group(g).unwrap()["type"] == "OKTA_GROUP")
        .find_map(|g| {
            let member = sim
                .group_member_ids(&g)
                .unwrap()
                .into_iter()
                .find(|m| stored.contains(m))?;
            Some((g, member))
        })
        .expect("an Okta group with a stored member");
    let mover = stored.iter().find(|u| **u != leaver).unwrap().clone();
    let outsider = sim
        .create_user(NewUser {
            first_name: "Not".into(),
            last_name: "Assigned".into(),
            ..Default::default()
        })
        .unwrap();
    let before = newest_event(&f).await;

    sim.update_user(&leaver, status("deactivate")).unwrap();
    let mut profile = serde_json::Map::new();
    profile.insert("department".into(), serde_json::json!("Refreshed"));
    sim.update_user(
        &mover,
        UserPatch {
            profile: Some(profile),
            status: None,
        },
    )
    .unwrap();
    sim.update_group(
        &group,
        GroupPatch {
            name: Some("Renamed in Okta".into()),
            ..Default::default()
        },
    )
    .unwrap();

    let wanted = targets(&[&leaver, &mover, &outsider], &[&group]);
    let outcome = applied(refresh(&f, &wanted).await);
    assert_eq!(outcome.users_removed, vec![leaver.clone()]);
    assert_eq!((outcome.users_written, outcome.groups_written), (1, 1));
    assert_eq!(
        outcome.unchanged, 1,
        "the outsider is not assigned: nothing to write"
    );

    let now_stored = f.stored_user_ids().await;
    assert!(!now_stored.contains(&leaver));
    assert!(!now_stored.contains(&outsider));
    let moved = f.store.user(&f.directory_id, &mover).await.unwrap().unwrap();
    assert!(moved.profile.contains("Refreshed"), "{}", moved.profile);
    let renamed = f.store.group(&f.directory_id, &group).await.unwrap().unwrap();
    assert_eq!(renamed.name, "Renamed in Okta");

    // The events of any other change, in the order to apply them.
    let (events, last) = events_after(&f, before).await;
    let position = |t: &str, e: &str| events.iter().position(|(ty, en)| ty == t && en == e);
    let removed = position("group.member_removed", &format!("{group}:{leaver}")).expect("member removed");
    let gone = position("user.deprovisioned", &leaver).expect("deprovisioned");
    assert!(removed < gone, "{events:?}");
    assert!(position("user.updated", &mover).is_some(), "{events:?}");
    assert!(position("group.updated", &group).is_some(), "{events:?}");

    // The same trigger again (a duplicate or late event): nothing changes.
    let again = applied(refresh(&f, &wanted).await);
    assert_eq!(
        (
            again.users_written,
            again.users_removed.len(),
            again.groups_written,
            again.unchanged
        ),
        (0, 0, 0, 4)
    );
    let (after_repeat, _) = events_after(&f, last).await;
    assert!(after_repeat.is_empty(), "{after_repeat:?}");

    // A group taken off the app is removed, its memberships with it.
    sim.unassign_group_from_app(&app, &group).unwrap();
    let outcome = applied(refresh(&f, &targets(&[], &[&group])).await);
    assert_eq!(outcome.groups_removed, 1);
    let (events, _) = events_after(&f, last).await;
    assert_eq!(
        events.last().map(|(t, _)| t.as_str()),
        Some("group.deleted"),
        "{events:?}"
    );
}

#[tokio::test]
async fn a_refresh_that_would_remove_too_many_applies_nothing() {
    let f = synced(60, 4, 100).await;
    let sim = f.sim();
    // Trip at 10 % of the users.
    f.store
        .set_sync_settings(&f.directory_id, 3600, 1.0, 0.1)
        .await
        .unwrap();
    let stored = f.stored_user_ids().await;
    let leaving: Vec<&str> = stored.iter().take(stored.len() / 4).map(String::as_str).collect();
    for id in &leaving {
        sim.update_user(id, status("deactivate")).unwrap();
    }
    let end = refresh(&f, &targets(&leaving, &[])).await;
    assert_eq!(
        end,
        RefreshEnd::Tripped {
            users_removed: leaving.len() as i64,
            groups_removed: 0
        }
    );
    assert_eq!(f.stored_user_ids().await, stored, "nothing applied");
}

#[tokio::test]
async fn a_refresh_writes_in_one_transaction_under_the_sync_lease() {
    use server::store::{IdentityWrite, MemberWrite};
    let f = synced(30, 2, 40).await;
    let users = f.stored_user_ids().await;
    let group = f.sim().app_group_ids(&f.sim().roster_app_id()).unwrap()[0].clone();
    let members_before = f.store.group_member_ids(&f.directory_id, &group).await.unwrap();
    let (_, newest) = events_after(&f, 0).await;
    // A lease this writer does not hold: nothing of the batch is written.
    let empty: Vec<String> = Vec::new();
    let refused = f
        .store
        .write_identities(
            &f.directory_id,
            &[
                IdentityWrite::Members(&group, MemberWrite::Replace(&empty)),
                IdentityWrite::RemoveUser(&users[0]),
            ],
            "refresh",
            Some("not-the-lease"),
        )
        .await;
    assert!(refused.is_err(), "{refused:?}");
    assert!(f.stored_user_ids().await.contains(&users[0]));
    assert_eq!(
        f.store.group_member_ids(&f.directory_id, &group).await.unwrap(),
        members_before
    );
    assert!(events_after(&f, newest).await.0.is_empty(), "no event either");

    // Without a lease check the same batch applies, all of it, in order.
    let done = f
        .store
        .write_identities(
            &f.directory_id,
            &[
                IdentityWrite::RemoveUser(&users[0]),
                IdentityWrite::RemoveUser(&users[0]),
            ],
            "refresh",
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        done,
        [server::store::Written::Removed, server::store::Written::Missing]
    );
    assert!(!f.stored_user_ids().await.contains(&users[0]));
}

#[tokio::test]
async fn a_refresh_goes_ahead_of_a_running_full_sync_whose_apply_then_leaves_it() {
    use okta_sim::{FaultKind, FaultRule};
    let f = synced(30, 3, 40).await;
    let engine = f.service.engine().clone();
    let sim = f.sim();
    let leaver = f.stored_user_ids().await[0].clone();
    // Assigned in Okta but not in Roster yet: the sync will read them ACTIVE.
    let newcomer = sim
        .create_user(NewUser {
            first_name: "Brief".into(),
            last_name: "Hire".into(),
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
    sim.assign_user_to_app(&sim.roster_app_id(), &newcomer).unwrap();
    let before = newest_event(&f).await;
    // The next full sync reads the users at once, then waits 3 s for the app's groups.
    sim.add_fault(FaultRule {
        path_prefix: format!("/api/v1/apps/{}/groups", sim.roster_app_id()),
        kind: FaultKind::Slow { ms: 3000 },
        count: 1,
        after: 0,
    });
    let sync = {
        let (engine, directory_id) = (engine.clone(), f.directory_id.clone());
        tokio::spawn(async move { engine.sync_and_wait(&directory_id, Trigger::Manual).await })
    };
    for _ in 0..100 {
        if engine
            .progress(&f.directory_id)
            .await
            .unwrap()
            .is_some_and(|p| p.users >= 31)
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // Staged ACTIVE by the running sync, deactivated now.
    sim.update_user(&leaver, status("deactivate")).unwrap();
    sim.update_user(&newcomer, status("deactivate")).unwrap();
    let started = std::time::Instant::now();
    let outcome = applied(refresh(&f, &targets(&[&leaver, &newcomer], &[])).await);
    assert_eq!(outcome.users_removed, std::slice::from_ref(&leaver));
    assert_eq!(outcome.unchanged, 1, "the newcomer was never in Roster");
    assert!(
        started.elapsed() < std::time::Duration::from_millis(2000),
        "the refresh did not wait for the sync: {:?}",
        started.elapsed()
    );
    assert!(!sync.is_finished(), "the sync was still running");
    assert!(!f.stored_user_ids().await.contains(&leaver));

    let run = sync.await.unwrap().unwrap();
    assert_eq!(run.status, server::model::RunStatus::Succeeded);
    let stored = f.stored_user_ids().await;
    assert!(
        !stored.contains(&leaver),
        "the sync's older page did not bring the leaver back"
    );
    assert!(
        !stored.contains(&newcomer),
        "nor add the newcomer it read before the deactivation"
    );
    let (events, _) = events_after(&f, before).await;
    let of_leaver: Vec<&str> = events
        .iter()
        .filter(|(_, entity)| *entity == leaver)
        .map(|(t, _)| t.as_str())
        .collect();
    assert_eq!(of_leaver, ["user.deprovisioned"], "{events:?}");
}

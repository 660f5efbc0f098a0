//! Sign-ins behind sessions: the absolute lifetime, pruning, the setup link
//! after an Okta admin, and revocation when a sync says a person is gone.

use crate::{
    helpers::{config_with, spawn_app},
    okta_fixture::{ready, start_sim, ServiceApp},
};
use okta_sim::UserPatch;
use server::{
    domain::{
        signin::{SessionCheck, SettingsInput},
        Actor,
    },
    model::{Role, RunStatus, SignInMethod},
    store::{NewSignin, OktaPerson, Store},
    sync::Trigger,
};

pub(crate) async fn okta_signin(
    store: &Store,
    issuer: &str,
    subject: &str,
    email: Option<&str>,
    role: Role,
    lifetime: time::Duration,
) -> String {
    let admin = store
        .upsert_okta_admin(&OktaPerson {
            issuer,
            subject,
            email,
            display_name: subject,
        })
        .await
        .unwrap();
    store
        .insert_signin(&NewSignin {
            admin_id: admin.id,
            role,
            method: SignInMethod::Okta,
            subject: Some(subject),
            email,
            groups: &[],
            ip: None,
            lifetime,
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn a_sign_in_ends_at_its_absolute_lifetime_and_dead_ones_are_pruned() {
    let app = spawn_app().await;
    let (store, _) = app.state.core.internals();
    let live = okta_signin(
        store,
        "https://acme.okta.com",
        "00ulive",
        None,
        Role::Admin,
        time::Duration::hours(1),
    )
    .await;
    let old = okta_signin(
        store,
        "https://acme.okta.com",
        "00uold",
        None,
        Role::Admin,
        time::Duration::seconds(-1),
    )
    .await;
    let signin = &app.state.core.signin;
    assert_eq!(signin.check(&live).await.unwrap().0, SessionCheck::Valid);
    assert_eq!(signin.check(&old).await.unwrap().0, SessionCheck::Expired);
    assert_eq!(signin.prune().await.unwrap(), 1);
    assert_eq!(signin.check(&old).await.unwrap().0, SessionCheck::Unknown);
    assert_eq!(signin.check(&live).await.unwrap().0, SessionCheck::Valid);
}

#[tokio::test]
async fn no_setup_link_is_printed_once_an_okta_admin_has_signed_in() {
    let data = tempfile::tempdir().unwrap();
    let first = server::startup::Application::build(config_with(&data, &[]))
        .await
        .unwrap();
    assert!(first.setup_link().is_some(), "a fresh instance prints one");
    let (store, _) = first.state().core.internals();
    okta_signin(
        store,
        "https://acme.okta.com",
        "00uada",
        None,
        Role::Admin,
        time::Duration::hours(1),
    )
    .await;
    drop(first);
    let again = server::startup::Application::build(config_with(&data, &[]))
        .await
        .unwrap();
    assert!(
        again.setup_link().is_none(),
        "break-glass is `roster admin setup-link` now"
    );
}

#[tokio::test]
async fn a_sync_revokes_the_deprovisioned_the_suspended_and_those_who_left_the_admin_group() {
    let f = ready(start_sim(120, 6, 400).await, ServiceApp::default()).await;
    let engine = f.service.engine();
    assert_eq!(
        engine
            .sync_and_wait(&f.directory_id, Trigger::Manual)
            .await
            .unwrap()
            .status,
        RunStatus::Succeeded
    );
    let sim = f.sim();
    let present = f.stored_user_ids().await;
    // An admin group as Okta names it, with three present members.
    let group = sim.app_group_ids(&sim.roster_app_id()).unwrap()[0].clone();
    let group_name = sim.group(&group).unwrap()["profile"]["name"]
        .as_str()
        .unwrap()
        .to_owned();
    let members: Vec<String> = sim
        .group_member_ids(&group)
        .unwrap()
        .into_iter()
        .filter(|id| present.contains(id))
        .take(4)
        .collect();
    assert_eq!(members.len(), 4, "the seeded group has members");
    let core = &f.app.state.core;
    core.signin
        .save(
            &Actor::host(),
            &SettingsInput {
                issuer: f.sim.base_url().to_owned(),
                client_id: "0oaSignInApp00000001".into(),
                client_secret: Some("s".into()),
                admin_groups: group_name.clone(),
                viewer_groups: String::new(),
            },
            None,
            true,
        )
        .await
        .unwrap();
    let issuer = f.sim.base_url().to_owned();
    let hour = time::Duration::hours(1);
    let [leaver, suspended, deprovisioned, stays] = [0, 1, 2, 3].map(|i| members[i].clone());
    let mut ids = Vec::new();
    for subject in [&leaver, &suspended, &deprovisioned, &stays] {
        ids.push(okta_signin(&f.store, &issuer, subject, None, Role::Admin, hour).await);
    }
    // A person this directory does not know keeps their session.
    let stranger = okta_signin(&f.store, &issuer, "00uelsewhere", None, Role::Admin, hour).await;

    sim.remove_group_member(&group, &leaver).unwrap();
    let status = |s: &str| UserPatch {
        status: Some(s.into()),
        ..UserPatch::default()
    };
    sim.update_user(&suspended, status("suspend")).unwrap();
    sim.update_user(&deprovisioned, status("deactivate")).unwrap();
    let outcome = engine
        .sync_and_wait(&f.directory_id, Trigger::Manual)
        .await
        .unwrap();
    assert_eq!(outcome.status, RunStatus::Succeeded);
    // The fixture's engine has the logging hook; run the core's hook as the server's engine does.
    let removed = vec![deprovisioned.clone()];
    let revoked = core
        .signin
        .revoke_after_sync(&f.directory_id, &removed)
        .await
        .unwrap();
    assert_eq!(revoked, 3, "leaver, suspended and deprovisioned");
    let check = |id: String| async move { core.signin.check(&id).await.unwrap().0 };
    assert_eq!(
        check(ids[0].clone()).await,
        SessionCheck::Revoked,
        "left the admin group"
    );
    assert_eq!(check(ids[1].clone()).await, SessionCheck::Revoked, "suspended");
    assert_eq!(
        check(ids[2].clone()).await,
        SessionCheck::Revoked,
        "deprovisioned"
    );
    assert_eq!(check(ids[3].clone()).await, SessionCheck::Valid, "still an admin");
    assert_eq!(
        check(stranger).await,
        SessionCheck::Valid,
        "not a person of this directory"
    );
    let log = core.audit.list(&Default::default()).await.unwrap();
    assert!(log
        .entries
        .iter()
        .any(|e| e.action == "signin.sessions_revoked" && e.actor_kind == "system"));
}

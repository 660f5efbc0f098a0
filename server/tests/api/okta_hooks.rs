//! Okta Event Hooks end to end: okta-sim verifies the hook and delivers
//! System Log events to the running server; its refresh worker re-reads the
//! records they name. A deactivation revokes the person's sessions and is
//! a `user.deprovisioned` event; repeated and reordered deliveries change
//! nothing more; a wrong secret is refused and nothing is processed.

use crate::okta_fixture::{ready, start_sim, OktaFixture, ServiceApp};
use crate::sessions::okta_signin;
use okta_sim::{HookFaults, NewUser, UserPatch};
use server::{
    domain::{
        okta_hooks::HookSetup,
        signin::{SessionCheck, SettingsInput},
        Actor,
    },
    model::Role,
    sync::Trigger,
};
use std::time::Duration;

async fn synced() -> OktaFixture {
    let f = ready(start_sim(80, 5, 200).await, ServiceApp::default()).await;
    let run = f
        .service
        .engine()
        .sync_and_wait(&f.directory_id, Trigger::Manual)
        .await
        .unwrap();
    assert_eq!(run.status, server::model::RunStatus::Succeeded);
    f
}

/// The directory's hook in Roster, registered and verified in okta-sim.
async fn hooked(f: &OktaFixture) -> HookSetup {
    let id = server::model::DirectoryId::parse(&f.directory_id).unwrap();
    let setup = f
        .app
        .state
        .core
        .okta_hooks
        .create(&Actor::host(), &id, Some("X-Roster-Hook-Secret"))
        .await
        .unwrap();
    assert!(setup.url.ends_with(&format!("/hooks/okta/{}", f.directory_id)));
    let spec: okta_sim::HookSpec = serde_json::from_value(serde_json::json!({
        "name": "Roster",
        "events": { "type": "EVENT_TYPE", "items": setup.event_types },
        "channel": { "type": "HTTP", "version": "1.0.0", "config": {
            "uri": setup.url,
            "authScheme": { "type": "HEADER", "key": setup.header_name, "value": setup.secret.clone().unwrap() }
        }}
    }))
    .unwrap();
    let sim = f.sim();
    let hook = sim.create_event_hook(spec).unwrap();
    let verified = sim.verify_event_hook(hook["id"].as_str().unwrap()).await.unwrap();
    assert_eq!(verified["verificationStatus"], "VERIFIED");
    let seen = f
        .app
        .state
        .core
        .okta_hooks
        .get(&Actor::host(), &id)
        .await
        .unwrap()
        .unwrap();
    assert!(seen.verified_at.is_some(), "Roster noted the verification");
    setup
}

fn status(op: &str) -> UserPatch {
    UserPatch {
        profile: None,
        status: Some(op.into()),
    }
}

async fn wait_until<F, Fut>(what: &str, check: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..200 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test]
async fn a_deactivation_pushed_by_a_hook_revokes_sessions_once_despite_duplicates() {
    let f = synced().await;
    let setup = hooked(&f).await;
    let sim = f.sim();
    let core = &f.app.state.core;
    let stored = f.stored_user_ids().await;
    let leaver = stored[0].clone();
    let stays = stored[1].clone();
    // Signed in through Okta: the deactivation must end the session.
    let group = sim.app_group_ids(&sim.roster_app_id()).unwrap()[0].clone();
    let group_name = sim.group(&group).unwrap()["profile"]["name"]
        .as_str()
        .unwrap()
        .to_owned();
    core.signin
        .save(
            &Actor::host(),
            &SettingsInput {
                issuer: f.sim.base_url().to_owned(),
                client_id: "0oaSignInApp00000001".into(),
                client_secret: Some("s".into()),
                admin_groups: group_name,
                viewer_groups: String::new(),
            },
            None,
            true,
        )
        .await
        .unwrap();
    let session = okta_signin(
        &f.store,
        f.sim.base_url(),
        &leaver,
        None,
        Role::Viewer,
        time::Duration::hours(1),
    )
    .await;
    assert_eq!(core.signin.check(&session).await.unwrap().0, SessionCheck::Valid);

    // Every batch twice, newest first.
    sim.set_hook_faults(HookFaults {
        duplicate: true,
        reorder: true,
    });
    sim.update_user(&stays, status("suspend")).unwrap();
    sim.update_user(&stays, status("unsuspend")).unwrap();
    sim.update_user(&leaver, status("deactivate")).unwrap();
    wait_until("the leaver to be removed", || async {
        !f.stored_user_ids().await.contains(&leaver)
    })
    .await;
    wait_until("the session to be revoked", || async {
        core.signin.check(&session).await.unwrap().0 == SessionCheck::Revoked
    })
    .await;
    // Let the duplicates and the reordered suspension be processed too.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let leaver_events = crate::helpers::event_types_of(&f.store, &leaver).await;
    assert_eq!(
        leaver_events
            .iter()
            .filter(|t| *t == "user.deprovisioned")
            .count(),
        1,
        "{leaver_events:?}"
    );
    // The suspension arrived after its undoing; the refresh read the present.
    let kept = f.store.user(&f.directory_id, &stays).await.unwrap().unwrap();
    assert_eq!(kept.status, "ACTIVE");
    assert!(kept.deleted_at.is_none());
    let id = server::model::DirectoryId::parse(&f.directory_id).unwrap();
    let after = core.okta_hooks.get(&Actor::host(), &id).await.unwrap().unwrap();
    assert!(after.deliveries >= 2, "{}", after.deliveries);
    assert!(after.last_delivery_at.is_some());
    let _ = setup;
}

#[tokio::test]
async fn a_wrong_secret_is_refused_and_an_unassigned_user_is_ignored() {
    let f = synced().await;
    let setup = hooked(&f).await;
    let client = reqwest::Client::new();
    let body = serde_json::json!({ "data": { "events": [{
        "uuid": "forged-1", "published": "2026-12-06T00:00:00.000Z",
        "eventType": "user.lifecycle.deactivate",
        "target": [{ "id": f.stored_user_ids().await[0], "type": "User" }]
    }]}});
    for secret in [None, Some("rhk_wrong")] {
        let mut request = client.post(&setup.url).json(&body);
        if let Some(secret) = secret {
            request = request.header(&setup.header_name, secret);
        }
        assert_eq!(request.send().await.unwrap().status(), 401);
    }
    let verify = client
        .get(&setup.url)
        .header("X-Okta-Verification-Challenge", "abc")
        .header(&setup.header_name, "rhk_wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(verify.status(), 401);
    let id = server::model::DirectoryId::parse(&f.directory_id).unwrap();
    let seen = f
        .app
        .state
        .core
        .okta_hooks
        .get(&Actor::host(), &id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(seen.deliveries, 0, "nothing was processed");
    tokio::time::sleep(Duration::from_millis(800)).await;
    let before = f.stored_user_ids().await;
    assert!(before.contains(
        &body["data"]["events"][0]["target"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned()
    ));

    // A user Okta changes who is not assigned to the app stays out.
    let sim = f.sim();
    let outsider = sim
        .create_user(NewUser {
            first_name: "Out".into(),
            last_name: "Sider".into(),
            ..Default::default()
        })
        .unwrap();
    sim.update_user(&outsider, status("suspend")).unwrap();
    wait_until("the delivery", || async {
        f.app
            .state
            .core
            .okta_hooks
            .get(&Actor::host(), &id)
            .await
            .unwrap()
            .unwrap()
            .deliveries
            >= 1
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(f.stored_user_ids().await, before);
    assert!(f.store.user(&f.directory_id, &outsider).await.unwrap().is_none());
}

#[tokio::test]
async fn the_hook_set_up_is_on_the_api_and_the_cli_and_its_secret_for_admins_only() {
    use crate::cli::roster;
    use crate::rest::token;
    use server::model::TokenScope;
    let f = synced().await;
    let writer = token(&f.app, TokenScope::ReadWrite).await;
    let reader = token(&f.app, TokenScope::ReadOnly).await;
    let dir = f.directory_id.clone();

    let missing = roster(&f.app, Some(&reader), &["directories", "okta-hook", &dir]).await;
    assert_ne!(missing.code, 0);
    assert!(missing.stderr.contains("okta-hook-create"), "{}", missing.stderr);
    let bad = roster(
        &f.app,
        Some(&writer),
        &[
            "directories",
            "okta-hook-create",
            &dir,
            "--header",
            "Not a header",
        ],
    )
    .await;
    assert_ne!(bad.code, 0);
    assert!(bad.stderr.contains("letters, digits"), "{}", bad.stderr);
    let refused = roster(&f.app, Some(&reader), &["directories", "okta-hook-create", &dir]).await;
    assert_ne!(refused.code, 0, "a read-only token changes nothing");

    let created = roster(
        &f.app,
        Some(&writer),
        &[
            "directories",
            "okta-hook-create",
            &dir,
            "--header",
            "X-Roster-Hook",
        ],
    )
    .await;
    assert_eq!(created.code, 0, "{}", created.stderr);
    assert!(created
        .stdout
        .contains("Workflow → Event Hooks → Create Event Hook"));
    assert!(created.stdout.contains(&format!("/hooks/okta/{dir}")));
    assert!(
        created.stdout.contains("rhk_"),
        "the admin sees the value to paste"
    );
    assert!(created.stdout.contains("okta_event_hook"), "Terraform");

    let as_admin = roster(
        &f.app,
        Some(&writer),
        &["directories", "okta-hook", &dir, "--json"],
    )
    .await;
    let as_admin: serde_json::Value = serde_json::from_str(&as_admin.stdout).unwrap();
    assert_eq!(as_admin["header_name"], "X-Roster-Hook");
    assert!(as_admin["secret"].as_str().unwrap().starts_with("rhk_"));
    assert_eq!(as_admin["event_types"].as_array().unwrap().len(), 16);
    let as_reader = roster(
        &f.app,
        Some(&reader),
        &["directories", "okta-hook", &dir, "--json"],
    )
    .await;
    let as_reader: serde_json::Value = serde_json::from_str(&as_reader.stdout).unwrap();
    assert!(as_reader["secret"].is_null(), "viewers never see the secret");
    assert!(as_reader["curl"].as_str().unwrap().contains("eventHooks"));

    // The secret is sealed at rest, and the change audited.
    let sealed = crate::helpers::count(
        &f.store,
        "SELECT COUNT(*) FROM okta_event_hooks WHERE secret_sealed LIKE '%rhk_%' OR secret_hash LIKE '%rhk_%'",
        &[],
    )
    .await;
    assert_eq!(sealed, 0);
    let log = f.app.state.core.audit.list(&Default::default()).await.unwrap();
    assert!(log.entries.iter().any(|e| e.action == "okta_hook.created"));
}

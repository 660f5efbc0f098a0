//! Verify Now against the simulator: every failure names its item and fix.

use crate::okta_fixture::{connect, start_sim, ServiceApp};
use server::model::RunStatus;
use server::okta::CheckStatus;

fn status(report: &server::okta::VerifyReport, key: &str) -> CheckStatus {
    report
        .item(key)
        .unwrap_or_else(|| panic!("item {key} in {:#?}", report.items))
        .status
}

#[tokio::test]
async fn a_correct_dpop_app_passes_every_check_and_preselects_the_sso_app() {
    let (f, _) = connect(start_sim(40, 6, 80).await, ServiceApp::default()).await;
    let report = f
        .service
        .verify(&f.directory_id, Some(okta_sim::ROSTER_CLIENT_ID))
        .await
        .unwrap();
    assert!(report.ok(), "{:#?}", report.items);
    assert_eq!(report.dpop_required, Some(true));
    assert!(report.apps.len() >= 2, "apps listed: {:?}", report.apps);
    assert_eq!(report.chosen_app.as_ref().unwrap().id, f.sim().roster_app_id());
    let stored = f.store.directory(&f.directory_id).await.unwrap().unwrap();
    assert!(f.service.is_verified(&stored).await.unwrap());
    assert_eq!(stored.dpop_required, Some(true));
}

#[tokio::test]
async fn a_bearer_app_passes_too_and_changing_the_client_id_invalidates_the_verification() {
    let (f, client_id) = connect(
        start_sim(20, 4, 30).await,
        ServiceApp {
            dpop: false,
            ..ServiceApp::default()
        },
    )
    .await;
    let report = f
        .service
        .verify(&f.directory_id, Some(okta_sim::ROSTER_CLIENT_ID))
        .await
        .unwrap();
    assert!(report.ok(), "{:#?}", report.items);
    assert_eq!(report.dpop_required, Some(false));
    let other = format!("{}x", &client_id[..client_id.len() - 1]);
    f.service
        .set_connection(&f.directory_id, f.sim.base_url(), &other, None)
        .await
        .unwrap();
    let stored = f.store.directory(&f.directory_id).await.unwrap().unwrap();
    assert!(!f.service.is_verified(&stored).await.unwrap());
    assert!(
        f.service.activate(&f.directory_id, "Acme").await.is_err(),
        "create needs a fresh verify"
    );
}

#[tokio::test]
async fn an_unregistered_key_fails_client_authentication_with_the_key_hint() {
    let (f, _) = connect(
        start_sim(10, 2, 10).await,
        ServiceApp {
            wrong_key: true,
            ..ServiceApp::default()
        },
    )
    .await;
    let report = f.service.verify(&f.directory_id, None).await.unwrap();
    assert_eq!(status(&report, "org"), CheckStatus::Pass);
    assert_eq!(status(&report, "token"), CheckStatus::Fail);
    let hint = report.item("token").unwrap().hint.clone().unwrap();
    assert!(hint.contains("public key in Okta matches"), "{hint}");
    assert_eq!(status(&report, "users"), CheckStatus::Skipped);
}

#[tokio::test]
async fn a_wrong_client_id_fails_client_authentication() {
    let (f, client_id) = connect(start_sim(10, 2, 10).await, ServiceApp::default()).await;
    let wrong = format!("0oa{}", "z".repeat(client_id.len() - 3));
    f.service
        .set_connection(&f.directory_id, f.sim.base_url(), &wrong, None)
        .await
        .unwrap();
    let report = f.service.verify(&f.directory_id, None).await.unwrap();
    assert_eq!(status(&report, "token"), CheckStatus::Fail);
    assert!(report
        .item("token")
        .unwrap()
        .hint
        .as_deref()
        .unwrap()
        .contains("Client ID"));
}

#[tokio::test]
async fn a_missing_scope_is_named() {
    let spec = ServiceApp {
        scopes: vec!["okta.users.read", "okta.apps.read"],
        ..ServiceApp::default()
    };
    let (f, _) = connect(start_sim(10, 2, 10).await, spec).await;
    let report = f
        .service
        .verify(&f.directory_id, Some(okta_sim::ROSTER_CLIENT_ID))
        .await
        .unwrap();
    assert!(!report.ok());
    assert_eq!(status(&report, "scope:okta.users.read"), CheckStatus::Pass);
    assert_eq!(status(&report, "scope:okta.apps.read"), CheckStatus::Pass);
    assert_eq!(status(&report, "scope:okta.groups.read"), CheckStatus::Fail);
    assert!(report
        .item("scope:okta.groups.read")
        .unwrap()
        .hint
        .as_deref()
        .unwrap()
        .contains("okta.groups.read"));
    assert_eq!(
        status(&report, "groups"),
        CheckStatus::Fail,
        "groups cannot be read without the scope"
    );
    assert_eq!(status(&report, "users"), CheckStatus::Pass);
}

#[tokio::test]
async fn a_missing_admin_role_is_named() {
    let (f, _) = connect(
        start_sim(10, 2, 10).await,
        ServiceApp {
            admin_role: false,
            ..ServiceApp::default()
        },
    )
    .await;
    let report = f.service.verify(&f.directory_id, None).await.unwrap();
    assert_eq!(status(&report, "token"), CheckStatus::Pass);
    assert_eq!(status(&report, "users"), CheckStatus::Fail);
    let hint = report.item("users").unwrap().hint.clone().unwrap();
    assert!(hint.contains("admin role"), "{hint}");
}

#[tokio::test]
async fn the_domain_field_cannot_point_elsewhere() {
    let (f, client_id) = connect(start_sim(5, 1, 5).await, ServiceApp::default()).await;
    for bad in [
        "http://169.254.169.254",
        "acme.okta.com/admin",
        "https://acme-admin.okta.com",
        "10.0.0.1",
        "http://127.0.0.1:1",
    ] {
        let err = f
            .service
            .set_connection(&f.directory_id, bad, &client_id, None)
            .await
            .unwrap_err();
        assert!(!err.to_string().is_empty(), "{bad}");
    }
    let stored = f.store.directory(&f.directory_id).await.unwrap().unwrap();
    assert_eq!(
        stored.okta_origin,
        f.sim.base_url(),
        "rejected input changed nothing"
    );
}

#[tokio::test]
async fn jwks_url_serves_the_public_key_without_a_session() {
    let (f, _) = connect(start_sim(5, 1, 5).await, ServiceApp::default()).await;
    let body: serde_json::Value = f
        .app
        .client
        .get(&f.key.jwks_url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["keys"][0]["kid"], f.key.jwk.kid);
    assert!(body["keys"][0].get("d").is_none(), "no private parts");
    assert!(f.key.pem.starts_with("-----BEGIN PUBLIC KEY-----"));
}

async fn published_kids(f: &crate::okta_fixture::OktaFixture) -> Vec<String> {
    let url = format!("{}/directories/{}/jwks.json", f.app.address, f.directory_id);
    let jwks: serde_json::Value = reqwest::get(url).await.unwrap().json().await.unwrap();
    let mut kids: Vec<String> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect();
    kids.sort();
    kids
}

#[tokio::test]
async fn key_rotation_publishes_both_keys_switches_on_verify_and_retires_the_old_key() {
    use server::sync::Trigger;
    let f = crate::okta_fixture::ready(start_sim(12, 2, 12).await, ServiceApp::default()).await;
    let client_id = f
        .store
        .directory(&f.directory_id)
        .await
        .unwrap()
        .unwrap()
        .client_id;
    let old = serde_json::to_value(&f.key.jwk).unwrap();
    let old_kid = f.key.jwk.kid.clone();

    let next = f.service.rotate_key(&f.directory_id).await.unwrap();
    let new_kid = next.jwk.kid.clone();
    assert_ne!(new_kid, old_kid);
    let again = f.service.rotate_key(&f.directory_id).await.unwrap();
    assert_eq!(again.jwk.kid, new_kid, "rotating twice keeps one pending key");
    let mut both = vec![old_kid.clone(), new_kid.clone()];
    both.sort();
    assert_eq!(published_kids(&f).await, both);

    // Until Okta knows the new key, syncs keep using the old one and a verify
    // fails without switching.
    let outcome = f
        .service
        .engine()
        .sync_and_wait(&f.directory_id, Trigger::Manual)
        .await
        .unwrap();
    assert_eq!(outcome.status, RunStatus::Succeeded, "{outcome:?}");
    let report = f
        .service
        .verify(&f.directory_id, Some(okta_sim::ROSTER_CLIENT_ID))
        .await
        .unwrap();
    assert_eq!(status(&report, "token"), CheckStatus::Fail);
    assert_eq!(published_kids(&f).await, both);

    // The admin adds the new key in Okta; the next verify switches to it.
    let new = serde_json::to_value(&next.jwk).unwrap();
    f.sim()
        .update_service_app(
            &client_id,
            okta_sim::ServiceAppPatch {
                jwks: Some(serde_json::json!({ "keys": [old, new.clone()] })),
                ..Default::default()
            },
        )
        .unwrap();
    let report = f
        .service
        .verify(&f.directory_id, Some(okta_sim::ROSTER_CLIENT_ID))
        .await
        .unwrap();
    assert!(report.ok(), "{:#?}", report.items);
    assert_eq!(
        published_kids(&f).await,
        vec![new_kid.clone()],
        "the old key is retired"
    );

    // With only the new key left in Okta, syncs still work.
    f.sim()
        .update_service_app(
            &client_id,
            okta_sim::ServiceAppPatch {
                jwks: Some(serde_json::json!({ "keys": [new] })),
                ..Default::default()
            },
        )
        .unwrap();
    let outcome = f
        .service
        .engine()
        .sync_and_wait(&f.directory_id, Trigger::Manual)
        .await
        .unwrap();
    assert_eq!(outcome.status, RunStatus::Succeeded, "{outcome:?}");
}

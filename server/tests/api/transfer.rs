//! Moving an instance to a new PostgreSQL database with `roster admin
//! export` and `import`: the real binary, a synced directory, its sealed
//! key, an API token; refusals that change nothing.

use crate::{
    helpers::TestApp,
    okta_fixture::{ready, start_sim, ServiceApp},
    pg,
    rest::token,
};
use server::{config::DatabaseUrl, model::TokenScope, store::Store, sync::Trigger};
use std::process::Command;

struct Run {
    ok: bool,
    stderr: String,
}

/// `roster admin …` with a data directory and, for PostgreSQL, a database URL.
async fn admin(
    data_dir: &std::path::Path,
    database_url: Option<&str>,
    extra_env: &[(&str, &str)],
    args: &[&str],
) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_roster"));
    command
        .env_clear()
        .env("ROSTER_DATA_DIR", data_dir)
        .env("ROSTER_LOG", "warn")
        .arg("admin")
        .args(args);
    if let Some(url) = database_url {
        command.env("ROSTER_DATABASE_URL", url);
    }
    for (k, v) in extra_env {
        command.env(k, v);
    }
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .unwrap();
    Run {
        ok: output.status.success(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

async fn store_at(url: &str) -> Store {
    Store::connect(&DatabaseUrl::parse(url).unwrap()).await.unwrap()
}

fn source_database(app: &TestApp) -> Option<&str> {
    app.database_url.as_deref()
}

#[tokio::test]
async fn an_instance_moves_to_a_new_postgres_database_with_its_secrets() {
    let f = ready(start_sim(80, 6, 200).await, ServiceApp::default()).await;
    let run = f
        .service
        .engine()
        .sync_and_wait(&f.directory_id, Trigger::Manual)
        .await
        .unwrap();
    assert_eq!(run.status, server::model::RunStatus::Succeeded);
    let api_token = token(&f.app, TokenScope::ReadOnly).await;
    let users_before = f.stored_user_ids().await;
    let events_before = all_events(&f.store).await;
    assert!(
        events_before.iter().any(|e| e.1 == "user.created"),
        "the first sync's records are events"
    );
    assert!(!users_before.is_empty());

    let dump = f.app.data_dir.path().join("export.jsonl");
    let export = admin(
        f.app.data_dir.path(),
        source_database(&f.app),
        &[],
        &["export", "--output", dump.to_str().unwrap()],
    )
    .await;
    assert!(export.ok, "{}", export.stderr);
    assert!(export.stderr.contains("Exported"), "{}", export.stderr);
    let text = std::fs::read_to_string(&dump).unwrap();
    assert!(!text.contains("BEGIN PRIVATE KEY"), "private keys leave sealed");
    assert!(!text.contains(&api_token), "tokens leave as hashes");

    // A new data directory on a new database.
    let target_dir = tempfile::tempdir().unwrap();
    let target = pg::fresh_database().await;
    let import = |extra: &'static [(&'static str, &'static str)], file: std::path::PathBuf| {
        let (dir, target) = (target_dir.path().to_owned(), target.clone());
        async move {
            admin(
                &dir,
                Some(&target),
                extra,
                &["import", "--input", file.to_str().unwrap()],
            )
            .await
        }
    };

    // Without the old master key: refused, saying which file to copy.
    let refused = import(&[], dump.clone()).await;
    assert!(!refused.ok);
    assert!(refused.stderr.contains("master.key"), "{}", refused.stderr);
    // With another key: refused, naming both keys.
    let other_key: &'static [(&str, &str)] = &[(
        "ROSTER_MASTER_KEY",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
    )];
    let refused = import(other_key, dump.clone()).await;
    assert!(!refused.ok);
    assert!(
        refused.stderr.contains("sealed with master key"),
        "{}",
        refused.stderr
    );

    std::fs::copy(
        f.app.data_dir.path().join("master.key"),
        target_dir.path().join("master.key"),
    )
    .unwrap();
    // A truncated file: refused, and nothing of it kept.
    let half = target_dir.path().join("half.jsonl");
    let lines: Vec<&str> = text.lines().collect();
    std::fs::write(&half, lines[..lines.len() / 2].join("\n")).unwrap();
    let refused = import(&[], half).await;
    assert!(!refused.ok);
    assert!(refused.stderr.contains("ended early"), "{}", refused.stderr);
    let store = store_at(&target).await;
    assert_eq!(store.count_directories().await.unwrap(), 0, "all or nothing");

    let imported = import(&[], dump.clone()).await;
    assert!(imported.ok, "{}", imported.stderr);
    assert!(imported.stderr.contains("Imported"), "{}", imported.stderr);
    let again = import(&[], dump.clone()).await;
    assert!(!again.ok, "a database that holds data is not imported into");
    assert!(again.stderr.contains("new, empty database"), "{}", again.stderr);

    // The moved instance serves what the old one had, and syncs: its private
    // key opened with the copied master key.
    let moved = crate::helpers::spawn_on(
        target_dir,
        &target,
        &[("ROSTER_OKTA_EXTRA_ORIGINS", f.sim.base_url())],
    )
    .await;
    let listed = reqwest::Client::new()
        .get(moved.url(&format!("/api/v1/directories/{}/users?limit=1", f.directory_id)))
        .bearer_auth(&api_token)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), 200, "the API token works after the move");
    let store = moved.state.core.internals().0.clone();
    let mut users_after = Vec::new();
    let mut after = String::new();
    loop {
        let page = store.users_page(&f.directory_id, &after, 1000).await.unwrap();
        let Some(last) = page.last() else { break };
        after = last.okta_id.clone();
        users_after.extend(page.into_iter().map(|u| u.okta_id));
    }
    assert_eq!(users_after, users_before);
    assert_eq!(
        all_events(&store).await,
        events_before,
        "the event log moves whole"
    );
    let runs_before = f.store.runs(&f.directory_id, 50).await.unwrap().len();
    assert_eq!(store.runs(&f.directory_id, 50).await.unwrap().len(), runs_before);
    let audit = store
        .audit_entries(&server::store::AuditFilter {
            action: Some("instance.imported".into()),
            limit: 5,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(audit.len(), 1);
    let engine = moved.state.core.directories.engine();
    let synced = engine
        .sync_and_wait(&f.directory_id, Trigger::Manual)
        .await
        .unwrap();
    assert_eq!(
        synced.status,
        server::model::RunStatus::Succeeded,
        "{:?}",
        synced.error
    );
    let events_after = all_events(&store).await;
    assert!(
        events_after.len() > events_before.len()
            && events_after[events_before.len()].0 > events_before.last().unwrap().0,
        "new events follow the moved ones"
    );
}

/// Every event's position, type and entity.
async fn all_events(store: &Store) -> Vec<(i64, String, String)> {
    let mut all = Vec::new();
    let mut after = 0;
    loop {
        let page = store
            .events_page(&server::store::EventFilter {
                after,
                limit: 500,
                ..Default::default()
            })
            .await
            .unwrap();
        let Some(last) = page.last() else { return all };
        after = last.position;
        all.extend(page.into_iter().map(|e| (e.position, e.event_type, e.entity_id)));
    }
}

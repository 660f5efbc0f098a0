use crate::helpers::{form_action, spawn_app};

#[tokio::test]
async fn overview_shows_real_facts() {
    let app = spawn_app().await;
    app.sign_in_with_setup_link().await;
    let html = app.get_page("/").await.text().await.unwrap();
    assert!(html.contains(env!("CARGO_PKG_VERSION")), "version shown");
    assert!(html.contains("SQLite"), "database kind shown");
    assert!(
        html.contains(&app.data_dir.path().join("roster.db").display().to_string()),
        "database path shown"
    );
    assert!(html.contains(r#"data-testid="directories-count">0<"#), "{html}");
}

#[tokio::test]
async fn directory_sync_shows_its_empty_state() {
    let app = spawn_app().await;
    app.sign_in_with_setup_link().await;
    let html = app
        .get_page("/settings/directory-sync")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("No directory connected yet"), "{html}");
}

#[tokio::test]
async fn rename_form_round_trips_without_javascript() {
    let app = spawn_app().await;
    app.sign_in_with_setup_link().await;
    let settings = app.get_page("/settings").await.text().await.unwrap();
    let action = form_action(&settings, "/api/").expect("the rename form posts to a server function");

    let response = app.post_form(&action, &[("name", "  Acme Staging  ")]).await;
    assert!(
        response.status().is_redirection() || response.status().is_success(),
        "{}",
        response.status()
    );
    let home = app.get_page("/").await.text().await.unwrap();
    assert!(home.contains(">Acme Staging<"), "top bar shows the new name");

    // Invalid input changes nothing and says why.
    let response = app.post_form(&action, &[("name", "   ")]).await;
    let body = response.text().await.unwrap();
    let home = app.get_page("/").await.text().await.unwrap();
    assert!(
        home.contains(">Acme Staging<"),
        "rejected rename kept the old name"
    );
    let _ = body;
}

#[tokio::test]
async fn unknown_pages_get_a_styled_404() {
    let app = spawn_app().await;
    app.sign_in_with_setup_link().await;
    let response = app.get_page("/no/such/page").await;
    assert_eq!(response.status(), 404);
    let html = response.text().await.unwrap();
    assert!(
        html.contains("Page not found") && html.contains("/pkg/roster.css"),
        "{html}"
    );
}

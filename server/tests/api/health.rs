use crate::helpers::spawn_app;

#[tokio::test]
async fn healthz_answers_without_a_session() {
    let app = spawn_app().await;
    let response = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    assert!(
        body.get("version").is_none(),
        "the public probe tells no version: {body}"
    );
}

#[tokio::test]
async fn readyz_reports_database_and_migrations() {
    let app = spawn_app().await;
    let response = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ready");
    assert_eq!(body["database"], "ok");
    let applied = body["migrations"]["applied"].as_i64().unwrap();
    assert!(applied >= 1);
    assert_eq!(applied, body["migrations"]["expected"].as_i64().unwrap());
}

use crate::helpers::{client, spawn_app, spawn_app_with};

#[tokio::test]
async fn pages_redirect_to_sign_in_and_api_calls_are_refused_without_a_session() {
    let app = spawn_app().await;
    for path in ["/", "/settings", "/settings/directory-sync", "/welcome"] {
        let response = app.get_page(path).await;
        assert_eq!(response.status(), 303, "{path}");
        assert_eq!(response.headers()["location"], "/signin", "{path}");
    }
    let response = app
        .client
        .post(app.url("/api/anything"))
        .header("origin", app.origin())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let signin = app.get_page("/signin").await;
    assert_eq!(signin.status(), 200);
    assert!(signin.text().await.unwrap().contains("setup link"));
}

#[tokio::test]
async fn setup_link_creates_the_first_admin_once() {
    let app = spawn_app().await;
    let link = app.setup_link.clone().unwrap();
    assert!(
        link.starts_with(&app.address),
        "the link points at this server: {link}"
    );

    let response = app.sign_in_with_setup_link().await;
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/welcome");
    let cookie = response.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("roster_session="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(
        !cookie.contains("Secure"),
        "plain-http instance must not set Secure: {cookie}"
    );

    let welcome = app.get_page("/welcome").await;
    assert_eq!(welcome.status(), 200);
    let html = welcome.text().await.unwrap();
    assert!(
        html.contains("Welcome to Roster") && html.contains("Setup administrator"),
        "{html}"
    );

    // Single use: the same link in another browser is refused.
    let other = client();
    let token = link.split_once("token=").map(|(_, t)| t.to_owned()).unwrap();
    let reused = other
        .post(app.url("/setup"))
        .header("origin", app.origin())
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(reused.status(), 403, "a used link is spent");
    assert!(reused.text().await.unwrap().contains("roster admin setup-link"));
    let home = other
        .get(app.url("/"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(
        home.headers()["location"],
        "/signin",
        "the second browser got no session"
    );
}

#[tokio::test]
async fn unknown_setup_token_is_refused_with_a_way_forward() {
    let app = spawn_app().await;
    let response = app.post_form("/setup", &[("token", "not-a-real-token")]).await;
    assert_eq!(response.status(), 403);
    assert!(response
        .headers()
        .get("set-cookie")
        .is_none_or(|c| !c.to_str().unwrap().contains("roster_session=")));
    let html = response.text().await.unwrap();
    assert!(html.contains("roster admin setup-link"), "{html}");
    // The original link still works afterwards.
    assert_eq!(app.sign_in_with_setup_link().await.status(), 303);
    assert_eq!(app.get_page("/").await.status(), 200);
}

#[tokio::test]
async fn sign_out_ends_the_session() {
    let app = spawn_app().await;
    app.sign_in_with_setup_link().await;
    assert_eq!(app.get_page("/").await.status(), 200);
    let response = app.post_form("/signout", &[]).await;
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/signin");
    assert_eq!(app.get_page("/").await.status(), 303);
}

#[tokio::test]
async fn cross_site_posts_are_refused_even_with_a_session() {
    let app = spawn_app().await;
    app.sign_in_with_setup_link().await;
    let response = app
        .client
        .post(app.url("/signout"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert_eq!(app.get_page("/").await.status(), 200, "the session survived");
}

#[tokio::test]
async fn https_public_url_makes_the_cookie_secure() {
    let app = spawn_app_with(&[("ROSTER_PUBLIC_URL", "https://roster.example.com")]).await;
    assert!(app
        .setup_link
        .as_deref()
        .unwrap()
        .starts_with("https://roster.example.com/setup?token="));
    let response = app.sign_in_with_setup_link().await;
    let cookie = response.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.contains("Secure"), "{cookie}");
}

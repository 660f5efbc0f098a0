//! Roster's user interface: pages, components and the server-function contract.
//! Built twice: with `ssr` into the server, with `hydrate` into the browser's wasm.
#![recursion_limit = "256"]

pub mod api;
mod components;
mod pages;

use components::{AppLayout, ErrorPage};
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, Link, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{ParentRoute, Route, Router, Routes},
    path, SsrMode,
};
use pages::{
    ApiTokens, AuditLog, DirectoryGroupPage, DirectoryHookPage, DirectoryPage, DirectoryScimPage,
    DirectorySync, DirectoryUserPage, DirectoryWizard, GeneralSettings, NewDirectory, OverviewPage, SignIn,
    SigninSettings, SyncRunPage, Webhooks, Welcome,
};

/// The HTML document around the app, rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <AutoReload options=options.clone() />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="roster" href="/pkg/roster.css" />
        <Link rel="icon" type_="image/svg+xml" href="/favicon.svg" />
        <Title formatter=|page: String| format!("{page} · Roster") />
        <Router>
            <Routes fallback=|| view! { <ErrorPage status=404 /> }>
                // Async SSR: complete HTML on first load, so pages and forms work
                // before (or without) the wasm bundle.
                <Route path=path!("/signin") view=SignIn ssr=SsrMode::Async />
                <ParentRoute path=path!("") view=AppLayout ssr=SsrMode::Async>
                    <Route path=path!("") view=OverviewPage ssr=SsrMode::Async />
                    <Route path=path!("welcome") view=Welcome ssr=SsrMode::Async />
                    <Route path=path!("settings") view=GeneralSettings ssr=SsrMode::Async />
                    <Route path=path!("settings/api-tokens") view=ApiTokens ssr=SsrMode::Async />
                    <Route path=path!("settings/sign-in") view=SigninSettings ssr=SsrMode::Async />
                    <Route path=path!("settings/audit") view=AuditLog ssr=SsrMode::Async />
                    <Route path=path!("settings/webhooks") view=Webhooks ssr=SsrMode::Async />
                    <Route path=path!("settings/directory-sync") view=DirectorySync ssr=SsrMode::Async />
                    <Route path=path!("settings/directory-sync/new") view=NewDirectory ssr=SsrMode::Async />
                    <Route path=path!("settings/directory-sync/new/:id") view=DirectoryWizard ssr=SsrMode::Async />
                    <Route path=path!("directories/:id") view=DirectoryPage ssr=SsrMode::Async />
                    <Route path=path!("directories/:id/scim") view=DirectoryScimPage ssr=SsrMode::Async />
                    <Route path=path!("directories/:id/okta-hook") view=DirectoryHookPage ssr=SsrMode::Async />
                    <Route path=path!("directories/:id/users/:user_id") view=DirectoryUserPage ssr=SsrMode::Async />
                    <Route path=path!("directories/:id/groups/:group_id") view=DirectoryGroupPage ssr=SsrMode::Async />
                    <Route path=path!("directories/:id/runs/:run_id") view=SyncRunPage ssr=SsrMode::Async />
                </ParentRoute>
            </Routes>
        </Router>
    }
}

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(App);
    // Lets tests (and curious admins) tell a hydrated page from server HTML.
    if let Some(body) = leptos::prelude::document().body() {
        let _ = body.set_attribute("data-hydrated", "true");
    }
}

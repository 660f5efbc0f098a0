use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// Where visitors without a session land: Sign in with Okta, and the
/// host-side links for the first admin and for break-glass recovery.
#[component]
pub fn SignIn() -> impl IntoView {
    let query = use_query_map();
    let ended = move || {
        query.with(|q| match q.get("ended").as_deref() {
            Some("revoked") => Some("Your session was ended: Okta says your account is no longer active or no longer in Roster's admin groups, or you signed out elsewhere."),
            Some("expired") => Some("Your session expired. Sign in again."),
            _ => None,
        })
    };
    view! {
        <Title text="Sign in" />
        <main class="signin-page">
            <div class="signin-card">
                <img src="/favicon.svg" alt="" width="48" height="48" />
                <h1>"Sign in to Roster"</h1>
                {move || ended().map(|text| view! { <p class="notice" role="status" data-testid="session-ended">{text}</p> })}
                <a class="button button-primary" href="/auth/login" rel="external" data-testid="signin-okta">"Sign in with Okta"</a>
                <p class="muted">
                    "Setting up a new instance? Roster printed a one-time setup link in its server log "
                    "when it started. Open that link to create the first administrator session, then "
                    "configure Okta sign-in under Settings → Sign-in."
                </p>
                <p class="muted">
                    "Locked out? On the server, run "
                    <code>"roster admin setup-link"</code>
                    " (it works on the data directory, with or without Roster running) and open the link it prints. "
                    "Each use is written to the audit log."
                </p>
            </div>
        </main>
    }
}

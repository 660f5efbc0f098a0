use leptos::prelude::*;
use leptos_meta::Title;

/// Where visitors without a session land. SSO sign-in is its own feature; until
/// it exists, the first admin arrives through the one-time setup link.
#[component]
pub fn SignIn() -> impl IntoView {
    view! {
        <Title text="Sign in" />
        <main class="signin-page">
            <div class="signin-card">
                <img src="/favicon.svg" alt="" width="48" height="48" />
                <h1>"Sign in to Roster"</h1>
                <p>
                    "Single sign-on with Okta is not configured for this instance yet."
                </p>
                <p class="muted">
                    "Setting up a new instance? Roster printed a one-time setup link in its server log "
                    "when it started. Open that link to create the first administrator session."
                </p>
                <p class="muted">
                    "Lost your session, or the link expired? On the server, run "
                    <code>"roster admin setup-link"</code>
                    " (it works on the data directory, with or without Roster running) and open the link it prints."
                </p>
            </div>
        </main>
    }
}

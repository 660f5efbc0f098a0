use leptos::prelude::*;
use leptos_meta::Title;

/// First-run landing after the setup link: the steps that make an instance useful.
#[component]
pub fn Welcome() -> impl IntoView {
    view! {
        <Title text="Welcome" />
        <h1>"Welcome to Roster"</h1>
        <p class="lead">"Your administrator session is ready. Three steps make this instance useful:"</p>
        <ol class="steps" data-testid="setup-steps">
            <li>
                <h2>"Name this instance"</h2>
                <p>"Give Roster a name your admins recognise."</p>
                <a class="button" href="/settings">"Open Settings"</a>
            </li>
            <li>
                <h2>"Connect Okta sign-in"</h2>
                <p>"Let admins sign in with Okta instead of setup links. This arrives with single sign-on support."</p>
            </li>
            <li>
                <h2>"Add a directory"</h2>
                <p>"Sync the users and groups assigned to an Okta app."</p>
                <a class="button" href="/settings/directory-sync">"Open Directory Sync"</a>
            </li>
        </ol>
    }
}

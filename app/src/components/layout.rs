use crate::api::{get_session_info, RenameInstance};
use leptos::prelude::*;
use leptos_router::components::{Outlet, A};

/// The signed-in frame: left navigation, top bar, and the page in between.
/// The rename action lives here so the top bar refreshes when Settings saves.
#[component]
pub fn AppLayout() -> impl IntoView {
    let rename = ServerAction::<RenameInstance>::new();
    provide_context(rename);
    let session = Resource::new(move || rename.version().get(), |_| get_session_info());
    let (nav_open, set_nav_open) = signal(false);
    // A viewer's controls that change things are hidden by the stylesheet
    // while the read-only notice is on the page (the core refuses them anyway).
    let read_only = move || {
        session
            .get()
            .and_then(Result::ok)
            .is_some_and(|info| info.admin.is_viewer())
    };

    view! {
        <div class="layout" class:nav-open=nav_open>
            <aside class="sidebar" id="sidebar">
                <a class="brand" href="/">
                    <img src="/favicon.svg" alt="" width="28" height="28" />
                    <span>"Roster"</span>
                </a>
                <nav aria-label="Main">
                    <A href="/" exact=true on:click=move |_| set_nav_open.set(false)>"Overview"</A>
                    <A href="/settings/directory-sync" on:click=move |_| set_nav_open.set(false)>"Directory Sync"</A>
                    <A href="/settings" exact=true on:click=move |_| set_nav_open.set(false)>"Settings"</A>
                    <A href="/settings/sign-in" on:click=move |_| set_nav_open.set(false)>"Sign-in"</A>
                    <A href="/settings/api-tokens" on:click=move |_| set_nav_open.set(false)>"API tokens"</A>
                    <A href="/settings/webhooks" on:click=move |_| set_nav_open.set(false)>"Webhooks"</A>
                    <A href="/settings/audit" on:click=move |_| set_nav_open.set(false)>"Audit log"</A>
                </nav>
            </aside>
            <div class="main-column">
                <header class="topbar">
                    <button
                        class="nav-toggle"
                        type="button"
                        aria-controls="sidebar"
                        aria-expanded=move || nav_open.get().to_string()
                        aria-label="Toggle navigation"
                        on:click=move |_| set_nav_open.update(|open| *open = !*open)
                    >
                        "☰"
                    </button>
                    <Transition fallback=|| view! { <span class="instance-name muted">"…"</span> }>
                        {move || Suspend::new(async move {
                            match session.await {
                                Ok(info) => view! {
                                    <span class="instance-name" data-testid="instance-name">{info.instance_name}</span>
                                    <span class="spacer"></span>
                                    {info.admin.is_viewer().then(|| view! {
                                        <span class="badge badge-neutral" data-testid="read-only-badge" title="You can see everything and change nothing">"Read-only"</span>
                                    })}
                                    <span class="admin-name" title="Signed in" data-testid="signed-in-as">{info.admin.display_name}</span>
                                    <form method="post" action="/signout">
                                        <button class="button button-ghost" type="submit">"Sign out"</button>
                                    </form>
                                }.into_any(),
                                Err(error) => view! {
                                    <span class="spacer"></span>
                                    <span class="muted">{error.to_string()}</span>
                                    <a class="button" href="/signin" rel="external">"Sign in"</a>
                                }.into_any(),
                            }
                        })}
                    </Transition>
                </header>
                <main class="content" id="content">
                    <Transition fallback=|| ()>
                        {move || read_only().then(|| view! {
                            <p class="notice" role="status" data-testid="read-only-notice">
                                "You have read-only access: you can see everything and change nothing. "
                                "To change things, ask for one of Roster's admin groups in Okta, then sign in again."
                            </p>
                        })}
                    </Transition>
                    <Outlet />
                </main>
            </div>
        </div>
    }
}

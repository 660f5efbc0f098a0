use crate::api::list_directories;
use crate::components::ErrorNotice;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn DirectorySync() -> impl IntoView {
    let directories = Resource::new(|| (), |_| list_directories());
    view! {
        <Title text="Directory Sync" />
        <h1>"Directory Sync"</h1>
        <Suspense fallback=|| view! { <p class="muted">"Loading directories…"</p> }>
            {move || Suspend::new(async move {
                match directories.await {
                    Ok(list) if list.is_empty() => view! { <EmptyState /> }.into_any(),
                    Ok(list) => view! {
                        <ul class="cards">
                            {list.into_iter().map(|d| view! {
                                <li class="card">
                                    <h2>{d.name}</h2>
                                    <p class="muted">{d.provider}" · created "{d.created_at}</p>
                                </li>
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                    Err(error) => view! { <ErrorNotice error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn EmptyState() -> impl IntoView {
    view! {
        <section class="empty-state" data-testid="directory-empty-state">
            <h2>"No directory connected yet"</h2>
            <p>
                "Directory Sync keeps Roster's users and groups in step with your identity provider. "
                "Roster reads the people and groups assigned to one Okta app, every two hours or on demand, "
                "and removes those who are deprovisioned or unassigned."
            </p>
            <p class="muted">
                "Connecting a directory takes a service app in Okta with read-only scopes and a key pair that Roster generates; "
                "the guided Add Directory wizard arrives with the next release."
            </p>
        </section>
    }
}

use crate::api::{
    list_directory_cards, DeleteDirectory, DirectoryCard, ResolvePendingDiff, SetDirectoryPaused,
    SyncDirectoryNow,
};
use crate::components::ErrorNotice;
use leptos::prelude::*;
use leptos_meta::Title;

/// Settings → Directory Sync: one card per directory, live while syncing.
#[component]
pub fn DirectorySync() -> impl IntoView {
    let sync = ServerAction::<SyncDirectoryNow>::new();
    let resolve = ServerAction::<ResolvePendingDiff>::new();
    let pause = ServerAction::<SetDirectoryPaused>::new();
    let delete = ServerAction::<DeleteDirectory>::new();
    let (tick, set_tick) = signal(0u64);
    let cards = Resource::new(
        move || {
            (
                tick.get(),
                sync.version().get(),
                resolve.version().get(),
                pause.version().get(),
                delete.version().get(),
            )
        },
        |_| list_directory_cards(),
    );
    poll_while_syncing(cards, set_tick);

    let action_error = move || {
        let errors = [
            sync.value().get().and_then(Result::err),
            resolve.value().get().and_then(Result::err),
            pause.value().get().and_then(Result::err),
            delete.value().get().and_then(Result::err),
        ];
        errors.into_iter().flatten().next()
    };

    view! {
        <Title text="Directory Sync" />
        <div class="page-head">
            <h1>"Directory Sync"</h1>
            <a class="button button-primary" href="/settings/directory-sync/new">"Add Directory"</a>
        </div>
        {move || action_error().map(|error| view! { <ErrorNotice error /> })}
        <Transition fallback=|| view! { <p class="muted">"Loading directories…"</p> }>
            {move || Suspend::new(async move {
                match cards.await {
                    Ok(list) if list.is_empty() => view! { <EmptyState /> }.into_any(),
                    Ok(list) => view! {
                        <ul class="cards">
                            {list.into_iter().map(|card| view! { <Card card sync resolve pause delete /> }).collect_view()}
                        </ul>
                    }.into_any(),
                    Err(error) => view! { <ErrorNotice error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// While any card shows a running sync, refresh the cards every 1.5 s (browser only).
fn poll_while_syncing(
    cards: Resource<Result<Vec<DirectoryCard>, crate::api::AppError>>,
    set_tick: WriteSignal<u64>,
) {
    Effect::new(move |_| {
        let syncing = cards
            .get()
            .and_then(Result::ok)
            .is_some_and(|list| list.iter().any(|c| c.progress.is_some()));
        if syncing {
            set_timeout(
                move || set_tick.update(|t| *t += 1),
                std::time::Duration::from_millis(1500),
            );
        }
    });
}

#[component]
fn Card(
    card: DirectoryCard,
    sync: ServerAction<SyncDirectoryNow>,
    resolve: ServerAction<ResolvePendingDiff>,
    pause: ServerAction<SetDirectoryPaused>,
    delete: ServerAction<DeleteDirectory>,
) -> impl IntoView {
    let id = card.id.clone();
    let (sync_id, pause_id, delete_id) = (id.clone(), id.clone(), id.clone());
    let confirm_input_id = format!("confirm-{id}");
    let pending_ids = (id.clone(), id.clone());
    let href = format!("/directories/{}", card.id);
    let paused = card.status == crate::api::DirectoryStatus::Paused;
    let app = card.app_label.clone().unwrap_or_else(|| "no app chosen".into());
    view! {
        <li class="card dir-card" data-testid="directory-card" data-directory-id=card.id.clone()>
            <div class="card-head">
                <h2><a href=href.clone()>{card.name.clone()}</a></h2>
                <span class=if card.pull_enabled { card.status.css() } else { "badge badge-info" } data-testid="status-badge">
                    {if card.pull_enabled { card.status.label() } else { "Receives SCIM pushes" }}
                </span>
            </div>
            <p class="muted">{card.okta_domain.clone()}" · app “"{app}"”"</p>
            <dl class="card-stats">
                <div><dt>"Active users"</dt><dd data-testid="card-active-users">{card.active_users}</dd></div>
                <div><dt>"Suspended"</dt><dd data-testid="card-suspended">{card.suspended}</dd></div>
                <div><dt>"Groups"</dt><dd data-testid="card-groups">{card.groups}</dd></div>
            </dl>
            <p class="card-times">
                "Last successful sync: "
                {match (card.last_success_ago.clone(), card.last_success_at.clone()) {
                    (Some(ago), Some(at)) => view! { <time datetime=at.clone() title=at>{ago}</time> }.into_any(),
                    _ => view! { <span>"never"</span> }.into_any(),
                }}
                {card.next_sync_in.clone().map(|next| view! { <span>" · next "<time title=card.next_sync_at.clone().unwrap_or_default()>{next}</time></span> })}
            </p>
            {card.last_run_summary.clone().filter(|_| card.progress.is_none()).map(|text| view! {
                <p class="card-times" data-testid="last-run">{text}</p>
            })}
            {card.progress.clone().map(|p| view! {
                <p class="notice notice-info" role="status" data-testid="sync-progress">
                    "Syncing — "{p.phase}": "{p.pages}" pages, "{p.users}" users, "{p.groups}" groups so far"
                </p>
            })}
            {card.last_error.clone().map(|e| view! {
                <div class="notice notice-error" data-testid="card-error">
                    <p><strong>{e.message}</strong></p>
                    <p class="hint">{e.hint}</p>
                </div>
            })}
            {card.failing_over_a_day.then(|| view! { <p class="field-error">"This directory has been failing for more than 24 hours."</p> })}
            {(!card.webhook_problems.is_empty()).then(|| view! {
                <div class="notice notice-warning" data-testid="webhook-problems">
                    {card.webhook_problems.iter().map(|p| view! { <p>{p.clone()}</p> }).collect_view()}
                    <p><a href="/settings/webhooks">"Open Webhooks"</a></p>
                </div>
            })}
            {card.pending.clone().map(|p| {
                let (apply_id, discard_id) = pending_ids;
                view! {
                    <div class="notice notice-warning" data-testid="pending-review">
                        <p>
                            "This sync would remove "<strong>{p.users_removed}" users"</strong>" and "
                            <strong>{p.groups_removed}" groups"</strong>", more than the safety threshold, so Roster held it back."
                        </p>
                        <details>
                            <summary>"Review changes"</summary>
                            <p>"Adds "{p.users_added}" users, updates "{p.users_updated}", adds "{p.groups_added}" groups."</p>
                            <p>"Users to remove (first 20): "{p.users_removed_sample.join(", ")}</p>
                            <p>"Groups to remove (first 20): "{p.groups_removed_sample.join(", ")}</p>
                        </details>
                        <div class="inline-forms">
                            <ActionForm action=resolve>
                                <input type="hidden" name="directory_id" value=apply_id />
                                <input type="hidden" name="apply" value="true" />
                                <button class="button button-danger" type="submit">"Apply"</button>
                            </ActionForm>
                            <ActionForm action=resolve>
                                <input type="hidden" name="directory_id" value=discard_id />
                                <input type="hidden" name="apply" value="false" />
                                <button class="button" type="submit">"Discard"</button>
                            </ActionForm>
                        </div>
                    </div>
                }
            })}
            <div class="card-actions">
                {if card.pull_enabled {
                    view! {
                        <ActionForm action=sync>
                            <input type="hidden" name="directory_id" value=sync_id />
                            <button class="button button-primary" type="submit" disabled=paused>"Sync Now"</button>
                        </ActionForm>
                    }.into_any()
                } else {
                    view! { <span class="badge badge-info" data-testid="push-only">"SCIM push only"</span> }.into_any()
                }}
                {card.scim_enabled.then(|| view! {
                    <a class="button" href=format!("{href}/scim")>"SCIM"</a>
                })}
                <a class="button" href=href.clone()>"Open"</a>
                <details class="menu">
                    <summary class="button">"More"</summary>
                    <div class="menu-body">
                        <a class="button" href=format!("{href}#settings")>"Edit settings"</a>
                        <a class="button" href=format!("{href}#keys")>"Rotate key"</a>
                        <ActionForm action=pause>
                            <input type="hidden" name="directory_id" value=pause_id />
                            <input type="hidden" name="paused" value=(!paused).to_string() />
                            <button class="button" type="submit">{if paused { "Resume syncing" } else { "Pause syncing" }}</button>
                        </ActionForm>
                        <ActionForm action=delete attr:class="delete-form">
                            <input type="hidden" name="directory_id" value=delete_id />
                            <label for=confirm_input_id.clone()>"Type “"{card.name.clone()}"” to delete"</label>
                            <input id=confirm_input_id type="text" name="confirm_name" autocomplete="off" />
                            <button class="button button-danger" type="submit">"Delete directory"</button>
                        </ActionForm>
                    </div>
                </details>
            </div>
        </li>
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
                "You need an Okta admin account that can create an API Services app. The guided steps take about ten minutes."
            </p>
            <a class="button button-primary" href="/settings/directory-sync/new">"Add Directory"</a>
        </section>
    }
}

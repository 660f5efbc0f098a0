//! Settings → Audit log: who did what, when, from where; filtered by action
//! (or a prefix such as `directory.`), actor, and failures only.

use crate::api::{list_audit, AuditEntryView};
use crate::components::ErrorNotice;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn AuditLog() -> impl IntoView {
    let action = RwSignal::new(String::new());
    let actor = RwSignal::new(String::new());
    let failed_only = RwSignal::new(false);
    let cursor = RwSignal::new(None::<String>);
    let entries = Resource::new(
        move || (action.get(), actor.get(), failed_only.get(), cursor.get()),
        |(action, actor, failed_only, cursor)| list_audit(action, actor, failed_only, cursor),
    );
    view! {
        <Title text="Audit log" />
        <h1>"Audit log"</h1>
        <p class="muted">"Sign-ins, configuration changes, syncs started, keys, reviews and tokens. Kept for a year by default (ROSTER_AUDIT_RETENTION_DAYS)."</p>
        <form class="filters" role="search" on:submit=|ev| ev.prevent_default()>
            <label>"Action "
                <select data-testid="audit-action" on:change=move |ev| { action.set(event_target_value(&ev)); cursor.set(None); }>
                    <option value="">"All"</option>
                    <option value="signin.">"Sign-ins"</option>
                    <option value="signin_settings.">"Sign-in settings"</option>
                    <option value="directory.">"Directories"</option>
                    <option value="sync.">"Syncs and reviews"</option>
                    <option value="api_token.">"API tokens"</option>
                    <option value="recovery_link.">"Recovery links"</option>
                </select>
            </label>
            <label>"Actor "
                <input type="search" maxlength="200" data-testid="audit-actor"
                    on:change=move |ev| { actor.set(event_target_value(&ev)); cursor.set(None); } />
            </label>
            <label><input type="checkbox" on:change=move |ev| { failed_only.set(event_target_checked(&ev)); cursor.set(None); } />" Failures only"</label>
        </form>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match entries.await {
                    Ok(page) if page.entries.is_empty() => view! { <p class="muted">"Nothing recorded matches."</p> }.into_any(),
                    Ok(page) => {
                        let next = page.next.clone();
                        view! {
                            <AuditTable entries=page.entries />
                            {next.map(|n| view! {
                                <button class="button" type="button" on:click=move |_| cursor.set(Some(n.clone()))>"Older entries"</button>
                            })}
                        }.into_any()
                    }
                    Err(error) => view! { <ErrorNotice error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn AuditTable(entries: Vec<AuditEntryView>) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table class="data" data-testid="audit-table">
                <thead>
                    <tr>
                        <th scope="col">"When"</th>
                        <th scope="col">"Who"</th>
                        <th scope="col">"Action"</th>
                        <th scope="col">"Target"</th>
                        <th scope="col">"From"</th>
                        <th scope="col">"Details"</th>
                    </tr>
                </thead>
                <tbody>
                    {entries.into_iter().map(|e| view! {
                        <tr data-testid="audit-row" data-action=e.action.clone() data-failed=e.failed.to_string()>
                            <td title=e.at.clone()>{e.at_ago.clone()}</td>
                            <td>{e.actor_name.clone()}" "<span class="muted">"("{e.actor_kind.clone()}")"</span></td>
                            <td><code>{e.action.clone()}</code>{e.failed.then(|| view! { " "<span class="badge badge-danger">"failed"</span> })}</td>
                            <td>{e.target.clone().map(|t| view! { <code>{t}</code> })}</td>
                            <td>{e.ip.clone().unwrap_or_default()}</td>
                            <td class="detail">{(!e.detail.is_empty()).then(|| view! { <code>{e.detail.clone()}</code> })}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

//! The pages under a directory: one user (traits, groups, history), one group
//! (members, keyset-paged) and one sync run (counters and diff sample).

use super::directory_detail::{encode, short_time, status_css};
use crate::api::{get_directory_group, get_directory_user, get_sync_run, GroupDetail, RunDetail, UserDetail};
use crate::components::ErrorNotice;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

fn param(name: &'static str) -> impl Fn() -> String + Copy + Send + Sync + 'static {
    let params = use_params_map();
    move || params.read().get(name).unwrap_or_default()
}

#[component]
fn Crumbs(directory_id: String, directory_name: String, here: String) -> impl IntoView {
    view! {
        <nav class="breadcrumbs" aria-label="Breadcrumb">
            <a href="/settings/directory-sync">"Directory Sync"</a>" / "
            <a href=format!("/directories/{directory_id}")>{directory_name}</a>" / "{here}
        </nav>
    }
}

#[component]
pub fn DirectoryUserPage() -> impl IntoView {
    let (id, user_id) = (param("id"), param("user_id"));
    let user = Resource::new(
        move || (id(), user_id()),
        |(id, user)| get_directory_user(id, user),
    );
    view! {
        <Title text="User" />
        <Suspense fallback=|| view! { <p class="muted">"Loading the user…"</p> }>
            {move || Suspend::new(async move {
                match user.await {
                    Ok(u) => view! { <UserView user=u /> }.into_any(),
                    Err(error) => view! { <ErrorNotice error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// Where a record came from, in the admin's words.
fn provenance_label(provenance: &str) -> &'static str {
    match provenance {
        "push" => "SCIM push from Okta",
        "pull+push" => "Pull sync and SCIM push",
        _ => "Pull sync",
    }
}

#[component]
fn UserView(user: UserDetail) -> impl IntoView {
    let directory_id = user.directory_id.clone();
    view! {
        <Crumbs directory_id=user.directory_id.clone() directory_name=user.directory_name.clone() here="User".into() />
        <div class="page-head">
            <h1>{user.display_name.clone()}</h1>
            <span class=status_css(&user.status) data-testid="user-status">{user.status.clone()}</span>
        </div>
        {user.removed_at.clone().map(|at| view! {
            <p class="notice notice-warning">"Removed from the directory on "{short_time(&at)}" (deprovisioned or unassigned in Okta, or deactivated by a SCIM push)."</p>
        })}
        <section class="panel">
            <dl class="facts-list">
                <dt>"Login"</dt><dd><code>{user.login.clone()}</code></dd>
                <dt>"E-mail"</dt><dd>{user.email.clone().unwrap_or_default()}</dd>
                <dt>"Okta id"</dt><dd><code data-testid="user-okta-id">{user.okta_id.clone()}</code></dd>
                <dt>"Source"</dt><dd data-testid="user-provenance">{provenance_label(&user.provenance)}</dd>
                <dt>"First seen"</dt><dd>{short_time(&user.first_seen_at)}</dd>
                <dt>"Last seen in a sync"</dt><dd>{short_time(&user.last_seen_at)}</dd>
            </dl>
        </section>
        <section class="panel" aria-labelledby="groups-heading">
            <h2 id="groups-heading">"Groups"</h2>
            {if user.groups.is_empty() {
                view! { <p class="empty-row">"Not a member of any synced group."</p> }.into_any()
            } else {
                view! {
                    <ul class="chips" data-testid="user-groups">
                        {user.groups.into_iter().map(|g| view! {
                            <li><a href=format!("/directories/{directory_id}/groups/{}", g.id)>{g.name}</a></li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </section>
        <section class="panel" aria-labelledby="traits-heading">
            <h2 id="traits-heading">"Profile attributes (traits)"</h2>
            <table class="data" data-testid="user-traits">
                <tbody>
                    {user.traits.into_iter().map(|(key, value)| view! {
                        <tr><th scope="row"><code>{key}</code></th><td>{value}</td></tr>
                    }).collect_view()}
                </tbody>
            </table>
        </section>
        <section class="panel" aria-labelledby="user-history-heading">
            <h2 id="user-history-heading">"Status history"</h2>
            <ol class="timeline" data-testid="user-history">
                {user.history.into_iter().map(|e| {
                    let what = match e.event.as_str() {
                        "added" => format!("Added as {}", e.status),
                        "removed" => "Removed".to_owned(),
                        _ => format!("Status changed to {}", e.status),
                    };
                    view! {
                        <li>
                            <time datetime=e.at.clone()>{short_time(&e.at)}</time>" — "{what}" "
                            <a href=format!("/directories/{}/runs/{}", user.directory_id, e.run_id)>"(sync run)"</a>
                        </li>
                    }
                }).collect_view()}
            </ol>
        </section>
    }
}

#[component]
pub fn DirectoryGroupPage() -> impl IntoView {
    let (id, group_id) = (param("id"), param("group_id"));
    let query = use_query_map();
    let cursor = move || query.read().get("after").filter(|c| !c.is_empty());
    let group = Resource::new(
        move || (id(), group_id(), cursor()),
        |(id, group, cursor)| get_directory_group(id, group, cursor),
    );
    view! {
        <Title text="Group" />
        <Suspense fallback=|| view! { <p class="muted">"Loading the group…"</p> }>
            {move || Suspend::new(async move {
                match group.await {
                    Ok(g) => view! { <GroupView group=g /> }.into_any(),
                    Err(error) => view! { <ErrorNotice error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn GroupView(group: GroupDetail) -> impl IntoView {
    let directory_id = group.directory_id.clone();
    let next = group
        .next_cursor
        .clone()
        .map(|c| format!("?after={}", encode(&c)));
    view! {
        <Crumbs directory_id=group.directory_id.clone() directory_name=group.directory_name.clone() here="Group".into() />
        <div class="page-head"><h1>{group.name.clone()}</h1><span class="badge badge-neutral">{group.kind.clone()}</span></div>
        {group.removed.then(|| view! { <p class="notice notice-warning">"This group is no longer assigned to the app."</p> })}
        <p class="muted">{group.description.clone().unwrap_or_default()}</p>
        <p class="muted">"Okta id "<code>{group.okta_id.clone()}</code>" · last membership change "
            {group.last_membership_updated.as_deref().map(short_time).unwrap_or_default()}</p>
        <section class="panel">
            <h2>"Members"</h2>
            <p class="muted" data-testid="members-total">{group.members_total}" members"</p>
            <table class="data" data-testid="members-table">
                <thead><tr><th scope="col">"Name"</th><th scope="col">"Login"</th><th scope="col">"Status"</th></tr></thead>
                <tbody>
                    {group.members.into_iter().map(|m| view! {
                        <tr data-okta-id=m.okta_id.clone()>
                            <td><a href=format!("/directories/{directory_id}/users/{}", m.okta_id)>{m.display_name}</a></td>
                            <td><code>{m.login}</code></td>
                            <td><span class=status_css(&m.status)>{m.status.clone()}</span></td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
            {next.map(|href| view! { <nav class="pager"><a class="button button-small" href=href rel="next">"Next members"</a></nav> })}
        </section>
    }
}

#[component]
pub fn SyncRunPage() -> impl IntoView {
    let (id, run_id) = (param("id"), param("run_id"));
    let run = Resource::new(move || (id(), run_id()), |(id, run)| get_sync_run(id, run));
    view! {
        <Title text="Sync run" />
        <Suspense fallback=|| view! { <p class="muted">"Loading the run…"</p> }>
            {move || Suspend::new(async move {
                match run.await {
                    Ok(r) => view! { <RunView detail=r /> }.into_any(),
                    Err(error) => view! { <ErrorNotice error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn RunView(detail: RunDetail) -> impl IntoView {
    let run = detail.run.clone();
    let facts = vec![
        ("Trigger", run.trigger.clone()),
        ("Started", short_time(&run.started_at)),
        (
            "Duration",
            run.duration_secs
                .map(|s| format!("{s:.1} s"))
                .unwrap_or_else(|| "—".into()),
        ),
        ("API calls", run.api_calls.to_string()),
        ("Pages", detail.pages.to_string()),
        ("429 responses", run.rate_limited.to_string()),
        (
            "Paced waits",
            format!("{} ({} ms)", detail.paced_waits, detail.waited_ms),
        ),
        ("Retries", detail.retries.to_string()),
        ("Users fetched", detail.users_fetched.to_string()),
        (
            "Groups fetched",
            format!(
                "{} ({} unchanged, members not re-fetched)",
                detail.groups_fetched, detail.groups_skipped
            ),
        ),
        (
            "Users + / ~ / −",
            format!(
                "{} / {} / {}",
                run.users_added, run.users_updated, run.users_removed
            ),
        ),
        (
            "Groups + / ~ / −",
            format!(
                "{} / {} / {}",
                run.groups_added, run.groups_updated, run.groups_removed
            ),
        ),
        (
            "Memberships + / −",
            format!("{} / {}", detail.memberships_added, detail.memberships_removed),
        ),
    ];
    view! {
        <Crumbs directory_id=detail.directory_id.clone() directory_name=detail.directory_name.clone() here="Sync run".into() />
        <div class="page-head"><h1>"Sync run"</h1><span class=status_css(&run.status) data-testid="run-status">{run.status.clone()}</span></div>
        {run.error.clone().map(|e| view! {
            <div class="notice notice-error"><p><strong>{e.message}</strong></p><p class="hint">{e.hint}</p></div>
        })}
        <section class="panel">
            <dl class="facts-list">
                {facts.into_iter().map(|(k, v)| view! { <dt>{k}</dt><dd>{v}</dd> }).collect_view()}
            </dl>
        </section>
        <section class="panel" aria-labelledby="sample-heading">
            <h2 id="sample-heading">"Changes (first 20 of each kind)"</h2>
            {if detail.sample.is_empty() {
                view! { <p class="empty-row">"No changes recorded."</p> }.into_any()
            } else {
                view! {
                    <dl class="facts-list" data-testid="diff-sample">
                        {detail.sample.into_iter().map(|(what, names)| view! { <dt>{what}</dt><dd>{names.join(", ")}</dd> }).collect_view()}
                    </dl>
                }.into_any()
            }}
        </section>
    }
}

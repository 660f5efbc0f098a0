//! `/directories/:id`: a directory's synced users (searchable, keyset-paged
//! through the URL so every page is linkable and works without wasm), its
//! groups and its sync history.

use crate::api::{
    get_directory, list_directory_groups, list_directory_users, DirectoryDetail, GroupQuery, GroupsPage,
    KeysView, RotateDirectoryKey, RunView, SetDirectoryPaused, SettingsView, UpdateDirectorySettings,
    UserQuery, UsersPage, VerifyDirectoryKey,
};
use crate::components::{CopyButton, ErrorNotice};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Form;
use leptos_router::hooks::{use_params_map, use_query_map};

/// Statuses an admin filters by, with Okta's names as values.
const STATUSES: &[(&str, &str)] = &[
    ("", "All statuses"),
    ("ACTIVE", "Active"),
    ("STAGED", "Staged"),
    ("PROVISIONED", "Provisioned"),
    ("RECOVERY", "Recovery"),
    ("PASSWORD_EXPIRED", "Password expired"),
    ("LOCKED_OUT", "Locked out"),
    ("SUSPENDED", "Suspended"),
];

#[component]
pub fn DirectoryPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let save = ServerAction::<UpdateDirectorySettings>::new();
    let pause = ServerAction::<SetDirectoryPaused>::new();
    let rotate = ServerAction::<RotateDirectoryKey>::new();
    let verify = ServerAction::<VerifyDirectoryKey>::new();
    let actions = DetailActions {
        save,
        pause,
        rotate,
        verify,
    };
    let detail = Resource::new(
        move || {
            (
                id(),
                save.version().get(),
                pause.version().get(),
                rotate.version().get(),
                verify.version().get(),
            )
        },
        |(id, ..)| get_directory(id),
    );
    view! {
        <Title text="Directory" />
        <nav class="breadcrumbs" aria-label="Breadcrumb">
            <a href="/settings/directory-sync">"Directory Sync"</a>" / Directory"
        </nav>
        <Transition fallback=|| view! { <p class="muted">"Loading the directory…"</p> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(d) => view! {
                        <Summary detail=d.clone() />
                        <section class="panel" aria-labelledby="scim-link-heading">
                            <h2 id="scim-link-heading">"SCIM push"</h2>
                            <p>
                                "Let Okta push users and groups the moment they change, beside the scheduled pull. "
                                <a href=format!("/directories/{}/scim", d.card.id) data-testid="scim-link">"Set up SCIM push"</a>
                            </p>
                        </section>
                        <section class="panel" aria-labelledby="hook-link-heading">
                            <h2 id="hook-link-heading">"Real-time changes"</h2>
                            <p>
                                "Learn of a deactivation in seconds, not at the next sync: Okta calls Roster as things change (an event hook), "
                                "or Roster reads Okta's System Log (polling, for a server Okta cannot reach). "
                                <a href=format!("/directories/{}/okta-hook", d.card.id) data-testid="hook-link">"Set up real-time changes"</a>
                            </p>
                        </section>
                        <UsersSection directory_id=d.card.id.clone() />
                        <GroupsSection directory_id=d.card.id.clone() />
                        <History runs=d.runs.clone() directory_id=d.card.id.clone() />
                        <SettingsSection directory_id=d.card.id.clone() name=d.card.name.clone() settings=d.settings.clone() actions />
                        <KeysSection directory_id=d.card.id.clone() keys=d.keys actions />
                    }.into_any(),
                    Err(error) => view! { <ErrorNotice error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[derive(Clone, Copy)]
struct DetailActions {
    save: ServerAction<UpdateDirectorySettings>,
    pause: ServerAction<SetDirectoryPaused>,
    rotate: ServerAction<RotateDirectoryKey>,
    verify: ServerAction<VerifyDirectoryKey>,
}

#[component]
fn SettingsSection(
    directory_id: String,
    name: String,
    settings: SettingsView,
    actions: DetailActions,
) -> impl IntoView {
    let DetailActions { save, pause, .. } = actions;
    let pause_id = directory_id.clone();
    view! {
        <section class="panel" id="settings" aria-labelledby="settings-heading">
            <h2 id="settings-heading">"Settings"</h2>
            <ActionForm action=save attr:class="form" attr:novalidate=true attr:data-testid="settings-form">
                <input type="hidden" name="directory_id" value=directory_id />
                <label for="dir-name">"Name"</label>
                <input id="dir-name" name="name" type="text" value=name />
                <label for="dir-interval">"Sync every (minutes)"</label>
                <p class="hint" id="dir-interval-hint">"15 to 1440. Okta changes reach Roster within this time; Sync Now is always available."</p>
                <input id="dir-interval" name="interval_minutes" type="number" min="15" max="1440" aria-describedby="dir-interval-hint" value=settings.interval_minutes />
                <label for="dir-share">"Share of Okta's rate limits Roster may use (%)"</label>
                <p class="hint" id="dir-share-hint">"10 to 90. Leaves the rest of each Okta rate-limit bucket to your other integrations."</p>
                <input id="dir-share" name="rate_limit_percent" type="number" min="10" max="90" aria-describedby="dir-share-hint" value=settings.rate_limit_percent />
                <label for="dir-breaker">"Hold a sync for review when it would remove more than (%)"</label>
                <p class="hint" id="dir-breaker-hint">"Of the directory's users or groups. A sync that would remove everyone is always held."</p>
                <input id="dir-breaker" name="breaker_percent" type="number" min="1" max="100" aria-describedby="dir-breaker-hint" value=settings.breaker_percent />
                <div>
                    <button class="button button-primary" type="submit" disabled=move || save.pending().get()>"Save settings"</button>
                </div>
                {move || save.value().get().map(|outcome| match outcome {
                    Ok(()) => view! { <p class="notice notice-success" role="status">"Settings saved."</p> }.into_any(),
                    Err(error) => view! { <ErrorNotice error /> }.into_any(),
                })}
            </ActionForm>
            <ActionForm action=pause attr:class="inline-forms">
                <input type="hidden" name="directory_id" value=pause_id />
                <input type="hidden" name="paused" value=(!settings.paused).to_string() />
                <button class="button" type="submit">{if settings.paused { "Resume scheduled syncs" } else { "Pause scheduled syncs" }}</button>
            </ActionForm>
        </section>
    }
}

#[component]
fn KeysSection(directory_id: String, keys: KeysView, actions: DetailActions) -> impl IntoView {
    let DetailActions { rotate, verify, .. } = actions;
    let jwks_url = keys.jwks_url.clone();
    view! {
        <section class="panel" id="keys" aria-labelledby="keys-heading">
            <h2 id="keys-heading">"Signing key"</h2>
            <p>"Active key: "<code data-testid="active-kid">{keys.active_kid.clone().unwrap_or_default()}</code></p>
            <p class="hint">"JWKS URL (publishes the active key and, during a rotation, the new one): "<code>{jwks_url}</code></p>
            {match keys.next {
                None => view! {
                    <p>"Rotating creates a new key and publishes it next to the active one. Syncs keep using the active key until you add the new one in Okta and verify."</p>
                    <ActionForm action=rotate>
                        <input type="hidden" name="directory_id" value=directory_id.clone() />
                        <button class="button" type="submit">"Rotate key"</button>
                    </ActionForm>
                    {move || rotate.value().get().and_then(Result::err).map(|error| view! { <ErrorNotice error /> })}
                }.into_any(),
                Some(next) => {
                    let jwk = Signal::derive({ let j = next.jwk_json.clone(); move || j.clone() });
                    view! {
                        <div class="notice notice-warning" data-testid="rotation-pending">
                            <p>"Rotation in progress: add this new public key to the API Services app in Okta (General → Public keys → Add key), then verify. Roster switches to it after a successful verify and retires the old key."</p>
                        </div>
                        <div class="key-block">
                            <label for="next-jwk">"New public key (JWK), kid "<code>{next.kid.clone()}</code></label>
                            <textarea id="next-jwk" class="code" readonly rows="9" data-testid="next-jwk">{next.jwk_json.clone()}</textarea>
                            <CopyButton value=jwk label="new public key as JWK" />
                        </div>
                        <ActionForm action=verify>
                            <input type="hidden" name="directory_id" value=directory_id.clone() />
                            <button class="button button-primary" type="submit" disabled=move || verify.pending().get()>
                                {move || if verify.pending().get() { "Verifying…" } else { "Verify and switch" }}
                            </button>
                        </ActionForm>
                    }.into_any()
                }
            }}
            {move || verify.value().get().map(|outcome| match outcome {
                Ok(report) if report.ok => view! { <p class="notice notice-success" role="status">"Verified: Roster now signs with the new key."</p> }.into_any(),
                Ok(report) => {
                    let failed: Vec<String> = report.items.into_iter().filter(|i| i.status == "fail")
                        .map(|i| format!("{}: {}", i.label, i.hint.unwrap_or(i.detail))).collect();
                    view! {
                        <div class="notice notice-error" role="alert" data-testid="rotation-verify-failed">
                            <p>"Okta does not accept the new key yet; the active key stays in use."</p>
                            {failed.into_iter().map(|f| view! { <p class="hint">{f}</p> }).collect_view()}
                        </div>
                    }.into_any()
                }
                Err(error) => view! { <ErrorNotice error /> }.into_any(),
            })}
        </section>
    }
}

#[component]
fn Summary(detail: DirectoryDetail) -> impl IntoView {
    let card = detail.card;
    view! {
        <div class="page-head">
            <h1>{card.name.clone()}</h1>
            <span class=if card.pull_enabled { card.status.css() } else { "badge badge-info" } data-testid="status-badge">
                {if card.pull_enabled { card.status.label() } else { "Receives SCIM pushes" }}
            </span>
        </div>
        <p class="muted">
            {card.okta_domain.clone()}" · app “"{card.app_label.clone().unwrap_or_default()}"” · last successful sync "
            {card.last_success_ago.clone().unwrap_or_else(|| "never".into())}
        </p>
        <dl class="card-stats">
            <div><dt>"Active users"</dt><dd>{card.active_users}</dd></div>
            <div><dt>"Suspended"</dt><dd>{card.suspended}</dd></div>
            <div><dt>"Groups"</dt><dd>{card.groups}</dd></div>
        </dl>
    }
}

#[component]
fn UsersSection(directory_id: String) -> impl IntoView {
    let query = use_query_map();
    let user_query = move || {
        query.with(|q| UserQuery {
            search: q.get("q").unwrap_or_default(),
            status: q.get("status").unwrap_or_default(),
            sort: q.get("sort").unwrap_or_default(),
            cursor: q.get("after").filter(|c| !c.is_empty()),
        })
    };
    let page_id = directory_id.clone();
    let users = Resource::new(user_query, move |q| list_directory_users(page_id.clone(), q));
    let current = user_query();
    view! {
        <section class="panel" id="users" aria-labelledby="users-heading">
            <h2 id="users-heading">"Users"</h2>
            <Form method="GET" action="" attr:class="filters">
                <label class="sr-only" for="user-search">"Search users"</label>
                <input id="user-search" type="search" name="q" placeholder="Search name, e-mail or login" value=current.search.clone() />
                <label class="sr-only" for="user-status">"Status"</label>
                <select id="user-status" name="status">
                    {STATUSES.iter().map(|(value, label)| view! {
                        <option value=*value selected=current.status == *value>{*label}</option>
                    }).collect_view()}
                </select>
                <input type="hidden" name="sort" value=current.sort.clone() />
                <button class="button" type="submit">"Search"</button>
            </Form>
            <Transition fallback=|| view! { <p class="muted">"Loading users…"</p> }>
                {move || {
                    let directory_id = directory_id.clone();
                    Suspend::new(async move {
                        match users.await {
                            Ok(page) => view! { <UsersTable page query=user_query() directory_id /> }.into_any(),
                            Err(error) => view! { <ErrorNotice error /> }.into_any(),
                        }
                    })
                }}
            </Transition>
        </section>
    }
}

/// Sortable columns: (sort value, heading).
const USER_COLUMNS: &[(&str, &str)] = &[
    ("name", "Name"),
    ("email", "E-mail"),
    ("login", "Login"),
    ("status", "Status"),
];

#[component]
fn UsersTable(page: UsersPage, query: UserQuery, directory_id: String) -> impl IntoView {
    let base = format!("?q={}&status={}", encode(&query.search), encode(&query.status));
    let sort = if query.sort.is_empty() {
        "name".to_owned()
    } else {
        query.sort.clone()
    };
    let next_href = page
        .next_cursor
        .clone()
        .map(|cursor| format!("{base}&sort={}&after={}", encode(&sort), encode(&cursor)));
    let first_href = format!("{base}&sort={}", encode(&sort));
    let paged = query.cursor.is_some();
    let shown = page.rows.len();
    let heading = {
        let base = base.clone();
        let sort = sort.clone();
        move |value: &'static str, label: &'static str, class: &'static str| {
            let active = sort == value;
            // Last updated and groups count read best largest first.
            let descending = matches!(value, "updated" | "groups");
            let (aria, arrow) = match (active, descending) {
                (false, _) => ("none", None),
                (true, false) => ("ascending", Some(" ▴")),
                (true, true) => ("descending", Some(" ▾")),
            };
            view! {
                <th scope="col" class=class aria-sort=aria>
                    <a class="sort-link" href=format!("{base}&sort={value}") data-sort=value>{label}{arrow}</a>
                </th>
            }
        }
    };
    view! {
        <p class="muted" data-testid="users-total">{page.total}" users match"</p>
        {if page.rows.is_empty() {
            view! { <p class="empty-row">"No users match this search."</p> }.into_any()
        } else {
            view! {
                <div class="table-wrap">
                    <table class="data" data-testid="users-table">
                        <thead><tr>
                            {USER_COLUMNS.iter().map(|(value, label)| heading(value, label, "")).collect_view()}
                            {heading("groups", "Groups", "num")}
                            {heading("updated", "Last updated", "")}
                        </tr></thead>
                        <tbody>
                            {page.rows.into_iter().map(|u| view! {
                                <tr data-okta-id=u.okta_id.clone()>
                                    <td><a href=format!("/directories/{directory_id}/users/{}", u.okta_id)>{u.display_name}</a></td>
                                    <td>{u.email.unwrap_or_default()}</td>
                                    <td><code>{u.login}</code></td>
                                    <td><span class=status_css(&u.status)>{u.status.clone()}</span></td>
                                    <td class="num">{u.groups}</td>
                                    <td><time datetime=u.updated_at.clone()>{short_time(&u.updated_at)}</time></td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
            }.into_any()
        }}
        <nav class="pager" aria-label="Users pages">
            <span class="muted">{format!("Showing {shown}")}</span>
            {paged.then(|| view! { <a class="button button-small" href=first_href.clone()>"First page"</a> })}
            {next_href.map(|href| view! { <a class="button button-small" href=href rel="next" data-testid="next-page">"Next page"</a> })}
        </nav>
    }
}

#[component]
fn GroupsSection(directory_id: String) -> impl IntoView {
    let query = use_query_map();
    let group_query = move || {
        query.with(|q| GroupQuery {
            search: q.get("gq").unwrap_or_default(),
            cursor: q.get("gafter").filter(|c| !c.is_empty()),
        })
    };
    let page_id = directory_id.clone();
    let groups = Resource::new(group_query, move |q| list_directory_groups(page_id.clone(), q));
    let current = group_query();
    view! {
        <section class="panel" id="groups" aria-labelledby="groups-heading">
            <h2 id="groups-heading">"Groups"</h2>
            <Form method="GET" action="" attr:class="filters">
                <label class="sr-only" for="group-search">"Search groups"</label>
                <input id="group-search" type="search" name="gq" placeholder="Search group names" value=current.search.clone() />
                <button class="button" type="submit">"Search groups"</button>
            </Form>
            <Transition fallback=|| view! { <p class="muted">"Loading groups…"</p> }>
                {move || {
                    let directory_id = directory_id.clone();
                    Suspend::new(async move {
                        match groups.await {
                            Ok(page) => view! { <GroupsTable page query=group_query() directory_id /> }.into_any(),
                            Err(error) => view! { <ErrorNotice error /> }.into_any(),
                        }
                    })
                }}
            </Transition>
        </section>
    }
}

#[component]
fn GroupsTable(page: GroupsPage, query: GroupQuery, directory_id: String) -> impl IntoView {
    let next_href = page
        .next_cursor
        .clone()
        .map(|cursor| format!("?gq={}&gafter={}#groups", encode(&query.search), encode(&cursor)));
    view! {
        <p class="muted" data-testid="groups-total">{page.total}" groups match"</p>
        {if page.rows.is_empty() {
            view! { <p class="empty-row">"No groups match."</p> }.into_any()
        } else {
            view! {
                <div class="table-wrap">
                    <table class="data" data-testid="groups-table">
                        <thead><tr><th scope="col">"Name"</th><th scope="col">"Type"</th><th scope="col" class="num">"Members"</th><th scope="col">"Last membership change"</th></tr></thead>
                        <tbody>
                            {page.rows.into_iter().map(|g| view! {
                                <tr data-okta-id=g.okta_id.clone()>
                                    <td><a href=format!("/directories/{directory_id}/groups/{}", g.okta_id)>{g.name}</a></td>
                                    <td>{g.kind}</td>
                                    <td class="num">{g.members}</td>
                                    <td>{g.last_membership_updated.as_deref().map(short_time).unwrap_or_default()}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
            }.into_any()
        }}
        {next_href.map(|href| view! { <nav class="pager" aria-label="Groups pages"><a class="button button-small" href=href rel="next">"Next groups"</a></nav> })}
    }
}

#[component]
fn History(runs: Vec<RunView>, directory_id: String) -> impl IntoView {
    view! {
        <section class="panel" id="history" aria-labelledby="history-heading">
            <h2 id="history-heading">"Sync history"</h2>
            <div class="table-wrap">
                <table class="data" data-testid="runs-table">
                    <thead><tr>
                        <th scope="col">"Started"</th><th scope="col">"Trigger"</th><th scope="col">"Outcome"</th>
                        <th scope="col" class="num">"Duration"</th><th scope="col" class="num">"API calls"</th><th scope="col" class="num">"429s"</th>
                        <th scope="col">"Users + / ~ / −"</th><th scope="col">"Groups + / ~ / −"</th>
                    </tr></thead>
                    <tbody>
                        {runs.into_iter().map(|r| view! {
                            <tr data-run-id=r.id.clone()>
                                <td><a href=format!("/directories/{directory_id}/runs/{}", r.id)><time datetime=r.started_at.clone()>{short_time(&r.started_at)}</time></a></td>
                                <td>{r.trigger}</td>
                                <td>
                                    <span class=status_css(&r.status)>{r.status.clone()}</span>
                                    {r.error.map(|e| view! { <p class="hint">{e.message}" — "{e.hint}</p> })}
                                </td>
                                <td class="num">{r.duration_secs.map(|s| format!("{s:.1} s")).unwrap_or_default()}</td>
                                <td class="num">{r.api_calls}</td>
                                <td class="num">{r.rate_limited}</td>
                                <td>{format!("{} / {} / {}", r.users_added, r.users_updated, r.users_removed)}</td>
                                <td>{format!("{} / {} / {}", r.groups_added, r.groups_updated, r.groups_removed)}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    }
}

pub(crate) fn status_css(status: &str) -> &'static str {
    match status {
        "ACTIVE" | "succeeded" => "badge badge-success",
        "SUSPENDED" | "LOCKED_OUT" | "PASSWORD_EXPIRED" | "needs_confirmation" => "badge badge-warning",
        "failed" => "badge badge-danger",
        "running" => "badge badge-info",
        _ => "badge badge-neutral",
    }
}

/// `2026-11-22T10:04:05.123Z` → `2026-11-22 10:04 UTC`.
pub(crate) fn short_time(stored: &str) -> String {
    match (stored.get(..10), stored.get(11..16)) {
        (Some(day), Some(time)) => format!("{day} {time} UTC"),
        _ => stored.to_owned(),
    }
}

/// Percent-encodes a query value (RFC 3986 unreserved characters pass).
pub(crate) fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

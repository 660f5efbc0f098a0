//! `/directories/:id/scim`: SCIM push for one directory. Turn it on, give
//! Okta the base URL and settings (copy buttons), generate tokens (shown
//! once), revoke them, and read the recent requests to troubleshoot
//! "Test API Credentials failed".

use crate::api::{get_scim, CreateScimToken, RevokeScimToken, ScimTokenView, ScimView, SetScim};
use crate::components::{CopyButton, ErrorNotice};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

#[component]
pub fn DirectoryScimPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let toggle = ServerAction::<SetScim>::new();
    let create = ServerAction::<CreateScimToken>::new();
    let revoke = ServerAction::<RevokeScimToken>::new();
    let scim = Resource::new(
        move || {
            (
                id(),
                toggle.version().get(),
                create.version().get(),
                revoke.version().get(),
            )
        },
        |(id, ..)| get_scim(id),
    );
    view! {
        <Title text="SCIM push" />
        <nav class="breadcrumbs" aria-label="Breadcrumb">
            <a href="/settings/directory-sync">"Directory Sync"</a>" / "
            <a href=move || format!("/directories/{}", id())>"Directory"</a>" / SCIM push"
        </nav>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match scim.await {
                    Ok(s) => view! { <ScimSetup s toggle create revoke /> }.into_any(),
                    Err(error) => view! { <ErrorNotice error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn ScimSetup(
    s: ScimView,
    toggle: ServerAction<SetScim>,
    create: ServerAction<CreateScimToken>,
    revoke: ServerAction<RevokeScimToken>,
) -> impl IntoView {
    let directory_id = s.directory_id.clone();
    let toggle_id = directory_id.clone();
    let token_dir = directory_id.clone();
    let settings = s.okta_settings.clone();
    view! {
        <div class="page-head">
            <h1>"SCIM push — "{s.directory_name.clone()}</h1>
            <span class=if s.enabled { "badge badge-success" } else { "badge badge-neutral" } data-testid="scim-state">
                {if s.enabled { "On" } else { "Off" }}
            </span>
        </div>
        <p class="muted">
            {if s.pull_enabled {
                "Okta pushes users and groups the moment they change; the scheduled pull still runs and catches anything a push missed."
            } else {
                "This directory is fed only by Okta's SCIM push: no API Services app, no pull."
            }}
        </p>
        {move || toggle.value().get().and_then(Result::err).map(|error| view! { <ErrorNotice error /> })}
        {(s.pull_enabled || !s.enabled).then(|| view! {
            <ActionForm action=toggle attr:data-testid="scim-toggle">
                <input type="hidden" name="directory_id" value=toggle_id.clone() />
                <input type="hidden" name="enabled" value=(!s.enabled).to_string() />
                <button class=if s.enabled { "button" } else { "button button-primary" } type="submit">
                    {if s.enabled { "Turn SCIM off" } else { "Turn SCIM on" }}
                </button>
            </ActionForm>
        })}
        <section class="panel" aria-labelledby="okta-scim-heading">
            <h2 id="okta-scim-heading">"1. In Okta: the app's Provisioning settings"</h2>
            <p>
                "Okta Admin Console → "<b>"Applications"</b>" → your app → "<b>"General"</b>": Provisioning "<b>"SCIM"</b>
                "; then "<b>"Provisioning → Integration"</b>". Enter:"
            </p>
            <dl class="copy-list" data-testid="scim-okta-settings">
                {settings.into_iter().map(|(label, value)| {
                    let copy = Signal::derive({
                        let v = value.clone();
                        move || v.clone()
                    });
                    let aria = label.to_lowercase();
                    view! {
                        <dt>{label}</dt>
                        <dd><code>{value}</code><CopyButton value=copy label=aria /></dd>
                    }
                }).collect_view()}
            </dl>
            <p class="hint">
                "Why one URL per directory: the token already names the directory, but a URL Okta shows in its own "
                "settings tells an admin at a glance which Roster directory an app feeds. Tokens work only on their directory's URL."
            </p>
        </section>
        <section class="panel" aria-labelledby="scim-tokens-heading">
            <h2 id="scim-tokens-heading">"2. Generate a token for Okta"</h2>
            <ActionForm action=create attr:class="form" attr:data-testid="scim-token-form">
                <input type="hidden" name="directory_id" value=token_dir />
                <label for="scim-token-name">"Name"</label>
                <p class="hint" id="scim-token-name-hint">"Where it is used, e.g. “Okta production”. Several tokens may be active at once, for rotation."</p>
                <input id="scim-token-name" name="name" type="text" required maxlength="80" autocomplete="off"
                    aria-describedby="scim-token-name-hint" />
                <div>
                    <button class="button button-primary" type="submit" disabled=move || create.pending().get()>
                        {move || if create.pending().get() { "Generating…" } else { "Generate token" }}
                    </button>
                </div>
            </ActionForm>
            {move || create.value().get().map(|outcome| match outcome {
                Ok(issued) => {
                    let secret = issued.secret.clone();
                    let copy = Signal::derive({
                        let s = secret.clone();
                        move || s.clone()
                    });
                    view! {
                        <div class="notice notice-success" role="status" data-testid="scim-new-token">
                            <p>
                                "Token “"{issued.token.name.clone()}"” generated. Paste it into Okta's "<b>"Authorization"</b>
                                " field now: it is shown only this once, and Roster keeps only its hash."
                            </p>
                            <div class="input-row">
                                <input type="text" readonly value=secret aria-label="The new SCIM token" data-testid="scim-token-secret" />
                                <CopyButton value=copy label="the new SCIM token" />
                            </div>
                        </div>
                    }.into_any()
                }
                Err(error) => view! { <ErrorNotice error /> }.into_any(),
            })}
            {move || revoke.value().get().and_then(Result::err).map(|error| view! { <ErrorNotice error /> })}
            {if s.tokens.is_empty() {
                view! { <p class="muted" data-testid="scim-no-tokens">"No tokens yet: Okta's requests get 401 until you generate one."</p> }.into_any()
            } else {
                view! { <TokenTable directory_id=directory_id.clone() list=s.tokens.clone() revoke /> }.into_any()
            }}
        </section>
        <section class="panel" aria-labelledby="scim-log-heading">
            <h2 id="scim-log-heading">"Recent requests"</h2>
            <p class="hint">"What Okta sent, newest first: method, path, answer and time. Bodies and tokens are never logged."</p>
            {if s.requests.is_empty() {
                view! { <p class="muted" data-testid="scim-no-requests">"No requests yet. In Okta, click "<b>"Test API Credentials"</b>"."</p> }.into_any()
            } else {
                view! {
                    <div class="table-wrap">
                        <table class="data" data-testid="scim-requests">
                            <thead><tr>
                                <th scope="col">"When"</th><th scope="col">"Request"</th><th scope="col">"Status"</th>
                                <th scope="col">"Time"</th><th scope="col">"Error"</th>
                            </tr></thead>
                            <tbody>
                                {s.requests.clone().into_iter().map(|r| view! {
                                    <tr data-testid="scim-request" data-status=r.status.to_string()>
                                        <td title=r.at.clone()>{r.ago.clone()}</td>
                                        <td><code>{r.method.clone()}" "{r.path.clone()}</code></td>
                                        <td><span class=if r.status < 400 { "badge badge-success" } else { "badge badge-danger" }>{r.status}</span></td>
                                        <td>{r.duration_ms}" ms"</td>
                                        <td>{r.error.clone().unwrap_or_default()}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }.into_any()
            }}
        </section>
    }
}

#[component]
fn TokenTable(
    directory_id: String,
    list: Vec<ScimTokenView>,
    revoke: ServerAction<RevokeScimToken>,
) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table class="data" data-testid="scim-tokens">
                <thead><tr>
                    <th scope="col">"Name"</th><th scope="col">"Token"</th><th scope="col">"Created"</th>
                    <th scope="col">"Last used"</th><th scope="col"><span class="sr-only">"Actions"</span></th>
                </tr></thead>
                <tbody>
                    {list.into_iter().map(|t| {
                        let dir = directory_id.clone();
                        view! {
                            <tr data-testid="scim-token-row" data-revoked=t.revoked.to_string()>
                                <td>{t.name.clone()}</td>
                                <td><code>{t.prefix.clone()}</code></td>
                                <td title=t.created_at.clone()>{t.created_ago.clone()}" by "{t.created_by.clone()}</td>
                                <td>{t.last_used_ago.clone().unwrap_or_else(|| "never".into())}</td>
                                <td>
                                    {if t.revoked {
                                        view! { <span class="badge badge-neutral">"Revoked"</span> }.into_any()
                                    } else {
                                        view! {
                                            <ActionForm action=revoke>
                                                <input type="hidden" name="directory_id" value=dir />
                                                <input type="hidden" name="token_id" value=t.id.clone() />
                                                <button class="button button-small button-danger" type="submit"
                                                    aria-label=format!("Revoke SCIM token {}", t.name)>"Revoke"</button>
                                            </ActionForm>
                                        }.into_any()
                                    }}
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

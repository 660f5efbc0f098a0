//! `/directories/:id/okta-hook`: real-time changes for one directory, so a
//! deactivation reaches Roster in seconds instead of at the next scheduled
//! sync. Two ways: an Okta Event Hook (the set-up in Okta's words with copy
//! buttons, the `curl` and Terraform equivalents, whether Okta verified the
//! hook, the last delivery) and System Log polling for installations Okta
//! cannot reach (on/off, interval, where the cursor stands).

use crate::api::{get_okta_hook, CreateOktaHook, HookSetupView, LogPollingUi, OktaHookView, SetLogPolling};
use crate::components::{CopyButton, ErrorNotice};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

#[component]
pub fn DirectoryHookPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let create = ServerAction::<CreateOktaHook>::new();
    let polling = ServerAction::<SetLogPolling>::new();
    let hook = Resource::new(
        move || (id(), create.version().get(), polling.version().get()),
        |(id, _, _)| get_okta_hook(id),
    );
    view! {
        <Title text="Real-time changes" />
        <nav class="breadcrumbs" aria-label="Breadcrumb">
            <a href="/settings/directory-sync">"Directory Sync"</a>" / "
            <a href=move || format!("/directories/{}", id())>"Directory"</a>" / Real-time changes"
        </nav>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match hook.await {
                    Ok(h) => view! { <HookPage h create polling /> }.into_any(),
                    Err(error) => view! { <ErrorNotice error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn HookPage(
    h: OktaHookView,
    create: ServerAction<CreateOktaHook>,
    polling: ServerAction<SetLogPolling>,
) -> impl IntoView {
    let has_setup = h.setup.is_some();
    view! {
        <div class="page-head">
            <h1>"Real-time changes — "{h.directory_name.clone()}</h1>
        </div>
        <p class="muted">
            "Learn of a deactivation, a suspension or a group change in seconds instead of at the next scheduled sync, "
            "two ways: Okta calls Roster (an event hook, when Okta can reach this server), or Roster reads Okta's System Log "
            "(polling, when it cannot). Either way Roster re-reads just the users and groups that changed; the scheduled sync still runs."
        </p>
        <div class="page-head">
            <h2>"Okta Event Hook (push)"</h2>
            <span class=if has_setup { "badge badge-success" } else { "badge badge-neutral" } data-testid="hook-state">
                {if has_setup { "Set up" } else { "Not set up" }}
            </span>
        </div>
        {move || create.value().get().and_then(Result::err).map(|error| view! { <ErrorNotice error /> })}
        {match h.setup.clone() {
            None if !h.pull_enabled => view! {
                <p class="notice" role="status">"This directory is fed by SCIM only: Okta already pushes its changes."</p>
            }.into_any(),
            None => view! { <CreateForm directory_id=h.directory_id.clone() create label="Set up event hook" header="Authorization".to_owned() /> }.into_any(),
            Some(setup) => view! { <Setup directory_id=h.directory_id.clone() setup create /> }.into_any(),
        }}
        {h.polling.clone().map(|p| view! { <Polling directory_id=h.directory_id.clone() p polling /> })}
    }
}

/// System Log polling: on/off, interval, and where its cursor stands.
#[component]
fn Polling(directory_id: String, p: LogPollingUi, polling: ServerAction<SetLogPolling>) -> impl IntoView {
    let badge = match p.state.as_str() {
        "healthy" => "badge badge-success",
        "failing" | "gap" => "badge badge-warning",
        _ => "badge badge-neutral",
    };
    let label = match p.state.as_str() {
        "healthy" => "Polling",
        "failing" => "Polls failing",
        "gap" => "Catching up",
        _ => "Off",
    };
    let off_id = directory_id.clone();
    view! {
        <section class="panel" aria-labelledby="polling-heading" data-testid="log-polling">
            <div class="page-head">
                <h2 id="polling-heading">"System Log polling (pull)"</h2>
                <span class=badge data-testid="polling-state" data-state=p.state.clone()>{label}</span>
            </div>
            <p class="hint">
                "For a Roster that Okta cannot call (behind a firewall): every few seconds Roster reads Okta's System Log "
                "and refreshes what it names. With a healthy log, scheduled syncs read only what changed, and a full "
                "sync still runs on the interval below. Needs the read-only scope "<code>"okta.logs.read"</code>
                " on the API Services app (Okta API Scopes → Grant)."
            </p>
            <p data-testid="polling-summary">{p.summary.clone()}</p>
            {p.enabled.then(|| view! {
                <dl class="facts-list" data-testid="polling-status">
                    <dt>"Last poll"</dt>
                    <dd data-testid="polling-last">{match p.last_poll_ago.clone() {
                        Some(ago) => format!("{ago} ({} events read; {} polls)", p.last_events, p.polls),
                        None => "not yet".to_owned(),
                    }}</dd>
                    <dt>"Read up to"</dt>
                    <dd>{p.cursor_at.clone().unwrap_or_else(|| "not yet".into())}</dd>
                    <dt>"Next scheduled sync"</dt>
                    <dd data-testid="polling-next-sync">{if p.next_sync_incremental { "incremental: only what the log names" } else { "full" }}</dd>
                </dl>
            })}
            {p.last_error.clone().map(|e| view! { <p class="notice notice-warning" role="status">{e}</p> })}
            {p.gap_reason.clone().map(|e| view! { <p class="notice notice-warning" role="status">{e}</p> })}
            {move || polling.value().get().and_then(Result::err).map(|error| view! { <ErrorNotice error /> })}
            <ActionForm action=polling attr:class="form form-inline" attr:data-testid="polling-form">
                <input type="hidden" name="directory_id" value=directory_id />
                <input type="hidden" name="enabled" value="true" />
                <label for="polling-interval">"Poll every (seconds)"</label>
                <input id="polling-interval" name="interval_secs" type="number" min="10" max="3600" value=p.interval_secs required />
                <label for="polling-reconcile">"Full sync every (hours)"</label>
                <input id="polling-reconcile" name="reconcile_hours" type="number" min="1" max="168" value=p.reconcile_hours required />
                <button class="button button-primary" type="submit" disabled=move || polling.pending().get()>
                    {if p.enabled { "Save" } else { "Turn on polling" }}
                </button>
            </ActionForm>
            {p.enabled.then(|| view! {
                <ActionForm action=polling attr:data-testid="polling-off-form">
                    <input type="hidden" name="directory_id" value=off_id.clone() />
                    <input type="hidden" name="enabled" value="false" />
                    <button class="button" type="submit" disabled=move || polling.pending().get()>"Turn off polling"</button>
                </ActionForm>
            })}
        </section>
    }
}

#[component]
fn CreateForm(
    directory_id: String,
    create: ServerAction<CreateOktaHook>,
    label: &'static str,
    header: String,
) -> impl IntoView {
    view! {
        <ActionForm action=create attr:class="form" attr:data-testid="hook-create-form">
            <input type="hidden" name="directory_id" value=directory_id />
            <label for="hook-header">"Header Okta sends the secret in"</label>
            <p class="hint" id="hook-header-hint">"Okta signs nothing: every call carries this header with a secret only Okta and Roster know."</p>
            <input id="hook-header" name="header_name" type="text" value=header maxlength="64"
                autocomplete="off" aria-describedby="hook-header-hint" required />
            <div>
                <button class="button button-primary" type="submit" disabled=move || create.pending().get()>
                    {move || if create.pending().get() { "Creating…" } else { label }}
                </button>
            </div>
        </ActionForm>
    }
}

/// A value for Okta's form, with its copy button.
#[component]
fn Field(label: &'static str, value: String, testid: &'static str) -> impl IntoView {
    let copy = Signal::derive({
        let v = value.clone();
        move || v.clone()
    });
    view! {
        <dt>{label}</dt>
        <dd><code data-testid=testid>{value}</code><CopyButton value=copy label=label.to_lowercase() /></dd>
    }
}

#[component]
fn Setup(directory_id: String, setup: HookSetupView, create: ServerAction<CreateOktaHook>) -> impl IntoView {
    let types = setup.event_types.join(", ");
    let current_header = setup.header_name.clone();
    let secret = setup
        .secret
        .clone()
        .unwrap_or_else(|| "(shown to admins only)".into());
    let curl = setup.curl.clone();
    let terraform = setup.terraform.clone();
    let curl_copy = Signal::derive({
        let v = curl.clone();
        move || v.clone()
    });
    let terraform_copy = Signal::derive({
        let v = terraform.clone();
        move || v.clone()
    });
    view! {
        <section class="panel" aria-labelledby="hook-okta-heading">
            <h2 id="hook-okta-heading">"1. In Okta: Workflow → Event Hooks → Create Event Hook"</h2>
            <dl class="copy-list" data-testid="hook-okta-settings">
                <Field label="Name" value="Roster".into() testid="hook-name" />
                <Field label="Endpoint URL" value=setup.url.clone() testid="hook-url" />
                <Field label="Authentication field" value=setup.header_name.clone() testid="hook-header" />
                <Field label="Authentication secret" value=secret testid="hook-secret" />
                <Field label="Subscribe to events" value=types testid="hook-types" />
            </dl>
            <p class="hint">"Then Save & Continue, and click "<b>"Verify"</b>": Okta calls Roster once with a challenge that Roster answers."</p>
        </section>
        <section class="panel" aria-labelledby="hook-status-heading">
            <h2 id="hook-status-heading">"2. Status"</h2>
            <dl class="facts-list" data-testid="hook-status">
                <dt>"Verified by Okta"</dt>
                <dd data-testid="hook-verified">{setup.verified_ago.clone().unwrap_or_else(|| "not yet: click Verify in Okta".into())}</dd>
                <dt>"Last delivery"</dt>
                <dd data-testid="hook-last-delivery" title=setup.last_delivery_at.clone().unwrap_or_default()>
                    {match setup.last_delivery_ago.clone() {
                        Some(ago) => format!("{ago} ({} received)", setup.deliveries),
                        None => "none yet".to_owned(),
                    }}
                </dd>
            </dl>
        </section>
        <section class="panel" aria-labelledby="hook-code-heading">
            <h2 id="hook-code-heading">"Or create it as code"</h2>
            <p class="hint">"With an Okta API token in OKTA_API_TOKEN, your Okta domain in OKTA_DOMAIN and the secret above in ROSTER_HOOK_SECRET:"</p>
            <div class="code-block">
                <pre data-testid="hook-curl"><code>{curl}</code></pre>
                <CopyButton value=curl_copy label="the curl command".to_owned() />
            </div>
            <p class="hint">"With Okta's Terraform provider (the secret in var.roster_hook_secret):"</p>
            <div class="code-block">
                <pre data-testid="hook-terraform"><code>{terraform}</code></pre>
                <CopyButton value=terraform_copy label="the Terraform resource".to_owned() />
            </div>
        </section>
        <section class="panel" aria-labelledby="hook-rotate-heading">
            <h2 id="hook-rotate-heading">"New secret"</h2>
            <p class="hint">"Okta's calls with the old secret are refused from the moment you create a new one: update the hook in Okta right after."</p>
            <CreateForm directory_id create label="Create a new secret" header=current_header />
        </section>
    }
}

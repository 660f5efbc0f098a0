//! `/directories/:id/okta-hook`: Okta Event Hooks for one directory, so a
//! deactivation reaches Roster in seconds instead of at the next scheduled
//! sync. The set-up in Okta's words with copy buttons, the `curl` and
//! Terraform equivalents, whether Okta verified the hook, and the last
//! delivery received.

use crate::api::{get_okta_hook, CreateOktaHook, HookSetupView, OktaHookView};
use crate::components::{CopyButton, ErrorNotice};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

#[component]
pub fn DirectoryHookPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let create = ServerAction::<CreateOktaHook>::new();
    let hook = Resource::new(
        move || (id(), create.version().get()),
        |(id, _)| get_okta_hook(id),
    );
    view! {
        <Title text="Okta Event Hook" />
        <nav class="breadcrumbs" aria-label="Breadcrumb">
            <a href="/settings/directory-sync">"Directory Sync"</a>" / "
            <a href=move || format!("/directories/{}", id())>"Directory"</a>" / Event hook"
        </nav>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match hook.await {
                    Ok(h) => view! { <HookPage h create /> }.into_any(),
                    Err(error) => view! { <ErrorNotice error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn HookPage(h: OktaHookView, create: ServerAction<CreateOktaHook>) -> impl IntoView {
    let has_setup = h.setup.is_some();
    view! {
        <div class="page-head">
            <h1>"Okta Event Hook — "{h.directory_name.clone()}</h1>
            <span class=if has_setup { "badge badge-success" } else { "badge badge-neutral" } data-testid="hook-state">
                {if has_setup { "Set up" } else { "Not set up" }}
            </span>
        </div>
        <p class="muted">
            "Okta calls Roster the moment a user is deactivated, suspended, changed or moved between groups; "
            "Roster re-reads just those users and groups. The scheduled sync still runs and catches anything a hook missed."
        </p>
        {move || create.value().get().and_then(Result::err).map(|error| view! { <ErrorNotice error /> })}
        {match h.setup.clone() {
            None if !h.pull_enabled => view! {
                <p class="notice" role="status">"This directory is fed by SCIM only: Okta already pushes its changes."</p>
            }.into_any(),
            None => view! { <CreateForm directory_id=h.directory_id.clone() create label="Set up event hook" header="Authorization".to_owned() /> }.into_any(),
            Some(setup) => view! { <Setup directory_id=h.directory_id.clone() setup create /> }.into_any(),
        }}
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

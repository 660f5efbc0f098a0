//! Add Directory → Okta: a seven-step guide that a first-time admin can follow
//! without leaving the page. Steps 1, 2 and 4 happen in Okta and are spelled
//! out click by click; 3, 5, 6 and 7 are forms backed by the sync engine.
//! Every form is an `ActionForm`, so the wizard also works without wasm.

use crate::api::{
    get_wizard, list_drafts, CheckConnection, CreateDirectory, CreatePushDirectory, DiscardDraft, DraftView,
    PreviewDirectory, PreviewView, SaveConnection, StartWizard, VerifyDirectory, VerifyView, WizardState,
};
use crate::components::{CopyButton, ErrorNotice};
use crate::pages::directory_detail::short_time;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

const SCOPES: &str = "okta.apps.read okta.groups.read okta.users.read";
const ROLE_NAME: &str = "Roster Sync Read Only";
const RESOURCE_SET_NAME: &str = "Roster Sync";

/// `/settings/directory-sync/new`: the Okta preparation steps and the
/// **Generate Keypair** button that creates the server-side draft.
#[component]
pub fn NewDirectory() -> impl IntoView {
    let start = ServerAction::<StartWizard>::new();
    let push_only = ServerAction::<CreatePushDirectory>::new();
    view! {
        <Title text="Add Directory" />
        <WizardHead />
        <section class="panel" aria-labelledby="kind-heading" data-testid="directory-kinds">
            <h2 id="kind-heading">"How will Okta tell Roster about people?"</h2>
            <dl class="facts-list">
                <dt>"Okta (pull)"</dt>
                <dd>"Roster reads the app's users and groups through an API Services app, on a schedule and on Sync Now. Follow the steps below."</dd>
                <dt>"Okta (pull and SCIM push)"</dt>
                <dd>"The steps below, then tick “Also let Okta push changes” at step 7: Okta pushes changes at once, the pull catches anything a push missed."</dd>
                <dt>"Okta (SCIM push only)"</dt>
                <dd>
                    "No API Services app: Okta's provisioning pushes users and groups to Roster."
                    <ActionForm action=push_only attr:class="form form-inline" attr:data-testid="push-directory-form">
                        <label for="push-directory-name">"Directory name"</label>
                        <input id="push-directory-name" name="name" type="text" required maxlength="80" value="Okta (SCIM)" />
                        <button class="button" type="submit" disabled=move || push_only.pending().get()>
                            {move || if push_only.pending().get() { "Creating…" } else { "Create SCIM-only directory" }}
                        </button>
                    </ActionForm>
                    {move || push_only.value().get().and_then(Result::err).map(|error| view! { <ErrorNotice error /> })}
                </dd>
            </dl>
        </section>
        <Drafts />
        <ol class="stepper">
            <SsoStep configured=false />
            <RoleStep />
            <li class="step" data-state="current" data-testid="step-keypair">
                <h2><span class="step-number">"3"</span>"Generate a keypair"</h2>
                <p>
                    "Roster signs its requests to Okta with a private key that never leaves this server "
                    "(it is sealed with Roster's master key). You will give Okta the public half in step 4."
                </p>
                <ActionForm action=start>
                    <button class="button button-primary" type="submit" disabled=move || start.pending().get()>
                        {move || if start.pending().get() { "Generating…" } else { "Generate Keypair" }}
                    </button>
                </ActionForm>
                {move || start.value().get().and_then(Result::err).map(|error| view! { <ErrorNotice error /> })}
            </li>
            <PendingStep number=4 title="Create the API Services app in Okta" />
            <PendingStep number=5 title="Enter the Okta domain and Client ID" />
            <PendingStep number=6 title="Verify the connection" />
            <PendingStep number=7 title="Create the directory" />
        </ol>
    }
}

/// `/settings/directory-sync/new/:id`: the wizard for a stored draft, so a
/// reload (or coming back tomorrow) continues where the admin left off.
#[component]
pub fn DirectoryWizard() -> impl IntoView {
    let params = use_params_map();
    let draft = Resource::new(move || params.read().get("id").unwrap_or_default(), get_wizard);
    view! {
        <Title text="Add Directory" />
        <WizardHead />
        <Suspense fallback=|| view! { <p class="muted">"Loading the draft…"</p> }>
            {move || Suspend::new(async move {
                match draft.await {
                    Ok(state) => view! { <WizardSteps initial=state /> }.into_any(),
                    Err(error) => view! {
                        <ErrorNotice error />
                        <a class="button" href="/settings/directory-sync/new">"Start again"</a>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// Wizards started earlier and not finished: continue one or discard it
/// (with its keys) instead of leaving drafts behind.
#[component]
fn Drafts() -> impl IntoView {
    let discard = ServerAction::<DiscardDraft>::new();
    let drafts = Resource::new(move || discard.version().get(), |_| list_drafts());
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match drafts.await {
                    Ok(list) if list.is_empty() => ().into_any(),
                    Ok(list) => view! {
                        <section class="drafts" data-testid="drafts" aria-labelledby="drafts-heading">
                            <h2 id="drafts-heading">"Unfinished setups"</h2>
                            <p class="muted">"Continue where you left off, or discard a setup you no longer need (its keys are deleted; remove them from Okta too)."</p>
                            <ul class="draft-list">
                                {list.into_iter().map(|draft| view! { <DraftRow draft discard /> }).collect_view()}
                            </ul>
                        </section>
                    }.into_any(),
                    Err(error) => view! { <ErrorNotice error /> }.into_any(),
                }
            })}
        </Transition>
        {move || discard.value().get().and_then(Result::err).map(|error| view! { <ErrorNotice error /> })}
    }
}

#[component]
fn DraftRow(draft: DraftView, discard: ServerAction<DiscardDraft>) -> impl IntoView {
    let what = if draft.okta_domain.is_empty() {
        "Keypair generated; no Okta domain yet".to_owned()
    } else {
        format!("{} · Client ID {}", draft.okta_domain, draft.client_id)
    };
    let continue_href = format!("/settings/directory-sync/new/{}", draft.id);
    let id = draft.id.clone();
    view! {
        <li class="draft" data-testid="draft" data-directory-id=draft.id>
            <div>
                <p><strong>{what}</strong></p>
                <p class="muted">
                    "Started "<time datetime=draft.created_at.clone() title=draft.created_at.clone()>{draft.created_ago}</time>
                    {draft.verified.then_some(" · verified, ready to create")}
                </p>
            </div>
            <div class="draft-actions">
                <a class="button button-small" href=continue_href>"Continue"</a>
                <ActionForm action=discard>
                    <input type="hidden" name="directory_id" value=id />
                    <button class="button button-small button-danger" type="submit" disabled=move || discard.pending().get()>"Discard"</button>
                </ActionForm>
            </div>
        </li>
    }
}

#[component]
fn WizardHead() -> impl IntoView {
    view! {
        <nav class="breadcrumbs" aria-label="Breadcrumb">
            <a href="/settings/directory-sync">"Directory Sync"</a>" / Add Directory"
        </nav>
        <h1>"Connect an Okta directory"</h1>
        <p class="lead">
            "Roster will read the users and groups assigned to one Okta app, every two hours and whenever you click Sync Now. "
            "Keep the Okta Admin Console open in another tab; each step says exactly what to click."
        </p>
    }
}

#[component]
fn WizardSteps(initial: WizardState) -> impl IntoView {
    let state = RwSignal::new(initial);
    let save = ServerAction::<SaveConnection>::new();
    let verify = ServerAction::<VerifyDirectory>::new();
    // A saved connection may change what was verified: take the server's word.
    Effect::new(move |_| {
        if let Some(Ok(saved)) = save.value().get() {
            state.set(saved);
            // A checklist of other values would mislead.
            verify.value().set(None);
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(report)) = verify.value().get() {
            state.update(|s| {
                s.verified = report.ok;
                if report.chosen_app_id.is_some() {
                    s.app_id.clone_from(&report.chosen_app_id);
                }
            });
        }
    });
    let connected = move || state.with(|s| !s.okta_domain.is_empty() && !s.client_id.is_empty());
    let sso = state.with_untracked(|s| s.sso_configured);
    view! {
        <ol class="stepper" data-testid="wizard" data-directory-id=state.with_untracked(|s| s.directory_id.clone())>
            <SsoStep configured=sso />
            <RoleStep />
            <KeyStep state />
            <OktaAppStep />
            <ConnectionStep state save />
            <VerifyStep state verify connected />
            <CreateStep state />
        </ol>
    }
}

#[component]
fn SsoStep(configured: bool) -> impl IntoView {
    let _ = configured;
    let settings = Resource::new(|| (), |_| crate::api::get_signin_settings());
    view! {
        <li class="step" data-state="info" data-testid="sso-step">
            <h2><span class="step-number">"1"</span>"Prerequisite: Okta sign-in for Roster"</h2>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match settings.await {
                        Ok(s) if s.configured => {
                            let tested = match (s.tested_by.clone(), s.tested_at.clone()) {
                                (Some(by), Some(at)) => format!("Tested by {by} on {at}."),
                                _ => "Saved without a passed test.".to_owned(),
                            };
                            view! {
                                <p>
                                    <span class="badge badge-success">"Configured"</span>" "{tested}
                                    " Admins sign in with the Okta app "<code>{s.client_id.clone()}</code>"."
                                </p>
                                <p class="muted">
                                    "Suggestion: sync the people who may use your product the way Roster's own sign-in does: "
                                    "in step 4, pick the same Okta app ("<code>{s.client_id}</code>") so its assignments are what Roster syncs."
                                </p>
                            }.into_any()
                        }
                        _ => view! {
                            <p>
                                <span class="badge badge-neutral">"Not configured yet"</span>
                                " Set it up under "<a href="/settings/sign-in">"Settings → Sign-in"</a>
                                ". It is not needed for Directory Sync; once configured, Roster suggests its sign-in app as the app whose assignments to sync."
                            </p>
                        }.into_any(),
                    }
                })}
            </Transition>
        </li>
    }
}

#[component]
fn RoleStep() -> impl IntoView {
    view! {
        <li class="step" data-state="info">
            <h2><span class="step-number">"2"</span>"In Okta: a resource set and a read-only admin role"</h2>
            <p class="muted">"Why: Roster should be able to read people, groups and apps, and do nothing else."</p>
            <ol class="clicks">
                <li>"In the Okta Admin Console open "<b>"Security → Administrators"</b>", tab "<b>"Resources"</b>", and click "<b>"Create new resource set"</b>"."</li>
                <li>"Name it "<code>{RESOURCE_SET_NAME}</code>" and add: "<b>"Applications"</b>" → the Roster app whose users you want to sync; "<b>"Users"</b>" → All users; "<b>"Groups"</b>" → All groups. Click "<b>"Create"</b>"."</li>
                <li>"Open the "<b>"Roles"</b>" tab, click "<b>"Create new role"</b>", name it "<code>{ROLE_NAME}</code>" and tick only "<b>"View users and their details"</b>", "<b>"View groups and their details"</b>" and "<b>"View application and its details"</b>". Click "<b>"Save role"</b>"."</li>
            </ol>
        </li>
    }
}

#[component]
fn KeyStep(state: RwSignal<WizardState>) -> impl IntoView {
    let (show_pem, set_show_pem) = signal(false);
    let jwk = Signal::derive(move || state.with(|s| s.jwk_json.clone()));
    let pem = Signal::derive(move || state.with(|s| s.pem.clone()));
    let jwks_url = Signal::derive(move || state.with(|s| s.jwks_url.clone()));
    view! {
        <li class="step" data-state="done" data-testid="step-keypair">
            <h2><span class="step-number">"3"</span>"Keypair generated"</h2>
            <p>
                "This is the public key to give Okta. The private key stays sealed on this server and never reaches your browser."
            </p>
            <div class="segmented" role="group" aria-label="Key format">
                <button type="button" class="button button-small" aria-pressed=move || (!show_pem.get()).to_string() on:click=move |_| set_show_pem.set(false)>"JWK"</button>
                <button type="button" class="button button-small" aria-pressed=move || show_pem.get().to_string() on:click=move |_| set_show_pem.set(true)>"PEM"</button>
            </div>
            <Show
                when=move || show_pem.get()
                fallback=move || view! {
                    <div class="key-block">
                        <label for="public-jwk">"Public key (JWK) — paste into Okta's “Add key” dialog"</label>
                        <textarea id="public-jwk" class="code" readonly rows="9" data-testid="public-jwk">{jwk}</textarea>
                        <CopyButton value=jwk label="public key as JWK" />
                    </div>
                }
            >
                <div class="key-block">
                    <label for="public-pem">"Public key (PEM)"</label>
                    <textarea id="public-pem" class="code" readonly rows="9" data-testid="public-pem">{pem}</textarea>
                    <CopyButton value=pem label="public key as PEM" />
                </div>
            </Show>
            <div class="key-block">
                <label for="jwks-url">"Or choose “Use a URL to fetch keys dynamically” in Okta and enter this JWKS URL"</label>
                <div class="input-row">
                    <input id="jwks-url" type="text" readonly value=jwks_url data-testid="jwks-url" />
                    <CopyButton value=jwks_url label="JWKS URL" />
                </div>
                <p class="hint">"With the URL, a later key rotation needs no change in Okta. Okta must be able to reach this Roster server."</p>
            </div>
        </li>
    }
}

#[component]
fn OktaAppStep() -> impl IntoView {
    let scopes = Signal::derive(|| SCOPES.to_owned());
    view! {
        <li class="step" data-state="info">
            <h2><span class="step-number">"4"</span>"In Okta: create the API Services app"</h2>
            <ol class="clicks">
                <li><b>"Applications → Applications → Create App Integration"</b>", choose "<b>"API Services"</b>", click "<b>"Next"</b>", name it "<code>"Roster Directory Sync"</code>" and click "<b>"Save"</b>"."</li>
                <li>"On the "<b>"General"</b>" tab, under "<b>"Client Credentials"</b>" click "<b>"Edit"</b>" and choose "<b>"Public key / Private key"</b>". Under "<b>"Public keys"</b>" click "<b>"Add key"</b>", paste the JWK from step 3 and click "<b>"Done"</b>" (or choose "<b>"Use a URL to fetch keys dynamically"</b>" and enter the JWKS URL). Click "<b>"Save"</b>". “Require Demonstrating Proof of Possession (DPoP)” may stay on: Roster uses DPoP."</li>
                <li>
                    "On the "<b>"Okta API Scopes"</b>" tab click "<b>"Grant"</b>" for each of "<code>{SCOPES}</code>". "
                    <CopyButton value=scopes label="scope names" />
                </li>
                <li>"On the "<b>"Admin roles"</b>" tab click "<b>"Edit assignments → Add assignment"</b>", choose the role "<code>{ROLE_NAME}</code>" with the resource set "<code>{RESOURCE_SET_NAME}</code>" and click "<b>"Save changes"</b>"."</li>
                <li>"Copy the "<b>"Client ID"</b>" from the "<b>"General"</b>" tab for the next step."</li>
            </ol>
        </li>
    }
}

/// Whether a field that was just changed (`change` fires before `focusout`)
/// should be checked as focus leaves it: not when focus leaves because the
/// pointer went down on the Save button. Checking then would insert or remove
/// an error above the button between the pointer going down and coming up,
/// moving the button away: the click was lost (Save connection needed two
/// clicks). The save validates anyway; Tab still checks.
fn checks_on_leaving(changed: RwSignal<bool>, pressing_save: RwSignal<bool>) -> bool {
    let changed_now = changed.get_untracked();
    changed.set(false);
    changed_now && !pressing_save.get_untracked()
}

#[component]
fn ConnectionStep(state: RwSignal<WizardState>, save: ServerAction<SaveConnection>) -> impl IntoView {
    let check = ServerAction::<CheckConnection>::new();
    let initial = state.get_untracked();
    let domain = RwSignal::new(initial.okta_domain.clone());
    let client_id = RwSignal::new(initial.client_id.clone());
    let touched_domain = RwSignal::new(false);
    let touched_client = RwSignal::new(false);
    // Set by a field's `change`, spent by its `focusout`; set while the
    // pointer is down on Save (see `checks_on_leaving`).
    let changed = RwSignal::new(false);
    let pressing_save = RwSignal::new(false);
    let validate = move || {
        check.dispatch(CheckConnection {
            okta_domain: domain.get_untracked(),
            client_id: client_id.get_untracked(),
        });
    };
    let field_error = move |pick: fn(&crate::api::ConnectionCheck) -> Option<String>,
                            touched: RwSignal<bool>| {
        move || {
            touched
                .get()
                .then(|| check.value().get().and_then(Result::ok).and_then(|c| pick(&c)))
                .flatten()
                .map(|message| view! { <p class="field-error" role="alert">{message}</p> })
        }
    };
    let domain_error = field_error(|c| c.okta_domain.clone(), touched_domain);
    let client_error = field_error(|c| c.client_id.clone(), touched_client);
    let directory_id = initial.directory_id.clone();
    view! {
        <li class="step" data-state=move || if state.with(|s| !s.client_id.is_empty()) { "done" } else { "current" } data-testid="step-connection">
            <h2><span class="step-number">"5"</span>"Okta domain and Client ID"</h2>
            <ActionForm action=save attr:class="form" attr:novalidate=true>
                <input type="hidden" name="directory_id" value=directory_id />
                <label for="okta-domain">"Okta domain"</label>
                <p class="hint" id="okta-domain-hint">"Your org's domain, such as acme.okta.com — not the -admin console address."</p>
                <input id="okta-domain" name="okta_domain" type="text" autocomplete="off" spellcheck="false"
                    aria-describedby="okta-domain-hint" placeholder="acme.okta.com" value=initial.okta_domain
                    on:input=move |ev| domain.set(event_target_value(&ev))
                    on:change=move |_| changed.set(true)
                    on:focusout=move |_| if checks_on_leaving(changed, pressing_save) { touched_domain.set(true); validate(); } />
                {domain_error}
                <label for="client-id">"Client ID"</label>
                <p class="hint" id="client-id-hint">"From the API Services app's General tab, such as 0oa1b2c3d4e5f6g7h8i9."</p>
                <input id="client-id" name="client_id" type="text" autocomplete="off" spellcheck="false"
                    aria-describedby="client-id-hint" value=initial.client_id
                    on:input=move |ev| client_id.set(event_target_value(&ev))
                    on:change=move |_| changed.set(true)
                    on:focusout=move |_| if checks_on_leaving(changed, pressing_save) { touched_client.set(true); validate(); } />
                {client_error}
                <div>
                    <button class="button button-primary" type="submit" disabled=move || save.pending().get()
                        on:pointerdown=move |_| pressing_save.set(true)
                        on:click=move |_| pressing_save.set(false)
                        on:pointerleave=move |_| pressing_save.set(false)>
                        {move || if save.pending().get() { "Saving…" } else { "Save connection" }}
                    </button>
                </div>
                {move || save.value().get().map(|outcome| match outcome {
                    Ok(_) => view! { <p class="notice notice-success" role="status">"Saved. Now verify the connection."</p> }.into_any(),
                    Err(error) => view! { <ErrorNotice error /> }.into_any(),
                })}
            </ActionForm>
        </li>
    }
}

#[component]
fn VerifyStep(
    state: RwSignal<WizardState>,
    verify: ServerAction<VerifyDirectory>,
    connected: impl Fn() -> bool + Send + Sync + Copy + 'static,
) -> impl IntoView {
    let directory_id = state.with_untracked(|s| s.directory_id.clone());
    let report = move || verify.value().get();
    // Counts finished verifies, so a test can wait for a new checklist.
    let (completed, set_completed) = signal(0u32);
    Effect::new(move |_| {
        if verify.value().with(Option::is_some) {
            set_completed.update(|n| *n += 1);
        }
    });
    view! {
        <li class="step" data-verify-completed=move || completed.get() data-state=move || if state.with(|s| s.verified) { "done" } else if connected() { "current" } else { "todo" } data-testid="step-verify">
            <h2><span class="step-number">"6"</span>"Verify the connection"</h2>
            <p class="muted">"Roster asks Okta for a token and tries each read it needs. Nothing is imported yet. Fix anything red in Okta and verify again."</p>
            <ActionForm action=verify attr:class="form">
                <input type="hidden" name="directory_id" value=directory_id />
                {move || report().and_then(Result::ok).filter(|r| r.apps.len() > 1).map(|r| view! { <AppPicker report=r /> })}
                <div>
                    <button class="button button-primary" type="submit" disabled=move || verify.pending().get() || !connected()>
                        {move || if verify.pending().get() { "Verifying…" } else { "Verify Now" }}
                    </button>
                </div>
            </ActionForm>
            {move || match report() {
                Some(Ok(r)) => view! { <Checklist report=r /> }.into_any(),
                Some(Err(error)) => view! { <ErrorNotice error /> }.into_any(),
                None if state.with(|s| s.verified) => view! {
                    <p class="notice notice-success" role="status">"Verified with the current domain, Client ID and key."</p>
                }.into_any(),
                None => ().into_any(),
            }}
        </li>
    }
}

#[component]
fn AppPicker(report: VerifyView) -> impl IntoView {
    let chosen = report.chosen_app_id.clone().unwrap_or_default();
    // Roster's own sign-in app is suggested: in Okta an OIDC app's id is its
    // client ID, and syncing its assignments matches who may sign in.
    let signin = Resource::new(|| (), |_| crate::api::get_signin_settings());
    view! {
        <label for="app-id">"App whose assigned users and groups Roster syncs"</label>
        <Suspense fallback=|| ()>
            {move || {
                let (chosen, apps) = (chosen.clone(), report.apps.clone());
                Suspend::new(async move {
                    let suggested = signin.await.ok().filter(|s| s.configured).map(|s| s.client_id);
                    let preselect = if chosen.is_empty() {
                        suggested.clone().filter(|id| apps.iter().any(|a| &a.id == id)).unwrap_or_default()
                    } else {
                        chosen
                    };
                    view! {
                        <select id="app-id" name="app_id">
                            // With several apps the admin decides; the sign-in app is only suggested.
                            <option value="" disabled selected=preselect.is_empty()>"Choose the app…"</option>
                            {apps.into_iter().map(|app| {
                                let selected = app.id == preselect;
                                let mut text = format!("{} ({})", app.label, app.id);
                                if suggested.as_deref() == Some(app.id.as_str()) {
                                    text.push_str(" — Roster's sign-in app (suggested)");
                                }
                                view! { <option value=app.id selected=selected>{text}</option> }
                            }).collect_view()}
                        </select>
                    }
                })
            }}
        </Suspense>
    }
}

#[component]
fn Checklist(report: VerifyView) -> impl IntoView {
    let dpop = report.dpop_required.map(|required| {
        if required {
            "Okta requires DPoP for this app; Roster uses it."
        } else {
            "DPoP is not required for this app."
        }
    });
    view! {
        <div class=if report.ok { "notice notice-success" } else { "notice notice-error" } role="status" data-testid="verify-summary">
            {if report.ok { "All checks passed. You can create the directory." } else { "Some checks failed. Fix them in Okta, then verify again." }}
        </div>
        <ul class="checklist" data-testid="checklist">
            {report.items.into_iter().map(|item| {
                let icon = match item.status.as_str() { "pass" => "✓", "fail" => "✗", "optional" => "!", _ => "–" };
                view! {
                    <li class=format!("check check-{}", item.status) data-check=item.key.clone() data-status=item.status.clone()>
                        <span class="check-icon" aria-hidden="true">{icon}</span>
                        <div>
                            <p class="check-label">{item.label}<span class="sr-only">{format!(": {}", item.status)}</span></p>
                            {(!item.detail.is_empty()).then(|| view! { <p class="muted">{item.detail.clone()}</p> })}
                            {item.hint.map(|hint| view! { <p class="hint" data-testid="check-hint">{hint}</p> })}
                        </div>
                    </li>
                }
            }).collect_view()}
        </ul>
        {dpop.map(|text| view! { <p class="muted">{text}</p> })}
    }
}

#[component]
fn CreateStep(state: RwSignal<WizardState>) -> impl IntoView {
    let create = ServerAction::<CreateDirectory>::new();
    let preview = ServerAction::<PreviewDirectory>::new();
    let initial = state.get_untracked();
    let default_name = if initial.okta_domain.is_empty() {
        "Okta".to_owned()
    } else {
        format!("Okta — {}", initial.okta_domain)
    };
    let verified = move || state.with(|s| s.verified);
    let busy = move || create.pending().get() || preview.pending().get();
    // The newest preview: this page's, else the one stored with the draft.
    let shown_preview = move || match preview.value().get() {
        Some(Ok(view)) => Some(view),
        _ => state.with(|s| s.preview.clone()),
    };
    let directory_id = initial.directory_id.clone();
    view! {
        <li class="step" data-state=move || if verified() { "current" } else { "todo" } data-testid="step-create">
            <h2><span class="step-number">"7"</span>"Create the directory"</h2>
            <p class="muted">"Creating starts the first sync right away; you will see its progress on the directory card."</p>
            <ActionForm action=create attr:class="form">
                <input type="hidden" name="directory_id" value=initial.directory_id />
                <label for="directory-name">"Directory name"</label>
                <input id="directory-name" name="name" type="text" autocomplete="off" value=default_name />
                <label class="checkbox">
                    <input type="checkbox" name="scim" value="on" data-testid="create-with-scim" />
                    " Also let Okta push changes as they happen (SCIM): the pull keeps running as the check"
                </label>
                <div>
                    <button class="button button-primary" type="submit" disabled=move || !verified() || busy()>
                        {move || if create.pending().get() { "Creating…" } else { "Create" }}
                    </button>
                </div>
                {move || (!verified()).then(|| view! { <p class="hint">"Create unlocks after a successful verify of the current values."</p> })}
                {move || create.value().get().and_then(Result::err).map(|error| view! { <ErrorNotice error /> })}
            </ActionForm>
            <div class="preview-block">
                <p class="muted">"Optional: see what the first sync would import before anything is stored. Roster reads everything from Okta once and imports nothing."</p>
                <ActionForm action=preview>
                    <input type="hidden" name="directory_id" value=directory_id />
                    <button class="button" type="submit" disabled=move || !verified() || busy()>
                        {move || if preview.pending().get() { "Previewing… (reading Okta)" } else { "Preview first" }}
                    </button>
                </ActionForm>
                {move || preview.value().get().and_then(Result::err).map(|error| view! { <ErrorNotice error /> })}
                {move || shown_preview().map(|p| view! { <PreviewResult preview=p /> })}
            </div>
        </li>
    }
}

/// The dry run's counts and a few names of each kind.
#[component]
fn PreviewResult(preview: PreviewView) -> impl IntoView {
    if let Some(error) = preview.error {
        return view! {
            <div class="notice notice-error" role="alert" data-testid="preview-result">
                <p><strong>"The preview failed: "{error.message}</strong></p>
                <p class="hint">{error.hint}</p>
            </div>
        }
        .into_any();
    }
    let names = |sample: Vec<String>, total: i64| {
        let more = total - sample.len() as i64;
        let mut text = sample.join(", ");
        if more > 0 {
            text.push_str(&format!(" and {more} more"));
        }
        text
    };
    view! {
        <div class="notice notice-info" role="status" data-testid="preview-result">
            <p>
                "Preview — nothing imported yet. Creating this directory would import "
                <strong data-testid="preview-users">{preview.users}</strong>" users, "
                <strong data-testid="preview-groups">{preview.groups}</strong>" groups and "
                <strong data-testid="preview-memberships">{preview.memberships}</strong>" group memberships."
            </p>
            {(!preview.users_sample.is_empty()).then(|| view! { <p class="muted">"Users: "{names(preview.users_sample.clone(), preview.users)}</p> })}
            {(!preview.groups_sample.is_empty()).then(|| view! { <p class="muted">"Groups: "{names(preview.groups_sample.clone(), preview.groups)}</p> })}
            <p class="hint">"Previewed "<time datetime=preview.finished_at.clone()>{short_time(&preview.finished_at)}</time>"."</p>
        </div>
    }
    .into_any()
}

#[component]
fn PendingStep(number: u8, title: &'static str) -> impl IntoView {
    view! {
        <li class="step" data-state="todo">
            <h2><span class="step-number">{number}</span>{title}</h2>
        </li>
    }
}

//! Settings → Sign-in: the Okta OIDC app's values (copy buttons), the
//! form, Test sign-in in a new tab with its report, and Save (or an
//! explicit "Save anyway" without a passed test).

use crate::api::{
    get_signin_settings, get_signin_test, remove_signin_settings, save_signin_settings, start_signin_test,
    AppError, OktaAppView, SigninForm, SigninSettingsView, SigninTestView,
};
use crate::components::{CopyButton, ErrorNotice};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn SigninSettings() -> impl IntoView {
    let (saved_version, set_saved_version) = signal(0u32);
    // Outlives the editor, which is rebuilt from the saved settings.
    let saved = RwSignal::new(false);
    let settings = Resource::new(move || saved_version.get(), |_| get_signin_settings());
    view! {
        <Title text="Sign-in" />
        <h1>"Sign-in"</h1>
        <p class="muted">
            "Admins sign in to Roster with Okta. Members of an admin group may change everything; "
            "members of a viewer group see every page read-only. The one-time link from "
            <code>"roster admin setup-link"</code>" on the server stays as the break-glass way in."
        </p>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match settings.await {
                    Ok(current) => view! { <SigninEditor current set_saved_version saved /> }.into_any(),
                    Err(error) => view! { <ErrorNotice error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn OktaValues(app: OktaAppView) -> impl IntoView {
    let row = |label: &'static str, value: String, testid: &'static str| {
        let copy = Signal::derive({
            let v = value.clone();
            move || v.clone()
        });
        view! {
            <dt>{label}</dt>
            <dd>
                <code data-testid=testid>{value}</code>
                <CopyButton value=copy label=label.to_lowercase() />
            </dd>
        }
    };
    view! {
        <section class="panel" aria-labelledby="okta-app-heading">
            <h2 id="okta-app-heading">"1. In Okta: create the sign-in app"</h2>
            <p>
                "Okta Admin Console → "<b>"Applications → Applications → Create App Integration"</b>
                " → "<b>"OIDC - OpenID Connect"</b>", "<b>"Web Application"</b>". Enter:"
            </p>
            <dl class="copy-list">
                {row("Grant type", app.grant_type, "okta-grant-type")}
                {row("Sign-in redirect URI", app.sign_in_redirect_uri, "okta-redirect-uri")}
                {row("Sign-out redirect URI", app.sign_out_redirect_uri, "okta-signout-uri")}
                {row("Groups claim name", "groups".into(), "okta-groups-claim")}
                {row("Groups claim filter (Matches regex)", ".*".into(), "okta-groups-regex")}
            </dl>
            <p><b>"Assignments: "</b>{app.assignments}</p>
            <p><b>"Groups claim: "</b>{app.groups_claim}</p>
        </section>
    }
}

#[component]
fn SigninEditor(
    current: SigninSettingsView,
    set_saved_version: WriteSignal<u32>,
    saved: RwSignal<bool>,
) -> impl IntoView {
    let issuer = RwSignal::new(current.issuer.clone());
    let client_id = RwSignal::new(current.client_id.clone());
    let client_secret = RwSignal::new(String::new());
    let admin_groups = RwSignal::new(current.admin_groups.clone());
    let viewer_groups = RwSignal::new(current.viewer_groups.clone());
    let form = move || SigninForm {
        issuer: issuer.get_untracked(),
        client_id: client_id.get_untracked(),
        client_secret: client_secret.get_untracked(),
        admin_groups: admin_groups.get_untracked(),
        viewer_groups: viewer_groups.get_untracked(),
    };
    // Editing any field means an earlier test no longer vouches for the form.
    let test_id = RwSignal::new(None::<String>);
    let test_url = RwSignal::new(None::<String>);
    let report = RwSignal::new(None::<SigninTestView>);
    let error = RwSignal::new(None::<AppError>);
    let needs_anyway = RwSignal::new(false);
    let edited = move || {
        test_id.set(None);
        test_url.set(None);
        report.set(None);
        needs_anyway.set(false);
        saved.set(false);
    };

    let start_test = Action::new(move |_: &()| {
        let form = form();
        async move {
            error.set(None);
            match start_signin_test(form).await {
                Ok(url) => {
                    let id = url.rsplit('/').next().unwrap_or_default().to_owned();
                    test_id.set(Some(id));
                    test_url.set(Some(url));
                    report.set(None);
                }
                Err(e) => error.set(Some(e)),
            }
        }
    });
    // Polls the report while the test runs in the other tab.
    let poll = Action::new(move |id: &String| {
        let id = id.clone();
        async move {
            if let Ok(r) = get_signin_test(id).await {
                if r.state != "pending" {
                    // A passed test replaces the earlier "not tested" refusal.
                    if r.state == "passed" {
                        needs_anyway.set(false);
                        error.set(None);
                    }
                    report.set(Some(r));
                    test_url.set(None);
                }
            }
        }
    });
    Effect::new(move |_| {
        if let (Some(id), None) = (test_id.get(), report.get()) {
            if let Ok(handle) = set_interval_with_handle(
                move || {
                    if report.get_untracked().is_none() {
                        poll.dispatch(id.clone());
                    }
                },
                std::time::Duration::from_millis(1000),
            ) {
                on_cleanup(move || handle.clear());
            }
        }
    });
    let save = Action::new(move |anyway: &bool| {
        let (form, anyway, id) = (form(), *anyway, test_id.get_untracked());
        async move {
            error.set(None);
            match save_signin_settings(form, id, anyway).await {
                Ok(_) => {
                    saved.set(true);
                    needs_anyway.set(false);
                    set_saved_version.update(|v| *v += 1);
                }
                Err(AppError::Conflict(message)) => {
                    needs_anyway.set(true);
                    error.set(Some(AppError::Conflict(message)));
                }
                Err(e) => error.set(Some(e)),
            }
        }
    });
    let remove = Action::new(move |_: &()| async move {
        match remove_signin_settings().await {
            Ok(()) => {
                saved.set(false);
                set_saved_version.update(|v| *v += 1);
            }
            Err(e) => error.set(Some(e)),
        }
    });

    let status = if current.configured {
        let tested = match (&current.tested_by, &current.tested_at) {
            (Some(by), Some(at)) => format!("Tested by {by} on {at}."),
            _ => "Saved without a passed Test sign-in.".to_owned(),
        };
        let who = current
            .updated_by
            .clone()
            .map(|by| {
                format!(
                    " Last changed {} by {by}.",
                    current.updated_at.clone().unwrap_or_default()
                )
            })
            .unwrap_or_default();
        view! {
            <p data-testid="signin-status"><span class="badge badge-success">"Configured"</span>" "{tested}{who}
                {if current.okta_admin_signed_in { " An admin has signed in with Okta." } else { " Nobody has signed in with Okta yet." }}
            </p>
        }
        .into_any()
    } else {
        view! { <p data-testid="signin-status"><span class="badge badge-neutral">"Not configured"</span></p> }
            .into_any()
    };

    view! {
        <OktaValues app=current.app.clone() />
        <section class="panel" aria-labelledby="signin-form-heading">
            <h2 id="signin-form-heading">"2. In Roster: the app's settings"</h2>
            {status}
            <form class="form" data-testid="signin-form" on:submit=move |ev| { ev.prevent_default(); save.dispatch(false); }>
                <label for="signin-issuer">"Okta domain or issuer URL"</label>
                <p class="hint" id="signin-issuer-hint">"acme.okta.com for the org authorization server, or https://acme.okta.com/oauth2/default for a custom one."</p>
                <input id="signin-issuer" name="issuer" type="text" autocomplete="off" required aria-describedby="signin-issuer-hint"
                    prop:value=issuer on:input=move |ev| { issuer.set(event_target_value(&ev)); edited(); } />
                <label for="signin-client-id">"Client ID"</label>
                <input id="signin-client-id" name="client_id" type="text" autocomplete="off" required
                    prop:value=client_id on:input=move |ev| { client_id.set(event_target_value(&ev)); edited(); } />
                <label for="signin-secret">"Client secret"</label>
                <p class="hint" id="signin-secret-hint">
                    {if current.client_secret_set { "A secret is saved (it is never shown). Leave this empty to keep it, or paste a new one to replace it." } else { "From the app's General tab → Client Credentials. Roster seals it with its master key." }}
                </p>
                <input id="signin-secret" name="client_secret" type="password" autocomplete="new-password" aria-describedby="signin-secret-hint"
                    prop:value=client_secret on:input=move |ev| { client_secret.set(event_target_value(&ev)); edited(); } />
                <label for="signin-admins">"Admin groups"</label>
                <p class="hint" id="signin-admins-hint">"One Okta group name per line. Their members administer Roster."</p>
                <textarea id="signin-admins" name="admin_groups" rows="2" required aria-describedby="signin-admins-hint"
                    prop:value=admin_groups on:input=move |ev| { admin_groups.set(event_target_value(&ev)); edited(); }></textarea>
                <label for="signin-viewers">"Viewer groups (optional)"</label>
                <p class="hint" id="signin-viewers-hint">"Their members see every page and can change nothing."</p>
                <textarea id="signin-viewers" name="viewer_groups" rows="2" aria-describedby="signin-viewers-hint"
                    prop:value=viewer_groups on:input=move |ev| { viewer_groups.set(event_target_value(&ev)); edited(); }></textarea>
                <div class="button-row">
                    <button class="button" type="button" data-testid="signin-test"
                        on:click=move |_| { start_test.dispatch(()); }
                        disabled=move || start_test.pending().get()>"Test sign-in"</button>
                    <button class="button button-primary" type="submit" data-testid="signin-save"
                        disabled=move || save.pending().get()>"Save"</button>
                    {current.configured.then(|| view! {
                        <button class="button button-danger" type="button" on:click=move |_| { remove.dispatch(()); }>
                            "Turn off Okta sign-in"
                        </button>
                    })}
                </div>
            </form>
            {move || test_url.get().map(|url| view! {
                <div class="notice" role="status" data-testid="signin-test-pending">
                    <p>"Sign in with an admin account in the new tab; the result appears here."</p>
                    <a class="button button-primary" href=url target="_blank" rel="external" data-testid="signin-test-open" autofocus>
                        "Open Okta sign-in in a new tab"
                    </a>
                </div>
            })}
            {move || report.get().map(|r| view! { <TestResult report=r /> })}
            {move || error.get().map(|error| view! { <ErrorNotice error /> })}
            {move || needs_anyway.get().then(|| view! {
                <button class="button button-danger" type="button" data-testid="signin-save-anyway"
                    on:click=move |_| { save.dispatch(true); }>"Save anyway"</button>
            })}
            {move || saved.get().then(|| view! {
                <p class="notice notice-success" role="status" data-testid="signin-saved">
                    "Saved. Admins can now sign in with Okta; the sign-in page offers it."
                </p>
            })}
        </section>
    }
}

#[component]
fn TestResult(report: SigninTestView) -> impl IntoView {
    let passed = report.state == "passed";
    let verdict = report.verdict.clone().unwrap_or_default();
    let verdict_text = match verdict.as_str() {
        "admin" => "would be an admin",
        "viewer" => "would be a viewer (read-only)",
        _ => "would be refused: not in an admin or viewer group",
    };
    view! {
        <div class=if passed && verdict == "admin" { "notice notice-success" } else { "notice notice-warning" }
            role="status" data-testid="signin-test-report" data-verdict=verdict.clone()>
            {if passed {
                view! {
                    <p><b>"Test sign-in passed: "</b>{report.email.clone().or(report.name.clone()).unwrap_or_default()}" "{verdict_text}"."</p>
                    <dl class="facts-list">
                        <dt>"Subject"</dt><dd><code>{report.subject.clone().unwrap_or_default()}</code></dd>
                        <dt>"Email"</dt><dd>{report.email.clone().unwrap_or_else(|| "—".into())}</dd>
                        <dt>"Groups"</dt><dd data-testid="signin-test-groups">{report.groups.join(", ")}" (from "{report.groups_source.clone()}")"</dd>
                    </dl>
                }.into_any()
            } else {
                view! { <p><b>"Test sign-in failed: "</b>{report.error.clone().unwrap_or_default()}</p> }.into_any()
            }}
        </div>
    }
}

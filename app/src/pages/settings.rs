use crate::api::{get_notification_settings, get_session_info, InstanceName, RenameInstance, SendTestMail};
use crate::components::ErrorNotice;
use leptos::prelude::*;
use leptos_meta::Title;

/// General settings. The form is an `ActionForm`, so it submits even when the
/// wasm bundle fails to load; with wasm, it validates and counts as you type.
#[component]
pub fn GeneralSettings() -> impl IntoView {
    let rename = expect_context::<ServerAction<RenameInstance>>();
    let current = Resource::new(move || rename.version().get(), |_| get_session_info());
    view! {
        <Title text="Settings" />
        <h1>"Settings"</h1>
        <section class="panel">
            <h2>"Instance"</h2>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match current.await {
                        Ok(info) => view! { <RenameForm rename current=info.instance_name /> }.into_any(),
                        Err(error) => view! { <ErrorNotice error /> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
        <NotificationSettings />
    }
}

/// Where failure notifications go, and a test mail.
#[component]
fn NotificationSettings() -> impl IntoView {
    let settings = Resource::new(|| (), |_| get_notification_settings());
    let test = ServerAction::<SendTestMail>::new();
    view! {
        <section class="panel" aria-labelledby="notifications-heading" data-testid="notification-settings">
            <h2 id="notifications-heading">"Notifications"</h2>
            <p class="muted">
                "Directories whose syncs keep failing, syncs held for review, unfinished key rotations and disabled "
                "webhooks are listed on the Overview and mailed to the recipients: at once, then after a day, "
                "then every 3 days, then weekly while the problem lasts."
            </p>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match settings.await {
                        Ok(s) if s.email_enabled => view! {
                            <dl class="facts-list">
                                <dt>"SMTP server"</dt><dd><code>{s.smtp_server.unwrap_or_default()}</code></dd>
                                <dt>"Recipients"</dt><dd data-testid="mail-recipients">{s.recipients.join(", ")}</dd>
                            </dl>
                            <ActionForm action=test>
                                <div class="button-row">
                                    <button class="button" type="submit" disabled=move || test.pending().get()>
                                        {move || if test.pending().get() { "Sending…" } else { "Send test mail" }}
                                    </button>
                                </div>
                            </ActionForm>
                        }.into_any(),
                        Ok(_) => view! {
                            <p data-testid="mail-off">
                                "E-mail is off. Set " <code>"ROSTER_SMTP_URL"</code> ", " <code>"ROSTER_NOTIFY_EMAILS"</code>
                                " and " <code>"ROSTER_SMTP_FROM"</code> " and restart Roster to have problems mailed."
                            </p>
                        }.into_any(),
                        Err(error) => view! { <ErrorNotice error /> }.into_any(),
                    }
                })}
            </Suspense>
            {move || test.value().get().map(|outcome| match outcome {
                Ok(message) => view! { <p class="notice notice-success" role="status" data-testid="test-mail-result">"Test mail sent. "{message}</p> }.into_any(),
                Err(error) => view! { <ErrorNotice error /> }.into_any(),
            })}
        </section>
    }
}

#[component]
fn RenameForm(rename: ServerAction<RenameInstance>, current: String) -> impl IntoView {
    let (draft, set_draft) = signal(current.clone());
    let length = move || draft.with(|d| d.trim().chars().count());
    let local_error = move || InstanceName::parse(&draft.get()).err();
    let result = rename.value();
    // Effects only run in the browser: the form says when its handlers are live.
    let (interactive, set_interactive) = signal(false);
    Effect::new(move |_| set_interactive.set(true));
    view! {
        <ActionForm action=rename attr:class="form" attr:novalidate=true attr:data-interactive=move || interactive.get().to_string()>
            <label for="instance-name">"Instance name"</label>
            <p class="hint" id="instance-name-hint">
                "Shown in the top bar, so admins always know which Roster instance they are working in."
            </p>
            <div class="input-row">
                <input
                    id="instance-name"
                    name="name"
                    type="text"
                    autocomplete="off"
                    aria-describedby="instance-name-hint instance-name-count"
                    value=current
                    on:input=move |ev| set_draft.set(event_target_value(&ev))
                />
                <button class="button button-primary" type="submit" disabled=move || rename.pending().get()>
                    {move || if rename.pending().get() { "Saving…" } else { "Save" }}
                </button>
            </div>
            <p class="char-count" id="instance-name-count" data-testid="char-count" aria-live="polite">
                {length}" / "{InstanceName::MAX_CHARS}" characters"
            </p>
            {move || local_error().map(|message| view! { <p class="field-error">{message}</p> })}
            {move || result.get().map(|outcome| match outcome {
                Ok(saved) => view! { <p class="notice notice-success" role="status">"Saved as “"{saved}"”."</p> }.into_any(),
                Err(error) => view! { <ErrorNotice error /> }.into_any(),
            })}
        </ActionForm>
    }
}

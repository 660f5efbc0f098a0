use crate::api::{get_session_info, InstanceName, RenameInstance};
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

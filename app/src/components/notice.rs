use crate::api::AppError;
use leptos::prelude::*;

/// An inline, readable error for a failed server call; never a blank page.
#[component]
pub fn ErrorNotice(error: AppError) -> impl IntoView {
    let signin = matches!(error, AppError::Unauthorized);
    view! {
        <div class="notice notice-error" role="alert">
            <p>{error.to_string()}</p>
            <Show when=move || signin>
                <a class="button" href="/signin" rel="external">"Sign in"</a>
            </Show>
        </div>
    }
}

use leptos::prelude::*;
use leptos_meta::Title;

/// A styled error page; on the server it also sets the response status.
#[component]
pub fn ErrorPage(status: u16) -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        if let Ok(code) = axum::http::StatusCode::from_u16(status) {
            response.set_status(code);
        }
    }
    let (title, body) = match status {
        403 => (
            "Access denied",
            "You are signed in, but this action is not allowed from here. Reload the page and try again.",
        ),
        404 => (
            "Page not found",
            "There is nothing at this address. It may have been moved, or the link is mistyped.",
        ),
        _ => (
            "Something went wrong",
            "Roster hit an unexpected error. Details are in the server log; try again in a moment.",
        ),
    };
    view! {
        <Title text=title />
        <main class="error-page">
            <div class="error-card">
                <p class="error-code">{status}</p>
                <h1>{title}</h1>
                <p>{body}</p>
                <a class="button button-primary" href="/">"Back to Overview"</a>
            </div>
        </main>
    }
}

use leptos::prelude::*;

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen(
    inline_js = "export function copy_text(text) { return navigator.clipboard.writeText(text).then(() => true, () => false); }"
)]
extern "C" {
    fn copy_text(text: &str) -> js_sys::Promise;
}

/// A button that copies `value` to the clipboard and says so.
#[component]
pub fn CopyButton(#[prop(into)] value: Signal<String>, #[prop(into)] label: String) -> impl IntoView {
    let (copied, set_copied) = signal(false);
    let aria = format!("Copy {label}");
    let on_click = move |_| {
        #[cfg(feature = "hydrate")]
        {
            let promise = copy_text(&value.get_untracked());
            leptos::task::spawn_local(async move {
                let ok = wasm_bindgen_futures::JsFuture::from(promise).await.is_ok();
                set_copied.set(ok);
                set_timeout(move || set_copied.set(false), std::time::Duration::from_secs(2));
            });
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (value, set_copied);
    };
    view! {
        <button type="button" class="button button-small" aria-label=aria on:click=on_click>
            {move || if copied.get() { "Copied ✓" } else { "Copy" }}
        </button>
    }
}

use crate::api::get_overview;
use crate::components::ErrorNotice;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn OverviewPage() -> impl IntoView {
    let overview = Resource::new(|| (), |_| get_overview());
    view! {
        <Title text="Overview" />
        <h1>"Overview"</h1>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match overview.await {
                    Ok(o) => view! {
                        {(!o.attention.is_empty()).then(|| view! {
                            <section class="notice notice-warning" aria-labelledby="attention-heading" data-testid="attention">
                                <h2 id="attention-heading">"Needs attention"</h2>
                                <ul>
                                    {o.attention.clone().into_iter().map(|a| view! {
                                        <li data-testid="attention-item">
                                            <a href=a.link><strong>{a.title}</strong></a>
                                            <p>{a.action}</p>
                                            <p class="muted">{a.mailed}</p>
                                        </li>
                                    }).collect_view()}
                                </ul>
                            </section>
                        })}
                        <dl class="facts" data-testid="overview-facts">
                            <div><dt>"Version"</dt><dd>{o.version}</dd></div>
                            <div><dt>"Database"</dt><dd>{o.database_kind}" · "<code>{o.database_location}</code></dd></div>
                            <div><dt>"Schema version"</dt><dd>{o.schema_version}</dd></div>
                            <div><dt>"Directories"</dt><dd data-testid="directories-count">{o.directories}</dd></div>
                            <div><dt>"Administrators"</dt><dd>{o.admins}</dd></div>
                            <div><dt>"Running since"</dt><dd>{o.started_at}</dd></div>
                        </dl>
                    }.into_any(),
                    Err(error) => view! { <ErrorNotice error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

//! Settings → API tokens: create (the secret shown once, with a copy
//! button), list with last use, revoke. Tokens open the REST API and the CLI,
//! never these pages.

use crate::api::{list_api_tokens, ApiTokenView, CreateApiToken, RevokeApiToken};
use crate::components::{CopyButton, ErrorNotice};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn ApiTokens() -> impl IntoView {
    let create = ServerAction::<CreateApiToken>::new();
    let revoke = ServerAction::<RevokeApiToken>::new();
    let tokens = Resource::new(
        move || (create.version().get(), revoke.version().get()),
        |_| list_api_tokens(),
    );
    view! {
        <Title text="API tokens" />
        <h1>"API tokens"</h1>
        <p class="muted">
            "Tokens authenticate scripts and the "<code>"roster"</code>" CLI to the REST API at "
            <code>"/api/v1"</code>" (send "<code>"Authorization: Bearer …"</code>"; the API is described in "
            <a href="/api/v1/openapi.json" rel="external">"openapi.json"</a>"). A token never opens these pages."
        </p>
        <section class="panel" aria-labelledby="new-token-heading">
            <h2 id="new-token-heading">"Create a token"</h2>
            <ActionForm action=create attr:class="form" attr:data-testid="create-token-form">
                <label for="token-name">"Name"</label>
                <p class="hint" id="token-name-hint">"Where the token is used, such as ci-deploy or reporting."</p>
                <input id="token-name" name="name" type="text" autocomplete="off" required maxlength="80"
                    aria-describedby="token-name-hint" />
                <fieldset class="radio-group">
                    <legend>"Scope"</legend>
                    <label><input type="radio" name="scope" value="read-only" checked />
                        " Read-only: directories, runs, users and groups"</label>
                    <label><input type="radio" name="scope" value="read-write" />
                        " Read-write: also set up, sync, pause and delete directories, and manage tokens"</label>
                </fieldset>
                <div>
                    <button class="button button-primary" type="submit" disabled=move || create.pending().get()>
                        {move || if create.pending().get() { "Creating…" } else { "Create token" }}
                    </button>
                </div>
            </ActionForm>
            {move || create.value().get().map(|outcome| match outcome {
                Ok(issued) => {
                    let secret = issued.secret.clone();
                    let copy = Signal::derive({
                        let s = secret.clone();
                        move || s.clone()
                    });
                    view! {
                        <div class="notice notice-success" role="status" data-testid="new-token">
                            <p>
                                "Token “"{issued.token.name.clone()}"” created. Copy it now: it is shown only this once, "
                                "and Roster keeps only its hash."
                            </p>
                            <div class="input-row">
                                <input type="text" readonly value=secret aria-label="The new token"
                                    data-testid="token-secret" />
                                <CopyButton value=copy label="the new token" />
                            </div>
                        </div>
                    }.into_any()
                }
                Err(error) => view! { <ErrorNotice error /> }.into_any(),
            })}
        </section>
        <section class="panel" aria-labelledby="tokens-heading">
            <h2 id="tokens-heading">"Tokens"</h2>
            {move || revoke.value().get().and_then(Result::err).map(|error| view! { <ErrorNotice error /> })}
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match tokens.await {
                        Ok(list) if list.is_empty() => view! {
                            <p class="muted" data-testid="no-tokens">"No tokens yet."</p>
                        }.into_any(),
                        Ok(list) => view! { <TokenTable list revoke /> }.into_any(),
                        Err(error) => view! { <ErrorNotice error /> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn TokenTable(list: Vec<ApiTokenView>, revoke: ServerAction<RevokeApiToken>) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table class="data" data-testid="tokens-table">
                <thead>
                    <tr>
                        <th scope="col">"Name"</th>
                        <th scope="col">"Scope"</th>
                        <th scope="col">"Token"</th>
                        <th scope="col">"Created"</th>
                        <th scope="col">"Last used"</th>
                        <th scope="col"><span class="sr-only">"Actions"</span></th>
                    </tr>
                </thead>
                <tbody>
                    {list.into_iter().map(|t| {
                        let id = t.id.clone();
                        view! {
                            <tr data-testid="token-row" data-token-id=t.id.clone() data-revoked=t.revoked.to_string()>
                                <td>{t.name.clone()}</td>
                                <td>{t.scope.clone()}</td>
                                <td><code>{t.prefix.clone()}</code></td>
                                <td title=t.created_at.clone()>{t.created_ago.clone()}" by "{t.created_by.clone()}</td>
                                <td>{t.last_used_ago.clone().unwrap_or_else(|| "never".into())}</td>
                                <td>
                                    {if t.revoked {
                                        view! { <span class="badge badge-neutral">"Revoked"</span> }.into_any()
                                    } else {
                                        view! {
                                            <ActionForm action=revoke>
                                                <input type="hidden" name="token_id" value=id />
                                                <button class="button button-small button-danger" type="submit"
                                                    aria-label=format!("Revoke token {}", t.name)>
                                                    "Revoke"
                                                </button>
                                            </ActionForm>
                                        }.into_any()
                                    }}
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

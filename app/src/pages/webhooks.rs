//! Settings → Webhooks: add an endpoint (its secret shown once, with a copy
//! button), see each endpoint's health and delivery log, send a test event,
//! disable or enable, rotate the secret with an overlap, replay from a
//! cursor, delete. Every form is an `ActionForm`: it works before (or
//! without) the wasm bundle.

use crate::api::{
    get_webhooks, CreateWebhook, DeleteWebhook, DeliveryView, ReplayWebhook, RotateWebhookSecret,
    SendTestWebhook, SetWebhookEnabled, UpdateWebhook, WebhookSecretView, WebhookState, WebhookView,
    WebhooksView,
};
use crate::components::{CopyButton, ErrorNotice};
use leptos::prelude::*;
use leptos_meta::Title;

const VERIFY_PYTHON: &str = r#"import hmac, hashlib, time

def verify(secret: str, header: str, body: bytes, tolerance=300) -> bool:
    parts = [p.split("=", 1) for p in header.split(",")]
    t = next(v for k, v in parts if k == "t")
    if abs(time.time() - int(t)) > tolerance:
        return False  # too old: a replay
    expected = hmac.new(secret.encode(), t.encode() + b"." + body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, v) for k, v in parts if k == "v1")"#;

#[derive(Clone, Copy)]
struct Actions {
    update: ServerAction<UpdateWebhook>,
    toggle: ServerAction<SetWebhookEnabled>,
    rotate: ServerAction<RotateWebhookSecret>,
    test: ServerAction<SendTestWebhook>,
    replay: ServerAction<ReplayWebhook>,
    delete: ServerAction<DeleteWebhook>,
}

#[component]
pub fn Webhooks() -> impl IntoView {
    let create = ServerAction::<CreateWebhook>::new();
    let actions = Actions {
        update: ServerAction::new(),
        toggle: ServerAction::new(),
        rotate: ServerAction::new(),
        test: ServerAction::new(),
        replay: ServerAction::new(),
        delete: ServerAction::new(),
    };
    let page = Resource::new(
        move || {
            (
                create.version().get(),
                actions.update.version().get(),
                actions.toggle.version().get(),
                actions.rotate.version().get(),
                actions.test.version().get(),
                actions.replay.version().get(),
                actions.delete.version().get(),
            )
        },
        |_| get_webhooks(),
    );
    view! {
        <Title text="Webhooks" />
        <h1>"Webhooks"</h1>
        <p class="muted">
            "Roster posts every change (users, groups, memberships, directories, syncs) to the URLs below as it commits: "
            "batches of " <code>"{\"events\":[…]}"</code> ", in commit order, at least once, signed with "
            <code>"Roster-Signature"</code> ". A receiver that fails is retried with backoff for over a day before the "
            "endpoint is disabled. The same events can be read with " <code>"GET /api/v1/events"</code> "."
        </p>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(view) => view! { <WebhooksBody view create actions /> }.into_any(),
                    Err(error) => view! { <ErrorNotice error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn WebhooksBody(view: WebhooksView, create: ServerAction<CreateWebhook>, actions: Actions) -> impl IntoView {
    let WebhooksView {
        endpoints,
        event_types,
        directories,
    } = view;
    let empty = endpoints.is_empty();
    let (all_types, all_directories) = (event_types.clone(), directories.clone());
    view! {
        <section class="panel" aria-labelledby="new-webhook-heading">
            <h2 id="new-webhook-heading">"Add an endpoint"</h2>
            <ActionForm action=create attr:class="form" attr:data-testid="create-webhook-form">
                <label for="webhook-url">"URL"</label>
                <p class="hint" id="webhook-url-hint">
                    "https only; redirects are not followed. Private and loopback addresses are refused unless the "
                    "operator allows their network (ROSTER_WEBHOOK_ALLOWED_NETWORKS)."
                </p>
                <input id="webhook-url" name="url" type="url" required placeholder="https://example.com/hooks/roster"
                    aria-describedby="webhook-url-hint" autocomplete="off" />
                <label for="webhook-description">"Description"</label>
                <input id="webhook-description" name="description" type="text" maxlength="200" autocomplete="off"
                    placeholder="Provisioning service (production)" />
                <fieldset class="radio-group check-grid" aria-describedby="webhook-types-hint">
                    <legend>"Event types"</legend>
                    <p class="hint" id="webhook-types-hint">"None ticked: every type, including types added later."</p>
                    {event_types.into_iter().enumerate().map(|(i, t)| view! {
                        <label><input type="checkbox" name=format!("event_types[{i}]") value=t.clone() />" "<code>{t.clone()}</code></label>
                    }).collect_view()}
                </fieldset>
                <fieldset class="radio-group check-grid" aria-describedby="webhook-dirs-hint">
                    <legend>"Directories"</legend>
                    <p class="hint" id="webhook-dirs-hint">"None ticked: every directory, including ones added later."</p>
                    {directories.into_iter().enumerate().map(|(i, (id, name))| view! {
                        <label><input type="checkbox" name=format!("directory_ids[{i}]") value=id />" "{name}</label>
                    }).collect_view()}
                </fieldset>
                <div>
                    <button class="button button-primary" type="submit" disabled=move || create.pending().get()>
                        {move || if create.pending().get() { "Adding…" } else { "Add endpoint" }}
                    </button>
                </div>
            </ActionForm>
            {move || create.value().get().map(|outcome| match outcome {
                Ok(secret) => view! { <SecretNotice secret /> }.into_any(),
                Err(error) => view! { <ErrorNotice error /> }.into_any(),
            })}
            {move || actions.rotate.value().get().map(|outcome| match outcome {
                Ok(secret) => view! { <SecretNotice secret /> }.into_any(),
                Err(error) => view! { <ErrorNotice error /> }.into_any(),
            })}
            <details>
                <summary>"Verifying the signature"</summary>
                <p>
                    "The header is " <code>"t=<unix seconds>,v1=<hex>"</code> ": HMAC-SHA256 with the secret as key over "
                    <code>"<t>.<raw body>"</code> ". During a secret rotation it carries one " <code>"v1"</code>
                    " per secret; accept the request if any matches. In Python:"
                </p>
                <pre><code>{VERIFY_PYTHON}</code></pre>
                <CopyButton value=Signal::derive(|| VERIFY_PYTHON.to_owned()) label="the Python verifier" />
            </details>
        </section>
        <section class="panel" aria-labelledby="webhooks-heading">
            <h2 id="webhooks-heading">"Endpoints"</h2>
            {move || actions.test.value().get().map(|outcome| match outcome {
                Ok(d) if d.outcome == "delivered" => view! {
                    <p class="notice notice-success" role="status" data-testid="test-result">
                        "Test event delivered: the receiver answered "{d.status_code.unwrap_or_default()}" in "{d.latency_ms}" ms."
                    </p>
                }.into_any(),
                Ok(d) => view! {
                    <p class="notice notice-error" role="alert" data-testid="test-result">
                        "Test event not delivered: "{d.error.unwrap_or_default()}
                    </p>
                }.into_any(),
                Err(error) => view! { <ErrorNotice error /> }.into_any(),
            })}
            {move || [
                actions.update.value().get().and_then(Result::err),
                actions.toggle.value().get().and_then(Result::err),
                actions.replay.value().get().and_then(Result::err),
                actions.delete.value().get().and_then(Result::err),
            ].into_iter().flatten().map(|error| view! { <ErrorNotice error /> }).collect_view()}
            {if empty {
                view! { <p class="muted" data-testid="no-webhooks">"No endpoints yet."</p> }.into_any()
            } else {
                endpoints.into_iter().map(|w| {
                    let (event_types, directories) = (all_types.clone(), all_directories.clone());
                    view! { <Endpoint w actions event_types directories /> }
                }).collect_view().into_any()
            }}
        </section>
    }
}

#[component]
fn SecretNotice(secret: WebhookSecretView) -> impl IntoView {
    let value = secret.secret.clone();
    let copy = Signal::derive(move || value.clone());
    view! {
        <div class="notice notice-success" role="status" data-testid="webhook-secret-notice">
            <p>
                "Signing secret for "<code>{secret.url.clone()}</code>". Copy it now into the receiver's configuration: "
                "it is shown only this once."
                {secret.previous_expires_at.clone().map(|until| view! {
                    " The previous secret also signs until "{until}", so the receiver can switch over."
                })}
            </p>
            <div class="input-row">
                <input type="text" readonly value=secret.secret.clone() aria-label="The signing secret"
                    data-testid="webhook-secret" />
                <CopyButton value=copy label="the signing secret" />
            </div>
        </div>
    }
}

#[component]
fn Endpoint(
    w: WebhookView,
    actions: Actions,
    event_types: Vec<String>,
    directories: Vec<(String, String)>,
) -> impl IntoView {
    let (badge, label) = match w.status {
        WebhookState::Active => ("badge badge-success", "Active"),
        WebhookState::Retrying => ("badge badge-warning", "Retrying"),
        WebhookState::Disabled => ("badge badge-danger", "Disabled"),
    };
    let list = |items: &[String]| {
        if items.is_empty() {
            "all".to_owned()
        } else {
            items.join(", ")
        }
    };
    let heading = format!("webhook-{}", w.id);
    let labelled_by = heading.clone();
    let overlap_id = format!("overlap-{}", w.id);
    let overlap_for = overlap_id.clone();
    let replay_id = format!("replay-{}", w.id);
    let replay_for = replay_id.clone();
    let [id_test, id_toggle, id_rotate, id_replay, id_delete, id_edit] =
        std::array::from_fn(|_| w.id.clone());
    let edit_url_id = format!("edit-url-{}", w.id);
    let edit_url_for = edit_url_id.clone();
    let edit_desc_id = format!("edit-description-{}", w.id);
    let edit_desc_for = edit_desc_id.clone();
    let (url_now, description_now) = (w.url.clone(), w.description.clone());
    let type_boxes = event_types
        .into_iter()
        .enumerate()
        .map(|(i, t)| {
            let checked = w.event_types.contains(&t);
            view! {
                <label><input type="checkbox" name=format!("event_types[{i}]") value=t.clone() checked=checked />" "<code>{t.clone()}</code></label>
            }
        })
        .collect_view();
    // Directories this endpoint is limited to that were since deleted stay
    // ticked, so saving an edit does not widen it to every directory.
    let known: Vec<String> = directories.iter().map(|(id, _)| id.clone()).collect();
    let deleted: Vec<(String, String)> = w
        .directory_ids
        .iter()
        .filter(|id| !known.contains(id))
        .map(|id| (id.clone(), format!("{id} (deleted)")))
        .collect();
    let directory_boxes = directories
        .into_iter()
        .chain(deleted)
        .enumerate()
        .map(|(i, (id, name))| {
            let checked = w.directory_ids.contains(&id);
            view! {
                <label><input type="checkbox" name=format!("directory_ids[{i}]") value=id checked=checked />" "{name}</label>
            }
        })
        .collect_view();
    view! {
        <article class="panel" data-testid="webhook" data-webhook-id=w.id.clone() data-status=w.status.as_str()
            aria-labelledby=labelled_by>
            <h3 id=heading><code>{w.url.clone()}</code>" "<span class=badge>{label}</span></h3>
            {(!w.description.is_empty()).then(|| view! { <p class="muted">{w.description.clone()}</p> })}
            {w.disabled_reason.clone().map(|reason| view! {
                <p class="notice notice-error" role="alert" data-testid="webhook-disabled-reason">
                    {reason}" Fix the receiver, then Enable: what waited is sent from where it stopped."
                </p>
            })}
            {(w.status == WebhookState::Retrying).then(|| view! {
                <p class="notice notice-warning" role="status">
                    {w.failures}" failed attempts in a row; the next one "{w.next_attempt.clone().unwrap_or_default()}"."
                </p>
            })}
            <dl class="facts-list">
                <dt>"Event types"</dt><dd>{list(&w.event_types)}</dd>
                <dt>"Directories"</dt><dd>{list(&w.directories)}</dd>
                <dt>"Sent through"</dt><dd>"cursor "<code data-testid="delivered-through">{w.delivered_through.clone()}</code></dd>
                <dt>"Last success"</dt><dd>{w.last_success_ago.clone().unwrap_or_else(|| "never".into())}</dd>
                {w.previous_secret_expires_at.clone().map(|until| view! {
                    <dt>"Previous secret"</dt><dd>"still signs until "{until}</dd>
                })}
            </dl>
            <div class="card-actions">
                <ActionForm action=actions.test>
                    <input type="hidden" name="webhook_id" value=id_test />
                    <button class="button button-small" type="submit" disabled=move || actions.test.pending().get()>
                        {move || if actions.test.pending().get() { "Sending…" } else { "Send test event" }}
                    </button>
                </ActionForm>
                <ActionForm action=actions.toggle>
                    <input type="hidden" name="webhook_id" value=id_toggle />
                    <input type="hidden" name="enabled" value=(!w.enabled).to_string() />
                    <button class="button button-small" type="submit">
                        {if w.enabled { "Disable" } else { "Enable" }}
                    </button>
                </ActionForm>
                <details class="menu">
                    <summary class="button button-small">"Edit…"</summary>
                    <div class="menu-body">
                        <ActionForm action=actions.update attr:class="form" attr:data-testid="edit-webhook-form">
                            <input type="hidden" name="webhook_id" value=id_edit />
                            <label for=edit_url_for>"URL"</label>
                            <input id=edit_url_id name="url" type="url" required value=url_now autocomplete="off" />
                            <label for=edit_desc_for>"Description"</label>
                            <input id=edit_desc_id name="description" type="text" maxlength="200" value=description_now
                                autocomplete="off" />
                            <fieldset class="radio-group check-grid">
                                <legend>"Event types (none: all)"</legend>
                                {type_boxes}
                            </fieldset>
                            <fieldset class="radio-group check-grid">
                                <legend>"Directories (none: all)"</legend>
                                {directory_boxes}
                            </fieldset>
                            <button class="button button-small button-primary" type="submit">"Save"</button>
                        </ActionForm>
                    </div>
                </details>
                <details class="menu">
                    <summary class="button button-small">"Rotate secret…"</summary>
                    <div class="menu-body">
                        <ActionForm action=actions.rotate attr:class="form">
                            <input type="hidden" name="webhook_id" value=id_rotate />
                            <label for=overlap_for>"The old secret keeps signing for"</label>
                            <select id=overlap_id name="overlap_hours">
                                <option value="0">"no time (stop at once)"</option>
                                <option value="1">"1 hour"</option>
                                <option value="24" selected>"24 hours"</option>
                                <option value="168">"7 days"</option>
                            </select>
                            <button class="button button-small button-primary" type="submit">"Rotate"</button>
                        </ActionForm>
                    </div>
                </details>
                <details class="menu">
                    <summary class="button button-small">"Replay…"</summary>
                    <div class="menu-body">
                        <ActionForm action=actions.replay attr:class="form">
                            <input type="hidden" name="webhook_id" value=id_replay />
                            <label for=replay_for>"Send again every event after cursor"</label>
                            <input id=replay_id name="after" type="text" inputmode="numeric" required
                                value="0" autocomplete="off" />
                            <button class="button button-small button-primary" type="submit">"Replay"</button>
                        </ActionForm>
                    </div>
                </details>
                <details class="menu">
                    <summary class="button button-small button-danger">"Delete…"</summary>
                    <div class="menu-body">
                        <ActionForm action=actions.delete attr:class="form">
                            <input type="hidden" name="webhook_id" value=id_delete />
                            <p>"Nothing more is sent to this URL; its delivery log goes too."</p>
                            <button class="button button-small button-danger" type="submit">"Delete endpoint"</button>
                        </ActionForm>
                    </div>
                </details>
            </div>
            <DeliveryLog deliveries=w.deliveries.clone() />
        </article>
    }
}

#[component]
fn DeliveryLog(deliveries: Vec<DeliveryView>) -> impl IntoView {
    if deliveries.is_empty() {
        return view! { <p class="muted">"No deliveries yet."</p> }.into_any();
    }
    view! {
        <div class="table-wrap">
            <table class="data" data-testid="delivery-log">
                <caption class="sr-only">"Recent deliveries, newest first"</caption>
                <thead>
                    <tr>
                        <th scope="col">"When"</th>
                        <th scope="col">"What"</th>
                        <th scope="col">"Attempt"</th>
                        <th scope="col">"Outcome"</th>
                        <th scope="col">"Status"</th>
                        <th scope="col">"Latency"</th>
                        <th scope="col">"Response"</th>
                    </tr>
                </thead>
                <tbody>
                    {deliveries.into_iter().map(|d| {
                        let what = if d.kind == "test" {
                            "test event".to_owned()
                        } else {
                            format!("{} event{}", d.event_count, if d.event_count == 1 { "" } else { "s" })
                        };
                        let badge = match d.outcome.as_str() {
                            "delivered" => "badge badge-success",
                            "failed" => "badge badge-danger",
                            _ => "badge badge-neutral",
                        };
                        view! {
                            <tr data-testid="delivery-row" data-outcome=d.outcome.clone()>
                                <td title=d.attempted_at.clone()>{d.ago.clone()}</td>
                                <td>{what}</td>
                                <td>{d.attempt}</td>
                                <td><span class=badge>{d.outcome.clone()}</span></td>
                                <td>{d.status_code.map(|s| s.to_string()).unwrap_or_else(|| "—".into())}</td>
                                <td>{d.latency_ms}" ms"</td>
                                <td class="detail">
                                    {d.error.clone().map(|e| view! { <div>{e}</div> })}
                                    {d.response_snippet.clone().map(|s| view! { <code>{s}</code> })}
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

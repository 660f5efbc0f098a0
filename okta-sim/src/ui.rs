//! A small HTML admin page mirroring Okta's "API Services app" screens, so newcomers can rehearse
//! the real setup steps. Plain forms posting form-encoded data, then redirecting back.

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde_json::{json, Value};

use crate::apps::{ServiceAppInfo, ServiceAppPatch, ServiceAppSpec};
use crate::handle::SimHandle;
use crate::state::Shared;

type S = State<Arc<Shared>>;
type F = Form<HashMap<String, String>>;

/// (form field, scope) pairs shown as checkboxes, as in Okta's "Okta API Scopes" tab.
const SCOPE_FIELDS: &[(&str, &str)] = &[
    ("scope_users", "okta.users.read"),
    ("scope_groups", "okta.groups.read"),
    ("scope_apps", "okta.apps.read"),
];
const ADMIN_ROLE_NAME: &str = "Roster Sync Read Only";

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/", get(page))
        .route("/sim", get(page))
        .route("/sim/ui/service-apps", post(create))
        .route("/sim/ui/service-apps/{client_id}", post(update))
        .route("/sim/ui/service-apps/{client_id}/delete", post(delete))
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn back(key: &str, msg: &str) -> Response {
    Redirect::to(&format!("/sim?{key}={}", url_encode(msg))).into_response()
}

fn checked(form: &HashMap<String, String>, field: &str) -> bool {
    form.get(field).is_some_and(|v| !v.is_empty() && v != "off")
}

fn scopes_from(form: &HashMap<String, String>) -> Vec<String> {
    SCOPE_FIELDS
        .iter()
        .filter(|(f, _)| checked(form, f))
        .map(|(_, s)| (*s).to_owned())
        .collect()
}

/// Key source from the form: a pasted JWK (or whole JWKS), or a JWKS URL.
fn keys_from(form: &HashMap<String, String>) -> Result<(Option<Value>, Option<String>), String> {
    let mode = form.get("key_mode").map(String::as_str).unwrap_or("jwk");
    if mode == "url" {
        let url = form
            .get("jwks_uri")
            .map(|s| s.trim().to_owned())
            .unwrap_or_default();
        return if url.is_empty() {
            Err("Enter the JWKS URL.".into())
        } else {
            Ok((None, Some(url)))
        };
    }
    let text = form.get("jwk").map(|s| s.trim()).unwrap_or_default();
    if text.is_empty() {
        return Err("Paste the public key (JWK).".into());
    }
    let v: Value =
        serde_json::from_str(text).map_err(|e| format!("The public key is not valid JSON: {e}"))?;
    let jwks = if v.get("keys").is_some() {
        v
    } else {
        json!({ "keys": [v] })
    };
    Ok((Some(jwks), None))
}

async fn create(State(s): S, Form(form): F) -> Response {
    let (jwks, jwks_uri) = match keys_from(&form) {
        Ok(k) => k,
        Err(e) => return back("error", &e),
    };
    let spec = ServiceAppSpec {
        name: form.get("name").cloned().unwrap_or_default(),
        jwks,
        jwks_uri,
        client_id: None,
        dpop_required: Some(checked(&form, "dpop_required")),
        scopes: Some(scopes_from(&form)),
        admin_role: Some(checked(&form, "admin_role")),
    };
    match (SimHandle { shared: s }).register_service_app(spec) {
        Ok(app) => back("created", &app.client_id),
        Err(e) => back("error", &e.to_string()),
    }
}

async fn update(State(s): S, Path(client_id): Path<String>, Form(form): F) -> Response {
    let keys = if form.get("jwk").is_some_and(|k| !k.trim().is_empty())
        || form.get("jwks_uri").is_some_and(|u| !u.trim().is_empty())
    {
        match keys_from(&form) {
            Ok(k) => Some(k),
            Err(e) => return back("error", &e),
        }
    } else {
        None
    };
    let (jwks, jwks_uri) = keys.unwrap_or((None, None));
    let patch = ServiceAppPatch {
        name: None,
        jwks,
        jwks_uri,
        dpop_required: Some(checked(&form, "dpop_required")),
        scopes: Some(scopes_from(&form)),
        admin_role: Some(checked(&form, "admin_role")),
    };
    match (SimHandle { shared: s }).update_service_app(&client_id, patch) {
        Ok(app) => back("updated", &app.client_id),
        Err(e) => back("error", &e.to_string()),
    }
}

async fn delete(State(s): S, Path(client_id): Path<String>) -> Response {
    match (SimHandle { shared: s }).delete_service_app(&client_id) {
        Ok(()) => back("deleted", &client_id),
        Err(e) => back("error", &e.to_string()),
    }
}

async fn page(State(s): S, Query(q): Query<HashMap<String, String>>) -> Html<String> {
    let h = SimHandle { shared: s };
    let summary = h.org_summary();
    let mut out = String::with_capacity(16 * 1024);
    out.push_str(HEAD);
    let _ = write!(
        out,
        r#"<header><strong>okta-sim</strong> <span class="muted">simulated Okta Admin Console · {}</span></header><main>"#,
        esc(h.base_url())
    );
    for (key, class, text) in [
        ("error", "error", "Error: "),
        ("created", "ok", "Created app with Client ID "),
        ("updated", "ok", "Saved "),
        ("deleted", "ok", "Deleted "),
    ] {
        if let Some(msg) = q.get(key) {
            let _ = write!(
                out,
                r#"<p class="flash {class}" role="status">{text}{}</p>"#,
                esc(msg)
            );
        }
    }
    let _ = write!(
        out,
        r#"<section class="card"><h2>Org</h2><dl>
<dt>Okta domain</dt><dd><code>{}</code></dd><dt>Org id</dt><dd><code>{}</code></dd>
<dt>Roster OIDC app</dt><dd><code>{}</code> (client ID <code>{}</code>) · {} users, {} groups assigned</dd>
<dt>Directory</dt><dd>{} users · {} groups · {} memberships</dd></dl></section>"#,
        esc(h.base_url()),
        esc(&summary.org_id),
        esc(&summary.roster_app_id),
        esc(&summary.roster_client_id),
        summary.roster_app_users,
        summary.roster_app_groups,
        summary.users,
        summary.groups,
        summary.memberships
    );
    out.push_str(CREATE_FORM);
    out.push_str(r#"<section><h2>API Services apps</h2>"#);
    let apps = h.service_apps();
    if apps.is_empty() {
        out.push_str(r#"<p class="muted">No API Services apps yet.</p>"#);
    }
    for app in &apps {
        app_card(&mut out, app);
    }
    out.push_str("</section></main></body></html>");
    Html(out)
}

fn app_card(out: &mut String, app: &ServiceAppInfo) {
    let id = esc(&app.client_id);
    let keys = match (&app.jwks_uri, &app.jwks) {
        (Some(uri), _) => format!("Keys fetched from <code>{}</code>", esc(uri)),
        (None, Some(jwks)) => {
            let kids: Vec<String> = jwks
                .get("keys")
                .and_then(Value::as_array)
                .map(|ks| {
                    ks.iter()
                        .map(|k| esc(k.get("kid").and_then(Value::as_str).unwrap_or("(no kid)")))
                        .collect()
                })
                .unwrap_or_default();
            format!(
                "{} public key(s): <code>{}</code>",
                kids.len(),
                kids.join("</code>, <code>")
            )
        }
        (None, None) => "No keys".into(),
    };
    let check = |on: bool| if on { " checked" } else { "" };
    let _ = write!(
        out,
        r#"<article class="card" data-client-id="{id}"><h3>{name}</h3><dl>
<dt>Client ID</dt><dd><code class="client-id">{id}</code></dd>
<dt>Client authentication</dt><dd>Public key / Private key</dd>
<dt>Public keys</dt><dd>{keys}</dd>
<dt>DPoP</dt><dd>{dpop}</dd>
<dt>Granted scopes</dt><dd>{scopes}</dd>
<dt>Admin roles</dt><dd>{role}</dd></dl>
<form method="post" action="/sim/ui/service-apps/{id}"><fieldset><legend>Edit</legend>
<label><input type="checkbox" name="dpop_required"{dpop_checked}> Require Demonstrating Proof of Possession (DPoP) header in token requests</label>"#,
        name = esc(&app.name),
        dpop = if app.dpop_required {
            "Required"
        } else {
            "Not required"
        },
        scopes = if app.scopes.is_empty() {
            "None".into()
        } else {
            esc(&app.scopes.join(", "))
        },
        role = if app.admin_role { ADMIN_ROLE_NAME } else { "None" },
        dpop_checked = check(app.dpop_required),
    );
    for (field, scope) in SCOPE_FIELDS {
        let on = app.scopes.iter().any(|s| s == scope);
        let _ = write!(
            out,
            r#"<label><input type="checkbox" name="{field}"{}> {scope}</label>"#,
            check(on)
        );
    }
    let _ = write!(
        out,
        r#"<label><input type="checkbox" name="admin_role"{}> Assign admin role: {ADMIN_ROLE_NAME}</label>
<label>Replace public key (JWK, optional)<textarea name="jwk" rows="3"></textarea></label>
<button type="submit">Save</button></fieldset></form>
<form method="post" action="/sim/ui/service-apps/{id}/delete"><button class="danger" type="submit">Delete app</button></form></article>"#,
        check(app.admin_role)
    );
}

const HEAD: &str = r#"<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>okta-sim admin</title>
<style>
body{margin:0;font:15px/1.5 system-ui,-apple-system,Segoe UI,sans-serif;background:#f4f5f7;color:#1d1d21}
header{background:#00297a;color:#fff;padding:12px 24px}header .muted{color:#c9d4ff}
main{max-width:860px;margin:24px auto;padding:0 16px}
.card{background:#fff;border:1px solid #dcdfe6;border-radius:8px;padding:16px 20px;margin:16px 0}
h2{font-size:1.2rem}h3{margin:0 0 8px}
dl{display:grid;grid-template-columns:200px 1fr;gap:4px 12px;margin:0}dt{color:#5c6270}dd{margin:0}
fieldset{border:1px solid #dcdfe6;border-radius:6px;margin:12px 0;padding:12px}
label{display:block;margin:6px 0}textarea,input[type=text],input[type=url]{width:100%;box-sizing:border-box;font:13px monospace;padding:6px}
button{background:#1662dd;color:#fff;border:0;border-radius:4px;padding:8px 14px;cursor:pointer;margin-top:8px}
button.danger{background:#c4262e}.muted{color:#6e7482}code{background:#eef0f4;padding:1px 4px;border-radius:3px}
.flash{padding:10px 14px;border-radius:6px}.flash.ok{background:#e3f6e8}.flash.error{background:#fde8e8}
</style></head><body>"#;

const CREATE_FORM: &str = r#"<section class="card"><h2>Create App Integration · API Services</h2>
<form method="post" action="/sim/ui/service-apps">
<label>App integration name <input type="text" name="name" required placeholder="Roster Sync"></label>
<fieldset><legend>Client Credentials · Client authentication</legend>
<label><input type="radio" name="client_auth" value="private_key_jwt" checked> Public key / Private key</label>
<label><input type="radio" name="key_mode" value="jwk" checked> Save keys in Okta: paste a public key (JWK)</label>
<textarea name="jwk" rows="5" placeholder='{"kty":"RSA","kid":"...","n":"...","e":"AQAB"}'></textarea>
<label><input type="radio" name="key_mode" value="url"> Use a URL to fetch keys dynamically</label>
<input type="url" name="jwks_uri" placeholder="http://127.0.0.1:3000/directories/ID/jwks.json">
</fieldset>
<fieldset><legend>General Settings</legend>
<label><input type="checkbox" name="dpop_required" checked> Require Demonstrating Proof of Possession (DPoP) header in token requests</label>
</fieldset>
<fieldset><legend>Okta API Scopes · Grant</legend>
<label><input type="checkbox" name="scope_users"> okta.users.read</label>
<label><input type="checkbox" name="scope_groups"> okta.groups.read</label>
<label><input type="checkbox" name="scope_apps"> okta.apps.read</label>
</fieldset>
<fieldset><legend>Admin roles</legend>
<label><input type="checkbox" name="admin_role"> Roster Sync Read Only (custom role, read-only resource set)</label>
</fieldset>
<button type="submit">Save</button></form></section>"#;

//! The wizard's "Verify Now": a checklist that says, item by item, whether
//! Roster can sync with these credentials and what to fix when not.
//! Nothing is stored here; the caller records the outcome.

use super::{
    client::{Credentials, OktaClient, RetryPolicy, SYNC_SCOPES},
    error::OktaError,
    model::App,
    Pacer,
};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum CheckStatus {
    Pass,
    Fail,
    Skipped,
    /// Missing, but needed only by an optional feature (System Log polling).
    Optional,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckItem {
    pub key: String,
    pub label: String,
    pub status: CheckStatus,
    pub detail: String,
    pub hint: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppChoice {
    pub id: String,
    pub label: String,
    pub name: String,
    pub oauth_client_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    pub items: Vec<CheckItem>,
    pub apps: Vec<AppChoice>,
    pub chosen_app: Option<AppChoice>,
    pub dpop_required: Option<bool>,
}

impl VerifyReport {
    pub fn ok(&self) -> bool {
        self.items
            .iter()
            .all(|i| matches!(i.status, CheckStatus::Pass | CheckStatus::Optional))
    }

    pub fn item(&self, key: &str) -> Option<&CheckItem> {
        self.items.iter().find(|i| i.key == key)
    }
}

struct Checklist(Vec<CheckItem>);

impl Checklist {
    fn push(&mut self, key: &str, label: &str, result: Result<String, OktaError>) -> bool {
        let ok = result.is_ok();
        let (status, detail, hint) = match result {
            Ok(detail) => (CheckStatus::Pass, detail, None),
            Err(e) => (CheckStatus::Fail, e.to_string(), Some(e.hint())),
        };
        self.0.push(CheckItem {
            key: key.into(),
            label: label.into(),
            status,
            detail,
            hint,
        });
        ok
    }

    fn fail(&mut self, key: &str, label: &str, detail: String, hint: String) {
        self.0.push(CheckItem {
            key: key.into(),
            label: label.into(),
            status: CheckStatus::Fail,
            detail,
            hint: Some(hint),
        });
    }

    fn skip(&mut self, items: &[(&str, &str)]) {
        for (key, label) in items {
            self.0.push(CheckItem {
                key: (*key).into(),
                label: (*label).into(),
                status: CheckStatus::Skipped,
                detail: "Not checked: an earlier step failed.".into(),
                hint: None,
            });
        }
    }
}

const ORG: (&str, &str) = ("org", "Okta domain resolves and is an Okta org");
const TOKEN: (&str, &str) = ("token", "Access token obtained with the key and Client ID");
const APPS: (&str, &str) = ("apps", "Applications are visible");
const USERS: (&str, &str) = ("users", "Users are readable");
const GROUPS: (&str, &str) = ("groups", "Groups are readable");
const ASSIGNMENTS: (&str, &str) = ("assignments", "The synced app's assignments are readable");
const LOGS: (&str, &str) = (
    "scope:okta.logs.read",
    "Scope okta.logs.read granted (optional: System Log polling)",
);

fn scope_item(scope: &str) -> (String, String) {
    (format!("scope:{scope}"), format!("Scope {scope} granted"))
}

pub struct VerifyInput<'a> {
    pub http: reqwest::Client,
    pub creds: Credentials,
    pub chosen_app_id: Option<&'a str>,
    /// Roster's own SSO client id, to preselect the app admins sign in with.
    pub sso_client_id: Option<&'a str>,
    pub retry: RetryPolicy,
}

pub async fn verify(input: VerifyInput<'_>) -> VerifyReport {
    let mut list = Checklist(Vec::new());
    let mut report = VerifyReport {
        items: Vec::new(),
        apps: Vec::new(),
        chosen_app: None,
        dpop_required: None,
    };
    let origin = input.creds.origin.clone();
    let quick = RetryPolicy {
        max_retries: 1,
        max_429_waits: 1,
        ..input.retry
    };

    if !list.push(
        ORG.0,
        ORG.1,
        check_org(&input.http, &origin.url("/.well-known/okta-organization")).await,
    ) {
        list.skip(&[TOKEN, APPS, USERS, GROUPS, ASSIGNMENTS]);
        report.items = list.0;
        return report;
    }

    // All three scopes at once; when Okta refuses, one at a time to name the missing ones.
    let full = OktaClient::new(
        input.http.clone(),
        input.creds.clone(),
        &SYNC_SCOPES,
        Pacer::new(1.0),
        quick,
    );
    let (client, token_result) = match full.token_info().await {
        Ok(info) => {
            report.dpop_required = Some(info.dpop);
            for scope in SYNC_SCOPES {
                let (key, label) = scope_item(scope);
                list.push(&key, &label, Ok("Granted.".into()));
            }
            (
                full,
                Ok(if info.dpop {
                    "Token obtained; the app requires DPoP, which Roster uses."
                } else {
                    "Token obtained."
                }
                .to_owned()),
            )
        }
        Err(OktaError::InvalidScope(_)) => {
            let mut granted = Vec::new();
            for scope in SYNC_SCOPES {
                let single = OktaClient::new(
                    input.http.clone(),
                    input.creds.clone(),
                    &[scope],
                    Pacer::new(1.0),
                    quick,
                );
                let (key, label) = scope_item(scope);
                match single.token_info().await {
                    Ok(info) => {
                        report.dpop_required = Some(info.dpop);
                        granted.push(scope);
                        list.push(&key, &label, Ok("Granted.".into()));
                    }
                    Err(e @ OktaError::InvalidScope(_)) => {
                        list.fail(
                            &key,
                            &label,
                            e.to_string(),
                            format!("Grant {scope} on the API Services app's “Okta API Scopes” tab."),
                        );
                    }
                    Err(e) => {
                        list.push(&key, &label, Err(e));
                    }
                }
            }
            let client = OktaClient::new(
                input.http.clone(),
                input.creds.clone(),
                &granted,
                Pacer::new(1.0),
                quick,
            );
            let result = if granted.is_empty() {
                Err(OktaError::InvalidScope(
                    "none of okta.users.read, okta.groups.read, okta.apps.read is granted".into(),
                ))
            } else {
                Ok("Client authentication works, but scopes are missing.".to_owned())
            };
            (client, result)
        }
        Err(e) => {
            list.push(TOKEN.0, TOKEN.1, Err(e));
            list.skip(&[APPS, USERS, GROUPS, ASSIGNMENTS]);
            report.items = list.0;
            return report;
        }
    };
    let token_ok = token_result.is_ok();
    // The token item goes before the scope items.
    let position = list
        .0
        .iter()
        .position(|i| i.key.starts_with("scope:"))
        .unwrap_or(list.0.len());
    let mut tail = list.0.split_off(position);
    list.push(TOKEN.0, TOKEN.1, token_result);
    list.0.append(&mut tail);
    if !token_ok {
        list.skip(&[APPS, USERS, GROUPS, ASSIGNMENTS]);
        report.items = list.0;
        return report;
    }

    let apps = list_apps(&client).await;
    let apps_result = apps
        .as_ref()
        .map(|a| format!("{} apps visible.", a.len()))
        .map_err(Clone::clone);
    list.push(APPS.0, APPS.1, apps_result);
    report.apps = apps.unwrap_or_default();

    let users = client
        .get_page::<serde_json::Value>(&origin.url("/api/v1/users?limit=1"), "users")
        .await;
    list.push(USERS.0, USERS.1, users.map(|_| "Users can be listed.".into()));
    let groups = client
        .get_page::<serde_json::Value>(&origin.url("/api/v1/groups?limit=1"), "groups")
        .await;
    list.push(GROUPS.0, GROUPS.1, groups.map(|_| "Groups can be listed.".into()));

    report.chosen_app = choose_app(&report.apps, input.chosen_app_id, input.sso_client_id);
    match &report.chosen_app {
        Some(app) => {
            let result = check_assignments(&client, &origin, app).await;
            list.push(ASSIGNMENTS.0, ASSIGNMENTS.1, result);
        }
        None if report.apps.is_empty() => list.skip(&[ASSIGNMENTS]),
        None => list.fail(
            ASSIGNMENTS.0,
            ASSIGNMENTS.1,
            "Several apps are visible and none is chosen.".into(),
            "Pick the Okta app whose assigned users and groups Roster should sync.".into(),
        ),
    }
    list.0.push(check_logs(&input, quick).await);
    report.items = list.0;
    report
}

/// Whether the key may read the System Log, through a client that asks
/// for `okta.logs.read` alone: granted, or missing (polling stays off).
async fn check_logs(input: &VerifyInput<'_>, retry: RetryPolicy) -> CheckItem {
    let client = OktaClient::new(
        input.http.clone(),
        input.creds.clone(),
        &["okta.logs.read"],
        Pacer::new(1.0),
        retry,
    );
    let url = client.origin().url("/api/v1/logs?limit=1");
    let (status, detail, hint) = match client.get_page::<serde_json::Value>(&url, "the System Log").await {
        Ok(_) => (
            CheckStatus::Pass,
            "Granted: System Log polling can be turned on.".to_owned(),
            None,
        ),
        Err(e @ (OktaError::InvalidScope(_) | OktaError::Forbidden { .. })) => (
            CheckStatus::Optional,
            format!("Not granted, so System Log polling stays off ({e})."),
            Some(
                "Only for System Log polling: grant okta.logs.read on the API Services app's “Okta API Scopes” tab."
                    .to_owned(),
            ),
        ),
        Err(e) => (CheckStatus::Optional, e.to_string(), Some(e.hint())),
    };
    CheckItem {
        key: LOGS.0.into(),
        label: LOGS.1.into(),
        status,
        detail,
        hint,
    }
}

async fn check_org(http: &reqwest::Client, url: &str) -> Result<String, OktaError> {
    let response = http
        .get(url)
        .timeout(std::time::Duration::from_secs(10))
        .send()
        .await
        .map_err(|e| OktaError::Unreachable(format!("{url}: {}", e.without_url())))?;
    if !response.status().is_success() {
        return Err(OktaError::NotFound(format!(
            "Okta org at this domain (HTTP {})",
            response.status()
        )));
    }
    let body: serde_json::Value = response
        .json()
        .await
        .map_err(|_| OktaError::NotFound("Okta org at this domain (not an Okta answer)".into()))?;
    match body.get("id").and_then(|v| v.as_str()) {
        Some(id) => Ok(format!("Okta org {id}.")),
        None => Err(OktaError::NotFound("Okta org at this domain (no org id)".into())),
    }
}

async fn list_apps(client: &OktaClient) -> Result<Vec<AppChoice>, OktaError> {
    let mut apps = Vec::new();
    let mut pages = client.pages::<App>(client.origin().url("/api/v1/apps?limit=200"), "applications");
    // Ten pages (2 000 apps) is far beyond what a wizard can show.
    for _ in 0..10 {
        let Some(items) = pages.next().await? else { break };
        apps.extend(
            items
                .into_iter()
                .filter(|a| a.status == "ACTIVE" || a.status.is_empty())
                .map(|a| AppChoice {
                    oauth_client_id: a.oauth_client_id().map(str::to_owned),
                    id: a.id,
                    label: a.label,
                    name: a.name,
                }),
        );
    }
    Ok(apps)
}

fn choose_app(apps: &[AppChoice], chosen: Option<&str>, sso_client_id: Option<&str>) -> Option<AppChoice> {
    if let Some(id) = chosen {
        return apps.iter().find(|a| a.id == id).cloned();
    }
    if let Some(client_id) = sso_client_id {
        if let Some(app) = apps
            .iter()
            .find(|a| a.oauth_client_id.as_deref() == Some(client_id))
        {
            return Some(app.clone());
        }
    }
    match apps {
        [only] => Some(only.clone()),
        _ => None,
    }
}

async fn check_assignments(
    client: &OktaClient,
    origin: &super::OktaOrigin,
    app: &AppChoice,
) -> Result<String, OktaError> {
    let what = format!("the assignments of “{}”", app.label);
    client
        .get_page::<serde_json::Value>(
            &origin.url(&format!("/api/v1/apps/{}/users?limit=1", app.id)),
            &what,
        )
        .await?;
    client
        .get_page::<serde_json::Value>(
            &origin.url(&format!("/api/v1/apps/{}/groups?limit=1", app.id)),
            &what,
        )
        .await?;
    Ok(format!(
        "Users and groups assigned to “{}” can be read.",
        app.label
    ))
}

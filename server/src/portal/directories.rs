//! Directory Sync for the UI: cards, the wizard, detail pages. Maps the
//! engine and store into the UI's shapes and their errors into AppError.

use crate::{
    directory::{DirectoryError, RawSyncSettings},
    okta::{CheckStatus, VerifyReport},
    state::AppState,
    store::{Directory, RunRow, StoreError, UserFilter, UserSort},
    sync::{SyncError, Trigger},
};
use app::api::{
    AppError, AppView, CheckView, DirectoryCard, DirectoryDetail, DirectoryStatus, DraftView, ErrorView,
    KeysView, NextKeyView, PendingDiffView, PreviewView, ProgressView, RunView, SettingsForm, SettingsView,
    UserQuery, UserRow, UsersPage, VerifyView, WizardState,
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};

/// Rows per page of every table; queries ask for one more to know if a next page exists.
pub(super) const PAGE_SIZE: i64 = 50;

impl From<DirectoryError> for AppError {
    fn from(e: DirectoryError) -> Self {
        match e {
            DirectoryError::Invalid(message) => AppError::Invalid(message),
            DirectoryError::NotFound => AppError::NotFound("The directory".into()),
            DirectoryError::NotVerified => AppError::Invalid(e.to_string()),
            DirectoryError::Sync(e) => e.into(),
            DirectoryError::Store(e) => e.into(),
            DirectoryError::Key(detail) => {
                tracing::error!(detail, "directory key operation failed");
                AppError::Internal("keys".into())
            }
        }
    }
}

impl From<SyncError> for AppError {
    fn from(e: SyncError) -> Self {
        match e {
            SyncError::AlreadySyncing => AppError::Invalid("This directory is already syncing.".into()),
            SyncError::NotFound => AppError::NotFound("The directory".into()),
            SyncError::NothingToConfirm => {
                AppError::Invalid("There are no held changes to review any more.".into())
            }
            SyncError::Store(e) => e.into(),
        }
    }
}

pub(super) fn error_view(run: &RunRow) -> Option<ErrorView> {
    Some(ErrorView {
        code: run.error_code.clone()?,
        message: run.error_message.clone().unwrap_or_default(),
        hint: run.error_hint.clone().unwrap_or_default(),
    })
}

/// One line on the card about the last finished run.
fn run_summary(run: &RunRow) -> Option<String> {
    if run.status != "succeeded" {
        return None;
    }
    let part = |n: i64, what: &str| (n > 0).then(|| format!("{n} {what}"));
    let users: Vec<String> = [
        part(run.users_added, "added"),
        part(run.users_updated, "updated"),
        part(run.users_removed, "removed"),
    ]
    .into_iter()
    .flatten()
    .collect();
    let groups: Vec<String> = [
        part(run.groups_added, "added"),
        part(run.groups_updated, "updated"),
        part(run.groups_removed, "removed"),
    ]
    .into_iter()
    .flatten()
    .collect();
    let describe = |what: &str, parts: Vec<String>| {
        if parts.is_empty() {
            format!("{what} unchanged")
        } else {
            format!("{what} {}", parts.join(", "))
        }
    };
    Some(format!(
        "Last sync ({}): {}; {}.",
        run.trigger,
        describe("users", users),
        describe("groups", groups)
    ))
}

pub(super) fn run_view(run: &RunRow) -> RunView {
    let parse = |t: &str| crate::store::parse_timestamp(t).ok();
    let duration_secs = run
        .finished_at
        .as_deref()
        .and_then(parse)
        .zip(parse(&run.started_at))
        .map(|(end, start)| (end - start).as_seconds_f64());
    RunView {
        id: run.id.clone(),
        trigger: run.trigger.clone(),
        status: run.status.clone(),
        started_at: run.started_at.clone(),
        duration_secs,
        api_calls: run.api_calls,
        rate_limited: run.rate_limited,
        users_added: run.users_added,
        users_updated: run.users_updated,
        users_removed: run.users_removed,
        groups_added: run.groups_added,
        groups_updated: run.groups_updated,
        groups_removed: run.groups_removed,
        error: error_view(run),
    }
}

async fn card(state: &AppState, d: &Directory) -> Result<DirectoryCard, StoreError> {
    let store = &state.store;
    let counts = store.directory_counts(&d.id).await?;
    let last_run = store.runs(&d.id, 1).await?.into_iter().next();
    let pending = store.pending_confirmation(&d.id).await?;
    let progress = state.directories.engine().progress(&d.id).map(|p| ProgressView {
        run_id: p.run_id,
        phase: p.phase,
        pages: p.pages,
        users: p.users,
        groups: p.groups,
    });
    let last_error = last_run
        .as_ref()
        .filter(|r| r.status == "failed")
        .and_then(error_view);
    let status = if progress.is_some() {
        DirectoryStatus::Syncing
    } else if pending.is_some() {
        DirectoryStatus::NeedsConfirmation
    } else if d.paused && d.paused_reason.as_deref() == Some("admin") {
        DirectoryStatus::Paused
    } else if last_error.is_some() || d.paused {
        DirectoryStatus::Error
    } else if d.last_success_at.is_none() {
        DirectoryStatus::NeverSynced
    } else {
        DirectoryStatus::Healthy
    };
    let failing_over_a_day = d
        .failing_since
        .as_deref()
        .and_then(|t| crate::store::parse_timestamp(t).ok())
        .is_some_and(|since| time::OffsetDateTime::now_utc() - since > time::Duration::hours(24));
    let pending = match pending {
        Some(run) => {
            let sample: crate::store::DiffSample = run
                .diff_sample
                .as_deref()
                .and_then(|s| serde_json::from_str(s).ok())
                .unwrap_or_default();
            Some(PendingDiffView {
                run_id: run.id.clone(),
                users_added: run.users_added,
                users_updated: run.users_updated,
                users_removed: run.users_removed,
                groups_added: run.groups_added,
                groups_removed: run.groups_removed,
                users_removed_sample: sample.users_removed,
                groups_removed_sample: sample.groups_removed,
            })
        }
        None => None,
    };
    Ok(DirectoryCard {
        id: d.id.clone(),
        name: d.name.clone(),
        okta_domain: d
            .okta_origin
            .split_once("://")
            .map_or(d.okta_origin.as_str(), |(_, h)| h)
            .to_owned(),
        app_label: d.app_label.clone(),
        status,
        last_success_ago: d.last_success_at.as_deref().map(relative),
        last_success_at: d.last_success_at.clone(),
        next_sync_in: if d.paused {
            None
        } else {
            d.next_sync_at.as_deref().map(relative)
        },
        next_sync_at: if d.paused { None } else { d.next_sync_at.clone() },
        users: counts.users,
        suspended: counts.suspended,
        groups: counts.groups,
        last_error,
        failing_over_a_day,
        last_run_summary: last_run.as_ref().and_then(run_summary),
        progress,
        pending,
    })
}

pub async fn cards(state: &AppState) -> Result<Vec<DirectoryCard>, AppError> {
    let mut cards = Vec::new();
    for d in state.store.list_directories().await? {
        cards.push(card(state, &d).await?);
    }
    Ok(cards)
}

pub(super) async fn active_directory(state: &AppState, id: &str) -> Result<Directory, AppError> {
    match state.store.directory(id).await? {
        Some(d) if d.state == "active" => Ok(d),
        _ => Err(AppError::NotFound("The directory".into())),
    }
}

async fn draft(state: &AppState, id: &str) -> Result<Directory, AppError> {
    match state.store.directory(id).await? {
        Some(d) if d.state == "draft" => Ok(d),
        Some(_) => Err(AppError::Invalid(
            "This directory was already created; open it from Directory Sync.".into(),
        )),
        None => Err(AppError::NotFound("The draft directory".into())),
    }
}

pub async fn sync_now(state: &AppState, id: String) -> Result<String, AppError> {
    let directory = active_directory(state, &id).await?;
    if directory.paused && directory.paused_reason.as_deref() == Some("admin") {
        return Err(AppError::Invalid(
            "This directory is paused; resume it to sync.".into(),
        ));
    }
    Ok(state.directories.engine().sync_now(&id, Trigger::Manual).await?)
}

pub async fn resolve_pending(state: &AppState, id: String, apply: bool) -> Result<(), AppError> {
    active_directory(state, &id).await?;
    let engine = state.directories.engine();
    if apply {
        engine.confirm(&id).await?;
    } else {
        engine.discard(&id).await?;
    }
    Ok(())
}

pub async fn set_paused(state: &AppState, id: String, paused: bool) -> Result<(), AppError> {
    active_directory(state, &id).await?;
    state.store.set_paused(&id, paused, Some("admin")).await?;
    Ok(())
}

pub async fn delete(state: &AppState, id: String, confirm_name: String) -> Result<(), AppError> {
    let directory = active_directory(state, &id).await?;
    if confirm_name.trim() != directory.name {
        return Err(AppError::Invalid(format!(
            "Type the directory's name, “{}”, to confirm.",
            directory.name
        )));
    }
    if state.directories.engine().progress(&id).is_some() {
        return Err(AppError::Invalid(
            "Wait for the running sync to finish, then delete.".into(),
        ));
    }
    state.store.delete_directory(&id).await?;
    tracing::info!(directory_id = id, "directory deleted");
    Ok(())
}

/// A finished preview run as the wizard shows it.
fn preview_view(run: &RunRow) -> PreviewView {
    let sample: crate::store::DiffSample = run
        .diff_sample
        .as_deref()
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or_default();
    PreviewView {
        run_id: run.id.clone(),
        finished_at: run.finished_at.clone().unwrap_or_default(),
        users: run.users_added,
        groups: run.groups_added,
        memberships: run.memberships_added,
        users_sample: sample.users_added,
        groups_sample: sample.groups_added,
        error: error_view(run),
    }
}

fn okta_domain(d: &Directory) -> String {
    // https is implied; a plain-http test origin keeps its scheme so it re-validates.
    d.okta_origin
        .strip_prefix("https://")
        .unwrap_or(&d.okta_origin)
        .to_owned()
}

async fn wizard_state(state: &AppState, d: &Directory) -> Result<WizardState, AppError> {
    let service = &state.directories;
    let key = service.public_key(&d.id).await?;
    let preview = state
        .store
        .latest_finished_run(&d.id, Trigger::Preview.as_str())
        .await?;
    Ok(WizardState {
        directory_id: d.id.clone(),
        okta_domain: okta_domain(d),
        client_id: d.client_id.clone(),
        jwk_json: serde_json::to_string_pretty(&key.jwk).unwrap_or_default(),
        pem: key.pem,
        jwks_url: key.jwks_url,
        app_id: d.app_id.clone(),
        verified: service.is_verified(d).await?,
        sso_configured: false,
        preview: preview.as_ref().map(preview_view),
    })
}

pub async fn start_wizard(state: &AppState) -> Result<WizardState, AppError> {
    let view = state.directories.create_draft_with_keys().await?;
    let d = draft(state, &view.directory_id).await?;
    wizard_state(state, &d).await
}

pub async fn wizard(state: &AppState, id: String) -> Result<WizardState, AppError> {
    let d = draft(state, &id).await?;
    wizard_state(state, &d).await
}

pub async fn save_connection(
    state: &AppState,
    id: String,
    domain: String,
    client_id: String,
) -> Result<WizardState, AppError> {
    let d = draft(state, &id).await?;
    let app = d.app_id.as_deref().zip(d.app_label.as_deref());
    state
        .directories
        .set_connection(&id, &domain, &client_id, app)
        .await?;
    let d = draft(state, &id).await?;
    wizard_state(state, &d).await
}

fn verify_view(report: &VerifyReport) -> VerifyView {
    VerifyView {
        ok: report.ok(),
        items: report
            .items
            .iter()
            .map(|i| CheckView {
                key: i.key.clone(),
                label: i.label.clone(),
                status: match i.status {
                    CheckStatus::Pass => "pass",
                    CheckStatus::Fail => "fail",
                    CheckStatus::Skipped => "skipped",
                }
                .into(),
                detail: i.detail.clone(),
                hint: i.hint.clone(),
            })
            .collect(),
        apps: report
            .apps
            .iter()
            .map(|a| AppView {
                id: a.id.clone(),
                label: a.label.clone(),
            })
            .collect(),
        chosen_app_id: report.chosen_app.as_ref().map(|a| a.id.clone()),
        dpop_required: report.dpop_required,
    }
}

pub async fn verify(state: &AppState, id: String, app_id: Option<String>) -> Result<VerifyView, AppError> {
    let d = draft(state, &id).await?;
    if d.okta_origin.is_empty() || d.client_id.is_empty() {
        return Err(AppError::Invalid(
            "Enter the Okta domain and Client ID first.".into(),
        ));
    }
    if let Some(app_id) = app_id {
        state
            .directories
            .set_connection(&id, &d.okta_origin, &d.client_id, Some((&app_id, &app_id)))
            .await?;
    }
    let report = state.directories.verify(&id, None).await?;
    Ok(verify_view(&report))
}

pub async fn preview(state: &AppState, id: String) -> Result<PreviewView, AppError> {
    draft(state, &id).await?;
    let outcome = state.directories.preview(&id).await?;
    let run = state
        .store
        .run(&outcome.run_id)
        .await?
        .ok_or_else(|| AppError::NotFound("The preview run".into()))?;
    Ok(preview_view(&run))
}

pub async fn drafts(state: &AppState) -> Result<Vec<DraftView>, AppError> {
    let mut views = Vec::new();
    for d in state.store.list_drafts().await? {
        views.push(DraftView {
            id: d.id.clone(),
            okta_domain: okta_domain(&d),
            client_id: d.client_id.clone(),
            created_ago: relative(&d.created_at),
            created_at: d.created_at.clone(),
            verified: state.directories.is_verified(&d).await?,
        });
    }
    Ok(views)
}

pub async fn discard_draft(state: &AppState, id: String) -> Result<(), AppError> {
    draft(state, &id).await?;
    if state.directories.engine().progress(&id).is_some() {
        return Err(AppError::Invalid(
            "Wait for the preview to finish, then discard the draft.".into(),
        ));
    }
    state.store.delete_directory(&id).await?;
    tracing::info!(directory_id = id, "draft directory discarded");
    Ok(())
}

pub async fn create(state: &AppState, id: String, name: String) -> Result<String, AppError> {
    draft(state, &id).await?;
    state.directories.create(&id, &name).await?;
    Ok(id)
}

pub async fn detail(state: &AppState, id: String) -> Result<DirectoryDetail, AppError> {
    let d = active_directory(state, &id).await?;
    let runs = state.store.runs(&id, 25).await?.iter().map(run_view).collect();
    let settings = SettingsView {
        interval_minutes: d.sync_interval_secs / 60,
        rate_limit_percent: (d.rate_limit_share * 100.0).round() as i64,
        breaker_percent: (d.breaker_threshold * 100.0).round() as i64,
        paused: d.paused,
    };
    Ok(DirectoryDetail {
        card: card(state, &d).await?,
        settings,
        keys: keys_view(state, &id).await?,
        runs,
    })
}

pub(super) fn encode_cursor(name: &str, id: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{name}\u{0}{id}"))
}

/// Cuts the extra row off a `PAGE_SIZE + 1` query and makes the next page's cursor.
pub(super) fn one_page<T>(
    mut rows: Vec<T>,
    key: impl Fn(&T) -> (&String, &String),
) -> (Vec<T>, Option<String>) {
    let more = rows.len() as i64 > PAGE_SIZE;
    rows.truncate(PAGE_SIZE as usize);
    let next = if more {
        rows.last().map(key).map(|(k, id)| encode_cursor(k, id))
    } else {
        None
    };
    (rows, next)
}

pub(super) fn decode_cursor(cursor: &str) -> Result<(String, String), AppError> {
    let bad = || AppError::Invalid("The page link is no longer valid; go back to the first page.".into());
    let raw = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    let text = String::from_utf8(raw).map_err(|_| bad())?;
    let (name, id) = text.split_once('\u{0}').ok_or_else(bad)?;
    Ok((name.to_owned(), id.to_owned()))
}

pub async fn users(state: &AppState, id: String, query: UserQuery) -> Result<UsersPage, AppError> {
    active_directory(state, &id).await?;
    let after = query.cursor.as_deref().map(decode_cursor).transpose()?;
    let filter = UserFilter {
        search: &query.search,
        status: &query.status,
        sort: UserSort::parse(&query.sort),
        after: after.as_ref().map(|(n, i)| (n.as_str(), i.as_str())),
    };
    let rows = state.store.list_users(&id, &filter, PAGE_SIZE + 1).await?;
    let (rows, next_cursor) = one_page(rows, |r| (&r.sort_key, &r.okta_id));
    let total = state
        .store
        .count_users(
            &id,
            &UserFilter {
                after: None,
                ..filter
            },
        )
        .await?;
    Ok(UsersPage {
        rows: rows
            .into_iter()
            .map(|r| UserRow {
                okta_id: r.okta_id,
                display_name: r.display_name,
                email: r.email,
                login: r.login,
                status: r.status,
                groups: r.groups,
                updated_at: r.updated_at,
            })
            .collect(),
        total,
        next_cursor,
    })
}

/// "3 minutes ago" / "in 2 hours" for a stored timestamp.
fn relative(stored: &str) -> String {
    let Ok(at) = crate::store::parse_timestamp(stored) else {
        return stored.to_owned();
    };
    let delta = at - time::OffsetDateTime::now_utc();
    let secs = delta.whole_seconds().abs();
    let amount = match secs {
        0..=59 => {
            return if delta.is_negative() {
                "just now".into()
            } else {
                "in less than a minute".into()
            }
        }
        60..=3599 => format!("{} minute{}", secs / 60, if secs / 60 == 1 { "" } else { "s" }),
        3600..=86_399 => format!("{} hour{}", secs / 3600, if secs / 3600 == 1 { "" } else { "s" }),
        _ => format!(
            "{} day{}",
            secs / 86_400,
            if secs / 86_400 == 1 { "" } else { "s" }
        ),
    };
    if delta.is_negative() {
        format!("{amount} ago")
    } else {
        format!("in {amount}")
    }
}

async fn keys_view(state: &AppState, id: &str) -> Result<KeysView, AppError> {
    let service = &state.directories;
    let (active_kid, next_kid) = service.key_states(id).await?;
    // While rotating, `public_key` is the waiting key; otherwise the active one.
    let key = service.public_key(id).await?;
    let next = next_kid.map(|kid| NextKeyView {
        kid,
        jwk_json: serde_json::to_string_pretty(&key.jwk).unwrap_or_default(),
        pem: key.pem.clone(),
    });
    Ok(KeysView {
        active_kid,
        next,
        jwks_url: key.jwks_url,
    })
}

pub async fn update_settings(state: &AppState, id: String, form: SettingsForm) -> Result<(), AppError> {
    active_directory(state, &id).await?;
    let raw = RawSyncSettings {
        name: &form.name,
        interval_minutes: &form.interval_minutes,
        rate_limit_percent: &form.rate_limit_percent,
        breaker_percent: &form.breaker_percent,
    };
    state.directories.update_settings(&id, &raw).await?;
    tracing::info!(directory_id = id, "directory settings updated");
    Ok(())
}

pub async fn rotate_key(state: &AppState, id: String) -> Result<(), AppError> {
    active_directory(state, &id).await?;
    state.directories.rotate_key(&id).await?;
    tracing::info!(directory_id = id, "key rotation started");
    Ok(())
}

pub async fn verify_existing(state: &AppState, id: String) -> Result<VerifyView, AppError> {
    active_directory(state, &id).await?;
    let report = state.directories.verify(&id, None).await?;
    Ok(verify_view(&report))
}

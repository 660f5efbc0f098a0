//! A directory's Okta Event Hook page, for the UI.

use super::{actor, directory_id};
use crate::domain::{
    clock::relative,
    log_polling::{LogPollingInput, LogPollingView},
    okta_hooks::HookSetup,
    Core,
};
use app::api::{AppError, HookSetupView, LogPollingUi, OktaHookView};

fn setup_view(s: HookSetup) -> HookSetupView {
    HookSetupView {
        verified_ago: s.verified_at.as_deref().map(relative),
        last_delivery_ago: s.last_delivery_at.as_deref().map(relative),
        last_delivery_at: s.last_delivery_at,
        url: s.url,
        header_name: s.header_name,
        secret: s.secret,
        event_types: s.event_types,
        deliveries: s.deliveries,
        curl: s.curl,
        terraform: s.terraform,
    }
}

pub async fn view(core: &Core, id: String) -> Result<OktaHookView, AppError> {
    let actor = actor().await?;
    let id = directory_id(&id)?;
    let directory = core.directories.active(&id).await?;
    Ok(OktaHookView {
        directory_id: id.to_string(),
        directory_name: directory.name,
        pull_enabled: directory.pull_enabled,
        setup: core.okta_hooks.get(&actor, &id).await?.map(setup_view),
        polling: if directory.pull_enabled {
            Some(polling_view(core.log_polling.get(&id).await?))
        } else {
            None
        },
    })
}

fn polling_view(v: LogPollingView) -> LogPollingUi {
    LogPollingUi {
        enabled: v.enabled,
        state: serde_json::to_value(v.state)
            .ok()
            .and_then(|s| s.as_str().map(str::to_owned))
            .unwrap_or_default(),
        summary: v.summary,
        interval_secs: v.interval_secs,
        reconcile_hours: v.reconcile_hours,
        cursor_at: v.cursor_at,
        last_poll_ago: v.last_poll_ago,
        last_events: v.last_events,
        polls: v.polls,
        last_error: v.last_error,
        gap_reason: v.gap_reason,
        next_sync_incremental: v.next_sync_incremental,
    }
}

/// A whole number typed into the form, or what is wrong with it.
fn number(raw: Option<String>, field: &str) -> Result<Option<i64>, AppError> {
    match raw.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
        None => Ok(None),
        Some(text) => text
            .parse()
            .map(Some)
            .map_err(|_| AppError::Invalid(format!("{field}: enter a whole number."))),
    }
}

pub async fn set_polling(
    core: &Core,
    id: String,
    enabled: bool,
    interval_secs: Option<String>,
    reconcile_hours: Option<String>,
) -> Result<(), AppError> {
    let actor = actor().await?;
    let input = LogPollingInput {
        enabled,
        interval_secs: number(interval_secs, "Poll every (seconds)")?,
        reconcile_hours: number(reconcile_hours, "Full sync every (hours)")?,
    };
    core.log_polling.set(&actor, &directory_id(&id)?, &input).await?;
    Ok(())
}

pub async fn create(core: &Core, id: String, header_name: String) -> Result<(), AppError> {
    let actor = actor().await?;
    core.okta_hooks
        .create(&actor, &directory_id(&id)?, Some(header_name.as_str()))
        .await?;
    Ok(())
}

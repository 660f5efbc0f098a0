//! Directory Sync for the UI: cards, the wizard, the directory page. Domain
//! read models into the UI's shapes; wording of times comes from the domain.

use super::{actor, directory_id};
use crate::domain::{
    clock::relative,
    directories::{
        CheckOutcome, DirectorySummary, KeysView, RawSyncSettings, RunErrorView, RunSummary, VerifyResult,
    },
    webhooks::Webhook,
    Core,
};
use app::api::{
    AppError, AppView, CheckView, DirectoryCard, DirectoryDetail, ErrorView, KeysView as UiKeys, NextKeyView,
    PendingDiffView, ProgressView, RunView, SettingsForm, SettingsView, VerifyView,
};

pub(super) fn error_view(e: &RunErrorView) -> ErrorView {
    ErrorView {
        code: e.code.clone(),
        message: e.message.clone(),
        hint: e.hint.clone(),
    }
}

pub(super) fn run_view(run: &RunSummary) -> RunView {
    RunView {
        id: run.id.to_string(),
        trigger: run.trigger.as_str().to_owned(),
        status: run.status.as_str().to_owned(),
        started_at: run.started_at.clone(),
        duration_secs: run.duration_secs,
        api_calls: run.api_calls,
        rate_limited: run.rate_limited,
        users_added: run.users_added,
        users_updated: run.users_updated,
        users_removed: run.users_removed,
        groups_added: run.groups_added,
        groups_updated: run.groups_updated,
        groups_removed: run.groups_removed,
        error: run.error.as_ref().map(error_view),
    }
}

fn card(d: DirectorySummary) -> DirectoryCard {
    DirectoryCard {
        id: d.id.to_string(),
        name: d.name,
        okta_domain: d.okta_domain,
        app_label: d.app_label,
        status: match d.status {
            crate::domain::directories::DirectoryStatus::Healthy => app::api::DirectoryStatus::Healthy,
            crate::domain::directories::DirectoryStatus::Syncing => app::api::DirectoryStatus::Syncing,
            crate::domain::directories::DirectoryStatus::NeedsConfirmation => {
                app::api::DirectoryStatus::NeedsConfirmation
            }
            crate::domain::directories::DirectoryStatus::Error => app::api::DirectoryStatus::Error,
            crate::domain::directories::DirectoryStatus::Paused => app::api::DirectoryStatus::Paused,
            crate::domain::directories::DirectoryStatus::NeverSynced => {
                app::api::DirectoryStatus::NeverSynced
            }
        },
        last_success_ago: d.last_success_at.as_deref().map(relative),
        last_success_at: d.last_success_at,
        next_sync_in: d.next_sync_at.as_deref().map(relative),
        next_sync_at: d.next_sync_at,
        active_users: d.counts.users_active,
        suspended: d.counts.users_suspended,
        groups: d.counts.groups,
        last_error: d.last_error.as_ref().map(error_view),
        failing_over_a_day: d.failing_over_a_day,
        pull_enabled: d.pull_enabled,
        scim_enabled: d.scim_enabled,
        webhook_problems: Vec::new(),
        last_run_summary: d.last_run.as_ref().and_then(|run| {
            run.change_summary()
                .map(|summary| format!("Last sync ({}): {summary}.", run.trigger.as_str()))
        }),
        progress: d.progress.map(|p| ProgressView {
            run_id: p.run_id,
            phase: p.phase,
            pages: p.pages,
            users: p.users,
            groups: p.groups,
        }),
        pending: d.pending.map(|p| PendingDiffView {
            run_id: p.run_id.to_string(),
            users_added: p.users_added,
            users_updated: p.users_updated,
            users_removed: p.users_removed,
            groups_added: p.groups_added,
            groups_removed: p.groups_removed,
            users_removed_sample: p.users_removed_sample,
            groups_removed_sample: p.groups_removed_sample,
        }),
    }
}

pub async fn cards(core: &Core) -> Result<Vec<DirectoryCard>, AppError> {
    let troubled = core.webhooks.troubled().await?;
    Ok(core
        .directories
        .list()
        .await?
        .into_iter()
        .map(|d| {
            let mut card = card(d);
            card.webhook_problems = webhook_problems(&troubled, &card.id);
            card
        })
        .collect())
}

/// The card's line for each failing endpoint that is sent its events.
fn webhook_problems(troubled: &[Webhook], directory_id: &str) -> Vec<String> {
    troubled
        .iter()
        .filter(|w| w.covers(directory_id))
        .map(|w| match &w.disabled_reason {
            Some(reason) => format!("Webhook {} is disabled. {reason}", w.url),
            None => format!(
                "Webhook {} is failing ({} attempts in a row); Roster keeps retrying.",
                w.url, w.failures
            ),
        })
        .collect()
}

pub async fn sync_now(core: &Core, id: String) -> Result<String, AppError> {
    Ok(core
        .sync
        .sync_now(&actor().await?, &directory_id(&id)?)
        .await?
        .to_string())
}

pub async fn resolve_pending(core: &Core, id: String, apply: bool) -> Result<(), AppError> {
    core.sync
        .resolve_pending(&actor().await?, &directory_id(&id)?, apply)
        .await?;
    Ok(())
}

pub async fn set_paused(core: &Core, id: String, paused: bool) -> Result<(), AppError> {
    let id = directory_id(&id)?;
    if paused {
        core.directories.pause(&actor().await?, &id).await?;
    } else {
        core.directories.resume(&actor().await?, &id).await?;
    }
    Ok(())
}

pub async fn delete(core: &Core, id: String, confirm_name: String) -> Result<(), AppError> {
    Ok(core
        .directories
        .delete(&actor().await?, &directory_id(&id)?, &confirm_name)
        .await?)
}

pub(super) fn verify_view(r: VerifyResult) -> VerifyView {
    VerifyView {
        ok: r.ok,
        items: r
            .items
            .into_iter()
            .map(|i| CheckView {
                key: i.key,
                label: i.label,
                status: match i.status {
                    CheckOutcome::Pass => "pass",
                    CheckOutcome::Fail => "fail",
                    CheckOutcome::Skipped => "skipped",
                    CheckOutcome::Optional => "optional",
                }
                .into(),
                detail: i.detail,
                hint: i.hint,
            })
            .collect(),
        apps: r
            .apps
            .into_iter()
            .map(|a| AppView {
                id: a.id,
                label: a.label,
            })
            .collect(),
        chosen_app_id: r.chosen_app_id,
        dpop_required: r.dpop_required,
    }
}

pub async fn verify_existing(core: &Core, id: String) -> Result<VerifyView, AppError> {
    Ok(verify_view(
        core.directories
            .verify_active(&actor().await?, &directory_id(&id)?)
            .await?,
    ))
}

fn keys_view(k: KeysView) -> UiKeys {
    UiKeys {
        active_kid: k.active_kid,
        next: k.next.map(|n| NextKeyView {
            kid: n.kid,
            jwk_json: serde_json::to_string_pretty(&n.jwk).unwrap_or_default(),
            pem: n.pem,
        }),
        jwks_url: k.jwks_url,
    }
}

pub async fn detail(core: &Core, id: String) -> Result<DirectoryDetail, AppError> {
    let d = core.directories.get(&directory_id(&id)?).await?;
    Ok(DirectoryDetail {
        settings: SettingsView {
            interval_minutes: d.settings.interval_minutes,
            rate_limit_percent: d.settings.rate_limit_percent,
            breaker_percent: d.settings.breaker_percent,
            paused: d.summary.paused.is_some(),
        },
        keys: keys_view(d.keys),
        runs: d.runs.iter().map(run_view).collect(),
        card: {
            let mut card = card(d.summary);
            card.webhook_problems = webhook_problems(&core.webhooks.troubled().await?, &card.id);
            card
        },
    })
}

pub async fn update_settings(core: &Core, id: String, form: SettingsForm) -> Result<(), AppError> {
    let raw = RawSyncSettings {
        name: &form.name,
        interval_minutes: &form.interval_minutes,
        rate_limit_percent: &form.rate_limit_percent,
        breaker_percent: &form.breaker_percent,
    };
    Ok(core
        .directories
        .update_settings(&actor().await?, &directory_id(&id)?, &raw)
        .await?)
}

pub async fn rotate_key(core: &Core, id: String) -> Result<(), AppError> {
    core.directories
        .rotate_key(&actor().await?, &directory_id(&id)?)
        .await?;
    Ok(())
}

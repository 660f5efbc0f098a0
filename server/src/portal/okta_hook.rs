//! A directory's Okta Event Hook page, for the UI.

use super::{actor, directory_id};
use crate::domain::{clock::relative, okta_hooks::HookSetup, Core};
use app::api::{AppError, HookSetupView, OktaHookView};

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
    })
}

pub async fn create(core: &Core, id: String, header_name: String) -> Result<(), AppError> {
    let actor = actor().await?;
    core.okta_hooks
        .create(&actor, &directory_id(&id)?, Some(header_name.as_str()))
        .await?;
    Ok(())
}

//! The Add Directory wizard for the UI: drafts, connection, Verify, Preview, Create.

use super::actor;
use super::{
    directories::{error_view, verify_view},
    directory_id,
};
use crate::{
    domain::{
        clock::relative,
        directories::{Draft, Preview},
        Core,
    },
    model::OktaAppId,
};
use app::api::{AppError, DraftView, PreviewView, VerifyView, WizardState};

fn preview_view(p: Preview) -> PreviewView {
    PreviewView {
        run_id: p.run_id.to_string(),
        finished_at: p.finished_at,
        users: p.users,
        groups: p.groups,
        memberships: p.memberships,
        users_sample: p.users_sample,
        groups_sample: p.groups_sample,
        error: p.error.as_ref().map(error_view),
    }
}

fn wizard_state(d: Draft) -> WizardState {
    WizardState {
        directory_id: d.id.to_string(),
        okta_domain: d.okta_domain,
        client_id: d.client_id,
        jwk_json: serde_json::to_string_pretty(&d.key.jwk).unwrap_or_default(),
        pem: d.key.pem,
        jwks_url: d.jwks_url,
        app_id: d.app_id,
        verified: d.verified,
        sso_configured: false,
        preview: d.preview.map(preview_view),
    }
}

pub async fn start(core: &Core) -> Result<WizardState, AppError> {
    Ok(wizard_state(core.directories.start_draft(&actor().await?).await?))
}

pub async fn state(core: &Core, id: String) -> Result<WizardState, AppError> {
    Ok(wizard_state(core.directories.draft(&directory_id(&id)?).await?))
}

pub async fn save_connection(
    core: &Core,
    id: String,
    domain: String,
    client_id: String,
) -> Result<WizardState, AppError> {
    let draft = core
        .directories
        .set_connection(&actor().await?, &directory_id(&id)?, &domain, &client_id)
        .await?;
    Ok(wizard_state(draft))
}

pub async fn verify(core: &Core, id: String, app_id: Option<String>) -> Result<VerifyView, AppError> {
    let app = app_id
        .as_deref()
        .map(OktaAppId::parse)
        .transpose()
        .map_err(|e| AppError::Invalid(e.to_string()))?;
    Ok(verify_view(
        core.directories
            .verify_draft(&actor().await?, &directory_id(&id)?, app.as_ref())
            .await?,
    ))
}

pub async fn preview(core: &Core, id: String) -> Result<PreviewView, AppError> {
    Ok(preview_view(
        core.directories
            .preview(&actor().await?, &directory_id(&id)?)
            .await?,
    ))
}

pub async fn drafts(core: &Core) -> Result<Vec<DraftView>, AppError> {
    Ok(core
        .directories
        .drafts()
        .await?
        .into_iter()
        .map(|d| DraftView {
            id: d.id.to_string(),
            okta_domain: d.okta_domain,
            client_id: d.client_id,
            created_ago: relative(&d.created_at),
            created_at: d.created_at,
            verified: d.verified,
        })
        .collect())
}

pub async fn discard(core: &Core, id: String) -> Result<(), AppError> {
    Ok(core
        .directories
        .discard_draft(&actor().await?, &directory_id(&id)?)
        .await?)
}

pub async fn create(core: &Core, id: String, name: String, scim: bool) -> Result<String, AppError> {
    Ok(core
        .directories
        .create(&actor().await?, &directory_id(&id)?, &name, scim)
        .await?
        .id
        .to_string())
}

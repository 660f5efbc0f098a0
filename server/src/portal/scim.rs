//! A directory's SCIM page and SCIM-only directories, for the UI.

use super::{actor, directory_id};
use crate::domain::{
    clock::relative,
    scim::{ScimRequest, ScimToken},
    Core,
};
use app::api::{AppError, IssuedScimTokenView, ScimRequestView, ScimTokenView, ScimView};

/// How many recent requests the page shows.
const SHOWN_REQUESTS: i64 = 50;

fn token_view(t: ScimToken) -> ScimTokenView {
    ScimTokenView {
        id: t.id,
        name: t.name,
        prefix: t.prefix,
        created_by: t.created_by,
        created_ago: relative(&t.created_at),
        created_at: t.created_at,
        last_used_ago: t.last_used_at.as_deref().map(relative),
        revoked: t.revoked_at.is_some(),
    }
}

fn request_view(r: ScimRequest) -> ScimRequestView {
    ScimRequestView {
        ago: relative(&r.at),
        at: r.at,
        method: r.method,
        path: r.path,
        status: r.status,
        duration_ms: r.duration_ms,
        error: r.error,
    }
}

pub async fn view(core: &Core, id: String) -> Result<ScimView, AppError> {
    let id = directory_id(&id)?;
    let s = core.scim.settings(&id).await?;
    let requests = core.scim.requests(&id, SHOWN_REQUESTS).await?;
    Ok(ScimView {
        directory_id: s.directory_id.to_string(),
        directory_name: s.directory_name,
        enabled: s.enabled,
        pull_enabled: s.pull_enabled,
        base_url: s.base_url,
        okta_settings: s.okta_settings.into_iter().map(|o| (o.label, o.value)).collect(),
        tokens: s.tokens.into_iter().map(token_view).collect(),
        requests: requests.into_iter().map(request_view).collect(),
    })
}

pub async fn set(core: &Core, id: String, enabled: bool) -> Result<(), AppError> {
    let actor = actor().await?;
    core.scim
        .set_enabled(&actor, &directory_id(&id)?, enabled)
        .await?;
    Ok(())
}

pub async fn create_token(core: &Core, id: String, name: String) -> Result<IssuedScimTokenView, AppError> {
    let actor = actor().await?;
    let issued = core.scim.create_token(&actor, &directory_id(&id)?, &name).await?;
    Ok(IssuedScimTokenView {
        token: token_view(issued.token),
        secret: issued.secret,
    })
}

pub async fn revoke_token(core: &Core, id: String, token_id: String) -> Result<(), AppError> {
    let actor = actor().await?;
    core.scim
        .revoke_token(&actor, &directory_id(&id)?, &token_id)
        .await?;
    Ok(())
}

pub async fn create_directory(core: &Core, name: String) -> Result<String, AppError> {
    let actor = actor().await?;
    Ok(core.scim.create_push_directory(&actor, &name).await?.to_string())
}

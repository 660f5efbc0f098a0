//! Settings → API tokens for the UI.

use super::actor;
use crate::{
    domain::{clock::relative, instance::ApiToken, Core},
    model::{TokenId, TokenScope},
};
use app::api::{ApiTokenView, AppError, IssuedTokenView};

fn view(t: ApiToken) -> ApiTokenView {
    ApiTokenView {
        id: t.id.to_string(),
        name: t.name,
        scope: t.scope.as_str().to_owned(),
        prefix: t.prefix,
        created_by: t.created_by,
        created_ago: relative(&t.created_at),
        created_at: t.created_at,
        last_used_ago: t.last_used_at.as_deref().map(relative),
        revoked: t.revoked_at.is_some(),
    }
}

pub async fn list(core: &Core) -> Result<Vec<ApiTokenView>, AppError> {
    Ok(core
        .instance
        .tokens()
        .list()
        .await?
        .into_iter()
        .map(view)
        .collect())
}

pub async fn create(core: &Core, name: String, scope: String) -> Result<IssuedTokenView, AppError> {
    let scope = TokenScope::parse(&scope)
        .ok_or_else(|| AppError::Invalid("Choose read-only or read-write.".into()))?;
    let issued = core
        .instance
        .tokens()
        .create(&actor().await?, &name, scope)
        .await?;
    Ok(IssuedTokenView {
        token: view(issued.token),
        secret: issued.secret,
    })
}

pub async fn revoke(core: &Core, token_id: String) -> Result<(), AppError> {
    let id = TokenId::parse(&token_id).map_err(|_| AppError::NotFound("The token was not found.".into()))?;
    Ok(core.instance.tokens().revoke(&actor().await?, &id).await?)
}

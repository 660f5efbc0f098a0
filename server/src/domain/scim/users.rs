//! The protocol's Users: token check, lists and filters, create, replace,
//! PATCH (re-read and retry on a concurrent write), delete.

use super::*;

impl ScimService {
    /// Checks the bearer token of a request to a directory's endpoint.
    pub async fn authenticate(&self, directory: &str, bearer: Option<&str>) -> ScimResult<ScimClient> {
        let Ok(id) = DirectoryId::parse(directory) else {
            return Err(ScimError::not_found(format!(
                "There is no SCIM endpoint at directory “{directory}”."
            )));
        };
        let Some(secret) = bearer.map(str::trim).filter(|s| !s.is_empty()) else {
            return Err(ScimError::unauthorized(
                "Send the directory's SCIM token as “Authorization: Bearer <token>” (Okta: Authentication Mode HTTP Header).",
            ));
        };
        let token = self
            .store
            .use_scim_token(id.as_str(), &super::setup::hash_secret(secret))
            .await?;
        let Some(token) = token else {
            return Err(ScimError::unauthorized(
                "This token is not valid for this directory: it is wrong, revoked, or belongs to another directory. Generate one on the directory's SCIM page.",
            ));
        };
        let enabled = match self.store.directory(id.as_str()).await? {
            Some(d) => d.state == crate::model::DirectoryState::Active && d.scim_enabled,
            None => false,
        };
        if !enabled {
            return Err(ScimError::forbidden(
                "SCIM is turned off for this directory; turn it on from the directory's SCIM page.",
            ));
        }
        Ok(ScimClient {
            base_url: self.base_url(&id),
            directory_id: id,
            token_id: token.id,
        })
    }

    pub async fn list_users(&self, client: &ScimClient, params: &ListParams) -> ScimResult<Value> {
        let condition = filter::parse(params.filter.as_deref().unwrap_or(""), Resource::User)?;
        let projection = params.projection(USER_URN)?;
        let (start, count) = params.page();
        let (rows, total) = self
            .store
            .scim_users(client.directory_id.as_str(), &condition, start - 1, count)
            .await?;
        let resources = rows
            .iter()
            .map(|r| projection.apply(resource::render_user(r, &client.base_url)))
            .collect();
        Ok(discovery::page(resources, total, start))
    }

    async fn user_row(&self, client: &ScimClient, id: &str) -> ScimResult<ScimUserRow> {
        self.store
            .scim_user(client.directory_id.as_str(), id)
            .await?
            .ok_or_else(|| {
                ScimError::not_found(format!(
                    "There is no user with id “{}” in this directory.",
                    clip(id)
                ))
            })
    }

    pub async fn get_user(&self, client: &ScimClient, id: &str, params: &ListParams) -> ScimResult<Written> {
        let projection = params.projection(USER_URN)?;
        let row = self.user_row(client, id).await?;
        Ok(Written {
            resource: projection.apply(resource::render_user(&row, &client.base_url)),
            version: row.version,
            created: false,
            location: resource::location(&client.base_url, "Users", id),
        })
    }

    fn staged(&self, key: &str, doc: &UserDocument) -> ScimResult<crate::store::StagedUser> {
        let user = OktaUser {
            id: key.to_owned(),
            status: "ACTIVE".into(),
            last_updated: None,
            profile: doc.profile.clone(),
        };
        let mut staged = normalize::stage_user(&user).ok_or_else(ScimError::internal)?;
        if !doc.active {
            staged.status = "DEPROVISIONED".into();
        }
        Ok(staged)
    }

    async fn write_user(
        &self,
        client: &ScimClient,
        key: &str,
        keyed_by: &str,
        doc: &UserDocument,
        mode: PushMode,
    ) -> ScimResult<PushOutcome> {
        let staged = self.staged(key, doc)?;
        let resource = serde_json::to_string(&doc.stored).map_err(|_| ScimError::internal())?;
        let outcome = self
            .identities
            .write_pushed_user(
                &client.directory_id,
                &PushedUser {
                    staged: &staged,
                    external_id: doc.external_id.as_deref(),
                    resource: &resource,
                    keyed_by,
                    active: doc.active,
                },
                mode,
                "scim",
            )
            .await?;
        Ok(outcome)
    }

    async fn written_user(&self, client: &ScimClient, key: &str, created: bool) -> ScimResult<Written> {
        let row = self.user_row(client, key).await?;
        Ok(Written {
            resource: resource::render_user(&row, &client.base_url),
            version: row.version,
            created,
            location: resource::location(&client.base_url, "Users", key),
        })
    }

    pub async fn create_user(&self, client: &ScimClient, body: &Value) -> ScimResult<Written> {
        let doc = UserDocument::read(body)?;
        let (key, keyed_by) = match doc.external_id.as_deref() {
            Some(e) if is_okta_id(e, "00u") => (e.to_owned(), "okta"),
            _ => (minted_id(), "roster"),
        };
        match self
            .write_user(client, &key, keyed_by, &doc, PushMode::Create)
            .await?
        {
            PushOutcome::Written { .. } => self.written_user(client, &key, true).await,
            PushOutcome::Exists => Err(ScimError::uniqueness(format!(
                "A user with externalId “{key}” already exists; Okta should match it by userName first."
            ))),
            PushOutcome::NameTaken => Err(ScimError::uniqueness(format!(
                "A user with userName “{}” already exists in this directory.",
                doc.user_name
            ))),
            other => Err(unexpected(other)),
        }
    }

    pub async fn replace_user(
        &self,
        client: &ScimClient,
        id: &str,
        body: &Value,
        if_match: Option<i64>,
    ) -> ScimResult<Written> {
        let row = self.user_row(client, id).await?;
        let doc = UserDocument::read(body)?;
        let mode = PushMode::Replace {
            expected_version: if_match,
        };
        let keyed_by = row.keyed_by.clone();
        match self.write_user(client, id, &keyed_by, &doc, mode).await? {
            PushOutcome::Written { .. } => self.written_user(client, id, false).await,
            outcome => Err(self.user_refusal(outcome, &doc.user_name)),
        }
    }

    fn user_refusal(&self, outcome: PushOutcome, user_name: &str) -> ScimError {
        match outcome {
            PushOutcome::NameTaken => {
                ScimError::uniqueness(format!("Another user already has userName “{user_name}”."))
            }
            PushOutcome::VersionMismatch { current } => ScimError::version_mismatch(format!(
                "The user changed since that version; it is now {}. Read it again and retry.",
                resource::etag(current)
            )),
            PushOutcome::Missing => ScimError::not_found("The user was deleted meanwhile."),
            other => unexpected(other),
        }
    }

    /// Applies a PATCH to the current document and writes it if the user
    /// has not changed since it was read; otherwise reads again (or, with
    /// `If-Match`, answers 412).
    pub async fn patch_user(
        &self,
        client: &ScimClient,
        id: &str,
        body: &Value,
        if_match: Option<i64>,
    ) -> ScimResult<Written> {
        let patch = patch::read(body)?;
        for _ in 0..PATCH_ATTEMPTS {
            let row = self.user_row(client, id).await?;
            if let Some(v) = if_match {
                if v != row.version {
                    return Err(self.user_refusal(PushOutcome::VersionMismatch { current: row.version }, ""));
                }
            }
            let Value::Object(mut current) = resource::render_user(&row, &client.base_url) else {
                return Err(ScimError::internal());
            };
            current.remove("meta");
            patch::apply_to_user(&mut current, &patch)?;
            let doc = UserDocument::read(&Value::Object(current))?;
            let mode = PushMode::Replace {
                expected_version: Some(row.version),
            };
            match self.write_user(client, id, &row.keyed_by, &doc, mode).await? {
                PushOutcome::Written { .. } => return self.written_user(client, id, false).await,
                PushOutcome::VersionMismatch { .. } if if_match.is_none() => continue,
                outcome => return Err(self.user_refusal(outcome, &doc.user_name)),
            }
        }
        Err(ScimError::version_mismatch(
            "The user kept changing while this PATCH was applied; retry it.",
        ))
    }

    /// Deletes a user for SCIM (RFC 7644 §3.6: later reads answer 404); its
    /// history stays on the user page.
    pub async fn delete_user(&self, client: &ScimClient, id: &str) -> ScimResult<()> {
        let row = self.user_row(client, id).await?;
        let erased = self
            .identities
            .erase_pushed_user(&client.directory_id, id, row.deleted_at.is_none(), "scim")
            .await?;
        if !erased {
            return Err(ScimError::not_found(format!(
                "There is no user with id “{}”.",
                clip(id)
            )));
        }
        Ok(())
    }
}

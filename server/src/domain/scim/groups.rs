//! The protocol's Groups: lists, create, replace, PATCH (rename, externalId
//! and a member plan in one transaction), delete.

use super::*;

impl ScimService {
    pub async fn list_groups(&self, client: &ScimClient, params: &ListParams) -> ScimResult<Value> {
        let condition = filter::parse(params.filter.as_deref().unwrap_or(""), Resource::Group)?;
        let projection = params.projection(GROUP_URN)?;
        let (start, count) = params.page();
        let (rows, total) = self
            .store
            .scim_groups(client.directory_id.as_str(), &condition, start - 1, count)
            .await?;
        let resources = self.render_groups(client, &rows, &projection).await?;
        Ok(discovery::page(resources, total, start))
    }

    async fn render_groups(
        &self,
        client: &ScimClient,
        rows: &[crate::store::ScimGroupRow],
        projection: &Projection,
    ) -> ScimResult<Vec<Value>> {
        let members = if projection.excludes("members") {
            None
        } else {
            let ids: Vec<String> = rows.iter().map(|r| r.okta_id.clone()).collect();
            Some(
                self.store
                    .scim_members(client.directory_id.as_str(), &ids)
                    .await?,
            )
        };
        // One pass over the member rows, not one per group.
        let mut by_group: std::collections::HashMap<&str, Vec<resource::MemberRef<'_>>> =
            std::collections::HashMap::new();
        for m in members.iter().flatten() {
            by_group
                .entry(m.group_id.as_str())
                .or_default()
                .push(resource::MemberRef { id: &m.user_id });
        }
        Ok(rows
            .iter()
            .map(|row| {
                let refs: Option<&[resource::MemberRef<'_>]> = members
                    .as_ref()
                    .map(|_| by_group.get(row.okta_id.as_str()).map_or(&[][..], Vec::as_slice));
                projection.apply(resource::render_group(row, refs, &client.base_url))
            })
            .collect())
    }

    async fn group_row(&self, client: &ScimClient, id: &str) -> ScimResult<crate::store::ScimGroupRow> {
        self.store
            .scim_group(client.directory_id.as_str(), id)
            .await?
            .ok_or_else(|| {
                ScimError::not_found(format!(
                    "There is no group with id “{}” in this directory.",
                    clip(id)
                ))
            })
    }

    pub async fn get_group(&self, client: &ScimClient, id: &str, params: &ListParams) -> ScimResult<Written> {
        let projection = params.projection(GROUP_URN)?;
        let row = self.group_row(client, id).await?;
        let resource = self
            .render_groups(client, std::slice::from_ref(&row), &projection)
            .await?
            .pop()
            .ok_or_else(ScimError::internal)?;
        Ok(Written {
            resource,
            version: row.version,
            created: false,
            location: resource::location(&client.base_url, "Groups", id),
        })
    }

    async fn written_group(&self, client: &ScimClient, id: &str, created: bool) -> ScimResult<Written> {
        let mut w = self.get_group(client, id, &ListParams::default()).await?;
        w.created = created;
        Ok(w)
    }

    pub async fn create_group(&self, client: &ScimClient, body: &Value) -> ScimResult<Written> {
        let group = GroupDocument::read(body)?;
        let (key, keyed_by) = match group.external_id.as_deref() {
            Some(e) if is_okta_id(e, "00g") => (e.to_owned(), "okta"),
            _ => (minted_id(), "roster"),
        };
        let members = group.members.clone().unwrap_or_default();
        let outcome = self
            .write_group(
                client,
                &key,
                keyed_by,
                &group,
                GroupMembers::Replace(&members),
                PushMode::Create,
                None,
            )
            .await?;
        match outcome {
            PushOutcome::Written { .. } => self.written_group(client, &key, true).await,
            other => Err(group_refusal(other, &group.display_name)),
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn write_group(
        &self,
        client: &ScimClient,
        key: &str,
        keyed_by: &str,
        group: &GroupDocument,
        members: GroupMembers<'_>,
        mode: PushMode,
        current: Option<&crate::store::ScimGroupRow>,
    ) -> ScimResult<PushOutcome> {
        let staged = stage_group(key, &group.display_name, current);
        Ok(self
            .identities
            .write_pushed_group(
                &client.directory_id,
                &PushedGroup {
                    staged: &staged,
                    external_id: group.external_id.as_deref(),
                    keyed_by,
                    members,
                },
                mode,
            )
            .await?)
    }

    pub async fn replace_group(
        &self,
        client: &ScimClient,
        id: &str,
        body: &Value,
        if_match: Option<i64>,
    ) -> ScimResult<Written> {
        let row = self.group_row(client, id).await?;
        let group = GroupDocument::read(body)?;
        // A PUT without `members` (a rename) keeps them: wiping a large
        // group's membership by omission is too costly a mistake.
        let members = match &group.members {
            Some(ids) => GroupMembers::Replace(ids),
            None => GroupMembers::Keep,
        };
        let mode = PushMode::Replace {
            expected_version: if_match,
        };
        match self
            .write_group(client, id, "roster", &group, members, mode, Some(&row))
            .await?
        {
            PushOutcome::Written { .. } => self.written_group(client, id, false).await,
            other => Err(group_refusal(other, &group.display_name)),
        }
    }

    pub async fn patch_group(
        &self,
        client: &ScimClient,
        id: &str,
        body: &Value,
        if_match: Option<i64>,
    ) -> ScimResult<Option<Written>> {
        let patch = patch::read(body)?;
        for _ in 0..PATCH_ATTEMPTS {
            let row = self.group_row(client, id).await?;
            let resolved = patch::resolve_group(&patch, id)?;
            let group = GroupDocument {
                display_name: resolved.display_name.clone().unwrap_or_else(|| row.name.clone()),
                external_id: match &resolved.external_id {
                    Some(e) => e.clone(),
                    None => row.external_id.clone(),
                },
                members: None,
            };
            let (add, remove, replace): (Vec<String>, Vec<String>, Option<Vec<String>>) =
                match &resolved.members {
                    patch::MemberPlan::Delta { add, remove } => (
                        add.iter().cloned().collect(),
                        remove.iter().cloned().collect(),
                        None,
                    ),
                    patch::MemberPlan::Replace(set) => {
                        (Vec::new(), Vec::new(), Some(set.iter().cloned().collect()))
                    }
                };
            let members = match &replace {
                Some(set) => GroupMembers::Replace(set),
                None if add.is_empty() && remove.is_empty() => GroupMembers::Keep,
                None => GroupMembers::Delta {
                    add: &add,
                    remove: &remove,
                },
            };
            // The name and externalId written back were read just now: the
            // version check keeps a concurrent rename from being undone.
            let mode = PushMode::Replace {
                expected_version: Some(if_match.unwrap_or(row.version)),
            };
            match self
                .write_group(client, id, "roster", &group, members, mode, Some(&row))
                .await?
            {
                // A member change answers 204: a large group's whole member
                // list is not sent back for every few users Okta pushes.
                PushOutcome::Written { .. } if resolved.touches_members() => return Ok(None),
                PushOutcome::Written { .. } => return Ok(Some(self.written_group(client, id, false).await?)),
                PushOutcome::VersionMismatch { .. } if if_match.is_none() => continue,
                other => return Err(group_refusal(other, &group.display_name)),
            }
        }
        Err(ScimError::version_mismatch(
            "The group kept changing while this PATCH was applied; retry it.",
        ))
    }

    pub async fn delete_group(&self, client: &ScimClient, id: &str) -> ScimResult<()> {
        self.group_row(client, id).await?;
        if self
            .identities
            .remove_pushed_group(&client.directory_id, id)
            .await?
        {
            Ok(())
        } else {
            Err(ScimError::not_found("The group was deleted meanwhile."))
        }
    }
}

fn group_refusal(outcome: PushOutcome, name: &str) -> ScimError {
    match outcome {
        PushOutcome::NameTaken => ScimError::uniqueness(format!(
            "A group named “{name}” already exists in this directory; Okta should link to it (Push Groups → link)."
        )),
        PushOutcome::Exists => ScimError::uniqueness("A group with that externalId already exists."),
        PushOutcome::UnknownMembers(ids) => ScimError::invalid_value(format!(
            "{} member(s) are not users of this directory (first: “{}”); push the users first. Nothing was changed.",
            ids.len(),
            ids.first().map(|s| clip(s)).unwrap_or_default()
        )),
        PushOutcome::VersionMismatch { current } => ScimError::version_mismatch(format!(
            "The group changed since that version; it is now {}.",
            resource::etag(current)
        )),
        PushOutcome::Missing => ScimError::not_found("The group was deleted meanwhile."),
        PushOutcome::Written { .. } => ScimError::internal(),
    }
}

fn stage_group(key: &str, name: &str, current: Option<&crate::store::ScimGroupRow>) -> StagedGroup {
    normalize::stage_group(&crate::okta::model::Group {
        id: key.to_owned(),
        kind: current.map_or_else(|| "OKTA_GROUP".to_owned(), |c| c.kind.clone()),
        profile: crate::okta::model::GroupProfile {
            name: name.to_owned(),
            description: current.and_then(|c| c.description.clone()),
        },
        last_updated: None,
        last_membership_updated: None,
    })
}

/// A pushed Group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupDocument {
    pub display_name: String,
    pub external_id: Option<String>,
    /// `None` when the body has no `members`.
    pub members: Option<Vec<String>>,
}

/// Most members one Group body may list.
pub const MAX_GROUP_MEMBERS: usize = 100_000;

impl GroupDocument {
    pub fn read(body: &Value) -> ScimResult<Self> {
        let Value::Object(map) = body else {
            return Err(ScimError::invalid_syntax(
                "The body must be a JSON object (a SCIM Group).",
            ));
        };
        let get = |name: &str| {
            map.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        };
        let display_name = get("displayName")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| ScimError::invalid_value("displayName is required: the group's name."))?
            .to_owned();
        let external_id = match get("externalId") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()).filter(|s| !s.is_empty()),
            Some(_) => return Err(ScimError::invalid_value("externalId must be a string.")),
        };
        let members = match get("members") {
            None | Some(Value::Null) => None,
            Some(Value::Array(items)) => {
                if items.len() > MAX_GROUP_MEMBERS {
                    return Err(ScimError::too_many(format!(
                        "{} members in one request; send at most {MAX_GROUP_MEMBERS}.",
                        items.len()
                    )));
                }
                Some(
                    items
                        .iter()
                        .map(|m| {
                            m.get("value")
                                .and_then(Value::as_str)
                                .map(str::to_owned)
                                .ok_or_else(|| {
                                    ScimError::invalid_value("Each member needs a “value”: the user's id.")
                                })
                        })
                        .collect::<ScimResult<Vec<_>>>()?,
                )
            }
            Some(_) => return Err(ScimError::invalid_value("members must be a list.")),
        };
        Ok(Self {
            display_name,
            external_id,
            members,
        })
    }
}

//! The identity store as SCIM sees it, on PostgreSQL: the condition tree as
//! SQL (case-insensitive attributes through `lower(…)`, which the nocase
//! indexes cover; times as timestamptz), and version-checked push writes,
//! each one transaction under the directory's write lock.

use super::{
    apply::{membership_statements, GROUP_UPSERT},
    identity::{begin_write, record_event, recount},
    staging::{GroupColumns, LIVE_DATASET},
    PgStore,
};
use crate::store::{
    identity_writes::group_member_changes,
    scim_records::{group_renamed, held_since, push_refusal},
};
use crate::store::{
    now, parse_timestamp, GroupMembers, PushMode, PushOutcome, PushedGroup, PushedUser, ScimAttr,
    ScimCondition, ScimGroupRow, ScimMemberRow, ScimOp, ScimUserRow, ScimValue, StoreError,
};
use sqlx::{PgConnection, Postgres, QueryBuilder};
use std::collections::BTreeSet;

const USER_FIELDS: &str =
    "u.okta_id, u.login, u.email, u.first_name, u.last_name, u.display_name, u.status, \
     u.suspended, rfc3339(u.first_seen_at) AS first_seen_at, rfc3339(u.updated_at) AS updated_at, \
     rfc3339(u.deleted_at) AS deleted_at, u.external_id, u.scim_resource::text AS scim_resource, u.version, \
     u.via_pull, u.via_push, u.keyed_by";
const GROUP_FIELDS: &str =
    "g.okta_id, g.name, g.description, g.kind, rfc3339(g.first_seen_at) AS first_seen_at, \
     rfc3339(g.updated_at) AS updated_at, rfc3339(g.deleted_at) AS deleted_at, g.external_id, g.version, \
     g.via_pull, g.via_push";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Over {
    Users,
    Groups,
}

fn column(over: Over, attr: ScimAttr) -> Option<&'static str> {
    Some(match (over, attr) {
        (Over::Users, ScimAttr::Id) => "u.okta_id",
        (Over::Users, ScimAttr::ExternalId) => "u.external_id",
        (Over::Users, ScimAttr::UserName) => "u.login",
        (Over::Users, ScimAttr::Email) => "u.email",
        (Over::Users, ScimAttr::GivenName) => "u.first_name",
        (Over::Users, ScimAttr::FamilyName) => "u.last_name",
        (Over::Users, ScimAttr::DisplayName) => "u.display_name",
        (Over::Users, ScimAttr::LastModified) => "u.updated_at",
        (Over::Users, ScimAttr::Created) => "u.first_seen_at",
        (Over::Groups, ScimAttr::Id) => "g.okta_id",
        (Over::Groups, ScimAttr::ExternalId) => "g.external_id",
        (Over::Groups, ScimAttr::DisplayName) => "g.name",
        (Over::Groups, ScimAttr::LastModified) => "g.updated_at",
        (Over::Groups, ScimAttr::Created) => "g.first_seen_at",
        _ => return None,
    })
}

fn case_exact(attr: ScimAttr) -> bool {
    matches!(attr, ScimAttr::Id | ScimAttr::ExternalId | ScimAttr::MemberValue)
}

fn is_time(attr: ScimAttr) -> bool {
    matches!(attr, ScimAttr::LastModified | ScimAttr::Created)
}

fn like_pattern(value: &str, op: ScimOp) -> String {
    let escaped = value
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    match op {
        ScimOp::Co => format!("%{escaped}%"),
        ScimOp::Sw => format!("{escaped}%"),
        _ => format!("%{escaped}"),
    }
}

fn unsupported(attr: ScimAttr) -> StoreError {
    StoreError::Corrupt(format!("the SCIM attribute {attr:?} has no column here"))
}

fn push_condition(
    q: &mut QueryBuilder<'_, Postgres>,
    over: Over,
    cond: &ScimCondition,
) -> Result<(), StoreError> {
    match cond {
        ScimCondition::All => {
            q.push("true");
        }
        ScimCondition::Not(inner) => {
            // NOT of an unknown (NULL) comparison must not match, as in SQL's three-valued logic.
            q.push("NOT coalesce((");
            push_condition(q, over, inner)?;
            q.push("), false)");
        }
        ScimCondition::And(items) | ScimCondition::Or(items) => {
            let joiner = if matches!(cond, ScimCondition::And(_)) {
                " AND "
            } else {
                " OR "
            };
            q.push("(");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    q.push(joiner);
                }
                push_condition(q, over, item)?;
            }
            q.push(")");
        }
        ScimCondition::Present(attr) => push_present(q, over, *attr)?,
        ScimCondition::Compare(attr, op, value) => push_compare(q, over, *attr, *op, value)?,
    }
    Ok(())
}

fn push_present(q: &mut QueryBuilder<'_, Postgres>, over: Over, attr: ScimAttr) -> Result<(), StoreError> {
    match (over, attr) {
        (Over::Users, ScimAttr::Active) => q.push("true"),
        (Over::Groups, ScimAttr::MemberValue) => q.push(
            "EXISTS (SELECT 1 FROM present_memberships pm WHERE pm.dataset = g.dataset AND pm.group_id = g.okta_id)",
        ),
        _ => {
            let col = column(over, attr).ok_or_else(|| unsupported(attr))?;
            if is_time(attr) {
                q.push(format!("({col} IS NOT NULL)"))
            } else {
                q.push(format!("({col} IS NOT NULL AND {col} != '')"))
            }
        }
    };
    Ok(())
}

fn push_compare(
    q: &mut QueryBuilder<'_, Postgres>,
    over: Over,
    attr: ScimAttr,
    op: ScimOp,
    value: &ScimValue,
) -> Result<(), StoreError> {
    if over == Over::Users && attr == ScimAttr::Active {
        let ScimValue::Bool(wanted) = value else {
            return Err(StoreError::Corrupt("active compares with a boolean".into()));
        };
        let active = "(u.deleted_at IS NULL AND NOT u.suspended)";
        match (op, *wanted) {
            (ScimOp::Eq, true) | (ScimOp::Ne, false) => q.push(active),
            _ => q.push(format!("NOT {active}")),
        };
        return Ok(());
    }
    if over == Over::Groups && attr == ScimAttr::MemberValue {
        let ScimValue::Text(text) = value else {
            return Err(StoreError::Corrupt("members.value compares with a string".into()));
        };
        if op != ScimOp::Eq {
            return Err(StoreError::Corrupt("members.value supports eq only".into()));
        }
        q.push("EXISTS (SELECT 1 FROM present_memberships pm WHERE pm.dataset = g.dataset AND pm.group_id = g.okta_id AND pm.user_id = ");
        q.push_bind(text.clone());
        q.push(")");
        return Ok(());
    }
    let col = column(over, attr).ok_or_else(|| unsupported(attr))?;
    let text = match value {
        ScimValue::Text(t) => t.clone(),
        ScimValue::Null => {
            let present = if is_time(attr) {
                format!("{col} IS NOT NULL")
            } else {
                format!("({col} IS NOT NULL AND {col} != '')")
            };
            match op {
                ScimOp::Eq => q.push(format!("NOT {present}")),
                _ => q.push(present),
            };
            return Ok(());
        }
        ScimValue::Bool(_) => return Err(StoreError::Corrupt(format!("{attr:?} is not a boolean"))),
    };
    let sql_op = match op {
        ScimOp::Eq => "=",
        ScimOp::Ne => "!=",
        ScimOp::Gt => ">",
        ScimOp::Ge => ">=",
        ScimOp::Lt => "<",
        _ => "<=",
    };
    if is_time(attr) {
        let Ok(at) = parse_timestamp(&text) else {
            q.push("false");
            return Ok(());
        };
        if op == ScimOp::Ne {
            q.push(format!("({col} IS NULL OR {col} != "));
            q.push_bind(at);
            q.push(")");
        } else {
            q.push(format!("{col} {sql_op} "));
            q.push_bind(at);
        }
        return Ok(());
    }
    let exact = case_exact(attr);
    match op {
        ScimOp::Co | ScimOp::Sw | ScimOp::Ew if exact => {
            match op {
                ScimOp::Co => q.push(format!("strpos({col}, ")),
                ScimOp::Sw => q.push(format!("starts_with({col}, ")),
                _ => q.push(format!("(right({col}, length(")),
            };
            q.push_bind(text.clone());
            match op {
                ScimOp::Co => q.push(") > 0"),
                ScimOp::Sw => q.push(")"),
                _ => {
                    q.push(")) = ");
                    q.push_bind(text);
                    q.push(")")
                }
            };
        }
        ScimOp::Co | ScimOp::Sw | ScimOp::Ew => {
            q.push(format!("{col} ILIKE "));
            q.push_bind(like_pattern(&text, op));
            q.push(" ESCAPE '\\'");
        }
        _ => {
            let (lhs, open, close) = if exact {
                (col.to_owned(), "", "")
            } else {
                (format!("lower({col})"), "lower(", ")")
            };
            if op == ScimOp::Ne {
                q.push(format!("({col} IS NULL OR {lhs} != {open}"));
                q.push_bind(text);
                q.push(format!("{close})"));
            } else {
                q.push(format!("{lhs} {sql_op} {open}"));
                q.push_bind(text);
                q.push(close);
            }
        }
    }
    Ok(())
}

fn push_live_dataset(q: &mut QueryBuilder<'_, Postgres>, directory_id: &str) {
    q.push("(SELECT key FROM directory_datasets WHERE directory_id = ");
    q.push_bind(directory_id.to_owned());
    q.push("::uuid AND live)");
}

/// A stored user, as a push compares against it.
struct StoredUser {
    status: String,
    content_hash: String,
    present: bool,
    version: i64,
    external_id: Option<String>,
    same_resource: bool,
    via_push: bool,
    push_deactivated_at: Option<time::OffsetDateTime>,
}

type StoredUserTuple = (
    String,
    String,
    bool,
    i64,
    Option<String>,
    Option<bool>,
    bool,
    Option<time::OffsetDateTime>,
);

async fn stored_user(
    conn: &mut PgConnection,
    dataset: i64,
    okta_id: &str,
    resource: &str,
) -> Result<Option<StoredUser>, StoreError> {
    let row: Option<StoredUserTuple> = sqlx::query_as(
        "SELECT status, content_hash, deleted_at IS NULL, version, external_id, scim_resource = $3::jsonb,
                via_push, push_deactivated_at
         FROM directory_users WHERE dataset = $1 AND okta_id = $2",
    )
    .bind(dataset)
    .bind(okta_id)
    .bind(resource)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(
        |(status, content_hash, present, version, external_id, same, via_push, held)| StoredUser {
            status,
            content_hash,
            present,
            version,
            external_id,
            same_resource: same.unwrap_or(false),
            via_push,
            push_deactivated_at: held,
        },
    ))
}

impl PgStore {
    pub async fn scim_users(
        &self,
        directory_id: &str,
        condition: &ScimCondition,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<ScimUserRow>, i64), StoreError> {
        let mut q =
            QueryBuilder::<Postgres>::new("SELECT COUNT(*) FROM directory_users u WHERE u.dataset = ");
        push_live_dataset(&mut q, directory_id);
        q.push(" AND ");
        push_condition(&mut q, Over::Users, condition)?;
        let total: i64 = q.build_query_scalar().fetch_one(&self.pool).await?;
        if limit == 0 || total == 0 {
            return Ok((Vec::new(), total));
        }
        let mut q = QueryBuilder::<Postgres>::new(format!(
            "SELECT {USER_FIELDS} FROM directory_users u WHERE u.dataset = "
        ));
        push_live_dataset(&mut q, directory_id);
        q.push(" AND ");
        push_condition(&mut q, Over::Users, condition)?;
        q.push(" ORDER BY u.okta_id LIMIT ");
        q.push_bind(limit);
        q.push(" OFFSET ");
        q.push_bind(offset);
        let found = q.build_query_as::<ScimUserRow>().fetch_all(&self.pool).await?;
        Ok((found, total))
    }

    pub async fn scim_user(
        &self,
        directory_id: &str,
        okta_id: &str,
    ) -> Result<Option<ScimUserRow>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {USER_FIELDS} FROM directory_users u WHERE u.dataset = {LIVE_DATASET} AND u.okta_id = $2"
        ))
        .bind(directory_id)
        .bind(okta_id)
        .fetch_optional(&self.pool)
        .await?)
    }

    pub async fn scim_groups(
        &self,
        directory_id: &str,
        condition: &ScimCondition,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<ScimGroupRow>, i64), StoreError> {
        let base = |q: &mut QueryBuilder<'_, Postgres>| -> Result<(), StoreError> {
            push_live_dataset(q, directory_id);
            q.push(" AND g.deleted_at IS NULL AND ");
            push_condition(q, Over::Groups, condition)
        };
        let mut q =
            QueryBuilder::<Postgres>::new("SELECT COUNT(*) FROM directory_groups g WHERE g.dataset = ");
        base(&mut q)?;
        let total: i64 = q.build_query_scalar().fetch_one(&self.pool).await?;
        if limit == 0 || total == 0 {
            return Ok((Vec::new(), total));
        }
        let mut q = QueryBuilder::<Postgres>::new(format!(
            "SELECT {GROUP_FIELDS} FROM directory_groups g WHERE g.dataset = "
        ));
        base(&mut q)?;
        q.push(" ORDER BY g.okta_id LIMIT ");
        q.push_bind(limit);
        q.push(" OFFSET ");
        q.push_bind(offset);
        let found = q.build_query_as::<ScimGroupRow>().fetch_all(&self.pool).await?;
        Ok((found, total))
    }

    pub async fn scim_group(
        &self,
        directory_id: &str,
        okta_id: &str,
    ) -> Result<Option<ScimGroupRow>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {GROUP_FIELDS} FROM directory_groups g
             WHERE g.dataset = {LIVE_DATASET} AND g.okta_id = $2 AND g.deleted_at IS NULL"
        ))
        .bind(directory_id)
        .bind(okta_id)
        .fetch_optional(&self.pool)
        .await?)
    }

    pub async fn scim_members(
        &self,
        directory_id: &str,
        group_ids: &[String],
    ) -> Result<Vec<ScimMemberRow>, StoreError> {
        if group_ids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(sqlx::query_as(&format!(
            "SELECT pm.group_id, pm.user_id FROM present_memberships pm
             WHERE pm.dataset = {LIVE_DATASET} AND pm.group_id = ANY($2)
             ORDER BY pm.group_id, pm.user_id"
        ))
        .bind(directory_id)
        .bind(group_ids)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Creates or replaces a user as a push states it, in one transaction
    /// (see SQLite's `push_user` for the rules).
    pub async fn push_user(
        &self,
        directory_id: &str,
        user: &PushedUser<'_>,
        mode: PushMode,
        source: &str,
    ) -> Result<PushOutcome, StoreError> {
        let at = now();
        let staged = user.staged;
        let (mut tx, dataset) = begin_write(self, directory_id).await?;
        let before = stored_user(&mut tx, dataset, &staged.okta_id, user.resource).await?;
        if let Some(refused) = push_refusal(mode, before.as_ref().map(|b| (b.present, b.version)), false) {
            return Ok(refused);
        }
        if user.active {
            let taken: Option<i32> = sqlx::query_scalar(
                "SELECT 1 FROM directory_users WHERE dataset = $1 AND lower(login) = lower($2)
                   AND okta_id != $3 AND deleted_at IS NULL LIMIT 1",
            )
            .bind(dataset)
            .bind(&staged.login)
            .bind(&staged.okta_id)
            .fetch_optional(&mut *tx)
            .await?;
            if taken.is_some() {
                return Ok(PushOutcome::NameTaken);
            }
        }
        let was_present = before.as_ref().is_some_and(|b| b.present);
        if let Some(b) = &before {
            let same = b.content_hash == staged.content_hash
                && b.external_id.as_deref() == user.external_id
                && b.same_resource
                && b.via_push
                && b.present == user.active;
            if same {
                return Ok(PushOutcome::Written {
                    created: false,
                    version: b.version,
                    deactivated: false,
                });
            }
        }
        let ids = [staged.okta_id.as_str()];
        let snapshot = super::events::snapshot(&mut tx, dataset, &ids, &[]).await?;
        let deleted_at = if user.active { None } else { Some(at) };
        let held = held_since(
            user.active,
            before.as_ref().map(|b| (b.present, b.push_deactivated_at)),
            at,
        );
        let version: i64 = sqlx::query_scalar(
            "INSERT INTO directory_users (dataset, okta_id, login, email, first_name, last_name, display_name, status,
                 suspended, profile, okta_last_updated, content_hash, first_seen_at, last_seen_at, updated_at,
                 deleted_at, external_id, scim_resource, version, via_pull, via_push, keyed_by, push_deactivated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11::timestamptz, $12, $13, $13, $13,
                 $14, $15, $16::jsonb, 1, false, true, $17, $18)
             ON CONFLICT (dataset, okta_id) DO UPDATE SET
                 login = excluded.login, email = excluded.email, first_name = excluded.first_name,
                 last_name = excluded.last_name, display_name = excluded.display_name, status = excluded.status,
                 suspended = excluded.suspended, profile = excluded.profile,
                 updated_at = excluded.updated_at, content_hash = excluded.content_hash,
                 deleted_at = CASE WHEN excluded.deleted_at IS NULL THEN NULL
                                   ELSE coalesce(directory_users.deleted_at, excluded.deleted_at) END,
                 last_seen_at = CASE WHEN excluded.deleted_at IS NULL OR directory_users.deleted_at IS NULL
                                     THEN excluded.last_seen_at ELSE directory_users.last_seen_at END,
                 external_id = excluded.external_id, scim_resource = excluded.scim_resource,
                 version = directory_users.version + 1, via_push = true,
                 push_deactivated_at = excluded.push_deactivated_at
             RETURNING version",
        )
        .bind(dataset)
        .bind(&staged.okta_id)
        .bind(&staged.login)
        .bind(&staged.email)
        .bind(&staged.first_name)
        .bind(&staged.last_name)
        .bind(&staged.display_name)
        .bind(&staged.status)
        .bind(staged.suspended)
        .bind(&staged.profile_json)
        .bind(&staged.okta_last_updated)
        .bind(&staged.content_hash)
        .bind(at)
        .bind(deleted_at)
        .bind(user.external_id)
        .bind(user.resource)
        .bind(user.keyed_by)
        .bind(held)
        .fetch_one(&mut *tx)
        .await?;
        let id = std::slice::from_ref(&staged.okta_id);
        match (was_present, user.active) {
            (false, true) => {
                record_event(
                    &mut tx,
                    dataset,
                    &staged.okta_id,
                    source,
                    "added",
                    &staged.status,
                    at,
                )
                .await?;
                recount(&mut tx, dataset, id).await?;
            }
            (true, false) => {
                let status = before
                    .as_ref()
                    .map_or(staged.status.as_str(), |b| b.status.as_str());
                record_event(&mut tx, dataset, &staged.okta_id, source, "removed", status, at).await?;
                sqlx::query("DELETE FROM directory_user_group_counts WHERE dataset = $1 AND user_id = $2")
                    .bind(dataset)
                    .bind(&staged.okta_id)
                    .execute(&mut *tx)
                    .await?;
                super::identity::refresh_member_counts(
                    &mut tx,
                    dataset,
                    &[],
                    std::slice::from_ref(&staged.okta_id),
                )
                .await?;
            }
            (true, true) => {
                if before.as_ref().is_some_and(|b| b.status != staged.status) {
                    record_event(
                        &mut tx,
                        dataset,
                        &staged.okta_id,
                        source,
                        "status",
                        &staged.status,
                        at,
                    )
                    .await?;
                }
            }
            (false, false) => {}
        }
        super::events::append_changes(&mut tx, directory_id, dataset, &snapshot, &ids, &[]).await?;
        tx.commit().await?;
        Ok(PushOutcome::Written {
            created: before.is_none(),
            version,
            deactivated: was_present && !user.active,
        })
    }

    pub async fn push_group(
        &self,
        directory_id: &str,
        group: &PushedGroup<'_>,
        mode: PushMode,
    ) -> Result<PushOutcome, StoreError> {
        let at = now();
        let staged = group.staged;
        let (mut tx, dataset) = begin_write(self, directory_id).await?;
        let before: Option<(i64, bool, String)> = sqlx::query_as(
            "SELECT version, deleted_at IS NULL, name FROM directory_groups WHERE dataset = $1 AND okta_id = $2",
        )
        .bind(dataset)
        .bind(&staged.okta_id)
        .fetch_optional(&mut *tx)
        .await?;
        let present = before.as_ref().is_some_and(|(_, present, _)| *present);
        if let Some(refused) = push_refusal(mode, before.as_ref().map(|(v, present, _)| (*present, *v)), true)
        {
            return Ok(refused);
        }
        let renamed = group_renamed(
            before
                .as_ref()
                .map(|(_, present, name)| (*present, name.as_str())),
            &staged.name,
        );
        if renamed {
            let taken: Option<i32> = sqlx::query_scalar(
                "SELECT 1 FROM directory_groups WHERE dataset = $1 AND lower(name) = lower($2)
                   AND okta_id != $3 AND deleted_at IS NULL LIMIT 1",
            )
            .bind(dataset)
            .bind(&staged.name)
            .bind(&staged.okta_id)
            .fetch_optional(&mut *tx)
            .await?;
            if taken.is_some() {
                return Ok(PushOutcome::NameTaken);
            }
        }
        let joining = match group.members {
            GroupMembers::Keep => &[][..],
            GroupMembers::Replace(ids) => ids,
            GroupMembers::Delta { add, .. } => add,
        };
        if !joining.is_empty() {
            let absent: Vec<String> = sqlx::query_scalar(
                "SELECT j.id FROM unnest($1::text[]) AS j(id) WHERE NOT EXISTS (
                     SELECT 1 FROM directory_users u WHERE u.dataset = $2 AND u.okta_id = j.id)",
            )
            .bind(joining)
            .bind(dataset)
            .fetch_all(&mut *tx)
            .await?;
            if !absent.is_empty() {
                return Ok(PushOutcome::UnknownMembers(absent));
            }
        }
        let ids = [staged.okta_id.as_str()];
        let snapshot = super::events::snapshot(&mut tx, dataset, &[], &ids).await?;
        let sql = format!(
            "INSERT INTO directory_groups (dataset, okta_id, name, description, kind, okta_last_updated,
                 okta_last_membership_updated, content_hash, first_seen_at, last_seen_at, updated_at, deleted_at,
                 external_id, via_pull, via_push, keyed_by)
             SELECT $1, g.*, $2, $2, $2, NULL, $10, false, true, $11 FROM ({}) g
             {GROUP_UPSERT}, external_id = excluded.external_id, via_push = true",
            GroupColumns::select(3)
        );
        GroupColumns::of(std::slice::from_ref(staged))
            .bind(sqlx::query(&sql).bind(dataset).bind(at))
            .bind(group.external_id)
            .bind(group.keyed_by)
            .execute(&mut *tx)
            .await?;
        let (added, removed) = if group.members == GroupMembers::Keep {
            (Vec::new(), Vec::new())
        } else {
            let current = current_members(&mut tx, dataset, &staged.okta_id).await?;
            group_member_changes(&current, group.members).unwrap_or_default()
        };
        if !added.is_empty() || !removed.is_empty() {
            super::identity::write_pairs(&mut tx, dataset, &staged.okta_id, &added, &removed).await?;
            let touched: Vec<String> = added.iter().chain(&removed).cloned().collect();
            recount(&mut tx, dataset, &touched).await?;
            sqlx::query(
                "UPDATE directory_groups SET okta_last_membership_updated = NULL WHERE dataset = $1 AND okta_id = $2",
            )
            .bind(dataset)
            .bind(&staged.okta_id)
            .execute(&mut *tx)
            .await?;
        }
        let version: i64 = sqlx::query_scalar(
            "UPDATE directory_groups SET version = version + 1, updated_at = $1
             WHERE dataset = $2 AND okta_id = $3 RETURNING version",
        )
        .bind(at)
        .bind(dataset)
        .bind(&staged.okta_id)
        .fetch_one(&mut *tx)
        .await?;
        super::events::append_changes(&mut tx, directory_id, dataset, &snapshot, &[], &ids).await?;
        tx.commit().await?;
        Ok(PushOutcome::Written {
            created: !present,
            version,
            deactivated: false,
        })
    }

    /// Erases a user a push deleted: history stays, its row and memberships go.
    pub async fn erase_user(
        &self,
        directory_id: &str,
        okta_id: &str,
        source: &str,
    ) -> Result<bool, StoreError> {
        let at = now();
        let (mut tx, dataset) = begin_write(self, directory_id).await?;
        let Some(before) = stored_user(&mut tx, dataset, okta_id, "null").await? else {
            return Ok(false);
        };
        let ids = [okta_id];
        let snapshot = super::events::snapshot(&mut tx, dataset, &ids, &[]).await?;
        if before.present {
            record_event(&mut tx, dataset, okta_id, source, "removed", &before.status, at).await?;
        }
        let groups: Vec<String> = sqlx::query_scalar(
            "SELECT group_id FROM directory_user_groups WHERE dataset = $1 AND user_id = $2",
        )
        .bind(dataset)
        .bind(okta_id)
        .fetch_all(&mut *tx)
        .await?;
        let removed_pairs = "SELECT g AS group_id, $1::text AS user_id FROM unnest($3::text[]) AS g";
        for sql in &membership_statements(
            removed_pairs,
            "SELECT NULL::text AS group_id, NULL::text AS user_id WHERE false",
        )[..2]
        {
            sqlx::query(sql)
                .bind(okta_id)
                .bind(dataset)
                .bind(&groups)
                .execute(&mut *tx)
                .await?;
        }
        // The next pull re-reads these groups' members from Okta.
        sqlx::query(
            "UPDATE directory_groups SET okta_last_membership_updated = NULL, version = version + 1, updated_at = $3
             WHERE dataset = $1 AND okta_id = ANY($2)",
        )
        .bind(dataset)
        .bind(&groups)
        .bind(at)
        .execute(&mut *tx)
        .await?;
        for sql in [
            "DELETE FROM directory_user_group_counts WHERE dataset = $1 AND user_id = $2",
            "DELETE FROM directory_users WHERE dataset = $1 AND okta_id = $2",
        ] {
            sqlx::query(sql)
                .bind(dataset)
                .bind(okta_id)
                .execute(&mut *tx)
                .await?;
        }
        super::identity::refresh_member_counts(&mut tx, dataset, &groups, &[]).await?;
        super::events::append_changes(&mut tx, directory_id, dataset, &snapshot, &ids, &[]).await?;
        tx.commit().await?;
        Ok(true)
    }
}

async fn current_members(
    conn: &mut PgConnection,
    dataset: i64,
    group_id: &str,
) -> Result<BTreeSet<String>, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT user_id FROM directory_memberships WHERE dataset = $1 AND group_id = $2")
            .bind(dataset)
            .bind(group_id)
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .collect(),
    )
}

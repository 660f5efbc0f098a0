//! The identity store as SCIM sees it: records with their SCIM fields
//! (externalId, document, version, provenance), filtered reads from a
//! database-neutral condition tree, and version-checked push writes. Every
//! write is one transaction with the same history events and group counts
//! as a sync's apply.

use super::{
    apply::{live_or_new_dataset, membership_statements, GROUP_UPSERT},
    identity_writes::{pairs_from, pairs_json, record_event, recount},
    now,
    staging::{push_group_fields, USER_COLUMNS},
    timestamp, SqliteStore, StagedGroup, StagedUser, StoreError, LIVE_DATASET,
};
use sqlx::{QueryBuilder, Sqlite, Transaction};
use std::collections::BTreeSet;

/// The attributes a SCIM filter may name, per resource type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScimAttr {
    Id,
    ExternalId,
    /// User: `userName` (case-insensitive).
    UserName,
    /// User: `emails.value` (case-insensitive).
    Email,
    GivenName,
    FamilyName,
    /// User's `displayName` or a group's `displayName` (case-insensitive).
    DisplayName,
    Active,
    LastModified,
    Created,
    /// Group: `members.value`.
    MemberValue,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScimOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ScimValue {
    Text(String),
    Bool(bool),
    Null,
}

/// A filter over users or groups; the domain builds it from a parsed SCIM filter.
#[derive(Debug, Clone, PartialEq)]
pub enum ScimCondition {
    All,
    Present(ScimAttr),
    Compare(ScimAttr, ScimOp, ScimValue),
    Not(Box<ScimCondition>),
    And(Vec<ScimCondition>),
    Or(Vec<ScimCondition>),
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ScimUserRow {
    pub okta_id: String,
    pub login: String,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub display_name: String,
    pub status: String,
    pub suspended: bool,
    pub first_seen_at: String,
    pub updated_at: String,
    pub deleted_at: Option<String>,
    pub external_id: Option<String>,
    pub scim_resource: Option<String>,
    pub version: i64,
    pub via_pull: bool,
    pub via_push: bool,
    pub keyed_by: String,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ScimGroupRow {
    pub okta_id: String,
    pub name: String,
    pub description: Option<String>,
    pub kind: String,
    pub first_seen_at: String,
    pub updated_at: String,
    pub deleted_at: Option<String>,
    pub external_id: Option<String>,
    pub version: i64,
    pub via_pull: bool,
    pub via_push: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ScimMemberRow {
    pub group_id: String,
    pub user_id: String,
}

const USER_FIELDS: &str =
    "u.okta_id, u.login, u.email, u.first_name, u.last_name, u.display_name, u.status, \
     u.suspended, u.first_seen_at, u.updated_at, u.deleted_at, u.external_id, u.scim_resource, u.version, \
     u.via_pull, u.via_push, u.keyed_by";
const GROUP_FIELDS: &str =
    "g.okta_id, g.name, g.description, g.kind, g.first_seen_at, g.updated_at, g.deleted_at, g.external_id, \
     g.version, g.via_pull, g.via_push";

/// Which table a condition runs over.
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

/// `caseExact` per RFC 7643: ids and externalId compare exactly.
fn case_exact(attr: ScimAttr) -> bool {
    matches!(attr, ScimAttr::Id | ScimAttr::ExternalId | ScimAttr::MemberValue)
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

fn push_condition(
    q: &mut QueryBuilder<'_, Sqlite>,
    over: Over,
    cond: &ScimCondition,
) -> Result<(), StoreError> {
    match cond {
        ScimCondition::All => {
            q.push("1");
        }
        ScimCondition::Not(inner) => {
            q.push("NOT (");
            push_condition(q, over, inner)?;
            q.push(")");
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

fn unsupported(attr: ScimAttr) -> StoreError {
    StoreError::Corrupt(format!("the SCIM attribute {attr:?} has no column here"))
}

fn push_present(q: &mut QueryBuilder<'_, Sqlite>, over: Over, attr: ScimAttr) -> Result<(), StoreError> {
    match (over, attr) {
        (Over::Users, ScimAttr::Active) => q.push("1"),
        (Over::Groups, ScimAttr::MemberValue) => q.push(
            "EXISTS (SELECT 1 FROM present_memberships pm WHERE pm.dataset = g.dataset AND pm.group_id = g.okta_id)",
        ),
        _ => {
            let col = column(over, attr).ok_or_else(|| unsupported(attr))?;
            q.push(format!("({col} IS NOT NULL AND {col} != '')"))
        }
    };
    Ok(())
}

fn push_compare(
    q: &mut QueryBuilder<'_, Sqlite>,
    over: Over,
    attr: ScimAttr,
    op: ScimOp,
    value: &ScimValue,
) -> Result<(), StoreError> {
    if over == Over::Users && attr == ScimAttr::Active {
        let wanted = match value {
            ScimValue::Bool(b) => *b,
            _ => return Err(StoreError::Corrupt("active compares with a boolean".into())),
        };
        let active = "(u.deleted_at IS NULL AND u.suspended = 0)";
        match (op, wanted) {
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
            match op {
                ScimOp::Eq => q.push(format!("({col} IS NULL OR {col} = '')")),
                _ => q.push(format!("({col} IS NOT NULL AND {col} != '')")),
            };
            return Ok(());
        }
        ScimValue::Bool(_) => return Err(StoreError::Corrupt(format!("{attr:?} is not a boolean"))),
    };
    let is_time = matches!(attr, ScimAttr::LastModified | ScimAttr::Created);
    let collate = if case_exact(attr) || is_time {
        ""
    } else {
        " COLLATE NOCASE"
    };
    match op {
        ScimOp::Co | ScimOp::Sw | ScimOp::Ew => {
            // LIKE ignores ASCII case; case-exact attributes compare the slice exactly.
            if case_exact(attr) {
                match op {
                    ScimOp::Co => {
                        q.push(format!("instr({col}, "));
                        q.push_bind(text);
                        q.push(") > 0");
                    }
                    ScimOp::Sw => {
                        q.push(format!("substr({col}, 1, length("));
                        q.push_bind(text.clone());
                        q.push(")) = ");
                        q.push_bind(text);
                    }
                    _ => {
                        q.push(format!("substr({col}, -length("));
                        q.push_bind(text.clone());
                        q.push(")) = ");
                        q.push_bind(text);
                    }
                }
            } else {
                q.push(format!("{col} LIKE "));
                q.push_bind(like_pattern(&text, op));
                q.push(" ESCAPE '\\'");
            }
        }
        _ => {
            let sql_op = match op {
                ScimOp::Eq => "=",
                ScimOp::Ne => "!=",
                ScimOp::Gt => ">",
                ScimOp::Ge => ">=",
                ScimOp::Lt => "<",
                _ => "<=",
            };
            if is_time {
                q.push(format!("julianday({col}) {sql_op} julianday("));
                q.push_bind(text);
                q.push(")");
            } else if op == ScimOp::Ne {
                q.push(format!("({col} IS NULL OR {col}{collate} != "));
                q.push_bind(text);
                q.push(")");
            } else {
                q.push(format!("{col}{collate} {sql_op} "));
                q.push_bind(text);
            }
        }
    }
    Ok(())
}

/// What a push write did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushOutcome {
    /// Created, updated, removed or unchanged, with the version afterwards;
    /// `deactivated` when this write took a present user out.
    Written {
        created: bool,
        version: i64,
        deactivated: bool,
    },
    /// Another write got there first (the caller's version is stale).
    VersionMismatch {
        current: i64,
    },
    /// No record with that id (for a replace) or one already (for a create).
    Missing,
    Exists,
    /// Another present record holds this userName (or group name).
    NameTaken,
    /// Members to add that are not present users of the directory.
    UnknownMembers(Vec<String>),
}

/// A user as a push writes it.
pub struct PushedUser<'a> {
    pub staged: &'a StagedUser,
    pub external_id: Option<&'a str>,
    /// The SCIM document as received (no password), as JSON text.
    pub resource: &'a str,
    /// 'okta' when the id is Okta's, 'roster' when Roster minted it.
    pub keyed_by: &'a str,
    pub active: bool,
}

/// How a push changes a group's members.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupMembers<'a> {
    Keep,
    Replace(&'a [String]),
    Delta { add: &'a [String], remove: &'a [String] },
}

/// A group as a push writes it.
pub struct PushedGroup<'a> {
    pub staged: &'a StagedGroup,
    pub external_id: Option<&'a str>,
    /// Whose id the key is; only a new row takes it (a key never changes owner).
    pub keyed_by: &'a str,
    pub members: GroupMembers<'a>,
}

/// The refusal a push meets before it writes anything, given the stored
/// record (present?, version) if there is one. A removed user may be
/// replaced (a PUT that reactivates them); a removed group may not.
/// The one rule for both backends.
pub(super) fn push_refusal(
    mode: PushMode,
    stored: Option<(bool, i64)>,
    removed_is_missing: bool,
) -> Option<PushOutcome> {
    let present = stored.is_some_and(|(present, _)| present);
    match (mode, stored) {
        (PushMode::Create, Some(_)) if present => Some(PushOutcome::Exists),
        (PushMode::Replace { .. }, None) => Some(PushOutcome::Missing),
        (PushMode::Replace { .. }, Some(_)) if removed_is_missing && !present => Some(PushOutcome::Missing),
        (
            PushMode::Replace {
                expected_version: Some(expected),
            },
            Some((_, current)),
        ) if current != expected => Some(PushOutcome::VersionMismatch { current }),
        _ => None,
    }
}

/// Since when a pushed user is held out against stale pulls: not at all when
/// active; an earlier deactivation keeps its time; otherwise `at`.
pub(super) fn held_since<T>(active: bool, stored: Option<(bool, Option<T>)>, at: T) -> Option<T> {
    match (stored, active) {
        (_, true) => None,
        (Some((false, held)), false) => held.or(Some(at)),
        _ => Some(at),
    }
}

/// Whether a pushed group takes a new name (only a new name must be free: a
/// pulled directory may already hold an Okta group and an app group of one name).
pub(super) fn group_renamed(stored: Option<(bool, &str)>, name: &str) -> bool {
    !stored.is_some_and(|(present, stored_name)| present && stored_name.eq_ignore_ascii_case(name))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushMode {
    Create,
    /// Replace an existing record, optionally only at this version.
    Replace {
        expected_version: Option<i64>,
    },
}

struct StoredUser {
    status: String,
    content_hash: String,
    present: bool,
    version: i64,
    external_id: Option<String>,
    resource: Option<String>,
    via_push: bool,
    push_deactivated_at: Option<String>,
}

type StoredUserTuple = (
    String,
    String,
    Option<String>,
    i64,
    Option<String>,
    Option<String>,
    bool,
    Option<String>,
);

type PushStateRow = (
    i64,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<bool>,
    Option<String>,
    bool,
);

/// The live dataset, the stored user (if any) and whether another present
/// user has this login; `None` when the directory has no live dataset yet.
async fn push_state(
    tx: &mut Transaction<'_, Sqlite>,
    directory_id: &str,
    staged: &StagedUser,
) -> Result<Option<(i64, Option<StoredUser>, bool)>, StoreError> {
    let row: Option<PushStateRow> = sqlx::query_as(
        "SELECT d.key, u.status, u.content_hash, u.deleted_at, u.version, u.external_id, u.scim_resource,
                u.via_push, u.push_deactivated_at,
                EXISTS (SELECT 1 FROM directory_users o WHERE o.dataset = d.key AND o.login = $3 COLLATE NOCASE
                        AND o.okta_id != $2 AND o.deleted_at IS NULL)
         FROM directory_datasets d
         LEFT JOIN directory_users u ON u.dataset = d.key AND u.okta_id = $2
         WHERE d.directory_id = $1 AND d.live = 1",
    )
    .bind(directory_id)
    .bind(&staged.okta_id)
    .bind(&staged.login)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(
        |(dataset, status, hash, deleted, version, external_id, resource, via_push, held, taken)| {
            let before = match (status, hash, version) {
                (Some(status), Some(content_hash), Some(version)) => Some(StoredUser {
                    status,
                    content_hash,
                    present: deleted.is_none(),
                    version,
                    external_id,
                    resource,
                    via_push: via_push.unwrap_or(false),
                    push_deactivated_at: held,
                }),
                _ => None,
            };
            (dataset, before, taken)
        },
    ))
}

async fn stored_user(
    tx: &mut Transaction<'_, Sqlite>,
    dataset: i64,
    okta_id: &str,
) -> Result<Option<StoredUser>, StoreError> {
    let row: Option<StoredUserTuple> = sqlx::query_as(
        "SELECT status, content_hash, deleted_at, version, external_id, scim_resource, via_push, push_deactivated_at
         FROM directory_users WHERE dataset = $1 AND okta_id = $2",
    )
    .bind(dataset)
    .bind(okta_id)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(
        |(status, content_hash, deleted, version, external_id, resource, via_push, held)| StoredUser {
            status,
            content_hash,
            present: deleted.is_none(),
            version,
            external_id,
            resource,
            via_push,
            push_deactivated_at: held,
        },
    ))
}

impl SqliteStore {
    /// Users matching a condition, in id order, from 0-based `offset`.
    pub async fn scim_users(
        &self,
        directory_id: &str,
        condition: &ScimCondition,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<ScimUserRow>, i64), StoreError> {
        let total = {
            let mut q =
                QueryBuilder::<Sqlite>::new("SELECT COUNT(*) FROM directory_users u WHERE u.dataset = ");
            q.push("(SELECT key FROM directory_datasets WHERE directory_id = ");
            q.push_bind(directory_id.to_owned());
            q.push(" AND live = 1) AND ");
            push_condition(&mut q, Over::Users, condition)?;
            let total: i64 = q.build_query_scalar().fetch_one(&self.pool).await?;
            total
        };
        if limit == 0 || total == 0 {
            return Ok((Vec::new(), total));
        }
        let mut q = QueryBuilder::<Sqlite>::new(format!(
            "SELECT {USER_FIELDS} FROM directory_users u WHERE u.dataset = "
        ));
        q.push("(SELECT key FROM directory_datasets WHERE directory_id = ");
        q.push_bind(directory_id.to_owned());
        q.push(" AND live = 1) AND ");
        push_condition(&mut q, Over::Users, condition)?;
        q.push(" ORDER BY u.okta_id LIMIT ");
        q.push_bind(limit);
        q.push(" OFFSET ");
        q.push_bind(offset);
        let found = q.build_query_as::<ScimUserRow>().fetch_all(&self.pool).await?;
        Ok((found, total))
    }

    /// One user, present or removed.
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

    /// Groups matching a condition (present ones: a deleted group is gone for SCIM).
    pub async fn scim_groups(
        &self,
        directory_id: &str,
        condition: &ScimCondition,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<ScimGroupRow>, i64), StoreError> {
        let base = |q: &mut QueryBuilder<'_, Sqlite>| -> Result<(), StoreError> {
            q.push("(SELECT key FROM directory_datasets WHERE directory_id = ");
            q.push_bind(directory_id.to_owned());
            q.push(" AND live = 1) AND g.deleted_at IS NULL AND ");
            push_condition(q, Over::Groups, condition)
        };
        let mut q = QueryBuilder::<Sqlite>::new("SELECT COUNT(*) FROM directory_groups g WHERE g.dataset = ");
        base(&mut q)?;
        let total: i64 = q.build_query_scalar().fetch_one(&self.pool).await?;
        if limit == 0 || total == 0 {
            return Ok((Vec::new(), total));
        }
        let mut q = QueryBuilder::<Sqlite>::new(format!(
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

    /// A present group.
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

    /// Present members of these groups, by group then user id.
    pub async fn scim_members(
        &self,
        directory_id: &str,
        group_ids: &[String],
    ) -> Result<Vec<ScimMemberRow>, StoreError> {
        if group_ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids = serde_json::to_string(group_ids).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        Ok(sqlx::query_as(&format!(
            "SELECT pm.group_id, pm.user_id FROM present_memberships pm
             WHERE pm.dataset = {LIVE_DATASET} AND pm.group_id IN (SELECT value FROM json_each($2))
             ORDER BY pm.group_id, pm.user_id"
        ))
        .bind(directory_id)
        .bind(ids)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Creates or replaces a user as a push states it, in one transaction:
    /// version check, userName uniqueness, the record, its history event
    /// and its group count. An inactive user is removed (kept, out of every
    /// list) and held against a stale pull.
    pub async fn push_user(
        &self,
        directory_id: &str,
        user: &PushedUser<'_>,
        mode: PushMode,
        source: &str,
    ) -> Result<PushOutcome, StoreError> {
        let at = timestamp(now());
        let staged = user.staged;
        let mut tx = self.writer.begin_with(super::WRITE).await?;
        // One round trip for the dataset, the stored user and whether another
        // present user holds the userName: writes queue on one connection.
        let (dataset, before, taken) = match push_state(&mut tx, directory_id, staged).await? {
            Some(state) => state,
            None => {
                live_or_new_dataset(&mut tx, directory_id).await?;
                push_state(&mut tx, directory_id, staged)
                    .await?
                    .ok_or_else(|| StoreError::Corrupt("the live dataset just made is missing".into()))?
            }
        };
        if let Some(refused) = push_refusal(mode, before.as_ref().map(|b| (b.present, b.version)), false) {
            return Ok(refused);
        }
        if user.active && taken {
            return Ok(PushOutcome::NameTaken);
        }
        let was_present = before.as_ref().is_some_and(|b| b.present);
        if let Some(b) = &before {
            let same = b.content_hash == staged.content_hash
                && b.external_id.as_deref() == user.external_id
                && b.resource.as_deref() == Some(user.resource)
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
        let deleted_at = if user.active { None } else { Some(at.clone()) };
        let held = held_since(
            user.active,
            before
                .as_ref()
                .map(|b| (b.present, b.push_deactivated_at.clone())),
            at.clone(),
        );
        let ids = [staged.okta_id.as_str()];
        let snapshot = super::events::snapshot(&mut tx, dataset, &ids, &[]).await?;
        let mut insert = QueryBuilder::<Sqlite>::new(format!(
            "INSERT INTO directory_users (dataset, {USER_COLUMNS}, first_seen_at, last_seen_at, updated_at, \
             deleted_at, external_id, scim_resource, version, via_pull, via_push, keyed_by, push_deactivated_at) "
        ));
        insert.push_values([staged], |mut row, u| {
            row.push_bind(dataset);
            super::staging::push_user_fields(&mut row, u);
            row.push_bind(&at)
                .push_bind(&at)
                .push_bind(&at)
                .push_bind(&deleted_at)
                .push_bind(user.external_id)
                .push_bind(user.resource)
                .push_bind(1_i64)
                .push_bind(false)
                .push_bind(true)
                .push_bind(user.keyed_by)
                .push_bind(&held);
        });
        insert.push(
            " ON CONFLICT (dataset, okta_id) DO UPDATE SET
             login = excluded.login, email = excluded.email, first_name = excluded.first_name,
             last_name = excluded.last_name, display_name = excluded.display_name, status = excluded.status,
             suspended = excluded.suspended, profile = excluded.profile,
             updated_at = excluded.updated_at, content_hash = excluded.content_hash,
             deleted_at = CASE WHEN excluded.deleted_at IS NULL THEN NULL
                               ELSE COALESCE(directory_users.deleted_at, excluded.deleted_at) END,
             last_seen_at = CASE WHEN excluded.deleted_at IS NULL OR directory_users.deleted_at IS NULL
                                 THEN excluded.last_seen_at ELSE directory_users.last_seen_at END,
             external_id = excluded.external_id, scim_resource = excluded.scim_resource,
             version = directory_users.version + 1, via_push = 1,
             push_deactivated_at = excluded.push_deactivated_at
             RETURNING version",
        );
        let version: i64 = insert.build_query_scalar().fetch_one(&mut *tx).await?;
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
                    &at,
                )
                .await?;
                recount(&mut tx, dataset, id).await?;
            }
            (true, false) => {
                let status = before
                    .as_ref()
                    .map_or(staged.status.as_str(), |b| b.status.as_str());
                record_event(&mut tx, dataset, &staged.okta_id, source, "removed", status, &at).await?;
                sqlx::query("DELETE FROM directory_user_group_counts WHERE dataset = $1 AND user_id = $2")
                    .bind(dataset)
                    .bind(&staged.okta_id)
                    .execute(&mut *tx)
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
                        &at,
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

    /// Creates or replaces a group as a push states it (its members too,
    /// when given), in one transaction.
    pub async fn push_group(
        &self,
        directory_id: &str,
        group: &PushedGroup<'_>,
        mode: PushMode,
    ) -> Result<PushOutcome, StoreError> {
        let at = timestamp(now());
        let staged = group.staged;
        let mut tx = self.writer.begin_with(super::WRITE).await?;
        let dataset = live_or_new_dataset(&mut tx, directory_id).await?;
        let before: Option<(i64, Option<String>, String)> = sqlx::query_as(
            "SELECT version, deleted_at, name FROM directory_groups WHERE dataset = $1 AND okta_id = $2",
        )
        .bind(dataset)
        .bind(&staged.okta_id)
        .fetch_optional(&mut *tx)
        .await?;
        let present = before.as_ref().is_some_and(|(_, deleted, _)| deleted.is_none());
        if let Some(refused) = push_refusal(
            mode,
            before.as_ref().map(|(v, deleted, _)| (deleted.is_none(), *v)),
            true,
        ) {
            return Ok(refused);
        }
        let renamed = group_renamed(
            before
                .as_ref()
                .map(|(_, deleted, name)| (deleted.is_none(), name.as_str())),
            &staged.name,
        );
        let taken: Option<i64> = if !renamed {
            None
        } else {
            sqlx::query_scalar(
                "SELECT 1 FROM directory_groups WHERE dataset = $1 AND name = $2 COLLATE NOCASE
             AND okta_id != $3 AND deleted_at IS NULL LIMIT 1",
            )
            .bind(dataset)
            .bind(&staged.name)
            .bind(&staged.okta_id)
            .fetch_optional(&mut *tx)
            .await?
        };
        if taken.is_some() {
            return Ok(PushOutcome::NameTaken);
        }
        let joining = match group.members {
            GroupMembers::Keep => &[][..],
            GroupMembers::Replace(ids) => ids,
            GroupMembers::Delta { add, .. } => add,
        };
        let absent = absent_users(&mut tx, dataset, joining).await?;
        if !absent.is_empty() {
            return Ok(PushOutcome::UnknownMembers(absent));
        }
        let ids = [staged.okta_id.as_str()];
        let snapshot = super::events::snapshot(&mut tx, dataset, &[], &ids).await?;
        let mut insert = QueryBuilder::<Sqlite>::new(
            "INSERT INTO directory_groups (dataset, okta_id, name, description, kind, okta_last_updated, \
             okta_last_membership_updated, content_hash, first_seen_at, last_seen_at, updated_at, deleted_at, \
             external_id, via_pull, via_push, keyed_by) ",
        );
        insert.push_values([staged], |mut row, g| {
            row.push_bind(dataset);
            push_group_fields(&mut row, g);
            row.push_bind(&at)
                .push_bind(&at)
                .push_bind(&at)
                .push_bind(None::<String>)
                .push_bind(group.external_id)
                .push_bind(false)
                .push_bind(true)
                .push_bind(group.keyed_by);
        });
        insert.push(" ");
        insert.push(GROUP_UPSERT);
        insert.push(", external_id = excluded.external_id, via_push = 1");
        insert.build().execute(&mut *tx).await?;
        write_members_in(&mut tx, dataset, &staged.okta_id, group.members).await?;
        let version = bump_group(&mut tx, dataset, &staged.okta_id, &at).await?;
        super::events::append_changes(&mut tx, directory_id, dataset, &snapshot, &[], &ids).await?;
        tx.commit().await?;
        Ok(PushOutcome::Written {
            created: !present,
            version,
            deactivated: false,
        })
    }

    /// Erases a user a push deleted (RFC 7644 §3.6: it is gone for SCIM):
    /// its history stays, its row and memberships go. False when absent.
    pub async fn erase_user(
        &self,
        directory_id: &str,
        okta_id: &str,
        source: &str,
    ) -> Result<bool, StoreError> {
        let at = timestamp(now());
        let mut tx = self.writer.begin_with(super::WRITE).await?;
        let dataset = live_or_new_dataset(&mut tx, directory_id).await?;
        let Some(before) = stored_user(&mut tx, dataset, okta_id).await? else {
            return Ok(false);
        };
        let ids = [okta_id];
        let snapshot = super::events::snapshot(&mut tx, dataset, &ids, &[]).await?;
        if before.present {
            record_event(&mut tx, dataset, okta_id, source, "removed", &before.status, &at).await?;
        }
        let groups: Vec<String> = sqlx::query_scalar(
            "SELECT group_id FROM directory_user_groups WHERE dataset = $1 AND user_id = $2",
        )
        .bind(dataset)
        .bind(okta_id)
        .fetch_all(&mut *tx)
        .await?;
        let pairs: Vec<[&str; 2]> = groups.iter().map(|g| [g.as_str(), okta_id]).collect();
        let removed = serde_json::to_string(&pairs).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        for sql in membership_statements(&pairs_from("$1"), &pairs_from("$3")) {
            sqlx::query(&sql)
                .bind(&removed)
                .bind(dataset)
                .bind("[]")
                .execute(&mut *tx)
                .await?;
        }
        // The next pull re-reads these groups' members from Okta: a user it
        // brings back gets their memberships back too.
        let group_ids = serde_json::to_string(&groups).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        sqlx::query(
            "UPDATE directory_groups SET okta_last_membership_updated = NULL, version = version + 1, updated_at = $3
             WHERE dataset = $1 AND okta_id IN (SELECT value FROM json_each($2))",
        )
        .bind(dataset)
        .bind(group_ids)
        .bind(&at)
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
        super::events::append_changes(&mut tx, directory_id, dataset, &snapshot, &ids, &[]).await?;
        tx.commit().await?;
        Ok(true)
    }
}

/// Of these ids, the ones no user of the dataset has (a removed user may
/// stay a member: membership reads show present users only).
async fn absent_users(
    tx: &mut Transaction<'_, Sqlite>,
    dataset: i64,
    ids: &[String],
) -> Result<Vec<String>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let json = serde_json::to_string(ids).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(sqlx::query_scalar(
        "SELECT j.value FROM json_each($1) j WHERE NOT EXISTS (
             SELECT 1 FROM directory_users u WHERE u.dataset = $2 AND u.okta_id = j.value)",
    )
    .bind(json)
    .bind(dataset)
    .fetch_all(&mut **tx)
    .await?)
}

/// Changes a group's membership rows and the touched users' counts;
/// true when anything changed. The group's Okta membership stamp is cleared
/// so a pull re-reads its members from Okta: the pull stays the check.
async fn write_members_in(
    tx: &mut Transaction<'_, Sqlite>,
    dataset: i64,
    group_id: &str,
    members: GroupMembers<'_>,
) -> Result<bool, StoreError> {
    let current: BTreeSet<String> =
        sqlx::query_scalar("SELECT user_id FROM directory_memberships WHERE dataset = $1 AND group_id = $2")
            .bind(dataset)
            .bind(group_id)
            .fetch_all(&mut **tx)
            .await?
            .into_iter()
            .collect();
    let Some((added, removed)) = super::identity_writes::group_member_changes(&current, members) else {
        return Ok(false);
    };
    if added.is_empty() && removed.is_empty() {
        return Ok(false);
    }
    let (removed_json, added_json) = (pairs_json(group_id, &removed)?, pairs_json(group_id, &added)?);
    for sql in membership_statements(&pairs_from("$1"), &pairs_from("$3")) {
        sqlx::query(&sql)
            .bind(&removed_json)
            .bind(dataset)
            .bind(&added_json)
            .execute(&mut **tx)
            .await?;
    }
    let touched: Vec<String> = added.iter().chain(&removed).cloned().collect();
    recount(tx, dataset, &touched).await?;
    sqlx::query(
        "UPDATE directory_groups SET okta_last_membership_updated = NULL WHERE dataset = $1 AND okta_id = $2",
    )
    .bind(dataset)
    .bind(group_id)
    .execute(&mut **tx)
    .await?;
    Ok(true)
}

/// A group changed: a new version and modification time.
async fn bump_group(
    tx: &mut Transaction<'_, Sqlite>,
    dataset: i64,
    group_id: &str,
    at: &str,
) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar(
        "UPDATE directory_groups SET version = version + 1, updated_at = $1
         WHERE dataset = $2 AND okta_id = $3 RETURNING version",
    )
    .bind(at)
    .bind(dataset)
    .bind(group_id)
    .fetch_one(&mut **tx)
    .await?)
}

//! Sign in with Okta: the OIDC app's settings, the people who signed in, and
//! the sign-ins behind live sessions (revocable by person).

use super::{now, parse_timestamp, timestamp, Admin, SqliteStore, StoreError, LIVE_DATASET};
use crate::model::{Role, SignInMethod};

/// The stored settings; the secret stays sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigninSettingsRow {
    pub issuer: String,
    pub client_id: String,
    pub client_secret_sealed: String,
    pub admin_groups: Vec<String>,
    pub viewer_groups: Vec<String>,
    pub tested_at: Option<String>,
    pub tested_by: Option<String>,
    pub updated_at: String,
    pub updated_by: String,
}

/// A sign-in as the guard checks it on every request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigninRow {
    pub id: String,
    pub admin: Admin,
    pub role: Role,
    pub method: SignInMethod,
    pub subject: Option<String>,
    pub email: Option<String>,
    pub groups: Vec<String>,
    pub expires_at: time::OffsetDateTime,
    pub revoked: bool,
}

/// A Test sign-in as stored: the settings under test stay sealed.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SigninTestRow {
    pub settings_sealed: String,
    pub started_by: String,
    pub started_at: String,
    /// JSON.
    pub report: String,
}

pub struct NewSignin<'a> {
    pub admin_id: uuid::Uuid,
    pub role: Role,
    pub method: SignInMethod,
    pub subject: Option<&'a str>,
    pub email: Option<&'a str>,
    pub groups: &'a [String],
    pub ip: Option<&'a str>,
    pub lifetime: time::Duration,
}

/// A person as the ID token names them.
pub struct OktaPerson<'a> {
    pub issuer: &'a str,
    pub subject: &'a str,
    pub email: Option<&'a str>,
    pub display_name: &'a str,
}

pub(super) fn groups_json(groups: &[String]) -> String {
    serde_json::to_string(groups).unwrap_or_else(|_| "[]".into())
}

pub(super) fn parse_groups(raw: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(raw).map_err(|e| StoreError::Corrupt(format!("group list: {e}")))
}

pub(super) fn parse_admin_id(id: &str) -> Result<uuid::Uuid, StoreError> {
    uuid::Uuid::parse_str(id).map_err(|e| StoreError::Corrupt(format!("admin id: {e}")))
}

pub(super) type SettingsTuple = (
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    String,
);

pub(super) type SigninTuple = (
    String,
    String,
    String,
    Role,
    SignInMethod,
    Option<String>,
    Option<String>,
    String,
    String,
    Option<String>,
);

impl SqliteStore {
    /// Starts a Test sign-in; tests older than `keep` are dropped meanwhile.
    pub async fn insert_signin_test(
        &self,
        id: &str,
        settings_sealed: &str,
        started_by: &str,
        report: &str,
        keep: time::Duration,
    ) -> Result<(), StoreError> {
        let at = now();
        sqlx::query("DELETE FROM signin_tests WHERE started_at < $1")
            .bind(timestamp(at - keep))
            .execute(&self.pool)
            .await?;
        sqlx::query(
            "INSERT INTO signin_tests (id, settings_sealed, started_by, started_at, report) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(settings_sealed)
        .bind(started_by)
        .bind(timestamp(at))
        .bind(report)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn signin_test(&self, id: &str) -> Result<Option<SigninTestRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT settings_sealed, started_by, started_at, report FROM signin_tests WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?)
    }

    pub async fn set_signin_test_report(&self, id: &str, report: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE signin_tests SET report = $2 WHERE id = $1")
            .bind(id)
            .bind(report)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn signin_settings(&self) -> Result<Option<SigninSettingsRow>, StoreError> {
        let row: Option<SettingsTuple> = sqlx::query_as(
            "SELECT issuer, client_id, client_secret_sealed, admin_groups, viewer_groups,
                    tested_at, tested_by, updated_at, updated_by
             FROM signin_settings WHERE id = 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(SigninSettingsRow {
                issuer: r.0,
                client_id: r.1,
                client_secret_sealed: r.2,
                admin_groups: parse_groups(&r.3)?,
                viewer_groups: parse_groups(&r.4)?,
                tested_at: r.5,
                tested_by: r.6,
                updated_at: r.7,
                updated_by: r.8,
            })
        })
        .transpose()
    }

    /// Replaces the settings in one statement; `tested_by` is None when saved
    /// without a successful test.
    pub async fn save_signin_settings(&self, row: &SigninSettingsRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO signin_settings (id, issuer, client_id, client_secret_sealed, admin_groups,
                 viewer_groups, tested_at, tested_by, updated_at, updated_by)
             VALUES (1, $1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (id) DO UPDATE SET issuer = excluded.issuer, client_id = excluded.client_id,
                 client_secret_sealed = excluded.client_secret_sealed, admin_groups = excluded.admin_groups,
                 viewer_groups = excluded.viewer_groups, tested_at = excluded.tested_at,
                 tested_by = excluded.tested_by, updated_at = excluded.updated_at,
                 updated_by = excluded.updated_by",
        )
        .bind(&row.issuer)
        .bind(&row.client_id)
        .bind(&row.client_secret_sealed)
        .bind(groups_json(&row.admin_groups))
        .bind(groups_json(&row.viewer_groups))
        .bind(&row.tested_at)
        .bind(&row.tested_by)
        .bind(timestamp(now()))
        .bind(&row.updated_by)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn delete_signin_settings(&self) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM signin_settings WHERE id = 1")
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Finds or creates the admin row of an Okta person, refreshing name and email.
    pub async fn upsert_okta_admin(&self, person: &OktaPerson<'_>) -> Result<Admin, StoreError> {
        let at = timestamp(now());
        let id: String = sqlx::query_scalar(
            "INSERT INTO admins (id, display_name, created_at, last_sign_in_at, issuer, subject, email)
             VALUES ($1, $2, $3, $3, $4, $5, $6)
             ON CONFLICT (issuer, subject) WHERE subject IS NOT NULL DO UPDATE SET
                 display_name = excluded.display_name, email = excluded.email,
                 last_sign_in_at = excluded.last_sign_in_at
             RETURNING id",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(person.display_name)
        .bind(&at)
        .bind(person.issuer)
        .bind(person.subject)
        .bind(person.email)
        .fetch_one(&self.pool)
        .await?;
        Ok(Admin {
            id: parse_admin_id(&id)?,
            display_name: person.display_name.to_owned(),
        })
    }

    /// Whether anyone has signed in through Okta yet.
    pub async fn count_okta_admins(&self) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM admins WHERE subject IS NOT NULL")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    pub async fn insert_signin(&self, new: &NewSignin<'_>) -> Result<String, StoreError> {
        let id = uuid::Uuid::new_v4().to_string();
        let at = now();
        sqlx::query(
            "INSERT INTO signins (id, admin_id, role, method, subject, email, groups, ip, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&id)
        .bind(new.admin_id.to_string())
        .bind(new.role)
        .bind(new.method)
        .bind(new.subject)
        .bind(new.email)
        .bind(groups_json(new.groups))
        .bind(new.ip)
        .bind(timestamp(at))
        .bind(timestamp(at + new.lifetime))
        .execute(&self.pool)
        .await?;
        Ok(id)
    }

    pub async fn signin(&self, id: &str) -> Result<Option<SigninRow>, StoreError> {
        let row: Option<SigninTuple> = sqlx::query_as(
            "SELECT s.id, a.id, a.display_name, s.role, s.method, s.subject, s.email, s.groups,
                    s.expires_at, s.revoked_at
             FROM signins s JOIN admins a ON a.id = s.admin_id WHERE s.id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(signin_from_tuple).transpose()
    }

    /// Sign-ins still live (not revoked, not past their absolute expiry).
    pub async fn live_signins(&self) -> Result<Vec<SigninRow>, StoreError> {
        let rows: Vec<SigninTuple> = sqlx::query_as(
            "SELECT s.id, a.id, a.display_name, s.role, s.method, s.subject, s.email, s.groups,
                    s.expires_at, s.revoked_at
             FROM signins s JOIN admins a ON a.id = s.admin_id
             WHERE s.revoked_at IS NULL AND s.expires_at > $1",
        )
        .bind(timestamp(now()))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(signin_from_tuple).collect()
    }

    pub async fn revoke_signin(&self, id: &str, reason: &str) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE signins SET revoked_at = $1, revoked_reason = $2 WHERE id = $3 AND revoked_at IS NULL",
        )
        .bind(timestamp(now()))
        .bind(reason)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Revokes every live sign-in of the given directory users, matched by
    /// Okta id (the OIDC subject of an Okta org) or, case-insensitively, by
    /// their email. Returns the revoked sign-ins' ids.
    pub async fn revoke_signins_of_users(
        &self,
        directory_id: &str,
        okta_ids: &[String],
        reason: &str,
    ) -> Result<Vec<String>, StoreError> {
        if okta_ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids = serde_json::to_string(okta_ids).unwrap_or_else(|_| "[]".into());
        let revoked: Vec<String> = sqlx::query_scalar(&format!(
            "UPDATE signins SET revoked_at = $2, revoked_reason = $3
             WHERE revoked_at IS NULL AND (
                 subject IN (SELECT value FROM json_each($4))
                 OR lower(email) IN (
                     SELECT lower(u.email) FROM directory_users u
                     WHERE u.dataset = {LIVE_DATASET} AND u.email IS NOT NULL
                       AND u.okta_id IN (SELECT value FROM json_each($4))))
             RETURNING id"
        ))
        .bind(directory_id)
        .bind(timestamp(now()))
        .bind(reason)
        .bind(ids)
        .fetch_all(&self.pool)
        .await?;
        Ok(revoked)
    }

    /// Revokes the live sign-ins of a directory's suspended users (Okta
    /// keeps them assigned, so a sync does not remove them).
    pub async fn revoke_signins_of_suspended(
        &self,
        directory_id: &str,
        reason: &str,
    ) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(&format!(
            "UPDATE signins SET revoked_at = $2, revoked_reason = $3
             WHERE revoked_at IS NULL AND (
                 subject IN (SELECT u.okta_id FROM directory_users u
                             WHERE u.dataset = {LIVE_DATASET} AND u.suspended = 1)
                 OR lower(email) IN (SELECT lower(u.email) FROM directory_users u
                             WHERE u.dataset = {LIVE_DATASET} AND u.suspended = 1 AND u.email IS NOT NULL))
             RETURNING id"
        ))
        .bind(directory_id)
        .bind(timestamp(now()))
        .bind(reason)
        .fetch_all(&self.pool)
        .await?)
    }

    /// A person's present groups in a directory's live dataset, found by Okta
    /// id or email; None when the directory does not hold them as present.
    pub async fn present_groups_of_person(
        &self,
        directory_id: &str,
        subject: Option<&str>,
        email: Option<&str>,
    ) -> Result<Option<Vec<String>>, StoreError> {
        let user: Option<String> = sqlx::query_scalar(&format!(
            "SELECT u.okta_id FROM directory_users u
             JOIN directory_user_group_counts p ON p.dataset = u.dataset AND p.user_id = u.okta_id
             WHERE u.dataset = {LIVE_DATASET}
               AND (u.okta_id = $2 OR ($3 IS NOT NULL AND lower(u.email) = lower($3)))
             LIMIT 1"
        ))
        .bind(directory_id)
        .bind(subject)
        .bind(email)
        .fetch_optional(&self.pool)
        .await?;
        let Some(user) = user else {
            return Ok(None);
        };
        let groups: Vec<String> = sqlx::query_scalar(&format!(
            "SELECT g.name FROM present_memberships m
             JOIN directory_groups g ON g.dataset = m.dataset AND g.okta_id = m.group_id
             WHERE m.dataset = {LIVE_DATASET} AND m.user_id = $2"
        ))
        .bind(directory_id)
        .bind(&user)
        .fetch_all(&self.pool)
        .await?;
        Ok(Some(groups))
    }

    /// Which of `names` a directory holds as present groups.
    pub async fn known_group_names(
        &self,
        directory_id: &str,
        names: &[String],
    ) -> Result<Vec<String>, StoreError> {
        let json = serde_json::to_string(names).unwrap_or_else(|_| "[]".into());
        Ok(sqlx::query_scalar(&format!(
            "SELECT g.name FROM directory_groups g
             WHERE g.dataset = {LIVE_DATASET} AND g.deleted_at IS NULL
               AND g.name IN (SELECT value FROM json_each($2))"
        ))
        .bind(directory_id)
        .bind(json)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Deletes sign-ins past their expiry or revoked more than a day ago.
    pub async fn prune_signins(&self) -> Result<u64, StoreError> {
        let at = now();
        let done = sqlx::query(
            "DELETE FROM signins WHERE expires_at <= $1 OR (revoked_at IS NOT NULL AND revoked_at <= $2)",
        )
        .bind(timestamp(at))
        .bind(timestamp(at - time::Duration::days(1)))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }
}

pub(super) fn signin_from_tuple(r: SigninTuple) -> Result<SigninRow, StoreError> {
    Ok(SigninRow {
        id: r.0,
        admin: Admin {
            id: parse_admin_id(&r.1)?,
            display_name: r.2,
        },
        role: r.3,
        method: r.4,
        subject: r.5,
        email: r.6,
        groups: parse_groups(&r.7)?,
        expires_at: parse_timestamp(&r.8)?,
        revoked: r.9.is_some(),
    })
}

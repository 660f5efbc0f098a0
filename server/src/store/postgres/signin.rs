//! Sign in with Okta: the OIDC app's settings, the people who signed in, and
//! the sign-ins behind live sessions (revocable by person, from any replica).

use super::{is_uuid, staging::LIVE_DATASET, PgStore};
use crate::store::{
    now,
    signin::{groups_json, parse_admin_id, parse_groups, signin_from_tuple, SettingsTuple, SigninTuple},
    Admin, NewSignin, OktaPerson, SigninRow, SigninSettingsRow, SigninTestRow, StoreError,
};

const SIGNIN_COLUMNS: &str = "s.id::text, a.id::text, a.display_name, s.role, s.method, s.subject, s.email, \
     s.groups::text, rfc3339(s.expires_at), rfc3339(s.revoked_at)";

impl PgStore {
    pub async fn insert_signin_test(
        &self,
        id: &str,
        settings_sealed: &str,
        started_by: &str,
        report: &str,
        keep: time::Duration,
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM signin_tests WHERE started_at < $1")
            .bind(now() - keep)
            .execute(&self.pool)
            .await?;
        sqlx::query(
            "INSERT INTO signin_tests (id, settings_sealed, started_by, started_at, report)
             VALUES ($1, $2, $3, now(), $4::jsonb)",
        )
        .bind(id)
        .bind(settings_sealed)
        .bind(started_by)
        .bind(report)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn signin_test(&self, id: &str) -> Result<Option<SigninTestRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT settings_sealed, started_by, rfc3339(started_at) AS started_at, report::text AS report
             FROM signin_tests WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?)
    }

    pub async fn set_signin_test_report(&self, id: &str, report: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE signin_tests SET report = $2::jsonb WHERE id = $1")
            .bind(id)
            .bind(report)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn signin_settings(&self) -> Result<Option<SigninSettingsRow>, StoreError> {
        let row: Option<SettingsTuple> = sqlx::query_as(
            "SELECT issuer, client_id, client_secret_sealed, admin_groups::text, viewer_groups::text,
                    rfc3339(tested_at), tested_by, rfc3339(updated_at), updated_by
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

    pub async fn save_signin_settings(&self, row: &SigninSettingsRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO signin_settings (id, issuer, client_id, client_secret_sealed, admin_groups,
                 viewer_groups, tested_at, tested_by, updated_at, updated_by)
             VALUES (1, $1, $2, $3, $4::jsonb, $5::jsonb, $6::timestamptz, $7, now(), $8)
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

    pub async fn upsert_okta_admin(&self, person: &OktaPerson<'_>) -> Result<Admin, StoreError> {
        let id: String = sqlx::query_scalar(
            "INSERT INTO admins (id, display_name, created_at, last_sign_in_at, issuer, subject, email)
             VALUES ($1::uuid, $2, now(), now(), $3, $4, $5)
             ON CONFLICT (issuer, subject) WHERE subject IS NOT NULL DO UPDATE SET
                 display_name = excluded.display_name, email = excluded.email,
                 last_sign_in_at = excluded.last_sign_in_at
             RETURNING id::text",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(person.display_name)
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
             VALUES ($1::uuid, $2::uuid, $3, $4, $5, $6, $7::jsonb, $8, $9, $10)",
        )
        .bind(&id)
        .bind(new.admin_id.to_string())
        .bind(new.role)
        .bind(new.method)
        .bind(new.subject)
        .bind(new.email)
        .bind(groups_json(new.groups))
        .bind(new.ip)
        .bind(at)
        .bind(at + new.lifetime)
        .execute(&self.pool)
        .await?;
        Ok(id)
    }

    pub async fn signin(&self, id: &str) -> Result<Option<SigninRow>, StoreError> {
        if !is_uuid(id) {
            return Ok(None);
        }
        let row: Option<SigninTuple> = sqlx::query_as(&format!(
            "SELECT {SIGNIN_COLUMNS} FROM signins s JOIN admins a ON a.id = s.admin_id WHERE s.id = $1::uuid"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(signin_from_tuple).transpose()
    }

    pub async fn live_signins(&self) -> Result<Vec<SigninRow>, StoreError> {
        let rows: Vec<SigninTuple> = sqlx::query_as(&format!(
            "SELECT {SIGNIN_COLUMNS} FROM signins s JOIN admins a ON a.id = s.admin_id
             WHERE s.revoked_at IS NULL AND s.expires_at > now()"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(signin_from_tuple).collect()
    }

    pub async fn revoke_signin(&self, id: &str, reason: &str) -> Result<bool, StoreError> {
        if !is_uuid(id) {
            return Ok(false);
        }
        let done = sqlx::query(
            "UPDATE signins SET revoked_at = now(), revoked_reason = $1 WHERE id = $2::uuid AND revoked_at IS NULL",
        )
        .bind(reason)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn revoke_signins_of_users(
        &self,
        directory_id: &str,
        okta_ids: &[String],
        reason: &str,
    ) -> Result<Vec<String>, StoreError> {
        if okta_ids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(sqlx::query_scalar(&format!(
            "UPDATE signins SET revoked_at = now(), revoked_reason = $2
             WHERE revoked_at IS NULL AND (
                 subject = ANY($3)
                 OR lower(email) IN (
                     SELECT lower(u.email) FROM directory_users u
                     WHERE u.dataset = {LIVE_DATASET} AND u.email IS NOT NULL AND u.okta_id = ANY($3)))
             RETURNING id::text"
        ))
        .bind(directory_id)
        .bind(reason)
        .bind(okta_ids)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn revoke_signins_of_suspended(
        &self,
        directory_id: &str,
        reason: &str,
    ) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(&format!(
            "UPDATE signins SET revoked_at = now(), revoked_reason = $2
             WHERE revoked_at IS NULL AND (
                 subject IN (SELECT u.okta_id FROM directory_users u
                             WHERE u.dataset = {LIVE_DATASET} AND u.suspended)
                 OR lower(email) IN (SELECT lower(u.email) FROM directory_users u
                             WHERE u.dataset = {LIVE_DATASET} AND u.suspended AND u.email IS NOT NULL))
             RETURNING id::text"
        ))
        .bind(directory_id)
        .bind(reason)
        .fetch_all(&self.pool)
        .await?)
    }

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
               AND (u.okta_id = $2 OR ($3::text IS NOT NULL AND lower(u.email) = lower($3)))
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

    pub async fn known_group_names(
        &self,
        directory_id: &str,
        names: &[String],
    ) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(&format!(
            "SELECT g.name FROM directory_groups g
             WHERE g.dataset = {LIVE_DATASET} AND g.deleted_at IS NULL AND g.name = ANY($2)"
        ))
        .bind(directory_id)
        .bind(names)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn prune_signins(&self) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "DELETE FROM signins WHERE expires_at <= now()
                 OR (revoked_at IS NOT NULL AND revoked_at <= now() - interval '1 day')",
        )
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }
}

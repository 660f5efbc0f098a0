//! Parts of the interface the PostgreSQL backend does not implement yet;
//! each answers a clear error instead of running SQLite's SQL.

use super::PgStore;
use crate::store::*;

pub(super) fn pending(what: &'static str) -> StoreError {
    StoreError::NotOnPostgres(what)
}

impl PgStore {
    pub async fn insert_scim_token(&self, _new: &NewScimToken<'_>) -> Result<(), StoreError> {
        Err(pending("insert_scim_token"))
    }

    pub async fn scim_tokens(&self, _directory_id: &str) -> Result<Vec<ScimTokenRow>, StoreError> {
        Err(pending("scim_tokens"))
    }

    pub async fn use_scim_token(
        &self,
        _directory_id: &str,
        _token_hash: &str,
    ) -> Result<Option<ScimTokenRow>, StoreError> {
        Err(pending("use_scim_token"))
    }

    pub async fn revoke_scim_token(&self, _directory_id: &str, _id: &str) -> Result<bool, StoreError> {
        Err(pending("revoke_scim_token"))
    }

    pub async fn append_scim_requests(&self, _rows: &[ScimRequestRow]) -> Result<(), StoreError> {
        Err(pending("append_scim_requests"))
    }

    pub async fn scim_requests(
        &self,
        _directory_id: &str,
        _limit: i64,
    ) -> Result<Vec<ScimRequestRow>, StoreError> {
        Err(pending("scim_requests"))
    }

    pub async fn scim_users(
        &self,
        _directory_id: &str,
        _condition: &ScimCondition,
        _offset: i64,
        _limit: i64,
    ) -> Result<(Vec<ScimUserRow>, i64), StoreError> {
        Err(pending("scim_users"))
    }

    pub async fn scim_user(
        &self,
        _directory_id: &str,
        _okta_id: &str,
    ) -> Result<Option<ScimUserRow>, StoreError> {
        Err(pending("scim_user"))
    }

    pub async fn scim_groups(
        &self,
        _directory_id: &str,
        _condition: &ScimCondition,
        _offset: i64,
        _limit: i64,
    ) -> Result<(Vec<ScimGroupRow>, i64), StoreError> {
        Err(pending("scim_groups"))
    }

    pub async fn scim_group(
        &self,
        _directory_id: &str,
        _okta_id: &str,
    ) -> Result<Option<ScimGroupRow>, StoreError> {
        Err(pending("scim_group"))
    }

    pub async fn scim_members(
        &self,
        _directory_id: &str,
        _group_ids: &[String],
    ) -> Result<Vec<ScimMemberRow>, StoreError> {
        Err(pending("scim_members"))
    }

    pub async fn push_user(
        &self,
        _directory_id: &str,
        _user: &PushedUser<'_>,
        _mode: PushMode,
        _source: &str,
    ) -> Result<PushOutcome, StoreError> {
        Err(pending("push_user"))
    }

    pub async fn push_group(
        &self,
        _directory_id: &str,
        _group: &PushedGroup<'_>,
        _mode: PushMode,
    ) -> Result<PushOutcome, StoreError> {
        Err(pending("push_group"))
    }

    pub async fn erase_user(
        &self,
        _directory_id: &str,
        _okta_id: &str,
        _source: &str,
    ) -> Result<bool, StoreError> {
        Err(pending("erase_user"))
    }

    pub async fn signin_settings(&self) -> Result<Option<SigninSettingsRow>, StoreError> {
        Err(pending("signin_settings"))
    }

    pub async fn save_signin_settings(&self, _row: &SigninSettingsRow) -> Result<(), StoreError> {
        Err(pending("save_signin_settings"))
    }

    pub async fn delete_signin_settings(&self) -> Result<bool, StoreError> {
        Err(pending("delete_signin_settings"))
    }

    pub async fn upsert_okta_admin(&self, _person: &OktaPerson<'_>) -> Result<Admin, StoreError> {
        Err(pending("upsert_okta_admin"))
    }

    pub async fn count_okta_admins(&self) -> Result<i64, StoreError> {
        Err(pending("count_okta_admins"))
    }

    pub async fn insert_signin(&self, _new: &NewSignin<'_>) -> Result<String, StoreError> {
        Err(pending("insert_signin"))
    }

    pub async fn signin(&self, _id: &str) -> Result<Option<SigninRow>, StoreError> {
        Err(pending("signin"))
    }

    pub async fn live_signins(&self) -> Result<Vec<SigninRow>, StoreError> {
        Err(pending("live_signins"))
    }

    pub async fn revoke_signin(&self, _id: &str, _reason: &str) -> Result<bool, StoreError> {
        Err(pending("revoke_signin"))
    }

    pub async fn revoke_signins_of_users(
        &self,
        _directory_id: &str,
        _okta_ids: &[String],
        _reason: &str,
    ) -> Result<Vec<String>, StoreError> {
        Err(pending("revoke_signins_of_users"))
    }

    pub async fn revoke_signins_of_suspended(
        &self,
        _directory_id: &str,
        _reason: &str,
    ) -> Result<Vec<String>, StoreError> {
        Err(pending("revoke_signins_of_suspended"))
    }

    pub async fn present_groups_of_person(
        &self,
        _directory_id: &str,
        _subject: Option<&str>,
        _email: Option<&str>,
    ) -> Result<Option<Vec<String>>, StoreError> {
        Err(pending("present_groups_of_person"))
    }

    pub async fn known_group_names(
        &self,
        _directory_id: &str,
        _names: &[String],
    ) -> Result<Vec<String>, StoreError> {
        Err(pending("known_group_names"))
    }

    pub async fn prune_signins(&self) -> Result<u64, StoreError> {
        Err(pending("prune_signins"))
    }
}

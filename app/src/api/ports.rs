//! The ports through which server functions reach the core, one per
//! aggregate. The server crate implements them and provides [`Ports`] as
//! Leptos context; the app crate never sees SQL, HTTP clients or the domain.

use super::{
    ApiTokenView, AppError, AuditPageView, ConnectionCheck, DeliveryView, DirectoryCard, DirectoryDetail,
    DirectorySummary, DraftView, GroupDetail, GroupQuery, GroupsPage, InstanceName, IssuedScimTokenView,
    IssuedTokenView, NotificationSettingsView, OktaHookView, Overview, PreviewView, RunDetail, ScimView,
    SettingsForm, SigninForm, SigninSettingsView, SigninTestView, UserDetail, UserQuery, UsersPage,
    VerifyView, WebhookSecretView, WebhooksView, WizardState,
};
use std::{future::Future, pin::Pin, sync::Arc};

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// This Roster: overview, name, API tokens.
pub trait InstancePort: Send + Sync + 'static {
    fn overview(&self) -> BoxFuture<'_, Result<Overview, AppError>>;
    fn instance_name(&self) -> BoxFuture<'_, Result<String, AppError>>;
    fn rename_instance(&self, name: InstanceName) -> BoxFuture<'_, Result<(), AppError>>;
    fn api_tokens(&self) -> BoxFuture<'_, Result<Vec<ApiTokenView>, AppError>>;
    fn create_api_token(
        &self,
        name: String,
        scope: String,
    ) -> BoxFuture<'_, Result<IssuedTokenView, AppError>>;
    fn revoke_api_token(&self, token_id: String) -> BoxFuture<'_, Result<(), AppError>>;
    fn notification_settings(&self) -> BoxFuture<'_, Result<NotificationSettingsView, AppError>>;
    fn send_test_mail(&self) -> BoxFuture<'_, Result<String, AppError>>;
}

/// Active directories: cards, the directory page, Sync Now, settings, keys.
pub trait DirectoryPort: Send + Sync + 'static {
    fn directories(&self) -> BoxFuture<'_, Result<Vec<DirectorySummary>, AppError>>;
    fn directory_cards(&self) -> BoxFuture<'_, Result<Vec<DirectoryCard>, AppError>>;
    fn directory_detail(&self, directory_id: String) -> BoxFuture<'_, Result<DirectoryDetail, AppError>>;
    fn sync_now(&self, directory_id: String) -> BoxFuture<'_, Result<String, AppError>>;
    fn resolve_pending(&self, directory_id: String, apply: bool) -> BoxFuture<'_, Result<(), AppError>>;
    fn set_paused(&self, directory_id: String, paused: bool) -> BoxFuture<'_, Result<(), AppError>>;
    fn delete_directory(
        &self,
        directory_id: String,
        confirm_name: String,
    ) -> BoxFuture<'_, Result<(), AppError>>;
    fn update_settings(
        &self,
        directory_id: String,
        form: SettingsForm,
    ) -> BoxFuture<'_, Result<(), AppError>>;
    fn rotate_key(&self, directory_id: String) -> BoxFuture<'_, Result<(), AppError>>;
    fn verify_existing(&self, directory_id: String) -> BoxFuture<'_, Result<VerifyView, AppError>>;
    fn okta_hook(&self, directory_id: String) -> BoxFuture<'_, Result<OktaHookView, AppError>>;
    fn create_okta_hook(
        &self,
        directory_id: String,
        header_name: String,
    ) -> BoxFuture<'_, Result<(), AppError>>;
    fn set_log_polling(
        &self,
        directory_id: String,
        enabled: bool,
        interval_secs: Option<String>,
        reconcile_hours: Option<String>,
    ) -> BoxFuture<'_, Result<(), AppError>>;
}

/// The Add Directory wizard: drafts, connection, Verify, Preview, Create.
pub trait WizardPort: Send + Sync + 'static {
    fn start_wizard(&self) -> BoxFuture<'_, Result<WizardState, AppError>>;
    fn wizard(&self, directory_id: String) -> BoxFuture<'_, Result<WizardState, AppError>>;
    fn save_connection(
        &self,
        directory_id: String,
        okta_domain: String,
        client_id: String,
    ) -> BoxFuture<'_, Result<WizardState, AppError>>;
    fn check_connection(&self, okta_domain: String, client_id: String) -> ConnectionCheck;
    fn verify(
        &self,
        directory_id: String,
        app_id: Option<String>,
    ) -> BoxFuture<'_, Result<VerifyView, AppError>>;
    fn preview(&self, directory_id: String) -> BoxFuture<'_, Result<PreviewView, AppError>>;
    fn create_directory(
        &self,
        directory_id: String,
        name: String,
        scim: bool,
    ) -> BoxFuture<'_, Result<String, AppError>>;
    fn drafts(&self) -> BoxFuture<'_, Result<Vec<DraftView>, AppError>>;
    fn discard_draft(&self, directory_id: String) -> BoxFuture<'_, Result<(), AppError>>;
}

/// Synced records: users, groups, runs.
pub trait RecordsPort: Send + Sync + 'static {
    fn users(&self, directory_id: String, query: UserQuery) -> BoxFuture<'_, Result<UsersPage, AppError>>;
    fn groups(&self, directory_id: String, query: GroupQuery) -> BoxFuture<'_, Result<GroupsPage, AppError>>;
    fn user(&self, directory_id: String, user_id: String) -> BoxFuture<'_, Result<UserDetail, AppError>>;
    fn group(
        &self,
        directory_id: String,
        group_id: String,
        cursor: Option<String>,
    ) -> BoxFuture<'_, Result<GroupDetail, AppError>>;
    fn run(&self, directory_id: String, run_id: String) -> BoxFuture<'_, Result<RunDetail, AppError>>;
}

/// Sign-in settings (Okta OIDC) and the audit log.
pub trait AccessPort: Send + Sync + 'static {
    fn signin_settings(&self) -> BoxFuture<'_, Result<SigninSettingsView, AppError>>;
    fn start_signin_test(&self, form: SigninForm) -> BoxFuture<'_, Result<String, AppError>>;
    fn signin_test(&self, test_id: String) -> BoxFuture<'_, Result<SigninTestView, AppError>>;
    fn save_signin(
        &self,
        form: SigninForm,
        test_id: Option<String>,
        save_anyway: bool,
    ) -> BoxFuture<'_, Result<SigninSettingsView, AppError>>;
    fn remove_signin(&self) -> BoxFuture<'_, Result<(), AppError>>;
    fn audit(
        &self,
        action: String,
        actor: String,
        failed_only: bool,
        cursor: Option<String>,
    ) -> BoxFuture<'_, Result<AuditPageView, AppError>>;
}

/// SCIM push: a directory's SCIM page, and SCIM-only directories.
pub trait ScimPort: Send + Sync + 'static {
    fn scim(&self, directory_id: String) -> BoxFuture<'_, Result<ScimView, AppError>>;
    fn set_scim(&self, directory_id: String, enabled: bool) -> BoxFuture<'_, Result<(), AppError>>;
    fn create_scim_token(
        &self,
        directory_id: String,
        name: String,
    ) -> BoxFuture<'_, Result<IssuedScimTokenView, AppError>>;
    fn revoke_scim_token(
        &self,
        directory_id: String,
        token_id: String,
    ) -> BoxFuture<'_, Result<(), AppError>>;
    fn create_push_directory(&self, name: String) -> BoxFuture<'_, Result<String, AppError>>;
}

/// Settings → Webhooks.
pub trait WebhooksPort: Send + Sync + 'static {
    fn webhooks(&self) -> BoxFuture<'_, Result<WebhooksView, AppError>>;
    fn create_webhook(
        &self,
        url: String,
        description: String,
        event_types: Vec<String>,
        directory_ids: Vec<String>,
    ) -> BoxFuture<'_, Result<WebhookSecretView, AppError>>;
    fn update_webhook(
        &self,
        webhook_id: String,
        url: String,
        description: String,
        event_types: Vec<String>,
        directory_ids: Vec<String>,
    ) -> BoxFuture<'_, Result<(), AppError>>;
    fn set_webhook_enabled(&self, webhook_id: String, enabled: bool) -> BoxFuture<'_, Result<(), AppError>>;
    fn rotate_webhook_secret(
        &self,
        webhook_id: String,
        overlap_hours: i64,
    ) -> BoxFuture<'_, Result<WebhookSecretView, AppError>>;
    fn send_test_webhook(&self, webhook_id: String) -> BoxFuture<'_, Result<DeliveryView, AppError>>;
    fn replay_webhook(&self, webhook_id: String, after: String) -> BoxFuture<'_, Result<(), AppError>>;
    fn delete_webhook(&self, webhook_id: String) -> BoxFuture<'_, Result<(), AppError>>;
}

/// The ports, cheap to clone; what `provide_context` hands to every request.
#[derive(Clone)]
pub struct Ports {
    pub instance: Arc<dyn InstancePort>,
    pub directories: Arc<dyn DirectoryPort>,
    pub wizard: Arc<dyn WizardPort>,
    pub records: Arc<dyn RecordsPort>,
    pub access: Arc<dyn AccessPort>,
    pub scim: Arc<dyn ScimPort>,
    pub webhooks: Arc<dyn WebhooksPort>,
}

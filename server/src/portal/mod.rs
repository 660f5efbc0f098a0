//! The web UI's adapter: implements `app::api`'s four ports by parsing the UI's
//! strings into domain types, calling one domain function and converting the
//! result into the UI's shapes. It decides nothing.

mod access;
mod directories;
mod okta_hook;
mod records;
mod scim;
mod tokens;
mod webhooks;
mod wizard;

use crate::{
    domain::{webhooks::WebhookSettings, Core, DomainError, ErrorKind},
    model::DirectoryId,
};
use app::api::{
    AccessPort, ApiTokenView, AppError, AttentionItem, AuditPageView, BoxFuture, ConnectionCheck,
    DeliveryView, DirectoryCard, DirectoryDetail, DirectoryPort, DirectorySummary, DraftView, GroupDetail,
    GroupQuery, GroupsPage, InstanceName, InstancePort, IssuedScimTokenView, IssuedTokenView,
    NotificationSettingsView, OktaHookView, Overview, Ports, PreviewView, RecordsPort, RunDetail, ScimPort,
    ScimView, SettingsForm, SigninForm, SigninSettingsView, SigninTestView, UserDetail, UserQuery, UsersPage,
    VerifyView, WebhookSecretView, WebhooksPort, WebhooksView, WizardPort, WizardState,
};
use std::sync::Arc;

pub struct RosterPortal {
    core: Core,
}

impl RosterPortal {
    pub fn new(core: Core) -> Self {
        Self { core }
    }
}

/// The one mapping from domain errors to the UI's.
impl From<DomainError> for AppError {
    fn from(e: DomainError) -> Self {
        let message = match &e.hint {
            Some(hint) => format!("{} {hint}", e.message),
            None => e.message.clone(),
        };
        match e.kind {
            ErrorKind::NotFound => AppError::NotFound(message),
            ErrorKind::Conflict => AppError::Conflict(message),
            ErrorKind::Invalid => AppError::Invalid(message),
            ErrorKind::Forbidden => AppError::Forbidden(message),
            ErrorKind::Unauthorized => AppError::Unauthorized,
            ErrorKind::Upstream | ErrorKind::Unavailable => AppError::Upstream(message),
            ErrorKind::Internal => AppError::Internal(message),
        }
    }
}

/// Who is asking: the session guard put the actor into the request.
pub(crate) async fn actor() -> Result<crate::domain::Actor, AppError> {
    leptos_axum::extract::<axum::Extension<crate::domain::Actor>>()
        .await
        .map(|axum::Extension(actor)| actor)
        .map_err(|_| AppError::Unauthorized)
}

/// A directory id from a URL; one that cannot be an id names no directory.
pub(crate) fn directory_id(raw: &str) -> Result<DirectoryId, AppError> {
    DirectoryId::parse(raw).map_err(|_| AppError::NotFound("The directory was not found.".into()))
}

impl InstancePort for RosterPortal {
    fn overview(&self) -> BoxFuture<'_, Result<Overview, AppError>> {
        Box::pin(async move {
            let o = self.core.instance.overview().await?;
            Ok(Overview {
                version: o.version,
                database_kind: o.database_kind,
                database_location: o.database_location,
                schema_version: o.schema_version,
                directories: o.directories,
                admins: o.admins,
                started_at: o.started_at,
                attention: attention(&self.core).await?,
            })
        })
    }

    fn instance_name(&self) -> BoxFuture<'_, Result<String, AppError>> {
        Box::pin(async move { Ok(self.core.instance.name().await?) })
    }

    fn rename_instance(&self, name: InstanceName) -> BoxFuture<'_, Result<(), AppError>> {
        Box::pin(async move {
            self.core.instance.rename(&actor().await?, name.as_str()).await?;
            Ok(())
        })
    }

    fn api_tokens(&self) -> BoxFuture<'_, Result<Vec<ApiTokenView>, AppError>> {
        Box::pin(tokens::list(&self.core))
    }

    fn create_api_token(
        &self,
        name: String,
        scope: String,
    ) -> BoxFuture<'_, Result<IssuedTokenView, AppError>> {
        Box::pin(tokens::create(&self.core, name, scope))
    }

    fn revoke_api_token(&self, token_id: String) -> BoxFuture<'_, Result<(), AppError>> {
        Box::pin(tokens::revoke(&self.core, token_id))
    }

    fn notification_settings(&self) -> BoxFuture<'_, Result<NotificationSettingsView, AppError>> {
        Box::pin(async move {
            let status = self.core.notifications.status().await?;
            Ok(NotificationSettingsView {
                email_enabled: status.email_enabled,
                smtp_server: status.smtp_server,
                recipients: status.recipients,
            })
        })
    }

    fn send_test_mail(&self) -> BoxFuture<'_, Result<String, AppError>> {
        Box::pin(async move { Ok(self.core.notifications.send_test(&actor().await?).await?) })
    }
}

/// The overview's "needs attention" list.
async fn attention(core: &Core) -> Result<Vec<AttentionItem>, AppError> {
    let status = core.notifications.status().await?;
    Ok(status
        .problems
        .into_iter()
        .map(|p| AttentionItem {
            mailed: match (&p.mail_error, p.mails_sent, &p.last_mailed_at) {
                (Some(error), _, _) => format!("the last mail failed: {error}"),
                (None, 0, _) if !status.email_enabled => "not mailed: e-mail is not configured".into(),
                (None, 0, _) => "not mailed yet".into(),
                (None, n, last) => format!(
                    "mailed {n} time{}, last {}",
                    if n == 1 { "" } else { "s" },
                    last.as_deref()
                        .map(crate::domain::clock::relative)
                        .unwrap_or_default()
                ),
            },
            title: p.title,
            action: p.action,
            link: p.link,
        })
        .collect())
}

impl DirectoryPort for RosterPortal {
    fn directories(&self) -> BoxFuture<'_, Result<Vec<DirectorySummary>, AppError>> {
        Box::pin(async move {
            Ok(self
                .core
                .directories
                .list()
                .await?
                .into_iter()
                .map(|d| DirectorySummary {
                    id: d.id.to_string(),
                    name: d.name,
                    provider: "okta".into(),
                    created_at: d.created_at,
                })
                .collect())
        })
    }

    fn directory_cards(&self) -> BoxFuture<'_, Result<Vec<DirectoryCard>, AppError>> {
        Box::pin(directories::cards(&self.core))
    }

    fn directory_detail(&self, directory_id: String) -> BoxFuture<'_, Result<DirectoryDetail, AppError>> {
        Box::pin(directories::detail(&self.core, directory_id))
    }

    fn sync_now(&self, directory_id: String) -> BoxFuture<'_, Result<String, AppError>> {
        Box::pin(directories::sync_now(&self.core, directory_id))
    }

    fn resolve_pending(&self, directory_id: String, apply: bool) -> BoxFuture<'_, Result<(), AppError>> {
        Box::pin(directories::resolve_pending(&self.core, directory_id, apply))
    }

    fn set_paused(&self, directory_id: String, paused: bool) -> BoxFuture<'_, Result<(), AppError>> {
        Box::pin(directories::set_paused(&self.core, directory_id, paused))
    }

    fn delete_directory(
        &self,
        directory_id: String,
        confirm_name: String,
    ) -> BoxFuture<'_, Result<(), AppError>> {
        Box::pin(directories::delete(&self.core, directory_id, confirm_name))
    }

    fn update_settings(
        &self,
        directory_id: String,
        form: SettingsForm,
    ) -> BoxFuture<'_, Result<(), AppError>> {
        Box::pin(directories::update_settings(&self.core, directory_id, form))
    }

    fn rotate_key(&self, directory_id: String) -> BoxFuture<'_, Result<(), AppError>> {
        Box::pin(directories::rotate_key(&self.core, directory_id))
    }

    fn verify_existing(&self, directory_id: String) -> BoxFuture<'_, Result<VerifyView, AppError>> {
        Box::pin(directories::verify_existing(&self.core, directory_id))
    }

    fn okta_hook(&self, directory_id: String) -> BoxFuture<'_, Result<OktaHookView, AppError>> {
        Box::pin(okta_hook::view(&self.core, directory_id))
    }

    fn create_okta_hook(
        &self,
        directory_id: String,
        header_name: String,
    ) -> BoxFuture<'_, Result<(), AppError>> {
        Box::pin(okta_hook::create(&self.core, directory_id, header_name))
    }

    fn set_log_polling(
        &self,
        directory_id: String,
        enabled: bool,
        interval_secs: Option<String>,
        reconcile_hours: Option<String>,
    ) -> BoxFuture<'_, Result<(), AppError>> {
        Box::pin(okta_hook::set_polling(
            &self.core,
            directory_id,
            enabled,
            interval_secs,
            reconcile_hours,
        ))
    }
}

impl WizardPort for RosterPortal {
    fn start_wizard(&self) -> BoxFuture<'_, Result<WizardState, AppError>> {
        Box::pin(wizard::start(&self.core))
    }

    fn wizard(&self, directory_id: String) -> BoxFuture<'_, Result<WizardState, AppError>> {
        Box::pin(wizard::state(&self.core, directory_id))
    }

    fn save_connection(
        &self,
        directory_id: String,
        okta_domain: String,
        client_id: String,
    ) -> BoxFuture<'_, Result<WizardState, AppError>> {
        Box::pin(wizard::save_connection(
            &self.core,
            directory_id,
            okta_domain,
            client_id,
        ))
    }

    fn check_connection(&self, okta_domain: String, client_id: String) -> ConnectionCheck {
        let (okta_domain, client_id) = self.core.directories.check_connection(&okta_domain, &client_id);
        ConnectionCheck {
            okta_domain,
            client_id,
        }
    }

    fn verify(
        &self,
        directory_id: String,
        app_id: Option<String>,
    ) -> BoxFuture<'_, Result<VerifyView, AppError>> {
        Box::pin(wizard::verify(&self.core, directory_id, app_id))
    }

    fn preview(&self, directory_id: String) -> BoxFuture<'_, Result<PreviewView, AppError>> {
        Box::pin(wizard::preview(&self.core, directory_id))
    }

    fn create_directory(
        &self,
        directory_id: String,
        name: String,
        scim: bool,
    ) -> BoxFuture<'_, Result<String, AppError>> {
        Box::pin(wizard::create(&self.core, directory_id, name, scim))
    }

    fn drafts(&self) -> BoxFuture<'_, Result<Vec<DraftView>, AppError>> {
        Box::pin(wizard::drafts(&self.core))
    }

    fn discard_draft(&self, directory_id: String) -> BoxFuture<'_, Result<(), AppError>> {
        Box::pin(wizard::discard(&self.core, directory_id))
    }
}

impl RecordsPort for RosterPortal {
    fn users(&self, directory_id: String, query: UserQuery) -> BoxFuture<'_, Result<UsersPage, AppError>> {
        Box::pin(records::users(&self.core, directory_id, query))
    }

    fn groups(&self, directory_id: String, query: GroupQuery) -> BoxFuture<'_, Result<GroupsPage, AppError>> {
        Box::pin(records::groups(&self.core, directory_id, query))
    }

    fn user(&self, directory_id: String, user_id: String) -> BoxFuture<'_, Result<UserDetail, AppError>> {
        Box::pin(records::user(&self.core, directory_id, user_id))
    }

    fn group(
        &self,
        directory_id: String,
        group_id: String,
        cursor: Option<String>,
    ) -> BoxFuture<'_, Result<GroupDetail, AppError>> {
        Box::pin(records::group(&self.core, directory_id, group_id, cursor))
    }

    fn run(&self, directory_id: String, run_id: String) -> BoxFuture<'_, Result<RunDetail, AppError>> {
        Box::pin(records::run(&self.core, directory_id, run_id))
    }
}

impl ScimPort for RosterPortal {
    fn scim(&self, directory_id: String) -> BoxFuture<'_, Result<ScimView, AppError>> {
        Box::pin(scim::view(&self.core, directory_id))
    }

    fn set_scim(&self, directory_id: String, enabled: bool) -> BoxFuture<'_, Result<(), AppError>> {
        Box::pin(scim::set(&self.core, directory_id, enabled))
    }

    fn create_scim_token(
        &self,
        directory_id: String,
        name: String,
    ) -> BoxFuture<'_, Result<IssuedScimTokenView, AppError>> {
        Box::pin(scim::create_token(&self.core, directory_id, name))
    }

    fn revoke_scim_token(
        &self,
        directory_id: String,
        token_id: String,
    ) -> BoxFuture<'_, Result<(), AppError>> {
        Box::pin(scim::revoke_token(&self.core, directory_id, token_id))
    }

    fn create_push_directory(&self, name: String) -> BoxFuture<'_, Result<String, AppError>> {
        Box::pin(scim::create_directory(&self.core, name))
    }
}

/// The ports over one core, as the UI's server functions receive them.
impl WebhooksPort for RosterPortal {
    fn webhooks(&self) -> BoxFuture<'_, Result<WebhooksView, AppError>> {
        Box::pin(webhooks::page(&self.core))
    }

    fn create_webhook(
        &self,
        url: String,
        description: String,
        event_types: Vec<String>,
        directory_ids: Vec<String>,
    ) -> BoxFuture<'_, Result<WebhookSecretView, AppError>> {
        Box::pin(webhooks::create(
            &self.core,
            url,
            description,
            event_types,
            directory_ids,
        ))
    }

    fn update_webhook(
        &self,
        webhook_id: String,
        url: String,
        description: String,
        event_types: Vec<String>,
        directory_ids: Vec<String>,
    ) -> BoxFuture<'_, Result<(), AppError>> {
        Box::pin(webhooks::update(
            &self.core,
            webhook_id,
            WebhookSettings {
                url,
                description,
                event_types,
                directory_ids,
            },
        ))
    }

    fn set_webhook_enabled(&self, webhook_id: String, enabled: bool) -> BoxFuture<'_, Result<(), AppError>> {
        Box::pin(webhooks::set_enabled(&self.core, webhook_id, enabled))
    }

    fn rotate_webhook_secret(
        &self,
        webhook_id: String,
        overlap_hours: i64,
    ) -> BoxFuture<'_, Result<WebhookSecretView, AppError>> {
        Box::pin(webhooks::rotate(&self.core, webhook_id, overlap_hours))
    }

    fn send_test_webhook(&self, webhook_id: String) -> BoxFuture<'_, Result<DeliveryView, AppError>> {
        Box::pin(webhooks::test(&self.core, webhook_id))
    }

    fn replay_webhook(&self, webhook_id: String, after: String) -> BoxFuture<'_, Result<(), AppError>> {
        Box::pin(webhooks::replay(&self.core, webhook_id, after))
    }

    fn delete_webhook(&self, webhook_id: String) -> BoxFuture<'_, Result<(), AppError>> {
        Box::pin(webhooks::delete(&self.core, webhook_id))
    }
}

pub fn ports(core: Core) -> Ports {
    let adapter = Arc::new(RosterPortal::new(core));
    Ports {
        instance: adapter.clone(),
        directories: adapter.clone(),
        wizard: adapter.clone(),
        records: adapter.clone(),
        access: adapter.clone(),
        scim: adapter.clone(),
        webhooks: adapter,
    }
}

impl AccessPort for RosterPortal {
    fn signin_settings(&self) -> BoxFuture<'_, Result<SigninSettingsView, AppError>> {
        Box::pin(access::settings(&self.core))
    }

    fn start_signin_test(&self, form: SigninForm) -> BoxFuture<'_, Result<String, AppError>> {
        Box::pin(access::start_test(&self.core, form))
    }

    fn signin_test(&self, test_id: String) -> BoxFuture<'_, Result<SigninTestView, AppError>> {
        Box::pin(access::test(&self.core, test_id))
    }

    fn save_signin(
        &self,
        form: SigninForm,
        test_id: Option<String>,
        save_anyway: bool,
    ) -> BoxFuture<'_, Result<SigninSettingsView, AppError>> {
        Box::pin(access::save(&self.core, form, test_id, save_anyway))
    }

    fn remove_signin(&self) -> BoxFuture<'_, Result<(), AppError>> {
        Box::pin(access::remove(&self.core))
    }

    fn audit(
        &self,
        action: String,
        actor: String,
        failed_only: bool,
        cursor: Option<String>,
    ) -> BoxFuture<'_, Result<AuditPageView, AppError>> {
        Box::pin(access::audit(&self.core, action, actor, failed_only, cursor))
    }
}

//! The server's implementation of the UI contract (`app::api::Portal`).
//! Thin: it calls the store and domain modules and maps their errors.

mod directories;
mod records;

use crate::{state::AppState, store::StoreError};
use app::api::{
    AppError, BoxFuture, ConnectionCheck, DirectoryCard, DirectoryDetail, DirectorySummary, DraftView,
    GroupDetail, GroupQuery, GroupsPage, InstanceName, Overview, Portal, PreviewView, RunDetail,
    SettingsForm, UserDetail, UserQuery, UsersPage, VerifyView, WizardState,
};

pub struct RosterPortal {
    state: AppState,
}

impl RosterPortal {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "store operation failed");
        AppError::Internal("database".into())
    }
}

fn internal(e: StoreError) -> AppError {
    e.into()
}

impl Portal for RosterPortal {
    fn overview(&self) -> BoxFuture<'_, Result<Overview, AppError>> {
        Box::pin(async move {
            let store = &self.state.store;
            let schema = store.schema_status().await.map_err(internal)?;
            Ok(Overview {
                version: env!("CARGO_PKG_VERSION").to_owned(),
                database_kind: self.state.config.database.kind().to_owned(),
                database_location: self.state.config.database.location(),
                schema_version: schema.applied,
                directories: store.count_directories().await.map_err(internal)?,
                admins: store.count_admins().await.map_err(internal)?,
                started_at: human_time(self.state.started_at),
            })
        })
    }

    fn instance_name(&self) -> BoxFuture<'_, Result<String, AppError>> {
        Box::pin(async move { self.state.store.instance_name().await.map_err(internal) })
    }

    fn rename_instance(&self, name: InstanceName) -> BoxFuture<'_, Result<(), AppError>> {
        Box::pin(async move {
            self.state
                .store
                .set_instance_name(name.as_str())
                .await
                .map_err(internal)?;
            tracing::info!(name = name.as_str(), "instance renamed");
            Ok(())
        })
    }

    fn directories(&self) -> BoxFuture<'_, Result<Vec<DirectorySummary>, AppError>> {
        Box::pin(async move {
            let rows = self.state.store.list_directories().await.map_err(internal)?;
            Ok(rows
                .into_iter()
                .map(|d| DirectorySummary {
                    id: d.id,
                    name: d.name,
                    provider: d.provider,
                    created_at: d.created_at,
                })
                .collect())
        })
    }

    fn directory_cards(&self) -> BoxFuture<'_, Result<Vec<DirectoryCard>, AppError>> {
        Box::pin(directories::cards(&self.state))
    }

    fn sync_now(&self, directory_id: String) -> BoxFuture<'_, Result<String, AppError>> {
        Box::pin(directories::sync_now(&self.state, directory_id))
    }

    fn resolve_pending(&self, directory_id: String, apply: bool) -> BoxFuture<'_, Result<(), AppError>> {
        Box::pin(directories::resolve_pending(&self.state, directory_id, apply))
    }

    fn set_paused(&self, directory_id: String, paused: bool) -> BoxFuture<'_, Result<(), AppError>> {
        Box::pin(directories::set_paused(&self.state, directory_id, paused))
    }

    fn delete_directory(
        &self,
        directory_id: String,
        confirm_name: String,
    ) -> BoxFuture<'_, Result<(), AppError>> {
        Box::pin(directories::delete(&self.state, directory_id, confirm_name))
    }

    fn start_wizard(&self) -> BoxFuture<'_, Result<WizardState, AppError>> {
        Box::pin(directories::start_wizard(&self.state))
    }

    fn wizard(&self, directory_id: String) -> BoxFuture<'_, Result<WizardState, AppError>> {
        Box::pin(directories::wizard(&self.state, directory_id))
    }

    fn save_connection(
        &self,
        directory_id: String,
        okta_domain: String,
        client_id: String,
    ) -> BoxFuture<'_, Result<WizardState, AppError>> {
        Box::pin(directories::save_connection(
            &self.state,
            directory_id,
            okta_domain,
            client_id,
        ))
    }

    fn groups(&self, directory_id: String, query: GroupQuery) -> BoxFuture<'_, Result<GroupsPage, AppError>> {
        Box::pin(records::groups(&self.state, directory_id, query))
    }

    fn user(&self, directory_id: String, user_id: String) -> BoxFuture<'_, Result<UserDetail, AppError>> {
        Box::pin(records::user(&self.state, directory_id, user_id))
    }

    fn group(
        &self,
        directory_id: String,
        group_id: String,
        cursor: Option<String>,
    ) -> BoxFuture<'_, Result<GroupDetail, AppError>> {
        Box::pin(records::group(&self.state, directory_id, group_id, cursor))
    }

    fn run(&self, directory_id: String, run_id: String) -> BoxFuture<'_, Result<RunDetail, AppError>> {
        Box::pin(records::run(&self.state, directory_id, run_id))
    }

    fn update_settings(
        &self,
        directory_id: String,
        form: SettingsForm,
    ) -> BoxFuture<'_, Result<(), AppError>> {
        Box::pin(directories::update_settings(&self.state, directory_id, form))
    }

    fn rotate_key(&self, directory_id: String) -> BoxFuture<'_, Result<(), AppError>> {
        Box::pin(directories::rotate_key(&self.state, directory_id))
    }

    fn verify_existing(&self, directory_id: String) -> BoxFuture<'_, Result<VerifyView, AppError>> {
        Box::pin(directories::verify_existing(&self.state, directory_id))
    }

    fn check_connection(&self, okta_domain: String, client_id: String) -> ConnectionCheck {
        let (okta_domain, client_id) = self.state.directories.check_connection(&okta_domain, &client_id);
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
        Box::pin(directories::verify(&self.state, directory_id, app_id))
    }

    fn create_directory(
        &self,
        directory_id: String,
        name: String,
    ) -> BoxFuture<'_, Result<String, AppError>> {
        Box::pin(directories::create(&self.state, directory_id, name))
    }

    fn preview(&self, directory_id: String) -> BoxFuture<'_, Result<PreviewView, AppError>> {
        Box::pin(directories::preview(&self.state, directory_id))
    }

    fn drafts(&self) -> BoxFuture<'_, Result<Vec<DraftView>, AppError>> {
        Box::pin(directories::drafts(&self.state))
    }

    fn discard_draft(&self, directory_id: String) -> BoxFuture<'_, Result<(), AppError>> {
        Box::pin(directories::discard_draft(&self.state, directory_id))
    }

    fn directory_detail(&self, directory_id: String) -> BoxFuture<'_, Result<DirectoryDetail, AppError>> {
        Box::pin(directories::detail(&self.state, directory_id))
    }

    fn users(&self, directory_id: String, query: UserQuery) -> BoxFuture<'_, Result<UsersPage, AppError>> {
        Box::pin(directories::users(&self.state, directory_id, query))
    }
}

/// `2026-11-22 19:59 UTC`: what an admin reads at a glance.
fn human_time(at: time::OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!("{} {:02}:{:02} UTC", at.date(), at.hour(), at.minute())
}

//! The server's implementation of the UI contract (`app::api::Portal`).
//! Thin: it calls the store and domain modules and maps their errors.

use crate::{state::AppState, store::StoreError};
use app::api::{AppError, BoxFuture, DirectorySummary, InstanceName, Overview, Portal};

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
}

/// `2026-11-22 19:59 UTC`: what an admin reads at a glance.
fn human_time(at: time::OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!("{} {:02}:{:02} UTC", at.date(), at.hour(), at.minute())
}

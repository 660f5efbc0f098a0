//! The port through which server functions reach the domain. The server crate
//! implements it and provides a [`PortalHandle`] as Leptos context; the app
//! crate never sees SQL or HTTP clients.

use super::{AppError, DirectorySummary, InstanceName, Overview};
use std::{future::Future, pin::Pin, sync::Arc};

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

pub trait Portal: Send + Sync + 'static {
    fn overview(&self) -> BoxFuture<'_, Result<Overview, AppError>>;
    fn instance_name(&self) -> BoxFuture<'_, Result<String, AppError>>;
    fn rename_instance(&self, name: InstanceName) -> BoxFuture<'_, Result<(), AppError>>;
    fn directories(&self) -> BoxFuture<'_, Result<Vec<DirectorySummary>, AppError>>;
}

/// Cheap to clone; what `provide_context` hands to every request.
#[derive(Clone)]
pub struct PortalHandle(pub Arc<dyn Portal>);

impl std::ops::Deref for PortalHandle {
    type Target = dyn Portal;

    fn deref(&self) -> &Self::Target {
        self.0.as_ref()
    }
}

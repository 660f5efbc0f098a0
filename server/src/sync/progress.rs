//! Live progress of a running sync, readable by the UI while the run goes.

use serde::Serialize;
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Progress {
    pub run_id: String,
    pub phase: String,
    pub pages: u64,
    pub users: u64,
    pub groups: u64,
    pub groups_skipped: u64,
}

#[derive(Debug, Clone, Default)]
pub struct ProgressHandle(Arc<Mutex<Progress>>);

impl ProgressHandle {
    pub fn new(run_id: &str) -> Self {
        Self(Arc::new(Mutex::new(Progress {
            run_id: run_id.to_owned(),
            phase: "starting".into(),
            ..Progress::default()
        })))
    }

    fn update(&self, f: impl FnOnce(&mut Progress)) {
        if let Ok(mut p) = self.0.lock() {
            f(&mut p);
        }
    }

    pub(crate) fn lock(&self) -> std::sync::LockResult<std::sync::MutexGuard<'_, Progress>> {
        self.0.lock()
    }

    pub fn snapshot(&self) -> Progress {
        self.0.lock().map(|p| p.clone()).unwrap_or_default()
    }

    pub fn set_phase(&self, phase: &str) {
        self.update(|p| phase.clone_into(&mut p.phase));
    }

    pub fn add_page(&self) {
        self.update(|p| p.pages += 1);
    }

    pub fn add_users(&self, n: u64) {
        self.update(|p| p.users += n);
    }

    pub fn add_groups(&self, n: u64) {
        self.update(|p| p.groups += n);
    }

    pub fn set_groups_skipped(&self, n: u64) {
        self.update(|p| p.groups_skipped = n);
    }
}

//! The one rule that names a directory's status.

use super::DirectoryStatus;
use crate::store::Directory;

/// Syncing beats everything (the card shows progress); held changes need an
/// admin next; an admin's pause is a choice, any other pause is an error.
pub fn directory_status(
    d: &Directory,
    syncing: bool,
    pending_review: bool,
    last_run_failed: bool,
) -> DirectoryStatus {
    let admin_paused = d.paused && d.paused_reason.as_ref().is_some_and(|r| r.is_admin());
    if syncing {
        DirectoryStatus::Syncing
    } else if pending_review {
        DirectoryStatus::NeedsConfirmation
    } else if admin_paused {
        DirectoryStatus::Paused
    } else if last_run_failed || d.paused {
        DirectoryStatus::Error
    } else if d.last_success_at.is_none() {
        DirectoryStatus::NeverSynced
    } else {
        DirectoryStatus::Healthy
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{DirectoryState, PauseReason};

    fn directory() -> Directory {
        Directory {
            id: "d".into(),
            name: "Acme".into(),
            provider: "okta".into(),
            state: DirectoryState::Active,
            okta_origin: "https://acme.okta.com".into(),
            client_id: "0oa1".into(),
            app_id: None,
            app_label: None,
            sync_interval_secs: 3600,
            rate_limit_share: 0.5,
            breaker_threshold: 0.2,
            paused: false,
            paused_reason: None,
            dpop_required: None,
            verified_fingerprint: None,
            next_sync_at: None,
            last_success_at: Some("2026-11-29T10:00:00Z".into()),
            failing_since: None,
            created_at: "2026-11-29T09:00:00Z".into(),
            pull_enabled: true,
            scim_enabled: false,
        }
    }

    #[test]
    fn status_follows_the_precedence() {
        let d = directory();
        assert_eq!(
            directory_status(&d, false, false, false),
            DirectoryStatus::Healthy
        );
        assert_eq!(directory_status(&d, true, true, true), DirectoryStatus::Syncing);
        assert_eq!(
            directory_status(&d, false, true, true),
            DirectoryStatus::NeedsConfirmation
        );
        assert_eq!(directory_status(&d, false, false, true), DirectoryStatus::Error);
        let never = Directory {
            last_success_at: None,
            ..directory()
        };
        assert_eq!(
            directory_status(&never, false, false, false),
            DirectoryStatus::NeverSynced
        );
    }

    #[test]
    fn an_admin_pause_is_paused_and_an_error_pause_is_an_error() {
        let admin = Directory {
            paused: true,
            paused_reason: Some(PauseReason::Admin),
            ..directory()
        };
        assert_eq!(
            directory_status(&admin, false, false, true),
            DirectoryStatus::Paused
        );
        let error = Directory {
            paused: true,
            paused_reason: Some(PauseReason::Error("invalid_client".into())),
            ..directory()
        };
        assert_eq!(
            directory_status(&error, false, false, false),
            DirectoryStatus::Error
        );
    }
}

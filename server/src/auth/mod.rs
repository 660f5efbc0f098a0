//! Who may use the portal: the first-run setup link, admin sessions, and the
//! guard that keeps every non-public route behind a session.

mod guard;
mod setup;

pub use guard::require_session;
pub use setup::{print_recovery_link, print_setup_link, setup_handler, signout_handler};

/// Session key holding the signed-in admin's id.
pub(crate) const SESSION_ADMIN_ID: &str = "admin_id";

//! Who may use the portal: Sign in with Okta (OIDC), the one-time setup and
//! recovery links, sessions backed by revocable sign-ins, and the guard that
//! keeps every non-public route behind one.

mod guard;
mod limits;
mod oidc;
mod setup;

pub use guard::require_session;
pub use limits::AttemptLimiter;
pub use oidc::{callback_handler, login_handler, signout_handler, test_handler};
pub use setup::{print_recovery_link, print_setup_link, setup_confirm_handler, setup_handler};

/// Session key holding the id of the sign-in behind the session.
pub(crate) const SESSION_SIGNIN_ID: &str = "signin_id";
/// Session key of a flow in progress at Okta (state, nonce, PKCE verifier).
pub(crate) const SESSION_PENDING: &str = "oidc_pending";
/// The ID token and the issuer's end-session endpoint, for RP-initiated logout.
pub(crate) const SESSION_ID_TOKEN: &str = "oidc_id_token";
pub(crate) const SESSION_END_SESSION: &str = "oidc_end_session";

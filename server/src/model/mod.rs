//! The vocabulary every layer shares: typed ids and the state machines. A
//! leaf module: it imports nothing of the domain, the store or the adapters,
//! so the store can speak it without depending on the domain above it.

mod events;
mod ids;
mod states;

pub use events::EventType;
pub use ids::{DirectoryId, InvalidId, OktaAppId, OktaGroupId, OktaUserId, RunId, TokenId, WebhookId};
pub use states::{
    DirectoryState, KeyPurpose, KeyState, LogPollState, PauseReason, Role, RunMode, RunStatus, SignInMethod,
    TokenScope, Trigger,
};

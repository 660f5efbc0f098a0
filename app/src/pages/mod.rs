mod api_tokens;
mod directory_detail;
mod directory_records;
mod directory_sync;
mod overview;
mod settings;
mod signin;
mod welcome;
mod wizard;

pub use api_tokens::ApiTokens;
pub use directory_detail::DirectoryPage;
pub use directory_records::{DirectoryGroupPage, DirectoryUserPage, SyncRunPage};
pub use directory_sync::DirectorySync;
pub use overview::OverviewPage;
pub use settings::GeneralSettings;
pub use signin::SignIn;
pub use welcome::Welcome;
pub use wizard::{DirectoryWizard, NewDirectory};

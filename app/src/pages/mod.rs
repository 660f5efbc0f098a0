mod directory_sync;
mod overview;
mod settings;
mod signin;
mod welcome;

pub use directory_sync::DirectorySync;
pub use overview::OverviewPage;
pub use settings::GeneralSettings;
pub use signin::SignIn;
pub use welcome::Welcome;

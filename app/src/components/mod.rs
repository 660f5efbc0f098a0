mod copy;
mod error_page;
mod layout;
mod notice;

pub use copy::CopyButton;
pub use error_page::ErrorPage;
pub use layout::AppLayout;
pub use notice::ErrorNotice;

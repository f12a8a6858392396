//! The account page (`/account`): what a signed-in user sees of their own account.

use askama::Template;

use super::{Chrome, FieldErrors};

/// An app the user allowed, as the page shows it.
pub struct AppLine {
    pub client_id: String,
    pub client_name: String,
    /// What it may do, in words.
    pub scopes: Vec<String>,
    pub granted: String,
    pub last_used: String,
    /// It holds a refresh token (access while the user is away).
    pub offline: bool,
}

/// A live session, as its user sees it.
pub struct SessionLine {
    pub started: String,
    pub last_seen: String,
    pub expires: String,
    /// The session of this browser.
    pub current: bool,
}

#[derive(Template)]
#[template(path = "account/index.html")]
pub struct AccountPage {
    pub chrome: Chrome,
    pub username: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub roles: Vec<String>,
    pub groups: Vec<String>,
    pub apps: Vec<AppLine>,
    pub sessions: Vec<SessionLine>,
    /// Errors of the change-password form.
    pub errors: FieldErrors,
}

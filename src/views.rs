//! The askama templates, one struct per page (`templates/`). Values are escaped by
//! askama. The flow's pages (login, consent, logout) carry no script; the account
//! and admin pages load `static/portcullis.js` (copy buttons) and nothing inline.

pub mod account;
pub mod admin;

use askama::Template;

/// The login page of a pending authorization request.
#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage<'a> {
    /// The issuer's path (`/auth`, or empty): links and form actions live under it.
    pub base: &'a str,
    /// The client asking, in an authorization request; `None` for a sign-in to the
    /// server's own pages.
    pub client_name: Option<&'a str>,
    /// The pending authorization request (empty outside one).
    pub request_id: &'a str,
    /// Where a sign-in to the server's own pages returns (`None` in a request).
    pub next: Option<&'a str>,
    pub csrf_token: &'a str,
    /// What was typed, kept after a failed attempt (never the password).
    pub username: &'a str,
    pub error: Option<&'a str>,
}

/// Asks the user to confirm a logout that came without a valid `id_token_hint`
/// (RP-Initiated Logout §2). The request's parameters ride along, checked again on
/// submit.
#[derive(Template)]
#[template(path = "logout.html")]
pub struct LogoutPage<'a> {
    /// The issuer's path (`/auth`, or empty): links and form actions live under it.
    pub base: &'a str,
    pub username: &'a str,
    pub client_name: Option<&'a str>,
    pub csrf_token: &'a str,
    pub client_id: &'a str,
    pub post_logout_redirect_uri: &'a str,
    pub state: &'a str,
}

/// The end of a logout with nowhere (registered) to go back to.
#[derive(Template)]
#[template(path = "signed_out.html")]
pub struct SignedOutPage<'a> {
    /// The issuer's path (`/auth`, or empty): links and form actions live under it.
    pub base: &'a str,
    pub client_name: Option<&'a str>,
}

/// One requested scope as the user reads it.
pub struct ScopeLine {
    pub name: String,
    pub description: String,
}

/// The consent page of a pending authorization request.
#[derive(Template)]
#[template(path = "consent.html")]
pub struct ConsentPage<'a> {
    /// The issuer's path (`/auth`, or empty): links and form actions live under it.
    pub base: &'a str,
    pub client_name: &'a str,
    pub username: &'a str,
    pub scopes: Vec<ScopeLine>,
    pub request_id: &'a str,
    pub csrf_token: &'a str,
    /// Where the user goes next, so nobody is surprised.
    pub redirect_host: &'a str,
}

/// An error the user must read: no redirect can be trusted.
#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage<'a> {
    /// The issuer's path (`/auth`, or empty): links and form actions live under it.
    pub base: &'a str,
    pub title: &'a str,
    pub message: &'a str,
}

/// What a scope lets the client do, in words.
pub fn describe_scope(scope: &str) -> String {
    match scope {
        "openid" => "Sign you in with your account".to_owned(),
        "profile" => "See your name and username".to_owned(),
        "email" => "See your email address".to_owned(),
        "offline_access" => "Keep access while you are away (refresh tokens)".to_owned(),
        "roles" => "See your roles and groups".to_owned(),
        other => format!("Use the “{other}” permission"),
    }
}

/// The frame of the account and admin pages: who is signed in, the navigation, the
/// sign-out form, and a notice after a change.
pub struct Chrome {
    /// The issuer's path (`/auth`, or empty).
    pub base: String,
    /// `None`: nobody is signed in.
    pub username: Option<String>,
    pub is_admin: bool,
    /// The session's CSRF token for every form of the page.
    pub csrf_token: String,
    /// The navigation entry to mark as current.
    pub section: &'static str,
    pub notice: Option<&'static str>,
}

/// The notice after a change (`?done=…`): a fixed text per known code, so a link
/// cannot make the page say anything else.
pub fn notice(done: Option<&str>) -> Option<&'static str> {
    Some(match done? {
        "client-updated" => "The client was saved.",
        "client-disabled" => "The client is disabled: it cannot sign anyone in or get tokens, and its refresh tokens were revoked.",
        "client-enabled" => "The client is enabled again.",
        "client-deleted" => "The client was deleted.",
        "user-created" => "The user was created.",
        "user-updated" => "The user was saved.",
        "password-set" => "The password was set.",
        "user-disabled" => "The user is disabled: their sessions ended and their refresh tokens were revoked.",
        "user-enabled" => "The user is enabled again.",
        "user-unlocked" => "The sign-in locks were lifted.",
        "user-deleted" => "The user was deleted.",
        "sessions-ended" => "The sessions were ended: those browsers must sign in again.",
        "session-ended" => "The session was ended: that browser must sign in again.",
        "consent-revoked" => "Access was revoked: the app's refresh tokens no longer work.",
        "key-rotated" => "A new key was made; it signs once it has been published long enough.",
        "key-revoked" => "The key was revoked and removed from the JWKS.",
        "app-revoked" => "Access was revoked: the app must ask you again.",
        "others-signed-out" => "Every other session was signed out.",
        "password-changed" => "Your password was changed.",
        _ => return None,
    })
}

/// A time for people: `2026-12-01 21:52 UTC`.
pub fn when(unix_seconds: i64) -> String {
    let Ok(seconds) = u64::try_from(unix_seconds) else {
        return "—".to_owned();
    };
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(seconds);
    let text = humantime::format_rfc3339_seconds(at).to_string();
    // `2026-12-01T21:52:13Z` → `2026-12-01 21:52 UTC`
    match (text.get(..10), text.get(11..16)) {
        (Some(day), Some(time)) => format!("{day} {time} UTC"),
        _ => text,
    }
}

/// A form's errors, each next to its field (`id="error-FIELD"`).
#[derive(Default)]
pub struct FieldErrors {
    errors: Vec<(&'static str, String)>,
    /// An error that belongs to no one field.
    pub general: Option<String>,
}

impl FieldErrors {
    pub fn none() -> FieldErrors {
        FieldErrors::default()
    }

    /// The error of `field`, or the general one.
    pub fn of(field: &'static str, message: impl Into<String>) -> FieldErrors {
        FieldErrors {
            errors: vec![(field, message.into())],
            general: None,
        }
    }

    /// An error not tied to a field.
    pub fn general(message: impl Into<String>) -> FieldErrors {
        FieldErrors {
            errors: Vec::new(),
            general: Some(message.into()),
        }
    }

    /// The error shown next to `field`.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty() && self.general.is_none()
    }
}

/// The home page at the issuer's root.
#[derive(Template)]
#[template(path = "home.html")]
pub struct HomePage {
    pub chrome: Chrome,
    pub issuer: String,
}

/// The first-run setup form.
#[derive(Template)]
#[template(path = "setup.html")]
pub struct SetupPage {
    pub chrome: Chrome,
    pub token: String,
    pub csrf_token: String,
    pub username: String,
    pub errors: FieldErrors,
}

//! The askama templates, one struct per page (`templates/`). Values are escaped by
//! askama; no page carries script.

use askama::Template;

/// The login page of a pending authorization request.
#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage<'a> {
    /// The issuer's path (`/auth`, or empty): links and form actions live under it.
    pub base: &'a str,
    pub client_name: &'a str,
    pub request_id: &'a str,
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

//! HTML answers: rendered templates with the page security headers (DESIGN.md §5).

use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE, PRAGMA};
use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use askama::Template;

use crate::views::ErrorPage;

/// No script, no framing, no foreign resources. `form-action` is left out on
/// purpose: browsers apply it to the redirect that follows a form, and the consent
/// and login forms end in a redirect to the client.
const CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'";

/// `page` rendered with `status`, never cached.
pub fn render<T: Template>(status: StatusCode, page: &T) -> HttpResponse {
    match page.render() {
        Ok(html) => HttpResponse::build(status)
            .insert_header((CONTENT_TYPE, "text/html; charset=utf-8"))
            .insert_header((CACHE_CONTROL, "no-store"))
            .insert_header((PRAGMA, "no-cache"))
            .insert_header(("Content-Security-Policy", CONTENT_SECURITY_POLICY))
            .body(html),
        Err(e) => {
            tracing::error!(error = %e, "cannot render a page");
            HttpResponse::InternalServerError().body("The page could not be rendered.")
        }
    }
}

/// An error page: the user reads what went wrong; nothing redirects. Its
/// stylesheet link is relative (`./static/…`): every page that can fail lives one
/// segment under the issuer's path (`/authorize`, `/login`, `/consent`, `/logout`).
pub fn error(status: StatusCode, title: &str, message: &str) -> HttpResponse {
    render(
        status,
        &ErrorPage {
            base: ".",
            title,
            message,
        },
    )
}

/// The page for a failure of the server itself (details go to the log).
pub fn server_error(detail: &dyn std::fmt::Display) -> HttpResponse {
    tracing::error!(%detail, "request failed");
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "The server could not complete your request. Please try again.",
    )
}

/// Why a page cannot be shown as asked. Handlers return it with `?`; its
/// [`ResponseError`](actix_web::ResponseError) impl is the one mapping to an error
/// page (nothing redirects).
#[derive(Debug)]
pub enum PageError {
    /// 400: the user reads what went wrong.
    BadRequest {
        title: &'static str,
        message: String,
    },
    /// 403: a form that failed its CSRF check.
    Forbidden,
    /// 500: details go to the log only.
    Server(String),
    /// 503 with `Retry-After`: the database is away.
    Unavailable(String),
}

impl PageError {
    /// A 400 page with `title` and `message`.
    pub fn bad_request(title: &'static str, message: impl Into<String>) -> PageError {
        PageError::BadRequest {
            title,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for PageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PageError::BadRequest { title, .. } => f.write_str(title),
            PageError::Forbidden => f.write_str("forbidden form"),
            PageError::Server(detail) | PageError::Unavailable(detail) => f.write_str(detail),
        }
    }
}

impl From<crate::store::StoreError> for PageError {
    fn from(e: crate::store::StoreError) -> Self {
        if e.is_unavailable() {
            PageError::Unavailable(e.to_string())
        } else {
            PageError::Server(e.to_string())
        }
    }
}

impl From<crate::crypto::RandomError> for PageError {
    fn from(e: crate::crypto::RandomError) -> Self {
        PageError::Server(e.to_string())
    }
}

impl From<actix_web::error::HttpError> for PageError {
    fn from(e: actix_web::error::HttpError) -> Self {
        PageError::Server(e.to_string())
    }
}

impl actix_web::ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self {
            PageError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            PageError::Forbidden => StatusCode::FORBIDDEN,
            PageError::Server(_) => StatusCode::INTERNAL_SERVER_ERROR,
            PageError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            PageError::BadRequest { title, message } => error(self.status_code(), title, message),
            PageError::Forbidden => error(
                StatusCode::FORBIDDEN,
                "The form could not be accepted",
                "The form was not sent from this page or has expired. Go back, reload the page and try again.",
            ),
            PageError::Server(detail) => server_error(detail),
            PageError::Unavailable(detail) => {
                tracing::warn!(%detail, "database unavailable");
                super::oauth_response::unavailable(error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Please try again in a moment",
                    "The server cannot reach its database right now. Nothing was lost: go back and try again in a moment.",
                ))
            }
        }
    }
}

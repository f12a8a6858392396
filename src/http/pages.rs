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

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

/// The account, admin and setup pages: the same, plus scripts from `static/` only
/// (the copy buttons); never inline script.
const APP_CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; style-src 'self'; img-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'";

/// `page` rendered with `status`, never cached.
pub fn render<T: Template>(status: StatusCode, page: &T) -> HttpResponse {
    render_with(status, page, CONTENT_SECURITY_POLICY)
}

/// `page` of the account or admin UI (which may load `static/portcullis.js`).
pub fn render_app<T: Template>(status: StatusCode, page: &T) -> HttpResponse {
    render_with(status, page, APP_CONTENT_SECURITY_POLICY)
}

fn render_with<T: Template>(status: StatusCode, page: &T, policy: &'static str) -> HttpResponse {
    match page.render() {
        Ok(html) => HttpResponse::build(status)
            .insert_header((CONTENT_TYPE, "text/html; charset=utf-8"))
            .insert_header((CACHE_CONTROL, "no-store"))
            .insert_header((PRAGMA, "no-cache"))
            .insert_header(("Content-Security-Policy", policy))
            .body(html),
        Err(e) => {
            tracing::error!(error = %e, "cannot render a page");
            HttpResponse::InternalServerError().body("The page could not be rendered.")
        }
    }
}

/// An error page: the user reads what went wrong; nothing redirects. Rendered
/// here without the issuer's path (errors are made where no request is at hand);
/// [`with_base_path`] renders it again with the path, so its links work at any depth.
pub fn error(status: StatusCode, title: &str, message: &str) -> HttpResponse {
    let mut response = render(
        status,
        &ErrorPage {
            base: "",
            title,
            message,
        },
    );
    response.extensions_mut().insert(ErrorText {
        title: title.to_owned(),
        message: message.to_owned(),
    });
    response
}

/// What an error page says, kept with its response for [`with_base_path`].
struct ErrorText {
    title: String,
    message: String,
}

/// Middleware: an error page answered under an issuer with a path (`/auth`) is
/// rendered again with that path in its links.
pub async fn with_base_path(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody + 'static>,
) -> Result<actix_web::dev::ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    let base = req
        .app_data::<actix_web::web::Data<super::AppState>>()
        .map(|state| state.base_path.clone())
        .unwrap_or_default();
    let response = next.call(req).await?.map_into_boxed_body();
    if base.is_empty() {
        return Ok(response);
    }
    let text = response
        .response()
        .extensions()
        .get::<ErrorText>()
        .map(|t| (t.title.clone(), t.message.clone()));
    let Some((title, message)) = text else {
        return Ok(response);
    };
    Ok(response.map_body(|head, _| {
        let again = render(
            head.status,
            &ErrorPage {
                base: &base,
                title: &title,
                message: &message,
            },
        );
        let (again_head, body) = again.into_parts();
        for (name, value) in again_head.headers() {
            head.headers.insert(name.clone(), value.clone());
        }
        body
    }))
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
    /// 303 to the login page (its location): the page needs a signed-in user.
    SignInFirst(String),
    /// 403: the page is for admins.
    AdminsOnly,
    /// 404: what the page is about does not exist.
    NotFound(String),
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
            PageError::SignInFirst(_) => f.write_str("sign in first"),
            PageError::AdminsOnly => f.write_str("admins only"),
            PageError::NotFound(what) => f.write_str(what),
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

/// An admin operation's failure (invalid input is shown next to its field by the
/// caller; here it becomes a 400 page).
impl From<crate::service::AdminError> for PageError {
    fn from(e: crate::service::AdminError) -> Self {
        use crate::service::AdminError;
        match e {
            AdminError::NotFound(what) => PageError::NotFound(what),
            AdminError::Invalid(message)
            | AdminError::Conflict(message)
            | AdminError::InvalidField { message, .. } => {
                PageError::bad_request("This cannot be done", message)
            }
            AdminError::Store(e) => e.into(),
            other => PageError::Server(other.to_string()),
        }
    }
}

impl From<crate::keys::KeyError> for PageError {
    fn from(e: crate::keys::KeyError) -> Self {
        use crate::keys::KeyError;
        match e {
            KeyError::UnknownKid(_) => PageError::NotFound(e.to_string()),
            KeyError::AlreadyRevoked(_) | KeyError::AlgNotConfigured(_) => {
                PageError::bad_request("This cannot be done", e.to_string())
            }
            KeyError::Store(e) => e.into(),
            other => PageError::Server(other.to_string()),
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
            PageError::Forbidden | PageError::AdminsOnly => StatusCode::FORBIDDEN,
            PageError::SignInFirst(_) => StatusCode::SEE_OTHER,
            PageError::NotFound(_) => StatusCode::NOT_FOUND,
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
            PageError::SignInFirst(location) => super::flow::see_other(location),
            PageError::AdminsOnly => error(
                StatusCode::FORBIDDEN,
                "Admins only",
                "This page is for administrators. Your account can use its own page at /account; sign in as an administrator to see this one.",
            ),
            PageError::NotFound(what) => error(StatusCode::NOT_FOUND, "Not found", what),
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

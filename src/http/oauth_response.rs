//! JSON answers of the token, revocation and introspection endpoints, and the one
//! place an [`OAuthError`] becomes an HTTP response (RFC 6749 §5.2).

use actix_web::http::header::{CACHE_CONTROL, PRAGMA, WWW_AUTHENTICATE};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, HttpResponseBuilder};
use serde::Serialize;

use crate::protocol::error::OAuthError;
use crate::service::OAuthFailure;

/// The one mapping of an operation's failure to an OAuth error response: the
/// spec's error as it is, a server failure logged and answered `server_error`
/// with no detail.
pub fn failure(failure: OAuthFailure) -> HttpResponse {
    match failure {
        OAuthFailure::Refused(e) => error_response(&e),
        OAuthFailure::Unavailable(detail) => {
            tracing::warn!(%detail, "database unavailable");
            unavailable(error_response(&OAuthError::TemporarilyUnavailable(
                "the server cannot reach its database; retry shortly",
            )))
        }
        OAuthFailure::Internal(detail) => {
            tracing::error!(%detail, "request failed");
            error_response(&OAuthError::ServerError(
                "the server could not complete the request",
            ))
        }
    }
}

/// Adds `Retry-After: 1` (RFC 9110 §10.2.3) to a 503.
pub fn unavailable(mut response: HttpResponse) -> HttpResponse {
    response.headers_mut().insert(
        actix_web::http::header::RETRY_AFTER,
        actix_web::http::header::HeaderValue::from_static("1"),
    );
    response
}

/// RFC 6749 §5.1: token answers are never cached.
fn no_store(mut builder: HttpResponseBuilder) -> HttpResponseBuilder {
    builder
        .insert_header((CACHE_CONTROL, "no-store"))
        .insert_header((PRAGMA, "no-cache"));
    builder
}

/// `200` with `body` as JSON, not cacheable.
pub fn json<T: Serialize>(body: &T) -> HttpResponse {
    no_store(HttpResponse::Ok()).json(body)
}

/// `200` with `body` as JSON, or the failure's error response.
pub fn answer<T: Serialize>(result: Result<T, OAuthFailure>) -> HttpResponse {
    match result {
        Ok(body) => json(&body),
        Err(e) => failure(e),
    }
}

/// `200` with no body, not cacheable (RFC 7009 §2.2), or the failure's error response.
pub fn empty(result: Result<(), OAuthFailure>) -> HttpResponse {
    match result {
        Ok(()) => no_store(HttpResponse::Ok()).finish(),
        Err(e) => failure(e),
    }
}

/// 429 for a client over its rate limit, in the shape of RFC 6749 §5.2 with the
/// closest code the specs have (`temporarily_unavailable`, §4.1.2.1); the caller
/// adds `Retry-After`.
pub fn too_many_requests() -> HttpResponse {
    let mut response = error_response(&OAuthError::TemporarilyUnavailable(
        "too many requests; retry after the Retry-After delay",
    ));
    *response.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    response
}

/// RFC 6749 §5.2: `{"error", "error_description"}`, 400 — or 401 with
/// `WWW-Authenticate` for `invalid_client` (RFC 9110 §11.6.1 requires the header
/// with a 401), 500 for `server_error`.
pub fn error_response(error: &OAuthError) -> HttpResponse {
    #[derive(Serialize)]
    struct Body<'a> {
        error: &'a str,
        error_description: &'a str,
    }
    let status = match error {
        OAuthError::InvalidClient(_) => StatusCode::UNAUTHORIZED,
        OAuthError::ServerError(_) => StatusCode::INTERNAL_SERVER_ERROR,
        OAuthError::TemporarilyUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_REQUEST,
    };
    let mut builder = no_store(HttpResponse::build(status));
    if status == StatusCode::UNAUTHORIZED {
        builder.insert_header((
            WWW_AUTHENTICATE,
            "Basic realm=\"portcullis\", charset=\"UTF-8\"",
        ));
    }
    builder.json(Body {
        error: error.code(),
        error_description: error.description(),
    })
}

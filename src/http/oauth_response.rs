//! JSON answers of the token, revocation and introspection endpoints, and the one
//! place an [`OAuthError`] becomes an HTTP response (RFC 6749 §5.2).

use actix_web::http::header::{CACHE_CONTROL, PRAGMA, WWW_AUTHENTICATE};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, HttpResponseBuilder};
use serde::Serialize;

use crate::keys::KeyError;
use crate::protocol::error::OAuthError;
use crate::store::StoreError;

/// Why an endpoint could not answer as asked.
#[derive(Debug)]
pub enum EndpointError {
    /// The request broke a rule: answered in the spec's words.
    OAuth(OAuthError),
    /// The server failed: logged, answered with `server_error` and no detail.
    Internal(String),
}

impl From<OAuthError> for EndpointError {
    fn from(e: OAuthError) -> Self {
        EndpointError::OAuth(e)
    }
}

impl From<StoreError> for EndpointError {
    fn from(e: StoreError) -> Self {
        EndpointError::Internal(e.to_string())
    }
}

impl From<KeyError> for EndpointError {
    fn from(e: KeyError) -> Self {
        EndpointError::Internal(e.to_string())
    }
}

impl EndpointError {
    pub fn respond(self) -> HttpResponse {
        match self {
            EndpointError::OAuth(e) => error_response(&e),
            EndpointError::Internal(detail) => {
                tracing::error!(%detail, "request failed");
                error_response(&OAuthError::ServerError(
                    "the server could not complete the request".into(),
                ))
            }
        }
    }
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

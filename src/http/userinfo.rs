//! The UserInfo endpoint (OIDC Core §5.3): the claims of the access token's scopes
//! about its user. A bearer resource (RFC 6750), readable cross-origin by browser
//! apps: no cookies are involved, so any origin may call it with a token.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, HttpResponseBuilder};
use serde::Serialize;

use super::{form, oauth_response, AppState};
use crate::protocol::bearer::{self, BearerError};
use crate::protocol::params::Params;
use crate::service::userinfo::{self, UserInfoFailure};

pub const USERINFO_PATH: &str = "/userinfo";

pub fn configure(cfg: &mut web::ServiceConfig, state: &AppState) {
    cfg.service(
        web::resource(USERINFO_PATH)
            .wrap(state.rate_limits.userinfo())
            .route(web::get().to(userinfo_get))
            .route(web::post().to(userinfo_post))
            .route(web::method(actix_web::http::Method::OPTIONS).to(preflight)),
    );
}

async fn userinfo_get(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    answer(&state, &req, None).await
}

/// OIDC Core §5.3.1: POST too, with the token in the header or (RFC 6750 §2.2) the
/// form body.
async fn userinfo_post(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: form::FormBody,
) -> HttpResponse {
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form || body.is_empty() {
        return answer(&state, &req, None).await;
    }
    match form::params(&req, &body) {
        Ok(params) => answer(&state, &req, Some(params)).await,
        Err(e) => bearer_error(&BearerError::InvalidRequest(e.description().to_owned())),
    }
}

async fn answer(state: &AppState, req: &HttpRequest, body: Option<Params>) -> HttpResponse {
    let header = req
        .headers()
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or("\u{0}"));
    let query = Params::from_urlencoded(req.query_string().as_bytes()).unwrap_or_default();
    let token = match bearer::presented_token(
        header,
        body.as_ref().and_then(|b| b.get("access_token")),
        query.get("access_token").is_some(),
    ) {
        Ok(token) => token,
        Err(e) => return bearer_error(&e),
    };
    match userinfo::claims(&state.services, token, state.clock.now()).await {
        Ok(info) => with_cors(HttpResponse::Ok())
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(info),
        Err(UserInfoFailure::Refused(e)) => bearer_error(&e),
        Err(UserInfoFailure::Internal(e)) if e.is_unavailable() => {
            tracing::warn!(detail = %e, "userinfo: database unavailable");
            oauth_response::unavailable(
                with_cors(HttpResponse::ServiceUnavailable())
                    .insert_header((header::CACHE_CONTROL, "no-store"))
                    .json(serde_json::json!({ "error": "temporarily_unavailable" })),
            )
        }
        Err(UserInfoFailure::Internal(e)) => {
            tracing::error!(detail = %e, "userinfo failed");
            with_cors(HttpResponse::InternalServerError())
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .json(serde_json::json!({ "error": "server_error" }))
        }
    }
}

/// RFC 6750 §3: the error in `WWW-Authenticate` (and, for clients that read bodies,
/// as JSON too).
fn bearer_error(error: &BearerError) -> HttpResponse {
    #[derive(Serialize)]
    struct Body<'a> {
        error: &'a str,
        error_description: &'a str,
    }
    let status = match error {
        BearerError::Missing | BearerError::InvalidToken(_) => StatusCode::UNAUTHORIZED,
        BearerError::InvalidRequest(_) => StatusCode::BAD_REQUEST,
    };
    let mut response = with_cors(HttpResponse::build(status));
    response
        .insert_header((header::WWW_AUTHENTICATE, bearer::challenge(error)))
        .insert_header((header::CACHE_CONTROL, "no-store"));
    match error.code() {
        Some(code) => response.json(Body {
            error: code,
            error_description: error.description(),
        }),
        None => response.finish(),
    }
}

fn with_cors(mut builder: HttpResponseBuilder) -> HttpResponseBuilder {
    builder
        .insert_header((
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        ))
        .insert_header((header::ACCESS_CONTROL_EXPOSE_HEADERS, "WWW-Authenticate"));
    builder
}

/// CORS preflight: GET and POST with an `Authorization` header, from any origin.
async fn preflight() -> HttpResponse {
    with_cors(HttpResponse::NoContent())
        .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, "GET, POST, OPTIONS"))
        .insert_header((
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            "Authorization, Content-Type",
        ))
        .insert_header((header::ACCESS_CONTROL_MAX_AGE, "86400"))
        .finish()
}

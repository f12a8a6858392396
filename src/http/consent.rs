//! The consent page (DESIGN.md §5): the client's name, each requested scope in
//! words, Allow and Deny. The decision is bound to the pending request, which lives
//! server-side; Allow is remembered per (user, client).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::flow::{self, SignedIn};
use super::{pages, AppState};
use crate::protocol::error::OAuthError;
use crate::protocol::params::Params;
use crate::protocol::scope::Scope;
use crate::store::authorization_requests::PendingRequestRow;
use crate::views::{describe_scope, ConsentPage, ScopeLine};

pub const CONSENT_PATH: &str = "/consent";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource(CONSENT_PATH)
            .route(web::get().to(consent_page))
            .route(web::post().to(consent_decision)),
    );
}

async fn consent_page(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let params = Params::from_urlencoded(req.query_string().as_bytes()).unwrap_or_default();
    let pending = match flow::pending(&state, &req, params.get("request")).await {
        Ok(p) => p,
        Err(page) => return page,
    };
    let (pending, signed_in) = match signed_in_for(&state, &req, pending).await {
        Ok(pair) => pair,
        Err(response) => return response,
    };
    match flow::must_ask_consent(&state, &pending, &signed_in).await {
        Ok(Ok(true)) => {}
        Ok(Ok(false)) => return flow::answer_with_code(&state, pending, &signed_in, false).await,
        Ok(Err(e)) => return flow::answer_with_error(&state, pending, e).await,
        Err(e) => return pages::server_error(&e),
    }
    let requested = match Scope::parse(&pending.scope) {
        Ok(s) => s,
        Err(e) => return pages::server_error(&e),
    };
    let client_name = match flow::client_name(&state, &pending.client_id).await {
        Ok(n) => n,
        Err(page) => return page,
    };
    let redirect_host = url::Url::parse(&pending.redirect_uri)
        .ok()
        .and_then(|u| {
            u.host_str()
                .map(str::to_owned)
                .or_else(|| Some(u.scheme().to_owned()))
        })
        .unwrap_or_default();
    pages::render(
        StatusCode::OK,
        &ConsentPage {
            client_name: &client_name,
            username: &signed_in.user.username,
            scopes: requested
                .iter()
                .map(|s| ScopeLine {
                    name: s.to_owned(),
                    description: describe_scope(s),
                })
                .collect(),
            request_id: &pending.id,
            csrf_token: &pending.csrf_token,
            redirect_host: &redirect_host,
        },
    )
}

/// The user answering `pending`, once the session satisfies the request
/// (`prompt=login`, `max_age`, `id_token_hint`); otherwise the login page or the
/// error for the client.
async fn signed_in_for(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    pending: PendingRequestRow,
) -> Result<(PendingRequestRow, SignedIn), HttpResponse> {
    let signed_in = flow::signed_in(state, req)
        .await
        .map_err(|e| pages::server_error(&e))?;
    flow::authenticated(state, pending, signed_in).await
}

async fn consent_decision(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let (params, pending) = match flow::submitted_form(&state, &req, &body).await {
        Ok(submitted) => submitted,
        Err(page) => return page,
    };
    let (pending, signed_in) = match signed_in_for(&state, &req, pending).await {
        Ok(pair) => pair,
        Err(response) => return response,
    };
    match params.get("decision") {
        Some("allow") => flow::answer_with_code(&state, pending, &signed_in, true).await,
        // RFC 6749 §4.1.2.1: the resource owner denied the request.
        Some("deny") => {
            flow::answer_with_error(
                &state,
                pending,
                OAuthError::AccessDenied("the user denied the request".into()),
            )
            .await
        }
        _ => pages::error(
            StatusCode::BAD_REQUEST,
            "The form could not be read",
            "Choose Allow or Deny.",
        ),
    }
}

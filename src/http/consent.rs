//! The consent page (DESIGN.md §5): the client's name, each requested scope in
//! words, Allow and Deny. The decision is bound to the pending request, which lives
//! server-side; Allow is remembered per (user, client).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::flow::{self, see_other};
use super::{pages, AppState};
use crate::protocol::error::OAuthError;
use crate::protocol::params::Params;
use crate::protocol::scope::Scope;
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
    let signed_in = match flow::signed_in(&state, &req).await {
        Ok(Some(s)) => s,
        Ok(None) => return see_other(&format!("/login?request={}", pending.id)),
        Err(e) => return pages::server_error(&e),
    };
    match flow::needs_consent(&state, &pending, &signed_in).await {
        Ok(true) => {}
        Ok(false) => return flow::answer_with_code(&state, pending, &signed_in, false).await,
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

async fn consent_decision(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let (params, pending) = match flow::submitted_form(&state, &req, &body).await {
        Ok(submitted) => submitted,
        Err(page) => return page,
    };
    let signed_in = match flow::signed_in(&state, &req).await {
        Ok(Some(s)) => s,
        Ok(None) => return see_other(&format!("/login?request={}", pending.id)),
        Err(e) => return pages::server_error(&e),
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

//! The token endpoint (RFC 6749 §3.2): the form, client authentication, then the
//! grant's operation in [`service::tokens`](crate::service::tokens). Readable by
//! the browser app of a public client ([`cors`]).

use actix_web::{web, HttpRequest, HttpResponse};

use super::{client_auth, cors, form, oauth_response, AppState};
use crate::service::tokens;

pub const TOKEN_PATH: &str = "/token";

pub fn configure(cfg: &mut web::ServiceConfig, state: &AppState) {
    cfg.service(
        web::resource(TOKEN_PATH)
            .wrap(state.rate_limits.token())
            .route(web::post().to(token))
            .route(web::method(actix_web::http::Method::OPTIONS).to(cors::preflight)),
    );
}

async fn token(state: web::Data<AppState>, req: HttpRequest, body: form::FormBody) -> HttpResponse {
    let client = match client_auth::authenticated_form(&state, &req, &body).await {
        Ok(client) => client,
        Err(e) => return oauth_response::failure(e),
    };
    let (params, client) = client;
    let result = tokens::exchange(&state.services, &client, &params, state.clock.now()).await;
    if result.is_ok() {
        if let Some(grant) = params.get("grant_type").and_then(|g| g.parse().ok()) {
            state.metrics.token_issued(grant);
        }
    }
    let mut response = oauth_response::answer(result);
    cors::allow_client(&req, &client, &mut response);
    response
}

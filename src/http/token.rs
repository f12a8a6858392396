//! The token endpoint (RFC 6749 §3.2): the form, client authentication, then the
//! grant's operation in [`service::tokens`](crate::service::tokens).

use actix_web::{web, HttpRequest, HttpResponse};

use super::{client_auth, form, oauth_response, AppState};
use crate::protocol::tokens::TokenResponse;
use crate::service::{tokens, OAuthFailure};

pub const TOKEN_PATH: &str = "/token";

pub fn configure(cfg: &mut web::ServiceConfig, state: &AppState) {
    cfg.service(
        web::resource(TOKEN_PATH)
            .wrap(state.rate_limits.token())
            .route(web::post().to(token)),
    );
}

async fn token(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    oauth_response::answer(exchange(&state, &req, &body).await)
}

async fn exchange(
    state: &AppState,
    req: &HttpRequest,
    body: &[u8],
) -> Result<TokenResponse, OAuthFailure> {
    let params = form::params(req, body)?;
    let client = client_auth::authenticate(state, req, &params).await?;
    tokens::exchange(&state.services, &client, &params, state.clock.now()).await
}

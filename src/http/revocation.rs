//! Token revocation (RFC 7009): the client authenticates and may revoke only its
//! own tokens ([`service::introspection::revoke`]). Unknown, foreign and
//! already-revoked tokens also get 200 (§2.2).

use actix_web::{web, HttpRequest, HttpResponse};

use super::{client_auth, form, oauth_response, AppState};
use crate::service::{introspection, OAuthFailure};

pub const REVOCATION_PATH: &str = "/revoke";

pub fn configure(cfg: &mut web::ServiceConfig, state: &AppState) {
    cfg.service(
        web::resource(REVOCATION_PATH)
            .wrap(state.rate_limits.introspection())
            .route(web::post().to(revoke)),
    );
}

async fn revoke(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    oauth_response::empty(revoke_token(&state, &req, &body).await)
}

async fn revoke_token(
    state: &AppState,
    req: &HttpRequest,
    body: &[u8],
) -> Result<(), OAuthFailure> {
    let params = form::params(req, body)?;
    let client = client_auth::authenticate(state, req, &params).await?;
    let token = params.require("token")?;
    introspection::revoke(&state.services, &client, token, state.clock.now()).await
}

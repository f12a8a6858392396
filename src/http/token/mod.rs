//! The token endpoint (RFC 6749 §3.2): client authentication, then one module per
//! grant type.

mod authorization_code;
mod client_credentials;
pub mod issue;
mod refresh_token;

use actix_web::{web, HttpRequest, HttpResponse};

use super::client_auth;
use super::oauth_response::{self, EndpointError};
use super::{form, AppState};
use crate::protocol::client_metadata::GrantType;
use crate::protocol::grants;
use crate::protocol::tokens::TokenResponse;

pub const TOKEN_PATH: &str = "/token";

pub fn configure(cfg: &mut web::ServiceConfig, state: &AppState) {
    cfg.service(
        web::resource(TOKEN_PATH)
            .wrap(state.rate_limits.token())
            .route(web::post().to(token)),
    );
}

async fn token(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    match exchange(&state, &req, &body).await {
        Ok(response) => oauth_response::json(&response),
        Err(e) => e.respond(),
    }
}

async fn exchange(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    body: &[u8],
) -> Result<TokenResponse, EndpointError> {
    let params = form::params(req, body)?;
    let client = client_auth::authenticate(state, req, &params).await?;
    match grants::grant_type(&params, &client.metadata.grant_types)? {
        GrantType::AuthorizationCode => authorization_code::exchange(state, &client, &params).await,
        GrantType::ClientCredentials => client_credentials::exchange(state, &client, &params).await,
        GrantType::RefreshToken => refresh_token::exchange(state, &client, &params).await,
    }
}

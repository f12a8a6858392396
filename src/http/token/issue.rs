//! Signing access tokens (RFC 9068) and shaping the token response.

use actix_web::web;

use super::super::oauth_response::EndpointError;
use super::super::AppState;
use crate::crypto::random;
use crate::keys::KeyAlg;
use crate::protocol::tokens::{
    AccessGrant, AccessTokenClaims, Issuance, TokenResponse, ACCESS_TOKEN_TYP,
};
use crate::store::clients::ClientRow;

/// A token id for `jti` (RFC 7519 §4.1.7): a random UUID.
pub fn new_jti() -> Result<String, EndpointError> {
    random::uuid_v4().map_err(|e| EndpointError::Internal(e.to_string()))
}

/// The client's own access-token algorithm, or the server's.
pub fn access_token_alg(state: &AppState, client: &ClientRow) -> KeyAlg {
    client
        .access_token_signing_alg
        .as_deref()
        .and_then(|a| a.parse().ok())
        .unwrap_or(state.config.oauth.access_token_alg)
}

/// What a grant decided to issue: the access token's facts, and a refresh token.
pub struct Granted {
    pub grant: AccessGrant,
    pub jti: String,
    pub issued_at: i64,
    pub expires_at: i64,
    pub refresh_token: Option<String>,
}

/// Signs the access token and builds the RFC 6749 §5.1 answer.
pub fn respond(
    state: &web::Data<AppState>,
    client: &ClientRow,
    granted: &Granted,
) -> Result<TokenResponse, EndpointError> {
    let claims = AccessTokenClaims::new(
        &granted.grant,
        Issuance {
            issuer: &state.config.issuer,
            audience: &state.config.oauth.access_token_audience,
            jti: &granted.jti,
            issued_at: granted.issued_at,
            expires_at: granted.expires_at,
        },
    );
    let token = state
        .keys
        .sign(access_token_alg(state, client), ACCESS_TOKEN_TYP, &claims)?;
    Ok(TokenResponse::new(
        token,
        &claims,
        state.clock.now(),
        granted.refresh_token.clone(),
    ))
}

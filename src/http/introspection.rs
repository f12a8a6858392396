//! Token introspection (RFC 7662). The client authenticates and learns about its
//! own tokens only; for anything else the answer is `{"active": false}` (§2.2).
//! Active means: signature (or stored hash), expiry, not revoked, and the client
//! and user still enabled (and, for refresh tokens, consent still given).

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;

use super::known_token::{self, KnownToken};
use super::oauth_response::{self, EndpointError};
use super::{client_auth, form, AppState};
use crate::protocol::error::OAuthError;
use crate::protocol::scope::Scope;
use crate::store::{refresh_tokens, revoked_access_tokens, users, StoreError};

pub const INTROSPECTION_PATH: &str = "/introspect";

pub fn configure(cfg: &mut web::ServiceConfig, state: &AppState) {
    cfg.service(
        web::resource(INTROSPECTION_PATH)
            .wrap(state.rate_limits.token())
            .route(web::post().to(introspect)),
    );
}

/// RFC 7662 §2.2.
#[derive(Serialize, Default)]
struct Introspection {
    active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    iat: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sub: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    aud: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    iss: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    jti: Option<String>,
}

async fn introspect(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    match introspection(&state, &req, &body).await {
        Ok(answer) => oauth_response::json(&answer),
        Err(e) => e.respond(),
    }
}

async fn introspection(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    body: &[u8],
) -> Result<Introspection, EndpointError> {
    let params = form::params(req, body)?;
    let client = client_auth::authenticate(state, req, &params).await?;
    if client.metadata.is_public {
        return Err(OAuthError::InvalidClient(
            "introspection needs a confidential client (client_secret_basic or client_secret_post)"
                .into(),
        )
        .into());
    }
    let Some(token) = known_token::identify(state, params.require("token")?).await? else {
        return Ok(Introspection::default());
    };
    if token.client_id() != client.row.id {
        return Ok(Introspection::default());
    }
    let now = state.clock.now();
    let issuer = state.config.issuer.clone();
    Ok(state
        .store
        .run(move |conn| match token {
            KnownToken::Access(claims) => {
                if now >= claims.exp || revoked_access_tokens::is_revoked(conn, &claims.jti)? {
                    return Ok(Introspection::default());
                }
                // A client_credentials token has the client as subject.
                let username = if claims.sub == claims.client_id {
                    None
                } else {
                    match users::find(conn, &claims.sub)? {
                        Some(u) if !u.disabled => Some(u.username),
                        _ => return Ok(Introspection::default()),
                    }
                };
                Ok(Introspection {
                    active: true,
                    scope: Some(claims.scope),
                    client_id: Some(claims.client_id),
                    username,
                    token_type: Some("Bearer"),
                    exp: Some(claims.exp),
                    iat: Some(claims.iat),
                    sub: Some(claims.sub),
                    aud: Some(claims.aud),
                    iss: Some(claims.iss),
                    jti: Some(claims.jti),
                })
            }
            KnownToken::Refresh { token, family } => {
                let live = family.revoked_at.is_none()
                    && token.rotated_at.is_none()
                    && now < token.idle_expires_at
                    && now < family.absolute_expires_at;
                let scope =
                    Scope::parse(&family.scope).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                if !live || !refresh_tokens::grant_still_holds(conn, &family, &scope)? {
                    return Ok(Introspection::default());
                }
                let username = users::find(conn, &family.user_id)?.map(|u| u.username);
                Ok(Introspection {
                    active: true,
                    scope: Some(token.scope),
                    client_id: Some(family.client_id),
                    username,
                    exp: Some(token.idle_expires_at.min(family.absolute_expires_at)),
                    iat: Some(token.created_at),
                    sub: Some(family.user_id),
                    iss: Some(issuer),
                    ..Introspection::default()
                })
            }
        })
        .await?)
}

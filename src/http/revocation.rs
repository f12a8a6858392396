//! Token revocation (RFC 7009). The client authenticates; it may revoke only its
//! own tokens. Revoking a refresh token revokes its family and the access tokens
//! issued with it (RFC 7009 §2.1); revoking an access token lists its `jti` until
//! it expires. Unknown, foreign and already-revoked tokens also get 200 (§2.2).

use actix_web::http::header::{CACHE_CONTROL, PRAGMA};
use actix_web::{web, HttpRequest, HttpResponse};

use super::known_token::{self, KnownToken};
use super::oauth_response::EndpointError;
use super::{client_auth, form, AppState};
use crate::store::audit::{self, AuditEvent};
use crate::store::{refresh_tokens, revoked_access_tokens};

pub const REVOCATION_PATH: &str = "/revoke";

pub fn configure(cfg: &mut web::ServiceConfig, state: &AppState) {
    cfg.service(
        web::resource(REVOCATION_PATH)
            .wrap(state.rate_limits.token())
            .route(web::post().to(revoke)),
    );
}

async fn revoke(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    match revoke_token(&state, &req, &body).await {
        Ok(()) => HttpResponse::Ok()
            .insert_header((CACHE_CONTROL, "no-store"))
            .insert_header((PRAGMA, "no-cache"))
            .finish(),
        Err(e) => e.respond(),
    }
}

async fn revoke_token(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    body: &[u8],
) -> Result<(), EndpointError> {
    let params = form::params(req, body)?;
    let client = client_auth::authenticate(state, req, &params).await?;
    // `token_type_hint` is only a hint (RFC 7009 §2.1): both kinds are looked up.
    let Some(token) = known_token::identify(state, params.require("token")?).await? else {
        return Ok(());
    };
    if token.client_id() != client.row.id {
        return Ok(());
    }
    let now = state.clock.now();
    let client_id = client.row.id.clone();
    state
        .store
        .run(move |conn| {
            conn.transaction(|conn| {
                let (user_id, detail) = match &token {
                    KnownToken::Refresh { family, .. } => {
                        refresh_tokens::revoke_family(
                            conn,
                            &family.id,
                            "revoked by the client",
                            now,
                        )?;
                        (
                            Some(family.user_id.clone()),
                            serde_json::json!({ "refresh_token_family": family.id }),
                        )
                    }
                    KnownToken::Access(claims) => {
                        revoked_access_tokens::revoke(conn, &claims.jti, claims.exp, now)?;
                        let user = (claims.sub != claims.client_id).then(|| claims.sub.clone());
                        (user, serde_json::json!({ "jti": claims.jti }))
                    }
                };
                let event = AuditEvent {
                    kind: "token_revoked",
                    actor: Some(&client_id),
                    user_id: user_id.as_deref(),
                    client_id: Some(&client_id),
                    ip: None,
                    detail,
                };
                audit::record(conn, &event, now)
            })
        })
        .await?;
    Ok(())
}

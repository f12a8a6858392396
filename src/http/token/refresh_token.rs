//! `grant_type=refresh_token` (RFC 6749 §6) with rotation and reuse detection
//! (RFC 9700 §4.14.2); the decision is [`refresh_token::decide`].
//!
//! The successor is derived from the presented token ([`SuccessorDeriver`]), so a
//! retry inside the grace window is answered with the same refresh token and an
//! access token with the same claims (`jti`, `iat`, `exp`) — though only hashes are
//! stored. The rotation itself is one conditional update: of parallel requests with
//! one token, one rotates and the others are retries of it.
//!
//! [`SuccessorDeriver`]: crate::crypto::derived_token::SuccessorDeriver

use actix_web::web;

use super::authorization_code::parse_amr;
use super::issue::{self, Granted};
use crate::clock::seconds;
use crate::crypto::token_hash;
use crate::http::client_auth::AuthenticatedClient;
use crate::http::oauth_response::EndpointError;
use crate::http::AppState;
use crate::protocol::error::OAuthError;
use crate::protocol::grants::refresh_token::{self, RefreshDecision, RefreshTokenState};
use crate::protocol::id_token::Authenticated;
use crate::protocol::params::Params;
use crate::protocol::scope::Scope;
use crate::protocol::tokens::{AccessGrant, TokenResponse};
use crate::store::audit::{self, AuditEvent};
use crate::store::refresh_tokens::{self, FamilyRow, RefreshTokenRow};
use crate::store::{users, DbConn, StoreError};

pub async fn exchange(
    state: &web::Data<AppState>,
    client: &AuthenticatedClient,
    params: &Params,
) -> Result<TokenResponse, EndpointError> {
    let presented = params.require("refresh_token")?.to_owned();
    let requested_scope = params.get("scope").map(str::to_owned);
    let successor = state.successors.successor(&presented);
    let client_id = client.row.id.clone();
    let now = state.clock.now();
    let lifetimes = state.config.lifetimes;
    let grace = seconds(state.config.oauth.refresh_grace_period);
    let jti = issue::new_jti()?;

    let outcome = state
        .store
        .run(move |conn| {
            conn.transaction(|conn| {
                let presented_hash = token_hash(&presented);
                let successor_hash = token_hash(&successor);
                // Twice at most: a rotation lost to a parallel request is decided again.
                for _ in 0..2 {
                    let Some((token, family)) = refresh_tokens::find(conn, &presented_hash)? else {
                        return Ok(Err(OAuthError::InvalidGrant("unknown refresh token".into())));
                    };
                    let family_scope = parse_scope(&family.scope)?;
                    let successor_unused = match &token.successor_hash {
                        Some(hash) => refresh_tokens::find_token(conn, hash)?.is_some_and(|s| s.rotated_at.is_none()),
                        None => false,
                    };
                    let view = RefreshTokenState {
                        family_client_id: &family.client_id,
                        family_scope: &family_scope,
                        family_revoked: family.revoked_at.is_some(),
                        absolute_expires_at: family.absolute_expires_at,
                        idle_expires_at: token.idle_expires_at,
                        rotated_at: token.rotated_at,
                        successor_unused,
                        grant_still_holds: refresh_tokens::grant_still_holds(conn, &family, &family_scope)?,
                    };
                    match refresh_token::decide(&view, &client_id, requested_scope.as_deref(), now, grace) {
                        Err(e) => return Ok(Err(e)),
                        Ok(RefreshDecision::RevokeFamily { reason }) => {
                            refresh_tokens::revoke_family(conn, &family.id, reason, now)?;
                            let event = AuditEvent {
                                kind: "refresh_token_family_revoked",
                                actor: None,
                                user_id: Some(&family.user_id),
                                client_id: Some(&family.client_id),
                                ip: None,
                                detail: serde_json::json!({ "family": family.id, "reason": reason }),
                            };
                            audit::record(conn, &event, now)?;
                            return Ok(Err(OAuthError::InvalidGrant(format!("{reason}: the refresh token is revoked"))));
                        }
                        Ok(RefreshDecision::RepeatRotation) => {
                            let Some(next) = token.successor_hash.as_deref() else {
                                return Err(StoreError::Corrupt("rotated refresh token without successor".into()));
                            };
                            let Some(next) = refresh_tokens::find_token(conn, next)? else {
                                return Err(StoreError::Corrupt("refresh token successor is missing".into()));
                            };
                            return Ok(Ok(granted(conn, &family, &next, successor.clone())?));
                        }
                        Ok(RefreshDecision::Rotate { scope }) => {
                            if !refresh_tokens::claim_rotation(conn, &presented_hash, &successor_hash, now)? {
                                continue;
                            }
                            let access_expires_at = now + seconds(lifetimes.access_token);
                            let next = RefreshTokenRow {
                                token_hash: successor_hash.clone(),
                                family_id: family.id.clone(),
                                scope: scope.to_string(),
                                created_at: now,
                                idle_expires_at: (now + seconds(lifetimes.refresh_token_idle))
                                    .min(family.absolute_expires_at),
                                rotated_at: None,
                                successor_hash: None,
                                access_token_jti: Some(jti.clone()),
                                access_token_expires_at: Some(access_expires_at),
                            };
                            refresh_tokens::insert_token(conn, &next)?;
                            let event = AuditEvent {
                                kind: "token_issued",
                                actor: None,
                                user_id: Some(&family.user_id),
                                client_id: Some(&family.client_id),
                                ip: None,
                                detail: serde_json::json!({
                                    "grant_type": "refresh_token",
                                    "jti": jti,
                                    "scope": next.scope,
                                    "refresh_token_family": family.id,
                                }),
                            };
                            audit::record(conn, &event, now)?;
                            return Ok(Ok(granted(conn, &family, &next, successor.clone())?));
                        }
                    }
                }
                Err(StoreError::Conflict("refresh token rotation"))
            })
        })
        .await??;
    issue::respond(state, &client.row, &outcome)
}

/// The answer a rotation to `next` gives (the first time or on a retry): with the
/// `openid` scope, a new ID token for the same authentication (OIDC Core §12.2).
fn granted(
    conn: &mut DbConn,
    family: &FamilyRow,
    next: &RefreshTokenRow,
    refresh_token: String,
) -> Result<Granted, StoreError> {
    let (Some(jti), Some(expires_at)) = (&next.access_token_jti, next.access_token_expires_at)
    else {
        return Err(StoreError::Corrupt(
            "refresh token without its access token".into(),
        ));
    };
    let scope = parse_scope(&next.scope)?;
    let authenticated = if scope.contains("openid") {
        // `decide` checked the user is enabled, in this transaction.
        let user = users::find(conn, &family.user_id)?
            .ok_or_else(|| StoreError::Corrupt("refresh token family without its user".into()))?;
        Some(Authenticated {
            user: user.facts(),
            client_id: family.client_id.clone(),
            scope: scope.clone(),
            auth_time: family.auth_time,
            sid: family.sid.clone(),
            amr: parse_amr(&family.amr),
            nonce: None,
        })
    } else {
        None
    };
    Ok(Granted {
        grant: AccessGrant {
            subject: family.user_id.clone(),
            client_id: family.client_id.clone(),
            scope,
            auth_time: Some(family.auth_time),
        },
        jti: jti.clone(),
        issued_at: next.created_at,
        expires_at,
        refresh_token: Some(refresh_token),
        authenticated,
    })
}

fn parse_scope(text: &str) -> Result<Scope, StoreError> {
    Scope::parse(text).map_err(|e| StoreError::Corrupt(e.to_string()))
}

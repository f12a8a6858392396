//! `grant_type=authorization_code` (RFC 6749 §4.1.3, RFC 7636 §4.5).
//!
//! The code is consumed by one conditional update inside the transaction that
//! records what is issued from it. A code presented again (RFC 6749 §4.1.2, RFC 9700
//! §4.2.4) is `invalid_grant` and revokes the access token and the refresh-token
//! family issued from it, in a transaction that commits although the answer is an error.

use actix_web::web;

use super::issue::{self, Granted};
use crate::clock::seconds;
use crate::crypto::{random, token_hash};
use crate::http::client_auth::AuthenticatedClient;
use crate::http::oauth_response::EndpointError;
use crate::http::AppState;
use crate::protocol::client_metadata::GrantType;
use crate::protocol::error::OAuthError;
use crate::protocol::grants::authorization_code::{check_exchange, Exchange, IssuedCode};
use crate::protocol::id_token::{self, Authenticated};
use crate::protocol::params::Params;
use crate::protocol::scope::Scope;
use crate::protocol::tokens::{AccessGrant, TokenResponse};
use crate::store::audit::{self, AuditEvent};
use crate::store::refresh_tokens::{self, FamilyRow, RefreshTokenRow};
use crate::store::{authorization_codes, revoked_access_tokens, users, DbConn, StoreError};

pub async fn exchange(
    state: &web::Data<AppState>,
    client: &AuthenticatedClient,
    params: &Params,
) -> Result<TokenResponse, EndpointError> {
    let code_hash = token_hash(params.require("code")?);
    let client_id = client.row.id.clone();
    let redirect_uri = params.get("redirect_uri").map(str::to_owned);
    let code_verifier = params.get("code_verifier").map(str::to_owned);
    let now = state.clock.now();
    let lifetimes = state.config.lifetimes;
    let client_may_refresh = client
        .metadata
        .grant_types
        .contains(&GrantType::RefreshToken);
    let new_refresh_token = random::token().map_err(|e| EndpointError::Internal(e.to_string()))?;
    let jti = issue::new_jti()?;
    let family_id = random::identifier().map_err(|e| EndpointError::Internal(e.to_string()))?;
    let access_expires_at = now + seconds(lifetimes.access_token);

    let outcome = state
        .store
        .run(move |conn| {
            conn.transaction(|conn| {
                let Some(code) = authorization_codes::consume(conn, &code_hash, &client_id, now)?
                else {
                    return replayed_or_unknown(conn, &code_hash, &client_id, now);
                };
                let issued = IssuedCode {
                    client_id: &code.client_id,
                    redirect_uri: &code.redirect_uri,
                    redirect_uri_given: code.redirect_uri_given,
                    code_challenge: code.code_challenge.as_deref(),
                    expires_at: code.expires_at,
                };
                let request = Exchange {
                    client_id: &client_id,
                    redirect_uri: redirect_uri.as_deref(),
                    code_verifier: code_verifier.as_deref(),
                };
                // A failed check leaves the code consumed: it was presented once.
                if let Err(e) = check_exchange(&issued, &request, now) {
                    return Ok(Err(e));
                }
                let user = match users::find(conn, &code.user_id)? {
                    Some(user) if !user.disabled => user,
                    _ => return Ok(Err(OAuthError::InvalidGrant("the user is disabled".into()))),
                };
                let scope =
                    Scope::parse(&code.scope).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                let refresh_token = id_token::issues_refresh_token(&scope, client_may_refresh)
                    .then(|| new_refresh_token.clone());
                authorization_codes::record_access_token(
                    conn,
                    &code_hash,
                    &jti,
                    access_expires_at,
                )?;
                if let Some(token) = &refresh_token {
                    let absolute = now + seconds(lifetimes.refresh_token_absolute);
                    refresh_tokens::insert_family(
                        conn,
                        &FamilyRow {
                            id: family_id.clone(),
                            client_id: client_id.clone(),
                            user_id: code.user_id.clone(),
                            origin_code_hash: Some(code_hash.clone()),
                            scope: code.scope.clone(),
                            sid: code.sid.clone(),
                            auth_time: code.auth_time,
                            amr: code.amr.clone(),
                            created_at: now,
                            absolute_expires_at: absolute,
                            revoked_at: None,
                            revoked_reason: None,
                        },
                    )?;
                    refresh_tokens::insert_token(
                        conn,
                        &RefreshTokenRow {
                            token_hash: token_hash(token),
                            family_id: family_id.clone(),
                            scope: code.scope.clone(),
                            created_at: now,
                            idle_expires_at: (now + seconds(lifetimes.refresh_token_idle))
                                .min(absolute),
                            rotated_at: None,
                            successor_hash: None,
                            access_token_jti: Some(jti.clone()),
                            access_token_expires_at: Some(access_expires_at),
                        },
                    )?;
                }
                let event = AuditEvent {
                    kind: "token_issued",
                    actor: None,
                    user_id: Some(&code.user_id),
                    client_id: Some(&client_id),
                    ip: None,
                    detail: serde_json::json!({
                        "grant_type": "authorization_code",
                        "jti": jti,
                        "scope": code.scope,
                        "refresh_token_family": refresh_token.as_ref().map(|_| &family_id),
                    }),
                };
                audit::record(conn, &event, now)?;
                let authenticated = scope.contains("openid").then(|| Authenticated {
                    user: user.facts(),
                    client_id: client_id.clone(),
                    scope: scope.clone(),
                    auth_time: code.auth_time,
                    sid: code.sid.clone(),
                    amr: parse_amr(&code.amr),
                    nonce: code.nonce.clone(),
                });
                Ok(Ok(Granted {
                    grant: AccessGrant {
                        subject: code.user_id.clone(),
                        client_id: client_id.clone(),
                        scope,
                        auth_time: Some(code.auth_time),
                    },
                    jti: jti.clone(),
                    issued_at: now,
                    expires_at: access_expires_at,
                    refresh_token,
                    authenticated,
                }))
            })
        })
        .await??;
    issue::respond(state, &client.row, &outcome)
}

/// The stored `amr` (a JSON array); an unreadable one tells nothing rather than
/// failing the exchange.
pub fn parse_amr(stored: &str) -> Vec<String> {
    serde_json::from_str(stored).unwrap_or_default()
}

/// The code was not there to consume: a replay of a used code (revoke what it
/// issued), or a code that is unknown or belongs to another client.
fn replayed_or_unknown(
    conn: &mut DbConn,
    code_hash: &str,
    client_id: &str,
    now: i64,
) -> Result<Result<Granted, OAuthError>, StoreError> {
    let Some(code) = authorization_codes::find(conn, code_hash)? else {
        return Ok(Err(OAuthError::InvalidGrant(
            "unknown authorization code".into(),
        )));
    };
    if code.client_id != client_id || code.consumed_at.is_none() {
        return Ok(Err(OAuthError::InvalidGrant(
            "the code was issued to another client".into(),
        )));
    }
    for family in refresh_tokens::families_from_code(conn, code_hash)? {
        refresh_tokens::revoke_family(conn, &family, "authorization code replayed", now)?;
    }
    if let (Some(jti), Some(expires_at)) = (&code.access_token_jti, code.access_token_expires_at) {
        revoked_access_tokens::revoke(conn, jti, expires_at, now)?;
    }
    let event = AuditEvent {
        kind: "authorization_code_replayed",
        actor: None,
        user_id: Some(&code.user_id),
        client_id: Some(client_id),
        ip: None,
        detail: serde_json::json!({ "revoked_access_token": code.access_token_jti }),
    };
    audit::record(conn, &event, now)?;
    Ok(Err(OAuthError::InvalidGrant(
        "the authorization code was already used; the tokens issued from it are revoked".into(),
    )))
}

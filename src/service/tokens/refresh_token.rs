//! `grant_type=refresh_token` (RFC 6749 §6) with rotation and reuse detection
//! (RFC 9700 §4.14.2); the decision is [`refresh_token::decide`].
//!
//! The successor is derived from the presented token ([`SuccessorDeriver`]), so a
//! retry inside the grace window is answered with the same refresh token and an
//! access token with the same claims (`jti`, `iat`, `exp`) — though only hashes are
//! stored. The rotation itself is one conditional update: of parallel requests with
//! one token, one rotates and the others are retries of it. The family row is
//! locked first (Postgres), so a rotation never interleaves with a revocation.
//!
//! [`SuccessorDeriver`]: crate::crypto::derived_token::SuccessorDeriver

use super::{
    aim, new_jti, parse_amr, parse_scope, Aim, Aimed, Granted, IssueError, Outcome, TokenSigner,
};
use crate::clock::seconds;
use crate::config::Lifetimes;
use crate::crypto::token_hash;
use crate::protocol::error::OAuthError;
use crate::protocol::grants::refresh_token::{self, RefreshDecision, RefreshTokenState, REUSE};
use crate::protocol::id_token::Authenticated;
use crate::protocol::params::Params;
use crate::protocol::tokens::{AccessGrant, TokenResponse};
use crate::service::clients::AuthenticatedClient;
use crate::service::{OAuthFailure, Services};
use crate::store::audit::{AuditEvent, AuditKind};
use crate::store::refresh_tokens::{self, FamilyRow, RefreshTokenRow};
use crate::store::{users, DbConn, StoreError};

struct Request {
    presented: String,
    successor: String,
    client_id: String,
    requested_scope: Option<String>,
    jti: String,
    grace: i64,
    lifetimes: Lifetimes,
    /// The client address, for the audit trail.
    ip: Option<String>,
    /// RFC 8707: the `resource` the refresh named, if any.
    resource: Option<String>,
}

/// Rotates a refresh token: a new refresh token and access token (and ID token for
/// `openid`), or the repeat of the answer a retry inside the grace window is owed.
pub async fn exchange(
    services: &Services,
    client: &AuthenticatedClient,
    params: &Params,
    now: i64,
) -> Result<TokenResponse, OAuthFailure> {
    let signer = TokenSigner::for_client(services, client)?;
    let presented = params.require("refresh_token")?.to_owned();
    let request = Request {
        successor: services.successors.successor(&presented),
        presented,
        client_id: client.row.id.clone(),
        requested_scope: params.get("scope").map(str::to_owned),
        jti: new_jti()?,
        grace: seconds(services.config.oauth.refresh_grace_period),
        lifetimes: services.config.lifetimes,
        ip: client.ip.clone(),
        resource: params.get("resource").map(str::to_owned),
    };
    services
        .store
        .transaction_then(
            {
                let signer = signer.clone();
                move |conn| Ok::<_, OAuthFailure>(rotate(conn, &request, &signer, now)?)
            },
            move |outcome| outcome.answer(&signer, now),
        )
        .await
}

/// Decides and writes the rotation in one transaction; the answer is signed after
/// the commit. Should signing then fail, the client's retry with the same token
/// inside the grace window gets the same successor (it is derived from the token),
/// so nothing is lost.
fn rotate(
    conn: &mut DbConn,
    request: &Request,
    signer: &TokenSigner,
    now: i64,
) -> Result<Outcome, IssueError> {
    let presented_hash = token_hash(&request.presented);
    let successor_hash = token_hash(&request.successor);
    let Some((_, family)) = refresh_tokens::find(conn, &presented_hash)? else {
        return Ok(Outcome::Refused(
            OAuthError::InvalidGrant("unknown refresh token"),
            None,
        ));
    };
    refresh_tokens::lock_family(conn, &family.id)?;
    // Twice at most: a rotation lost to a parallel request is decided again.
    for _ in 0..2 {
        // Read again under the lock: a revocation or rotation may have committed.
        let Some((token, family)) = refresh_tokens::find(conn, &presented_hash)? else {
            return Ok(Outcome::Refused(
                OAuthError::InvalidGrant("unknown refresh token"),
                None,
            ));
        };
        let family_scope = parse_scope(&family.scope)?;
        let successor_unused = match &token.successor_hash {
            Some(hash) => {
                refresh_tokens::find_token(conn, hash)?.is_some_and(|s| s.rotated_at.is_none())
            }
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
        let decision = refresh_token::decide(
            &view,
            &request.client_id,
            request.requested_scope.as_deref(),
            now,
            request.grace,
        );
        match decision {
            Err(e) => return Ok(Outcome::Refused(e, None)),
            Ok(RefreshDecision::RevokeFamily { reason }) => {
                refresh_tokens::revoke_family(conn, &family.id, reason, now)?;
                let kind = if reason == REUSE {
                    AuditKind::RefreshTokenReused
                } else {
                    AuditKind::RefreshTokenFamilyRevoked
                };
                let event = AuditEvent::new(kind)
                    .user(&family.user_id)
                    .client(&family.client_id)
                    .ip(request.ip.as_deref())
                    .detail(serde_json::json!({ "family": family.id, "reason": reason }));
                event.record(conn, now)?;
                return Ok(Outcome::Refused(
                    OAuthError::InvalidGrant("the refresh token is revoked"),
                    Some(event),
                ));
            }
            Ok(RefreshDecision::RepeatRotation) => {
                let Some(next) = token.successor_hash.as_deref() else {
                    return Err(StoreError::Corrupt(
                        "rotated refresh token without successor".into(),
                    )
                    .into());
                };
                let Some(next) = refresh_tokens::find_token(conn, next)? else {
                    return Err(
                        StoreError::Corrupt("refresh token successor is missing".into()).into(),
                    );
                };
                let aimed = match aim_refresh(conn, request, &family, &next.scope)? {
                    Aim::At(aimed) => aimed,
                    Aim::Refused(e) => return Ok(Outcome::Refused(e, None)),
                };
                let granted = granted(conn, &family, &next, request.successor.clone(), aimed)?;
                signer.check(&granted, now)?;
                return Ok(Outcome::Granted(Box::new(granted), None));
            }
            Ok(RefreshDecision::Rotate { scope }) => {
                // The resource is checked before the token is spent: a refusal
                // leaves it usable.
                let aimed = match aim_refresh(conn, request, &family, &scope.to_string())? {
                    Aim::At(aimed) => aimed,
                    Aim::Refused(e) => return Ok(Outcome::Refused(e, None)),
                };
                if !refresh_tokens::claim_rotation(conn, &presented_hash, &successor_hash, now)? {
                    continue;
                }
                let lifetimes = request.lifetimes;
                let next = RefreshTokenRow {
                    token_hash: successor_hash.clone(),
                    family_id: family.id.clone(),
                    scope: scope.to_string(),
                    created_at: now,
                    idle_expires_at: (now + seconds(lifetimes.refresh_token_idle))
                        .min(family.absolute_expires_at),
                    rotated_at: None,
                    successor_hash: None,
                    access_token_jti: Some(request.jti.clone()),
                    access_token_expires_at: Some(now + aimed.lifetime),
                };
                refresh_tokens::insert_token(conn, &next)?;
                let granted = granted(conn, &family, &next, request.successor.clone(), aimed)?;
                let event = AuditEvent::new(AuditKind::TokenIssued)
                    .user(&family.user_id)
                    .client(&family.client_id)
                    .ip(request.ip.as_deref())
                    .detail(serde_json::json!({
                        "grant_type": "refresh_token",
                        "jti": request.jti,
                        "scope": next.scope,
                        "refresh_token_family": family.id,
                    }));
                event.record(conn, now)?;
                signer.check(&granted, now)?;
                return Ok(Outcome::Granted(Box::new(granted), Some(event)));
            }
        }
    }
    Err(StoreError::Conflict("refresh token rotation").into())
}

/// The answer a rotation to `next` gives (the first time or on a retry): with the
/// `openid` scope, a new ID token for the same authentication (OIDC Core §12.2).
fn granted(
    conn: &mut DbConn,
    family: &FamilyRow,
    next: &RefreshTokenRow,
    refresh_token: String,
    aimed: Aimed,
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
            user: user.facts()?,
            client_id: family.client_id.clone(),
            scope: scope.clone(),
            auth_time: family.auth_time,
            sid: family.sid.clone(),
            amr: parse_amr(&family.amr)?,
            nonce: None,
        })
    } else {
        None
    };
    Ok(Granted {
        grant: AccessGrant {
            subject: family.user_id.clone(),
            client_id: family.client_id.clone(),
            scope: aimed.scope,
            auth_time: Some(family.auth_time),
        },
        jti: jti.clone(),
        issued_at: next.created_at,
        expires_at,
        refresh_token: Some(refresh_token),
        authenticated,
        target: aimed.target,
    })
}

/// [`aim`] for a refresh: the family's resource, `scope` the refresh's scope.
fn aim_refresh(
    conn: &mut DbConn,
    request: &Request,
    family: &FamilyRow,
    scope: &str,
) -> Result<Aim, IssueError> {
    let scope = parse_scope(scope)?;
    let user = users::find(conn, &family.user_id)?
        .ok_or_else(|| StoreError::Corrupt("refresh token family without its user".into()))?;
    aim(
        conn,
        request.resource.as_deref(),
        family.resource.as_deref(),
        &scope,
        &user,
        seconds(request.lifetimes.access_token),
    )
}

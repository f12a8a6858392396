//! `grant_type=authorization_code` (RFC 6749 §4.1.3, RFC 7636 §4.5).
//!
//! The code is consumed by one conditional update inside the transaction that
//! records and signs what is issued from it. A code presented again (RFC 6749
//! §4.1.2, RFC 9700 §4.2.4) is `invalid_grant` and revokes the access token and the
//! refresh-token family issued from it, in a transaction that commits although the
//! answer is an error.

use super::{
    aim, new_jti, parse_amr, parse_scope, Aim, Aimed, Granted, IssueError, Outcome, TokenSigner,
};
use crate::clock::seconds;
use crate::config::Lifetimes;
use crate::crypto::{random, token_hash};
use crate::protocol::client_metadata::GrantType;
use crate::protocol::error::OAuthError;
use crate::protocol::grants::authorization_code::{check_exchange, Exchange, IssuedCode};
use crate::protocol::id_token::{self, Authenticated};
use crate::protocol::params::Params;
use crate::protocol::tokens::{AccessGrant, TokenResponse};
use crate::service::clients::AuthenticatedClient;
use crate::service::{OAuthFailure, Services};
use crate::store::audit::{AuditEvent, AuditKind};
use crate::store::authorization_codes::{self, CodeRow};
use crate::store::refresh_tokens::{self, FamilyRow, RefreshTokenRow};
use crate::store::{revoked_access_tokens, users, DbConn};

/// What the exchange needs, made before the transaction.
struct Request {
    code_hash: String,
    client_id: String,
    client_may_refresh: bool,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    new_refresh_token: String,
    family_id: String,
    jti: String,
    lifetimes: Lifetimes,
    /// The client address, for the audit trail.
    ip: Option<String>,
    /// RFC 8707: the `resource` the token request named, if any.
    resource: Option<String>,
}

/// Exchanges a code for tokens.
pub async fn exchange(
    services: &Services,
    client: &AuthenticatedClient,
    params: &Params,
    now: i64,
) -> Result<TokenResponse, OAuthFailure> {
    let signer = TokenSigner::for_client(services, client)?;
    let request = Request {
        code_hash: token_hash(params.require("code")?),
        client_id: client.row.id.clone(),
        client_may_refresh: client
            .metadata
            .grant_types
            .contains(&GrantType::RefreshToken),
        redirect_uri: params.get("redirect_uri").map(str::to_owned),
        code_verifier: params.get("code_verifier").map(str::to_owned),
        new_refresh_token: random::token()?,
        family_id: random::identifier()?,
        jti: new_jti()?,
        lifetimes: services.config.lifetimes,
        ip: client.ip.clone(),
        resource: params.get("resource").map(str::to_owned),
    };
    services
        .store
        .transaction_then(
            {
                let signer = signer.clone();
                move |conn| Ok::<_, OAuthFailure>(consume_and_issue(conn, &request, &signer, now)?)
            },
            move |outcome| outcome.answer(&signer, now),
        )
        .await
}

/// Consumes the code and records what it issues in one transaction; the answer is
/// signed after the commit, off SQLite's one writer turn. (Signing with a loaded
/// key does not fail in practice; if it did, the code would be spent and the user
/// would sign in again.)
fn consume_and_issue(
    conn: &mut DbConn,
    request: &Request,
    signer: &TokenSigner,
    now: i64,
) -> Result<Outcome, IssueError> {
    let Some(code) =
        authorization_codes::consume(conn, &request.code_hash, &request.client_id, now)?
    else {
        return Ok(replayed_or_unknown(conn, request, now)?);
    };
    let issued = IssuedCode {
        client_id: &code.client_id,
        redirect_uri: &code.redirect_uri,
        redirect_uri_given: code.redirect_uri_given,
        code_challenge: code.code_challenge.as_deref(),
        expires_at: code.expires_at,
    };
    let exchange = Exchange {
        client_id: &request.client_id,
        redirect_uri: request.redirect_uri.as_deref(),
        code_verifier: request.code_verifier.as_deref(),
    };
    // A failed check leaves the code consumed: it was presented once.
    if let Err(e) = check_exchange(&issued, &exchange, now) {
        return Ok(Outcome::Refused(e, None));
    }
    let user = match users::find(conn, &code.user_id)? {
        Some(user) if !user.disabled => user,
        _ => {
            return Ok(Outcome::Refused(
                OAuthError::InvalidGrant("the user is disabled"),
                None,
            ))
        }
    };
    let scope = parse_scope(&code.scope)?;
    let lifetimes = request.lifetimes;
    let Aimed {
        scope: access_scope,
        target,
        lifetime,
    } = match aim(
        conn,
        request.resource.as_deref(),
        code.resource.as_deref(),
        &scope,
        &user,
        seconds(lifetimes.access_token),
    )? {
        Aim::At(aimed) => aimed,
        Aim::Refused(e) => return Ok(Outcome::Refused(e, None)),
    };
    let access_expires_at = now + lifetime;
    let refresh_token = id_token::issues_refresh_token(&scope, request.client_may_refresh)
        .then(|| request.new_refresh_token.clone());
    authorization_codes::record_access_token(
        conn,
        &request.code_hash,
        &request.jti,
        access_expires_at,
    )?;
    if let Some(token) = &refresh_token {
        start_family(conn, request, &code, token, access_expires_at, now)?;
    }
    let authenticated = match scope.contains("openid") {
        true => Some(Authenticated {
            user: user.facts()?,
            client_id: request.client_id.clone(),
            scope: scope.clone(),
            auth_time: code.auth_time,
            sid: code.sid.clone(),
            amr: parse_amr(&code.amr)?,
            nonce: code.nonce.clone(),
        }),
        false => None,
    };
    let granted = Granted {
        grant: AccessGrant {
            subject: code.user_id.clone(),
            client_id: request.client_id.clone(),
            scope: access_scope,
            auth_time: Some(code.auth_time),
        },
        jti: request.jti.clone(),
        issued_at: now,
        expires_at: access_expires_at,
        refresh_token,
        authenticated,
        target,
    };
    let event = AuditEvent::new(AuditKind::TokenIssued)
        .user(&code.user_id)
        .client(&request.client_id)
        .ip(request.ip.as_deref())
        .detail(serde_json::json!({
            "grant_type": "authorization_code",
            "jti": request.jti,
            "scope": code.scope,
            "refresh_token_family": granted.refresh_token.as_ref().map(|_| &request.family_id),
        }));
    signer.check(&granted, now)?;
    event.record(conn, now)?;
    Ok(Outcome::Granted(Box::new(granted), Some(event)))
}

/// A new refresh-token family grown from the code, with its first token.
fn start_family(
    conn: &mut DbConn,
    request: &Request,
    code: &CodeRow,
    token: &str,
    access_expires_at: i64,
    now: i64,
) -> Result<(), IssueError> {
    let lifetimes = request.lifetimes;
    let absolute = now + seconds(lifetimes.refresh_token_absolute);
    refresh_tokens::insert_family(
        conn,
        &FamilyRow {
            id: request.family_id.clone(),
            client_id: request.client_id.clone(),
            user_id: code.user_id.clone(),
            origin_code_hash: Some(request.code_hash.clone()),
            scope: code.scope.clone(),
            sid: code.sid.clone(),
            auth_time: code.auth_time,
            amr: code.amr.clone(),
            created_at: now,
            absolute_expires_at: absolute,
            revoked_at: None,
            revoked_reason: None,
            resource: code.resource.clone(),
        },
    )?;
    refresh_tokens::insert_token(
        conn,
        &RefreshTokenRow {
            token_hash: token_hash(token),
            family_id: request.family_id.clone(),
            scope: code.scope.clone(),
            created_at: now,
            idle_expires_at: (now + seconds(lifetimes.refresh_token_idle)).min(absolute),
            rotated_at: None,
            successor_hash: None,
            access_token_jti: Some(request.jti.clone()),
            access_token_expires_at: Some(access_expires_at),
        },
    )?;
    Ok(())
}

/// The code was not there to consume: a replay of a used code (revoke what it
/// issued), or a code that is unknown or belongs to another client.
fn replayed_or_unknown(
    conn: &mut DbConn,
    request: &Request,
    now: i64,
) -> Result<Outcome, crate::store::StoreError> {
    let Some(code) = authorization_codes::find(conn, &request.code_hash)? else {
        return Ok(Outcome::Refused(
            OAuthError::InvalidGrant("unknown authorization code"),
            None,
        ));
    };
    if code.client_id != request.client_id || code.consumed_at.is_none() {
        return Ok(Outcome::Refused(
            OAuthError::InvalidGrant("the code was issued to another client"),
            None,
        ));
    }
    for family in refresh_tokens::families_from_code(conn, &request.code_hash)? {
        refresh_tokens::lock_family(conn, &family)?;
        refresh_tokens::revoke_family(conn, &family, "authorization code replayed", now)?;
    }
    if let (Some(jti), Some(expires_at)) = (&code.access_token_jti, code.access_token_expires_at) {
        revoked_access_tokens::revoke(conn, jti, expires_at, now)?;
    }
    let event = AuditEvent::new(AuditKind::AuthorizationCodeReplayed)
        .user(&code.user_id)
        .client(&request.client_id)
        .ip(request.ip.as_deref())
        .detail(serde_json::json!({ "revoked_access_token": code.access_token_jti }));
    event.record(conn, now)?;
    Ok(Outcome::Refused(
        OAuthError::InvalidGrant(
            "the authorization code was already used; the tokens issued from it are revoked",
        ),
        Some(event),
    ))
}

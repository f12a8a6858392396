//! Recognising the tokens we issued, introspection (RFC 7662) and revocation
//! (RFC 7009). A client learns about and revokes its own tokens only.

use serde::Serialize;

use super::clients::{self as client_ops, AuthenticatedClient};
use super::{resources, OAuthFailure, Services};
use crate::config::Config;
use crate::crypto::token_hash;
use crate::keys::KeyRing;
use crate::protocol::client_auth::{self, ClientAuthFailure};
use crate::protocol::error::OAuthError;
use crate::protocol::id_token::{IdTokenClaims, ID_TOKEN_TYP};
use crate::protocol::params::Params;
use crate::protocol::tokens::{AccessTokenClaims, ACCESS_TOKEN_TYP};
use crate::store::audit::{self, AuditEvent, AuditKind};
use crate::store::refresh_tokens::{self, FamilyRow, RefreshTokenRow};
use crate::store::resources::ResourceRow;
use crate::store::{clients, revoked_access_tokens, users, DbConn, StoreError};

/// A token this server issued; short-lived, so the variants are not boxed.
#[allow(clippy::large_enum_variant)]
pub enum KnownToken {
    Refresh {
        token: RefreshTokenRow,
        family: FamilyRow,
    },
    Access(AccessTokenClaims),
}

impl KnownToken {
    /// The client the token was issued to.
    pub fn client_id(&self) -> &str {
        match self {
            KnownToken::Refresh { family, .. } => &family.client_id,
            KnownToken::Access(claims) => &claims.client_id,
        }
    }
}

/// The token `presented` is, if it is one of ours (whatever its state).
pub async fn identify(
    services: &Services,
    presented: &str,
) -> Result<Option<KnownToken>, StoreError> {
    // A JWT has two dots; a refresh token is BASE64URL and has none.
    if presented.contains('.') {
        return Ok(
            our_access_token(&services.keys, &services.config, presented).map(KnownToken::Access),
        );
    }
    let hash = token_hash(presented);
    let found = services
        .store
        .run(move |conn| refresh_tokens::find(conn, &hash))
        .await?;
    Ok(found.map(|(token, family)| KnownToken::Refresh { token, family }))
}

/// The claims of `presented` if it is an access token this server issued: signed by
/// a published key with our issuer. Expiry and revocation are the caller's to check.
pub fn our_access_token(
    keys: &KeyRing,
    config: &Config,
    presented: &str,
) -> Option<AccessTokenClaims> {
    keys.current()
        .verify::<AccessTokenClaims>(presented, ACCESS_TOKEN_TYP)
        .filter(|c| c.iss == config.issuer)
}

/// The claims of `presented` if it is an ID token this server issued: signed by a
/// published key with our issuer. Expiry is not checked — an `id_token_hint` may be
/// expired (OIDC Core §3.1.2.1, RP-Initiated Logout §2).
pub fn our_id_token(keys: &KeyRing, config: &Config, presented: &str) -> Option<IdTokenClaims> {
    keys.current()
        .verify::<IdTokenClaims>(presented, ID_TOKEN_TYP)
        .filter(|c| c.iss == config.issuer)
}

/// Whether an access token is still good beyond its signature: not expired, not
/// revoked, its client enabled and (for a user's token) its user enabled. Returns
/// the user's username for a user's token.
pub fn access_token_holds(
    conn: &mut DbConn,
    claims: &AccessTokenClaims,
    now: i64,
) -> Result<Option<Option<String>>, StoreError> {
    if now >= claims.exp || revoked_access_tokens::is_revoked(conn, &claims.jti)? {
        return Ok(None);
    }
    if clients::find(conn, &claims.client_id)?.is_none_or(|c| c.disabled) {
        return Ok(None);
    }
    // A client_credentials token has the client as subject.
    if claims.sub == claims.client_id {
        return Ok(Some(None));
    }
    Ok(match users::find(conn, &claims.sub)? {
        Some(u) if !u.disabled => Some(Some(u.username)),
        _ => None,
    })
}

/// RFC 7662 §2.2.
#[derive(Serialize, Default, Debug)]
pub struct Introspection {
    pub active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
}

/// An introspection request, whoever asks: an API with its resource credentials
/// (RFC 7662 §2.1) or a client with its own. Returns the answer and whether an API
/// asked (it may cache a positive answer briefly). Every failed authentication is
/// the same `invalid_client`; the audit trail keeps why.
pub async fn answer(
    services: &Services,
    authorization: Option<&str>,
    params: &Params,
    ip: Option<String>,
    now: i64,
) -> Result<(Introspection, bool), OAuthFailure> {
    if let Ok(presented) = client_auth::presented(authorization, params) {
        // Clients ask far more often than APIs, and a known client is read from the
        // cache: only an unknown id is looked for among the APIs.
        let is_client = client_ops::is_registered(&services.store, &presented.client_id).await?;
        let resource = if is_client {
            None
        } else {
            resources::by_id(&services.store, &presented.client_id).await?
        };
        if let Some(resource) = resource {
            let proved = presented.secret.as_ref().is_some_and(|secret| {
                resources::secret_matches(services, &resource, secret.expose())
            });
            if !proved {
                let event = AuditEvent::new(AuditKind::ClientAuthenticationFailed)
                    .ip(ip.as_deref())
                    .detail(serde_json::json!({
                        "reason": ClientAuthFailure::WrongSecret.reason(),
                        "resource": presented.client_id,
                    }));
                services.audit.write(event, now).await;
                return Err(OAuthError::from(ClientAuthFailure::WrongSecret).into());
            }
            let token = params.require("token")?;
            let answer = introspect_for_resource(services, &resource, token, now).await?;
            return Ok((answer, true));
        }
    }
    let client = client_ops::authenticate(services, authorization, params, ip, now).await?;
    let token = params.require("token")?;
    Ok((introspect(services, &client, token, now).await?, false))
}

/// Introspects `presented` for the API `resource` (RFC 7662 §2.1: a protected
/// resource with its own credentials): active only for an access token of ours
/// whose `aud` is this resource's identifier and that still holds (not expired or
/// revoked, client and user enabled). Another API's token, a refresh token or
/// anything else is `{"active": false}`.
pub async fn introspect_for_resource(
    services: &Services,
    resource: &ResourceRow,
    presented: &str,
    now: i64,
) -> Result<Introspection, OAuthFailure> {
    let Some(claims) = our_access_token(&services.keys, &services.config, presented) else {
        return Ok(Introspection::default());
    };
    if claims.aud != resource.identifier {
        return Ok(Introspection::default());
    }
    Ok(services
        .store
        .run(move |conn| access_answer(conn, claims, now))
        .await?)
}

/// RFC 7662 §2.2 for an access token: active with its claims while it holds
/// ([`access_token_holds`]), else `{"active": false}`.
fn access_answer(
    conn: &mut DbConn,
    claims: AccessTokenClaims,
    now: i64,
) -> Result<Introspection, StoreError> {
    let Some(username) = access_token_holds(conn, &claims, now)? else {
        return Ok(Introspection::default());
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

/// Introspects `presented` for `client` (RFC 7662 §2). Active means: signature (or
/// stored hash), expiry, not revoked, client and user still enabled (and, for
/// refresh tokens, consent still given). Anything else — including another
/// client's token — is `{"active": false}` (§2.2).
pub async fn introspect(
    services: &Services,
    client: &AuthenticatedClient,
    presented: &str,
    now: i64,
) -> Result<Introspection, OAuthFailure> {
    if client.metadata.is_public {
        return Err(OAuthError::InvalidClient(
            "introspection needs a confidential client (client_secret_basic or client_secret_post)",
        )
        .into());
    }
    let Some(token) = identify(services, presented).await? else {
        return Ok(Introspection::default());
    };
    if token.client_id() != client.row.id {
        return Ok(Introspection::default());
    }
    let issuer = services.config.issuer.clone();
    Ok(services
        .store
        .run(move |conn| match token {
            KnownToken::Access(claims) => access_answer(conn, claims, now),
            KnownToken::Refresh { token, family } => {
                let live = family.revoked_at.is_none()
                    && token.rotated_at.is_none()
                    && now < token.idle_expires_at
                    && now < family.absolute_expires_at;
                let scope = super::tokens::parse_scope(&family.scope)?;
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

/// Revokes `presented` for `client` (RFC 7009 §2.1): a refresh token revokes its
/// family and the access tokens issued with it; an access token's `jti` is listed
/// until it expires. Unknown, foreign and already-revoked tokens change nothing and
/// are no error (§2.2). `token_type_hint` is only a hint: both kinds are looked up.
pub async fn revoke(
    services: &Services,
    client: &AuthenticatedClient,
    presented: &str,
    now: i64,
) -> Result<(), OAuthFailure> {
    let Some(token) = identify(services, presented).await? else {
        return Ok(());
    };
    if token.client_id() != client.row.id {
        return Ok(());
    }
    let client_id = client.row.id.clone();
    let ip = client.ip.clone();
    let event = services
        .store
        .transaction(move |conn| {
            let event = AuditEvent::new(AuditKind::TokenRevoked)
                .actor(&client_id)
                .client(&client_id)
                .ip(ip.as_deref());
            let event = match &token {
                KnownToken::Refresh { family, .. } => {
                    refresh_tokens::lock_family(conn, &family.id)?;
                    refresh_tokens::revoke_family(conn, &family.id, "revoked by the client", now)?;
                    event
                        .user(&family.user_id)
                        .detail(serde_json::json!({ "refresh_token_family": family.id }))
                }
                KnownToken::Access(claims) => {
                    revoked_access_tokens::revoke(conn, &claims.jti, claims.exp, now)?;
                    let event = event.detail(serde_json::json!({ "jti": claims.jti }));
                    if claims.sub != claims.client_id {
                        event.user(&claims.sub)
                    } else {
                        event
                    }
                }
            };
            event.record(conn, now)?;
            Ok(event)
        })
        .await?;
    audit::log(&event);
    Ok(())
}

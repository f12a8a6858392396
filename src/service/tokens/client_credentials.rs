//! `grant_type=client_credentials` (RFC 6749 §4.4): no user, no refresh token.

use super::{new_jti, Granted, TargetedAt, TokenSigner};
use crate::clock::seconds;
use crate::protocol::grants::client_credentials;
use crate::protocol::params::Params;
use crate::protocol::resource;
use crate::protocol::tokens::{AccessGrant, TokenResponse};
use crate::service::clients::AuthenticatedClient;
use crate::service::resources;
use crate::service::{OAuthFailure, Services};
use crate::store::audit::{AuditEvent, AuditKind};

/// Issues an access token to the client itself, with the scope it asked for
/// within what it registered; records `token.issued`.
pub async fn exchange(
    services: &Services,
    client: &AuthenticatedClient,
    params: &Params,
    now: i64,
) -> Result<TokenResponse, OAuthFailure> {
    // RFC 8707: a named resource is the token's audience, and its scopes the ones
    // to ask for; without one, the client's own scope and the default audience.
    let (scope, target, lifetime) = match params.get("resource") {
        Some(identifier) => {
            client_credentials::grant_scope(&client.metadata, None)?;
            let target = resources::target_for(services, &client.row.id, identifier).await?;
            let scope = resource::scope_for(params.get("scope"), &target.scope)?;
            let lifetime = target
                .access_token_lifetime
                .unwrap_or_else(|| seconds(services.config.lifetimes.access_token));
            let aimed = TargetedAt {
                audience: target.identifier,
                alg: target.signing_alg,
                // No user: no roles (RFC 9068 §2.2.3.1 speaks of the user's).
                roles: None,
            };
            (scope, Some(aimed), lifetime)
        }
        None => (
            client_credentials::grant_scope(&client.metadata, params.get("scope"))?,
            None,
            seconds(services.config.lifetimes.access_token),
        ),
    };
    let signer = TokenSigner::for_client(services, client)?;
    let granted = Granted {
        grant: AccessGrant {
            // RFC 9068 §2.2: with no resource owner, the subject is the client.
            subject: client.row.id.clone(),
            client_id: client.row.id.clone(),
            scope,
            auth_time: None,
        },
        jti: new_jti()?,
        issued_at: now,
        expires_at: now + lifetime,
        refresh_token: None,
        // No user signed in: no ID token, whatever the scope (OIDC Core §3.1.3.3).
        authenticated: None,
        target,
    };
    // Nothing is consumed: signing first means a failure writes nothing.
    let response = signer.respond(&granted, now)?;
    let event = AuditEvent::new(AuditKind::TokenIssued)
        .client(&client.row.id)
        .ip(client.ip.as_deref())
        .detail(serde_json::json!({
            "grant_type": "client_credentials",
            "jti": granted.jti,
            "scope": granted.grant.scope.to_string(),
            "resource": granted.target.as_ref().map(|t| t.audience.clone()),
        }));
    // Nothing else changes: the event goes through the batching writer.
    services.audit.write(event, now).await;
    Ok(response)
}

//! `grant_type=client_credentials` (RFC 6749 §4.4): no user, no refresh token.

use actix_web::web;

use super::issue::{self, Granted};
use crate::clock::seconds;
use crate::http::client_auth::AuthenticatedClient;
use crate::http::oauth_response::EndpointError;
use crate::http::AppState;
use crate::protocol::grants::client_credentials;
use crate::protocol::params::Params;
use crate::protocol::tokens::{AccessGrant, TokenResponse};
use crate::store::audit::{self, AuditEvent};

pub async fn exchange(
    state: &web::Data<AppState>,
    client: &AuthenticatedClient,
    params: &Params,
) -> Result<TokenResponse, EndpointError> {
    let scope = client_credentials::grant_scope(&client.metadata, params.get("scope"))?;
    let now = state.clock.now();
    let granted = Granted {
        grant: AccessGrant {
            // RFC 9068 §2.2: with no resource owner, the subject is the client.
            subject: client.row.id.clone(),
            client_id: client.row.id.clone(),
            scope,
            auth_time: None,
        },
        jti: issue::new_jti()?,
        issued_at: now,
        expires_at: now + seconds(state.config.lifetimes.access_token),
        refresh_token: None,
        // No user signed in: no ID token, whatever the scope (OIDC Core §3.1.3.3).
        authenticated: None,
    };
    let response = issue::respond(state, &client.row, &granted)?;
    let (client_id, jti, scope) = (
        client.row.id.clone(),
        granted.jti,
        granted.grant.scope.to_string(),
    );
    state
        .store
        .run(move |conn| {
            let event = AuditEvent {
                kind: "token_issued",
                actor: None,
                user_id: None,
                client_id: Some(&client_id),
                ip: None,
                detail: serde_json::json!({ "grant_type": "client_credentials", "jti": jti, "scope": scope }),
            };
            audit::record(conn, &event, now)
        })
        .await?;
    Ok(response)
}

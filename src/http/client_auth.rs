//! Client authentication for the token, revocation and introspection endpoints:
//! the credentials of the request (protocol), checked against the stored client.

use actix_web::http::header::AUTHORIZATION;
use actix_web::{web, HttpRequest};

use super::oauth_response::EndpointError;
use super::AppState;
use crate::protocol::client_auth::{self, RegisteredClient};
use crate::protocol::client_metadata::{AuthMethod, ClientMetadata};
use crate::protocol::error::OAuthError;
use crate::protocol::params::Params;
use crate::store::clients::{self, ClientRow};

/// A client that proved who it is.
pub struct AuthenticatedClient {
    pub row: ClientRow,
    pub metadata: ClientMetadata,
}

/// Authenticates the client of a request by the method it registered; every failure
/// is `invalid_client`. The secret check is a keyed HMAC in constant time.
pub async fn authenticate(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    params: &Params,
) -> Result<AuthenticatedClient, EndpointError> {
    let authorization = match req.headers().get(AUTHORIZATION) {
        Some(value) => Some(
            value
                .to_str()
                .map_err(|_| OAuthError::InvalidClient("malformed Authorization header".into()))?,
        ),
        None => None,
    };
    let presented = client_auth::presented(authorization, params)?;
    let id = presented.client_id.clone();
    let row = state
        .store
        .run(move |conn| clients::find(conn, &id))
        .await?;
    let registered = match &row {
        Some(row) => Some(RegisteredClient {
            method: row
                .token_endpoint_auth_method
                .parse::<AuthMethod>()
                .map_err(|e| EndpointError::Internal(e.to_string()))?,
            disabled: row.disabled,
            secret_hash: row.secret_hash.as_deref(),
            previous_secret_hash: row.previous_secret_hash.as_deref(),
            previous_secret_expires_at: row.previous_secret_expires_at,
        }),
        None => None,
    };
    client_auth::authenticate(
        &presented,
        registered,
        |given, stored| state.secret_hasher.verify(given, stored),
        state.clock.now(),
    )?;
    let row =
        row.ok_or_else(|| OAuthError::InvalidClient("client authentication failed".into()))?;
    let metadata = row.metadata()?;
    Ok(AuthenticatedClient { row, metadata })
}

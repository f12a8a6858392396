//! Client authentication for the token, revocation and introspection endpoints:
//! the credentials of the request (protocol), checked against the stored client.

use actix_web::http::header::AUTHORIZATION;
use actix_web::{web, HttpRequest};

use super::oauth_response::EndpointError;
use super::AppState;
use crate::protocol::client_auth::{self, RegisteredClient};
use crate::protocol::client_metadata::ClientMetadata;
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
    // The metadata is parsed once: its auth method is what authentication checks.
    let client = match row {
        Some(row) => {
            let metadata = row.metadata()?;
            Some(AuthenticatedClient { row, metadata })
        }
        None => None,
    };
    let registered = client.as_ref().map(|c| RegisteredClient {
        method: c.metadata.token_endpoint_auth_method,
        disabled: c.row.disabled,
        secret_hash: c.row.secret_hash.as_deref(),
        previous_secret_hash: c.row.previous_secret_hash.as_deref(),
        previous_secret_expires_at: c.row.previous_secret_expires_at,
    });
    client_auth::authenticate(
        &presented,
        registered,
        |given, stored| state.secret_hasher.verify(given, stored),
        state.clock.now(),
    )?;
    client.ok_or_else(|| OAuthError::InvalidClient("client authentication failed".into()).into())
}

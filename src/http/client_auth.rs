//! The client credentials of a request at the token, revocation and introspection
//! endpoints, handed to [`service::clients::authenticate`].

use actix_web::http::header::AUTHORIZATION;
use actix_web::HttpRequest;

use super::{client_address, form, AppState};
use crate::protocol::error::OAuthError;
use crate::protocol::params::Params;
use crate::service::clients::{self, AuthenticatedClient};
use crate::service::OAuthFailure;

/// Authenticates the client of a request by the method it registered; every
/// failure is `invalid_client`.
pub async fn authenticate(
    state: &AppState,
    req: &HttpRequest,
    params: &Params,
) -> Result<AuthenticatedClient, OAuthFailure> {
    let authorization = authorization(req)?;
    let ip = client_address::of_request(state, req).map(|ip| ip.to_string());
    clients::authenticate(
        &state.services,
        authorization,
        params,
        ip,
        state.clock.now(),
    )
    .await
}

/// The request's `Authorization` header, if any; one that is not visible ASCII is
/// `invalid_client`.
pub fn authorization(req: &HttpRequest) -> Result<Option<&str>, OAuthError> {
    req.headers()
        .get(AUTHORIZATION)
        .map(|value| {
            value
                .to_str()
                .map_err(|_| OAuthError::InvalidClient("malformed Authorization header"))
        })
        .transpose()
}

/// The form body of a request and the client that authenticated with it.
pub async fn authenticated_form(
    state: &AppState,
    req: &HttpRequest,
    body: &[u8],
) -> Result<(Params, AuthenticatedClient), OAuthFailure> {
    let params = form::params(req, body)?;
    params.check_characters()?;
    let client = authenticate(state, req, &params).await?;
    Ok((params, client))
}

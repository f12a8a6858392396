//! The client credentials grant (RFC 6749 §4.4): a confidential client acting for
//! itself, within its registered scope, with no refresh token (§4.4.3).

use crate::protocol::client_metadata::ClientMetadata;
use crate::protocol::error::OAuthError;
use crate::protocol::scope::{self, Scope};

/// The scope a client-credentials token gets, or why there is none.
pub fn grant_scope(client: &ClientMetadata, requested: Option<&str>) -> Result<Scope, OAuthError> {
    // RFC 6749 §4.4: "MUST only be used by confidential clients".
    if client.is_public {
        return Err(OAuthError::UnauthorizedClient(
            "a public client cannot use the client_credentials grant",
        ));
    }
    scope::requested_within(requested, &client.scope)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::client_metadata::{AuthMethod, GrantType};

    fn client(public: bool) -> ClientMetadata {
        ClientMetadata {
            name: "svc".into(),
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            grant_types: vec![GrantType::ClientCredentials],
            scope: Scope::parse("read write").unwrap(),
            token_endpoint_auth_method: if public {
                AuthMethod::None
            } else {
                AuthMethod::ClientSecretBasic
            },
            is_public: public,
        }
    }

    #[test]
    fn scope_defaults_to_and_stays_within_the_registration() {
        assert_eq!(
            grant_scope(&client(false), None).unwrap().to_string(),
            "read write"
        );
        assert_eq!(
            grant_scope(&client(false), Some("read"))
                .unwrap()
                .to_string(),
            "read"
        );
        assert_eq!(
            grant_scope(&client(false), Some("admin"))
                .unwrap_err()
                .code(),
            "invalid_scope"
        );
        assert_eq!(
            grant_scope(&client(true), None).unwrap_err().code(),
            "unauthorized_client"
        );
    }
}

//! The token endpoint's grants (RFC 6749 §4, §6), one module each. Each takes plain
//! data and a `now` and returns a decision; the HTTP layer does the storage.

pub mod authorization_code;
pub mod client_credentials;
pub mod refresh_token;

use super::client_metadata::GrantType;
use super::error::OAuthError;
use super::params::Params;

/// The `grant_type` of a token request, checked against what the client may use.
///
/// RFC 6749 §5.2: an unknown grant type is `unsupported_grant_type`; a known one the
/// client is not registered for is `unauthorized_client`.
pub fn grant_type(params: &Params, registered: &[GrantType]) -> Result<GrantType, OAuthError> {
    let name = params.require("grant_type")?;
    let grant: GrantType = name
        .parse()
        .map_err(|_| OAuthError::UnsupportedGrantType("this grant_type is not supported"))?;
    if !registered.contains(&grant) {
        return Err(OAuthError::UnauthorizedClient(
            "the client is not registered for this grant_type",
        ));
    }
    Ok(grant)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_and_unregistered_grants() {
        let registered = [GrantType::AuthorizationCode];
        let p = |b: &str| Params::from_urlencoded(b.as_bytes()).unwrap();
        assert_eq!(
            grant_type(&p("grant_type=authorization_code"), &registered),
            Ok(GrantType::AuthorizationCode)
        );
        assert_eq!(
            grant_type(&p("grant_type=password"), &registered)
                .unwrap_err()
                .code(),
            "unsupported_grant_type"
        );
        assert_eq!(
            grant_type(&p("grant_type=client_credentials"), &registered)
                .unwrap_err()
                .code(),
            "unauthorized_client"
        );
        assert_eq!(
            grant_type(&p(""), &registered).unwrap_err().code(),
            "invalid_request"
        );
    }
}

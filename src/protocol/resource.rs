//! Resource indicators (RFC 8707): the `resource` parameter names the API a token
//! is for; its identifier becomes the token's `aud`.

use super::error::OAuthError;
use super::scope::Scope;

/// RFC 8707 §2: "an absolute URI … MUST NOT include a fragment component". Also
/// what an admin may register as an identifier.
pub fn check_identifier(value: &str) -> Result<(), OAuthError> {
    let parsed = url::Url::parse(value)
        .map_err(|_| OAuthError::InvalidTarget("resource must be an absolute URI"))?;
    if parsed.fragment().is_some() || value.contains('#') {
        return Err(OAuthError::InvalidTarget(
            "resource must not have a fragment",
        ));
    }
    if parsed.cannot_be_a_base() && !matches!(parsed.scheme(), "urn") {
        return Err(OAuthError::InvalidTarget(
            "resource must be an absolute URI",
        ));
    }
    Ok(())
}

/// The scope of a token for a resource defining `defined`: what was asked (all of
/// `defined` when nothing was), which must lie within `defined` (RFC 6749 §3.3).
pub fn scope_for(requested: Option<&str>, defined: &Scope) -> Result<Scope, OAuthError> {
    super::scope::requested_within(requested, defined)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resource_is_an_absolute_uri_without_fragment() {
        check_identifier("https://api.example.com").unwrap();
        check_identifier("https://api.example.com/orders/v1").unwrap();
        check_identifier("urn:example:orders").unwrap();
        for bad in [
            "api.example.com",
            "/orders",
            "https://api.example.com/#x",
            "",
        ] {
            assert_eq!(
                check_identifier(bad).unwrap_err().code(),
                "invalid_target",
                "{bad}"
            );
        }
    }
}

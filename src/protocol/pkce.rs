//! Proof Key for Code Exchange (RFC 7636), `S256` only (RFC 9700 §2.1.1; DESIGN.md §3).
//!
//! The syntax checks and the "both or neither" rule are ours; the S256 transform and
//! its constant-time comparison are oxide-auth's [`Pkce`] extension, configured
//! with `plain` off.

use std::borrow::Cow;

use oxide_auth::code_grant::extensions::Pkce;

use super::error::OAuthError;

/// The only transformation accepted.
pub const S256: &str = "S256";

/// Checks the `code_challenge` and `code_challenge_method` of an authorization
/// request and returns the challenge to store with the code.
///
/// - RFC 7636 §4.3: the method defaults to `plain`, which is refused, so a challenge
///   must come with `S256`.
/// - RFC 7636 §4.2: an S256 challenge is BASE64URL of 32 bytes: 43 characters.
/// - `required`: a missing challenge is `invalid_request` (RFC 7636 §4.4.1).
pub fn accept_challenge(
    challenge: Option<&str>,
    method: Option<&str>,
    required: bool,
) -> Result<Option<String>, OAuthError> {
    let challenge = match (challenge, method) {
        (None, None) if required => {
            return Err(OAuthError::InvalidRequest(
                "code_challenge is required (PKCE with S256)",
            ))
        }
        (None, None) => return Ok(None),
        (None, Some(_)) => {
            return Err(OAuthError::InvalidRequest(
                "code_challenge_method without code_challenge",
            ))
        }
        (Some(_), None) => {
            return Err(OAuthError::InvalidRequest(
                "code_challenge_method is required and must be S256 (plain is not supported)",
            ))
        }
        (Some(_), Some(m)) if m != S256 => {
            return Err(OAuthError::InvalidRequest(
                "this code_challenge_method is not supported; use S256",
            ))
        }
        (Some(c), Some(_)) => c,
    };
    if challenge.len() != 43 || !challenge.bytes().all(is_base64url) {
        return Err(OAuthError::InvalidRequest(
            "code_challenge must be BASE64URL(SHA256(code_verifier)): 43 characters",
        ));
    }
    Ok(Some(challenge.to_owned()))
}

/// Checks the `code_verifier` of a token request against the challenge stored with
/// the code (RFC 7636 §4.6). A verifier without a stored challenge, or a stored
/// challenge without a verifier, is `invalid_grant` (no downgrade either way).
pub fn verify(stored_challenge: Option<&str>, verifier: Option<&str>) -> Result<(), OAuthError> {
    let (challenge, verifier) = match (stored_challenge, verifier) {
        (None, None) => return Ok(()),
        (None, Some(_)) => {
            return Err(OAuthError::InvalidGrant(
                "code_verifier sent, but the authorization request had no code_challenge",
            ))
        }
        (Some(_), None) => return Err(OAuthError::InvalidGrant("code_verifier is missing")),
        (Some(c), Some(v)) => (c, v),
    };
    // RFC 7636 §4.1: 43 to 128 characters of [A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~".
    if !(43..=128).contains(&verifier.len()) || !verifier.bytes().all(is_unreserved) {
        return Err(OAuthError::InvalidGrant(
            "code_verifier must be 43 to 128 unreserved characters (RFC 7636 section 4.1)",
        ));
    }
    let pkce = Pkce::required();
    let encoded = pkce
        .challenge(Some(Cow::Borrowed(S256)), Some(Cow::Borrowed(challenge)))
        .map_err(|()| OAuthError::ServerError("stored code_challenge is unusable"))?;
    pkce.verify(encoded, Some(Cow::Borrowed(verifier)))
        .map_err(|()| OAuthError::InvalidGrant("code_verifier does not match"))
}

fn is_base64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn rfc_7636_example_verifies() {
        let stored = accept_challenge(Some(CHALLENGE), Some("S256"), true).unwrap();
        assert_eq!(verify(stored.as_deref(), Some(VERIFIER)), Ok(()));
    }

    #[test]
    fn plain_and_missing_method_are_refused() {
        for method in [Some("plain"), None, Some("s256")] {
            let err = accept_challenge(Some(CHALLENGE), method, true).unwrap_err();
            assert_eq!(err.code(), "invalid_request", "{method:?}");
        }
    }

    #[test]
    fn required_challenge_must_be_present_and_well_formed() {
        assert_eq!(
            accept_challenge(None, None, true).unwrap_err().code(),
            "invalid_request"
        );
        assert_eq!(accept_challenge(None, None, false), Ok(None));
        assert!(accept_challenge(None, Some("S256"), false).is_err());
        assert!(accept_challenge(Some("short"), Some("S256"), true).is_err());
        assert!(
            accept_challenge(Some(&format!("{}=", &CHALLENGE[..42])), Some("S256"), true).is_err()
        );
    }

    #[test]
    fn downgrades_are_invalid_grant() {
        assert_eq!(
            verify(None, Some(VERIFIER)).unwrap_err().code(),
            "invalid_grant"
        );
        assert_eq!(
            verify(Some(CHALLENGE), None).unwrap_err().code(),
            "invalid_grant"
        );
        assert_eq!(verify(None, None), Ok(()));
    }

    #[test]
    fn wrong_or_malformed_verifier_is_invalid_grant() {
        let mut wrong = VERIFIER.to_owned();
        wrong.replace_range(0..1, "e");
        assert_eq!(
            verify(Some(CHALLENGE), Some(&wrong)).unwrap_err().code(),
            "invalid_grant"
        );
        // The challenge itself as verifier ("plain" downgrade) fails.
        assert!(verify(Some(CHALLENGE), Some(CHALLENGE)).is_err());
        assert!(verify(Some(CHALLENGE), Some("tooshort")).is_err());
        assert!(verify(Some(CHALLENGE), Some(&format!("{VERIFIER} "))).is_err());
    }
}

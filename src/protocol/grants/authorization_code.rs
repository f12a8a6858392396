//! The authorization code grant at the token endpoint (RFC 6749 §4.1.3, RFC 7636 §4.6).
//!
//! Single use is the store's job (one conditional update); this module decides
//! whether a code, once claimed, may be exchanged.

use crate::protocol::error::OAuthError;
use crate::protocol::pkce;

/// What was bound to the code when it was issued.
#[derive(Debug, Clone, Copy)]
pub struct IssuedCode<'a> {
    pub client_id: &'a str,
    pub redirect_uri: &'a str,
    pub redirect_uri_given: bool,
    pub code_challenge: Option<&'a str>,
    pub expires_at: i64,
}

/// The token request's side of the exchange.
#[derive(Debug, Clone, Copy)]
pub struct Exchange<'a> {
    pub client_id: &'a str,
    pub redirect_uri: Option<&'a str>,
    pub code_verifier: Option<&'a str>,
}

/// Checks a claimed code against the request. Every failure is `invalid_grant`.
pub fn check_exchange(
    code: &IssuedCode<'_>,
    request: &Exchange<'_>,
    now: i64,
) -> Result<(), OAuthError> {
    // RFC 6749 §4.1.3: the code was issued to the authenticated client.
    if code.client_id != request.client_id {
        return Err(OAuthError::InvalidGrant(
            "the code was issued to another client",
        ));
    }
    if now >= code.expires_at {
        return Err(OAuthError::InvalidGrant("the code has expired"));
    }
    // RFC 6749 §4.1.3: if redirect_uri was in the authorization request, it must be
    // here too, identical.
    match (request.redirect_uri, code.redirect_uri_given) {
        (Some(uri), _) if uri != code.redirect_uri => {
            return Err(OAuthError::InvalidGrant(
                "redirect_uri does not match the authorization request",
            ))
        }
        (None, true) => return Err(OAuthError::InvalidGrant("redirect_uri is missing")),
        _ => {}
    }
    pkce::verify(code.code_challenge, request.code_verifier)
}

#[cfg(test)]
mod tests {
    use super::*;

    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn code() -> IssuedCode<'static> {
        IssuedCode {
            client_id: "c1",
            redirect_uri: "https://app.example/cb",
            redirect_uri_given: true,
            code_challenge: Some(CHALLENGE),
            expires_at: 160,
        }
    }

    fn exchange() -> Exchange<'static> {
        Exchange {
            client_id: "c1",
            redirect_uri: Some("https://app.example/cb"),
            code_verifier: Some(VERIFIER),
        }
    }

    #[test]
    fn a_fresh_code_with_the_right_verifier_is_exchanged() {
        assert_eq!(check_exchange(&code(), &exchange(), 100), Ok(()));
    }

    #[test]
    fn every_mismatch_is_invalid_grant() {
        let cases = [
            Exchange {
                client_id: "c2",
                ..exchange()
            },
            Exchange {
                redirect_uri: Some("https://app.example/other"),
                ..exchange()
            },
            Exchange {
                redirect_uri: None,
                ..exchange()
            },
            Exchange {
                code_verifier: None,
                ..exchange()
            },
            Exchange {
                code_verifier: Some(CHALLENGE),
                ..exchange()
            },
        ];
        for case in cases {
            assert_eq!(
                check_exchange(&code(), &case, 100).unwrap_err().code(),
                "invalid_grant",
                "{case:?}"
            );
        }
    }

    #[test]
    fn an_expired_code_is_invalid_grant() {
        assert_eq!(
            check_exchange(&code(), &exchange(), 160)
                .unwrap_err()
                .code(),
            "invalid_grant"
        );
    }

    #[test]
    fn a_verifier_without_a_challenge_is_a_downgrade() {
        let no_challenge = IssuedCode {
            code_challenge: None,
            ..code()
        };
        assert_eq!(
            check_exchange(&no_challenge, &exchange(), 100)
                .unwrap_err()
                .code(),
            "invalid_grant"
        );
        let no_verifier = Exchange {
            code_verifier: None,
            ..exchange()
        };
        assert_eq!(check_exchange(&no_challenge, &no_verifier, 100), Ok(()));
    }

    #[test]
    fn redirect_uri_may_be_left_out_when_it_was_left_out_before() {
        let implicit = IssuedCode {
            redirect_uri_given: false,
            ..code()
        };
        assert_eq!(
            check_exchange(
                &implicit,
                &Exchange {
                    redirect_uri: None,
                    ..exchange()
                },
                100
            ),
            Ok(())
        );
        assert_eq!(check_exchange(&implicit, &exchange(), 100), Ok(()));
    }
}

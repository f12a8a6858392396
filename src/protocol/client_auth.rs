//! Client authentication at the token, revocation and introspection endpoints
//! (RFC 6749 §2.3.1, RFC 7591 §2 `token_endpoint_auth_method`).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::client_metadata::AuthMethod;
use super::error::OAuthError;
use super::params::{form_decode, has_control, Params};
use crate::crypto::Secret;

/// What the request presented: who it claims to be, how, and the secret if any.
#[derive(Debug)]
pub struct PresentedClient {
    pub client_id: String,
    pub secret: Option<Secret<String>>,
    pub method: AuthMethod,
}

/// The registered facts authentication is checked against.
#[derive(Clone, Copy)]
pub struct RegisteredClient<'a> {
    pub method: AuthMethod,
    pub disabled: bool,
    pub secret_hash: Option<&'a str>,
    /// The secret being rotated out, valid until `previous_secret_expires_at`.
    pub previous_secret_hash: Option<&'a str>,
    pub previous_secret_expires_at: Option<i64>,
}

/// Reads the credentials from the `Authorization` header and the form.
///
/// RFC 6749 §2.3.1: with HTTP Basic, id and secret are form-urlencoded before being
/// joined with `:`. RFC 6749 §2.3: a client uses one method per request, so Basic
/// together with `client_secret` in the body is `invalid_request`.
pub fn presented(
    authorization: Option<&str>,
    params: &Params,
) -> Result<PresentedClient, OAuthError> {
    let basic = authorization.and_then(|value| {
        let (scheme, rest) = value.trim().split_once(' ')?;
        scheme.eq_ignore_ascii_case("basic").then(|| rest.trim())
    });
    if let Some(encoded) = basic {
        if params.get("client_secret").is_some() {
            return Err(OAuthError::InvalidRequest(
                "use one client authentication method: HTTP Basic or client_secret in the body, not both",
            ));
        }
        let (client_id, secret) = decode_basic(encoded)?;
        if params.get("client_id").is_some_and(|id| id != client_id) {
            return Err(OAuthError::InvalidRequest(
                "client_id in the body differs from the one in the Authorization header",
            ));
        }
        return Ok(PresentedClient {
            client_id,
            secret: Some(Secret::new(secret)),
            method: AuthMethod::ClientSecretBasic,
        });
    }
    let Some(client_id) = params.get("client_id") else {
        return Err(OAuthError::InvalidClient(
            "client authentication is missing",
        ));
    };
    Ok(match params.get("client_secret") {
        Some(secret) => PresentedClient {
            client_id: client_id.to_owned(),
            secret: Some(Secret::new(secret.to_owned())),
            method: AuthMethod::ClientSecretPost,
        },
        None => PresentedClient {
            client_id: client_id.to_owned(),
            secret: None,
            method: AuthMethod::None,
        },
    })
}

fn decode_basic(encoded: &str) -> Result<(String, String), OAuthError> {
    let malformed = || OAuthError::InvalidClient("malformed HTTP Basic credentials");
    let bytes = STANDARD.decode(encoded).map_err(|_| malformed())?;
    let text = String::from_utf8(bytes).map_err(|_| malformed())?;
    let (id, secret) = text.split_once(':').ok_or_else(malformed)?;
    let id = form_decode(id.as_bytes()).ok_or_else(malformed)?;
    let secret = form_decode(secret.as_bytes()).ok_or_else(malformed)?;
    if id.is_empty() || has_control(&id) || has_control(&secret) {
        return Err(malformed());
    }
    Ok((id, secret))
}

/// Why client authentication failed: kept for the audit trail only. RFC 6749 §5.2
/// answers every one of them with the same `invalid_client` and
/// [`CLIENT_AUTHENTICATION_FAILED`], so client ids, their state and their
/// authentication method cannot be enumerated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuthFailure {
    UnknownClient,
    Disabled,
    WrongMethod,
    WrongSecret,
}

/// The one `error_description` of every failed client authentication.
pub const CLIENT_AUTHENTICATION_FAILED: &str = "client authentication failed";

impl ClientAuthFailure {
    /// The reason as the audit trail records it.
    pub fn reason(self) -> &'static str {
        match self {
            ClientAuthFailure::UnknownClient => "unknown_client",
            ClientAuthFailure::Disabled => "client_disabled",
            ClientAuthFailure::WrongMethod => "wrong_auth_method",
            ClientAuthFailure::WrongSecret => "wrong_secret",
        }
    }
}

impl From<ClientAuthFailure> for OAuthError {
    fn from(_: ClientAuthFailure) -> Self {
        OAuthError::InvalidClient(CLIENT_AUTHENTICATION_FAILED)
    }
}

/// Checks presented credentials against the registration (RFC 6749 §2.3.1);
/// `verify(presented, stored_hash)` is the keyed, constant-time secret check.
pub fn authenticate(
    presented: &PresentedClient,
    registered: Option<RegisteredClient<'_>>,
    verify: impl Fn(&str, &str) -> bool,
    now: i64,
) -> Result<(), ClientAuthFailure> {
    let Some(registered) = registered else {
        return Err(ClientAuthFailure::UnknownClient);
    };
    if registered.disabled {
        return Err(ClientAuthFailure::Disabled);
    }
    if presented.method != registered.method {
        return Err(ClientAuthFailure::WrongMethod);
    }
    let Some(secret) = &presented.secret else {
        // `none`: a public client proves nothing; PKCE and redirect URIs protect it.
        return Ok(());
    };
    let current = registered
        .secret_hash
        .is_some_and(|hash| verify(secret.expose(), hash));
    let previous = registered.previous_secret_hash.is_some_and(|hash| {
        registered
            .previous_secret_expires_at
            .is_some_and(|t| now < t)
            && verify(secret.expose(), hash)
    });
    if current || previous {
        Ok(())
    } else {
        Err(ClientAuthFailure::WrongSecret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(body: &str) -> Params {
        Params::from_urlencoded(body.as_bytes()).unwrap()
    }

    fn basic(id: &str, secret: &str) -> String {
        format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        let p = presented(Some(&basic("my%3Aclient", "s%2Bc+r%25t")), &params("")).unwrap();
        assert_eq!(p.client_id, "my:client");
        assert_eq!(p.secret.unwrap().expose(), "s+c r%t");
        assert_eq!(p.method, AuthMethod::ClientSecretBasic);
    }

    #[test]
    fn post_and_none_come_from_the_body() {
        let p = presented(None, &params("client_id=a&client_secret=b")).unwrap();
        assert_eq!(p.method, AuthMethod::ClientSecretPost);
        let p = presented(None, &params("client_id=a")).unwrap();
        assert_eq!(p.method, AuthMethod::None);
        assert!(p.secret.is_none());
        assert_eq!(
            presented(None, &params("")).unwrap_err().code(),
            "invalid_client"
        );
        // Another scheme is not Basic.
        let p = presented(Some("Bearer xyz"), &params("client_id=a")).unwrap();
        assert_eq!(p.method, AuthMethod::None);
    }

    #[test]
    fn two_methods_or_garbage_are_refused() {
        let e = presented(Some(&basic("a", "b")), &params("client_secret=b")).unwrap_err();
        assert_eq!(e.code(), "invalid_request");
        let e = presented(Some(&basic("a", "b")), &params("client_id=other")).unwrap_err();
        assert_eq!(e.code(), "invalid_request");
        for bad in [
            "Basic !!!",
            "Basic bm9jb2xvbg==",
            "Basic OmI=",
            "Basic YTolWg==",
        ] {
            assert_eq!(
                presented(Some(bad), &params("")).unwrap_err().code(),
                "invalid_client",
                "{bad}"
            );
        }
    }

    fn registered(method: AuthMethod) -> RegisteredClient<'static> {
        RegisteredClient {
            method,
            disabled: false,
            secret_hash: Some("right"),
            previous_secret_hash: Some("old"),
            previous_secret_expires_at: Some(100),
        }
    }

    fn check(
        p: &str,
        method: AuthMethod,
        reg: Option<RegisteredClient<'_>>,
        now: i64,
    ) -> Result<(), ClientAuthFailure> {
        let presented = PresentedClient {
            client_id: "a".into(),
            secret: (method != AuthMethod::None).then(|| Secret::new(p.to_owned())),
            method,
        };
        authenticate(&presented, reg, |given, stored| given == stored, now)
    }

    #[test]
    fn the_registered_method_and_secret_are_required() {
        let basic = AuthMethod::ClientSecretBasic;
        assert_eq!(check("right", basic, Some(registered(basic)), 0), Ok(()));
        use ClientAuthFailure::*;
        let failures = [
            (
                check("wrong", basic, Some(registered(basic)), 0),
                WrongSecret,
            ),
            (
                check(
                    "right",
                    AuthMethod::ClientSecretPost,
                    Some(registered(basic)),
                    0,
                ),
                WrongMethod,
            ),
            (
                check("", AuthMethod::None, Some(registered(basic)), 0),
                WrongMethod,
            ),
            (check("right", basic, None, 0), UnknownClient),
            (
                check(
                    "right",
                    basic,
                    Some(RegisteredClient {
                        disabled: true,
                        ..registered(basic)
                    }),
                    0,
                ),
                Disabled,
            ),
        ];
        for (result, reason) in failures {
            assert_eq!(result, Err(reason));
            // The client reads one answer whatever the reason (RFC 6749 §5.2).
            let answer = OAuthError::from(reason);
            assert_eq!(answer.code(), "invalid_client");
            assert_eq!(answer.description(), CLIENT_AUTHENTICATION_FAILED);
        }
    }

    #[test]
    fn the_previous_secret_works_until_it_expires() {
        let basic = AuthMethod::ClientSecretBasic;
        assert_eq!(check("old", basic, Some(registered(basic)), 99), Ok(()));
        assert_eq!(
            check("old", basic, Some(registered(basic)), 100),
            Err(ClientAuthFailure::WrongSecret)
        );
    }
}

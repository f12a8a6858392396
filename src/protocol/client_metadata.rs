//! What a client may be registered with: RFC 7591 §2 metadata checked against the
//! grants Portcullis implements (DESIGN.md §2, §3).

use std::fmt;
use std::str::FromStr;

use super::redirect_uri;
use super::scope::Scope;

/// The grant types Portcullis implements (OAuth 2.1: no implicit, no password).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum GrantType {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
}

impl GrantType {
    pub const ALL: [GrantType; 3] = [
        GrantType::AuthorizationCode,
        GrantType::RefreshToken,
        GrantType::ClientCredentials,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::RefreshToken => "refresh_token",
            GrantType::ClientCredentials => "client_credentials",
        }
    }
}

impl FromStr for GrantType {
    type Err = RegistrationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        GrantType::ALL
            .into_iter()
            .find(|g| g.as_str() == s)
            .ok_or_else(|| {
                RegistrationError::InvalidClientMetadata(format!(
                    "unknown grant type `{s}`; supported: authorization_code, refresh_token, client_credentials"
                ))
            })
    }
}

impl fmt::Display for GrantType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a client authenticates at the token endpoint (RFC 7591 §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    /// RFC 6749 §2.3.1, HTTP Basic.
    ClientSecretBasic,
    /// RFC 6749 §2.3.1, in the form body.
    ClientSecretPost,
    /// A public client: no secret.
    None,
}

impl AuthMethod {
    pub const ALL: [AuthMethod; 3] = [
        AuthMethod::ClientSecretBasic,
        AuthMethod::ClientSecretPost,
        AuthMethod::None,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::ClientSecretPost => "client_secret_post",
            AuthMethod::None => "none",
        }
    }

    pub fn uses_secret(self) -> bool {
        self != AuthMethod::None
    }
}

impl FromStr for AuthMethod {
    type Err = RegistrationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AuthMethod::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| {
                RegistrationError::InvalidClientMetadata(format!(
                    "unknown token endpoint auth method `{s}`; supported: client_secret_basic, client_secret_post, none"
                ))
            })
    }
}

impl fmt::Display for AuthMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a registration was refused, with RFC 7591 §3.2.2's error codes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistrationError {
    #[error("invalid redirect URI: {0}")]
    InvalidRedirectUri(String),
    #[error("invalid client metadata: {0}")]
    InvalidClientMetadata(String),
}

/// A registration request as an admin wrote it: strings, unchecked.
#[derive(Debug, Clone, Default)]
pub struct ClientRegistration {
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    /// Empty means the default: `authorization_code` and `refresh_token`.
    pub grant_types: Vec<String>,
    /// `None` means the default for the grant types (see [`default_scope`]).
    pub scope: Option<String>,
    pub public: bool,
    pub token_endpoint_auth_method: Option<String>,
    /// RS256, ES256 or EdDSA; `None`: the server's default for access tokens.
    pub access_token_signing_alg: Option<String>,
    /// RS256, ES256 or EdDSA (never `none`, never HMAC); `None`: RS256.
    pub id_token_signed_response_alg: Option<String>,
}

/// Checked metadata, ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientMetadata {
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<GrantType>,
    pub scope: Scope,
    pub token_endpoint_auth_method: AuthMethod,
    pub is_public: bool,
}

impl ClientMetadata {
    /// RFC 7591 §2: `response_types` follows from the grant types.
    pub fn response_types(&self) -> Vec<&'static str> {
        if self.grant_types.contains(&GrantType::AuthorizationCode) {
            vec!["code"]
        } else {
            Vec::new()
        }
    }
}

/// The scopes a client may request when the admin names none: the OpenID Connect
/// scopes for a client that signs users in (`offline_access` only with refresh
/// tokens), nothing for a machine-to-machine client.
pub fn default_scope(grant_types: &[GrantType]) -> Scope {
    let mut text = String::new();
    if grant_types.contains(&GrantType::AuthorizationCode) {
        text.push_str("openid profile email");
        if grant_types.contains(&GrantType::RefreshToken) {
            text.push_str(" offline_access");
        }
    }
    Scope::parse(&text).unwrap_or_default()
}

/// Checks a registration against RFC 6749, RFC 7591 and our protocol decisions.
pub fn validate(reg: ClientRegistration) -> Result<ClientMetadata, RegistrationError> {
    validate_fields(reg).map_err(|(_, e)| e)
}

/// [`validate`], saying which field a refusal is about (`client_name`,
/// `grant_types`, `token_endpoint_auth_method`, `redirect_uris`,
/// `post_logout_redirect_uris` or `scope`, as RFC 7591 §2 names them), so a form
/// can show the error next to it.
pub fn validate_fields(
    reg: ClientRegistration,
) -> Result<ClientMetadata, (&'static str, RegistrationError)> {
    use RegistrationError::{InvalidClientMetadata, InvalidRedirectUri};

    let name = reg.name.trim();
    if name.is_empty() || name.chars().any(char::is_control) || name.chars().count() > 200 {
        return Err((
            "client_name",
            InvalidClientMetadata(
                "the client name must be 1 to 200 printable characters".to_owned(),
            ),
        ));
    }

    let mut grant_types = Vec::new();
    if reg.grant_types.is_empty() {
        grant_types.extend([GrantType::AuthorizationCode, GrantType::RefreshToken]);
    }
    for g in &reg.grant_types {
        let g: GrantType = g.parse().map_err(|e| ("grant_types", e))?;
        if !grant_types.contains(&g) {
            grant_types.push(g);
        }
    }
    grant_types.sort();
    let has = |g| grant_types.contains(&g);

    let token_endpoint_auth_method = match reg.token_endpoint_auth_method.as_deref() {
        Some(m) => m
            .parse::<AuthMethod>()
            .map_err(|e| ("token_endpoint_auth_method", e))?,
        None if reg.public => AuthMethod::None,
        None => AuthMethod::ClientSecretBasic,
    };
    if reg.public && token_endpoint_auth_method.uses_secret() {
        return Err((
            "token_endpoint_auth_method",
            InvalidClientMetadata(format!(
                "a public client has no secret, so it cannot use {token_endpoint_auth_method}"
            )),
        ));
    }
    let is_public = !token_endpoint_auth_method.uses_secret();

    if has(GrantType::ClientCredentials) && is_public {
        return Err((
            "grant_types",
            InvalidClientMetadata(
                "client_credentials needs a confidential client (RFC 6749 §4.4)".to_owned(),
            ),
        ));
    }
    if has(GrantType::RefreshToken) && !has(GrantType::AuthorizationCode) {
        return Err((
            "grant_types",
            InvalidClientMetadata(
                "refresh_token is only issued through authorization_code; add that grant type"
                    .to_owned(),
            ),
        ));
    }

    let redirect_uris =
        checked_uris(&reg.redirect_uris).map_err(|e| ("redirect_uris", InvalidRedirectUri(e)))?;
    if has(GrantType::AuthorizationCode) && redirect_uris.is_empty() {
        return Err((
            "redirect_uris",
            InvalidRedirectUri(
                "the authorization_code grant needs at least one redirect URI".to_owned(),
            ),
        ));
    }
    let post_logout_redirect_uris = checked_uris(&reg.post_logout_redirect_uris)
        .map_err(|e| ("post_logout_redirect_uris", InvalidClientMetadata(e)))?;

    let scope = match reg.scope.as_deref() {
        Some(text) => {
            Scope::parse(text).map_err(|e| ("scope", InvalidClientMetadata(e.to_string())))?
        }
        None => default_scope(&grant_types),
    };

    Ok(ClientMetadata {
        name: name.to_owned(),
        redirect_uris,
        post_logout_redirect_uris,
        grant_types,
        scope,
        token_endpoint_auth_method,
        is_public,
    })
}

/// Validates each URI, keeps them as written and in order, drops exact repeats.
fn checked_uris(uris: &[String]) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for uri in uris {
        redirect_uri::validate_for_registration(uri).map_err(|e| e.to_string())?;
        if !out.contains(uri) {
            out.push(uri.clone());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reg() -> ClientRegistration {
        ClientRegistration {
            name: "Demo".into(),
            redirect_uris: vec!["https://app.example/cb".into()],
            ..Default::default()
        }
    }

    #[test]
    fn defaults_are_a_confidential_code_client_with_oidc_scopes() {
        let m = validate(reg()).unwrap();
        assert_eq!(
            m.grant_types,
            vec![GrantType::AuthorizationCode, GrantType::RefreshToken]
        );
        assert_eq!(m.token_endpoint_auth_method, AuthMethod::ClientSecretBasic);
        assert!(!m.is_public);
        assert_eq!(m.scope.to_string(), "email offline_access openid profile");
        assert_eq!(m.response_types(), vec!["code"]);
    }

    #[test]
    fn public_implies_none() {
        let m = validate(ClientRegistration {
            public: true,
            ..reg()
        })
        .unwrap();
        assert_eq!(m.token_endpoint_auth_method, AuthMethod::None);
        assert!(m.is_public);
    }

    #[test]
    fn public_with_a_secret_method_is_refused() {
        let err = validate(ClientRegistration {
            public: true,
            token_endpoint_auth_method: Some("client_secret_post".into()),
            ..reg()
        })
        .unwrap_err();
        assert!(matches!(err, RegistrationError::InvalidClientMetadata(_)));
    }

    #[test]
    fn client_credentials_alone_needs_no_redirect_uri_and_gets_no_scope() {
        let m = validate(ClientRegistration {
            name: "svc".into(),
            grant_types: vec!["client_credentials".into()],
            ..Default::default()
        })
        .unwrap();
        assert!(m.redirect_uris.is_empty());
        assert!(m.scope.is_empty());
        assert!(m.response_types().is_empty());
    }

    #[test]
    fn refusals() {
        let cases = [
            ClientRegistration {
                grant_types: vec!["password".into()],
                ..reg()
            },
            ClientRegistration {
                grant_types: vec!["implicit".into()],
                ..reg()
            },
            ClientRegistration {
                redirect_uris: vec![],
                ..reg()
            },
            ClientRegistration {
                redirect_uris: vec!["javascript:alert(1)".into()],
                ..reg()
            },
            ClientRegistration {
                name: "  ".into(),
                ..reg()
            },
            ClientRegistration {
                grant_types: vec!["refresh_token".into()],
                ..reg()
            },
            ClientRegistration {
                public: true,
                grant_types: vec!["client_credentials".into()],
                ..reg()
            },
            ClientRegistration {
                scope: Some("openid bad\"scope".into()),
                ..reg()
            },
            ClientRegistration {
                token_endpoint_auth_method: Some("private_key_jwt".into()),
                ..reg()
            },
            ClientRegistration {
                post_logout_redirect_uris: vec!["https://app.example/bye#x".into()],
                ..reg()
            },
        ];
        for case in cases {
            assert!(validate(case.clone()).is_err(), "{case:?}");
        }
    }

    #[test]
    fn redirect_uris_kept_as_written_without_repeats() {
        let m = validate(ClientRegistration {
            redirect_uris: vec![
                "https://app.example".into(),
                "https://app.example".into(),
                "http://127.0.0.1:9000/cb".into(),
            ],
            ..reg()
        })
        .unwrap();
        assert_eq!(
            m.redirect_uris,
            vec!["https://app.example", "http://127.0.0.1:9000/cb"]
        );
    }
}

//! What tokens say: the claims of JWT access tokens (RFC 9068) and the token
//! endpoint's answer (RFC 6749 §5.1).

use serde::{Deserialize, Serialize};

use super::scope::Scope;

/// RFC 9068 §2.1: the `typ` header of a JWT access token.
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// RFC 9068 §2.2: the claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessTokenClaims {
    pub iss: String,
    /// The user, or the client itself for client_credentials (RFC 9068 §2.2).
    pub sub: String,
    pub aud: String,
    pub client_id: String,
    /// Space-separated; left out when the grant has no scope.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub scope: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    /// RFC 9068 §2.2.1: when the user authenticated (user grants only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    /// RFC 9068 §2.2.3.1: the user's roles, for resources that opt in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    /// RFC 9068 §2.2.3.1: the user's groups, for resources that opt in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<String>>,
}

/// Who a token is for and what it allows; the token's `iat`, `exp` and `jti` come
/// from the issuer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessGrant {
    pub subject: String,
    pub client_id: String,
    pub scope: Scope,
    pub auth_time: Option<i64>,
}

/// Where and when an access token is issued.
#[derive(Debug, Clone, Copy)]
pub struct Issuance<'a> {
    pub issuer: &'a str,
    pub audience: &'a str,
    pub jti: &'a str,
    pub issued_at: i64,
    pub expires_at: i64,
}

impl AccessTokenClaims {
    pub fn new(grant: &AccessGrant, issuance: Issuance<'_>) -> AccessTokenClaims {
        AccessTokenClaims {
            iss: issuance.issuer.to_owned(),
            sub: grant.subject.clone(),
            aud: issuance.audience.to_owned(),
            client_id: grant.client_id.clone(),
            scope: grant.scope.to_string(),
            iat: issuance.issued_at,
            exp: issuance.expires_at,
            jti: issuance.jti.to_owned(),
            auth_time: grant.auth_time,
            roles: None,
            groups: None,
        }
    }
}

/// The OpenID Connect scopes (OIDC Core §5.4, §11, and `roles`): about the user and
/// the grant, not about an API, so they stay in a token minted for a resource.
pub const OPENID_SCOPES: &[&str] = &["openid", "profile", "email", "offline_access", "roles"];

/// RFC 8707 §2: the scope of an access token for a resource defining `defined`:
/// the granted scopes the resource defines, plus the OpenID ones (for UserInfo).
pub fn scope_for_resource(granted: &Scope, defined: &Scope) -> Scope {
    let kept: Vec<&str> = granted
        .iter()
        .filter(|s| defined.contains(s) || OPENID_SCOPES.contains(s))
        .collect();
    Scope::parse(&kept.join(" ")).unwrap_or_else(|_| granted.clone())
}

/// RFC 6749 §5.1: the successful token response. No `Debug`: it holds tokens.
#[derive(Clone, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    /// RFC 6750: always `Bearer`.
    pub token_type: &'static str,
    pub expires_in: i64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// OIDC Core §3.1.3.3: with the `openid` scope.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

impl TokenResponse {
    pub fn new(
        access_token: String,
        claims: &AccessTokenClaims,
        now: i64,
        refresh_token: Option<String>,
    ) -> Self {
        TokenResponse {
            access_token,
            token_type: "Bearer",
            expires_in: (claims.exp - now).max(0),
            scope: claims.scope.clone(),
            refresh_token,
            id_token: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_follow_rfc_9068() {
        let grant = AccessGrant {
            subject: "user-1".into(),
            client_id: "client-1".into(),
            scope: Scope::parse("b a").unwrap(),
            auth_time: Some(5),
        };
        let claims = AccessTokenClaims::new(
            &grant,
            Issuance {
                issuer: "https://id.example",
                audience: "https://api.example",
                jti: "j1",
                issued_at: 10,
                expires_at: 910,
            },
        );
        let json = serde_json::to_value(&claims).unwrap();
        for member in [
            "iss",
            "sub",
            "aud",
            "client_id",
            "scope",
            "iat",
            "exp",
            "jti",
            "auth_time",
        ] {
            assert!(json.get(member).is_some(), "{member}");
        }
        assert_eq!(json["scope"], "a b");
        let response = TokenResponse::new("at".into(), &claims, 10, None);
        let json = serde_json::to_value(&response).unwrap();
        assert_eq!(json["token_type"], "Bearer");
        assert_eq!(json["expires_in"], 900);
        assert!(json.get("refresh_token").is_none());
    }
}

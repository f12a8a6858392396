//! ID tokens (OIDC Core §2, §3.1.3.6, §12.2) and the standard claims a scope
//! releases (§5.1, §5.4), shared with the UserInfo endpoint (§5.3).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};

use super::scope::Scope;

/// The `typ` header of our ID tokens (RFC 7519 §5.1): plain `JWT`, which tells them
/// apart from access tokens (`at+jwt`, RFC 9068 §2.1).
pub const ID_TOKEN_TYP: &str = "JWT";

/// The claims the scopes can release, in discovery's `claims_supported`.
pub const CLAIMS_SUPPORTED: &[&str] = &[
    "sub",
    "iss",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "at_hash",
    "sid",
    "amr",
    "name",
    "preferred_username",
    "updated_at",
    "email",
    "email_verified",
    "roles",
    "groups",
];

/// The scopes with a meaning of their own (OIDC Core §5.4, §11), in discovery's
/// `scopes_supported`.
pub const SCOPES_SUPPORTED: &[&str] = &["openid", "profile", "email", "offline_access", "roles"];

/// What the server knows of a user that claims may tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserFacts {
    /// The `sub`: the user's id, never the username (which may change).
    pub subject: String,
    pub username: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub email_verified: bool,
    pub updated_at: i64,
    pub roles: Vec<String>,
    pub groups: Vec<String>,
}

/// OIDC Core §5.1 standard claims, released by scope (§5.4); absent ones are left out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StandardClaims {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    /// With the `roles` scope: the user's roles (RFC 9068 §2.2.3.1's claim name, from
    /// SCIM), an empty array when there are none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    /// With the `roles` scope: the user's groups (RFC 9068 §2.2.3.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<String>>,
}

impl StandardClaims {
    /// `profile`: `name`, `preferred_username`, `updated_at`; `email`: `email`,
    /// `email_verified` (only with an address to verify); `roles`: `roles` and
    /// `groups`.
    pub fn for_scope(user: &UserFacts, scope: &Scope) -> StandardClaims {
        let mut claims = StandardClaims::default();
        if scope.contains("profile") {
            claims.name = user.name.clone();
            claims.preferred_username = Some(user.username.clone());
            claims.updated_at = Some(user.updated_at);
        }
        if scope.contains("email") {
            if let Some(email) = &user.email {
                claims.email = Some(email.clone());
                claims.email_verified = Some(user.email_verified);
            }
        }
        if scope.contains("roles") {
            claims.roles = Some(user.roles.clone());
            claims.groups = Some(user.groups.clone());
        }
        claims
    }
}

/// The UserInfo response (OIDC Core §5.3.2): `sub` and the claims of the scopes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserInfo {
    pub sub: String,
    #[serde(flatten)]
    pub claims: StandardClaims,
}

impl UserInfo {
    pub fn new(user: &UserFacts, scope: &Scope) -> UserInfo {
        UserInfo {
            sub: user.subject.clone(),
            claims: StandardClaims::for_scope(user, scope),
        }
    }
}

/// OIDC Core §2: the claims of an ID token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdTokenClaims {
    pub iss: String,
    pub sub: String,
    /// One audience, the client, so `azp` is not needed (§2).
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    pub auth_time: i64,
    /// Echoed exactly as the authorization request sent it (§3.1.3.6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// §3.1.3.6: the left half of the access token's hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_hash: Option<String>,
    /// The session id (OIDC Front-Channel Logout 1.0 §3, Back-Channel §2.4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
    #[serde(flatten)]
    pub claims: StandardClaims,
}

/// How the user authenticated and for which request: the facts an ID token repeats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    pub user: UserFacts,
    pub client_id: String,
    pub scope: Scope,
    pub auth_time: i64,
    pub sid: Option<String>,
    pub amr: Vec<String>,
    /// Only in the ID token of the code exchange: OIDC Core §12.2 leaves it out of
    /// refreshed ones, whose RP has no nonce to compare.
    pub nonce: Option<String>,
}

impl IdTokenClaims {
    pub fn new(
        authenticated: &Authenticated,
        issuer: &str,
        at_hash: Option<String>,
        issued_at: i64,
        expires_at: i64,
    ) -> IdTokenClaims {
        IdTokenClaims {
            iss: issuer.to_owned(),
            sub: authenticated.user.subject.clone(),
            aud: authenticated.client_id.clone(),
            exp: expires_at,
            iat: issued_at,
            auth_time: authenticated.auth_time,
            nonce: authenticated.nonce.clone(),
            at_hash,
            sid: authenticated.sid.clone(),
            amr: authenticated.amr.clone(),
            claims: StandardClaims::for_scope(&authenticated.user, &authenticated.scope),
        }
    }
}

/// The hash function of the ID token's `alg` (OIDC Core §3.1.3.6: the hash used in
/// the JWS algorithm; SHA-512 for Ed25519, as for its signature).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenDigest {
    Sha256,
    Sha512,
}

/// `at_hash` (OIDC Core §3.1.3.6): BASE64URL of the left half of the hash of the
/// access token's ASCII octets.
pub fn at_hash(access_token: &str, digest: TokenDigest) -> String {
    let algorithm = match digest {
        TokenDigest::Sha256 => &ring::digest::SHA256,
        TokenDigest::Sha512 => &ring::digest::SHA512,
    };
    let hash = ring::digest::digest(algorithm, access_token.as_bytes());
    let bytes = hash.as_ref();
    URL_SAFE_NO_PAD.encode(&bytes[..bytes.len() / 2])
}

/// Whether an authorization-code exchange also issues a refresh token. OIDC Core
/// §11: in an OpenID Connect flow, only when `offline_access` was granted (it is in
/// the code's scope only if the user consented to it); plain OAuth flows get one
/// whenever the client may use the refresh_token grant.
pub fn issues_refresh_token(scope: &Scope, client_may_refresh: bool) -> bool {
    client_may_refresh && (!scope.contains("openid") || scope.contains("offline_access"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice() -> UserFacts {
        UserFacts {
            subject: "u-1".into(),
            username: "alice".into(),
            name: Some("Alice Liddell".into()),
            email: Some("alice@example.com".into()),
            email_verified: false,
            updated_at: 1700,
            roles: vec!["admin".into()],
            groups: vec!["ops".into()],
        }
    }

    #[test]
    fn at_hash_matches_published_vectors() {
        // Ping Identity's developer guide (RS256 → SHA-256).
        assert_eq!(
            at_hash("dNZX1hEZ9wBCzNL40Upu646bdzQA", TokenDigest::Sha256),
            "wfgvmE9VxjAudsl9lc6TqA"
        );
        // The oidc-token-hash package's README (SHA-256 and SHA-512).
        let token = "YmJiZTAwYmYtMzgyOC00NzhkLTkyOTItNjJjNDM3MGYzOWIy9sFhvH8K_x8UIHj1osisS57f5DduL-ar_qw5jl3lthwpMjm283aVMQXDmoqqqydDSqJfbhptzw8rUVwkuQbolw";
        assert_eq!(
            at_hash(token, TokenDigest::Sha256),
            "x7vk7f6BvQj0jQHYFIk4ag"
        );
        assert_eq!(
            at_hash(token, TokenDigest::Sha512),
            "EGEAhGYyfuwDaVTifvrWSoD5MSy_5hZPy6I7Vm-7pTQ"
        );
    }

    #[test]
    fn scopes_release_their_claims_only() {
        let user = alice();
        let none = StandardClaims::for_scope(&user, &Scope::parse("openid").unwrap());
        assert_eq!(none, StandardClaims::default());
        let profile = StandardClaims::for_scope(&user, &Scope::parse("openid profile").unwrap());
        assert_eq!(profile.preferred_username.as_deref(), Some("alice"));
        assert_eq!(profile.name.as_deref(), Some("Alice Liddell"));
        assert_eq!(profile.updated_at, Some(1700));
        assert!(profile.email.is_none());
        let email = StandardClaims::for_scope(&user, &Scope::parse("openid email").unwrap());
        assert_eq!(email.email.as_deref(), Some("alice@example.com"));
        assert_eq!(email.email_verified, Some(false));
        assert!(email.preferred_username.is_none());
        assert!(email.roles.is_none() && email.groups.is_none());
        let roles = StandardClaims::for_scope(&user, &Scope::parse("openid roles").unwrap());
        assert_eq!(roles.roles, Some(vec!["admin".to_owned()]));
        assert_eq!(roles.groups, Some(vec!["ops".to_owned()]));
        let nobody = UserFacts {
            roles: vec![],
            groups: vec![],
            ..user.clone()
        };
        // An empty list is said, not left out: "no roles" is an answer.
        let json = serde_json::to_value(UserInfo::new(
            &nobody,
            &Scope::parse("openid roles").unwrap(),
        ))
        .unwrap();
        assert_eq!(
            json,
            serde_json::json!({ "sub": "u-1", "roles": [], "groups": [] })
        );
        let json =
            serde_json::to_value(UserInfo::new(&user, &Scope::parse("openid").unwrap())).unwrap();
        assert_eq!(json, serde_json::json!({ "sub": "u-1" }));
    }

    #[test]
    fn id_token_claims_carry_the_authentication() {
        let authenticated = Authenticated {
            user: alice(),
            client_id: "c1".into(),
            scope: Scope::parse("openid email").unwrap(),
            auth_time: 90,
            sid: Some("s1".into()),
            amr: vec!["pwd".into()],
            nonce: Some("n-0S6_WzA2Mj".into()),
        };
        let claims = IdTokenClaims::new(
            &authenticated,
            "https://id.example",
            Some("h".into()),
            100,
            400,
        );
        let json = serde_json::to_value(&claims).unwrap();
        assert_eq!(json["sub"], "u-1");
        assert_eq!(json["aud"], "c1");
        assert_eq!(json["auth_time"], 90);
        assert_eq!(json["nonce"], "n-0S6_WzA2Mj");
        assert_eq!(json["amr"], serde_json::json!(["pwd"]));
        assert_eq!(json["email"], "alice@example.com");
        assert!(json.get("preferred_username").is_none());
        let back: IdTokenClaims = serde_json::from_value(json).unwrap();
        assert_eq!(back, claims);
    }

    #[test]
    fn offline_access_decides_refresh_tokens_in_oidc_flows_only() {
        let s = |t| Scope::parse(t).unwrap();
        assert!(!issues_refresh_token(&s("openid profile"), true));
        assert!(issues_refresh_token(&s("openid offline_access"), true));
        assert!(!issues_refresh_token(&s("openid offline_access"), false));
        assert!(issues_refresh_token(&s("api.read"), true));
        assert!(issues_refresh_token(&s(""), true));
    }
}

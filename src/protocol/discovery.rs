//! Server metadata: OpenID Connect Discovery 1.0 §3 and RFC 8414 §2. Built from what
//! is really served — an endpoint appears here in the change that mounts it, and
//! nothing is advertised that the server does not do.

use serde::Serialize;

/// Which of the two well-known documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Document {
    /// `/.well-known/openid-configuration` (OIDC Discovery 1.0 §4).
    OpenIdConfiguration,
    /// `/.well-known/oauth-authorization-server` (RFC 8414 §3).
    OAuthAuthorizationServer,
}

/// What the server implements, in the terms the metadata speaks.
#[derive(Debug, Clone)]
pub struct Capabilities {
    /// The issuer exactly as configured (OIDC Discovery §4.3: compared as a string).
    pub issuer: String,
    /// Path of the JWKS, appended to the issuer.
    pub jwks_path: &'static str,
    /// Algorithms with keys, in order of preference (RS256 first: OIDC Core §3.1.3.7).
    pub signing_algs: Vec<&'static str>,
}

/// The metadata document. Optional members are left out rather than sent empty.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Metadata {
    pub issuer: String,
    pub jwks_uri: String,
    /// OIDC Discovery §3: REQUIRED; only `public` subject identifiers are issued.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject_types_supported: Option<Vec<&'static str>>,
    /// OIDC Discovery §3: REQUIRED; RS256 must be among them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token_signing_alg_values_supported: Option<Vec<&'static str>>,
}

/// The document for `capabilities`.
pub fn metadata(capabilities: &Capabilities, document: Document) -> Metadata {
    let oidc = document == Document::OpenIdConfiguration;
    Metadata {
        issuer: capabilities.issuer.clone(),
        jwks_uri: endpoint_url(&capabilities.issuer, capabilities.jwks_path),
        subject_types_supported: oidc.then(|| vec!["public"]),
        id_token_signing_alg_values_supported: oidc.then(|| capabilities.signing_algs.clone()),
    }
}

/// The URL of an endpoint served at `path` under the issuer (which may have a path
/// of its own, behind a proxy).
pub fn endpoint_url(issuer: &str, path: &str) -> String {
    format!("{}{path}", issuer.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps(issuer: &str) -> Capabilities {
        Capabilities {
            issuer: issuer.into(),
            jwks_path: "/.well-known/jwks.json",
            signing_algs: vec!["RS256", "ES256"],
        }
    }

    #[test]
    fn issuer_is_kept_exactly_and_urls_hang_under_it() {
        let m = metadata(
            &caps("https://id.example.com/tenant/"),
            Document::OpenIdConfiguration,
        );
        assert_eq!(m.issuer, "https://id.example.com/tenant/");
        assert_eq!(
            m.jwks_uri,
            "https://id.example.com/tenant/.well-known/jwks.json"
        );
    }

    #[test]
    fn oauth_document_leaves_out_openid_only_members() {
        let m = metadata(
            &caps("https://a.example"),
            Document::OAuthAuthorizationServer,
        );
        let json = serde_json::to_value(&m).unwrap();
        assert!(json.get("subject_types_supported").is_none());
        assert!(json.get("id_token_signing_alg_values_supported").is_none());
        let m = metadata(&caps("https://a.example"), Document::OpenIdConfiguration);
        let json = serde_json::to_value(&m).unwrap();
        assert_eq!(
            json["subject_types_supported"],
            serde_json::json!(["public"])
        );
        assert_eq!(json["id_token_signing_alg_values_supported"][0], "RS256");
    }
}

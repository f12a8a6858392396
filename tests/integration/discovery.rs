//! The JWKS and the two metadata documents, as clients fetch them.

use base64::Engine;
use serde_json::Value;

use crate::support::TestApp;

const JWKS: &str = "/.well-known/jwks.json";
const OIDC: &str = "/.well-known/openid-configuration";
const OAUTH: &str = "/.well-known/oauth-authorization-server";

/// RFC 7638 §3.2: the thumbprint over the required members only.
fn thumbprint(jwk: &Value) -> String {
    let canonical = match jwk["kty"].as_str().unwrap() {
        "RSA" => format!(r#"{{"e":{},"kty":"RSA","n":{}}}"#, jwk["e"], jwk["n"]),
        "EC" => format!(
            r#"{{"crv":{},"kty":"EC","x":{},"y":{}}}"#,
            jwk["crv"], jwk["x"], jwk["y"]
        ),
        "OKP" => format!(r#"{{"crv":{},"kty":"OKP","x":{}}}"#, jwk["crv"], jwk["x"]),
        other => panic!("unexpected kty {other}"),
    };
    let digest = ring::digest::digest(&ring::digest::SHA256, canonical.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest)
}

#[tokio::test]
async fn jwks_has_public_members_only_and_kids_are_thumbprints() {
    let app = TestApp::start().await;
    let response = app.get(JWKS).await;
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(headers["cache-control"], "public, max-age=600");
    assert_eq!(headers["access-control-allow-origin"], "*");
    assert!(headers.contains_key("etag"));
    let text = response.text().await.unwrap();
    let body: Value = serde_json::from_str(&text).unwrap();
    let keys = body["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 4);
    for key in keys {
        assert_eq!(key["use"], "sig");
        assert_eq!(key["kid"].as_str().unwrap(), thumbprint(key));
        let allowed: &[&str] = match (key["kty"].as_str().unwrap(), key["alg"].as_str().unwrap()) {
            ("RSA", "RS256") => &["kty", "kid", "use", "alg", "n", "e"],
            ("EC", "ES256") => {
                assert_eq!(key["crv"], "P-256");
                &["kty", "kid", "use", "alg", "crv", "x", "y"]
            }
            other => panic!("unexpected key type {other:?}"),
        };
        for member in key.as_object().unwrap().keys() {
            assert!(
                allowed.contains(&member.as_str()),
                "unexpected member {member} in {key}"
            );
        }
    }
    // A strict relying-party library reads it.
    let set: openidconnect::core::CoreJsonWebKeySet = serde_json::from_str(&text).unwrap();
    assert_eq!(set.keys().len(), 4);
    app.stop().await;
}

#[tokio::test]
async fn jwks_etag_gives_304_until_the_key_set_changes() {
    let app = TestApp::start().await;
    let etag = app.get(JWKS).await.headers()["etag"]
        .to_str()
        .unwrap()
        .to_owned();
    let again = app
        .http
        .get(app.url(JWKS))
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    assert_eq!(again.headers()["etag"].to_str().unwrap(), etag);
    assert_eq!(again.headers()["cache-control"], "public, max-age=600");
    assert!(again.bytes().await.unwrap().is_empty());
    let weak = app
        .http
        .get(app.url(JWKS))
        .header("If-None-Match", format!("\"other\", W/{etag}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        weak.status(),
        304,
        "weak comparison over a list (RFC 9110 §13.1.2)"
    );

    let kid = app.keys.current().keys().next().unwrap().times.kid.clone();
    app.keys.revoke(&kid, "test").await.unwrap();
    let changed = app
        .http
        .get(app.url(JWKS))
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 200);
    assert_ne!(changed.headers()["etag"].to_str().unwrap(), etag);
    app.stop().await;
}

#[tokio::test]
async fn public_documents_answer_head_and_cors_preflight() {
    let app = TestApp::start().await;
    for path in [JWKS, OIDC, OAUTH] {
        let head = app.http.head(app.url(path)).send().await.unwrap();
        assert_eq!(head.status(), 200, "{path}");
        let preflight = app
            .http
            .request(reqwest::Method::OPTIONS, app.url(path))
            .header("Origin", "https://app.example")
            .header("Access-Control-Request-Method", "GET")
            .send()
            .await
            .unwrap();
        assert_eq!(preflight.status(), 204, "{path}");
        assert_eq!(preflight.headers()["access-control-allow-origin"], "*");
        let post = app.http.post(app.url(path)).send().await.unwrap();
        assert!(post.status().is_client_error(), "{path}: {}", post.status());
    }
    app.stop().await;
}

#[tokio::test]
async fn discovery_documents_name_the_issuer_exactly_and_only_what_is_served() {
    let app = TestApp::start().await;
    let oidc = app.get(OIDC).await;
    assert_eq!(oidc.headers()["access-control-allow-origin"], "*");
    let oidc: Value = oidc.json().await.unwrap();
    assert_eq!(oidc["issuer"], app.base_url.as_str());
    assert_eq!(oidc["jwks_uri"], app.url(JWKS));
    assert_eq!(
        oidc["subject_types_supported"],
        serde_json::json!(["public"])
    );
    assert_eq!(
        oidc["id_token_signing_alg_values_supported"],
        serde_json::json!(["RS256", "ES256"])
    );
    // Every advertised endpoint answers.
    for (name, value) in oidc.as_object().unwrap() {
        if name.ends_with("_endpoint") || name.ends_with("_uri") {
            let url = value.as_str().unwrap();
            let status = app.http.get(url).send().await.unwrap().status();
            assert_ne!(status, 404, "{name} {url}");
        }
    }
    let oauth: Value = app.get(OAUTH).await.json().await.unwrap();
    assert_eq!(oauth["issuer"], app.base_url.as_str());
    assert_eq!(oauth["jwks_uri"], app.url(JWKS));
    assert!(oauth.get("id_token_signing_alg_values_supported").is_none());
    app.stop().await;
}

//! Resource servers holding a cached JWKS never see a failure across rotations: the
//! example resource server's verifier, driven by the same simulated clock as the
//! server, checks tokens issued continuously through several rotations.

#[path = "../../examples/resource_server/jwks_cache.rs"]
pub mod jwks_cache;

use std::sync::Arc;

use jwks_cache::{JwksCache, VerifyError};
use portcullis::clock::Clock;
use portcullis::keys::KeyAlg;
use serde_json::json;

use crate::support::{TestApp, TestDb};

#[tokio::test]
async fn tokens_issued_across_rotations_all_verify_against_a_cached_jwks() {
    let rotation_period = 1800;
    let settings = [
        ("PORTCULLIS_JWKS_MAX_AGE", "300".to_owned()),
        ("PORTCULLIS_KEY_RELOAD_INTERVAL", "10".to_owned()),
        (
            "PORTCULLIS_KEY_ROTATION_PERIOD",
            rotation_period.to_string(),
        ),
        ("PORTCULLIS_ACCESS_TOKEN_LIFETIME", "600".to_owned()),
        ("PORTCULLIS_ID_TOKEN_LIFETIME", "600".to_owned()),
    ];
    let app = TestApp::start_on(Arc::new(TestDb::new()), &settings).await;
    let cache = JwksCache::new(
        app.url("/.well-known/jwks.json"),
        app.base_url.clone(),
        "api".into(),
    );
    let start = app.clock.now();
    let rotations = 4;
    let step = 20;
    let mut issued = Vec::new();
    let mut signers = Vec::new();
    let mut failures = Vec::new();
    let mut now = start;
    while now < start + rotations * rotation_period + 60 {
        app.clock.set(now);
        app.keys.refresh().await.unwrap();
        for alg in [KeyAlg::Es256, KeyAlg::Rs256] {
            let token = app
                .keys
                .sign(
                    alg,
                    "at+jwt",
                    &json!({ "iss": app.base_url, "aud": "api", "sub": "u", "client_id": "c",
                             "iat": now, "exp": now + 600, "jti": format!("{alg}-{now}") }),
                )
                .unwrap();
            let kid = jsonwebtoken::decode_header(&token).unwrap().kid.unwrap();
            if alg == KeyAlg::Es256 && signers.last() != Some(&kid) {
                signers.push(kid);
            }
            if let Err(e) = cache.verify(&token, now).await {
                failures.push(format!("{alg} at +{}: {e}", now - start));
            }
            issued.push((now, token));
        }
        // Tokens issued earlier and still valid keep verifying too.
        for (at, token) in issued.iter().filter(|(at, _)| now - at < 600).take(4) {
            if let Err(e) = cache.verify(token, now).await {
                failures.push(format!(
                    "token from +{} at +{}: {e}",
                    at - start,
                    now - start
                ));
            }
        }
        now += step;
    }
    assert!(
        failures.is_empty(),
        "{} failures: {failures:?}",
        failures.len()
    );
    assert_eq!(signers.len() as i64, rotations + 1, "{signers:?}");
    // Max-age refetches pick up each waiting key long before it signs: an unknown-kid
    // refetch is never needed (and at most one per rotation is allowed).
    assert!(
        cache.unknown_kid_refetches() as i64 <= rotations,
        "{} unknown-kid refetches",
        cache.unknown_kid_refetches()
    );
    assert_eq!(cache.unknown_kid_refetches(), 0);
    let expected_fetches = (rotations * rotation_period + 60) / 300 + 1;
    assert!(
        cache.fetch_count() as i64 <= expected_fetches + 1,
        "{}",
        cache.fetch_count()
    );

    // An expired token and a foreign audience are refused: the verifier really checks.
    let (at, last) = issued.last().unwrap();
    assert!(matches!(
        cache.verify(last, at + 600 + 60).await,
        Err(VerifyError::Expired)
    ));
    let other_aud = JwksCache::new(
        app.url("/.well-known/jwks.json"),
        app.base_url.clone(),
        "other".into(),
    );
    assert!(matches!(
        other_aud.verify(&issued.last().unwrap().1, now).await,
        Err(VerifyError::WrongAudience)
    ));
    app.stop().await;
}

#[tokio::test]
async fn a_revoked_key_is_refetched_once_and_then_refused() {
    let app = TestApp::start().await;
    let cache = JwksCache::new(
        app.url("/.well-known/jwks.json"),
        app.base_url.clone(),
        "api".into(),
    );
    let now = app.clock.now();
    let claims = json!({ "iss": app.base_url, "aud": "api", "sub": "u", "exp": now + 600 });
    let token = app.keys.sign(KeyAlg::Es256, "at+jwt", &claims).unwrap();
    cache.verify(&token, now).await.unwrap();
    let kid = jsonwebtoken::decode_header(&token).unwrap().kid.unwrap();
    app.keys.revoke(&kid, "test").await.unwrap();
    // The replacement is the waiting key, already in the cached set: no refetch.
    let replacement = app.keys.sign(KeyAlg::Es256, "at+jwt", &claims).unwrap();
    cache.verify(&replacement, now).await.unwrap();
    assert_eq!(cache.unknown_kid_refetches(), 0);
    // Revoking that one too promotes a key the cache has never seen: one refetch.
    let second = jsonwebtoken::decode_header(&replacement)
        .unwrap()
        .kid
        .unwrap();
    app.keys.revoke(&second, "test").await.unwrap();
    let third = app.keys.sign(KeyAlg::Es256, "at+jwt", &claims).unwrap();
    cache.verify(&third, now).await.unwrap();
    assert_eq!(cache.unknown_kid_refetches(), 1);
    // The revoked key is gone once the cache is refreshed (here: after max-age).
    assert!(matches!(
        cache.verify(&token, now + 600).await,
        Err(VerifyError::UnknownKid(_))
    ));
    // A token whose typ is not at+jwt is not an access token.
    let id_token = app.keys.sign(KeyAlg::Es256, "JWT", &claims).unwrap();
    assert!(matches!(
        cache.verify(&id_token, now).await,
        Err(VerifyError::WrongType)
    ));
    app.stop().await;
}

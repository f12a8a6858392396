//! Signing keys over the real server and binary: lifecycle under a controlled clock,
//! revocation, two instances on one database, the master key.

use std::sync::Arc;

use base64::Engine;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation};
use portcullis::clock::ManualClock;
use portcullis::keys::schedule::Action;
use portcullis::keys::signer::SigningKey;
use portcullis::keys::{KeyAlg, KeyError, MasterKey};
use portcullis::store::signing_keys;
use portcullis::StartError;
use serde_json::{json, Value};

use crate::support::{assert_fails, portcullis, stderr, stdout_json, TestApp, TestDb};

const DAY: i64 = 86_400;

async fn jwks(app: &TestApp) -> JwkSet {
    let response = app.get("/.well-known/jwks.json").await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

fn kids(set: &JwkSet) -> Vec<String> {
    set.keys
        .iter()
        .filter_map(|k| k.common.key_id.clone())
        .collect()
}

/// Signs an access-token-shaped token with the key that signs now.
fn sign(app: &TestApp, alg: KeyAlg) -> String {
    let now = app.clock.now();
    app.keys
        .sign(
            alg,
            "at+jwt",
            &json!({ "iss": app.base_url, "aud": "api", "sub": "u", "iat": now, "exp": now + 900 }),
        )
        .unwrap()
}

fn kid_of(token: &str) -> String {
    jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
}

/// Verifies `token` against `set` the way a resource server does (alg from the key).
fn verifies(token: &str, set: &JwkSet) -> bool {
    portcullis::keys::jwt_provider::install();
    let Some(jwk) = set.find(&kid_of(token)) else {
        return false;
    };
    let alg = jwk
        .common
        .key_algorithm
        .unwrap()
        .to_string()
        .parse()
        .unwrap();
    let mut validation = Validation::new(alg);
    validation.validate_exp = false;
    validation.set_audience(&["api"]);
    jsonwebtoken::decode::<Value>(token, &DecodingKey::from_jwk(jwk).unwrap(), &validation).is_ok()
}

use portcullis::clock::Clock;

#[tokio::test]
async fn fresh_start_has_an_active_and_a_waiting_key_for_rs256_and_es256() {
    let app = TestApp::start().await;
    let out = portcullis(&app.db, &["keys", "list", "--json"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let listed = stdout_json(&out);
    let listed = listed.as_array().unwrap();
    for alg in ["RS256", "ES256"] {
        let states: Vec<&str> = listed
            .iter()
            .filter(|k| k["alg"] == alg)
            .map(|k| k["state"].as_str().unwrap())
            .collect();
        assert_eq!(states.len(), 2, "{alg}: {listed:?}");
        assert!(
            states.contains(&"active") && states.contains(&"next"),
            "{alg}: {states:?}"
        );
    }
    assert!(
        !listed.iter().any(|k| k["alg"] == "EdDSA"),
        "EdDSA only on request"
    );
    let next = listed.iter().find(|k| k["state"] == "next").unwrap();
    assert!(next["activates_at"].as_i64().unwrap() >= next["created_at"].as_i64().unwrap() + 600);
    let active = listed.iter().find(|k| k["state"] == "active").unwrap();
    assert_eq!(
        active["retires_at"].as_i64().unwrap() - active["activates_at"].as_i64().unwrap(),
        30 * DAY
    );
    // The same four keys are published.
    let published = kids(&jwks(&app).await);
    assert_eq!(published.len(), 4);
    for key in listed {
        assert!(published.contains(&key["kid"].as_str().unwrap().to_owned()));
    }
    // The plain listing names the states too.
    let out = portcullis(&app.db, &["keys", "list"], None);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("active") && text.contains("next") && text.contains("ES256"),
        "{text}"
    );
    app.stop().await;
}

#[tokio::test]
async fn keys_are_published_before_they_sign_and_retired_keys_until_their_tokens_expire() {
    let app = TestApp::start().await;
    let start = app.clock.now();
    let before = jwks(&app).await;
    let old_token = sign(&app, KeyAlg::Es256);
    let old_kid = kid_of(&old_token);
    let waiting = app
        .keys
        .current()
        .keys()
        .find(|k| k.times.alg == KeyAlg::Es256 && k.times.kid != old_kid)
        .map(|k| k.times.kid.clone())
        .unwrap();
    assert!(
        kids(&before).contains(&waiting),
        "the waiting key is published from the start"
    );

    // Just before the rotation is due, the decision is taken (ahead of the switch)…
    app.clock.set(start + 30 * DAY - 15);
    app.keys.refresh().await.unwrap();
    assert_eq!(
        kid_of(&sign(&app, KeyAlg::Es256)),
        old_kid,
        "no switch before it is due"
    );
    // …and at the due time every instance switches to the waiting key.
    app.clock.set(start + 30 * DAY);
    app.keys.refresh().await.unwrap();
    let new_token = sign(&app, KeyAlg::Es256);
    assert_eq!(kid_of(&new_token), waiting);
    let after = jwks(&app).await;
    assert!(
        verifies(&new_token, &before),
        "a JWKS cached before the rotation knows the new key"
    );
    assert!(
        verifies(&old_token, &after),
        "the retired key still verifies its tokens"
    );

    // The retired key leaves only after the longest token lifetime (3600 s) + leeway.
    app.clock.set(start + 30 * DAY + 3600);
    app.keys.refresh().await.unwrap();
    assert!(kids(&jwks(&app).await).contains(&old_kid));
    app.clock.set(start + 30 * DAY + 3660);
    app.keys.refresh().await.unwrap();
    assert!(!kids(&jwks(&app).await).contains(&old_kid));
    app.stop().await;
}

#[tokio::test]
async fn automatic_rotation_follows_the_configured_period() {
    let db = Arc::new(TestDb::new());
    let settings = [
        ("PORTCULLIS_JWKS_MAX_AGE", "60".to_owned()),
        ("PORTCULLIS_KEY_RELOAD_INTERVAL", "5".to_owned()),
        ("PORTCULLIS_KEY_ROTATION_PERIOD", "3600".to_owned()),
    ];
    let app = TestApp::start_on(db, &settings).await;
    let start = app.clock.now();
    let mut signers = vec![kid_of(&sign(&app, KeyAlg::Rs256))];
    let mut switched_at = Vec::new();
    for step in 1..=(4 * 3600 / 5) {
        app.clock.set(start + step * 5);
        app.keys.refresh().await.unwrap();
        let kid = kid_of(&sign(&app, KeyAlg::Rs256));
        if signers.last() != Some(&kid) {
            signers.push(kid);
            switched_at.push(step * 5);
        }
    }
    assert_eq!(switched_at, vec![3600, 7200, 10800, 14400], "{signers:?}");
    app.stop().await;
}

#[tokio::test]
async fn manual_rotation_waits_until_the_new_key_was_published_long_enough() {
    let app = TestApp::start().await;
    let start = app.clock.now();
    let old = kid_of(&sign(&app, KeyAlg::Es256));
    let Action::Switch { promoting, at, .. } =
        app.keys.rotate(KeyAlg::Es256, "test").await.unwrap()
    else {
        panic!("a switch");
    };
    // Created at start, published for jwks_max_age (600) + one reload (10) first.
    assert_eq!(at, start + 610);
    app.clock.set(start + 609);
    app.keys.refresh().await.unwrap();
    assert_eq!(kid_of(&sign(&app, KeyAlg::Es256)), old);
    app.clock.set(start + 610);
    app.keys.refresh().await.unwrap();
    assert_eq!(kid_of(&sign(&app, KeyAlg::Es256)), promoting);
    // The CLI says when; a later rotation takes one reload interval.
    let out = portcullis(&app.db, &["keys", "rotate", "--alg", "RS256"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("RS256: key ") && text.contains("signs from"),
        "{text}"
    );
    let out = portcullis(&app.db, &["keys", "rotate", "--alg", "HS256"], None);
    assert_fails(&out, 2, "HS256");
    app.stop().await;
}

#[tokio::test]
async fn a_revoked_key_leaves_the_jwks_at_once_and_never_signs_again() {
    let app = TestApp::start().await;
    let token = sign(&app, KeyAlg::Es256);
    let kid = kid_of(&token);
    let revoked = app.keys.revoke(&kid, "test").await.unwrap();
    assert!(revoked.had_signed);
    let set = jwks(&app).await;
    assert!(!kids(&set).contains(&kid));
    assert!(!verifies(&token, &set), "its tokens no longer verify");
    let replacement = kid_of(&sign(&app, KeyAlg::Es256));
    assert_ne!(replacement, kid);
    assert!(kids(&set).contains(&replacement));
    // A new waiting key replaces the one promoted.
    let es = app
        .keys
        .current()
        .keys()
        .filter(|k| k.times.alg == KeyAlg::Es256)
        .count();
    assert_eq!(es, 2, "the new signing key and a new waiting one");
    assert!(matches!(
        app.keys.revoke(&kid, "test").await,
        Err(KeyError::AlreadyRevoked(_))
    ));

    // From the command line: a warning, and the server follows on its next reload.
    let rs = kid_of(&sign(&app, KeyAlg::Rs256));
    let out = portcullis(&app.db, &["keys", "revoke", &rs], None);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("warning: tokens signed by"),
        "{}",
        stderr(&out)
    );
    app.keys.refresh().await.unwrap();
    assert_ne!(kid_of(&sign(&app, KeyAlg::Rs256)), rs);
    assert!(!kids(&jwks(&app).await).contains(&rs));
    let out = portcullis(&app.db, &["keys", "revoke", "no-such-kid"], None);
    assert_fails(&out, 1, "no-such-kid");
    app.stop().await;
}

#[tokio::test]
async fn two_instances_rotating_at_once_make_one_new_key_and_switch_together() {
    let db = Arc::new(TestDb::new());
    let clock = Arc::new(ManualClock::starting_now());
    let a = TestApp::try_start(db.clone(), &[], clock.clone())
        .await
        .unwrap();
    let b = TestApp::try_start(db.clone(), &[], clock.clone())
        .await
        .unwrap();
    let count = || {
        let mut conn = db.connect();
        signing_keys::list(&mut conn)
            .unwrap()
            .into_iter()
            .filter(|r| r.alg == "ES256")
            .count()
    };
    assert_eq!(count(), 2, "the second instance found the first one's keys");
    clock.advance(DAY);
    let (ra, rb) = tokio::join!(
        a.keys.rotate(KeyAlg::Es256, "a"),
        b.keys.rotate(KeyAlg::Es256, "b")
    );
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    assert_eq!(ra, rb, "both report the one rotation");
    assert_eq!(count(), 3, "one new waiting key, not two");
    let Action::Switch { promoting, at, .. } = ra else {
        panic!("a switch")
    };
    clock.set(at);
    for app in [&a, &b] {
        app.keys.refresh().await.unwrap();
        assert_eq!(kid_of(&sign(app, KeyAlg::Es256)), promoting);
    }
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn private_keys_are_encrypted_at_rest() {
    let app = TestApp::start().await;
    let mut conn = app.db.connect();
    let rows = signing_keys::list(&mut conn).unwrap();
    assert_eq!(rows.len(), 4);
    for row in rows {
        let stored = &row.private_key_encrypted;
        assert!(stored.starts_with("v1."), "{stored}");
        assert!(!stored.contains("PRIVATE KEY"));
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(&stored[3..])
            .unwrap();
        let alg: KeyAlg = row.alg.parse().unwrap();
        assert!(SigningKey::from_der(alg, &bytes).is_err(), "readable DER");
        assert!(
            SigningKey::from_der(alg, &bytes[12..]).is_err(),
            "readable DER"
        );
        assert!(!row.public_jwk.contains("\"d\""));
    }
    app.stop().await;
}

#[tokio::test]
async fn a_wrong_master_key_refuses_to_start_and_makes_no_keys() {
    let db = Arc::new(TestDb::new());
    let app = TestApp::start_on(db.clone(), &[]).await;
    app.stop().await;
    let before = signing_keys::count(&mut db.connect()).unwrap();
    let wrong = [(
        "PORTCULLIS_MASTER_KEY",
        MasterKey::generate().unwrap().to_base64(),
    )];
    let refused =
        TestApp::try_start(db.clone(), &wrong, Arc::new(ManualClock::starting_now())).await;
    match refused {
        Err(StartError::Keys(KeyError::WrongMasterKey { .. })) => {}
        Err(other) => panic!("unexpected error: {other}"),
        Ok(_) => panic!("started with a wrong master key"),
    }
    assert_eq!(signing_keys::count(&mut db.connect()).unwrap(), before);

    // The binary says so in one line and exits 1.
    let mut env = db.env();
    env.push(wrong[0].clone());
    let out = crate::support::portcullis_in(db.dir.path(), &env, &["keys", "list"], None);
    assert_fails(&out, 1, "master key");
}

#[tokio::test]
async fn the_master_key_file_is_made_once_beside_a_sqlite_database() {
    let db = Arc::new(TestDb::new());
    let Some(path) = db.sqlite_path() else { return };
    let key_file = path.with_file_name("portcullis.db.master-key");
    let app = TestApp::start_on(db.clone(), &[]).await;
    app.stop().await;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // Lost key file with keys in the database: refused, never replaced.
    std::fs::remove_file(&key_file).unwrap();
    let refused = TestApp::try_start(db.clone(), &[], Arc::new(ManualClock::starting_now())).await;
    let Err(e) = refused else {
        panic!("started without its master key")
    };
    assert!(e.to_string().contains("master key file"), "{e}");
    assert!(!key_file.exists());
}

#[tokio::test]
async fn eddsa_keys_on_request() {
    let db = Arc::new(TestDb::new());
    let settings = [("PORTCULLIS_SIGNING_ALGS", "RS256 ES256 EdDSA".to_owned())];
    let app = TestApp::start_on(db, &settings).await;
    let set = jwks(&app).await;
    assert_eq!(set.keys.len(), 6);
    let token = sign(&app, KeyAlg::EdDsa);
    assert!(verifies(&token, &set));
    let okp = serde_json::to_value(set.find(&kid_of(&token)).unwrap()).unwrap();
    assert_eq!(
        (okp["kty"].as_str(), okp["crv"].as_str()),
        (Some("OKP"), Some("Ed25519"))
    );
    app.stop().await;
}

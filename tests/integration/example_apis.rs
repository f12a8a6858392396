//! The Flask and Django example APIs (`examples/`) against a live Portcullis: each
//! validates our access tokens from the JWKS (issuer, audience, expiry, `typ`,
//! signature), checks scopes per route and the `admin` role on the admin route, and
//! asks introspection on the route that must see revocation at once. Run by
//! `examples/check_api.py` in the Python of `PORTCULLIS_TEST_PYTHON` (the virtual
//! environment `.ci/run` makes from `examples/requirements-ci.txt`); without it the
//! test says so and passes nothing off as checked.

use std::collections::BTreeMap;
use std::process::Command;

use portcullis::clock::Clock;
use portcullis::keys::KeyAlg;
use portcullis::protocol::client_metadata::ClientRegistration;
use serde_json::{json, Value};

use crate::oauth_support::*;
use crate::support::{portcullis, stderr, stdout_json, TestApp, TestDb};

const ORDERS: &str = "https://orders.example.com";
const BILLING: &str = "https://billing.example.com";

fn run_json(db: &TestDb, args: &[&str]) -> Value {
    let mut args = args.to_vec();
    args.push("--json");
    let out = portcullis(db, &args, None);
    assert!(out.status.success(), "{args:?} failed: {}", stderr(&out));
    stdout_json(&out)
}

/// An access token for `user` at `resource` with `scope`, through the real pages.
async fn user_token(
    app: &TestApp,
    client: &Client,
    user: &User,
    scope: &str,
    resource: &str,
) -> String {
    let (mut params, verifier) = code_request(client, scope, "st-api");
    params.push(("resource".into(), resource.into()));
    let query = app.browser().sign_in_and_allow(&pairs(&params), user).await;
    let tokens = exchange_code(app, client, &query["code"], &verifier).await;
    tokens["access_token"].as_str().unwrap().to_owned()
}

/// `token` with one byte of its signature changed.
fn flipped(token: &str) -> String {
    let (head, signature) = token.rsplit_once('.').unwrap();
    let mut bytes = signature.as_bytes().to_vec();
    let i = bytes.len() / 2;
    bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
    format!("{head}.{}", String::from_utf8(bytes).unwrap())
}

#[tokio::test]
async fn the_flask_and_django_examples_accept_exactly_the_right_tokens() {
    let Ok(python) = std::env::var("PORTCULLIS_TEST_PYTHON") else {
        eprintln!(
            "example_apis: PORTCULLIS_TEST_PYTHON is not set (bash .ci/run sets it); not checked"
        );
        return;
    };
    let app = TestApp::start_on(
        std::sync::Arc::new(TestDb::new()),
        &[("PORTCULLIS_JWKS_MAX_AGE", "60".into())],
    )
    .await;
    let web = app.create_client(ClientRegistration {
        name: "Shop".into(),
        redirect_uris: vec![REDIRECT_URI.into()],
        scope: Some("openid".into()),
        ..Default::default()
    });
    let api = run_json(
        &app.db,
        &[
            "resource",
            "create",
            "--identifier",
            ORDERS,
            "--scope",
            "orders:read orders:write",
            "--client",
            &web.id,
            "--roles",
        ],
    );
    run_json(
        &app.db,
        &[
            "resource",
            "create",
            "--identifier",
            BILLING,
            "--scope",
            "billing:read",
            "--client",
            &web.id,
        ],
    );
    let alice = app.create_user("alice");
    let bob = app.create_user("bob");
    run_json(&app.db, &["user", "roles", "alice", "--add", "admin"]);
    let all = "openid orders:read orders:write";

    let valid = user_token(&app, &web, &alice, all, ORDERS).await;
    let rotated_key = user_token(&app, &web, &alice, all, ORDERS).await;
    let other_audience = user_token(&app, &web, &alice, "openid billing:read", BILLING).await;
    let no_role = user_token(&app, &web, &bob, all, ORDERS).await;
    let no_scope = user_token(&app, &web, &alice, "openid", ORDERS).await;
    let revoked = user_token(&app, &web, &alice, all, ORDERS).await;
    let now = app.clock.now();
    let expired = app
        .keys
        .sign(
            KeyAlg::Es256,
            "at+jwt",
            &json!({ "iss": app.base_url, "aud": ORDERS, "sub": alice.id, "client_id": web.id,
                     "scope": "orders:read orders:write", "roles": ["admin"],
                     "iat": now - 1_000, "exp": now - 100, "jti": "expired-1" }),
        )
        .unwrap();
    let revocation = app
        .http
        .post(app.url("/revoke"))
        .basic_auth(&web.id, web.secret.as_deref())
        .form(&[("token", revoked.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(revocation.status(), 200);
    // The key that signed `rotated_key` is replaced: a new key signs from now on,
    // the old one stays published while its tokens live (DESIGN.md §4).
    let old_kid = header(&rotated_key)["kid"].clone();
    app.keys.rotate(KeyAlg::Es256, "test").await.unwrap();
    app.clock.advance(200);
    app.keys.refresh().await.unwrap();
    let fresh = user_token(&app, &web, &alice, all, ORDERS).await;
    assert_ne!(header(&fresh)["kid"], old_kid, "a new key signs now");

    let flipped_signature = flipped(&valid);
    let tokens: BTreeMap<&str, &str> = [
        ("valid", valid.as_str()),
        ("rotated_key", rotated_key.as_str()),
        ("other_audience", other_audience.as_str()),
        ("expired", expired.as_str()),
        ("flipped_signature", flipped_signature.as_str()),
        ("no_role", no_role.as_str()),
        ("no_scope", no_scope.as_str()),
        ("revoked", revoked.as_str()),
    ]
    .into_iter()
    .collect();
    let dir = tempfile::tempdir().unwrap();
    let tokens_file = dir.path().join("tokens.json");
    std::fs::write(&tokens_file, serde_json::to_vec(&tokens).unwrap()).unwrap();

    let ok = |a: u16, b: u16, c: u16, d: u16| json!({ "GET /orders": a, "POST /orders": b, "GET /admin/stats": c, "GET /orders/1/live": d });
    let expected = json!({
        "valid": ok(200, 201, 200, 200),
        "rotated_key": ok(200, 201, 200, 200),
        "other_audience": ok(401, 401, 401, 401),
        "expired": ok(401, 401, 401, 401),
        "flipped_signature": ok(401, 401, 401, 401),
        "no_role": ok(200, 201, 403, 200),
        // Alice's token without the orders scopes: the admin route asks only the role.
        "no_scope": ok(403, 403, 200, 403),
        "revoked": ok(200, 201, 200, 401),
    });
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for framework in ["flask", "django"] {
        let mut command = Command::new(&python);
        command
            .arg(repo.join("examples/check_api.py"))
            .args([
                "--framework",
                framework,
                "--issuer",
                &app.base_url,
                "--audience",
                ORDERS,
            ])
            // `--opt=value`: a random id or secret may begin with "-".
            .arg(format!(
                "--introspection-id={}",
                api["id"].as_str().unwrap()
            ))
            .arg(format!(
                "--introspection-secret={}",
                api["secret"].as_str().unwrap()
            ))
            .arg("--tokens")
            .arg(&tokens_file);
        // The apps call this server over HTTP: run them off the runtime that serves it.
        let out = tokio::task::spawn_blocking(move || command.output())
            .await
            .unwrap()
            .unwrap();
        assert!(
            out.status.success(),
            "{framework}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let got: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!("{framework}: {e}: {}", String::from_utf8_lossy(&out.stdout))
        });
        assert_eq!(
            got,
            expected,
            "{framework}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

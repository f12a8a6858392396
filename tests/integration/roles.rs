//! Roles and groups of users: managed with `user roles` / `user groups`, released
//! with the `roles` scope as the `roles` and `groups` claims (RFC 9068 §2.2.3.1's
//! names) in ID tokens and UserInfo, named on the consent page, and listed by
//! discovery.

use portcullis::protocol::client_metadata::ClientRegistration;
use serde_json::Value;

use crate::oauth_support::*;
use crate::support::{assert_fails, portcullis, stderr, stdout_json, TestApp, TestDb};

fn run_json(db: &TestDb, args: &[&str]) -> Value {
    let mut args = args.to_vec();
    args.push("--json");
    let out = portcullis(db, &args, None);
    assert!(out.status.success(), "{args:?} failed: {}", stderr(&out));
    stdout_json(&out)
}

/// A code client that may ask for the `roles` scope.
fn roles_client(app: &TestApp) -> Client {
    app.create_client(ClientRegistration {
        name: "Roles App".into(),
        redirect_uris: vec![REDIRECT_URI.into()],
        scope: Some("openid roles offline_access".into()),
        ..Default::default()
    })
}

#[tokio::test]
async fn roles_and_groups_are_managed_from_the_command_line() {
    let app = TestApp::start().await;
    let alice = app.create_user("alice");
    let shown = run_json(
        &app.db,
        &[
            "user", "roles", "alice", "--add", "editor", "--add", "admin",
        ],
    );
    assert_eq!(shown["roles"], serde_json::json!(["admin", "editor"]));
    assert_eq!(shown["groups"], serde_json::json!([]));
    let shown = run_json(&app.db, &["user", "roles", "alice", "--remove", "editor"]);
    assert_eq!(shown["roles"], serde_json::json!(["admin"]));
    let shown = run_json(
        &app.db,
        &["user", "groups", &alice.id, "--add", "ops:oncall"],
    );
    assert_eq!(shown["groups"], serde_json::json!(["ops:oncall"]));
    assert_eq!(shown["roles"], serde_json::json!(["admin"]));
    // `user show` tells both, in words too.
    let text = portcullis(&app.db, &["user", "show", "alice"], None);
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    assert!(text.contains("roles:     admin"), "{text}");
    assert!(text.contains("groups:    ops:oncall"), "{text}");

    // A name that cannot travel in a token is refused, and nothing changes.
    for bad in ["", "has space", "quote\"d", &"x".repeat(65)] {
        let out = portcullis(&app.db, &["user", "roles", "alice", "--add", bad], None);
        assert_fails(&out, 1, "role or group name");
    }
    assert_eq!(
        run_json(&app.db, &["user", "show", "alice"])["roles"],
        serde_json::json!(["admin"])
    );
    let out = portcullis(&app.db, &["user", "roles", "nobody", "--add", "x"], None);
    assert_fails(&out, 1, "nobody");

    // Each change is an audit event saying what changed.
    let events = run_json(
        &app.db,
        &[
            "audit",
            "list",
            "--kind",
            "user.updated",
            "--user",
            &alice.id,
        ],
    );
    let events = events.as_array().unwrap();
    assert_eq!(events.len(), 3, "{events:?}");
    assert!(events
        .iter()
        .any(|e| e["detail"]["roles"]["removed"] == serde_json::json!(["editor"])));
}

#[tokio::test]
async fn the_roles_scope_releases_roles_and_groups_in_id_tokens_and_userinfo() {
    let app = TestApp::start().await;
    let client = roles_client(&app);
    let alice = app.create_user("alice");
    run_json(&app.db, &["user", "roles", "alice", "--add", "admin"]);
    run_json(&app.db, &["user", "groups", "alice", "--add", "ops"]);

    // The consent page names what the scope lets the app see.
    let browser = app.browser();
    let (params, verifier) = code_request(&client, "openid roles offline_access", "st");
    let response = browser.authorize(&pairs(&params)).await;
    let login = location(&response);
    let signed_in = browser.login(&login, &alice.username, PASSWORD).await;
    let consent = location(&signed_in);
    let page = browser.get(&consent).await.text().await.unwrap();
    assert!(page.contains("See your roles and groups"), "{page}");
    let back = browser.consent(&consent, "allow").await;
    let query = query_of(&location(&back));
    let tokens = exchange_code(&app, &client, &query["code"], &verifier).await;

    let id = claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(id["roles"], serde_json::json!(["admin"]));
    assert_eq!(id["groups"], serde_json::json!(["ops"]));
    let access = tokens["access_token"].as_str().unwrap();
    let info: Value = app
        .http
        .get(app.url("/userinfo"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["roles"], serde_json::json!(["admin"]));
    assert_eq!(info["groups"], serde_json::json!(["ops"]));

    // An admin's change reaches the next token (here: the refresh's ID token).
    run_json(
        &app.db,
        &[
            "user", "roles", "alice", "--remove", "admin", "--add", "viewer",
        ],
    );
    let refreshed = app
        .token(
            &client,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
            ],
        )
        .await;
    assert_eq!(refreshed.status(), 200);
    let refreshed: Value = refreshed.json().await.unwrap();
    let id = claims(refreshed["id_token"].as_str().unwrap());
    assert_eq!(id["roles"], serde_json::json!(["viewer"]));
}

#[tokio::test]
async fn without_the_roles_scope_no_role_is_told() {
    let app = TestApp::start().await;
    let client = roles_client(&app);
    let alice = app.create_user("alice");
    run_json(&app.db, &["user", "roles", "alice", "--add", "admin"]);
    let tokens = tokens_for(&app, &client, &alice, "openid").await;
    let id = claims(tokens["id_token"].as_str().unwrap());
    assert!(
        id.get("roles").is_none() && id.get("groups").is_none(),
        "{id}"
    );
    let info: Value = app
        .http
        .get(app.url("/userinfo"))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(info.get("roles").is_none(), "{info}");

    // A client not registered for `roles` cannot ask for it (RFC 6749 §3.3).
    let plain = app.code_client();
    let browser = app.browser();
    let (params, _) = code_request(&plain, "openid roles", "st");
    let response = browser.authorize(&pairs(&params)).await;
    let refused = query_of(&location(&response));
    assert_eq!(refused["error"], "invalid_scope");
}

#[tokio::test]
async fn discovery_lists_the_roles_scope_and_its_claims() {
    let app = TestApp::start().await;
    let document: Value = app
        .get("/.well-known/openid-configuration")
        .await
        .json()
        .await
        .unwrap();
    let has = |field: &str, value: &str| {
        document[field]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v == value)
    };
    assert!(has("scopes_supported", "roles"), "{document}");
    assert!(has("claims_supported", "roles"), "{document}");
    assert!(has("claims_supported", "groups"), "{document}");
}

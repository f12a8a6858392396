//! The lifecycle commands of DESIGN.md §2 (`client show|update|disable|enable|delete|
//! rotate-secret`, `user show|update|disable|enable|delete|unlock|set-password|
//! consents|revoke-consent|sessions|end-sessions`, `audit list`), run as the real
//! binary against a running server, and what the server does about them at once.

use std::collections::BTreeSet;
use std::process::Output;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use portcullis::clock::Clock;
use serde_json::{json, Value};

use crate::oauth_support::*;
use crate::support::{assert_fails, error_lines, portcullis, stderr, stdout_json, TestApp, TestDb};

/// What the login page says for every refused sign-in.
const LOGIN_REFUSED: &str = "Wrong username or password.";

// ---------------------------------------------------------------------------------
// Clients
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn client_show_prints_the_registration_and_never_the_secret() {
    let app = TestApp::start().await;
    let client = app.code_client();
    let secret = client.secret.clone().unwrap();

    let out = portcullis(&app.db, &["client", "show", &client.id, "--json"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    assert!(!text.contains(&secret), "show must never print the secret");
    assert!(!text.contains("hmac-sha256"), "nor its hash");
    let shown = stdout_json(&out);
    assert_eq!(shown["client_id"], client.id);
    assert_eq!(shown["client_name"], "Test App");
    assert_eq!(shown["redirect_uris"], json!([REDIRECT_URI]));
    assert_eq!(
        shown["post_logout_redirect_uris"],
        json!([POST_LOGOUT_REDIRECT_URI])
    );
    assert_eq!(
        shown["grant_types"],
        json!(["authorization_code", "refresh_token"])
    );
    assert_eq!(shown["response_types"], json!(["code"]));
    assert_eq!(
        words(&shown["scope"]),
        words(&json!("openid profile email offline_access"))
    );
    assert_eq!(shown["token_endpoint_auth_method"], "client_secret_basic");
    assert_eq!(shown["public"], false);
    assert_eq!(shown["disabled"], false);
    assert_eq!(shown["client_id_issued_at"], app.clock.now());
    assert!(shown["access_token_signing_alg"].is_null(), "{shown}");
    assert!(shown["id_token_signed_response_alg"].is_null(), "{shown}");
    assert!(shown["previous_secret_expires_at"].is_null(), "{shown}");
    assert!(shown.get("client_secret").is_none());

    let public = app.public_client();
    let shown = show_client(&app.db, &public.id);
    assert_eq!(shown["public"], true);
    assert_eq!(shown["token_endpoint_auth_method"], "none");

    // Without --json: a plain listing that names the client.
    let out = portcullis(&app.db, &["client", "show", &client.id], None);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains(&client.id));

    let out = portcullis(
        &app.db,
        &["client", "show", "no-such-client", "--json"],
        None,
    );
    refused_with(&out, 1, "no-such-client");
}

#[tokio::test]
async fn client_update_replaces_the_given_lists_and_keeps_the_rest() {
    let app = TestApp::start().await;
    let client = app.code_client();
    let user = app.create_user("alice");

    // Algorithms first, while the original redirect URI still holds.
    let updated = run_json(
        &app.db,
        &[
            "client",
            "update",
            &client.id,
            "--access-token-signing-alg",
            "RS256",
            "--id-token-signed-response-alg",
            "ES256",
        ],
    );
    assert_eq!(updated["access_token_signing_alg"], "RS256");
    assert_eq!(updated["id_token_signed_response_alg"], "ES256");
    assert_eq!(updated["client_name"], "Test App", "omitted: kept");
    assert_eq!(
        updated["redirect_uris"],
        json!([REDIRECT_URI]),
        "omitted: kept"
    );
    assert_eq!(
        updated,
        show_client(&app.db, &client.id),
        "printed like show"
    );
    let tokens = tokens_for(&app, &client, &user, "openid").await;
    assert_eq!(
        header(tokens["access_token"].as_str().unwrap())["alg"],
        "RS256"
    );
    assert_eq!(header(tokens["id_token"].as_str().unwrap())["alg"], "ES256");

    // A repeated list flag replaces the whole list.
    let new_redirect = "https://app.example/new-callback";
    let updated = run_json(
        &app.db,
        &[
            "client",
            "update",
            &client.id,
            "--name",
            "Renamed App",
            "--redirect-uri",
            new_redirect,
            "--redirect-uri",
            "http://127.0.0.1:9000/cb",
            "--grant-type",
            "authorization_code",
            "--scope",
            "openid profile",
        ],
    );
    assert_eq!(updated["client_name"], "Renamed App");
    assert_eq!(
        updated["redirect_uris"],
        json!([new_redirect, "http://127.0.0.1:9000/cb"])
    );
    assert_eq!(updated["grant_types"], json!(["authorization_code"]));
    assert_eq!(words(&updated["scope"]), words(&json!("openid profile")));
    assert_eq!(
        updated["post_logout_redirect_uris"],
        json!([POST_LOGOUT_REDIRECT_URI]),
        "omitted: kept"
    );
    assert_eq!(
        updated["access_token_signing_alg"], "RS256",
        "omitted: kept"
    );
    assert_eq!(updated["id_token_signed_response_alg"], "ES256");
    assert_eq!(updated["token_endpoint_auth_method"], "client_secret_basic");
    assert_eq!(updated, show_client(&app.db, &client.id));

    // The server follows at once: the old redirect URI is no longer registered.
    let browser = app.browser();
    let (params, _) = code_request(&client, "openid", "st");
    let response = browser.authorize(&pairs(&params)).await;
    assert_eq!(response.status(), 400, "the old redirect URI is refused");
    assert!(response.headers().get("location").is_none());
    let (mut params, _) = code_request(&client, "openid", "st");
    for (key, value) in params.iter_mut() {
        if key.as_str() == "redirect_uri" {
            *value = new_redirect.to_owned();
        }
    }
    let response = browser.authorize(&pairs(&params)).await;
    assert_eq!(response.status(), 302);
    assert!(location(&response).starts_with("/login"));

    assert_eq!(
        audit(
            &app.db,
            &["--kind", "client.updated", "--client", &client.id]
        )
        .len(),
        2
    );
}

#[tokio::test]
async fn invalid_client_updates_fail_and_change_nothing() {
    let app = TestApp::start().await;
    let client = app.code_client();
    let before = show_client(&app.db, &client.id);
    let cases: &[(&[&str], &str)] = &[
        (&["--redirect-uri", "http://evil.example/cb"], "https"),
        (
            &["--redirect-uri", "https://app.example/cb#frag"],
            "fragment",
        ),
        (&["--redirect-uri", "/callback"], "not an absolute URI"),
        (
            &["--post-logout-redirect-uri", "javascript:x"],
            "forbidden scheme",
        ),
        (&["--grant-type", "password"], "unknown grant type"),
        (&["--scope", "bad\"scope"], "scope"),
    ];
    for (extra, mentions) in cases {
        // A valid change in the same command must not stick either.
        let mut args = vec![
            "client",
            "update",
            client.id.as_str(),
            "--name",
            "Must Not Stick",
        ];
        args.extend_from_slice(extra);
        args.push("--json");
        refused_with(&portcullis(&app.db, &args, None), 1, mentions);
        assert_eq!(show_client(&app.db, &client.id), before, "{extra:?}");
    }
    // An algorithm outside the server's: refused (bad usage or failure).
    let out = portcullis(
        &app.db,
        &[
            "client",
            "update",
            &client.id,
            "--access-token-signing-alg",
            "HS256",
            "--json",
        ],
        None,
    );
    assert_refused(&out);
    assert_eq!(show_client(&app.db, &client.id), before);
    assert!(
        audit(&app.db, &["--kind", "client.updated"]).is_empty(),
        "a refused update writes no audit event"
    );

    let out = portcullis(
        &app.db,
        &[
            "client",
            "update",
            "no-such-client",
            "--name",
            "X",
            "--json",
        ],
        None,
    );
    refused_with(&out, 1, "no-such-client");
}

#[tokio::test]
async fn disabled_client_tokens_fail_at_userinfo_and_refresh() {
    let app = TestApp::start().await;
    let client = app.code_client();
    let user = app.create_user("alice");
    let tokens = tokens_for(&app, &client, &user, "openid offline_access").await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh_token = tokens["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(userinfo_status(&app, &access).await, 200);

    let shown = run_json(&app.db, &["client", "disable", &client.id]);
    assert_eq!(shown["client_id"], client.id);
    assert_eq!(shown["disabled"], true);
    assert_eq!(show_client(&app.db, &client.id)["disabled"], true);

    assert_eq!(userinfo_status(&app, &access).await, 401);
    assert_oauth_error(
        refresh(&app, &client, &refresh_token).await,
        401,
        "invalid_client",
    );
    assert_oauth_error(
        introspect_raw(&app, &client, &access).await,
        401,
        "invalid_client",
    );
    let (params, _) = code_request(&client, "openid", "st");
    let response = app.browser().authorize(&pairs(&params)).await;
    assert_eq!(response.status(), 400, "an error page, never a redirect");
    assert!(response.headers().get("location").is_none());

    let shown = run_json(&app.db, &["client", "enable", &client.id]);
    assert_eq!(shown["disabled"], false);
    assert_oauth_error(
        refresh(&app, &client, &refresh_token).await,
        400,
        "invalid_grant",
    );
    let fresh = tokens_for(&app, &client, &user, "openid offline_access").await;
    assert_eq!(
        userinfo_status(&app, fresh["access_token"].as_str().unwrap()).await,
        200
    );
    let (status, body) = refresh(&app, &client, fresh["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, 200, "{body}");

    assert_eq!(
        count_kind(
            &audit(&app.db, &["--client", &client.id]),
            "client.disabled"
        ),
        1
    );
    assert_eq!(
        count_kind(&audit(&app.db, &["--client", &client.id]), "client.enabled"),
        1
    );
    let out = portcullis(
        &app.db,
        &["client", "disable", "no-such-client", "--json"],
        None,
    );
    refused_with(&out, 1, "no-such-client");
}

#[tokio::test]
async fn deleted_client_is_gone_and_its_refresh_tokens_with_it() {
    let app = TestApp::start().await;
    let client = app.code_client();
    let user = app.create_user("alice");
    let tokens = tokens_for(&app, &client, &user, "openid offline_access").await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh_token = tokens["refresh_token"].as_str().unwrap().to_owned();

    let out = portcullis(&app.db, &["client", "delete", &client.id, "--json"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    stdout_json(&out);

    let out = portcullis(&app.db, &["client", "show", &client.id, "--json"], None);
    refused_with(&out, 1, &client.id);
    let out = portcullis(&app.db, &["client", "list", "--json"], None);
    assert!(!String::from_utf8_lossy(&out.stdout).contains(&client.id));
    assert_oauth_error(
        refresh(&app, &client, &refresh_token).await,
        401,
        "invalid_client",
    );
    assert_eq!(userinfo_status(&app, &access).await, 401);
    assert!(
        run_json(&app.db, &["user", "consents", "alice"])
            .as_array()
            .unwrap()
            .is_empty(),
        "its consents went with it"
    );

    let out = portcullis(&app.db, &["client", "delete", &client.id, "--json"], None);
    refused_with(&out, 1, &client.id);
    assert_eq!(
        audit(
            &app.db,
            &["--kind", "client.deleted", "--client", &client.id]
        )
        .len(),
        1
    );
}

#[tokio::test]
async fn rotated_secret_keeps_the_old_one_working_for_the_grace_only() {
    let app = TestApp::start().await;
    let original = app.service_client();
    let before = unix_now();
    let out = portcullis(
        &app.db,
        &["client", "rotate-secret", &original.id, "--json"],
        None,
    );
    let after = unix_now();
    assert!(out.status.success(), "{}", stderr(&out));
    let rotated = stdout_json(&out);
    assert_eq!(rotated["client_id"], original.id);
    assert_eq!(rotated["client_secret_expires_at"], 0);
    let renewed = with_secret(&original, &rotated);
    let new_secret = renewed.secret.clone().unwrap();
    assert_eq!(new_secret.len(), 43, "256 bits, base64url");
    assert_ne!(renewed.secret, original.secret);
    assert!(!stderr(&out).contains(&new_secret), "secret in logs");
    let old_expires = rotated["previous_secret_expires_at"].as_i64().unwrap();
    assert!(
        (before + 3600..=after + 3600).contains(&old_expires),
        "default grace 1h: {old_expires} vs {before}..{after}"
    );

    // During the grace both secrets authenticate.
    assert_eq!(client_credentials(&app, &original).await.0, 200);
    assert_eq!(client_credentials(&app, &renewed).await.0, 200);
    let shown = show_client(&app.db, &original.id);
    assert_eq!(shown["previous_secret_expires_at"], old_expires);
    assert!(!shown.to_string().contains(&new_secret));

    // After it, only the new one.
    app.clock.set(old_expires + 1);
    assert_oauth_error(
        client_credentials(&app, &original).await,
        401,
        "invalid_client",
    );
    assert_eq!(client_credentials(&app, &renewed).await.0, 200);

    let events = audit(
        &app.db,
        &["--kind", "client.secret_rotated", "--client", &original.id],
    );
    assert_eq!(events.len(), 1);
    assert!(!events[0].to_string().contains(&new_secret));
    assert!(!events[0]
        .to_string()
        .contains(original.secret.as_deref().unwrap()));
}

#[tokio::test]
async fn grace_takes_units_or_seconds_and_zero_drops_the_old_secret_at_once() {
    let app = TestApp::start().await;
    let service = app.service_client();
    let mut latest: Option<Client> = None;
    for (grace, seconds) in [("90s", 90), ("30m", 1800), ("1h", 3600), ("3600", 3600)] {
        let before = unix_now();
        let rotated = run_json(
            &app.db,
            &["client", "rotate-secret", &service.id, "--grace", grace],
        );
        let after = unix_now();
        let expires = rotated["previous_secret_expires_at"].as_i64().unwrap();
        assert!(
            (before + seconds..=after + seconds).contains(&expires),
            "--grace {grace}: {expires} not in {}..={}",
            before + seconds,
            after + seconds
        );
        latest = Some(with_secret(&service, &rotated));
    }
    let previous = latest.unwrap();

    let rotated = run_json(
        &app.db,
        &["client", "rotate-secret", &service.id, "--grace", "0"],
    );
    let fresh = with_secret(&service, &rotated);
    // The CLI stamps real time; the server's clock started at real time and stood
    // still, so bring it up to the rotation before asking.
    if let Some(rotated_at) = rotated["previous_secret_expires_at"].as_i64() {
        if rotated_at > app.clock.now() {
            app.clock.set(rotated_at);
        }
    }
    assert_oauth_error(
        client_credentials(&app, &previous).await,
        401,
        "invalid_client",
    );
    assert_eq!(client_credentials(&app, &fresh).await.0, 200);

    let before = show_client(&app.db, &service.id);
    for grace in ["soon", "1x"] {
        let out = portcullis(
            &app.db,
            &[
                "client",
                "rotate-secret",
                &service.id,
                "--grace",
                grace,
                "--json",
            ],
            None,
        );
        assert_refused(&out);
    }
    assert_eq!(show_client(&app.db, &service.id), before);
    assert_eq!(client_credentials(&app, &fresh).await.0, 200);
}

#[tokio::test]
async fn rotation_keeps_two_live_secrets_at_most_and_refuses_public_clients() {
    let app = TestApp::start().await;
    let first = app.service_client();
    let second = with_secret(
        &first,
        &run_json(&app.db, &["client", "rotate-secret", &first.id]),
    );
    let third = with_secret(
        &first,
        &run_json(&app.db, &["client", "rotate-secret", &first.id]),
    );
    assert_ne!(second.secret, third.secret);
    assert_oauth_error(
        client_credentials(&app, &first).await,
        401,
        "invalid_client",
    );
    assert_eq!(
        client_credentials(&app, &second).await.0,
        200,
        "in its grace"
    );
    assert_eq!(client_credentials(&app, &third).await.0, 200);

    let public = app.public_client();
    let before = show_client(&app.db, &public.id);
    let out = portcullis(
        &app.db,
        &["client", "rotate-secret", &public.id, "--json"],
        None,
    );
    refused_with(&out, 1, "");
    assert_eq!(show_client(&app.db, &public.id), before);
    assert!(audit(
        &app.db,
        &["--kind", "client.secret_rotated", "--client", &public.id]
    )
    .is_empty());

    let out = portcullis(
        &app.db,
        &["client", "rotate-secret", "no-such-client", "--json"],
        None,
    );
    refused_with(&out, 1, "no-such-client");
}

// ---------------------------------------------------------------------------------
// Users
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn user_show_finds_a_user_by_id_or_username() {
    let app = TestApp::start().await;
    let alice = app.create_user_with("alice", Some("alice@example.com"), Some("Alice Liddell"));
    let shown = run_json(&app.db, &["user", "show", "alice"]);
    assert_eq!(shown["id"], alice.id);
    assert_eq!(shown["username"], "alice");
    assert_eq!(shown["email"], "alice@example.com");
    assert_eq!(shown["email_verified"], false);
    assert_eq!(shown["name"], "Alice Liddell");
    assert_eq!(shown["admin"], false);
    assert_eq!(shown["disabled"], false);
    assert!(shown["locked_until"].is_null(), "{shown}");
    assert_eq!(shown["failed_login_count"], 0);
    assert_eq!(shown["created_at"], app.clock.now());
    assert_eq!(shown["updated_at"], app.clock.now());
    assert!(shown.get("password_hash").is_none());
    assert!(!shown.to_string().contains("argon2"));
    assert_eq!(run_json(&app.db, &["user", "show", &alice.id]), shown);

    let out = portcullis(&app.db, &["user", "show", "nobody", "--json"], None);
    refused_with(&out, 1, "nobody");
    let out = portcullis(&app.db, &["user", "show"], None);
    refused_with(&out, 2, "");
}

#[tokio::test]
async fn user_update_changes_only_the_given_fields_and_refuses_a_bad_email() {
    let app = TestApp::start().await;
    let client = app.code_client();
    let alice = app.create_user_with("alice", Some("alice@example.com"), Some("Alice"));
    let tokens = tokens_for(&app, &client, &alice, "openid email").await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();

    let updated = run_json(
        &app.db,
        &[
            "user",
            "update",
            "alice",
            "--email",
            "alice@new.example",
            "--admin",
            "true",
        ],
    );
    assert_eq!(updated["id"], alice.id);
    assert_eq!(updated["email"], "alice@new.example");
    assert_eq!(updated["admin"], true);
    assert_eq!(updated["name"], "Alice", "omitted: kept");
    assert_eq!(updated["username"], "alice");
    assert_eq!(updated, show_user(&app.db, &alice.id), "printed like show");
    // The server answers with the new address at once.
    let info: Value = app
        .http
        .get(app.url("/userinfo"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["email"], "alice@new.example");

    let updated = run_json(
        &app.db,
        &[
            "user", "update", &alice.id, "--name", "Alice L.", "--admin", "false",
        ],
    );
    assert_eq!(updated["name"], "Alice L.");
    assert_eq!(updated["admin"], false);
    assert_eq!(updated["email"], "alice@new.example", "omitted: kept");

    let before = show_user(&app.db, "alice");
    let out = portcullis(
        &app.db,
        &[
            "user", "update", "alice", "--name", "Not Kept", "--email", "nope", "--json",
        ],
        None,
    );
    refused_with(&out, 1, "email");
    let out = portcullis(
        &app.db,
        &["user", "update", "alice", "--admin", "maybe", "--json"],
        None,
    );
    assert_refused(&out);
    assert_eq!(show_user(&app.db, "alice"), before);
    assert_eq!(
        audit(&app.db, &["--kind", "user.updated", "--user", &alice.id]).len(),
        2,
        "refusals write no event"
    );

    let out = portcullis(
        &app.db,
        &["user", "update", "nobody", "--name", "X", "--json"],
        None,
    );
    refused_with(&out, 1, "nobody");
}

#[tokio::test]
async fn disabled_user_loses_sessions_and_refresh_tokens_until_enabled_and_signed_in_again() {
    let app = TestApp::start().await;
    let client = app.code_client();
    let alice = app.create_user("alice");
    let browser = app.browser();
    let tokens = tokens_in(&app, &browser, &client, &alice, "openid offline_access").await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh_token = tokens["refresh_token"].as_str().unwrap().to_owned();

    let shown = run_json(&app.db, &["user", "disable", "alice"]);
    assert_eq!(shown["id"], alice.id);
    assert_eq!(shown["disabled"], true);
    assert_oauth_error(
        refresh(&app, &client, &refresh_token).await,
        400,
        "invalid_grant",
    );
    assert_eq!(app.introspect(&client, &access).await["active"], false);
    assert!(live_sessions(&app.db, "alice").is_empty());
    // The browser's session no longer counts, and signing in is refused.
    let login = next_step(&browser, &client).await;
    assert!(login.starts_with("/login"), "{login}");
    assert_login_refused(&browser, &login, "alice", PASSWORD).await;

    let shown = run_json(&app.db, &["user", "enable", &alice.id]);
    assert_eq!(shown["disabled"], false);
    assert_oauth_error(
        refresh(&app, &client, &refresh_token).await,
        400,
        "invalid_grant",
    );
    let fresh = tokens_in(&app, &browser, &client, &alice, "openid offline_access").await;
    let (status, body) = refresh(&app, &client, fresh["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, 200, "{body}");

    let events = audit(&app.db, &["--user", &alice.id]);
    assert_eq!(count_kind(&events, "user.disabled"), 1);
    assert_eq!(count_kind(&events, "user.enabled"), 1);
    let out = portcullis(&app.db, &["user", "disable", "nobody", "--json"], None);
    refused_with(&out, 1, "nobody");
}

#[tokio::test]
async fn deleted_user_is_gone_and_their_tokens_fail() {
    let app = TestApp::start().await;
    let client = app.code_client();
    let alice = app.create_user("alice");
    let bob = app.create_user("bob");
    let browser = app.browser();
    let tokens = tokens_in(&app, &browser, &client, &alice, "openid offline_access").await;
    let bobs = tokens_for(&app, &client, &bob, "openid offline_access").await;

    let out = portcullis(&app.db, &["user", "delete", "alice", "--json"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    stdout_json(&out);

    let out = portcullis(&app.db, &["user", "show", &alice.id, "--json"], None);
    refused_with(&out, 1, &alice.id);
    assert_oauth_error(
        refresh(&app, &client, tokens["refresh_token"].as_str().unwrap()).await,
        400,
        "invalid_grant",
    );
    assert_eq!(
        userinfo_status(&app, tokens["access_token"].as_str().unwrap()).await,
        401
    );
    let login = next_step(&browser, &client).await;
    assert!(login.starts_with("/login"), "{login}");
    assert_login_refused(&browser, &login, "alice", PASSWORD).await;

    // Nobody else is touched.
    let (status, body) = refresh(&app, &client, bobs["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(show_user(&app.db, "bob")["id"], bob.id);

    let out = portcullis(&app.db, &["user", "delete", "alice", "--json"], None);
    refused_with(&out, 1, "alice");
    assert_eq!(
        audit(&app.db, &["--kind", "user.deleted", "--user", &alice.id]).len(),
        1
    );
}

#[tokio::test]
async fn unlock_lifts_a_lockout_at_once() {
    let app = TestApp::start_on(
        Arc::new(TestDb::new()),
        &[("PORTCULLIS_LOGIN_RATE_LIMIT", "0".into())],
    )
    .await;
    let client = app.code_client();
    let gina = app.create_user("gina");
    let browser = app.browser();
    let login = next_step(&browser, &client).await;
    for _ in 0..5 {
        assert_login_refused(&browser, &login, "gina", "wrong").await;
    }
    // Locked: the right password fails too, with the same message.
    assert_login_refused(&browser, &login, "gina", PASSWORD).await;
    let shown = show_user(&app.db, "gina");
    assert!(
        shown["locked_until"].as_i64().unwrap() > app.clock.now(),
        "{shown}"
    );
    assert!(
        shown["failed_login_count"].as_i64().unwrap() >= 5,
        "{shown}"
    );

    run_json(&app.db, &["user", "unlock", "gina"]);
    let shown = show_user(&app.db, "gina");
    assert!(shown["locked_until"].is_null(), "{shown}");
    assert_eq!(shown["failed_login_count"], 0);
    // The server's clock has not moved: no waiting out the lock.
    let response = browser.login(&login, "gina", PASSWORD).await;
    assert_eq!(response.status(), 303, "signed in at once");

    let events = audit(&app.db, &["--user", &gina.id]);
    assert!(count_kind(&events, "login.locked") >= 1, "{events:?}");
    assert_eq!(count_kind(&events, "user.unlocked"), 1);
    let out = portcullis(&app.db, &["user", "unlock", "nobody", "--json"], None);
    refused_with(&out, 1, "nobody");
}

#[tokio::test]
async fn set_password_replaces_the_old_password_and_refuses_an_empty_one() {
    let app = TestApp::start().await;
    let client = app.code_client();
    let alice = app.create_user("alice");
    let new_password = "a brand new passphrase";
    let line = format!("{new_password}\n");
    let out = portcullis(
        &app.db,
        &["user", "set-password", "alice", "--password-stdin"],
        Some(line.as_str()),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains(new_password), "password in logs");

    let browser = app.browser();
    let login = next_step(&browser, &client).await;
    assert_login_refused(&browser, &login, "alice", PASSWORD).await;
    let response = browser.login(&login, "alice", new_password).await;
    assert_eq!(response.status(), 303, "the new password signs in");

    let out = portcullis(
        &app.db,
        &["user", "set-password", "alice", "--password-stdin"],
        Some("\n"),
    );
    refused_with(&out, 1, "empty");
    let out = portcullis(
        &app.db,
        &["user", "set-password", "nobody", "--password-stdin"],
        Some("whatever\n"),
    );
    refused_with(&out, 1, "nobody");
    let other = app.browser();
    let login = next_step(&other, &client).await;
    let response = other.login(&login, "alice", new_password).await;
    assert_eq!(response.status(), 303, "refusals changed nothing");

    assert_eq!(
        audit(
            &app.db,
            &["--kind", "user.password_set", "--user", &alice.id]
        )
        .len(),
        1
    );
}

#[tokio::test]
async fn revoked_consent_is_asked_again_and_that_apps_refresh_token_dies() {
    let app = TestApp::start().await;
    let client = app.code_client();
    let other = app.code_client();
    let alice = app.create_user("alice");
    let browser = app.browser();
    let tokens = tokens_in(
        &app,
        &browser,
        &client,
        &alice,
        "openid profile offline_access",
    )
    .await;
    let others = tokens_in(&app, &browser, &other, &alice, "openid offline_access").await;

    let consents = run_json(&app.db, &["user", "consents", "alice"]);
    let consents = consents.as_array().unwrap();
    assert_eq!(consents.len(), 2, "{consents:?}");
    let mine = consents
        .iter()
        .find(|c| c["client_id"] == client.id)
        .unwrap();
    assert_eq!(mine["client_name"], "Test App");
    assert_eq!(
        words(&mine["scope"]),
        words(&json!("openid profile offline_access"))
    );
    assert_eq!(mine["granted_at"], app.clock.now());
    assert!(mine["updated_at"].as_i64().is_some(), "{mine}");

    let out = portcullis(
        &app.db,
        &["user", "revoke-consent", "alice", &client.id, "--json"],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    stdout_json(&out);

    let left = run_json(&app.db, &["user", "consents", &alice.id]);
    let left = left.as_array().unwrap();
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0]["client_id"], other.id);
    assert_oauth_error(
        refresh(&app, &client, tokens["refresh_token"].as_str().unwrap()).await,
        400,
        "invalid_grant",
    );
    let (status, body) = refresh(&app, &other, others["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, 200, "the other app keeps its grant: {body}");
    // Still signed in, but asked again.
    let next = next_step(&browser, &client).await;
    assert!(next.starts_with("/consent"), "{next}");

    let out = portcullis(
        &app.db,
        &["user", "revoke-consent", "alice", &client.id, "--json"],
        None,
    );
    refused_with(&out, 1, "");
    assert_eq!(
        audit(&app.db, &["--kind", "consent.revoked", "--user", &alice.id]).len(),
        1
    );
}

#[tokio::test]
async fn ended_sessions_send_every_browser_of_the_user_back_to_the_login_page() {
    let app = TestApp::start().await;
    let client = app.code_client();
    let alice = app.create_user("alice");
    let bob = app.create_user("bob");
    let first = app.browser();
    let tokens = tokens_in(&app, &first, &client, &alice, "openid").await;
    let id_claims = claims(tokens["id_token"].as_str().unwrap());

    let sessions = live_sessions(&app.db, "alice");
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    assert_eq!(sessions[0]["sid"], id_claims["sid"]);
    assert_eq!(sessions[0]["auth_time"], id_claims["auth_time"]);
    assert!(sessions[0]["last_seen_at"].as_i64().is_some());
    assert!(
        sessions[0]["expires_at"].as_i64().unwrap() > sessions[0]["created_at"].as_i64().unwrap()
    );

    let second = app.browser();
    tokens_in(&app, &second, &client, &alice, "openid").await;
    assert_eq!(live_sessions(&app.db, &alice.id).len(), 2);
    let bobs_browser = app.browser();
    tokens_in(&app, &bobs_browser, &client, &bob, "openid").await;

    let ended = run_json(&app.db, &["user", "end-sessions", "alice"]);
    assert_eq!(ended["ended"], 2);
    assert!(live_sessions(&app.db, "alice").is_empty());
    for browser in [&first, &second] {
        let next = next_step(browser, &client).await;
        assert!(next.starts_with("/login"), "{next}");
    }
    let next = next_step(&bobs_browser, &client).await;
    assert!(
        next.starts_with(REDIRECT_URI),
        "bob stays signed in: {next}"
    );
    assert_eq!(live_sessions(&app.db, "bob").len(), 1);

    let ended = run_json(&app.db, &["user", "end-sessions", "alice"]);
    assert_eq!(ended["ended"], 0);
    assert!(!audit(&app.db, &["--kind", "session.ended", "--user", &alice.id]).is_empty());
    let out = portcullis(&app.db, &["user", "sessions", "nobody", "--json"], None);
    refused_with(&out, 1, "nobody");
}

// ---------------------------------------------------------------------------------
// Audit
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn audit_list_filters_by_kind_user_client_and_time_newest_first() {
    let app = TestApp::start().await;
    let start = app.clock.now();
    let client = app.code_client();
    let alice = app.create_user("alice");
    run_json(
        &app.db,
        &["client", "update", &client.id, "--name", "Audited App"],
    );
    run_json(&app.db, &["client", "disable", &client.id]);
    run_json(&app.db, &["client", "enable", &client.id]);

    let of_client = audit(&app.db, &["--client", &client.id]);
    for event in &of_client {
        for field in [
            "id",
            "occurred_at",
            "kind",
            "actor",
            "user_id",
            "client_id",
            "ip",
            "detail",
        ] {
            assert!(event.get(field).is_some(), "no {field} in {event}");
        }
        assert_eq!(event["client_id"], client.id);
    }
    for kind in [
        "client.created",
        "client.updated",
        "client.disabled",
        "client.enabled",
    ] {
        assert_eq!(count_kind(&of_client, kind), 1, "{kind} in {of_client:?}");
    }
    let disabled = audit(&app.db, &["--kind", "client.disabled"]);
    assert_eq!(disabled.len(), 1, "{disabled:?}");
    assert_eq!(disabled[0]["kind"], "client.disabled");
    assert_eq!(disabled[0]["client_id"], client.id);
    assert!(
        disabled[0]["actor"].is_string(),
        "an admin action names its actor"
    );
    assert_eq!(
        audit(&app.db, &["--client", &client.id, "--limit", "2"]).len(),
        2
    );

    // Later events, on the server's clock.
    app.clock.advance(1000);
    tokens_for(&app, &client, &alice, "openid").await;
    let since = start + 500;
    let recent = audit(&app.db, &["--since", &since.to_string()]);
    assert!(
        recent
            .iter()
            .all(|e| e["occurred_at"].as_i64().unwrap() >= since),
        "{recent:?}"
    );
    assert_eq!(count_kind(&recent, "login.succeeded"), 1, "{recent:?}");
    assert_eq!(count_kind(&recent, "consent.granted"), 1);
    assert!(count_kind(&recent, "authorization_code.issued") >= 1);
    assert_eq!(count_kind(&recent, "client.created"), 0);
    assert_eq!(count_kind(&recent, "client.disabled"), 0);
    let rfc3339 = humantime::format_rfc3339_seconds(
        UNIX_EPOCH + Duration::from_secs(u64::try_from(since).unwrap()),
    )
    .to_string();
    // The same instant in RFC 3339 (a background task may add events meanwhile, so
    // compare one kind).
    let by_number = audit(
        &app.db,
        &["--kind", "login.succeeded", "--since", &since.to_string()],
    );
    assert_eq!(by_number.len(), 1);
    let by_rfc3339 = audit(&app.db, &["--kind", "login.succeeded", "--since", &rfc3339]);
    assert_eq!(ids(&by_rfc3339), ids(&by_number), "--since {rfc3339}");
    assert!(audit(&app.db, &["--kind", "client.created", "--since", &rfc3339]).is_empty());

    let of_alice = audit(&app.db, &["--user", &alice.id]);
    assert!(
        of_alice.iter().all(|e| e["user_id"] == alice.id),
        "{of_alice:?}"
    );
    assert_eq!(count_kind(&of_alice, "user.created"), 1);
    assert_eq!(count_kind(&of_alice, "login.succeeded"), 1);

    let everything = audit(&app.db, &["--limit", "100"]);
    let times: Vec<i64> = everything
        .iter()
        .map(|e| e["occurred_at"].as_i64().unwrap())
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {times:?}"
    );
    assert_eq!(times[0], start + 1000);

    let out = portcullis(
        &app.db,
        &["audit", "list", "--kind", "client.exploded", "--json"],
        None,
    );
    assert_refused(&out);
}

// ---------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------

/// Runs `args --json`, asserts success, and returns the one JSON value printed.
fn run_json(db: &TestDb, args: &[&str]) -> Value {
    let mut args = args.to_vec();
    args.push("--json");
    let out = portcullis(db, &args, None);
    assert!(out.status.success(), "{args:?} failed: {}", stderr(&out));
    stdout_json(&out)
}

fn show_client(db: &TestDb, id: &str) -> Value {
    run_json(db, &["client", "show", id])
}

fn show_user(db: &TestDb, user: &str) -> Value {
    run_json(db, &["user", "show", user])
}

/// `user sessions USER --json`.
fn live_sessions(db: &TestDb, user: &str) -> Vec<Value> {
    run_json(db, &["user", "sessions", user])
        .as_array()
        .unwrap()
        .clone()
}

/// `audit list FILTERS --json`.
fn audit(db: &TestDb, filters: &[&str]) -> Vec<Value> {
    let mut args = vec!["audit", "list"];
    args.extend_from_slice(filters);
    run_json(db, &args).as_array().unwrap().clone()
}

fn count_kind(events: &[Value], kind: &str) -> usize {
    events.iter().filter(|e| e["kind"] == kind).count()
}

fn ids(events: &[Value]) -> Vec<Value> {
    events.iter().map(|e| e["id"].clone()).collect()
}

/// A refused command: `status`, one `error:` line mentioning `mentions`, nothing on stdout.
fn refused_with(out: &Output, status: i32, mentions: &str) {
    assert_fails(out, status, mentions);
    assert!(
        out.stdout.is_empty(),
        "a refused command prints nothing: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// A refused command whose status may be 1 (failure) or 2 (bad usage).
fn assert_refused(out: &Output) {
    assert!(
        matches!(out.status.code(), Some(1 | 2)),
        "{:?}: {}",
        out.status,
        stderr(out)
    );
    let lines = error_lines(out);
    assert_eq!(lines.len(), 1, "one error line expected: {lines:?}");
    assert!(out.stdout.is_empty(), "a refused command prints nothing");
}

/// The words of a space-separated scope value.
fn words(scope: &Value) -> BTreeSet<String> {
    scope
        .as_str()
        .unwrap_or_else(|| panic!("not a scope string: {scope}"))
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

/// `client` holding the secret a rotation printed.
fn with_secret(client: &Client, rotated: &Value) -> Client {
    Client {
        id: client.id.clone(),
        secret: Some(rotated["client_secret"].as_str().unwrap().to_owned()),
    }
}

fn unix_now() -> i64 {
    let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    i64::try_from(since_epoch.as_secs()).unwrap()
}

/// The status and body of a refresh-token grant.
async fn refresh(app: &TestApp, client: &Client, refresh_token: &str) -> (u16, Value) {
    let (status, body) = app
        .token_json(
            client,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
            ],
        )
        .await;
    (status.as_u16(), body)
}

/// The status and body of a client-credentials grant.
async fn client_credentials(app: &TestApp, client: &Client) -> (u16, Value) {
    let (status, body) = app
        .token_json(client, &[("grant_type", "client_credentials")])
        .await;
    (status.as_u16(), body)
}

/// Introspection as `client`, whatever the status.
async fn introspect_raw(app: &TestApp, client: &Client, token: &str) -> (u16, Value) {
    let response = app
        .http
        .post(app.url("/introspect"))
        .basic_auth(&client.id, client.secret.as_deref())
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or_default())
}

fn assert_oauth_error(answer: (u16, Value), status: u16, error: &str) {
    let (got, body) = answer;
    assert_eq!(
        (got, body["error"].as_str()),
        (status, Some(error)),
        "{body}"
    );
}

async fn userinfo_status(app: &TestApp, token: &str) -> u16 {
    app.http
        .get(app.url("/userinfo"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Where a new authorization request of `client` (scope `openid`) in `browser` goes:
/// `/login…`, `/consent…`, or straight back to the client.
async fn next_step(browser: &Browser, client: &Client) -> String {
    let (params, _) = code_request(client, "openid", "st");
    let response = browser.authorize(&pairs(&params)).await;
    assert_eq!(response.status(), 302);
    location(&response)
}

/// Signing in at `login` is refused with the one message for every failure.
async fn assert_login_refused(browser: &Browser, login: &str, username: &str, password: &str) {
    let response = browser.login(login, username, password).await;
    assert_eq!(response.status(), 200, "{username} must not sign in");
    let html = response.text().await.unwrap();
    assert!(html.contains(LOGIN_REFUSED), "{html}");
}

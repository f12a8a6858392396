//! APIs as resources (RFC 8707): registered with `portcullis resource`, named by
//! `resource` at the token endpoint (the access token's `aud`, its scopes, lifetime
//! and algorithm), and introspecting their own tokens with their own credentials
//! (RFC 7662 §2.1).

use serde_json::Value;

use crate::oauth_support::*;
use crate::support::{assert_fails, portcullis, stderr, stdout_json, TestApp, TestDb};

const ORDERS: &str = "https://orders.example.com";
const BILLING: &str = "https://billing.example.com";

fn run_json(db: &TestDb, args: &[&str]) -> Value {
    let mut args = args.to_vec();
    args.push("--json");
    let out = portcullis(db, &args, None);
    assert!(out.status.success(), "{args:?} failed: {}", stderr(&out));
    stdout_json(&out)
}

/// An API allowed to `client`: its JSON (with the secret).
fn api(app: &TestApp, identifier: &str, scope: &str, client: &Client, extra: &[&str]) -> Value {
    let mut args = vec![
        "resource",
        "create",
        "--identifier",
        identifier,
        "--scope",
        scope,
        "--client",
        client.id.as_str(),
    ];
    args.extend_from_slice(extra);
    run_json(&app.db, &args)
}

async fn token_for(app: &TestApp, client: &Client, form: &[(&str, &str)]) -> (u16, Value) {
    let mut form = form.to_vec();
    form.insert(0, ("grant_type", "client_credentials"));
    let response = app.token(client, &form).await;
    (response.status().as_u16(), response.json().await.unwrap())
}

async fn introspect_as(app: &TestApp, id: &str, secret: &str, token: &str) -> reqwest::Response {
    app.http
        .post(app.url("/introspect"))
        .basic_auth(id, Some(secret))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn resources_are_managed_from_the_command_line() {
    let app = TestApp::start().await;
    let service = app.service_client();
    let created = api(
        &app,
        ORDERS,
        "orders:read orders:write",
        &service,
        &["--name", "Orders API"],
    );
    assert_eq!(created["identifier"], ORDERS);
    assert_eq!(created["name"], "Orders API");
    assert_eq!(created["scope"], "orders:read orders:write");
    assert_eq!(created["clients"], serde_json::json!([service.id]));
    assert!(created["secret"].as_str().unwrap().len() >= 32);
    let id = created["id"].as_str().unwrap();

    let listed = run_json(&app.db, &["resource", "list"]);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert!(
        listed[0].get("secret").is_none(),
        "the secret is shown once"
    );
    let shown = run_json(&app.db, &["resource", "show", ORDERS]);
    assert_eq!(shown["id"], id);
    let updated = run_json(
        &app.db,
        &[
            "resource",
            "update",
            id,
            "--identifier",
            ORDERS,
            "--scope",
            "orders:read",
            "--access-token-lifetime",
            "120",
        ],
    );
    assert_eq!(updated["scope"], "orders:read");
    assert_eq!(updated["access_token_lifetime"], 120);
    assert_eq!(updated["clients"], serde_json::json!([]));

    // Bad input is refused and writes nothing.
    for (args, says) in [
        (
            vec!["--identifier", "https://x.example/#frag", "--scope", "a"],
            "fragment",
        ),
        (
            vec!["--identifier", "not a uri", "--scope", "a"],
            "absolute URI",
        ),
        (vec!["--identifier", BILLING, "--scope", ""], "scope"),
        (
            vec![
                "--identifier",
                BILLING,
                "--scope",
                "a",
                "--client",
                "nobody",
            ],
            "nobody",
        ),
        (
            vec![
                "--identifier",
                BILLING,
                "--scope",
                "a",
                "--signing-alg",
                "HS256",
            ],
            "HS256",
        ),
        (
            vec!["--identifier", ORDERS, "--scope", "a"],
            "exists already",
        ),
    ] {
        let mut full = vec!["resource", "create"];
        full.extend(args);
        let out = portcullis(&app.db, &full, None);
        assert_fails(&out, 1, says);
    }
    // Longer than access_token_lifetime would outlive its key; the issuer is the
    // audience of tokens requested without a resource.
    for (args, says) in [
        (
            vec![
                "--identifier",
                BILLING,
                "--scope",
                "a",
                "--access-token-lifetime",
                "901",
            ],
            "60 to 900",
        ),
        // The command line's issuer (these commands get the default).
        (
            vec!["--identifier", "http://127.0.0.1:8080", "--scope", "a"],
            "issuer",
        ),
    ] {
        let mut full = vec!["resource", "create"];
        full.extend(args);
        let out = portcullis(&app.db, &full, None);
        assert_fails(&out, 1, says);
    }
    assert_eq!(
        run_json(&app.db, &["resource", "list"])
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let deleted = run_json(&app.db, &["resource", "delete", ORDERS]);
    assert_eq!(deleted["id"], id);
    let out = portcullis(&app.db, &["resource", "show", ORDERS], None);
    assert_fails(&out, 1, ORDERS);
    let events = run_json(&app.db, &["audit", "list", "--kind", "resource.created"]);
    assert_eq!(events.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_named_resource_is_the_tokens_audience_with_its_scopes_lifetime_and_algorithm() {
    let app = TestApp::start().await;
    let service = app.service_client();
    api(
        &app,
        ORDERS,
        "orders:read orders:write",
        &service,
        &["--access-token-lifetime", "120", "--signing-alg", "RS256"],
    );
    let (status, body) = token_for(
        &app,
        &service,
        &[("resource", ORDERS), ("scope", "orders:read")],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let token = body["access_token"].as_str().unwrap();
    let access = claims(token);
    assert_eq!(access["aud"], ORDERS);
    assert_eq!(access["scope"], "orders:read");
    assert_eq!(body["scope"], "orders:read");
    assert_eq!(body["expires_in"], 120);
    assert_eq!(header(token)["alg"], "RS256");
    assert_eq!(header(token)["typ"], "at+jwt");

    // No scope asked: all of the API's scopes.
    let (_, body) = token_for(&app, &service, &[("resource", ORDERS)]).await;
    assert_eq!(
        claims(body["access_token"].as_str().unwrap())["scope"],
        "orders:read orders:write"
    );

    // Without `resource`: the client's own scope and the default audience, as before.
    let (status, body) = token_for(&app, &service, &[]).await;
    assert_eq!(status, 200);
    assert_eq!(
        claims(body["access_token"].as_str().unwrap())["aud"],
        app.base_url
    );
}

#[tokio::test]
async fn an_unknown_unallowed_or_malformed_resource_is_invalid_target() {
    let app = TestApp::start().await;
    let service = app.service_client();
    let other = app.service_client();
    api(&app, ORDERS, "orders:read", &other, &[]);
    for resource in [
        ORDERS,
        BILLING,
        "not-a-uri",
        "https://orders.example.com/#x",
    ] {
        let (status, body) = token_for(&app, &service, &[("resource", resource)]).await;
        assert_eq!(status, 400, "{resource}: {body}");
        assert_eq!(body["error"], "invalid_target", "{resource}");
    }
    // A scope the API does not define is invalid_scope (RFC 6749 §5.2).
    let (status, body) = token_for(
        &app,
        &other,
        &[("resource", ORDERS), ("scope", "orders:write")],
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_scope");
}

#[tokio::test]
async fn an_api_introspects_its_own_tokens_and_no_other() {
    let app = TestApp::start().await;
    let service = app.service_client();
    let orders = api(&app, ORDERS, "orders:read", &service, &[]);
    api(&app, BILLING, "billing:read", &service, &[]);
    let (id, secret) = (
        orders["id"].as_str().unwrap(),
        orders["secret"].as_str().unwrap(),
    );

    let (_, mine) = token_for(&app, &service, &[("resource", ORDERS)]).await;
    let mine = mine["access_token"].as_str().unwrap().to_owned();
    let answer = introspect_as(&app, id, secret, &mine).await;
    assert_eq!(answer.status(), 200);
    let cache = answer.headers()["cache-control"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cache.starts_with("private, max-age="), "{cache}");
    let max_age: i64 = cache.rsplit('=').next().unwrap().parse().unwrap();
    assert!((1..=5).contains(&max_age), "{cache}");
    let body: Value = answer.json().await.unwrap();
    assert_eq!(body["active"], true);
    assert_eq!(body["aud"], ORDERS);
    assert_eq!(body["client_id"], service.id);

    // Another API's token and a token for no API: inactive, not cacheable.
    let (_, theirs) = token_for(&app, &service, &[("resource", BILLING)]).await;
    let (_, plain) = token_for(&app, &service, &[]).await;
    for token in [&theirs["access_token"], &plain["access_token"]] {
        let answer = introspect_as(&app, id, secret, token.as_str().unwrap()).await;
        assert_eq!(answer.headers()["cache-control"], "no-store");
        let body: Value = answer.json().await.unwrap();
        assert_eq!(body, serde_json::json!({ "active": false }));
    }

    // Revoked by its client: inactive for the API at once.
    let revoked = app
        .http
        .post(app.url("/revoke"))
        .basic_auth(&service.id, service.secret.as_deref())
        .form(&[("token", mine.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    let body: Value = introspect_as(&app, id, secret, &mine)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["active"], false);

    // A disabled client's tokens are inactive too.
    let (_, fresh) = token_for(&app, &service, &[("resource", ORDERS)]).await;
    let fresh = fresh["access_token"].as_str().unwrap().to_owned();
    run_json(&app.db, &["client", "disable", &service.id]);
    let body: Value = introspect_as(&app, id, secret, &fresh)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["active"], false);

    // A wrong secret reads like every failed client authentication.
    let refused = introspect_as(&app, id, "wrong", &fresh).await;
    assert_eq!(refused.status(), 401);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");
    assert_eq!(body["error_description"], "client authentication failed");
}

/// A confidential code client (APIs allow it by id).
fn web_client_for(app: &TestApp) -> Client {
    app.create_client(portcullis::protocol::client_metadata::ClientRegistration {
        name: "Web".into(),
        redirect_uris: vec![REDIRECT_URI.into()],
        scope: Some("openid offline_access".into()),
        ..Default::default()
    })
}

/// The authorization request of `client` for `scope` at `resource`.
fn request_at(client: &Client, scope: &str, resource: &str) -> (Vec<(String, String)>, String) {
    let (mut params, verifier) = code_request(client, scope, "st-res");
    params.push(("resource".into(), resource.into()));
    (params, verifier)
}

#[tokio::test]
async fn a_user_grant_for_a_resource_mints_its_tokens_with_roles_when_it_opts_in() {
    let app = TestApp::start().await;
    let web = web_client_for(&app);
    api(&app, ORDERS, "orders:read orders:write", &web, &["--roles"]);
    let alice = app.create_user("alice");
    run_json(&app.db, &["user", "roles", "alice", "--add", "admin"]);

    // The API's scopes may be asked because the request names the API, and the
    // consent page names the API and says it will see the user's roles.
    let browser = app.browser();
    let (params, verifier) = request_at(&web, "openid offline_access orders:read", ORDERS);
    let response = browser.authorize(&pairs(&params)).await;
    let signed_in = browser
        .login(&location(&response), &alice.username, PASSWORD)
        .await;
    let consent = location(&signed_in);
    let page = browser.get(&consent).await.text().await.unwrap();
    assert!(page.contains("it will see your roles and groups"), "{page}");
    let back = browser.consent(&consent, "allow").await;
    let query = query_of(&location(&back));
    let tokens = exchange_code(&app, &web, &query["code"], &verifier).await;
    let access = claims(tokens["access_token"].as_str().unwrap());
    assert_eq!(access["aud"], ORDERS);
    assert_eq!(access["scope"], "offline_access openid orders:read");
    assert_eq!(access["roles"], serde_json::json!(["admin"]));
    assert_eq!(access["groups"], serde_json::json!([]));
    // The ID token is the client's, as ever.
    assert_eq!(claims(tokens["id_token"].as_str().unwrap())["aud"], web.id);

    // A refresh naming another resource is invalid_target and spends nothing.
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let refused = app
        .token(
            &web,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh),
                ("resource", BILLING),
            ],
        )
        .await;
    assert_eq!(refused.status(), 400);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "invalid_target");
    let rotated = app
        .token(
            &web,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh),
                ("resource", ORDERS),
            ],
        )
        .await;
    assert_eq!(rotated.status(), 200);
    let rotated: Value = rotated.json().await.unwrap();
    let access = claims(rotated["access_token"].as_str().unwrap());
    assert_eq!(access["aud"], ORDERS);

    // An admin's change reaches the next token; a refresh may narrow the scope.
    run_json(&app.db, &["user", "roles", "alice", "--add", "auditor"]);
    let narrowed = app
        .token(
            &web,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", rotated["refresh_token"].as_str().unwrap()),
                ("scope", "openid orders:read"),
            ],
        )
        .await;
    assert_eq!(narrowed.status(), 200);
    let narrowed: Value = narrowed.json().await.unwrap();
    let access = claims(narrowed["access_token"].as_str().unwrap());
    assert_eq!(access["roles"], serde_json::json!(["admin", "auditor"]));
    assert_eq!(access["scope"], "openid orders:read");
}

#[tokio::test]
async fn roles_reach_only_the_apis_that_opted_in() {
    let app = TestApp::start().await;
    let web = web_client_for(&app);
    api(&app, BILLING, "billing:read", &web, &[]);
    let alice = app.create_user("alice");
    run_json(&app.db, &["user", "roles", "alice", "--add", "admin"]);
    let browser = app.browser();
    let (params, verifier) = request_at(&web, "openid billing:read", BILLING);
    let query = browser.sign_in_and_allow(&pairs(&params), &alice).await;
    let tokens = exchange_code(&app, &web, &query["code"], &verifier).await;
    let access = claims(tokens["access_token"].as_str().unwrap());
    assert_eq!(access["aud"], BILLING);
    assert!(access.get("roles").is_none(), "{access}");
}

#[tokio::test]
async fn an_api_sees_a_disabled_user_in_introspection_at_once() {
    let app = TestApp::start().await;
    let web = web_client_for(&app);
    let orders = api(&app, ORDERS, "orders:read", &web, &[]);
    let (id, secret) = (
        orders["id"].as_str().unwrap(),
        orders["secret"].as_str().unwrap(),
    );
    let alice = app.create_user("alice");
    let browser = app.browser();
    let (params, verifier) = request_at(&web, "openid orders:read", ORDERS);
    let query = browser.sign_in_and_allow(&pairs(&params), &alice).await;
    let tokens = exchange_code(&app, &web, &query["code"], &verifier).await;
    let token = tokens["access_token"].as_str().unwrap();
    let body: Value = introspect_as(&app, id, secret, token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["active"], true);
    assert_eq!(body["sub"], alice.id);
    run_json(&app.db, &["user", "disable", "alice"]);
    let body: Value = introspect_as(&app, id, secret, token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body, serde_json::json!({ "active": false }));
}

#[tokio::test]
async fn a_resource_the_client_may_not_use_is_refused_at_the_authorization_endpoint() {
    let app = TestApp::start().await;
    let web = web_client_for(&app);
    let other = app.service_client();
    api(&app, ORDERS, "orders:read", &other, &[]);
    let browser = app.browser();
    for resource in [ORDERS, BILLING, "not a uri"] {
        let (params, _) = request_at(&web, "openid orders:read", resource);
        let response = browser.authorize(&pairs(&params)).await;
        assert_eq!(response.status(), 302, "{resource}");
        let query = query_of(&location(&response));
        assert_eq!(query["error"], "invalid_target", "{resource}");
        assert_eq!(query["state"], "st-res");
    }
    // Without the resource, its scopes are not the client's to ask.
    let (params, _) = code_request(&web, "openid orders:read", "st");
    let response = browser.authorize(&pairs(&params)).await;
    assert_eq!(query_of(&location(&response))["error"], "invalid_scope");
}

#[tokio::test]
async fn a_code_is_redeemed_only_for_the_resource_it_was_granted_for() {
    let app = TestApp::start().await;
    let web = web_client_for(&app);
    api(&app, ORDERS, "orders:read", &web, &[]);
    api(&app, BILLING, "billing:read", &web, &[]);
    let alice = app.create_user("alice");
    let browser = app.browser();
    let (params, verifier) = request_at(&web, "openid orders:read", ORDERS);
    let query = browser.sign_in_and_allow(&pairs(&params), &alice).await;
    let refused = app
        .token(
            &web,
            &[
                ("grant_type", "authorization_code"),
                ("code", query["code"].as_str()),
                ("redirect_uri", REDIRECT_URI),
                ("code_verifier", verifier.as_str()),
                ("resource", BILLING),
            ],
        )
        .await;
    assert_eq!(refused.status(), 400);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "invalid_target");
}

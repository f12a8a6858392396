//! The token endpoint: the three grants, client authentication, and every failure
//! path of DESIGN.md §3.

use std::sync::Arc;

use crate::oauth_support::*;
use crate::support::{TestApp, TestDb};

async fn code_for(app: &TestApp, client: &Client, user: &User) -> (String, String) {
    let (params, verifier) = code_request(client, "openid profile offline_access", "s");
    let query = app.browser().sign_in_and_allow(&pairs(&params), user).await;
    (query["code"].clone(), verifier)
}

#[tokio::test]
async fn code_exchange_issues_an_rfc_9068_access_token_and_a_refresh_token() {
    let app = TestApp::start().await;
    let client = app.code_client();
    let user = app.create_user("alice");
    let (code, verifier) = code_for(&app, &client, &user).await;
    let response = app
        .token(
            &client,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT_URI),
                ("code_verifier", &verifier),
            ],
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["pragma"], "no-cache");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert_eq!(body["scope"], "offline_access openid profile");
    assert!(body["refresh_token"].as_str().unwrap().len() >= 43);
    assert_eq!(header(body["id_token"].as_str().unwrap())["alg"], "RS256");
    let at = body["access_token"].as_str().unwrap();
    assert_eq!(header(at)["typ"], "at+jwt");
    assert_eq!(header(at)["alg"], "ES256");
    let c = claims(at);
    assert_eq!(c["iss"], app.base_url);
    assert_eq!(c["sub"], user.id);
    assert_eq!(c["aud"], app.base_url);
    assert_eq!(c["client_id"], client.id);
    assert_eq!(c["scope"], "offline_access openid profile");
    assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), 900);
    assert!(c["jti"].as_str().is_some());
    let intro = app.introspect(&client, at).await;
    assert_eq!(intro["active"], true);
    assert_eq!(intro["username"], "alice");
}

#[tokio::test]
async fn a_replayed_code_is_invalid_grant_and_revokes_what_it_issued() {
    let app = TestApp::start().await;
    let client = app.code_client();
    let user = app.create_user("alice");
    let (code, verifier) = code_for(&app, &client, &user).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT_URI),
        ("code_verifier", verifier.as_str()),
    ];
    let (status, first) = app.token_json(&client, &form).await;
    assert_eq!(status, 200);
    let (status, second) = app.token_json(&client, &form).await;
    assert_eq!(status, 400);
    assert_eq!(second["error"], "invalid_grant");
    let at = first["access_token"].as_str().unwrap();
    let rt = first["refresh_token"].as_str().unwrap();
    assert_eq!(
        app.introspect(&client, at).await["active"],
        false,
        "access token revoked"
    );
    assert_eq!(
        app.introspect(&client, rt).await["active"],
        false,
        "refresh token revoked"
    );
    let (status, body) = app
        .token_json(
            &client,
            &[("grant_type", "refresh_token"), ("refresh_token", rt)],
        )
        .await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn pkce_downgrades_and_mismatches_are_invalid_grant() {
    let app = TestApp::start().await;
    let client = app.code_client();
    let user = app.create_user("alice");
    for verifier_case in ["missing", "wrong", "challenge-as-verifier"] {
        let (params, _) = code_request(&client, "openid", "s");
        let challenge = params
            .iter()
            .find(|(k, _)| k == "code_challenge")
            .unwrap()
            .1
            .clone();
        let query = app
            .browser()
            .sign_in_and_allow(&pairs(&params), &user)
            .await;
        let (wrong, _) = pkce_pair();
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", query["code"].as_str()),
            ("redirect_uri", REDIRECT_URI),
        ];
        match verifier_case {
            "wrong" => form.push(("code_verifier", &wrong)),
            "challenge-as-verifier" => form.push(("code_verifier", &challenge)),
            _ => {}
        }
        let (status, body) = app.token_json(&client, &form).await;
        assert_eq!(
            (status.as_u16(), body["error"].as_str()),
            (400, Some("invalid_grant")),
            "{verifier_case}"
        );
    }
    // A verifier for a code issued without a challenge (PKCE relaxed for confidential clients).
    let relaxed = TestApp::start_on(
        Arc::new(TestDb::new()),
        &[(
            "PORTCULLIS_PKCE_REQUIRED_FOR_CONFIDENTIAL_CLIENTS",
            "false".into(),
        )],
    )
    .await;
    let client = relaxed.code_client();
    let user = relaxed.create_user("bob");
    let params = [
        ("response_type", "code"),
        ("client_id", client.id.as_str()),
        ("redirect_uri", REDIRECT_URI),
        ("state", "s"),
    ];
    let query = relaxed.browser().sign_in_and_allow(&params, &user).await;
    let (verifier, _) = pkce_pair();
    let (status, body) = relaxed
        .token_json(
            &client,
            &[
                ("grant_type", "authorization_code"),
                ("code", &query["code"]),
                ("redirect_uri", REDIRECT_URI),
                ("code_verifier", &verifier),
            ],
        )
        .await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn codes_are_bound_to_redirect_uri_client_and_lifetime() {
    let app = TestApp::start().await;
    let client = app.code_client();
    let other = app.code_client();
    let user = app.create_user("alice");
    let (code, verifier) = code_for(&app, &client, &user).await;
    let (status, body) = app
        .token_json(
            &other,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT_URI),
                ("code_verifier", &verifier),
            ],
        )
        .await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (400, Some("invalid_grant")),
        "another client"
    );
    let (status, body) = app
        .token_json(
            &client,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("code_verifier", &verifier),
            ],
        )
        .await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (400, Some("invalid_grant")),
        "redirect_uri missing"
    );

    let (code, verifier) = code_for(&app, &client, &user).await;
    app.clock.advance(61);
    let (status, body) = app
        .token_json(
            &client,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT_URI),
                ("code_verifier", &verifier),
            ],
        )
        .await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (400, Some("invalid_grant")),
        "expired after 60 s"
    );
}

#[tokio::test]
async fn client_authentication_must_use_the_registered_method() {
    let app = TestApp::start().await;
    let client = app.code_client();
    let secret = client.secret.clone().unwrap();
    let form = [("grant_type", "authorization_code"), ("code", "x")];
    // Registered for basic; the secret in the body is refused.
    let response = app
        .http
        .post(app.url("/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", "x"),
            ("client_id", &client.id),
            ("client_secret", &secret),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert!(response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Basic"));
    assert_eq!(
        response.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_client"
    );
    // Wrong secret with basic: 401 and WWW-Authenticate.
    let response = app
        .http
        .post(app.url("/token"))
        .basic_auth(&client.id, Some("wrong"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert!(response.headers().contains_key("www-authenticate"));
    // No authentication at all.
    let response = app
        .http
        .post(app.url("/token"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    // A public client presenting a secret is not a public client.
    let public = app.public_client();
    let response = app
        .http
        .post(app.url("/token"))
        .basic_auth(&public.id, Some("x"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    // A disabled client cannot authenticate.
    app.sql(&format!(
        "UPDATE clients SET disabled = TRUE WHERE id = '{}'",
        client.id
    ));
    let response = app
        .http
        .post(app.url("/token"))
        .basic_auth(&client.id, Some(&secret))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn client_secret_post_clients_authenticate_in_the_body() {
    let app = TestApp::start().await;
    let client = app.create_client(portcullis::protocol::client_metadata::ClientRegistration {
        name: "Post".into(),
        grant_types: vec!["client_credentials".into()],
        scope: Some("read".into()),
        token_endpoint_auth_method: Some("client_secret_post".into()),
        ..Default::default()
    });
    let secret = client.secret.clone().unwrap();
    let response = app
        .http
        .post(app.url("/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &client.id),
            ("client_secret", &secret),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let response = app
        .http
        .post(app.url("/token"))
        .basic_auth(&client.id, Some(&secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401, "basic is not its method");
}

#[tokio::test]
async fn client_credentials_stay_within_the_registered_scope_without_refresh_tokens() {
    let app = TestApp::start().await;
    let service = app.service_client();
    let (status, body) = app
        .token_json(&service, &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["scope"], "read write");
    assert!(body.get("refresh_token").is_none());
    let c = claims(body["access_token"].as_str().unwrap());
    assert_eq!(c["sub"], service.id);
    assert_eq!(c["client_id"], service.id);
    let (_, body) = app
        .token_json(
            &service,
            &[("grant_type", "client_credentials"), ("scope", "read")],
        )
        .await;
    assert_eq!(body["scope"], "read");
    let (status, body) = app
        .token_json(
            &service,
            &[
                ("grant_type", "client_credentials"),
                ("scope", "read admin"),
            ],
        )
        .await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (400, Some("invalid_scope"))
    );
    // A code client is not registered for it.
    let code_client = app.code_client();
    let (status, body) = app
        .token_json(&code_client, &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (400, Some("unauthorized_client"))
    );
    let (status, body) = app
        .token_json(&service, &[("grant_type", "password")])
        .await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );
    // Introspection of its token.
    let intro = app
        .introspect(&service, body_token(&app, &service).await.as_str())
        .await;
    assert_eq!(intro["active"], true);
    assert_eq!(intro["client_id"], service.id);
}

async fn body_token(app: &TestApp, client: &Client) -> String {
    let (_, body) = app
        .token_json(client, &[("grant_type", "client_credentials")])
        .await;
    body["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn malformed_requests_are_invalid_request_never_a_server_error() {
    let app = TestApp::start().await;
    let service = app.service_client();
    let secret = service.secret.clone().unwrap();
    let json = app
        .http
        .post(app.url("/token"))
        .basic_auth(&service.id, Some(&secret))
        .json(&serde_json::json!({ "grant_type": "client_credentials" }))
        .send()
        .await
        .unwrap();
    assert_eq!(json.status(), 400);
    assert_eq!(
        json.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_request"
    );
    let duplicate = app
        .http
        .post(app.url("/token"))
        .basic_auth(&service.id, Some(&secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials&grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    assert_eq!(duplicate.status(), 400);
    assert_eq!(
        duplicate.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_request"
    );
    let garbage = app
        .http
        .post(app.url("/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(vec![0xff, 0xfe, b'%', b'='])
        .send()
        .await
        .unwrap();
    assert!(garbage.status().is_client_error());
    let (status, body) = app.token_json(&service, &[]).await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (400, Some("invalid_request"))
    );
}

#[tokio::test]
async fn refresh_rotates_and_reuse_after_the_grace_window_revokes_the_family() {
    let app = TestApp::start().await;
    let client = app.code_client();
    let user = app.create_user("alice");
    let first = tokens_for(&app, &client, &user, "openid profile offline_access").await;
    let rt1 = first["refresh_token"].as_str().unwrap().to_owned();
    let (status, second) = app
        .token_json(
            &client,
            &[("grant_type", "refresh_token"), ("refresh_token", &rt1)],
        )
        .await;
    assert_eq!(status, 200, "{second}");
    let rt2 = second["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(rt1, rt2);
    // Scope may narrow, never widen.
    let (status, body) = app
        .token_json(
            &client,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &rt2),
                ("scope", "openid email"),
            ],
        )
        .await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (400, Some("invalid_scope"))
    );
    let (status, narrowed) = app
        .token_json(
            &client,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &rt2),
                ("scope", "openid"),
            ],
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(narrowed["scope"], "openid");
    let rt3 = narrowed["refresh_token"].as_str().unwrap().to_owned();
    // rt1 again, long after: reuse. The whole family dies, rt3 included.
    app.clock.advance(10);
    let (status, body) = app
        .token_json(
            &client,
            &[("grant_type", "refresh_token"), ("refresh_token", &rt1)],
        )
        .await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, _) = app
        .token_json(
            &client,
            &[("grant_type", "refresh_token"), ("refresh_token", &rt3)],
        )
        .await;
    assert_eq!(status, 400, "the family is revoked");
    assert_eq!(
        app.introspect(&client, narrowed["access_token"].as_str().unwrap())
            .await["active"],
        false
    );
}

#[tokio::test]
async fn a_retry_inside_the_grace_window_gets_the_same_answer() {
    let app = TestApp::start().await;
    let client = app.code_client();
    let user = app.create_user("alice");
    let first = tokens_for(&app, &client, &user, "openid offline_access").await;
    let rt1 = first["refresh_token"].as_str().unwrap().to_owned();
    let (_, a) = app
        .token_json(
            &client,
            &[("grant_type", "refresh_token"), ("refresh_token", &rt1)],
        )
        .await;
    app.clock.advance(3);
    let (status, b) = app
        .token_json(
            &client,
            &[("grant_type", "refresh_token"), ("refresh_token", &rt1)],
        )
        .await;
    assert_eq!(status, 200, "{b}");
    assert_eq!(a["refresh_token"], b["refresh_token"]);
    assert_eq!(
        claims(a["access_token"].as_str().unwrap())["jti"],
        claims(b["access_token"].as_str().unwrap())["jti"]
    );
    // The family lives on.
    let (status, _) = app
        .token_json(
            &client,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", a["refresh_token"].as_str().unwrap()),
            ],
        )
        .await;
    assert_eq!(status, 200);
    // Another client presenting it gets nothing, and kills nothing.
    let other = app.code_client();
    let (status, _) = app
        .token_json(
            &other,
            &[("grant_type", "refresh_token"), ("refresh_token", &rt1)],
        )
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn concurrent_refreshes_of_one_token_leave_one_live_successor() {
    let app = TestApp::start().await;
    let client = app.code_client();
    let user = app.create_user("alice");
    let first = tokens_for(&app, &client, &user, "openid offline_access").await;
    let rt = first["refresh_token"].as_str().unwrap().to_owned();
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let (http, url, client, rt) = (
            app.http.clone(),
            app.url("/token"),
            client.clone(),
            rt.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let response = http
                .post(url)
                .basic_auth(&client.id, client.secret.as_deref())
                .form(&[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", rt.as_str()),
                ])
                .send()
                .await
                .unwrap();
            let status = response.status();
            let text = response.text().await.unwrap();
            // A body that is not JSON (a failure page) still shows up in the message below.
            let body = serde_json::from_str::<serde_json::Value>(&text)
                .unwrap_or(serde_json::Value::String(text));
            (status, body)
        }));
    }
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    // Every request is either the rotation, a retry of it inside the grace window
    // (200), or refused as a client error (400 invalid_grant) — never a server error
    // from the race, and never another kind of refusal.
    for (status, body) in &answers {
        match status.as_u16() {
            200 => assert!(
                body["refresh_token"].is_string() && body["access_token"].is_string(),
                "a 200 without tokens: {answers:?}"
            ),
            400 => assert_eq!(
                body["error"], "invalid_grant",
                "a 400 other than invalid_grant: {answers:?}"
            ),
            _ => panic!("{status} from a concurrent refresh: {answers:?}"),
        }
    }
    let winners: Vec<&serde_json::Value> = answers
        .iter()
        .filter(|(s, _)| *s == 200)
        .map(|(_, b)| b)
        .collect();
    assert!(!winners.is_empty(), "no request succeeded: {answers:?}");
    // One rotation: every winner got the same successor, and the same access token
    // (the retries are answered with the rotation's own `jti`).
    let mut successors: Vec<&str> = winners
        .iter()
        .map(|b| b["refresh_token"].as_str().unwrap())
        .collect();
    successors.sort_unstable();
    successors.dedup();
    assert_eq!(
        successors.len(),
        1,
        "every winner got the same successor: {answers:?}"
    );
    let mut jtis: Vec<String> = winners
        .iter()
        .map(|b| claims(b["access_token"].as_str().unwrap())["jti"].to_string())
        .collect();
    jtis.sort_unstable();
    jtis.dedup();
    assert_eq!(jtis.len(), 1, "one rotation, one access token: {jtis:?}");
    let successor = successors[0].to_owned();
    // That successor is live; the family is alive.
    let (status, body) = app
        .token_json(
            &client,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &successor),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn refresh_tokens_die_with_the_user_the_client_or_the_consent() {
    let app = TestApp::start().await;
    let client = app.code_client();
    let alice = app.create_user("alice");
    for kill in ["user", "consent", "client"] {
        let tokens = tokens_for(&app, &client, &alice, "openid offline_access").await;
        let rt = tokens["refresh_token"].as_str().unwrap();
        match kill {
            "user" => app.sql(&format!(
                "UPDATE users SET disabled = TRUE WHERE id = '{}'",
                alice.id
            )),
            "consent" => app.sql(&format!(
                "DELETE FROM consents WHERE user_id = '{}'",
                alice.id
            )),
            _ => app.sql(&format!(
                "UPDATE clients SET disabled = TRUE WHERE id = '{}'",
                client.id
            )),
        }
        if kill == "user" {
            assert_eq!(
                app.introspect(&client, tokens["access_token"].as_str().unwrap())
                    .await["active"],
                false
            );
        }
        let (status, body) = app
            .token_json(
                &client,
                &[("grant_type", "refresh_token"), ("refresh_token", rt)],
            )
            .await;
        let expected = if kill == "client" { 401 } else { 400 };
        assert_eq!(status.as_u16(), expected, "{kill}: {body}");
        app.sql(&format!(
            "UPDATE users SET disabled = FALSE WHERE id = '{}'",
            alice.id
        ));
        if kill != "client" {
            let (status, _) = app
                .token_json(
                    &client,
                    &[("grant_type", "refresh_token"), ("refresh_token", rt)],
                )
                .await;
            assert_eq!(status, 400, "{kill}: the family stays revoked");
        }
    }
}

#[tokio::test]
async fn refresh_tokens_expire_when_idle() {
    let app = TestApp::start_on(
        Arc::new(TestDb::new()),
        &[("PORTCULLIS_REFRESH_TOKEN_IDLE_LIFETIME", "100".into())],
    )
    .await;
    let client = app.code_client();
    let user = app.create_user("alice");
    let tokens = tokens_for(&app, &client, &user, "openid offline_access").await;
    app.clock.advance(101);
    let (status, body) = app
        .token_json(
            &client,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
            ],
        )
        .await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn revocation_and_introspection_serve_only_the_owning_client() {
    let app = TestApp::start().await;
    let client = app.code_client();
    let other = app.code_client();
    let user = app.create_user("alice");
    let tokens = tokens_for(&app, &client, &user, "openid offline_access").await;
    let (at, rt) = (
        tokens["access_token"].as_str().unwrap(),
        tokens["refresh_token"].as_str().unwrap(),
    );
    assert_eq!(
        app.introspect(&other, at).await,
        serde_json::json!({ "active": false })
    );
    assert_eq!(
        app.introspect(&other, rt).await,
        serde_json::json!({ "active": false })
    );
    assert_eq!(
        app.introspect(&client, "garbage").await,
        serde_json::json!({ "active": false })
    );
    let revoke = |who: &Client, token: &str| {
        app.http
            .post(app.url("/revoke"))
            .basic_auth(who.id.clone(), who.secret.clone())
            .form(&[("token", token.to_owned())])
            .send()
    };
    // Another client's revocation does nothing (and says 200).
    assert_eq!(revoke(&other, rt).await.unwrap().status(), 200);
    assert_eq!(app.introspect(&client, rt).await["active"], true);
    // The owner revokes the access token.
    assert_eq!(revoke(&client, at).await.unwrap().status(), 200);
    assert_eq!(app.introspect(&client, at).await["active"], false);
    assert_eq!(app.introspect(&client, rt).await["active"], true);
    // Revoking the refresh token kills the family.
    assert_eq!(revoke(&client, rt).await.unwrap().status(), 200);
    assert_eq!(app.introspect(&client, rt).await["active"], false);
    let (status, _) = app
        .token_json(
            &client,
            &[("grant_type", "refresh_token"), ("refresh_token", rt)],
        )
        .await;
    assert_eq!(status, 400);
    // Unauthenticated callers are refused.
    let response = app
        .http
        .post(app.url("/revoke"))
        .form(&[("token", rt)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let response = app
        .http
        .post(app.url("/introspect"))
        .form(&[("token", rt)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn purging_removes_only_what_has_expired() {
    let app = TestApp::start().await;
    let client = app.code_client();
    let user = app.create_user("alice");
    let tokens = tokens_for(&app, &client, &user, "openid offline_access").await;
    let rt = tokens["refresh_token"].as_str().unwrap().to_owned();
    let mut conn = app.db.connect();
    use portcullis::clock::Clock;
    let now = app.clock.now();
    portcullis::store::purge::expired(&mut conn, now, i64::MIN).unwrap();
    assert_eq!(
        app.introspect(&client, &rt).await["active"],
        true,
        "nothing live is purged"
    );
    // Past the absolute refresh lifetime (90 days), the family is gone.
    let later = now + 91 * 86_400;
    assert!(portcullis::store::purge::expired(&mut conn, later, i64::MIN).unwrap() >= 2);
    app.clock.set(later);
    let (status, _) = app
        .token_json(
            &client,
            &[("grant_type", "refresh_token"), ("refresh_token", &rt)],
        )
        .await;
    assert_eq!(status, 400);
}

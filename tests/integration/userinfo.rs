//! The UserInfo endpoint (OIDC Core §5.3) as a bearer resource (RFC 6750): where the
//! token may travel, and every token it must refuse.

use portcullis::protocol::client_metadata::ClientRegistration;
use reqwest::Response;

use crate::oauth_support::*;
use crate::support::TestApp;

async fn userinfo(app: &TestApp, token: &str) -> Response {
    app.http
        .get(app.url("/userinfo"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

/// A 401 with `WWW-Authenticate: Bearer … error="invalid_token"`.
fn assert_invalid_token(response: &Response) {
    assert_eq!(response.status(), 401);
    let challenge = response.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.starts_with("Bearer "), "{challenge}");
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
}

#[tokio::test]
async fn userinfo_answers_by_scope_over_get_and_post() {
    let app = TestApp::start().await;
    let client = app.code_client();
    let user = app.create_user_with("info-user", Some("info@example.com"), Some("Info User"));
    let tokens = tokens_for(&app, &client, &user, "openid email").await;
    let access = tokens["access_token"].as_str().unwrap();

    let response = userinfo(&app, access).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        body,
        serde_json::json!({
            "sub": user.id,
            "email": "info@example.com",
            "email_verified": false,
        })
    );

    // POST with the header, and POST with the token in the form body (RFC 6750 §2.2).
    let by_header = app
        .http
        .post(app.url("/userinfo"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(by_header.status(), 200);
    let by_body = app
        .http
        .post(app.url("/userinfo"))
        .form(&[("access_token", access)])
        .send()
        .await
        .unwrap();
    assert_eq!(by_body.status(), 200);
    let body: serde_json::Value = by_body.json().await.unwrap();
    assert_eq!(body["sub"], user.id.as_str());

    // Both at once, or in the query string: invalid_request.
    let twice = app
        .http
        .post(app.url("/userinfo"))
        .bearer_auth(access)
        .form(&[("access_token", access)])
        .send()
        .await
        .unwrap();
    assert_eq!(twice.status(), 400);
    let query = app
        .http
        .get(app.url(&format!("/userinfo?access_token={access}")))
        .send()
        .await
        .unwrap();
    assert_eq!(query.status(), 400);
    assert!(query.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("invalid_request"));

    // The profile scope adds its claims.
    let tokens = tokens_for(&app, &client, &user, "openid profile").await;
    let body: serde_json::Value = userinfo(&app, tokens["access_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["preferred_username"], "info-user");
    assert_eq!(body["name"], "Info User");
    assert!(body["updated_at"].is_i64());
    assert!(body.get("email").is_none());
}

#[tokio::test]
async fn userinfo_refuses_tokens_it_must_not_honour() {
    let app = TestApp::start().await;
    let client = app.code_client();
    let user = app.create_user("refused-user");

    // No token: 401 with a bare challenge (RFC 6750 §3.1).
    let response = app.http.get(app.url("/userinfo")).send().await.unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(
        response.headers()["www-authenticate"],
        "Bearer realm=\"portcullis\""
    );
    assert_invalid_token(&userinfo(&app, "not-a-token").await);

    // A client_credentials token has no user.
    let service = app.create_client(ClientRegistration {
        name: "Service with openid".into(),
        grant_types: vec!["client_credentials".into()],
        scope: Some("openid read".into()),
        ..Default::default()
    });
    let (status, body) = app
        .token_json(
            &service,
            &[
                ("grant_type", "client_credentials"),
                ("scope", "openid read"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_invalid_token(&userinfo(&app, body["access_token"].as_str().unwrap()).await);

    // A token without the openid scope.
    let api = app.create_client(ClientRegistration {
        name: "API".into(),
        redirect_uris: vec![REDIRECT_URI.into()],
        scope: Some("api.read openid".into()),
        ..Default::default()
    });
    let tokens = tokens_for(&app, &api, &user, "api.read").await;
    assert_invalid_token(&userinfo(&app, tokens["access_token"].as_str().unwrap()).await);

    // An expired one.
    let tokens = tokens_for(&app, &client, &user, "openid").await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    assert_eq!(userinfo(&app, &access).await.status(), 200);
    app.clock.advance(901);
    assert_invalid_token(&userinfo(&app, &access).await);

    // A revoked one.
    let tokens = tokens_for(&app, &client, &user, "openid").await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let revoked = app
        .http
        .post(app.url("/revoke"))
        .basic_auth(&client.id, client.secret.as_deref())
        .form(&[("token", access.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    assert_invalid_token(&userinfo(&app, &access).await);

    // A disabled user's.
    let tokens = tokens_for(&app, &client, &user, "openid").await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    app.sql(&format!(
        "UPDATE users SET disabled = TRUE WHERE id = '{}'",
        user.id
    ));
    assert_invalid_token(&userinfo(&app, &access).await);
}

#[tokio::test]
async fn browser_apps_may_call_userinfo_cross_origin() {
    let app = TestApp::start().await;
    let preflight = app
        .http
        .request(reqwest::Method::OPTIONS, app.url("/userinfo"))
        .header("Origin", "https://spa.example")
        .header("Access-Control-Request-Method", "GET")
        .header("Access-Control-Request-Headers", "authorization")
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success());
    assert_eq!(preflight.headers()["access-control-allow-origin"], "*");
    assert!(preflight.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .contains("Authorization"));
    let refused = app
        .http
        .get(app.url("/userinfo"))
        .header("Origin", "https://spa.example")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.headers()["access-control-allow-origin"], "*");
    assert!(refused.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .contains("WWW-Authenticate"));
}

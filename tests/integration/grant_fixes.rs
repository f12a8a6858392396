//! Token-endpoint rules the first implementation got wrong: a grace period of 0 that
//! still let a retry through within the same second, a retry inside the grace window
//! answered after the grant was withdrawn, and a client's stored access-token
//! algorithm that could not be used — which burned the code, or silently fell back to
//! the server's algorithm.

use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::Value;

use crate::oauth_support::*;
use crate::support::{TestApp, TestDb};

async fn refresh(app: &TestApp, client: &Client, refresh_token: &str) -> (StatusCode, Value) {
    app.token_json(
        client,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ],
    )
    .await
}

/// Asserts `(status, body)` is a 400 `invalid_grant` that carries no token.
fn assert_invalid_grant((status, body): &(StatusCode, Value), what: &str) {
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{what}: {body}"
    );
    assert!(body.get("access_token").is_none(), "{what}: {body}");
    assert!(body.get("refresh_token").is_none(), "{what}: {body}");
}

/// Asserts `(status, body)` is a 500 `server_error` that carries no token.
fn assert_server_error((status, body): &(StatusCode, Value), what: &str) {
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (500, Some("server_error")),
        "{what}: {body}"
    );
    assert!(body.get("access_token").is_none(), "{what}: {body}");
    assert!(body.get("refresh_token").is_none(), "{what}: {body}");
    assert!(body.get("id_token").is_none(), "{what}: {body}");
}

/// An authorization code for `user` at `client` (openid offline_access) and its verifier.
async fn code_for(app: &TestApp, client: &Client, user: &User) -> (String, String) {
    let (params, verifier) = code_request(client, "openid offline_access", "s");
    let query = app.browser().sign_in_and_allow(&pairs(&params), user).await;
    (query["code"].clone(), verifier)
}

async fn exchange(
    app: &TestApp,
    client: &Client,
    code: &str,
    verifier: &str,
) -> (StatusCode, Value) {
    app.token_json(
        client,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", verifier),
        ],
    )
    .await
}

fn set_access_token_alg(app: &TestApp, client: &Client, alg: Option<&str>) {
    let value = match alg {
        Some(alg) => format!("'{alg}'"),
        None => "NULL".to_owned(),
    };
    app.sql(&format!(
        "UPDATE clients SET access_token_signing_alg = {value} WHERE id = '{}'",
        client.id
    ));
}

#[tokio::test]
async fn with_a_grace_period_of_0_a_retry_in_the_same_second_is_reuse() {
    let app = TestApp::start_on(
        Arc::new(TestDb::new()),
        &[("PORTCULLIS_REFRESH_TOKEN_GRACE_PERIOD", "0".into())],
    )
    .await;
    let client = app.code_client();
    let user = app.create_user("alice");
    let first = tokens_for(&app, &client, &user, "openid offline_access").await;
    let rt1 = first["refresh_token"].as_str().unwrap().to_owned();
    let (status, second) = refresh(&app, &client, &rt1).await;
    assert_eq!(status, 200, "{second}");
    let rt2 = second["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(rt1, rt2);

    // The clock has not moved: 0 seconds after the rotation, and 0 means no window.
    assert_invalid_grant(
        &refresh(&app, &client, &rt1).await,
        "a rotated token again with no grace period",
    );
    // That was reuse: the whole family is revoked, the successor included.
    assert_invalid_grant(
        &refresh(&app, &client, &rt2).await,
        "the successor after the family was revoked",
    );
    assert_eq!(app.introspect(&client, &rt2).await["active"], false);
    assert_eq!(
        app.introspect(&client, second["access_token"].as_str().unwrap())
            .await["active"],
        false,
        "the family's access token is revoked with it"
    );
}

#[tokio::test]
async fn a_retry_inside_the_grace_window_fails_once_the_grant_is_withdrawn() {
    let app = TestApp::start().await;
    let client = app.code_client();
    let alice = app.create_user("alice");
    for withdrawn in ["consent", "user"] {
        let first = tokens_for(&app, &client, &alice, "openid offline_access").await;
        let rt1 = first["refresh_token"].as_str().unwrap().to_owned();
        let (status, second) = refresh(&app, &client, &rt1).await;
        assert_eq!(status, 200, "{withdrawn}: {second}");
        let rt2 = second["refresh_token"].as_str().unwrap().to_owned();
        // Inside the default 5 s window: with the grant intact, this retry would get
        // the first answer again (token_grants.rs checks that).
        app.clock.advance(1);
        match withdrawn {
            "consent" => app.sql(&format!(
                "DELETE FROM consents WHERE user_id = '{}' AND client_id = '{}'",
                alice.id, client.id
            )),
            _ => app.sql(&format!(
                "UPDATE users SET disabled = true WHERE id = '{}'",
                alice.id
            )),
        }
        assert_invalid_grant(
            &refresh(&app, &client, &rt1).await,
            &format!("{withdrawn}: the retry inside the grace window"),
        );
        assert_invalid_grant(
            &refresh(&app, &client, &rt2).await,
            &format!("{withdrawn}: the successor"),
        );
        app.sql(&format!(
            "UPDATE users SET disabled = false WHERE id = '{}'",
            alice.id
        ));
    }
}

#[tokio::test]
async fn an_unusable_client_algorithm_is_a_server_error_that_burns_nothing() {
    // Default signing_algs: RS256 and ES256, so there is no EdDSA key to sign with.
    let app = TestApp::start().await;
    let client = app.code_client();
    let user = app.create_user("alice");
    let (code, verifier) = code_for(&app, &client, &user).await;
    set_access_token_alg(&app, &client, Some("EdDSA"));
    assert_server_error(
        &exchange(&app, &client, &code, &verifier).await,
        "an access token alg without a key",
    );

    // Fixed by the admin: the SAME code and verifier still work — the failed request
    // consumed nothing and revoked nothing.
    set_access_token_alg(&app, &client, None);
    let (status, tokens) = exchange(&app, &client, &code, &verifier).await;
    assert_eq!(status, 200, "the code was not burned: {tokens}");
    let at = tokens["access_token"].as_str().unwrap();
    assert_eq!(header(at)["alg"], "ES256", "the server's default");
    assert_eq!(app.introspect(&client, at).await["active"], true);
    let rt = tokens["refresh_token"].as_str().unwrap();
    let (status, body) = refresh(&app, &client, rt).await;
    assert_eq!(status, 200, "no family was revoked: {body}");
    // And it was used exactly once now: a replay is refused.
    assert_invalid_grant(
        &exchange(&app, &client, &code, &verifier).await,
        "the code after its one successful use",
    );
}

#[tokio::test]
async fn a_stored_algorithm_that_is_not_one_never_falls_back_to_another() {
    let app = TestApp::start().await;
    let client = app.code_client();
    let service = app.service_client();
    let user = app.create_user("alice");
    for alg in ["HS256", "none"] {
        // Authorization code.
        let (code, verifier) = code_for(&app, &client, &user).await;
        set_access_token_alg(&app, &client, Some(alg));
        assert_server_error(
            &exchange(&app, &client, &code, &verifier).await,
            &format!("authorization_code with access_token_signing_alg {alg}"),
        );
        set_access_token_alg(&app, &client, None);
        let (status, tokens) = exchange(&app, &client, &code, &verifier).await;
        assert_eq!(status, 200, "{alg}: the code was not burned: {tokens}");

        // Client credentials.
        set_access_token_alg(&app, &service, Some(alg));
        assert_server_error(
            &app.token_json(&service, &[("grant_type", "client_credentials")])
                .await,
            &format!("client_credentials with access_token_signing_alg {alg}"),
        );
        set_access_token_alg(&app, &service, None);
        let (status, body) = app
            .token_json(&service, &[("grant_type", "client_credentials")])
            .await;
        assert_eq!(status, 200, "{alg}: {body}");
        assert_eq!(
            header(body["access_token"].as_str().unwrap())["alg"],
            "ES256"
        );
    }
}

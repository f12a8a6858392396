//! OpenID Connect RP-Initiated Logout 1.0 at `end_session_endpoint`.

use crate::oauth_support::*;
use crate::support::TestApp;

/// A browser signed in to `client` as `user`, and the ID token its RP holds.
async fn signed_in(app: &TestApp, client: &Client, user: &User) -> (Browser, String) {
    let browser = app.browser();
    let tokens = tokens_in(app, &browser, client, user, "openid").await;
    (browser, tokens["id_token"].as_str().unwrap().to_owned())
}

/// Whether `browser` still has a session: `prompt=none` answers with a code.
async fn has_session(browser: &Browser, client: &Client) -> bool {
    let (mut params, _) = code_request(client, "openid", "st");
    params.push(("prompt".into(), "none".into()));
    let back = query_of(&location(&browser.authorize(&pairs(&params)).await));
    match back.get("error").map(String::as_str) {
        None => true,
        Some("login_required") => false,
        Some(other) => panic!("unexpected {other}"),
    }
}

#[tokio::test]
async fn logout_with_a_hint_ends_the_session_and_returns_with_state() {
    let app = TestApp::start().await;
    let client = app.code_client();
    let user = app.create_user("leaver");
    let (browser, id_token) = signed_in(&app, &client, &user).await;
    assert!(has_session(&browser, &client).await);

    let query = serde_urlencoded(&[
        ("id_token_hint", &id_token),
        ("post_logout_redirect_uri", POST_LOGOUT_REDIRECT_URI),
        ("state", "bye 1"),
    ]);
    let response = browser.get(&format!("/logout?{query}")).await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        location(&response),
        format!("{POST_LOGOUT_REDIRECT_URI}?state=bye+1")
    );
    let cleared = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .any(|c| c.to_str().unwrap().starts_with("portcullis-session=;"));
    assert!(cleared, "the session cookie is cleared");
    assert!(
        !has_session(&browser, &client).await,
        "prompt=none → login_required"
    );
}

#[tokio::test]
async fn logout_by_post_and_with_an_expired_hint_works_too() {
    let app = TestApp::start().await;
    let client = app.code_client();
    let user = app.create_user("poster");
    let (browser, id_token) = signed_in(&app, &client, &user).await;
    app.clock.advance(7200);
    let response = browser
        .post(
            "/logout",
            &[
                ("id_token_hint", id_token.as_str()),
                ("client_id", client.id.as_str()),
                ("post_logout_redirect_uri", POST_LOGOUT_REDIRECT_URI),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), POST_LOGOUT_REDIRECT_URI);
    assert!(!has_session(&browser, &client).await);
}

#[tokio::test]
async fn an_unregistered_return_address_is_never_followed() {
    let app = TestApp::start().await;
    let client = app.code_client();
    let user = app.create_user("stayer");
    let (browser, id_token) = signed_in(&app, &client, &user).await;
    for uri in [
        "https://evil.example/signed-out",
        "https://app.example/signed-out/",
        REDIRECT_URI,
    ] {
        let query = serde_urlencoded(&[
            ("id_token_hint", &id_token),
            ("post_logout_redirect_uri", uri),
        ]);
        let response = browser.get(&format!("/logout?{query}")).await;
        assert_eq!(response.status(), 400, "{uri}");
        assert!(response.headers().get("location").is_none());
    }
    // Without a client to check it against, a return address is refused too.
    let query = serde_urlencoded(&[("post_logout_redirect_uri", POST_LOGOUT_REDIRECT_URI)]);
    let response = browser.get(&format!("/logout?{query}")).await;
    assert_eq!(response.status(), 400);
    assert!(response.headers().get("location").is_none());
    // A hint that is not ours, or that names another client than client_id.
    let query = serde_urlencoded(&[("id_token_hint", "eyJhbGciOiJub25lIn0.e30.")]);
    assert_eq!(browser.get(&format!("/logout?{query}")).await.status(), 400);
    let other = app.code_client();
    let query = serde_urlencoded(&[("id_token_hint", &id_token), ("client_id", &other.id)]);
    assert_eq!(browser.get(&format!("/logout?{query}")).await.status(), 400);
    assert!(has_session(&browser, &client).await, "nothing was ended");
}

#[tokio::test]
async fn without_a_hint_the_user_confirms_on_a_csrf_protected_page() {
    let app = TestApp::start().await;
    let client = app.code_client();
    let user = app.create_user("confirmer");
    let (browser, _) = signed_in(&app, &client, &user).await;

    let query = serde_urlencoded(&[
        ("client_id", &client.id),
        ("post_logout_redirect_uri", POST_LOGOUT_REDIRECT_URI),
        ("state", "s9"),
    ]);
    let page = browser.get(&format!("/logout?{query}")).await;
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("frame-ancestors 'none'"));
    let html = page.text().await.unwrap();
    assert!(html.contains("confirmer"), "the page names the user");
    assert!(
        has_session(&browser, &client).await,
        "not logged out silently"
    );
    let csrf = hidden(&html, "csrf_token");
    let form = |token: &str| {
        vec![
            ("csrf_token", token.to_owned()),
            ("client_id", hidden(&html, "client_id")),
            (
                "post_logout_redirect_uri",
                hidden(&html, "post_logout_redirect_uri"),
            ),
            ("state", hidden(&html, "state")),
        ]
    };

    // A forged submission (wrong token, or from another browser) is refused.
    let wrong = form("forged");
    let wrong: Vec<(&str, &str)> = wrong.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(browser.post("/logout", &wrong).await.status(), 403);
    let (other_browser, _) = signed_in(&app, &client, &user).await;
    let stolen = form(&csrf);
    let stolen: Vec<(&str, &str)> = stolen.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(other_browser.post("/logout", &stolen).await.status(), 403);
    assert!(has_session(&browser, &client).await);

    let confirmed = form(&csrf);
    let confirmed: Vec<(&str, &str)> = confirmed.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let response = browser.post("/logout", &confirmed).await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        location(&response),
        format!("{POST_LOGOUT_REDIRECT_URI}?state=s9")
    );
    assert!(!has_session(&browser, &client).await);
    assert!(
        has_session(&other_browser, &client).await,
        "only this browser's session ended"
    );
}

#[tokio::test]
async fn logout_without_a_session_or_a_destination_shows_the_signed_out_page() {
    let app = TestApp::start().await;
    let browser = app.browser();
    let response = browser.get("/logout").await;
    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().contains("signed out"));
}

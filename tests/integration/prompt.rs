//! `prompt`, `max_age`, `id_token_hint` and `login_hint` (OIDC Core §3.1.2.1), and
//! the request parameters that are refused rather than ignored.

use portcullis::clock::Clock;

use crate::oauth_support::*;
use crate::support::TestApp;

/// An OIDC request of `client` with `extra` parameters, and its PKCE verifier.
fn request(client: &Client, extra: &[(&str, &str)]) -> (Vec<(String, String)>, String) {
    let (mut params, verifier) = code_request(client, "openid profile", "st-1");
    params.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    (params, verifier)
}

/// The error of a redirect back to the client, checked for `state` and `iss`.
fn client_error(app: &TestApp, location: &str) -> String {
    assert!(location.starts_with(REDIRECT_URI), "{location}");
    let query = query_of(location);
    assert_eq!(query["state"], "st-1");
    assert_eq!(query["iss"], app.base_url);
    assert!(!query.contains_key("code"));
    query["error"].clone()
}

#[tokio::test]
async fn prompt_none_never_shows_a_page() {
    let app = TestApp::start().await;
    let client = app.code_client();
    let user = app.create_user("silent");
    let browser = app.browser();

    // No session: login_required.
    let (params, _) = request(&client, &[("prompt", "none")]);
    let response = browser.authorize(&pairs(&params)).await;
    assert_eq!(response.status(), 302);
    assert_eq!(client_error(&app, &location(&response)), "login_required");

    // Signed in (consent for `openid` only), then asking for more: consent_required.
    let (params, _) = code_request(&client, "openid", "st-1");
    browser.sign_in_and_allow(&pairs(&params), &user).await;
    let (params, _) = request(&client, &[("prompt", "none")]);
    let response = browser.authorize(&pairs(&params)).await;
    assert_eq!(client_error(&app, &location(&response)), "consent_required");

    // Signed in with consent on record: the code, at once.
    let (params, verifier) = code_request(&client, "openid", "st-1");
    let mut params = params;
    params.push(("prompt".into(), "none".into()));
    let response = browser.authorize(&pairs(&params)).await;
    let query = query_of(&location(&response));
    let tokens = exchange_code(&app, &client, &query["code"], &verifier).await;
    assert!(tokens["id_token"].is_string());
}

#[tokio::test]
async fn prompt_login_and_consent_show_their_pages_again() {
    let app = TestApp::start().await;
    let client = app.code_client();
    let user = app.create_user("again");
    let browser = app.browser();
    let (params, _) = request(&client, &[]);
    browser.sign_in_and_allow(&pairs(&params), &user).await;

    // prompt=login: the login form, although the session is live.
    let (params, verifier) = request(&client, &[("prompt", "login")]);
    let response = browser.authorize(&pairs(&params)).await;
    let next = location(&response);
    assert!(next.starts_with("/login"), "{next}");
    let page = browser.get(&next).await.text().await.unwrap();
    assert!(page.contains("name=\"password\""));
    // Consent is remembered, so signing in leads straight back with a code.
    app.clock.advance(3);
    let back = location(&browser.login(&next, &user.username, PASSWORD).await);
    let query = query_of(&back);
    let tokens = exchange_code(&app, &client, &query["code"], &verifier).await;
    let id = claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(
        id["auth_time"],
        app.clock.now(),
        "the new sign-in is the auth_time"
    );

    // prompt=consent: the consent page, although consent is remembered.
    let (params, _) = request(&client, &[("prompt", "consent")]);
    let next = location(&browser.authorize(&pairs(&params)).await);
    assert!(next.starts_with("/consent"), "{next}");
    // prompt=none stands alone.
    let (params, _) = request(&client, &[("prompt", "none consent")]);
    let response = browser.authorize(&pairs(&params)).await;
    assert_eq!(client_error(&app, &location(&response)), "invalid_request");
}

#[tokio::test]
async fn max_age_zero_forces_a_new_login_and_auth_time_moves() {
    let app = TestApp::start().await;
    let client = app.code_client();
    let user = app.create_user("fresh");
    let browser = app.browser();
    let (params, verifier) = request(&client, &[]);
    let query = browser.sign_in_and_allow(&pairs(&params), &user).await;
    let first = exchange_code(&app, &client, &query["code"], &verifier).await;
    let first_auth_time = claims(first["id_token"].as_str().unwrap())["auth_time"]
        .as_i64()
        .unwrap();

    // A generous max_age is satisfied by the session.
    let (params, _) = request(&client, &[("max_age", "3600")]);
    let back = location(&browser.authorize(&pairs(&params)).await);
    assert!(back.starts_with(REDIRECT_URI), "{back}");

    // max_age=0 is not, even within the same second; the login must happen again.
    app.clock.advance(7);
    let (params, verifier) = request(&client, &[("max_age", "0")]);
    let next = location(&browser.authorize(&pairs(&params)).await);
    assert!(next.starts_with("/login"), "{next}");
    // With prompt=none the same request is login_required.
    let (silent, _) = request(&client, &[("max_age", "0"), ("prompt", "none")]);
    let response = browser.authorize(&pairs(&silent)).await;
    assert_eq!(client_error(&app, &location(&response)), "login_required");

    let back = location(&browser.login(&next, &user.username, PASSWORD).await);
    let query = query_of(&back);
    let second = exchange_code(&app, &client, &query["code"], &verifier).await;
    let second_auth_time = claims(second["id_token"].as_str().unwrap())["auth_time"]
        .as_i64()
        .unwrap();
    assert_eq!(second_auth_time, first_auth_time + 7);
}

#[tokio::test]
async fn a_consent_page_cannot_skip_a_required_login() {
    let app = TestApp::start().await;
    let client = app.code_client();
    let user = app.create_user("skipper");
    let browser = app.browser();
    let (params, _) = request(&client, &[]);
    browser.sign_in_and_allow(&pairs(&params), &user).await;
    // prompt=login sends the browser to the login page; going to the consent page
    // instead leads back to the login page.
    let (params, _) = request(&client, &[("prompt", "login consent")]);
    let next = location(&browser.authorize(&pairs(&params)).await);
    let id = next.split("request=").nth(1).unwrap().to_owned();
    let response = browser.get(&format!("/consent?request={id}")).await;
    assert_eq!(response.status(), 303);
    assert!(location(&response).starts_with("/login"));
}

#[tokio::test]
async fn id_token_hint_names_the_user_expected() {
    let app = TestApp::start().await;
    let client = app.code_client();
    let alice = app.create_user("hint-alice");
    let bob = app.create_user("hint-bob");
    // Bob's ID token, from Bob's browser.
    let bob_tokens = tokens_for(&app, &client, &bob, "openid").await;
    let bob_hint = bob_tokens["id_token"].as_str().unwrap().to_owned();

    // Alice is signed in here.
    let browser = app.browser();
    let (params, _) = request(&client, &[]);
    browser.sign_in_and_allow(&pairs(&params), &alice).await;

    let (params, _) = request(&client, &[("prompt", "none"), ("id_token_hint", &bob_hint)]);
    let response = browser.authorize(&pairs(&params)).await;
    assert_eq!(client_error(&app, &location(&response)), "login_required");

    // Without prompt=none: the login page; signing in as Alice again is refused.
    let (params, _) = request(&client, &[("id_token_hint", &bob_hint)]);
    let next = location(&browser.authorize(&pairs(&params)).await);
    assert!(next.starts_with("/login"), "{next}");
    let back = location(&browser.login(&next, &alice.username, PASSWORD).await);
    assert_eq!(client_error(&app, &back), "login_required");

    // An expired hint for the signed-in user is still good (it only names the user).
    let alice_tokens = tokens_for(&app, &client, &alice, "openid").await;
    let alice_hint = alice_tokens["id_token"].as_str().unwrap().to_owned();
    app.clock.advance(7200);
    let browser = app.browser();
    let (params, _) = request(&client, &[]);
    browser.sign_in_and_allow(&pairs(&params), &alice).await;
    let (params, _) = request(
        &client,
        &[("prompt", "none"), ("id_token_hint", &alice_hint)],
    );
    let back = location(&browser.authorize(&pairs(&params)).await);
    assert!(query_of(&back).contains_key("code"), "{back}");

    // A forged or foreign hint is invalid_request.
    let (params, _) = request(&client, &[("id_token_hint", "eyJhbGciOiJub25lIn0.e30.")]);
    let response = browser.authorize(&pairs(&params)).await;
    assert_eq!(client_error(&app, &location(&response)), "invalid_request");
}

#[tokio::test]
async fn login_hint_prefills_the_username() {
    let app = TestApp::start().await;
    let client = app.code_client();
    let browser = app.browser();
    let (params, _) = request(
        &client,
        &[("login_hint", "carol<b>"), ("ui_locales", "fr-CA en")],
    );
    let next = location(&browser.authorize(&pairs(&params)).await);
    let page = browser.get(&next).await.text().await.unwrap();
    assert!(
        page.contains("value=\"carol&#60;b&#62;\"") || page.contains("value=\"carol&lt;b&gt;\""),
        "{page}"
    );
}

#[tokio::test]
async fn unsupported_parameters_are_refused_with_their_error() {
    let app = TestApp::start().await;
    let client = app.code_client();
    let browser = app.browser();
    for (extra, error) in [
        (("prompt", "select_account"), "invalid_request"),
        (("prompt", "none login"), "invalid_request"),
        (("max_age", "soon"), "invalid_request"),
        (
            ("request", "eyJhbGciOiJub25lIn0.e30."),
            "request_not_supported",
        ),
        (
            ("request_uri", "https://app.example/r/1"),
            "request_uri_not_supported",
        ),
        (("registration", "{}"), "registration_not_supported"),
        (
            ("claims", "{\"userinfo\":{\"email\":null}}"),
            "invalid_request",
        ),
        (("response_mode", "form_post"), "invalid_request"),
    ] {
        let (params, _) = request(&client, &[extra]);
        let response = browser.authorize(&pairs(&params)).await;
        assert_eq!(response.status(), 302, "{extra:?}");
        assert_eq!(client_error(&app, &location(&response)), error, "{extra:?}");
    }
}

//! The home page, signing in outside an authorization request (`/login?next=`),
//! the account page (apps, sessions, password, sign-out) and the first-run setup
//! link (docs/admin-ui.md), driven like a browser without JavaScript.

use std::time::Duration;

use portcullis::protocol::client_metadata::ClientRegistration;
use reqwest::StatusCode;

use crate::oauth_support::*;
use crate::pages_support::*;
use crate::support::{TestApp, TestDb};

/// `user sessions USER --json`: how many live sessions.
fn live_sessions(db: &TestDb, user: &str) -> usize {
    cli_json(db, &["user", "sessions", user])
        .as_array()
        .unwrap()
        .len()
}

// ---------------------------------------------------------------------------------
// Home
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn the_home_page_says_what_this_is_and_links_on() {
    let app = TestApp::start().await;
    let visitor = app.browser();
    let html = page(&visitor, "/").await;
    let links: Vec<String> = start_tags(&html)
        .into_iter()
        .filter(|t| t.name == "a")
        .filter_map(|t| t.attr("href").map(str::to_owned))
        .collect();
    assert!(
        links.iter().any(|l| path_of(l) == "/login"
            && query_pairs(l).get("next").map(String::as_str) == Some("/account")),
        "a sign-in link: {links:?}"
    );
    assert!(
        links
            .iter()
            .any(|l| l.ends_with("/.well-known/openid-configuration")),
        "the discovery document: {links:?}"
    );
    assert!(
        links.iter().any(|l| l.contains("jwks")),
        "the JWKS: {links:?}"
    );
    // An admin is offered the admin pages.
    let admin = admin_session(&app).await;
    let html = page(&admin.browser, "/").await;
    assert!(
        start_tags(&html)
            .iter()
            .any(|t| t.name == "a" && t.attr("href").is_some_and(|h| path_of(h) == "/admin")),
        "{html}"
    );
}

// ---------------------------------------------------------------------------------
// Who may see the account page
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn the_account_page_sends_visitors_to_sign_in_and_back() {
    let app = TestApp::start().await;
    let visitor = app.browser();
    assert_to_login(&visitor.get("/account").await, &app.base_url, "/account");

    // Its actions do nothing without a session.
    let client = app.code_client();
    let user = app.create_user("frank");
    let browser = app.browser();
    tokens_in(&app, &browser, &client, &user, "openid").await;
    let actions: [(&str, Vec<(&str, &str)>); 4] = [
        (
            "/account/password",
            vec![
                ("current_password", PASSWORD),
                ("new_password", "a brand new password"),
                ("new_password_confirm", "a brand new password"),
                ("csrf_token", "x"),
            ],
        ),
        ("/account/sessions/end-others", vec![("csrf_token", "x")]),
        ("/account/sign-out", vec![("csrf_token", "x")]),
        ("/account/apps/x/revoke", vec![("csrf_token", "x")]),
    ];
    for (action, form) in &actions {
        let response = visitor.post(action, form).await;
        let status = response.status();
        assert!(
            status == StatusCode::FORBIDDEN
                || (status == StatusCode::SEE_OTHER
                    && path_of(&location_path(&response, &app.base_url)) == "/login"),
            "POST {action} without a session: {status}"
        );
    }
    let revoke = format!("/account/apps/{}/revoke", client.id);
    let response = visitor.post(&revoke, &[("csrf_token", "x")]).await;
    assert_ne!(response.status(), StatusCode::OK);
    assert_eq!(
        cli_json(&app.db, &["user", "consents", "frank"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
    signed_in(&app.browser(), "frank", PASSWORD, "/account").await;

    // Signing in from the redirect comes back to the account page.
    let response = sign_in(&visitor, "frank", PASSWORD, "/account").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location_path(&response, &app.base_url), "/account");
    let html = page(&visitor, "/account").await;
    assert!(html.contains("frank"), "{html}");
}

#[tokio::test]
async fn a_failed_sign_in_says_the_one_message_and_keeps_next() {
    let app = TestApp::start().await;
    app.create_user("gina");
    let browser = app.browser();
    let response = sign_in(&browser, "gina", "not her password", "/account").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_page_headers(&response);
    let html = response.text().await.unwrap();
    assert!(html.contains(LOGIN_REFUSED), "{html}");
    assert_eq!(hidden_field(&html, "next").as_deref(), Some("/account"));
    let response = sign_in(&browser, "nobody", "not a password", "/account").await;
    let html = response.text().await.unwrap();
    assert!(html.contains(LOGIN_REFUSED), "the same for an unknown user");
    // A login form without its CSRF token is refused.
    let response = browser
        .post(
            "/login",
            &[
                ("username", "gina"),
                ("password", PASSWORD),
                ("next", "/account"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_to_login(&browser.get("/account").await, &app.base_url, "/account");
}

#[tokio::test]
async fn next_never_leads_off_the_account_admin_or_playground_pages() {
    let app = TestApp::start_on(
        std::sync::Arc::new(TestDb::new()),
        &[("PORTCULLIS_LOGIN_RATE_LIMIT", "0".into())],
    )
    .await;
    app.create_user("erin");
    let browser = app.browser();
    let lands_on = |response: &reqwest::Response, path: &str, case: &str| {
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{case}");
        let location = location_path(response, &app.base_url);
        assert!(
            location.starts_with('/') && !location.starts_with("//") && !location.contains('\\'),
            "{case}: stays on this server: {location}"
        );
        assert_eq!(location, path, "{case}");
    };
    for evil in [
        "https://evil.example/",
        "//evil.example",
        "/\\evil",
        "/\\/evil.example/",
        "\\\\evil.example",
        "http:evil.example",
        "javascript:alert(1)",
        "/login",
        "/.well-known/openid-configuration",
        "/accountant",
        "",
    ] {
        // The page's own form, as a browser submits it…
        let response = sign_in(&browser, "erin", PASSWORD, evil).await;
        lands_on(
            &response,
            "/account",
            &format!("next={evil:?} through the page"),
        );
        // …and a form made up with the raw value.
        let html = browser
            .get("/login?next=%2Faccount")
            .await
            .text()
            .await
            .unwrap();
        let csrf = csrf_of(&html);
        let response = browser
            .post(
                "/login",
                &[
                    ("username", "erin"),
                    ("password", PASSWORD),
                    ("next", evil),
                    ("csrf_token", csrf.as_str()),
                ],
            )
            .await;
        lands_on(&response, "/account", &format!("next={evil:?} posted"));
    }
    // What is allowed is kept.
    for allowed in ["/account", "/admin/clients", "/playground"] {
        let response = sign_in(&browser, "erin", PASSWORD, allowed).await;
        lands_on(&response, allowed, allowed);
    }
}

// ---------------------------------------------------------------------------------
// Apps
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn the_account_page_lists_the_apps_and_revoking_one_kills_its_refresh_tokens() {
    let app = TestApp::start().await;
    let client = app.code_client();
    let other = app.create_client(ClientRegistration {
        name: "Other App".into(),
        redirect_uris: vec![REDIRECT_URI.into()],
        scope: Some("openid offline_access".into()),
        ..Default::default()
    });
    let alice = app.create_user_with("alice", Some("alice@example.com"), Some("Alice Liddell"));
    let browser = app.browser();
    let tokens = tokens_in(
        &app,
        &browser,
        &client,
        &alice,
        "openid profile offline_access",
    )
    .await;
    let refresh_token = tokens["refresh_token"].as_str().unwrap().to_owned();
    let other_tokens = tokens_in(&app, &browser, &other, &alice, "openid offline_access").await;
    let other_refresh = other_tokens["refresh_token"].as_str().unwrap().to_owned();

    let html = page(&browser, "/account").await;
    for shown in [
        "alice",
        "alice@example.com",
        "Alice Liddell",
        "Test App",
        "Other App",
    ] {
        assert!(html.contains(shown), "{shown}: {html}");
    }
    let revoke = format!("/account/apps/{}/revoke", client.id);
    let other_revoke = format!("/account/apps/{}/revoke", other.id);
    assert!(!forms_with_action(&html, &revoke).is_empty(), "{html}");
    assert!(
        !forms_with_action(&html, &other_revoke).is_empty(),
        "{html}"
    );

    // Without the CSRF token: 403, nothing revoked.
    let response = browser.post(&revoke, &[]).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = browser.post(&revoke, &[("csrf_token", "wrong")]).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let (status, body) = refresh(&app, &client, &refresh_token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let refresh_token = body["refresh_token"].as_str().unwrap().to_owned();

    // Revoke: the consent goes and its refresh tokens stop at once.
    let done = assert_done(
        &submit_on(&browser, &html, &revoke, &[]).await,
        &app.base_url,
    );
    assert_eq!(path_of(&done), "/account");
    let (status, body) = refresh(&app, &client, &refresh_token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_grant");
    // The other app keeps its access.
    let (status, body) = refresh(&app, &other, &other_refresh).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let html = page(&browser, &done).await;
    assert!(forms_with_action(&html, &revoke).is_empty(), "{html}");
    assert!(
        !forms_with_action(&html, &other_revoke).is_empty(),
        "{html}"
    );
    let consents = cli_json(&app.db, &["user", "consents", "alice"]);
    let ids: Vec<&str> = consents
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["client_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![other.id.as_str()]);

    // The next request of that app asks for consent again.
    let (params, _) = code_request(&client, "openid", "again");
    let response = browser.authorize(&pairs(&params)).await;
    assert!(
        location(&response).starts_with("/consent"),
        "consent asked again"
    );

    let events = audit(&app.db, &["--user", &alice.id, "--kind", "consent.revoked"]);
    assert_eq!(events.len(), 1, "{events:?}");
}

#[tokio::test]
async fn revoking_an_app_touches_only_the_signed_in_users_own_consent() {
    let app = TestApp::start().await;
    let shared = app.code_client();
    let bobs_only = app.create_client(ClientRegistration {
        name: "Only Bob App".into(),
        redirect_uris: vec![REDIRECT_URI.into()],
        scope: Some("openid offline_access".into()),
        ..Default::default()
    });
    let alice = app.create_user("alice");
    let bob = app.create_user("bob");
    let alice_browser = app.browser();
    let bob_browser = app.browser();
    let alice_tokens = tokens_in(
        &app,
        &alice_browser,
        &shared,
        &alice,
        "openid offline_access",
    )
    .await;
    let bob_tokens = tokens_in(&app, &bob_browser, &shared, &bob, "openid offline_access").await;
    let bob_other = tokens_in(
        &app,
        &bob_browser,
        &bobs_only,
        &bob,
        "openid offline_access",
    )
    .await;
    let token = |tokens: &serde_json::Value| tokens["refresh_token"].as_str().unwrap().to_owned();
    let (alice_refresh, mut bob_refresh, mut bob_other_refresh) =
        (token(&alice_tokens), token(&bob_tokens), token(&bob_other));
    let consents = |user: &str| -> Vec<String> {
        let mut ids: Vec<String> = cli_json(&app.db, &["user", "consents", user])
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["client_id"].as_str().unwrap().to_owned())
            .collect();
        ids.sort();
        ids
    };
    let mut bobs = vec![shared.id.clone(), bobs_only.id.clone()];
    bobs.sort();
    assert_eq!(consents("bob"), bobs);

    let html = page(&alice_browser, "/account").await;
    assert!(
        !html.contains("Only Bob App"),
        "only her own apps are listed: {html}"
    );
    let csrf = csrf_of(&html);

    // An app only Bob allowed, revoked from Alice's page (her own CSRF token): not
    // found, and Bob keeps it.
    let response = alice_browser
        .post(
            &format!("/account/apps/{}/revoke", bobs_only.id),
            &[("csrf_token", csrf.as_str())],
        )
        .await;
    let status = response.status();
    let body = response.text().await.unwrap();
    assert!(
        status.is_client_error(),
        "revoking an app she never allowed: {status}: {body}"
    );
    assert_eq!(consents("bob"), bobs, "Bob's consents are untouched");
    let (status, body) = refresh(&app, &bobs_only, &bob_other_refresh).await;
    assert_eq!(status, StatusCode::OK, "Bob's app keeps its access: {body}");
    bob_other_refresh = body["refresh_token"].as_str().unwrap().to_owned();

    // An app both allowed: revoking it on her page withdraws her consent only.
    let done = assert_done(
        &submit_on(
            &alice_browser,
            &html,
            &format!("/account/apps/{}/revoke", shared.id),
            &[],
        )
        .await,
        &app.base_url,
    );
    assert_eq!(path_of(&done), "/account");
    assert!(consents("alice").is_empty());
    let (status, body) = refresh(&app, &shared, &alice_refresh).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(consents("bob"), bobs, "Bob's consents are untouched");
    let (status, body) = refresh(&app, &shared, &bob_refresh).await;
    assert_eq!(status, StatusCode::OK, "Bob keeps the shared app: {body}");
    bob_refresh = body["refresh_token"].as_str().unwrap().to_owned();
    let (status, body) = refresh(&app, &bobs_only, &bob_other_refresh).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Bob's account page still lists both, and his session is untouched.
    let bobs_page = page(&bob_browser, "/account").await;
    for id in [&shared.id, &bobs_only.id] {
        assert!(
            !forms_with_action(&bobs_page, &format!("/account/apps/{id}/revoke")).is_empty(),
            "{bobs_page}"
        );
    }
    let (status, body) = refresh(&app, &shared, &bob_refresh).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // The only audit event names Alice, as actor and as user.
    let events = audit(&app.db, &["--kind", "consent.revoked"]);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["user_id"], alice.id.as_str(), "{events:?}");
    assert_eq!(events[0]["actor"], alice.id.as_str(), "{events:?}");
    assert_eq!(events[0]["client_id"], shared.id.as_str(), "{events:?}");
}

// ---------------------------------------------------------------------------------
// Sessions
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn sign_out_everywhere_else_ends_the_other_sessions_only() {
    let app = TestApp::start().await;
    app.create_user("bob");
    let here = app.browser();
    signed_in(&here, "bob", PASSWORD, "/account").await;
    let there = app.browser();
    signed_in(&there, "bob", PASSWORD, "/account").await;
    assert_eq!(live_sessions(&app.db, "bob"), 2);

    let html = page(&here, "/account").await;
    let action = "/account/sessions/end-others";
    assert!(
        !forms_with_action(&html, action).is_empty(),
        "Sign out everywhere else: {html}"
    );
    // Without the CSRF token nothing ends.
    assert_eq!(here.post(action, &[]).await.status(), StatusCode::FORBIDDEN);
    page(&there, "/account").await;
    assert_eq!(live_sessions(&app.db, "bob"), 2);

    let done = assert_done(&submit_on(&here, &html, action, &[]).await, &app.base_url);
    assert_eq!(path_of(&done), "/account");
    assert_to_login(&there.get("/account").await, &app.base_url, "/account");
    page(&here, "/account").await;
    assert_eq!(live_sessions(&app.db, "bob"), 1);
}

#[tokio::test]
async fn signing_out_ends_the_session() {
    let app = TestApp::start().await;
    app.create_user("dave");
    let browser = app.browser();
    signed_in(&browser, "dave", PASSWORD, "/account").await;
    let html = page(&browser, "/account").await;
    assert_eq!(
        browser.post("/account/sign-out", &[]).await.status(),
        StatusCode::FORBIDDEN,
        "no CSRF token, no sign-out"
    );
    page(&browser, "/account").await;

    let response = submit_on(&browser, &html, "/account/sign-out", &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location_path(&response, &app.base_url), "/");
    assert_to_login(&browser.get("/account").await, &app.base_url, "/account");
    assert_eq!(live_sessions(&app.db, "dave"), 0);
}

// ---------------------------------------------------------------------------------
// Password
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn changing_the_password_needs_the_current_one() {
    let app = TestApp::start().await;
    let carol = app.create_user("carol");
    let browser = app.browser();
    signed_in(&browser, "carol", PASSWORD, "/account").await;
    let new_password = "a fresh new passphrase";
    let action = "/account/password";

    // A wrong current password: 422 next to that field; nothing changes.
    let html = assert_unprocessable(
        submit(
            &browser,
            "/account",
            action,
            &[
                ("current_password", "not my password"),
                ("new_password", new_password),
                ("new_password_confirm", new_password),
            ],
        )
        .await,
    )
    .await;
    assert!(
        field_error(&html, "current_password").is_some_and(|e| !e.is_empty()),
        "id=\"error-current_password\": {html}"
    );
    assert!(
        !html.contains(new_password) && !html.contains("not my password"),
        "passwords are never shown again"
    );
    // The confirmation differs: 422.
    assert_unprocessable(
        submit(
            &browser,
            "/account",
            action,
            &[
                ("current_password", PASSWORD),
                ("new_password", new_password),
                ("new_password_confirm", "something else entirely"),
            ],
        )
        .await,
    )
    .await;
    // Too short: 422 next to the new password.
    let html = assert_unprocessable(
        submit(
            &browser,
            "/account",
            action,
            &[
                ("current_password", PASSWORD),
                ("new_password", "short"),
                ("new_password_confirm", "short"),
            ],
        )
        .await,
    )
    .await;
    assert!(field_error(&html, "new_password").is_some(), "{html}");
    // Without the CSRF token: 403.
    let response = browser
        .post(
            action,
            &[
                ("current_password", PASSWORD),
                ("new_password", new_password),
                ("new_password_confirm", new_password),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    signed_in(&app.browser(), "carol", PASSWORD, "/account").await;

    // The right one: done.
    let done = assert_done(
        &submit(
            &browser,
            "/account",
            action,
            &[
                ("current_password", PASSWORD),
                ("new_password", new_password),
                ("new_password_confirm", new_password),
            ],
        )
        .await,
        &app.base_url,
    );
    assert_eq!(path_of(&done), "/account");
    page(&browser, "/account").await;
    signed_in(&app.browser(), "carol", new_password, "/account").await;
    assert_sign_in_refused(&app.browser(), "carol", PASSWORD).await;
    let events = audit(
        &app.db,
        &["--user", &carol.id, "--kind", "user.password_set"],
    );
    assert_eq!(events.len(), 1, "{events:?}");
}

// ---------------------------------------------------------------------------------
// First-run setup (`portcullis serve` as a process: the link is only in its log)
// ---------------------------------------------------------------------------------

/// The setup form's fields with `token`.
fn setup_form<'a>(
    token: &'a str,
    username: &'a str,
    password: &'a str,
    confirm: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("token", token),
        ("username", username),
        ("password", password),
        ("password_confirm", confirm),
    ]
}

#[tokio::test]
async fn the_first_run_setup_link_creates_the_first_admin_once() {
    let db = TestDb::new();
    let served = Served::start(&db);
    let link = served.setup_link();
    let line = served
        .wait_for_line("first-run setup: open ", Duration::from_secs(1))
        .unwrap();
    assert!(line.contains("WARN"), "{line}");
    assert!(line.contains("portcullis::setup"), "{line}");
    assert!(line.contains("within 1 hour"), "{line}");
    assert_eq!(
        served
            .log()
            .lines()
            .filter(|l| l.contains("first-run setup"))
            .count(),
        1,
        "one line"
    );

    let browser = served.browser();
    let path = relative_to(&link, &served.base_url);
    let html = page(&browser, &path).await;
    for field in [
        "token",
        "csrf_token",
        "username",
        "password",
        "password_confirm",
    ] {
        assert!(has_field(&html, field), "{field}: {html}");
    }
    let token = hidden_field(&html, "token").unwrap();
    assert!(link.ends_with(&token), "{link} / {token}");
    let password = "a good long passphrase";

    // Bad input: 422, the form again, nothing created.
    let cases = [
        (
            setup_form(&token, "root", password, "a different passphrase"),
            "password_confirm",
        ),
        (setup_form(&token, "root", "short", "short"), "password"),
        (setup_form(&token, "ro ot", password, password), "username"),
    ];
    let mut last = html.clone();
    for (form, field) in &cases {
        let html = assert_unprocessable(submit_on(&browser, &last, "/setup", form).await).await;
        assert!(
            field_error(&html, field).is_some(),
            "id=\"error-{field}\": {html}"
        );
        assert_eq!(
            hidden_field(&html, "token").as_deref(),
            Some(token.as_str())
        );
        assert!(
            html.contains(form[1].1),
            "the username typed is kept: {html}"
        );
        last = html;
    }
    assert!(usernames(&db).is_empty());

    // Success: the admin, a session, and the admin pages.
    let response = submit_on(
        &browser,
        &last,
        "/setup",
        &setup_form(&token, "root", password, password),
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        path_of(&location_path(&response, &served.base_url)),
        "/admin"
    );
    page(&browser, "/admin").await;
    let root = show_user(&db, "root");
    assert_eq!(root["admin"], true);
    assert_eq!(root["disabled"], false);
    signed_in(&served.browser(), "root", password, "/admin").await;

    // The link is used up.
    let again = served.browser();
    let (status, html) = get_html(&again, &path).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("This setup link is not valid"), "{html}");
    let response = submit_on(
        &browser,
        &last,
        "/setup",
        &setup_form(&token, "root2", password, password),
    )
    .await;
    assert!(
        [StatusCode::BAD_REQUEST, StatusCode::FORBIDDEN].contains(&response.status()),
        "{}",
        response.status()
    );
    assert_eq!(usernames(&db), vec!["root"]);

    // Unknown or missing tokens.
    for path in ["/setup?token=not-a-real-token", "/setup"] {
        let (status, html) = get_html(&again, path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
        assert!(html.contains("This setup link is not valid"), "{html}");
    }
    let log = served.stop();
    assert!(!log.contains(password), "no password in the log");
}

#[tokio::test]
async fn the_setup_link_dies_when_an_admin_appears_meanwhile() {
    let db = TestDb::new();
    let served = Served::start(&db);
    let link = served.setup_link();
    cli_create_user(&db, "made-elsewhere", PASSWORD, true);
    let browser = served.browser();
    let (status, html) = get_html(&browser, &relative_to(&link, &served.base_url)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("This setup link is not valid"), "{html}");
    served.stop();
}

#[tokio::test]
async fn no_setup_link_while_an_enabled_admin_exists() {
    let db = TestDb::new();
    cli_create_user(&db, "root", PASSWORD, true);
    let served = Served::start(&db);
    let (status, html) = get_html(&served.browser(), "/setup?token=anything").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("This setup link is not valid"), "{html}");
    let log = served.stop();
    assert!(log.contains("listening"), "{log}");
    assert!(
        !log.contains("first-run setup") && !log.contains("/setup?token="),
        "{log}"
    );
}

#[tokio::test]
async fn a_database_whose_admins_are_all_disabled_offers_setup() {
    let db = TestDb::new();
    cli_create_user(&db, "old-root", PASSWORD, true);
    cli_json(&db, &["user", "disable", "old-root"]);
    let served = Served::start(&db);
    let link = served.setup_link();
    let browser = served.browser();
    let html = page(&browser, &relative_to(&link, &served.base_url)).await;
    let token = hidden_field(&html, "token").unwrap();
    let password = "another good passphrase";
    let response = submit_on(
        &browser,
        &html,
        "/setup",
        &setup_form(&token, "new-root", password, password),
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    page(&browser, "/admin/users").await;
    assert_eq!(show_user(&db, "new-root")["admin"], true);
    assert_eq!(show_user(&db, "old-root")["disabled"], true);
    served.stop();
}

//! The authorization endpoint and its pages, driven like a browser.

use std::time::Instant;

use crate::oauth_support::*;
use crate::support::TestApp;

fn params_of<'a>(client: &'a Client, challenge: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("response_type", "code"),
        ("client_id", &client.id),
        ("redirect_uri", REDIRECT_URI),
        ("scope", "openid profile"),
        ("state", "xyz"),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ]
}

#[tokio::test]
async fn code_flow_logs_in_asks_consent_and_redirects_with_code_state_and_iss() {
    let app = TestApp::start().await;
    let client = app.code_client();
    app.create_user("alice");
    let browser = app.browser();
    let (_, challenge) = pkce_pair();
    let response = browser.authorize(&params_of(&client, &challenge)).await;
    assert_eq!(response.status(), 302);
    let login = location(&response);
    assert!(login.starts_with("/login?request="), "{login}");

    let page = browser.get(&login).await;
    assert_eq!(page.headers()["cache-control"], "no-store");
    assert!(page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("frame-ancestors 'none'"));
    let html = page.text().await.unwrap();
    assert!(html.contains("Test App"), "the page names the app");
    assert!(
        html.contains(r#"<label for="username">"#) && html.contains(r#"<label for="password">"#)
    );

    let response = browser.login(&login, "alice", PASSWORD).await;
    assert_eq!(response.status(), 303);
    let set_cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"),
        "{set_cookie}"
    );
    let consent = location(&response);
    assert!(consent.starts_with("/consent?request="), "{consent}");
    let html = browser.get(&consent).await.text().await.unwrap();
    assert!(html.contains(r#"<button type="submit" name="decision" value="allow">Allow</button>"#));
    assert!(html.contains("value=\"deny\""));
    assert!(
        html.contains("See your name and username"),
        "scopes are described"
    );

    let response = browser.consent(&consent, "allow").await;
    let back = location(&response);
    assert!(back.starts_with(REDIRECT_URI), "{back}");
    let query = query_of(&back);
    assert_eq!(query["state"], "xyz");
    assert_eq!(query["iss"], app.base_url);
    assert_eq!(query["code"].len(), 43);

    // Consent is remembered: the same or fewer scopes skip the page, and such a
    // request is answered at once, never stored as pending.
    let pending = app.count_rows("authorization_requests");
    let (_, challenge) = pkce_pair();
    let mut fewer = params_of(&client, &challenge);
    fewer[3] = ("scope", "openid");
    let response = browser.authorize(&fewer).await;
    let back = location(&response);
    assert!(
        back.starts_with(REDIRECT_URI),
        "no consent page again: {back}"
    );
    assert!(query_of(&back)["code"].len() == 43 && query_of(&back)["state"] == "xyz");
    assert_eq!(app.count_rows("authorization_requests"), pending);
    // More scopes ask again: that request waits for the page.
    let mut more = params_of(&client, &challenge);
    more[3] = ("scope", "openid email");
    let response = browser.authorize(&more).await;
    assert!(
        location(&response).starts_with("/consent"),
        "new scope needs consent"
    );
    assert_eq!(app.count_rows("authorization_requests"), pending + 1);
}

#[tokio::test]
async fn unknown_client_or_unregistered_redirect_gets_an_error_page_never_a_redirect() {
    let app = TestApp::start().await;
    let client = app.code_client();
    let browser = app.browser();
    let (_, challenge) = pkce_pair();
    let cases: Vec<Vec<(&str, &str)>> = vec![
        vec![
            ("response_type", "code"),
            ("client_id", "nope"),
            ("redirect_uri", REDIRECT_URI),
        ],
        vec![("response_type", "code"), ("redirect_uri", REDIRECT_URI)],
        vec![
            ("response_type", "code"),
            ("client_id", &client.id),
            ("redirect_uri", "https://evil.example/callback"),
        ],
        vec![
            ("response_type", "code"),
            ("client_id", &client.id),
            ("redirect_uri", "https://app.example/callback/"),
        ],
        vec![
            ("response_type", "code"),
            ("client_id", &client.id),
            ("redirect_uri", "https://app.example/callback?x=1"),
        ],
        vec![
            ("response_type", "code"),
            ("client_id", &client.id),
            ("redirect_uri", "https://APP.example/callback"),
        ],
    ];
    for case in cases {
        let response = browser.authorize(&case).await;
        assert_eq!(response.status(), 400, "{case:?}");
        assert!(response.headers().get("location").is_none(), "{case:?}");
        assert!(
            response.text().await.unwrap().contains("<h1>"),
            "an HTML page"
        );
    }
    // A disabled client too.
    app.sql(&format!(
        "UPDATE clients SET disabled = TRUE WHERE id = '{}'",
        client.id
    ));
    let response = browser.authorize(&params_of(&client, &challenge)).await;
    assert_eq!(response.status(), 400);
    assert!(response.headers().get("location").is_none());
}

#[tokio::test]
async fn other_errors_redirect_with_error_state_and_iss() {
    let app = TestApp::start().await;
    let client = app.code_client();
    let public = app.public_client();
    let browser = app.browser();
    let (_, challenge) = pkce_pair();
    let check = |response: reqwest::Response, error: &str| {
        assert_eq!(response.status(), 302);
        let back = location(&response);
        assert!(back.starts_with(REDIRECT_URI), "{back}");
        let q = query_of(&back);
        assert_eq!(q["error"], error, "{back}");
        assert_eq!(q["state"], "xyz");
        assert!(q.contains_key("error_description"));
        assert!(q.contains_key("iss"));
        assert!(!q.contains_key("code"));
    };
    // Scope outside the registration: invalid_scope, never dropped.
    let mut p = params_of(&client, &challenge);
    p[3] = ("scope", "openid admin");
    check(browser.authorize(&p).await, "invalid_scope");
    // response_type=token: unsupported.
    let mut p = params_of(&client, &challenge);
    p[0] = ("response_type", "token");
    check(browser.authorize(&p).await, "unsupported_response_type");
    // PKCE: plain refused, missing refused (public and, by default, confidential).
    let mut p = params_of(&public, &challenge);
    p[6] = ("code_challenge_method", "plain");
    check(browser.authorize(&p).await, "invalid_request");
    let p: Vec<_> = params_of(&public, &challenge).into_iter().take(5).collect();
    check(browser.authorize(&p).await, "invalid_request");
    let p: Vec<_> = params_of(&client, &challenge).into_iter().take(5).collect();
    check(browser.authorize(&p).await, "invalid_request");
    // A repeated parameter cannot be trusted at all: an error page.
    let mut p = params_of(&client, &challenge);
    p.push(("scope", "openid"));
    assert_eq!(browser.authorize(&p).await.status(), 400);
}

#[tokio::test]
async fn pkce_may_be_relaxed_for_confidential_clients_only() {
    let db = std::sync::Arc::new(crate::support::TestDb::new());
    let app = TestApp::start_on(
        db,
        &[(
            "PORTCULLIS_PKCE_REQUIRED_FOR_CONFIDENTIAL_CLIENTS",
            "false".into(),
        )],
    )
    .await;
    let client = app.code_client();
    let public = app.public_client();
    let browser = app.browser();
    let (_, challenge) = pkce_pair();
    let p: Vec<_> = params_of(&client, &challenge).into_iter().take(5).collect();
    assert!(location(&browser.authorize(&p).await).starts_with("/login"));
    let p: Vec<_> = params_of(&public, &challenge).into_iter().take(5).collect();
    assert!(query_of(&location(&browser.authorize(&p).await))["error"] == "invalid_request");
}

#[tokio::test]
async fn post_to_the_authorization_endpoint_works_like_get() {
    let app = TestApp::start().await;
    let client = app.code_client();
    let browser = app.browser();
    let (_, challenge) = pkce_pair();
    let response = browser
        .post("/authorize", &params_of(&client, &challenge))
        .await;
    assert_eq!(response.status(), 302);
    assert!(location(&response).starts_with("/login?request="));
}

#[tokio::test]
async fn consent_denied_redirects_with_access_denied_and_state() {
    let app = TestApp::start().await;
    let client = app.code_client();
    app.create_user("bob");
    let browser = app.browser();
    let (_, challenge) = pkce_pair();
    let response = browser.authorize(&params_of(&client, &challenge)).await;
    let response = browser.login(&location(&response), "bob", PASSWORD).await;
    let response = browser.consent(&location(&response), "deny").await;
    assert_eq!(response.status(), 303);
    let q = query_of(&location(&response));
    assert_eq!(q["error"], "access_denied");
    assert_eq!(q["state"], "xyz");
    assert_eq!(q["iss"], app.base_url);
}

#[tokio::test]
async fn login_and_consent_forms_refuse_missing_or_wrong_csrf_tokens() {
    let app = TestApp::start().await;
    let client = app.code_client();
    app.create_user("carol");
    let browser = app.browser();
    let (_, challenge) = pkce_pair();
    let login = location(&browser.authorize(&params_of(&client, &challenge)).await);
    let html = browser.get(&login).await.text().await.unwrap();
    let request = hidden(&html, "request");
    for csrf in [None, Some("wrong"), Some("")] {
        let mut form = vec![
            ("request", request.as_str()),
            ("username", "carol"),
            ("password", PASSWORD),
        ];
        if let Some(t) = csrf {
            form.push(("csrf_token", t));
        }
        let response = browser.post("/login", &form).await;
        assert_eq!(response.status(), 403, "{csrf:?}");
        assert!(
            response.headers().get("set-cookie").is_none(),
            "no session without CSRF"
        );
    }
    // Another browser cannot use this browser's request, even with its token.
    let other = app.browser();
    let csrf = hidden(&html, "csrf_token");
    let response = other
        .post(
            "/login",
            &[
                ("request", &request),
                ("csrf_token", &csrf),
                ("username", "carol"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(response.status(), 400);

    let consent = location(&browser.login(&login, "carol", PASSWORD).await);
    let html = browser.get(&consent).await.text().await.unwrap();
    let request = hidden(&html, "request");
    for csrf in [None, Some("wrong")] {
        let mut form = vec![("request", request.as_str()), ("decision", "allow")];
        if let Some(t) = csrf {
            form.push(("csrf_token", t));
        }
        let response = browser.post("/consent", &form).await;
        assert_eq!(response.status(), 403, "{csrf:?}");
    }
    // The real token still works afterwards.
    let response = browser.consent(&consent, "allow").await;
    assert!(query_of(&location(&response)).contains_key("code"));
}

#[tokio::test]
async fn two_parallel_flows_in_one_browser_both_complete() {
    let app = TestApp::start().await;
    let client = app.code_client();
    app.create_user("dave");
    let browser = app.browser();
    let (_, c1) = pkce_pair();
    let (_, c2) = pkce_pair();
    let mut p1 = params_of(&client, &c1);
    p1[4] = ("state", "tab-one");
    let mut p2 = params_of(&client, &c2);
    p2[4] = ("state", "tab-two");
    p2[3] = ("scope", "openid email");
    let login1 = location(&browser.authorize(&p1).await);
    let login2 = location(&browser.authorize(&p2).await);
    assert_ne!(login1, login2);
    // Tab two logs in first; tab one then finds the session.
    let consent2 = location(&browser.login(&login2, "dave", PASSWORD).await);
    let consent1 = location(&browser.login(&login1, "dave", PASSWORD).await);
    let back1 = query_of(&location(&browser.consent(&consent1, "allow").await));
    let back2 = query_of(&location(&browser.consent(&consent2, "allow").await));
    assert_eq!(back1["state"], "tab-one");
    assert_eq!(back2["state"], "tab-two");
    assert_ne!(back1["code"], back2["code"]);
}

#[tokio::test]
async fn pending_requests_expire_after_ten_minutes() {
    let app = TestApp::start().await;
    let client = app.code_client();
    app.create_user("erin");
    let browser = app.browser();
    let (_, challenge) = pkce_pair();
    let login = location(&browser.authorize(&params_of(&client, &challenge)).await);
    app.clock.advance(601);
    let response = browser.get(&login).await;
    assert_eq!(response.status(), 400);
    assert!(response.text().await.unwrap().contains("expired"));
}

#[tokio::test]
async fn login_failures_say_the_same_thing_and_disabled_users_cannot_log_in() {
    let app = TestApp::start_on(
        std::sync::Arc::new(crate::support::TestDb::new()),
        &[("PORTCULLIS_LOGIN_RATE_LIMIT", "0".into())],
    )
    .await;
    let client = app.code_client();
    let user = app.create_user("frank");
    let browser = app.browser();
    let (_, challenge) = pkce_pair();
    let login = location(&browser.authorize(&params_of(&client, &challenge)).await);
    let mut messages = Vec::new();
    for (name, password) in [("nobody", PASSWORD), ("frank", "wrong password")] {
        let response = browser.login(&login, name, password).await;
        assert_eq!(response.status(), 200);
        assert!(response.headers().get("set-cookie").is_none());
        let html = response.text().await.unwrap();
        let start = html.find("id=\"login-error\">").unwrap();
        messages.push(html[start..start + 60].to_owned());
    }
    assert_eq!(messages[0], messages[1]);
    assert!(messages[0].contains("Wrong username or password."));

    app.sql(&format!(
        "UPDATE users SET disabled = TRUE WHERE id = '{}'",
        user.id
    ));
    let response = browser.login(&login, "frank", PASSWORD).await;
    assert_eq!(
        response.status(),
        200,
        "a disabled user gets the same answer"
    );
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("Wrong username or password."));
}

#[tokio::test]
async fn repeated_failures_lock_the_account_for_a_while() {
    let app = TestApp::start_on(
        std::sync::Arc::new(crate::support::TestDb::new()),
        &[("PORTCULLIS_LOGIN_RATE_LIMIT", "0".into())],
    )
    .await;
    let client = app.code_client();
    app.create_user("gina");
    let browser = app.browser();
    let (_, challenge) = pkce_pair();
    let login = location(&browser.authorize(&params_of(&client, &challenge)).await);
    for _ in 0..5 {
        browser.login(&login, "gina", "wrong").await;
    }
    // Locked: even the right password fails, with the same message.
    let response = browser.login(&login, "gina", PASSWORD).await;
    assert_eq!(response.status(), 200);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("Wrong username or password."));
    app.clock.advance(31);
    let response = browser.login(&login, "gina", PASSWORD).await;
    assert_eq!(response.status(), 303, "the lock lifts after 30 s");
}

#[tokio::test]
async fn login_timing_does_not_tell_unknown_users_from_wrong_passwords() {
    let app = TestApp::start_on(
        std::sync::Arc::new(crate::support::TestDb::new()),
        &[
            ("PORTCULLIS_LOGIN_RATE_LIMIT", "0".into()),
            // Real-world cost so argon2 dominates, as in production.
            ("PORTCULLIS_ARGON2_MEMORY_KIB", "19456".into()),
            ("PORTCULLIS_ARGON2_ITERATIONS", "2".into()),
        ],
    )
    .await;
    let client = app.code_client();
    // Created with the cheap test cost; rehash at the server's cost.
    let user = app.create_user("hank");
    let hash = portcullis::crypto::password::hash(
        &portcullis::config::Argon2Params {
            memory_kib: 19456,
            iterations: 2,
            parallelism: 1,
        },
        &portcullis::crypto::Secret::new(PASSWORD.into()),
    )
    .unwrap();
    app.sql(&format!(
        "UPDATE users SET password_hash = '{hash}' WHERE id = '{}'",
        user.id
    ));
    let browser = app.browser();
    let (_, challenge) = pkce_pair();
    let login = location(&browser.authorize(&params_of(&client, &challenge)).await);
    let html = browser.get(&login).await.text().await.unwrap();
    let (request, csrf) = (hidden(&html, "request"), hidden(&html, "csrf_token"));
    let mut unknown = Vec::new();
    let mut wrong = Vec::new();
    for round in 0..24 {
        for (name, times) in [("nobody-here", &mut unknown), ("hank", &mut wrong)] {
            // Below the lockout threshold: reset the count each round.
            app.sql("UPDATE users SET failed_login_count = 0, locked_until = NULL");
            let started = Instant::now();
            let response = browser
                .post(
                    "/login",
                    &[
                        ("request", &request),
                        ("csrf_token", &csrf),
                        ("username", name),
                        ("password", "nope"),
                    ],
                )
                .await;
            assert_eq!(response.status(), 200);
            if round >= 4 {
                times.push(started.elapsed().as_secs_f64());
            }
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        v[v.len() / 2]
    };
    let (u, w) = (median(&mut unknown), median(&mut wrong));
    let ratio = u.max(w) / u.min(w);
    eprintln!("login timing: unknown user {u:.4}s, wrong password {w:.4}s, ratio {ratio:.3}");
    assert!(ratio < 1.2, "unknown {u} vs wrong {w}");
}

#[tokio::test]
async fn login_attempts_are_rate_limited_per_ip() {
    let app = TestApp::start_on(
        std::sync::Arc::new(crate::support::TestDb::new()),
        &[("PORTCULLIS_LOGIN_RATE_LIMIT", "3".into())],
    )
    .await;
    let client = app.code_client();
    let browser = app.browser();
    let (_, challenge) = pkce_pair();
    let login = location(&browser.authorize(&params_of(&client, &challenge)).await);
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(browser.login(&login, "nobody", "x").await.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 200, 429, 429]);
}

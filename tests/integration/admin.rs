//! The admin UI (docs/admin-ui.md) over HTTP, as a browser without JavaScript uses
//! it: who may see it, CSRF, validation, escaping, and every action on clients,
//! users, keys and the audit trail — checked through the token endpoint, the JWKS
//! and the real binary's `--json` output.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::oauth_support::*;
use crate::pages_support::*;
use crate::support::TestApp;

/// The admin pages without an id in their path.
const ADMIN_PAGES: &[&str] = &[
    "/admin",
    "/admin/clients",
    "/admin/clients/new",
    "/admin/users",
    "/admin/users/new",
    "/admin/keys",
    "/admin/audit",
    "/playground",
];

const THIRTY_DAYS: i64 = 30 * 86_400;

fn words(value: &Value) -> BTreeSet<String> {
    value
        .as_str()
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn strings(value: &Value) -> BTreeSet<String> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {value}"))
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

/// The part of an audit page from its first `<table` on (the filter form, with every
/// kind as an option, comes before it); empty when there is no table (no events).
fn table_part(html: &str) -> &str {
    html.find("<table").map(|at| &html[at..]).unwrap_or("")
}

/// The rows (`<tr>` chunks) of an audit page's table that mention `needle` (an id or
/// a name).
fn rows_mentioning<'a>(html: &'a str, needles: &[&str]) -> Vec<&'a str> {
    table_part(html)
        .split("<tr")
        .skip(1)
        .filter(|row| needles.iter().any(|n| row.contains(n)))
        .collect()
}

// ---------------------------------------------------------------------------------
// Who may see what
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn admin_pages_send_visitors_to_sign_in_and_refuse_signed_in_non_admins() {
    let app = TestApp::start().await;
    let service = app.service_client();
    let service_secret = service.secret.clone().unwrap();
    let mallory = user_session(&app, "mallory").await;
    let keys_before = keys_listed(&app.db).len();

    let mut pages: Vec<String> = ADMIN_PAGES.iter().map(|p| p.to_string()).collect();
    pages.push(format!("/admin/clients/{}", service.id));
    pages.push(format!("/admin/clients/{}/delete", service.id));
    pages.push(format!("/admin/users/{}", mallory.id));
    pages.push(format!("/admin/users/{}/delete", mallory.id));

    // Without a session: 303 to the login page, which comes back to the page.
    let visitor = app.browser();
    for path in &pages {
        let response = visitor.get(path).await;
        assert_to_login(&response, &app.base_url, path);
    }

    // Signed in without the admin flag: a 403 page, for every page.
    for path in &pages {
        let (status, html) = get_html(&mallory.browser, path).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "GET {path}: {html}");
    }

    // And every action refused, with or without a token from a page they can see.
    let account = page(&mallory.browser, "/account").await;
    let their_csrf = csrf_of(&account);
    let make_me_admin = [
        ("email", ""),
        ("name", ""),
        ("admin", "on"),
        ("roles", ""),
        ("groups", ""),
    ];
    let actions: Vec<(String, Vec<(&str, &str)>)> = vec![
        (
            "/admin/clients".into(),
            client_form(
                "Mallory's App",
                "",
                &["client_credentials"],
                "read",
                Some("client_secret_basic"),
            ),
        ),
        (format!("/admin/clients/{}/disable", service.id), vec![]),
        (
            format!("/admin/clients/{}/rotate-secret", service.id),
            vec![("grace", "0")],
        ),
        (format!("/admin/clients/{}/delete", service.id), vec![]),
        (
            "/admin/users".into(),
            vec![
                ("username", "mallory2"),
                ("email", ""),
                ("name", ""),
                ("admin", "on"),
                ("password", "a long enough password"),
            ],
        ),
        (
            format!("/admin/users/{}", mallory.id),
            make_me_admin.to_vec(),
        ),
        ("/admin/keys/rotate".into(), vec![("alg", "ES256")]),
        (
            "/playground/start".into(),
            vec![("client_id", service.id.as_str())],
        ),
    ];
    for (action, fields) in &actions {
        let mut form = fields.clone();
        form.push(("csrf_token", their_csrf.as_str()));
        let response = mallory.browser.post(action, &form).await;
        assert_eq!(
            response.status(),
            StatusCode::FORBIDDEN,
            "POST {action} by a non-admin"
        );
        let response = visitor.post(action, &form).await;
        let status = response.status();
        assert!(
            status == StatusCode::FORBIDDEN
                || (status == StatusCode::SEE_OTHER
                    && path_of(&location_path(&response, &app.base_url)) == "/login"),
            "POST {action} without a session: {status}"
        );
    }

    // Nothing changed.
    assert_eq!(client_ids(&app.db), vec![service.id.clone()]);
    assert_eq!(show_client(&app.db, &service.id)["disabled"], false);
    assert_credentials_work(&app, &service.id, &service_secret).await;
    let mut names = usernames(&app.db);
    names.sort();
    assert_eq!(names, vec!["mallory".to_owned()]);
    assert_eq!(show_user(&app.db, "mallory")["admin"], false);
    assert_eq!(keys_listed(&app.db).len(), keys_before);
}

#[tokio::test]
async fn every_admin_page_is_no_store_with_a_csp_and_no_inline_script() {
    let app = TestApp::start().await;
    let admin = admin_session(&app).await;
    let service = app.service_client();
    let user = app.create_user("someone");
    let kid = jwks_kids(&app.http, &app.base_url).await[0].clone();
    let mut pages: Vec<String> = ADMIN_PAGES.iter().map(|p| p.to_string()).collect();
    pages.extend([
        format!("/admin/clients/{}", service.id),
        format!("/admin/clients/{}/delete", service.id),
        format!("/admin/users/{}", user.id),
        format!("/admin/users/{}/delete", user.id),
        format!("/admin/keys/{kid}/revoke"),
        "/admin/clients?q=Serv".to_owned(),
        "/admin/users?q=some".to_owned(),
        "/admin/audit?kind=client.created".to_owned(),
        "/account".to_owned(),
        "/".to_owned(),
    ]);
    for path in &pages {
        // `page` checks Cache-Control, the CSP, the other headers and the markup.
        page(&admin.browser, path).await;
    }
    // The overview: counts, the key that signs now, the latest events.
    let overview = page(&admin.browser, "/admin").await;
    let active: Vec<String> = keys_listed(&app.db)
        .iter()
        .filter(|k| k["state"] == "active")
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        active.iter().any(|kid| overview.contains(kid.as_str())),
        "the overview names a signing key ({active:?}): {overview}"
    );
    assert!(
        overview.contains("login.succeeded"),
        "the latest events: {overview}"
    );

    // Unknown ids: 404, not 500.
    for path in [
        "/admin/clients/no-such-client",
        "/admin/users/no-such-user",
        "/admin/clients/no-such-client/delete",
        "/admin/keys/no-such-kid/revoke",
    ] {
        let (status, _) = get_html(&admin.browser, path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
}

// ---------------------------------------------------------------------------------
// CSRF, validation, escaping
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn admin_forms_refuse_missing_or_wrong_csrf_tokens_and_change_nothing() {
    let app = TestApp::start().await;
    let admin = admin_session(&app).await;
    let target = cli_create_user(&app.db, "target", PASSWORD, false);
    let target_id = target["id"].as_str().unwrap().to_owned();
    let service = app.service_client();
    let service_secret = service.secret.clone().unwrap();
    let keys_before = keys_listed(&app.db).len();
    let kid = jwks_kids(&app.http, &app.base_url).await[0].clone();

    let actions: Vec<(String, Vec<(&str, &str)>)> = vec![
        (
            "/admin/clients".into(),
            client_form(
                "Sneaky",
                "",
                &["client_credentials"],
                "read",
                Some("client_secret_basic"),
            ),
        ),
        (
            format!("/admin/clients/{}", service.id),
            client_form("Renamed", "", &["client_credentials"], "read", None),
        ),
        (format!("/admin/clients/{}/disable", service.id), vec![]),
        (
            format!("/admin/clients/{}/rotate-secret", service.id),
            vec![("grace", "0")],
        ),
        (format!("/admin/clients/{}/delete", service.id), vec![]),
        (
            "/admin/users".into(),
            vec![
                ("username", "sneaky"),
                ("email", ""),
                ("name", ""),
                ("password", "a long enough password"),
            ],
        ),
        (format!("/admin/users/{target_id}/disable"), vec![]),
        (
            format!("/admin/users/{target_id}/password"),
            vec![("password", "another long password")],
        ),
        (format!("/admin/users/{target_id}/delete"), vec![]),
        (format!("/admin/users/{target_id}/sessions/end"), vec![]),
        ("/admin/keys/rotate".into(), vec![("alg", "ES256")]),
        (format!("/admin/keys/{kid}/revoke"), vec![]),
    ];
    // Another admin's token is as wrong as a made-up one.
    let other = admin_named(&app, "root2").await;
    let foreign = form_csrf(
        &page(&other.browser, "/admin/clients/new").await,
        "/admin/clients",
    );
    for (action, fields) in &actions {
        for csrf in [None, Some("wrong"), Some(""), Some(foreign.as_str())] {
            let mut form = fields.clone();
            if let Some(csrf) = csrf {
                form.push(("csrf_token", csrf));
            }
            let response = admin.browser.post(action, &form).await;
            assert_eq!(
                response.status(),
                StatusCode::FORBIDDEN,
                "POST {action} with csrf_token {csrf:?}"
            );
        }
    }

    // Nothing changed.
    assert_eq!(client_ids(&app.db), vec![service.id.clone()]);
    let shown = show_client(&app.db, &service.id);
    assert_eq!(shown["disabled"], false);
    assert_eq!(shown["client_name"], "Service");
    assert_credentials_work(&app, &service.id, &service_secret).await;
    let mut names = usernames(&app.db);
    names.sort();
    assert_eq!(names, vec!["root", "root2", "target"]);
    assert_eq!(show_user(&app.db, "target")["disabled"], false);
    signed_in(&app.browser(), "target", PASSWORD, "/account").await;
    assert_eq!(keys_listed(&app.db).len(), keys_before);
    assert!(jwks_kids(&app.http, &app.base_url).await.contains(&kid));
}

#[tokio::test]
async fn invalid_client_registrations_are_422_with_the_error_next_to_the_field() {
    let app = TestApp::start().await;
    let admin = admin_session(&app).await;

    // (the form, the field whose error is due, a word of that error)
    type Case<'a> = (Vec<(&'a str, &'a str)>, &'a str, &'a str);
    let cases: Vec<Case> = vec![
        (
            client_form(
                "Broken App",
                "not a uri",
                &["authorization_code"],
                "openid",
                Some("client_secret_basic"),
            ),
            "redirect_uris",
            "not a uri",
        ),
        (
            client_form(
                "No Redirect App",
                "",
                &["authorization_code"],
                "openid",
                Some("client_secret_basic"),
            ),
            "redirect_uris",
            "No Redirect App",
        ),
        (
            client_form(
                "Fragment App",
                "https://app.example/cb#fragment",
                &["authorization_code"],
                "openid",
                Some("client_secret_basic"),
            ),
            "redirect_uris",
            "https://app.example/cb#fragment",
        ),
    ];
    for (form, field, kept) in &cases {
        let response = submit(&admin.browser, "/admin/clients/new", "/admin/clients", form).await;
        let html = assert_unprocessable(response).await;
        let error = field_error(&html, field)
            .unwrap_or_else(|| panic!("no id=\"error-{field}\" for {form:?}: {html}"));
        assert!(!error.is_empty(), "{html}");
        let error_id = format!("error-{field}");
        assert!(
            start_tags(&html).iter().any(|t| {
                t.attr("id") == Some(error_id.as_str())
                    && t.attr("class").is_some_and(|c| c.contains("field-error"))
            }),
            "<p class=\"field-error\" id=\"{error_id}\">: {html}"
        );
        assert!(
            html.contains(kept),
            "the values typed are shown again ({kept}): {html}"
        );
        assert!(
            !has_id(&html, "client-secret"),
            "no secret for a refused form"
        );
    }
    assert!(client_ids(&app.db).is_empty(), "nothing saved");
    assert_eq!(
        count_kind(
            &audit(&app.db, &["--kind", "client.created"]),
            "client.created"
        ),
        0
    );
}

#[tokio::test]
async fn invalid_user_input_is_422_with_the_error_next_to_the_field() {
    let app = TestApp::start().await;
    let admin = admin_session(&app).await;
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            vec![
                ("username", "al ice"),
                ("email", ""),
                ("name", ""),
                ("password", "a long enough password"),
            ],
            "username",
        ),
        (
            vec![
                ("username", "alice"),
                ("email", "not-an-address"),
                ("name", ""),
                ("password", "a long enough password"),
            ],
            "email",
        ),
        (
            vec![
                ("username", "alice"),
                ("email", ""),
                ("name", ""),
                ("password", ""),
            ],
            "password",
        ),
        (
            vec![
                ("username", "root"),
                ("email", ""),
                ("name", ""),
                ("password", "a long enough password"),
            ],
            "username",
        ),
    ];
    for (form, field) in &cases {
        let response = submit(&admin.browser, "/admin/users/new", "/admin/users", form).await;
        let html = assert_unprocessable(response).await;
        assert!(
            field_error(&html, field).is_some_and(|e| !e.is_empty()),
            "id=\"error-{field}\" for {form:?}: {html}"
        );
        let username = form[0].1;
        assert!(
            html.contains(username),
            "the username typed is kept: {html}"
        );
        assert!(
            !html.contains("a long enough password"),
            "a password is never shown again"
        );
    }
    assert_eq!(usernames(&app.db), vec!["root"], "nothing saved");
}

#[tokio::test]
async fn typed_names_are_escaped_everywhere_they_are_shown() {
    let app = TestApp::start().await;
    let admin = admin_session(&app).await;
    let evil = "<script>alert(1)</script>";
    // Escaped as entities, named (`&lt;`) or numeric (`&#60;`, askama's choice).
    let escaped = |html: &str| {
        html.contains("&lt;script&gt;alert(1)") || html.contains("&#60;script&#62;alert(1)")
    };

    let registered = register_client(
        &admin.browser,
        &client_form(
            evil,
            "",
            &["client_credentials"],
            "read",
            Some("client_secret_basic"),
        ),
    )
    .await;
    assert!(!registered.html.contains(evil), "{}", registered.html);
    assert_eq!(show_client(&app.db, &registered.id)["client_name"], evil);

    let list = page(&admin.browser, "/admin/clients").await;
    assert!(escaped(&list), "{list}");
    assert!(!list.contains(evil), "{list}");
    let detail = page(&admin.browser, &format!("/admin/clients/{}", registered.id)).await;
    assert!(escaped(&detail), "{detail}");
    assert!(!detail.contains(evil), "{detail}");
    let confirmation = page(
        &admin.browser,
        &format!("/admin/clients/{}/delete", registered.id),
    )
    .await;
    assert!(!confirmation.contains(evil), "{confirmation}");

    // A search echoes what was typed, escaped.
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("q", evil)
        .finish();
    let search = page(&admin.browser, &format!("/admin/clients?{query}")).await;
    assert!(!search.contains(evil), "{search}");

    // A user's name and the pages that show it.
    let response = submit(
        &admin.browser,
        "/admin/users/new",
        "/admin/users",
        &[
            ("username", "eve"),
            ("email", ""),
            ("name", evil),
            ("password", "a long enough password"),
        ],
    )
    .await;
    assert_done(&response, &app.base_url);
    let eve = show_user(&app.db, "eve");
    assert_eq!(eve["name"], evil);
    for path in [
        "/admin/users".to_owned(),
        format!("/admin/users/{}", eve["id"].as_str().unwrap()),
        "/admin/audit".to_owned(),
        "/admin".to_owned(),
    ] {
        let html = page(&admin.browser, &path).await;
        assert!(!html.contains(evil), "{path}: {html}");
    }
    // An attribute-breaking value stays inside its attribute.
    let quote = "x\" autofocus onfocus=\"alert(1)";
    let edit = client_form(quote, "", &["client_credentials"], "read", None);
    let detail_path = format!("/admin/clients/{}", registered.id);
    assert_done(
        &submit(&admin.browser, &detail_path, &detail_path, &edit).await,
        &app.base_url,
    );
    let detail = page(&admin.browser, &detail_path).await;
    assert!(!detail.contains(quote), "{detail}");
    assert_no_inline_script(&detail);
}

// ---------------------------------------------------------------------------------
// Clients
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn a_registered_client_works_and_rotation_disable_enable_edit_delete_take_effect() {
    let app = TestApp::start().await;
    let admin = admin_session(&app).await;
    let new_page = page(&admin.browser, "/admin/clients/new").await;
    for field in [
        "client_name",
        "redirect_uris",
        "post_logout_redirect_uris",
        "grant_types",
        "scope",
        "token_endpoint_auth_method",
        "access_token_signing_alg",
        "id_token_signed_response_alg",
    ] {
        assert!(has_field(&new_page, field), "the form has {field}");
    }
    for grant in ["authorization_code", "refresh_token", "client_credentials"] {
        assert!(
            start_tags(&new_page)
                .iter()
                .any(|t| t.attr("name") == Some("grant_types")
                    && t.attr("type") == Some("checkbox")
                    && t.attr("value") == Some(grant)),
            "a checkbox for {grant}"
        );
    }

    // Register: 200, the id and the secret shown this once.
    let registered = register_service(&admin.browser, "Billing Service").await;
    let id = registered.id.clone();
    let secret = registered.secret.clone().unwrap();
    // "you will not see this again" (or "it"): the warning that goes with the secret.
    let lower = registered.html.to_lowercase();
    assert!(
        lower.contains("will not see") && lower.contains("again"),
        "{}",
        registered.html
    );
    let shown = show_client(&app.db, &id);
    assert_eq!(shown["client_name"], "Billing Service");
    assert_eq!(shown["grant_types"], json!(["client_credentials"]));
    assert_eq!(words(&shown["scope"]), words(&json!("read write")));
    assert_eq!(shown["token_endpoint_auth_method"], "client_secret_basic");
    assert_eq!(shown["public"], false);
    assert_credentials_work(&app, &id, &secret).await;

    // Listed, and never with the secret.
    let list = page(&admin.browser, "/admin/clients").await;
    assert!(
        list.contains(&id) && list.contains("Billing Service"),
        "{list}"
    );
    assert!(!list.contains(&secret));
    let detail_path = format!("/admin/clients/{id}");
    let detail = page(&admin.browser, &detail_path).await;
    assert!(detail.contains("Billing Service"), "{detail}");
    assert!(!detail.contains(&secret), "the secret is shown once only");

    // Rotation: a grace beyond 30 days is refused and changes nothing.
    let rotate = format!("{detail_path}/rotate-secret");
    let too_long = (THIRTY_DAYS + 1).to_string();
    let html = assert_unprocessable(
        submit(
            &admin.browser,
            &detail_path,
            &rotate,
            &[("grace", too_long.as_str())],
        )
        .await,
    )
    .await;
    assert!(field_error(&html, "grace").is_some(), "{html}");
    assert_credentials_work(&app, &id, &secret).await;

    // Without grace: the old secret stops at once.
    let response = submit(&admin.browser, &detail_path, &rotate, &[("grace", "0")]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_page_headers(&response);
    let html = response.text().await.unwrap();
    let second = element_text(&html, "client-secret").expect("the new secret");
    assert!(!second.is_empty() && second != secret);
    assert_credentials_refused(&app, &id, &secret).await;
    assert_credentials_work(&app, &id, &second).await;

    // With grace: both work for now.
    let response = submit(&admin.browser, &detail_path, &rotate, &[("grace", "3600")]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    let third = element_text(&html, "client-secret").expect("the new secret");
    assert_ne!(third, second);
    assert_credentials_work(&app, &id, &second).await;
    assert_credentials_work(&app, &id, &third).await;
    assert!(show_client(&app.db, &id)["previous_secret_expires_at"].is_i64());

    // Disable: the client can no longer authenticate. The notice says it was done.
    let done = assert_done(
        &submit(
            &admin.browser,
            &detail_path,
            &format!("{detail_path}/disable"),
            &[],
        )
        .await,
        &app.base_url,
    );
    let html = page(&admin.browser, &done).await;
    assert!(
        start_tags(&html)
            .iter()
            .any(|t| t.attr("role") == Some("status")
                && t.attr("class").is_some_and(|c| c.contains("notice"))),
        "<p class=\"notice\" role=\"status\">: {html}"
    );
    assert_eq!(show_client(&app.db, &id)["disabled"], true);
    assert_credentials_refused(&app, &id, &third).await;

    // Enable: it works again.
    assert_done(
        &submit(
            &admin.browser,
            &detail_path,
            &format!("{detail_path}/enable"),
            &[],
        )
        .await,
        &app.base_url,
    );
    assert_eq!(show_client(&app.db, &id)["disabled"], false);
    assert_credentials_work(&app, &id, &third).await;

    // Edit: the new name shows.
    let edit = client_form(
        "Billing Service v2",
        "",
        &["client_credentials"],
        "read",
        None,
    );
    assert_done(
        &submit(&admin.browser, &detail_path, &detail_path, &edit).await,
        &app.base_url,
    );
    let detail = page(&admin.browser, &detail_path).await;
    assert!(detail.contains("Billing Service v2"), "{detail}");
    let shown = show_client(&app.db, &id);
    assert_eq!(shown["client_name"], "Billing Service v2");
    assert_eq!(words(&shown["scope"]), words(&json!("read")));
    // An invalid edit: 422, nothing saved.
    let bad = client_form(
        "Billing Service v3",
        "not a uri",
        &["client_credentials", "authorization_code"],
        "read",
        None,
    );
    let html =
        assert_unprocessable(submit(&admin.browser, &detail_path, &detail_path, &bad).await).await;
    assert!(field_error(&html, "redirect_uris").is_some(), "{html}");
    assert_eq!(
        show_client(&app.db, &id)["client_name"],
        "Billing Service v2"
    );

    // Delete: a confirmation page (no password: the sign-in is fresh), then the POST.
    let delete = format!("{detail_path}/delete");
    let confirmation = page(&admin.browser, &delete).await;
    assert!(
        confirmation.contains("Billing Service v2"),
        "{confirmation}"
    );
    assert!(
        !has_field(&confirmation, "password"),
        "no re-authentication within 5 minutes of signing in"
    );
    assert_done(
        &submit_on(&admin.browser, &confirmation, &delete, &[]).await,
        &app.base_url,
    );
    assert!(!cli_succeeds(&app.db, &["client", "show", &id]));
    assert!(client_ids(&app.db).is_empty());
    assert_credentials_refused(&app, &id, &third).await;
    let (status, _) = get_html(&admin.browser, &detail_path).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Every action is in the audit trail, with the admin as the actor.
    let events = audit(&app.db, &["--client", &id]);
    for kind in [
        "client.created",
        "client.secret_rotated",
        "client.disabled",
        "client.enabled",
        "client.updated",
        "client.deleted",
    ] {
        assert!(count_kind(&events, kind) >= 1, "{kind}: {events:?}");
    }
    assert_eq!(
        count_kind(&events, "client.secret_rotated"),
        2,
        "{events:?}"
    );
    let created = events
        .iter()
        .find(|e| e["kind"] == "client.created")
        .unwrap();
    assert_eq!(created["actor"], admin.id.as_str(), "{created}");
}

#[tokio::test]
async fn registered_code_clients_public_and_confidential_run_the_code_flow() {
    let app = TestApp::start().await;
    let admin = admin_session(&app).await;
    let alice = app.create_user("alice");

    let public = register_client(
        &admin.browser,
        &client_form(
            "Single Page App",
            REDIRECT_URI,
            &["authorization_code", "refresh_token"],
            "openid profile offline_access",
            Some("none"),
        ),
    )
    .await;
    assert!(public.secret.is_none(), "a public client has no secret");
    assert!(!has_id(&public.html, "client-secret"));
    let shown = show_client(&app.db, &public.id);
    assert_eq!(shown["public"], true);
    assert_eq!(shown["token_endpoint_auth_method"], "none");
    assert_eq!(shown["redirect_uris"], json!([REDIRECT_URI]));
    let tokens = tokens_for(&app, &public.client(), &alice, "openid offline_access").await;
    assert!(tokens["refresh_token"].is_string(), "{tokens}");

    // Two redirect URIs, one a line each (CRLF as browsers send textareas).
    let both = format!("{REDIRECT_URI}\r\nhttp://127.0.0.1:9000/cb\r\n");
    let confidential = register_client(
        &admin.browser,
        &client_form(
            "Web App",
            &both,
            &["authorization_code", "refresh_token"],
            "openid profile email offline_access",
            Some("client_secret_post"),
        ),
    )
    .await;
    assert!(confidential.secret.is_some());
    let shown = show_client(&app.db, &confidential.id);
    assert_eq!(
        shown["redirect_uris"],
        json!([REDIRECT_URI, "http://127.0.0.1:9000/cb"])
    );
    assert_eq!(shown["token_endpoint_auth_method"], "client_secret_post");
    assert_eq!(
        strings(&shown["grant_types"]),
        set(&["authorization_code", "refresh_token"])
    );
    // client_secret_post: the secret goes in the form.
    let (params, verifier) = code_request(&confidential.client(), "openid email", "st");
    let query = app
        .browser()
        .sign_in_and_allow(&pairs(&params), &alice)
        .await;
    let secret = confidential.secret.clone().unwrap();
    let response = app
        .http
        .post(app.url("/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", query["code"].as_str()),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", verifier.as_str()),
            ("client_id", confidential.id.as_str()),
            ("client_secret", secret.as_str()),
        ])
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["id_token"].is_string());
}

#[tokio::test]
async fn the_client_list_filters_on_name_or_client_id() {
    let app = TestApp::start().await;
    let admin = admin_session(&app).await;
    let alpha = register_service(&admin.browser, "Alpha Ledger").await;
    let beta = register_service(&admin.browser, "Beta Mailer").await;
    let all = page(&admin.browser, "/admin/clients").await;
    assert!(all.contains(&alpha.id) && all.contains(&beta.id));
    let by_name = page(&admin.browser, "/admin/clients?q=Ledger").await;
    assert!(by_name.contains(&alpha.id), "{by_name}");
    assert!(!by_name.contains(&beta.id), "{by_name}");
    let by_id = page(&admin.browser, &format!("/admin/clients?q={}", beta.id)).await;
    assert!(
        by_id.contains(&beta.id) && !by_id.contains(&alpha.id),
        "{by_id}"
    );
}

// ---------------------------------------------------------------------------------
// Re-authentication and the admin idle timeout (the app's clock is a manual one)
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn sensitive_actions_ask_for_the_password_again_after_five_minutes() {
    let app = TestApp::start().await;
    let admin = admin_session(&app).await;
    let alpha = register_service(&admin.browser, "Alpha").await;
    let beta = register_service(&admin.browser, "Beta").await;
    let beta_secret = beta.secret.clone().unwrap();
    let victim = cli_create_user(&app.db, "victim", PASSWORD, false);
    let victim_id = victim["id"].as_str().unwrap().to_owned();
    let kid = jwks_kids(&app.http, &app.base_url).await[0].clone();

    app.clock.advance(301);

    // Deleting a client: the confirmation asks for the password.
    let delete_alpha = format!("/admin/clients/{}/delete", alpha.id);
    let confirmation = page(&admin.browser, &delete_alpha).await;
    assert!(
        has_field(&confirmation, "password"),
        "the confirmation asks for the password: {confirmation}"
    );
    for password in [None, Some("not the password")] {
        let mut form = vec![];
        if let Some(p) = password {
            form.push(("password", p));
        }
        let html =
            assert_forbidden(submit_on(&admin.browser, &confirmation, &delete_alpha, &form).await)
                .await;
        assert!(has_id(&html, "reauth-error"), "{password:?}: {html}");
        assert!(has_field(&html, "password"), "the form again: {html}");
    }
    assert!(cli_succeeds(&app.db, &["client", "show", &alpha.id]));

    // Rotating a secret: refused without it, the old secret still works.
    let beta_path = format!("/admin/clients/{}", beta.id);
    let rotate = format!("{beta_path}/rotate-secret");
    let html =
        assert_forbidden(submit(&admin.browser, &beta_path, &rotate, &[("grace", "0")]).await)
            .await;
    assert!(has_id(&html, "reauth-error"), "{html}");
    assert!(!has_id(&html, "client-secret"));
    assert_credentials_work(&app, &beta.id, &beta_secret).await;

    // Revoking a key: the same.
    let revoke = format!("/admin/keys/{kid}/revoke");
    let confirmation = page(&admin.browser, &revoke).await;
    assert!(has_field(&confirmation, "password"), "{confirmation}");
    let html = assert_forbidden(submit_on(&admin.browser, &confirmation, &revoke, &[]).await).await;
    assert!(has_id(&html, "reauth-error"), "{html}");
    assert!(jwks_kids(&app.http, &app.base_url).await.contains(&kid));

    // Deleting a user: the same.
    let delete_victim = format!("/admin/users/{victim_id}/delete");
    let confirmation = page(&admin.browser, &delete_victim).await;
    assert!(has_field(&confirmation, "password"), "{confirmation}");
    let html =
        assert_forbidden(submit_on(&admin.browser, &confirmation, &delete_victim, &[]).await).await;
    assert!(has_id(&html, "reauth-error"), "{html}");
    assert!(cli_succeeds(&app.db, &["user", "show", "victim"]));

    // The right password: done, and it counts as a new sign-in…
    let confirmation = page(&admin.browser, &delete_alpha).await;
    assert_done(
        &submit_on(
            &admin.browser,
            &confirmation,
            &delete_alpha,
            &[("password", PASSWORD)],
        )
        .await,
        &app.base_url,
    );
    assert!(!cli_succeeds(&app.db, &["client", "show", &alpha.id]));

    // …so the next sensitive actions need no password.
    let response = submit(&admin.browser, &beta_path, &rotate, &[("grace", "0")]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    let new_secret = element_text(&html, "client-secret").expect("a new secret");
    assert_credentials_work(&app, &beta.id, &new_secret).await;
    let confirmation = page(&admin.browser, &delete_victim).await;
    assert!(!has_field(&confirmation, "password"), "{confirmation}");
    assert_done(
        &submit_on(&admin.browser, &confirmation, &delete_victim, &[]).await,
        &app.base_url,
    );
    assert!(!cli_succeeds(&app.db, &["user", "show", "victim"]));
}

#[tokio::test]
async fn an_idle_admin_session_ends_and_the_admin_signs_in_again() {
    let app = TestApp::start().await;
    let admin = admin_session(&app).await;
    page(&admin.browser, "/admin").await;
    // Used within the admin idle timeout, the session lives on.
    app.clock.advance(600);
    page(&admin.browser, "/admin/clients").await;
    app.clock.advance(901);
    let response = admin.browser.get("/admin/clients").await;
    assert_to_login(&response, &app.base_url, "/admin/clients");
    // The whole session ended, not only its admin pages.
    let response = admin.browser.get("/account").await;
    assert_to_login(&response, &app.base_url, "/account");
    // Signing in again opens the admin UI.
    signed_in(&admin.browser, "root", PASSWORD, "/admin/clients").await;
    page(&admin.browser, "/admin/clients").await;
}

// ---------------------------------------------------------------------------------
// Users
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn users_are_created_edited_reset_disabled_enabled_unlocked_and_deleted() {
    let app = TestApp::start().await;
    let admin = admin_session(&app).await;
    let first_password = "dora's first password";
    let second_password = "dora's second password";

    // Create.
    let new_page = page(&admin.browser, "/admin/users/new").await;
    for field in ["username", "email", "name", "admin", "password"] {
        assert!(has_field(&new_page, field), "the form has {field}");
    }
    let response = submit_on(
        &admin.browser,
        &new_page,
        "/admin/users",
        &[
            ("username", "dora"),
            ("email", "dora@example.com"),
            ("name", "Dora"),
            ("password", first_password),
        ],
    )
    .await;
    assert_done(&response, &app.base_url);
    let shown = show_user(&app.db, "dora");
    assert_eq!(shown["email"], "dora@example.com");
    assert_eq!(shown["name"], "Dora");
    assert_eq!(shown["admin"], false);
    assert_eq!(shown["disabled"], false);
    let id = shown["id"].as_str().unwrap().to_owned();
    signed_in(&app.browser(), "dora", first_password, "/account").await;

    // Listed and searchable.
    let list = page(&admin.browser, "/admin/users").await;
    assert!(
        list.contains("dora") && list.contains("dora@example.com"),
        "{list}"
    );
    let found = page(&admin.browser, "/admin/users?q=dor").await;
    assert!(found.contains("dora@example.com"), "{found}");
    let not_found = page(&admin.browser, "/admin/users?q=zzzz").await;
    assert!(!not_found.contains("dora@example.com"), "{not_found}");

    // Edit: email, name, admin flag, roles and groups.
    let detail_path = format!("/admin/users/{id}");
    let detail = page(&admin.browser, &detail_path).await;
    assert!(detail.contains("dora@example.com"), "{detail}");
    let edit_form = forms_with_action(&detail, &detail_path)
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("an edit form posting to {detail_path}: {detail}"));
    let admin_on = checkbox_value(edit_form, "admin");
    assert_done(
        &submit_on(
            &admin.browser,
            &detail,
            &detail_path,
            &[
                ("email", "dora@new.example"),
                ("name", "Dora Explorer"),
                ("admin", admin_on.as_str()),
                ("roles", "billing ops"),
                ("groups", "staff"),
            ],
        )
        .await,
        &app.base_url,
    );
    let shown = show_user(&app.db, "dora");
    assert_eq!(shown["email"], "dora@new.example");
    assert_eq!(shown["name"], "Dora Explorer");
    assert_eq!(shown["admin"], true);
    assert_eq!(strings(&shown["roles"]), set(&["billing", "ops"]));
    assert_eq!(strings(&shown["groups"]), set(&["staff"]));
    let as_admin = app.browser();
    signed_in(&as_admin, "dora", first_password, "/admin").await;
    page(&as_admin, "/admin").await;

    // The flag removed again (the checkbox left out), a role dropped.
    assert_done(
        &submit(
            &admin.browser,
            &detail_path,
            &detail_path,
            &[
                ("email", "dora@new.example"),
                ("name", "Dora Explorer"),
                ("roles", "billing"),
                ("groups", "staff"),
            ],
        )
        .await,
        &app.base_url,
    );
    let shown = show_user(&app.db, "dora");
    assert_eq!(shown["admin"], false);
    assert_eq!(strings(&shown["roles"]), set(&["billing"]));
    let (status, _) = get_html(&as_admin, "/admin").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "no longer an admin");

    // An invalid edit: 422, nothing saved.
    let html = assert_unprocessable(
        submit(
            &admin.browser,
            &detail_path,
            &detail_path,
            &[
                ("email", "not-an-address"),
                ("name", "Someone Else"),
                ("roles", ""),
                ("groups", ""),
            ],
        )
        .await,
    )
    .await;
    assert!(field_error(&html, "email").is_some(), "{html}");
    assert_eq!(show_user(&app.db, "dora")["name"], "Dora Explorer");

    // Reset the password: the new one signs in, the old one does not.
    assert_done(
        &submit(
            &admin.browser,
            &detail_path,
            &format!("{detail_path}/password"),
            &[("password", second_password)],
        )
        .await,
        &app.base_url,
    );
    signed_in(&app.browser(), "dora", second_password, "/account").await;
    assert_sign_in_refused(&app.browser(), "dora", first_password).await;

    // Disable: her sessions end and she cannot sign in.
    let dora = app.browser();
    signed_in(&dora, "dora", second_password, "/account").await;
    assert_done(
        &submit(
            &admin.browser,
            &detail_path,
            &format!("{detail_path}/disable"),
            &[],
        )
        .await,
        &app.base_url,
    );
    assert_eq!(show_user(&app.db, "dora")["disabled"], true);
    assert_to_login(&dora.get("/account").await, &app.base_url, "/account");
    assert_sign_in_refused(&app.browser(), "dora", second_password).await;
    let list = page(&admin.browser, "/admin/users").await;
    assert!(list.to_lowercase().contains("disabled"), "{list}");

    // Enable: she can again.
    assert_done(
        &submit(
            &admin.browser,
            &detail_path,
            &format!("{detail_path}/enable"),
            &[],
        )
        .await,
        &app.base_url,
    );
    assert_eq!(show_user(&app.db, "dora")["disabled"], false);
    signed_in(&app.browser(), "dora", second_password, "/account").await;

    // Lock her out with failures, then unlock.
    let stranger = app.browser();
    for _ in 0..5 {
        assert_sign_in_refused(&stranger, "dora", "wrong password").await;
    }
    assert_sign_in_refused(&stranger, "dora", second_password).await;
    assert!(
        !show_user(&app.db, "dora")["locked_until"].is_null(),
        "locked"
    );
    let list = page(&admin.browser, "/admin/users").await;
    assert!(list.to_lowercase().contains("locked"), "{list}");
    assert_done(
        &submit(
            &admin.browser,
            &detail_path,
            &format!("{detail_path}/unlock"),
            &[],
        )
        .await,
        &app.base_url,
    );
    let shown = show_user(&app.db, "dora");
    assert!(shown["locked_until"].is_null(), "{shown}");
    assert_eq!(shown["failed_login_count"], 0);
    signed_in(&stranger, "dora", second_password, "/account").await;

    // Delete: a confirmation page, then the POST.
    let delete = format!("{detail_path}/delete");
    let confirmation = page(&admin.browser, &delete).await;
    assert!(confirmation.contains("dora"), "{confirmation}");
    assert_done(
        &submit_on(&admin.browser, &confirmation, &delete, &[]).await,
        &app.base_url,
    );
    assert!(!cli_succeeds(&app.db, &["user", "show", "dora"]));
    let (status, _) = get_html(&admin.browser, &detail_path).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_to_login(&stranger.get("/account").await, &app.base_url, "/account");

    let events = audit(&app.db, &["--user", &id]);
    for kind in [
        "user.created",
        "user.updated",
        "user.password_set",
        "user.disabled",
        "user.enabled",
        "user.unlocked",
        "user.deleted",
    ] {
        assert!(count_kind(&events, kind) >= 1, "{kind}: {events:?}");
    }
}

#[tokio::test]
async fn an_admin_made_in_the_ui_can_use_it() {
    let app = TestApp::start().await;
    let admin = admin_session(&app).await;
    let new_page = page(&admin.browser, "/admin/users/new").await;
    let admin_on = checkbox_value(&new_page, "admin");
    assert_done(
        &submit_on(
            &admin.browser,
            &new_page,
            "/admin/users",
            &[
                ("username", "ada"),
                ("email", "ada@example.com"),
                ("name", "Ada"),
                ("admin", admin_on.as_str()),
                ("password", "ada's long password"),
            ],
        )
        .await,
        &app.base_url,
    );
    assert_eq!(show_user(&app.db, "ada")["admin"], true);
    let ada = app.browser();
    signed_in(&ada, "ada", "ada's long password", "/admin").await;
    page(&ada, "/admin/users").await;
}

#[tokio::test]
async fn an_admin_cannot_disable_delete_or_demote_themselves() {
    let app = TestApp::start().await;
    let admin = admin_session(&app).await;
    let me = format!("/admin/users/{}", admin.id);
    let detail = page(&admin.browser, &me).await;

    let response = submit_on(&admin.browser, &detail, &format!("{me}/disable"), &[]).await;
    assert!(
        response.status().is_client_error(),
        "disabling oneself is refused: {}",
        response.status()
    );
    let response = submit_on(
        &admin.browser,
        &detail,
        &me,
        &[("email", ""), ("name", ""), ("roles", ""), ("groups", "")],
    )
    .await;
    assert!(
        response.status().is_client_error(),
        "removing one's own admin flag is refused: {}",
        response.status()
    );
    let delete = format!("{me}/delete");
    let (status, confirmation) = get_html(&admin.browser, &delete).await;
    let html = if status == StatusCode::OK {
        confirmation
    } else {
        assert!(status.is_client_error(), "{status}");
        detail.clone()
    };
    let response = submit_on(&admin.browser, &html, &delete, &[]).await;
    assert!(
        response.status().is_client_error(),
        "deleting oneself is refused: {}",
        response.status()
    );

    let shown = show_user(&app.db, "root");
    assert_eq!(shown["admin"], true);
    assert_eq!(shown["disabled"], false);
    page(&admin.browser, "/admin").await;
    let events = audit(&app.db, &["--user", &admin.id]);
    for kind in ["user.disabled", "user.deleted", "user.updated"] {
        assert_eq!(count_kind(&events, kind), 0, "{kind}: {events:?}");
    }
}

#[tokio::test]
async fn the_admin_user_page_revokes_consents_and_ends_sessions() {
    let app = TestApp::start().await;
    let admin = admin_session(&app).await;
    let client = app.code_client();
    let erin = app.create_user("erin");
    let erin_browser = app.browser();
    let tokens = tokens_in(&app, &erin_browser, &client, &erin, "openid offline_access").await;
    let refresh_token = tokens["refresh_token"].as_str().unwrap().to_owned();
    page(&erin_browser, "/account").await;
    assert!(!cli_json(&app.db, &["user", "sessions", "erin"])
        .as_array()
        .unwrap()
        .is_empty());

    let detail_path = format!("/admin/users/{}", erin.id);
    let detail = page(&admin.browser, &detail_path).await;
    assert!(detail.contains("Test App"), "her apps are listed: {detail}");
    let revoke = format!("{detail_path}/consents/{}/revoke", client.id);
    assert!(
        !forms_with_action(&detail, &revoke).is_empty(),
        "a Revoke button posting to {revoke}: {detail}"
    );
    assert!(
        !forms_with_action(&detail, &format!("{detail_path}/sessions/end")).is_empty(),
        "an End all sessions button: {detail}"
    );

    assert_done(
        &submit_on(&admin.browser, &detail, &revoke, &[]).await,
        &app.base_url,
    );
    assert!(cli_json(&app.db, &["user", "consents", "erin"])
        .as_array()
        .unwrap()
        .is_empty());
    let (status, body) = refresh(&app, &client, &refresh_token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_grant");

    assert_done(
        &submit(
            &admin.browser,
            &detail_path,
            &format!("{detail_path}/sessions/end"),
            &[],
        )
        .await,
        &app.base_url,
    );
    assert!(cli_json(&app.db, &["user", "sessions", "erin"])
        .as_array()
        .unwrap()
        .is_empty());
    assert_to_login(
        &erin_browser.get("/account").await,
        &app.base_url,
        "/account",
    );
    page(&admin.browser, "/admin").await;

    let events = audit(&app.db, &["--user", &erin.id]);
    assert!(count_kind(&events, "consent.revoked") >= 1, "{events:?}");
    assert!(count_kind(&events, "session.ended") >= 1, "{events:?}");
}

#[tokio::test]
async fn an_admin_ends_one_session_of_a_user_and_an_unknown_one_is_a_404() {
    let app = TestApp::start().await;
    let admin = admin_session(&app).await;
    let fay = cli_create_user(&app.db, "fay", PASSWORD, false);
    let fay_id = fay["id"].as_str().unwrap().to_owned();
    let live_sids = || -> BTreeSet<String> {
        cli_json(&app.db, &["user", "sessions", "fay"])
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["sid"].as_str().unwrap().to_owned())
            .collect()
    };

    // Two browsers (two cookie jars), each with a session of her own.
    let first = app.browser();
    signed_in(&first, "fay", PASSWORD, "/account").await;
    let first_sid = live_sids()
        .into_iter()
        .next()
        .expect("the first browser's session");
    let second = app.browser();
    signed_in(&second, "fay", PASSWORD, "/account").await;
    let both = live_sids();
    assert_eq!(both.len(), 2, "two live sessions: {both:?}");
    let second_sid = both.iter().find(|sid| **sid != first_sid).unwrap().clone();
    page(&first, "/account").await;
    page(&second, "/account").await;

    // Her page has an End button per session.
    let detail_path = format!("/admin/users/{fay_id}");
    let detail = page(&admin.browser, &detail_path).await;
    let end = |sid: &str| format!("{detail_path}/sessions/{sid}/end");
    for sid in [first_sid.as_str(), second_sid.as_str()] {
        assert!(
            !forms_with_action(&detail, &end(sid)).is_empty(),
            "an End button posting to {}: {detail}",
            end(sid)
        );
    }

    // Without the CSRF token, or with a wrong one: 403, nothing ends.
    assert_forbidden(admin.browser.post(&end(first_sid.as_str()), &[]).await).await;
    assert_forbidden(
        admin
            .browser
            .post(&end(first_sid.as_str()), &[("csrf_token", "forged")])
            .await,
    )
    .await;
    assert_eq!(live_sids(), both, "a refused form ends nothing");

    // End the first browser's session: exactly that one is signed out.
    let done = assert_done(
        &submit_on(&admin.browser, &detail, &end(first_sid.as_str()), &[]).await,
        &app.base_url,
    );
    assert_eq!(path_of(&done), detail_path, "back to her page: {done}");
    let after = page(&admin.browser, &done).await;
    assert!(has_id(&after, "sessions"), "{after}");
    assert!(
        forms_with_action(&after, &end(first_sid.as_str())).is_empty(),
        "the ended session is no longer listed: {after}"
    );
    assert!(
        !forms_with_action(&after, &end(second_sid.as_str())).is_empty(),
        "the other session is still listed: {after}"
    );
    assert_eq!(live_sids(), BTreeSet::from([second_sid.clone()]));
    assert_to_login(&first.get("/account").await, &app.base_url, "/account");
    page(&second, "/account").await;

    // An unknown sid, the ended one again, her live one under another user, or an
    // unknown user: a 404 page, and nothing else ends.
    let csrf = csrf_of(&after);
    for (action, case) in [
        (end("no-such-session"), "an unknown sid"),
        (end(first_sid.as_str()), "a session already ended"),
        (
            format!("/admin/users/{}/sessions/{second_sid}/end", admin.id),
            "her session under the admin's own user",
        ),
        (
            format!("/admin/users/no-such-user/sessions/{second_sid}/end"),
            "an unknown user",
        ),
    ] {
        let response = admin
            .browser
            .post(&action, &[("csrf_token", csrf.as_str())])
            .await;
        let status = response.status();
        assert_page_headers(&response);
        let html = response.text().await.unwrap();
        assert_eq!(
            status,
            StatusCode::NOT_FOUND,
            "{case}: POST {action}: {html}"
        );
        assert!(html.contains("<html"), "{case}: an error page: {html}");
    }
    assert_eq!(live_sids(), BTreeSet::from([second_sid.clone()]));
    page(&second, "/account").await;
    page(&admin.browser, "/admin").await;

    // One audit event, by the admin, naming the ended session.
    let events = audit(&app.db, &["--user", &fay_id, "--kind", "session.ended"]);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["actor"], admin.id.as_str(), "{events:?}");
    assert_eq!(events[0]["detail"]["sid"], first_sid.as_str(), "{events:?}");
}

// ---------------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------------

fn kids_of(keys: &[Value], alg: &str) -> Vec<String> {
    keys.iter()
        .filter(|k| k["alg"] == alg)
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_keys_page_shows_rotates_and_revokes_signing_keys() {
    let app = TestApp::start().await;
    let admin = admin_session(&app).await;
    let keys_page = page(&admin.browser, "/admin/keys").await;
    let published = jwks_kids(&app.http, &app.base_url).await;
    assert!(!published.is_empty());
    for kid in &published {
        assert!(keys_page.contains(kid.as_str()), "{kid} on {keys_page}");
    }
    for alg in ["RS256", "ES256"] {
        assert!(keys_page.contains(alg), "{alg}");
    }

    // Rotate ES256: a new key appears, RS256 is untouched.
    let before = keys_listed(&app.db);
    assert_done(
        &submit_on(
            &admin.browser,
            &keys_page,
            "/admin/keys/rotate",
            &[("alg", "ES256")],
        )
        .await,
        &app.base_url,
    );
    let after = keys_listed(&app.db);
    let new: Vec<String> = kids_of(&after, "ES256")
        .into_iter()
        .filter(|kid| !kids_of(&before, "ES256").contains(kid))
        .collect();
    assert_eq!(new.len(), 1, "one new ES256 key: {after:?}");
    assert_eq!(kids_of(&after, "RS256"), kids_of(&before, "RS256"));
    let keys_page = page(&admin.browser, "/admin/keys").await;
    assert!(keys_page.contains(new[0].as_str()), "{keys_page}");

    // Revoke a published ES256 key: out of the JWKS at once.
    let kid = kids_of(&after, "ES256")
        .into_iter()
        .find(|kid| published.contains(kid))
        .expect("a published ES256 key");
    let revoke = format!("/admin/keys/{kid}/revoke");
    let confirmation = page(&admin.browser, &revoke).await;
    assert!(confirmation.contains(kid.as_str()), "{confirmation}");
    assert_done(
        &submit_on(&admin.browser, &confirmation, &revoke, &[]).await,
        &app.base_url,
    );
    assert!(
        !jwks_kids(&app.http, &app.base_url).await.contains(&kid),
        "a revoked key leaves the JWKS at once"
    );
    let state = keys_listed(&app.db)
        .into_iter()
        .find(|k| k["kid"] == kid.as_str())
        .map(|k| k["state"].clone());
    assert_eq!(state, Some(json!("revoked")));

    let events = audit(&app.db, &[]);
    assert!(count_kind(&events, "key.rotated") >= 1, "{events:?}");
    assert_eq!(count_kind(&events, "key.revoked"), 1, "{events:?}");
}

// ---------------------------------------------------------------------------------
// Audit
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn the_audit_page_lists_events_newest_first_and_filters_them() {
    let app = TestApp::start().await;
    let admin = admin_session(&app).await;
    // A second apart each, so that "newest first" has one answer.
    app.clock.advance(1);
    let alpha = register_service(&admin.browser, "Alpha Audit").await;
    app.clock.advance(1);
    let beta = register_service(&admin.browser, "Beta Audit").await;
    app.clock.advance(1);
    let alpha_path = format!("/admin/clients/{}", alpha.id);
    assert_done(
        &submit(
            &admin.browser,
            &alpha_path,
            &format!("{alpha_path}/disable"),
            &[],
        )
        .await,
        &app.base_url,
    );

    let all = page(&admin.browser, "/admin/audit").await;
    let alpha_marks = [alpha.id.as_str(), "Alpha Audit"];
    let beta_marks = [beta.id.as_str(), "Beta Audit"];
    let rows: Vec<(&str, &str)> = table_part(&all)
        .split("<tr")
        .skip(1)
        .filter_map(|row| {
            let who = if alpha_marks.iter().any(|m| row.contains(m)) {
                "alpha"
            } else if beta_marks.iter().any(|m| row.contains(m)) {
                "beta"
            } else {
                return None;
            };
            let kind = ["client.disabled", "client.created"]
                .into_iter()
                .find(|k| row.contains(k))?;
            Some((kind, who))
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            ("client.disabled", "alpha"),
            ("client.created", "beta"),
            ("client.created", "alpha"),
        ],
        "newest first: {all}"
    );

    // By kind.
    let disabled = page(&admin.browser, "/admin/audit?kind=client.disabled").await;
    assert_eq!(
        rows_mentioning(&disabled, &alpha_marks).len(),
        1,
        "{disabled}"
    );
    assert!(
        rows_mentioning(&disabled, &beta_marks).is_empty(),
        "{disabled}"
    );
    assert!(
        !table_part(&disabled).contains("client.created"),
        "{disabled}"
    );
    let created = page(&admin.browser, "/admin/audit?kind=client.created").await;
    assert_eq!(
        rows_mentioning(&created, &alpha_marks).len(),
        1,
        "{created}"
    );
    assert_eq!(rows_mentioning(&created, &beta_marks).len(), 1, "{created}");
    assert!(
        !table_part(&created).contains("login.succeeded"),
        "{created}"
    );

    // By client.
    let of_beta = page(&admin.browser, &format!("/admin/audit?client={}", beta.id)).await;
    assert_eq!(rows_mentioning(&of_beta, &beta_marks).len(), 1, "{of_beta}");
    assert!(
        rows_mentioning(&of_beta, &alpha_marks).is_empty(),
        "{of_beta}"
    );

    // By time: nothing after 2999, nothing before 2000.
    for query in ["since=2999-01-01", "until=2000-01-01T00:00"] {
        let none = page(&admin.browser, &format!("/admin/audit?{query}")).await;
        let none_rows = table_part(&none)
            .split("<tr")
            .skip(1)
            .filter(|r| r.contains("<td"))
            .count();
        assert_eq!(none_rows, 0, "{query}: {none}");
    }
    // And what the page shows matches the trail.
    assert_eq!(
        count_kind(
            &audit(&app.db, &["--kind", "client.created"]),
            "client.created"
        ),
        2
    );

    // A typed filter is shown escaped, or refused; never raw.
    let response = admin
        .browser
        .get("/admin/audit?kind=%3Cscript%3Ealert(1)%3C%2Fscript%3E")
        .await;
    let status = response.status();
    let html = response.text().await.unwrap();
    assert!(
        [
            StatusCode::OK,
            StatusCode::BAD_REQUEST,
            StatusCode::UNPROCESSABLE_ENTITY
        ]
        .contains(&status),
        "{status}"
    );
    assert!(!html.contains("<script>alert(1)"), "{html}");
}

// ---------------------------------------------------------------------------------
// Playground (over HTTP; the browser test clicks through it too)
// ---------------------------------------------------------------------------------

#[tokio::test]
async fn the_playground_runs_a_real_code_flow_for_a_confidential_client() {
    let app = TestApp::start().await;
    let admin = admin_session(&app).await;
    let code = register_client(
        &admin.browser,
        &client_form(
            "Playground Target",
            REDIRECT_URI,
            &["authorization_code", "refresh_token"],
            "openid profile offline_access",
            Some("client_secret_basic"),
        ),
    )
    .await;
    let secret = code.secret.clone().unwrap();
    let service = register_service(&admin.browser, "Machine Only").await;

    // Only clients with the code grant are offered.
    let playground = page(&admin.browser, "/playground").await;
    let start_form = forms_with_action(&playground, "/playground/start")
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("a form posting to /playground/start: {playground}"));
    assert!(start_form.contains(&code.id) || start_form.contains("Playground Target"));
    assert!(!start_form.contains(&service.id), "{start_form}");

    // Pick the client, the scopes, paste the secret.
    let mut fields = form_defaults(start_form);
    let client_field = control_offering(start_form, &code.id)
        .unwrap_or_else(|| panic!("a control offering {}: {start_form}", code.id));
    set_field(&mut fields, &client_field, &code.id);
    let tags = start_tags(start_form);
    let secret_field = tags
        .iter()
        .find(|t| {
            t.name == "input"
                && (t.attr("type") == Some("password")
                    || t.attr("name").is_some_and(|n| n.contains("secret")))
        })
        .and_then(|t| t.attr("name"))
        .unwrap_or_else(|| panic!("a field for the secret: {start_form}"))
        .to_owned();
    set_field(&mut fields, &secret_field, &secret);
    let scope_text = tags.iter().find(|t| {
        t.attr("name").is_some_and(|n| n.contains("scope"))
            && matches!(t.attr("type"), None | Some("text"))
            && t.name == "input"
    });
    if let Some(scope) = scope_text {
        let name = scope.attr("name").unwrap().to_owned();
        set_field(&mut fields, &name, "openid profile offline_access");
    } else {
        for tag in &tags {
            if tag.attr("type") == Some("checkbox")
                && tag.attr("name").is_some_and(|n| n.contains("scope"))
                && ["openid", "profile", "offline_access"]
                    .contains(&tag.attr("value").unwrap_or(""))
            {
                let pair = (
                    tag.attr("name").unwrap().to_owned(),
                    tag.attr("value").unwrap().to_owned(),
                );
                if !fields.contains(&pair) {
                    fields.push(pair);
                }
            }
        }
    }
    let response = admin
        .browser
        .post("/playground/start", &borrowed(&fields))
        .await;

    // The client lacks the playground's redirect URI: a confirmation first.
    let callback = format!("{}/playground/callback", app.base_url);
    let response = if response.status() == StatusCode::OK {
        let html = response.text().await.unwrap();
        assert!(html.contains("/playground/callback"), "{html}");
        let form = start_tags(&html)
            .into_iter()
            .filter(|t| t.name == "form")
            .find_map(|t| {
                let end = html[t.end..]
                    .find("</form>")
                    .map(|e| t.end + e)
                    .unwrap_or(html.len());
                let body = &html[t.start..end];
                has_field(body, "register_redirect_uri")
                    .then(|| (t.attr("action").unwrap_or("").to_owned(), body.to_owned()))
            })
            .unwrap_or_else(|| panic!("a form with register_redirect_uri: {html}"));
        let mut confirm = form_defaults(&form.1);
        set_field(&mut confirm, "register_redirect_uri", "yes");
        let action = relative_to(&form.0, &app.base_url);
        admin.browser.post(&action, &borrowed(&confirm)).await
    } else {
        response
    };
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let authorize = location(&response);
    assert!(authorize.contains("/authorize?"), "{authorize}");
    assert!(
        !authorize.contains(&secret),
        "the secret stays on the server"
    );
    let query = query_pairs(&authorize);
    assert_eq!(query["client_id"], code.id);
    assert_eq!(query["redirect_uri"], callback);
    assert_eq!(query["code_challenge_method"], "S256");
    assert!(
        query.contains_key("state") && query.contains_key("nonce"),
        "{authorize}"
    );
    assert!(
        strings(&show_client(&app.db, &code.id)["redirect_uris"]).contains(&callback),
        "the playground's redirect URI is registered"
    );

    // The real authorization endpoint and consent page, as the signed-in admin.
    let response = admin.browser.get(&authorize).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let next = location(&response);
    let response = if next.contains("/consent") {
        admin
            .browser
            .consent(&relative_to(&next, &app.base_url), "allow")
            .await
    } else {
        response
    };
    let back = location(&response);
    assert!(back.starts_with(&callback), "{back}");

    // The callback redeems the code and shows what came back.
    let result = page(&admin.browser, &back).await;
    let id_claims = element_text(&result, "id-token-claims")
        .unwrap_or_else(|| panic!("id=\"id-token-claims\": {result}"));
    assert!(
        id_claims.contains("\"sub\"") || id_claims.contains("sub"),
        "{id_claims}"
    );
    assert!(
        id_claims.contains(&admin.id),
        "the admin is the subject: {id_claims}"
    );
    assert!(has_id(&result, "access-token-claims"), "{result}");
    assert!(has_id(&result, "userinfo"), "{result}");
    assert!(
        !forms_with_action(&result, "/playground/refresh").is_empty(),
        "a Refresh button with a refresh token: {result}"
    );
    assert!(!result.contains(&secret), "the secret is never shown");
}

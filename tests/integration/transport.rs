//! Transport and operations: HTTPS with rustls (a certificate made in the test),
//! HTTP/2, `Secure` / `__Host-` cookies and HSTS; CORS for browser-based public
//! clients at the token and revocation endpoints; `/metrics`.

use std::net::TcpListener;
use std::sync::Arc;

use portcullis::clock::ManualClock;
use portcullis::protocol::client_metadata::ClientRegistration;
use reqwest::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_ORIGIN, ORIGIN, SET_COOKIE,
};

use crate::oauth_support::{
    code_request, exchange_code, location, pairs, query_of, Browser, PASSWORD,
};
use crate::support::{TestApp, TestDb};

/// A self-signed certificate for `localhost` and its key, as PEM files in `dir`.
fn certificate(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf, String) {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert_pem = certified.cert.pem();
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    std::fs::write(&cert, &cert_pem).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    (cert, key, cert_pem)
}

/// An HTTP client that trusts only `cert_pem` and finds `localhost` at `addr`.
fn trusting(cert_pem: &str, addr: std::net::SocketAddr) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(cert_pem.as_bytes()).unwrap())
        .resolve("localhost", addr)
}

/// A server speaking HTTPS at `https://localhost:PORT` with a fresh certificate, and
/// a client builder that trusts only that certificate.
async fn https_app(
    dir: &std::path::Path,
) -> (TestApp, impl Fn() -> reqwest::ClientBuilder, String) {
    let (cert, key, cert_pem) = certificate(dir);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let issuer = format!("https://localhost:{}", addr.port());
    let app = TestApp::try_start_as(
        Arc::new(TestDb::new()),
        listener,
        issuer.clone(),
        &[
            ("PORTCULLIS_TLS_CERT_FILE", cert.display().to_string()),
            ("PORTCULLIS_TLS_KEY_FILE", key.display().to_string()),
        ],
        Arc::new(ManualClock::starting_now()),
    )
    .await
    .unwrap();
    (app, move || trusting(&cert_pem, addr), issuer)
}

#[tokio::test]
async fn a_full_flow_over_https_with_secure_host_cookies_hsts_and_http2() {
    let dir = tempfile::tempdir().unwrap();
    let (mut app, client, issuer) = https_app(dir.path()).await;
    // The harness's own requests (the code exchange) go over TLS too.
    app.http = client().build().unwrap();

    // Discovery over TLS, negotiated as HTTP/2 by ALPN, with HSTS (RFC 6797).
    let http = client().build().unwrap();
    let discovery = http
        .get(format!("{issuer}/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap();
    assert_eq!(discovery.status(), 200);
    assert_eq!(discovery.version(), reqwest::Version::HTTP_2);
    assert_eq!(
        discovery.headers()["strict-transport-security"],
        "max-age=31536000"
    );
    let document: serde_json::Value = discovery.json().await.unwrap();
    assert_eq!(document["issuer"], issuer);
    assert!(document["token_endpoint"]
        .as_str()
        .unwrap()
        .starts_with("https://localhost:"));

    // A browser over https: every cookie is Secure and __Host- (RFC 6265bis §4.1.3.2).
    let client_app = app.code_client();
    let user = app.create_user("tess");
    let browser = Browser {
        base_url: issuer.clone(),
        http: client()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
    };
    let (params, verifier) = code_request(&client_app, "openid profile", "st-tls");
    let response = browser.authorize(&pairs(&params)).await;
    assert_eq!(response.status(), 302);
    for cookie in response.headers().get_all(SET_COOKIE) {
        let cookie = cookie.to_str().unwrap();
        assert!(cookie.starts_with("__Host-"), "{cookie}");
        assert!(cookie.contains("Secure"), "{cookie}");
        assert!(cookie.contains("HttpOnly"), "{cookie}");
    }
    let login = location(&response);
    let signed_in = browser.login(&login, &user.username, PASSWORD).await;
    assert_eq!(signed_in.status(), 303);
    let session_cookie = signed_in
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|c| c.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("__Host-portcullis-session="))
        .expect("a session cookie");
    assert!(session_cookie.contains("Secure"), "{session_cookie}");
    // A browser-session cookie by default: gone when the browser closes.
    assert!(!session_cookie.contains("Max-Age"), "{session_cookie}");
    let consent = location(&signed_in);
    let back = browser.consent(&consent, "allow").await;
    assert_eq!(back.status(), 303);
    let query = query_of(&location(&back));
    assert_eq!(query["iss"], issuer);
    let tokens = exchange_code(&app, &client_app, &query["code"], &verifier).await;
    assert!(tokens["id_token"].is_string(), "{tokens}");
    app.stop().await;
}

#[tokio::test]
async fn a_renewed_certificate_is_served_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (app, _, issuer) = https_app(dir.path()).await;
    let port = url::Url::parse(&issuer).unwrap().port().unwrap();
    let addr = format!("127.0.0.1:{port}").parse().unwrap();
    // The renewal: new files in place of the old ones.
    let renewed = tempfile::tempdir().unwrap();
    let (new_cert, new_key, new_pem) = certificate(renewed.path());
    std::fs::copy(&new_key, dir.path().join("key.pem")).unwrap();
    std::fs::copy(&new_cert, dir.path().join("cert.pem")).unwrap();
    let trusting_the_new_one = trusting(&new_pem, addr).build().unwrap();
    // The files are checked every few seconds.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let answer = trusting_the_new_one
            .get(format!("{issuer}/healthz"))
            .send()
            .await;
        if answer.is_ok_and(|r| r.status() == 200) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the renewed certificate was not picked up"
        );
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    app.stop().await;
}

#[tokio::test]
async fn tls_files_that_do_not_load_stop_the_start_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, _, _) = certificate(dir.path());
    std::fs::write(dir.path().join("garbage.pem"), "not a key").unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let issuer = format!(
        "https://localhost:{}",
        listener.local_addr().unwrap().port()
    );
    let error = TestApp::try_start_as(
        Arc::new(TestDb::new()),
        listener,
        issuer,
        &[
            ("PORTCULLIS_TLS_CERT_FILE", cert.display().to_string()),
            (
                "PORTCULLIS_TLS_KEY_FILE",
                dir.path().join("garbage.pem").display().to_string(),
            ),
        ],
        Arc::new(ManualClock::starting_now()),
    )
    .await
    .err()
    .expect("a key file without a key is refused");
    assert!(error.to_string().contains("private key"), "{error}");
}

/// A public browser app at `https://spa.example` (its redirect URI's origin).
fn spa_client(app: &TestApp) -> crate::oauth_support::Client {
    app.create_client(ClientRegistration {
        name: "SPA".into(),
        redirect_uris: vec!["https://spa.example/callback".into()],
        scope: Some("openid profile offline_access".into()),
        public: true,
        ..Default::default()
    })
}

#[tokio::test]
async fn a_public_browser_client_may_redeem_and_revoke_from_its_own_origin_only() {
    let app = TestApp::start().await;
    let spa = spa_client(&app);
    app.code_client();
    let http = reqwest::Client::new();

    // Preflight (Fetch §3.2.2): answered for a registered public origin, refused otherwise.
    let preflight = |origin: &'static str, path: &'static str| {
        http.request(reqwest::Method::OPTIONS, app.url(path))
            .header(ORIGIN, origin)
            .header("Access-Control-Request-Method", "POST")
            .header("Access-Control-Request-Headers", "content-type")
            .send()
    };
    for path in ["/token", "/revoke"] {
        let ok = preflight("https://spa.example", path).await.unwrap();
        assert_eq!(ok.status(), 204, "{path}");
        assert_eq!(
            ok.headers()[ACCESS_CONTROL_ALLOW_ORIGIN],
            "https://spa.example"
        );
        assert!(ok.headers().get(ACCESS_CONTROL_ALLOW_CREDENTIALS).is_none());
        assert!(ok.headers()["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("POST"));
        let evil = preflight("https://evil.example", path).await.unwrap();
        assert_eq!(evil.status(), 403, "{path}");
        assert!(evil.headers().get(ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
    }
    // The confidential client's origin is not a browser origin.
    let confidential_origin = crate::oauth_support::REDIRECT_URI
        .split('/')
        .take(3)
        .collect::<Vec<_>>()
        .join("/");
    let not_public = http
        .request(reqwest::Method::OPTIONS, app.url("/token"))
        .header(ORIGIN, confidential_origin)
        .header("Access-Control-Request-Method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(not_public.status(), 403);

    // The token request itself: an error the app can read (its own origin) …
    let refused = http
        .post(app.url("/token"))
        .header(ORIGIN, "https://spa.example")
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", spa.id.as_str()),
            ("code", "not-a-code"),
            ("redirect_uri", "https://spa.example/callback"),
            ("code_verifier", &"v".repeat(43)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    assert_eq!(
        refused.headers()[ACCESS_CONTROL_ALLOW_ORIGIN],
        "https://spa.example"
    );
    assert!(refused
        .headers()
        .get(ACCESS_CONTROL_ALLOW_CREDENTIALS)
        .is_none());
    // … and nothing for another origin, whose script then cannot read the answer.
    let foreign = http
        .post(app.url("/revoke"))
        .header(ORIGIN, "https://evil.example")
        .form(&[("client_id", spa.id.as_str()), ("token", "anything")])
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), 200, "RFC 7009 §2.2");
    assert!(foreign.headers().get(ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
    let own = http
        .post(app.url("/revoke"))
        .header(ORIGIN, "https://spa.example")
        .form(&[("client_id", spa.id.as_str()), ("token", "anything")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        own.headers()[ACCESS_CONTROL_ALLOW_ORIGIN],
        "https://spa.example"
    );
}

#[tokio::test]
async fn metrics_need_their_token_and_count_what_happened() {
    let token = "metrics-token-0123456789";
    let app = TestApp::start_on(
        Arc::new(TestDb::new()),
        &[("PORTCULLIS_METRICS_TOKEN", token.into())],
    )
    .await;
    let service = app.service_client();
    for _ in 0..3 {
        let answer = app
            .token(&service, &[("grant_type", "client_credentials")])
            .await;
        assert_eq!(answer.status(), 200);
    }
    let http = reqwest::Client::new();
    let anonymous = http.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(anonymous.status(), 404);
    let wrong = http
        .get(app.url("/metrics"))
        .bearer_auth("metrics-token-0123456788")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 404);
    let scraped = http
        .get(app.url("/metrics"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(scraped.status(), 200);
    assert!(scraped.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let text = scraped.text().await.unwrap();
    for expected in [
        "portcullis_tokens_issued_total{grant_type=\"client_credentials\"} 3",
        "portcullis_http_requests_total{route=\"/token\",method=\"POST\",status=\"200\"} 3",
        "# TYPE portcullis_http_request_duration_seconds histogram",
        "portcullis_http_request_duration_seconds_count{route=\"/token\",method=\"POST\"} 3",
        "portcullis_password_hash_queue 0",
        "portcullis_db_pool_max_connections",
        "portcullis_signing_key_age_seconds{kid=",
        "portcullis_logins_total{outcome=\"failed\"} 0",
    ] {
        assert!(text.contains(expected), "missing `{expected}` in\n{text}");
    }
    // Every sample line is `name{labels} value` with a number.
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let value = line.rsplit(' ').next().unwrap();
        assert!(value.parse::<f64>().is_ok(), "{line}");
    }
}

#[tokio::test]
async fn the_metrics_listener_serves_metrics_and_nothing_else() {
    let probe = TcpListener::bind("127.0.0.1:0").unwrap();
    let metrics_addr = probe.local_addr().unwrap();
    drop(probe);
    let app = TestApp::start_on(
        Arc::new(TestDb::new()),
        &[("PORTCULLIS_METRICS_BIND", metrics_addr.to_string())],
    )
    .await;
    let http = reqwest::Client::new();
    let scraped = http
        .get(format!("http://{metrics_addr}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(scraped.status(), 200);
    assert!(scraped
        .text()
        .await
        .unwrap()
        .contains("portcullis_http_requests_total"));
    let other = http
        .get(format!(
            "http://{metrics_addr}/.well-known/openid-configuration"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 404);
    // Not on the main address without a token.
    assert_eq!(app.get("/metrics").await.status(), 404);
}

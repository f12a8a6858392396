//! The pages in a real browser: headless Chromium driven through chromedriver
//! (W3C WebDriver over plain HTTP on loopback), against `portcullis serve` run as a
//! process. The first-run setup, registering a client, a real code flow with PKCE
//! and consent, revoking the app on the account page, and the playground — with
//! screenshots saved to `docs/screenshots/`.
//!
//! Without `/usr/bin/chromedriver` (Debian: `apt-get install chromium-driver`) the
//! tests are skipped, unless `PORTCULLIS_REQUIRE_BROWSER` is set: then they fail.
//!
//! WebDriver is spoken directly with reqwest (a handful of JSON commands) rather
//! than through a client crate, so no TLS stack or HTTP client beyond reqwest is
//! needed.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use reqwest::header::COOKIE;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::oauth_support::{claims, pkce_pair, query_of, serde_urlencoded, PASSWORD};
use crate::pages_support::*;
use crate::support::TestDb;

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
/// The W3C WebDriver key of an element reference.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";
/// How long the browser may take to show what a step expects.
const WAIT: Duration = Duration::from_secs(20);
const POLL: Duration = Duration::from_millis(100);

/// Whether the browser tests can run here; panics when they must and cannot.
fn browser_available() -> bool {
    let missing: Vec<&str> = [CHROMEDRIVER, CHROMIUM]
        .into_iter()
        .filter(|p| !Path::new(p).exists())
        .collect();
    if missing.is_empty() {
        return true;
    }
    if std::env::var_os("PORTCULLIS_REQUIRE_BROWSER").is_some() {
        panic!(
            "PORTCULLIS_REQUIRE_BROWSER is set but {} missing (Debian: apt-get install chromium chromium-driver)",
            missing.join(" and ")
        );
    }
    eprintln!(
        "skipped: {} missing (set PORTCULLIS_REQUIRE_BROWSER to make this a failure)",
        missing.join(" and ")
    );
    false
}

/// Where a screenshot goes.
fn screenshot_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("docs")
        .join("screenshots")
        .join(name)
}

// ---------------------------------------------------------------------------------
// chromedriver and a WebDriver session
// ---------------------------------------------------------------------------------

/// The chromedriver process and the browser session it runs; both ended when
/// dropped (the session first, so that Chromium goes with it).
struct ChromeDriver {
    child: Child,
    port: u16,
    session: Option<String>,
    _profile: tempfile::TempDir,
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        if let Some(session) = self.session.take() {
            // A blocking DELETE /session/{id}: Drop cannot await.
            if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", self.port)) {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
                let request = format!(
                    "DELETE /session/{session} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    self.port
                );
                if stream.write_all(request.as_bytes()).is_ok() {
                    let mut answer = Vec::new();
                    let _ = stream.read_to_end(&mut answer);
                }
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An element of the current page.
#[derive(Clone, Debug)]
struct Element(String);

/// A WebDriver session.
struct Driver {
    http: reqwest::Client,
    /// `http://127.0.0.1:PORT/session/ID`
    session_url: String,
}

impl Driver {
    /// Starts chromedriver on a free port and opens a headless Chromium session
    /// with a fresh profile.
    async fn start() -> (ChromeDriver, Driver) {
        let port = free_port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let profile = tempfile::tempdir().unwrap();
        let mut process = ChromeDriver {
            child,
            port,
            session: None,
            _profile: profile,
        };
        let http = reqwest::Client::new();
        let root = format!("http://127.0.0.1:{port}");

        // Wait until it answers and is ready.
        let deadline = Instant::now() + WAIT;
        loop {
            if let Ok(response) = http.get(format!("{root}/status")).send().await {
                if let Ok(status) = response.json::<Value>().await {
                    if status["value"]["ready"] == true {
                        break;
                    }
                }
            }
            if let Ok(Some(exit)) = process.child.try_wait() {
                panic!("chromedriver exited with {exit}");
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not start on {port}"
            );
            tokio::time::sleep(POLL).await;
        }

        let profile_dir = process._profile.path().display().to_string();
        let capabilities = json!({
            "capabilities": {
                "alwaysMatch": {
                    "goog:chromeOptions": {
                        "binary": CHROMIUM,
                        "args": [
                            "--headless=new",
                            "--no-sandbox",
                            "--disable-gpu",
                            "--disable-dev-shm-usage",
                            "--disable-quic",
                            "--no-first-run",
                            "--disable-background-networking",
                            "--disable-component-update",
                            "--disable-sync",
                            "--window-size=1280,900",
                            format!("--user-data-dir={profile_dir}"),
                        ]
                    }
                }
            }
        });
        let response = http
            .post(format!("{root}/session"))
            .json(&capabilities)
            .send()
            .await
            .expect("chromedriver answers");
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert!(status.is_success(), "no browser session: {body}");
        let session = body["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no sessionId: {body}"))
            .to_owned();
        process.session = Some(session.clone());
        let driver = Driver {
            http,
            session_url: format!("{root}/session/{session}"),
        };
        (process, driver)
    }

    /// One command: `Ok(value)` or `Err(the error value)`.
    async fn command(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, Value> {
        let url = format!("{}{path}", self.session_url);
        let mut request = self.http.request(method.clone(), url);
        if method == Method::POST {
            request = request.json(&body.unwrap_or_else(|| json!({})));
        }
        let response = request.send().await.expect("chromedriver answers");
        let status = response.status();
        let answer: Value = response.json().await.unwrap_or(Value::Null);
        if status.is_success() {
            Ok(answer["value"].clone())
        } else {
            Err(answer["value"].clone())
        }
    }

    /// A command that must succeed.
    async fn must(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        match self.command(method.clone(), path, body).await {
            Ok(value) => value,
            Err(error) => panic!(
                "WebDriver {method} {path} failed: {} — {}",
                error["error"],
                error["message"]
                    .as_str()
                    .unwrap_or_default()
                    .lines()
                    .next()
                    .unwrap_or_default()
            ),
        }
    }

    async fn goto(&self, url: &str) {
        self.must(Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }

    async fn current_url(&self) -> String {
        self.must(Method::GET, "/url", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    async fn source(&self) -> String {
        self.must(Method::GET, "/source", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The first element matching `css`, if any.
    async fn find(&self, css: &str) -> Option<Element> {
        let found = self
            .command(
                Method::POST,
                "/element",
                Some(json!({ "using": "css selector", "value": css })),
            )
            .await
            .ok()?;
        found[ELEMENT_KEY].as_str().map(|id| Element(id.to_owned()))
    }

    /// Waits for an element matching `css`.
    async fn wait_for(&self, css: &str) -> Element {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(element) = self.find(css).await {
                return element;
            }
            if Instant::now() >= deadline {
                panic!(
                    "no `{css}` at {} within {WAIT:?}: {}",
                    self.current_url().await,
                    self.source().await
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits until nothing matches `css` any more.
    async fn wait_gone(&self, css: &str) {
        let deadline = Instant::now() + WAIT;
        while self.find(css).await.is_some() {
            if Instant::now() >= deadline {
                panic!(
                    "`{css}` still at {}: {}",
                    self.current_url().await,
                    self.source().await
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits until the current URL satisfies `wanted`; returns it.
    async fn wait_for_url(&self, what: &str, wanted: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let url = self.current_url().await;
            if wanted(&url) {
                return url;
            }
            if Instant::now() >= deadline {
                panic!("never reached {what}; at {url}: {}", self.source().await);
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits until the browser shows `path` (query ignored) on `base`.
    async fn wait_for_path(&self, base: &str, path: &str) -> String {
        let wanted = format!("{base}{path}");
        self.wait_for_url(path, |url| {
            url.split(['?', '#']).next() == Some(wanted.as_str())
        })
        .await
    }

    async fn click(&self, element: &Element) {
        self.must(Method::POST, &format!("/element/{}/click", element.0), None)
            .await;
    }

    /// Clicks `element` and waits until the page it was on has gone (a navigation).
    async fn click_and_leave(&self, element: &Element) {
        self.click(element).await;
        let deadline = Instant::now() + WAIT;
        // A reference into a page that has been left is stale.
        while self
            .command(Method::GET, &format!("/element/{}/name", element.0), None)
            .await
            .is_ok()
        {
            if Instant::now() >= deadline {
                panic!("the click did not leave {}", self.current_url().await);
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Replaces what `element` holds with `text`.
    async fn type_into(&self, element: &Element, text: &str) {
        self.must(Method::POST, &format!("/element/{}/clear", element.0), None)
            .await;
        self.must(
            Method::POST,
            &format!("/element/{}/value", element.0),
            Some(json!({ "text": text })),
        )
        .await;
    }

    /// Types `text` into the (first) field matching `css`.
    async fn fill(&self, css: &str, text: &str) {
        let element = self.wait_for(css).await;
        self.type_into(&element, text).await;
    }

    async fn text(&self, element: &Element) -> String {
        self.must(Method::GET, &format!("/element/{}/text", element.0), None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The text of `element`, or its `value` when it is a form field.
    async fn text_or_value(&self, element: &Element) -> String {
        let text = self.text(element).await;
        if !text.trim().is_empty() {
            return text.trim().to_owned();
        }
        self.must(
            Method::GET,
            &format!("/element/{}/property/value", element.0),
            None,
        )
        .await
        .as_str()
        .unwrap_or_default()
        .trim()
        .to_owned()
    }

    async fn selected(&self, element: &Element) -> bool {
        self.must(
            Method::GET,
            &format!("/element/{}/selected", element.0),
            None,
        )
        .await
        .as_bool()
        .unwrap_or(false)
    }

    /// Checks or unchecks the checkbox matching `css`.
    async fn set_checked(&self, css: &str, checked: bool) {
        let element = self.wait_for(css).await;
        if self.selected(&element).await != checked {
            self.click(&element).await;
        }
        assert_eq!(self.selected(&element).await, checked, "{css}");
    }

    /// Submits the form that holds the field matching `field_css` with its submit
    /// button, and waits until the page has been left.
    async fn submit_form_of(&self, field_css: &str) {
        let selector = format!(
            "form:has({field_css}) button:not([type=button]):not([type=reset]), form:has({field_css}) input[type=submit]"
        );
        let button = self.wait_for(&selector).await;
        self.click_and_leave(&button).await;
    }

    /// Saves a PNG of the viewport to `docs/screenshots/NAME`.
    async fn screenshot(&self, name: &str) {
        let encoded = self.must(Method::GET, "/screenshot", None).await;
        let png = STANDARD
            .decode(encoded.as_str().unwrap_or_default())
            .expect("a base64 PNG");
        assert!(png.starts_with(b"\x89PNG"), "{name} is a PNG");
        let path = screenshot_path(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, png).unwrap();
    }

    /// The browser's cookies as a `Cookie` header.
    async fn cookie_header(&self) -> String {
        self.must(Method::GET, "/cookie", None)
            .await
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|c| {
                format!(
                    "{}={}",
                    c["name"].as_str().unwrap_or_default(),
                    c["value"].as_str().unwrap_or_default()
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn quit(&self, process: &mut ChromeDriver) {
        let _ = self.http.delete(&self.session_url).send().await;
        process.session = None;
    }
}

/// Answers every request on `listener` with 200 `ok`: the redirect URI of the app
/// registered in the browser test, so that the browser lands on a real page.
async fn answer_ok(listener: tokio::net::TcpListener) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            return;
        };
        tokio::spawn(async move {
            let mut seen = Vec::new();
            let mut buf = [0u8; 2048];
            loop {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        seen.extend_from_slice(&buf[..n]);
                        if seen.windows(4).any(|w| w == b"\r\n\r\n") || seen.len() > 65_536 {
                            break;
                        }
                    }
                }
            }
            let _ = stream
                .write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                )
                .await;
            let _ = stream.shutdown().await;
        });
    }
}

/// A token request with HTTP Basic.
async fn token_request(
    base: &str,
    client_id: &str,
    secret: &str,
    form: &[(&str, &str)],
) -> (StatusCode, Value) {
    let response = reqwest::Client::new()
        .post(format!("{base}/token"))
        .basic_auth(client_id, Some(secret))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

// ---------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_sets_up_registers_a_client_signs_in_with_it_revokes_it_and_plays() {
    if !browser_available() {
        return;
    }
    let db = TestDb::new();
    let served = Served::start(&db);
    let link = served.setup_link();
    let base = served.base_url.clone();
    let (mut process, driver) = Driver::start().await;

    // The home and login pages.
    driver.goto(&format!("{base}/")).await;
    driver.wait_for("main").await;
    driver.screenshot("home.png").await;
    driver.goto(&format!("{base}/login?next=%2Faccount")).await;
    driver.wait_for("input[name=password]").await;
    driver.screenshot("login.png").await;

    // First-run setup: the link from the log.
    let password = "the first admin's passphrase";
    driver.goto(&link).await;
    driver.fill("input[name=username]", "root").await;
    driver.fill("input[name=password]", password).await;
    driver.fill("input[name=password_confirm]", password).await;
    driver.screenshot("setup.png").await;
    driver.submit_form_of("input[name=password_confirm]").await;
    driver.wait_for_path(&base, "/admin").await;
    driver.wait_for("main").await;
    driver.screenshot("admin.png").await;
    let admin_id = show_user(&db, "root")["id"].as_str().unwrap().to_owned();

    // Register a confidential code client whose redirect URI answers 200.
    let callback_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let callback = format!(
        "http://127.0.0.1:{}/cb",
        callback_listener.local_addr().unwrap().port()
    );
    tokio::spawn(answer_ok(callback_listener));
    driver.goto(&format!("{base}/admin/clients/new")).await;
    driver.fill("input[name=client_name]", "Browser App").await;
    driver.fill("textarea[name=redirect_uris]", &callback).await;
    driver
        .set_checked("input[name=grant_types][value=authorization_code]", true)
        .await;
    driver
        .set_checked("input[name=grant_types][value=refresh_token]", true)
        .await;
    driver
        .set_checked("input[name=grant_types][value=client_credentials]", false)
        .await;
    driver
        .fill("[name=scope]", "openid profile offline_access")
        .await;
    let basic = driver
        .wait_for(
            "select[name=token_endpoint_auth_method] option[value=client_secret_basic], input[name=token_endpoint_auth_method][value=client_secret_basic]",
        )
        .await;
    driver.click(&basic).await;
    driver.submit_form_of("textarea[name=redirect_uris]").await;
    let id_element = driver.wait_for("#client-id").await;
    driver.screenshot("client-registered.png").await;
    let client_id = driver.text_or_value(&id_element).await;
    let secret_element = driver.wait_for("#client-secret").await;
    let secret = driver.text_or_value(&secret_element).await;
    assert!(!client_id.is_empty() && !secret.is_empty());
    let shown = show_client(&db, &client_id);
    assert_eq!(shown["client_name"], "Browser App");
    assert_eq!(shown["redirect_uris"], json!([callback.as_str()]));

    driver.goto(&format!("{base}/admin/clients")).await;
    driver.wait_for("main").await;
    assert!(driver.source().await.contains(&client_id));
    driver.screenshot("clients.png").await;

    // A code flow in the browser, already signed in as the admin: the consent page.
    let (verifier, challenge) = pkce_pair();
    let state = "browser-state";
    let nonce = "browser-nonce";
    let query = serde_urlencoded(&[
        ("response_type", "code"),
        ("client_id", client_id.as_str()),
        ("redirect_uri", callback.as_str()),
        ("scope", "openid offline_access"),
        ("state", state),
        ("nonce", nonce),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ]);
    driver.goto(&format!("{base}/authorize?{query}")).await;
    let allow = driver.wait_for("button[name=decision][value=allow]").await;
    driver.screenshot("consent.png").await;
    driver.click_and_leave(&allow).await;
    let back = driver
        .wait_for_url("the redirect URI", |url| url.starts_with(&callback))
        .await;
    let back = query_of(&back);
    assert_eq!(back["state"], state);
    assert_eq!(back["iss"], base);

    // Redeem the code as the app would.
    let (status, tokens) = token_request(
        &base,
        &client_id,
        &secret,
        &[
            ("grant_type", "authorization_code"),
            ("code", back["code"].as_str()),
            ("redirect_uri", callback.as_str()),
            ("code_verifier", verifier.as_str()),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert!(tokens["access_token"].is_string(), "{tokens}");
    let id_token = claims(tokens["id_token"].as_str().expect("an ID token"));
    assert_eq!(id_token["sub"], admin_id.as_str());
    assert_eq!(id_token["nonce"], nonce);
    let refresh_token = tokens["refresh_token"]
        .as_str()
        .expect("a refresh token")
        .to_owned();

    // The account page lists the app; Revoke withdraws it.
    driver.goto(&format!("{base}/account")).await;
    let revoke = format!("form[action$=\"/account/apps/{client_id}/revoke\"] button");
    let button = driver.wait_for(&revoke).await;
    driver.screenshot("account.png").await;
    driver.click_and_leave(&button).await;
    driver.wait_for_path(&base, "/account").await;
    driver.wait_gone(&revoke).await;
    let (status, body) = token_request(
        &base,
        &client_id,
        &secret,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.as_str()),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_grant");

    // The other admin pages.
    for (path, name) in [
        ("/admin/keys", "keys.png"),
        ("/admin/audit", "audit.png"),
        ("/admin/users", "users.png"),
    ] {
        driver.goto(&format!("{base}{path}")).await;
        driver.wait_for("main").await;
        driver.screenshot(name).await;
    }

    // The playground: pick the client, paste its secret, start.
    driver.goto(&format!("{base}/playground")).await;
    let choice = driver
        .wait_for(&format!(
            "select[name=client_id] option[value=\"{client_id}\"], input[name=client_id][value=\"{client_id}\"]"
        ))
        .await;
    driver.click(&choice).await;
    if driver.find("input[name=scope]").await.is_some() {
        driver.fill("input[name=scope]", "openid profile").await;
    }
    driver
        .fill(
            "input[name=client_secret], form input[type=password]",
            &secret,
        )
        .await;
    driver
        .submit_form_of("input[name=client_secret], input[type=password]")
        .await;

    // Register the playground's redirect URI, consent, and the result.
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(claims) = driver.find("#id-token-claims").await {
            let text = driver.text(&claims).await;
            assert!(text.contains("sub"), "{text}");
            assert!(text.contains(&admin_id), "{text}");
            break;
        }
        if let Some(confirm) = driver
            .find("form:has([name=register_redirect_uri]) button:not([type=button])")
            .await
        {
            driver.click_and_leave(&confirm).await;
            continue;
        }
        if let Some(allow) = driver.find("button[name=decision][value=allow]").await {
            driver.click_and_leave(&allow).await;
            continue;
        }
        assert!(
            Instant::now() < deadline,
            "the playground did not finish; at {}: {}",
            driver.current_url().await,
            driver.source().await
        );
        tokio::time::sleep(POLL).await;
    }
    assert!(driver.find("#access-token-claims").await.is_some());
    assert!(driver.find("#userinfo").await.is_some());
    driver.screenshot("playground.png").await;
    assert!(
        show_client(&db, &client_id)["redirect_uris"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u == &json!(format!("{base}/playground/callback"))),
        "the playground's redirect URI is registered"
    );

    driver.quit(&mut process).await;
    drop(process);
    served.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_in_user_without_the_admin_flag_gets_the_403_page_at_admin() {
    if !browser_available() {
        return;
    }
    let db = TestDb::new();
    cli_create_user(&db, "root", PASSWORD, true);
    cli_create_user(&db, "plain", PASSWORD, false);
    let served = Served::start(&db);
    let base = served.base_url.clone();
    let (mut process, driver) = Driver::start().await;

    // Sent to sign in, and back.
    driver.goto(&format!("{base}/admin")).await;
    driver.wait_for("input[name=password]").await;
    let at = driver.current_url().await;
    let relative = relative_to(&at, &base);
    assert_eq!(path_of(&relative), "/login", "{at}");
    assert_eq!(
        query_pairs(&relative).get("next").map(String::as_str),
        Some("/admin"),
        "{at}"
    );
    driver.fill("input[name=username]", "plain").await;
    driver.fill("input[name=password]", PASSWORD).await;
    driver.submit_form_of("input[name=password]").await;
    driver.wait_for_path(&base, "/admin").await;
    let page = driver.source().await.to_lowercase();
    assert!(
        [
            "403",
            "forbidden",
            "admins only",
            "administrator",
            "not allowed"
        ]
        .iter()
        .any(|w| page.contains(w)),
        "{page}"
    );
    assert!(
        driver.find("a[href$=\"/admin/clients\"]").await.is_none(),
        "no admin links for a non-admin"
    );

    // The same session, asked directly: 403.
    let cookie = driver.cookie_header().await;
    let response = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("{base}/admin"))
        .header(COOKIE, cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    // While the account page is theirs.
    driver.goto(&format!("{base}/account")).await;
    driver.wait_for_path(&base, "/account").await;
    assert!(driver.source().await.contains("plain"));

    driver.quit(&mut process).await;
    drop(process);
    served.stop();
}

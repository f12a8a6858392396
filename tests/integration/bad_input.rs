//! A table of bad input against every endpoint, run against one server: missing,
//! repeated, oversized, wrong-type, non-UTF-8, control-character and
//! injection-looking parameters; wrong methods and content types; broken client
//! authentication; truncated, malformed and over-limit bodies; unknown paths and
//! path traversal; and (over a raw socket) framing no HTTP client would send.
//!
//! Each row names the error shape its endpoint owes: RFC 6749 §5.2 JSON at the
//! token, revocation and introspection endpoints; an HTML error page at the
//! authorization, login, consent and logout pages; an RFC 6750 `WWW-Authenticate:
//! Bearer` challenge at UserInfo; any 4xx where actix itself answers (wrong methods,
//! unknown routes, unparseable HTTP). An authorization request whose client and
//! redirect URI are known good is answered by a redirect back to that registered
//! URI with `error` and `iss` (RFC 6749 §4.1.2.1, RFC 9207); every other row must be
//! a 4xx — never a 5xx, never a 2xx, never a redirect elsewhere. After the table
//! the server must still answer `/healthz` and issue a client_credentials token.
//!
//! The server's own pages (docs/admin-ui.md) owe an HTML error page too: 400 for an
//! unreadable form or filter, 403 for a missing or foreign CSRF token and for a
//! signed-in non-admin at the admin UI or the playground, 404 for what does not
//! exist, 422 for refused input (the self-lockout guards included). Their rows run
//! with the cookies of a signed-in user or admin (a visitor without a session gets a
//! 303 to the login page, which the account and admin tests check), and no row
//! changes anything.
//!
//! 442 rows ([`ROW_COUNT`]): /authorize 75 (GET and POST), /login 28, /consent 18,
//! /token 81, /revoke 11, /introspect 10, /userinfo 29, /logout 25, /setup 19,
//! /account… 25, /admin… 70, /playground… 23, the discovery documents and JWKS 8,
//! /healthz and /readyz 3, the stylesheet 2, other paths (unknown routes and path
//! traversal) 15; 17 of them over a raw socket.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use portcullis::protocol::error::is_description_charset;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, LOCATION};
use reqwest::Method;

use crate::oauth_support::*;
use crate::pages_support::{cli_create_user, signed_in as sign_in_to};
use crate::support::{TestApp, TestDb};

/// The number of rows in [`table`]; the doc comment above breaks it down.
const ROW_COUNT: usize = 442;

/// The issue asks for at least this many.
const MIN_ROWS: usize = 120;

const FORM: &str = "application/x-www-form-urlencoded";

/// A valid S256 challenge (RFC 7636 Appendix B).
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// `grant_type=client_credentials` as `multipart/form-data` (boundary `x`).
const MULTIPART_GRANT: &str = "--x\r\nContent-Disposition: form-data; name=\"grant_type\"\r\n\r\n\
    client_credentials\r\n--x--\r\n";

/// A JWT with `alg: none` and no signature.
const UNSIGNED_JWT: &str = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.";

/// How long a raw-socket row waits for an answer.
const RAW_TIMEOUT: Duration = Duration::from_secs(10);

/// The endpoints rows are tallied by (anything else is "other paths").
const ENDPOINTS: &[&str] = &[
    "/authorize",
    "/login",
    "/consent",
    "/token",
    "/revoke",
    "/introspect",
    "/userinfo",
    "/logout",
    "/.well-known/openid-configuration",
    "/.well-known/oauth-authorization-server",
    "/.well-known/jwks.json",
    "/healthz",
    "/readyz",
    "/static/portcullis.css",
    "/setup",
];

/// The server's own pages, tallied by section (a path at or under one of them).
const SECTIONS: &[&str] = &["/account", "/admin", "/playground"];

/// The one script tag of the account and admin pages (`static/portcullis.js`, from
/// `templates/app.html`): not an echo of anything sent.
const OWN_SCRIPT: &str = "<script src=\"/static/portcullis.js\" defer></script>";

#[tokio::test]
async fn every_endpoint_answers_bad_input_with_a_client_error_in_its_own_shape() {
    let app = TestApp::start_on(Arc::new(TestDb::new()), &unthrottled()).await;
    let fixture = Fixture::new(&app).await;
    let rows = table(&fixture);

    let mut by_endpoint: BTreeMap<&str, usize> = BTreeMap::new();
    for row in &rows {
        *by_endpoint.entry(row.endpoint()).or_default() += 1;
    }
    eprintln!("bad-input table: {} rows: {by_endpoint:?}", rows.len());
    assert!(rows.len() >= MIN_ROWS, "only {} rows", rows.len());
    assert_eq!(
        rows.len(),
        ROW_COUNT,
        "update ROW_COUNT and the module's doc comment"
    );

    // Redirects are answers to check, never to follow; no cookie jar: rows that
    // need a browser's cookies carry them.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let mut failures = Vec::new();
    for row in &rows {
        let outcome = match send(&http, &app, row).await {
            Ok(answer) => check(row.expect, answer.as_ref(), &app.base_url),
            Err(why) => Err(why),
        };
        if let Err(why) = outcome {
            failures.push(format!("[{}] {why}", row.name));
        }
    }

    // The server keeps serving.
    match app.http.get(app.url("/healthz")).send().await {
        Ok(response) if response.status() == 200 => {}
        Ok(response) => failures.push(format!(
            "[after the table] /healthz answers {}",
            response.status()
        )),
        Err(e) => failures.push(format!("[after the table] /healthz does not answer: {e}")),
    }
    let token = app
        .http
        .post(app.url("/token"))
        .basic_auth(&fixture.service.id, fixture.service.secret.as_deref())
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await;
    match token {
        Ok(response) => {
            let status = response.status();
            let body = response.text().await.unwrap_or_default();
            let issued = serde_json::from_str::<serde_json::Value>(&body)
                .is_ok_and(|json| json["access_token"].is_string());
            if status != 200 || !issued {
                failures.push(format!(
                    "[after the table] client_credentials answers {status}: {body}"
                ));
            }
        }
        Err(e) => failures.push(format!("[after the table] /token does not answer: {e}")),
    }

    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
}

/// Every rate limit off: the table is not a flood.
fn unthrottled() -> Vec<(&'static str, String)> {
    [
        "PORTCULLIS_LOGIN_RATE_LIMIT",
        "PORTCULLIS_AUTHORIZE_RATE_LIMIT",
        "PORTCULLIS_TOKEN_RATE_LIMIT",
        "PORTCULLIS_INTROSPECTION_RATE_LIMIT",
        "PORTCULLIS_USERINFO_RATE_LIMIT",
        "PORTCULLIS_ADMIN_RATE_LIMIT",
    ]
    .into_iter()
    .map(|name| (name, "0".to_owned()))
    .collect()
}

// ---------------------------------------------------------------------------
// The fixture: what rows fill in.
// ---------------------------------------------------------------------------

/// Clients, a pending authorization request, a signed-in browser's cookies, real
/// tokens and fresh codes — made before any row runs (the failed logins of the
/// table must not throttle the sign-ins made here).
struct Fixture {
    /// The confidential code client (HTTP Basic), registered for [`REDIRECT_URI`]
    /// and [`POST_LOGOUT_REDIRECT_URI`].
    code: Client,
    /// Its `Authorization: Basic …` header.
    code_basic: Vec<u8>,
    /// A public client with two redirect URIs.
    public: Client,
    /// The client_credentials client.
    service: Client,
    service_basic: Vec<u8>,
    /// A live pending request of the code client, started by a browser that has
    /// not signed in.
    pending: String,
    /// Its CSRF token (from its login page).
    csrf: String,
    /// The `Cookie` header of the browser that started it (its binding).
    pending_cookie: String,
    /// The `Cookie` header of a browser signed in as the user (not an admin).
    session_cookie: String,
    /// The user's id, and the CSRF token of their pages (`/account`, bound to that
    /// session).
    user_id: String,
    user_csrf: String,
    /// The `Cookie` header of a browser signed in as an admin (`bad-input-admin`).
    admin_cookie: String,
    /// That admin's user id, and the CSRF token of their pages.
    admin_id: String,
    admin_csrf: String,
    /// The CSRF token of the pending browser's sign-in form outside a request (bound
    /// to its browser cookie for `/login` only).
    sign_in_csrf: String,
    /// The user's tokens at the code client (`openid offline_access`).
    access_token: String,
    id_token: String,
    refresh_token: String,
    /// A client_credentials access token (no user).
    service_token: String,
    /// Unused codes (with their PKCE verifiers), one per code-grant row that needs
    /// a real code.
    codes: Vec<(String, String)>,
}

impl Fixture {
    async fn new(app: &TestApp) -> Fixture {
        let code = app.code_client();
        let public = app.public_client();
        let service = app.service_client();
        let user = app.create_user("bad-input-user");

        // A signed-in browser: tokens, then fresh codes (consent is remembered).
        let (signed_in, signed_in_jar) = browser_with_jar(app);
        let tokens = tokens_in(app, &signed_in, &code, &user, "openid offline_access").await;
        let mut codes = Vec::new();
        for state in ["code-0", "code-1", "code-2", "code-3"] {
            let (params, verifier) = code_request(&code, "openid", state);
            let query = signed_in.sign_in_and_allow(&pairs(&params), &user).await;
            codes.push((query["code"].clone(), verifier));
        }

        // Another browser starts a request and stops at the login page.
        let (pending_browser, pending_jar) = browser_with_jar(app);
        let (params, _) = code_request(&code, "openid", "pending");
        let response = pending_browser.authorize(&pairs(&params)).await;
        assert_eq!(response.status(), 302, "the pending request starts");
        let login_path = location(&response);
        let pending = query_of(&app.url(&login_path))["request"].clone();
        let page = pending_browser.get(&login_path).await;
        assert_eq!(page.status(), 200, "its login page");
        let csrf = hidden(&page.text().await.unwrap(), "csrf_token");
        // The same browser's sign-in page for the server's own pages.
        let own_login = pending_browser.get("/login?next=%2Faccount").await;
        assert_eq!(
            own_login.status(),
            200,
            "the sign-in page of the server's own pages"
        );
        let sign_in_csrf = hidden(&own_login.text().await.unwrap(), "csrf_token");

        // The signed-in user's account page: the CSRF token of their forms.
        let account = signed_in.get("/account").await;
        assert_eq!(account.status(), 200, "the user's account page");
        let user_csrf = hidden(&account.text().await.unwrap(), "csrf_token");

        // An admin, signed in to the admin UI in a browser of their own. Creating one
        // also closes first-run setup: every setup link is then invalid.
        let admin = cli_create_user(&app.db, "bad-input-admin", PASSWORD, true);
        let (admin_browser, admin_jar) = browser_with_jar(app);
        sign_in_to(&admin_browser, "bad-input-admin", PASSWORD, "/admin").await;
        let overview = admin_browser.get("/admin").await;
        assert_eq!(overview.status(), 200, "the admin overview");
        let admin_csrf = hidden(&overview.text().await.unwrap(), "csrf_token");

        let (status, body) = app
            .token_json(&service, &[("grant_type", "client_credentials")])
            .await;
        assert_eq!(status, 200, "{body}");

        let token = |name: &str| {
            tokens[name]
                .as_str()
                .unwrap_or_else(|| panic!("no {name} in {tokens}"))
                .to_owned()
        };
        Fixture {
            code_basic: basic(&code.id, code.secret.as_deref().expect("a secret")),
            service_basic: basic(&service.id, service.secret.as_deref().expect("a secret")),
            pending,
            csrf,
            pending_cookie: cookie_header(&pending_jar, &app.base_url),
            session_cookie: cookie_header(&signed_in_jar, &app.base_url),
            user_id: user.id.clone(),
            user_csrf,
            admin_cookie: cookie_header(&admin_jar, &app.base_url),
            admin_id: admin["id"].as_str().expect("the admin's id").to_owned(),
            admin_csrf,
            sign_in_csrf,
            access_token: token("access_token"),
            id_token: token("id_token"),
            refresh_token: token("refresh_token"),
            service_token: body["access_token"].as_str().unwrap().to_owned(),
            codes,
            code,
            public,
            service,
        }
    }

    /// Real code number `i` and its verifier.
    fn code_and_verifier(&self, i: usize) -> (&str, &str) {
        let (code, verifier) = &self.codes[i];
        (code.as_str(), verifier.as_str())
    }
}

/// A [`Browser`] whose cookies can be read back: rows send them as a plain header.
fn browser_with_jar(app: &TestApp) -> (Browser, Arc<reqwest::cookie::Jar>) {
    let jar = Arc::new(reqwest::cookie::Jar::default());
    let http = reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let browser = Browser {
        base_url: app.base_url.clone(),
        http,
    };
    (browser, jar)
}

/// The `Cookie` header `jar` sends to the server.
fn cookie_header(jar: &reqwest::cookie::Jar, base_url: &str) -> String {
    use reqwest::cookie::CookieStore;
    let url = reqwest::Url::parse(base_url).unwrap();
    let cookies = jar.cookies(&url).expect("the browser holds cookies");
    cookies.to_str().unwrap().to_owned()
}

/// `Authorization: Basic` of `id:secret`.
fn basic(id: &str, secret: &str) -> Vec<u8> {
    basic_of(format!("{id}:{secret}").as_bytes())
}

/// `Authorization: Basic` of any bytes.
fn basic_of(credentials: &[u8]) -> Vec<u8> {
    format!("Basic {}", STANDARD.encode(credentials)).into_bytes()
}

/// `text` followed by raw bytes (for non-UTF-8 form bodies).
fn with_bytes(text: String, tail: &[u8]) -> Vec<u8> {
    let mut bytes = text.into_bytes();
    bytes.extend_from_slice(tail);
    bytes
}

/// The query of a good authorization request by `client_id` (PKCE, `openid`, the
/// registered [`REDIRECT_URI`]) with `changes`: `Some` sets or adds a parameter,
/// `None` removes it.
fn authorize_query(client_id: &str, changes: &[(&str, Option<&str>)]) -> String {
    let mut params: Vec<(String, String)> = [
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", REDIRECT_URI),
        ("scope", "openid"),
        ("state", "st"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    for (name, value) in changes {
        params.retain(|(k, _)| k.as_str() != *name);
        if let Some(value) = value {
            params.push((name.to_string(), value.to_string()));
        }
    }
    serde_urlencoded(&pairs(&params))
}

// ---------------------------------------------------------------------------
// Rows.
// ---------------------------------------------------------------------------

/// The error shape a row's answer must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// RFC 6749 §5.2: a 4xx JSON object with an `error` string; `error` and
    /// `error_description` within §5.2's charset; a 401 carries `WWW-Authenticate`.
    OAuthJson,
    /// A 4xx HTML page with the pages' Content-Security-Policy.
    Page,
    /// RFC 6750 §3: 400, 401 or 403 with `WWW-Authenticate: Bearer …` (and, if there
    /// is a body, §5.2-style JSON).
    Bearer,
    /// `/authorize` with a known client and its registered [`REDIRECT_URI`]: a
    /// 302/303 back to exactly that URI with `error` and `iss` (RFC 6749 §4.1.2.1,
    /// RFC 9207).
    ErrorRedirect,
    /// Any 4xx: where actix answers before an endpoint (wrong method, unknown path,
    /// unparseable HTTP).
    AnyClientError,
    /// A raw request whose client stops mid-body: no answer at all, or a 4xx.
    HangUpOrClientError,
}

/// One bad request and the shape of the error it must get.
struct Row {
    name: &'static str,
    wire: Wire,
    expect: Expect,
}

/// How a row goes on the wire.
enum Wire {
    /// Through reqwest: headers and bodies byte for byte (no redirect following).
    Http {
        method: Method,
        /// Path and query, under the issuer.
        path: String,
        headers: Vec<(&'static str, Vec<u8>)>,
        body: Option<Vec<u8>>,
    },
    /// Bytes written to a fresh TCP connection, for what reqwest (rightly) will not
    /// send: dot segments, control characters in headers, broken framing.
    /// `half_close` shuts the sending side after writing (a client hanging up).
    Raw { bytes: Vec<u8>, half_close: bool },
}

impl Row {
    fn http(name: &'static str, method: Method, path: impl Into<String>, expect: Expect) -> Row {
        Row {
            name,
            wire: Wire::Http {
                method,
                path: path.into(),
                headers: Vec::new(),
                body: None,
            },
            expect,
        }
    }

    fn get(name: &'static str, path: impl Into<String>, expect: Expect) -> Row {
        Row::http(name, Method::GET, path, expect)
    }

    fn post(name: &'static str, path: impl Into<String>, expect: Expect) -> Row {
        Row::http(name, Method::POST, path, expect)
    }

    fn raw(name: &'static str, bytes: impl Into<Vec<u8>>, expect: Expect) -> Row {
        Row {
            name,
            wire: Wire::Raw {
                bytes: bytes.into(),
                half_close: false,
            },
            expect,
        }
    }

    fn header(mut self, name: &'static str, value: impl Into<Vec<u8>>) -> Row {
        match &mut self.wire {
            Wire::Http { headers, .. } => headers.push((name, value.into())),
            Wire::Raw { .. } => panic!("{}: a raw row writes its own headers", self.name),
        }
        self
    }

    fn body(mut self, bytes: impl Into<Vec<u8>>) -> Row {
        match &mut self.wire {
            Wire::Http { body, .. } => *body = Some(bytes.into()),
            Wire::Raw { .. } => panic!("{}: a raw row writes its own body", self.name),
        }
        self
    }

    /// An `application/x-www-form-urlencoded` body (sent as the bytes given).
    fn form(self, bytes: impl Into<Vec<u8>>) -> Row {
        self.header("content-type", FORM).body(bytes)
    }

    fn cookie(self, cookie: &str) -> Row {
        self.header("cookie", cookie)
    }

    fn half_close(mut self) -> Row {
        match &mut self.wire {
            Wire::Raw { half_close, .. } => *half_close = true,
            Wire::Http { .. } => panic!("{}: only raw rows hang up", self.name),
        }
        self
    }

    /// The endpoint the row aims at, for the tally.
    fn endpoint(&self) -> &'static str {
        let target = match &self.wire {
            Wire::Http { path, .. } => path.clone(),
            Wire::Raw { bytes, .. } => String::from_utf8_lossy(bytes)
                .split(' ')
                .nth(1)
                .unwrap_or("")
                .to_owned(),
        };
        let path = target.split('?').next().unwrap_or("");
        ENDPOINTS
            .iter()
            .copied()
            .find(|e| *e == path)
            .or_else(|| {
                SECTIONS.iter().copied().find(|section| {
                    path.strip_prefix(*section)
                        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
                })
            })
            .unwrap_or("(other paths)")
    }
}

/// Every row, endpoint by endpoint.
fn table(f: &Fixture) -> Vec<Row> {
    let mut rows = Vec::new();
    rows.extend(authorize_rows(f));
    rows.extend(login_rows(f));
    rows.extend(consent_rows(f));
    rows.extend(token_rows(f));
    rows.extend(revocation_rows(f));
    rows.extend(introspection_rows(f));
    rows.extend(userinfo_rows(f));
    rows.extend(logout_rows(f));
    rows.extend(setup_rows(f));
    rows.extend(account_rows(f));
    rows.extend(admin_rows(f));
    rows.extend(playground_rows(f));
    rows.extend(document_and_path_rows());
    rows.extend(raw_rows());
    rows
}

/// The authorization endpoint, GET and POST: an error page while the client or the
/// redirect URI is not known good, an error redirect to it once it is.
fn authorize_rows(f: &Fixture) -> Vec<Row> {
    use Expect::{AnyClientError, ErrorRedirect, Page};
    let code = f.code.id.as_str();
    let q =
        |changes: &[(&str, Option<&str>)]| format!("/authorize?{}", authorize_query(code, changes));
    let big = "a".repeat(10_000);
    let big_scope = ["openid"; 2_000].join(" ");
    vec![
        // Not known good: a page, never a redirect.
        Row::get("authorize GET: no parameters", "/authorize", Page),
        Row::get(
            "authorize GET: no client_id",
            q(&[("client_id", None)]),
            Page,
        ),
        Row::get(
            "authorize GET: unknown client_id",
            q(&[("client_id", Some("no-such-client"))]),
            Page,
        ),
        Row::get(
            "authorize GET: oversized client_id (10 000 bytes)",
            q(&[("client_id", Some(big.as_str()))]),
            Page,
        ),
        Row::get(
            "authorize GET: SQL-looking client_id",
            q(&[("client_id", Some("' OR 1=1 --"))]),
            Page,
        ),
        Row::get(
            "authorize GET: <script> as client_id",
            q(&[("client_id", Some("<script>alert(1)</script>"))]),
            Page,
        ),
        Row::get(
            "authorize GET: NUL in client_id",
            q(&[("client_id", Some("client\0id"))]),
            Page,
        ),
        Row::get(
            "authorize GET: CR LF in client_id",
            q(&[("client_id", Some("client\r\nSet-Cookie: x=1"))]),
            Page,
        ),
        Row::get(
            "authorize GET: non-UTF-8 client_id",
            format!(
                "/authorize?client_id=%FF%FE&{}",
                authorize_query(code, &[("client_id", None)])
            ),
            Page,
        ),
        Row::get(
            "authorize GET: truncated percent-encoding in client_id",
            format!(
                "/authorize?{}&client_id=%",
                authorize_query(code, &[("client_id", None)])
            ),
            Page,
        ),
        Row::get(
            "authorize GET: repeated client_id",
            format!("/authorize?{}&client_id={code}", authorize_query(code, &[])),
            Page,
        ),
        Row::get(
            "authorize GET: unregistered redirect_uri",
            q(&[("redirect_uri", Some("https://evil.example/callback"))]),
            Page,
        ),
        Row::get(
            "authorize GET: redirect_uri with a trailing slash",
            q(&[("redirect_uri", Some("https://app.example/callback/"))]),
            Page,
        ),
        Row::get(
            "authorize GET: redirect_uri with an extra query",
            q(&[(
                "redirect_uri",
                Some("https://app.example/callback?next=https://evil.example"),
            )]),
            Page,
        ),
        Row::get(
            "authorize GET: redirect_uri with a fragment",
            q(&[("redirect_uri", Some("https://app.example/callback#x"))]),
            Page,
        ),
        Row::get(
            "authorize GET: redirect_uri with CR LF",
            q(&[(
                "redirect_uri",
                Some("https://app.example/callback\r\nLocation: https://evil.example"),
            )]),
            Page,
        ),
        Row::get(
            "authorize GET: redirect_uri with NUL",
            q(&[(
                "redirect_uri",
                Some("https://app.example/callback\0.evil.example"),
            )]),
            Page,
        ),
        Row::get(
            "authorize GET: javascript: redirect_uri",
            q(&[("redirect_uri", Some("javascript:alert(document.cookie)"))]),
            Page,
        ),
        Row::get(
            "authorize GET: redirect_uri with userinfo",
            q(&[(
                "redirect_uri",
                Some("https://app.example@evil.example/callback"),
            )]),
            Page,
        ),
        Row::get(
            "authorize GET: scheme-relative redirect_uri",
            q(&[("redirect_uri", Some("//evil.example/callback"))]),
            Page,
        ),
        Row::get(
            "authorize GET: redirect_uri as a registered prefix",
            q(&[(
                "redirect_uri",
                Some("https://app.example/callback.evil.example"),
            )]),
            Page,
        ),
        Row::get(
            "authorize GET: upper-case host in redirect_uri",
            q(&[("redirect_uri", Some("https://APP.EXAMPLE/callback"))]),
            Page,
        ),
        Row::get(
            "authorize GET: oversized redirect_uri",
            q(&[(
                "redirect_uri",
                Some(format!("https://app.example/callback{big}").as_str()),
            )]),
            Page,
        ),
        Row::get(
            "authorize GET: repeated redirect_uri",
            format!(
                "/authorize?{}&{}",
                authorize_query(code, &[]),
                serde_urlencoded(&[("redirect_uri", REDIRECT_URI)])
            ),
            Page,
        ),
        Row::get(
            "authorize GET: client with no redirect URI registered",
            format!("/authorize?{}", authorize_query(&f.service.id, &[])),
            Page,
        ),
        Row::get(
            "authorize GET: several registered redirect URIs, none named",
            format!(
                "/authorize?{}",
                authorize_query(&f.public.id, &[("redirect_uri", None)])
            ),
            Page,
        ),
        Row::get(
            "authorize GET: repeated response_type with a good client",
            format!(
                "/authorize?{}&response_type=code",
                authorize_query(code, &[])
            ),
            Page,
        ),
        Row::get(
            "authorize GET: repeated state with a good client",
            format!("/authorize?{}&state=again", authorize_query(code, &[])),
            Page,
        ),
        // Known client, registered redirect URI: the error goes back to it.
        Row::get(
            "authorize GET: missing response_type",
            q(&[("response_type", None)]),
            ErrorRedirect,
        ),
        Row::get(
            "authorize GET: response_type=token",
            q(&[("response_type", Some("token"))]),
            ErrorRedirect,
        ),
        Row::get(
            "authorize GET: response_type=code id_token",
            q(&[("response_type", Some("code id_token"))]),
            ErrorRedirect,
        ),
        Row::get(
            "authorize GET: <script> as response_type",
            q(&[("response_type", Some("<script>alert(1)</script>"))]),
            ErrorRedirect,
        ),
        Row::get(
            "authorize GET: unregistered scope",
            q(&[("scope", Some("openid admin"))]),
            ErrorRedirect,
        ),
        Row::get(
            "authorize GET: very long scope (10 000 bytes)",
            q(&[("scope", Some(big.as_str()))]),
            ErrorRedirect,
        ),
        Row::get(
            "authorize GET: 2 000 repeated scope tokens plus one unregistered",
            q(&[("scope", Some(format!("{big_scope} admin").as_str()))]),
            ErrorRedirect,
        ),
        Row::get(
            "authorize GET: non-ASCII scope",
            q(&[("scope", Some("openid profilé"))]),
            ErrorRedirect,
        ),
        Row::get(
            "authorize GET: NUL in scope",
            q(&[("scope", Some("openid\0profile"))]),
            ErrorRedirect,
        ),
        Row::get(
            "authorize GET: SQL-looking scope",
            q(&[("scope", Some("' OR 1=1 --"))]),
            ErrorRedirect,
        ),
        Row::get(
            "authorize GET: missing code_challenge",
            q(&[("code_challenge", None), ("code_challenge_method", None)]),
            ErrorRedirect,
        ),
        Row::get(
            "authorize GET: code_challenge_method=plain",
            q(&[("code_challenge_method", Some("plain"))]),
            ErrorRedirect,
        ),
        Row::get(
            "authorize GET: code_challenge_method without code_challenge",
            q(&[("code_challenge", None)]),
            ErrorRedirect,
        ),
        Row::get(
            "authorize GET: short code_challenge",
            q(&[("code_challenge", Some("abc"))]),
            ErrorRedirect,
        ),
        Row::get(
            "authorize GET: code_challenge outside base64url",
            q(&[(
                "code_challenge",
                Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw!cM"),
            )]),
            ErrorRedirect,
        ),
        Row::get(
            "authorize GET: unsupported prompt",
            q(&[("prompt", Some("select_account"))]),
            ErrorRedirect,
        ),
        Row::get(
            "authorize GET: prompt=none with login",
            q(&[("prompt", Some("none login"))]),
            ErrorRedirect,
        ),
        Row::get(
            "authorize GET: negative max_age",
            q(&[("max_age", Some("-1"))]),
            ErrorRedirect,
        ),
        Row::get(
            "authorize GET: non-numeric max_age",
            q(&[("max_age", Some("abc"))]),
            ErrorRedirect,
        ),
        Row::get(
            "authorize GET: max_age beyond i64",
            q(&[("max_age", Some("99999999999999999999"))]),
            ErrorRedirect,
        ),
        Row::get(
            "authorize GET: garbage id_token_hint",
            q(&[("id_token_hint", Some("not-a-jwt"))]),
            ErrorRedirect,
        ),
        Row::get(
            "authorize GET: unsigned (alg none) id_token_hint",
            q(&[("id_token_hint", Some(UNSIGNED_JWT))]),
            ErrorRedirect,
        ),
        Row::get(
            "authorize GET: access token as id_token_hint",
            q(&[("id_token_hint", Some(f.access_token.as_str()))]),
            ErrorRedirect,
        ),
        Row::get(
            "authorize GET: request object",
            q(&[("request", Some(UNSIGNED_JWT))]),
            ErrorRedirect,
        ),
        Row::get(
            "authorize GET: request_uri",
            q(&[("request_uri", Some("https://evil.example/request.jwt"))]),
            ErrorRedirect,
        ),
        Row::get(
            "authorize GET: registration",
            q(&[("registration", Some("{}"))]),
            ErrorRedirect,
        ),
        Row::get(
            "authorize GET: claims",
            q(&[("claims", Some("{\"userinfo\":{}}"))]),
            ErrorRedirect,
        ),
        Row::get(
            "authorize GET: response_mode=fragment",
            q(&[("response_mode", Some("fragment"))]),
            ErrorRedirect,
        ),
        Row::get(
            "authorize GET: response_mode=form_post",
            q(&[("response_mode", Some("form_post"))]),
            ErrorRedirect,
        ),
        Row::get(
            "authorize GET: <script> state with an error",
            q(&[
                ("response_type", None),
                ("state", Some("<script>alert(1)</script>")),
            ]),
            ErrorRedirect,
        ),
        Row::get(
            "authorize GET: CR LF state with an error",
            q(&[
                ("response_type", None),
                ("state", Some("s\r\nSet-Cookie: x=1")),
            ]),
            ErrorRedirect,
        ),
        Row::get(
            "authorize GET: oversized state with an error",
            q(&[
                ("response_type", Some("token")),
                ("state", Some(big.as_str())),
            ]),
            ErrorRedirect,
        ),
        // Not form encoding at all: no parameter of it can be trusted, the
        // redirect URI included, so the user reads a page (never a redirect).
        Row::get(
            "authorize GET: non-UTF-8 state with an error",
            format!(
                "/authorize?{}&state=%FF%FE",
                authorize_query(code, &[("response_type", None), ("state", None)])
            ),
            Page,
        ),
        // A control character in a value the server would store: refused, not kept.
        Row::get(
            "authorize GET: NUL in the nonce of an otherwise good request",
            q(&[("nonce", Some("n\0nce"))]),
            ErrorRedirect,
        ),
        // POST (RFC 6749 §3.1).
        Row::post("authorize POST: no content type", "/authorize", Page)
            .body(authorize_query(code, &[])),
        Row::post("authorize POST: JSON body", "/authorize", Page)
            .header("content-type", "application/json")
            .body(format!(
                "{{\"client_id\":\"{code}\",\"response_type\":\"code\"}}"
            )),
        Row::post("authorize POST: text/plain body", "/authorize", Page)
            .header("content-type", "text/plain")
            .body(authorize_query(code, &[])),
        Row::post("authorize POST: empty form", "/authorize", Page).form(""),
        Row::post("authorize POST: non-UTF-8 form", "/authorize", Page)
            .form(b"client_id=\xff\xfe&response_type=\xc3\x28".as_slice()),
        Row::post("authorize POST: repeated client_id", "/authorize", Page)
            .form(format!("{}&client_id={code}", authorize_query(code, &[]))),
        Row::post(
            "authorize POST: body over the form limit (1 MiB)",
            "/authorize",
            Page,
        )
        .form(format!(
            "{}&pad={}",
            authorize_query(code, &[]),
            "a".repeat(1 << 20)
        )),
        Row::post(
            "authorize POST: missing response_type",
            "/authorize",
            ErrorRedirect,
        )
        .form(authorize_query(code, &[("response_type", None)])),
        Row::post(
            "authorize POST: unregistered scope",
            "/authorize",
            ErrorRedirect,
        )
        .form(authorize_query(code, &[("scope", Some("admin"))])),
        Row::http("authorize: PUT", Method::PUT, "/authorize", AnyClientError),
        Row::http(
            "authorize: DELETE",
            Method::DELETE,
            "/authorize",
            AnyClientError,
        ),
    ]
}

/// The login page of a pending request: unknown, foreign or forged requests get a
/// page; malformed credentials must not be taken for a login attempt.
fn login_rows(f: &Fixture) -> Vec<Row> {
    use Expect::{AnyClientError, Page};
    let big = "a".repeat(10_000);
    let with_csrf = |username: &str, password: &str| {
        serde_urlencoded(&[
            ("request", f.pending.as_str()),
            ("csrf_token", f.csrf.as_str()),
            ("username", username),
            ("password", password),
        ])
    };
    vec![
        // Without `request` the login page is the sign-in to the server's own pages
        // (a 200); a `next` elsewhere is replaced, never followed (account tests).
        Row::get(
            "login GET: control character in next",
            "/login?next=%2Fadmin%01",
            Page,
        ),
        Row::get(
            "login GET: unknown request",
            "/login?request=no-such-request",
            Page,
        ),
        Row::get(
            "login GET: another browser's request",
            format!("/login?request={}", f.pending),
            Page,
        ),
        Row::get(
            "login GET: NUL in the request id",
            "/login?request=%00",
            Page,
        ),
        Row::get(
            "login GET: SQL-looking request id",
            format!("/login?{}", serde_urlencoded(&[("request", "' OR 1=1 --")])),
            Page,
        ),
        Row::get(
            "login GET: oversized request id",
            format!("/login?request={big}"),
            Page,
        ),
        Row::get(
            "login GET: non-UTF-8 request id",
            "/login?request=%FF%FE",
            Page,
        ),
        Row::get(
            "login GET: repeated request id",
            format!("/login?request={0}&request={0}", f.pending),
            Page,
        )
        .cookie(&f.pending_cookie),
        Row::post("login POST: no content type", "/login", Page)
            .cookie(&f.pending_cookie)
            .body(with_csrf("someone", "x")),
        Row::post("login POST: JSON body", "/login", Page)
            .cookie(&f.pending_cookie)
            .header("content-type", "application/json")
            .body(
                serde_json::json!({
                    "request": f.pending,
                    "csrf_token": f.csrf,
                    "username": "a",
                    "password": "b",
                })
                .to_string(),
            ),
        Row::post("login POST: empty form", "/login", Page)
            .cookie(&f.pending_cookie)
            .form(""),
        Row::post("login POST: unknown request", "/login", Page)
            .cookie(&f.pending_cookie)
            .form("request=no-such-request&csrf_token=x&username=a&password=b"),
        Row::post("login POST: another browser's request", "/login", Page)
            .form(with_csrf("someone", "x")),
        Row::post("login POST: missing csrf_token", "/login", Page)
            .cookie(&f.pending_cookie)
            .form(serde_urlencoded(&[
                ("request", f.pending.as_str()),
                ("username", "someone"),
                ("password", "x"),
            ])),
        Row::post("login POST: forged csrf_token", "/login", Page)
            .cookie(&f.pending_cookie)
            .form(serde_urlencoded(&[
                ("request", f.pending.as_str()),
                ("csrf_token", "forged"),
                ("username", "someone"),
                ("password", "x"),
            ])),
        Row::post("login POST: csrf_token with a NUL appended", "/login", Page)
            .cookie(&f.pending_cookie)
            .form(serde_urlencoded(&[
                ("request", f.pending.as_str()),
                ("csrf_token", format!("{}\0", f.csrf).as_str()),
                ("username", "someone"),
                ("password", "x"),
            ])),
        Row::post("login POST: repeated csrf_token", "/login", Page)
            .cookie(&f.pending_cookie)
            .form(format!("{}&csrf_token=forged", with_csrf("someone", "x"))),
        Row::post("login POST: non-UTF-8 request id", "/login", Page)
            .cookie(&f.pending_cookie)
            .form(b"request=\xff\xfe&csrf_token=\xc3\x28&username=a&password=b".as_slice()),
        Row::post("login POST: truncated percent-encoding", "/login", Page)
            .cookie(&f.pending_cookie)
            .form("request=%&csrf_token=%"),
        // Past the CSRF check: malformed credentials are not a login attempt.
        Row::post(
            "login POST: oversized username (10 000 bytes)",
            "/login",
            Page,
        )
        .cookie(&f.pending_cookie)
        .form(with_csrf(big.as_str(), "x")),
        Row::post(
            "login POST: oversized password (12 000 bytes)",
            "/login",
            Page,
        )
        .cookie(&f.pending_cookie)
        .form(with_csrf("someone", "p".repeat(12_000).as_str())),
        Row::post("login POST: non-UTF-8 username", "/login", Page)
            .cookie(&f.pending_cookie)
            .form(with_bytes(
                serde_urlencoded(&[
                    ("request", f.pending.as_str()),
                    ("csrf_token", f.csrf.as_str()),
                    ("password", "x"),
                ]),
                b"&username=\xff\xfe%FF",
            )),
        Row::post("login POST: NUL and CR LF in the username", "/login", Page)
            .cookie(&f.pending_cookie)
            .form(with_csrf("some\0one\r\nX-Injected: 1", "x")),
        Row::post(
            "login POST: body over the form limit (1 MiB)",
            "/login",
            Page,
        )
        .cookie(&f.pending_cookie)
        .form(format!(
            "{}&pad={}",
            with_csrf("someone", "x"),
            "a".repeat(1 << 20)
        )),
        Row::http("login: PUT", Method::PUT, "/login", AnyClientError),
        Row::http("login: DELETE", Method::DELETE, "/login", AnyClientError),
        Row::http("login: PATCH", Method::PATCH, "/login", AnyClientError),
    ]
}

/// The consent page and its form.
fn consent_rows(f: &Fixture) -> Vec<Row> {
    use Expect::{AnyClientError, Page};
    let decided = |decision: &str| {
        serde_urlencoded(&[
            ("request", f.pending.as_str()),
            ("csrf_token", f.csrf.as_str()),
            ("decision", decision),
        ])
    };
    vec![
        Row::get("consent GET: no request", "/consent", Page),
        Row::get(
            "consent GET: unknown request",
            "/consent?request=no-such-request",
            Page,
        ),
        Row::get(
            "consent GET: another browser's request",
            format!("/consent?request={}", f.pending),
            Page,
        ),
        Row::get(
            "consent GET: <script> as request id",
            format!(
                "/consent?{}",
                serde_urlencoded(&[("request", "<script>alert(1)</script>")])
            ),
            Page,
        ),
        Row::post("consent POST: no content type", "/consent", Page)
            .cookie(&f.pending_cookie)
            .body(decided("allow")),
        Row::post("consent POST: JSON body", "/consent", Page)
            .cookie(&f.pending_cookie)
            .header("content-type", "application/json")
            .body(
                serde_json::json!({
                    "request": f.pending,
                    "csrf_token": f.csrf,
                    "decision": "allow",
                })
                .to_string(),
            ),
        Row::post("consent POST: unknown request", "/consent", Page)
            .cookie(&f.pending_cookie)
            .form("request=no-such-request&csrf_token=x&decision=allow"),
        Row::post("consent POST: another browser's request", "/consent", Page)
            .form(decided("allow")),
        Row::post("consent POST: missing csrf_token", "/consent", Page)
            .cookie(&f.pending_cookie)
            .form(serde_urlencoded(&[
                ("request", f.pending.as_str()),
                ("decision", "allow"),
            ])),
        Row::post("consent POST: forged csrf_token", "/consent", Page)
            .cookie(&f.pending_cookie)
            .form(serde_urlencoded(&[
                ("request", f.pending.as_str()),
                ("csrf_token", "forged"),
                ("decision", "allow"),
            ])),
        Row::post("consent POST: missing decision", "/consent", Page)
            .cookie(&f.pending_cookie)
            .form(serde_urlencoded(&[
                ("request", f.pending.as_str()),
                ("csrf_token", f.csrf.as_str()),
            ])),
        Row::post("consent POST: unknown decision", "/consent", Page)
            .cookie(&f.pending_cookie)
            .form(decided("maybe")),
        Row::post("consent POST: upper-case decision", "/consent", Page)
            .cookie(&f.pending_cookie)
            .form(decided("ALLOW")),
        Row::post("consent POST: decision with a NUL", "/consent", Page)
            .cookie(&f.pending_cookie)
            .form(decided("allow\0")),
        Row::post("consent POST: repeated decision", "/consent", Page)
            .cookie(&f.pending_cookie)
            .form(format!("{}&decision=deny", decided("allow"))),
        Row::post(
            "consent POST: body over the form limit (1 MiB)",
            "/consent",
            Page,
        )
        .cookie(&f.pending_cookie)
        .form(format!("{}&pad={}", decided("maybe"), "a".repeat(1 << 20))),
        Row::http("consent: PUT", Method::PUT, "/consent", AnyClientError),
        Row::http(
            "consent: DELETE",
            Method::DELETE,
            "/consent",
            AnyClientError,
        ),
    ]
}

/// The token endpoint: the form, client authentication, then every grant.
fn token_rows(f: &Fixture) -> Vec<Row> {
    use Expect::{AnyClientError, OAuthJson};
    let big = "a".repeat(10_000);
    let code_post = |name: &'static str| {
        Row::post(name, "/token", OAuthJson).header("authorization", f.code_basic.clone())
    };
    let service_post = |name: &'static str| {
        Row::post(name, "/token", OAuthJson).header("authorization", f.service_basic.clone())
    };
    let code_form = |i: usize, changes: &[(&str, Option<&str>)]| {
        let (code, verifier) = f.code_and_verifier(i);
        let mut params: Vec<(String, String)> = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", verifier),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        for (name, value) in changes {
            params.retain(|(k, _)| k.as_str() != *name);
            if let Some(value) = value {
                params.push((name.to_string(), value.to_string()));
            }
        }
        serde_urlencoded(&pairs(&params))
    };
    let refresh = |scope: &str| {
        serde_urlencoded(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", f.refresh_token.as_str()),
            ("scope", scope),
        ])
    };
    let credentials =
        |scope: &str| serde_urlencoded(&[("grant_type", "client_credentials"), ("scope", scope)]);
    vec![
        // The form itself.
        service_post("token: no content type").body("grant_type=client_credentials"),
        service_post("token: JSON body")
            .header("content-type", "application/json")
            .body("{\"grant_type\":\"client_credentials\"}"),
        service_post("token: text/plain body")
            .header("content-type", "text/plain")
            .body("grant_type=client_credentials"),
        service_post("token: multipart body")
            .header("content-type", "multipart/form-data; boundary=x")
            .body(MULTIPART_GRANT),
        service_post("token: form content type with a suffix")
            .header("content-type", "application/x-www-form-urlencodedx")
            .body("grant_type=client_credentials"),
        service_post("token: non-UTF-8 content type")
            .header(
                "content-type",
                b"application/x-www-form-urlencoded\xff".as_slice(),
            )
            .body("grant_type=client_credentials"),
        Row::post(
            "token: empty body without client authentication",
            "/token",
            OAuthJson,
        )
        .form(""),
        service_post("token: empty body").form(""),
        service_post("token: JSON text sent as a form")
            .form("{\"grant_type\":\"client_credentials\"}"),
        service_post("token: body over the form limit (17 KiB)").form(format!(
            "grant_type=client_credentials&pad={}",
            "a".repeat(17 * 1024)
        )),
        service_post("token: huge body (1 MiB)").form(format!(
            "grant_type=client_credentials&pad={}",
            "a".repeat(1 << 20)
        )),
        // grant_type.
        service_post("token: missing grant_type").form("scope=read"),
        service_post("token: grant_type without a value").form("grant_type"),
        service_post("token: unknown grant_type (password)")
            .form("grant_type=password&username=a&password=b"),
        service_post("token: unknown grant_type (device_code)")
            .form("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code"),
        service_post("token: repeated grant_type")
            .form("grant_type=client_credentials&grant_type=client_credentials"),
        service_post("token: NUL in grant_type").form("grant_type=client%00credentials"),
        service_post("token: non-UTF-8 grant_type").form(b"grant_type=\xff\xfe".as_slice()),
        service_post("token: truncated percent-encoding in grant_type").form("grant_type=%"),
        service_post("token: truncated percent-encoding alone").form("a=%"),
        service_post("token: grant_type with CR LF")
            .form("grant_type=client_credentials%0D%0AX-Injected%3A%201"),
        service_post("token: SQL-looking grant_type")
            .form(serde_urlencoded(&[("grant_type", "' OR 1=1 --")])),
        code_post("token: client_credentials for a code client")
            .form("grant_type=client_credentials"),
        // Client authentication.
        Row::post("token: unknown client (Basic)", "/token", OAuthJson)
            .header("authorization", basic("no-such-client", "secret"))
            .form("grant_type=client_credentials"),
        Row::post("token: wrong secret", "/token", OAuthJson)
            .header("authorization", basic(&f.service.id, "wrong"))
            .form("grant_type=client_credentials"),
        Row::post("token: Basic that is not base64", "/token", OAuthJson)
            .header("authorization", "Basic !!!not-base64!!!")
            .form("grant_type=client_credentials"),
        Row::post("token: Basic without a colon", "/token", OAuthJson)
            .header("authorization", basic_of(b"just-an-id"))
            .form("grant_type=client_credentials"),
        Row::post("token: Basic decoding to non-UTF-8", "/token", OAuthJson)
            .header("authorization", basic_of(b"\xff\xfe:\xc3\x28"))
            .form("grant_type=client_credentials"),
        Row::post("token: Basic with an empty client id", "/token", OAuthJson)
            .header("authorization", basic_of(b":secret"))
            .form("grant_type=client_credentials"),
        Row::post(
            "token: Basic with bad percent-encoding",
            "/token",
            OAuthJson,
        )
        .header("authorization", basic_of(b"%zz:secret"))
        .form("grant_type=client_credentials"),
        Row::post("token: Basic with NUL in the id", "/token", OAuthJson)
            .header("authorization", basic_of(b"client\0id:secret"))
            .form("grant_type=client_credentials"),
        Row::post("token: oversized Basic credentials", "/token", OAuthJson)
            .header("authorization", basic(&big, &big))
            .form("grant_type=client_credentials"),
        Row::post("token: non-UTF-8 Authorization header", "/token", OAuthJson)
            .header("authorization", b"Basic \xff\xfe".as_slice())
            .form("grant_type=client_credentials"),
        Row::post(
            "token: Basic scheme without credentials",
            "/token",
            OAuthJson,
        )
        .header("authorization", "Basic")
        .form("grant_type=client_credentials"),
        Row::post(
            "token: Bearer instead of client authentication",
            "/token",
            OAuthJson,
        )
        .header("authorization", "Bearer abc")
        .form("grant_type=client_credentials"),
        service_post("token: Basic and client_secret in the body").form(format!(
            "grant_type=client_credentials&client_secret={}",
            f.service.secret.as_deref().unwrap_or("x")
        )),
        service_post("token: Basic and another client_id in the body").form(format!(
            "grant_type=client_credentials&client_id={}",
            f.code.id
        )),
        Row::post(
            "token: client_secret_post for a Basic client",
            "/token",
            OAuthJson,
        )
        .form(serde_urlencoded(&[
            ("grant_type", "client_credentials"),
            ("client_id", f.service.id.as_str()),
            ("client_secret", f.service.secret.as_deref().unwrap_or("x")),
        ])),
        Row::post("token: public client sending a secret", "/token", OAuthJson).form(
            serde_urlencoded(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", "x"),
                ("client_id", f.public.id.as_str()),
                ("client_secret", "guess"),
            ]),
        ),
        Row::post("token: repeated client_id", "/token", OAuthJson).form(format!(
            "grant_type=refresh_token&refresh_token=x&client_id={0}&client_id={0}",
            f.public.id
        )),
        Row::post("token: unknown client_id in the body", "/token", OAuthJson)
            .form("grant_type=client_credentials&client_id=no-such-client"),
        Row::post("token: NUL in client_id", "/token", OAuthJson)
            .form("grant_type=client_credentials&client_id=client%00id"),
        Row::post("token: oversized client_id", "/token", OAuthJson)
            .form(format!("grant_type=client_credentials&client_id={big}")),
        Row::post("token: SQL-looking client_id", "/token", OAuthJson).form(serde_urlencoded(&[
            ("grant_type", "client_credentials"),
            ("client_id", "' OR 1=1 --"),
        ])),
        Row::post("token: <script> as client_id", "/token", OAuthJson).form(serde_urlencoded(&[
            ("grant_type", "client_credentials"),
            ("client_id", "<script>alert(1)</script>"),
        ])),
        // authorization_code.
        code_post("token code: missing code").form("grant_type=authorization_code"),
        code_post("token code: garbage code").form(serde_urlencoded(&[
            ("grant_type", "authorization_code"),
            ("code", "garbage"),
            ("redirect_uri", REDIRECT_URI),
            (
                "code_verifier",
                "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
            ),
        ])),
        code_post("token code: NUL and CR LF in the code").form(serde_urlencoded(&[
            ("grant_type", "authorization_code"),
            ("code", "co\0de\r\n"),
            ("redirect_uri", REDIRECT_URI),
        ])),
        code_post("token code: oversized code").form(serde_urlencoded(&[
            ("grant_type", "authorization_code"),
            ("code", big.as_str()),
            ("redirect_uri", REDIRECT_URI),
        ])),
        code_post("token code: repeated code").form(format!(
            "{}&code=again",
            code_form(0, &[("code", Some("garbage"))])
        )),
        code_post("token code: real code, missing redirect_uri")
            .form(code_form(0, &[("redirect_uri", None)])),
        code_post("token code: real code, missing code_verifier")
            .form(code_form(1, &[("code_verifier", None)])),
        code_post("token code: real code, code_verifier with NUL").form(code_form(
            2,
            &[(
                "code_verifier",
                Some("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1g\0FOEjXk"),
            )],
        )),
        code_post("token code: real code, redirect_uri with CR LF").form(code_form(
            3,
            &[("redirect_uri", Some(format!("{REDIRECT_URI}\r\n").as_str()))],
        )),
        // refresh_token.
        code_post("token refresh: missing refresh_token").form("grant_type=refresh_token"),
        code_post("token refresh: garbage refresh_token")
            .form("grant_type=refresh_token&refresh_token=garbage"),
        code_post("token refresh: SQL-looking refresh_token").form(serde_urlencoded(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", "' OR 1=1 --"),
        ])),
        code_post("token refresh: NUL in refresh_token")
            .form("grant_type=refresh_token&refresh_token=abc%00def"),
        code_post("token refresh: repeated refresh_token")
            .form(format!("{}&refresh_token=again", refresh("openid"))),
        code_post("token refresh: real token, wider scope").form(refresh("openid admin")),
        code_post("token refresh: real token, non-ASCII scope").form(refresh("openid profilé")),
        code_post("token refresh: real token, very long scope").form(refresh(big.as_str())),
        Row::post(
            "token refresh: real token, another client",
            "/token",
            OAuthJson,
        )
        .form(serde_urlencoded(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", f.refresh_token.as_str()),
            ("client_id", f.public.id.as_str()),
        ])),
        // client_credentials.
        service_post("token credentials: unregistered scope").form(credentials("admin")),
        service_post("token credentials: very long scope").form(credentials(big.as_str())),
        service_post("token credentials: non-ASCII scope").form(credentials("réad")),
        service_post("token credentials: NUL in scope").form(credentials("read\0write")),
        service_post("token credentials: CR LF in scope").form(credentials("read\r\nwrite")),
        service_post("token credentials: <script> as scope")
            .form(credentials("<script>alert(1)</script>")),
        service_post("token credentials: SQL-looking scope").form(credentials("' OR 1=1 --")),
        // Methods.
        Row::get("token: GET", "/token", AnyClientError),
        Row::http("token: HEAD", Method::HEAD, "/token", AnyClientError),
        Row::http("token: PUT", Method::PUT, "/token", AnyClientError),
        Row::http("token: DELETE", Method::DELETE, "/token", AnyClientError),
    ]
}

/// Token revocation (RFC 7009). Unknown tokens get 200 there (§2.2), so the rows
/// are about the request, not the token.
fn revocation_rows(f: &Fixture) -> Vec<Row> {
    use Expect::{AnyClientError, OAuthJson};
    vec![
        Row::post("revoke: missing token", "/revoke", OAuthJson)
            .header("authorization", f.code_basic.clone())
            .form(""),
        Row::post("revoke: no client authentication", "/revoke", OAuthJson).form("token=abc"),
        Row::post("revoke: wrong secret", "/revoke", OAuthJson)
            .header("authorization", basic(&f.code.id, "wrong"))
            .form("token=abc"),
        Row::post("revoke: malformed Basic", "/revoke", OAuthJson)
            .header("authorization", "Basic !!!")
            .form("token=abc"),
        Row::post("revoke: JSON body", "/revoke", OAuthJson)
            .header("authorization", f.code_basic.clone())
            .header("content-type", "application/json")
            .body("{\"token\":\"abc\"}"),
        Row::post("revoke: no content type", "/revoke", OAuthJson)
            .header("authorization", f.code_basic.clone())
            .body("token=abc"),
        Row::post("revoke: repeated token", "/revoke", OAuthJson)
            .header("authorization", f.code_basic.clone())
            .form("token=abc&token=def"),
        Row::post(
            "revoke: Basic and client_secret in the body",
            "/revoke",
            OAuthJson,
        )
        .header("authorization", f.code_basic.clone())
        .form("token=abc&client_secret=x"),
        Row::post(
            "revoke: body over the form limit (1 MiB)",
            "/revoke",
            OAuthJson,
        )
        .header("authorization", f.code_basic.clone())
        .form(format!("token={}", "a".repeat(1 << 20))),
        Row::get("revoke: GET", "/revoke?token=abc", AnyClientError),
        Row::http("revoke: DELETE", Method::DELETE, "/revoke", AnyClientError),
    ]
}

/// Token introspection (RFC 7662). Unknown tokens get `{"active": false}` there,
/// so the rows are about the request, not the token.
fn introspection_rows(f: &Fixture) -> Vec<Row> {
    use Expect::{AnyClientError, OAuthJson};
    vec![
        Row::post("introspect: missing token", "/introspect", OAuthJson)
            .header("authorization", f.code_basic.clone())
            .form(""),
        Row::post(
            "introspect: no client authentication",
            "/introspect",
            OAuthJson,
        )
        .form("token=abc"),
        Row::post("introspect: wrong secret", "/introspect", OAuthJson)
            .header("authorization", basic(&f.code.id, "wrong"))
            .form("token=abc"),
        Row::post("introspect: unknown client", "/introspect", OAuthJson)
            .header("authorization", basic("no-such-client", "x"))
            .form("token=abc"),
        Row::post("introspect: JSON body", "/introspect", OAuthJson)
            .header("authorization", f.code_basic.clone())
            .header("content-type", "application/json")
            .body("{\"token\":\"abc\"}"),
        Row::post("introspect: repeated token", "/introspect", OAuthJson)
            .header("authorization", f.code_basic.clone())
            .form("token=abc&token=def"),
        Row::post(
            "introspect: Basic and client_secret in the body",
            "/introspect",
            OAuthJson,
        )
        .header("authorization", f.code_basic.clone())
        .form("token=abc&client_secret=x"),
        Row::post(
            "introspect: body over the form limit (1 MiB)",
            "/introspect",
            OAuthJson,
        )
        .header("authorization", f.code_basic.clone())
        .form(format!("token={}", "a".repeat(1 << 20))),
        Row::get("introspect: GET", "/introspect?token=abc", AnyClientError),
        Row::http(
            "introspect: PUT",
            Method::PUT,
            "/introspect",
            AnyClientError,
        ),
    ]
}

/// UserInfo as a bearer resource (RFC 6750).
fn userinfo_rows(f: &Fixture) -> Vec<Row> {
    use Expect::{AnyClientError, Bearer};
    let get = |name: &'static str, authorization: Vec<u8>| {
        Row::get(name, "/userinfo", Bearer).header("authorization", authorization)
    };
    vec![
        Row::get("userinfo GET: no token", "/userinfo", Bearer),
        get("userinfo GET: garbage bearer token", b"Bearer abc".to_vec()),
        get("userinfo GET: Bearer with no token", b"Bearer ".to_vec()),
        get(
            "userinfo GET: Bearer with two tokens",
            b"Bearer abc def".to_vec(),
        ),
        get("userinfo GET: a tab after Bearer", b"Bearer\tabc".to_vec()),
        get(
            "userinfo GET: a tab inside the token",
            b"Bearer abc\tdef".to_vec(),
        ),
        get(
            "userinfo GET: non-UTF-8 Authorization header",
            b"Bearer \xff\xfe".to_vec(),
        ),
        get(
            "userinfo GET: <script> as the token",
            b"Bearer <script>alert(1)</script>".to_vec(),
        ),
        get(
            "userinfo GET: SQL-looking token",
            b"Bearer ' OR 1=1 --".to_vec(),
        ),
        get(
            "userinfo GET: unsigned (alg none) JWT",
            format!("Bearer {UNSIGNED_JWT}").into_bytes(),
        ),
        get(
            "userinfo GET: an ID token as the bearer token",
            format!("Bearer {}", f.id_token).into_bytes(),
        ),
        get(
            "userinfo GET: a client_credentials token",
            format!("Bearer {}", f.service_token).into_bytes(),
        ),
        get(
            "userinfo GET: oversized token (8 KiB)",
            format!("Bearer {}", "a".repeat(8 * 1024)).into_bytes(),
        ),
        get(
            "userinfo GET: Basic credentials",
            b"Basic dXNlcjpwdw==".to_vec(),
        ),
        Row::get(
            "userinfo GET: garbage token in the query",
            "/userinfo?access_token=abc",
            Bearer,
        ),
        Row::get(
            "userinfo GET: real token in the query",
            format!("/userinfo?access_token={}", f.access_token),
            Bearer,
        ),
        Row::post(
            "userinfo POST: real token in header and body",
            "/userinfo",
            Bearer,
        )
        .header("authorization", format!("Bearer {}", f.access_token))
        .form(format!("access_token={}", f.access_token)),
        Row::post(
            "userinfo POST: garbage token in the body",
            "/userinfo",
            Bearer,
        )
        .form("access_token=abc"),
        Row::post("userinfo POST: repeated access_token", "/userinfo", Bearer)
            .form("access_token=abc&access_token=def"),
        Row::post("userinfo POST: non-UTF-8 form", "/userinfo", Bearer)
            .form(b"access_token=\xff\xfe".as_slice()),
        Row::post(
            "userinfo POST: NUL and CR LF in the token",
            "/userinfo",
            Bearer,
        )
        .form("access_token=abc%00def%0D%0A"),
        Row::post(
            "userinfo POST: JSON body without a header",
            "/userinfo",
            Bearer,
        )
        .header("content-type", "application/json")
        .body("{\"access_token\":\"abc\"}"),
        Row::post(
            "userinfo POST: truncated percent-encoding",
            "/userinfo",
            Bearer,
        )
        .form("access_token=%"),
        Row::post(
            "userinfo POST: body over the form limit (1 MiB)",
            "/userinfo",
            Bearer,
        )
        .form(format!("access_token={}", "a".repeat(1 << 20))),
        Row::http(
            "userinfo: DELETE",
            Method::DELETE,
            "/userinfo",
            AnyClientError,
        ),
        Row::http("userinfo: PUT", Method::PUT, "/userinfo", AnyClientError),
        Row::http(
            "userinfo: PATCH",
            Method::PATCH,
            "/userinfo",
            AnyClientError,
        ),
    ]
}

/// RP-Initiated Logout: a page whenever the request cannot be honoured, never a
/// redirect to an address not registered for the client.
fn logout_rows(f: &Fixture) -> Vec<Row> {
    use Expect::{AnyClientError, Page};
    let code = f.code.id.as_str();
    let to = |uri: &str| {
        format!(
            "/logout?{}",
            serde_urlencoded(&[("client_id", code), ("post_logout_redirect_uri", uri)])
        )
    };
    vec![
        Row::get(
            "logout GET: post_logout_redirect_uri without a client",
            format!(
                "/logout?{}",
                serde_urlencoded(&[("post_logout_redirect_uri", POST_LOGOUT_REDIRECT_URI)])
            ),
            Page,
        ),
        Row::get(
            "logout GET: unregistered post_logout_redirect_uri",
            to("https://evil.example/signed-out"),
            Page,
        ),
        Row::get(
            "logout GET: javascript: post_logout_redirect_uri",
            to("javascript:alert(document.cookie)"),
            Page,
        ),
        Row::get(
            "logout GET: post_logout_redirect_uri with CR LF",
            to("https://app.example/signed-out\r\nSet-Cookie: x=1"),
            Page,
        ),
        Row::get(
            "logout GET: post_logout_redirect_uri with NUL",
            to("https://app.example/signed-out\0"),
            Page,
        ),
        Row::get(
            "logout GET: registered post_logout_redirect_uri with more path",
            to("https://app.example/signed-out/../evil"),
            Page,
        ),
        Row::get(
            "logout GET: registered post_logout_redirect_uri as a prefix",
            to("https://app.example/signed-out.evil.example"),
            Page,
        ),
        Row::get(
            "logout GET: non-UTF-8 post_logout_redirect_uri",
            format!(
                "/logout?client_id={code}&post_logout_redirect_uri=https%3A%2F%2Fapp.example%2F%FF"
            ),
            Page,
        ),
        Row::get(
            "logout GET: garbage id_token_hint",
            "/logout?id_token_hint=not-a-jwt",
            Page,
        ),
        Row::get(
            "logout GET: unsigned (alg none) id_token_hint",
            format!("/logout?id_token_hint={UNSIGNED_JWT}"),
            Page,
        ),
        Row::get(
            "logout GET: access token as id_token_hint",
            format!("/logout?id_token_hint={}", f.access_token),
            Page,
        ),
        Row::get(
            "logout GET: id_token_hint of another client than client_id",
            format!(
                "/logout?{}",
                serde_urlencoded(&[
                    ("id_token_hint", f.id_token.as_str()),
                    ("client_id", f.public.id.as_str()),
                ])
            ),
            Page,
        ),
        Row::get(
            "logout GET: valid id_token_hint, unregistered post_logout_redirect_uri",
            format!(
                "/logout?{}",
                serde_urlencoded(&[
                    ("id_token_hint", f.id_token.as_str()),
                    ("post_logout_redirect_uri", "https://evil.example/"),
                ])
            ),
            Page,
        ),
        Row::get(
            "logout GET: unknown client_id",
            "/logout?client_id=no-such-client",
            Page,
        ),
        Row::get(
            "logout GET: NUL in client_id",
            "/logout?client_id=client%00id",
            Page,
        ),
        Row::get(
            "logout GET: repeated state",
            format!("/logout?client_id={code}&state=a&state=b"),
            Page,
        ),
        Row::get(
            "logout GET: <script> state with an unregistered URI",
            format!(
                "/logout?{}",
                serde_urlencoded(&[
                    ("client_id", code),
                    ("post_logout_redirect_uri", "https://evil.example/"),
                    ("state", "<script>alert(1)</script>"),
                ])
            ),
            Page,
        ),
        Row::post("logout POST: JSON body", "/logout", Page)
            .header("content-type", "application/json")
            .body(format!("{{\"client_id\":\"{code}\"}}")),
        Row::post("logout POST: text/plain body", "/logout", Page)
            .header("content-type", "text/plain")
            .body(format!("client_id={code}")),
        Row::post(
            "logout POST: unregistered post_logout_redirect_uri",
            "/logout",
            Page,
        )
        .form(serde_urlencoded(&[
            ("client_id", code),
            (
                "post_logout_redirect_uri",
                "https://evil.example/signed-out",
            ),
        ])),
        Row::post("logout POST: signed in, forged csrf_token", "/logout", Page)
            .cookie(&f.session_cookie)
            .form("csrf_token=forged"),
        Row::post("logout POST: signed in, NUL as csrf_token", "/logout", Page)
            .cookie(&f.session_cookie)
            .form("csrf_token=%00"),
        Row::post(
            "logout POST: body over the form limit (1 MiB)",
            "/logout",
            Page,
        )
        .form(format!("client_id={code}&pad={}", "a".repeat(1 << 20))),
        Row::http("logout: DELETE", Method::DELETE, "/logout", AnyClientError),
        Row::http("logout: PUT", Method::PUT, "/logout", AnyClientError),
    ]
}

/// The first-run setup page. The fixture's admin exists, so no setup link is valid:
/// every GET is the 400 "not valid" page, and a POST fails on its form, its CSRF
/// token (bound to the browser cookie) or its token — never creating an admin.
fn setup_rows(f: &Fixture) -> Vec<Row> {
    use Expect::{AnyClientError, Page};
    let big = "a".repeat(10_000);
    let fields = |csrf: &str, username: &str| {
        serde_urlencoded(&[
            ("token", "no-such-token"),
            ("csrf_token", csrf),
            ("username", username),
            ("password", "a long enough password"),
            ("password_confirm", "a long enough password"),
        ])
    };
    vec![
        Row::get("setup GET: no token", "/setup", Page),
        Row::get("setup GET: empty token", "/setup?token=", Page),
        Row::get(
            "setup GET: unknown token",
            "/setup?token=no-such-token",
            Page,
        ),
        Row::get(
            "setup GET: oversized token (10 000 bytes)",
            format!("/setup?token={big}"),
            Page,
        ),
        Row::get("setup GET: non-UTF-8 token", "/setup?token=%FF%FE", Page),
        Row::get(
            "setup GET: NUL in the token",
            "/setup?token=abc%00def",
            Page,
        ),
        Row::get("setup GET: repeated token", "/setup?token=a&token=b", Page),
        Row::get(
            "setup GET: <script> as token",
            format!(
                "/setup?{}",
                serde_urlencoded(&[("token", "<script>alert(1)</script>")])
            ),
            Page,
        ),
        Row::post("setup POST: no content type", "/setup", Page)
            .cookie(&f.pending_cookie)
            .body(fields("x", "root")),
        Row::post("setup POST: JSON body", "/setup", Page)
            .cookie(&f.pending_cookie)
            .header("content-type", "application/json")
            .body(
                serde_json::json!({
                    "token": "no-such-token",
                    "csrf_token": "x",
                    "username": "root",
                    "password": "a long enough password",
                    "password_confirm": "a long enough password",
                })
                .to_string(),
            ),
        Row::post(
            "setup POST: body over the form limit (1 MiB)",
            "/setup",
            Page,
        )
        .cookie(&f.pending_cookie)
        .form(format!(
            "{}&pad={}",
            fields("x", "root"),
            "a".repeat(1 << 20)
        )),
        Row::post("setup POST: NUL in the username", "/setup", Page)
            .cookie(&f.pending_cookie)
            .form(fields("x", "ro\0ot")),
        Row::post("setup POST: non-UTF-8 username", "/setup", Page)
            .cookie(&f.pending_cookie)
            .form(with_bytes(
                serde_urlencoded(&[("token", "no-such-token"), ("csrf_token", "x")]),
                b"&username=\xff\xfe&password=a+long+enough+password",
            )),
        Row::post("setup POST: missing csrf_token", "/setup", Page)
            .cookie(&f.pending_cookie)
            .form(serde_urlencoded(&[
                ("token", "no-such-token"),
                ("username", "root"),
                ("password", "a long enough password"),
                ("password_confirm", "a long enough password"),
            ])),
        Row::post("setup POST: forged csrf_token", "/setup", Page)
            .cookie(&f.pending_cookie)
            .form(fields("forged", "root")),
        Row::post("setup POST: the sign-in form's csrf_token", "/setup", Page)
            .cookie(&f.pending_cookie)
            .form(fields(f.sign_in_csrf.as_str(), "root")),
        Row::post("setup POST: no browser cookie", "/setup", Page)
            .form(fields(f.sign_in_csrf.as_str(), "root")),
        Row::http("setup: PUT", Method::PUT, "/setup", AnyClientError),
        Row::http("setup: DELETE", Method::DELETE, "/setup", AnyClientError),
    ]
}

/// The account page's forms, posted by the signed-in (non-admin) user: unreadable
/// bodies are 400, a missing or wrong CSRF token 403, what nobody has 404, refused
/// input 422. The current password sent is always wrong, so no row changes it; no
/// row signs the user out. (Without a session these POSTs answer 303 to the login
/// page: `account::the_account_page_sends_visitors_to_sign_in_and_back`.)
fn account_rows(f: &Fixture) -> Vec<Row> {
    use Expect::{AnyClientError, Page};
    let user = |row: Row| row.cookie(&f.session_cookie);
    let password = |csrf: &str, new: &str| {
        serde_urlencoded(&[
            ("csrf_token", csrf),
            ("current_password", "not the current password"),
            ("new_password", new),
            ("new_password_confirm", new),
        ])
    };
    let good = "a brand new password";
    let revoke = format!("/account/apps/{}/revoke", f.code.id);
    let long_id = "x".repeat(4_096);
    vec![
        user(Row::post(
            "account POST password: no content type",
            "/account/password",
            Page,
        ))
        .body(password(f.user_csrf.as_str(), good)),
        user(Row::post(
            "account POST password: JSON body",
            "/account/password",
            Page,
        ))
        .header("content-type", "application/json")
        .body(
            serde_json::json!({
                "csrf_token": f.user_csrf,
                "current_password": "not the current password",
                "new_password": good,
                "new_password_confirm": good,
            })
            .to_string(),
        ),
        user(Row::post(
            "account POST password: body over the form limit (1 MiB)",
            "/account/password",
            Page,
        ))
        .form(format!(
            "{}&pad={}",
            password(f.user_csrf.as_str(), good),
            "a".repeat(1 << 20)
        )),
        user(Row::post(
            "account POST password: NUL in new_password",
            "/account/password",
            Page,
        ))
        .form(password(f.user_csrf.as_str(), "a brand\0new password")),
        user(Row::post(
            "account POST password: CR LF in new_password (422)",
            "/account/password",
            Page,
        ))
        .form(password(f.user_csrf.as_str(), "a brand\r\nnew password")),
        user(Row::post(
            "account POST password: too short a new_password (422)",
            "/account/password",
            Page,
        ))
        .form(password(f.user_csrf.as_str(), "short")),
        user(Row::post(
            "account POST password: wrong current_password (422)",
            "/account/password",
            Page,
        ))
        .form(password(f.user_csrf.as_str(), good)),
        user(Row::post(
            "account POST password: non-UTF-8 new_password",
            "/account/password",
            Page,
        ))
        .form(with_bytes(
            serde_urlencoded(&[
                ("csrf_token", f.user_csrf.as_str()),
                ("current_password", "x"),
            ]),
            b"&new_password=\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8",
        )),
        user(Row::post(
            "account POST password: missing csrf_token",
            "/account/password",
            Page,
        ))
        .form(serde_urlencoded(&[
            ("current_password", "not the current password"),
            ("new_password", good),
            ("new_password_confirm", good),
        ])),
        user(Row::post(
            "account POST password: forged csrf_token",
            "/account/password",
            Page,
        ))
        .form(password("forged", good)),
        user(Row::post(
            "account POST end-others: forged csrf_token",
            "/account/sessions/end-others",
            Page,
        ))
        .form("csrf_token=forged"),
        user(Row::post(
            "account POST end-others: another session's csrf_token (the admin's)",
            "/account/sessions/end-others",
            Page,
        ))
        .form(serde_urlencoded(&[("csrf_token", f.admin_csrf.as_str())])),
        user(Row::post(
            "account POST end-others: NUL as csrf_token",
            "/account/sessions/end-others",
            Page,
        ))
        .form("csrf_token=%00"),
        user(Row::post(
            "account POST end-others: control character after the csrf_token",
            "/account/sessions/end-others",
            Page,
        ))
        .form(format!("csrf_token={}%01", f.user_csrf)),
        user(Row::post(
            "account POST sign-out: forged csrf_token",
            "/account/sign-out",
            Page,
        ))
        .form("csrf_token=forged"),
        user(Row::post(
            "account POST sign-out: JSON body",
            "/account/sign-out",
            Page,
        ))
        .header("content-type", "application/json")
        .body(serde_json::json!({ "csrf_token": f.user_csrf }).to_string()),
        user(Row::post(
            "account POST revoke app: forged csrf_token",
            revoke.as_str(),
            Page,
        ))
        .form("csrf_token=forged"),
        user(Row::post(
            "account POST revoke app: no content type",
            revoke.as_str(),
            Page,
        ))
        .body(serde_urlencoded(&[("csrf_token", f.user_csrf.as_str())])),
        user(Row::post(
            "account POST revoke app: unknown client (404)",
            "/account/apps/no-such-client/revoke",
            Page,
        ))
        .form(serde_urlencoded(&[("csrf_token", f.user_csrf.as_str())])),
        user(Row::post(
            "account POST revoke app: NUL as client id",
            "/account/apps/%00/revoke",
            Page,
        ))
        .form(serde_urlencoded(&[("csrf_token", f.user_csrf.as_str())])),
        user(Row::post(
            "account POST revoke app: very long client id (4 KiB)",
            format!("/account/apps/{long_id}/revoke"),
            Page,
        ))
        .form(serde_urlencoded(&[("csrf_token", f.user_csrf.as_str())])),
        user(Row::post(
            "account POST revoke app: non-UTF-8 client id",
            "/account/apps/%FF%FE/revoke",
            AnyClientError,
        ))
        .form(serde_urlencoded(&[("csrf_token", f.user_csrf.as_str())])),
        user(Row::http(
            "account: PUT",
            Method::PUT,
            "/account",
            AnyClientError,
        )),
        user(Row::http(
            "account: DELETE the password",
            Method::DELETE,
            "/account/password",
            AnyClientError,
        )),
        user(Row::get(
            "account: GET the sign-out form's action",
            "/account/sign-out",
            AnyClientError,
        )),
    ]
}

/// The admin UI: a signed-in non-admin gets the 403 page everywhere (forms
/// included); the fixture's admin gets 404 for what does not exist, 400 for
/// unreadable forms and bad filters, 403 for a missing or foreign CSRF token, 422 for
/// refused input, and the self-lockout guards. No row changes anything: every id is
/// unknown, every form fails before its operation, or the action is refused.
fn admin_rows(f: &Fixture) -> Vec<Row> {
    use Expect::{AnyClientError, Page};
    let admin = |row: Row| row.cookie(&f.admin_cookie);
    let non_admin = |row: Row| row.cookie(&f.session_cookie);
    let with_csrf = |fields: &[(&str, &str)]| {
        let mut all = vec![("csrf_token", f.admin_csrf.as_str())];
        all.extend_from_slice(fields);
        serde_urlencoded(&all)
    };
    let csrf_only = with_csrf(&[]);
    let long_id = "x".repeat(4_096);
    let code = f.code.id.as_str();
    let me = format!("/admin/users/{}", f.admin_id);
    let them = format!("/admin/users/{}", f.user_id);
    let new_client = |name: &str, redirect_uris: &str| {
        with_csrf(&[
            ("client_name", name),
            ("redirect_uris", redirect_uris),
            ("grant_types", "authorization_code"),
            ("token_endpoint_auth_method", "client_secret_basic"),
        ])
    };
    let new_user = |username: &str| {
        with_csrf(&[
            ("username", username),
            ("email", ""),
            ("name", ""),
            ("password", "a long enough password"),
        ])
    };
    vec![
        // Signed in, but not an admin: the 403 page, even with the user's own token.
        non_admin(Row::get("admin GET: a signed-in non-admin", "/admin", Page)),
        non_admin(Row::get(
            "admin GET clients: a signed-in non-admin",
            "/admin/clients",
            Page,
        )),
        non_admin(Row::get(
            "admin GET a user: a signed-in non-admin",
            them.as_str(),
            Page,
        )),
        non_admin(Row::post(
            "admin POST rotate keys: a signed-in non-admin with their csrf_token",
            "/admin/keys/rotate",
            Page,
        ))
        .form(serde_urlencoded(&[("csrf_token", f.user_csrf.as_str())])),
        non_admin(Row::post(
            "admin POST users: a signed-in non-admin creating an admin",
            "/admin/users",
            Page,
        ))
        .form(serde_urlencoded(&[
            ("csrf_token", f.user_csrf.as_str()),
            ("username", "sneaky"),
            ("password", "a long enough password"),
            ("admin", "on"),
        ])),
        // Clients.
        admin(Row::get(
            "admin GET client: unknown id (404)",
            "/admin/clients/no-such-client",
            Page,
        )),
        admin(Row::get(
            "admin GET client: NUL as id",
            "/admin/clients/%00",
            Page,
        )),
        admin(Row::get(
            "admin GET client: very long id (4 KiB)",
            format!("/admin/clients/{long_id}"),
            Page,
        )),
        admin(Row::get(
            "admin GET client: <script> as id",
            "/admin/clients/%3Cscript%3Ealert(1)",
            Page,
        )),
        admin(Row::get(
            "admin GET client: SQL-looking id",
            "/admin/clients/'%20OR%201=1%20--",
            Page,
        )),
        admin(Row::get(
            "admin GET client: non-UTF-8 id",
            "/admin/clients/%FF%FE",
            AnyClientError,
        )),
        admin(Row::get(
            "admin GET client delete: unknown id",
            "/admin/clients/no-such-client/delete",
            Page,
        )),
        admin(Row::post(
            "admin POST client: unknown id",
            "/admin/clients/no-such-client",
            Page,
        ))
        .form(new_client("x", REDIRECT_URI)),
        admin(Row::post(
            "admin POST client disable: unknown id",
            "/admin/clients/no-such-client/disable",
            Page,
        ))
        .form(csrf_only.clone()),
        admin(Row::post(
            "admin POST client rotate-secret: unknown id",
            "/admin/clients/no-such-client/rotate-secret",
            Page,
        ))
        .form(csrf_only.clone()),
        admin(Row::post(
            "admin POST client delete: unknown id",
            "/admin/clients/no-such-client/delete",
            Page,
        ))
        .form(csrf_only.clone()),
        admin(Row::post(
            "admin POST client rotate-secret: negative grace (422)",
            format!("/admin/clients/{code}/rotate-secret"),
            Page,
        ))
        .form(with_csrf(&[("grace", "-1")])),
        admin(Row::post(
            "admin POST client rotate-secret: grace not a number (422)",
            format!("/admin/clients/{code}/rotate-secret"),
            Page,
        ))
        .form(with_csrf(&[("grace", "abc")])),
        admin(Row::post(
            "admin POST client rotate-secret: grace past i64 (422)",
            format!("/admin/clients/{code}/rotate-secret"),
            Page,
        ))
        .form(with_csrf(&[("grace", "99999999999999999999")])),
        admin(Row::post(
            "admin POST client disable: missing csrf_token",
            format!("/admin/clients/{code}/disable"),
            Page,
        ))
        .form(""),
        admin(Row::post(
            "admin POST client disable: another session's csrf_token (the user's)",
            format!("/admin/clients/{code}/disable"),
            Page,
        ))
        .form(serde_urlencoded(&[("csrf_token", f.user_csrf.as_str())])),
        admin(Row::post(
            "admin POST clients: no content type",
            "/admin/clients",
            Page,
        ))
        .body(new_client("x", REDIRECT_URI)),
        admin(Row::post(
            "admin POST clients: JSON body",
            "/admin/clients",
            Page,
        ))
        .header("content-type", "application/json")
        .body(
            serde_json::json!({
                "csrf_token": f.admin_csrf,
                "client_name": "x",
                "grant_types": ["client_credentials"],
            })
            .to_string(),
        ),
        admin(Row::post(
            "admin POST clients: body over the form limit (1 MiB)",
            "/admin/clients",
            Page,
        ))
        .form(format!(
            "{}&pad={}",
            new_client("x", REDIRECT_URI),
            "a".repeat(1 << 20)
        )),
        admin(Row::post(
            "admin POST clients: NUL in client_name",
            "/admin/clients",
            Page,
        ))
        .form(new_client("bad\0name", REDIRECT_URI)),
        admin(Row::post(
            "admin POST clients: missing csrf_token",
            "/admin/clients",
            Page,
        ))
        .form(serde_urlencoded(&[
            ("client_name", "x"),
            ("grant_types", "client_credentials"),
        ])),
        admin(Row::post(
            "admin POST clients: CR LF in client_name (422)",
            "/admin/clients",
            Page,
        ))
        .form(new_client("bad\r\nname", REDIRECT_URI)),
        admin(Row::post(
            "admin POST clients: javascript: redirect URI (422)",
            "/admin/clients",
            Page,
        ))
        .form(new_client("x", "javascript:alert(document.cookie)")),
        admin(Row::post(
            "admin POST clients: no grant type (422)",
            "/admin/clients",
            Page,
        ))
        .form(with_csrf(&[
            ("client_name", "x"),
            ("token_endpoint_auth_method", "client_secret_basic"),
        ])),
        // Users.
        admin(Row::get(
            "admin GET user: unknown id (404)",
            "/admin/users/no-such-user",
            Page,
        )),
        admin(Row::get(
            "admin GET user: NUL as id",
            "/admin/users/%00",
            Page,
        )),
        admin(Row::get(
            "admin GET user: very long id (4 KiB)",
            format!("/admin/users/{long_id}"),
            Page,
        )),
        admin(Row::get(
            "admin GET user: non-UTF-8 id",
            "/admin/users/%FF%FE",
            AnyClientError,
        )),
        admin(Row::get(
            "admin GET user delete: unknown id",
            "/admin/users/no-such-user/delete",
            Page,
        )),
        admin(Row::post(
            "admin POST user disable: unknown id",
            "/admin/users/no-such-user/disable",
            Page,
        ))
        .form(csrf_only.clone()),
        admin(Row::post(
            "admin POST user end session: unknown user",
            "/admin/users/no-such-user/sessions/no-such-session/end",
            Page,
        ))
        .form(csrf_only.clone()),
        admin(Row::post(
            "admin POST user end session: unknown sid (404)",
            format!("{them}/sessions/no-such-session/end"),
            Page,
        ))
        .form(csrf_only.clone()),
        admin(Row::post(
            "admin POST user end session: NUL as sid",
            format!("{them}/sessions/%00/end"),
            Page,
        ))
        .form(csrf_only.clone()),
        admin(Row::post(
            "admin POST user revoke consent: unknown client",
            format!("{them}/consents/no-such-client/revoke"),
            Page,
        ))
        .form(csrf_only.clone()),
        admin(Row::post(
            "admin POST user password: empty (422)",
            format!("{them}/password"),
            Page,
        ))
        .form(with_csrf(&[("password", "")])),
        admin(Row::post(
            "admin POST user password: NUL in the password",
            format!("{them}/password"),
            Page,
        ))
        .form(with_csrf(&[("password", "a long\0enough password")])),
        admin(Row::post(
            "admin POST user disable: forged csrf_token",
            format!("{them}/disable"),
            Page,
        ))
        .form("csrf_token=forged"),
        admin(Row::post(
            "admin POST user disable: their own account",
            format!("{me}/disable"),
            Page,
        ))
        .form(csrf_only.clone()),
        admin(Row::post(
            "admin POST user delete: their own account",
            format!("{me}/delete"),
            Page,
        ))
        .form(csrf_only.clone()),
        admin(Row::get(
            "admin GET user delete: their own account",
            format!("{me}/delete"),
            Page,
        )),
        admin(Row::post(
            "admin POST user: removing their own admin flag (422)",
            me.as_str(),
            Page,
        ))
        .form(with_csrf(&[
            ("email", ""),
            ("name", ""),
            ("roles", ""),
            ("groups", ""),
        ])),
        admin(Row::post(
            "admin POST users: white space in the username (422)",
            "/admin/users",
            Page,
        ))
        .form(new_user("two words")),
        admin(Row::post(
            "admin POST users: NUL in the username",
            "/admin/users",
            Page,
        ))
        .form(new_user("nul\0user")),
        admin(Row::post(
            "admin POST users: missing csrf_token",
            "/admin/users",
            Page,
        ))
        .form(serde_urlencoded(&[
            ("username", "nobody-made"),
            ("password", "a long enough password"),
        ])),
        admin(Row::post(
            "admin POST users: body over the form limit (1 MiB)",
            "/admin/users",
            Page,
        ))
        .form(format!(
            "{}&pad={}",
            new_user("padded"),
            "a".repeat(1 << 20)
        )),
        // Keys.
        admin(Row::get(
            "admin GET key revoke: unknown kid (404)",
            "/admin/keys/no-such-kid/revoke",
            Page,
        )),
        admin(Row::get(
            "admin GET key revoke: NUL as kid",
            "/admin/keys/%00/revoke",
            Page,
        )),
        admin(Row::get(
            "admin GET key revoke: very long kid (4 KiB)",
            format!("/admin/keys/{long_id}/revoke"),
            Page,
        )),
        admin(Row::post(
            "admin POST key revoke: unknown kid (404)",
            "/admin/keys/no-such-kid/revoke",
            Page,
        ))
        .form(csrf_only.clone()),
        admin(Row::post(
            "admin POST key revoke: missing csrf_token",
            "/admin/keys/no-such-kid/revoke",
            Page,
        ))
        .form(""),
        admin(Row::post(
            "admin POST key revoke: no content type",
            "/admin/keys/no-such-kid/revoke",
            Page,
        ))
        .body(csrf_only.clone()),
        admin(Row::post(
            "admin POST keys rotate: unknown alg",
            "/admin/keys/rotate",
            Page,
        ))
        .form(with_csrf(&[("alg", "RS512")])),
        admin(Row::post(
            "admin POST keys rotate: <script> as alg",
            "/admin/keys/rotate",
            Page,
        ))
        .form(with_csrf(&[("alg", "<script>alert(1)</script>")])),
        admin(Row::post(
            "admin POST keys rotate: another session's csrf_token (the user's)",
            "/admin/keys/rotate",
            Page,
        ))
        .form(serde_urlencoded(&[("csrf_token", f.user_csrf.as_str())])),
        // The audit log: a bad filter is a 400 page saying which, never a 200.
        admin(Row::get(
            "admin GET audit: unknown kind",
            "/admin/audit?kind=no.such.kind",
            Page,
        )),
        admin(Row::get(
            "admin GET audit: <script> as kind",
            format!(
                "/admin/audit?{}",
                serde_urlencoded(&[("kind", "<script>alert(1)</script>")])
            ),
            Page,
        )),
        admin(Row::get(
            "admin GET audit: since is not a date",
            "/admin/audit?since=yesterday",
            Page,
        )),
        admin(Row::get(
            "admin GET audit: until with month 13",
            "/admin/audit?until=2026-13-45",
            Page,
        )),
        admin(Row::get(
            "admin GET audit: NUL as since",
            "/admin/audit?since=%00",
            Page,
        )),
        admin(Row::get(
            "admin GET audit: page=-1",
            "/admin/audit?page=-1",
            Page,
        )),
        admin(Row::get(
            "admin GET audit: page=0",
            "/admin/audit?page=0",
            Page,
        )),
        admin(Row::get(
            "admin GET audit: page=abc",
            "/admin/audit?page=abc",
            Page,
        )),
        admin(Row::get(
            "admin GET audit: page past i64",
            "/admin/audit?page=99999999999999999999",
            Page,
        )),
        admin(Row::post(
            "admin: POST the audit log",
            "/admin/audit",
            AnyClientError,
        ))
        .form(csrf_only.clone()),
        admin(Row::http(
            "admin: DELETE a client",
            Method::DELETE,
            format!("/admin/clients/{code}"),
            AnyClientError,
        )),
    ]
}

/// The playground: admins only (a signed-in non-admin gets 403 at every route,
/// callback and refresh included); its callback refuses an answer without a live
/// flow of this admin (400) before looking at `code` or `error`; its forms are
/// checked like every admin form.
fn playground_rows(f: &Fixture) -> Vec<Row> {
    use Expect::{AnyClientError, Page};
    let admin = |row: Row| row.cookie(&f.admin_cookie);
    let non_admin = |row: Row| row.cookie(&f.session_cookie);
    let with_csrf = |fields: &[(&str, &str)]| {
        let mut all = vec![("csrf_token", f.admin_csrf.as_str())];
        all.extend_from_slice(fields);
        serde_urlencoded(&all)
    };
    let callback =
        |pairs: &[(&str, &str)]| format!("/playground/callback?{}", serde_urlencoded(pairs));
    let big = "a".repeat(10_000);
    vec![
        non_admin(Row::get(
            "playground GET: a signed-in non-admin",
            "/playground",
            Page,
        )),
        non_admin(Row::get(
            "playground callback: a signed-in non-admin",
            callback(&[("state", "no-such-flow"), ("code", "abc")]),
            Page,
        )),
        non_admin(Row::post(
            "playground POST refresh: a signed-in non-admin with their csrf_token",
            "/playground/refresh",
            Page,
        ))
        .form(serde_urlencoded(&[
            ("csrf_token", f.user_csrf.as_str()),
            ("flow", "no-such-flow"),
        ])),
        non_admin(Row::post(
            "playground POST start: a signed-in non-admin with their csrf_token",
            "/playground/start",
            Page,
        ))
        .form(serde_urlencoded(&[
            ("csrf_token", f.user_csrf.as_str()),
            ("client_id", f.public.id.as_str()),
            ("scope", "openid"),
        ])),
        admin(Row::get(
            "playground callback: no parameters",
            "/playground/callback",
            Page,
        )),
        admin(Row::get(
            "playground callback: a code without state",
            callback(&[("code", "abc")]),
            Page,
        )),
        admin(Row::get(
            "playground callback: unknown state",
            callback(&[
                ("state", "no-such-flow"),
                ("code", "abc"),
                ("iss", "http://127.0.0.1"),
            ]),
            Page,
        )),
        admin(Row::get(
            "playground callback: error with an unknown state",
            callback(&[("error", "access_denied"), ("state", "no-such-flow")]),
            Page,
        )),
        admin(Row::get(
            "playground callback: error without state",
            callback(&[("error", "access_denied")]),
            Page,
        )),
        admin(Row::get(
            "playground callback: <script> as error and description",
            callback(&[
                ("error", "<script>alert(1)</script>"),
                ("error_description", "<script>alert(2)</script>"),
                ("state", "no-such-flow"),
            ]),
            Page,
        )),
        admin(Row::get(
            "playground callback: non-UTF-8 state",
            "/playground/callback?state=%FF%FE&code=abc",
            Page,
        )),
        admin(Row::get(
            "playground callback: oversized state (10 000 bytes)",
            callback(&[("state", big.as_str()), ("code", "abc")]),
            Page,
        )),
        admin(Row::post(
            "playground POST start: missing csrf_token",
            "/playground/start",
            Page,
        ))
        .form(serde_urlencoded(&[
            ("client_id", f.public.id.as_str()),
            ("scope", "openid"),
        ])),
        admin(Row::post(
            "playground POST start: no content type",
            "/playground/start",
            Page,
        ))
        .body(with_csrf(&[("client_id", f.public.id.as_str())])),
        admin(Row::post(
            "playground POST start: unknown client (422)",
            "/playground/start",
            Page,
        ))
        .form(with_csrf(&[("client_id", "no-such-client")])),
        admin(Row::post(
            "playground POST start: confidential client without its secret (422)",
            "/playground/start",
            Page,
        ))
        .form(with_csrf(&[
            ("client_id", f.code.id.as_str()),
            ("scope", "openid"),
        ])),
        admin(Row::post(
            "playground POST start: registering for an unknown flow",
            "/playground/start",
            Page,
        ))
        .form(with_csrf(&[
            ("flow", "no-such-flow"),
            ("register_redirect_uri", "yes"),
        ])),
        admin(Row::post(
            "playground POST start: NUL in client_secret",
            "/playground/start",
            Page,
        ))
        .form(with_csrf(&[
            ("client_id", f.code.id.as_str()),
            ("client_secret", "sec\0ret"),
        ])),
        admin(Row::post(
            "playground POST start: body over the form limit (1 MiB)",
            "/playground/start",
            Page,
        ))
        .form(format!(
            "{}&pad={}",
            with_csrf(&[("client_id", f.public.id.as_str())]),
            "a".repeat(1 << 20)
        )),
        admin(Row::post(
            "playground POST refresh: no flow",
            "/playground/refresh",
            Page,
        ))
        .form(with_csrf(&[])),
        admin(Row::post(
            "playground POST refresh: unknown flow",
            "/playground/refresh",
            Page,
        ))
        .form(with_csrf(&[("flow", "no-such-flow")])),
        admin(Row::post(
            "playground POST refresh: missing csrf_token",
            "/playground/refresh",
            Page,
        ))
        .form("flow=no-such-flow"),
        admin(Row::http(
            "playground: PUT the callback",
            Method::PUT,
            "/playground/callback",
            AnyClientError,
        )),
    ]
}

/// The read-only documents, the probes, the stylesheet and paths that are not
/// routes: wrong methods and unknown paths get a 4xx from actix.
fn document_and_path_rows() -> Vec<Row> {
    use Expect::AnyClientError;
    let long_path = format!("/{}", "a".repeat(8 * 1024));
    vec![
        Row::post(
            "discovery: POST",
            "/.well-known/openid-configuration",
            AnyClientError,
        ),
        Row::http(
            "discovery: DELETE",
            Method::DELETE,
            "/.well-known/openid-configuration",
            AnyClientError,
        ),
        Row::http(
            "discovery: PUT",
            Method::PUT,
            "/.well-known/openid-configuration",
            AnyClientError,
        ),
        Row::post(
            "RFC 8414 metadata: POST",
            "/.well-known/oauth-authorization-server",
            AnyClientError,
        ),
        Row::http(
            "RFC 8414 metadata: DELETE",
            Method::DELETE,
            "/.well-known/oauth-authorization-server",
            AnyClientError,
        ),
        Row::post("jwks: POST", "/.well-known/jwks.json", AnyClientError),
        Row::http(
            "jwks: DELETE",
            Method::DELETE,
            "/.well-known/jwks.json",
            AnyClientError,
        ),
        Row::http(
            "jwks: PATCH",
            Method::PATCH,
            "/.well-known/jwks.json",
            AnyClientError,
        ),
        Row::post("healthz: POST", "/healthz", AnyClientError),
        Row::http(
            "healthz: DELETE",
            Method::DELETE,
            "/healthz",
            AnyClientError,
        ),
        Row::post("readyz: POST", "/readyz", AnyClientError),
        Row::post("stylesheet: POST", "/static/portcullis.css", AnyClientError),
        Row::http(
            "stylesheet: DELETE",
            Method::DELETE,
            "/static/portcullis.css",
            AnyClientError,
        ),
        Row::get("unknown path", "/nope", AnyClientError),
        Row::get(
            "unknown path: /token/ with a trailing slash",
            "/token/",
            AnyClientError,
        ),
        Row::get(
            "unknown path: /.well-known/",
            "/.well-known/",
            AnyClientError,
        ),
        Row::get(
            "unknown path: a JWKS backup",
            "/.well-known/jwks.json.bak",
            AnyClientError,
        ),
        Row::get("unknown path: very long (8 KiB)", long_path, AnyClientError),
        Row::get("unknown path: non-UTF-8", "/%FF%FE", AnyClientError),
        Row::get("static: the directory", "/static/", AnyClientError),
        Row::get(
            "static: Cargo.toml beside the stylesheet",
            "/static/Cargo.toml",
            AnyClientError,
        ),
        Row::get(
            "static: ..%2f traversal",
            "/static/..%2fCargo.toml",
            AnyClientError,
        ),
        Row::get(
            "static: %2e%2e%2f traversal",
            "/static/%2e%2e%2fCargo.toml",
            AnyClientError,
        ),
    ]
}

/// What reqwest will not send: dot segments it would resolve, control characters in
/// headers, broken framing, and clients that hang up mid-body.
fn raw_rows() -> Vec<Row> {
    use Expect::{AnyClientError, HangUpOrClientError};
    const FORM_TYPE: &[u8] = b"Content-Type: application/x-www-form-urlencoded";
    vec![
        Row::raw(
            "static: ../ in the raw path",
            http11(b"GET /static/../Cargo.toml HTTP/1.1", &[], b""),
            AnyClientError,
        ),
        Row::raw(
            "static: %2e%2e in the raw path",
            http11(b"GET /static/%2e%2e/Cargo.toml HTTP/1.1", &[], b""),
            AnyClientError,
        ),
        Row::raw(
            "static: ../../ after the stylesheet",
            http11(
                b"GET /static/portcullis.css/../../Cargo.toml HTTP/1.1",
                &[],
                b"",
            ),
            AnyClientError,
        ),
        Row::raw(
            "static: backslash traversal",
            http11(b"GET /static/..\\..\\Cargo.toml HTTP/1.1", &[], b""),
            AnyClientError,
        ),
        Row::raw(
            "root: ../ above the root",
            http11(b"GET /../../../../etc/passwd HTTP/1.1", &[], b""),
            AnyClientError,
        ),
        Row::raw(
            "authorize: NUL in the request target",
            http11(b"GET /authorize?client_id=a\x00b HTTP/1.1", &[], b""),
            AnyClientError,
        ),
        Row::raw(
            "authorize: raw non-UTF-8 bytes in the query",
            http11(b"GET /authorize?client_id=\xff\xfe HTTP/1.1", &[], b""),
            AnyClientError,
        ),
        Row::raw(
            "userinfo: control character in the Authorization header",
            http11(
                b"GET /userinfo HTTP/1.1",
                &[b"Authorization: Bearer ab\x01cd"],
                b"",
            ),
            AnyClientError,
        ),
        Row::raw(
            "userinfo: header line without a colon",
            http11(b"GET /userinfo HTTP/1.1", &[b"Bearer abc"], b""),
            AnyClientError,
        ),
        Row::raw(
            "token: NUL in the Authorization header",
            http11(
                b"POST /token HTTP/1.1",
                &[
                    b"Authorization: Basic \x00abc",
                    FORM_TYPE,
                    b"Content-Length: 29",
                ],
                b"grant_type=client_credentials",
            ),
            AnyClientError,
        ),
        Row::raw(
            "token: bare LF inside a header (header injection)",
            http11(
                b"POST /token HTTP/1.1",
                &[
                    b"Authorization: Basic abc\nX-Injected: 1",
                    FORM_TYPE,
                    b"Content-Length: 29",
                ],
                b"grant_type=client_credentials",
            ),
            AnyClientError,
        ),
        Row::raw(
            "token: two Content-Length headers",
            http11(
                b"POST /token HTTP/1.1",
                &[FORM_TYPE, b"Content-Length: 5", b"Content-Length: 6"],
                b"a=b&c",
            ),
            AnyClientError,
        ),
        Row::raw(
            "token: non-numeric Content-Length",
            http11(
                b"POST /token HTTP/1.1",
                &[FORM_TYPE, b"Content-Length: abc"],
                b"",
            ),
            AnyClientError,
        ),
        Row::raw(
            "token: Content-Length and Transfer-Encoding together",
            http11(
                b"POST /token HTTP/1.1",
                &[
                    FORM_TYPE,
                    b"Content-Length: 5",
                    b"Transfer-Encoding: chunked",
                ],
                b"0\r\n\r\n",
            ),
            AnyClientError,
        ),
        Row::raw(
            "token: malformed chunked body",
            http11(
                b"POST /token HTTP/1.1",
                &[FORM_TYPE, b"Transfer-Encoding: chunked"],
                b"zz\r\ngrant_type=client_credentials\r\n0\r\n\r\n",
            ),
            HangUpOrClientError,
        ),
        Row::raw(
            "token: body shorter than its Content-Length, then hang-up",
            http11(
                b"POST /token HTTP/1.1",
                &[FORM_TYPE, b"Content-Length: 64"],
                b"grant_type=client",
            ),
            HangUpOrClientError,
        )
        .half_close(),
        Row::raw(
            "login: body shorter than its Content-Length, then hang-up",
            http11(
                b"POST /login HTTP/1.1",
                &[FORM_TYPE, b"Content-Length: 200"],
                b"request=abc&csrf_tok",
            ),
            HangUpOrClientError,
        )
        .half_close(),
    ]
}

/// An HTTP/1.1 request as bytes: `request_line`, `Host` and `Connection: close`
/// (so the answer ends with the connection), `headers` (each without its CR LF),
/// then `body`.
fn http11(request_line: &[u8], headers: &[&[u8]], body: &[u8]) -> Vec<u8> {
    let mut bytes = request_line.to_vec();
    bytes.extend_from_slice(b"\r\nHost: localhost\r\nConnection: close\r\n");
    for header in headers {
        bytes.extend_from_slice(header);
        bytes.extend_from_slice(b"\r\n");
    }
    bytes.extend_from_slice(b"\r\n");
    bytes.extend_from_slice(body);
    bytes
}

// ---------------------------------------------------------------------------
// Running and checking a row.
// ---------------------------------------------------------------------------

/// What came back: `None` from [`send`] when the server closed without answering.
struct Answer {
    status: u16,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The start of the body, for failure messages.
    fn snippet(&self) -> String {
        String::from_utf8_lossy(&self.body)
            .chars()
            .take(300)
            .collect()
    }
}

/// Sends one row; `Err` is a failure of the row (no answer, or a table mistake).
async fn send(http: &reqwest::Client, app: &TestApp, row: &Row) -> Result<Option<Answer>, String> {
    match &row.wire {
        Wire::Raw { bytes, half_close } => {
            let address = app.base_url.trim_start_matches("http://").to_owned();
            let bytes = bytes.clone();
            let half_close = *half_close;
            tokio::task::spawn_blocking(move || raw_exchange(&address, &bytes, half_close))
                .await
                .map_err(|e| format!("the raw exchange panicked: {e}"))?
        }
        Wire::Http {
            method,
            path,
            headers,
            body,
        } => {
            let mut request = http.request(method.clone(), app.url(path));
            for (name, value) in headers {
                // Bytes HeaderValue refuses (C0 controls, DEL) travel in raw rows.
                let value = HeaderValue::from_bytes(value)
                    .map_err(|e| format!("the table's {name} header cannot be built: {e}"))?;
                request = request.header(*name, value);
            }
            if let Some(body) = body {
                request = request.body(reqwest::Body::from(body.clone()));
            }
            let response = request
                .send()
                .await
                .map_err(|e| format!("no answer: {e:?}"))?;
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let body = response
                .bytes()
                .await
                .map_err(|e| format!("the body could not be read: {e:?}"))?
                .to_vec();
            Ok(Some(Answer {
                status,
                headers,
                body,
            }))
        }
    }
}

/// Writes `bytes` to a new connection and reads until the server closes it.
fn raw_exchange(address: &str, bytes: &[u8], half_close: bool) -> Result<Option<Answer>, String> {
    use std::io::{ErrorKind, Read, Write};
    let mut stream =
        std::net::TcpStream::connect(address).map_err(|e| format!("cannot connect: {e}"))?;
    stream
        .set_read_timeout(Some(RAW_TIMEOUT))
        .map_err(|e| format!("cannot set a timeout: {e}"))?;
    stream
        .write_all(bytes)
        .map_err(|e| format!("cannot write the request: {e}"))?;
    if half_close {
        stream
            .shutdown(std::net::Shutdown::Write)
            .map_err(|e| format!("cannot hang up: {e}"))?;
    }
    let mut received = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => received.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => break,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                if received.is_empty() {
                    return Err(format!(
                        "no answer within {RAW_TIMEOUT:?}, and the connection stayed open"
                    ));
                }
                break;
            }
            Err(e) => return Err(format!("cannot read the answer: {e}")),
        }
    }
    if received.is_empty() {
        return Ok(None);
    }
    parse_raw_answer(&received).map(Some)
}

/// Status line and headers of a raw HTTP/1.1 answer; the body as it came (chunked
/// framing left in: raw rows only look for what must not be there).
fn parse_raw_answer(received: &[u8]) -> Result<Answer, String> {
    let end = received
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(received.len());
    let head = String::from_utf8_lossy(&received[..end]).into_owned();
    let body = received.get(end + 4..).unwrap_or_default().to_vec();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| format!("no status line in {status_line:?}"))?;
    let mut headers = HeaderMap::new();
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.trim().as_bytes()),
                HeaderValue::from_str(value.trim()),
            ) {
                headers.append(name, value);
            }
        }
    }
    Ok(Answer {
        status,
        headers,
        body,
    })
}

/// Whether `answer` is the error `expect` names; `issuer` is the server's.
fn check(expect: Expect, answer: Option<&Answer>, issuer: &str) -> Result<(), String> {
    let Some(answer) = answer else {
        return match expect {
            Expect::HangUpOrClientError => Ok(()),
            _ => Err("the server closed the connection without answering".into()),
        };
    };
    let status = answer.status;
    let text = String::from_utf8_lossy(&answer.body)
        .to_ascii_lowercase()
        .replace(OWN_SCRIPT, "");
    if text.contains("[package]") || text.contains("root:x:0:0") {
        return Err(format!(
            "{status} serves a file from disk: {}",
            answer.snippet()
        ));
    }
    if text.contains("<script") {
        return Err(format!(
            "{status} echoes markup unescaped: {}",
            answer.snippet()
        ));
    }
    if (500..600).contains(&status) {
        return Err(format!("{status}, a server error: {}", answer.snippet()));
    }
    if expect == Expect::ErrorRedirect {
        return check_error_redirect(answer, issuer);
    }
    if !(400..500).contains(&status) {
        return Err(format!(
            "{status} where a 4xx was due (Location: {:?}): {}",
            answer.header("location"),
            answer.snippet()
        ));
    }
    if let Some(location) = answer.header("location") {
        return Err(format!("{status} with a Location: {location}"));
    }
    match expect {
        Expect::OAuthJson => check_oauth_json(answer),
        Expect::Page => check_page(answer),
        Expect::Bearer => check_bearer(answer),
        Expect::AnyClientError | Expect::HangUpOrClientError => Ok(()),
        Expect::ErrorRedirect => unreachable!("checked above"),
    }
}

/// RFC 6749 §4.1.2.1 with RFC 9207: back to exactly the registered URI, with
/// `error` (and `error_description`) in §5.2's charset and our `iss`.
fn check_error_redirect(answer: &Answer, issuer: &str) -> Result<(), String> {
    if answer.status != 302 && answer.status != 303 {
        return Err(format!(
            "{} where an error redirect to {REDIRECT_URI} was due: {}",
            answer.status,
            answer.snippet()
        ));
    }
    let location = answer
        .header(LOCATION.as_str())
        .ok_or_else(|| format!("{} without a Location", answer.status))?;
    if !location.starts_with(&format!("{REDIRECT_URI}?")) {
        return Err(format!(
            "redirects to {location}, not to the registered {REDIRECT_URI}"
        ));
    }
    let url = url::Url::parse(location).map_err(|e| format!("Location {location}: {e}"))?;
    let query: BTreeMap<String, String> = url.query_pairs().into_owned().collect();
    match query.get("error") {
        Some(error) if !error.is_empty() && is_description_charset(error) => {}
        other => {
            return Err(format!(
                "redirect without a valid error ({other:?}): {location}"
            ))
        }
    }
    if let Some(description) = query.get("error_description") {
        if !is_description_charset(description) {
            return Err(format!(
                "error_description outside RFC 6749 §5.2: {description:?}"
            ));
        }
    }
    if query.get("iss").map(String::as_str) != Some(issuer) {
        return Err(format!("redirect without iss={issuer}: {location}"));
    }
    Ok(())
}

/// RFC 6749 §5.2: a JSON object with `error`, both values in the §5.2 charset; a
/// 401 names its scheme (RFC 9110 §11.6.1).
fn check_oauth_json(answer: &Answer) -> Result<(), String> {
    let content_type = answer.header("content-type").unwrap_or("");
    if !content_type.starts_with("application/json") {
        return Err(format!(
            "{} with content-type {content_type:?}, not RFC 6749 §5.2 JSON: {}",
            answer.status,
            answer.snippet()
        ));
    }
    check_error_json(answer)?;
    if answer.status == 401 && answer.header("www-authenticate").is_none() {
        return Err("401 without WWW-Authenticate".into());
    }
    Ok(())
}

/// The `error` and optional `error_description` of a JSON error body.
fn check_error_json(answer: &Answer) -> Result<(), String> {
    let body: serde_json::Value = serde_json::from_slice(&answer.body).map_err(|e| {
        format!(
            "{} body is not JSON ({e}): {}",
            answer.status,
            answer.snippet()
        )
    })?;
    match body.get("error").and_then(serde_json::Value::as_str) {
        Some(error) if !error.is_empty() && is_description_charset(error) => {}
        _ => return Err(format!("no valid `error` string in {body}")),
    }
    match body.get("error_description") {
        None => Ok(()),
        Some(serde_json::Value::String(d)) if is_description_charset(d) => Ok(()),
        Some(other) => Err(format!("error_description outside RFC 6749 §5.2: {other}")),
    }
}

/// An HTML error page, with the pages' Content-Security-Policy.
fn check_page(answer: &Answer) -> Result<(), String> {
    let content_type = answer.header("content-type").unwrap_or("");
    if !content_type.starts_with("text/html") {
        return Err(format!(
            "{} with content-type {content_type:?}, not an error page: {}",
            answer.status,
            answer.snippet()
        ));
    }
    if !String::from_utf8_lossy(&answer.body).contains("<html") {
        return Err(format!(
            "{} page without <html>: {}",
            answer.status,
            answer.snippet()
        ));
    }
    if answer.header("content-security-policy").is_none() {
        return Err(format!(
            "{} page without Content-Security-Policy",
            answer.status
        ));
    }
    Ok(())
}

/// RFC 6750 §3: the challenge in `WWW-Authenticate`, and any body as §5.2 JSON.
fn check_bearer(answer: &Answer) -> Result<(), String> {
    if !matches!(answer.status, 400 | 401 | 403) {
        return Err(format!(
            "{} where RFC 6750 §3.1 has 400, 401 or 403: {}",
            answer.status,
            answer.snippet()
        ));
    }
    let challenge = answer.header("www-authenticate").ok_or_else(|| {
        format!(
            "{} without WWW-Authenticate: {}",
            answer.status,
            answer.snippet()
        )
    })?;
    if !challenge.starts_with("Bearer") {
        return Err(format!("not a Bearer challenge: {challenge}"));
    }
    if !challenge.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
        return Err(format!("challenge outside printable ASCII: {challenge:?}"));
    }
    if answer.body.is_empty() {
        Ok(())
    } else {
        check_error_json(answer)
    }
}

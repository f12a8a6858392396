//! Several instances on one database, as behind one load balancer: a flow whose
//! requests land on different instances, races between instances over one code, one
//! refresh token and one key rotation, revocation seen everywhere at once — and a
//! database outage that every instance rides out without a restart.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portcullis::clock::ManualClock;
use portcullis::keys::KeyAlg;
use reqwest::header::{CONTENT_TYPE, COOKIE, RETRY_AFTER, SET_COOKIE};
use reqwest::{Response, StatusCode};
use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::oauth_support::*;
use crate::support::{portcullis, stderr, stdout_json, TestApp, TestDb};

/// `n` instances on `db` with one clock (as synchronised servers have) and the first
/// one's issuer (as instances behind one load balancer have), each with `settings`.
async fn instances(
    db: &Arc<TestDb>,
    n: usize,
    settings: &[(&'static str, String)],
) -> Vec<TestApp> {
    let clock = Arc::new(ManualClock::starting_now());
    let first = TestApp::try_start(db.clone(), settings, clock.clone())
        .await
        .unwrap();
    let mut shared = settings.to_vec();
    shared.push(("PORTCULLIS_ISSUER", first.base_url.clone()));
    let mut apps = vec![first];
    for _ in 1..n {
        let app = TestApp::try_start(db.clone(), &shared, clock.clone())
            .await
            .unwrap();
        apps.push(app);
    }
    apps
}

async fn stop_all(apps: Vec<TestApp>) {
    for app in apps {
        app.stop().await;
    }
}

/// `browser` (the same cookie jar) sending its next requests to `app`: cookies are
/// kept per host, not per port, so every instance on 127.0.0.1 sees them, as
/// instances behind one load balancer do.
fn browser_at(app: &TestApp, browser: &Browser) -> Browser {
    Browser {
        base_url: app.base_url.clone(),
        http: browser.http.clone(),
    }
}

/// The `name=value` of the session cookie a response sets.
fn session_cookie_of(response: &Response) -> String {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|cookie| cookie.starts_with("portcullis-session="))
        .and_then(|cookie| cookie.split(';').next())
        .map(str::to_owned)
        .expect("the response sets the session cookie")
}

/// What `prompt=none` (OIDC Core §3.1.2.1) at `app` answers over `http`: `Ok(code)`
/// for a live session, `Err(error)` otherwise. `cookie`, when given, is sent as the
/// `Cookie` header (for a client without a cookie jar).
async fn silent_authorization(
    http: &reqwest::Client,
    app: &TestApp,
    client: &Client,
    cookie: Option<&str>,
) -> Result<String, String> {
    let (mut params, _) = code_request(client, "openid", "silent");
    params.push(("prompt".to_owned(), "none".to_owned()));
    let url = app.url(&format!("/authorize?{}", serde_urlencoded(&pairs(&params))));
    let mut request = http.get(url);
    if let Some(cookie) = cookie {
        request = request.header(COOKIE, cookie);
    }
    let response = request.send().await.unwrap();
    assert_eq!(
        response.status(),
        302,
        "prompt=none redirects back to the client"
    );
    let back = query_of(&location(&response));
    match back.get("error") {
        Some(error) => Err(error.clone()),
        None => Ok(back["code"].clone()),
    }
}

/// The form of a code exchange (RFC 6749 §4.1.3) with its PKCE verifier.
fn code_form<'a>(code: &'a str, verifier: &'a str) -> [(&'a str, &'a str); 4] {
    [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT_URI),
        ("code_verifier", verifier),
    ]
}

/// A refresh request (RFC 6749 §6) at `app`.
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

/// The same refresh request sent to the first three instances at once.
async fn refresh_at_once(
    apps: &[TestApp],
    client: &Client,
    refresh_token: &str,
) -> Vec<(StatusCode, Value)> {
    let (first, second, third) = tokio::join!(
        refresh(&apps[0], client, refresh_token),
        refresh(&apps[1], client, refresh_token),
        refresh(&apps[2], client, refresh_token),
    );
    vec![first, second, third]
}

/// The bodies of the 200 answers.
fn successes(answers: &[(StatusCode, Value)]) -> Vec<&Value> {
    answers
        .iter()
        .filter(|(status, _)| *status == 200)
        .map(|(_, body)| body)
        .collect()
}

/// Every answer that is not a 200 is 400 `invalid_grant` (never a server error
/// from the race).
fn assert_others_are_invalid_grant(answers: &[(StatusCode, Value)]) {
    for (status, body) in answers.iter().filter(|(status, _)| *status != 200) {
        assert_eq!(
            (status.as_u16(), body["error"].as_str()),
            (400, Some("invalid_grant")),
            "{answers:?}"
        );
    }
}

/// The distinct values of `field` among `bodies`, sorted.
fn distinct(bodies: &[&Value], field: impl Fn(&Value) -> String) -> Vec<String> {
    let mut values: Vec<String> = bodies.iter().map(|&body| field(body)).collect();
    values.sort_unstable();
    values.dedup();
    values
}

/// RFC 7009 §2.1 at `app`, as `client`.
async fn revoke(app: &TestApp, client: &Client, token: &str) -> StatusCode {
    app.http
        .post(app.url("/revoke"))
        .basic_auth(&client.id, client.secret.as_deref())
        .form(&[("token", token)])
        .send()
        .await
        .unwrap()
        .status()
}

/// A deployment of several instances behind one load balancer is one authorization
/// server (RFC 8414 §2: one issuer). Everything a flow needs — the pending request
/// and its browser binding, the session, the consent, the code, the refresh-token
/// family, revocation and the end of a session — lives in the database, so each
/// request of a flow may land on any instance: authorize and login on 1, consent on
/// 2, the code exchange (RFC 6749 §4.1.3) on 3, the refresh (§6) on 1, UserInfo
/// (OIDC Core §5.3) on 2, RP-Initiated Logout (§2) on 3 — after which `prompt=none`
/// on 1 answers `login_required` (OIDC Core §3.1.2.6), even to the old cookie.
#[tokio::test]
async fn a_flow_round_robined_over_three_instances_completes() {
    let db = Arc::new(TestDb::new());
    let apps = instances(&db, 3, &[]).await;
    let issuer = apps[0].base_url.clone();
    let client = apps[0].code_client();
    let user = apps[0].create_user("roamer");
    let on_1 = apps[0].browser();
    let on_2 = browser_at(&apps[1], &on_1);
    let on_3 = browser_at(&apps[2], &on_1);

    // Authorize and log in on instance 1.
    let (params, verifier) = code_request(&client, "openid profile offline_access", "round");
    let response = on_1.authorize(&pairs(&params)).await;
    assert_eq!(response.status(), 302);
    let login_path = location(&response);
    assert!(login_path.starts_with("/login?request="), "{login_path}");
    let response = on_1.login(&login_path, &user.username, PASSWORD).await;
    assert_eq!(response.status(), 303);
    let session_cookie = session_cookie_of(&response);
    let consent_path = location(&response);
    assert!(
        consent_path.starts_with("/consent?request="),
        "{consent_path}"
    );

    // Consent on instance 2: the pending request, its browser binding and its CSRF
    // token are the database's, not instance 1's.
    let response = on_2.consent(&consent_path, "allow").await;
    assert_eq!(response.status(), 303);
    let back = location(&response);
    assert!(back.starts_with(REDIRECT_URI), "{back}");
    let query = query_of(&back);
    assert_eq!(query["state"], "round");
    assert_eq!(query["iss"], issuer, "RFC 9207: the one issuer");

    // The code exchange on instance 3.
    let tokens = exchange_code(&apps[2], &client, &query["code"], &verifier).await;
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(claims(access)["iss"], issuer);
    assert_eq!(claims(access)["sub"], user.id);
    let refresh_token = tokens["refresh_token"].as_str().unwrap();

    // The refresh on instance 1.
    let (status, refreshed) = refresh(&apps[0], &client, refresh_token).await;
    assert_eq!(status, 200, "{refreshed}");
    assert_ne!(refreshed["refresh_token"], tokens["refresh_token"]);
    let access = refreshed["access_token"].as_str().unwrap();
    let id_token = refreshed["id_token"].as_str().unwrap();
    assert_eq!(claims(id_token)["sub"], user.id);

    // UserInfo on instance 2.
    let response = apps[1]
        .http
        .get(apps[1].url("/userinfo"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let info: Value = response.json().await.unwrap();
    assert_eq!(info["sub"], user.id);

    // Before the logout, the session is live on every instance, also to a client
    // that only carries the session cookie.
    let bare = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    assert!(
        silent_authorization(&bare, &apps[1], &client, Some(session_cookie.as_str()))
            .await
            .is_ok(),
        "the session is live on instance 2"
    );

    // RP-initiated logout on instance 3.
    let logout = serde_urlencoded(&[
        ("id_token_hint", id_token),
        ("post_logout_redirect_uri", POST_LOGOUT_REDIRECT_URI),
        ("state", "bye"),
    ]);
    let response = on_3.get(&format!("/logout?{logout}")).await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        location(&response),
        format!("{POST_LOGOUT_REDIRECT_URI}?state=bye")
    );

    // prompt=none on instance 1: no session, in the browser or server-side.
    assert_eq!(
        silent_authorization(&on_1.http, &apps[0], &client, None).await,
        Err("login_required".to_owned())
    );
    assert_eq!(
        silent_authorization(&bare, &apps[0], &client, Some(session_cookie.as_str())).await,
        Err("login_required".to_owned()),
        "the session ended in the database, not only its cookie in the browser"
    );
    stop_all(apps).await;
}

/// RFC 6749 §4.1.2: a code is used at most once; a second use is refused and
/// "SHOULD revoke (when possible) all tokens previously issued based on that
/// authorization code" (also RFC 9700 §4.2.4). Sent to two instances at once, the
/// one conditional consumption gives exactly one token response; the other
/// exchange is a replay — it is decided after the first commits (the row is locked,
/// or SQLite's write lock is held) and sees the access token recorded with the code
/// — so the tokens of the one response are revoked too.
#[tokio::test]
async fn one_code_sent_to_two_instances_at_once_gives_one_token_response() {
    let db = Arc::new(TestDb::new());
    let apps = instances(&db, 2, &[]).await;
    let client = apps[0].code_client();
    let user = apps[0].create_user("doubler");
    let (params, verifier) = code_request(&client, "openid offline_access", "twice");
    let query = apps[0]
        .browser()
        .sign_in_and_allow(&pairs(&params), &user)
        .await;
    let form = code_form(&query["code"], &verifier);

    let (first, second) = tokio::join!(
        apps[0].token_json(&client, &form),
        apps[1].token_json(&client, &form)
    );
    let answers = vec![first, second];
    let issued = successes(&answers);
    assert_eq!(issued.len(), 1, "exactly one token response: {answers:?}");
    assert_others_are_invalid_grant(&answers);
    let access = issued[0]["access_token"].as_str().unwrap();
    let refresh_token = issued[0]["refresh_token"].as_str().unwrap();

    // The replay revoked what the code issued, wherever it is looked at.
    for app in &apps {
        assert_eq!(
            app.introspect(&client, access).await["active"],
            false,
            "the access token issued from the replayed code is revoked"
        );
        assert_eq!(
            app.introspect(&client, refresh_token).await["active"],
            false,
            "the refresh token issued from the replayed code is revoked"
        );
    }
    let (status, body) = refresh(&apps[1], &client, refresh_token).await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    stop_all(apps).await;
}

/// RFC 9700 §4.14.2: refresh tokens rotate, and a rotated token presented again
/// means two parties hold it, so the family is revoked. With
/// `refresh_token_grace_period = 0` the same token sent to three instances at once
/// rotates once (one 200, one successor); the other two are that reuse (400
/// `invalid_grant`), so the family dies — the one successor and its access token
/// with it. With the default grace period (5 s) the others are retries of the same
/// client inside the window and get the same answer: every 200 carries the one
/// successor (and the same access token `jti`), and it works.
#[tokio::test]
async fn one_refresh_token_sent_to_three_instances_at_once_leaves_one_successor() {
    let db = Arc::new(TestDb::new());
    let strict = instances(
        &db,
        3,
        &[("PORTCULLIS_REFRESH_TOKEN_GRACE_PERIOD", "0".to_owned())],
    )
    .await;
    let client = strict[0].code_client();
    let user = strict[0].create_user("racer");
    let first = tokens_for(&strict[0], &client, &user, "openid offline_access").await;
    let refresh_token = first["refresh_token"].as_str().unwrap().to_owned();

    let answers = refresh_at_once(&strict, &client, &refresh_token).await;
    let issued = successes(&answers);
    assert_eq!(issued.len(), 1, "one rotation: {answers:?}");
    assert_others_are_invalid_grant(&answers);
    let successors = distinct(&issued, |b| b["refresh_token"].as_str().unwrap().to_owned());
    assert_eq!(successors.len(), 1, "{answers:?}");
    assert_ne!(successors[0], refresh_token);
    // Without a grace period the concurrent duplicates were reuse: the family,
    // the successor included, is revoked.
    let (status, body) = refresh(&strict[1], &client, &successors[0]).await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (400, Some("invalid_grant")),
        "the successor died with its family"
    );
    let access = issued[0]["access_token"].as_str().unwrap();
    assert_eq!(strict[2].introspect(&client, access).await["active"], false);
    assert_eq!(
        strict[2].introspect(&client, &successors[0]).await["active"],
        false
    );
    stop_all(strict).await;

    // The default grace period, on three new instances of the same database.
    let lenient = instances(&db, 3, &[]).await;
    let first = tokens_for(&lenient[0], &client, &user, "openid offline_access").await;
    let refresh_token = first["refresh_token"].as_str().unwrap().to_owned();

    let answers = refresh_at_once(&lenient, &client, &refresh_token).await;
    let issued = successes(&answers);
    assert_eq!(
        issued.len(),
        3,
        "one rotation and two retries inside the grace window: {answers:?}"
    );
    let successors = distinct(&issued, |b| b["refresh_token"].as_str().unwrap().to_owned());
    assert_eq!(successors.len(), 1, "one successor: {answers:?}");
    let jtis = distinct(&issued, |b| {
        claims(b["access_token"].as_str().unwrap())["jti"].to_string()
    });
    assert_eq!(jtis.len(), 1, "one access token: {jtis:?}");
    // The successor is live, and rotates on any instance.
    assert_eq!(
        lenient[1].introspect(&client, &successors[0]).await["active"],
        true
    );
    let (status, body) = refresh(&lenient[2], &client, &successors[0]).await;
    assert_eq!(status, 200, "{body}");
    assert_ne!(body["refresh_token"], successors[0].as_str());
    stop_all(lenient).await;
}

/// RFC 7009 §2.1 and RFC 7662 §2.2: once revoked, a token is not active — on every
/// instance at once, since revocations live in the database (an access token's
/// `jti` in the revocation list; a refresh token's whole family, RFC 7009 §2.1
/// "SHOULD also invalidate" the access tokens issued with it).
#[tokio::test]
async fn a_revocation_on_one_instance_is_seen_by_introspection_on_another_at_once() {
    let db = Arc::new(TestDb::new());
    let apps = instances(&db, 2, &[]).await;
    let client = apps[0].code_client();
    let user = apps[0].create_user("revoker");
    let tokens = tokens_for(&apps[0], &client, &user, "openid offline_access").await;
    let access = tokens["access_token"].as_str().unwrap();
    let refresh_token = tokens["refresh_token"].as_str().unwrap();
    assert_eq!(apps[1].introspect(&client, access).await["active"], true);
    assert_eq!(
        apps[1].introspect(&client, refresh_token).await["active"],
        true
    );

    assert_eq!(revoke(&apps[0], &client, access).await, 200);
    assert_eq!(
        apps[1].introspect(&client, access).await["active"],
        false,
        "revoked on instance 1, inactive on instance 2 at once"
    );
    assert_eq!(
        apps[1].introspect(&client, refresh_token).await["active"],
        true,
        "revoking the access token leaves the refresh token"
    );

    assert_eq!(revoke(&apps[0], &client, refresh_token).await, 200);
    assert_eq!(
        apps[1].introspect(&client, refresh_token).await["active"],
        false
    );
    let (status, body) = refresh(&apps[1], &client, refresh_token).await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    stop_all(apps).await;
}

/// How many keys of `alg` `portcullis keys list --json` shows.
fn listed_keys(db: &TestDb, alg: &str) -> usize {
    let out = portcullis(db, &["keys", "list", "--json"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    stdout_json(&out)
        .as_array()
        .unwrap()
        .iter()
        .filter(|key| key["alg"] == alg)
        .count()
}

/// The kids of `alg` that `app` publishes, sorted.
fn published_kids(app: &TestApp, alg: KeyAlg) -> Vec<String> {
    let mut kids: Vec<String> = app
        .keys
        .current()
        .keys()
        .filter(|key| key.times.alg == alg)
        .map(|key| key.times.kid.clone())
        .collect();
    kids.sort_unstable();
    kids
}

/// A key rotation (DESIGN.md §4) promotes the waiting key and makes one new waiting
/// key. Asked of two instances at once (an operator's command reaching two, or two
/// maintenance rounds), the database settles the race: one rotation, both report
/// the same switch, and exactly one new key exists — which both instances publish.
#[tokio::test]
async fn a_key_rotation_started_on_two_instances_at_once_makes_one_key() {
    let db = Arc::new(TestDb::new());
    let apps = instances(&db, 2, &[]).await;
    let before = listed_keys(&db, "ES256");

    let (on_1, on_2) = tokio::join!(
        apps[0].keys.rotate(KeyAlg::Es256, "test"),
        apps[1].keys.rotate(KeyAlg::Es256, "test")
    );
    let (on_1, on_2) = (on_1.unwrap(), on_2.unwrap());
    assert_eq!(on_1, on_2, "both report the one rotation");
    assert_eq!(
        listed_keys(&db, "ES256"),
        before + 1,
        "one new waiting key, not two"
    );

    for app in &apps {
        app.keys.refresh().await.unwrap();
    }
    let published = published_kids(&apps[0], KeyAlg::Es256);
    assert_eq!(published, published_kids(&apps[1], KeyAlg::Es256));
    assert_eq!(published.len(), before + 1);
    stop_all(apps).await;
}

/// A TCP proxy in front of the database: `cut` ends every connection through it and
/// refuses new ones (accepted and closed at once), as a database that went away;
/// `restore` forwards again.
struct Proxy {
    port: u16,
    state: Arc<Mutex<ProxyState>>,
    acceptor: JoinHandle<()>,
}

struct ProxyState {
    forwarding: bool,
    /// The tasks copying bytes of each live connection; aborting one closes both
    /// of its sockets.
    live: Vec<JoinHandle<()>>,
}

impl Proxy {
    /// A proxy on 127.0.0.1 to the first of `upstream` that answers.
    async fn start(upstream: Vec<SocketAddr>) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(ProxyState {
            forwarding: true,
            live: Vec::new(),
        }));
        let shared = state.clone();
        let acceptor = tokio::spawn(async move {
            loop {
                let Ok((inbound, _)) = listener.accept().await else {
                    continue;
                };
                Proxy::admit(&shared, inbound, &upstream);
            }
        });
        Proxy {
            port,
            state,
            acceptor,
        }
    }

    /// Forwards `inbound` while the proxy forwards; otherwise closes it at once.
    fn admit(state: &Mutex<ProxyState>, inbound: TcpStream, upstream: &[SocketAddr]) {
        let mut state = state.lock().unwrap();
        if !state.forwarding {
            drop(inbound);
            return;
        }
        let connection = tokio::spawn(Proxy::forward(inbound, upstream.to_vec()));
        state.live.retain(|task| !task.is_finished());
        state.live.push(connection);
    }

    async fn forward(mut inbound: TcpStream, upstream: Vec<SocketAddr>) {
        let Ok(mut outbound) = TcpStream::connect(&upstream[..]).await else {
            return;
        };
        let _ = inbound.set_nodelay(true);
        let _ = outbound.set_nodelay(true);
        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
    }

    /// The database goes away: every live connection is closed (on both sides)
    /// before this returns, and new ones are refused.
    async fn cut(&self) {
        let live: Vec<JoinHandle<()>> = {
            let mut state = self.state.lock().unwrap();
            state.forwarding = false;
            state.live.drain(..).collect()
        };
        for connection in live {
            connection.abort();
            let _ = connection.await;
        }
    }

    /// The database is back: new connections are forwarded again.
    fn restore(&self) {
        self.state.lock().unwrap().forwarding = true;
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.acceptor.abort();
        if let Ok(mut state) = self.state.lock() {
            for connection in state.live.drain(..) {
                connection.abort();
            }
        }
    }
}

/// `url` with its host and port replaced by the proxy's.
fn through_proxy(url: &str, port: u16) -> String {
    let mut url = url::Url::parse(url).unwrap();
    url.set_host(Some("127.0.0.1")).unwrap();
    url.set_port(Some(port)).unwrap();
    url.to_string()
}

/// The longest a request may take to be refused while the database is away (the
/// instances wait `database_timeout` = 2 s for a connection).
const FAIL_FAST: Duration = Duration::from_secs(6);

/// A 503 `temporarily_unavailable` (RFC 6749 §5.2, §4.1.2.1) with `Retry-After`
/// (RFC 9110 §10.2.3).
async fn assert_temporarily_unavailable(response: Response, what: &str) {
    assert_eq!(response.status(), 503, "{what}");
    assert!(
        response.headers().get(RETRY_AFTER).is_some(),
        "{what}: no Retry-After"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable", "{what}: {body}");
}

/// What `app` answers while its database is cut off, each refusal within
/// [`FAIL_FAST`]; `page` is a browser at `app` with a pending login at
/// `login_path`. Returns how long the token request took to be refused.
async fn answers_while_the_database_is_away(
    app: &TestApp,
    service: &Client,
    page: &Browser,
    login_path: &str,
) -> Duration {
    let started = Instant::now();
    let response = app
        .token(service, &[("grant_type", "client_credentials")])
        .await;
    let token_refused_after = started.elapsed();
    assert_temporarily_unavailable(response, "client_credentials").await;
    assert!(
        token_refused_after < FAIL_FAST,
        "the token request took {token_refused_after:?}"
    );

    let started = Instant::now();
    let ready = app.get("/readyz").await;
    let readiness_refused_after = started.elapsed();
    assert_eq!(ready.status(), 503, "/readyz");
    assert!(
        readiness_refused_after < FAIL_FAST,
        "/readyz took {readiness_refused_after:?}"
    );

    let jwks = app.get("/.well-known/jwks.json").await;
    assert_eq!(jwks.status(), 200, "the keys are served from memory");
    let set: Value = jwks.json().await.unwrap();
    assert!(!set["keys"].as_array().unwrap().is_empty(), "{set}");

    let started = Instant::now();
    let login = page.get(login_path).await;
    let page_refused_after = started.elapsed();
    assert_eq!(login.status(), 503, "the login page");
    assert!(
        page_refused_after < FAIL_FAST,
        "the login page took {page_refused_after:?}"
    );
    assert!(
        login.headers().get(RETRY_AFTER).is_some(),
        "the login page: no Retry-After"
    );
    let content_type = login.headers()[CONTENT_TYPE].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    token_refused_after
}

/// Polls until `app` is ready and issues tokens again; false if not by `deadline`.
async fn serves_again_by(app: &TestApp, service: &Client, deadline: Instant) -> bool {
    loop {
        if app.get("/readyz").await.status() == 200 {
            let (status, _) = app
                .token_json(service, &[("grant_type", "client_credentials")])
                .await;
            if status == 200 {
                return true;
            }
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// While the database is away, requests that need it fail fast — 503 with
/// `Retry-After` (RFC 9110 §15.6.4, §10.2.3), `temporarily_unavailable` at the
/// token endpoint (RFC 6749 §5.2), a 503 page in the browser — within
/// `database_timeout`, instead of hanging; `/readyz` says 503 so a load balancer
/// takes the instances out; the JWKS is still served from memory. A request
/// refused so spends nothing: when the database is back, every instance recovers by
/// itself (no restart), the code obtained before the outage is exchanged exactly
/// once and the refresh token from before it rotates exactly once.
#[tokio::test]
async fn requests_fail_fast_while_the_database_is_away_and_every_instance_recovers() {
    let test_started = Instant::now();
    let db = Arc::new(TestDb::new());
    if !db.is_postgres() {
        eprintln!("scale_out: the database outage is tested on Postgres only; skipped");
        return;
    }
    let upstream = match url::Url::parse(&db.url)
        .unwrap()
        .socket_addrs(|| Some(5432))
    {
        Ok(addrs) if !addrs.is_empty() => addrs,
        _ => {
            eprintln!("scale_out: the Postgres URL names no TCP host to proxy; skipped");
            return;
        }
    };
    let proxy = Proxy::start(upstream).await;
    let settings = [
        (
            "PORTCULLIS_DATABASE_URL",
            through_proxy(&db.url, proxy.port),
        ),
        ("PORTCULLIS_DATABASE_TIMEOUT", "2".to_owned()),
    ];
    let apps = instances(&db, 2, &settings).await;
    let (a, b) = (&apps[0], &apps[1]);
    let client = a.code_client();
    let service = a.service_client();
    let user = a.create_user("steadfast");

    // Before the outage: a refresh token, a code not yet exchanged, and a login
    // page waiting for the user.
    let tokens = tokens_for(a, &client, &user, "openid offline_access").await;
    let refresh_token = tokens["refresh_token"].as_str().unwrap().to_owned();
    let (params, verifier) = code_request(&client, "openid offline_access", "outage");
    let query = b.browser().sign_in_and_allow(&pairs(&params), &user).await;
    let code = query["code"].clone();
    let waiting = a.browser();
    let (params, _) = code_request(&client, "openid", "waiting");
    let response = waiting.authorize(&pairs(&params)).await;
    assert_eq!(response.status(), 302);
    let login_path = location(&response);
    assert!(login_path.starts_with("/login?request="), "{login_path}");
    for app in [a, b] {
        assert_eq!(app.get("/readyz").await.status(), 200);
    }

    proxy.cut().await;
    let (refused_on_a, refused_on_b) = tokio::join!(
        async {
            let took = answers_while_the_database_is_away(
                a,
                &service,
                &browser_at(a, &waiting),
                &login_path,
            )
            .await;
            let response = a.token(&client, &code_form(&code, &verifier)).await;
            assert_temporarily_unavailable(response, "the code exchange").await;
            took
        },
        async {
            let took = answers_while_the_database_is_away(
                b,
                &service,
                &browser_at(b, &waiting),
                &login_path,
            )
            .await;
            let response = b
                .token(
                    &client,
                    &[
                        ("grant_type", "refresh_token"),
                        ("refresh_token", refresh_token.as_str()),
                    ],
                )
                .await;
            assert_temporarily_unavailable(response, "the refresh").await;
            took
        }
    );
    eprintln!(
        "scale_out: fail-fast: the token request was refused after {:.2} s on instance 1, {:.2} s on instance 2 (bound {} s)",
        refused_on_a.as_secs_f64(),
        refused_on_b.as_secs_f64(),
        FAIL_FAST.as_secs()
    );

    let restored = Instant::now();
    proxy.restore();
    let deadline = restored + Duration::from_secs(15);
    let (a_back, b_back) = tokio::join!(
        serves_again_by(a, &service, deadline),
        serves_again_by(b, &service, deadline)
    );
    let recovery = restored.elapsed();
    eprintln!(
        "scale_out: recovery: both instances ready and issuing tokens {:.2} s after the database returned",
        recovery.as_secs_f64()
    );
    assert!(
        a_back && b_back,
        "not recovered within 15 s: instance 1 {a_back}, instance 2 {b_back}"
    );
    for app in [a, b] {
        let page = browser_at(app, &waiting).get(&login_path).await;
        assert_eq!(page.status(), 200, "the waiting login page is back");
    }

    // The code refused during the outage was not spent: exchanged once, then a replay.
    let exchanged = exchange_code(b, &client, &code, &verifier).await;
    assert!(exchanged["access_token"].is_string());
    let (status, body) = a.token_json(&client, &code_form(&code, &verifier)).await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (400, Some("invalid_grant")),
        "the code is spent once"
    );

    // The refresh token refused during the outage was not spent: it rotates once,
    // and the family lives on with its one successor.
    let (status, rotated) = refresh(a, &client, &refresh_token).await;
    assert_eq!(status, 200, "{rotated}");
    let successor = rotated["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(successor, refresh_token);
    assert_eq!(
        b.introspect(&client, &refresh_token).await["active"],
        false,
        "the old token is rotated"
    );
    assert_eq!(b.introspect(&client, &successor).await["active"], true);
    let (status, body) = refresh(b, &client, &successor).await;
    assert_eq!(status, 200, "the successor rotates in turn: {body}");

    stop_all(apps).await;
    drop(proxy);
    eprintln!(
        "scale_out: the outage test took {:.1} s",
        test_started.elapsed().as_secs_f64()
    );
}

/// DESIGN.md §4: instances started together on an empty database race to make the
/// first signing keys; one wins, and every instance signs from its first request —
/// not only after its next key reload.
#[tokio::test]
async fn instances_started_together_on_an_empty_database_all_sign_at_once() {
    let db = Arc::new(TestDb::new());
    let first = TestApp::start_on(db.clone(), &[]).await;
    // The first start made the schema and keys; drop the keys to start from none.
    first.sql("DELETE FROM signing_keys");
    first.stop().await;
    let (a, b, c) = tokio::join!(
        TestApp::start_on(db.clone(), &[]),
        TestApp::start_on(db.clone(), &[]),
        TestApp::start_on(db.clone(), &[]),
    );
    let service = a.service_client();
    for app in [&a, &b, &c] {
        let answer = app
            .token(&service, &[("grant_type", "client_credentials")])
            .await;
        assert_eq!(answer.status(), 200, "{}", answer.text().await.unwrap());
    }
    for app in [a, b, c] {
        app.stop().await;
    }
}

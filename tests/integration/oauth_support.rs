//! OAuth helpers for the tests: registered users and clients, a browser with a
//! cookie jar that does not follow redirects, PKCE pairs, and the whole
//! authorization-code dance as a user would click through it.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use portcullis::crypto::Secret;
use portcullis::protocol::client_metadata::ClientRegistration;
use portcullis::service::{clients, users, Actor};
use reqwest::header::LOCATION;
use reqwest::{Response, StatusCode};

use crate::support::TestApp;

pub const PASSWORD: &str = "correct horse battery staple";
pub const REDIRECT_URI: &str = "https://app.example/callback";
pub const POST_LOGOUT_REDIRECT_URI: &str = "https://app.example/signed-out";

/// A registered client as its developer holds it.
#[derive(Clone, Debug)]
pub struct Client {
    pub id: String,
    pub secret: Option<String>,
}

/// A user, with the id tokens name as `sub`.
#[derive(Clone, Debug)]
pub struct User {
    pub id: String,
    pub username: String,
}

impl TestApp {
    fn now(&self) -> i64 {
        use portcullis::clock::Clock;
        self.clock.now()
    }

    pub fn create_user(&self, username: &str) -> User {
        self.create_user_with(username, None, None)
    }

    /// A user with an email address and a display name.
    pub fn create_user_with(
        &self,
        username: &str,
        email: Option<&str>,
        name: Option<&str>,
    ) -> User {
        let argon2 = portcullis::config::Argon2Params {
            memory_kib: 8192,
            iterations: 1,
            parallelism: 1,
        };
        let input = users::UserInput {
            username: username.into(),
            email: email.map(str::to_owned),
            name: name.map(str::to_owned),
            is_admin: false,
            password: Secret::new(PASSWORD.into()),
        };
        let view = self.operate(move |store, now| async move {
            users::create(&store, &argon2, input, &Actor("test".into()), now).await
        });
        User {
            id: view.id,
            username: username.into(),
        }
    }

    pub fn create_client(&self, registration: ClientRegistration) -> Client {
        use portcullis::keys::KeyAlg;
        let registered = self.operate(move |store, now| async move {
            let algs = [KeyAlg::Rs256, KeyAlg::Es256, KeyAlg::EdDsa];
            clients::register(&store, registration, &algs, &Actor("test".into()), now).await
        });
        Client {
            id: registered.view.client_id.clone(),
            secret: registered.secret.map(|s| s.expose().clone()),
        }
    }

    /// Runs an admin operation on this test's database, on its own thread and
    /// runtime (tests call this from inside their own runtime), at the app's time.
    pub fn operate<T, F, Fut>(&self, operation: F) -> T
    where
        T: Send + 'static,
        F: FnOnce(portcullis::store::Store, i64) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = Result<T, portcullis::service::AdminError>>,
    {
        let url = portcullis::store::DatabaseUrl::parse(&self.db.url).unwrap();
        let now = self.now();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let store = portcullis::store::Store::open(
                &url,
                &portcullis::store::PoolSettings {
                    size: 1,
                    wait: std::time::Duration::from_secs(10),
                    statement_cache: true,
                },
            )
            .unwrap();
            runtime.block_on(operation(store, now)).unwrap()
        })
        .join()
        .unwrap()
    }

    /// A confidential code client (basic auth) with `openid profile email
    /// offline_access` and refresh tokens.
    pub fn code_client(&self) -> Client {
        self.create_client(ClientRegistration {
            name: "Test App".into(),
            redirect_uris: vec![REDIRECT_URI.into()],
            post_logout_redirect_uris: vec![POST_LOGOUT_REDIRECT_URI.into()],
            scope: Some("openid profile email offline_access".into()),
            ..Default::default()
        })
    }

    /// A public code client (PKCE, no secret).
    pub fn public_client(&self) -> Client {
        self.create_client(ClientRegistration {
            name: "Public App".into(),
            redirect_uris: vec![REDIRECT_URI.into(), "http://127.0.0.1/cb".into()],
            scope: Some("openid profile offline_access".into()),
            public: true,
            ..Default::default()
        })
    }

    /// A client_credentials client with `read write`.
    pub fn service_client(&self) -> Client {
        self.create_client(ClientRegistration {
            name: "Service".into(),
            grant_types: vec!["client_credentials".into()],
            scope: Some("read write".into()),
            ..Default::default()
        })
    }

    /// Runs SQL against the test's database (to disable users or clients). A change
    /// made behind the server's back is announced as Portcullis's own changes are:
    /// through the client cache's marker beside a SQLite database.
    pub fn sql(&self, sql: &str) {
        use diesel::connection::SimpleConnection;
        let mut conn = self.db.connect();
        portcullis::db_run!(&mut conn, |c| c.batch_execute(sql)).unwrap();
        let url = portcullis::store::DatabaseUrl::parse(&self.db.url).unwrap();
        portcullis::store::client_cache::ClientCache::new(&url).changed();
    }

    /// How many rows `table` holds now.
    pub fn count_rows(&self, table: &str) -> i64 {
        use diesel::RunQueryDsl;
        let mut conn = self.db.connect();
        let count = format!("(SELECT COUNT(*) FROM {table})");
        portcullis::db_run!(&mut conn, |c| diesel::select(diesel::dsl::sql::<
            diesel::sql_types::BigInt,
        >(&count))
        .get_result::<i64>(c))
        .unwrap()
    }

    /// A token request with `client`'s credentials (basic for a secret, else client_id).
    pub async fn token(&self, client: &Client, form: &[(&str, &str)]) -> Response {
        let mut body: Vec<(&str, &str)> = form.to_vec();
        let mut request = self.http.post(self.url("/token"));
        match &client.secret {
            Some(secret) => request = request.basic_auth(&client.id, Some(secret)),
            None => body.push(("client_id", &client.id)),
        }
        request.form(&body).send().await.unwrap()
    }

    pub async fn token_json(
        &self,
        client: &Client,
        form: &[(&str, &str)],
    ) -> (StatusCode, serde_json::Value) {
        let response = self.token(client, form).await;
        let status = response.status();
        (status, response.json().await.unwrap())
    }

    /// Introspects `token` as `client`.
    pub async fn introspect(&self, client: &Client, token: &str) -> serde_json::Value {
        let response = self
            .http
            .post(self.url("/introspect"))
            .basic_auth(&client.id, client.secret.as_deref())
            .form(&[("token", token)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    /// A new browser: its own cookies, redirects not followed.
    pub fn browser(&self) -> Browser {
        Browser {
            base_url: self.base_url.clone(),
            http: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        }
    }
}

/// A PKCE verifier and its S256 challenge (RFC 7636 §4.1, §4.2).
pub fn pkce_pair() -> (String, String) {
    let verifier = URL_SAFE_NO_PAD.encode(portcullis::crypto::random::bytes::<32>().unwrap());
    let digest = ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes());
    (verifier, URL_SAFE_NO_PAD.encode(digest.as_ref()))
}

/// A user agent.
pub struct Browser {
    pub base_url: String,
    pub http: reqwest::Client,
}

/// Where a response redirects to.
pub fn location(response: &Response) -> String {
    response
        .headers()
        .get(LOCATION)
        .unwrap_or_else(|| panic!("no Location on a {}", response.status()))
        .to_str()
        .unwrap()
        .to_owned()
}

/// The query parameters of a redirect to the client.
pub fn query_of(location: &str) -> std::collections::HashMap<String, String> {
    url::Url::parse(location)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

/// The value of the hidden input `name` in a page.
pub fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {html}"))
        + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

impl Browser {
    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base_url)
        }
    }

    pub async fn get(&self, path: &str) -> Response {
        self.http.get(self.url(path)).send().await.unwrap()
    }

    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Response {
        self.http
            .post(self.url(path))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// GET /authorize with `params`.
    pub async fn authorize(&self, params: &[(&str, &str)]) -> Response {
        let query = serde_urlencoded(params);
        self.get(&format!("/authorize?{query}")).await
    }

    /// Fills in the login form at `login_path` and submits it.
    pub async fn login(&self, login_path: &str, username: &str, password: &str) -> Response {
        let page = self.get(login_path).await;
        assert_eq!(page.status(), 200, "login page");
        let html = page.text().await.unwrap();
        let form = [
            ("request", hidden(&html, "request")),
            ("csrf_token", hidden(&html, "csrf_token")),
            ("username", username.to_owned()),
            ("password", password.to_owned()),
        ];
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.post("/login", &form).await
    }

    /// Opens the consent page at `consent_path` and clicks `decision`.
    pub async fn consent(&self, consent_path: &str, decision: &str) -> Response {
        let page = self.get(consent_path).await;
        assert_eq!(page.status(), 200, "consent page");
        let html = page.text().await.unwrap();
        self.post(
            "/consent",
            &[
                ("request", &hidden(&html, "request")),
                ("csrf_token", &hidden(&html, "csrf_token")),
                ("decision", decision),
            ],
        )
        .await
    }

    /// Authorize → login (if needed) → consent (if needed) → the redirect back to the
    /// client. Returns the final redirect's query.
    pub async fn sign_in_and_allow(
        &self,
        params: &[(&str, &str)],
        user: &User,
    ) -> std::collections::HashMap<String, String> {
        let mut response = self.authorize(params).await;
        assert_eq!(response.status(), 302, "{:?}", response.text().await);
        let mut next = location(&response);
        if next.starts_with("/login") {
            response = self.login(&next, &user.username, PASSWORD).await;
            assert_eq!(response.status(), 303);
            next = location(&response);
        }
        if next.starts_with("/consent") {
            response = self.consent(&next, "allow").await;
            assert_eq!(response.status(), 303);
            next = location(&response);
        }
        assert!(
            next.starts_with(REDIRECT_URI) || next.starts_with("http://127.0.0.1"),
            "{next}"
        );
        query_of(&next)
    }
}

/// `application/x-www-form-urlencoded` of `pairs`.
pub fn serde_urlencoded(pairs: &[(&str, &str)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

/// The standard authorization request of `client` with a fresh PKCE pair; returns the
/// params and the verifier.
pub fn code_request(client: &Client, scope: &str, state: &str) -> (Vec<(String, String)>, String) {
    let (verifier, challenge) = pkce_pair();
    let params = vec![
        ("response_type".to_owned(), "code".to_owned()),
        ("client_id".to_owned(), client.id.clone()),
        ("redirect_uri".to_owned(), REDIRECT_URI.to_owned()),
        ("scope".to_owned(), scope.to_owned()),
        ("state".to_owned(), state.to_owned()),
        ("code_challenge".to_owned(), challenge),
        ("code_challenge_method".to_owned(), "S256".to_owned()),
    ];
    (params, verifier)
}

pub fn pairs(params: &[(String, String)]) -> Vec<(&str, &str)> {
    params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

/// Code + PKCE for `user` at `client` in a new browser, exchanged: the token response.
pub async fn tokens_for(
    app: &TestApp,
    client: &Client,
    user: &User,
    scope: &str,
) -> serde_json::Value {
    tokens_in(app, &app.browser(), client, user, scope).await
}

/// Like [`tokens_for`], in `browser` (which keeps the session).
pub async fn tokens_in(
    app: &TestApp,
    browser: &Browser,
    client: &Client,
    user: &User,
    scope: &str,
) -> serde_json::Value {
    let (params, verifier) = code_request(client, scope, "st");
    let query = browser.sign_in_and_allow(&pairs(&params), user).await;
    exchange_code(app, client, &query["code"], &verifier).await
}

/// Exchanges `code` (sent with [`REDIRECT_URI`]) with its PKCE verifier; asserts 200.
pub async fn exchange_code(
    app: &TestApp,
    client: &Client,
    code: &str,
    verifier: &str,
) -> serde_json::Value {
    let (status, body) = app
        .token_json(
            client,
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", REDIRECT_URI),
                ("code_verifier", verifier),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

/// The claims of a JWT, unverified (signatures are checked by the RP tests).
pub fn claims(jwt: &str) -> serde_json::Value {
    json_part(jwt, 1)
}

/// The JOSE header of a JWT.
pub fn header(jwt: &str) -> serde_json::Value {
    json_part(jwt, 0)
}

fn json_part(jwt: &str, index: usize) -> serde_json::Value {
    let part = jwt.split('.').nth(index).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

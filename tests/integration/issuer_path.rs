//! An issuer with a path (`http://127.0.0.1:PORT/auth`): every endpoint, page, asset
//! and redirect lives under it, both metadata documents are where their specs put
//! them (OIDC Discovery §4: the issuer + `/.well-known/openid-configuration`;
//! RFC 8414 §3: `/.well-known/oauth-authorization-server` + the issuer's path), and a
//! standard relying party completes the whole flow against it.

use std::collections::HashMap;

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreIdTokenVerifier, CoreProviderMetadata,
    CoreUserInfoClaims,
};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
};
use serde_json::Value;

use crate::oauth_support::*;
use crate::support::{TestApp, TestDb};

/// The issuer's path on the server's origin.
const PATH: &str = "/auth";

fn http_client() -> openidconnect::reqwest::Client {
    openidconnect::reqwest::ClientBuilder::new()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// `http://127.0.0.1:PORT`: the issuer without its path.
fn origin(app: &TestApp) -> String {
    url::Url::parse(&app.base_url)
        .unwrap()
        .origin()
        .ascii_serialization()
}

/// `reference` (a Location or a form action) resolved against the URL of the response
/// or page it came from, as a browser resolves it (RFC 3986 §5).
fn resolve(base: &str, reference: &str) -> String {
    url::Url::parse(base)
        .unwrap()
        .join(reference)
        .unwrap_or_else(|e| panic!("`{reference}` against {base}: {e}"))
        .to_string()
}

/// The value of `attribute` in the first `<tag …>` element whose text contains
/// `marker` (HTML entities a template might emit for `/` and `&` decoded).
fn attribute(html: &str, tag: &str, marker: &str, attribute: &str) -> String {
    let open = format!("<{tag}");
    let needle = format!("{attribute}=\"");
    html.match_indices(&open)
        .map(|(i, _)| {
            let end = html[i..].find('>').map_or(html.len(), |e| i + e);
            &html[i..end]
        })
        .filter(|element| element.contains(marker))
        .find_map(|element| {
            let start = element.find(&needle)? + needle.len();
            let value = element[start..].split('"').next().unwrap();
            Some(
                value
                    .replace("&#x2f;", "/")
                    .replace("&#x2F;", "/")
                    .replace("&#47;", "/")
                    .replace("&amp;", "&"),
            )
        })
        .unwrap_or_else(|| panic!("no <{tag} …{marker}… {attribute}=\"…\"> in {html}"))
}

/// A page the user filled in on the way.
struct Page {
    /// Where the page was served.
    url: String,
    html: String,
    /// Its form's `action`, as written in the HTML.
    action: String,
}

/// What a browser saw between the authorization request and the client.
struct ClickedThrough {
    /// Every `Location` header, exactly as sent.
    locations: Vec<String>,
    /// The login page, then the consent page.
    pages: Vec<Page>,
    /// The query of the final redirect to the client.
    callback: HashMap<String, String>,
}

/// The user in `browser`, from `authorize_url` to the redirect back to the client, the
/// way a browser does it: each `Location` resolved against the URL it answered, each
/// form posted to its own `action` — no path is assumed. Asserts that every redirect
/// stays under the issuer or goes to the client's redirect URI.
async fn click_through(
    app: &TestApp,
    browser: &Browser,
    authorize_url: &str,
    user: &User,
) -> ClickedThrough {
    let inside = format!("{}/", app.base_url);
    let mut locations = Vec::new();
    let mut pages = Vec::new();
    let mut from = authorize_url.to_owned();
    let mut response = browser.get(&from).await;
    for _ in 0..10 {
        let status = response.status();
        if status.is_redirection() {
            let raw = location(&response);
            let next = resolve(&from, &raw);
            assert!(
                next.starts_with(&inside) || next.starts_with(REDIRECT_URI),
                "a {status} from {from} leaves the issuer {}: Location {raw}",
                app.base_url
            );
            if raw.starts_with('/') {
                assert!(
                    raw.starts_with(&format!("{PATH}/")),
                    "an origin-relative Location outside {PATH}: {raw}"
                );
            }
            locations.push(raw);
            if next.starts_with(REDIRECT_URI) {
                return ClickedThrough {
                    locations,
                    pages,
                    callback: query_of(&next),
                };
            }
            response = browser.get(&next).await;
            from = next;
            continue;
        }
        let html = response.text().await.unwrap();
        assert_eq!(status, 200, "{from}: {html}");
        let action = attribute(&html, "form", "", "action");
        let target = resolve(&from, &action);
        let form: Vec<(&str, String)> = if html.contains("name=\"password\"") {
            vec![
                ("request", hidden(&html, "request")),
                ("csrf_token", hidden(&html, "csrf_token")),
                ("username", user.username.clone()),
                ("password", PASSWORD.to_owned()),
            ]
        } else if html.contains("name=\"decision\"") {
            vec![
                ("request", hidden(&html, "request")),
                ("csrf_token", hidden(&html, "csrf_token")),
                ("decision", "allow".to_owned()),
            ]
        } else {
            panic!("neither a login nor a consent page at {from}: {html}");
        };
        pages.push(Page {
            url: from.clone(),
            html,
            action,
        });
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        response = browser.post(&target, &form).await;
        from = target;
    }
    panic!("no way back to the client after 10 steps: {locations:?}");
}

#[tokio::test]
async fn a_relying_party_discovers_signs_in_and_verifies_against_a_path_issuer() {
    let app = TestApp::start_at_path(TestDb::new(), PATH).await;
    assert_eq!(app.base_url, format!("{}{PATH}", origin(&app)));
    let registered = app.code_client();
    let user = app.create_user_with("path-user", Some("path@example.com"), Some("Pat Hissuer"));
    let http = http_client();

    // Discovery from the issuer itself: the library fetches
    // `{issuer}/.well-known/openid-configuration` and insists the document's issuer
    // is exactly the one it was given; then it fetches the JWKS from `jwks_uri`.
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(app.base_url.clone()).unwrap(), &http)
            .await
            .expect("discovery from a path issuer");
    assert_eq!(metadata.issuer().as_str(), app.base_url);
    assert_eq!(
        metadata.authorization_endpoint().url().as_str(),
        app.url("/authorize")
    );
    assert_eq!(
        metadata.token_endpoint().unwrap().url().as_str(),
        app.url("/token")
    );
    assert_eq!(
        metadata.userinfo_endpoint().unwrap().url().as_str(),
        app.url("/userinfo")
    );
    assert!(
        metadata
            .jwks_uri()
            .url()
            .as_str()
            .starts_with(&format!("{}/", app.base_url)),
        "{:?}",
        metadata.jwks_uri()
    );
    assert!(!metadata.jwks().keys().is_empty(), "the JWKS was fetched");

    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(registered.id.clone()),
        registered.secret.clone().map(ClientSecret::new),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT_URI.into()).unwrap());

    // Code + PKCE + nonce; the user clicks through login and consent.
    let (challenge, pkce_verifier) = PkceCodeChallenge::new_random_sha256();
    let (authorize_url, csrf, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("offline_access".into()))
        .set_pkce_challenge(challenge)
        .url();
    assert!(authorize_url.as_str().starts_with(&app.url("/authorize?")));
    let browser = app.browser();
    let clicked = click_through(&app, &browser, authorize_url.as_str(), &user).await;
    assert_eq!(clicked.pages.len(), 2, "a login page, then a consent page");
    let back = clicked.callback;
    assert_eq!(&back["state"], csrf.secret());
    assert_eq!(
        back["iss"], app.base_url,
        "RFC 9207: the issuer, path included"
    );

    // The exchange, at the discovered token endpoint.
    let tokens = client
        .exchange_code(AuthorizationCode::new(back["code"].clone()))
        .unwrap()
        .set_pkce_verifier(pkce_verifier)
        .request_async(&http)
        .await
        .expect("the code exchange");
    let id_token = tokens.id_token().expect("an ID token for openid").clone();

    // Signature, iss (with its path), aud, exp and nonce, checked by the library.
    let verifier: CoreIdTokenVerifier = client.id_token_verifier();
    let id_claims = id_token
        .claims(&verifier, &nonce)
        .expect("the ID token verifies");
    assert_eq!(id_claims.issuer().as_str(), app.base_url);
    assert_eq!(id_claims.subject().as_str(), user.id);
    assert_eq!(
        id_claims.preferred_username().unwrap().as_str(),
        "path-user"
    );
    let expected_hash = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(id_claims.access_token_hash(), Some(&expected_hash));
    let raw = crate::oauth_support::claims(&id_token.to_string());
    assert_eq!(raw["nonce"], nonce.secret().as_str());

    // The access token names the same issuer (and, by default, it as the audience).
    let access = crate::oauth_support::claims(tokens.access_token().secret());
    assert_eq!(access["iss"], app.base_url);
    assert_eq!(access["aud"], app.base_url);
    assert_eq!(access["client_id"], registered.id);

    // UserInfo at the discovered endpoint, for the subject the ID token named.
    let info: CoreUserInfoClaims = client
        .user_info(
            tokens.access_token().clone(),
            Some(id_claims.subject().clone()),
        )
        .unwrap()
        .request_async(&http)
        .await
        .expect("userinfo");
    assert_eq!(info.preferred_username().unwrap().as_str(), "path-user");
    assert_eq!(info.email().unwrap().as_str(), "path@example.com");

    // A refresh at the same token endpoint, with a new ID token from the same issuer.
    let refreshed = client
        .exchange_refresh_token(tokens.refresh_token().expect("offline_access"))
        .unwrap()
        .request_async(&http)
        .await
        .expect("the refresh");
    let new_claims = refreshed
        .id_token()
        .expect("a refreshed ID token")
        .claims(&verifier, |nonce: Option<&Nonce>| match nonce {
            None => Ok(()),
            Some(_) => Err("a refreshed ID token carries no nonce".to_owned()),
        })
        .expect("the refreshed ID token verifies");
    assert_eq!(new_claims.issuer().as_str(), app.base_url);
    assert_eq!(new_claims.subject(), id_claims.subject());
}

#[tokio::test]
async fn both_metadata_documents_are_where_their_specs_put_them_and_point_under_the_path() {
    let app = TestApp::start_at_path(TestDb::new(), PATH).await;
    let inside = format!("{}/", app.base_url);
    let documents = [
        // OIDC Discovery §4: the issuer, then the well-known suffix.
        format!("{}/.well-known/openid-configuration", app.base_url),
        // RFC 8414 §3: the well-known prefix inserted between host and path.
        format!(
            "{}/.well-known/oauth-authorization-server{PATH}",
            origin(&app)
        ),
    ];
    for document in documents {
        let response = app.http.get(&document).send().await.unwrap();
        assert_eq!(response.status(), 200, "{document}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["issuer"], app.base_url.as_str(), "{document}");
        assert_eq!(body["authorization_endpoint"], app.url("/authorize"));
        assert_eq!(body["token_endpoint"], app.url("/token"));
        let mut endpoints = 0;
        for (name, value) in body.as_object().unwrap() {
            if !(name.ends_with("_endpoint") || name.ends_with("_uri")) {
                continue;
            }
            let target = value
                .as_str()
                .unwrap_or_else(|| panic!("{document}: {name} is not a string"));
            assert!(
                target.starts_with(&inside),
                "{document}: {name} = {target} is not under {}",
                app.base_url
            );
            let status = app.http.get(target).send().await.unwrap().status();
            assert_ne!(status, 404, "{document}: {name} = {target}");
            endpoints += 1;
        }
        // authorization, token, jwks, revocation, introspection at least.
        assert!(endpoints >= 5, "{document}: {body}");
        let jwks: Value = app
            .http
            .get(body["jwks_uri"].as_str().unwrap())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(
            !jwks["keys"].as_array().unwrap().is_empty(),
            "{document}: {jwks}"
        );
    }
}

#[tokio::test]
async fn pages_assets_and_redirects_stay_under_the_issuer_path() {
    let app = TestApp::start_at_path(TestDb::new(), PATH).await;
    let client = app.code_client();
    let user = app.create_user("path-pages");
    let (params, verifier) = code_request(&client, "openid profile", "st");
    let authorize_url = format!(
        "{}?{}",
        app.url("/authorize"),
        serde_urlencoded(&pairs(&params))
    );
    let browser = app.browser();
    let clicked = click_through(&app, &browser, &authorize_url, &user).await;

    // authorize → login, login → consent, consent → the client (at least).
    assert!(clicked.locations.len() >= 3, "{:?}", clicked.locations);
    assert!(
        clicked.locations.last().unwrap().starts_with(REDIRECT_URI),
        "{:?}",
        clicked.locations
    );
    assert_eq!(clicked.pages.len(), 2, "a login page, then a consent page");
    let (login, consent) = (&clicked.pages[0], &clicked.pages[1]);
    assert!(login.html.contains("name=\"password\""), "{}", login.url);
    assert!(
        login.url.starts_with(&format!("{}/", app.base_url)),
        "{}",
        login.url
    );
    assert!(
        login.action.starts_with(&format!("{PATH}/")),
        "the login form posts to {}",
        login.action
    );
    assert!(
        consent.action.starts_with(&format!("{PATH}/")),
        "the consent form posts to {}",
        consent.action
    );
    // The stylesheet the login page links is under the path, and is served there.
    let stylesheet = attribute(&login.html, "link", "stylesheet", "href");
    assert!(
        stylesheet.starts_with(&format!("{PATH}/")),
        "the stylesheet is linked at {stylesheet}"
    );
    let css = browser.get(&resolve(&login.url, &stylesheet)).await;
    assert_eq!(css.status(), 200, "{stylesheet}");
    assert!(
        css.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css"),
        "{stylesheet}"
    );

    // The callback names the issuer, and the code exchanges at `{issuer}/token`.
    assert_eq!(clicked.callback["state"], "st");
    assert_eq!(clicked.callback["iss"], app.base_url, "RFC 9207");
    let tokens = exchange_code(&app, &client, &clicked.callback["code"], &verifier).await;
    assert_eq!(
        claims(tokens["access_token"].as_str().unwrap())["iss"],
        app.base_url
    );
    assert_eq!(
        claims(tokens["id_token"].as_str().unwrap())["iss"],
        app.base_url
    );
}

#[tokio::test]
async fn the_endpoints_are_not_served_outside_the_issuer_path() {
    let app = TestApp::start_at_path(TestDb::new(), PATH).await;
    let client = app.code_client();
    let (params, _) = code_request(&client, "openid", "st");
    let query = serde_urlencoded(&pairs(&params));
    // A browser that does not follow redirects: a redirect to /auth would not be a 404.
    let browser = app.browser();
    let at_root = browser
        .get(&format!("{}/authorize?{query}", origin(&app)))
        .await;
    assert_eq!(at_root.status(), 404, "/authorize at the root");
    // The same request under the issuer's path is served (a redirect to the login page).
    let under_path = browser
        .get(&format!("{}?{query}", app.url("/authorize")))
        .await;
    assert_eq!(under_path.status(), 302, "{PATH}/authorize");
}

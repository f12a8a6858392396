//! The `openidconnect` crate as a real relying party: discovery, code + PKCE,
//! refresh, client credentials — verified against the JWKS it fetches itself.

use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, RedirectUrl, Scope,
};

use portcullis::clock::Clock;

use crate::oauth_support::*;
use crate::rotation_with_resource_server::jwks_cache::JwksCache;
use crate::support::TestApp;

fn http_client() -> openidconnect::reqwest::Client {
    openidconnect::reqwest::ClientBuilder::new()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_standard_client_completes_code_with_pkce_refresh_and_client_credentials() {
    let app = TestApp::start().await;
    let registered = app.code_client();
    let user = app.create_user("rp-user");
    let http = http_client();
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(app.base_url.clone()).unwrap(), &http)
            .await
            .unwrap();
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(registered.id.clone()),
        Some(ClientSecret::new(registered.secret.clone().unwrap())),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT_URI.into()).unwrap());

    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf, _nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("offline_access".into()))
        .set_pkce_challenge(challenge)
        .url();
    // The user clicks through in a browser.
    let browser = app.browser();
    let response = browser.get(url.as_str()).await;
    assert_eq!(response.status(), 302);
    let login = location(&response);
    let consent = location(&browser.login(&login, &user.username, PASSWORD).await);
    let back = query_of(&location(&browser.consent(&consent, "allow").await));
    assert_eq!(&back["state"], csrf.secret());
    assert_eq!(back["iss"], app.base_url, "RFC 9207");

    let tokens = client
        .exchange_code(AuthorizationCode::new(back["code"].clone()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .unwrap();
    assert_eq!(tokens.token_type().as_ref(), "bearer");
    let scopes: Vec<String> = tokens
        .scopes()
        .unwrap()
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(scopes, ["offline_access", "openid", "profile"]);
    let refresh = tokens.refresh_token().unwrap().clone();

    let refreshed = client
        .exchange_refresh_token(&refresh)
        .unwrap()
        .request_async(&http)
        .await
        .unwrap();
    assert_ne!(
        refreshed.access_token().secret(),
        tokens.access_token().secret()
    );
    assert_ne!(
        refreshed.refresh_token().unwrap().secret(),
        refresh.secret()
    );
    // The rotated-out token no longer works once the grace window has passed.
    app.clock.advance(6);
    let reused = client
        .exchange_refresh_token(&refresh)
        .unwrap()
        .request_async(&http)
        .await;
    assert!(reused.is_err());

    // A service client through the same library.
    let service = app.service_client();
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(app.base_url.clone()).unwrap(), &http)
            .await
            .unwrap();
    let service_client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(service.id.clone()),
        Some(ClientSecret::new(service.secret.clone().unwrap())),
    );
    let tokens = service_client
        .exchange_client_credentials()
        .unwrap()
        .add_scope(Scope::new("read".into()))
        .request_async(&http)
        .await
        .unwrap();
    assert!(tokens.refresh_token().is_none());

    // A resource server verifies the access token against the published JWKS.
    // (The audience is the issuer unless access_token_audience says otherwise.)
    let jwks = JwksCache::new(
        app.url("/.well-known/jwks.json"),
        app.base_url.clone(),
        app.base_url.clone(),
    );
    let verified = jwks
        .verify(tokens.access_token().secret(), app.clock.now())
        .await
        .unwrap();
    assert_eq!(verified["client_id"], service.id);
}

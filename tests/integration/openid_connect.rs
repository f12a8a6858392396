//! OpenID Connect with the `openidconnect` crate as the relying party: discovery,
//! code + PKCE + nonce, ID token verification (signature, nonce, `at_hash`),
//! UserInfo, refresh with a new ID token — and what a strict RP must be able to
//! detect.

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreIdToken, CoreIdTokenVerifier, CoreJwsSigningAlgorithm,
    CoreProviderMetadata, CoreUserInfoClaims,
};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
};

use portcullis::protocol::client_metadata::ClientRegistration;

use crate::oauth_support::*;
use crate::support::TestApp;

fn http_client() -> openidconnect::reqwest::Client {
    openidconnect::reqwest::ClientBuilder::new()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn discovered(app: &TestApp) -> CoreProviderMetadata {
    CoreProviderMetadata::discover_async(
        IssuerUrl::new(app.base_url.clone()).unwrap(),
        &http_client(),
    )
    .await
    .unwrap()
}

/// The RP's view of one sign-in: the token response's parts.
struct SignedIn {
    id_token: CoreIdToken,
    access_token: openidconnect::AccessToken,
    refresh_token: Option<openidconnect::RefreshToken>,
    nonce: Nonce,
}

/// The whole code flow through the library, with the user clicking in `browser`.
async fn sign_in(client: &RpClient, browser: &Browser, user: &User, scopes: &[&str]) -> SignedIn {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client.authorize_url(
        CoreAuthenticationFlow::AuthorizationCode,
        CsrfToken::new_random,
        Nonce::new_random,
    );
    for scope in scopes {
        request = request.add_scope(Scope::new((*scope).into()));
    }
    let (url, csrf, nonce) = request.set_pkce_challenge(challenge).url();
    let response = browser.get(url.as_str()).await;
    assert_eq!(response.status(), 302);
    let mut next = location(&response);
    if next.starts_with("/login") {
        next = location(&browser.login(&next, &user.username, PASSWORD).await);
    }
    if next.starts_with("/consent") {
        next = location(&browser.consent(&next, "allow").await);
    }
    let back = query_of(&next);
    assert_eq!(&back["state"], csrf.secret());
    let tokens = client
        .exchange_code(AuthorizationCode::new(back["code"].clone()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http_client())
        .await
        .unwrap();
    SignedIn {
        id_token: tokens
            .id_token()
            .expect("an ID token for the openid scope")
            .clone(),
        access_token: tokens.access_token().clone(),
        refresh_token: tokens.refresh_token().cloned(),
        nonce,
    }
}

type RpClient = openidconnect::core::CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

fn rp(metadata: CoreProviderMetadata, client: &Client) -> RpClient {
    CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(client.id.clone()),
        client.secret.clone().map(ClientSecret::new),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT_URI.into()).unwrap())
}

#[tokio::test]
async fn a_relying_party_signs_in_verifies_the_id_token_reads_userinfo_and_refreshes() {
    let app = TestApp::start().await;
    let registered = app.code_client();
    let user = app.create_user_with("oidc-user", Some("oidc@example.com"), Some("Olive Idc"));
    let client = rp(discovered(&app).await, &registered);
    let browser = app.browser();
    let signed_in = sign_in(
        &client,
        &browser,
        &user,
        &["profile", "email", "offline_access"],
    )
    .await;

    // Signature (RS256 by default), iss, aud, exp and the nonce, by the library.
    let verifier: CoreIdTokenVerifier = client.id_token_verifier();
    let claims = signed_in
        .id_token
        .claims(&verifier, &signed_in.nonce)
        .expect("the ID token verifies");
    assert_eq!(
        signed_in.id_token.signing_alg().unwrap(),
        &CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256
    );
    assert_eq!(claims.subject().as_str(), user.id, "sub is the stable id");
    assert_ne!(claims.subject().as_str(), user.username);
    assert!(claims.auth_time().is_some());
    assert_eq!(claims.preferred_username().unwrap().as_str(), "oidc-user");
    assert_eq!(claims.email().unwrap().as_str(), "oidc@example.com");
    // at_hash binds the access token to the ID token (OIDC Core §3.1.3.8).
    let expected = AccessTokenHash::from_token(
        &signed_in.access_token,
        signed_in.id_token.signing_alg().unwrap(),
        signed_in.id_token.signing_key(&verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(claims.access_token_hash(), Some(&expected));
    let raw = crate::oauth_support::claims(&signed_in.id_token.to_string());
    assert_eq!(raw["amr"], serde_json::json!(["pwd"]));
    assert!(raw["sid"].as_str().is_some_and(|s| !s.is_empty()));
    assert_eq!(header(&signed_in.id_token.to_string())["typ"], "JWT");

    // UserInfo, with the subject the ID token named.
    let info: CoreUserInfoClaims = client
        .user_info(
            signed_in.access_token.clone(),
            Some(claims.subject().clone()),
        )
        .unwrap()
        .request_async(&http_client())
        .await
        .unwrap();
    assert_eq!(info.preferred_username().unwrap().as_str(), "oidc-user");
    assert_eq!(info.email().unwrap().as_str(), "oidc@example.com");
    assert_eq!(info.email_verified(), Some(false));

    // Refresh: a new ID token for the same authentication (OIDC Core §12.2).
    let refreshed = client
        .exchange_refresh_token(signed_in.refresh_token.as_ref().expect("offline_access"))
        .unwrap()
        .request_async(&http_client())
        .await
        .unwrap();
    let new_id_token = refreshed.id_token().expect("a refreshed ID token");
    let new_claims = new_id_token
        .claims(&verifier, |nonce: Option<&Nonce>| match nonce {
            None => Ok(()),
            Some(_) => Err("a refreshed ID token carries no nonce".to_owned()),
        })
        .unwrap();
    assert_eq!(new_claims.subject(), claims.subject());
    assert_eq!(new_claims.auth_time(), claims.auth_time());
}

#[tokio::test]
async fn a_nonce_mismatch_and_a_foreign_audience_are_detectable() {
    let app = TestApp::start().await;
    let registered = app.code_client();
    let user = app.create_user("nonce-user");
    let client = rp(discovered(&app).await, &registered);
    let signed_in = sign_in(&client, &app.browser(), &user, &[]).await;
    let verifier = client.id_token_verifier();
    assert!(signed_in
        .id_token
        .claims(&verifier, &Nonce::new("another-nonce".into()))
        .is_err());
    assert!(signed_in
        .id_token
        .claims(&verifier, &signed_in.nonce)
        .is_ok());
    // The nonce is echoed exactly, and no refresh token without offline_access
    // (OIDC Core §11).
    let raw = crate::oauth_support::claims(&signed_in.id_token.to_string());
    assert_eq!(raw["nonce"], signed_in.nonce.secret().as_str());
    assert!(signed_in.refresh_token.is_none());

    // Another client's RP refuses the token: aud is the client it was issued to.
    let other = app.code_client();
    let other_rp = rp(discovered(&app).await, &other);
    assert!(signed_in
        .id_token
        .claims(&other_rp.id_token_verifier(), &signed_in.nonce)
        .is_err());
}

#[tokio::test]
async fn a_client_may_ask_for_es256_or_eddsa_id_tokens() {
    let app = TestApp::start_on(
        std::sync::Arc::new(crate::support::TestDb::new()),
        &[("PORTCULLIS_SIGNING_ALGS", "RS256 ES256 EdDSA".into())],
    )
    .await;
    let user = app.create_user("alg-user");
    for (alg, expected) in [
        ("ES256", CoreJwsSigningAlgorithm::EcdsaP256Sha256),
        ("EdDSA", CoreJwsSigningAlgorithm::EdDsa),
    ] {
        let registered = app.create_client(ClientRegistration {
            name: format!("{alg} App"),
            redirect_uris: vec![REDIRECT_URI.into()],
            id_token_signed_response_alg: Some(alg.into()),
            ..Default::default()
        });
        let client = rp(discovered(&app).await, &registered);
        let signed_in = sign_in(&client, &app.browser(), &user, &[]).await;
        assert_eq!(signed_in.id_token.signing_alg().unwrap(), &expected);
        let verifier = client
            .id_token_verifier()
            .set_allowed_algs(vec![expected.clone()]);
        let claims = signed_in
            .id_token
            .claims(&verifier, &signed_in.nonce)
            .unwrap();
        let hash = AccessTokenHash::from_token(
            &signed_in.access_token,
            &expected,
            signed_in.id_token.signing_key(&verifier).unwrap(),
        )
        .unwrap();
        assert_eq!(claims.access_token_hash(), Some(&hash), "{alg}");
    }
}

#[tokio::test]
async fn plain_oauth_flows_keep_refresh_tokens_and_get_no_id_token() {
    let app = TestApp::start().await;
    let client = app.create_client(ClientRegistration {
        name: "API App".into(),
        redirect_uris: vec![REDIRECT_URI.into()],
        scope: Some("api.read openid".into()),
        ..Default::default()
    });
    let user = app.create_user("api-user");
    let tokens = tokens_for(&app, &client, &user, "api.read").await;
    assert!(tokens["refresh_token"].is_string());
    assert!(tokens.get("id_token").is_none());
    let tokens = tokens_for(&app, &client, &user, "openid").await;
    assert!(tokens["id_token"].is_string());
    assert!(tokens.get("refresh_token").is_none(), "OIDC Core §11");
}

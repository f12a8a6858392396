//! Authorization requests (RFC 6749 §4.1.1, OIDC Core §3.1.2.1) from arbitrary query
//! strings against one registered public client. Nothing may panic; an answer that
//! goes to the client goes only to its registered redirect URI (RFC 9700 §2.1), with
//! a clean error description; everything else is an error page.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis::protocol::authorize::{self, AuthorizeClient, AuthorizeError, AuthorizePolicy};
use portcullis::protocol::client_metadata::{AuthMethod, ClientMetadata, GrantType};
use portcullis::protocol::error::is_description_charset;
use portcullis::protocol::interaction::IdTokenHint;
use portcullis::protocol::params::Params;
use portcullis::protocol::scope::Scope;

const REGISTERED: [&str; 2] = ["https://app.example/callback", "http://127.0.0.1/cb"];

fuzz_target!(|query: &[u8]| {
    let Ok(params) = Params::from_urlencoded(query) else {
        return;
    };
    let Ok(scope) = Scope::parse("openid profile offline_access") else {
        return;
    };
    let metadata = ClientMetadata {
        name: "fuzz".into(),
        redirect_uris: REGISTERED.iter().map(|s| s.to_string()).collect(),
        post_logout_redirect_uris: Vec::new(),
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        scope,
        token_endpoint_auth_method: AuthMethod::None,
        is_public: true,
    };
    let Ok(client_id) = authorize::client_id(&params) else {
        return;
    };
    let client = AuthorizeClient {
        metadata: &metadata,
        disabled: false,
    };
    let policy = AuthorizePolicy {
        pkce_required_for_confidential_clients: true,
    };
    let to_client = |uri: &str| {
        REGISTERED.contains(&uri) || uri.starts_with("http://127.0.0.1:") && uri.ends_with("/cb")
    };
    match authorize::validate(
        &params,
        client_id,
        Some(client),
        policy,
        IdTokenHint::Absent,
    ) {
        Ok(request) => {
            assert!(to_client(&request.redirect_uri), "{}", request.redirect_uri);
            assert!(
                request.code_challenge.is_some(),
                "a public client without PKCE"
            );
        }
        Err(AuthorizeError::Redirect(redirect)) => {
            assert!(
                to_client(&redirect.redirect_uri),
                "{}",
                redirect.redirect_uri
            );
            assert!(is_description_charset(redirect.error.description()));
        }
        Err(AuthorizeError::ErrorPage(_)) => {}
    }
});

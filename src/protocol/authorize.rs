//! The authorization request (RFC 6749 §4.1.1, RFC 7636 §4.3, OIDC Core §3.1.2.1),
//! checked one named step at a time, and the redirects that answer it (RFC 6749
//! §4.1.2, RFC 9207).

use super::client_metadata::{ClientMetadata, GrantType};
use super::error::OAuthError;
use super::interaction::{self, IdTokenHint, Interaction};
use super::params::{has_control, Params};
use super::scope::{self, Scope};
use super::{pkce, redirect_uri};

/// The registered client an authorization request names.
#[derive(Debug, Clone, Copy)]
pub struct AuthorizeClient<'a> {
    pub metadata: &'a ClientMetadata,
    pub disabled: bool,
}

/// Server-wide choices that shape the checks.
#[derive(Debug, Clone, Copy)]
pub struct AuthorizePolicy {
    /// Public clients always need PKCE; this extends it to confidential ones.
    pub pkce_required_for_confidential_clients: bool,
}

/// A checked authorization request, ready to wait for login and consent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationRequest {
    pub client_id: String,
    /// Where the answer goes: the requested URI, which matched a registered one.
    pub redirect_uri: String,
    /// RFC 6749 §4.1.3: when sent here, it must be sent again with the code.
    pub redirect_uri_given: bool,
    pub scope: Scope,
    pub state: Option<String>,
    pub code_challenge: Option<String>,
    pub nonce: Option<String>,
    /// `prompt`, `max_age` and the hints (OIDC Core §3.1.2.1).
    pub interaction: Interaction,
}

/// Why an authorization request was refused, and how the user learns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeError {
    /// RFC 6749 §4.1.2.1: the client or redirect URI is missing, unknown or
    /// unregistered. The user sees an error page; there is no redirect.
    ErrorPage(String),
    /// Every other error goes back to the (validated) redirect URI.
    Redirect(ErrorRedirect),
}

/// An error answer sent to the client's redirect URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorRedirect {
    pub redirect_uri: String,
    pub state: Option<String>,
    pub error: OAuthError,
}

/// The `client_id` of the request: without it there is nobody to answer but the user.
pub fn client_id(params: &Params) -> Result<&str, AuthorizeError> {
    let id = params.get("client_id").ok_or_else(|| {
        AuthorizeError::ErrorPage("The request names no application (client_id is missing).".into())
    })?;
    if has_control(id) {
        return Err(AuthorizeError::ErrorPage(
            "The request names no valid application (client_id holds a control character).".into(),
        ));
    }
    Ok(id)
}

/// Checks the request of `client` (`None` when the `client_id` is unknown);
/// `id_token_hint` is the request's hint as the HTTP layer verified it.
pub fn validate(
    params: &Params,
    client_id: &str,
    client: Option<AuthorizeClient<'_>>,
    policy: AuthorizePolicy,
    id_token_hint: IdTokenHint,
) -> Result<AuthorizationRequest, AuthorizeError> {
    let client = match client {
        Some(c) if !c.disabled => c.metadata,
        _ => {
            return Err(AuthorizeError::ErrorPage(
                "The application that sent you here is not registered, or has been disabled."
                    .into(),
            ))
        }
    };
    let (redirect_uri, redirect_uri_given) = check_redirect_uri(params, client)?;
    let state = params.get("state").map(str::to_owned);
    let redirect_error = |error: OAuthError| {
        AuthorizeError::Redirect(ErrorRedirect {
            redirect_uri: redirect_uri.clone(),
            state: state.clone(),
            error,
        })
    };
    params.check_characters().map_err(redirect_error)?;
    check_response_type(params).map_err(redirect_error)?;
    check_unsupported_parameters(params).map_err(redirect_error)?;
    if !client.grant_types.contains(&GrantType::AuthorizationCode) {
        return Err(redirect_error(OAuthError::UnauthorizedClient(
            "the client is not registered for the authorization_code grant",
        )));
    }
    let scope =
        scope::requested_within(params.get("scope"), &client.scope).map_err(redirect_error)?;
    // OIDC Core §3.1.2.1: redirect_uri is REQUIRED in an OpenID Connect request.
    if scope.contains("openid") && !redirect_uri_given {
        return Err(redirect_error(OAuthError::InvalidRequest(
            "redirect_uri is required in an OpenID Connect request",
        )));
    }
    let interaction = check_interaction(params, id_token_hint).map_err(redirect_error)?;
    let pkce_required = client.is_public || policy.pkce_required_for_confidential_clients;
    let code_challenge = pkce::accept_challenge(
        params.get("code_challenge"),
        params.get("code_challenge_method"),
        pkce_required,
    )
    .map_err(redirect_error)?;
    Ok(AuthorizationRequest {
        client_id: client_id.to_owned(),
        redirect_uri,
        redirect_uri_given,
        scope,
        state,
        code_challenge,
        nonce: params.get("nonce").map(str::to_owned),
        interaction,
    })
}

/// OIDC Core §3.1.2.1: `prompt`, `max_age`, `login_hint` and `id_token_hint`.
/// `ui_locales`, `display`, `claims_locales` and `acr_values` are accepted and left
/// unused, as the spec allows.
fn check_interaction(params: &Params, hint: IdTokenHint) -> Result<Interaction, OAuthError> {
    let expected_subject = match hint {
        IdTokenHint::Absent => None,
        IdTokenHint::Subject(sub) => Some(sub),
        IdTokenHint::NotOurs => {
            return Err(OAuthError::InvalidRequest(
                "id_token_hint is not an ID token issued by this server",
            ))
        }
    };
    Ok(Interaction {
        prompt: interaction::parse_prompt(params.get("prompt"))?,
        max_age: interaction::parse_max_age(params.get("max_age"))?,
        login_hint: params.get("login_hint").map(str::to_owned),
        expected_subject,
    })
}

/// Parameters of features not served, refused with their own error instead of being
/// ignored: request objects (OIDC Core §6, §3.1.2.6), the `claims` parameter (§5.5;
/// discovery says `claims_parameter_supported: false`), `registration` (§7.2.1), and
/// any response mode but `query` (OAuth 2.0 Multiple Response Types §2.1).
fn check_unsupported_parameters(params: &Params) -> Result<(), OAuthError> {
    if params.get("request").is_some() {
        return Err(OAuthError::RequestNotSupported(
            "request objects are not supported; send the parameters directly",
        ));
    }
    if params.get("request_uri").is_some() {
        return Err(OAuthError::RequestUriNotSupported(
            "request_uri is not supported; send the parameters directly",
        ));
    }
    if params.get("registration").is_some() {
        return Err(OAuthError::RegistrationNotSupported(
            "the registration parameter is not supported",
        ));
    }
    if params.get("claims").is_some() {
        return Err(OAuthError::InvalidRequest(
            "the claims parameter is not supported; request claims with scopes",
        ));
    }
    match params.get("response_mode") {
        None | Some("query") => Ok(()),
        Some(_) => Err(OAuthError::InvalidRequest(
            "this response_mode is not supported; use query",
        )),
    }
}

/// RFC 6749 §3.1.2.3 and RFC 9700 §4.1.3: exact match against the registered list;
/// with one registered URI the parameter may be left out.
fn check_redirect_uri(
    params: &Params,
    client: &ClientMetadata,
) -> Result<(String, bool), AuthorizeError> {
    match params.get("redirect_uri") {
        Some(requested) => match redirect_uri::matches_registered(requested, &client.redirect_uris)
        {
            Some(_) => Ok((requested.to_owned(), true)),
            None => Err(AuthorizeError::ErrorPage(
                "The redirect URI in the request is not registered for this application.".into(),
            )),
        },
        None => match client.redirect_uris.as_slice() {
            [only] => Ok((only.clone(), false)),
            [] => Err(AuthorizeError::ErrorPage(
                "This application has no redirect URI registered.".into(),
            )),
            _ => Err(AuthorizeError::ErrorPage(
                "The request has no redirect_uri, and this application has several registered."
                    .into(),
            )),
        },
    }
}

/// RFC 6749 §4.1.1: `response_type=code`, the only one served (OAuth 2.1).
fn check_response_type(params: &Params) -> Result<(), OAuthError> {
    match params.get("response_type") {
        None => Err(OAuthError::InvalidRequest("response_type is missing")),
        Some("code") => Ok(()),
        Some(_) => Err(OAuthError::UnsupportedResponseType(
            "this response_type is not supported; use code",
        )),
    }
}

/// Whether consent on record covers the request: consent is remembered per (user,
/// client) and covers the same or fewer scopes.
pub fn covered_by_consent(requested: &Scope, granted: Option<&Scope>) -> bool {
    granted.is_some_and(|g| requested.is_subset_of(g))
}

/// RFC 6749 §4.1.2 with RFC 9207 §2: `code`, `state` and `iss` on the redirect URI.
pub fn success_redirect(request: &AuthorizationRequest, code: &str, issuer: &str) -> String {
    let mut pairs = vec![("code", code)];
    if let Some(state) = &request.state {
        pairs.push(("state", state));
    }
    pairs.push(("iss", issuer));
    with_query(&request.redirect_uri, &pairs)
}

/// RFC 6749 §4.1.2.1 with RFC 9207 §2: `error`, `error_description`, `state`, `iss`.
pub fn error_redirect(redirect: &ErrorRedirect, issuer: &str) -> String {
    let mut pairs = vec![
        ("error", redirect.error.code()),
        ("error_description", redirect.error.description()),
    ];
    if let Some(state) = &redirect.state {
        pairs.push(("state", state));
    }
    pairs.push(("iss", issuer));
    with_query(&redirect.redirect_uri, &pairs)
}

/// Adds parameters to the query of `uri`, keeping any query it has (RFC 6749 §3.1.2).
pub fn with_query(uri: &str, pairs: &[(&str, &str)]) -> String {
    let mut encoded = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        encoded.append_pair(k, v);
    }
    let encoded = encoded.finish();
    let separator = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{separator}{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::client_metadata::AuthMethod;

    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn client(public: bool) -> ClientMetadata {
        ClientMetadata {
            name: "App".into(),
            redirect_uris: vec![
                "https://app.example/cb".into(),
                "https://app.example/cb2?x=1".into(),
            ],
            post_logout_redirect_uris: vec![],
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            scope: Scope::parse("openid profile").unwrap(),
            token_endpoint_auth_method: if public {
                AuthMethod::None
            } else {
                AuthMethod::ClientSecretBasic
            },
            is_public: public,
        }
    }

    fn params(extra: &str) -> Params {
        Params::from_urlencoded(
            format!("client_id=c1&response_type=code&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&state=s1&code_challenge={CHALLENGE}&code_challenge_method=S256{extra}")
                .as_bytes(),
        )
        .unwrap()
    }

    const POLICY: AuthorizePolicy = AuthorizePolicy {
        pkce_required_for_confidential_clients: true,
    };

    fn run(p: &Params, c: &ClientMetadata) -> Result<AuthorizationRequest, AuthorizeError> {
        run_with_hint(p, c, IdTokenHint::Absent)
    }

    fn run_with_hint(
        p: &Params,
        c: &ClientMetadata,
        hint: IdTokenHint,
    ) -> Result<AuthorizationRequest, AuthorizeError> {
        validate(
            p,
            "c1",
            Some(AuthorizeClient {
                metadata: c,
                disabled: false,
            }),
            POLICY,
            hint,
        )
    }

    fn redirected_error(r: Result<AuthorizationRequest, AuthorizeError>) -> ErrorRedirect {
        match r {
            Err(AuthorizeError::Redirect(e)) => e,
            other => panic!("expected a redirect error, got {other:?}"),
        }
    }

    #[test]
    fn a_good_request_gets_the_default_scope() {
        let req = run(&params(""), &client(true)).unwrap();
        assert_eq!(req.scope.to_string(), "openid profile");
        assert_eq!(req.state.as_deref(), Some("s1"));
        assert!(req.redirect_uri_given);
        assert_eq!(req.code_challenge.as_deref(), Some(CHALLENGE));
    }

    #[test]
    fn unknown_disabled_or_unregistered_redirect_is_an_error_page() {
        let c = client(false);
        let p = params("");
        assert!(matches!(
            validate(&p, "c1", None, POLICY, IdTokenHint::Absent),
            Err(AuthorizeError::ErrorPage(_))
        ));
        assert!(matches!(
            validate(
                &p,
                "c1",
                Some(AuthorizeClient {
                    metadata: &c,
                    disabled: true
                }),
                POLICY,
                IdTokenHint::Absent
            ),
            Err(AuthorizeError::ErrorPage(_))
        ));
        let p = Params::from_urlencoded(
            b"client_id=c1&response_type=code&redirect_uri=https%3A%2F%2Fevil.example%2Fcb",
        )
        .unwrap();
        assert!(matches!(run(&p, &c), Err(AuthorizeError::ErrorPage(_))));
        // Two registered URIs and none requested: nothing to trust either.
        let p = Params::from_urlencoded(b"client_id=c1&response_type=code").unwrap();
        assert!(matches!(run(&p, &c), Err(AuthorizeError::ErrorPage(_))));
    }

    #[test]
    fn other_errors_redirect_with_state() {
        let e = redirected_error(run(&params("&scope=admin"), &client(true)));
        assert_eq!(e.error.code(), "invalid_scope");
        assert_eq!(e.state.as_deref(), Some("s1"));
        assert_eq!(e.redirect_uri, "https://app.example/cb");
        let p = Params::from_urlencoded(
            b"client_id=c1&response_type=token&redirect_uri=https%3A%2F%2Fapp.example%2Fcb",
        )
        .unwrap();
        assert_eq!(
            redirected_error(run(&p, &client(true))).error.code(),
            "unsupported_response_type"
        );
    }

    #[test]
    fn pkce_is_required_for_public_clients_and_by_default_for_all() {
        let p = Params::from_urlencoded(
            b"client_id=c1&response_type=code&redirect_uri=https%3A%2F%2Fapp.example%2Fcb",
        )
        .unwrap();
        assert_eq!(
            redirected_error(run(&p, &client(true))).error.code(),
            "invalid_request"
        );
        assert_eq!(
            redirected_error(run(&p, &client(false))).error.code(),
            "invalid_request"
        );
        let relaxed = AuthorizePolicy {
            pkce_required_for_confidential_clients: false,
        };
        let c = client(false);
        assert!(validate(
            &p,
            "c1",
            Some(AuthorizeClient {
                metadata: &c,
                disabled: false
            }),
            relaxed,
            IdTokenHint::Absent
        )
        .is_ok());
        let c = client(true);
        assert!(validate(
            &p,
            "c1",
            Some(AuthorizeClient {
                metadata: &c,
                disabled: false
            }),
            relaxed,
            IdTokenHint::Absent
        )
        .is_err());
    }

    #[test]
    fn redirects_carry_iss_and_keep_the_registered_query() {
        let p = Params::from_urlencoded(
            format!("client_id=c1&response_type=code&redirect_uri=https%3A%2F%2Fapp.example%2Fcb2%3Fx%3D1&state=a%20b&code_challenge={CHALLENGE}&code_challenge_method=S256").as_bytes(),
        )
        .unwrap();
        let req = run(&p, &client(true)).unwrap();
        assert_eq!(
            success_redirect(&req, "C0DE", "https://id.example"),
            "https://app.example/cb2?x=1&code=C0DE&state=a+b&iss=https%3A%2F%2Fid.example"
        );
        let e = ErrorRedirect {
            redirect_uri: req.redirect_uri.clone(),
            state: None,
            error: OAuthError::AccessDenied("no"),
        };
        assert_eq!(
            error_redirect(&e, "https://id.example"),
            "https://app.example/cb2?x=1&error=access_denied&error_description=no&iss=https%3A%2F%2Fid.example"
        );
    }

    #[test]
    fn consent_covers_the_same_or_fewer_scopes() {
        let granted = Scope::parse("openid profile").unwrap();
        assert!(covered_by_consent(
            &Scope::parse("openid").unwrap(),
            Some(&granted)
        ));
        assert!(covered_by_consent(&granted, Some(&granted)));
        assert!(!covered_by_consent(
            &Scope::parse("openid email").unwrap(),
            Some(&granted)
        ));
        assert!(!covered_by_consent(&Scope::parse("openid").unwrap(), None));
    }

    #[test]
    fn oidc_parameters_are_checked_and_kept() {
        let req = run(
            &params(
                "&prompt=login%20consent&max_age=30&login_hint=alice&ui_locales=fr&display=page",
            ),
            &client(true),
        )
        .unwrap();
        assert!(req.interaction.prompt.login && req.interaction.prompt.consent);
        assert_eq!(req.interaction.max_age, Some(30));
        assert_eq!(req.interaction.login_hint.as_deref(), Some("alice"));
        let req = run_with_hint(
            &params(""),
            &client(true),
            IdTokenHint::Subject("u1".into()),
        )
        .unwrap();
        assert_eq!(req.interaction.expected_subject.as_deref(), Some("u1"));
        let e = redirected_error(run_with_hint(
            &params(""),
            &client(true),
            IdTokenHint::NotOurs,
        ));
        assert_eq!(e.error.code(), "invalid_request");
        for (extra, code) in [
            ("&prompt=select_account", "invalid_request"),
            ("&max_age=-1", "invalid_request"),
            ("&request=eyJ.x.y", "request_not_supported"),
            ("&request_uri=urn%3Ax", "request_uri_not_supported"),
            ("&registration=%7B%7D", "registration_not_supported"),
            ("&claims=%7B%7D", "invalid_request"),
            ("&response_mode=fragment", "invalid_request"),
        ] {
            let e = redirected_error(run(&params(extra), &client(true)));
            assert_eq!(e.error.code(), code, "{extra}");
            assert_eq!(e.state.as_deref(), Some("s1"));
        }
        assert!(run(&params("&response_mode=query"), &client(true)).is_ok());
    }

    #[test]
    fn an_openid_request_names_its_redirect_uri() {
        let mut c = client(true);
        c.redirect_uris.truncate(1);
        let p = Params::from_urlencoded(
            format!("client_id=c1&response_type=code&scope=openid&code_challenge={CHALLENGE}&code_challenge_method=S256").as_bytes(),
        )
        .unwrap();
        assert_eq!(
            redirected_error(run(&p, &c)).error.code(),
            "invalid_request"
        );
        let p = Params::from_urlencoded(
            format!("client_id=c1&response_type=code&scope=profile&code_challenge={CHALLENGE}&code_challenge_method=S256").as_bytes(),
        )
        .unwrap();
        assert!(run(&p, &c).is_ok());
    }
}

//! The authorization flow (RFC 6749 §4.1, OIDC Core §3.1.2): checking the request,
//! the pending request that waits server-side for login and consent, and the answer
//! to the client — a code, or an error sent back with `state` and `iss` (RFC 9207).
//!
//! A request that needs a page (login or consent) is stored, bound to the browser
//! that started it; the pages carry only its id and its CSRF token. Each flow has
//! its own id, so two tabs run two flows. A request the browser's session and the
//! consent on record already satisfy is answered with a code in the transaction
//! that checks them, and never stored ([`start`]).

use super::clients as client_ops;
use super::introspection::our_id_token;
use super::sessions::{self, SignedIn};
use super::tokens::parse_scope;
use super::Services;
use crate::clock::seconds;
use crate::config::Lifetimes;
use crate::crypto::{constant_time_eq, random, token_hash};
use crate::protocol::authorize::{
    self, AuthorizationRequest, AuthorizeClient, AuthorizeError, AuthorizePolicy, ErrorRedirect,
};
use crate::protocol::error::OAuthError;
use crate::protocol::interaction::{
    self, Authentication, AuthenticationStep, IdTokenHint, Interaction,
};
use crate::protocol::params::Params;
use crate::store::audit::{self, AuditEvent, AuditKind};
use crate::store::authorization_codes::{self, CodeRow};
use crate::store::authorization_requests::{self, PendingRequestRow};
use crate::store::{consents, DbConn, Store, StoreError};

/// Why an authorization request was not taken in.
#[derive(Debug)]
pub enum Refused {
    /// The client or redirect URI is not known good: tell the user, never redirect.
    ErrorPage(String),
    /// Send the browser back to the client with this error URI (RFC 6749 §4.1.2.1).
    Redirect(String),
    /// The server failed.
    Internal(StoreError),
}

impl From<StoreError> for Refused {
    fn from(e: StoreError) -> Self {
        Refused::Internal(e)
    }
}

/// Checks an authorization request (client, redirect URI, response type, grant,
/// scope, PKCE, OIDC parameters): the pending request for the browser whose binding
/// cookie hashes to `browser_hash`, not stored yet ([`start`] answers it).
pub async fn begin(
    services: &Services,
    params: &Params,
    browser_hash: String,
    now: i64,
) -> Result<PendingRequestRow, Refused> {
    let client_id = match authorize::client_id(params) {
        Ok(id) => id.to_owned(),
        Err(AuthorizeError::ErrorPage(message)) => return Err(Refused::ErrorPage(message)),
        Err(AuthorizeError::Redirect(_)) => {
            return Err(Refused::ErrorPage("invalid request".into()))
        }
    };
    let row = client_ops::find_cached(&services.store, &client_id).await?;
    let mut metadata = row.as_ref().map(|r| r.metadata()).transpose()?;
    // RFC 8707: a named resource the client may use adds the API's scopes to what
    // it may ask for; one it may not is `invalid_target`, told once the redirect
    // URI is known good.
    let mut target = None;
    let mut target_refused = None;
    if let (Some(identifier), Some(meta)) = (params.get("resource"), metadata.as_mut()) {
        match super::resources::target_for(services, &client_id, identifier).await {
            Ok(found) => {
                meta.scope = meta.scope.union(&found.scope);
                target = Some(found.identifier);
            }
            Err(super::OAuthFailure::Refused(e)) => target_refused = Some(e),
            Err(super::OAuthFailure::Internal(e)) => {
                return Err(Refused::Internal(StoreError::Corrupt(e)))
            }
            Err(super::OAuthFailure::Unavailable(e)) => {
                return Err(Refused::Internal(StoreError::Blocking(e)))
            }
        }
    }
    let client = row
        .as_ref()
        .zip(metadata.as_ref())
        .map(|(row, metadata)| AuthorizeClient {
            metadata,
            disabled: row.disabled,
        });
    let config = &services.config;
    let policy = AuthorizePolicy {
        pkce_required_for_confidential_clients: config.oauth.pkce_required_for_confidential_clients,
    };
    let hint = match params.get("id_token_hint") {
        None => IdTokenHint::Absent,
        Some(token) => match our_id_token(&services.keys, config, token) {
            Some(claims) => IdTokenHint::Subject(claims.sub),
            None => IdTokenHint::NotOurs,
        },
    };
    let request = match authorize::validate(params, &client_id, client, policy, hint) {
        Ok(request) => request,
        Err(AuthorizeError::ErrorPage(message)) => return Err(Refused::ErrorPage(message)),
        Err(AuthorizeError::Redirect(mut redirect)) => {
            // The redirect URI is good; a refused resource is the first thing to
            // say (its scopes were never the client's to ask).
            if let Some(error) = target_refused {
                redirect.error = error;
            }
            return Err(Refused::Redirect(authorize::error_redirect(
                &redirect,
                &config.issuer,
            )));
        }
    };
    if let Some(error) = target_refused {
        let redirect = authorize::ErrorRedirect {
            redirect_uri: request.redirect_uri.clone(),
            state: request.state.clone(),
            error,
        };
        return Err(Refused::Redirect(authorize::error_redirect(
            &redirect,
            &config.issuer,
        )));
    }
    let pending = PendingRequestRow {
        id: random::token().map_err(StoreError::from)?,
        browser_hash,
        csrf_token: random::token().map_err(StoreError::from)?,
        client_id: request.client_id.clone(),
        redirect_uri: request.redirect_uri.clone(),
        redirect_uri_given: request.redirect_uri_given,
        scope: request.scope.to_string(),
        state: request.state.clone(),
        code_challenge: request.code_challenge.clone(),
        nonce: request.nonce.clone(),
        created_at: now,
        expires_at: now + seconds(config.lifetimes.authorization_request),
        interaction: serde_json::to_string(&request.interaction)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        authenticated_sid: None,
        resource: target,
    };
    Ok(pending)
}

/// Answers a request [`begin`] checked, in one transaction: with a session that
/// satisfies it (the browser's cookie value `session_id`) and consent on record
/// that covers it, the code at once (the request is never stored); otherwise the
/// request is stored as pending and the login or consent page comes next — or,
/// with `prompt=none`, the error goes back to the client (OIDC Core §3.1.2.6).
pub async fn start(
    services: &Services,
    pending: PendingRequestRow,
    session_id: Option<&str>,
    now: i64,
) -> Result<Step, StoreError> {
    let request = request_of(&pending)?;
    let checked = request.clone();
    let lifetimes = services.config.lifetimes;
    let session_hash = session_id.map(token_hash);
    let code = random::token()?;
    let code_hash = token_hash(&code);
    let started = services
        .store
        .transaction(move |conn| {
            let signed_in = match &session_hash {
                Some(hash) => sessions::current_in(conn, lifetimes, hash, now)?,
                None => None,
            };
            let session = signed_in.as_ref().map(|s| Authentication {
                subject: &s.user.id,
                auth_time: s.session.auth_time,
                in_this_request: false,
            });
            let signed_in = match interaction::authentication(&checked.interaction, session, now) {
                Ok(AuthenticationStep::Satisfied) => signed_in,
                Ok(AuthenticationStep::SignIn) => None,
                Err(e) => return Ok(Started::Refused(e)),
            };
            let Some(signed_in) = signed_in else {
                authorization_requests::insert(conn, &pending)?;
                return Ok(Started::Page(Step::Login));
            };
            let granted = consents::find(conn, &signed_in.user.id, &pending.client_id)?
                .map(|s| parse_scope(&s))
                .transpose()?;
            let covered = authorize::covered_by_consent(&checked.scope, granted.as_ref());
            match interaction::must_ask_consent(&checked.interaction, covered) {
                Ok(false) => {
                    let row = code_row(&pending, &signed_in, code_hash, lifetimes, now);
                    Ok(Started::Code(record_code(conn, &row, false, now)?))
                }
                Ok(true) => {
                    authorization_requests::insert(conn, &pending)?;
                    Ok(Started::Page(Step::Consent))
                }
                Err(e) => Ok(Started::Refused(e)),
            }
        })
        .await?;
    let issuer = &services.config.issuer;
    Ok(match started {
        Started::Page(step) => step,
        Started::Code(events) => {
            audit::log_all(&events);
            Step::ToClient(authorize::success_redirect(&request, &code, issuer))
        }
        Started::Refused(error) => {
            let redirect = ErrorRedirect {
                redirect_uri: request.redirect_uri,
                state: request.state,
                error,
            };
            Step::ToClient(authorize::error_redirect(&redirect, issuer))
        }
    })
}

/// How [`start`]'s transaction ended.
enum Started {
    /// The request is stored; this page comes next.
    Page(Step),
    /// A code was issued, with these events recorded.
    Code(Vec<AuditEvent>),
    /// The request cannot be answered without a page it forbids (`prompt=none`).
    Refused(OAuthError),
}

/// A pending request looked up for a page; short-lived, so not boxed.
#[allow(clippy::large_enum_variant)]
pub enum Pending {
    Live(PendingRequestRow),
    /// Unknown, already answered or expired.
    Gone,
    /// Started in another browser (or the binding cookie was cleared).
    OtherBrowser,
}

/// The pending request `id` if it is live and was started by the browser whose
/// binding cookie is `browser_id` (compared by hash, in constant time).
pub async fn pending(
    store: &Store,
    id: Option<&str>,
    browser_id: Option<&str>,
    now: i64,
) -> Result<Pending, StoreError> {
    // Our ids are base64url tokens: anything else is unknown without a lookup.
    let Some(id) = id.filter(|id| is_token_shaped(id)).map(str::to_owned) else {
        return Ok(Pending::Gone);
    };
    let Some(row) = store
        .run(move |conn| authorization_requests::find_live(conn, &id, now))
        .await?
    else {
        return Ok(Pending::Gone);
    };
    let bound =
        browser_id.is_some_and(|browser| constant_time_eq(&token_hash(browser), &row.browser_hash));
    Ok(if bound {
        Pending::Live(row)
    } else {
        Pending::OtherBrowser
    })
}

/// Whether `text` could be one of our random tokens (base64url, at most 128 chars).
fn is_token_shaped(text: &str) -> bool {
    text.len() <= 128
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The checked request a pending row holds.
pub fn request_of(row: &PendingRequestRow) -> Result<AuthorizationRequest, StoreError> {
    Ok(AuthorizationRequest {
        client_id: row.client_id.clone(),
        redirect_uri: row.redirect_uri.clone(),
        redirect_uri_given: row.redirect_uri_given,
        scope: parse_scope(&row.scope)?,
        state: row.state.clone(),
        code_challenge: row.code_challenge.clone(),
        nonce: row.nonce.clone(),
        interaction: interaction_of(row)?,
    })
}

/// The `prompt`, `max_age` and hints of a pending request.
pub fn interaction_of(row: &PendingRequestRow) -> Result<Interaction, StoreError> {
    serde_json::from_str(&row.interaction)
        .map_err(|e| StoreError::Corrupt(format!("pending request interaction: {e}")))
}

/// What the browser is shown next.
#[derive(Debug)]
pub enum Step {
    /// The login page of the pending request.
    Login,
    /// The consent page of the pending request.
    Consent,
    /// Back to the client: a code, or an error (RFC 6749 §4.1.2, §4.1.2.1).
    ToClient(String),
    /// The request was answered already (a double submit): nothing more to do.
    AlreadyAnswered,
}

/// The next step of a pending request: the login page, the consent page, or the
/// code. With `prompt=none` a page is never shown: the client gets
/// `login_required` or `consent_required` instead (OIDC Core §3.1.2.6).
pub async fn proceed(
    services: &Services,
    pending: PendingRequestRow,
    signed_in: Option<SignedIn>,
    now: i64,
) -> Result<Step, StoreError> {
    let signed_in = match authenticated(services, pending, signed_in, now).await? {
        Authenticated::Yes(pending, signed_in) => (pending, signed_in),
        Authenticated::No(step) => return Ok(step),
    };
    let (pending, signed_in) = signed_in;
    match consent_needed(&services.store, &pending, &signed_in).await? {
        ConsentNeeded::Ask => Ok(Step::Consent),
        ConsentNeeded::Covered => issue_code(services, pending, &signed_in, false, now).await,
        ConsentNeeded::Required(e) => answer_with_error(services, pending, e, None, now).await,
    }
}

/// The user's answer on the consent page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsentDecision {
    Allow,
    Deny,
}

/// Answers the consent page: Allow issues the code and remembers the consent;
/// Deny sends `access_denied` (RFC 6749 §4.1.2.1). The session must still satisfy
/// the request, or the login page comes first.
pub async fn decide_consent(
    services: &Services,
    pending: PendingRequestRow,
    signed_in: Option<SignedIn>,
    decision: ConsentDecision,
    now: i64,
) -> Result<Step, StoreError> {
    let (pending, signed_in) = match authenticated(services, pending, signed_in, now).await? {
        Authenticated::Yes(pending, signed_in) => (pending, signed_in),
        Authenticated::No(step) => return Ok(step),
    };
    match decision {
        ConsentDecision::Allow => issue_code(services, pending, &signed_in, true, now).await,
        ConsentDecision::Deny => {
            let denied = AuditEvent::new(AuditKind::ConsentDenied)
                .user(&signed_in.user.id)
                .client(&pending.client_id)
                .detail(serde_json::json!({ "scope": pending.scope }));
            answer_with_error(
                services,
                pending,
                OAuthError::AccessDenied("the user denied the request"),
                Some(denied),
                now,
            )
            .await
        }
    }
}

/// Short-lived, so not boxed.
#[allow(clippy::large_enum_variant)]
enum Authenticated {
    Yes(PendingRequestRow, SignedIn),
    No(Step),
}

/// The user, when the session satisfies the request (`prompt=login`, `max_age`,
/// `id_token_hint`); otherwise the login page, or with `prompt=none` the error to
/// the client.
async fn authenticated(
    services: &Services,
    pending: PendingRequestRow,
    signed_in: Option<SignedIn>,
    now: i64,
) -> Result<Authenticated, StoreError> {
    let interaction = interaction_of(&pending)?;
    let session = signed_in.as_ref().map(|s| Authentication {
        subject: &s.user.id,
        auth_time: s.session.auth_time,
        in_this_request: pending.authenticated_sid.as_deref() == Some(s.session.sid.as_str()),
    });
    Ok(
        match (
            interaction::authentication(&interaction, session, now),
            signed_in,
        ) {
            (Ok(AuthenticationStep::Satisfied), Some(signed_in)) => {
                Authenticated::Yes(pending, signed_in)
            }
            (Ok(_), _) => Authenticated::No(Step::Login),
            (Err(e), _) => {
                Authenticated::No(answer_with_error(services, pending, e, None, now).await?)
            }
        },
    )
}

/// Whether the user must still be asked about the pending request's scopes.
enum ConsentNeeded {
    /// Consent on record does not cover them, or `prompt=consent`: show the page.
    Ask,
    /// Consent on record covers them.
    Covered,
    /// The page would be needed under `prompt=none`: `consent_required`.
    Required(OAuthError),
}

async fn consent_needed(
    store: &Store,
    pending: &PendingRequestRow,
    signed_in: &SignedIn,
) -> Result<ConsentNeeded, StoreError> {
    let requested = parse_scope(&pending.scope)?;
    let interaction = interaction_of(pending)?;
    let user_id = signed_in.user.id.clone();
    let client_id = pending.client_id.clone();
    let granted = store
        .run(move |conn| consents::find(conn, &user_id, &client_id))
        .await?
        .map(|s| parse_scope(&s))
        .transpose()?;
    let covered = authorize::covered_by_consent(&requested, granted.as_ref());
    Ok(match interaction::must_ask_consent(&interaction, covered) {
        Ok(true) => ConsentNeeded::Ask,
        Ok(false) => ConsentNeeded::Covered,
        Err(e) => ConsentNeeded::Required(e),
    })
}

/// Issues the code for the redirect back to the client (RFC 6749 §4.1.2). The
/// pending request is removed in the same transaction, so a double submit answers
/// once. With `remember_consent`, the requested scopes join the user's stored
/// consent for the client in the same transaction.
async fn issue_code(
    services: &Services,
    pending: PendingRequestRow,
    signed_in: &SignedIn,
    remember_consent: bool,
    now: i64,
) -> Result<Step, StoreError> {
    let request = request_of(&pending)?;
    let code = random::token()?;
    let row = code_row(
        &pending,
        signed_in,
        token_hash(&code),
        services.config.lifetimes,
        now,
    );
    let pending_id = pending.id.clone();
    let events = services
        .store
        .transaction(move |conn| {
            if !authorization_requests::take(conn, &pending_id)? {
                return Ok(None);
            }
            Ok(Some(record_code(conn, &row, remember_consent, now)?))
        })
        .await?;
    Ok(match events {
        Some(events) => {
            audit::log_all(&events);
            Step::ToClient(authorize::success_redirect(
                &request,
                &code,
                &services.config.issuer,
            ))
        }
        None => Step::AlreadyAnswered,
    })
}

/// The code `code_hash` for `pending`, issued to the user of `signed_in`.
fn code_row(
    pending: &PendingRequestRow,
    signed_in: &SignedIn,
    code_hash: String,
    lifetimes: Lifetimes,
    now: i64,
) -> CodeRow {
    CodeRow {
        code_hash,
        client_id: pending.client_id.clone(),
        user_id: signed_in.user.id.clone(),
        sid: Some(signed_in.session.sid.clone()),
        redirect_uri: pending.redirect_uri.clone(),
        scope: pending.scope.clone(),
        code_challenge: pending.code_challenge.clone(),
        nonce: pending.nonce.clone(),
        auth_time: signed_in.session.auth_time,
        amr: signed_in.session.amr.clone(),
        created_at: now,
        expires_at: now + seconds(lifetimes.authorization_code),
        consumed_at: None,
        access_token_jti: None,
        access_token_expires_at: None,
        redirect_uri_given: pending.redirect_uri_given,
        resource: pending.resource.clone(),
    }
}

/// Stores the code `row` and records its event (with `remember_consent`, the
/// requested scopes join the user's stored consent for the client first); the
/// events it recorded, for the log once committed.
fn record_code(
    conn: &mut DbConn,
    row: &CodeRow,
    remember_consent: bool,
    now: i64,
) -> Result<Vec<AuditEvent>, StoreError> {
    let mut events = Vec::new();
    if remember_consent {
        let granted = consents::find(conn, &row.user_id, &row.client_id)?
            .map(|s| parse_scope(&s))
            .transpose()?
            .unwrap_or_default();
        let scope = granted.union(&parse_scope(&row.scope)?);
        consents::upsert(conn, &row.user_id, &row.client_id, &scope.to_string(), now)?;
        events.push(
            AuditEvent::new(AuditKind::ConsentGranted)
                .user(&row.user_id)
                .client(&row.client_id)
                .detail(serde_json::json!({ "scope": scope.to_string() })),
        );
    }
    authorization_codes::insert(conn, row)?;
    events.push(
        AuditEvent::new(AuditKind::AuthorizationCodeIssued)
            .user(&row.user_id)
            .client(&row.client_id)
            .detail(serde_json::json!({ "scope": row.scope })),
    );
    for event in &events {
        event.record(conn, now)?;
    }
    Ok(events)
}

/// Ends the pending request with an error sent to the client (e.g. `access_denied`),
/// recording `event` in the same transaction.
async fn answer_with_error(
    services: &Services,
    pending: PendingRequestRow,
    error: OAuthError,
    event: Option<AuditEvent>,
    now: i64,
) -> Result<Step, StoreError> {
    let id = pending.id.clone();
    let recorded = event.clone();
    let taken = services
        .store
        .transaction(move |conn| {
            let taken = authorization_requests::take(conn, &id)?;
            if let (true, Some(event)) = (taken, &recorded) {
                event.record(conn, now)?;
            }
            Ok(taken)
        })
        .await?;
    if !taken {
        return Ok(Step::AlreadyAnswered);
    }
    if let Some(event) = &event {
        audit::log(event);
    }
    let redirect = ErrorRedirect {
        redirect_uri: pending.redirect_uri,
        state: pending.state,
        error,
    };
    Ok(Step::ToClient(authorize::error_redirect(
        &redirect,
        &services.config.issuer,
    )))
}

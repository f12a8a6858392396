//! The authorization flow between the authorization request and the redirect back
//! to the client. The checked request waits server-side ([`PendingRequestRow`]),
//! bound to the browser that started it; the login and consent pages carry only its
//! id and its CSRF token. Each flow has its own id, so two tabs run two flows.

// An error page is the natural `Err` of a page step; it is built once per request.
#![allow(clippy::result_large_err)]

use actix_web::http::header::LOCATION;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::{form, pages, AppState};
use crate::clock::seconds;
use crate::crypto::{constant_time_eq, random, token_hash};
use crate::protocol::authorize::{self, AuthorizationRequest, ErrorRedirect};
use crate::protocol::error::OAuthError;
use crate::protocol::interaction::{self, Authentication, AuthenticationStep, Interaction};
use crate::protocol::params::Params;
use crate::protocol::scope::Scope;
use crate::store::audit::{self, AuditEvent};
use crate::store::authorization_codes::{self, CodeRow};
use crate::store::authorization_requests::{self, PendingRequestRow};
use crate::store::sessions::{self, SessionRow};
use crate::store::users::{self, UserRow};
use crate::store::{consents, StoreError};

/// A live session and its (enabled) user.
pub struct SignedIn {
    pub session: SessionRow,
    pub user: UserRow,
}

/// The signed-in user of the request, if its session is live and the user enabled.
/// Use pushes the idle deadline out (never past the absolute one), written at most
/// once a minute so that page views are not all writes.
pub async fn signed_in(
    state: &web::Data<AppState>,
    req: &HttpRequest,
) -> Result<Option<SignedIn>, StoreError> {
    let Some(session_id) = state.cookies.session_id(req) else {
        return Ok(None);
    };
    let id_hash = token_hash(&session_id);
    let now = state.clock.now();
    let lifetimes = state.config.lifetimes;
    state
        .store
        .run(move |conn| {
            let Some(session) = sessions::find_live(conn, &id_hash, now)? else {
                return Ok(None);
            };
            let Some(user) = users::find(conn, &session.user_id)?.filter(|u| !u.disabled) else {
                return Ok(None);
            };
            let absolute = session.created_at + seconds(lifetimes.session_absolute);
            let expires_at = (now + seconds(lifetimes.session_idle)).min(absolute);
            if expires_at > session.expires_at && now - session.last_seen_at >= 60 {
                sessions::touch(conn, &id_hash, now, expires_at)?;
            }
            Ok(Some(SignedIn { session, user }))
        })
        .await
}

/// The pending request `id`, if it is live and was started by this browser;
/// otherwise the error page to show.
pub async fn pending(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    id: Option<&str>,
) -> Result<PendingRequestRow, HttpResponse> {
    let expired = || {
        pages::error(
            StatusCode::BAD_REQUEST,
            "This sign-in has expired",
            "This sign-in request is unknown, already answered or expired. Go back to the application and start again.",
        )
    };
    let Some(id) = id.map(str::to_owned) else {
        return Err(expired());
    };
    let now = state.clock.now();
    let row = state
        .store
        .run(move |conn| authorization_requests::find_live(conn, &id, now))
        .await
        .map_err(|e| pages::server_error(&e))?
        .ok_or_else(expired)?;
    let bound = state
        .cookies
        .browser_id(req)
        .is_some_and(|browser| constant_time_eq(&token_hash(&browser), &row.browser_hash));
    if !bound {
        return Err(pages::error(
            StatusCode::BAD_REQUEST,
            "This sign-in belongs to another browser",
            "This sign-in request was started in another browser or the browser's cookies were cleared. Go back to the application and start again.",
        ));
    }
    Ok(row)
}

/// The CSRF check of the login and consent forms: the token of the pending request,
/// compared in constant time.
fn check_csrf(pending: &PendingRequestRow, presented: Option<&str>) -> Result<(), HttpResponse> {
    if presented.is_some_and(|t| constant_time_eq(t, &pending.csrf_token)) {
        Ok(())
    } else {
        Err(pages::error(
            StatusCode::FORBIDDEN,
            "The form could not be accepted",
            "The form was not sent from this page or has expired. Go back, reload the page and try again.",
        ))
    }
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
    serde_json::from_str(&row.interaction).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// The next step of a pending request: the login page, the consent page, or the
/// code. With `prompt=none` a page is never shown: the client gets
/// `login_required` or `consent_required` instead (OIDC Core §3.1.2.6).
pub async fn proceed(
    state: &web::Data<AppState>,
    pending: PendingRequestRow,
    signed_in: Option<SignedIn>,
) -> HttpResponse {
    let (pending, signed_in) = match authenticated(state, pending, signed_in).await {
        Ok(pair) => pair,
        Err(response) => return response,
    };
    match must_ask_consent(state, &pending, &signed_in).await {
        Ok(Ok(true)) => see_other(&format!("/consent?request={}", pending.id)),
        Ok(Ok(false)) => answer_with_code(state, pending, &signed_in, false).await,
        Ok(Err(e)) => answer_with_error(state, pending, e).await,
        Err(e) => pages::server_error(&e),
    }
}

/// The user, when the session satisfies the request (`prompt=login`, `max_age`,
/// `id_token_hint`); otherwise the answer to send: the login page, or with
/// `prompt=none` the error to the client.
pub async fn authenticated(
    state: &web::Data<AppState>,
    pending: PendingRequestRow,
    signed_in: Option<SignedIn>,
) -> Result<(PendingRequestRow, SignedIn), HttpResponse> {
    let interaction = interaction_of(&pending).map_err(|e| pages::server_error(&e))?;
    let session = signed_in.as_ref().map(|s| Authentication {
        subject: &s.user.id,
        auth_time: s.session.auth_time,
        in_this_request: pending.authenticated_sid.as_deref() == Some(s.session.sid.as_str()),
    });
    match (
        interaction::authentication(&interaction, session, state.clock.now()),
        signed_in,
    ) {
        (Ok(AuthenticationStep::Satisfied), Some(signed_in)) => Ok((pending, signed_in)),
        (Ok(_), _) => Err(see_other(&format!("/login?request={}", pending.id))),
        (Err(e), _) => Err(answer_with_error(state, pending, e).await),
    }
}

/// Whether the user must still be asked about the pending request's scopes: consent
/// on record does not cover them, or `prompt=consent`. The inner error is the
/// `prompt=none` answer.
pub async fn must_ask_consent(
    state: &web::Data<AppState>,
    pending: &PendingRequestRow,
    signed_in: &SignedIn,
) -> Result<Result<bool, OAuthError>, StoreError> {
    let requested = parse_scope(&pending.scope)?;
    let interaction = interaction_of(pending)?;
    let user_id = signed_in.user.id.clone();
    let client_id = pending.client_id.clone();
    let granted = state
        .store
        .run(move |conn| consents::find(conn, &user_id, &client_id))
        .await?
        .map(|s| parse_scope(&s))
        .transpose()?;
    let covered = authorize::covered_by_consent(&requested, granted.as_ref());
    Ok(interaction::must_ask_consent(&interaction, covered))
}

fn parse_scope(text: &str) -> Result<Scope, StoreError> {
    Scope::parse(text).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// The form of a login or consent POST and its pending request, once the browser
/// binding and the CSRF token are checked; otherwise the error page to show.
pub async fn submitted_form(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    body: &[u8],
) -> Result<(Params, PendingRequestRow), HttpResponse> {
    let params = form::params(req, body).map_err(|e| {
        pages::error(
            StatusCode::BAD_REQUEST,
            "The form could not be read",
            e.description(),
        )
    })?;
    let pending = pending(state, req, params.get("request")).await?;
    check_csrf(&pending, params.get("csrf_token"))?;
    Ok((params, pending))
}

/// Issues the code and sends the browser back to the client (RFC 6749 §4.1.2). The
/// pending request is removed in the same transaction, so a double submit answers
/// once. With `remember_consent`, the requested scopes join the user's stored
/// consent for the client in the same transaction.
pub async fn answer_with_code(
    state: &web::Data<AppState>,
    pending: PendingRequestRow,
    signed_in: &SignedIn,
    remember_consent: bool,
) -> HttpResponse {
    let request = match request_of(&pending) {
        Ok(r) => r,
        Err(e) => return pages::server_error(&e),
    };
    let code = match random::token() {
        Ok(c) => c,
        Err(e) => return pages::server_error(&e),
    };
    let now = state.clock.now();
    let row = CodeRow {
        code_hash: token_hash(&code),
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
        expires_at: now + seconds(state.config.lifetimes.authorization_code),
        consumed_at: None,
        access_token_jti: None,
        access_token_expires_at: None,
        redirect_uri_given: pending.redirect_uri_given,
    };
    let pending_id = pending.id.clone();
    let issued = state
        .store
        .run(move |conn| {
            conn.transaction(|conn| {
                if !authorization_requests::take(conn, &pending_id)? {
                    return Ok(false);
                }
                if remember_consent {
                    let granted = consents::find(conn, &row.user_id, &row.client_id)?
                        .map(|s| parse_scope(&s))
                        .transpose()?
                        .unwrap_or_default();
                    let scope = granted.union(&parse_scope(&row.scope)?);
                    consents::upsert(conn, &row.user_id, &row.client_id, &scope.to_string(), now)?;
                }
                authorization_codes::insert(conn, &row)?;
                let event = AuditEvent {
                    kind: "authorization_code_issued",
                    actor: None,
                    user_id: Some(&row.user_id),
                    client_id: Some(&row.client_id),
                    ip: None,
                    detail: serde_json::json!({ "scope": row.scope }),
                };
                audit::record(conn, &event, now)?;
                Ok(true)
            })
        })
        .await;
    match issued {
        Ok(true) => see_other(&authorize::success_redirect(
            &request,
            &code,
            &state.config.issuer,
        )),
        Ok(false) => pages::error(
            StatusCode::BAD_REQUEST,
            "This sign-in has been answered",
            "This sign-in request has already been answered. Go back to the application.",
        ),
        Err(e) => pages::server_error(&e),
    }
}

/// Ends the pending request with an error sent to the client (e.g. `access_denied`).
pub async fn answer_with_error(
    state: &web::Data<AppState>,
    pending: PendingRequestRow,
    error: OAuthError,
) -> HttpResponse {
    let id = pending.id.clone();
    match state
        .store
        .run(move |conn| authorization_requests::take(conn, &id))
        .await
    {
        Ok(true) => {}
        Ok(false) => {
            return pages::error(
                StatusCode::BAD_REQUEST,
                "This sign-in has been answered",
                "This sign-in request has already been answered. Go back to the application.",
            )
        }
        Err(e) => return pages::server_error(&e),
    }
    let redirect = ErrorRedirect {
        redirect_uri: pending.redirect_uri,
        state: pending.state,
        error,
    };
    see_other(&authorize::error_redirect(&redirect, &state.config.issuer))
}

/// `303 See Other` to `location`: after a form POST the browser follows with GET.
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((LOCATION, location))
        .insert_header(("Cache-Control", "no-store"))
        .finish()
}

/// The registered name of the client, for the pages.
pub async fn client_name(
    state: &web::Data<AppState>,
    client_id: &str,
) -> Result<String, HttpResponse> {
    let id = client_id.to_owned();
    match state
        .store
        .run(move |conn| crate::store::clients::find(conn, &id))
        .await
    {
        Ok(Some(row)) if !row.disabled => Ok(row.name),
        Ok(_) => Err(pages::error(
            StatusCode::BAD_REQUEST,
            "This request cannot be answered",
            "The application that sent you here is not registered, or has been disabled.",
        )),
        Err(e) => Err(pages::server_error(&e)),
    }
}

//! What the login, consent and authorization pages share: the signed-in user, the
//! pending request of a page, the checked form of a POST, and turning the flow's
//! next [`Step`] into a response. The decisions are the operations' in
//! [`service::authorization`](crate::service::authorization).

use actix_web::http::header::LOCATION;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};

use super::pages::{self, PageError};
use super::{csrf, form, AppState};
use crate::protocol::params::Params;
use crate::service::authorization::{self, Pending, Step};
use crate::service::clients;
use crate::service::sessions::{self, SignedIn};
use crate::store::authorization_requests::PendingRequestRow;
use crate::store::StoreError;

/// The signed-in user of the request, if its session is live and the user enabled.
pub async fn signed_in(
    state: &AppState,
    req: &HttpRequest,
) -> Result<Option<SignedIn>, StoreError> {
    let Some(session_id) = state.cookies.session_id(req) else {
        return Ok(None);
    };
    let services = &state.services;
    sessions::current(
        &services.store,
        services.config.lifetimes,
        &session_id,
        state.clock.now(),
    )
    .await
}

/// The pending request `id`, if it is live and was started by this browser;
/// otherwise the error page to show.
pub async fn pending(
    state: &AppState,
    req: &HttpRequest,
    id: Option<&str>,
) -> Result<PendingRequestRow, PageError> {
    let browser = state.cookies.browser_id(req);
    let found = authorization::pending(
        &state.services.store,
        id,
        browser.as_deref(),
        state.clock.now(),
    )
    .await?;
    match found {
        Pending::Live(row) => Ok(row),
        Pending::Gone => Err(PageError::bad_request(
            "This sign-in has expired",
            "This sign-in request is unknown, already answered or expired. Go back to the application and start again.",
        )),
        Pending::OtherBrowser => Err(PageError::bad_request(
            "This sign-in belongs to another browser",
            "This sign-in request was started in another browser or the browser's cookies were cleared. Go back to the application and start again.",
        )),
    }
}

/// The form of a login or consent POST and its pending request, once the browser
/// binding and the CSRF token (the pending request's own) are checked; otherwise
/// the error page to show.
pub async fn submitted_form(
    state: &AppState,
    req: &HttpRequest,
    body: &[u8],
) -> Result<(Params, PendingRequestRow), PageError> {
    let params = form::params(req, body)
        .and_then(|params| params.check_characters().map(|()| params))
        .map_err(|e| PageError::bad_request("The form could not be read", e.description()))?;
    let pending = pending(state, req, params.get("request")).await?;
    csrf::check(Some(&pending.csrf_token), params.get("csrf_token"))?;
    Ok((params, pending))
}

/// The response for the flow's next step of the pending request `pending_id`.
pub fn respond(state: &AppState, step: Result<Step, StoreError>, pending_id: &str) -> HttpResponse {
    match step {
        Ok(Step::Login) => see_other(&state.path(&format!("/login?request={pending_id}"))),
        Ok(Step::Consent) => see_other(&state.path(&format!("/consent?request={pending_id}"))),
        Ok(Step::ToClient(location)) => see_other(&location),
        Ok(Step::AlreadyAnswered) => pages::error(
            StatusCode::BAD_REQUEST,
            "This sign-in has been answered",
            "This sign-in request has already been answered. Go back to the application.",
        ),
        // A database that is away is a 503 to retry, not a failure of the server.
        Err(e) => actix_web::ResponseError::error_response(&PageError::from(e)),
    }
}

/// `303 See Other` to `location`: after a form POST the browser follows with GET.
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((LOCATION, location))
        .insert_header(("Cache-Control", "no-store"))
        .finish()
}

/// The registered name of the (enabled) client, for the pages.
pub async fn client_name(state: &AppState, client_id: &str) -> Result<String, PageError> {
    match clients::enabled(&state.services.store, client_id).await? {
        Some(row) => Ok(row.name),
        None => Err(PageError::bad_request(
            "This request cannot be answered",
            "The application that sent you here is not registered, or has been disabled.",
        )),
    }
}

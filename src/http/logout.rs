//! The end-session endpoint (OpenID Connect RP-Initiated Logout 1.0), GET and POST.
//!
//! With a valid `id_token_hint` for the signed-in user, the session ends at once;
//! otherwise the user confirms on a page whose form carries a CSRF token derived
//! from the session id (so only the session's own browser can submit it). The
//! browser goes back to `post_logout_redirect_uri` only when it is registered for
//! the client, with `state`; otherwise it sees a signed-out page.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::flow::{self, see_other};
use super::{csrf, form, pages, AppState};
use crate::protocol::logout::{self, LogoutError, LogoutHint};
use crate::protocol::params::Params;
use crate::service::sessions::{self, LogoutDestination, LogoutRefused, SignedIn};
use crate::views::{LogoutPage, SignedOutPage};

pub const LOGOUT_PATH: &str = "/logout";

pub fn configure(cfg: &mut web::ServiceConfig, state: &AppState) {
    cfg.service(
        web::resource(LOGOUT_PATH)
            .wrap(state.rate_limits.authorize())
            .route(web::get().to(logout_get))
            .route(web::post().to(logout_post)),
    );
}

async fn logout_get(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    match Params::from_urlencoded(req.query_string().as_bytes()) {
        Ok(params) => end_session(&state, &req, &params).await,
        Err(e) => bad_request(e.description()),
    }
}

/// §2: the RP may POST the parameters as a form. The confirmation form posts here
/// too; it alone carries `csrf_token`.
async fn logout_post(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let params = match form::params(&req, &body) {
        Ok(params) => params,
        Err(e) => return bad_request(e.description()),
    };
    if params.get("csrf_token").is_some() {
        confirmed(&state, &req, &params).await
    } else {
        end_session(&state, &req, &params).await
    }
}

/// The checked destination and the signed-in user of a logout request; without a
/// session there is nothing to end, and the answer is the signed-out one (or the
/// error page of a bad request).
async fn checked(
    state: &AppState,
    req: &HttpRequest,
    params: &Params,
    hint: &LogoutHint,
) -> Result<(LogoutDestination, SignedIn), HttpResponse> {
    let destination = sessions::logout_destination(
        &state.services.store,
        params.get("client_id"),
        params.get("post_logout_redirect_uri"),
        params.get("state"),
        hint,
    )
    .await
    .map_err(|e| match e {
        LogoutRefused::Refused(e) => refused(e),
        LogoutRefused::Internal(e) => pages::server_error(&e),
    })?;
    match flow::signed_in(state, req).await {
        Ok(Some(signed_in)) => Ok((destination, signed_in)),
        // Not signed in (never, in another tab already, or the session expired).
        Ok(None) => Err(signed_out(state, req, destination, None).await),
        Err(e) => Err(pages::server_error(&e)),
    }
}

/// An RP's logout request (§2).
async fn end_session(
    state: &AppState,
    req: &HttpRequest,
    params: &Params,
) -> HttpResponse {
    let hint = sessions::logout_hint(&state.services, params.get("id_token_hint"));
    let (destination, signed_in) = match checked(state, req, params, &hint).await {
        Ok(checked) => checked,
        Err(response) => return response,
    };
    if !logout::needs_confirmation(&hint, &signed_in.user.id) {
        return signed_out(state, req, destination, Some(&signed_in.user.id)).await;
    }
    let Some(csrf_token) = state
        .cookies
        .session_id(req)
        .map(|id| csrf::session_token(&id, LOGOUT_CONFIRMATION))
    else {
        return signed_out(state, req, destination, None).await;
    };
    pages::render(
        StatusCode::OK,
        &LogoutPage {
            base: &state.base_path,
            username: &signed_in.user.username,
            client_name: destination.client_name.as_deref(),
            csrf_token: &csrf_token,
            client_id: destination.client_id.as_deref().unwrap_or(""),
            post_logout_redirect_uri: params.get("post_logout_redirect_uri").unwrap_or(""),
            state: params.get("state").unwrap_or(""),
        },
    )
}

/// The user confirmed on the page: the token must be the session's own.
async fn confirmed(
    state: &AppState,
    req: &HttpRequest,
    params: &Params,
) -> HttpResponse {
    let (destination, signed_in) = match checked(state, req, params, &LogoutHint::Absent).await {
        Ok(checked) => checked,
        Err(response) => return response,
    };
    let expected = state
        .cookies
        .session_id(req)
        .map(|id| csrf::session_token(&id, LOGOUT_CONFIRMATION));
    if let Err(page) = csrf::check(expected.as_deref(), params.get("csrf_token")) {
        return page;
    }
    signed_out(state, req, destination, Some(&signed_in.user.id)).await
}

/// The purpose the confirmation form's CSRF token is derived for.
const LOGOUT_CONFIRMATION: &str = "logout-confirmation";

/// Ends the browser's session (when `user_id` is given), clears its cookie, and
/// sends the browser on.
async fn signed_out(
    state: &AppState,
    req: &HttpRequest,
    destination: LogoutDestination,
    user_id: Option<&str>,
) -> HttpResponse {
    if let (Some(user_id), Some(session_id)) = (user_id, state.cookies.session_id(req)) {
        let ended = sessions::log_out(
            &state.services.store,
            &session_id,
            user_id,
            destination.client_id.as_deref(),
            state.clock.now(),
        )
        .await;
        if let Err(e) = ended {
            return pages::server_error(&e);
        }
    }
    let mut response = match &destination.return_to {
        Some(uri) => see_other(uri),
        None => pages::render(
            StatusCode::OK,
            &SignedOutPage {
                base: &state.base_path,
                client_name: destination.client_name.as_deref(),
            },
        ),
    };
    if state.cookies.session_id(req).is_some() {
        if let Err(e) = response.add_cookie(&state.cookies.clear_session()) {
            return pages::server_error(&e);
        }
    }
    response
}

fn refused(error: LogoutError) -> HttpResponse {
    bad_request(&error.0)
}

fn bad_request(message: &str) -> HttpResponse {
    pages::error(
        StatusCode::BAD_REQUEST,
        "This sign-out cannot be completed",
        message,
    )
}

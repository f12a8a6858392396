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
use super::pages::{self, PageError};
use super::{csrf, form, AppState};
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

async fn logout_get(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let params = Params::from_urlencoded(req.query_string().as_bytes())
        .and_then(|params| params.check_characters().map(|()| params))
        .map_err(|e| refused(LogoutError(e.description().to_owned())))?;
    end_session(&state, &req, &params).await
}

/// §2: the RP may POST the parameters as a form. The confirmation form posts here
/// too; it alone carries `csrf_token`.
async fn logout_post(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: form::FormBody,
) -> Result<HttpResponse, PageError> {
    let params = form::params(&req, &body)
        .and_then(|params| params.check_characters().map(|()| params))
        .map_err(|e| refused(LogoutError(e.description().to_owned())))?;
    if params.get("csrf_token").is_some() {
        confirmed(&state, &req, &params).await
    } else {
        end_session(&state, &req, &params).await
    }
}

/// The checked destination and the signed-in user of a logout request (`None`: not
/// signed in — never, in another tab already, or the session expired).
async fn checked(
    state: &AppState,
    req: &HttpRequest,
    params: &Params,
    hint: &LogoutHint,
) -> Result<(LogoutDestination, Option<SignedIn>), PageError> {
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
        LogoutRefused::Internal(e) => e.into(),
    })?;
    Ok((destination, flow::signed_in(state, req).await?))
}

/// An RP's logout request (§2).
async fn end_session(
    state: &AppState,
    req: &HttpRequest,
    params: &Params,
) -> Result<HttpResponse, PageError> {
    let hint = sessions::logout_hint(&state.services, params.get("id_token_hint"));
    let (destination, signed_in) = checked(state, req, params, &hint).await?;
    let Some(signed_in) = signed_in else {
        return signed_out(state, req, &destination, None).await;
    };
    if !logout::needs_confirmation(&hint, &signed_in.user.id) {
        return signed_out(state, req, &destination, Some(&signed_in.user.id)).await;
    }
    let Some(csrf_token) = state
        .cookies
        .session_id(req)
        .map(|id| csrf::session_token(&id, LOGOUT_CONFIRMATION))
    else {
        return signed_out(state, req, &destination, None).await;
    };
    Ok(pages::render(
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
    ))
}

/// The user confirmed on the page: the token must be the session's own.
async fn confirmed(
    state: &AppState,
    req: &HttpRequest,
    params: &Params,
) -> Result<HttpResponse, PageError> {
    let (destination, signed_in) = checked(state, req, params, &LogoutHint::Absent).await?;
    let Some(signed_in) = signed_in else {
        return signed_out(state, req, &destination, None).await;
    };
    let expected = state
        .cookies
        .session_id(req)
        .map(|id| csrf::session_token(&id, LOGOUT_CONFIRMATION));
    csrf::check(expected.as_deref(), params.get("csrf_token"))?;
    signed_out(state, req, &destination, Some(&signed_in.user.id)).await
}

/// The purpose the confirmation form's CSRF token is derived for.
const LOGOUT_CONFIRMATION: &str = "logout-confirmation";

/// Ends the browser's session (when `user_id` is given), clears its cookie, and
/// sends the browser on.
async fn signed_out(
    state: &AppState,
    req: &HttpRequest,
    destination: &LogoutDestination,
    user_id: Option<&str>,
) -> Result<HttpResponse, PageError> {
    if let (Some(user_id), Some(session_id)) = (user_id, state.cookies.session_id(req)) {
        sessions::log_out(
            &state.services.store,
            &session_id,
            user_id,
            destination.client_id.as_deref(),
            state.clock.now(),
        )
        .await?;
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
        response.add_cookie(&state.cookies.clear_session())?;
    }
    Ok(response)
}

fn refused(error: LogoutError) -> PageError {
    PageError::bad_request("This sign-out cannot be completed", error.0)
}
